package apifytest

import (
	"errors"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
)

// TestLockExpiry checks what an expired lock means: the request is back in
// the head, another client may lock it, and the first may no longer
// prolong or delete the lock. The lock is made to expire by setting its
// expiry in the past, not by waiting.
func TestLockExpiry(t *testing.T) {
	t.Parallel()
	s := NewTestServer(t)
	ctx := t.Context()
	info, err := s.Client().GetOrCreateRequestQueue(ctx, "expiry")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Client().RequestQueue(info.ID).WithClientKey("a")
	b, _ := s.Client().RequestQueue(info.ID).WithClientKey("b")
	if _, err := a.AddRequest(ctx, client.Request{URL: "https://example.com"}, client.RequestOptions{}); err != nil {
		t.Fatal(err)
	}
	h, err := a.LockHead(ctx, time.Hour, 1)
	if err != nil || len(h.Items) != 1 {
		t.Fatalf("lock: %+v, %v", h, err)
	}
	id := h.Items[0].ID
	if h, err := b.Head(ctx, 10); err != nil || len(h.Items) != 0 {
		t.Fatalf("head while locked: %+v, %v", h, err)
	}

	s.mu.Lock()
	s.storages[info.ID].queue.byID[id].lockExpires = time.Now().Add(-time.Second)
	s.mu.Unlock()

	// Expired but taken by no one: a may still prolong it.
	if _, err := a.ProlongLock(ctx, id, time.Hour, client.RequestOptions{}); err != nil {
		t.Errorf("a prolongs its expired lock: %v", err)
	}
	s.mu.Lock()
	s.storages[info.ID].queue.byID[id].lockExpires = time.Now().Add(-time.Second)
	s.mu.Unlock()
	if h, err := b.Head(ctx, 10); err != nil || len(h.Items) != 1 {
		t.Fatalf("head after expiry: %+v, %v", h, err)
	}
	if h, err := b.LockHead(ctx, time.Hour, 1); err != nil || len(h.Items) != 1 || h.Items[0].ID != id {
		t.Fatalf("b locks the expired request: %+v, %v", h, err)
	}
	var ae *client.APIError
	if _, err := a.ProlongLock(ctx, id, time.Hour, client.RequestOptions{}); !errors.As(err, &ae) || ae.Type != typeRequestLocked {
		t.Errorf("a prolongs b's lock: %v", err)
	}
	if err := a.DeleteLock(ctx, id, client.RequestOptions{}); !errors.As(err, &ae) || ae.Type != typeRequestLocked {
		t.Errorf("a deletes b's lock: %v", err)
	}
	if n, err := a.UnlockRequests(ctx); err != nil || n != 0 {
		t.Errorf("a unlocks: %d, %v", n, err)
	}
	if n, err := b.UnlockRequests(ctx); err != nil || n != 1 {
		t.Errorf("b unlocks: %d, %v", n, err)
	}
}
