package apifytest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/go-apify/actor/client"
)

// Defaults of a run's options, as on the platform.
const (
	DefaultRunTimeout   = time.Hour
	DefaultMemoryMbytes = 1024
	DefaultBuild        = "latest"
	// inputKey is the key of a run's input in its default key-value store.
	inputKey = "INPUT"
	// maxWaitForFinish bounds the waitForFinish parameter, as on the platform.
	maxWaitForFinish = 60 * time.Second
)

// ActorFunc is an Actor written as a Go function, registered with
// RegisterActor. It runs in its own goroutine when a run of its Actor starts,
// with the run's environment (see Server.Env) and input (nil without one).
// Its ctx is cancelled when the run is aborted or times out, or the server
// closes; it should then return promptly. A migration, reboot or metamorph
// cancels it too, with ErrRestarting as its cause (context.Cause), and
// calls the function again, as the platform starts the Actor's process
// again; a resurrection calls it again after the run ended. RestartOf tells
// the function which call it is.
//
// Its result ends the run: nil is SUCCEEDED with exit code 0; an error that
// wraps ErrAborted is ABORTED; any other error is FAILED. An error with an
// ExitCode() int method (such as *exec.ExitError) records that exit code,
// any other 1.
//
// The status message a run ends with is the last one the Actor set through
// PUT /v2/actor-runs/{id}, as on the platform. An error without an
// ExitCode method is the Actor's final word, as actor.Main makes it: it
// replaces a message that is not terminal. An error with one tells how a
// process ended, and is the message only of a run without one.
//
// Requests the Actor sent without waiting for the answer count as well:
// when the function returns, the run ends (or restarts) only once the
// server has handled what the connections that the Actor closed still
// held, as when a process sends its last status message and exits at once
// (the JS SDK's Actor.exit does, 1 ms after sending it). That wait is
// bounded by a few seconds, and is not made on systems whose sockets are
// not peeked at (Windows among them).
type ActorFunc func(ctx context.Context, env []string, input []byte) error

// runRec is a run with what the server needs to drive it.
type runRec struct {
	// run is changed by replacing its fields, never what its pointers
	// point to: a copy of the struct is a snapshot (see newEvent).
	run   client.Run
	owner *user
	done  chan struct{} // closed when the run reaches a terminal status

	actor    *actorRec    // the Actor it runs: its own, or a metamorph's target
	inputKey string       // ACTOR_INPUT_KEY: INPUT, or the last metamorph's
	exec     *execution   // the Actor function's current call, if any
	restart  *restartRec  // the restart under way, if any
	hub      *eventHub    // the events websocket's connections
	charging *runCharging // pay-per-event state (charging.go), nil without
	timer    *time.Timer  // timeout or automatic finish

	createdPending int            // ACTOR.RUN.CREATED dispatches not yet attempted
	held           []*dispatchRec // dispatches waiting for those

	seq        uint64         // creation order among all records
	depth      int            // the webhook calls that led to its start (see MaxChainDepth)
	dispatches []*dispatchRec // oldest first
	pending    int            // dispatches not yet settled
	retained   bool           // done, and queued for eviction
	log        *runLog        // created on first use (see logLocked)
}

// runView is a run as the API returns it.
type runView struct {
	client.Run
	StorageIDs struct {
		Datasets       defaultStorage `json:"datasets"`
		KeyValueStores defaultStorage `json:"keyValueStores"`
		RequestQueues  defaultStorage `json:"requestQueues"`
	} `json:"storageIds"`
}

// defaultStorage is the ID of a run's default storage of one kind, under
// its alias.
type defaultStorage struct {
	Default string `json:"default"`
}

func viewOf(r client.Run) runView {
	v := runView{Run: r}
	v.StorageIDs.Datasets.Default = r.DefaultDatasetID
	v.StorageIDs.KeyValueStores.Default = r.DefaultKeyValueStoreID
	v.StorageIDs.RequestQueues.Default = r.DefaultRequestQueueID
	return v
}

// RegisterActor makes fn the code of the Actor that actorID names (an ID,
// "username~name" or "username/name"): each run started for it afterwards
// executes fn. Registering nil unregisters.
func (s *Server) RegisterActor(actorID string, fn ActorFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actorLocked(s.defaultUser(), actorID).fn = fn
}

// RegisterTask binds the task that taskID names to the Actor that actorID
// names, so that the task's runs are runs of that Actor. A task used without
// registration gets an Actor of its own.
func (s *Server) RegisterTask(taskID, actorID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.defaultUser()
	s.taskLocked(u, taskID).actor = s.actorLocked(u, actorID)
}

