package examples_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

// raceEnabled is set by race_test.go under -race: the examples are then
// built with the race detector too.
var raceEnabled bool

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// binary returns the path of the built command name (a directory of
// examples/, or apify-local), building all of them once.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "examples-test-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./adhoc-webhook", "./receive-webhook", "./start-with-webhooks", "./storage", "./restart-safe", "../cmd/apify-local")
		cmd := exec.Command("go", args...)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	path := filepath.Join(binDir, name)
	if runtime.GOOS == "windows" {
		path += ".exe"
	}
	return path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// cleanEnv is the process environment without the platform's variables, as
// on a machine without an Apify account.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "APIFY_") || strings.HasPrefix(kv, "ACTOR_") || strings.HasPrefix(kv, "WEBHOOK_SECRET=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the example name with args and returns what it printed.
func run(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	bin := binary(t, name) // before the clock starts: building takes a while under -race
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within 30 s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), stdout.String(), stderr.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// expect checks that out matches each pattern, in order, and returns the
// first submatch of each (or "").
func expect(t *testing.T, out string, patterns ...string) []string {
	t.Helper()
	var subs []string
	rest := out
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		loc := re.FindStringSubmatchIndex(rest)
		if loc == nil {
			t.Errorf("output lacks (in order) %q; output:\n%s", p, out)
			subs = append(subs, "")
			continue
		}
		sub := ""
		if len(loc) >= 4 && loc[2] >= 0 {
			sub = rest[loc[2]:loc[3]]
		}
		subs = append(subs, sub)
		rest = rest[loc[1]:]
	}
	return subs
}

