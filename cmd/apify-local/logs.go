package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/go-apify/actor/apifytest"
)

// runLogWriter appends a process's output to its run's log (which keeps
// the last apifytest.MaxLogBytes): stdout and stderr each get one, and
// their writes interleave in the log as the process makes them. A run
// forgotten since is no error: the output still reaches the terminal.
type runLogWriter struct {
	srv   *apifytest.Server
	runID string
}

func newRunLogWriter(srv *apifytest.Server, runID string) io.Writer {
	return runLogWriter{srv, runID}
}

func (w runLogWriter) Write(p []byte) (int, error) {
	_ = w.srv.AppendLog(w.runID, p)
	return len(p), nil
}

// teeWriter returns a writer that writes to the run's log, then to the
// terminal, whose result is its own.
func teeWriter(log, term io.Writer) io.Writer { return &tee{log, term} }

type tee struct{ log, term io.Writer }

func (t *tee) Write(p []byte) (int, error) {
	_, _ = t.log.Write(p)
	return t.term.Write(p)
}

// prefixWriter writes to w with prefix before each line, holding mu for
// each write, so that the lines of the processes sharing a terminal keep
// their prefixes. With no prefix it is w itself.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	mu      *sync.Mutex
	midLine bool // the last write did not end its line
}

func newPrefixWriter(w io.Writer, prefix string, mu *sync.Mutex) io.Writer {
	if prefix == "" {
		return w
	}
	return &prefixWriter{w: w, prefix: prefix, mu: mu}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	out := make([]byte, 0, len(b)+len(p.prefix)*(1+bytes.Count(b, []byte{'\n'})))
	for rest := b; len(rest) > 0; {
		if !p.midLine {
			out = append(out, p.prefix...)
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			out = append(out, rest...)
			p.midLine = true
			break
		}
		out = append(out, rest[:i+1]...)
		rest = rest[i+1:]
		p.midLine = false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// neverEndingPrefix starts the warning of apifytest's that a client waits
// for a run that nothing will end (see warnHandler).
const neverEndingPrefix = "apifytest: nothing runs Actor run "

// warnHandler is the logger of apify-local's server: its records go to
// inner (stderr with --verbose, else nowhere), and its warnings to stderr
// in any case, as "apify-local: ..." lines. A client waiting for a run of
// an Actor that is not bound (whose run nothing ends) gets a second line
// naming the Actor and the flag that binds it.
type warnHandler struct {
	inner   slog.Handler
	verbose bool // inner prints the warnings already
	stderr  io.Writer
	p       *platform // for the Actor's name
	attrs   []slog.Attr
}

func newLogger(verbose bool, stderr io.Writer, p *platform) *slog.Logger {
	var inner slog.Handler = slog.DiscardHandler
	if verbose {
		inner = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return slog.New(&warnHandler{inner: inner, verbose: verbose, stderr: stderr, p: p})
}

func (h *warnHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.inner.Enabled(ctx, l)
}

func (h *warnHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.inner.Enabled(ctx, r.Level) {
		if err := h.inner.Handle(ctx, r); err != nil {
			return err
		}
	}
	if r.Level < slog.LevelWarn {
		return nil
	}
	if !h.verbose {
		fmt.Fprintln(h.stderr, "apify-local: "+strings.TrimPrefix(r.Message, "apifytest: "))
	}
	if !strings.HasPrefix(r.Message, neverEndingPrefix) {
		return nil
	}
	runID := ""
	for _, a := range h.attrs {
		if a.Key == "run" {
			runID = a.Value.String()
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "run" {
			runID = a.Value.String()
		}
		return true
	})
	if srv := h.p.srv.Load(); srv != nil {
		if run, ok := srv.Run(runID); ok {
			name := actorName(h.p, run.ActID)
			fmt.Fprintf(h.stderr, "apify-local: Actor %s is not bound to a command, so its run %s never ends; bind it with --actor %s=COMMAND\n",
				name, runID, name)
		}
	}
	return nil
}

func (h *warnHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *warnHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

// actorName returns how to name Actor actID on the command line: its
// username~name if it has one, else its ID.
func actorName(p *platform, actID string) string {
	code, b := p.api(http.MethodGet, "/v2/acts/"+actID, "", nil)
	var body struct {
		Data struct{ ID, Name, Username string }
	}
	if code != http.StatusOK || json.Unmarshal(b, &body) != nil ||
		body.Data.Name == "" || body.Data.Name == body.Data.ID || body.Data.Username == "" {
		return actID
	}
	return body.Data.Username + "~" + body.Data.Name
}
