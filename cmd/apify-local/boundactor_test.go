package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// boundActor is an Actor run by apify-local in the tests of --actor (see
// TestRunBoundActors), when mode is one of:
//
//	caller           calls tester~callee and the task tester~job, each through the
//	                 callee's web server and to its end, reads their logs and its own,
//	                 and waits for a run of the unbound tester~nobody; prints what it saw
//	callee           prints a line to stdout and one to stderr, answers one request to
//	                 its web server with its run ID, exits 3
//	metamorph-bound  metamorphs its run to tester~target, waits to be killed
//	starter          starts a run of tester~late, exits 0 at once
//	target           prints its run ID, input key and input, exits 0
//
// It returns its exit code, and false for any other mode.
func boundActor(mode string) (int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runID := os.Getenv("ACTOR_RUN_ID")
	switch mode {
	case "caller":
		fmt.Println("caller: hello")
		nobody, err := apiJSON(ctx, "POST", "/v2/acts/tester~nobody/runs", "{}")
		if err != nil {
			fmt.Println("caller:", err)
			return 90, true
		}
		waited := make(chan struct{})
		go func() { // warned of at once, then waits until aborted below
			defer close(waited)
			_, _ = apiJSON(ctx, "GET", "/v2/actor-runs/"+nobody.ID+"?waitForFinish=30", "")
		}()
		for _, path := range []string{"/v2/acts/tester~callee/runs", "/v2/actor-tasks/tester~job/runs"} {
			if err := callThroughWeb(ctx, path); err != nil {
				fmt.Println("caller:", path, err)
				return 91, true
			}
		}
		own, err := apiText(ctx, "/v2/logs/"+runID)
		fmt.Printf("caller: own log has hello %v %v\n", strings.Contains(own, "caller: hello"), err)
		for { // the warning is in the run's log too
			if l, err := apiText(ctx, "/v2/logs/"+nobody.ID); err != nil || strings.Contains(l, "nothing runs Actor run") {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
		_, _ = apiJSON(ctx, "POST", "/v2/actor-runs/"+nobody.ID+"/abort", "")
		<-waited
		return 0, true
	case "callee":
		fmt.Println("callee: out", runID)
		fmt.Fprintln(os.Stderr, "callee: err", runID)
		l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("ACTOR_WEB_SERVER_PORT"))
		if err != nil {
			fmt.Println("callee:", err)
			return 92, true
		}
		served := make(chan struct{})
		go func() {
			_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				// All of the answer is sent before the process may exit.
				body := fmt.Sprintf("web of %s at %s", runID, os.Getenv("ACTOR_WEB_SERVER_URL"))
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = io.WriteString(w, body)
				w.(http.Flusher).Flush()
				select {
				case <-served:
				default:
					close(served)
				}
			}))
		}()
		select {
		case <-served:
		case <-ctx.Done():
		}
		return 3, true
	case "metamorph-bound":
		if _, err := apiJSON(ctx, "POST", "/v2/actor-runs/"+runID+"/metamorph?targetActorId=tester~target", `{"x":1}`); err != nil {
			fmt.Println("metamorph-bound:", err)
			return 93, true
		}
		<-ctx.Done() // killed before
		return 94, true
	case "starter":
		if _, err := apiJSON(ctx, "POST", "/v2/acts/tester~late/runs", "{}"); err != nil {
			fmt.Println("starter:", err)
			return 95, true
		}
		return 0, true
	case "target":
		key := os.Getenv("ACTOR_INPUT_KEY")
		input, err := apiText(ctx, "/v2/key-value-stores/"+os.Getenv("ACTOR_DEFAULT_KEY_VALUE_STORE_ID")+"/records/"+key)
		fmt.Printf("target: run %s input key %s input %s %v\n", runID, key, input, err)
		return 0, true
	}
	return 0, false
}

// callThroughWeb starts a run at path, reaches its web server at its
// containerUrl, waits for its end and reads its log, and prints what it saw.
func callThroughWeb(ctx context.Context, path string) error {
	run, err := apiJSON(ctx, "POST", path, "{}")
	if err != nil {
		return err
	}
	var web string
	for web == "" { // until the callee listens
		if run, err = apiJSON(ctx, "GET", "/v2/actor-runs/"+run.ID, ""); err != nil {
			return err
		}
		if run.Status != "READY" && run.Status != "RUNNING" {
			return fmt.Errorf("run %s ended %s before its web server answered", run.ID, run.Status)
		}
		var resp *http.Response
		if run.ContainerURL != "" {
			resp, err = webClient.Get(run.ContainerURL)
		}
		if run.ContainerURL == "" || err != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		web = string(b)
	}
	end, err := apiJSON(ctx, "GET", "/v2/actor-runs/"+run.ID+"?waitForFinish=30", "")
	if err != nil {
		return err
	}
	log, err := apiText(ctx, "/v2/logs/"+run.ID)
	if err != nil {
		return err
	}
	code := -1
	if end.ExitCode != nil {
		code = *end.ExitCode
	}
	fmt.Printf("caller: %s %s %d task %q web %q log out %v err %v\n", path, end.Status, code, end.ActorTaskID, web,
		strings.Contains(log, "callee: out "+run.ID), strings.Contains(log, "callee: err "+run.ID))
	if want := "web of " + run.ID + " at " + run.ContainerURL; web != want {
		fmt.Printf("caller: web %q, want %q\n", web, want)
	}
	return nil
}

// webClient reaches the callee's web server.
var webClient = &http.Client{Timeout: 10 * time.Second}

// runOf is what the helpers read of a run.
type runOf struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	ExitCode     *int   `json:"exitCode"`
	ActorTaskID  string `json:"actorTaskId"`
	ContainerURL string `json:"containerUrl"`
}

// apiJSON calls the run's API with its token and returns the run it answers.
func apiJSON(ctx context.Context, method, path, body string) (runOf, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, os.Getenv("APIFY_API_BASE_URL")+path, r)
	if err != nil {
		return runOf{}, err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("APIFY_TOKEN"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return runOf{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return runOf{}, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var v struct{ Data runOf }
	err = json.Unmarshal(b, &v)
	return v.Data, err
}

// apiText GETs path of the run's API with its token and returns the body.
func apiText(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", os.Getenv("APIFY_API_BASE_URL")+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("APIFY_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b), err
}
