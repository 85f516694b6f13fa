package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// goActor is the path of testdata/goactor, built once by TestMain.
var goActor string

// asMainEnv, set to 1, makes the test binary apify-local itself.
const asMainEnv = "APIFY_LOCAL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	if mode := os.Getenv(asActorEnv); mode != "" {
		if code, ok := boundActor(mode); ok {
			os.Exit(code)
		}
		os.Exit(helperActor(mode))
	}
	dir, err := os.MkdirTemp("", "apify-local-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goActor = filepath.Join(dir, "goactor")
	if runtime.GOOS == "windows" {
		goActor += ".exe"
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/goactor needs the go command: %v\n", err)
		os.Exit(1)
	}
	if out, err := exec.Command(gocmd, "build", "-o", goActor, "./testdata/goactor").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/goactor: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hook is one webhook call a receiver got.
type hook struct {
	header http.Header
	body   map[string]any
}

// receiver records the webhook calls it gets.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []hook
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, hook{r.Header.Clone(), body})
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hook(nil), rc.got...)
}

// syncBuffer is a bytes.Buffer safe for concurrent use, that signals when
// it first holds a given string.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	watch string
	seen  chan struct{}
}

func newSyncBuffer(watch string) *syncBuffer {
	return &syncBuffer{watch: watch, seen: make(chan struct{})}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.watch != "" && strings.Contains(b.buf.String(), b.watch) {
		close(b.seen)
		b.watch = ""
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runLocal runs apify-local with args in process and returns its exit code,
// stdout and stderr.
func runLocal(ctx context.Context, args ...string) (int, *syncBuffer, *syncBuffer) {
	stdout, stderr := newSyncBuffer("ready"), newSyncBuffer("")
	code := runMain(ctx, args, strings.NewReader(""), stdout, stderr)
	return code, stdout, stderr
}

func TestRunGoActor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		actorArgs  []string
		wantCode   int
		wantEvent  string
		wantStatus string
		wantInput  string
	}{
		{"success", []string{"--input", `{"n":1}`}, nil, 0, "ACTOR.RUN.SUCCEEDED", "SUCCEEDED", `{"n":1}`},
		{"failure", nil, []string{"-exit", "3"}, 3, "ACTOR.RUN.FAILED", "FAILED", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			args := append([]string{"run"}, tt.flags...)
			args = append(args, "--", goActor, "-webhook", rc.URL+"/hook")
			args = append(args, tt.actorArgs...)
			code, stdout, stderr := runLocal(t.Context(), args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if !strings.Contains(stdout.String(), "input: "+tt.wantInput+"\n") {
				t.Errorf("the Actor printed %q, want its input %s", stdout, tt.wantInput)
			}
			hooks := rc.hooks()
			if len(hooks) != 1 {
				t.Fatalf("receiver got %d calls, want 1\nstderr:\n%s", len(hooks), stderr)
			}
			body := hooks[0].body
			// The platform's templates render a falsy value (exit code 0) as null.
			var wantExit any = float64(tt.wantCode)
			if tt.wantCode == 0 {
				wantExit = nil
			}
			if body["event"] != tt.wantEvent || body["status"] != tt.wantStatus || body["exitCode"] != wantExit {
				t.Errorf("payload = %v, want event %s, status %s, exit code %d", body, tt.wantEvent, tt.wantStatus, tt.wantCode)
			}
			wantLine := fmt.Sprintf("apify-local: dispatch %s %s/hook SUCCEEDED 200 (1 attempt)\n", tt.wantEvent, rc.URL)
			if !strings.Contains(stderr.String(), wantLine) {
				t.Errorf("stderr lacks %q:\n%s", wantLine, stderr)
			}
			wantRun := fmt.Sprintf(" %s (exit code %d)\n", tt.wantStatus, tt.wantCode)
			if !strings.Contains(stderr.String(), wantRun) {
				t.Errorf("stderr lacks %q:\n%s", wantRun, stderr)
			}
		})
	}
}

