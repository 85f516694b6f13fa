package client

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
)

// ListOptions select a page of a list. The zero value asks for the platform's
// defaults: from the start, up to 1000 items, oldest first.
type ListOptions struct {
	// Offset is the number of items to skip.
	Offset int
	// Limit is the maximum number of items per page; the platform caps it at
	// 1000.
	Limit int
	// Desc sorts the newest items first.
	Desc bool
}

func (o ListOptions) query() (url.Values, error) {
	if o.Offset < 0 {
		return nil, fmt.Errorf("client: ListOptions.Offset: %d is negative", o.Offset)
	}
	if o.Limit < 0 {
		return nil, fmt.Errorf("client: ListOptions.Limit: %d is negative", o.Limit)
	}
	q := url.Values{}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Desc {
		q.Set("desc", "1")
	}
	return q, nil
}

// list fetches one page of the list at path.
func list[T any](ctx context.Context, c *Client, path string, o ListOptions) (*Page[T], error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return doData[Page[T]](ctx, c, &request{method: "GET", path: path, query: q, policy: retryIdempotent})
}

// all iterates over every item of the list at path from o.Offset on, page by
// page (o.Limit items per page). It stops at the first error, which it yields.
func all[T any](ctx context.Context, c *Client, path string, o ListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := list[T](ctx, c, path, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			o.Offset += len(p.Items)
			if len(p.Items) == 0 || o.Offset >= p.Total {
				return
			}
		}
	}
}
