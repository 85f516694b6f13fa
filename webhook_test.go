package actor_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

// failedWebhook is the definition of the interop vector.
var failedWebhook = actor.Webhook{
	EventTypes:      []actor.EventType{actor.EventActorRunFailed},
	RequestURL:      "https://example.com/run-failed",
	PayloadTemplate: `{"runId": {{resource.id}}, "status": {{resource.status}}}`,
	IdempotencyKey:  "RUN123",
}

// jsonValue decodes s as any JSON value, failing the test when it is not.
func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func TestAddWebhookRequest(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	a, _, _ := newActor(p.atHome())

	got, err := a.AddWebhook(t.Context(), failedWebhook)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != "WH1" || got.Condition.ActorRunID != "RUN123" || !got.IsAdHoc {
		t.Errorf("AddWebhook returned %+v, want webhook WH1, ad hoc, of run RUN123", got)
	}
	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v2/webhooks" || len(r.Query) != 0 {
		t.Errorf("request %s %s?%v, want POST /v2/webhooks without a query", r.Method, r.Path, r.Query)
	}
	if r.Authorization != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", r.Authorization)
	}
	want := jsonValue(t, `{"eventTypes":["ACTOR.RUN.FAILED"],"requestUrl":"https://example.com/run-failed",`+
		`"idempotencyKey":"RUN123","payloadTemplate":"{\"runId\": {{resource.id}}, \"status\": {{resource.status}}}",`+
		`"isAdHoc":true,"condition":{"actorRunId":"RUN123"}}`)
	if diff := cmp.Diff(want, jsonValue(t, r.Body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestAddWebhookAllFields(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	a, _, _ := newActor(p.atHome())
	w := actor.Webhook{
		EventTypes:               []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunAborted},
		RequestURL:               "http://127.0.0.1:9/hook",
		PayloadTemplate:          `{"run": "{{resource.id}}"}`,
		HeadersTemplate:          `{"X-Run": "{{resource.id}}"}`,
		ShouldInterpolateStrings: true,
		IdempotencyKey:           "my-key",
		IgnoreSSLErrors:          true,
		DoNotRetry:               true,
		Description:              "notify the pipeline",
	}
	if _, err := a.AddWebhook(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	want := jsonValue(t, `{"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.RUN.ABORTED"],"requestUrl":"http://127.0.0.1:9/hook",`+
		`"payloadTemplate":"{\"run\": \"{{resource.id}}\"}","headersTemplate":"{\"X-Run\": \"{{resource.id}}\"}",`+
		`"shouldInterpolateStrings":true,"idempotencyKey":"my-key","ignoreSslErrors":true,"doNotRetry":true,`+
		`"description":"notify the pipeline","isAdHoc":true,"condition":{"actorRunId":"RUN123"}}`)
	if diff := cmp.Diff(want, jsonValue(t, p.requests()[0].Body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestAddWebhookOffPlatform(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	vars := p.atHome()
	delete(vars, "APIFY_IS_AT_HOME")
	a, _, logs := newActor(vars)

	got, err := a.AddWebhook(t.Context(), failedWebhook)
	if err != nil || got != nil {
		t.Errorf("AddWebhook = %+v, %v; want nil, nil", got, err)
	}
	p.checkNothingSent(t)
	if l := logs.String(); strings.Count(l, "will not be invoked") != 1 || !strings.Contains(l, "apify-local run") {
		t.Errorf("want one warning that the webhook will not be invoked, pointing to apify-local run; log:\n%s", l)
	}
}

func TestAddWebhookWithoutRunID(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	vars := p.atHome()
	delete(vars, "ACTOR_RUN_ID")
	a, _, _ := newActor(vars)

	_, err := a.AddWebhook(t.Context(), failedWebhook)
	if !errors.Is(err, actor.ErrNoRunID) || !strings.Contains(err.Error(), "ACTOR_RUN_ID") {
		t.Errorf("err = %v, want one matching ErrNoRunID that names ACTOR_RUN_ID", err)
	}
	p.checkNothingSent(t)
}

func TestAddWebhookAPIError(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.fail = 403
	a, _, _ := newActor(p.atHome())

	_, err := a.AddWebhook(t.Context(), failedWebhook)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("err = %v, want a *client.APIError with status 403", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error reveals the token: %v", err)
	}
}

// sentKey adds w through a fresh Actor of run runID and returns the
// idempotency key it sent.
func sentKey(t *testing.T, runID string, w actor.Webhook) string {
	t.Helper()
	p := newPlatform(t)
	vars := p.atHome()
	vars["ACTOR_RUN_ID"] = runID
	a, _, _ := newActor(vars)
	if _, err := a.AddWebhook(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	var body struct{ IdempotencyKey string }
	if err := json.Unmarshal([]byte(p.requests()[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	return body.IdempotencyKey
}

func TestDefaultIdempotencyKey(t *testing.T) {
	t.Parallel()
	base := actor.Webhook{
		EventTypes:      []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed},
		RequestURL:      "https://example.com/hook",
		PayloadTemplate: `{"id": {{resource.id}}}`,
	}
	baseKey := sentKey(t, "RUN123", base)
	if !regexp.MustCompile(`^RUN123-[0-9a-f]{16}$`).MatchString(baseKey) {
		t.Fatalf("key %q, want RUN123-<16 hex digits>", baseKey)
	}
	if again := sentKey(t, "RUN123", base); again != baseKey {
		t.Errorf("two Actors of the same run sent keys %q and %q for the same definition", baseKey, again)
	}
	if other := sentKey(t, "RUN456", base); other == baseKey || !strings.HasPrefix(other, "RUN456-") {
		t.Errorf("another run's key %q, want RUN456-... different from %q", other, baseKey)
	}

	same := map[string]func(w *actor.Webhook){
		"event types reordered": func(w *actor.Webhook) {
			w.EventTypes = []actor.EventType{actor.EventActorRunFailed, actor.EventActorRunSucceeded}
		},
		"event type repeated": func(w *actor.Webhook) { w.EventTypes = append(w.EventTypes, actor.EventActorRunFailed) },
		"description":         func(w *actor.Webhook) { w.Description = "a label" },
	}
	differ := map[string]func(w *actor.Webhook){
		"event types":       func(w *actor.Webhook) { w.EventTypes = []actor.EventType{actor.EventActorRunSucceeded} },
		"request URL":       func(w *actor.Webhook) { w.RequestURL = "https://example.com/hook2" },
		"payload template":  func(w *actor.Webhook) { w.PayloadTemplate = `{"id": {{resource.id}}, "x": 1}` },
		"headers template":  func(w *actor.Webhook) { w.HeadersTemplate = `{"X-A": "b"}` },
		"interpolation":     func(w *actor.Webhook) { w.ShouldInterpolateStrings = true },
		"ignore SSL errors": func(w *actor.Webhook) { w.IgnoreSSLErrors = true },
		"do not retry":      func(w *actor.Webhook) { w.DoNotRetry = true },
		// A naive concatenation would make these two collide.
		"field boundary": func(w *actor.Webhook) {
			w.RequestURL += `{"id": {{resource.id}}}`
			w.PayloadTemplate = ""
		},
	}
	for name, change := range same {
		t.Run("same/"+name, func(t *testing.T) {
			t.Parallel()
			w := base
			w.EventTypes = append([]actor.EventType(nil), base.EventTypes...)
			change(&w)
			if got := sentKey(t, "RUN123", w); got != baseKey {
				t.Errorf("key %q, want %q as for the base definition", got, baseKey)
			}
		})
	}
	for name, change := range differ {
		t.Run("differ/"+name, func(t *testing.T) {
			t.Parallel()
			w := base
			w.EventTypes = append([]actor.EventType(nil), base.EventTypes...)
			change(&w)
			if got := sentKey(t, "RUN123", w); got == baseKey || !strings.HasPrefix(got, "RUN123-") {
				t.Errorf("key %q, want RUN123-... different from the base definition's %q", got, baseKey)
			}
		})
	}
	t.Run("caller's key wins", func(t *testing.T) {
		t.Parallel()
		w := base
		w.IdempotencyKey = "mine"
		if got := sentKey(t, "RUN123", w); got != "mine" {
			t.Errorf("key %q, want the caller's %q", got, "mine")
		}
	})
}

// validationCases are definitions that fail the rules of AddWebhook, with
// the field named in the error.
var validationCases = []struct {
	name   string
	change func(w *actor.Webhook)
	field  string
	// template marks errors that wrap a *actor.TemplateError.
	template bool
}{
	{"no event types", func(w *actor.Webhook) { w.EventTypes = nil }, "eventTypes", false},
	{"unknown event type", func(w *actor.Webhook) { w.EventTypes = []actor.EventType{"ACTOR.RUN.EXPLODED"} }, "eventTypes[0]", false},
	{"created already happened", func(w *actor.Webhook) {
		w.EventTypes = []actor.EventType{actor.EventActorRunFailed, actor.EventActorRunCreated}
	}, "eventTypes[1]", false},
	{"build event", func(w *actor.Webhook) { w.EventTypes = []actor.EventType{actor.EventActorBuildSucceeded} }, "eventTypes[0]", false},
	{"test event", func(w *actor.Webhook) { w.EventTypes = []actor.EventType{actor.EventTest} }, "eventTypes[0]", false},
	{"no request URL", func(w *actor.Webhook) { w.RequestURL = "" }, "requestUrl", false},
	{"relative request URL", func(w *actor.Webhook) { w.RequestURL = "/hook" }, "requestUrl", false},
	{"ftp request URL", func(w *actor.Webhook) { w.RequestURL = "ftp://example.com/hook" }, "requestUrl", false},
	{"request URL without host", func(w *actor.Webhook) { w.RequestURL = "https:///hook" }, "requestUrl", false},
	{"unparsable request URL", func(w *actor.Webhook) { w.RequestURL = "https://exa mple.com/%zz" }, "requestUrl", false},
	{"payload template not JSON", func(w *actor.Webhook) { w.PayloadTemplate = `{"id": {{resource.id}}` }, "payloadTemplate", true},
	{"payload template unknown variable", func(w *actor.Webhook) { w.PayloadTemplate = `{"id": {{nosuchvariable}}}` }, "payloadTemplate", true},
	{"headers template not JSON", func(w *actor.Webhook) { w.HeadersTemplate = `{"X-A": ` }, "headersTemplate", true},
	{"headers template not an object", func(w *actor.Webhook) { w.HeadersTemplate = `["X-A"]` }, "headersTemplate", true},
	{"headers template value not a string", func(w *actor.Webhook) { w.HeadersTemplate = `{"X-A": 1}` }, "headersTemplate", true},
	{"headers template value renders to an object", func(w *actor.Webhook) { w.HeadersTemplate = `{"X-A": {{resource}}}` }, "headersTemplate", true},
	{"headers template value renders to a number", func(w *actor.Webhook) { w.HeadersTemplate = `{"X-A": {{globals.dateUnix}}}` }, "headersTemplate", true},
}

func validWebhook() actor.Webhook {
	return actor.Webhook{
		EventTypes:      []actor.EventType{actor.EventActorRunSucceeded},
		RequestURL:      "https://example.com/hook",
		PayloadTemplate: `{"id": {{resource.id}}}`,
		HeadersTemplate: `{"X-Run": "run"}`,
	}
}

func TestAddWebhookValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			a, _, _ := newActor(p.atHome())
			w := validWebhook()
			tc.change(&w)

			_, err := a.AddWebhook(t.Context(), w)
			checkValidationError(t, err, tc.field, tc.template)
			if diff := cmp.Diff(err.Error(), w.Validate().Error()); diff != "" {
				t.Errorf("Validate and AddWebhook disagree (-add +validate):\n%s", diff)
			}
			p.checkNothingSent(t)
		})
	}
}

func checkValidationError(t *testing.T, err error, field string, template bool) {
	t.Helper()
	if !errors.Is(err, actor.ErrInvalidWebhook) {
		t.Fatalf("err = %v, want one matching ErrInvalidWebhook", err)
	}
	var ve *actor.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want a *ValidationError", err, err)
	}
	if ve.Field != field || ve.Reason == "" {
		t.Errorf("Field, Reason = %q, %q; want %q and a reason", ve.Field, ve.Reason, field)
	}
	if !strings.Contains(err.Error(), field+": ") {
		t.Errorf("message %q does not name the field %q", err, field)
	}
	var te *actor.TemplateError
	if got := errors.As(err, &te); got != template {
		t.Errorf("errors.As(err, *TemplateError) = %t, want %t (err %v)", got, template, err)
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := map[string]func(w *actor.Webhook){
		"as is": func(*actor.Webhook) {},
		"every final event": func(w *actor.Webhook) {
			w.EventTypes = []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed,
				actor.EventActorRunTimedOut, actor.EventActorRunAborted, actor.EventActorRunResurrected}
		},
		"http URL with port": func(w *actor.Webhook) { w.RequestURL = "http://127.0.0.1:8080/x?y=1" },
		"no templates":       func(w *actor.Webhook) { w.PayloadTemplate, w.HeadersTemplate = "", "" },
		"interpolated header": func(w *actor.Webhook) {
			w.ShouldInterpolateStrings, w.HeadersTemplate = true, `{"X-Run": "run {{resource.id}}"}`
		},
		"default payload template": func(w *actor.Webhook) { w.PayloadTemplate = actor.DefaultPayloadTemplate },
		"header placeholders": func(w *actor.Webhook) {
			w.HeadersTemplate = `{"X-Run": {{resource.id}}, "X-Event": {{eventType}}, "X-Gone": {{resource.nothing}}}`
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := validWebhook()
			change(&w)
			if err := w.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestEncodeDecodeWebhooks(t *testing.T) {
	t.Parallel()
	ws := []actor.Webhook{
		{EventTypes: []actor.EventType{actor.EventActorRunCreated}, RequestURL: "https://example.com/created"},
		{
			EventTypes: []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed}, RequestURL: "https://example.com/done",
			PayloadTemplate: `{"id": {{resource.id}}}`, HeadersTemplate: `{"X-A": "b"}`, ShouldInterpolateStrings: true,
			IdempotencyKey: "k1", IgnoreSSLErrors: true, DoNotRetry: true,
		},
	}
	s, err := actor.EncodeWebhooks(ws)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("not standard base64: %v", err)
	}
	want := jsonValue(t, `[{"eventTypes":["ACTOR.RUN.CREATED"],"requestUrl":"https://example.com/created"},`+
		`{"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.RUN.FAILED"],"requestUrl":"https://example.com/done",`+
		`"payloadTemplate":"{\"id\": {{resource.id}}}","headersTemplate":"{\"X-A\": \"b\"}","shouldInterpolateStrings":true,`+
		`"idempotencyKey":"k1","ignoreSslErrors":true,"doNotRetry":true}]`)
	if diff := cmp.Diff(want, jsonValue(t, string(raw))); diff != "" {
		t.Errorf("encoded JSON (-want +got):\n%s", diff)
	}
	back, err := actor.DecodeWebhooks(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ws, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if s, err := actor.EncodeWebhooks(nil); s != "" || err != nil {
		t.Errorf("EncodeWebhooks(nil) = %q, %v; want \"\", nil", s, err)
	}
}

func TestDecodeWebhooksOfficialForms(t *testing.T) {
	t.Parallel()
	// What JSON.stringify gives for the JS client's webhooks option, then
	// encoded as the JS client (standard, padded) or a URL-safe encoder
	// without padding would.
	js := `[{"eventTypes":["ACTOR.RUN.SUCCEEDED"],"requestUrl":"https://example.com/?a=1&b=>","payloadTemplate":"{\"x\": {{eventData}}}","description":"ignored"}]`
	want := []actor.Webhook{{
		EventTypes: []actor.EventType{actor.EventActorRunSucceeded},
		RequestURL: "https://example.com/?a=1&b=>", PayloadTemplate: `{"x": {{eventData}}}`,
	}}
	for name, enc := range map[string]*base64.Encoding{
		"std padded": base64.StdEncoding, "std raw": base64.RawStdEncoding,
		"url padded": base64.URLEncoding, "url raw": base64.RawURLEncoding,
	} {
		got, err := actor.DecodeWebhooks(enc.EncodeToString([]byte(js)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, err := actor.DecodeWebhooks("!!not base64!!"); err == nil {
		t.Error("DecodeWebhooks of garbage: no error")
	}
	if got, err := actor.DecodeWebhooks(""); got != nil || err != nil {
		t.Errorf(`DecodeWebhooks("") = %v, %v; want nil, nil`, got, err)
	}
}

func TestEncodeWebhooksValidation(t *testing.T) {
	t.Parallel()
	ok := validWebhook()
	tests := map[string]struct {
		w     actor.Webhook
		field string
	}{
		"bad URL":        {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: "mailto:a@b"}, "webhooks[1].requestUrl"},
		"description":    {actor.Webhook{EventTypes: ok.EventTypes, RequestURL: ok.RequestURL, Description: "x"}, "webhooks[1].description"},
		"build event":    {actor.Webhook{EventTypes: []actor.EventType{actor.EventActorBuildFailed}, RequestURL: ok.RequestURL}, "webhooks[1].eventTypes[0]"},
		"no event types": {actor.Webhook{RequestURL: ok.RequestURL}, "webhooks[1].eventTypes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := actor.EncodeWebhooks([]actor.Webhook{ok, tc.w})
			if s != "" {
				t.Errorf("encoded %q despite the error", s)
			}
			checkValidationError(t, err, tc.field, false)
		})
	}
}

// BenchmarkAddWebhook measures AddWebhook on the platform: validation, the
// derived idempotency key and the POST /v2/webhooks round trip on loopback.
func BenchmarkAddWebhook(b *testing.B) {
	p := newPlatform(b)
	a, _, _ := newActor(p.atHome())
	w := failedWebhook
	w.IdempotencyKey = ""
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.AddWebhook(b.Context(), w); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAddWebhookLongIdempotencyKey: a key over the platform's 256 bytes is
// refused before anything is sent, at AddWebhook and at Start; 256 bytes
// pass.
func TestAddWebhookLongIdempotencyKey(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	a, _, _ := newActor(p.atHome())
	w := failedWebhook
	w.IdempotencyKey = strings.Repeat("k", 257)
	_, err := a.AddWebhook(t.Context(), w)
	var ve *actor.ValidationError
	if !errors.Is(err, actor.ErrInvalidWebhook) || !errors.As(err, &ve) || ve.Field != "idempotencyKey" {
		t.Errorf("AddWebhook: err = %v, want a *ValidationError of idempotencyKey", err)
	}
	_, err = a.Start(t.Context(), "a~b", nil, actor.StartOptions{Webhooks: []actor.Webhook{w}})
	if !errors.As(err, &ve) || ve.Field != "webhooks[0].idempotencyKey" {
		t.Errorf("Start: err = %v, want a *ValidationError of webhooks[0].idempotencyKey", err)
	}
	p.checkNothingSent(t)

	w.IdempotencyKey = strings.Repeat("k", 256)
	if _, err := a.AddWebhook(t.Context(), w); err != nil {
		t.Errorf("AddWebhook with a 256-byte key: %v", err)
	}
}

// TestWebhookAliases: the root's webhook names are the client's, so that
// errors.Is and errors.As work across both.
func TestWebhookAliases(t *testing.T) {
	t.Parallel()
	err := actor.Webhook{}.Validate()
	var ve *client.ValidationError
	if !errors.Is(err, client.ErrInvalidWebhook) || !errors.Is(err, actor.ErrInvalidWebhook) || !errors.As(err, &ve) {
		t.Errorf("Validate() = %v, want a *client.ValidationError matching both sentinels", err)
	}
	var _ client.WebhookDefinition = actor.Webhook{}
	var _ client.StartOptions = actor.StartOptions{}
}

// TestAddWebhookHungAttempt: against an API that accepts the connection and
// never answers the first attempt, AddWebhook does not block: the attempt
// timeout cuts it and the retry, with the same idempotency key (so that the
// platform keeps one webhook), succeeds.
func TestAddWebhookHungAttempt(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	p.hangFirst = true
	a, _, _ := newActor(p.atHome(), actor.WithClientOptions(client.WithMaxRetries(2), client.WithAttemptTimeout(100*time.Millisecond)))
	got, err := a.AddWebhook(context.Background(), failedWebhook)
	if err != nil || got == nil || got.ID != "WH1" {
		t.Fatalf("AddWebhook = %+v, %v; want webhook WH1", got, err)
	}
	keys := map[string]bool{}
	for _, r := range p.requests() {
		var body struct {
			IdempotencyKey string `json:"idempotencyKey"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		keys[body.IdempotencyKey] = true
	}
	if n := len(p.requests()); n != 2 || len(keys) != 1 {
		t.Errorf("%d requests with keys %v, want 2 with one key", n, keys)
	}
}
