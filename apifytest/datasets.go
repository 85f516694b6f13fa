package apifytest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
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
	// maxFieldNames is the most names a fields, omit, unwind or flatten
	// parameter may list.
	maxFieldNames = 1000
	// noLimitHeader is the X-Apify-Pagination-Limit of a read without a
	// limit, as on the platform.
	noLimitHeader = "999999999999"
	// maxFlattenDepth is how deep flatten goes; deeper values stay JSON.
	maxFlattenDepth = 32
)

// field is a member of a JSON object, its value as JSON.
type field struct {
	key string
	val json.RawMessage
}

// object is a JSON object with the order of its members.
type object []field

// parseObject decodes a JSON object, keeping the order of its members.
func parseObject(b []byte) (object, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var o object
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, field{t.(string), v})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return o, nil
}

// index returns the position of key in o, or -1.
func (o object) index(key string) int {
	for i, f := range o {
		if f.key == key {
			return i
		}
	}
	return -1
}

// set returns o with key set to v: in its place if o has it, else last.
func (o object) set(key string, v json.RawMessage) object {
	if i := o.index(key); i >= 0 {
		o[i].val = v
		return o
	}
	return append(o, field{key, v})
}

// without returns a copy of o without key.
func (o object) without(key string) object {
	out := make(object, 0, len(o))
	for _, f := range o {
		if f.key != key {
			out = append(out, f)
		}
	}
	return out
}

// appendJSON appends o as a JSON object to buf.
func (o object) appendJSON(buf []byte) []byte {
	buf = append(buf, '{')
	for i, f := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(f.key) // a string always encodes
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = append(buf, f.val...)
	}
	return append(buf, '}')
}

// isClean reports whether o has a field that is not hidden.
func (o object) isClean() bool {
	for _, f := range o {
		if !strings.HasPrefix(f.key, "#") {
			return true
		}
	}
	return false
}

