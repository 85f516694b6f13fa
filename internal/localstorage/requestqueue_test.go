package localstorage

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newQueue(t *testing.T, s *Storage, name string) (*RequestQueue, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.UnixMilli(1_800_000_000_000)}
	s.now = c.now
	q := openQueue(t, s, name)
	return q, c
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	// Ids crawlee gave these unique keys (testdata/jsstorage/request_queues/my-queue).
	tests := map[string]string{
		"https://example.com/a": "Lc4KTFBEGzPqcr0",
		"https://example.com/b": "15WizGuD7nuihMR",
		"https://example.com/f": "3VUyDGIgYzFNmV5",
	}
	for key, want := range tests {
		if got := RequestID(key); got != want {
			t.Errorf("RequestID(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestRequestQueueFormat checks a request's file against the one crawlee
// wrote for the same request, orderNo aside.
func TestRequestQueueFormat(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	q, _ := newQueue(t, s, "my-queue")
	for _, r := range []Request{
		{URL: "https://example.com/a", UniqueKey: "https://example.com/a", UserData: json.RawMessage(`{"label":"A"}`)},
		{URL: "https://example.com/b", UniqueKey: "https://example.com/b"},
	} {
		if _, err := q.Add(t.Context(), r, AddOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	orderNo := regexp.MustCompile(`"orderNo": -?\d+`)
	for _, id := range []string{"Lc4KTFBEGzPqcr0", "15WizGuD7nuihMR"} {
		want, err := os.ReadFile("testdata/jsstorage/request_queues/my-queue/" + id + ".json")
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(q.dir, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		w, g := orderNo.ReplaceAllString(string(want), `"orderNo": N`), orderNo.ReplaceAllString(string(got), `"orderNo": N`)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s.json (-want +got):\n%s", id, diff)
		}
	}
	if diff := cmp.Diff(jsonKeys(t, "testdata/jsstorage/request_queues/my-queue/"+metadataFile), jsonKeys(t, filepath.Join(q.dir, metadataFile))); diff != "" {
		t.Errorf("metadata keys (-want +got):\n%s", diff)
	}
}

func TestRequestQueueReadsJS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, "testdata/jsstorage", dir)
	s := openStorage(t, dir, nil)
	q := openQueue(t, s, "my-queue")
	info, err := q.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingRequestCount != 2 || info.HandledRequestCount != 1 || info.TotalRequestCount != 3 {
		t.Errorf("Info = %+v", info)
	}
	h, err := q.Get(t.Context(), "3VUyDGIgYzFNmV5")
	if err != nil {
		t.Fatal(err)
	}
	if h.HandledAt == nil || !h.HandledAt.Equal(time.Date(2026, 12, 4, 18, 36, 34, 780e6, time.UTC)) || h.Method != "GET" {
		t.Errorf("handled request = %+v", h)
	}
	// a and b have the same orderNo; the id breaks the tie.
	var got []string
	for {
		r, err := q.FetchNext(t.Context(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		got = append(got, r.URL+" "+string(r.UserData))
	}
	if diff := cmp.Diff([]string{"https://example.com/b {}", `https://example.com/a {"label":"A"}`}, got); diff != "" {
		t.Errorf("fetched (-want +got):\n%s", diff)
	}
}

func TestRequestQueueOrderAndLocks(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	q, clock := newQueue(t, s, "")
	add := func(u string, ff bool) AddResult {
		t.Helper()
		res, err := q.Add(t.Context(), Request{URL: u, UniqueKey: u}, AddOptions{Forefront: ff})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fetch := func() *Request {
		t.Helper()
		r, err := q.FetchNext(t.Context(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	add("https://x.test/1", false)
	add("https://x.test/2", false)
	add("https://x.test/ff1", true)
	add("https://x.test/ff2", true)
	if res := add("https://x.test/1", true); !res.WasAlreadyPresent || res.WasAlreadyHandled {
		t.Errorf("duplicate Add = %+v", res)
	}
	var order []string
	for range 4 {
		order = append(order, fetch().URL)
	}
	want := []string{"https://x.test/ff2", "https://x.test/ff1", "https://x.test/1", "https://x.test/2"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("fetch order (-want +got):\n%s", diff)
	}
	if r := fetch(); r != nil {
		t.Errorf("all locked, FetchNext = %v, want nil", r.URL)
	}
	// A lock expires.
	clock.t = clock.t.Add(time.Minute + time.Millisecond)
	if r := fetch(); r == nil || r.URL != "https://x.test/ff2" {
		t.Errorf("after lock expiry FetchNext = %v", r)
	}
	r := fetch()
	if err := q.MarkHandled(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if res := add(r.URL, false); !res.WasAlreadyHandled {
		t.Errorf("Add of a handled request = %+v", res)
	}
	// Reclaim to the forefront with a raised retry count.
	r = fetch()
	r.RetryCount++
	r.ErrorMessages = append(r.ErrorMessages, "boom")
	if err := q.Reclaim(t.Context(), r, AddOptions{Forefront: true}); err != nil {
		t.Fatal(err)
	}
	again := fetch()
	if again.ID != r.ID || again.RetryCount != 1 || len(again.ErrorMessages) != 1 {
		t.Errorf("reclaimed request fetched as %+v", again)
	}
	info, err := q.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingRequestCount != 3 || info.HandledRequestCount != 1 || info.TotalRequestCount != 4 {
		t.Errorf("Info = %+v", info)
	}
	if err := q.Delete(t.Context(), again.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(t.Context(), again.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
}

// TestRequestQueueRestart reopens a queue from disk: handled requests stay
// handled, locked ones are pending again, and order is kept.
func TestRequestQueueRestart(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	q, _ := newQueue(t, s, "crawl")
	var reqs []Request
	for _, u := range []string{"https://x.test/1", "https://x.test/2", "https://x.test/3", "https://x.test/4"} {
		reqs = append(reqs, Request{URL: u, UniqueKey: u, Headers: map[string]string{"X": "1"}, Extra: map[string]json.RawMessage{"sessionRotationCount": json.RawMessage("2")}})
	}
	if _, err := q.AddBatch(t.Context(), reqs, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	r1, _ := q.FetchNext(t.Context(), time.Hour)
	if err := q.MarkHandled(t.Context(), r1); err != nil {
		t.Fatal(err)
	}
	r2, _ := q.FetchNext(t.Context(), time.Hour) // locked when the process "dies"
	s2 := reopen(t, s)
	q2, _ := newQueue(t, s2, "crawl")
	info, err := q2.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingRequestCount != 3 || info.HandledRequestCount != 1 {
		t.Errorf("after restart Info = %+v", info)
	}
	var got []string
	for {
		r, err := q2.FetchNext(t.Context(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		got = append(got, r.URL)
		if diff := cmp.Diff(map[string]json.RawMessage{"sessionRotationCount": json.RawMessage("2")}, r.Extra); diff != "" {
			t.Errorf("Extra (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff([]string{r2.URL, "https://x.test/3", "https://x.test/4"}, got); diff != "" {
		t.Errorf("after restart fetched (-want +got):\n%s", diff)
	}
	h, err := q2.Get(t.Context(), r1.ID)
	if err != nil || h.HandledAt == nil || h.Headers["X"] != "1" {
		t.Errorf("handled request after restart = %+v, %v", h, err)
	}
}

func TestRequestQueueBadInput(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	q, _ := newQueue(t, s, "")
	tests := []struct {
		r     Request
		field string
	}{
		{Request{URL: "https://x.test/"}, "uniqueKey"},
		{Request{UniqueKey: "k"}, "url"},
		{Request{UniqueKey: "k", URL: "ftp://x.test/"}, "url"},
		{Request{UniqueKey: "k", URL: "/relative"}, "url"},
		{Request{UniqueKey: "k", URL: "https://x.test/", ID: "wrongwrongwrong"}, "id"},
		{Request{UniqueKey: "k", URL: "https://x.test/", UserData: json.RawMessage(`[1]`)}, "userData"},
	}
	for _, tt := range tests {
		_, err := q.Add(t.Context(), tt.r, AddOptions{})
		var fe *FieldError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Add(%+v) = %v, want ErrInvalid on %q", tt.r, err, tt.field)
		}
	}
	_, err := q.AddBatch(t.Context(), []Request{{URL: "https://x.test/", UniqueKey: "ok"}, {URL: "x"}}, AddOptions{})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "requests[1].uniqueKey" {
		t.Errorf("AddBatch = %v, want an error on requests[1].uniqueKey", err)
	}
	if diff := cmp.Diff([]string{"__metadata__.json"}, files(t, q.dir)); diff != "" {
		t.Errorf("refused adds wrote files (-want +got):\n%s", diff)
	}
	if _, err := q.FetchNext(t.Context(), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("FetchNext(0) = %v, want ErrInvalid", err)
	}
	s.opts.MaxValueBytes = 100
	big := Request{URL: "https://x.test/", UniqueKey: "big", UserData: json.RawMessage(`{"a":"` + strings.Repeat("x", 100) + `"}`)}
	if _, err := q.Add(t.Context(), big, AddOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Add(big) = %v, want ErrTooLarge", err)
	}
}

func TestRequestQueueLocks(t *testing.T) {
	t.Parallel()
	s := newStorage(t)
	q, clock := newQueue(t, s, "")
	var reqs []Request
	for _, u := range []string{"https://x.test/1", "https://x.test/2", "https://x.test/3"} {
		reqs = append(reqs, Request{URL: u, UniqueKey: u})
	}
	if _, err := q.AddBatch(t.Context(), reqs, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int{0, -1, MaxLockHeadLimit + 1} {
		if _, err := q.LockHead(t.Context(), bad, time.Minute); !errors.Is(err, ErrInvalid) {
			t.Errorf("LockHead(%d) = %v, want ErrInvalid", bad, err)
		}
	}
	locked, err := q.LockHead(t.Context(), 2, time.Minute)
	if err != nil || len(locked) != 2 || locked[0].URL != "https://x.test/1" || locked[1].URL != "https://x.test/2" {
		t.Fatalf("LockHead(2) = %v, %v", locked, err)
	}
	id1, id3 := locked[0].ID, RequestID("https://x.test/3")
	if _, err := q.ProlongLock(t.Context(), id3, time.Minute); !errors.Is(err, ErrNotLocked) {
		t.Errorf("ProlongLock of an unlocked request = %v, want ErrNotLocked", err)
	}
	if err := q.Unlock(t.Context(), id3, AddOptions{}); !errors.Is(err, ErrNotLocked) {
		t.Errorf("Unlock of an unlocked request = %v, want ErrNotLocked", err)
	}
	if _, err := q.ProlongLock(t.Context(), "nosuchrequest00", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("ProlongLock of a missing request = %v, want ErrNotFound", err)
	}
	until, err := q.ProlongLock(t.Context(), id1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.t.Add(time.Minute + time.Hour); !until.Equal(want) {
		t.Errorf("ProlongLock ends %v, want %v", until, want)
	}
	// Past the first lock, request 2's lock has expired; request 1's has not.
	clock.t = clock.t.Add(2 * time.Minute)
	got, err := q.LockHead(t.Context(), 25, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, r := range got {
		urls = append(urls, r.URL)
	}
	if diff := cmp.Diff([]string{"https://x.test/2", "https://x.test/3"}, urls); diff != "" {
		t.Errorf("LockHead after expiry (-want +got):\n%s", diff)
	}
	// Unlocking to the forefront puts request 1 at the head, on disk too.
	if err := q.Unlock(t.Context(), id1, AddOptions{Forefront: true}); err != nil {
		t.Fatal(err)
	}
	q2, _ := newQueue(t, reopen(t, s), "")
	r, err := q2.FetchNext(t.Context(), time.Minute)
	if err != nil || r == nil || r.ID != id1 {
		t.Errorf("after Unlock to the forefront and a restart, FetchNext = %v, %v; want request 1", r, err)
	}
}
