package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// actorsPath is the path of Actors used for run starts: the canonical
// /v2/actors/, which the official JS client uses too (the platform still
// serves the legacy /v2/acts/ alias).
const actorsPath = "/v2/actors/"

// StartOptions configure a new run of an Actor or task. Zero values leave the
// platform's defaults (those of the Actor or task) in place. The root
// package's actor.StartOptions is this type.
type StartOptions struct {
	// Build is the tag or number of the build to run, e.g. "latest" or
	// "0.1.2".
	Build string
	// MemoryMbytes is the run's memory in megabytes: a power of 2, at least
	// 128.
	MemoryMbytes int
	// Timeout is the run's time limit, sent in whole seconds (rounded up).
	Timeout time.Duration
	// MaxItems caps the dataset items charged for a pay-per-result Actor.
	MaxItems int
	// WaitForFinish makes the platform hold the response until the run ends
	// or this much time has passed, at most 60 seconds; sent in whole seconds
	// (rounded up).
	WaitForFinish time.Duration
	// Webhooks are ad-hoc webhooks of the new run, sent encoded in the
	// webhooks= parameter (see EncodeWebhooks), and validated as
	// WebhookDefinition.Validate does except that ACTOR.RUN.CREATED is
	// allowed and a Description is not (the parameter has no such field).
	// No idempotency key is generated for them.
	Webhooks []WebhookDefinition
	// ContentType is the media type of the input; the default is
	// application/json.
	ContentType string
}

// StartActor starts a run of an Actor (POST /v2/actors/{actorId}/runs) and
// returns it, usually in status READY or RUNNING.
//
// actorID is an Actor ID or a name "username~actor-name" ("username/actor-name"
// is accepted too). input is the run's input: nil sends none, a []byte or
// json.RawMessage is sent as is (with o.ContentType), anything else is encoded
// as JSON.
//
// Starting a run is not idempotent on the platform, so the request is retried
// only when the platform cannot have acted on it (see StartError). Every
// failure is a *StartError saying whether a run may nevertheless have
// started.
func (c *Client) StartActor(ctx context.Context, actorID string, input any, o StartOptions) (*Run, error) {
	id, err := actorPathID("actor ID", actorID)
	if err != nil {
		return nil, &StartError{Err: err}
	}
	return c.start(ctx, actorsPath+id+"/runs", input, o)
}

// StartTask starts a run of an Actor task (POST /v2/actor-tasks/{taskId}/runs)
// and returns it. taskID is a task ID or "username~task-name". The input, if
// any, overrides fields of the task's input. Retries and errors are as for
// StartActor.
func (c *Client) StartTask(ctx context.Context, taskID string, input any, o StartOptions) (*Run, error) {
	id, err := actorPathID("task ID", taskID)
	if err != nil {
		return nil, &StartError{Err: err}
	}
	return c.start(ctx, "/v2/actor-tasks/"+id+"/runs", input, o)
}

// CallActor starts a run of an Actor like StartActor and waits for it to end
// like WaitForRun. A failure to start is a *StartError. A failure while
// waiting is returned with the run as last seen, so the caller still has its
// ID.
func (c *Client) CallActor(ctx context.Context, actorID string, input any, o StartOptions) (*Run, error) {
	run, err := c.StartActor(ctx, actorID, input, o)
	if err != nil {
		return nil, err
	}
	return c.waitStarted(ctx, run)
}

// CallTask starts a run of a task like StartTask and waits for it to end like
// WaitForRun; errors are as for CallActor.
func (c *Client) CallTask(ctx context.Context, taskID string, input any, o StartOptions) (*Run, error) {
	run, err := c.StartTask(ctx, taskID, input, o)
	if err != nil {
		return nil, err
	}
	return c.waitStarted(ctx, run)
}

func (c *Client) waitStarted(ctx context.Context, run *Run) (*Run, error) {
	if run.Status.IsTerminal() {
		return run, nil
	}
	done, err := c.waitForRun(ctx, run.ID, notFoundPolls)
	if done == nil { // waiting failed before the run was seen again
		done = run
	}
	return done, err
}

