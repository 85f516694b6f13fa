package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL {
		t.Errorf("BaseURL = %q, want %q", c.BaseURL(), DefaultBaseURL)
	}
	if c.maxRetries != 8 || c.minBackoff != 500*time.Millisecond || c.maxBackoff != 30*time.Second {
		t.Errorf("retries %d, backoff %v..%v; want 8, 500ms..30s", c.maxRetries, c.minBackoff, c.maxBackoff)
	}
	if c.http == http.DefaultClient || c.http.Transport == http.DefaultTransport {
		t.Error("the default client shares net/http's default client or transport")
	}
	if !strings.Contains(c.UserAgent(), "ApifyClient-Go/"+Version+" (") {
		t.Errorf("User-Agent = %q", c.UserAgent())
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []Option
		baseURL string
		wantErr string
	}{
		{"trailing slash", []Option{WithBaseURL("http://127.0.0.1:9/")}, "http://127.0.0.1:9", ""},
		{"v2 suffix", []Option{WithBaseURL("https://api.example.com/v2/")}, "https://api.example.com", ""},
		{"path prefix", []Option{WithBaseURL("https://example.com/apify")}, "https://example.com/apify", ""},
		{"nil option ignored", []Option{nil}, DefaultBaseURL, ""},
		{"zero retries", []Option{WithMaxRetries(0)}, DefaultBaseURL, ""},
		{"bad scheme", []Option{WithBaseURL("ftp://x")}, "", "WithBaseURL"},
		{"no scheme", []Option{WithBaseURL("api.apify.com")}, "", "WithBaseURL"},
		{"no host", []Option{WithBaseURL("http://")}, "", "has no host"},
		{"credentials", []Option{WithBaseURL("https://user:pw@x.test")}, "", "credentials"},
		{"query", []Option{WithBaseURL("https://x.test/?token=abc")}, "", "query"},
		{"query without scheme", []Option{WithBaseURL("x.test/?token=abc")}, "", "query"},
		{"unparsable", []Option{WithBaseURL("http://[::1")}, "", "not a URL"},
		{"unparsable with query", []Option{WithBaseURL("http://[::1?token=abc")}, "", "not a URL"},
		{"negative retries", []Option{WithMaxRetries(-1)}, "", "WithMaxRetries"},
		{"inverted backoff", []Option{WithBackoff(time.Second, time.Millisecond)}, "", "WithBackoff"},
		{"negative backoff", []Option{WithBackoff(-1, time.Second)}, "", "WithBackoff"},
		{"negative timeout", []Option{WithAttemptTimeout(-time.Second)}, "", "WithAttemptTimeout"},
		{"nil HTTP client", []Option{WithHTTPClient(nil)}, "", "WithHTTPClient"},
		{"UA control chars", []Option{WithUserAgentSuffix("a\nb")}, "", "WithUserAgentSuffix"},
		{"token line break", []Option{WithToken("a\r\nX-Evil: 1")}, "", "WithToken"},
		{"token space", []Option{WithToken("a b")}, "", "WithToken"},
	}
	for _, tt := range tests {
		c, err := New(tt.opts...)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error = %v, want one naming %q", tt.name, err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "pw")) {
				t.Errorf("%s: error %q shows a secret of the URL", tt.name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case c.BaseURL() != tt.baseURL:
			t.Errorf("%s: BaseURL = %q, want %q", tt.name, c.BaseURL(), tt.baseURL)
		}
	}
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	tests := []struct {
		opts []Option
		want string
	}{
		{[]Option{WithAtHome(false)}, "ApifyClient-Go/0.1.0 (" + runtime.GOOS + "; Go/" + goVersion + "); isAtHome/false"},
		{[]Option{WithAtHome(true), WithUserAgentSuffix("my-tool/1.2")},
			"ApifyClient-Go/0.1.0 (" + runtime.GOOS + "; Go/" + goVersion + "); isAtHome/true; my-tool/1.2"},
	}
	for _, tt := range tests {
		c, err := New(tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.UserAgent(); got != tt.want {
			t.Errorf("User-Agent = %q, want %q", got, tt.want)
		}
	}
}

