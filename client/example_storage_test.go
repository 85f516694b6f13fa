package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-apify/actor/client"
)

// A stand-in for the platform's storage API that prints what it receives.
func fakeStorage() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPut {
			var req client.Request
			json.Unmarshal(body, &req)
			body = fmt.Appendf(nil, "%s handled: %t", req.ID, req.HandledAt != nil)
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("platform: %s %s %s", r.Method, r.URL.Path, body)))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/datasets":
			fmt.Fprintf(w, `{"data":{"id":"DS1","name":%q}}`, r.URL.Query().Get("name"))
		case strings.HasSuffix(r.URL.Path, "/items") && r.Method == http.MethodGet:
			w.Header().Set("X-Apify-Pagination-Total", "2")
			fmt.Fprint(w, `[{"title":"Go","stars":5},{"title":"Apify","stars":4}]`)
		case strings.HasSuffix(r.URL.Path, "/head/lock"):
			fmt.Fprint(w, `{"data":{"limit":1,"lockSecs":60,"items":[{"id":"R1","url":"https://example.com/","uniqueKey":"https://example.com/"}]}}`)
		case strings.HasPrefix(r.URL.Path, "/v2/request-queues/") && r.Method == http.MethodGet:
			fmt.Fprint(w, `{"data":{"id":"R1","url":"https://example.com/","uniqueKey":"https://example.com/","userData":{"label":"START"}}}`)
		case strings.HasPrefix(r.URL.Path, "/v2/request-queues/"):
			fmt.Fprint(w, `{"data":{"requestId":"R1","wasAlreadyPresent":false,"wasAlreadyHandled":false}}`)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{}`)
		}
	}))
}

// Results go to a named dataset, pushed in as few requests as the platform's
// size limit allows, and come back decoded into the caller's type.
func ExampleClient_PushItems() {
	srv := fakeStorage()
	defer srv.Close()
	c, err := client.New(client.WithBaseURL(srv.URL), client.WithToken("my-apify-token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	ds, err := c.GetOrCreateDataset(ctx, "repos")
	if err != nil {
		fmt.Println(err)
		return
	}
	type repo struct {
		Title string `json:"title"`
		Stars int    `json:"stars"`
	}
	if err := c.PushItems(ctx, ds.ID, []repo{{"Go", 5}, {"Apify", 4}}); err != nil {
		fmt.Println(err)
		return
	}
	for r, err := range client.AllItems[repo](ctx, c, ds.ID, client.ItemsOptions{Fields: []string{"title", "stars"}}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.Title, r.Stars)
	}
	// Output:
	// platform: POST /v2/datasets
	// platform: POST /v2/datasets/DS1/items [{"title":"Go","stars":5},{"title":"Apify","stars":4}]
	// platform: GET /v2/datasets/DS1/items
	// Go 5
	// Apify 4
}

// A crawler loop: add a request, take it from the head with a lock, read it
// whole, and mark it handled.
func ExampleRequestQueueClient_LockHead() {
	srv := fakeStorage()
	defer srv.Close()
	c, err := client.New(client.WithBaseURL(srv.URL), client.WithToken("my-apify-token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	q := c.RequestQueue("Q1")

	reg, err := q.AddRequest(ctx, client.Request{URL: "https://example.com/", UserData: json.RawMessage(`{"label":"START"}`)}, client.RequestOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("added", reg.RequestID, "already present:", reg.WasAlreadyPresent)

	head, err := q.LockHead(ctx, time.Minute, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range head.Items {
		r, err := q.GetRequest(ctx, h.ID) // head items lack the user data
		if err != nil {
			fmt.Println(err)
			return
		}
		// ... fetch r.URL ...
		if err := q.MarkHandled(ctx, r); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("handled", r.ID, r.HandledAt != nil)
	}
	// Output:
	// platform: POST /v2/request-queues/Q1/requests {"uniqueKey":"https://example.com/","url":"https://example.com/","userData":{"label":"START"}}
	// added R1 already present: false
	// platform: POST /v2/request-queues/Q1/head/lock
	// platform: GET /v2/request-queues/Q1/requests/R1
	// platform: PUT /v2/request-queues/Q1/requests/R1 R1 handled: true
	// handled R1 true
}
