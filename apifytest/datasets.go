package apifytest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-apify/actor/internal/items"
)

// The items of datasets: pushing them, and reading them back shaped by the
// platform's filters (see the package documentation) in JSON, JSON Lines
// or CSV.

// Limits of dataset reads.
const (
	// maxItemsLimit is the most stored items one read selects, and the
	// limit when none is given (the platform has none).
	maxItemsLimit = 1_000_000
	// maxItemsResponse is the largest response of a read: past it the
	// read is refused, and a smaller limit must be used.
	maxItemsResponse = 256 << 20
	// noLimitHeader is the X-Apify-Pagination-Limit of a read without a
	// limit, as on the platform.
	noLimitHeader = "999999999999"
)

// itemLog holds a dataset's items, never changed once pushed, with no
// pointer per item: their compact JSON in chunks, and where each one is.
// A large push is a chunk of its own; smaller ones are copied into shared
// chunks, each twice the one before up to maxChunk (the first as large as
// the first push), so that a small dataset holds little more than its
// items.
type itemLog struct {
	chunks [][]byte
	refs   []itemRef
}

// itemRef is where an item is: chunks[chunk][start:end].
type itemRef struct{ chunk, start, end uint32 }

// maxChunk is the largest chunk an itemLog copies pushes into.
const maxChunk = 1 << 20

// item returns the item at r. Its bytes never change: readers may keep
// them past the server's lock.
func (l *itemLog) item(r itemRef) []byte {
	return l.chunks[r.chunk][r.start:r.end:r.end]
}

// add appends p's items.
func (l *itemLog) add(p items.Pushed) {
	if len(p.Ends) == 0 {
		return
	}
	last := len(l.chunks) - 1
	var base int
	switch {
	case len(p.Data) > maxChunk/4:
		l.chunks = append(l.chunks, p.Data)
	case last >= 0 && len(l.chunks[last])+len(p.Data) <= cap(l.chunks[last]):
		base = len(l.chunks[last])
		l.chunks[last] = append(l.chunks[last], p.Data...)
	default:
		size := 0
		if last >= 0 {
			size = min(2*cap(l.chunks[last]), maxChunk)
		}
		l.chunks = append(l.chunks, append(make([]byte, 0, max(size, len(p.Data))), p.Data...))
	}
	c := uint32(len(l.chunks) - 1)
	start := base
	l.refs = slices.Grow(l.refs, len(p.Ends))
	for _, end := range p.Ends {
		l.refs = append(l.refs, itemRef{c, uint32(start), uint32(base + end)})
		start = base + end
	}
}

// handlePushItems serves POST /v2/datasets/{id}/items: a JSON array of
// objects, or one object. The items are checked and compacted in one pass
// and stored as they are; reads parse them only to shape them.
func (s *Server) handlePushItems(w http.ResponseWriter, r *http.Request, u *user) {
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	pushed, err := items.Split(body)
	var notObject *items.NotObjectError
	switch {
	case errors.As(err, &notObject):
		writeError(w, badRequest("item %d: each item must be a JSON object, not %s", notObject.Index, notObject.Kind))
		return
	case err != nil:
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body is not valid JSON: " + err.Error()})
		return
	}
	if e := s.withStorageOf(u, kindDataset, r, func(st *storage) *Error {
		if e := s.addBytesLocked(st, int64(len(pushed.Data))); e != nil {
			return e
		}
		st.items.add(pushed)
		s.chargeItemsLocked(st, len(pushed.Ends))
		st.cleanItems += pushed.Clean
		st.modified = now()
		return nil
	}); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("{}"))
}

// itemsQuery is how a read shapes the items.
type itemsQuery struct {
	listParams
	filter                    items.Filter
	format                    string
	noHeader, bom, attachment bool
	noLimit                   bool // none given
	delimiter                 rune
}

