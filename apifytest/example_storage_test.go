package apifytest_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// An Actor function crawls through its run's default request queue and
// pushes a result per page to its default dataset; the test reads the
// results back.
func ExampleServer_RegisterActor_storage() {
	srv, err := apifytest.NewServer()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	srv.RegisterActor("janedoe~crawler", func(ctx context.Context, env []string, _ []byte) error {
		c := srv.Client()
		q := c.RequestQueue(lookup(env, "ACTOR_DEFAULT_REQUEST_QUEUE_ID"))
		if _, err := q.AddRequest(ctx, client.Request{URL: "https://example.com/1"}, client.RequestOptions{}); err != nil {
			return err
		}
		for {
			head, err := q.LockHead(ctx, time.Minute, 1)
			if err != nil || len(head.Items) == 0 {
				return err
			}
			r, err := q.GetRequest(ctx, head.Items[0].ID)
			if err != nil {
				return err
			}
			page, _ := strings.CutPrefix(r.URL, "https://example.com/")
			n, err := strconv.Atoi(page)
			if err != nil {
				return err
			}
			if n < 3 {
				next := client.Request{URL: fmt.Sprintf("https://example.com/%d", n+1)}
				if _, err := q.AddRequest(ctx, next, client.RequestOptions{}); err != nil {
					return err
				}
			}
			if err := c.PushItems(ctx, lookup(env, "ACTOR_DEFAULT_DATASET_ID"), map[string]any{"url": r.URL, "n": n}); err != nil {
				return err
			}
			if err := q.MarkHandled(ctx, r); err != nil {
				return err
			}
		}
	})

	ctx := context.Background()
	run, err := srv.StartRun(ctx, "janedoe~crawler", nil, client.StartOptions{})
	if err != nil {
		panic(err)
	}
	if run, err = srv.WaitRun(ctx, run.ID); err != nil {
		panic(err)
	}
	items, err := client.ListItems[map[string]any](ctx, srv.Client(), run.DefaultDatasetID, client.ItemsOptions{Fields: []string{"url"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(run.Status, items.Items)
	// Output: SUCCEEDED [map[url:https://example.com/1] map[url:https://example.com/2] map[url:https://example.com/3]]
}

// lookup returns the value of name in env, a list of NAME=value.
func lookup(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
