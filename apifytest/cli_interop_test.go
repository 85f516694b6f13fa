package apifytest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
	"github.com/go-apify/actor/internal/testenv"
)

// apifyCLI is the official Apify CLI, pinned.
const apifyCLI = "apify-cli@1.10.0"

// TestApifyCLIInterop runs the official Apify CLI against the server, with
// APIFY_CLIENT_BASE_URL pointing at it: outside a run (login, call, which
// prints the callee's log, and runs ls) and inside one (actor get-input,
// push-data, set-value, charge). It is long (each CLI command starts node and the
// CLI, 15 s in all), so it runs with the long tests.
func TestApifyCLIInterop(t *testing.T) {
	t.Parallel()
	testenv.Long(t)
	dir := nodetest.Install(t, apifyCLI)
	nodetest.Node(t)
	cli := filepath.Join(dir, "node_modules", ".bin", "apify")

	srv := pricedServer(t, 0) // so that apify actor charge has an event to charge
	srv.RegisterActor("someone~other", func(_ context.Context, env []string, input []byte) error {
		for _, kv := range env {
			if id, ok := strings.CutPrefix(kv, "ACTOR_RUN_ID="); ok {
				_, err := fmt.Fprintf(srv.LogWriter(id), "other got %s\n", input)
				return err
			}
		}
		return fmt.Errorf("no ACTOR_RUN_ID")
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // node is slow on a busy machine
	defer cancel()
	home := t.TempDir()
	apify := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, cli, args...)
		cmd.Dir = t.TempDir()
		cmd.Env = append(append(os.Environ(), env...),
			"HOME="+home, "APIFY_CLI_DISABLE_TELEMETRY=1", "APIFY_CLI_SKIP_UPDATE_CHECK=1", "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("apify %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	outside := srv.Env("")
	if out := apify(outside, "login", "--token", srv.Token); !strings.Contains(out, "user-"+srv.UserID) {
		t.Errorf("apify login: %s", out)
	}
	out := apify(outside, "call", "someone~other", "--input", `{"a":1}`)
	if !strings.Contains(out, `other got {"a":1}`) || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("apify call lacks the callee's log or its status:\n%s", out)
	}
	runs, err := srv.Client().StartActor(ctx, "someone~other", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitRun(ctx, runs.ID); err != nil {
		t.Fatal(err)
	}
	if out := apify(outside, "runs", "ls", "someone~other"); !strings.Contains(out, runs.ID) || !strings.Contains(out, "2 out of 2 runs") {
		t.Errorf("apify runs ls lacks run %s of 2:\n%s", runs.ID, out)
	}

	run, err := srv.StartRun(ctx, "me~in-run", []byte(`{"x":1}`), client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inside := srv.Env(run.ID)
	if out := apify(inside, "actor", "get-input"); strings.TrimSpace(out) != `{"x":1}` {
		t.Errorf("apify actor get-input = %q", out)
	}
	apify(inside, "actor", "push-data", `{"pushed":true}`)
	apify(inside, "actor", "set-value", "OUT", `{"v":2}`)
	apify(inside, "actor", "charge", "page", "--count", "2")
	c := srv.Client()
	var rec struct{ V int }
	if err := c.GetRecordJSON(ctx, run.DefaultKeyValueStoreID, "OUT", &rec); err != nil || rec.V != 2 {
		t.Errorf("OUT record: %+v, %v", rec, err)
	}
	page, err := client.ListItems[map[string]bool](ctx, c, run.DefaultDatasetID, client.ItemsOptions{})
	if err != nil || len(page.Items) != 1 || !page.Items[0]["pushed"] {
		t.Errorf("dataset: %+v, %v", page, err)
	}
	if got, err := c.GetRun(ctx, run.ID); err != nil || got.ChargedEventCounts["page"] != 2 {
		t.Errorf("after apify actor charge page --count 2: %+v, %v", got.ChargedEventCounts, err)
	}
}
