package apifytest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

func TestWebhookCRUD(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	tok := srv.Token

	create := map[string]any{
		"eventTypes":      []string{"ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED"},
		"condition":       map[string]any{"actorId": "janedoe~my-actor"},
		"requestUrl":      "https://example.com/hook",
		"payloadTemplate": `{"id": {{resource.id}}}`,
		"description":     "mine",
	}
	resp := call(t, srv, tok, "POST", "/v2/webhooks", create)
	if resp.status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.status, resp.body)
	}
	var wh client.Webhook
	resp.data(t, &wh)
	if loc := resp.header.Get("Location"); loc != srv.URL+"/v2/webhooks/"+wh.ID {
		t.Errorf("Location = %q", loc)
	}
	if len(wh.ID) != 17 || wh.UserID != srv.UserID || wh.CreatedAt.IsZero() || wh.ModifiedAt.IsZero() {
		t.Errorf("created webhook = %+v", wh)
	}
	if len(wh.Condition.ActorID) != 17 {
		t.Errorf("condition.actorId = %q, want the Actor's ID", wh.Condition.ActorID)
	}
	want := client.Webhook{
		ID: wh.ID, UserID: srv.UserID, Condition: wh.Condition,
		WebhookDefinition: client.WebhookDefinition{
			EventTypes:      []client.EventType{client.EventActorRunSucceeded, client.EventActorRunFailed},
			RequestURL:      "https://example.com/hook",
			PayloadTemplate: `{"id": {{resource.id}}}`,
			Description:     "mine",
		},
		Stats: &client.WebhookStats{},
	}
	ignoreTimes := cmpopts.IgnoreFields(client.Webhook{}, "CreatedAt", "ModifiedAt")
	if diff := cmp.Diff(want, wh, ignoreTimes); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	var got client.Webhook
	call(t, srv, tok, "GET", "/v2/webhooks/"+wh.ID, nil).data(t, &got)
	if diff := cmp.Diff(wh, got); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	time.Sleep(2 * time.Millisecond) // modifiedAt has millisecond resolution
	resp = call(t, srv, tok, "PUT", "/v2/webhooks/"+wh.ID, map[string]any{"requestUrl": "https://example.com/other", "doNotRetry": true})
	if resp.status != http.StatusOK {
		t.Fatalf("update: %d %s", resp.status, resp.body)
	}
	var upd client.Webhook
	resp.data(t, &upd)
	want.RequestURL, want.DoNotRetry = "https://example.com/other", true
	if diff := cmp.Diff(want, upd, ignoreTimes); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}
	if !upd.ModifiedAt.After(wh.ModifiedAt) || !upd.CreatedAt.Equal(wh.CreatedAt) {
		t.Errorf("times after update: created %v modified %v (before %v)", upd.CreatedAt, upd.ModifiedAt, wh.ModifiedAt)
	}

	resp = call(t, srv, tok, "DELETE", "/v2/webhooks/"+wh.ID, nil)
	if resp.status != http.StatusNoContent || len(resp.body) != 0 {
		t.Errorf("delete: %d %q", resp.status, resp.body)
	}
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		resp = call(t, srv, tok, m, "/v2/webhooks/"+wh.ID, map[string]any{})
		if resp.status != http.StatusNotFound || resp.errorOf(t).Type != "record-not-found" {
			t.Errorf("%s after delete: %d %s", m, resp.status, resp.body)
		}
	}
}

