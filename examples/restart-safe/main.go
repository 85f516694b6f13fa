// Command restart-safe is an Actor that survives a migration: it adds an
// ad-hoc webhook for its own run's success, works through numbered items
// keeping its progress in a persisted state (actor.UseState), and pushes
// one dataset item per item done. When the platform migrates the run, the
// SDK cancels the work with actor.ErrMigrating and saves the state; the
// platform kills the process and starts it again, same run ID and
// storages; the new process reads the state, adds the same webhook (the
// default idempotency key returns the existing one), resumes after the
// last item done and finishes. The webhook is delivered once.
//
// Without APIFY_TOKEN it runs on a local platform embedded in the program
// (package apifytest), which starts this very program again as the Actor's
// process, with the run's environment, migrates the run half-way through,
// and starts a second process when the first has been killed. A receiver
// in the program gets the delivery:
//
//	go run ./examples/restart-safe
//
// With the platform's environment (APIFY_TOKEN, ACTOR_RUN_ID, ...) it is the
// Actor itself, on the Apify platform or under apify-local, delivering to
// -url (examples/receive-webhook, say):
//
//	go run ./cmd/apify-local run --migrate-after 1s -- go run ./examples/restart-safe -url http://127.0.0.1:8080/ -item-time 200ms
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

// progress is the Actor's persisted state: how many items are done.
type progress struct {
	Done int `json:"done"`
}

// item is what the Actor pushes to its dataset for each item done.
type item struct {
	Item int `json:"item"`
}

// maxItems bounds -items.
const maxItems = 10_000

func main() {
	url := flag.String("url", "", "receiver URL of the webhook (required with APIFY_TOKEN)")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "shared secret sent in the "+webhookrecv.SecretHeader+" header (default $WEBHOOK_SECRET)")
	items := flag.Int("items", 10, "how many items to work through (at most 10000)")
	itemTime := flag.Duration("item-time", 40*time.Millisecond, "how long one item takes")
	flag.Parse()
	if *items < 1 || *items > maxItems || *itemTime < 0 {
		fmt.Fprintf(os.Stderr, "restart-safe: -items must be 1 to %d and -item-time not negative, not %d and %v\n", maxItems, *items, *itemTime)
		os.Exit(2)
	}

	if os.Getenv("APIFY_TOKEN") != "" {
		if *url == "" {
			fmt.Fprintln(os.Stderr, "restart-safe: -url is required with APIFY_TOKEN: the platform delivers there")
			os.Exit(2)
		}
		actor.Main(func(ctx context.Context) error {
			return runActor(ctx, actor.Default(), *url, *secret, *items, *itemTime)
		})
		return
	}
	if err := runLocal(*items, *itemTime); err != nil {
		fmt.Fprintln(os.Stderr, "restart-safe:", err)
		os.Exit(1)
	}
}

// runActor is the Actor's code, the same in every process of the run.
func runActor(ctx context.Context, a *actor.Actor, url, secret string, items int, itemTime time.Duration) error {
	say := func(format string, args ...any) {
		fmt.Printf("actor[pid %d]: "+format+"\n", append([]any{os.Getpid()}, args...)...)
	}
	state, err := actor.UseState(ctx, a, "", progress{})
	if err != nil {
		return err
	}
	done := state.Get().Done
	if done == 0 {
		say("run %s: state %s says 0 of %d items done: starting afresh", a.Env().RunID, actor.DefaultStateKey, items)
	} else {
		say("run %s: state %s says %d of %d items done: resuming at item %d", a.Env().RunID, actor.DefaultStateKey, done, items, done+1)
	}

	hook := actor.Webhook{
		EventTypes:  []actor.EventType{actor.EventActorRunSucceeded},
		RequestURL:  url,
		Description: "restart-safe example",
	}
	if secret != "" {
		headers, err := webhookrecv.HeadersTemplate(secret)
		if err != nil {
			return err
		}
		hook.HeadersTemplate = headers
	}
	// Every process of the run adds the webhook; the default idempotency
	// key (run ID + digest of the definition) makes it one webhook.
	w, err := a.AddWebhook(ctx, hook)
	if err != nil {
		return err
	}
	if w == nil {
		say("not on the Apify platform, so AddWebhook created nothing; run it under apify-local run")
	} else {
		say("webhook %s for ACTOR.RUN.SUCCEEDED (default idempotency key)", w.ID)
	}

	for i := done + 1; i <= items; i++ {
		if err := sleep(ctx, itemTime); err != nil {
			// A migration: the SDK saves the state and, whatever this
			// returns, never ends the run as succeeded from this process.
			say("stopped after item %d of %d: %v", i-1, items, err)
			return err
		}
		// The item in hand is finished even if a migration starts now:
		// the SDK saves the state after Main's function returns, and the
		// platform gives the process seconds before the kill.
		wctx := context.WithoutCancel(ctx)
		if err := a.PushData(wctx, item{i}); err != nil {
			return err
		}
		state.Update(func(p *progress) { p.Done = i })
		say("item %d of %d done", i, items)
	}
	say("all %d items done", items)
	return nil
}

