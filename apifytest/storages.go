package apifytest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// Storages as a whole: datasets, key-value stores and request queues, named
// or not, their collections (get-or-create by name, list) and their objects
// (get, update, delete), under /v2/{kind} and as a run's default storages
// under /v2/actor-runs/{runId}/{kind}. What they hold is served by
// datasets.go, keyvaluestores.go and requestqueues.go.

// The kinds of storage.
const (
	kindKeyValueStore = "keyValueStore"
	kindDataset       = "dataset"
	kindRequestQueue  = "requestQueue"
)

// Limits of storages.
const (
	// maxStorageNameLen is the longest storage name, as on the platform.
	maxStorageNameLen = 63
	// maxStorages is how many storages of one kind a user may create
	// through the API (the default storages of runs are bounded by the
	// retention instead).
	maxStorages = 10_000
	// consoleBase is where the platform's console shows a storage: the
	// consoleUrl of storages points there, as on the platform.
	consoleBase = "https://console.apify.com/storage/"
)

// kindInfo is what differs between the kinds of storage.
type kindInfo struct {
	noun    string // in error messages
	segment string // of paths and console URLs
}

var kinds = map[string]kindInfo{
	kindKeyValueStore: {"Key-value store", "key-value-stores"},
	kindDataset:       {"Dataset", "datasets"},
	kindRequestQueue:  {"Request queue", "request-queues"},
}

// storageIndex is a user's storages of one kind.
type storageIndex struct {
	all     []*storage          // oldest first
	named   []*storage          // the named ones, oldest first
	byName  map[string]*storage // named ones by name
	created int                 // storages created through the API, not deleted
}

// storagesOf returns u's index of storages of kind, creating it on first use.
func (u *user) storagesOf(kind string) *storageIndex {
	if u.storages == nil {
		u.storages = map[string]*storageIndex{}
	}
	ix := u.storages[kind]
	if ix == nil {
		ix = &storageIndex{byName: map[string]*storage{}}
		u.storages[kind] = ix
	}
	return ix
}

func (st *storage) seqNo() uint64 { return st.seq }

// deleteStorageLocked forgets st and what it holds.
func (s *Server) deleteStorageLocked(st *storage) {
	if _, ok := s.storages[st.id]; !ok {
		return
	}
	delete(s.storages, st.id)
	u := st.owner
	ix := u.storagesOf(st.kind)
	ix.all = removeSeq(ix.all, st)
	if st.name != "" {
		ix.named = removeSeq(ix.named, st)
		delete(ix.byName, st.name)
	}
	if st.viaAPI {
		ix.created--
	}
	u.storedBytes -= st.bytes
}

// evictStorageLocked forgets a default storage of an evicted run, unless it
// has been given a name: named storages stay, as on the platform.
func (s *Server) evictStorageLocked(id string) {
	if st, ok := s.storages[id]; ok && st.name == "" {
		s.deleteStorageLocked(st)
	}
}

// addBytesLocked counts n more (or, negative, fewer) bytes held by st
// toward its owner's storage limit: an error, and nothing counted, past it.
func (s *Server) addBytesLocked(st *storage, n int64) *Error {
	u := st.owner
	if n > 0 && u.storedBytes+n > s.cfg.storageLimit {
		return &Error{StatusCode: http.StatusForbidden, Type: typeLimitReached,
			Message: "The storages of this user would hold more than " + strconv.FormatInt(s.cfg.storageLimit, 10) +
				" bytes, the local platform's limit (see WithStorageLimit)"}
	}
	u.storedBytes += n
	st.bytes += n
	return nil
}

// validStorageName checks a storage name: 1 to 63 letters, digits and
// hyphens, not starting or ending with a hyphen.
func validStorageName(name string) *Error {
	ok := name != "" && len(name) <= maxStorageNameLen && name[0] != '-' && name[len(name)-1] != '-'
	for _, c := range name {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
	}
	if !ok {
		return badRequest("name: %q must be 1 to %d letters, digits and hyphens, not starting or ending with a hyphen", name, maxStorageNameLen)
	}
	return nil
}

