package apifytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// The default storages of runs, as far as Actors need them: key-value store
// records (the input among them) and dataset items.

// withStorage calls f with u's storage id of the given kind under the
// server's lock.
func (s *Server) withStorage(u *user, id, kind string, f func(*storage)) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.storages[id]
	if !ok || st.owner != u || st.kind != kind {
		name := "Key-value store"
		if kind == "dataset" {
			name = "Dataset"
		}
		return notFound(name)
	}
	f(st)
	return nil
}

// storageView is a storage as the API returns it.
type storageView struct {
	ID             string    `json:"id"`
	Name           *string   `json:"name"`
	UserID         string    `json:"userId"`
	CreatedAt      time.Time `json:"createdAt"`
	ModifiedAt     time.Time `json:"modifiedAt"`
	AccessedAt     time.Time `json:"accessedAt"`
	ItemCount      *int      `json:"itemCount,omitempty"`
	CleanItemCount *int      `json:"cleanItemCount,omitempty"`
}

func (s *Server) handleGetStorage(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		var v storageView
		e := s.withStorage(u, r.PathValue("id"), kind, func(st *storage) {
			v = storageView{ID: st.id, UserID: u.id, CreatedAt: st.createdAt, ModifiedAt: st.modified, AccessedAt: now()}
			if kind == "dataset" {
				n := len(st.items)
				v.ItemCount, v.CleanItemCount = &n, &n
			}
		})
		respond(w, http.StatusOK, v, e)
	}
}

// validRecordKey reports whether k is a record key the platform accepts.
func validRecordKey(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for _, c := range k {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!-_.'()", c)
		if !ok {
			return false
		}
	}
	return true
}

func recordKeyError(k string) *Error {
	return &Error{StatusCode: http.StatusBadRequest, Type: "invalid-record-key",
		Message: "Record key " + strconv.Quote(k) + " contains invalid characters or is longer than 256 characters"}
}

func (s *Server) handleGetRecord(w http.ResponseWriter, r *http.Request, u *user) {
	key := r.PathValue("key")
	var rec kvRecord
	found := false
	e := s.withStorage(u, r.PathValue("id"), "keyValueStore", func(st *storage) { rec, found = st.records[key] })
	if e == nil && !found {
		e = notFound("Record")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", rec.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.value)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rec.value)
	}
}

func (s *Server) handlePutRecord(w http.ResponseWriter, r *http.Request, u *user) {
	key := r.PathValue("key")
	if !validRecordKey(key) {
		writeError(w, recordKeyError(key))
		return
	}
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	id := r.PathValue("id")
	if e := s.withStorage(u, id, "keyValueStore", func(st *storage) {
		st.records[key] = kvRecord{contentType: ct, value: body}
		st.modified = now()
	}); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Location", s.URL+"/v2/key-value-stores/"+id+"/records/"+key)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("{}"))
}

func (s *Server) handleDeleteRecord(w http.ResponseWriter, r *http.Request, u *user) {
	if e := s.withStorage(u, r.PathValue("id"), "keyValueStore", func(st *storage) {
		delete(st.records, r.PathValue("key"))
		st.modified = now()
	}); e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePushItems(w http.ResponseWriter, r *http.Request, u *user) {
	body, e := readBody(r)
	if e != nil {
		writeError(w, e)
		return
	}
	body = bytes.TrimSpace(body)
	var items []json.RawMessage
	switch {
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &items); err != nil {
			writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest, Message: "Request body is not valid JSON: " + err.Error()})
			return
		}
	default:
		items = []json.RawMessage{body}
	}
	for i, it := range items {
		if t := bytes.TrimSpace(it); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			writeError(w, badRequest("item %d: each item must be a JSON object", i))
			return
		}
	}
	if e := s.withStorage(u, r.PathValue("id"), "dataset", func(st *storage) {
		for _, it := range items {
			st.items = append(st.items, append([]byte(nil), it...))
		}
		st.modified = now()
	}); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte("{}"))
}

// handleGetItems answers with a dataset's items as a JSON array, with the
// platform's pagination headers.
func (s *Server) handleGetItems(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	if f := r.URL.Query().Get("format"); f != "" && f != "json" {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter format: only json is supported here, not " + strconv.Quote(f)})
		return
	}
	var pg client.Page[json.RawMessage]
	if e := s.withStorage(u, r.PathValue("id"), "dataset", func(st *storage) {
		// Items are never changed once pushed: the page shares them.
		pg = page(st.items, p, func(it []byte) json.RawMessage { return it })
	}); e != nil {
		writeError(w, e)
		return
	}
	page := pg
	body, _ := json.Marshal(page.Items)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Apify-Pagination-Total", strconv.Itoa(page.Total))
	h.Set("X-Apify-Pagination-Offset", strconv.Itoa(page.Offset))
	h.Set("X-Apify-Pagination-Limit", strconv.Itoa(page.Limit))
	h.Set("X-Apify-Pagination-Count", strconv.Itoa(page.Count))
	h.Set("X-Apify-Pagination-Desc", strconv.FormatBool(page.Desc))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
