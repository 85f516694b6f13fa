// Command start-with-webhooks starts another Actor with ad-hoc webhooks for
// the new run, given in the webhooks URL parameter of the start request,
// waits for the run and shows the delivery.
//
// Without APIFY_TOKEN, the other Actor is a Go function on a local platform
// embedded in the program (package apifytest):
//
//	go run ./examples/start-with-webhooks
//
// With APIFY_TOKEN, it starts -actor on the Apify platform, which delivers to
// -url, the public URL of the receiver this program runs on -addr:
//
//	APIFY_TOKEN=... go run ./examples/start-with-webhooks -actor apify~hello-world -url https://your-tunnel.example/ -addr 127.0.0.1:8080
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

func main() {
	actorID := flag.String("actor", "example~word-counter", "the Actor to start")
	input := flag.String("input", `{"text": "ad-hoc webhooks fire once for one run"}`, "the run's input, JSON")
	publicURL := flag.String("url", "", "the receiver's public URL (with APIFY_TOKEN)")
	addr := flag.String("addr", "127.0.0.1:0", "address the receiver listens on")
	flag.Parse()
	if err := run(*actorID, *input, *publicURL, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "start-with-webhooks:", err)
		os.Exit(1)
	}
}

func run(actorID, input, publicURL, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fmt.Println("start-with-webhooks: starts an Actor with ad-hoc webhooks for its run, waits for the run and shows the delivery.")
	if !json.Valid([]byte(input)) {
		return errors.New("-input is not JSON")
	}

	// The receiver, checking a secret that only this program knows.
	secret, err := webhookrecv.NewSecret()
	if err != nil {
		return err
	}
	delivered := make(chan *webhookrecv.Delivery, 1)
	h, err := webhookrecv.NewHandler(func(ctx context.Context, d *webhookrecv.Delivery) error {
		select {
		case delivered <- d:
		default:
		}
		return nil
	}, webhookrecv.Options{Secret: secret})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	requestURL := "http://" + ln.Addr().String() + "/run-finished"

	// The API: Apify's, or a local platform with the other Actor in it. The
	// client prints the requests it sends.
	show := client.WithHTTPClient(&http.Client{Transport: printRequests{secret: secret}})
	var c *client.Client
	if os.Getenv("APIFY_TOKEN") != "" {
		if publicURL == "" {
			return errors.New("with APIFY_TOKEN, -url (the receiver's public URL) is required")
		}
		if c, err = client.NewFromEnv(show); err != nil {
			return err
		}
		requestURL = publicURL
	} else {
		platform, err := apifytest.NewServer()
		if err != nil {
			return err
		}
		defer platform.Close()
		platform.RegisterActor("example~word-counter", wordCounter)
		c = platform.Client(show)
		fmt.Printf("No APIFY_TOKEN: running on the local platform at %s\n", platform.URL)
	}

	headers, err := webhookrecv.HeadersTemplate(secret)
	if err != nil {
		return err
	}
	hooks := []actor.Webhook{{
		EventTypes: []actor.EventType{
			actor.EventActorRunSucceeded, actor.EventActorRunFailed,
			actor.EventActorRunTimedOut, actor.EventActorRunAborted,
		},
		RequestURL:      requestURL,
		HeadersTemplate: headers,
	}}

	// Call = start, then wait for the run to end.
	fmt.Println()
	starter := actor.New(actor.WithClient(c))
	run, err := starter.Call(ctx, actorID, json.RawMessage(input), actor.StartOptions{Webhooks: hooks})
	if err != nil {
		return err
	}
	fmt.Printf("run %s of %s ended %s: %s\n", run.ID, actorID, run.Status, run.StatusMessage)

	select {
	case d := <-delivered:
		finished, err := d.Payload.Run()
		if err != nil {
			return err
		}
		fmt.Printf("\nreceiver: %s for run %s (webhook %s, dispatch %s)\n", d.Payload.EventType, finished.ID, d.WebhookID, d.DispatchID)
		fmt.Printf("receiver: the payload's resource is the run: status %s, dataset %s\n", finished.Status, finished.DefaultDatasetID)
		disp, err := settled(ctx, c, d.DispatchID)
		if err != nil {
			return err
		}
		fmt.Printf("platform: dispatch %s %s after %d attempt(s)\n", disp.ID, disp.Status, len(disp.Calls))
	case <-time.After(60 * time.Second):
		return errors.New("no delivery within 60 s")
	}
	return nil
}

// printRequests is an http.RoundTripper that prints the method, path and
// parameters of each request, and what the webhooks parameter holds, with the
// webhook secret hidden. The API token travels in a header: it is not shown.
type printRequests struct{ secret string }

func (p printRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	// The line is built from the parsed parameters, so that the secret in
	// the webhooks parameter is never printed, however the client encoded it.
	q := req.URL.Query()
	hooks := q.Get("webhooks")
	if hooks != "" {
		q.Set("webhooks", hooks[:min(len(hooks), 24)]+"...")
	}
	line := req.Method + " " + req.URL.Path
	if len(q) > 0 {
		line += "?" + q.Encode()
	}
	fmt.Println("api:", line)
	if hooks != "" {
		if decoded, err := base64.StdEncoding.DecodeString(hooks); err != nil {
			fmt.Println("  the webhooks parameter is not base64:", err)
		} else {
			fmt.Printf("  the webhooks parameter is base64 of %s\n", strings.ReplaceAll(string(decoded), p.secret, "<secret>"))
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// settled returns dispatch id once the platform has recorded its outcome:
// the receiver sees the delivery before its answer reaches the platform.
func settled(ctx context.Context, c *client.Client, id string) (*client.WebhookDispatch, error) {
	for {
		disp, err := c.GetWebhookDispatch(ctx, id)
		if err != nil || disp.Status != client.DispatchActive {
			return disp, err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// wordCounter is the other Actor, on the local platform: it counts the words
// of its input's text and says so in its status message.
func wordCounter(ctx context.Context, env []string, input []byte) error {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(input, &in); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	time.Sleep(100 * time.Millisecond) // some work
	a := actor.New(actor.WithEnviron(env))
	return a.SetTerminalStatusMessage(ctx, fmt.Sprintf("counted %d words", len(strings.Fields(in.Text))))
}