func (s *Server) handlePushItems(w http.ResponseWriter, r *http.Request, u *user) {
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body is not valid JSON: " + err.Error()})
			return
		}
	} else {
		raws = []json.RawMessage{body}
	}
	items := make([][]byte, len(raws))
	clean, size := 0, 0
	for i, raw := range raws {
		o, err := parseObject(raw)
		if err != nil {
			writeError(w, badRequest("item %d: each item must be a JSON object (%v)", i, err))
			return
		}
		if o.isClean() {
			clean++
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, raw) // valid: parsed above
		items[i] = buf.Bytes()
		size += buf.Len()
	}
	if e := s.withStorageOf(u, kindDataset, r, func(st *storage) *Error {
		if e := s.addBytesLocked(st, int64(size)); e != nil {
			return e
		}
		st.items = append(st.items, items...)
		s.chargeItemsLocked(st, len(items))
		st.cleanItems += clean
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
	format                        string
	fields, omit, unwind, flatten []string
	outputFields                  []string // the names of fields in the output
	skipHidden, skipEmpty         bool
	skipFailed                    bool // items with an errorInfo field
	noHeader, bom, attachment     bool
	noLimit                       bool // none given
	delimiter                     rune
}

// transforms reports whether the items must be decoded to be shaped.
func (q itemsQuery) transforms() bool {
	return len(q.fields) > 0 || len(q.omit) > 0 || len(q.unwind) > 0 || len(q.flatten) > 0 || q.skipHidden || q.skipEmpty || q.skipFailed
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
	}{{"fields", &q.fields}, {"outputFields", &q.outputFields}, {"omit", &q.omit}, {"unwind", &q.unwind}, {"flatten", &q.flatten}} {
		raw := v.Get(p.name)
		if raw == "" {
			continue
		}
		names := strings.Split(raw, ",")
		if len(names) > maxFieldNames {
			return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter " + p.name + " lists more than " + strconv.Itoa(maxFieldNames) + " fields"}
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
		{"clean", &clean}, {"simplified", &simplified}, {"skipHidden", &q.skipHidden}, {"skipEmpty", &q.skipEmpty},
		{"skipFailedPages", &q.skipFailed}, {"skipHeaderRow", &q.noHeader}, {"attachment", &q.attachment},
	} {
		on, e := parseBool(v.Get(f.name), f.name)
		if e != nil {
			return q, e
		}
		*f.dst = on
	}
	if clean {
		q.skipHidden, q.skipEmpty = true, true
	}
	if simplified { // the legacy Crawler's results
		q.fields, q.unwind = []string{"url", "pageFunctionResult", "errorInfo"}, []string{"pageFunctionResult"}
	}
	if len(q.outputFields) > 0 && len(q.outputFields) != len(q.fields) {
		return q, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter outputFields must name as many fields as fields (" + strconv.Itoa(len(q.fields)) + "), not " + strconv.Itoa(len(q.outputFields))}
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

// budget is what a read may still produce: bytes of output (as estimated
// by cost) and items. Shaping charges it as it goes, so that unwinding a
// long array of a large item stops at the limit instead of exhausting
// memory.
type budget struct{ bytes, items int }

// charge takes o, to be written out, from the budget, or reports that it
// is spent.
func (b *budget) charge(o object) *Error {
	b.items--
	for _, f := range o {
		b.bytes -= len(f.key) + len(f.val) + 4
	}
	return b.check()
}

// chargeMade takes o, made by unwinding, from the budget: what it holds in
// memory, its fields (their keys and values are shared with the stored
// item).
func (b *budget) chargeMade(o object) *Error {
	b.items--
	b.bytes -= len(o) * int(unsafe.Sizeof(field{}))
	return b.check()
}

func (b *budget) check() *Error {
	if b.bytes < 0 || b.items < 0 {
		return errTooLargeResponse
	}
	return nil
}

// shape turns one stored item into the items a read returns, appending
// them to out.
func (q itemsQuery) shape(item []byte, out []object, b *budget) ([]object, *Error) {
	o, err := parseObject(item)
	if err != nil {
		return out, &Error{StatusCode: http.StatusInternalServerError, Type: typeServerError, Message: "a stored item cannot be read: " + err.Error()}
	}
	if q.skipFailed && o.index("errorInfo") >= 0 {
		return out, nil
	}
	if len(q.fields) > 0 {
		picked := make(object, 0, len(q.fields))
		for j, f := range q.fields {
			if i := o.index(f); i >= 0 {
				picked = append(picked, o[i])
				if len(q.outputFields) > 0 {
					picked[len(picked)-1].key = q.outputFields[j]
				}
			}
		}
		o = picked
	}
	for _, f := range q.omit {
		o = o.without(f)
	}
	objs := []object{o}
	// Unwinding is charged to bound what it makes, then given back: the
	// items are charged once, as they come out.
	before := *b
	for _, f := range q.unwind {
		var next []object
		for _, o := range objs {
			var e *Error
			if next, e = unwind(o, f, next, b); e != nil {
				return out, e
			}
		}
		objs = next
	}
	*b = before
	for _, o := range objs {
		for _, f := range q.flatten {
			o = flattenField(o, f)
		}
		if q.skipHidden {
			kept := o[:0:0]
			for _, f := range o {
				if !strings.HasPrefix(f.key, "#") {
					kept = append(kept, f)
				}
			}
			o = kept
		}
		if q.skipEmpty && len(o) == 0 {
			continue
		}
		if e := b.charge(o); e != nil {
			return out, e
		}
		out = append(out, o)
	}
	return out, nil
}

// unwind appends to out the items that unwinding field f of o makes: one
// per element of an array (an object element merged into o, any other set
// as f), o merged with an object; o itself when f is missing, an empty
// array or neither. Each item made is charged to b.
func unwind(o object, f string, out []object, b *budget) ([]object, *Error) {
	i := o.index(f)
	if i < 0 {
		return append(out, o), nil
	}
	v := bytes.TrimSpace(o[i].val)
	switch {
	case len(v) > 0 && v[0] == '{':
		inner, err := parseObject(v)
		if err != nil {
			return append(out, o), nil
		}
		return append(out, merge(o.without(f), inner)), nil
	case len(v) > 0 && v[0] == '[':
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) != nil || len(elems) == 0 {
			return append(out, o), nil
		}
		for _, e := range elems {
			e = bytes.TrimSpace(e)
			var made object
			if len(e) > 0 && e[0] == '{' {
				if inner, err := parseObject(e); err == nil {
					made = merge(o.without(f), inner)
				}
			}
			if made == nil {
				made = append(object(nil), o...).set(f, e)
			}
			if err := b.chargeMade(made); err != nil {
				return out, err
			}
			out = append(out, made)
		}
		return out, nil
	}
	return append(out, o), nil
}

// merge returns o with the fields of inner set over its own: in their
// place if o has them, else after.
func merge(o, inner object) object {
	at := make(map[string]int, len(o))
	for i, f := range o {
		at[f.key] = i
	}
	for _, f := range inner {
		if i, ok := at[f.key]; ok {
			o[i].val = f.val
		} else {
			at[f.key] = len(o)
			o = append(o, f)
		}
	}
	return o
}

// flattenField replaces the object field f of o with its members as
// "f.member" fields, nested objects flattened too.
func flattenField(o object, f string) object {
	i := o.index(f)
	if i < 0 {
		return o
	}
	v := bytes.TrimSpace(o[i].val)
	if len(v) == 0 || v[0] != '{' {
		return o
	}
	out := make(object, 0, len(o))
	out = append(out, o[:i]...)
	out = flattenInto(out, f, v, 0)
	return append(out, o[i+1:]...)
}

func flattenInto(out object, prefix string, v json.RawMessage, depth int) object {
	v = bytes.TrimSpace(v)
	if depth >= maxFlattenDepth || len(v) == 0 || v[0] != '{' {
		return append(out, field{prefix, v})
	}
	inner, err := parseObject(v)
	if err != nil {
		return append(out, field{prefix, v})
	}
	for _, m := range inner {
		out = flattenInto(out, prefix+"."+m.key, m.val, depth+1)
	}
	return out
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
		// Items are never changed once pushed: the page shares them.
		pg := page(st.items, q.listParams, func(it []byte) []byte { return it })
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
func (q itemsQuery) render(items [][]byte) ([]byte, string, *Error) {
	var objs []object
	raw := !q.transforms() && q.format != "csv"
	if !raw {
		b := &budget{bytes: maxItemsResponse, items: maxItemsLimit}
		for _, it := range items {
			var e *Error
			if objs, e = q.shape(it, objs, b); e != nil {
				return nil, "", e
			}
		}
	}
	n := len(items)
	if !raw {
		n = len(objs)
	}
	encode := func(buf []byte, i int) []byte {
		if raw {
			return append(buf, items[i]...)
		}
		return objs[i].appendJSON(buf)
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
func (q itemsQuery) renderCSV(objs []object) ([]byte, *Error) {
	var cols []string
	index := map[string]int{}
	for _, o := range objs {
		for _, f := range o {
			if _, ok := index[f.key]; !ok {
				index[f.key] = len(cols)
				cols = append(cols, f.key)
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
			row[index[f.key]] = csvValue(f.val)
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
