package apifytest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/go-apify/actor/internal/nodetest"
	"github.com/google/go-cmp/cmp"
)

// TestJSSDKCallInterop runs a JS Actor written with the official SDK that
// calls another Actor (a registered Go function that logs a line) with
// Actor.call, reads the callee's log and last run with the official
// client, and tries to configure a proxy.
func TestJSSDKCallInterop(t *testing.T) {
	t.Parallel()
	dir := nodetest.Install(t, nodetest.Apify, nodetest.ApifyClient)
	node := nodetest.Node(t)

	srv := apifytest.NewTestServer(t)
	srv.RegisterActor("someone~other", func(ctx context.Context, env []string, input []byte) error {
		vars := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		if err := srv.Client().PushItems(ctx, vars["ACTOR_DEFAULT_DATASET_ID"], []map[string]bool{{"done": true}}); err != nil {
			return err
		}
		_, err := fmt.Fprintf(srv.LogWriter(vars["ACTOR_RUN_ID"]), "other got %s\n", input)
		return err
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // node is slow on a busy machine
	defer cancel()
	run, err := srv.StartRun(ctx, "me~caller", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("testdata/call_interop.js")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(append(os.Environ(), srv.Env(run.ID)...), "NODE_MODULES="+filepath.Join(dir, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}

	var got struct {
		RunID, Status, Log, MissingLog, LastRunID, ActorName, Username string
		ProxyError                                                     string
		ActiveJobs                                                     int
		Listed                                                         []string
		LastItems                                                      []map[string]any
		Deleted                                                        bool
	}
	if err := srv.Client().GetRecordJSON(ctx, run.DefaultKeyValueStoreID, "OUTPUT", &got); err != nil {
		t.Fatalf("%v\nnode's output:\n%s", err, out)
	}
	wantLog := `other got {"greeting":"hello"}` + "\n"
	got.Log = untimed(t, []byte(got.Log))
	want := got
	want.Status, want.Log, want.MissingLog, want.LastRunID = "SUCCEEDED", startLine+wantLog, "undefined", got.RunID
	want.ActorName, want.Username = "someone~other", "user-"+srv.UserID
	want.ActiveJobs, want.Listed, want.Deleted = 1, []string{got.RunID}, true // the caller runs
	want.LastItems = []map[string]any{{"done": true}}
	if !strings.Contains(got.ProxyError, "There is no Apify Proxy on the local platform") {
		t.Errorf("createProxyConfiguration failed with %q, want it to say there is no proxy", got.ProxyError)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the JS Actor saw (-want +got):\n%s", diff)
	}
	// Actor.call prints the callee's log, as it streams, under its name.
	printed := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(string(out), "")
	line := regexp.MustCompile(`(?m)^other runId:` + got.RunID + ` -> \S+Z other got \{"greeting":"hello"\}$`)
	if !line.MatchString(printed) {
		t.Errorf("node's output lacks the callee's log line:\n%s", printed)
	}
}
