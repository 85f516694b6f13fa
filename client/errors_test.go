package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIErrorDecoding(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300)
	tests := []struct {
		name   string
		status int
		body   string
		want   *APIError
	}{{
		name: "platform error", status: 404,
		body: `{"error":{"type":"record-not-found","message":"Webhook was not found"}}`,
		want: &APIError{StatusCode: 404, Type: "record-not-found", Message: "Webhook was not found"},
	}, {
		name: "unknown fields", status: 400,
		body: `{"error":{"type":"invalid-input","message":"bad","details":{"x":1}},"extra":true}`,
		want: &APIError{StatusCode: 400, Type: "invalid-input", Message: "bad"},
	}, {
		name: "HTML body", status: 502,
		body: "<html>\n<body>Bad   gateway</body>\n</html>",
		want: &APIError{StatusCode: 502, Message: "<html> <body>Bad gateway</body> </html>", Attempts: 9},
	}, {
		name: "empty body", status: 401,
		want: &APIError{StatusCode: 401, Message: "Unauthorized"},
	}, {
		name: "JSON without error", status: 403, body: `{"data":null}`,
		want: &APIError{StatusCode: 403, Message: `{"data":null}`},
	}, {
		name: "long body truncated", status: 400, body: long,
		want: &APIError{StatusCode: 400, Message: strings.Repeat("é", 100) + "…"},
	}, {
		name: "invalid UTF-8", status: 400, body: "bad \xff byte",
		want: &APIError{StatusCode: 400, Message: "bad \uFFFD byte"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c := newTestClient(t, api.srv.URL)
			_, err := c.GetWebhook(t.Context(), "wh1")
			var got *APIError
			if !errors.As(err, &got) {
				t.Fatalf("error = %v, want an *APIError", err)
			}
			tt.want.Method, tt.want.Path = "GET", "/v2/webhooks/wh1"
			if tt.want.Attempts == 0 {
				tt.want.Attempts = 1
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{StatusCode: 404, Type: "record-not-found", Message: "Webhook was not found", Method: "GET", Path: "/v2/webhooks/x", Attempts: 1},
			"apify: GET /v2/webhooks/x: 404 record-not-found: Webhook was not found"},
		{&APIError{StatusCode: 500, Message: "Internal Server Error", Method: "PUT", Path: "/v2/actor-runs/r", Attempts: 9},
			"apify: PUT /v2/actor-runs/r: 500: Internal Server Error (after 9 attempts)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	notFound := &APIError{StatusCode: 404}
	limited := &APIError{StatusCode: 429}
	tests := []struct {
		name                string
		err                 error
		notFound, rateLimit bool
	}{
		{"nil", nil, false, false},
		{"plain", errors.New("x"), false, false},
		{"404", notFound, true, false},
		{"wrapped 404", fmt.Errorf("ctx: %w", notFound), true, false},
		{"404 in StartError", &StartError{Err: notFound}, true, false},
		{"429", limited, false, true},
		{"429 in StartError", &StartError{Err: fmt.Errorf("x: %w", limited)}, false, true},
		{"500", &APIError{StatusCode: 500}, false, false},
	}
	for _, tt := range tests {
		if got := IsNotFound(tt.err); got != tt.notFound {
			t.Errorf("%s: IsNotFound = %v", tt.name, got)
		}
		if got := IsRateLimited(tt.err); got != tt.rateLimit {
			t.Errorf("%s: IsRateLimited = %v", tt.name, got)
		}
	}
}

// TestNotFoundIsError: a missing resource is an error, never a nil result.
func TestNotFoundIsError(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 404, `{"error":{"type":"record-not-found","message":"not found"}}`)
	})
	c := newTestClient(t, api.srv.URL)
	calls := map[string]func() (any, error){
		"GetWebhook":         func() (any, error) { return c.GetWebhook(t.Context(), "x") },
		"GetRun":             func() (any, error) { return c.GetRun(t.Context(), "x") },
		"GetWebhookDispatch": func() (any, error) { return c.GetWebhookDispatch(t.Context(), "x") },
		"DeleteWebhook":      func() (any, error) { return nil, c.DeleteWebhook(t.Context(), "x") },
		"StartActor":         func() (any, error) { return c.StartActor(t.Context(), "x", nil, StartOptions{}) },
	}
	for name, call := range calls {
		_, err := call()
		if !IsNotFound(err) {
			t.Errorf("%s: error = %v, want not found", name, err)
		}
	}
}

