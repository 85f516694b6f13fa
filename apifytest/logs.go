package apifytest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
)

// MaxLogBytes is how much of a run's log the server keeps: the last 10 MiB.
// Older bytes are dropped, whole lines where it can, and a log that lost
// some starts with a line saying how many.
const MaxLogBytes = 10 << 20

// runLog is the log of one run: its last MaxLogBytes bytes, and a channel
// closed and replaced at each write, for the readers that stream it.
type runLog struct {
	mu      sync.Mutex
	buf     []byte
	dropped int64         // bytes dropped from the start
	changed chan struct{} // closed at the next write
	warned  bool          // the wait for a run nothing ends was logged
}

func newRunLog() *runLog { return &runLog{changed: make(chan struct{})} }

// logLocked returns r's log, creating it on first use.
func (r *runRec) logLocked() *runLog {
	if r.log == nil {
		r.log = newRunLog()
	}
	return r.log
}

func (l *runLog) append(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) >= MaxLogBytes {
		l.dropped += int64(len(l.buf) + len(p) - MaxLogBytes)
		l.buf = append(l.buf[:0], p[len(p)-MaxLogBytes:]...)
	} else {
		if over := len(l.buf) + len(p) - MaxLogBytes; over > 0 {
			// Drop up to the end of a line, if one ends soon after.
			cut := over
			for i := over - 1; i < len(l.buf) && i < over+4096; i++ {
				if l.buf[i] == '\n' {
					cut = i + 1
					break
				}
			}
			l.dropped += int64(cut)
			l.buf = append(l.buf[:0], l.buf[cut:]...)
		}
		l.buf = append(l.buf, p...)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// since returns what was written after offset off (counted from the first
// byte ever written) with the marker of bytes dropped before it, the new
// offset, and a channel closed at the next write.
func (l *runLog) since(off int64) ([]byte, int64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []byte
	if off < l.dropped {
		out = fmt.Appendf(nil, "[apifytest: %d bytes of this log were dropped: a run's log keeps its last %d bytes]\n", l.dropped-off, MaxLogBytes)
		off = l.dropped
	}
	out = append(out, l.buf[off-l.dropped:]...)
	return out, l.dropped + int64(len(l.buf)), l.changed
}

// AppendLog appends p to the log of run runID, as the run's output: what
// GET /v2/logs/{runId} serves, and streams to readers while the run goes
// on. The log keeps its last MaxLogBytes bytes. An unknown run is an error
// matching ErrNotFound.
func (s *Server) AppendLog(runID string, p []byte) error {
	s.mu.Lock()
	r, ok := s.runs[runID]
	var l *runLog
	if ok {
		l = r.logLocked()
	}
	s.mu.Unlock()
	if !ok {
		return notFound("Actor run " + runID)
	}
	l.append(p)
	return nil
}

// LogWriter returns a writer that appends to the log of run runID with
// AppendLog, for a process's stdout and stderr (both may share it) or a
// registered Actor function (its run ID is ACTOR_RUN_ID in its env).
func (s *Server) LogWriter(runID string) io.Writer { return logWriter{s, runID} }

type logWriter struct {
	s     *Server
	runID string
}

func (w logWriter) Write(p []byte) (int, error) {
	if err := w.s.AppendLog(w.runID, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// handleGetLog serves GET /v2/logs/{id} and /v2/actor-runs/{runId}/log:
// the run's log as text/plain; with stream=1 the response follows the log
// until the run ends; download=1 makes it an attachment. raw changes
// nothing: the log is kept as written.
func (s *Server) handleGetLog(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	stream, e := parseBool(q.Get("stream"), "stream")
	var download bool
	if e == nil {
		download, e = parseBool(q.Get("download"), "download")
	}
	if e == nil {
		_, e = parseBool(q.Get("raw"), "raw")
	}
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	if id == "" {
		id = r.PathValue("runId")
	}
	s.mu.Lock()
	rr, ok := s.runs[id]
	var l *runLog
	if ok && rr.owner == u {
		l = rr.logLocked()
	}
	s.mu.Unlock()
	if l == nil {
		writeError(w, notFound("Log of Actor run "+id))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if download {
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.log"`)
	}
	if r.Method == http.MethodHead {
		return
	}
	var off int64
	flusher := http.NewResponseController(w)
	for {
		// Whether the run had ended before the read: then nothing can be
		// written after it.
		var ended bool
		select {
		case <-rr.done:
			ended = true
		default:
		}
		p, next, changed := l.since(off)
		off = next
		if len(p) > 0 {
			if _, err := w.Write(p); err != nil {
				return
			}
		}
		if !stream || ended {
			return
		}
		_ = flusher.Flush()
		select {
		case <-changed:
		case <-rr.done:
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// warnNeverEnding warns, once per run, that a client waits for run r which
// nothing will end: an Actor without a registered function, on a server
// without an automatic finish. The warning goes to the server's log and to
// the run's log, which the official client's call() prints.
func (s *Server) warnNeverEnding(id string) {
	s.mu.Lock()
	r, ok := s.runs[id]
	if !ok || r.fnCancel != nil || s.cfg.autoFinishSet || r.run.Status.IsTerminal() {
		s.mu.Unlock()
		return
	}
	l := r.logLocked()
	timeout := r.run.Options.TimeoutSecs
	s.mu.Unlock()
	l.mu.Lock()
	warned := l.warned
	l.warned = true
	l.mu.Unlock()
	if warned {
		return
	}
	until := "for ever"
	if timeout > 0 {
		until = fmt.Sprintf("until its timeout of %d s", timeout)
	}
	msg := fmt.Sprintf("apifytest: nothing runs Actor run %s (its Actor has no registered function and the server no automatic finish), so it stays RUNNING %s; "+
		"end it with Server.FinishRun or AbortRun, POST /_apifytest/runs/%s/finish, or POST /v2/actor-runs/%s/abort", id, until, id, id)
	s.log.Warn(msg, "run", id)
	l.append([]byte(msg + "\n"))
}
