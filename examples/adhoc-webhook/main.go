// Command adhoc-webhook is an Actor that adds an ad-hoc webhook for its own
// run — fired when the run succeeds or fails — with a payload template, does
// a little work and finishes. A receiver in the same program prints what
// arrived and after how many attempts.
//
// Without APIFY_TOKEN it runs on a local platform embedded in the program
// (package apifytest), whose receiver answers the first attempt with 503 to
// show the platform's retries:
//
//	go run ./examples/adhoc-webhook
//	go run ./examples/adhoc-webhook -fail     # the run fails: ACTOR.RUN.FAILED
//
// With the platform's environment (APIFY_TOKEN, ACTOR_RUN_ID, ...) it is the
// Actor itself and adds a webhook for a receiver elsewhere, such as
// examples/receive-webhook, on the Apify platform or under apify-local:
//
//	go run ./cmd/apify-local run -- go run ./examples/adhoc-webhook -url http://127.0.0.1:8080/ -secret my-local-secret
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

// payloadTemplate is what the platform sends: the default payload's fields
// with a few fields of the run instead of the whole run. The notes printed
// after the payload explain the nulls.
const payloadTemplate = `{
    "userId": {{userId}},
    "createdAt": {{createdAt}},
    "eventType": {{eventType}},
    "eventData": {{eventData}},
    "run": {
        "id": {{resource.id}},
        "status": {{resource.status}},
        "exitCode": {{resource.exitCode}},
        "datasetId": {{resource.defaultDatasetId}},
        "noSuchField": {{resource.noSuchField}}
    },
    "summary": "Run {{resource.id}} ended with status {{resource.status}}"
}`

func main() {
	url := flag.String("url", "", "receiver URL of the webhook (required with APIFY_TOKEN)")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "shared secret sent in the "+webhookrecv.SecretHeader+" header (default $WEBHOOK_SECRET)")
	fail := flag.Bool("fail", false, "make the run fail, to see ACTOR.RUN.FAILED")
	flag.Parse()

	if os.Getenv("APIFY_TOKEN") != "" {
		if *url == "" {
			fmt.Fprintln(os.Stderr, "adhoc-webhook: -url is required with APIFY_TOKEN: the platform delivers there")
			os.Exit(2)
		}
		// The Actor itself: Main exits with 0, or 1 when runActor fails.
		actor.Main(func(ctx context.Context) error {
			return runActor(ctx, actor.Default(), *url, *secret, *fail)
		})
		return
	}
	if err := runLocal(*fail); err != nil {
		fmt.Fprintln(os.Stderr, "adhoc-webhook:", err)
		os.Exit(1)
	}
}

// runActor is the Actor's code, the same on the Apify platform and here.
func runActor(ctx context.Context, a *actor.Actor, url, secret string, fail bool) error {
	hook := actor.Webhook{
		EventTypes:               []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed},
		RequestURL:               url,
		PayloadTemplate:          payloadTemplate,
		ShouldInterpolateStrings: true, // for "summary"
		Description:              "adhoc-webhook example",
	}
	if secret != "" {
		headers, err := webhookrecv.HeadersTemplate(secret)
		if err != nil {
			return err
		}
		hook.HeadersTemplate = headers
	}

	first, err := a.AddWebhook(ctx, hook)
	if err != nil {
		return err
	}
	if first == nil {
		fmt.Println("actor: not on the Apify platform, so AddWebhook created nothing; run it under apify-local run")
	} else {
		fmt.Printf("actor: added webhook %s for %s\n", first.ID, strings.Join(eventNames(first.EventTypes), " and "))
		// A restarted or migrated Actor runs this code again. The default
		// idempotency key (run ID + digest of the definition) returns the
		// webhook that exists instead of adding a second one.
		again, err := a.AddWebhook(ctx, hook)
		if err != nil {
			return err
		}
		fmt.Printf("actor: added the same webhook again and got %s back: one webhook, thanks to the default idempotency key\n", again.ID)
	}

	// A little work.
	words := len(strings.Fields("the quick brown fox jumps over the lazy dog"))
	if err := a.SetStatusMessage(ctx, fmt.Sprintf("counted %d words", words)); err != nil {
		return err
	}
	fmt.Printf("actor: counted %d words\n", words)
	if fail {
		fmt.Println("actor: failing on purpose (-fail)")
		return errors.New("failed on purpose (-fail)")
	}
	fmt.Println("actor: done")
	return nil
}

