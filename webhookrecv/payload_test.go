package webhookrecv_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

func readFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/run-succeeded.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// equateJSON compares raw JSON by meaning: white space, escapes and key order
// aside.
var equateJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	ca, erra := canonicalJSON(a)
	cb, errb := canonicalJSON(b)
	return erra == nil && errb == nil && bytes.Equal(ca, cb)
})

// canonicalJSON re-encodes b with sorted keys and numbers spelled as given.
func canonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func TestParsePayload(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	tests := []struct {
		name string
		body string
		want *webhookrecv.Payload
	}{
		{
			name: "run event",
			body: `{"userId":"u1","createdAt":"2025-03-14T09:26:53.589Z","eventType":"ACTOR.RUN.FAILED",
				"eventData":{"actorId":"a1","actorTaskId":"t1","actorRunId":"r1"},"resource":{"id":"r1"}}`,
			want: &webhookrecv.Payload{
				UserID: "u1", CreatedAt: created, EventType: client.EventActorRunFailed,
				EventData: &client.EventData{ActorID: "a1", ActorTaskID: "t1", ActorRunID: "r1"},
				Resource:  json.RawMessage(`{"id":"r1"}`),
			},
		},
		{
			name: "actorTaskId absent",
			body: `{"eventType":"ACTOR.RUN.SUCCEEDED","eventData":{"actorId":"a1","actorRunId":"r1"}}`,
			want: &webhookrecv.Payload{
				EventType: client.EventActorRunSucceeded,
				EventData: &client.EventData{ActorID: "a1", ActorRunID: "r1"},
			},
		},
		{
			name: "actorTaskId null",
			body: `{"eventType":"ACTOR.RUN.SUCCEEDED","eventData":{"actorId":"a1","actorTaskId":null,"actorRunId":"r1"}}`,
			want: &webhookrecv.Payload{
				EventType: client.EventActorRunSucceeded,
				EventData: &client.EventData{ActorID: "a1", ActorRunID: "r1"},
			},
		},
		{
			name: "build event",
			body: `{"eventType":"ACTOR.BUILD.SUCCEEDED","eventData":{"actorId":"a1","actorBuildId":"b1"},"resource":{"id":"b1"}}`,
			want: &webhookrecv.Payload{
				EventType: client.EventActorBuildSucceeded,
				EventData: &client.EventData{ActorID: "a1", ActorBuildID: "b1"},
				Resource:  json.RawMessage(`{"id":"b1"}`),
			},
		},
		{
			name: "eventData and resource null",
			body: `{"userId":"u1","createdAt":"2025-03-14T09:26:53.589Z","eventType":"TEST","eventData":null,"resource":null}`,
			want: &webhookrecv.Payload{UserID: "u1", CreatedAt: created, EventType: client.EventTest},
		},
		{
			name: "falsy values rendered as null",
			body: `{"userId":null,"createdAt":null,"eventType":null}`,
			want: &webhookrecv.Payload{},
		},
		{
			name: "fields of a custom template are ignored",
			body: `{"eventType":"ACTOR.RUN.SUCCEEDED","note":"hello","count":3}`,
			want: &webhookrecv.Payload{EventType: client.EventActorRunSucceeded},
		},
		{
			name: "event type unknown to this package",
			body: `{"eventType":"ACTOR.RUN.SOMETHING_NEW"}`,
			want: &webhookrecv.Payload{EventType: "ACTOR.RUN.SOMETHING_NEW"},
		},
		{
			name: "createdAt without fraction",
			body: `{"createdAt":"2025-03-14T09:26:53Z"}`,
			want: &webhookrecv.Payload{CreatedAt: created.Truncate(time.Second)},
		},
		{
			name: "createdAt in microseconds",
			body: `{"createdAt":"2025-03-14T09:26:53.589123Z"}`,
			want: &webhookrecv.Payload{CreatedAt: created.Add(123 * time.Microsecond)},
		},
		{
			name: "time zone offset",
			body: `{"createdAt":"2025-03-14T10:26:53.589+01:00"}`,
			want: &webhookrecv.Payload{CreatedAt: created.In(time.FixedZone("", 3600))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhookrecv.ParsePayload([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePayload: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("ParsePayload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePayloadMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want webhookrecv.PayloadError
	}{
		{"empty body", ``, webhookrecv.PayloadError{Reason: "the body is empty"}},
		{"not JSON", `userId=1`, webhookrecv.PayloadError{Reason: "the body is not valid JSON: invalid character 'u' looking for beginning of value (at byte 1)"}},
		{"truncated", `{"userId":"u1"`, webhookrecv.PayloadError{Reason: "the body is not valid JSON: unexpected end of JSON input (at byte 14)"}},
		{"trailing garbage", `{} x`, webhookrecv.PayloadError{Reason: "the body is not valid JSON: invalid character 'x' after top-level value (at byte 4)"}},
		{"array", `[1,2]`, webhookrecv.PayloadError{Reason: "the body is a JSON array, not an object"}},
		{"string", `"hello"`, webhookrecv.PayloadError{Reason: "the body is a JSON string, not an object"}},
		{"null", `null`, webhookrecv.PayloadError{Reason: "the body is JSON null, not an object"}},
		{"userId number", `{"userId":42}`, webhookrecv.PayloadError{Field: "userId", Reason: "must be a string or null"}},
		{"eventType object", `{"eventType":{}}`, webhookrecv.PayloadError{Field: "eventType", Reason: "must be a string or null"}},
		{"createdAt number", `{"createdAt":1710408413}`, webhookrecv.PayloadError{Field: "createdAt", Reason: "must be a string or null"}},
		{"createdAt not a time", `{"createdAt":"yesterday"}`, webhookrecv.PayloadError{Field: "createdAt", Reason: "is not an RFC 3339 time"}},
		{"eventData string", `{"eventData":"r1"}`, webhookrecv.PayloadError{Field: "eventData", Reason: "must be an object or null"}},
		{"eventData.actorRunId number", `{"eventData":{"actorRunId":7}}`, webhookrecv.PayloadError{Field: "eventData.actorRunId", Reason: "must be a string, not a JSON number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := webhookrecv.ParsePayload([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParsePayload = %+v, want an error", p)
			}
			if !errors.Is(err, webhookrecv.ErrMalformedPayload) {
				t.Errorf("errors.Is(%v, ErrMalformedPayload) = false", err)
			}
			var pe *webhookrecv.PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PayloadError", err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("PayloadError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadRun(t *testing.T) {
	t.Parallel()
	p, err := webhookrecv.ParsePayload(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	run, err := p.Run()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	finished := time.Date(2025, 3, 14, 9, 26, 53, 412_000_000, time.UTC)
	exit := 0
	want := &client.Run{
		ID: "JgwXN9BdwxGcu9MMF", ActID: "vvE7iMKuMc5qTHHsR", UserID: "wRsJZtadYvn4mBZmm",
		StartedAt: time.Date(2025, 3, 14, 9, 26, 41, 271_000_000, time.UTC), FinishedAt: &finished,
		Status:  client.StatusSucceeded,
		Meta:    client.RunMeta{Origin: "API", UserAgent: "go-apify/0.1.0"},
		Stats:   client.RunStats{ComputeUnits: 0.0033},
		Options: client.RunOptions{Build: "latest", TimeoutSecs: 3600, MemoryMbytes: 1024, DiskMbytes: 2048},
		BuildID: "Bz6cgWN3tZcrDaV8a", ExitCode: &exit,
		DefaultKeyValueStoreID: "sfAjeR4QmoknOAbHw", DefaultDatasetID: "3ZojQDdFTsyE7Moy4",
		DefaultRequestQueueID: "so93g2shcDzK3pA85",
	}
	if diff := cmp.Diff(want, run); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
}

func TestPayloadRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		resource string
		want     webhookrecv.PayloadError
	}{
		{"missing", ``, webhookrecv.PayloadError{Field: "resource", Reason: "is missing or null"}},
		{"not an object", `"r1"`, webhookrecv.PayloadError{Field: "resource", Reason: "must be an object"}},
		{"no id", `{"status":"SUCCEEDED"}`, webhookrecv.PayloadError{Field: "resource.id", Reason: "is missing: the resource is not a run"}},
		{"wrong time type", `{"id":"r1","startedAt":7}`, webhookrecv.PayloadError{Field: "resource", Reason: "has a time that is not an RFC 3339 string"}},
		{"wrong time", `{"id":"r1","finishedAt":"yesterday"}`, webhookrecv.PayloadError{Field: "resource", Reason: "has a time that is not an RFC 3339 string"}},
		{"wrong field type", `{"id":"r1","stats":{"restartCount":"zero"}}`, webhookrecv.PayloadError{Field: "resource.stats.restartCount", Reason: "must be a number, not a JSON string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &webhookrecv.Payload{}
			if tt.resource != "" {
				p.Resource = json.RawMessage(tt.resource)
			}
			run, err := p.Run()
			if err == nil {
				t.Fatalf("Run = %+v, want an error", run)
			}
			var pe *webhookrecv.PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, webhookrecv.ErrMalformedPayload) {
				t.Fatalf("error %v is not a *PayloadError matching ErrMalformedPayload", err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("PayloadError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadJSONRoundTrip(t *testing.T) {
	t.Parallel()
	p, err := webhookrecv.ParsePayload(readFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := webhookrecv.ParsePayload(b)
	if err != nil {
		t.Fatalf("ParsePayload(json.Marshal(p)): %v", err)
	}
	if diff := cmp.Diff(p, again, equateJSON); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	fixture := readFixture(t)
	tests := []struct {
		name     string
		body     []byte
		max      int64
		hideLen  bool // chunked: no Content-Length to reject early
		wantErr  error
		wantType client.EventType
	}{
		{name: "default limit", body: fixture, wantType: client.EventActorRunSucceeded},
		{name: "exactly at the limit", body: fixture, max: int64(len(fixture)), wantType: client.EventActorRunSucceeded},
		{name: "over the limit", body: fixture, max: 100, wantErr: webhookrecv.ErrBodyTooLarge},
		{name: "over the limit, chunked", body: fixture, max: 100, hideLen: true, wantErr: webhookrecv.ErrBodyTooLarge},
		{name: "malformed", body: []byte(`{"eventType":1}`), wantErr: webhookrecv.ErrMalformedPayload},
		{name: "no body", wantErr: webhookrecv.ErrMalformedPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(tt.body))
			if tt.hideLen {
				r.ContentLength = -1
			}
			p, err := webhookrecv.ParseRequest(r, tt.max)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseRequest error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if p.EventType != tt.wantType {
				t.Errorf("EventType = %q, want %q", p.EventType, tt.wantType)
			}
		})
	}
}

func TestParseRequestTooLargeIsMaxBytesError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		hideLen bool
	}{
		{"Content-Length over the limit", false},
		{"chunked body over the limit", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(strings.Repeat(" ", 200)))
			if tt.hideLen {
				r.ContentLength = -1
			}
			_, err := webhookrecv.ParseRequest(r, 100)
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) || mbe.Limit != 100 || !errors.Is(err, webhookrecv.ErrBodyTooLarge) {
				t.Fatalf("ParseRequest error = %v, want ErrBodyTooLarge and an *http.MaxBytesError with limit 100", err)
			}
		})
	}
}
