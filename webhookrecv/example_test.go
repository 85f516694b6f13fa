package webhookrecv_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-apify/actor/webhookrecv"
)

func ExampleHeadersTemplate() {
	// The same secret configures both ends: the webhook's headersTemplate
	// and the handler's Options.Secret.
	tmpl, err := webhookrecv.HeadersTemplate("7f3a9c2e51d84b6a")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tmpl)
	// Output: {"X-Webhook-Secret":"7f3a9c2e51d84b6a"}
}

func ExampleURLWithSecret() {
	u, err := webhookrecv.URLWithSecret("https://example.com/hooks/apify", "7f3a9c2e51d84b6a")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output: https://example.com/hooks/apify?webhook_secret=7f3a9c2e51d84b6a
}

func ExampleParsePayload() {
	body := []byte(`{
		"userId": "wRsJZtadYvn4mBZmm",
		"createdAt": "2025-03-14T09:26:53.589Z",
		"eventType": "ACTOR.RUN.FAILED",
		"eventData": {"actorId": "vvE7iMKuMc5qTHHsR", "actorRunId": "JgwXN9BdwxGcu9MMF"},
		"resource": {"id": "JgwXN9BdwxGcu9MMF", "status": "FAILED", "exitCode": 1}
	}`)
	p, err := webhookrecv.ParsePayload(body)
	if err != nil {
		log.Fatal(err)
	}
	run, err := p.Run()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.EventType, p.CreatedAt.Format("15:04:05"), p.EventData.ActorRunID)
	fmt.Println(run.Status, *run.ExitCode)
	// Output:
	// ACTOR.RUN.FAILED 09:26:53 JgwXN9BdwxGcu9MMF
	// FAILED 1
}

func ExampleNewHandler() {
	h, err := webhookrecv.NewHandler(func(ctx context.Context, d *webhookrecv.Delivery) error {
		fmt.Println("processing", d.Payload.EventType, "of run", d.Payload.EventData.ActorRunID)
		return nil // an error here makes the platform retry
	}, webhookrecv.Options{Secret: "7f3a9c2e51d84b6a"})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h) // in production: http.ListenAndServe(addr, h)
	defer srv.Close()

	// The platform delivers the dispatch, and delivers it again.
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(
			`{"eventType":"ACTOR.RUN.SUCCEEDED","eventData":{"actorRunId":"JgwXN9BdwxGcu9MMF"}}`))
		req.Header.Set(webhookrecv.SecretHeader, "7f3a9c2e51d84b6a")
		req.Header.Set(webhookrecv.HeaderDispatchID, "Lp8yV3PbV6yQ3MpgR")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	// Output:
	// processing ACTOR.RUN.SUCCEEDED of run JgwXN9BdwxGcu9MMF
	// 200 {"status":"accepted"}
	// 200 {"status":"duplicate"}
}
