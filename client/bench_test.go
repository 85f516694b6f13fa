package client

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCreateWebhook measures a webhook creation round trip on loopback,
// including encoding the body and decoding the response.
func BenchmarkCreateWebhook(b *testing.B) {
	const resp = `{"data":{"id":"wh1","createdAt":"2024-01-02T03:04:05Z","modifiedAt":"2024-01-02T03:04:05Z",` +
		`"userId":"u1","eventTypes":["ACTOR.RUN.SUCCEEDED"],"condition":{"actorId":"a1"},` +
		`"requestUrl":"https://example.com/hook","ignoreSslErrors":false}}`
	srv := newBenchServer(b, resp)
	c, err := New(WithBaseURL(srv), WithToken(testToken))
	if err != nil {
		b.Fatal(err)
	}
	cond := WebhookCondition{ActorID: "a1"}
	w := WebhookDefinition{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com/hook"}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateWebhook(ctx, cond, w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRoundTrip is the floor for BenchmarkCreateWebhook: the same
// exchange with net/http alone.
func BenchmarkRawRoundTrip(b *testing.B) {
	srv := newBenchServer(b, `{"data":{"id":"wh1"}}`)
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	body := []byte(`{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"condition":{"actorId":"a1"},"idempotencyKey":"KEY","requestUrl":"https://example.com/hook"}`)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(b.Context(), "POST", srv+"/v2/webhooks", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func newBenchServer(b *testing.B, resp string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, resp)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}