// runLocal runs the Actor on a local platform with a receiver next to it.
func runLocal(fail bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Println("adhoc-webhook: an Actor adds an ad-hoc webhook for its own run; the receiver below gets it.")

	// The platform retries a failed delivery after 200 ms here (a minute on
	// api.apify.com), doubling each time.
	platform, err := apifytest.NewServer(apifytest.WithDeliveryBackoff(200 * time.Millisecond))
	if err != nil {
		return err
	}
	defer platform.Close()
	fmt.Printf("No APIFY_TOKEN: running on the local platform at %s\n\n", platform.URL)

	secret, err := webhookrecv.NewSecret()
	if err != nil {
		return err
	}
	recv, err := newReceiver(secret)
	if err != nil {
		return err
	}
	defer recv.close()

	platform.RegisterActor("example~adhoc-webhook", func(ctx context.Context, env []string, _ []byte) error {
		a := actor.New(actor.WithEnviron(env))
		return runActor(ctx, a, recv.url, secret, fail)
	})
	run, err := platform.StartRun(ctx, "example~adhoc-webhook", nil, client.StartOptions{})
	if err != nil {
		return err
	}
	if run, err = platform.WaitRun(ctx, run.ID); err != nil {
		return err
	}
	// The run's end fires the webhook; wait until it is delivered.
	if err := platform.WaitIdle(ctx); err != nil {
		return err
	}

	fmt.Printf("\nplatform: run %s ended %s with status message %q\n", run.ID, run.Status, run.StatusMessage)
	hooks, err := platform.Client().ListWebhooks(ctx, client.ListOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("platform: %d webhook exists, though the Actor added it twice\n", hooks.Total)
	for _, d := range platform.Dispatches() {
		var statuses []string
		for _, c := range d.Calls {
			statuses = append(statuses, fmt.Sprint(c.ResponseStatus))
		}
		fmt.Printf("platform: dispatch %s of %s %s after %d attempts (responses %s)\n",
			d.ID, d.EventType, d.Status, len(d.Calls), strings.Join(statuses, ", "))
	}
	if recv.accepted() != 1 {
		return fmt.Errorf("the receiver accepted %d deliveries, want 1", recv.accepted())
	}
	return nil
}

// receiver is an HTTP server with a webhookrecv.Handler that prints each
// delivery, and turns away the first attempt of each dispatch.
type receiver struct {
	url string
	srv *http.Server

	mu       sync.Mutex
	attempts map[string]int // by dispatch ID
	done     int
}

func newReceiver(secret string) (*receiver, error) {
	r := &receiver{attempts: map[string]int{}}
	h, err := webhookrecv.NewHandler(r.deliver, webhookrecv.Options{Secret: secret})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.url = "http://" + ln.Addr().String() + "/"
	r.srv = &http.Server{Handler: r.firstAttemptFails(h), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// firstAttemptFails answers the first attempt of a dispatch with 503, so the
// platform retries, and prints the headers that matter of the others.
func (r *receiver) firstAttemptFails(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get(webhookrecv.HeaderDispatchID)
		r.mu.Lock()
		r.attempts[id]++
		n := r.attempts[id]
		r.mu.Unlock()
		if n == 1 {
			fmt.Printf("receiver: attempt 1 of dispatch %s: answering 503, so the platform retries\n", id)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Printf("receiver: attempt %d of dispatch %s:\n", n, id)
		for _, name := range []string{"Content-Type", webhookrecv.HeaderWebhookID, webhookrecv.HeaderDispatchID, "X-Apify-Request-Origin"} {
			fmt.Printf("  %s: %s\n", name, req.Header.Get(name))
		}
		if req.Header.Get(webhookrecv.SecretHeader) != "" {
			fmt.Printf("  %s: (set; webhookrecv checks it)\n", webhookrecv.SecretHeader)
		}
		next.ServeHTTP(w, req)
	})
}

// deliver is the webhookrecv.Func: it runs once per dispatch.
func (r *receiver) deliver(_ context.Context, d *webhookrecv.Delivery) error {
	r.mu.Lock()
	n := r.attempts[d.DispatchID]
	r.done++
	r.mu.Unlock()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, d.Body, "  ", "  "); err != nil {
		return err
	}
	fmt.Printf("  payload:\n  %s\n", pretty.String())
	fmt.Printf("receiver: %s delivered after %d attempts\n", d.Payload.EventType, n)
	fmt.Println("  (an exitCode of 0 arrives as null: the platform renders falsy values — 0, false, \"\" — as null;")
	fmt.Println("   noSuchField is null: unknown paths become null; summary is filled in because of ShouldInterpolateStrings)")
	return nil
}

func (r *receiver) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}

func (r *receiver) close() { _ = r.srv.Close() }

func eventNames(ts []client.EventType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}