func TestWebhookList(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	c := srv.Client()
	ctx := ctxFor(t)
	var ids []string
	for range 5 {
		w, err := c.CreateWebhook(ctx, client.WebhookCondition{ActorID: "a~b"}, client.WebhookDefinition{
			EventTypes: []client.EventType{client.EventActorRunSucceeded},
			RequestURL: "http://127.0.0.1:1/x",
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	tests := []struct {
		query         string
		wantIDs       []string
		offset, limit int
		desc          bool
	}{
		{"", ids, 0, 1000, false},
		{"?offset=1&limit=2", ids[1:3], 1, 2, false},
		{"?desc=1&limit=2", []string{ids[4], ids[3]}, 0, 2, true},
		{"?offset=4&limit=10", ids[4:], 4, 10, false},
		{"?offset=9", []string{}, 9, 1000, false},
	}
	for _, tt := range tests {
		resp := call(t, srv, srv.Token, "GET", "/v2/webhooks"+tt.query, nil)
		var page client.Page[client.Webhook]
		resp.data(t, &page)
		got := []string{}
		for _, w := range page.Items {
			got = append(got, w.ID)
		}
		if diff := cmp.Diff(tt.wantIDs, got); diff != "" {
			t.Errorf("%s: IDs (-want +got):\n%s", tt.query, diff)
		}
		wantPage := client.Page[client.Webhook]{Total: 5, Offset: tt.offset, Limit: tt.limit, Count: len(tt.wantIDs), Desc: tt.desc}
		page.Items = nil
		if diff := cmp.Diff(wantPage, page); diff != "" {
			t.Errorf("%s: page (-want +got):\n%s", tt.query, diff)
		}
	}
	resp := call(t, srv, srv.Token, "GET", "/v2/webhooks?limit=-1", nil)
	if resp.status != 400 || resp.errorOf(t).Type != "invalid-parameter" {
		t.Errorf("limit=-1: %d %s", resp.status, resp.body)
	}
}

func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	valid := func() map[string]any {
		return map[string]any{
			"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"},
			"condition":  map[string]any{"actorId": "a~b"},
			"requestUrl": "https://example.com",
		}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name      string
		body      any
		wantField string
	}{
		{"not an object", `[1]`, "JSON object"},
		{"not JSON", `{"a":`, "JSON"},
		{"no event types", with("eventTypes", nil), "eventTypes"},
		{"empty event types", with("eventTypes", []string{}), "eventTypes"},
		{"unknown event type", with("eventTypes", []string{"ACTOR.RUN.EXPLODED"}), "eventTypes[0]"},
		{"event types not an array", with("eventTypes", "ACTOR.RUN.SUCCEEDED"), "eventTypes"},
		{"no request URL", with("requestUrl", nil), "requestUrl"},
		{"relative request URL", with("requestUrl", "/hook"), "requestUrl"},
		{"ftp request URL", with("requestUrl", "ftp://example.com"), "requestUrl"},
		{"no condition", with("condition", nil), "condition"},
		{"unknown run", with("condition", map[string]any{"actorRunId": "nope"}), "condition.actorRunId"},
		{"bad payload template", with("payloadTemplate", `{"a": {{resource.id}`), "payloadTemplate"},
		{"unknown variable", with("payloadTemplate", `{"a": {{secret}}}`), "payloadTemplate"},
		{"bad headers template", with("headersTemplate", `["x"]`), "headersTemplate"},
	}
	for _, tt := range tests {
		wantBadRequest(t, call(t, srv, srv.Token, "POST", "/v2/webhooks", tt.body), tt.name, tt.wantField)
	}
	// Nothing was created.
	var page client.Page[client.Webhook]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &page)
	if page.Total != 0 {
		t.Errorf("%d webhooks exist after invalid creates", page.Total)
	}

	// Updates are validated the same way and change nothing when invalid.
	var wh client.Webhook
	call(t, srv, srv.Token, "POST", "/v2/webhooks", valid()).data(t, &wh)
	for _, body := range []map[string]any{
		{"payloadTemplate": `{"a": }`},
		{"headersTemplate": `{"X": 1`},
		{"eventTypes": []string{"NOPE"}},
		{"requestUrl": "nope"},
	} {
		resp := call(t, srv, srv.Token, "PUT", "/v2/webhooks/"+wh.ID, body)
		if resp.status != http.StatusBadRequest {
			t.Errorf("update %v: %d %s, want 400", body, resp.status, resp.body)
		}
	}
	var after client.Webhook
	call(t, srv, srv.Token, "GET", "/v2/webhooks/"+wh.ID, nil).data(t, &after)
	if diff := cmp.Diff(wh, after); diff != "" {
		t.Errorf("invalid updates changed the webhook (-want +got):\n%s", diff)
	}
}

func TestWebhookIdempotencyKey(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithUser("OtherUser", "other-token"))
	body := map[string]any{
		"eventTypes":     []string{"ACTOR.RUN.SUCCEEDED"},
		"condition":      map[string]any{"actorId": "a~b"},
		"requestUrl":     "https://example.com",
		"idempotencyKey": "key-1",
	}
	var first, second, other client.Webhook
	call(t, srv, srv.Token, "POST", "/v2/webhooks", body).data(t, &first)
	resp := call(t, srv, srv.Token, "POST", "/v2/webhooks", body)
	if resp.status != http.StatusCreated {
		t.Fatalf("repeat: %d %s", resp.status, resp.body)
	}
	resp.data(t, &second)
	if first.ID != second.ID {
		t.Errorf("a repeated idempotency key created webhook %s besides %s", second.ID, first.ID)
	}
	// Keys are unique per user: another user's same key is another webhook.
	call(t, srv, "other-token", "POST", "/v2/webhooks", body).data(t, &other)
	if other.ID == first.ID || other.UserID != "OtherUser" {
		t.Errorf("other user's webhook = %+v", other)
	}
	var page client.Page[client.Webhook]
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &page)
	if page.Total != 1 {
		t.Errorf("default user has %d webhooks, want 1", page.Total)
	}

	// The same key among the webhooks of run starts reuses the webhook too.
	hook := succeededHook("https://example.com")
	hook.IdempotencyKey = "key-2"
	ctx := ctxFor(t)
	for range 2 {
		if _, err := srv.StartRun(ctx, "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{hook}}); err != nil {
			t.Fatal(err)
		}
	}
	call(t, srv, srv.Token, "GET", "/v2/webhooks", nil).data(t, &page)
	if page.Total != 2 {
		t.Errorf("after two starts with the same ad-hoc key: %d webhooks, want 2", page.Total)
	}
}

