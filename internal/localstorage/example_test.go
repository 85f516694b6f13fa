package localstorage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/go-apify/actor/internal/localstorage"
)

func Example() {
	dir, err := os.MkdirTemp("", "storage")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// In an Actor: localstorage.FromEnv(ctx, os.LookupEnv, nil).
	s, err := localstorage.New(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	q, err := s.RequestQueue(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range []string{"https://example.com/", "https://example.com/about"} {
		if _, err := q.Add(ctx, localstorage.Request{URL: u, UniqueKey: u}, localstorage.AddOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	results, err := s.Dataset(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	for {
		r, err := q.FetchNext(ctx, time.Minute)
		if err != nil {
			log.Fatal(err)
		}
		if r == nil {
			break
		}
		item, _ := json.Marshal(map[string]string{"url": r.URL})
		if err := results.Push(ctx, item); err != nil {
			log.Fatal(err)
		}
		if err := q.MarkHandled(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	for item, err := range results.Items(ctx, localstorage.ItemsOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(item))
	}
	// Output:
	// {"url":"https://example.com/"}
	// {"url":"https://example.com/about"}
}
