// Command receive-webhook is a webhook receiver built on package webhookrecv:
// it checks a shared secret sent in a header, accepts each dispatch once and
// answers so the platform retries only what failed.
//
// Run without flags, it sends itself a test delivery through a local platform
// embedded in the program (package apifytest), shows that a request without
// the secret and a replay of the delivery are turned away, and stops:
//
//	go run ./examples/receive-webhook
//
// -serve keeps it serving, for webhooks of Actors under apify-local (see
// examples/adhoc-webhook) or, on a public address, of the Apify platform:
//
//	go run ./examples/receive-webhook -serve -addr 127.0.0.1:8080 -secret my-local-secret
//
// With APIFY_TOKEN set, the test delivery goes through the Apify API: -url
// must be this server's public URL and -actor an Actor of yours, to which a
// webhook is attached for the test and removed afterwards.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/webhookrecv"
)

func main() {
	serve := flag.Bool("serve", false, "keep serving after the test delivery, until interrupted")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "shared secret (default $WEBHOOK_SECRET, or a random one)")
	publicURL := flag.String("url", "", "this server's public URL (with APIFY_TOKEN)")
	actorID := flag.String("actor", "", "an Actor of yours to attach the test webhook to (with APIFY_TOKEN)")
	flag.Parse()
	if err := run(*serve, *addr, *secret, *publicURL, *actorID); err != nil {
		fmt.Fprintln(os.Stderr, "receive-webhook:", err)
		os.Exit(1)
	}
}

func run(serve bool, addr, secret, publicURL, actorID string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Println("receive-webhook: a webhook receiver with a secret header, built on package webhookrecv.")

	if secret == "" {
		var err error
		if secret, err = webhookrecv.NewSecret(); err != nil {
			return err
		}
	}
	headers, err := webhookrecv.HeadersTemplate(secret)
	if err != nil {
		return err
	}

	// The receiver: your code goes into the function. It runs once per
	// dispatch; an error makes the platform retry.
	var (
		mu        sync.Mutex
		processed *webhookrecv.Delivery // by the function, not yet answered
	)
	h, err := webhookrecv.NewHandler(func(ctx context.Context, d *webhookrecv.Delivery) error {
		fmt.Printf("receiver: %s from webhook %s, dispatch %s\n", d.Payload.EventType, d.WebhookID, d.DispatchID)
		if run, err := d.Payload.Run(); err == nil {
			fmt.Printf("receiver: run %s of Actor %s ended %s\n", run.ID, run.ActID, run.Status)
		} else { // a payload template without the resource
			fmt.Printf("receiver: payload %s\n", d.Body)
		}
		mu.Lock()
		processed = d
		mu.Unlock()
		return nil
	}, webhookrecv.Options{Secret: secret})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// A dispatch is done once the handler has answered (it marks it done
	// after the function returns): only then does the demo below replay it.
	delivered := make(chan *webhookrecv.Delivery, 16)
	answered := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		mu.Lock()
		d := processed
		processed = nil
		mu.Unlock()
		if d != nil {
			select {
			case delivered <- d:
			default:
			}
		}
	})
	srv := &http.Server{Handler: answered, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	localURL := "http://" + ln.Addr().String() + "/"
	fmt.Printf("receiver: listening on %s\n", localURL)

	// The API that sends the test delivery.
	var c *client.Client
	requestURL := localURL
	if os.Getenv("APIFY_TOKEN") != "" {
		if publicURL == "" || actorID == "" {
			return errors.New("with APIFY_TOKEN, -url (this server's public URL) and -actor (an Actor of yours) are required")
		}
		if c, err = client.NewFromEnv(); err != nil {
			return err
		}
		requestURL = publicURL
	} else {
		platform, err := apifytest.NewServer()
		if err != nil {
			return err
		}
		defer platform.Close()
		fmt.Printf("No APIFY_TOKEN: the test delivery comes from the local platform at %s\n", platform.URL)
		c, actorID = platform.Client(), "example~receive-webhook"
	}

	// A webhook whose headers template carries the secret, and a test
	// delivery through it — the "Test" button of the Apify Console.
	wh, err := c.CreateWebhook(ctx, client.WebhookCondition{ActorID: actorID}, client.WebhookDefinition{
		EventTypes:      []client.EventType{client.EventActorRunSucceeded},
		RequestURL:      requestURL,
		HeadersTemplate: headers,
		Description:     "receive-webhook example (test delivery)",
	})
	if err != nil {
		return err
	}
	defer func() { _ = c.DeleteWebhook(context.WithoutCancel(ctx), wh.ID) }()
	if _, err := c.TestWebhook(ctx, wh.ID); err != nil {
		return err
	}
	var d *webhookrecv.Delivery
	select {
	case d = <-delivered:
	case <-time.After(30 * time.Second):
		return errors.New("no delivery within 30 s")
	case <-ctx.Done():
		return ctx.Err()
	}

	// What the receiver turns away.
	forged, err := post(ctx, localURL, "", d.DispatchID, d.Body)
	if err != nil {
		return err
	}
	fmt.Printf("receiver: a request without the secret gets %s\n", forged)
	replay, err := post(ctx, localURL, secret, d.DispatchID, d.Body)
	if err != nil {
		return err
	}
	fmt.Printf("receiver: a redelivery of dispatch %s gets %s, without running the function again\n", d.DispatchID, replay)

	if !serve {
		return nil
	}
	fmt.Printf("\nServing on %s until interrupted. Senders set this headers template:\n  %s\n", localURL, headers)
	<-ctx.Done()
	return nil
}

// post sends body as a delivery of dispatchID and returns the answer's
// status and body.
func post(ctx context.Context, url, secret, dispatchID string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhookrecv.HeaderDispatchID, dispatchID)
	if secret != "" {
		req.Header.Set(webhookrecv.SecretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))), nil
}
