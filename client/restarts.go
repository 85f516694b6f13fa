package client

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The calls in this file restart a run in place: the same run ID and default
// storages, a new container. None is idempotent on the platform (a repeated
// reboot restarts the run twice), so each is retried only when the request
// cannot have reached the platform: the connection could not be made, 429 or
// 503. A failure after the request may have arrived is returned at once.

// RebootRun restarts the container of a running run (POST
// /v2/actor-runs/{id}/reboot) and returns the run. Only a RUNNING run can be
// rebooted; the process of the run is stopped and started again with the
// same run ID and storages, so whatever it did not persist is lost.
func (c *Client) RebootRun(ctx context.Context, runID string) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	return doData[Run](ctx, c, &request{
		method: "POST", path: "/v2/actor-runs/" + p + "/reboot", policy: retryUnlessReceived,
	})
}

// MetamorphOptions configure [Client.MetamorphRun].
type MetamorphOptions struct {
	// Build is the tag or number of the target Actor's build; empty means
	// the target's default build (usually "latest").
	Build string
	// ContentType is the media type of the input; the default is
	// application/json.
	ContentType string
}

// MetamorphRun turns a running run into a run of another Actor (POST
// /v2/actor-runs/{id}/metamorph?targetActorId=…&build=…) and returns the
// run. The run keeps its ID and default storages; the platform stores input
// as the record INPUT-METAMORPH-1 of the default key-value store and starts
// the target Actor with ACTOR_INPUT_KEY naming that record.
//
// targetActorID is an Actor ID or a name "username~actor-name"
// ("username/actor-name" is accepted too). input is encoded as for
// [Client.StartActor]: nil sends none, a []byte or json.RawMessage is sent as
// is with o.ContentType, anything else as JSON.
func (c *Client) MetamorphRun(ctx context.Context, runID, targetActorID string, input any, o MetamorphOptions) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	target := strings.Replace(targetActorID, "/", "~", 1)
	if strings.TrimSpace(target) == "" {
		return nil, fmt.Errorf("client: target Actor ID is empty")
	}
	q := url.Values{"targetActorId": {target}}
	if err := checkBuild("MetamorphOptions.Build", o.Build); err != nil {
		return nil, err
	}
	if o.Build != "" {
		q.Set("build", o.Build)
	}
	if hasCTL(o.ContentType) {
		return nil, fmt.Errorf("client: MetamorphOptions.ContentType: %q contains control characters", o.ContentType)
	}
	r := &request{method: "POST", path: "/v2/actor-runs/" + p + "/metamorph", query: q, policy: retryUnlessReceived}
	if r.body, r.contentType, err = encodeInput(input, o.ContentType); err != nil {
		return nil, err
	}
	return doData[Run](ctx, c, r)
}

// ResurrectOptions configure [Client.ResurrectRun]. Zero values keep what
// the run had before.
type ResurrectOptions struct {
	// Build is the tag or number of the build to run; empty means the
	// build the run used (the one a tag resolved to then, not now).
	Build string
	// MemoryMbytes is the run's memory in megabytes: a power of 2, at least
	// 128.
	MemoryMbytes int
	// Timeout is the run's time limit, sent in whole seconds (rounded up).
	Timeout time.Duration
	// MaxItems caps the dataset items charged for a pay-per-result Actor.
	MaxItems int
	// MaxTotalChargeUSD caps the cost of a pay-per-event run.
	MaxTotalChargeUSD float64
	// RestartOnError, when not nil, says whether the resurrected run is
	// restarted when it fails.
	RestartOnError *bool
}

// ResurrectRun makes a finished run (SUCCEEDED, FAILED, ABORTED or
// TIMED-OUT) RUNNING again (POST /v2/actor-runs/{id}/resurrect) with the
// same storages, as after a migration, and returns it. The platform fires
// the ACTOR.RUN.RESURRECTED webhook event.
func (c *Client) ResurrectRun(ctx context.Context, runID string, o ResurrectOptions) (*Run, error) {
	p, err := pathID("run ID", runID)
	if err != nil {
		return nil, err
	}
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return doData[Run](ctx, c, &request{
		method: "POST", path: "/v2/actor-runs/" + p + "/resurrect", query: q, policy: retryUnlessReceived,
	})
}

func (o ResurrectOptions) query() (url.Values, error) {
	q := url.Values{}
	if err := checkBuild("ResurrectOptions.Build", o.Build); err != nil {
		return nil, err
	}
	if o.Build != "" {
		q.Set("build", o.Build)
	}
	switch m := o.MemoryMbytes; {
	case m < 0:
		return nil, fmt.Errorf("client: ResurrectOptions.MemoryMbytes: %d is negative", m)
	case m > 0 && (m < 128 || bits.OnesCount(uint(m)) != 1):
		return nil, fmt.Errorf("client: ResurrectOptions.MemoryMbytes: %d is not a power of 2 of at least 128", m)
	case m > 0:
		q.Set("memory", strconv.Itoa(m))
	}
	switch {
	case o.Timeout < 0:
		return nil, fmt.Errorf("client: ResurrectOptions.Timeout: %v is negative", o.Timeout)
	case o.Timeout > 0:
		q.Set("timeout", strconv.FormatInt(ceilSeconds(o.Timeout), 10))
	}
	switch {
	case o.MaxItems < 0:
		return nil, fmt.Errorf("client: ResurrectOptions.MaxItems: %d is negative", o.MaxItems)
	case o.MaxItems > 0:
		q.Set("maxItems", strconv.Itoa(o.MaxItems))
	}
	switch usd := o.MaxTotalChargeUSD; {
	case usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0):
		return nil, fmt.Errorf("client: ResurrectOptions.MaxTotalChargeUSD: %v is not a finite, positive amount", usd)
	case usd > 0:
		q.Set("maxTotalChargeUsd", strconv.FormatFloat(usd, 'f', -1, 64))
	}
	if o.RestartOnError != nil {
		q.Set("restartOnError", strconv.FormatBool(*o.RestartOnError))
	}
	return q, nil
}

// checkBuild rejects a build tag with surrounding spaces or control
// characters.
func checkBuild(field, build string) error {
	if strings.TrimSpace(build) != build || hasCTL(build) {
		return fmt.Errorf("client: %s: %q has surrounding spaces or control characters", field, build)
	}
	return nil
}
