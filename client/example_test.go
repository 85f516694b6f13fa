package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-apify/actor/client"
)

func ExampleNew() {
	c, err := client.New(
		client.WithToken("my-apify-token"),
		client.WithMaxRetries(3),
		client.WithBackoff(200*time.Millisecond, 10*time.Second),
		client.WithAttemptTimeout(30*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.BaseURL())

	_, err = client.New(client.WithBaseURL("ftp://example.com"))
	fmt.Println(err)
	// Output:
	// https://api.apify.com
	// client: WithBaseURL: "ftp://example.com": the scheme must be http or https
}

// A stand-in for the platform: it starts runs and reports what it received.
func fakePlatform() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		input, _ := io.ReadAll(r.Body)
		hooks, _ := client.DecodeWebhooks(r.URL.Query().Get("webhooks"))
		fmt.Printf("platform: %s %s memory=%s input=%s\n", r.Method, r.URL.Path, r.URL.Query().Get("memory"), input)
		for _, h := range hooks {
			fmt.Printf("platform: ad-hoc webhook %v -> %s\n", h.EventTypes, h.RequestURL)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"data":{"id":"run42","actId":"jane~hello","status":"READY","startedAt":"2025-01-01T00:00:00Z"}}`)
	}))
}

func ExampleClient_StartActor() {
	srv := fakePlatform()
	defer srv.Close()
	c, err := client.New(client.WithBaseURL(srv.URL), client.WithToken("my-apify-token"))
	if err != nil {
		fmt.Println(err)
		return
	}

	run, err := c.StartActor(context.Background(), "jane/hello", map[string]string{"name": "Go"}, client.StartOptions{
		MemoryMbytes: 256,
		Webhooks: []client.WebhookDefinition{{
			EventTypes: []client.EventType{client.EventActorRunSucceeded, client.EventActorRunFailed},
			RequestURL: "https://example.com/run-done",
		}},
	})
	var se *client.StartError
	switch {
	case errors.As(err, &se) && se.MayHaveStarted:
		fmt.Println("the run may exist; look for it before starting again:", err)
	case err != nil:
		fmt.Println("no run started; safe to try again:", err)
	default:
		fmt.Println(run.ID, run.Status)
	}
	// Output:
	// platform: POST /v2/actors/jane~hello/runs memory=256 input={"name":"Go"}
	// platform: ad-hoc webhook [ACTOR.RUN.SUCCEEDED ACTOR.RUN.FAILED] -> https://example.com/run-done
	// run42 READY
}

func ExampleStartError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"type":"internal-error","message":"Something went wrong"}}`)
	}))
	defer srv.Close()
	c, _ := client.New(client.WithBaseURL(srv.URL))

	_, err := c.StartActor(context.Background(), "jane~hello", nil, client.StartOptions{})
	var se *client.StartError
	if errors.As(err, &se) {
		fmt.Println("may have started:", se.MayHaveStarted)
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		fmt.Println("status:", ae.StatusCode, "attempts:", ae.Attempts)
	}
	// Output:
	// may have started: true
	// status: 500 attempts: 1
}

func ExampleEncodeWebhooks() {
	s, err := client.EncodeWebhooks([]client.WebhookDefinition{{
		EventTypes: []client.EventType{client.EventActorRunSucceeded},
		RequestURL: "https://example.com/done",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	hooks, _ := client.DecodeWebhooks(s)
	fmt.Println(hooks[0].EventTypes, hooks[0].RequestURL)
	// Output:
	// W3siZXZlbnRUeXBlcyI6WyJBQ1RPUi5SVU4uU1VDQ0VFREVEIl0sInJlcXVlc3RVcmwiOiJodHRwczovL2V4YW1wbGUuY29tL2RvbmUifV0=
	// [ACTOR.RUN.SUCCEEDED] https://example.com/done
}

func ExampleClient_AllWebhooks() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("offset") == "" {
			fmt.Fprint(w, `{"data":{"total":3,"offset":0,"limit":2,"count":2,"items":[{"id":"wh1"},{"id":"wh2"}]}}`)
			return
		}
		fmt.Fprint(w, `{"data":{"total":3,"offset":2,"limit":2,"count":1,"items":[{"id":"wh3"}]}}`)
	}))
	defer srv.Close()
	c, _ := client.New(client.WithBaseURL(srv.URL))

	for wh, err := range c.AllWebhooks(context.Background(), client.ListOptions{Limit: 2}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(wh.ID)
	}
	// Output:
	// wh1
	// wh2
	// wh3
}

func ExampleIsNotFound() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"record-not-found","message":"Webhook was not found"}}`)
	}))
	defer srv.Close()
	c, _ := client.New(client.WithBaseURL(srv.URL))

	_, err := c.GetWebhook(context.Background(), "missing")
	fmt.Println(client.IsNotFound(err))
	fmt.Println(err)
	// Output:
	// true
	// apify: GET /v2/webhooks/missing: 404 record-not-found: Webhook was not found
}
