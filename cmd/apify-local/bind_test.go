package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/client"
)

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"node main.js", []string{"node", "main.js"}, ""},
		{"  go   run\t. \n", []string{"go", "run", "."}, ""},
		{`'/path with space/bin' -x 'a b' "c d" e\ f`, []string{"/path with space/bin", "-x", "a b", "c d", "e f"}, ""},
		{`sh -c 'echo "$HOME" | wc -c'`, []string{"sh", "-c", `echo "$HOME" | wc -c`}, ""},
		{`a"b"'c'd ''`, []string{"abcd", ""}, ""},
		{`x "a\"b\\c\$d\e"`, []string{"x", `a"b\c$d\e`}, ""},
		{`a=b~c x#y`, []string{"a=b~c", "x#y"}, ""},
		{"", nil, "no command given"},
		{"  ", nil, "no command given"},
		{"echo 'x", nil, "single quote is not closed"},
		{`echo "x`, nil, "double quote is not closed"},
		{`echo x\`, nil, "ends with a backslash"},
		{"echo x | wc", nil, `'|' is a shell's`},
		{"echo x; rm y", nil, `';' is a shell's`},
		{"echo $HOME", nil, `'$' is a shell's`},
		{"echo `id`", nil, "'`' is a shell's"},
		{"echo > f", nil, `'>' is a shell's`},
		{"ls ~/x", nil, `'~' is a shell's`},
		{"ls # comment", nil, `'#' is a shell's`},
		{`echo "$HOME"`, nil, "would be expanded by a shell"},
		{strings.Repeat("x", maxCommandLen+1), nil, "longer than"},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("splitCommand(%.40q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitCommand(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitCommand(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestBindFlagErrors checks that bad --actor and --task values are usage
// errors naming the flag and the reason.
func TestBindFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--actor", "callee"}, "for flag -actor: want NAME=COMMAND"},
		{[]string{"--actor", "=node x.js"}, "NAME must be an ID or username~name"},
		{[]string{"--actor", "a b=node x.js"}, `NAME "a b": ' ' is not allowed`},
		{[]string{"--actor", "a~b~c=node"}, `NAME "a~b~c" is neither an ID nor username~name`},
		{[]string{"--actor", "me~x=node 'x"}, "COMMAND of me~x: a single quote is not closed"},
		{[]string{"--actor", "me~x=node a", "--actor", "me~x=node b"}, "me~x is bound twice"},
		{[]string{"--actor", "local~actor=node a"}, "local~actor is the Actor of COMMAND (--actor-id)"},
		{[]string{"--task", "me~t"}, "for flag -task: want NAME=ACTOR[:INPUT_FILE]"},
		{[]string{"--task", "me~t=me~a:/no/such/file"}, "INPUT_FILE of me~t: open /no/such/file"},
		{[]string{"--task", "me~t=me~a:bind_test.go"}, "INPUT_FILE of me~t: bind_test.go does not hold a JSON object"},
		{[]string{"--task", "me~t=a b"}, `ACTOR of me~t: NAME "a b"`},
	}
	for _, tt := range tests {
		args := append(append([]string{"run"}, tt.args...), "--", "true")
		code, _, stderr := runLocal(t.Context(), args...)
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit code %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// boundCommand returns the --actor command that runs the test binary as
// boundActor in mode, quoted for splitCommand.
func boundCommand(t *testing.T, mode string) []string {
	t.Helper()
	envCmd, err := exec.LookPath("env")
	if err != nil {
		t.Skip("needs env(1)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{envCmd, asActorEnv + "=" + mode, self}
}

func quoted(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// TestRunBoundActors runs a caller under apify-local run with a bound
// callee and a task of it: each run of the callee that the caller starts
// through the API runs the callee's command with its own run ID and web
// server, whose URL is the run's containerUrl; ends FAILED with its exit
// code; has its stdout and stderr in its log and, prefixed, on the
// terminal. A wait for a run of an unbound Actor is warned of.
func TestRunBoundActors(t *testing.T) {
	t.Parallel()
	callee := quoted(boundCommand(t, "callee"))
	args := append([]string{"run", "--actor", "tester~callee=" + callee, "--task", "tester~job=tester~callee", "--"},
		boundCommand(t, "caller")...)
	code, stdout, stderr := runLocal(t.Context(), args...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out, errOut := stdout.String(), stderr.String()
	for _, re := range []string{
		`(?m)^caller: /v2/acts/tester~callee/runs FAILED 3 task "" web "web of \w+ at http://127\.0\.0\.1:\d+" log out true err true$`,
		`(?m)^caller: /v2/actor-tasks/tester~job/runs FAILED 3 task "\w+" web "web of \w+ at http://127\.0\.0\.1:\d+" log out true err true$`,
		`(?m)^caller: own log has hello true <nil>$`,
		`(?m)^\[tester~callee\] callee: out \w+$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("stdout lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "want") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, re := range []string{
		`(?m)^\[tester~callee\] callee: err \w+$`,
		`(?m)^apify-local: Actor tester~nobody is not bound to a command, so its run \w+ never ends; bind it with --actor tester~nobody=COMMAND$`,
		`(?m)^apify-local: run \w+ SUCCEEDED \(exit code 0\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("stderr lacks %s:\n%s", re, errOut)
		}
	}
	if n := strings.Count(errOut, "is not bound to a command"); n != 1 {
		t.Errorf("the unbound Actor is warned of %d times, want once:\n%s", n, errOut)
	}
}

// TestRunMetamorphToBound metamorphs COMMAND's run to a bound Actor: its
// command runs in the same run, with the metamorph's input, and ends it.
func TestRunMetamorphToBound(t *testing.T) {
	t.Parallel()
	args := append([]string{"run", "--system-info-interval", "20ms", "--actor", "tester~target=" + quoted(boundCommand(t, "target")), "--"},
		boundCommand(t, "metamorph-bound")...)
	code, stdout, stderr := runLocal(t.Context(), args...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	runID := runIDIn(stderr.String())
	want := fmt.Sprintf("[tester~target] target: run %s input key INPUT-METAMORPH-1 input {\"x\":1} <nil>\n", runID)
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
	}
	for _, want := range []string{"restarted after a metamorph (restart 1)", " SUCCEEDED (exit code 0)\n"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	var mu sync.Mutex
	w := newPrefixWriter(&b, "[a] ", &mu)
	for _, s := range []string{"one\ntw", "o\n", "", "three\nfour"} {
		if n, err := io.WriteString(w, s); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if diff := cmp.Diff("[a] one\n[a] two\n[a] three\n[a] four", b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if w := newPrefixWriter(&b, "", nil); w != io.Writer(&b) {
		t.Errorf("no prefix: %T, want the writer itself", w)
	}
}

// TestServeBoundActor binds an Actor under apify-local serve: a run that
// the API starts runs its command, ends with its exit code, and has its
// output in its log, beside the web server port it was given.
func TestServeBoundActor(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	s := startServe(t, "--finish-after", "0", "--actor",
		"tester~echo="+quoted([]string{sh, "-c", `echo "out $ACTOR_RUN_ID $ACTOR_WEB_SERVER_URL"; echo err >&2; exit 4`}))
	run, err := s.client.CallActor(t.Context(), "tester~echo", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != client.StatusFailed || run.ExitCode == nil || *run.ExitCode != 4 || !strings.HasPrefix(run.ContainerURL, "http://127.0.0.1:") {
		t.Fatalf("run %s, exit code %v, containerUrl %q; want FAILED, 4 and a loopback URL", run.Status, exitCodeText(run.ExitCode), run.ContainerURL)
	}
	b := logOf(t, s, run.ID)
	for _, want := range []string{" out " + run.ID + " " + run.ContainerURL + "\n", " err\n"} {
		if !strings.Contains(b, want) {
			t.Errorf("log lacks %q:\n%s", want, b)
		}
	}
}

// TestServeAbortBoundActor aborts a run of a bound Actor: its command is
// stopped, and the run ends ABORTED once it has exited.
func TestServeAbortBoundActor(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep")
	}
	s := startServe(t, "--finish-after", "0", "--actor", "tester~sleeper="+quoted([]string{sleep, "60"}))
	run, err := s.client.StartActor(t.Context(), "tester~sleeper", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.AbortRun(t.Context(), run.ID, client.AbortOptions{}); err != nil {
		t.Fatal(err)
	}
	end, err := s.client.WaitForRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != client.StatusAborted || end.ExitCode == nil || *end.ExitCode != 128+15 {
		t.Errorf("run %s, exit code %s; want ABORTED, 143 (SIGTERM)", end.Status, exitCodeText(end.ExitCode))
	}
}

// TestServeTaskInput binds a task with saved input to a bound Actor: its
// runs get the saved input, with the fields of the input they are started
// with in its place.
func TestServeTaskInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(file, []byte(`{"a": 1, "b": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--finish-after", "0", "--actor", "tester~target="+quoted(boundCommand(t, "target")),
		"--task", "tester~job=tester~target:"+file)
	tests := []struct {
		input any
		want  string
	}{
		{nil, `input {"a":1,"b":2} <nil>`},
		{map[string]int{"b": 3, "c": 4}, `input {"a":1,"b":3,"c":4} <nil>`},
	}
	for _, tt := range tests {
		run, err := s.client.CallTask(t.Context(), "tester~job", tt.input, client.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if log := logOf(t, s, run.ID); run.Status != client.StatusSucceeded || !strings.Contains(log, tt.want) {
			t.Errorf("input %v: run %s, log:\n%s\nwant %q", tt.input, run.Status, log, tt.want)
		}
	}
}

// logOf reads the log of run runID from apify-local serve.
func logOf(t *testing.T, s serving, runID string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.env["APIFY_API_BASE_URL"]+"/v2/logs/"+runID, nil)
	req.Header.Set("Authorization", "Bearer "+s.env["APIFY_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRunWaitsForBoundRuns starts a run of a bound Actor from COMMAND,
// which exits at once: apify-local waits for that run to end too.
func TestRunWaitsForBoundRuns(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("needs sh")
	}
	args := append([]string{"run", "--actor", "tester~late=" + quoted([]string{sh, "-c", "sleep 0.2; echo late done"}), "--"},
		boundCommand(t, "starter")...)
	code, stdout, stderr := runLocal(t.Context(), args...)
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if want := "[tester~late] late done\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^apify-local: run \w+ of tester~late SUCCEEDED \(exit code 0\)$`).MatchString(stderr.String()) {
		t.Errorf("stderr lacks the end of tester~late's run:\n%s", stderr)
	}
}
