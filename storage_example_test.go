package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/go-apify/actor"
)

// An Actor reads its input, pushes results and stores a record. Off the
// platform the storages are local files; this one lives in a temporary
// directory, as APIFY_LOCAL_STORAGE_DIR would name it.
func ExampleActor_GetInput() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a := actor.New(actor.WithEnviron([]string{"APIFY_LOCAL_STORAGE_DIR=" + dir}))
	ctx := context.Background()

	input := struct {
		Query string `json:"query"`
		Limit int    `json:"limit"`
	}{Query: "go", Limit: 2} // the defaults
	if err := a.GetInput(ctx, &input); errors.Is(err, actor.ErrNoInput) {
		fmt.Println("no input: using the defaults")
	} else if err != nil {
		log.Fatal(err) // a field of the wrong type is named here
	}

	for i := range input.Limit {
		if err := a.PushData(ctx, map[string]any{"query": input.Query, "rank": i + 1}); err != nil {
			log.Fatal(err)
		}
	}
	if err := a.SetValue(ctx, "SUMMARY", map[string]int{"results": input.Limit}); err != nil {
		log.Fatal(err)
	}

	d, err := a.OpenDataset(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for item, err := range actor.Items[map[string]any](ctx, d, actor.ItemsOptions{Desc: true}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(item["query"], item["rank"])
	}
	var summary map[string]int
	if err := a.GetValue(ctx, "SUMMARY", &summary); err != nil {
		log.Fatal(err)
	}
	fmt.Println("summary:", summary)
	// Output:
	// no input: using the defaults
	// go 2
	// go 1
	// summary: map[results:2]
}

// A crawler loop over a request queue: take a request, handle it, mark it
// handled. The handled requests stay handled across a restart.
func ExampleRequestQueue() {
	dir, err := os.MkdirTemp("", "queue-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a := actor.New(actor.WithEnviron([]string{"APIFY_LOCAL_STORAGE_DIR=" + dir}))
	ctx := context.Background()

	q, err := a.OpenRequestQueue(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range []string{"https://example.com/", "https://example.com/about", "https://example.com/"} {
		res, err := q.AddRequest(ctx, actor.Request{URL: u}, actor.AddOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("added", u, "already present:", res.WasAlreadyPresent)
	}
	for {
		r, err := q.FetchNext(ctx, 0) // locked for DefaultLockDuration
		if err != nil {
			log.Fatal(err)
		}
		if r == nil {
			break
		}
		fmt.Println("handling", r.URL)
		if err := q.MarkHandled(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	info, err := q.Info(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.HandledRequestCount, "of", info.TotalRequestCount, "handled")
	// Output:
	// added https://example.com/ already present: false
	// added https://example.com/about already present: false
	// added https://example.com/ already present: true
	// handling https://example.com/
	// handling https://example.com/about
	// 2 of 2 handled
}
