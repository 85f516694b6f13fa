package stress

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
)

// FuzzDecodeWebhooks feeds arbitrary webhooks parameters to client.DecodeWebhooks
// and actor.DecodeWebhooks. Properties: neither panics; both accept or both
// reject an input, and agree on what it holds; what decodes re-encodes, and
// decoding that gives the same value back; EncodeWebhooks refuses only lists
// that break its rules. The seed corpus (testdata/fuzz/FuzzDecodeWebhooks)
// holds parameters as the official clients encode them, in both base64
// alphabets, and malformed ones.
func FuzzDecodeWebhooks(f *testing.F) {
	f.Add("W3siZXZlbnRUeXBlcyI6WyJBQ1RPUi5SVU4uU1VDQ0VFREVEIl0sInJlcXVlc3RVcmwiOiJodHRwczovL2V4YW1wbGUuY29tL2hvb2sifV0=")
	f.Fuzz(func(t *testing.T, s string) {
		ahs, cerr := client.DecodeWebhooks(s)
		ws, aerr := actor.DecodeWebhooks(s)
		if (cerr == nil) != (aerr == nil) {
			t.Fatalf("client.DecodeWebhooks error %v, actor.DecodeWebhooks error %v: they disagree", cerr, aerr)
		}
		if cerr != nil {
			if ahs != nil || ws != nil {
				t.Fatalf("an error came with webhooks: %v, %v", ahs, ws)
			}
			return
		}
		if diff := cmp.Diff(ahs, toAdHoc(ws), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("client and actor decode differently (-client +actor):\n%s", diff)
		}

		enc, err := client.EncodeWebhooks(ahs)
		switch {
		case err != nil && breaksClientRules(ahs):
		case err != nil:
			t.Fatalf("client.EncodeWebhooks refused %+v: %v", ahs, err)
		default:
			again, err := client.DecodeWebhooks(enc)
			if err != nil {
				t.Fatalf("client.DecodeWebhooks(%q) of its own encoding: %v", enc, err)
			}
			if diff := cmp.Diff(ahs, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("client round trip changed the webhooks (-first +second):\n%s", diff)
			}
		}

		aenc, err := actor.EncodeWebhooks(ws)
		if err != nil {
			if !errors.Is(err, actor.ErrInvalidWebhook) {
				t.Fatalf("actor.EncodeWebhooks: %v does not match ErrInvalidWebhook", err)
			}
			return
		}
		again, err := actor.DecodeWebhooks(aenc)
		if err != nil {
			t.Fatalf("actor.DecodeWebhooks(%q) of its own encoding: %v", aenc, err)
		}
		if diff := cmp.Diff(ws, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("actor round trip changed the webhooks (-first +second):\n%s", diff)
		}
	})
}

// breaksClientRules reports whether client.EncodeWebhooks may refuse ws: a
// webhook without event types, with an empty one, or with a blank URL.
func breaksClientRules(ws []client.AdHocWebhook) bool {
	for _, w := range ws {
		if len(w.EventTypes) == 0 || strings.TrimSpace(w.RequestURL) == "" {
			return true
		}
		for _, e := range w.EventTypes {
			if e == "" {
				return true
			}
		}
	}
	return false
}

func toAdHoc(ws []actor.Webhook) []client.AdHocWebhook {
	var out []client.AdHocWebhook
	for _, w := range ws {
		out = append(out, client.AdHocWebhook{
			EventTypes:               w.EventTypes,
			RequestURL:               w.RequestURL,
			PayloadTemplate:          w.PayloadTemplate,
			HeadersTemplate:          w.HeadersTemplate,
			ShouldInterpolateStrings: w.ShouldInterpolateStrings,
			IdempotencyKey:           w.IdempotencyKey,
			IgnoreSSLErrors:          w.IgnoreSSLErrors,
			DoNotRetry:               w.DoNotRetry,
		})
	}
	return out
}