// storageLocked returns the storage of kind that r names: the default one
// of run {runId}, or {id}, an ID or "username~name" ("~name" for one's own;
// "username/name" too).
func (s *Server) storageLocked(u *user, kind string, r *http.Request) (*storage, *Error) {
	info := kinds[kind]
	var st *storage
	if runID := r.PathValue("runId"); runID != "" {
		run, ok := s.runs[runID]
		if !ok || run.owner != u {
			return nil, notFound("Actor run")
		}
		id := run.run.DefaultKeyValueStoreID
		switch kind {
		case kindDataset:
			id = run.run.DefaultDatasetID
		case kindRequestQueue:
			id = run.run.DefaultRequestQueueID
		}
		st = s.storages[id]
	} else {
		ref := normalizeRef(u, r.PathValue("id"))
		if username, name, named := strings.Cut(ref, "~"); named {
			if username == u.username {
				st = u.storagesOf(kind).byName[name]
			}
		} else {
			st = s.storages[ref]
		}
	}
	if st == nil || st.owner != u || st.kind != kind {
		return nil, notFound(info.noun)
	}
	return st, nil
}

// withStorageOf calls f with the storage of kind that r names, under the
// server's lock, and marks it accessed.
func (s *Server) withStorageOf(u *user, kind string, r *http.Request, f func(*storage) *Error) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storageLocked(u, kind, r)
	if e != nil {
		return e
	}
	st.accessed = now()
	return f(st)
}

// storageView is a storage as the API returns it: the fields of every kind,
// and those of its own.
type storageView struct {
	ID            string    `json:"id"`
	Name          *string   `json:"name"`
	UserID        string    `json:"userId"`
	Username      string    `json:"username"`
	CreatedAt     time.Time `json:"createdAt"`
	ModifiedAt    time.Time `json:"modifiedAt"`
	AccessedAt    time.Time `json:"accessedAt"`
	ActID         *string   `json:"actId"`
	ActRunID      *string   `json:"actRunId"`
	ConsoleURL    string    `json:"consoleUrl"`
	GeneralAccess string    `json:"generalAccess"`

	// Datasets.
	ItemCount      *int `json:"itemCount,omitempty"`
	CleanItemCount *int `json:"cleanItemCount,omitempty"`
	// Key-value stores.
	KeysPublicURL string `json:"keysPublicUrl,omitempty"`
	// Request queues.
	TotalRequestCount   *int  `json:"totalRequestCount,omitempty"`
	HandledRequestCount *int  `json:"handledRequestCount,omitempty"`
	PendingRequestCount *int  `json:"pendingRequestCount,omitempty"`
	HadMultipleClients  *bool `json:"hadMultipleClients,omitempty"`

	Stats struct {
		StorageBytes int64 `json:"storageBytes"`
	} `json:"stats"`
}

// viewLocked returns st as the API shows it.
func (s *Server) viewLocked(st *storage) storageView {
	info := kinds[st.kind]
	v := storageView{
		ID: st.id, UserID: st.owner.id, Username: st.owner.username,
		CreatedAt: st.createdAt, ModifiedAt: st.modified, AccessedAt: st.accessed,
		ConsoleURL: consoleBase + info.segment + "/" + st.id, GeneralAccess: st.generalAccess,
	}
	if st.name != "" {
		name := st.name
		v.Name = &name
	}
	if st.runID != "" {
		run, act := st.runID, st.actID
		v.ActRunID, v.ActID = &run, &act
	}
	v.Stats.StorageBytes = st.bytes
	switch st.kind {
	case kindDataset:
		n, clean := len(st.items.refs), st.cleanItems
		v.ItemCount, v.CleanItemCount = &n, &clean
	case kindKeyValueStore:
		v.KeysPublicURL = s.URL + "/v2/key-value-stores/" + st.id + "/keys"
	case kindRequestQueue:
		q := st.queue
		total, handled := len(q.byID), q.handled
		pending, multi := total-handled, q.multipleClients
		v.TotalRequestCount, v.HandledRequestCount, v.PendingRequestCount = &total, &handled, &pending
		v.HadMultipleClients = &multi
	}
	return v
}

// handleGetOrCreateStorage serves POST /v2/{kind}?name=: the storage of
// that name (200), or a new one (201); without a name, always a new
// unnamed one.
func (s *Server) handleGetOrCreateStorage(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		name := r.URL.Query().Get("name")
		if name != "" {
			if e := validStorageName(name); e != nil {
				writeError(w, e)
				return
			}
		}
		s.mu.Lock()
		ix := u.storagesOf(kind)
		st, found := ix.byName[name]
		var e *Error
		if !found {
			if ix.created >= maxStorages {
				e = &Error{StatusCode: http.StatusForbidden, Type: typeLimitReached,
					Message: "A user may create at most " + strconv.Itoa(maxStorages) + " storages of a kind on the local platform"}
			} else {
				st = s.newStorageLocked(u, kind)
				st.viaAPI = true
				ix.created++
				if name != "" {
					s.nameStorageLocked(st, name)
				}
			}
		}
		var v storageView
		if e == nil {
			st.accessed = now()
			v = s.viewLocked(st)
		}
		s.mu.Unlock()
		if e != nil {
			writeError(w, e)
			return
		}
		if found {
			writeData(w, http.StatusOK, v)
			return
		}
		w.Header().Set("Location", s.URL+"/v2/"+kinds[kind].segment+"/"+v.ID)
		writeData(w, http.StatusCreated, v)
	}
}

