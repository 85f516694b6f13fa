package apifytest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
)

// TestJSClientInterop drives the server with the official JS API client,
// apify-client, unmodified: webhooks, dispatches, runs with ad-hoc
// webhooks, errors, and a run input large enough for the client to
// compress it.
func TestJSClientInterop(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.ApifyClient)
	node := nodetest.Node(t)

	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	inputs := make(chan []byte, 1)
	srv.RegisterActor("me~interop", func(_ context.Context, _ []string, input []byte) error {
		inputs <- input
		return nil
	})
	script, err := filepath.Abs("testdata/client_interop.js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // node is slow on a busy machine
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(),
		"NODE_MODULES="+filepath.Join(dir, "node_modules"),
		"APIFY_API_BASE_URL="+srv.URL,
		"APIFY_TOKEN="+srv.Token,
		"RECEIVER="+rc.URL,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out struct {
		Created, Again, Got, Updated client.Webhook
		List                         client.Page[client.Webhook]
		Test                         client.WebhookDispatch
		Invalid, BadWebhooks         *struct {
			StatusCode int
			Type       string
			Message    string
		}
		Run, Finished, Aborted, StatusUpdate client.Run
		Input                                struct {
			Key         string
			Value       map[string]string
			ContentType string
		}
		MissingRun  *client.Run
		Dispatches  client.Page[client.WebhookDispatch]
		Dispatch    client.WebhookDispatch
		AfterDelete *client.Webhook
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, stdout)
	}

	if out.Created.ID == "" || out.Again.ID != out.Created.ID || out.Got.ID != out.Created.ID {
		t.Errorf("create/again/get: %s %s %s", out.Created.ID, out.Again.ID, out.Got.ID)
	}
	if out.Updated.Description != "updated" || !out.List.Desc || out.List.Limit != 10 || out.List.Total < 1 {
		t.Errorf("update %+v, list %+v", out.Updated, out.List)
	}
	if out.Test.EventType != client.EventTest || out.Test.WebhookID != out.Created.ID {
		t.Errorf("test dispatch = %+v", out.Test)
	}
	if out.Invalid == nil || out.Invalid.StatusCode != 400 || !strings.Contains(out.Invalid.Message, "payloadTemplate") {
		t.Errorf("invalid template: %+v", out.Invalid)
	}
	if out.BadWebhooks == nil || out.BadWebhooks.StatusCode != 400 || !strings.Contains(out.BadWebhooks.Message, "eventTypes") {
		t.Errorf("bad webhooks parameter: %+v", out.BadWebhooks)
	}
	if out.Run.Options.MemoryMbytes != 256 || out.Run.Options.TimeoutSecs != 60 || out.Finished.Status != client.StatusSucceeded {
		t.Errorf("run %+v finished %+v", out.Run, out.Finished)
	}
	if out.Input.Value["hello"] != "world" || len(out.Input.Value["padding"]) != 4000 || !strings.HasPrefix(out.Input.ContentType, "application/json") {
		t.Errorf("INPUT record = %+v", out.Input)
	}
	if in := <-inputs; !strings.Contains(string(in), `"hello":"world"`) {
		t.Errorf("the Actor got input %.60s", in)
	}
	if out.MissingRun != nil || out.AfterDelete != nil {
		t.Errorf("404s: run %+v, webhook %+v", out.MissingRun, out.AfterDelete)
	}
	if out.Dispatches.Total < 1 || out.Dispatch.ID != out.Dispatches.Items[0].ID {
		t.Errorf("dispatches %+v, dispatch %+v", out.Dispatches, out.Dispatch)
	}
	if out.Aborted.Status != client.StatusAborted || out.StatusUpdate.StatusMessage != "bye" {
		t.Errorf("aborted %+v, updated %+v", out.Aborted, out.StatusUpdate)
	}

	waitIdle(t, srv)
	paths := map[string]int{}
	for _, r := range rc.requests() {
		var body map[string]any
		_ = json.Unmarshal(r.body, &body)
		switch {
		case body["id"] == out.Run.ID:
			paths["adhoc"]++
		case body["eventType"] == "TEST":
			paths["test"]++
		case body["eventType"] == "ACTOR.RUN.SUCCEEDED":
			paths["persistent"]++
		}
	}
	if paths["adhoc"] != 1 || paths["test"] != 1 || paths["persistent"] != 1 {
		t.Errorf("deliveries by kind = %v", paths)
	}
}
