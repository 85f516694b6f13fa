package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// asActorEnv, set, makes the test binary an Actor for the tests of
// restarts (see helperActor); its value says what the Actor does.
const asActorEnv = "APIFY_LOCAL_TEST_AS_ACTOR"

// startsEnv names a file to which the helper Actor appends a line per
// start.
const startsEnv = "APIFY_LOCAL_TEST_STARTS"

// helperActor is an Actor run by apify-local in the tests of restarts. It
// appends a line to the file that startsEnv names, connects to its events
// websocket and, on its first start, acts as mode says:
//
//	exit-on-migrating=N  migrates its run, exits with code N when it hears migrating
//	abort-gracefully     aborts its run gracefully, exits 0 when it hears aborting
//	reboot               reboots its run, then waits to be killed
//	metamorph            metamorphs its run to another Actor, prints the answer, exits 0
//	system-info          keeps a core busy until a systemInfo event shows it, prints it, exits 0
//	restart-latency      migrates its run, notes when migrating arrives (see note), exits 3
//	first-call           (on any start) notes the time and makes its first API call
//
// On any later start it exits 0 at once, after its first API call in
// restart-latency. It returns its exit code.
func helperActor(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	starts, err := countStart(os.Getenv(startsEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 70
	}
	if starts > 1 || mode == "first-call" {
		if mode == "restart-latency" || mode == "first-call" {
			return firstCall(ctx)
		}
		fmt.Println("helper: started again")
		return 0
	}
	conn, _, err := websocket.Dial(ctx, os.Getenv("ACTOR_EVENTS_WEBSOCKET_URL"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: events:", err)
		return 71
	}
	defer conn.CloseNow()
	events := make(chan frameOf, 100)
	go func() {
		defer close(events)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var f frameOf
			if json.Unmarshal(b, &f) == nil {
				events <- f
			}
		}
	}()
	first, ok := <-events // the connection is counted: migrations reach it
	if !ok {
		return 77
	}
	fmt.Println("helper: listening")
	seen := func(name string) {
		if first.Name != name {
			waitFor(events, name)
		}
	}

	name, arg, _ := strings.Cut(mode, "=")
	run := "/v2/actor-runs/" + os.Getenv("ACTOR_RUN_ID")
	switch name {
	case "exit-on-migrating":
		// Asks for its own migration once it listens (a migration
		// before that would go unheard), not waiting for the answer.
		go func() { _, _, _ = apiPost(ctx, "/_apifytest/runs/"+os.Getenv("ACTOR_RUN_ID")+"/migrate", "") }()
		seen("migrating")
		var code int
		fmt.Sscan(arg, &code)
		return code
	case "abort-gracefully":
		if _, _, err := apiPost(ctx, run+"/abort?gracefully=true", ""); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 72
		}
		seen("aborting")
		fmt.Println("helper: heard aborting")
		return 0
	case "reboot":
		if status, body, err := apiPost(ctx, run+"/reboot", ""); err != nil || status != 200 {
			fmt.Fprintln(os.Stderr, "helper: reboot:", status, body, err)
			return 73
		}
		<-ctx.Done() // killed before
		return 74
	case "metamorph":
		status, body, err := apiPost(ctx, run+"/metamorph?targetActorId=someone~else", `{"x":1}`)
		fmt.Printf("helper: metamorph: %d %s %v\n", status, body, err)
		return 0
	case "restart-latency":
		// Asks for its own migration (not waiting for the answer), notes
		// when migrating arrives and exits at once, to be restarted.
		go func() { _, _, _ = apiPost(ctx, "/_apifytest/runs/"+os.Getenv("ACTOR_RUN_ID")+"/migrate", "") }()
		seen("migrating")
		if err := note("migrating"); err != nil {
			return 78
		}
		return 3
	case "system-info":
		for start := time.Now(); ; {
			select {
			case f, ok := <-events:
				if !ok {
					return 75
				}
				var d struct{ MemCurrentBytes, CPUCurrentUsage float64 }
				if f.Name == "systemInfo" && json.Unmarshal(f.Data, &d) == nil && d.CPUCurrentUsage > 0 && d.MemCurrentBytes > 0 {
					fmt.Printf("helper: systemInfo memCurrentBytes=%.0f cpuCurrentUsage=%.1f\n", d.MemCurrentBytes, d.CPUCurrentUsage)
					return 0
				}
			default:
				for time.Since(start) < time.Millisecond { // burn
				}
				start = time.Now()
			}
		}
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
	return 76
}

// firstCall notes the time, then makes the process's first API call: GET
// of its run.
func firstCall(ctx context.Context) int {
	if err := note("call"); err != nil {
		return 79
	}
	req, err := http.NewRequestWithContext(ctx, "GET", os.Getenv("APIFY_API_BASE_URL")+"/v2/actor-runs/"+os.Getenv("ACTOR_RUN_ID"), nil)
	if err != nil {
		return 80
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("APIFY_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 81
	}
	resp.Body.Close()
	return 0
}

// timesEnv names a file to which note appends "WHAT UNIXNANO" lines.
const timesEnv = "APIFY_LOCAL_TEST_TIMES"

func note(what string) error {
	f, err := os.OpenFile(os.Getenv(timesEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s %d\n", what, time.Now().UnixNano())
	return err
}

type frameOf struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
}

// waitFor reads events until one named name (or the end).
func waitFor(events <-chan frameOf, name string) {
	for f := range events {
		if f.Name == name {
			return
		}
	}
}

// countStart appends a line to the file path and returns how many it has.
func countStart(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.WriteString("start\n"); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(path)
	return strings.Count(string(b), "\n"), err
}

// apiPost POSTs body (JSON, none if empty) to the run's API with its token.
func apiPost(ctx context.Context, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", os.Getenv("APIFY_API_BASE_URL")+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("APIFY_TOKEN"))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
