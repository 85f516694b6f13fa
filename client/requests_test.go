package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// answer gives every request a plausible platform response.
func answer(_ int, w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && (r.URL.Path == "/v2/webhooks" || strings.HasSuffix(r.URL.Path, "dispatches")):
		writeJSON(w, 200, `{"data":{"total":1,"offset":0,"limit":1000,"count":1,"desc":false,"items":[{"id":"x"}]}}`)
	case strings.HasPrefix(r.URL.Path, "/v2/webhooks") && strings.HasSuffix(r.URL.Path, "/test"):
		writeJSON(w, 201, `{"data":{"id":"d1","status":"ACTIVE","eventType":"TEST"}}`)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/runs"):
		writeJSON(w, 201, `{"data":{"id":"run1","status":"READY"}}`)
	case strings.HasPrefix(r.URL.Path, "/v2/actor-runs/"):
		writeJSON(w, 200, `{"data":{"id":"run1","status":"SUCCEEDED"}}`)
	default:
		writeJSON(w, 200, `{"data":{"id":"x"}}`)
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	ua := "ApifyClient-Go/" + Version + " (" + runtime.GOOS + "; Go/" +
		strings.TrimPrefix(runtime.Version(), "go") + "); isAtHome/false"
	hdr := func(contentType string) http.Header {
		h := http.Header{
			"Accept":        {"application/json"},
			"Authorization": {"Bearer " + testToken},
			"User-Agent":    {ua},
		}
		if contentType != "" {
			h["Content-Type"] = []string{contentType}
		}
		return h
	}
	hooks := []WebhookDefinition{{
		EventTypes: []EventType{EventActorRunSucceeded},
		RequestURL: "https://example.com/done?a=1&b=2",
	}}
	hooksParam, err := EncodeWebhooks(hooks)
	if err != nil {
		t.Fatal(err)
	}
	desc := "d"
	tests := []struct {
		name string
		call func(ctx context.Context, c *Client) error
		want recorded
	}{{
		name: "CreateWebhook",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.CreateWebhook(ctx, WebhookCondition{ActorID: "act1"}, WebhookDefinition{
				EventTypes:      []EventType{EventActorRunSucceeded, EventActorRunFailed},
				IdempotencyKey:  "key-1",
				RequestURL:      "https://example.com/hook",
				PayloadTemplate: `{"run": {{resource}}}`,
			})
			return err
		},
		want: recorded{
			Method: "POST", Path: "/v2/webhooks", Header: hdr("application/json"),
			Body: `{"condition":{"actorId":"act1"},"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.RUN.FAILED"],` +
				`"requestUrl":"https://example.com/hook","payloadTemplate":"{\"run\": {{resource}}}","idempotencyKey":"key-1"}`,
		},
	}, {
		name: "GetWebhook",
		call: func(ctx context.Context, c *Client) error { _, err := c.GetWebhook(ctx, "wh 1"); return err },
		want: recorded{Method: "GET", Path: "/v2/webhooks/wh%201", Header: hdr("")},
	}, {
		name: "UpdateWebhook",
		call: func(ctx context.Context, c *Client) error {
			f := false
			_, err := c.UpdateWebhook(ctx, "wh1", WebhookUpdate{Description: &desc, DoNotRetry: &f})
			return err
		},
		want: recorded{Method: "PUT", Path: "/v2/webhooks/wh1", Header: hdr("application/json"),
			Body: `{"doNotRetry":false,"description":"d"}`},
	}, {
		name: "DeleteWebhook",
		call: func(ctx context.Context, c *Client) error { return c.DeleteWebhook(ctx, "wh1") },
		want: recorded{Method: "DELETE", Path: "/v2/webhooks/wh1", Header: hdr("")},
	}, {
		name: "ListWebhooks defaults",
		call: func(ctx context.Context, c *Client) error { _, err := c.ListWebhooks(ctx, ListOptions{}); return err },
		want: recorded{Method: "GET", Path: "/v2/webhooks", Header: hdr("")},
	}, {
		name: "ListWebhooks page",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.ListWebhooks(ctx, ListOptions{Offset: 10, Limit: 5, Desc: true})
			return err
		},
		want: recorded{Method: "GET", Path: "/v2/webhooks", Query: "desc=1&limit=5&offset=10", Header: hdr("")},
	}, {
		name: "TestWebhook",
		call: func(ctx context.Context, c *Client) error { _, err := c.TestWebhook(ctx, "wh1"); return err },
		want: recorded{Method: "POST", Path: "/v2/webhooks/wh1/test", Header: hdr("")},
	}, {
		name: "ListWebhookDispatchesOf",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.ListWebhookDispatchesOf(ctx, "wh1", ListOptions{Limit: 2})
			return err
		},
		want: recorded{Method: "GET", Path: "/v2/webhooks/wh1/dispatches", Query: "limit=2", Header: hdr("")},
	}, {
		name: "GetWebhookDispatch",
		call: func(ctx context.Context, c *Client) error { _, err := c.GetWebhookDispatch(ctx, "d1"); return err },
		want: recorded{Method: "GET", Path: "/v2/webhook-dispatches/d1", Header: hdr("")},
	}, {
		name: "ListWebhookDispatches",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.ListWebhookDispatches(ctx, ListOptions{Offset: 3})
			return err
		},
		want: recorded{Method: "GET", Path: "/v2/webhook-dispatches", Query: "offset=3", Header: hdr("")},
	}, {
		name: "GetRun",
		call: func(ctx context.Context, c *Client) error { _, err := c.GetRun(ctx, "run1"); return err },
		want: recorded{Method: "GET", Path: "/v2/actor-runs/run1", Header: hdr("")},
	}, {
		name: "WaitForRun",
		call: func(ctx context.Context, c *Client) error { _, err := c.WaitForRun(ctx, "run1"); return err },
		want: recorded{Method: "GET", Path: "/v2/actor-runs/run1", Query: "waitForFinish=60", Header: hdr("")},
	}, {
		name: "AbortRun",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.AbortRun(ctx, "run1", AbortOptions{})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actor-runs/run1/abort", Header: hdr("")},
	}, {
		name: "AbortRun gracefully",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.AbortRun(ctx, "run1", AbortOptions{Gracefully: true})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actor-runs/run1/abort", Query: "gracefully=true", Header: hdr("")},
	}, {
		name: "UpdateRun",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.UpdateRun(ctx, "run1", RunUpdate{StatusMessage: "Done: 3 items", IsStatusMessageTerminal: true})
			return err
		},
		want: recorded{Method: "PUT", Path: "/v2/actor-runs/run1", Header: hdr("application/json"),
			Body: `{"runId":"run1","statusMessage":"Done: 3 items","isStatusMessageTerminal":true}`},
	}, {
		name: "StartActor by name with every option",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "jane/my-actor", map[string]any{"url": "https://example.com"}, StartOptions{
				Build: "beta", MemoryMbytes: 512, Timeout: 90 * time.Second, MaxItems: 100,
				WaitForFinish: 1500 * time.Millisecond, Webhooks: hooks,
			})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actors/jane~my-actor/runs",
			Query:  "build=beta&maxItems=100&memory=512&timeout=90&waitForFinish=2&webhooks=" + url.QueryEscape(hooksParam),
			Header: hdr("application/json"), Body: `{"url":"https://example.com"}`},
	}, {
		name: "StartActor without input or options",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "jane~my-actor", nil, StartOptions{})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actors/jane~my-actor/runs", Header: hdr("")},
	}, {
		name: "StartActor raw input",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "act1", []byte("hello"), StartOptions{ContentType: "text/plain"})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actors/act1/runs", Header: hdr("text/plain"), Body: "hello"},
	}, {
		name: "StartActor json.RawMessage input",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "act1", json.RawMessage(`{"a": 1}`), StartOptions{})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actors/act1/runs", Header: hdr("application/json"), Body: `{"a": 1}`},
	}, {
		name: "StartTask",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartTask(ctx, "jane/my-task", struct {
				N int `json:"n"`
			}{7}, StartOptions{Build: "latest"})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actor-tasks/jane~my-task/runs", Query: "build=latest",
			Header: hdr("application/json"), Body: `{"n":7}`},
	}, {
		name: "StartActor escapes the name",
		call: func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "ja ne/a b", nil, StartOptions{})
			return err
		},
		want: recorded{Method: "POST", Path: "/v2/actors/ja%20ne~a%20b/runs", Header: hdr("")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, answer)
			c := newTestClient(t, api.srv.URL)
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff([]recorded{tt.want}, api.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateWebhookGeneratesKey checks that a webhook created without an
// idempotency key gets a fresh random one.
func TestCreateWebhookGeneratesKey(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 201, `{"data":{"id":"wh1"}}`) })
	c := newTestClient(t, api.srv.URL)
	w := WebhookDefinition{EventTypes: []EventType{EventTest}, RequestURL: "https://example.com"}
	for range 2 {
		if _, err := c.CreateWebhook(t.Context(), WebhookCondition{ActorID: "a"}, w); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	for _, r := range api.requests() {
		var body struct {
			IdempotencyKey string `json:"idempotencyKey"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.IdempotencyKey) < 16 {
			t.Errorf("idempotencyKey %q is too short to be random", body.IdempotencyKey)
		}
		keys = append(keys, body.IdempotencyKey)
	}
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Errorf("keys of two calls = %q, want two different keys", keys)
	}
}

// TestNoTokenNoAuthorization checks that an anonymous client sends no
// Authorization header.
func TestNoTokenNoAuthorization(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, answer)
	c, err := New(WithBaseURL(api.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRun(t.Context(), "run1"); err != nil {
		t.Fatal(err)
	}
	if got := api.requests()[0].Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none", got)
	}
}

// TestInvalidIDs: every method that takes an ID refuses, before sending, one
// that is empty, a dot segment or has a "/" (other than an Actor or task name
// "username/name").
func TestInvalidIDs(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, answer)
	c := newTestClient(t, api.srv.URL)
	ctx := t.Context()
	calls := map[string]func(id string) error{
		"GetWebhook":    func(id string) error { _, err := c.GetWebhook(ctx, id); return err },
		"UpdateWebhook": func(id string) error { _, err := c.UpdateWebhook(ctx, id, WebhookUpdate{}); return err },
		"DeleteWebhook": func(id string) error { return c.DeleteWebhook(ctx, id) },
		"TestWebhook":   func(id string) error { _, err := c.TestWebhook(ctx, id); return err },
		"ListWebhookDispatchesOf": func(id string) error {
			_, err := c.ListWebhookDispatchesOf(ctx, id, ListOptions{})
			return err
		},
		"GetWebhookDispatch": func(id string) error { _, err := c.GetWebhookDispatch(ctx, id); return err },
		"GetRun":             func(id string) error { _, err := c.GetRun(ctx, id); return err },
		"WaitForRun":         func(id string) error { _, err := c.WaitForRun(ctx, id); return err },
		"AbortRun":           func(id string) error { _, err := c.AbortRun(ctx, id, AbortOptions{}); return err },
		"UpdateRun":          func(id string) error { _, err := c.UpdateRun(ctx, id, RunUpdate{}); return err },
		"StartActor":         func(id string) error { _, err := c.StartActor(ctx, id, nil, StartOptions{}); return err },
		"StartTask":          func(id string) error { _, err := c.StartTask(ctx, id, nil, StartOptions{}); return err },
		"CallActor":          func(id string) error { _, err := c.CallActor(ctx, id, nil, StartOptions{}); return err },
		"CallTask":           func(id string) error { _, err := c.CallTask(ctx, id, nil, StartOptions{}); return err },
	}
	ids := []string{"", " ", ".", "..", "a/b/c", "../x/y"}
	names := []string{"/x", "x/", "/", "a/..x/"} // refused as Actor or task names too
	for name, call := range calls {
		bad := ids
		if strings.HasPrefix(name, "Start") || strings.HasPrefix(name, "Call") {
			bad = append(append([]string(nil), ids...), names...)
		} else {
			bad = append(append([]string(nil), ids...), "a/b")
		}
		for _, id := range bad {
			err := call(id)
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("%s(%q): error = %v, want one matching ErrInvalidID", name, id, err)
			}
			var ie *IDError
			if errors.As(err, &ie) && ie.ID != id {
				t.Errorf("%s(%q): IDError.ID = %q", name, id, ie.ID)
			}
		}
	}
	if n := api.count(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}
