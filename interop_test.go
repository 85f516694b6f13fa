package actor_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/internal/nodetest"
	"github.com/google/go-cmp/cmp"
)

// interopWebhooks are added through the official JS SDK and through this
// package; the JS definitions are written out in jsInteropScript.
var interopWebhooks = []actor.Webhook{
	{
		EventTypes:      []actor.EventType{actor.EventActorRunFailed},
		RequestURL:      "https://example.com/run-failed",
		PayloadTemplate: `{"runId": {{resource.id}}, "status": {{resource.status}}}`,
		IdempotencyKey:  "RUN123",
	},
	{
		EventTypes:               []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunTimedOut},
		RequestURL:               "http://127.0.0.1:9/hook?a=1&b=<2>",
		PayloadTemplate:          `{"run": "{{resource.id}}", "user": {{userId}}}`,
		HeadersTemplate:          `{"X-Run": "{{resource.id}}"}`,
		ShouldInterpolateStrings: true,
		IdempotencyKey:           "RUN123-second",
		IgnoreSSLErrors:          true,
		DoNotRetry:               true,
		Description:              "interop: every field",
	},
}

const jsInteropScript = `
const { Actor } = require('apify');
(async () => {
	await Actor.init();
	await Actor.addWebhook({
		eventTypes: ['ACTOR.RUN.FAILED'],
		requestUrl: 'https://example.com/run-failed',
		payloadTemplate: '{"runId": {{resource.id}}, "status": {{resource.status}}}',
		idempotencyKey: 'RUN123',
	});
	await Actor.addWebhook({
		eventTypes: ['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.TIMED_OUT'],
		requestUrl: 'http://127.0.0.1:9/hook?a=1&b=<2>',
		payloadTemplate: '{"run": "{{resource.id}}", "user": {{userId}}}',
		headersTemplate: '{"X-Run": "{{resource.id}}"}',
		shouldInterpolateStrings: true,
		idempotencyKey: 'RUN123-second',
		ignoreSslErrors: true,
		doNotRetry: true,
		description: 'interop: every field',
	});
	process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });
`

// TestAddWebhookMatchesJSSDK runs the official JS SDK's Actor.addWebhook on
// the platform (APIFY_IS_AT_HOME=1, ACTOR_RUN_ID=RUN123) against an httptest
// server and checks that AddWebhook sends the same POST /v2/webhooks bodies,
// compared as JSON values.
func TestAddWebhookMatchesJSSDK(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify)
	node := nodetest.Node(t)

	var (
		mu      sync.Mutex
		jsReqs  []recorded
		runJSON = `{"data":{"id":"RUN123","actId":"ACT1","status":"RUNNING","startedAt":"2025-01-02T03:04:05.000Z","options":{}}}`
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		jsReqs = append(jsReqs, recorded{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: string(body)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/v2/actor-runs/RUN123": // Actor.init() reads the run's pricing
			io.WriteString(w, runJSON)
		case r.Method == "POST" && r.URL.Path == "/v2/webhooks":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"data":{"id":"WH1"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"record-not-found","message":"not in this test"}}`)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", jsInteropScript)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"NODE_PATH="+filepath.Join(dir, "node_modules"),
		"APIFY_IS_AT_HOME=1", "ACTOR_RUN_ID=RUN123", "APIFY_TOKEN="+testToken, "APIFY_API_BASE_URL="+srv.URL,
		"APIFY_LOCAL_STORAGE_DIR="+t.TempDir(), "APIFY_DISABLE_OUTDATED_WARNING=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}

	var jsBodies []string
	mu.Lock()
	for _, r := range jsReqs {
		if r.Method == "POST" && r.Path == "/v2/webhooks" {
			if r.Authorization != "Bearer "+testToken {
				t.Errorf("JS SDK sent Authorization %q", r.Authorization)
			}
			jsBodies = append(jsBodies, r.Body)
		}
	}
	mu.Unlock()
	if len(jsBodies) != len(interopWebhooks) {
		t.Fatalf("JS SDK sent %d webhooks, want %d", len(jsBodies), len(interopWebhooks))
	}

	p := newPlatform(t)
	a, _, _ := newActor(p.atHome())
	for i, w := range interopWebhooks {
		if _, err := a.AddWebhook(t.Context(), w); err != nil {
			t.Fatal(err)
		}
		ours := p.requests()[i]
		if ours.Method != "POST" || ours.Path != "/v2/webhooks" || ours.Authorization != "Bearer "+testToken {
			t.Errorf("we sent %s %s with Authorization %q", ours.Method, ours.Path, ours.Authorization)
		}
		t.Logf("webhook %d\nJS SDK: %s\nours:   %s", i, jsBodies[i], ours.Body)
		if diff := cmp.Diff(jsonValue(t, jsBodies[i]), jsonValue(t, ours.Body)); diff != "" {
			t.Errorf("webhook %d: body (-JS SDK +ours):\n%s", i, diff)
		}
	}
}

// cleanEnv returns the process environment without the platform's variables,
// so that the developer's own settings cannot leak into the node process.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APIFY_") && !strings.HasPrefix(kv, "ACTOR_") && !strings.HasPrefix(kv, "CRAWLEE_") {
			out = append(out, kv)
		}
	}
	return out
}