// sleep waits d, or returns the cause of ctx's end.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// runLocal runs the Actor as a child process of a local platform, migrates
// it half-way through, and checks what the platform and the receiver saw.
func runLocal(items int, itemTime time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Println("restart-safe: an Actor with a persisted state is migrated half-way through its work.")

	// The process has 5 s to stop after migrating (the platform's are a
	// few seconds); the SDK stops it sooner by asking for a reboot once
	// it has saved its state.
	platform, err := apifytest.NewServer(apifytest.WithMigrationGrace(5 * time.Second))
	if err != nil {
		return err
	}
	defer platform.Close()
	fmt.Printf("No APIFY_TOKEN: running on the local platform at %s\n", platform.URL)

	secret, err := webhookrecv.NewSecret()
	if err != nil {
		return err
	}
	recv, err := newReceiver(secret)
	if err != nil {
		return err
	}
	defer recv.close()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	half := (items + 1) / 2
	halfway := newLineWatch(os.Stdout, fmt.Sprintf(" item %d of %d done", half, items))
	var started atomic.Int32 // the Actor's processes
	platform.RegisterActor("example~restart-safe", func(ctx context.Context, env []string, _ []byte) error {
		// The Actor's process: this program again, with the run's
		// environment. The platform cancels ctx to kill it.
		n := started.Add(1)
		cmd := exec.CommandContext(ctx, self, "-url", recv.url, "-items", fmt.Sprint(items), "-item-time", itemTime.String())
		cmd.Env = append(withoutPlatformEnv(os.Environ()), env...)
		cmd.Env = append(cmd.Env, "WEBHOOK_SECRET="+secret)
		cmd.Stdout, cmd.Stderr = halfway, os.Stderr
		cmd.WaitDelay = time.Second
		if err := cmd.Start(); err != nil {
			return err
		}
		if why, again := apifytest.RestartOf(ctx); again {
			fmt.Printf("platform: run %s restarted after a %s (restart %d): process %d (pid %d) started\n",
				envValue(env, "ACTOR_RUN_ID"), why.Kind, why.Count, n, cmd.Process.Pid)
		} else {
			fmt.Printf("platform: process %d (pid %d) started\n", n, cmd.Process.Pid)
		}
		err := cmd.Wait()
		how := "exit code 0"
		if err != nil {
			how = err.Error()
		}
		if errors.Is(context.Cause(ctx), apifytest.ErrRestarting) {
			how += " (the platform kills it for the restart)"
		}
		fmt.Printf("platform: process %d (pid %d) ended: %s\n", n, cmd.Process.Pid, how)
		return err
	})
	run, err := platform.StartRun(ctx, "example~restart-safe", nil, client.StartOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("platform: run %s started\n", run.ID)

	ended := make(chan struct{})
	go func() {
		_, _ = platform.WaitRun(ctx, run.ID)
		close(ended)
	}()
	select {
	case <-halfway.seen:
	case <-ended:
		return fmt.Errorf("run %s ended before the Actor got to item %d", run.ID, half)
	case <-ctx.Done():
		return fmt.Errorf("the Actor did not get to item %d: %w", half, ctx.Err())
	}
	fmt.Printf("platform: migrating run %s, as the platform does to move it to another server\n", run.ID)
	if _, err := platform.MigrateRun(ctx, run.ID); err != nil {
		return err
	}
	if run, err = platform.WaitRun(ctx, run.ID); err != nil {
		return err
	}
	// The run's end fires the webhook; wait until it is delivered.
	if err := platform.WaitIdle(ctx); err != nil {
		return err
	}
	return report(ctx, platform, run, int(started.Load()), items, recv)
}

// report prints what the platform and the receiver saw, and checks it.
func report(ctx context.Context, platform *apifytest.Server, run *client.Run, processes, items int, recv *receiver) error {
	fmt.Printf("platform: run %s ended %s after %d restart (%d processes)\n", run.ID, run.Status, run.Stats.RestartCount, processes)
	c := platform.Client()
	hooks, err := c.ListWebhooks(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	var ids []string
	for _, w := range hooks.Items {
		ids = append(ids, w.ID)
	}
	fmt.Printf("platform: %d webhook exists, added by both processes: %s\n", hooks.Total, strings.Join(ids, ", "))
	for _, d := range platform.Dispatches() {
		fmt.Printf("platform: dispatch %s of %s %s after %d attempt\n", d.ID, d.EventType, d.Status, len(d.Calls))
	}
	page, err := client.ListItems[item](ctx, c, run.DefaultDatasetID, client.ItemsOptions{})
	if err != nil {
		return err
	}
	seen := map[int]int{}
	for _, it := range page.Items {
		seen[it.Item]++
	}
	once := len(page.Items) == items && len(seen) == items
	for i := 1; i <= items; i++ {
		once = once && seen[i] == 1
	}
	if !once {
		return fmt.Errorf("the dataset holds %d items (%v), want items 1 to %d once each", len(page.Items), seen, items)
	}
	fmt.Printf("platform: the dataset holds items 1 to %d, each once\n", items)
	n := recv.accepted()
	fmt.Printf("receiver: %d delivery\n", n)
	switch {
	case run.Status != client.StatusSucceeded || processes != 2:
		return fmt.Errorf("the run ended %s after %d processes, want SUCCEEDED after 2", run.Status, processes)
	case hooks.Total != 1 || n != 1:
		return fmt.Errorf("%d webhooks and %d deliveries, want 1 and 1", hooks.Total, n)
	}
	return nil
}

// withoutPlatformEnv drops the platform's variables from env, so that only
// the run's reach the Actor's process.
func withoutPlatformEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "APIFY_") && !strings.HasPrefix(kv, "ACTOR_") && !strings.HasPrefix(kv, "WEBHOOK_SECRET=") {
			out = append(out, kv)
		}
	}
	return out
}

