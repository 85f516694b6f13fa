package apifytest

import (
	"cmp"
	"crypto/rand"
	"slices"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// The state of a Server, guarded by Server.mu.

// user is an account: its token, and what it owns in creation order.
type user struct {
	id       string
	token    string
	username string

	webhooks   []*webhookRec                  // not deleted, oldest first
	counted    int                            // webhooks that count toward the limit
	watchers   map[string][]*webhookRec       // watchKey → webhooks, oldest first
	idemKeys   map[string]*webhookRec         // idempotency key → webhook
	dispatches []*dispatchRec                 // oldest first
	runs       []*runRec                      // oldest first
	byStatus   map[client.RunStatus][]*runRec // runs by status, oldest first

	storages    map[string]*storageIndex // by kind; see storagesOf
	storedBytes int64                    // held by all its storages
}

// watch indexes w by what its condition watches, so that an event finds
// its webhooks without looking at all of them.
func (u *user) watch(w *webhookRec) {
	k := w.watchKey()
	u.watchers[k] = append(u.watchers[k], w)
}

// unwatch removes w from the index.
func (u *user) unwatch(w *webhookRec) {
	k := w.watchKey()
	ws := u.watchers[k]
	for i, o := range ws {
		if o == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(u.watchers, k)
	} else {
		u.watchers[k] = ws
	}
}

// watching returns the webhooks whose conditions may match run r, oldest
// first.
func (u *user) watching(r client.Run) []*webhookRec {
	ws := append([]*webhookRec(nil), u.watchers["run:"+r.ID]...)
	if r.ActorTaskID != "" {
		ws = append(ws, u.watchers["task:"+r.ActorTaskID]...)
	}
	ws = append(ws, u.watchers["actor:"+r.ActID]...)
	slices.SortFunc(ws, func(a, b *webhookRec) int { return cmp.Compare(a.seq, b.seq) })
	return ws
}

// actorRec is an Actor, created on first use; fn runs its runs when set.
type actorRec struct {
	id        string
	name      string // "username~name" when it was referred to by name
	fn        ActorFunc
	owner     *user // who used it first
	seq       uint64
	createdAt time.Time
}

// taskRec is an Actor task, created on first use, bound to an Actor.
type taskRec struct {
	id        string
	name      string
	actor     *actorRec
	input     []byte // saved input, a JSON object; nil for none
	owner     *user  // who used it first
	seq       uint64
	createdAt time.Time
}

// kvRecord is one record of a key-value store.
type kvRecord struct {
	contentType string
	value       []byte
}

// storage is a key-value store, dataset or request queue: a run's default
// one, or one created through the API.
type storage struct {
	id            string
	kind          string // kindKeyValueStore, kindDataset, kindRequestQueue
	name          string // "" for an unnamed storage
	owner         *user
	seq           uint64
	viaAPI        bool   // created through the API, not for a run
	runID, actID  string // of the run whose default storage it is
	createdAt     time.Time
	modified      time.Time
	accessed      time.Time
	generalAccess string
	bytes         int64 // held, toward the owner's storage limit

	records    map[string]kvRecord // key-value store
	keys       []string            // key-value store: the keys, sorted when keysSorted
	keysSorted bool
	items      itemLog // dataset
	cleanItems int     // dataset: items with a field that is not hidden
	queue      *queue  // request queue
}

// idAlphabet holds the characters of the platform's 17-character IDs.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random 17-character alphanumeric ID, like the platform's.
func newID() string {
	return randomString(17)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// newToken returns a random API token in the platform's format.
func newToken() string { return "apify_api_" + randomString(36) }

// isID reports whether ref looks like a platform ID rather than a name.
func isID(ref string) bool {
	if len(ref) != 17 {
		return false
	}
	for _, c := range ref {
		if !strings.ContainsRune(idAlphabet, c) {
			return false
		}
	}
	return true
}

// normalizeRef turns "username/name" into "username~name" and resolves
// "~name" to u's own name space.
func normalizeRef(u *user, ref string) string {
	ref = strings.Replace(ref, "/", "~", 1)
	if strings.HasPrefix(ref, "~") && u != nil {
		ref = u.username + ref
	}
	return ref
}

// now returns the current time in UTC, to the millisecond like the platform.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// isoTime formats t as JavaScript's Date.toISOString does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// actorLocked returns the Actor that ref names, creating it on first use.
func (s *Server) actorLocked(u *user, ref string) *actorRec {
	ref = normalizeRef(u, ref)
	if a, ok := s.actors[ref]; ok {
		return a
	}
	s.seq++
	a := &actorRec{id: ref, owner: u, seq: s.seq, createdAt: now()}
	if !isID(ref) {
		a.id, a.name = nameID("actor", ref), ref
	}
	s.actors[a.id] = a
	if a.name != "" {
		s.actors[a.name] = a
	}
	return a
}

// taskLocked returns the task that ref names, creating it (with an Actor of
// its own) on first use.
func (s *Server) taskLocked(u *user, ref string) *taskRec {
	ref = normalizeRef(u, ref)
	if t, ok := s.tasks[ref]; ok {
		return t
	}
	s.seq++
	t := &taskRec{id: ref, owner: u, seq: s.seq, createdAt: now()}
	if !isID(ref) {
		t.id, t.name = nameID("task", ref), ref
	}
	t.actor = s.actorLocked(u, newID())
	s.tasks[t.id] = t
	if t.name != "" {
		s.tasks[t.name] = t
	}
	return t
}

// newStorageLocked creates a storage of the given kind owned by u.
func (s *Server) newStorageLocked(u *user, kind string) *storage {
	t := now()
	s.seq++
	st := &storage{id: newID(), kind: kind, owner: u, seq: s.seq, createdAt: t, modified: t, accessed: t,
		generalAccess: "FOLLOW_USER_SETTING"}
	switch kind {
	case kindKeyValueStore:
		st.records = map[string]kvRecord{}
	case kindRequestQueue:
		st.queue = newQueue()
	}
	s.storages[st.id] = st
	ix := u.storagesOf(kind)
	ix.all = append(ix.all, st)
	return st
}

// copyRun returns a deep copy of r, as far as the server sets its fields
// (it never sets UsageUSD or StorageIDs).
func copyRun(r client.Run) client.Run {
	if r.FinishedAt != nil {
		t := *r.FinishedAt
		r.FinishedAt = &t
	}
	if r.ExitCode != nil {
		c := *r.ExitCode
		r.ExitCode = &c
	}
	if r.Options.MaxItems != nil {
		m := *r.Options.MaxItems
		r.Options.MaxItems = &m
	}
	if r.Options.MaxTotalChargeUSD != nil {
		m := *r.Options.MaxTotalChargeUSD
		r.Options.MaxTotalChargeUSD = &m
	}
	if r.Meta.ScheduledAt != nil {
		t := *r.Meta.ScheduledAt
		r.Meta.ScheduledAt = &t
	}
	if r.Usage != nil {
		u := make(client.RunUsage, len(*r.Usage))
		for k, v := range *r.Usage {
			u[k] = v
		}
		r.Usage = &u
	}
	if r.UsageTotalUSD != nil {
		v := *r.UsageTotalUSD
		r.UsageTotalUSD = &v
	}
	if r.ChargedEventCounts != nil {
		m := make(map[string]int, len(r.ChargedEventCounts))
		for k, v := range r.ChargedEventCounts {
			m[k] = v
		}
		r.ChargedEventCounts = m
	}
	r.Metamorphs = append([]client.RunMetamorph(nil), r.Metamorphs...)
	r.PricingInfo = append([]byte(nil), r.PricingInfo...)
	if len(r.PricingInfo) == 0 {
		r.PricingInfo = nil
	}
	return r
}

// copyWebhook returns a deep copy of w.
func copyWebhook(w client.Webhook) client.Webhook {
	w.EventTypes = append([]client.EventType(nil), w.EventTypes...)
	if w.LastDispatch != nil {
		ld := *w.LastDispatch
		if ld.FinishedAt != nil {
			t := *ld.FinishedAt
			ld.FinishedAt = &t
		}
		w.LastDispatch = &ld
	}
	if w.Stats != nil {
		st := *w.Stats
		w.Stats = &st
	}
	return w
}

// copyDispatch returns a deep copy of d.
func copyDispatch(d client.WebhookDispatch) client.WebhookDispatch {
	if d.EventData != nil {
		ed := *d.EventData
		d.EventData = &ed
	}
	if d.Webhook != nil {
		wh := *d.Webhook
		d.Webhook = &wh
	}
	calls := make([]client.WebhookCall, len(d.Calls))
	copy(calls, d.Calls) // the times they point to are never changed
	d.Calls = calls
	return d
}
