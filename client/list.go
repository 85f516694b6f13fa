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
	return pageQuery("ListOptions", o.Offset, o.Limit, o.Desc)
}

// pageQuery is the query of a page from offset of at most limit items (0:
// the platform's default), newest first with desc; what names the options
// in errors.
func pageQuery(what string, offset, limit int, desc bool) (url.Values, error) {
	if offset < 0 {
		return nil, fmt.Errorf("client: %s.Offset: %d is negative", what, offset)
	}
	if limit < 0 {
		return nil, fmt.Errorf("client: %s.Limit: %d is negative", what, limit)
	}
	q := url.Values{}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if desc {
		q.Set("desc", "1")
	}
	return q, nil
}

// list fetches one page of the list at path, with the query of o (a
// ListOptions or a StorageListOptions).
func list[T any](ctx context.Context, c *Client, path string, o interface{ query() (url.Values, error) }) (*Page[T], error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return doData[Page[T]](ctx, c, &request{method: "GET", path: path, query: q, policy: retryIdempotent})
}

// all iterates over every item of the list at path from o.Offset on, page by
// page (o.Limit items per page).
func all[T any](ctx context.Context, c *Client, path string, o ListOptions) iter.Seq2[T, error] {
	return paged(path, o.Offset, func(offset int) (*Page[T], error) {
		o.Offset = offset
		return list[T](ctx, c, path, o)
	})
}

// paged is pages over a list paged by offset: fetch returns the page at an
// offset; the next page starts after its items, and an empty page or the
// list's Total ends the list.
func paged[T any](what string, offset int, fetch func(offset int) (*Page[T], error)) iter.Seq2[T, error] {
	return pages(what, offset, func(offset int) ([]T, int, bool, error) {
		p, err := fetch(offset)
		if err != nil {
			return nil, 0, false, err
		}
		next := offset + len(p.Items)
		return p.Items, next, len(p.Items) == 0 || next >= p.Total, nil
	})
}

// pages iterates over the items of a list page by page from the page at
// start: fetch returns the items of the page at a position, where the next
// page starts, and whether the page is the last. A next page that starts
// where its page did is an error, not a loop; what names the list in it.
// The first error ends the iteration after being yielded.
func pages[T any, P comparable](what string, start P, fetch func(at P) (items []T, next P, last bool, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for at := start; ; {
			items, next, last, err := fetch(at)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if last {
				return
			}
			if next == at {
				yield(zero, fmt.Errorf("client: listing %s: the platform's next page starts where this one did, at %#v", what, at))
				return
			}
			at = next
		}
	}
}