// StartRun starts a run of actorID for the default user with the given input
// (nil for none) and options, as POST /v2/acts/{actorId}/runs does. A run of
// a registered Actor executes its function; any other stays RUNNING until
// FinishRun or AbortRun. Invalid webhooks are an *Error and start nothing.
//
// Of the options, Webhooks are the run's ad-hoc webhooks, ContentType the
// input's (application/json by default), and Build and MemoryMbytes are
// recorded in the run's options (DefaultBuild, DefaultMemoryMbytes).
// Timeout ends the run TIMED-OUT when it runs longer: DefaultRunTimeout when
// zero, none when negative. MaxItems and WaitForFinish are not used: wait
// for the run with WaitRun.
func (s *Server) StartRun(ctx context.Context, actorID string, input []byte, o client.StartOptions) (*client.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if actorID == "" {
		return nil, badRequest("actorId: is required")
	}
	p := startParams{
		input: input, contentType: o.ContentType, timeout: o.Timeout, memory: o.MemoryMbytes,
		build: o.Build, origin: "DEVELOPMENT",
	}
	if o.Timeout == 0 {
		p.timeout = DefaultRunTimeout
	}
	for i, a := range o.Webhooks {
		c, e := compile(specOfAdHoc(a, ""), fmt.Sprintf("webhooks[%d].", i))
		if e != nil {
			return nil, e
		}
		p.webhooks = append(p.webhooks, c)
	}
	s.mu.Lock()
	u := s.defaultUser()
	run, e := s.startLocked(u, s.actorLocked(u, actorID), nil, p)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return &run, nil
}

// startParams is how to start a run.
type startParams struct {
	input       []byte
	contentType string
	webhooks    []compiled
	timeout     time.Duration // <= 0: none
	memory      int
	build       string
	origin      string
	clientIP    string
	userAgent   string
	depth       int     // of the webhook calls that led to the start
	maxCharge   float64 // maxTotalChargeUsd; 0: the pricing's
}

// startLocked creates a run of a (for task t, if not nil) owned by u, with
// its storages, input and ad-hoc webhooks; fires ACTOR.RUN.CREATED; and
// starts the Actor's function or the run's timers.
func (s *Server) startLocked(u *user, a *actorRec, t *taskRec, p startParams) (client.Run, *Error) {
	if s.closed {
		return client.Run{}, &Error{StatusCode: http.StatusServiceUnavailable, Type: typeServerError, Message: "the server is closed"}
	}
	newHooks := 0
	for _, c := range p.webhooks {
		if _, dup := u.idemKeys[c.spec.idemKey]; c.spec.idemKey == "" || !dup {
			newHooks++
		}
	}
	if u.counted+newHooks > s.cfg.webhookLimit {
		return client.Run{}, &Error{StatusCode: http.StatusBadRequest, Type: typeTooManyWebhooks,
			Message: "webhooks: the run's webhooks would exceed the limit of " + strconv.Itoa(s.cfg.webhookLimit) + " webhooks"}
	}
	if p.memory <= 0 {
		p.memory = DefaultMemoryMbytes
	}
	if p.build == "" {
		p.build = DefaultBuild
	}
	kv := s.newStorageLocked(u, "keyValueStore")
	ds := s.newStorageLocked(u, "dataset")
	rq := s.newStorageLocked(u, "requestQueue")
	if p.input != nil {
		ct := p.contentType
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
		kv.records[inputKey] = kvRecord{contentType: ct, value: append([]byte(nil), p.input...)}
	}
	started := now()
	r := &runRec{
		owner:    u,
		done:     make(chan struct{}),
		actor:    a,
		inputKey: inputKey,
		hub:      newEventHub(),
		run: client.Run{
			ID:     newID(),
			ActID:  a.id,
			UserID: u.id,
			Status: client.StatusReady,
			Meta:   client.RunMeta{Origin: p.origin, ClientIP: p.clientIP, UserAgent: p.userAgent},
			Options: client.RunOptions{
				Build: p.build, TimeoutSecs: int((max(p.timeout, 0) + time.Second - 1) / time.Second),
				MemoryMbytes: p.memory, DiskMbytes: 2 * p.memory,
			},
			StartedAt:              started,
			BuildID:                newID(),
			BuildNumber:            "0.0.1",
			GeneralAccess:          "FOLLOW_USER_SETTING",
			DefaultKeyValueStoreID: kv.id,
			DefaultDatasetID:       ds.id,
			DefaultRequestQueueID:  rq.id,
			Usage:                  &client.RunUsage{},
		},
	}
	r.run.Stats.InputBodyLen = len(p.input)
	s.priceLocked(r, p.maxCharge)
	if t != nil {
		r.run.ActorTaskID = t.id
	}
	s.seq++
	r.seq = s.seq
	r.depth = p.depth
	s.runs[r.run.ID] = r
	u.runs = append(u.runs, r)
	for _, st := range []*storage{kv, ds, rq} {
		st.runID, st.actID = r.run.ID, a.id
	}
	for _, c := range p.webhooks {
		c.spec.condition.ActorRunID = r.run.ID
		if _, _, e := s.createWebhookLocked(u, c); e != nil {
			// Cannot happen: the condition and the limit were checked.
			s.log.Error("apifytest: ad-hoc webhook", "run", r.run.ID, "err", e)
		}
	}
	created := s.fireLocked(r, client.EventActorRunCreated)
	r.createdPending = len(created)
	s.setStatusLocked(r, client.StatusRunning)
	s.log.Info("apifytest: run started", "run", r.run.ID, "actor", a.id, "webhooks", len(p.webhooks))

	s.startExecLocked(r, nil)
	s.armTimerLocked(r, p.timeout)
	return copyRun(r.run), nil
}

