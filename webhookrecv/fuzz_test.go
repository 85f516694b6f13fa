package webhookrecv_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/webhookrecv"
)

// FuzzParsePayload checks that any body either parses into a Payload that
// survives a JSON round trip, or fails with a *PayloadError — never a panic.
// Seeds are in testdata/fuzz/FuzzParsePayload besides the ones added here.
func FuzzParsePayload(f *testing.F) {
	f.Add(readFixture(f))
	f.Add([]byte(goodBody))
	f.Add([]byte(`{"userId":"u1","createdAt":"2025-03-14T09:26:53.589Z","eventType":"TEST","eventData":null,"resource":null}`))
	f.Add([]byte(`{"eventData":{"actorTaskId":null},"resource":[1,{"a":null}]}`))
	f.Add([]byte(`{"createdAt":"2025-03-14T10:26:53+01:00"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := webhookrecv.ParsePayload(body)
		if err != nil {
			var pe *webhookrecv.PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, webhookrecv.ErrMalformedPayload) {
				t.Fatalf("error %v (%T) is not a *PayloadError matching ErrMalformedPayload", err, err)
			}
			return
		}
		_, _ = p.Run() // must not panic on any resource

		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("json.Marshal(%+v): %v", p, err)
		}
		again, err := webhookrecv.ParsePayload(b)
		if err != nil {
			t.Fatalf("ParsePayload(%s) after a round trip: %v", b, err)
		}
		if diff := cmp.Diff(p, again, equateJSON, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}
