package apifytest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// MaxLogBytes is how much of a run's log the server keeps: the last 10 MiB.
// Older bytes are dropped, whole lines where it can, and a log that lost
// some starts with a line saying how many.
const MaxLogBytes = 10 << 20

// runLog is the log of one run: its last MaxLogBytes bytes, each line
// starting with the time it was written, as on the platform; and a channel
// closed and replaced at each write, for the readers that stream it.
type runLog struct {
	mu      sync.Mutex
	buf     []byte
	dropped int64         // bytes dropped from the start
	midLine bool          // the last write did not end its line
	changed chan struct{} // closed at the next write
	warned  bool          // the wait for a run nothing ends was logged
}

func newRunLog() *runLog { return &runLog{changed: make(chan struct{})} }

// logStartLine is the first line of every run's log, as the platform's
// logs start with its own lines: never empty, which the Apify CLI needs.
const logStartLine = "ACTOR: Started on the local platform (apifytest)\n"

// logLocked returns r's log, creating it on first use.
func (r *runRec) logLocked() *runLog {
	if r.log == nil {
		r.log = newRunLog()
		r.log.appendAt([]byte(logStartLine), r.run.StartedAt)
	}
	return r.log
}

// stamp returns p with the time t before each line that starts in it.
func (l *runLog) stamp(p []byte, t string) []byte {
	out := make([]byte, 0, len(p)+len(t)+1)
	for len(p) > 0 {
		if !l.midLine {
			out = append(out, t...)
			out = append(out, ' ')
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			out = append(out, p...)
			l.midLine = true
			break
		}
		out = append(out, p[:i+1]...)
		p = p[i+1:]
		l.midLine = false
	}
	return out
}

func (l *runLog) append(p []byte) { l.appendAt(p, now()) }

// appendAt appends p, written at t.
func (l *runLog) appendAt(p []byte, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p = l.stamp(p, isoTime(t))
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

// since returns a line saying how many bytes were dropped before offset
// off (counted from the first byte ever written), if any; what was written
// after it; the offset of its end; and a channel closed at the next write.
func (l *runLog) since(off int64) (marker, p []byte, end int64, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if off < l.dropped {
		marker = fmt.Appendf(nil, "%s [apifytest: %d bytes of this log were dropped: a run's log keeps its last %d bytes]\n", isoTime(now()), l.dropped-off, MaxLogBytes)
		off = l.dropped
	}
	p = append(p, l.buf[off-l.dropped:]...)
	return marker, p, l.dropped + int64(len(l.buf)), l.changed
}

// stripControls returns p without ANSI escape sequences and other control
// characters but newline and tab, as the platform serves a log that is not
// raw, and how many bytes of p it consumed: an escape sequence cut by the
// end of p is left for the next read.
func stripControls(p []byte) ([]byte, int) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == 0x1b:
			j := escapeEnd(p, i)
			if j < 0 {
				return out, i
			}
			i = j
		case c < 0x20 && c != '\n' && c != '\t' || c == 0x7f:
			i++
		default:
			out = append(out, c)
			i++
		}
	}
	return out, len(p)
}

// escapeEnd returns the end of the escape sequence at p[i], or -1 if p ends
// before it does: CSI (ESC [ parameters, a final byte in @ to ~), OSC (ESC
// ], ended by BEL or ESC \) or ESC and one more byte.
func escapeEnd(p []byte, i int) int {
	if i+1 >= len(p) {
		return -1
	}
	switch p[i+1] {
	case '[':
		for j := i + 2; j < len(p); j++ {
			if p[j] >= 0x40 && p[j] <= 0x7e {
				return j + 1
			}
		}
	case ']':
		for j := i + 2; j < len(p); j++ {
			if p[j] == 0x07 {
				return j + 1
			}
			if p[j] == 0x1b && j+1 < len(p) && p[j+1] == '\\' {
				return j + 2
			}
		}
	default:
		return i + 2
	}
	return -1
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
// until the run ends; download=1 makes it an attachment. Without raw=1, ANSI
// escape sequences and control characters but newline and tab are left out.
func (s *Server) handleGetLog(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	stream, e := parseBool(q.Get("stream"), "stream")
	var download bool
	if e == nil {
		download, e = parseBool(q.Get("download"), "download")
	}
	var raw bool
	if e == nil {
		raw, e = parseBool(q.Get("raw"), "raw")
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
	var done chan struct{}
	if ok && rr.owner == u {
		l, done = rr.logLocked(), rr.done // a resurrection makes a new done
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
	var off int64
	flusher := http.NewResponseController(w)
	for {
		// Whether the run had ended before the read: then nothing can be
		// written after it.
		var ended bool
		select {
		case <-done:
			ended = true
		default:
		}
		marker, p, end, changed := l.since(off)
		off = end
		if !raw {
			// An escape sequence that a later write ends is read then.
			read := len(p)
			var n int
			p, n = stripControls(p)
			if !ended {
				off -= int64(read - n)
			}
		}
		if _, err := w.Write(append(marker, p...)); err != nil {
			return
		}
		if !stream || ended {
			return
		}
		_ = flusher.Flush()
		select {
		case <-changed:
		case <-done:
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
	if !ok || r.actor.fn != nil || r.exec != nil || s.cfg.autoFinishSet || r.run.Status.IsTerminal() {
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
