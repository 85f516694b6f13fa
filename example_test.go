package actor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/go-apify/actor"
)

// Actor code adds a webhook for its own run, here one that reports a failed
// or timed-out run. Off the platform nothing is created. (The example has no
// checked output: what it does depends on the environment it runs in.)
func ExampleAddWebhook() {
	ctx := context.Background()
	wh, err := actor.AddWebhook(ctx, actor.Webhook{
		EventTypes:      []actor.EventType{actor.EventActorRunFailed, actor.EventActorRunTimedOut},
		RequestURL:      "https://example.com/alerts",
		PayloadTemplate: `{"runId": {{resource.id}}, "status": {{resource.status}}}`,
	})
	switch {
	case err != nil:
		fmt.Println("error:", err)
	case wh == nil:
		fmt.Println("not on the Apify platform: no webhook created")
	default:
		fmt.Println("created webhook", wh.ID)
	}
}

// On the platform, AddWebhook creates an ad-hoc webhook bound to the run. A
// fake platform stands in for api.apify.com here.
func ExampleActor_AddWebhook() {
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s\n%s\n", r.Method, r.URL.Path, body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"data":{"id":"WEBHOOK1","isAdHoc":true,"condition":{"actorRunId":"RUN123"}}}`)
	}))
	defer platform.Close()
	environment := map[string]string{
		"APIFY_IS_AT_HOME": "1", "ACTOR_RUN_ID": "RUN123", "APIFY_TOKEN": "my-token", "APIFY_API_BASE_URL": platform.URL,
	}

	a := actor.New(actor.WithLookupEnv(func(name string) (string, bool) {
		v, ok := environment[name]
		return v, ok
	}))
	wh, err := a.AddWebhook(context.Background(), actor.Webhook{
		EventTypes: []actor.EventType{actor.EventActorRunSucceeded},
		RequestURL: "https://example.com/done",
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("created", wh.ID, "for run", wh.Condition.ActorRunID)
	// Output:
	// POST /v2/webhooks
	// {"isAdHoc":true,"condition":{"actorRunId":"RUN123"},"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://example.com/done","idempotencyKey":"RUN123-73676974b17d4f4c"}
	// created WEBHOOK1 for run RUN123
}

// A service starts an Actor with ad-hoc webhooks for the new run: the
// platform will call them when the run is created and when it ends.
func ExampleActor_Start() {
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks, err := actor.DecodeWebhooks(r.URL.Query().Get("webhooks"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Println(r.Method, r.URL.Path)
		for _, h := range hooks {
			fmt.Println("webhook:", h.EventTypes, h.RequestURL)
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"data":{"id":"NEWRUN","status":"READY"}}`)
	}))
	defer platform.Close()
	environment := map[string]string{"APIFY_TOKEN": "my-token", "APIFY_API_BASE_URL": platform.URL}

	a := actor.New(actor.WithLookupEnv(func(name string) (string, bool) {
		v, ok := environment[name]
		return v, ok
	}))
	run, err := a.Start(context.Background(), "apify~hello-world", map[string]any{"message": "hi"}, actor.StartOptions{
		Webhooks: []actor.Webhook{
			{EventTypes: []actor.EventType{actor.EventActorRunCreated}, RequestURL: "https://example.com/created"},
			{
				EventTypes:      []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed},
				RequestURL:      "https://example.com/finished",
				PayloadTemplate: `{"runId": {{resource.id}}, "datasetId": {{resource.defaultDatasetId}}}`,
			},
		},
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("started", run.ID, run.Status)
	// Output:
	// POST /v2/actors/apify~hello-world/runs
	// webhook: [ACTOR.RUN.CREATED] https://example.com/created
	// webhook: [ACTOR.RUN.SUCCEEDED ACTOR.RUN.FAILED] https://example.com/finished
	// started NEWRUN READY
}

// Main wraps the whole Actor: it initializes, runs the function and exits
// the process with 0, or 1 and the error as the run's status message.
func ExampleMain() {
	actor.Main(func(ctx context.Context) error {
		if _, err := actor.AddWebhook(ctx, actor.Webhook{
			EventTypes: []actor.EventType{actor.EventActorRunFailed},
			RequestURL: "https://example.com/alerts",
		}); err != nil {
			return err
		}
		// ... the Actor's work, stopping when ctx is canceled ...
		return nil
	})
}

// An Actor made by New can be observed in tests: WithExitFunc receives the
// exit code instead of the process ending.
func ExampleActor_Main() {
	a := actor.New(
		actor.WithLookupEnv(func(string) (string, bool) { return "", false }),
		actor.WithExitFunc(func(code int) { fmt.Println("exit code", code) }),
	)
	a.Main(func(ctx context.Context) error {
		return errors.New("the input has no URL")
	})
	// Output: exit code 1
}