// nameStorageLocked gives st the name, free among its owner's storages of
// its kind.
func (s *Server) nameStorageLocked(st *storage, name string) {
	ix := st.owner.storagesOf(st.kind)
	if st.name != "" {
		delete(ix.byName, st.name)
	} else {
		ix.named = insertSeq(ix.named, st)
	}
	st.name = name
	ix.byName[name] = st
}

// handleListStorages serves GET /v2/{kind}: the named storages, or with
// unnamed=1 all of them, oldest first.
func (s *Server) handleListStorages(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		p, e := parseList(r)
		if e != nil {
			writeError(w, e)
			return
		}
		q := r.URL.Query()
		unnamed, e := parseBool(q.Get("unnamed"), "unnamed")
		if e != nil {
			writeError(w, e)
			return
		}
		own := q.Get("ownership")
		if own != "" && own != string(client.OwnedByMe) && own != string(client.SharedWithMe) {
			writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter ownership must be ownedByMe or sharedWithMe, not " + strconv.Quote(own)})
			return
		}
		s.mu.Lock()
		ix := u.storagesOf(kind)
		list := ix.named
		switch {
		case own == string(client.SharedWithMe):
			list = nil // nothing is shared on the local platform
		case unnamed:
			list = ix.all
		}
		out := struct {
			client.Page[storageView]
			Unnamed bool `json:"unnamed"`
		}{page(list, p, s.viewLocked), unnamed}
		s.mu.Unlock()
		writeData(w, http.StatusOK, out)
	}
}

// handleGetStorage serves GET /v2/{kind}/{id}.
func (s *Server) handleGetStorage(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		var v storageView
		e := s.withStorageOf(u, kind, r, func(st *storage) *Error {
			v = s.viewLocked(st)
			return nil
		})
		respond(w, http.StatusOK, v, e)
	}
}

// handleUpdateStorage serves PUT /v2/{kind}/{id}: a new name (unique among
// the user's storages of the kind; "" removes it) or general
// access.
func (s *Server) handleUpdateStorage(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		var in struct {
			Name          *string `json:"name"`
			GeneralAccess *string `json:"generalAccess"`
		}
		if e := readJSON(r, &in); e != nil {
			writeError(w, e)
			return
		}
		if in.Name != nil && *in.Name != "" {
			if e := validStorageName(*in.Name); e != nil {
				writeError(w, e)
				return
			}
		}
		if in.GeneralAccess != nil && !slices.Contains(generalAccessValues, *in.GeneralAccess) {
			writeError(w, badRequest("generalAccess: must be one of %s, not %q", strings.Join(generalAccessValues, ", "), *in.GeneralAccess))
			return
		}
		var v storageView
		e := s.withStorageOf(u, kind, r, func(st *storage) *Error {
			if in.Name != nil && *in.Name != st.name {
				ix := u.storagesOf(kind)
				if *in.Name == "" {
					delete(ix.byName, st.name)
					ix.named = removeSeq(ix.named, st)
					st.name = ""
				} else if _, taken := ix.byName[*in.Name]; taken {
					return &Error{StatusCode: http.StatusConflict, Type: typeNameNotUnique,
						Message: kinds[kind].noun + " with name " + strconv.Quote(*in.Name) + " already exists"}
				} else {
					s.nameStorageLocked(st, *in.Name)
				}
			}
			if in.GeneralAccess != nil {
				st.generalAccess = *in.GeneralAccess
			}
			st.modified = now()
			v = s.viewLocked(st)
			return nil
		})
		respond(w, http.StatusOK, v, e)
	}
}

// handleDeleteStorage serves DELETE /v2/{kind}/{id}.
func (s *Server) handleDeleteStorage(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		if e := s.withStorageOf(u, kind, r, func(st *storage) *Error {
			s.deleteStorageLocked(st)
			return nil
		}); e != nil {
			writeError(w, e)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