// armTimerLocked starts run r's timer: its automatic finish (see
// WithAutoFinish) for a run without a function, or its timeout (none if
// not positive).
func (s *Server) armTimerLocked(r *runRec, timeout time.Duration) {
	switch {
	case r.actor.fn == nil && s.cfg.autoFinishSet && (timeout <= 0 || s.cfg.autoFinishAfter < timeout):
		r.timer = time.AfterFunc(s.cfg.autoFinishAfter, func() {
			_, _ = s.FinishRun(r.run.ID, s.cfg.autoFinishAs, defaultExitCode(s.cfg.autoFinishAs))
		})
	case timeout > 0:
		r.timer = time.AfterFunc(timeout, func() { s.timeOut(r) })
	}
}

// setStatusLocked sets r's status, keeping its owner's index of runs by
// status.
func (s *Server) setStatusLocked(r *runRec, status client.RunStatus) {
	u := r.owner
	if old := r.run.Status; old != "" {
		u.byStatus[old] = removeSeq(u.byStatus[old], r)
	}
	r.run.Status = status
	u.byStatus[status] = insertSeq(u.byStatus[status], r)
}

// execute runs fn as run r and ends the run with its result, or restarts
// it (see restartAfterLocked).
func (s *Server) execute(r *runRec, e *execution, fn ActorFunc, ctx context.Context, env []string, input []byte) {
	defer s.bg.Done()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("the Actor function panicked: %v", p)
			}
		}()
		return fn(ctx, env, input)
	}()
	// What the Actor sent before it ended, and has not waited for, counts
	// (see connSet.settle).
	s.conns.settle(s.ctx.Done())
	s.mu.Lock()
	defer s.mu.Unlock()
	e.cancel(nil)
	close(e.done)
	if r.exec != e {
		// The run ended while this call still ran (FinishRun) and was
		// resurrected: the new call ends it.
		return
	}
	r.exec = nil
	if s.restartAfterLocked(r, err) {
		return
	}
	code := 0
	var coded interface{ ExitCode() int }
	switch {
	case errors.As(err, &coded):
		code = coded.ExitCode()
	case err != nil:
		code = 1
	}
	switch r.run.Status {
	case client.StatusAborting:
		s.finishLocked(r, client.StatusAborted, exitCodeIf(coded != nil, code), "")
	case client.StatusTimingOut:
		s.finishLocked(r, client.StatusTimedOut, exitCodeIf(coded != nil, code), "")
	case client.StatusReady, client.StatusRunning:
		switch {
		case err == nil:
			s.finishLocked(r, client.StatusSucceeded, &code, "")
		case errors.Is(err, ErrAborted):
			s.finishLocked(r, client.StatusAborted, exitCodeIf(coded != nil, code), "")
		case coded != nil:
			// How a process ended: words for a run without a message.
			s.finishLocked(r, client.StatusFailed, &code, err.Error())
		default:
			// The Actor's final word, as actor.Main and the JS SDK's
			// Actor.fail make it: it replaces a progress message.
			if !r.run.IsStatusMessageTerminal || r.run.StatusMessage == "" {
				r.run.StatusMessage, r.run.IsStatusMessageTerminal = err.Error(), true
			}
			s.finishLocked(r, client.StatusFailed, &code, "")
		}
	}
}

