package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// maxWaitForFinish is the longest the platform holds a request with
// waitForFinish before answering.
const maxWaitForFinish = 60 * time.Second

// GetRun returns an Actor run (GET /v2/actor-runs/{id}).
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	return doData[Run](ctx, c, &request{method: "GET", path: "/v2/actor-runs/" + p, policy: retryIdempotent})
}

// WaitForRun waits until a run ends and returns it in its terminal status
// (which may be FAILED, TIMED-OUT or ABORTED: check Run.Status). It asks the
// platform to hold each request until the run ends, up to 60 seconds
// (waitForFinish), and asks again until the run is terminal or ctx is done.
// When ctx ends first, it returns the run as last seen (nil if never seen)
// with the context's error.
func (c *Client) WaitForRun(ctx context.Context, runID string) (*Run, error) {
	return c.waitForRun(ctx, runID, 0)
}

// notFoundPolls is how many times waiting for a run just started tolerates a
// 404: the platform's read replicas may not know the run yet.
const notFoundPolls = 5

// waitForRun is WaitForRun that takes up to lagPolls 404s for replica lag:
// notFoundPolls for a run that certainly exists, 0 otherwise.
func (c *Client) waitForRun(ctx context.Context, runID string, lagPolls int) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	var last *Run
	notFound := 0
	for {
		wait := maxWaitForFinish
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl).Truncate(time.Second))
		}
		wait = max(wait, 0)
		began := time.Now()
		run, err := doData[Run](ctx, c, &request{
			method: "GET", path: "/v2/actor-runs/" + p,
			query:    url.Values{"waitForFinish": {strconv.Itoa(int(wait / time.Second))}},
			longPoll: wait, policy: retryIdempotent,
		})
		switch {
		case IsNotFound(err) && notFound < lagPolls:
			notFound++
		case err != nil:
			return last, err
		case run.Status.IsTerminal():
			return run, nil
		default:
			last = run
		}
		// A platform that answers early must not be polled in a tight loop.
		if pause := c.minBackoff - time.Since(began); pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return last, fmt.Errorf("client: waiting for run %s: %w", runID, ctx.Err())
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return last, fmt.Errorf("client: waiting for run %s: %w", runID, err)
		}
	}
}

// AbortOptions say how AbortRun stops a run. The zero value aborts at once.
type AbortOptions struct {
	// Gracefully gives the run the aborting and persistState events and 30
	// seconds before it is stopped.
	Gracefully bool
}

// AbortRun aborts a run (POST /v2/actor-runs/{id}/abort) and returns it,
// usually in status ABORTING or ABORTED. Aborting a run that has ended or is
// aborting does nothing, so the request is retried like an idempotent one.
func (c *Client) AbortRun(ctx context.Context, runID string, o AbortOptions) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if o.Gracefully {
		q = url.Values{"gracefully": {"true"}}
	}
	return doData[Run](ctx, c, &request{
		method: "POST", path: "/v2/actor-runs/" + p + "/abort", query: q,
		policy: retryIdempotent,
	})
}

// RunUpdate is a change of a run's status message.
type RunUpdate struct {
	// StatusMessage is shown in the platform's console for the run.
	StatusMessage string
	// IsStatusMessageTerminal marks the message as the run's last one.
	IsStatusMessageTerminal bool
}

// UpdateRun sets a run's status message (PUT /v2/actor-runs/{id}) and returns
// the run.
func (c *Client) UpdateRun(ctx context.Context, runID string, u RunUpdate) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(struct {
		RunID                   string `json:"runId"`
		StatusMessage           string `json:"statusMessage"`
		IsStatusMessageTerminal bool   `json:"isStatusMessageTerminal"`
	}{runID, u.StatusMessage, u.IsStatusMessageTerminal})
	if err != nil {
		return nil, fmt.Errorf("client: RunUpdate: %w", err)
	}
	return doData[Run](ctx, c, &request{
		method: "PUT", path: "/v2/actor-runs/" + p,
		body: body, contentType: "application/json",
		policy: retryIdempotent,
	})
}
