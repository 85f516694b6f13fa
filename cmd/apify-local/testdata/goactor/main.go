// Command goactor is an Actor written with this module's actor package, for
// the tests of apify-local run. It prints its input (read from its default
// key-value store) to stdout, adds an ad-hoc webhook for its own run's end
// to -webhook (if set), charges one -charge event (if set), calls the Actor
// -call (if set) with actor.Call and an ad-hoc webhook for its end to
// -call-webhook and prints the run and its log, prints "ready", then sleeps
// -sleep and exits with -exit.
package main

import (
	"context"
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
	flag.Parse()

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
