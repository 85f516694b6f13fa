package stress

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/client"
)

// FuzzDecodeWebhooks feeds arbitrary webhooks parameters to
// client.DecodeWebhooks and its forward actor.DecodeWebhooks. Properties:
// neither panics; both give the same result; an error comes without
// webhooks; EncodeWebhooks refuses only with an error matching
// ErrInvalidWebhook, and what it encodes decodes to the same value. The seed
// corpus (testdata/fuzz/FuzzDecodeWebhooks) holds parameters as the official
// clients encode them, in both base64 alphabets, and malformed ones.
func FuzzDecodeWebhooks(f *testing.F) {
	f.Add("W3siZXZlbnRUeXBlcyI6WyJBQ1RPUi5SVU4uU1VDQ0VFREVEIl0sInJlcXVlc3RVcmwiOiJodHRwczovL2V4YW1wbGUuY29tL2hvb2sifV0=")
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := client.DecodeWebhooks(s)
		aws, aerr := actor.DecodeWebhooks(s)
		if (err == nil) != (aerr == nil) || !cmp.Equal(ws, aws) {
			t.Fatalf("client.DecodeWebhooks = %v, %v; actor.DecodeWebhooks = %v, %v: they disagree", ws, err, aws, aerr)
		}
		if err != nil {
			if ws != nil {
				t.Fatalf("an error came with webhooks: %v", ws)
			}
			return
		}
		enc, err := client.EncodeWebhooks(ws)
		if err != nil {
			if !errors.Is(err, client.ErrInvalidWebhook) {
				t.Fatalf("EncodeWebhooks: %v does not match ErrInvalidWebhook", err)
			}
			return
		}
		again, err := client.DecodeWebhooks(enc)
		if err != nil {
			t.Fatalf("DecodeWebhooks(%q) of its own encoding: %v", enc, err)
		}
		if diff := cmp.Diff(ws, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the round trip changed the webhooks (-first +second):\n%s", diff)
		}
	})
}
