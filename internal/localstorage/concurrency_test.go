package localstorage

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse pushes, sets and crawls from many goroutines at once (run
// with -race): every item, record and request must land exactly once.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	ctx := t.Context()
	d, err := s.Dataset(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := s.KeyValueStore(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.RequestQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	for i := range workers * each {
		u := fmt.Sprintf("https://x.test/%d", i)
		if _, err := q.Add(ctx, Request{URL: u, UniqueKey: u}, AddOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	handled := make(chan string, workers*each)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := d.Push(ctx, json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))); err != nil {
					errs <- err
					return
				}
				if err := kv.Set(ctx, fmt.Sprintf("k-%d-%d", w, i), []byte("v"), "text/plain"); err != nil {
					errs <- err
					return
				}
				if _, err := s.Dataset(ctx, ""); err != nil { // the cached instance, under contention
					errs <- err
					return
				}
			}
			for {
				r, err := q.FetchNext(ctx, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if r == nil {
					return
				}
				if err := q.MarkHandled(ctx, r); err != nil {
					errs <- err
					return
				}
				handled <- r.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(handled)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for id := range handled {
		if seen[id] {
			t.Errorf("request %s handled twice", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Errorf("handled %d requests, want %d", len(seen), workers*each)
	}
	info, _ := d.Info(ctx)
	if info.ItemCount != workers*each {
		t.Errorf("itemCount = %d, want %d", info.ItemCount, workers*each)
	}
	n := 0
	for _, err := range d.Items(ctx, ItemsOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	l, err := kv.ListKeys(ctx, ListKeysOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*each || l.Count != workers*each {
		t.Errorf("read %d items and %d keys, want %d each", n, l.Count, workers*each)
	}
}
