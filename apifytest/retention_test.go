package apifytest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// TestSpentAdHocWebhooksDoNotCount checks that an ad-hoc webhook that has
// fired, or whose run ended without its event, leaves room under the limit.
func TestSpentAdHocWebhooksDoNotCount(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := apifytest.NewTestServer(t, apifytest.WithWebhookLimit(2))
	for i := range 5 {
		deliverRun(t, srv, succeededHook(rc.URL), succeededHook(rc.URL)) // fire, then stop counting
		run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook(rc.URL), succeededHook(rc.URL)}})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if _, err := srv.FinishRun(run.ID, client.StatusFailed, 1); err != nil { // never fire
			t.Fatal(err)
		}
	}
	if got := len(rc.requests()); got != 10 {
		t.Errorf("receiver got %d calls, want 10", got)
	}
}

// TestRetention checks that the oldest finished runs are evicted with their
// dispatches and storages, past the retention.
func TestRetention(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	srv := apifytest.NewTestServer(t, apifytest.WithRetention(2, 0))
	running, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var runs []*client.Run
	for range 4 {
		runs = append(runs, deliverRun(t, srv, succeededHook(rc.URL)))
	}
	var page client.Page[client.Run]
	call(t, srv, srv.Token, "GET", "/v2/actor-runs", nil).data(t, &page)
	var got []string
	for _, r := range page.Items {
		got = append(got, r.ID)
	}
	if want := []string{running.ID, runs[2].ID, runs[3].ID}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("runs %v, want the running one and the last two finished %v", got, want)
	}
	if n := len(srv.Dispatches()); n != 2 {
		t.Errorf("%d dispatches kept, want 2", n)
	}
	old := runs[0]
	for _, path := range []string{
		"/v2/actor-runs/" + old.ID,
		"/v2/key-value-stores/" + old.DefaultKeyValueStoreID,
		"/v2/datasets/" + old.DefaultDatasetID,
	} {
		if r := call(t, srv, srv.Token, "GET", path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s of an evicted run: %d, want 404", path, r.status)
		}
	}
	var hooks client.Page[client.Webhook]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &hooks)
	if hooks.Total != 2 {
		t.Errorf("%d webhooks kept, want the 2 of the kept runs", hooks.Total)
	}
}

// TestChainCutOff checks that webhooks that call the server itself in a
// loop stop at MaxChainDepth, with the reason in the last dispatch.
func TestChainCutOff(t *testing.T) {
	t.Parallel()
	auth := `{"Authorization": "Bearer {{userId}}"}`
	t.Run("webhook testing itself", func(t *testing.T) {
		t.Parallel()
		srv := apifytest.NewTestServer(t, apifytest.WithDefaultUser("tokenuser", "tokenuser"))
		c := srv.Client()
		wh, err := c.CreateWebhook(ctxFor(t), client.WebhookCondition{ActorID: "a~b"}, client.WebhookDefinition{
			EventTypes: []client.EventType{client.EventActorRunSucceeded},
			RequestURL: srv.URL + "/v2/webhooks/placeholder/test", HeadersTemplate: auth, ShouldInterpolateStrings: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		url := srv.URL + "/v2/webhooks/" + wh.ID + "/test"
		if _, err := c.UpdateWebhook(ctxFor(t), wh.ID, client.WebhookUpdate{RequestURL: &url}); err != nil {
			t.Fatal(err)
		}
		if r := call(t, srv, srv.Token, "POST", "/v2/webhooks/"+wh.ID+"/test", nil); r.status != http.StatusCreated {
			t.Fatalf("test: %d %s", r.status, r.body)
		}
		waitIdle(t, srv)
		checkCutOff(t, srv.Dispatches(), apifytest.MaxChainDepth, 1)
	})
	t.Run("runs starting runs", func(t *testing.T) {
		t.Parallel()
		srv := apifytest.NewTestServer(t, apifytest.WithDefaultUser("tokenuser", "tokenuser"))
		c := srv.Client()
		for range 2 {
			if _, err := c.CreateWebhook(ctxFor(t), client.WebhookCondition{ActorID: "a~loop"}, client.WebhookDefinition{
				EventTypes: []client.EventType{client.EventActorRunCreated},
				RequestURL: srv.URL + "/v2/acts/a~loop/runs", HeadersTemplate: auth, ShouldInterpolateStrings: true,
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := srv.StartRun(ctxFor(t), "a~loop", nil, client.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, srv)
		// Each run starts two: 2 + 4 + ... + 2^depth delivered, 2^(depth+1) cut off.
		checkCutOff(t, srv.Dispatches(), 1<<(apifytest.MaxChainDepth+1)-2, 1<<(apifytest.MaxChainDepth+1))
		var page client.Page[client.Run]
		call(t, srv, srv.Token, "GET", "/v2/actor-runs?limit=1", nil).data(t, &page)
		if want := 1<<(apifytest.MaxChainDepth+1) - 1; page.Total != want {
			t.Errorf("%d runs, want %d", page.Total, want)
		}
	})
}

// checkCutOff checks that ds are delivered ones and cut-off ones, in the
// given numbers, the cut-off ones failed without a call to the receiver.
func checkCutOff(t *testing.T, ds []client.WebhookDispatch, delivered, cut int) {
	t.Helper()
	var ok, cutOff int
	for _, d := range ds {
		switch {
		case d.Status == client.DispatchSucceeded:
			ok++
		case d.Status == client.DispatchFailed && len(d.Calls) == 1 && d.Calls[0].ResponseStatus == 0 &&
			strings.Contains(d.Calls[0].ErrorMessage, "chain of"):
			cutOff++
		default:
			t.Errorf("dispatch %s with calls %+v", d.Status, d.Calls)
		}
	}
	if ok != delivered || cutOff != cut {
		t.Errorf("%d delivered and %d cut off, want %d and %d", ok, cutOff, delivered, cut)
	}
}
