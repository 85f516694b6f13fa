package client

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jsVector is what the official JS client produces for jsVectorHooks.
const jsVector = "W3siZXZlbnRUeXBlcyI6WyJBQ1RPUi5SVU4uQ1JFQVRFRCJdLCJyZXF1ZXN0VXJsIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9ydW4tY3JlYXRlZCJ9LHsiZXZlbnRUeXBlcyI6WyJBQ1RPUi5SVU4uU1VDQ0VFREVEIl0sInJlcXVlc3RVcmwiOiJodHRwczovL2V4YW1wbGUuY29tL3J1bi1zdWNjZWVkZWQifV0="

var jsVectorHooks = []WebhookDefinition{
	{EventTypes: []EventType{EventActorRunCreated}, RequestURL: "https://example.com/run-created"},
	{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://example.com/run-succeeded"},
}

func TestEncodeWebhooksVector(t *testing.T) {
	t.Parallel()
	got, err := EncodeWebhooks(jsVectorHooks)
	if err != nil {
		t.Fatal(err)
	}
	if got != jsVector {
		t.Errorf("EncodeWebhooks =\n%s\nwant\n%s", got, jsVector)
	}
}

func TestEncodeWebhooksJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []WebhookDefinition
		want string // the JSON inside the base64
	}{{
		name: "every field",
		in: []WebhookDefinition{{
			EventTypes: []EventType{EventActorRunSucceeded, EventActorRunFailed}, RequestURL: "https://x.test/a?b=1&c=<2>",
			PayloadTemplate: `{"r": {{resource}}}`, HeadersTemplate: `{"X-Key": "v"}`, ShouldInterpolateStrings: true,
			IdempotencyKey: "k1", IgnoreSSLErrors: true, DoNotRetry: true,
		}},
		want: `[{"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.RUN.FAILED"],"requestUrl":"https://x.test/a?b=1&c=<2>",` +
			`"payloadTemplate":"{\"r\": {{resource}}}","headersTemplate":"{\"X-Key\": \"v\"}","shouldInterpolateStrings":true,` +
			`"idempotencyKey":"k1","ignoreSslErrors":true,"doNotRetry":true}]`,
	}, {
		name: "empty fields omitted",
		in:   []WebhookDefinition{{EventTypes: []EventType{EventActorRunAborted}, RequestURL: "https://x.test"}},
		want: `[{"eventTypes":["ACTOR.RUN.ABORTED"],"requestUrl":"https://x.test"}]`,
	}, {
		name: "non-ASCII",
		in:   []WebhookDefinition{{EventTypes: []EventType{EventActorRunAborted}, RequestURL: "https://x.test/ž"}},
		want: `[{"eventTypes":["ACTOR.RUN.ABORTED"],"requestUrl":"https://x.test/ž"}]`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := EncodeWebhooks(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.StdEncoding.EncodeToString([]byte(tt.want)); got != want {
				raw, _ := base64.StdEncoding.DecodeString(got)
				t.Errorf("EncodeWebhooks JSON =\n%s\nwant\n%s", raw, tt.want)
			}
			back, err := DecodeWebhooks(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.in, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeWebhooksEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range [][]WebhookDefinition{nil, {}} {
		got, err := EncodeWebhooks(in)
		if got != "" || err != nil {
			t.Errorf("EncodeWebhooks(%#v) = %q, %v; want \"\", nil", in, got, err)
		}
	}
}

func TestEncodeWebhooksInvalid(t *testing.T) {
	t.Parallel()
	ok := WebhookDefinition{EventTypes: []EventType{EventActorRunCreated}, RequestURL: "https://x.test", IdempotencyKey: strings.Repeat("k", 256)}
	tests := []struct {
		name string
		in   []WebhookDefinition
		want string
	}{
		{"no event types", []WebhookDefinition{{RequestURL: "https://x.test"}}, "webhooks[0].eventTypes"},
		{"empty event type", []WebhookDefinition{ok, {EventTypes: []EventType{""}, RequestURL: "https://x.test"}}, "webhooks[1].eventTypes[0]"},
		{"build event", []WebhookDefinition{{EventTypes: []EventType{EventActorBuildFailed}, RequestURL: "https://x.test"}}, "webhooks[0].eventTypes[0]"},
		{"test event", []WebhookDefinition{{EventTypes: []EventType{EventTest}, RequestURL: "https://x.test"}}, "webhooks[0].eventTypes[0]"},
		{"no URL", []WebhookDefinition{{EventTypes: []EventType{EventActorRunFailed}, RequestURL: " "}}, "webhooks[0].requestUrl"},
		{"description", []WebhookDefinition{ok, ok, {EventTypes: []EventType{EventActorRunFailed}, RequestURL: "https://x.test", Description: "d"}}, "webhooks[2].description"},
		{"long key", []WebhookDefinition{{EventTypes: []EventType{EventActorRunFailed}, RequestURL: "https://x.test", IdempotencyKey: strings.Repeat("k", 257)}}, "webhooks[0].idempotencyKey"},
		{"bad template", []WebhookDefinition{{EventTypes: []EventType{EventActorRunFailed}, RequestURL: "https://x.test", PayloadTemplate: "{"}}, "webhooks[0].payloadTemplate"},
	}
	for _, tt := range tests {
		got, err := EncodeWebhooks(tt.in)
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidWebhook) || !strings.Contains(err.Error(), tt.want) || got != "" {
			t.Errorf("%s: EncodeWebhooks = %q, %v; want a *ValidationError naming %s", tt.name, got, err, tt.want)
		}
	}
}

func TestDecodeWebhooks(t *testing.T) {
	t.Parallel()
	raw := []byte(`[{"eventTypes":["ACTOR.RUN.FAILED"],"requestUrl":"https://x.test/?q=~~~>>>","unknown":{"a":1}}]`)
	want := []WebhookDefinition{{EventTypes: []EventType{EventActorRunFailed}, RequestURL: "https://x.test/?q=~~~>>>"}}
	tests := []struct {
		name string
		in   string
		want []WebhookDefinition
	}{
		{"JS vector", jsVector, jsVectorHooks},
		{"standard padded", base64.StdEncoding.EncodeToString(raw), want},
		{"standard unpadded", base64.RawStdEncoding.EncodeToString(raw), want},
		{"URL-safe padded", base64.URLEncoding.EncodeToString(raw), want},
		{"URL-safe unpadded", base64.RawURLEncoding.EncodeToString(raw), want},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		got, err := DecodeWebhooks(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte(`{"eventTypes":[]}`)), "W3s"} {
		if got, err := DecodeWebhooks(bad); err == nil {
			t.Errorf("DecodeWebhooks(%q) = %v, want an error", bad, got)
		}
	}
}