func TestWebhookLimit(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithWebhookLimit(2))
	ctx := ctxFor(t)
	c := srv.Client(client.WithMaxRetries(0))
	cond := client.WebhookCondition{ActorID: "a~b"}
	w := client.WebhookDefinition{EventTypes: []client.EventType{client.EventActorRunFailed}, RequestURL: "https://example.com"}
	for range 2 {
		if _, err := c.CreateWebhook(ctx, cond, w); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateWebhook(ctx, cond, w)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Type != "too-many-webhooks" {
		t.Errorf("third webhook: %v, want a 400 too-many-webhooks", err)
	}
	if _, err := srv.StartRun(ctx, "a~b", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{succeededHook("https://example.com")}}); err == nil {
		t.Error("a start with a webhook past the limit succeeded")
	}
}

func TestTestWebhook(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	var wh client.Webhook
	call(t, srv, srv.Token, "POST", "/v2/webhooks", map[string]any{
		"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"},
		"condition":  map[string]any{"actorId": "a~b"},
		"requestUrl": rc.URL,
	}).data(t, &wh)
	resp := call(t, srv, srv.Token, "POST", "/v2/webhooks/"+wh.ID+"/test", nil)
	if resp.status != http.StatusCreated {
		t.Fatalf("test: %d %s", resp.status, resp.body)
	}
	var d client.WebhookDispatch
	resp.data(t, &d)
	if d.EventType != client.EventTest || d.WebhookID != wh.ID || d.Status != client.DispatchActive {
		t.Errorf("test dispatch = %+v", d)
	}
	done, err := srv.WaitDispatch(ctxFor(t), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != client.DispatchSucceeded || len(rc.requests()) != 1 {
		t.Errorf("test dispatch ended %s; receiver got %d", done.Status, len(rc.requests()))
	}
	if !strings.Contains(string(rc.requests()[0].body), `"eventType":"TEST"`) && !strings.Contains(string(rc.requests()[0].body), `"eventType": "TEST"`) {
		t.Errorf("test payload = %s", rc.requests()[0].body)
	}
	var after client.Webhook
	call(t, srv, srv.Token, "GET", "/v2/webhooks/"+wh.ID, nil).data(t, &after)
	if after.Stats == nil || after.Stats.TotalDispatches != 1 || after.LastDispatch == nil || after.LastDispatch.Status != client.DispatchSucceeded {
		t.Errorf("stats %+v, lastDispatch %+v", after.Stats, after.LastDispatch)
	}
}

// TestWebhookAloneShowsFlags: a webhook alone (the answer to POST /v2/webhooks,
// and to GET and PUT /v2/webhooks/{id}) has ignoreSslErrors and doNotRetry
// even when false, as list items do: the description requires
// ignoreSslErrors of a Webhook.
func TestWebhookAloneShowsFlags(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	type flags struct {
		IgnoreSSLErrors *bool `json:"ignoreSslErrors"`
		DoNotRetry      *bool `json:"doNotRetry"`
	}
	created := call(t, srv, srv.Token, "POST", "/v2/webhooks", map[string]any{
		"eventTypes": []string{"ACTOR.RUN.SUCCEEDED"}, "condition": map[string]string{"actorId": "a~b"},
		"requestUrl": "http://127.0.0.1:1/x",
	})
	var hook struct {
		ID string `json:"id"`
		flags
	}
	created.data(t, &hook)
	if created.status != http.StatusCreated || hook.ID == "" {
		t.Fatalf("POST /v2/webhooks: %d %s", created.status, created.body)
	}
	if diff := cmp.Diff(flags{ptr(false), ptr(false)}, hook.flags); diff != "" {
		t.Errorf("POST /v2/webhooks: flags (-want +got):\n%s", diff)
	}
	// In order, on the webhook created.
	tests := []struct {
		method string
		body   any
		want   flags
	}{
		{"GET", nil, flags{ptr(false), ptr(false)}},
		{"PUT", map[string]any{"doNotRetry": true}, flags{ptr(false), ptr(true)}},
		{"GET", nil, flags{ptr(false), ptr(true)}},
		{"PUT", map[string]any{"ignoreSslErrors": true, "doNotRetry": false}, flags{ptr(true), ptr(false)}},
		{"PUT", map[string]any{"ignoreSslErrors": false}, flags{ptr(false), ptr(false)}},
		{"GET", nil, flags{ptr(false), ptr(false)}},
	}
	for i, tt := range tests {
		resp := call(t, srv, srv.Token, tt.method, "/v2/webhooks/"+hook.ID, tt.body)
		if resp.status != http.StatusOK {
			t.Fatalf("step %d, %s: %d %s", i, tt.method, resp.status, resp.body)
		}
		var got flags
		resp.data(t, &got)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("step %d, %s %v: flags (-want +got):\n%s", i, tt.method, tt.body, diff)
		}
	}
}
