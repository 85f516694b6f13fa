package webhookrecv_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/go-apify/actor/webhookrecv"
)

func TestMemoryDeduper(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var m webhookrecv.MemoryDeduper // the zero value works
	steps := []struct {
		op   string
		id   string
		want webhookrecv.ClaimResult
	}{
		{"claim", "d1", webhookrecv.Claimed},
		{"claim", "d1", webhookrecv.InProgress},
		{"release", "d1", 0},
		{"claim", "d1", webhookrecv.Claimed},
		{"complete", "d1", 0},
		{"claim", "d1", webhookrecv.AlreadyDone},
		{"release", "d1", 0}, // releasing a completed dispatch forgets nothing
		{"claim", "d1", webhookrecv.AlreadyDone},
		{"claim", "d2", webhookrecv.Claimed},
	}
	for i, s := range steps {
		var err error
		switch s.op {
		case "claim":
			var got webhookrecv.ClaimResult
			got, err = m.Claim(ctx, s.id)
			if got != s.want {
				t.Fatalf("step %d: Claim(%s) = %v, want %v", i, s.id, got, s.want)
			}
		case "complete":
			err = m.Complete(ctx, s.id)
		case "release":
			err = m.Release(ctx, s.id)
		}
		if err != nil {
			t.Fatalf("step %d: %s(%s): %v", i, s.op, s.id, err)
		}
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d, want 1", m.Len())
	}
}

func TestMemoryDeduperForgetsOldestBeyondCapacity(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := webhookrecv.NewMemoryDeduper(3)
	for i := range 5 {
		id := fmt.Sprint("d", i)
		if _, err := m.Claim(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := m.Complete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Completing an ID again must not take a second slot.
	if err := m.Complete(ctx, "d4"); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}
	for i, want := range []webhookrecv.ClaimResult{
		webhookrecv.Claimed, webhookrecv.Claimed,
		webhookrecv.AlreadyDone, webhookrecv.AlreadyDone, webhookrecv.AlreadyDone,
	} {
		id := fmt.Sprint("d", i)
		got, err := m.Claim(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Claim(%s) = %v, want %v", id, got, want)
		}
	}
}

func TestMemoryDeduperConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := webhookrecv.NewMemoryDeduper(0)
	const workers = 16
	results := make(chan webhookrecv.ClaimResult, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := m.Claim(ctx, "same")
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	claimed := 0
	for r := range results {
		if r == webhookrecv.Claimed {
			claimed++
		}
	}
	if claimed != 1 {
		t.Errorf("%d of %d concurrent claims succeeded, want 1", claimed, workers)
	}
}

func TestClaimResultString(t *testing.T) {
	t.Parallel()
	for r, want := range map[webhookrecv.ClaimResult]string{
		webhookrecv.Claimed: "claimed", webhookrecv.AlreadyDone: "already done",
		webhookrecv.InProgress: "in progress", 99: "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("ClaimResult(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}
