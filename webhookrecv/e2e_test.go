package webhookrecv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

// loseFirstAcceptance passes requests to h and, the first time h accepts a
// delivery, answers 500 instead, as when the response is lost on the way
// back: the platform then delivers the same dispatch again.
func loseFirstAcceptance(h http.Handler) http.Handler {
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		lost := false
		if rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), `"accepted"`) {
			once.Do(func() { lost = true })
		}
		if lost {
			http.Error(w, "response lost", http.StatusInternalServerError)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// TestEndToEnd has an Actor on the local platform add a webhook with the
// helpers' secret; the platform delivers it, the receiver accepts it once,
// recognises the redelivery of the same dispatch, and rejects a webhook
// without the secret.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	const secret = `e2e-"secret"\with{json}&<html>`
	tests := []struct {
		name    string
		opts    webhookrecv.Options
		path    string // of the webhook with the secret
		webhook func(base string) (actor.Webhook, error)
	}{
		{
			name: "secret in a header",
			path: "/hook",
			webhook: func(base string) (actor.Webhook, error) {
				tmpl, err := webhookrecv.HeadersTemplate(secret)
				return actor.Webhook{RequestURL: base + "/hook", HeadersTemplate: tmpl}, err
			},
		},
		{
			name: "secret in the URL",
			opts: webhookrecv.Options{AllowSecretInURL: true},
			path: "/hook?source=e2e",
			webhook: func(base string) (actor.Webhook, error) {
				u, err := webhookrecv.URLWithSecret(base+"/hook?source=e2e", secret)
				return actor.Webhook{RequestURL: u}, err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var (
				mu  sync.Mutex
				got []*webhookrecv.Delivery
			)
			tt.opts.Secret = secret
			h, err := webhookrecv.NewHandler(func(_ context.Context, d *webhookrecv.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, d)
				return nil
			}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			receiver := httptest.NewServer(loseFirstAcceptance(h))
			t.Cleanup(receiver.Close)

			w, err := tt.webhook(receiver.URL)
			if err != nil {
				t.Fatal(err)
			}
			w.EventTypes = []actor.EventType{actor.EventActorRunSucceeded}

			srv := apifytest.NewTestServer(t, apifytest.WithDeliveryBackoff(10*time.Millisecond))
			srv.RegisterActor("e2e~receiver", func(ctx context.Context, env []string, _ []byte) error {
				a := actor.New(actor.WithEnviron(env))
				if _, err := a.AddWebhook(ctx, w); err != nil {
					return err
				}
				// The same webhook without the secret, which must be refused.
				_, err := a.AddWebhook(ctx, actor.Webhook{
					EventTypes: []actor.EventType{actor.EventActorRunSucceeded},
					RequestURL: receiver.URL + "/no-secret",
					DoNotRetry: true,
				})
				return err
			})

			run, err := srv.StartRun(ctx, "e2e~receiver", nil, client.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if run, err = srv.WaitRun(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			if run.Status != client.StatusSucceeded {
				t.Fatalf("run %s: %s", run.Status, run.StatusMessage)
			}
			if err := srv.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}

			// Accepted once, with what the platform sent.
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("function ran %d times, want 1", len(got))
			}
			d := got[0]
			if d.Payload.EventType != client.EventActorRunSucceeded || d.Payload.EventData == nil || d.Payload.EventData.ActorRunID != run.ID {
				t.Errorf("payload = %+v, want ACTOR.RUN.SUCCEEDED of run %s", d.Payload, run.ID)
			}
			gotRun, err := d.Payload.Run()
			if err != nil {
				t.Fatalf("Payload.Run: %v", err)
			}
			if gotRun.ID != run.ID || gotRun.Status != client.StatusSucceeded {
				t.Errorf("resource is run %s in %s, want %s in SUCCEEDED", gotRun.ID, gotRun.Status, run.ID)
			}

			// The platform's record: the dispatch of the webhook with the
			// secret was delivered twice — the first answer lost, the
			// redelivery recognised — and the one without was refused.
			type call struct {
				Status int
				Body   string
			}
			calls := map[string][]call{} // by request URL path and query
			for _, disp := range srv.Dispatches() {
				if disp.Webhook == nil {
					t.Fatalf("dispatch %s has no webhook summary", disp.ID)
				}
				u, err := url.Parse(disp.Webhook.RequestURL)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Del(webhookrecv.SecretParam)
				key := u.Path
				if len(q) > 0 {
					key += "?" + q.Encode()
				}
				if key == tt.path && disp.ID != d.DispatchID {
					t.Errorf("dispatch %s delivered, but the function saw dispatch %q", disp.ID, d.DispatchID)
				}
				var cs []call
				for _, c := range disp.Calls {
					cs = append(cs, call{c.ResponseStatus, strings.TrimSpace(c.ResponseBody)})
				}
				calls[key] = cs
			}
			want := map[string][]call{
				tt.path:      {{500, "response lost"}, {200, `{"status":"duplicate"}`}},
				"/no-secret": {{401, `{"error":"missing or wrong secret"}`}},
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("dispatch calls (-want +got):\n%s", diff)
			}

			// A replay of the same dispatch by hand is recognised too.
			replay, err := http.NewRequestWithContext(ctx, http.MethodPost, receiver.URL, strings.NewReader(string(d.Body)))
			if err != nil {
				t.Fatal(err)
			}
			replay.Header.Set(webhookrecv.SecretHeader, secret)
			replay.Header.Set(webhookrecv.HeaderDispatchID, d.DispatchID)
			resp, err := receiver.Client().Do(replay)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(got) != 1 {
				t.Errorf("replay: status %d, function ran %d times; want 200 and 1", resp.StatusCode, len(got))
			}
		})
	}
}

// TestHeadersTemplateRendersOnPlatform checks that the platform's template
// rendering sends exactly the secret the handler expects, for secrets with
// characters JSON must escape.
func TestHeadersTemplateRendersOnPlatform(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"plain", `q"uote`, `back\slash`, `{brace}`, `}}`, `<&>`, "a{b}c{", `\u0041`} {
		tmpl, err := webhookrecv.HeadersTemplate(secret)
		if err != nil {
			t.Fatalf("HeadersTemplate(%q): %v", secret, err)
		}
		for _, interpolate := range []bool{false, true} {
			pt, err := actor.ParseHeadersTemplate(tmpl, actor.TemplateOptions{InterpolateStrings: interpolate})
			if err != nil {
				t.Fatalf("ParseHeadersTemplate(%s): %v", tmpl, err)
			}
			headers, err := pt.RenderHeaders(map[string]any{"userId": "u1"})
			if err != nil {
				t.Fatalf("RenderHeaders(%s): %v", tmpl, err)
			}
			if diff := cmp.Diff(map[string]string{webhookrecv.SecretHeader: secret}, headers); diff != "" {
				t.Errorf("secret %q, interpolate %v: headers (-want +got):\n%s", secret, interpolate, diff)
			}
		}
	}
}
