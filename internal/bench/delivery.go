package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// receiver is the local webhook receiver of the delivery comparison. Both
// the platform and the bare client post to it, and it does the same work
// for both: read the body and keep it.
type receiver struct {
	URL  string
	hs   *http.Server
	gate chan struct{} // while open (not closed), requests wait

	mu     sync.Mutex
	bodies [][]byte
	count  atomic.Int64
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{URL: "http://" + ln.Addr().String(), gate: make(chan struct{})}
	close(r.gate)
	r.hs = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.hs.Serve(ln) }()
	return r, nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	<-gate
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	r.count.Add(1)
}

// hold makes requests wait until the returned function is called.
func (r *receiver) hold() (release func()) {
	gate := make(chan struct{})
	r.mu.Lock()
	r.gate = gate
	r.mu.Unlock()
	return sync.OnceFunc(func() { close(gate) })
}

// reset forgets the bodies received so far and returns them.
func (r *receiver) reset() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bodies
	r.bodies = nil
	r.count.Store(0)
	return b
}

func (r *receiver) close() { _ = r.hs.Close() }

// delivery measures the local platform's webhook delivery: runs with one
// ad-hoc webhook each, finished together, delivered to a local receiver;
// against a bare Go client posting the same bodies to the same receiver
// with the same concurrency, right after. The sides take turns
// b.cfg.DeliveryRounds times and the ratio is the median of the rounds'
// (the machine's speed moves between minutes; a round meets it in one
// state). Then the memory each pending dispatch takes.
func (b *bench) delivery(ctx context.Context) ([]row, error) {
	n := b.cfg.DeliveryRuns
	recv, err := newReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.close()

	var platforms, bares, ratios []float64
	var bodies [][]byte
	for range max(b.cfg.DeliveryRounds, 1) {
		platform, err := b.platformDeliveries(ctx, recv, n)
		if err != nil {
			return nil, err
		}
		if bodies = recv.reset(); len(bodies) != n {
			return nil, fmt.Errorf("the receiver got %d bodies, want %d", len(bodies), n)
		}
		bare, err := bareDeliveries(ctx, recv.URL, bodies, apifytest.DefaultDeliveryWorkers)
		if err != nil {
			return nil, err
		}
		if got := recv.count.Load(); got != int64(n) {
			return nil, fmt.Errorf("the receiver got %d bare posts, want %d", got, n)
		}
		recv.reset()
		platforms, bares, ratios = append(platforms, platform), append(bares, bare), append(ratios, platform/bare)
	}
	recv.reset()
	perDispatch, err := b.pendingMemory(ctx, recv, n)
	if err != nil {
		return nil, err
	}

	platform, bare, ratio := median(platforms), median(bares), median(ratios)
	size := 0
	for _, body := range bodies {
		size += len(body)
	}
	b.logf("delivery: platform %.0f/s, bare client %.0f/s (medians; rounds: %s), %.0f B per pending dispatch (bodies of %d B)",
		platform, bare, rounds(platforms, bares), perDispatch, size/n)
	name := fmt.Sprintf("delivery, %d runs", n)
	return []row{
		{Comparison: name, Case: fmt.Sprintf("deliveries/s, %d workers (ref.: bare Go client, same bodies)", apifytest.DefaultDeliveryWorkers),
			Ours: fmt.Sprintf("%.0f/s", platform), Theirs: fmt.Sprintf("%.0f/s", bare),
			Ratio: fmt.Sprintf("%.0f%% of loopback limit%s", 100*ratio, ofRounds(len(ratios))), Target: "≥ 50%", Met: met(ratio >= 0.5)},
		{Comparison: name, Case: fmt.Sprintf("heap per pending dispatch (payload %d B)", size/n),
			Ours: fmt.Sprintf("%.1f KB", perDispatch/1000)},
	}, nil
}