// The environment tests cannot run in parallel (t.Setenv).

func TestNewFromEnv(t *testing.T) {
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"data":{"id":"run1"}}`)
	})
	t.Setenv("APIFY_TOKEN", "env-token")
	t.Setenv("APIFY_API_BASE_URL", api.srv.URL+"/")
	t.Setenv("APIFY_IS_AT_HOME", "1")
	c, err := NewFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != api.srv.URL {
		t.Errorf("BaseURL = %q, want %q", c.BaseURL(), api.srv.URL)
	}
	if _, err := c.GetRun(t.Context(), "run1"); err != nil {
		t.Fatal(err)
	}
	seen := api.requests()[0]
	if got := seen.Header.Get("Authorization"); got != "Bearer env-token" {
		t.Errorf("Authorization = %q", got)
	}
	if got := seen.Header.Get("User-Agent"); !strings.HasSuffix(got, "isAtHome/true") {
		t.Errorf("User-Agent = %q, want isAtHome/true", got)
	}

	// Options override the environment.
	c, err = NewFromEnv(WithToken("opt-token"), WithBaseURL("http://127.0.0.1:1"), WithAtHome(false))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:1" || c.auth[0] != "Bearer opt-token" || !strings.HasSuffix(c.UserAgent(), "isAtHome/false") {
		t.Errorf("options did not override the environment: %q %q %q", c.BaseURL(), c.auth, c.UserAgent())
	}
}

func TestNewFromEmptyEnv(t *testing.T) {
	t.Setenv("APIFY_TOKEN", "")
	t.Setenv("APIFY_API_BASE_URL", "")
	t.Setenv("APIFY_IS_AT_HOME", "")
	c, err := NewFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL || c.auth != nil || !strings.HasSuffix(c.UserAgent(), "isAtHome/false") {
		t.Errorf("empty environment: %q %q %q", c.BaseURL(), c.auth, c.UserAgent())
	}
}

func TestEnvBool(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true} {
		if got := envBool(in); got != want {
			t.Errorf("envBool(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestHTTPClientNotModified: the caller's client is copied, never changed;
// its Timeout is the attempt timeout unless WithAttemptTimeout overrides it,
// and without either the attempt timeout is DefaultAttemptTimeout.
func TestHTTPClientNotModified(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: 7 * time.Second}
	tests := []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"caller's Timeout", []Option{WithHTTPClient(hc)}, 7 * time.Second},
		{"WithAttemptTimeout", []Option{WithHTTPClient(hc), WithAttemptTimeout(time.Second)}, time.Second},
		{"caller without Timeout", []Option{WithHTTPClient(&http.Client{})}, DefaultAttemptTimeout},
		{"default", nil, DefaultAttemptTimeout},
	}
	for _, tt := range tests {
		c, err := New(tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if c.http == hc || c.http.Timeout != tt.want || c.attemptTO != tt.want || c.http.CheckRedirect == nil {
			t.Errorf("%s: got the caller's client or timeout %v, want a copy with timeout %v and CheckRedirect", tt.name, c.http.Timeout, tt.want)
		}
	}
	if hc.Timeout != 7*time.Second || hc.CheckRedirect != nil {
		t.Errorf("the caller's client was modified: %+v", hc)
	}
}

// TestFormatHidesToken: printing or logging a Client, with any verb or
// handler, never shows the token.
func TestFormatHidesToken(t *testing.T) {
	t.Parallel()
	c, err := New(WithToken(testToken), WithBaseURL("http://127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, []any{c}), fmt.Sprintf(verb, struct{ C *Client }{c}))
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "client", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "client", c)
	outs = append(outs, text.String(), js.String())
	for _, out := range outs {
		if strings.Contains(out, testToken) || strings.Contains(out, fmt.Sprintf("%x", testToken)) {
			t.Errorf("output reveals the token: %s", out)
		}
	}
	want := `client.Client{BaseURL:"http://127.0.0.1:9" Authenticated:true}`
	if got := fmt.Sprint(c); got != want {
		t.Errorf("Sprint = %s, want %s", got, want)
	}
	var nilClient *Client
	if got := fmt.Sprint(nilClient); got != "<nil>" {
		t.Errorf("Sprint(nil) = %s, want <nil>", got)
	}
}

// TestResponseBodies: bodies of known and unknown length are read whole; a
// short body is a network error, retried when safe; an oversized one is not
// retried.
func TestResponseBodies(t *testing.T) {
	t.Parallel()
	const run = `{"data":{"id":"run1","status":"RUNNING"}}`
	tests := []struct {
		name   string
		handle func(n int, w http.ResponseWriter, r *http.Request)
		want   outcome
		tooBig bool
	}{{
		name:   "known length",
		handle: func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, run) },
		want:   outcome{Attempts: 1},
	}, {
		name: "chunked",
		handle: func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			io.WriteString(w, run)
		},
		want: outcome{Attempts: 1},
	}, {
		name: "short body, then whole",
		handle: func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 0 {
				w.Header().Set("Content-Length", strconv.Itoa(len(run)))
				io.WriteString(w, run[:10])
				return
			}
			writeJSON(w, 200, run)
		},
		want: outcome{Attempts: 2},
	}, {
		name: "too large",
		handle: func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(maxResponseBytes+1))
			w.WriteHeader(200)
		},
		want:   outcome{Attempts: 1, Transport: true, ErrAttempts: 1},
		tooBig: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, tt.handle)
			c := newTestClient(t, api.srv.URL)
			got, err := c.GetRun(t.Context(), "run1")
			if diff := cmp.Diff(tt.want, outcomeOf(api.count(), err)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s\nerror: %v", diff, err)
			}
			if errors.Is(err, errResponseTooLarge) != tt.tooBig {
				t.Errorf("error = %v, want the too-large error: %t", err, tt.tooBig)
			}
			if err == nil && (got.ID != "run1" || got.Status != StatusRunning) {
				t.Errorf("run = %+v, want run1 RUNNING", got)
			}
		})
	}
}

// TestRedirectsNotFollowed: a 3xx answer is an *APIError; the client neither
// sends the token to the redirect's target (another port of the same host)
// nor sends a run start again.
func TestRedirectsNotFollowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		call   func(ctx context.Context, c *Client) error
	}{
		{"GET 302", http.StatusFound, func(ctx context.Context, c *Client) error { _, err := c.GetRun(ctx, "run1"); return err }},
		{"GET 301", http.StatusMovedPermanently, func(ctx context.Context, c *Client) error { _, err := c.GetWebhook(ctx, "wh1"); return err }},
		{"start 307", http.StatusTemporaryRedirect, func(ctx context.Context, c *Client) error {
			_, err := c.StartActor(ctx, "a~b", map[string]int{"n": 1}, StartOptions{})
			return err
		}},
		{"start 308", http.StatusPermanentRedirect, func(ctx context.Context, c *Client) error {
			_, err := c.StartTask(ctx, "a~t", nil, StartOptions{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := newFakeAPI(t, answer)
			api := newFakeAPI(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.srv.URL+r.URL.Path, tt.status)
			})
			c := newTestClient(t, api.srv.URL)
			err := tt.call(t.Context(), c)
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status {
				t.Errorf("error = %v, want an *APIError with status %d", err, tt.status)
			}
			if api.count() != 1 || target.count() != 0 {
				t.Errorf("the API saw %d requests and the redirect's target %d, want 1 and 0", api.count(), target.count())
			}
		})
	}
}
