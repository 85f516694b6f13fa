package webhookrecv_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-apify/actor/webhookrecv"
)

func BenchmarkParsePayload(b *testing.B) {
	body := readFixture(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhookrecv.ParsePayload(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPayloadRun(b *testing.B) {
	p, err := webhookrecv.ParsePayload(readFixture(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler measures a whole accepted delivery, secret check and
// deduplication included, without the network.
func BenchmarkHandler(b *testing.B) {
	body := readFixture(b)
	h, err := webhookrecv.NewHandler(func(context.Context, *webhookrecv.Delivery) error { return nil },
		webhookrecv.Options{Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set(webhookrecv.SecretHeader, testSecret)
		r.Header.Set(webhookrecv.HeaderDispatchID, fmt.Sprint("d", i))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkMemoryDeduper(b *testing.B) {
	ctx := context.Background()
	m := webhookrecv.NewMemoryDeduper(1000)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprint("dispatch-", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		// 4096 IDs through 1000 slots: each is forgotten before it comes back.
		if r, err := m.Claim(ctx, id); err != nil || r != webhookrecv.Claimed {
			b.Fatalf("Claim(%s) = %v, %v", id, r, err)
		}
		if err := m.Complete(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
