package apifytest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// startLine is the first line of every run's log.
const startLine = "ACTOR: Started on the local platform (apifytest)\n"

// logTime matches the time at the start of a log line.
var logTime = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `)

// untimed returns log without the time at the start of each line, and
// reports an error for a line without one.
func untimed(t *testing.T, log []byte) string {
	t.Helper()
	for _, line := range strings.SplitAfter(string(log), "\n") {
		if line != "" && !logTime.MatchString(line) {
			t.Errorf("log line %q does not start with its time", line)
		}
	}
	return logTime.ReplaceAllString(string(log), "")
}

func TestRunLog(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithUser("other", "other-token"))
	run := endRun(t, srv)
	w := srv.LogWriter(run.ID)
	fmt.Fprint(w, "line ")
	fmt.Fprintln(w, "1")
	fmt.Fprint(w, "\x1b[32mline 2\x1b[0m\r\n")

	tests := []struct {
		name, token, path string
		status            int
		body, disposition string
	}{
		{"logs", srv.Token, "/v2/logs/" + run.ID, http.StatusOK, startLine + "line 1\nline 2\n", ""},
		{"raw", srv.Token, "/v2/actor-runs/" + run.ID + "/log?raw=1", http.StatusOK, startLine + "line 1\n\x1b[32mline 2\x1b[0m\r\n", ""},
		{"download", srv.Token, "/v2/logs/" + run.ID + "?download=true", http.StatusOK, startLine + "line 1\nline 2\n", `attachment; filename="` + run.ID + `.log"`},
		{"stream of an ended run", srv.Token, "/v2/logs/" + run.ID + "?stream=1", http.StatusOK, startLine + "line 1\nline 2\n", ""},
		{"unknown run", srv.Token, "/v2/logs/NoSuchRunAtAll00", http.StatusNotFound, "", ""},
		{"another user's run", "other-token", "/v2/logs/" + run.ID, http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		r := call(t, srv, tt.token, "GET", tt.path, nil)
		if r.status != tt.status {
			t.Errorf("%s: status %d %s, want %d", tt.name, r.status, r.body, tt.status)
			continue
		}
		if r.status != http.StatusOK {
			if e := r.errorOf(t); e.Type != "record-not-found" {
				t.Errorf("%s: error type %q, want record-not-found", tt.name, e.Type)
			}
			continue
		}
		if untimed(t, r.body) != tt.body || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("Content-Disposition") != tt.disposition {
			t.Errorf("%s: %q %q %q", tt.name, r.body, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
		}
	}
	wantBadRequest(t, call(t, srv, srv.Token, "GET", "/v2/logs/"+run.ID+"?stream=yes", nil), "stream=yes", "stream")
	if err := srv.AppendLog("NoSuchRunAtAll00", []byte("x")); !errors.Is(err, apifytest.ErrNotFound) {
		t.Errorf("AppendLog of an unknown run: %v, want ErrNotFound", err)
	}
}

// TestRunLogBound checks that a log keeps its last MaxLogBytes, from a line
// start, and says what it dropped.
func TestRunLogBound(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run := endRun(t, srv)
	line := strings.Repeat("x", 1023) + "\n"
	// In writes of 64 lines, the last cut where the bound falls.
	chunk := []byte(strings.Repeat(line, 64))
	lines := 0
	for lines < apifytest.MaxLogBytes/len(line)+10 {
		if err := srv.AppendLog(run.ID, chunk); err != nil {
			t.Fatal(err)
		}
		lines += 64
	}
	if err := srv.AppendLog(run.ID, []byte("the end\n")); err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, srv.Token, "GET", "/v2/logs/"+run.ID+"?raw=1", nil)
	first, rest, _ := bytes.Cut(r.body, []byte("\n"))
	var dropped int
	if _, err := fmt.Sscanf(logTime.ReplaceAllString(string(first), ""), "[apifytest: %d bytes of this log were dropped", &dropped); err != nil {
		t.Fatalf("first line %q: %v", first, err)
	}
	const stamp = len("2006-01-02T15:04:05.000Z ")
	total := stamp + len(startLine) + lines*(stamp+len(line)) + stamp + len("the end\n")
	if dropped+len(rest) != total || len(rest) > apifytest.MaxLogBytes {
		t.Errorf("dropped %d bytes and kept %d, want %d in all, at most %d kept", dropped, len(rest), total, apifytest.MaxLogBytes)
	}
	if !logTime.Match(rest[:stamp]) || !bytes.HasPrefix(rest[stamp:], []byte(line)) || !bytes.HasSuffix(rest, []byte("x\n"+string(rest[len(rest)-stamp-8:len(rest)-8])+"the end\n")) {
		t.Errorf("kept %q...%q, want whole lines ending with the last", rest[:40], rest[len(rest)-20:])
	}
	big := bytes.Repeat([]byte("y"), apifytest.MaxLogBytes+5)
	if err := srv.AppendLog(run.ID, big); err != nil {
		t.Fatal(err)
	}
	r = call(t, srv, srv.Token, "GET", "/v2/logs/"+run.ID, nil)
	_, rest, _ = bytes.Cut(r.body, []byte("\n"))
	if !bytes.Equal(rest, big[5:]) {
		t.Errorf("after a write larger than the bound: %d bytes kept, want its last %d", len(rest), apifytest.MaxLogBytes)
	}
}

// TestStreamLog follows a run's log with stream=1: each write arrives as it
// is made, and the response ends when the run does.
func TestStreamLog(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	ctx := ctxFor(t)
	run, err := srv.StartRun(ctx, "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AppendLog(run.ID, []byte("before\n")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v2/actor-runs/"+run.ID+"/log?stream=true", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	readLine := func(want string) {
		t.Helper()
		if got, err := lines.ReadString('\n'); untimed(t, []byte(got)) != want || err != nil {
			t.Fatalf("reading the stream: %q, %v; want %q", got, err, want)
		}
	}
	readLine(startLine)
	readLine("before\n")
	if err := srv.AppendLog(run.ID, []byte("during\n")); err != nil {
		t.Fatal(err)
	}
	readLine("during\n")
	if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Errorf("after the run ended: %q, %v; want the end of the stream", rest, err)
	}
}

// warnings is a slog.Handler that keeps the messages of warnings.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (h *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *warnings) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *warnings) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *warnings) WithGroup(string) slog.Handler      { return h }

func (h *warnings) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// TestWaitForNeverEndingRun checks that a wait for a run that nothing ends
// warns once, in the server's log and the run's, saying how to end it; a
// run of a registered Actor does not.
func TestWaitForNeverEndingRun(t *testing.T) {
	t.Parallel()
	h := &warnings{}
	srv := apifytest.NewTestServer(t, apifytest.WithLogger(slog.New(h)))
	release := make(chan struct{})
	srv.RegisterActor("a~registered", func(ctx context.Context, _ []string, _ []byte) error {
		<-release
		return nil
	})
	defer close(release)
	c := srv.Client()
	ctx := ctxFor(t)
	run, err := c.StartActor(ctx, "a~unregistered", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+run.ID+"?waitForFinish=0.01", nil)
	}
	reg, err := c.StartActor(ctx, "a~registered", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	call(t, srv, srv.Token, "GET", "/v2/actor-runs/"+reg.ID+"?waitForFinish=0.01", nil)

	msgs := h.all()
	if len(msgs) != 1 || !strings.Contains(msgs[0], run.ID) || !strings.Contains(msgs[0], "/_apifytest/runs/"+run.ID+"/finish") {
		t.Fatalf("warnings %q, want one naming run %s and how to finish it", msgs, run.ID)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/logs/"+run.ID, nil); untimed(t, r.body) != startLine+msgs[0]+"\n" {
		t.Errorf("run log %q, want the warning", r.body)
	}
}