func TestExamples(t *testing.T) {
	t.Parallel()
	const id = `([A-Za-z0-9]+)`
	tests := []struct {
		name    string
		example string
		args    []string
		want    []string // patterns, in order
		check   func(t *testing.T, subs []string, out string)
	}{
		{
			name:    "adhoc-webhook",
			example: "adhoc-webhook",
			want: []string{
				`No APIFY_TOKEN: running on the local platform at http://127\.0\.0\.1:\d+`,
				`actor: added webhook ` + id + ` for ACTOR\.RUN\.SUCCEEDED and ACTOR\.RUN\.FAILED`,
				`actor: added the same webhook again and got ` + id + ` back`,
				`actor: counted 9 words`,
				`receiver: attempt 1 of dispatch ` + id + `: answering 503`,
				`receiver: attempt 2 of dispatch ` + id + `:`,
				`X-Apify-Webhook-Dispatch-Id: ` + id,
				`X-Apify-Request-Origin: WEBHOOK`,
				`X-Webhook-Secret: \(set; webhookrecv checks it\)`,
				`"eventType": "ACTOR\.RUN\.SUCCEEDED"`,
				`"id": "` + id + `"`,
				`"exitCode": null`,
				`"noSuchField": null`,
				`"summary": "Run ` + id + ` ended with status SUCCEEDED"`,
				`receiver: ACTOR\.RUN\.SUCCEEDED delivered after 2 attempts`,
				`platform: run ` + id + ` ended SUCCEEDED`,
				`platform: 1 webhook exists, though the Actor added it twice`,
				`platform: dispatch ` + id + ` of ACTOR\.RUN\.SUCCEEDED SUCCEEDED after 2 attempts \(responses 503, 200\)`,
			},
			check: func(t *testing.T, s []string, _ string) {
				if s[1] != s[2] {
					t.Errorf("adding the same webhook twice gave %s and %s", s[1], s[2])
				}
				if s[4] != s[5] || s[5] != s[6] || s[6] != s[17] {
					t.Errorf("dispatch IDs differ: %s, %s, %s, %s", s[4], s[5], s[6], s[17])
				}
				if s[10] != s[13] || s[13] != s[15] {
					t.Errorf("run IDs differ: %s, %s, %s", s[10], s[13], s[15])
				}
			},
		},
		{
			name:    "adhoc-webhook -fail",
			example: "adhoc-webhook",
			args:    []string{"-fail"},
			want: []string{
				`actor: failing on purpose`,
				`"eventType": "ACTOR\.RUN\.FAILED"`,
				`"exitCode": 1`,
				`receiver: ACTOR\.RUN\.FAILED delivered after 2 attempts`,
				`platform: run ` + id + ` ended FAILED with status message "failed on purpose \(-fail\)"`,
			},
		},
		{
			name:    "receive-webhook",
			example: "receive-webhook",
			want: []string{
				`receiver: listening on http://127\.0\.0\.1:\d+/`,
				`receiver: TEST from webhook ` + id + `, dispatch ` + id,
				`receiver: run ` + id + ` of Actor ` + id + ` ended SUCCEEDED`,
				`receiver: a request without the secret gets 401 \{"error":"missing or wrong secret"\}`,
				`receiver: a redelivery of dispatch ` + id + ` gets 200 \{"status":"duplicate"\}, without running the function again`,
			},
			check: func(t *testing.T, _ []string, out string) {
				if strings.Count(out, "receiver: TEST from") != 1 {
					t.Errorf("the function ran more than once:\n%s", out)
				}
			},
		},
		{
			name:    "start-with-webhooks",
			example: "start-with-webhooks",
			want: []string{
				`api: POST /v2/actors/example~word-counter/runs\?webhooks=W3si`,
				`the webhooks parameter is base64 of \[\{"eventTypes":\["ACTOR\.RUN\.SUCCEEDED","ACTOR\.RUN\.FAILED","ACTOR\.RUN\.TIMED_OUT","ACTOR\.RUN\.ABORTED"\],` +
					`"requestUrl":"http://127\.0\.0\.1:\d+/run-finished","headersTemplate":"\{\\"X-Webhook-Secret\\":\\"<secret>\\"\}"\}\]`,
				`api: GET /v2/actor-runs/` + id + `\?waitForFinish=`,
				`run ` + id + ` of example~word-counter ended SUCCEEDED: counted 7 words`,
				`receiver: ACTOR\.RUN\.SUCCEEDED for run ` + id,
				`receiver: the payload's resource is the run: status SUCCEEDED`,
				`platform: dispatch ` + id + ` SUCCEEDED after 1 attempt`,
			},
			check: func(t *testing.T, s []string, out string) {
				if s[2] != s[3] || s[3] != s[4] {
					t.Errorf("waited for run %s, run %s ended, delivery for run %s", s[2], s[3], s[4])
				}
				if regexp.MustCompile(`[0-9a-f]{64}`).MatchString(out) {
					t.Errorf("the output shows the secret:\n%s", out)
				}
			},
		},
		{
			name:    "storage",
			example: "storage",
			want: []string{
				`storage: local files under (\S+) \(removed at the end`,
				`storage: local mode`,
				`input: none; using maxPages 5, maxDepth 3`,
				`crawled (http://127\.0\.0\.1:\d+)/ "Page 1" \(depth 0, 3 links\)`,
				`crawled http://127\.0\.0\.1:\d+/page/2 "Page 2" \(depth 1, 3 links\)`,
				`crawled http://127\.0\.0\.1:\d+/page/5 "Page 5" \(depth 2, 3 links\)`,
				`dataset: http://127\.0\.0\.1:\d+/ "Page 1"`,
				`dataset: http://127\.0\.0\.1:\d+/page/5 "Page 5"`,
				`queue: 11 requests, 5 handled`,
				`summary: \{"pagesCrawled":5,"failed":0,"startUrl":"(http://127\.0\.0\.1:\d+)/"\}`,
				`done: 5 pages crawled, 0 failed, 5 items in the dataset`,
			},
			check: func(t *testing.T, s []string, out string) {
				if _, err := os.Stat(s[0]); !os.IsNotExist(err) {
					t.Errorf("the temporary storage directory %s is still there (%v)", s[0], err)
				}
				if s[3] != s[9] {
					t.Errorf("crawled %s, summary says %s", s[3], s[9])
				}
				if strings.Count(out, "crawled ") != 5 {
					t.Errorf("crawled %d pages, want 5:\n%s", strings.Count(out, "crawled "), out)
				}
			},
		},
		{
			name:    "restart-safe",
			example: "restart-safe",
			want: []string{
				`platform: run ` + id + ` started`,
				`platform: process 1 \(pid (\d+)\) started`,
				`actor\[pid (\d+)\]: run \w+: state APIFY_GLOBAL_STATE says 0 of 10 items done: starting afresh`,
				`actor\[pid \d+\]: webhook ` + id + ` for ACTOR\.RUN\.SUCCEEDED`,
				`platform: migrating run ` + id,
				`actor\[pid \d+\]: stopped after item (\d+) of 10: actor: the platform is migrating the run`,
				`platform: process 1 \(pid \d+\) ended: signal: killed \(the platform kills it for the restart\)`,
				`platform: run \w+ restarted after a migration \(restart 1\): process 2 \(pid (\d+)\) started`,
				`actor\[pid \d+\]: run \w+: state APIFY_GLOBAL_STATE says (\d+) of 10 items done: resuming`,
				`actor\[pid \d+\]: webhook ` + id + ` for ACTOR\.RUN\.SUCCEEDED`,
				`actor\[pid (\d+)\]: all 10 items done`,
				`platform: process 2 \(pid \d+\) ended: exit code 0`,
				`receiver: ACTOR\.RUN\.SUCCEEDED of run \w+ from webhook ` + id,
				`platform: run ` + id + ` ended SUCCEEDED after 1 restart \(2 processes\)`,
				`platform: 1 webhook exists, added by both processes: ` + id,
				`platform: dispatch \w+ of ACTOR\.RUN\.SUCCEEDED SUCCEEDED after 1 attempt`,
				`platform: the dataset holds items 1 to 10, each once`,
				`receiver: 1 delivery`,
			},
			check: func(t *testing.T, s []string, out string) {
				if s[1] != s[2] || s[7] != s[10] || s[1] == s[7] {
					t.Errorf("pids %s (%s) and %s (%s): want two processes", s[1], s[2], s[7], s[10])
				}
				if s[3] != s[9] || s[9] != s[12] || s[12] != s[14] {
					t.Errorf("webhook IDs %s, %s, %s, %s: want one", s[3], s[9], s[12], s[14])
				}
				if s[0] != s[4] || s[4] != s[13] {
					t.Errorf("run IDs differ: %s, %s, %s", s[0], s[4], s[13])
				}
				if s[5] != s[8] {
					t.Errorf("process 1 stopped after item %s, process 2 resumed after item %s", s[5], s[8])
				}
				for i := 1; i <= 10; i++ {
					if n := strings.Count(out, fmt.Sprintf(": item %d of 10 done\n", i)); n != 1 {
						t.Errorf("item %d done %d times, want once", i, n)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, cleanEnv(), tt.example, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			subs := expect(t, r.stdout, tt.want...)
			if tt.check != nil && !t.Failed() {
				tt.check(t, subs, r.stdout)
			}
		})
	}
}

// TestExamplesNeedURLWithToken checks that with APIFY_TOKEN, the real
// platform's mode, the examples ask for the public URL instead of guessing.
func TestExamplesNeedURLWithToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		example  string
		wantCode int
		want     string
	}{
		{"adhoc-webhook", 2, "-url is required with APIFY_TOKEN"},
		{"receive-webhook", 1, "with APIFY_TOKEN, -url (this server's public URL) and -actor (an Actor of yours) are required"},
		{"start-with-webhooks", 1, "with APIFY_TOKEN, -url (the receiver's public URL) is required"},
		{"restart-safe", 2, "-url is required with APIFY_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			t.Parallel()
			// The API URL points nowhere: nothing may be sent.
			r := run(t, cleanEnv("APIFY_TOKEN=not-a-real-token", "APIFY_API_BASE_URL=http://127.0.0.1:9"), tt.example)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", r.code, r.stderr, tt.wantCode, tt.want)
			}
			if strings.Contains(r.stdout+r.stderr, "not-a-real-token") {
				t.Errorf("the token was printed:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestAdhocWebhookUnderApifyLocal runs adhoc-webhook as the Actor itself,
// with the platform's environment that apify-local gives it, delivering to a
// receiver here.
func TestAdhocWebhookUnderApifyLocal(t *testing.T) {
	t.Parallel()
	const secret = "examples-test-secret"
	var (
		mu  sync.Mutex
		got []*webhookrecv.Delivery
	)
	h, err := webhookrecv.NewHandler(func(_ context.Context, d *webhookrecv.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return nil
	}, webhookrecv.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(h)
	t.Cleanup(receiver.Close)

	r := run(t, cleanEnv(), "apify-local", "run", "--retry-base", "20ms", "--",
		binary(t, "adhoc-webhook"), "-url", receiver.URL+"/", "-secret", secret)
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	subs := expect(t, r.stdout,
		`actor: added webhook `+`([A-Za-z0-9]+)`,
		`actor: added the same webhook again and got ([A-Za-z0-9]+) back`,
		`actor: done`)
	expect(t, r.stderr, `apify-local: dispatch ACTOR\.RUN\.SUCCEEDED http://127\.0\.0\.1:\d+/ SUCCEEDED 200 \(1 attempt\)`)

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the receiver accepted %d deliveries, want 1", len(got))
	}
	if d := got[0]; d.WebhookID != subs[0] || d.Payload.EventType != client.EventActorRunSucceeded {
		t.Errorf("delivery of webhook %s, event %s; want webhook %s, ACTOR.RUN.SUCCEEDED", d.WebhookID, d.Payload.EventType, subs[0])
	}
}

// TestReceiveWebhookServes checks that -serve keeps the receiver up after
// its own test delivery, answering real deliveries, until interrupted.
func TestReceiveWebhookServes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("needs os.Interrupt to be deliverable to a process")
	}
	const secret = "serve-test-secret"
	bin := binary(t, "receive-webhook")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-serve", "-secret", secret)
	cmd.Env = cleanEnv()
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := regexp.MustCompile(`^Serving on (http://127\.0\.0\.1:\d+/) until interrupted`)
	lines := bufio.NewScanner(stdout)
	var url string
	for url == "" && lines.Scan() {
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no \"Serving on\" line; stderr:\n%s", stderr.String())
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stdout)
		rest <- string(b)
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(
		`{"eventType":"ACTOR.RUN.ABORTED","eventData":{"actorRunId":"r1"},"resource":{"id":"r1","actId":"a1","status":"ABORTED"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(webhookrecv.SecretHeader, secret)
	req.Header.Set(webhookrecv.HeaderDispatchID, "serve-test-dispatch")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("delivery answered %d, want 200", resp.StatusCode)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	out := <-rest
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after interrupt: %v; stderr:\n%s", err, stderr.String())
	}
	expect(t, out, `receiver: ACTOR\.RUN\.ABORTED from webhook , dispatch serve-test-dispatch`, `receiver: run r1 of Actor a1 ended ABORTED`)
}

// TestStorageExampleFiles runs the storage example on a storage directory
// holding an input, as the Apify CLI lays it out, and checks the files it
// leaves: the input kept, one file per item, the summary record.
func TestStorageExampleFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "key_value_stores", "default")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "INPUT.json"), []byte(`{"maxPages": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, cleanEnv("APIFY_LOCAL_STORAGE_DIR="+dir), "storage")
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	expect(t, r.stdout, `input: maxPages 3, maxDepth 3`, `done: 3 pages crawled, 0 failed, 3 items in the dataset`)
	for _, f := range []string{
		"key_value_stores/default/INPUT.json", "key_value_stores/default/SUMMARY.json",
		"datasets/default/000000001.json", "datasets/default/000000003.json", "request_queues/default/__metadata__.json",
	} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "datasets", "default", "000000004.json")); !os.IsNotExist(err) {
		t.Errorf("a fourth item: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(store, "SUMMARY.json"))
	if err != nil || !strings.Contains(string(b), `"pagesCrawled":3`) {
		t.Errorf("SUMMARY.json = %s, %v", b, err)
	}
}

// TestStorageExampleUnderApifyLocal runs the storage example as a run of
// apify-local, whose storage API it then uses.
func TestStorageExampleUnderApifyLocal(t *testing.T) {
	t.Parallel()
	r := run(t, cleanEnv(), "apify-local", "run", "--input", `{"maxPages": 3}`, "--", binary(t, "storage"))
	if r.code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	expect(t, r.stdout, `storage: platform mode`, `input: maxPages 3, maxDepth 3`, `queue: 7 requests, 3 handled`,
		`done: 3 pages crawled, 0 failed, 3 items in the dataset`)
	expect(t, r.stderr, `apify-local: run \w+ SUCCEEDED \(exit code 0\)`)
}