func parseItemsQuery(r *http.Request) (itemsQuery, *Error) {
	v := r.URL.Query()
	q := itemsQuery{format: strings.ToLower(v.Get("format")), delimiter: ','}
	// The platform has no default limit: all the items, up to ours.
	if v.Get("limit") == "" || v.Get("limit") == "0" {
		q.noLimit = true
		v.Set("limit", strconv.Itoa(maxItemsLimit))
	}
	lp, e := parseListValues(v, maxItemsLimit)
	if e != nil {
		return q, e
	}
	q.listParams = lp
	switch q.format {
	case "":
		q.format = "json"
	case "json", "jsonl", "csv":
	default:
		return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter format: the local platform serves json, jsonl and csv, not " + strconv.Quote(q.format)}
	}
	for _, p := range []struct {
		name string
		dst  *[]string
	}{{"fields", &q.filter.Fields}, {"outputFields", &q.filter.OutputFields}, {"omit", &q.filter.Omit}, {"unwind", &q.filter.Unwind}, {"flatten", &q.filter.Flatten}} {
		raw := v.Get(p.name)
		if raw == "" {
			continue
		}
		names := strings.Split(raw, ",")
		if len(names) > items.MaxNames {
			return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter " + p.name + " lists more than " + strconv.Itoa(items.MaxNames) + " fields"}
		}
		for _, n := range names {
			if n = strings.TrimSpace(n); n != "" {
				*p.dst = append(*p.dst, n)
			}
		}
	}
	var clean, simplified bool
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"clean", &clean}, {"simplified", &simplified}, {"skipHidden", &q.filter.SkipHidden}, {"skipEmpty", &q.filter.SkipEmpty},
		{"skipFailedPages", &q.filter.SkipFailed}, {"skipHeaderRow", &q.noHeader}, {"attachment", &q.attachment},
	} {
		on, e := parseBool(v.Get(f.name), f.name)
		if e != nil {
			return q, e
		}
		*f.dst = on
	}
	if clean {
		q.filter.SkipHidden, q.filter.SkipEmpty = true, true
	}
	if simplified { // the legacy Crawler's results
		q.filter.Fields, q.filter.Unwind = []string{"url", "pageFunctionResult", "errorInfo"}, []string{"pageFunctionResult"}
	}
	if n, m := len(q.filter.Fields), len(q.filter.OutputFields); m > 0 && m != n {
		return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter outputFields must name as many fields as fields (" + strconv.Itoa(n) + "), not " + strconv.Itoa(m)}
	}
	q.bom = q.format == "csv" // the platform's default
	if b := v.Get("bom"); b != "" {
		var e *Error
		if q.bom, e = parseBool(b, "bom"); e != nil {
			return q, e
		}
	}
	if view := v.Get("view"); view != "" {
		return q, &Error{StatusCode: http.StatusBadRequest, Type: "requested-dataset-view-does-not-exist",
			Message: "Dataset view " + strconv.Quote(view) + " does not exist: datasets have no schema on the local platform"}
	}
	if d := v.Get("delimiter"); d != "" {
		c, n := utf8.DecodeRuneInString(d)
		if n != len(d) || c == '"' || c == '\r' || c == '\n' || c == utf8.RuneError {
			return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter delimiter must be one character other than a quote or a line break, not " + strconv.Quote(d)}
		}
		q.delimiter = c
	}
	return q, nil
}

// errTooLargeResponse is the error of a read whose response would exceed
// maxItemsResponse.
var errTooLargeResponse = &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
	Message: "The items would make a response of more than " + strconv.Itoa(maxItemsResponse) +
		" bytes, the local platform's limit: use a smaller limit"}

