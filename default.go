package actor

import (
	"context"

	"github.com/go-apify/actor/client"
)

// defaultActor backs the package-level functions: it reads the process
// environment, logs to slog.Default(), exits with os.Exit and handles SIGINT
// and SIGTERM in Main.
var defaultActor = new(Actor)

// Default returns the Actor behind the package-level functions.
func Default() *Actor { return defaultActor }

// Init calls [Actor.Init] on the default Actor.
func Init(ctx context.Context) error { return defaultActor.Init(ctx) }

// Env calls [Actor.Env] on the default Actor.
func Env() Environment { return defaultActor.Env() }

// IsAtHome calls [Actor.IsAtHome] on the default Actor.
func IsAtHome() bool { return defaultActor.IsAtHome() }

// Exit calls [Actor.Exit] on the default Actor.
func Exit(ctx context.Context, opts ExitOptions) { defaultActor.Exit(ctx, opts) }

// Fail calls [Actor.Fail] on the default Actor.
func Fail(ctx context.Context, err error) { defaultActor.Fail(ctx, err) }

// Main calls [Actor.Main] on the default Actor.
func Main(fn func(ctx context.Context) error) { defaultActor.Main(fn) }

// SetStatusMessage calls [Actor.SetStatusMessage] on the default Actor.
func SetStatusMessage(ctx context.Context, msg string) error {
	return defaultActor.SetStatusMessage(ctx, msg)
}

// SetTerminalStatusMessage calls [Actor.SetTerminalStatusMessage] on the
// default Actor.
func SetTerminalStatusMessage(ctx context.Context, msg string) error {
	return defaultActor.SetTerminalStatusMessage(ctx, msg)
}

// AddWebhook calls [Actor.AddWebhook] on the default Actor.
func AddWebhook(ctx context.Context, w Webhook) (*client.Webhook, error) {
	return defaultActor.AddWebhook(ctx, w)
}

// Start calls [Actor.Start] on the default Actor.
func Start(ctx context.Context, actorID string, input any, o StartOptions) (*client.Run, error) {
	return defaultActor.Start(ctx, actorID, input, o)
}

// Call calls [Actor.Call] on the default Actor.
func Call(ctx context.Context, actorID string, input any, o StartOptions) (*client.Run, error) {
	return defaultActor.Call(ctx, actorID, input, o)
}

// StartTask calls [Actor.StartTask] on the default Actor.
func StartTask(ctx context.Context, taskID string, input any, o StartOptions) (*client.Run, error) {
	return defaultActor.StartTask(ctx, taskID, input, o)
}

// CallTask calls [Actor.CallTask] on the default Actor.
func CallTask(ctx context.Context, taskID string, input any, o StartOptions) (*client.Run, error) {
	return defaultActor.CallTask(ctx, taskID, input, o)
}

// OnSystemInfo calls [Actor.OnSystemInfo] on the default Actor.
func OnSystemInfo(h func(ctx context.Context, e SystemInfo)) (remove func()) {
	return defaultActor.OnSystemInfo(h)
}

// OnMigrating calls [Actor.OnMigrating] on the default Actor.
func OnMigrating(h func(ctx context.Context, e Migrating)) (remove func()) {
	return defaultActor.OnMigrating(h)
}

// OnAborting calls [Actor.OnAborting] on the default Actor.
func OnAborting(h func(ctx context.Context, e Aborting)) (remove func()) {
	return defaultActor.OnAborting(h)
}

// OnPersistState calls [Actor.OnPersistState] on the default Actor.
func OnPersistState(h func(ctx context.Context, e PersistState)) (remove func()) {
	return defaultActor.OnPersistState(h)
}

// Charge calls [Actor.Charge] on the default Actor.
func Charge(ctx context.Context, eventName string, count int) (ChargeResult, error) {
	return defaultActor.Charge(ctx, eventName, count)
}

// ChargeWith calls [Actor.ChargeWith] on the default Actor.
func ChargeWith(ctx context.Context, eventName string, count int, o ChargeOptions) (ChargeResult, error) {
	return defaultActor.ChargeWith(ctx, eventName, count, o)
}

// Reboot calls [Actor.Reboot] on the default Actor.
func Reboot(ctx context.Context) error { return defaultActor.Reboot(ctx) }

// Metamorph calls [Actor.Metamorph] on the default Actor.
func Metamorph(ctx context.Context, targetActorID string, input any, o MetamorphOptions) error {
	return defaultActor.Metamorph(ctx, targetActorID, input, o)
}

// GetInput calls [Actor.GetInput] on the default Actor.
func GetInput(ctx context.Context, v any) error { return defaultActor.GetInput(ctx, v) }

// PushData calls [Actor.PushData] on the default Actor.
func PushData(ctx context.Context, items any) error { return defaultActor.PushData(ctx, items) }

// GetValue calls [Actor.GetValue] on the default Actor.
func GetValue(ctx context.Context, key string, v any) error {
	return defaultActor.GetValue(ctx, key, v)
}

// SetValue calls [Actor.SetValue] on the default Actor.
func SetValue(ctx context.Context, key string, v any) error {
	return defaultActor.SetValue(ctx, key, v)
}

// OpenDataset calls [Actor.OpenDataset] on the default Actor.
func OpenDataset(ctx context.Context, name string) (*Dataset, error) {
	return defaultActor.OpenDataset(ctx, name)
}

// OpenKeyValueStore calls [Actor.OpenKeyValueStore] on the default Actor.
func OpenKeyValueStore(ctx context.Context, name string) (*KeyValueStore, error) {
	return defaultActor.OpenKeyValueStore(ctx, name)
}

// OpenRequestQueue calls [Actor.OpenRequestQueue] on the default Actor.
func OpenRequestQueue(ctx context.Context, name string) (*RequestQueue, error) {
	return defaultActor.OpenRequestQueue(ctx, name)
}
