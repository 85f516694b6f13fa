package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/go-apify/actor/internal/nodetest"
	"github.com/google/go-cmp/cmp"
)

// startScript starts an Actor run with the official JS client: argv are the
// base URL and the webhooks as JSON.
const startScript = `
const { ApifyClient } = require('apify-client');
const [baseUrl, hooks] = process.argv.slice(1);
const client = new ApifyClient({ baseUrl, token: 'tok', maxRetries: 0 });
client.actor('jane/my-actor')
	.start({ a: 1 }, { webhooks: JSON.parse(hooks), memory: 256, timeout: 60, build: 'beta', waitForFinish: 5, maxItems: 10 })
	.then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
`

// TestStartInteropJS: the Go client starts a run with exactly the path,
// parameters (ad-hoc webhooks included, byte for byte) and input of the
// official JS client.
func TestStartInteropJS(t *testing.T) {
	t.Parallel()
	node := nodetest.Node(t)
	dir := nodetest.Install(t, nodetest.ApifyClient)

	hooks := []WebhookDefinition{{
		EventTypes:      []EventType{EventActorRunSucceeded, EventActorRunFailed},
		RequestURL:      "https://example.com/hook?a=1&b=<2>",
		PayloadTemplate: `{"run": {{resource}}, "note": "quote \" backslash \\ žluťoučký 🐴"}`,
		HeadersTemplate: `{"X-Token": "{{userId}}"}`, ShouldInterpolateStrings: true,
		IdempotencyKey: "key-1", IgnoreSSLErrors: true, DoNotRetry: true,
	}, {
		EventTypes: []EventType{EventActorRunCreated}, RequestURL: "https://example.com/created",
	}}
	var hooksJSON bytes.Buffer
	enc := json.NewEncoder(&hooksJSON)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hooks); err != nil {
		t.Fatal(err)
	}

	jsAPI := newFakeAPI(t, answer)
	cmd := exec.CommandContext(t.Context(), node, "-e", startScript, jsAPI.srv.URL, hooksJSON.String())
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("JS client: %v\n%s", err, out)
	}

	goAPI := newFakeAPI(t, answer)
	c := newTestClient(t, goAPI.srv.URL)
	_, err := c.StartActor(t.Context(), "jane/my-actor", map[string]int{"a": 1}, StartOptions{
		Webhooks: hooks, MemoryMbytes: 256, Timeout: time.Minute, Build: "beta",
		WaitForFinish: 5 * time.Second, MaxItems: 10,
	})
	if err != nil {
		t.Fatal(err)
	}

	type start struct {
		Method, Path string
		Query        url.Values
		Body         string
	}
	view := func(r recorded) start {
		q, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		return start{r.Method, r.Path, q, r.Body}
	}
	js, goReq := api1(t, jsAPI), api1(t, goAPI)
	if diff := cmp.Diff(view(js), view(goReq)); diff != "" {
		t.Errorf("Go request differs from the JS client's (-js +go):\n%s", diff)
	}
	back, err := DecodeWebhooks(view(js).Query.Get("webhooks"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hooks, back); diff != "" {
		t.Errorf("decoded JS webhooks (-want +got):\n%s", diff)
	}
}

func api1(t *testing.T, f *fakeAPI) recorded {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if reqs[0].Method != http.MethodPost {
		t.Fatalf("method %s", reqs[0].Method)
	}
	return reqs[0]
}