// defaultExitCode is the exit code of a run ended with status without one
// given: 0 for SUCCEEDED, else 1.
func defaultExitCode(status client.RunStatus) int {
	if status == client.StatusSucceeded {
		return 0
	}
	return 1
}

func exitCodeIf(ok bool, code int) *int {
	if !ok {
		return nil
	}
	return &code
}

// timeOut ends a run that has run past its timeout.
func (s *Server) timeOut(r *runRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(r, client.StatusTimingOut, client.StatusTimedOut)
}

// stopLocked stops a run that has not ended: one executing a registered
// function goes to the transitional status ending (TIMING-OUT, ABORTING)
// and its function's context is cancelled (execute ends it when the
// function returns); any other ends at once with the terminal status
// ended.
func (s *Server) stopLocked(r *runRec, ending, ended client.RunStatus) {
	if r.run.Status != client.StatusRunning && r.run.Status != client.StatusReady {
		return
	}
	if r.exec != nil {
		s.setStatusLocked(r, ending)
		r.exec.cancel(nil)
		return
	}
	s.finishLocked(r, ended, nil, "")
}

// finishLocked moves r to a terminal status and fires its event. As on the
// platform, which fills in a status message only for a run without one, the
// Actor's last status message stays, terminal or not; a run without one
// gets msg if not empty, else a message that names the status, as a
// terminal message.
func (s *Server) finishLocked(r *runRec, status client.RunStatus, exitCode *int, msg string) {
	if r.run.Status.IsTerminal() {
		return
	}
	t := now()
	s.setStatusLocked(r, status)
	r.run.FinishedAt = &t
	r.run.ExitCode = exitCode
	r.run.Stats.DurationMillis = t.Sub(r.run.StartedAt).Milliseconds()
	r.run.Stats.RunTimeSecs = t.Sub(r.run.StartedAt).Seconds()
	if r.run.StatusMessage == "" {
		r.run.StatusMessage = cmp.Or(msg, defaultStatusMessage(status, exitCode))
		r.run.IsStatusMessageTerminal = true
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.exec != nil {
		r.exec.cancel(nil)
	}
	s.endRestartLocked(r)
	s.closeEventsLocked(r, websocket.StatusNormalClosure, "the Actor run has finished")
	close(r.done)
	ev, _ := status.Event()
	s.fireLocked(r, ev)
	s.runEndedLocked(r)
	s.runSettledLocked(r)
	s.log.Info("apifytest: run finished", "run", r.run.ID, "status", status)
}

func defaultStatusMessage(status client.RunStatus, exitCode *int) string {
	code := ""
	if exitCode != nil {
		code = " (exit code " + strconv.Itoa(*exitCode) + ")"
	}
	switch status {
	case client.StatusSucceeded:
		return "Actor finished successfully" + code
	case client.StatusFailed:
		return "Actor failed" + code
	case client.StatusTimedOut:
		return "Actor timed out"
	default:
		return "Actor was aborted"
	}
}

// FinishRun ends run runID with a terminal status (SUCCEEDED, FAILED,
// TIMED-OUT or ABORTED) and exit code, firing its webhooks; a registered
// Actor function still running has its context cancelled. A run that has
// already ended is an error matching ErrRunFinished.
func (s *Server) FinishRun(runID string, status client.RunStatus, exitCode int) (*client.Run, error) {
	run, e := s.finish(nil, runID, status, exitCode)
	if e != nil {
		return nil, e
	}
	return &run, nil
}

// finish ends run id of u (of any user if u is nil) as FinishRun does.
func (s *Server) finish(u *user, id string, status client.RunStatus, exitCode int) (client.Run, *Error) {
	if !status.IsTerminal() {
		return client.Run{}, badRequest("status: %q is not a terminal status (SUCCEEDED, FAILED, TIMED-OUT or ABORTED)", status)
	}
	var finished *Error
	run, e := s.withRun(u, id, func(r *runRec) {
		if r.run.Status.IsTerminal() {
			finished = &Error{StatusCode: http.StatusConflict, Type: typeRunFinished,
				Message: "Actor run " + id + " has already finished with status " + string(r.run.Status)}
			return
		}
		s.finishLocked(r, status, &exitCode, "")
	})
	return run, cmp.Or(e, finished)
}

// AbortRun aborts run runID as POST /v2/actor-runs/{id}/abort does: a run
// executing a registered function goes ABORTING, its context is cancelled,
// and it is ABORTED when the function returns; any other run is ABORTED at
// once. A run that has ended, or is already ending, is returned unchanged.
func (s *Server) AbortRun(runID string) (*client.Run, error) {
	run, e := s.withRun(nil, runID, s.abortLocked)
	if e != nil {
		return nil, e
	}
	return &run, nil
}

func (s *Server) abortLocked(r *runRec) {
	s.stopLocked(r, client.StatusAborting, client.StatusAborted)
}

// Run returns run runID as the API would, and whether it exists.
func (s *Server) Run(runID string) (*client.Run, bool) {
	run, e := s.withRun(nil, runID, nil)
	if e != nil {
		return nil, false
	}
	return &run, true
}

// WaitRun waits until run runID has ended and returns it.
func (s *Server) WaitRun(ctx context.Context, runID string) (*client.Run, error) {
	s.mu.Lock()
	r, ok := s.runs[runID]
	var done chan struct{}
	if ok {
		done = r.done // a resurrection makes a new one
	}
	s.mu.Unlock()
	if !ok {
		return nil, notFound("Actor run")
	}
	if err := s.waitFor(ctx, done); err != nil {
		return nil, err
	}
	// From r, which the retention may have evicted meanwhile.
	s.mu.Lock()
	defer s.mu.Unlock()
	run := copyRun(r.run)
	return &run, nil
}

// envLocked returns the environment of run r.
func (r *runRec) envLocked(baseURL string) []string {
	run := r.run
	env := []string{
		"APIFY_API_BASE_URL=" + baseURL,
		"APIFY_CLIENT_BASE_URL=" + baseURL,
		"APIFY_API_PUBLIC_BASE_URL=" + baseURL,
		"APIFY_TOKEN=" + r.owner.token,
		"APIFY_IS_AT_HOME=1",
		"APIFY_USER_ID=" + run.UserID,
		"ACTOR_RUN_ID=" + run.ID,
		"APIFY_ACTOR_RUN_ID=" + run.ID,
		"ACTOR_ID=" + run.ActID,
		"APIFY_ACTOR_ID=" + run.ActID,
		"ACTOR_BUILD_ID=" + run.BuildID,
		"APIFY_ACTOR_BUILD_ID=" + run.BuildID,
		"ACTOR_BUILD_NUMBER=" + run.BuildNumber,
		"APIFY_ACTOR_BUILD_NUMBER=" + run.BuildNumber,
		"ACTOR_DEFAULT_KEY_VALUE_STORE_ID=" + run.DefaultKeyValueStoreID,
		"APIFY_DEFAULT_KEY_VALUE_STORE_ID=" + run.DefaultKeyValueStoreID,
		"ACTOR_DEFAULT_DATASET_ID=" + run.DefaultDatasetID,
		"APIFY_DEFAULT_DATASET_ID=" + run.DefaultDatasetID,
		"ACTOR_DEFAULT_REQUEST_QUEUE_ID=" + run.DefaultRequestQueueID,
		"APIFY_DEFAULT_REQUEST_QUEUE_ID=" + run.DefaultRequestQueueID,
		"ACTOR_INPUT_KEY=" + r.inputKey,
		"APIFY_INPUT_KEY=" + r.inputKey,
		"ACTOR_EVENTS_WEBSOCKET_URL=" + r.eventsURL(baseURL),
		"APIFY_ACTOR_EVENTS_WS_URL=" + r.eventsURL(baseURL),
		"ACTOR_MEMORY_MBYTES=" + strconv.Itoa(run.Options.MemoryMbytes),
		"APIFY_MEMORY_MBYTES=" + strconv.Itoa(run.Options.MemoryMbytes),
		"ACTOR_STARTED_AT=" + isoTime(run.StartedAt),
		"APIFY_STARTED_AT=" + isoTime(run.StartedAt),
	}
	env = append(env, proxyEnv(baseURL)...)
	if run.ActorTaskID != "" {
		env = append(env, "ACTOR_TASK_ID="+run.ActorTaskID, "APIFY_ACTOR_TASK_ID="+run.ActorTaskID)
	}
	if run.Options.TimeoutSecs > 0 {
		at := isoTime(run.StartedAt.Add(time.Duration(run.Options.TimeoutSecs) * time.Second))
		env = append(env, "ACTOR_TIMEOUT_AT="+at, "APIFY_TIMEOUT_AT="+at)
	}
	return append(env, r.chargingEnvLocked()...)
}