// rounds describes each round's deliveries per second, ours against the
// bare client's.
func rounds(ours, bare []float64) string {
	parts := make([]string, len(ours))
	for i := range ours {
		parts[i] = fmt.Sprintf("%.0f/%.0f", ours[i], bare[i])
	}
	return strings.Join(parts, ", ")
}

// ofRounds notes the median of several rounds.
func ofRounds(n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" (median of %d rounds)", n)
}

// startRuns starts a local platform and n runs of an Actor without code on
// it (they stay RUNNING), each with one ad-hoc webhook for
// ACTOR.RUN.SUCCEEDED to url. The caller closes the platform.
func startRuns(ctx context.Context, n int, url string) (*apifytest.Server, []string, error) {
	srv, err := apifytest.NewServer(apifytest.WithWebhookLimit(2 * n))
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, n)
	for i := range n {
		run, err := srv.StartRun(ctx, "bench~delivery", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{{
			EventTypes: []client.EventType{client.EventActorRunSucceeded},
			RequestURL: url + "/hook?run=" + strconv.Itoa(i),
		}}})
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		ids[i] = run.ID
	}
	return srv, ids, nil
}

func finishRuns(srv *apifytest.Server, ids []string) error {
	for _, id := range ids {
		if _, err := srv.FinishRun(id, client.StatusSucceeded, 0); err != nil {
			return err
		}
	}
	return nil
}

// platformDeliveries returns the deliveries per second of a local platform
// from the moment n runs are finished until every dispatch has succeeded.
func (b *bench) platformDeliveries(ctx context.Context, recv *receiver, n int) (float64, error) {
	srv, ids, err := startRuns(ctx, n, recv.URL)
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	runtime.GC()
	start := time.Now()
	if err := finishRuns(srv, ids); err != nil {
		return 0, err
	}
	if err := srv.WaitIdle(ctx); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	failed := 0
	for _, d := range srv.Dispatches() {
		if d.Status != client.DispatchSucceeded || len(d.Calls) != 1 {
			failed++
		}
	}
	if failed > 0 {
		return 0, fmt.Errorf("%d of %d dispatches failed or needed retries", failed, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// bareDeliveries posts bodies to url with workers goroutines and a plain
// http.Client, and returns the posts per second.
func bareDeliveries(ctx context.Context, url string, bodies [][]byte, workers int) (float64, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	next := make(chan []byte)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		postErr error
	)
	runtime.GC()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				if err := post(ctx, hc, url+"/hook", body); err != nil {
					errOnce.Do(func() { postErr = err })
				}
			}
		}()
	}
	for _, body := range bodies {
		next <- body
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if postErr != nil {
		return 0, postErr
	}
	return float64(len(bodies)) / elapsed.Seconds(), nil
}

// post sends one body with headers like a webhook delivery's.
func post(ctx context.Context, hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bench-bare-client")
	req.Header.Set("X-Apify-Webhook", "bench")
	req.Header.Set("X-Apify-Webhook-Dispatch-Id", "bench")
	req.Header.Set("X-Apify-Request-Origin", "WEBHOOK")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// pendingMemory returns the heap, in bytes, that each of n dispatches takes
// while it waits for delivery: the receiver holds every request, so the
// dispatches created by finishing n runs stay pending.
func (b *bench) pendingMemory(ctx context.Context, recv *receiver, n int) (float64, error) {
	srv, ids, err := startRuns(ctx, n, recv.URL)
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	release := recv.hold()
	defer release()
	before := heapAlloc()
	if err := finishRuns(srv, ids); err != nil {
		return 0, err
	}
	after := heapAlloc()
	pending := 0
	for _, d := range srv.Dispatches() {
		if d.Status == client.DispatchActive {
			pending++
		}
	}
	release()
	if err := srv.WaitIdle(ctx); err != nil {
		return 0, err
	}
	if pending != n {
		return 0, errors.New("dispatches were delivered while the receiver held them")
	}
	return float64(int64(after)-int64(before)) / float64(n), nil
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