// TestSecretsNotInErrors: neither the token nor the query (which may carry
// webhook headers) appears in any error.
func TestSecretsNotInErrors(t *testing.T) {
	t.Parallel()
	hooks := []WebhookDefinition{{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com",
		HeadersTemplate: `{"Authorization": "Bearer hook-secret"}`}}
	for _, status := range []int{0, 500} {
		api := newFakeAPI(t, statuses(t, status))
		c := newTestClient(t, api.srv.URL)
		_, err := c.StartActor(t.Context(), "a~b", nil, StartOptions{Webhooks: hooks})
		if err == nil {
			t.Fatal("want an error")
		}
		enc, _ := EncodeWebhooks(hooks)
		for _, secret := range []string{testToken, "webhooks=", enc[:20]} {
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
				t.Errorf("status %d: error %q contains %q", status, err, secret)
			}
		}
	}
}

// TestExhaustedRetriesKeepError: after the last retry the platform's error is
// decoded from the last response.
func TestExhaustedRetriesKeepError(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 503, `{"error":{"type":"server-overloaded","message":"try later"}}`)
	})
	c := newTestClient(t, api.srv.URL, WithMaxRetries(2))
	_, err := c.GetRun(t.Context(), "r1")
	var got *APIError
	if !errors.As(err, &got) {
		t.Fatalf("error = %v, want an *APIError", err)
	}
	want := &APIError{StatusCode: 503, Type: "server-overloaded", Message: "try later", Method: "GET", Path: "/v2/actor-runs/r1", Attempts: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
}

func TestZeroClient(t *testing.T) {
	t.Parallel()
	var c Client
	if _, err := c.GetRun(t.Context(), "r1"); err == nil {
		t.Error("a zero Client must return an error, not panic")
	}
	var nilClient *Client
	if err := nilClient.DeleteWebhook(t.Context(), "w"); err == nil {
		t.Error("a nil *Client must return an error, not panic")
	}
}

// TestEchoedRequestRedacted: a server that echoes the request (URL with its
// query, headers) in its error body gets neither the token nor the query
// into Error(), %v, %+v or %#v, whether the body is the platform's JSON
// error or not.
func TestEchoedRequestRedacted(t *testing.T) {
	t.Parallel()
	hooks := []WebhookDefinition{{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com",
		HeadersTemplate: `{"X-Secret": "hook-secret-value"}`}}
	enc, err := EncodeWebhooks(hooks)
	if err != nil {
		t.Fatal(err)
	}
	echo := func(r *http.Request) string {
		return fmt.Sprintf("%s %s %s auth=%q query=%v", r.Method, r.URL.String(), r.RequestURI, r.Header.Get("Authorization"), r.URL.Query())
	}
	tests := []struct {
		name   string
		handle func(int, http.ResponseWriter, *http.Request)
	}{
		{"JSON error", func(_ int, w http.ResponseWriter, r *http.Request) {
			b, _ := json.Marshal(map[string]any{"error": map[string]string{"type": echo(r), "message": echo(r)}})
			writeJSON(w, 400, string(b))
		}},
		{"text body", func(_ int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprint(w, echo(r))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, tt.handle)
			c := newTestClient(t, api.srv.URL)
			_, err := c.StartActor(t.Context(), "a~b", nil, StartOptions{Webhooks: hooks, WaitForFinish: time.Second})
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != 400 {
				t.Fatalf("error = %v, want an *APIError with status 400", err)
			}
			if !strings.Contains(ae.Message, "/v2/actors/a~b/runs") || !strings.Contains(ae.Message, "[redacted]") {
				t.Errorf("Message %q should keep the path and show [redacted]", ae.Message)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%#v", ae)} {
				for _, secret := range []string{testToken, enc, url.QueryEscape(enc), enc[:24], "webhooks="} {
					if strings.Contains(text, secret) {
						t.Errorf("%q shows %q", text, secret)
					}
				}
			}
		})
	}
}

// TestRedactorForms: the token and long query values are redacted raw and
// escaped; short values that are not secrets are left alone.
func TestRedactorForms(t *testing.T) {
	t.Parallel()
	c := &Client{token: "tok+en/1"}
	r := &request{query: url.Values{"webhooks": {"W1+base64/value=="}, "waitForFinish": {"60"}}}
	rd := c.redactorFor(r)
	got := rd.redact("a tok+en/1 b tok%2Ben%2F1 c W1+base64/value== d W1%2Bbase64%2Fvalue%3D%3D e waitForFinish=60&webhooks=W1%2Bbase64%2Fvalue%3D%3D f 60")
	want := "a [redacted] b [redacted] c [redacted] d [redacted] e [redacted] f 60"
	if got != want {
		t.Errorf("redact:\n got %q\nwant %q", got, want)
	}
	cause := errors.New("bad tok+en/1")
	err := rd.redactErr(cause)
	if err.Error() != "bad [redacted]" || !errors.Is(err, cause) {
		t.Errorf("redactErr = %q (unwraps to the cause: %t), want %q unwrapping to it", err, errors.Is(err, cause), "bad [redacted]")
	}
	if plain := errors.New("plain"); rd.redactErr(plain) != plain {
		t.Error("redactErr must return an error without secrets as it is")
	}
}
