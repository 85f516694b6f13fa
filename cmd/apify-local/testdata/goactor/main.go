// Command goactor is an Actor written with this module's actor package, for
// the tests of apify-local run. It prints its input (read from its default
// key-value store) to stdout, adds an ad-hoc webhook for its own run's end
// to -webhook (if set), charges one -charge event (if set), calls the Actor
// -call (if set) with actor.Call and an ad-hoc webhook for its end to
// -call-webhook and prints the run and its log, prints "ready", then sleeps
// -sleep and exits with -exit.
//
// With -items N it is instead an Actor that survives restarts (run by
// actor.Main): it adds the -webhook, then works through items 1 to N, one
// every -item-time, keeping the count done in its state (actor.UseState),
// and prints a line for its start (with the count it loaded), each item,
// its stop and its end, each with its process ID. With -api-file it first
// writes the run's API base URL and token to that file, for a test's
// receiver to call the API with. With -times it appends "WHAT PID
// UNIXNANO" lines to that file when it hears migrating and when it has
// loaded its state ("resumed"), for a benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	actor "github.com/go-apify/actor"
)

func main() {
	webhook := flag.String("webhook", "", "URL of the ad-hoc webhook to add")
	sleep := flag.Duration("sleep", 0, "how long to sleep before exiting")
	exit := flag.Int("exit", 0, "exit code")
	charge := flag.String("charge", "", "the name of an event to charge once")
	call := flag.String("call", "", "the Actor to call")
	callWebhook := flag.String("call-webhook", "", "URL of the ad-hoc webhook of the called run")
	items := flag.Int("items", 0, "count items up to this with a persisted state (see the package doc)")
	itemTime := flag.Duration("item-time", 10*time.Millisecond, "how long one item takes, with -items")
	apiFile := flag.String("api-file", "", "file to write the API base URL and token to, with -items")
	times := flag.String("times", "", "file to append the times of migrating and of the state's loading to, with -items")
	flag.Parse()
	if *items > 0 {
		actor.Main(func(ctx context.Context) error { return countItems(ctx, *webhook, *items, *itemTime, *apiFile, *times) })
		return
	}

	ctx := context.Background()
	if err := actor.Init(ctx); err != nil {
		actor.Fail(ctx, err)
		return
	}
	input, err := readInput(ctx, actor.Env())
	if err != nil {
		actor.Fail(ctx, err)
		return
	}
	fmt.Printf("input: %s\n", input)
	if *webhook != "" {
		_, err := actor.AddWebhook(ctx, actor.Webhook{
			EventTypes: []actor.EventType{
				actor.EventActorRunSucceeded, actor.EventActorRunFailed,
				actor.EventActorRunTimedOut, actor.EventActorRunAborted,
			},
			RequestURL:      *webhook,
			PayloadTemplate: `{"runId": {{resource.id}}, "status": {{resource.status}}, "exitCode": {{resource.exitCode}}, "event": {{eventType}}}`,
		})
		if err != nil {
			actor.Fail(ctx, err)
			return
		}
	}
	if *charge != "" {
		res, err := actor.Charge(ctx, *charge, 1)
		if err != nil {
			actor.Fail(ctx, err)
			return
		}
		fmt.Printf("charged %s: limit reached %v\n", *charge, res.EventChargeLimitReached)
	}
	if *call != "" {
		run, err := actor.Call(ctx, *call, map[string]string{"from": "go"}, actor.StartOptions{Webhooks: []actor.Webhook{{
			EventTypes: []actor.EventType{actor.EventActorRunSucceeded, actor.EventActorRunFailed},
			RequestURL: *callWebhook,
		}}})
		if err != nil {
			actor.Fail(ctx, err)
			return
		}
		log, err := get(ctx, actor.Env(), "/v2/logs/"+run.ID)
		if err != nil {
			actor.Fail(ctx, err)
			return
		}
		fmt.Printf("called %s %s\ncallee log %q\n", run.Status, run.ID, log)
	}
	fmt.Println("ready")
	time.Sleep(*sleep)
	actor.Exit(ctx, actor.ExitOptions{ExitCode: *exit})
}

// progress is countItems's persisted state.
type progress struct {
	Done int `json:"done"`
}

// countItems is the Actor of -items.
func countItems(ctx context.Context, webhook string, items int, itemTime time.Duration, apiFile, times string) error {
	pid := os.Getpid()
	note := func(what string) {
		if times == "" {
			return
		}
		line := fmt.Sprintf("%s %d %d\n", what, pid, time.Now().UnixNano())
		f, err := os.OpenFile(times, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = f.WriteString(line)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goactor:", err)
		}
	}
	actor.OnMigrating(func(context.Context, actor.Migrating) { note("migrating") })
	if apiFile != "" {
		api := actor.Env().APIBaseURL + "\n" + os.Getenv("APIFY_TOKEN") + "\n"
		if err := os.WriteFile(apiFile, []byte(api), 0o600); err != nil {
			return err
		}
	}
	state, err := actor.UseState(ctx, nil, "", progress{})
	if err != nil {
		return err
	}
	note("resumed")
	done := state.Get().Done
	fmt.Printf("goactor: pid %d start done=%d\n", pid, done)
	if webhook != "" {
		w, err := actor.AddWebhook(ctx, actor.Webhook{
			EventTypes: []actor.EventType{
				actor.EventActorRunSucceeded, actor.EventActorRunFailed,
				actor.EventActorRunTimedOut, actor.EventActorRunAborted,
			},
			RequestURL:      webhook,
			PayloadTemplate: `{"runId": {{resource.id}}, "status": {{resource.status}}, "restartCount": {{resource.stats.restartCount}}, "event": {{eventType}}}`,
		})
		if err != nil {
			return err
		}
		fmt.Printf("goactor: pid %d webhook %s\n", pid, w.ID)
	}
	for i := done + 1; i <= items; i++ {
		t := time.NewTimer(itemTime)
		select {
		case <-ctx.Done():
			t.Stop()
			fmt.Printf("goactor: pid %d stopped done=%d: %v\n", pid, i-1, context.Cause(ctx))
			return context.Cause(ctx)
		case <-t.C:
		}
		state.Update(func(p *progress) { p.Done = i })
		fmt.Printf("goactor: pid %d item %d\n", pid, i)
	}
	fmt.Printf("goactor: pid %d finished done=%d\n", pid, state.Get().Done)
	return nil
}

// readInput reads the run's INPUT record; "none" when there is none.
func readInput(ctx context.Context, env actor.Environment) (string, error) {
	return get(ctx, env, "/v2/key-value-stores/"+env.DefaultKeyValueStoreID+"/records/INPUT")
}

// get GETs path of the API with the run's token; "none" for a 404.
func get(ctx context.Context, env actor.Environment, path string) (string, error) {
	url := env.APIBaseURL + path
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("APIFY_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "none", nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s %v", path, resp.StatusCode, b, err)
	}
	return string(b), nil
}