// handleGetItems serves GET and HEAD /v2/datasets/{id}/items: the items
// selected by offset, limit and desc, shaped by the query, in its format,
// with the platform's pagination headers.
func (s *Server) handleGetItems(w http.ResponseWriter, r *http.Request, u *user) {
	q, e := parseItemsQuery(r)
	if e != nil {
		writeError(w, e)
		return
	}
	var selected [][]byte
	var total int
	if e := s.withStorageOf(u, kindDataset, r, func(st *storage) *Error {
		pg := page(st.items.refs, q.listParams, st.items.item)
		selected, total = pg.Items, pg.Total
		return nil
	}); e != nil {
		writeError(w, e)
		return
	}
	if q.noLimit && total-q.offset > maxItemsLimit {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "The dataset has more than " + strconv.Itoa(maxItemsLimit) + " items after the offset, the local platform's most per read: give a limit"})
		return
	}
	body, ct, e := q.render(selected)
	if e != nil {
		writeError(w, e)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if q.attachment {
		h.Set("Content-Disposition", "attachment; filename=items."+q.format)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Apify-Pagination-Total", strconv.Itoa(total))
	h.Set("X-Apify-Pagination-Offset", strconv.Itoa(q.offset))
	limit := strconv.Itoa(q.limit)
	if q.noLimit {
		limit = noLimitHeader
	}
	h.Set("X-Apify-Pagination-Limit", limit)
	h.Set("X-Apify-Pagination-Count", strconv.Itoa(len(selected)))
	h.Set("X-Apify-Pagination-Desc", strconv.FormatBool(q.desc))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// render shapes the selected items and encodes them in q's format.
func (q itemsQuery) render(stored [][]byte) ([]byte, string, *Error) {
	var objs []items.Object
	raw := q.filter.IsZero() && q.format != "csv"
	if !raw {
		objs = make([]items.Object, 0, len(stored))
		b := &items.Budget{Bytes: maxItemsResponse, Items: maxItemsLimit}
		for _, it := range stored {
			var err error
			if objs, err = q.filter.Shape(it, objs, b); errors.Is(err, items.ErrBudget) {
				return nil, "", errTooLargeResponse
			} else if err != nil {
				return nil, "", &Error{StatusCode: http.StatusInternalServerError, Type: typeServerError, Message: "a stored item cannot be read: " + err.Error()}
			}
		}
	}
	n := len(stored)
	if !raw {
		n = len(objs)
	}
	encode := func(buf []byte, i int) []byte {
		if raw {
			return append(buf, stored[i]...)
		}
		return objs[i].AppendJSON(buf)
	}
	var buf []byte
	if q.bom {
		buf = append(buf, "\ufeff"...)
	}
	switch q.format {
	case "jsonl":
		for i := range n {
			buf = append(encode(buf, i), '\n')
			if len(buf) > maxItemsResponse {
				return nil, "", errTooLargeResponse
			}
		}
		return buf, "application/jsonl; charset=utf-8", nil
	case "csv":
		out, e := q.renderCSV(objs)
		return out, "text/csv; charset=utf-8", e
	}
	buf = append(buf, '[')
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = encode(buf, i)
		if len(buf) > maxItemsResponse {
			return nil, "", errTooLargeResponse
		}
	}
	return append(buf, ']'), "application/json; charset=utf-8", nil
}

// renderCSV encodes objs as CSV: a header row of the union of their fields
// in the order they first appear, then a row per item; a string is its
// text, null and a missing field empty, any other value its JSON.
func (q itemsQuery) renderCSV(objs []items.Object) ([]byte, *Error) {
	var cols []string
	index := map[string]int{}
	for _, o := range objs {
		for _, f := range o {
			if _, ok := index[f.Key]; !ok {
				index[f.Key] = len(cols)
				cols = append(cols, f.Key)
			}
		}
	}
	var buf bytes.Buffer
	if q.bom {
		buf.WriteString("\ufeff")
	}
	cw := csv.NewWriter(&buf)
	cw.Comma = q.delimiter
	if !q.noHeader {
		_ = cw.Write(cols) // to a bytes.Buffer: cannot fail
	}
	// Sparse fields make rows of mostly empty cells: bounded too.
	if len(cols) > 0 && len(objs) > maxItemsResponse/len(cols) {
		return nil, errTooLargeResponse
	}
	row := make([]string, len(cols))
	for _, o := range objs {
		clear(row)
		for _, f := range o {
			row[index[f.Key]] = csvValue(f.Val)
		}
		_ = cw.Write(row)
		if buf.Len() > maxItemsResponse {
			return nil, errTooLargeResponse
		}
	}
	cw.Flush()
	return buf.Bytes(), nil
}

func csvValue(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// handleDatasetStatistics serves GET /v2/datasets/{id}/statistics. The
// platform measures the fields of a dataset's schema; datasets have none
// here, so there are no field statistics.
func (s *Server) handleDatasetStatistics(w http.ResponseWriter, r *http.Request, u *user) {
	e := s.withStorageOf(u, kindDataset, r, func(*storage) *Error { return nil })
	respond(w, http.StatusOK, map[string]any{"fieldStatistics": nil}, e)
}
