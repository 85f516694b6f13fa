package apifytest

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// nameID returns the ID of the Actor or task (kind) that name ("username~name")
// names: derived from the name, so that it is the same in every server.
func nameID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + ":" + name))
	b := make([]byte, 17)
	for i := range b {
		b[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return string(b)
}

// splitName returns the username and name of "username~name"; a record
// known only by its ID is named by its ID, under its owner's username.
func splitName(owner *user, id, name string) (username, short string) {
	if u, n, ok := strings.Cut(name, "~"); ok {
		return u, n
	}
	return owner.username, id
}

// actorView is an Actor as the API returns it.
type actorView struct {
	ID                string            `json:"id"`
	UserID            string            `json:"userId"`
	Name              string            `json:"name"`
	Username          string            `json:"username"`
	Title             string            `json:"title"`
	Description       string            `json:"description"`
	IsPublic          bool              `json:"isPublic"`
	RestartOnError    bool              `json:"restartOnError"`
	CreatedAt         time.Time         `json:"createdAt"`
	ModifiedAt        time.Time         `json:"modifiedAt"`
	Stats             jobStats          `json:"stats"`
	Versions          []any             `json:"versions"`
	DefaultRunOptions defaultRunOptions `json:"defaultRunOptions"`
	IsDeprecated      bool              `json:"isDeprecated"`
	TaggedBuilds      map[string]any    `json:"taggedBuilds"`
}

type jobStats struct {
	TotalBuilds      int        `json:"totalBuilds,omitempty"`
	TotalRuns        int        `json:"totalRuns"`
	TotalUsers       int        `json:"totalUsers,omitempty"`
	LastRunStartedAt *time.Time `json:"lastRunStartedAt"`
}

type defaultRunOptions struct {
	Build        string `json:"build"`
	TimeoutSecs  int    `json:"timeoutSecs"`
	MemoryMbytes int    `json:"memoryMbytes"`
}

// taskView is an Actor task as the API returns it.
type taskView struct {
	ID         string            `json:"id"`
	UserID     string            `json:"userId"`
	ActID      string            `json:"actId"`
	ActName    string            `json:"actName"`
	ActUser    string            `json:"actUsername"`
	Name       string            `json:"name"`
	Username   string            `json:"username"`
	Title      string            `json:"title"`
	CreatedAt  time.Time         `json:"createdAt"`
	ModifiedAt time.Time         `json:"modifiedAt"`
	RemovedAt  *time.Time        `json:"removedAt"`
	Stats      jobStats          `json:"stats"`
	Options    defaultRunOptions `json:"options"`
	Input      map[string]any    `json:"input"`
}

// statsLocked counts u's runs by the Actor or task ID that key returns
// ("" for none), in one pass over them.
func statsLocked(u *user, key func(*runRec) string) map[string]jobStats {
	out := map[string]jobStats{}
	for _, r := range u.runs {
		k := key(r)
		if k == "" {
			continue
		}
		st := out[k]
		st.TotalRuns++
		t := r.run.StartedAt
		st.LastRunStartedAt = &t
		out[k] = st
	}
	return out
}

func runActor(r *runRec) string { return r.run.ActID }
func runTask(r *runRec) string  { return r.run.ActorTaskID }

var localRunOptions = defaultRunOptions{Build: DefaultBuild, TimeoutSecs: int(DefaultRunTimeout / time.Second), MemoryMbytes: DefaultMemoryMbytes}

// actorViewLocked returns a as the API shows it, with its stats from
// stats (see statsLocked).
func actorViewLocked(a *actorRec, stats map[string]jobStats) actorView {
	username, name := splitName(a.owner, a.id, a.name)
	st := stats[a.id]
	st.TotalUsers = 1
	return actorView{
		ID: a.id, UserID: a.owner.id, Name: name, Username: username, Title: name,
		CreatedAt: a.createdAt, ModifiedAt: a.createdAt, Stats: st, Versions: []any{},
		DefaultRunOptions: localRunOptions, TaggedBuilds: map[string]any{},
	}
}

// taskViewLocked returns t as the API shows it, with its stats from stats.
func taskViewLocked(t *taskRec, stats map[string]jobStats) taskView {
	username, name := splitName(t.owner, t.id, t.name)
	actUser, actName := splitName(t.actor.owner, t.actor.id, t.actor.name)
	return taskView{
		ID: t.id, UserID: t.owner.id, ActID: t.actor.id, ActName: actName, ActUser: actUser,
		Name: name, Username: username, Title: name, CreatedAt: t.createdAt, ModifiedAt: t.createdAt,
		Stats:   stats[t.id],
		Options: localRunOptions, Input: t.inputObject(),
	}
}

// inputObject returns t's saved input, {} for none.
func (t *taskRec) inputObject() map[string]any {
	in := map[string]any{}
	_ = json.Unmarshal(t.input, &in) // saved only if it is an object
	return in
}

// inputFor returns the input of a run of t started with input (of
// contentType): t's saved input, overridden field by field by a JSON
// object given, as on the platform; any other input as given.
func (t *taskRec) inputFor(input []byte, contentType string) ([]byte, string) {
	if t.input == nil {
		return input, contentType
	}
	if len(input) == 0 {
		return append([]byte(nil), t.input...), "application/json; charset=utf-8"
	}
	var given map[string]json.RawMessage
	if mt, _, _ := mime.ParseMediaType(contentType); (mt == "" || mt == "application/json") && json.Unmarshal(input, &given) == nil && given != nil {
		var merged map[string]json.RawMessage
		_ = json.Unmarshal(t.input, &merged)
		for k, v := range given {
			merged[k] = v
		}
		if out, err := json.Marshal(merged); err == nil {
			return out, "application/json; charset=utf-8"
		}
	}
	return input, contentType
}

// handleGetTaskInput serves GET /v2/actor-tasks/{taskId}/input: the saved
// input, {} for none.
func (s *Server) handleGetTaskInput(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	in := s.taskLocked(u, r.PathValue("taskId")).inputObject()
	s.mu.Unlock()
	writeJSON(w, in)
}

// handleUpdateTaskInput serves PUT /v2/actor-tasks/{taskId}/input: the
// body, a JSON object, is the task's input from now on, which runs of the
// task start with, overridden field by field by the input they are given.
func (s *Server) handleUpdateTaskInput(w http.ResponseWriter, r *http.Request, u *user) {
	var in map[string]json.RawMessage
	if e := readJSON(r, &in); e != nil {
		writeError(w, e)
		return
	}
	raw, _ := json.Marshal(in) // re-encoded: compact, and sure to be an object
	s.mu.Lock()
	s.taskLocked(u, r.PathValue("taskId")).input = raw
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(raw)
}

// writeJSON writes v as a JSON body, without the data envelope.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// handleGetActor serves GET /v2/actors/{actorId}: any Actor ID or name is
// an Actor, created on first use as a run start creates it, so that
// clients that look an Actor up before they call it (the JS SDK's
// Actor.call) work for any Actor.
func (s *Server) handleGetActor(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	v := actorViewLocked(s.actorLocked(u, r.PathValue("actorId")), statsLocked(u, runActor))
	s.mu.Unlock()
	writeData(w, http.StatusOK, v)
}

// handleGetTask serves GET /v2/actor-tasks/{taskId}, creating the task on
// first use as a run start does.
func (s *Server) handleGetTask(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	v := taskViewLocked(s.taskLocked(u, r.PathValue("taskId")), statsLocked(u, runTask))
	s.mu.Unlock()
	writeData(w, http.StatusOK, v)
}

// handleListActors serves GET /v2/actors: the Actors u has used (or that
// are registered), oldest first; my=1 changes nothing, as they are all the
// user's.
func (s *Server) handleListActors(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e == nil {
		_, e = parseBool(r.URL.Query().Get("my"), "my")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	actors := uniqueOwned(s.actors, u, func(a *actorRec) (*user, uint64) { return a.owner, a.seq })
	stats := statsLocked(u, runActor)
	out := page(actors, p, func(a *actorRec) actorView { return actorViewLocked(a, stats) })
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

// handleListTasks serves GET /v2/actor-tasks.
func (s *Server) handleListTasks(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	tasks := uniqueOwned(s.tasks, u, func(t *taskRec) (*user, uint64) { return t.owner, t.seq })
	stats := statsLocked(u, runTask)
	out := page(tasks, p, func(t *taskRec) taskView { return taskViewLocked(t, stats) })
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

// uniqueOwned returns the records of m (indexed by ID and by name) that u
// owns, oldest first.
func uniqueOwned[T comparable](m map[string]T, u *user, of func(T) (*user, uint64)) []T {
	seen := map[T]bool{}
	var out []T
	for _, x := range m {
		if owner, _ := of(x); owner == u && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		_, sa := of(a)
		_, sb := of(b)
		return cmp.Compare(sa, sb)
	})
	return out
}

// jobRuns returns a filter of u's runs of the Actor or task that the
// request's path names: by actorId or taskId.
func (s *Server) jobFilterLocked(r *http.Request, u *user) func(*runRec) bool {
	if ref := r.PathValue("taskId"); ref != "" {
		id := s.taskLocked(u, ref).id
		return func(rr *runRec) bool { return rr.run.ActorTaskID == id }
	}
	id := s.actorLocked(u, r.PathValue("actorId")).id
	return func(rr *runRec) bool { return rr.run.ActID == id }
}

// parseStatuses reads a run list's status filter: one or more statuses,
// comma-separated.
func parseStatuses(v string) ([]client.RunStatus, *Error) {
	var statuses []client.RunStatus
	if v == "" {
		return nil, nil
	}
	for _, st := range strings.Split(v, ",") {
		if !slices.Contains(runStatuses, st) {
			return nil, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter status must be one or more (comma-separated) of " + strings.Join(runStatuses, ", ") + ", not " + strconv.Quote(st)}
		}
		statuses = append(statuses, client.RunStatus(st))
	}
	return statuses, nil
}

// handleListJobRuns serves GET /v2/actors/{actorId}/runs and
// /v2/actor-tasks/{taskId}/runs, with status, offset, limit and desc. It
// looks at all the user's runs that the retention keeps.
func (s *Server) handleListJobRuns(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	statuses, e := parseStatuses(r.URL.Query().Get("status"))
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	match := s.jobFilterLocked(r, u)
	var runs []*runRec
	for _, rr := range u.runs {
		if match(rr) && (statuses == nil || slices.Contains(statuses, rr.run.Status)) {
			runs = append(runs, rr)
		}
	}
	out := page(runs, p, func(rr *runRec) runView { return listedRun(copyRun(rr.run)) })
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

// handleListJobWebhooks serves GET /v2/actors/{actorId}/webhooks and
// /v2/actor-tasks/{taskId}/webhooks: the webhooks whose condition is that
// Actor or task, oldest first.
func (s *Server) handleListJobWebhooks(w http.ResponseWriter, r *http.Request, u *user) {
	p, e := parseList(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	var match func(client.WebhookCondition) bool
	if ref := r.PathValue("taskId"); ref != "" {
		id := s.taskLocked(u, ref).id
		match = func(c client.WebhookCondition) bool { return c.ActorTaskID == id }
	} else {
		id := s.actorLocked(u, r.PathValue("actorId")).id
		match = func(c client.WebhookCondition) bool {
			return c.ActorID == id && c.ActorTaskID == "" && c.ActorRunID == ""
		}
	}
	var hooks []*webhookRec
	for _, wh := range u.webhooks {
		if match(wh.w.Condition) {
			hooks = append(hooks, wh)
		}
	}
	out := page(hooks, p, func(wh *webhookRec) listedWebhook {
		return viewOfWebhook(copyWebhook(wh.w))
	})
	s.mu.Unlock()
	writeData(w, http.StatusOK, out)
}

// lastRunLocked returns the last run started of the Actor or task the
// request names, with the status and origin it asks for.
func (s *Server) lastRunLocked(r *http.Request, u *user) (*runRec, *Error) {
	q := r.URL.Query()
	statuses, e := parseStatuses(q.Get("status"))
	if e != nil {
		return nil, e
	}
	origin := q.Get("origin")
	match := s.jobFilterLocked(r, u)
	for i := len(u.runs) - 1; i >= 0; i-- {
		rr := u.runs[i]
		if match(rr) && (statuses == nil || slices.Contains(statuses, rr.run.Status)) && (origin == "" || rr.run.Meta.Origin == origin) {
			return rr, nil
		}
	}
	return nil, notFound("Actor run")
}

// handleLastRun serves GET .../runs/last as GET /v2/actor-runs/{id} would
// serve the run it finds.
func (s *Server) handleLastRun(w http.ResponseWriter, r *http.Request, u *user) {
	s.forwardLastRun(w, r, u, "")
}

// handleLastRunSub serves what is below .../runs/last (dataset, log,
// abort, ...) by forwarding to the same path below the run it finds.
func (s *Server) handleLastRunSub(w http.ResponseWriter, r *http.Request, u *user) {
	s.forwardLastRun(w, r, u, "/"+r.PathValue("rest"))
}

func (s *Server) forwardLastRun(w http.ResponseWriter, r *http.Request, u *user, rest string) {
	s.mu.Lock()
	rr, e := s.lastRunLocked(r, u)
	var id string
	if e == nil {
		id = rr.run.ID
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	s.forwardToRun(w, r, id, rest)
}

// handleActorRun serves /v2/actors/{actorId}/runs/{runId} and the paths
// below it as the run's own, for a run of that Actor.
func (s *Server) handleActorRun(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("runId")
	s.mu.Lock()
	rr, ok := s.runs[id]
	ok = ok && rr.owner == u && rr.run.ActID == s.actorLocked(u, r.PathValue("actorId")).id
	s.mu.Unlock()
	if !ok {
		writeError(w, notFound("Actor run"))
		return
	}
	rest := ""
	if v := r.PathValue("rest"); v != "" {
		rest = "/" + v
	}
	s.forwardToRun(w, r, id, rest)
}

// forwardToRun serves r as the request for path rest below run id would
// be served.
func (s *Server) forwardToRun(w http.ResponseWriter, r *http.Request, id, rest string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v2/actor-runs/" + id + rest
	r2.URL.RawPath = ""
	// Run routes read no status or origin; waitForFinish and the others
	// carry over.
	q := r2.URL.Query()
	q.Del("status")
	q.Del("origin")
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	s.mux.ServeHTTP(w, r2)
}

// handleDeleteRun serves DELETE /v2/actor-runs/{id}: a run that has ended
// goes with its default storages (but those given a name), dispatches and
// ad-hoc webhooks; one still going is a 400.
func (s *Server) handleDeleteRun(w http.ResponseWriter, r *http.Request, u *user) {
	if e := s.deleteRun(u, r.PathValue("id")); e != nil {
		writeError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteRun deletes run id of u if it has ended.
func (s *Server) deleteRun(u *user, id string) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr, ok := s.runs[id]
	if !ok || rr.owner != u {
		return notFound("Actor run")
	}
	if !rr.run.Status.IsTerminal() {
		return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest,
			Message: "Actor run " + id + " is " + string(rr.run.Status) + ": only a run that has finished can be deleted"}
	}
	if rr.retained {
		for i, x := range s.done {
			if x.run == rr {
				s.done = slices.Delete(s.done, i, i+1)
				break
			}
		}
	}
	rr.retained = true // never queued for eviction after this
	s.evictRunLocked(rr)
	return nil
}

// actorRoutes are the endpoints of Actors and tasks but their run starts
// and run lists: the Actors and tasks, their last runs, and an Actor's
// runs by ID (GET the run, POST its abort, metamorph, resurrect, ...).
func (s *Server) actorRoutes() []route {
	var routes []route
	for _, base := range []string{"/v2/acts", "/v2/actors", "/v2/actor-tasks"} {
		get, param := s.handleGetActor, "{actorId}"
		list := s.handleListActors
		if base == "/v2/actor-tasks" {
			get, param, list = s.handleGetTask, "{taskId}", s.handleListTasks
		}
		sub := map[string]apiHandler{}
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
			sub[m] = s.handleLastRunSub
		}
		routes = append(routes,
			route{base, map[string]apiHandler{"GET": list}},
			route{base + "/" + param, map[string]apiHandler{"GET": get}},
			route{base + "/" + param + "/webhooks", map[string]apiHandler{"GET": s.handleListJobWebhooks}},
			route{base + "/" + param + "/runs/last", map[string]apiHandler{"GET": s.handleLastRun}},
			route{base + "/" + param + "/runs/last/{rest...}", sub},
		)
		if base == "/v2/actor-tasks" {
			routes = append(routes, route{base + "/{taskId}/input", map[string]apiHandler{"GET": s.handleGetTaskInput, "PUT": s.handleUpdateTaskInput}})
		} else {
			routes = append(routes,
				route{base + "/{actorId}/runs/{runId}", map[string]apiHandler{"GET": s.handleActorRun}},
				route{base + "/{actorId}/runs/{runId}/{rest...}", map[string]apiHandler{"POST": s.handleActorRun}},
			)
		}
	}
	return routes
}
