package apifytest

import (
	"archive/zip"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The records of key-value stores and the listing of their keys.

// maxKeysLimit is the largest page of keys, as on the platform.
const maxKeysLimit = 1000

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
	return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidKey,
		Message: "Record key " + strconv.Quote(k) + " contains invalid characters or is longer than 256 characters"}
}

// recordSize is what record rec under key counts toward the storage
// limit: its key, content type and value, so that empty records count too.
func recordSize(key string, rec kvRecord) int64 {
	return int64(len(key) + len(rec.contentType) + len(rec.value))
}

func (s *Server) handleGetRecord(w http.ResponseWriter, r *http.Request, u *user) {
	key := r.PathValue("key")
	var rec kvRecord
	e := s.withStorageOf(u, kindKeyValueStore, r, func(st *storage) *Error {
		var found bool
		if rec, found = st.records[key]; !found {
			return notFound("Record")
		}
		return nil
	})
	if e != nil {
		writeError(w, e)
		return
	}
	attach, e := parseBool(r.URL.Query().Get("attachment"), "attachment")
	if e != nil {
		writeError(w, e)
		return
	}
	if attach {
		w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(key))
	}
	w.Header().Set("Content-Type", rec.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.value)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rec.value) // never changed: a new value replaces it
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
	var id string
	if e := s.withStorageOf(u, kindKeyValueStore, r, func(st *storage) *Error {
		id = st.id
		old, had := st.records[key]
		rec := kvRecord{contentType: ct, value: body}
		n := recordSize(key, rec)
		if had {
			n -= recordSize(key, old)
		}
		if e := s.addBytesLocked(st, n); e != nil {
			return e
		}
		st.records[key] = rec
		if !had {
			st.keysSorted = false
		}
		st.modified = now()
		return nil
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
	if e := s.withStorageOf(u, kindKeyValueStore, r, func(st *storage) *Error {
		key := r.PathValue("key")
		old, had := st.records[key]
		if !had {
			return nil // as before: deleting is idempotent
		}
		_ = s.addBytesLocked(st, -recordSize(key, old))
		delete(st.records, key)
		st.keysSorted = false
		st.modified = now()
		return nil
	}); e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sortedKeysLocked returns st's keys in order, sorting them once after
// keys were added or removed.
func (st *storage) sortedKeysLocked() []string {
	if !st.keysSorted {
		st.keys = st.keys[:0]
		for k := range st.records {
			st.keys = append(st.keys, k)
		}
		slices.Sort(st.keys)
		st.keysSorted = true
	}
	return st.keys
}

// keyView is a key in a list of keys.
type keyView struct {
	Key             string `json:"key"`
	Size            int    `json:"size"`
	RecordPublicURL string `json:"recordPublicUrl"`
}

// handleListKeys serves GET /v2/key-value-stores/{id}/keys: the keys in
// order, after exclusiveStartKey, starting with prefix, up to limit (1 to
// 1000, default 1000).
func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	limit := maxKeysLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter limit must be a positive integer, not " + strconv.Quote(v)})
			return
		}
		limit = min(n, maxKeysLimit)
	}
	start, prefix := q.Get("exclusiveStartKey"), q.Get("prefix")
	if len(start) > 256 || len(prefix) > 256 {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameters exclusiveStartKey and prefix are at most 256 characters"})
		return
	}
	if c := q.Get("collection"); c != "" {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter collection needs a key-value store schema, and stores have none on the local platform"})
		return
	}
	out := struct {
		Items                 []keyView `json:"items"`
		Count                 int       `json:"count"`
		Limit                 int       `json:"limit"`
		ExclusiveStartKey     *string   `json:"exclusiveStartKey"`
		IsTruncated           bool      `json:"isTruncated"`
		NextExclusiveStartKey *string   `json:"nextExclusiveStartKey"` // null on the last page, as the JS client expects
	}{Items: []keyView{}, Limit: limit}
	if start != "" {
		out.ExclusiveStartKey = &start
	}
	e := s.withStorageOf(u, kindKeyValueStore, r, func(st *storage) *Error {
		keys := st.sortedKeysLocked()
		from := 0
		if start != "" {
			i, found := slices.BinarySearch(keys, start)
			if found {
				i++
			}
			from = i
		}
		if prefix != "" && prefix > start {
			from, _ = slices.BinarySearch(keys, prefix)
		}
		for i := from; i < len(keys) && strings.HasPrefix(keys[i], prefix); i++ {
			if len(out.Items) == limit {
				out.IsTruncated = true
				break
			}
			k := keys[i]
			out.Items = append(out.Items, keyView{Key: k, Size: len(st.records[k].value),
				RecordPublicURL: s.URL + "/v2/key-value-stores/" + st.id + "/records/" + k})
		}
		return nil
	})
	out.Count = len(out.Items)
	if out.IsTruncated {
		out.NextExclusiveStartKey = &out.Items[len(out.Items)-1].Key
	}
	respond(w, http.StatusOK, out, e)
}

// handleDownloadRecords serves GET /v2/key-value-stores/{id}/records: the
// records (those starting with prefix) as a ZIP archive, one file per
// record named by its key.
func (s *Server) handleDownloadRecords(w http.ResponseWriter, r *http.Request, u *user) {
	prefix := r.URL.Query().Get("prefix")
	if r.URL.Query().Get("collection") != "" {
		writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
			Message: "Parameter collection needs a key-value store schema, and stores have none on the local platform"})
		return
	}
	type file struct {
		key   string
		value []byte
	}
	var files []file
	if e := s.withStorageOf(u, kindKeyValueStore, r, func(st *storage) *Error {
		keys := st.sortedKeysLocked()
		i, _ := slices.BinarySearch(keys, prefix)
		for ; i < len(keys) && strings.HasPrefix(keys[i], prefix); i++ {
			// Values are never changed, only replaced: the archive
			// is written after the lock is released.
			files = append(files, file{keys[i], st.records[keys[i]].value})
		}
		return nil
	}); e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.WriteHeader(http.StatusOK)
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.Create(f.key)
		if err != nil {
			return // the client went away
		}
		if _, err := fw.Write(f.value); err != nil {
			return
		}
	}
	_ = zw.Close()
}