func TestRunInterruptedAborts(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := newSyncBuffer("ready"), newSyncBuffer("")
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "--", goActor, "-webhook", rc.URL, "-sleep", "1m"}, strings.NewReader(""), stdout, stderr)
	}()
	select {
	case <-stdout.seen:
	case <-time.After(20 * time.Second):
		t.Fatalf("the Actor never got ready\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	cancel() // as SIGINT to apify-local does
	code := <-done
	if code != 143 {
		t.Errorf("exit code %d, want 143 (SIGTERM)\nstderr:\n%s", code, stderr)
	}
	hooks := rc.hooks()
	if len(hooks) != 1 || hooks[0].body["event"] != "ACTOR.RUN.ABORTED" || hooks[0].body["status"] != "ABORTED" {
		t.Errorf("hooks = %+v\nstderr:\n%s", hooks, stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted; aborting run") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestRunEndedBySignal covers runs that end with a SIGTERM: from
// apify-local at the run's timeout (TIMED-OUT), or from elsewhere
// (ABORTED). The webhook is apify-local's own (--webhook), so that the
// outcome does not depend on how far the Actor gets.
func TestRunEndedBySignal(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil || runtime.GOOS == "windows" {
		t.Skip("needs a POSIX shell")
	}
	tests := []struct {
		name       string
		args       []string
		wantEvent  string
		wantStatus string
	}{
		{"timeout", []string{"--timeout", "500ms", "--grace", "5s", "--", goActor, "-sleep", "1m"}, "ACTOR.RUN.TIMED_OUT", "TIMED-OUT"},
		{"killed", []string{"--", sh, "-c", "kill -TERM $$"}, "ACTOR.RUN.ABORTED", "ABORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			code, _, stderr := runLocal(t.Context(), append([]string{"run", "--webhook", rc.URL}, tt.args...)...)
			if code != 143 {
				t.Fatalf("exit code %d, want 143 (SIGTERM)\nstderr:\n%s", code, stderr)
			}
			hooks := rc.hooks()
			if len(hooks) != 1 || hooks[0].body["eventType"] != tt.wantEvent {
				t.Fatalf("hooks = %+v, want one %s\nstderr:\n%s", hooks, tt.wantEvent, stderr)
			}
			if res, _ := hooks[0].body["resource"].(map[string]any); res["status"] != tt.wantStatus || res["exitCode"] != 143.0 {
				t.Errorf("resource = %v", res)
			}
			for _, want := range []string{
				" " + tt.wantStatus + " (exit code 143)\n",
				"apify-local: dispatch " + tt.wantEvent + " " + rc.URL + " SUCCEEDED 200 (1 attempt)\n",
			} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestRunFailedDeliveries covers --webhook deliveries that fail: until the
// retries run out, or until --wait is over (the next retry is an hour
// away; the wait leaves the first call time to happen on a loaded
// machine).
func TestRunFailedDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		flags     []string
		actorArgs []string
		wantCode  int
		wantLines []string // in stderr; %s is the receiver's URL
	}{
		{"retries run out", http.StatusServiceUnavailable, []string{"--retries", "2", "--retry-base", "1ms"}, []string{"-exit", "4"}, 4,
			[]string{"apify-local: dispatch ACTOR.RUN.FAILED %s FAILED 503 (3 attempts)\n"}},
		{"wait is bounded", http.StatusInternalServerError, []string{"--retry-base", "1h", "--wait", "2s"}, nil, 0,
			[]string{"apify-local: dispatch ACTOR.RUN.SUCCEEDED %s ACTIVE 500 (1 attempt)\n", "stopped waiting for deliveries after 2s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
			}))
			defer down.Close()
			args := append(append([]string{"run", "--webhook", down.URL}, tt.flags...), "--", goActor)
			start := time.Now()
			code, _, stderr := runLocal(t.Context(), append(args, tt.actorArgs...)...)
			if code != tt.wantCode || time.Since(start) > time.Minute {
				t.Errorf("exit code %d after %v, want %d", code, time.Since(start), tt.wantCode)
			}
			for _, line := range tt.wantLines {
				if want := strings.ReplaceAll(line, "%s", down.URL); !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	inputFile := filepath.Join(dir, "input.json")
	if err := os.WriteFile(inputFile, []byte(`{"from":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", []string{"run"}, 2, "no COMMAND"},
		{"unknown flag", []string{"run", "--nope", "--", "x"}, 2, "flag provided but not defined"},
		{"bad input", []string{"run", "--input", "{not json", "--", "x"}, 2, "neither a file nor JSON"},
		{"help", []string{"run", "-h"}, 0, "Usage: apify-local run"},
		{"not found", []string{"run", "--", filepath.Join(dir, "no-such-program")}, 127, "cannot run"},
		{"bad webhook", []string{"run", "--webhook", "ftp://u:pw@h/?k=secret", "--", "x"}, 2, "--webhook: ftp://u:xxxxx@h/?k=xxxxx is not an absolute http or https URL"},
		{"no subcommand", nil, 2, "Usage:"},
		{"unknown subcommand", []string{"fly"}, 2, "unknown command"},
		{"bad serve flag", []string{"serve", "--finish-status", "RUNNING"}, 2, "not a terminal run status"},
		{"bad serve flag, no auto-finish", []string{"serve", "--finish-after", "0", "--finish-status", "RUNNING"}, 2, "--finish-status"},
	}
	for _, tt := range tests {
		code, _, stderr := runLocal(t.Context(), tt.args...)
		if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%s: exit code %d, stderr:\n%s\nwant %d and %q", tt.name, code, stderr, tt.wantCode, tt.wantErr)
		}
	}
	code, stdout, stderr := runLocal(t.Context(), "run", "--input", inputFile, "--", goActor)
	if code != 0 || !strings.Contains(stdout.String(), `input: {"from":"file"}`) {
		t.Errorf("--input FILE: %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"},
		{"http://user:pass@127.0.0.1/hook", "http://user:xxxxx@127.0.0.1/hook"},
		{"http://user@127.0.0.1/hook", "http://user@127.0.0.1/hook"},
		{"http://127.0.0.1/hook?secret=abc&token=x%20y&flag", "http://127.0.0.1/hook?secret=xxxxx&token=xxxxx&xxxxx"},
		{"http://127.0.0.1/hook?a=1&&b=", "http://127.0.0.1/hook?a=xxxxx&&b=xxxxx"},
		{"https://u:p@127.0.0.1/h?s=1#frag", "https://u:xxxxx@127.0.0.1/h?s=xxxxx#frag"},
		{"http://127.0.0.1/%zz?s=1", "(a URL that cannot be parsed)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRunRedactsDispatchURL checks that the dispatch lines keep a
// webhook's userinfo password and query values to themselves.
func TestRunRedactsDispatchURL(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	hook := strings.Replace(rc.URL, "http://", "http://user:hunter2@", 1) + "/hook?secret=s3cr3t"
	code, _, stderr := runLocal(t.Context(), "run", "--webhook", hook, "--", goActor)
	if code != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", code, stderr)
	}
	if len(rc.hooks()) != 1 {
		t.Fatalf("receiver got %d calls, want 1\nstderr:\n%s", len(rc.hooks()), stderr)
	}
	want := "apify-local: dispatch ACTOR.RUN.SUCCEEDED " + strings.Replace(rc.URL, "http://", "http://user:xxxxx@", 1) + "/hook?secret=xxxxx SUCCEEDED 200 (1 attempt)\n"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	for _, secret := range []string{"hunter2", "s3cr3t"} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("stderr holds %q:\n%s", secret, stderr)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/bin", "APIFY_TOKEN=real-secret", "ACTOR_RUN_ID=old", "APIFY_LOG_LEVEL=DEBUG", "APIFY_DEFAULT_DATASET_ID=old", "HOME=/root"}
	run := []string{"APIFY_TOKEN=local", "ACTOR_RUN_ID=new"}
	want := []string{"PATH=/bin", "APIFY_LOG_LEVEL=DEBUG", "HOME=/root", "APIFY_TOKEN=local", "ACTOR_RUN_ID=new"}
	if diff := cmp.Diff(want, mergeEnv(base, run)); diff != "" {
		t.Errorf("mergeEnv (-want +got):\n%s", diff)
	}
}
