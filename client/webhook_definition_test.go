package client

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/internal/payloadtemplate"
)

// TestCreateWebhookValidation: CreateWebhook validates the definition for
// its condition (an ad-hoc webhook of a run, or one of an Actor or task) and
// sends nothing when it fails; what it sends marks a run's webhook isAdHoc.
func TestCreateWebhookValidation(t *testing.T) {
	t.Parallel()
	run := WebhookCondition{ActorRunID: "run1"}
	act := WebhookCondition{ActorID: "act1"}
	def := func(events ...EventType) WebhookDefinition {
		return WebhookDefinition{EventTypes: events, RequestURL: "https://example.com/hook"}
	}
	long := def(EventActorRunFailed)
	long.IdempotencyKey = strings.Repeat("k", MaxIdempotencyKeyLen+1)
	badTemplate := def(EventActorRunFailed)
	badTemplate.PayloadTemplate = `{"a": {{nope}}}`
	badHeaders := def(EventActorRunFailed)
	badHeaders.HeadersTemplate = `{"X-Run": {{resource}}}`
	tests := []struct {
		name      string
		cond      WebhookCondition
		def       WebhookDefinition
		wantField string // "" for a valid definition
		wantAdHoc bool
	}{
		{"run: run event", run, def(EventActorRunSucceeded, EventActorRunResurrected), "", true},
		{"run: created", run, def(EventActorRunCreated), "eventTypes[0]", false},
		{"run: build event", run, def(EventActorRunFailed, EventActorBuildFailed), "eventTypes[1]", false},
		{"run: test event", run, def(EventTest), "eventTypes[0]", false},
		{"actor: build event", act, def(EventActorBuildSucceeded, EventActorRunCreated), "", false},
		{"actor: test event", act, def(EventTest), "", false},
		{"actor: unknown event", act, def("ACTOR.RUN.LATE"), "eventTypes[0]", false},
		{"no condition", WebhookCondition{}, def(EventActorRunFailed), "condition", false},
		{"no events", run, def(), "eventTypes", false},
		{"relative URL", run, WebhookDefinition{EventTypes: []EventType{EventActorRunFailed}, RequestURL: "/hook"}, "requestUrl", false},
		{"long idempotency key", run, long, "idempotencyKey", false},
		{"bad payload template", act, badTemplate, "payloadTemplate", false},
		{"headers not strings", act, badHeaders, "headersTemplate", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, answer)
			c := newTestClient(t, api.srv.URL)
			_, err := c.CreateWebhook(t.Context(), tt.cond, tt.def)
			if tt.wantField != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.wantField || !errors.Is(err, ErrInvalidWebhook) {
					t.Errorf("error = %v, want a *ValidationError of %s", err, tt.wantField)
				}
				if n := api.count(); n != 0 {
					t.Errorf("the server saw %d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			type binding struct {
				IsAdHoc   bool             `json:"isAdHoc"`
				Condition WebhookCondition `json:"condition"`
			}
			var got binding
			if err := json.Unmarshal([]byte(api.requests()[0].Body), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(binding{tt.wantAdHoc, tt.cond}, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidationErrorTemplate: a template error stays reachable under the
// *ValidationError.
func TestValidationErrorTemplate(t *testing.T) {
	t.Parallel()
	err := WebhookDefinition{EventTypes: []EventType{EventActorRunFailed}, RequestURL: "https://x.test", PayloadTemplate: "{"}.Validate()
	var te *payloadtemplate.Error
	if !errors.As(err, &te) || !errors.Is(err, payloadtemplate.ErrInvalidJSON) || !strings.HasPrefix(err.Error(), "invalid webhook: payloadTemplate: ") {
		t.Errorf("Validate() = %v, want a payloadTemplate error wrapping the template's", err)
	}
}

// TestUpdateWebhookValidation: the fields an update sets are validated and
// nothing is sent when one fails.
func TestUpdateWebhookValidation(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, answer)
	c := newTestClient(t, api.srv.URL)
	bad, ftp, yes := `{"a": }`, "ftp://x.test", true
	tests := []struct {
		u    WebhookUpdate
		want string
	}{
		{WebhookUpdate{EventTypes: []EventType{"NOPE"}}, "eventTypes[0]"},
		{WebhookUpdate{RequestURL: &ftp}, "requestUrl"},
		{WebhookUpdate{PayloadTemplate: &bad}, "payloadTemplate"},
		{WebhookUpdate{HeadersTemplate: &bad, ShouldInterpolateStrings: &yes}, "headersTemplate"},
	}
	for _, tt := range tests {
		_, err := c.UpdateWebhook(t.Context(), "wh1", tt.u)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.want {
			t.Errorf("UpdateWebhook(%+v): error = %v, want a *ValidationError of %s", tt.u, err, tt.want)
		}
	}
	if n := api.count(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}
