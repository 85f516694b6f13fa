package apifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// A run's ad-hoc webhook fires when the run ends, and the test waits for the
// delivery without sleeping.
func Example() {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct {
			EventType string         `json:"eventType"`
			Resource  map[string]any `json:"resource"`
		}
		_ = json.NewDecoder(r.Body).Decode(&payload)
		fmt.Println("received", payload.EventType, "for a run that", payload.Resource["status"])
	}))
	defer receiver.Close()

	srv, err := apifytest.NewServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	ctx := context.Background()
	run, err := srv.StartRun(ctx, "janedoe~my-actor", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{{
		EventTypes: []client.EventType{client.EventActorRunSucceeded},
		RequestURL: receiver.URL,
	}}})
	if err != nil {
		panic(err)
	}
	if _, err := srv.FinishRun(run.ID, client.StatusSucceeded, 0); err != nil {
		panic(err)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		panic(err)
	}
	d := srv.Dispatches()[0]
	fmt.Println("dispatch", d.Status, "after", len(d.Calls), "call")
	// Output:
	// received ACTOR.RUN.SUCCEEDED for a run that SUCCEEDED
	// dispatch SUCCEEDED after 1 call
}

// An Actor written as a Go function runs when its run starts; its error
// fails the run, and the API reports it.
func ExampleServer_RegisterActor() {
	srv, err := apifytest.NewServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.RegisterActor("janedoe~flaky", func(ctx context.Context, env []string, input []byte) error {
		return errors.New("no luck today")
	})

	ctx := context.Background()
	c := srv.Client()
	run, err := c.StartActor(ctx, "janedoe~flaky", map[string]string{"day": "Monday"}, client.StartOptions{})
	if err != nil {
		panic(err)
	}
	run, err = c.WaitForRun(ctx, run.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(run.Status, *run.ExitCode, run.StatusMessage)
	// Output: FAILED 1 no luck today
}

// Fault injection makes the next requests fail, for testing a client's
// retries.
func ExampleServer_FailNext() {
	srv, err := apifytest.NewServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.FailNext(2, http.StatusTooManyRequests, 0)

	req, _ := http.NewRequest("GET", srv.URL+"/v2/webhooks", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	for range 3 {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 429
	// 429
	// 200
}