// envValue returns the value of name in env.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// lineWatch copies lines to w and closes seen when a line first contains
// watch.
type lineWatch struct {
	mu    sync.Mutex
	w     io.Writer
	watch string
	seen  chan struct{}
	part  []byte // an unfinished line
}

func newLineWatch(w io.Writer, watch string) *lineWatch {
	return &lineWatch{w: w, watch: watch, seen: make(chan struct{})}
}

// maxLine bounds the unfinished line lineWatch keeps to look in.
const maxLine = 64 << 10

func (l *lineWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		if l.watch != "" && bytes.Contains(l.part[:i], []byte(l.watch)) {
			close(l.seen)
			l.watch = ""
		}
		l.part = l.part[i+1:]
	}
	if len(l.part) > maxLine {
		l.part = nil
	}
	return l.w.Write(p)
}

// receiver is an HTTP server with a webhookrecv.Handler that prints and
// counts each delivery.
type receiver struct {
	url string
	srv *http.Server

	mu   sync.Mutex
	done int
}

func newReceiver(secret string) (*receiver, error) {
	r := &receiver{}
	h, err := webhookrecv.NewHandler(r.deliver, webhookrecv.Options{Secret: secret})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.url = "http://" + ln.Addr().String() + "/"
	r.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "receiver:", err)
		}
	}()
	return r, nil
}

// deliver is the webhookrecv.Func: it runs once per dispatch.
func (r *receiver) deliver(_ context.Context, d *webhookrecv.Delivery) error {
	r.mu.Lock()
	r.done++
	r.mu.Unlock()
	fmt.Printf("receiver: %s of run %s from webhook %s (dispatch %s)\n", d.Payload.EventType, d.Payload.EventData.ActorRunID, d.WebhookID, d.DispatchID)
	return nil
}

func (r *receiver) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

func (r *receiver) close() { _ = r.srv.Close() }