func (c *Client) start(ctx context.Context, path string, input any, o StartOptions) (*Run, error) {
	q, err := o.query()
	if err != nil {
		return nil, &StartError{Err: err}
	}
	r := &request{method: "POST", path: path, query: q, longPoll: o.WaitForFinish}
	if r.body, r.contentType, err = encodeInput(input, o.ContentType); err != nil {
		return nil, &StartError{Err: err}
	}
	run, err := doData[Run](ctx, c, r)
	if err != nil {
		return nil, &StartError{MayHaveStarted: mayHaveReached(err), Err: err}
	}
	return run, nil
}

// Validate checks the options as StartActor and StartTask do before they
// send anything: invalid webhooks are a *ValidationError (matching
// ErrInvalidWebhook) naming webhooks[i] and the field.
func (o StartOptions) Validate() error {
	_, err := o.query()
	return err
}

// query validates the options and turns them into URL parameters.
func (o StartOptions) query() (url.Values, error) {
	q := url.Values{}
	if o.Build != "" {
		if strings.TrimSpace(o.Build) != o.Build {
			return nil, fmt.Errorf("client: StartOptions.Build: %q has surrounding spaces", o.Build)
		}
		q.Set("build", o.Build)
	}
	switch m := o.MemoryMbytes; {
	case m < 0:
		return nil, fmt.Errorf("client: StartOptions.MemoryMbytes: %d is negative", m)
	case m > 0 && (m < 128 || bits.OnesCount(uint(m)) != 1):
		return nil, fmt.Errorf("client: StartOptions.MemoryMbytes: %d is not a power of 2 of at least 128", m)
	case m > 0:
		q.Set("memory", strconv.Itoa(m))
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("client: StartOptions.Timeout: %v is negative", o.Timeout)
	}
	if o.Timeout > 0 {
		q.Set("timeout", strconv.FormatInt(ceilSeconds(o.Timeout), 10))
	}
	if o.MaxItems < 0 {
		return nil, fmt.Errorf("client: StartOptions.MaxItems: %d is negative", o.MaxItems)
	}
	if o.MaxItems > 0 {
		q.Set("maxItems", strconv.Itoa(o.MaxItems))
	}
	switch w := o.WaitForFinish; {
	case w < 0:
		return nil, fmt.Errorf("client: StartOptions.WaitForFinish: %v is negative", w)
	case w > maxWaitForFinish:
		return nil, fmt.Errorf("client: StartOptions.WaitForFinish: %v exceeds the platform's maximum of %v", w, maxWaitForFinish)
	case w > 0:
		q.Set("waitForFinish", strconv.FormatInt(ceilSeconds(w), 10))
	}
	hooks, err := EncodeWebhooks(o.Webhooks)
	if err != nil {
		return nil, fmt.Errorf("client: StartOptions.Webhooks: %w", err)
	}
	if hooks != "" {
		q.Set("webhooks", hooks)
	}
	if hasCTL(o.ContentType) {
		return nil, fmt.Errorf("client: StartOptions.ContentType: %q contains control characters", o.ContentType)
	}
	return q, nil
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// encodeInput returns the body and content type of a run's input.
func encodeInput(input any, contentType string) ([]byte, string, error) {
	if contentType == "" {
		contentType = "application/json"
	}
	var body []byte
	switch v := input.(type) {
	case nil:
		return nil, "", nil
	case []byte:
		body = v
	case json.RawMessage:
		body = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, "", fmt.Errorf("client: encoding the input as JSON: %w", err)
		}
		body = b
	}
	if body == nil {
		body = []byte{}
	}
	return body, contentType, nil
}

// actorPathID turns an Actor or task ID, or a "username/name" or
// "username~name" name, into a path segment.
func actorPathID(field, id string) (string, error) {
	if user, name, ok := strings.Cut(id, "/"); ok {
		if user == "" || name == "" || strings.Contains(name, "/") {
			return "", &IDError{Field: field, ID: id, Reason: `is not a name "username/name"`}
		}
		id = user + "~" + name
	}
	return pathID(field, id)
}
