package actor

import (
	"context"
	"fmt"

	"github.com/go-apify/actor/client"
)

// StartOptions configure a run started by [Actor.Start] and its relatives.
// Zero values leave the platform's defaults. It is [client.StartOptions],
// which has the details: its Webhooks are [Webhook] values, validated as
// [client.WebhookDefinition.Validate] does except that ACTOR.RUN.CREATED is
// allowed and a Description is not (the webhooks parameter has no such
// field); no idempotency key is derived for them. WaitForFinish is how long
// the start request may wait for the run to end; Call and CallTask wait for
// the end of the run whatever it is.
type StartOptions = client.StartOptions

type startFunc func(c *client.Client, ctx context.Context, id string, input any, o client.StartOptions) (*client.Run, error)

func (a *Actor) start(ctx context.Context, what, id string, input any, o StartOptions, f startFunc) (*client.Run, error) {
	if err := o.Validate(); err != nil {
		return nil, notStarted(what, id, err)
	}
	c, _, err := a.ready(ctx)
	if err != nil {
		return nil, notStarted(what, id, err)
	}
	done := a.track()
	defer done()
	run, err := f(c, ctx, id, input, o)
	if err != nil {
		// Call and CallTask return the run as last seen when waiting fails.
		return run, fmt.Errorf("actor: %s %s: %w", what, id, err)
	}
	return run, nil
}

// notStarted is the error of a start that failed before anything was sent:
// like every failure to start, a *client.StartError, here one that says no
// run was started.
func notStarted(what, id string, err error) error {
	return fmt.Errorf("actor: %s %s: %w", what, id, &client.StartError{Err: err})
}

// Start starts the Actor actorID ("user~name", "user/name" or an ID) with
// input (nil for none; []byte and json.RawMessage sent as they are; anything
// else JSON-encoded) and returns the new run. The webhooks in o are checked
// before anything is sent; an invalid one is an error matching
// [ErrInvalidWebhook]. Every failure wraps a *[client.StartError], reachable
// with errors.As, that says whether a run may have started anyway.
func (a *Actor) Start(ctx context.Context, actorID string, input any, o StartOptions) (*client.Run, error) {
	return a.start(ctx, "start actor", actorID, input, o, (*client.Client).StartActor)
}

// Call is [Actor.Start] that then waits for the run to finish (bounded by
// ctx) and returns it in its final state. When waiting fails, the error
// (not a *client.StartError: the run exists) comes with the run as last
// seen, so that the caller still has its ID.
func (a *Actor) Call(ctx context.Context, actorID string, input any, o StartOptions) (*client.Run, error) {
	return a.start(ctx, "call actor", actorID, input, o, (*client.Client).CallActor)
}

// StartTask is [Actor.Start] for the saved task taskID; input, if not nil,
// overrides fields of the task's input.
func (a *Actor) StartTask(ctx context.Context, taskID string, input any, o StartOptions) (*client.Run, error) {
	return a.start(ctx, "start task", taskID, input, o, (*client.Client).StartTask)
}

// CallTask is [Actor.StartTask] that then waits for the run to finish
// (bounded by ctx) and returns it in its final state; errors are as for
// [Actor.Call].
func (a *Actor) CallTask(ctx context.Context, taskID string, input any, o StartOptions) (*client.Run, error) {
	return a.start(ctx, "call task", taskID, input, o, (*client.Client).CallTask)
}
