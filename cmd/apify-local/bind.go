package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/internal/procstat"
)

// actorUsage and taskUsage are the help texts of --actor and --task.
const (
	actorUsage = "bind an Actor to a command, `NAME=COMMAND`: each run of Actor NAME (an ID or username~name) that the API starts runs COMMAND, " +
		"split into words as a shell would (quotes and backslashes) with no expansion; repeatable"
	taskUsage = "bind a task to an Actor, `NAME=ACTOR[:INPUT_FILE]` (IDs or username~name): the task's runs are runs of that Actor, " +
		"their input INPUT_FILE's JSON object with the fields of the input a run is started with in its place; repeatable"
)

// binding is an Actor bound to a command by --actor.
type binding struct {
	name    string   // the Actor's ID or username~name, as given
	command []string // the command and its arguments
}

// bindings is the repeatable --actor flag.
type bindings []binding

func (b *bindings) String() string {
	names := make([]string, len(*b))
	for i, x := range *b {
		names[i] = x.name
	}
	return strings.Join(names, ",")
}

func (b *bindings) Set(v string) error {
	name, command, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want NAME=COMMAND")
	}
	if err := checkRef(name); err != nil {
		return err
	}
	for _, x := range *b {
		if x.name == name {
			return fmt.Errorf("%s is bound twice", name)
		}
	}
	words, err := splitCommand(command)
	if err != nil {
		return fmt.Errorf("COMMAND of %s: %w", name, err)
	}
	*b = append(*b, binding{name, words})
	return nil
}

// taskBinding is a task bound to an Actor by --task.
type taskBinding struct {
	name, actor string
	input       []byte // the saved input, a JSON object; nil for none
}

// maxTaskInput bounds a task's saved input.
const maxTaskInput = 4 << 20

// taskBindings is the repeatable --task flag.
type taskBindings []taskBinding

func (t *taskBindings) String() string {
	names := make([]string, len(*t))
	for i, x := range *t {
		names[i] = x.name + "=" + x.actor
		if x.input != nil {
			names[i] += ":…"
		}
	}
	return strings.Join(names, ",")
}

func (t *taskBindings) Set(v string) error {
	name, actor, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want NAME=ACTOR[:INPUT_FILE]")
	}
	if err := checkRef(name); err != nil {
		return err
	}
	actor, file, withInput := strings.Cut(actor, ":")
	if err := checkRef(actor); err != nil {
		return fmt.Errorf("ACTOR of %s: %w", name, err)
	}
	b := taskBinding{name: name, actor: actor}
	if withInput {
		in, err := readTaskInput(file)
		if err != nil {
			return fmt.Errorf("INPUT_FILE of %s: %w", name, err)
		}
		b.input = in
	}
	*t = append(*t, b)
	return nil
}

// readTaskInput reads a task's saved input: a JSON object of at most
// maxTaskInput bytes.
func readTaskInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTaskInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTaskInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxTaskInput)
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(b, &in); err != nil || in == nil {
		return nil, fmt.Errorf("%s does not hold a JSON object", path)
	}
	return b, nil
}

// maxRefLen bounds an Actor's or task's reference.
const maxRefLen = 256

// checkRef checks an Actor's or task's reference: an ID, or username~name
// (username/name), of letters, digits and "-_.".
func checkRef(ref string) error {
	if ref == "" || len(ref) > maxRefLen {
		return fmt.Errorf("NAME must be an ID or username~name of 1 to %d characters, not %q", maxRefLen, ref)
	}
	seps := 0
	for _, c := range ref {
		switch {
		case c == '~' || c == '/':
			seps++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("NAME %q: %q is not allowed in an ID or username~name", ref, c)
		}
	}
	if seps > 1 || strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "~") || strings.HasSuffix(ref, "/") {
		return fmt.Errorf("NAME %q is neither an ID nor username~name", ref)
	}
	return nil
}

// maxCommandLen bounds a bound command.
const maxCommandLen = 64 << 10

// splitCommand splits s into words as a POSIX shell does, honouring single
// quotes, double quotes (in which a backslash escapes only \ " $ ` and a
// newline) and backslashes, with nothing else of a shell: no variables,
// globs, pipes or redirections. The characters that would make a shell do
// more (| & ; < > ( ) $ ` and a leading ~ or #) are an error unless quoted,
// so that a command is never run otherwise than it reads; for a shell's
// features give one explicitly, as in sh -c '...'.
func splitCommand(s string) ([]string, error) {
	if len(s) > maxCommandLen {
		return nil, fmt.Errorf("longer than %d bytes", maxCommandLen)
	}
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("a single quote is not closed")
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0:
					i++
					if s[i] != '\n' {
						word.WriteByte(s[i])
					}
				case s[i] == '$' || s[i] == '`':
					return nil, fmt.Errorf("%q inside double quotes would be expanded by a shell: escape it or use single quotes", s[i])
				default:
					word.WriteByte(s[i])
				}
			}
			if i == len(s) {
				return nil, errors.New("a double quote is not closed")
			}
			inWord = true
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("it ends with a backslash")
			}
			i++
			if s[i] != '\n' {
				word.WriteByte(s[i])
				inWord = true
			}
		case strings.IndexByte("|&;<>()$`", c) >= 0, !inWord && (c == '~' || c == '#'):
			return nil, fmt.Errorf("%q is a shell's: quote it, or run a shell (sh -c '...')", c)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	if len(words) == 0 {
		return nil, errors.New("no command given")
	}
	return words, nil
}

// platform runs the commands of the Actors that apify-local runs, each run
// in a process group of its own, with the run's environment, a web server
// port of its own, and its output in the run's log and on the terminal.
type platform struct {
	srv            atomic.Pointer[apifytest.Server] // set once made
	grace          time.Duration
	stdout, stderr io.Writer // the terminal's
	termMu         sync.Mutex

	mu      sync.Mutex
	pids    map[string]*atomic.Int64 // run ID → the process running as it
	track   bool                     // note the runs of bound Actors in started
	started map[string]string        // run ID → bound Actor, of runs not seen ended
}

func newPlatform(grace time.Duration, stdout, stderr io.Writer) *platform {
	return &platform{grace: grace, stdout: stdout, stderr: stderr, pids: map[string]*atomic.Int64{}, started: map[string]string{}}
}

// bind registers each binding's command as its Actor's code, and each task
// binding, with its saved input.
func (p *platform) bind(actors bindings, tasks taskBindings) error {
	for _, b := range actors {
		p.srv.Load().RegisterActor(b.name, p.actorFunc(b.name, b.command, nil))
	}
	for _, t := range tasks {
		p.srv.Load().RegisterTask(t.name, t.actor)
		if t.input == nil {
			continue
		}
		if code, body := p.api(http.MethodPut, "/v2/actor-tasks/"+t.name+"/input", "application/json", t.input); code != http.StatusOK {
			return fmt.Errorf("--task %s: saving its input: %d %s", t.name, code, body)
		}
	}
	return nil
}

// api calls the server's handler in process, as the default user, and
// returns the status and body of its answer.
func (p *platform) api(method, path, contentType string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.srv.Load().Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	p.srv.Load().Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// ownRun is the run of apify-local run's COMMAND: the only one that gets
// apify-local's stdin, and whose exit code apify-local exits with. Any other
// run of its Actor, started through the API, runs COMMAND with neither.
type ownRun struct {
	stdin   io.Reader
	started chan struct{} // closed once id is set, or the start failed
	id      string
	exit    atomic.Int64 // COMMAND's last exit code in it, as a shell reports it
}

// actorFunc returns the Actor function that runs command as a run: with the
// run's environment and a web server port, in a process group of its own,
// its output in the run's log and on the terminal, each line after
// "[name] " but in own. own, if not nil, is apify-local run's own run, for
// the function of COMMAND's Actor.
func (p *platform) actorFunc(name string, command []string, own *ownRun) apifytest.ActorFunc {
	return func(ctx context.Context, env []string, _ []byte) error {
		runID := envValue(env, "ACTOR_RUN_ID")
		var stdin io.Reader
		isOwn := false
		prefix := "[" + name + "] "
		if own != nil {
			select {
			case <-own.started:
			case <-ctx.Done():
				return ctx.Err()
			}
			if isOwn = runID == own.id; isOwn {
				stdin, prefix = own.stdin, ""
			}
		}
		if why, ok := apifytest.RestartOf(ctx); ok {
			fmt.Fprintf(p.stderr, "apify-local: %s\n", restartLine(runID, why, command[0]))
		}
		if !isOwn {
			p.note(runID, name)
		}
		webEnv, err := p.webServerEnv(runID)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		pid := p.pidOf(runID)
		defer p.forget(runID)
		log := newRunLogWriter(p.srv.Load(), runID)
		stdout := teeWriter(log, newPrefixWriter(p.stdout, prefix, &p.termMu))
		stderr := teeWriter(log, newPrefixWriter(p.stderr, prefix, &p.termMu))
		code, err := execute(ctx, command, mergeEnv(os.Environ(), append(env, webEnv...)), p.grace, pid, stdin, stdout, stderr)
		if isOwn {
			own.exit.Store(int64(code))
		}
		return err
	}
}

// note notes that run runID of bound Actor name started, for waitBound.
func (p *platform) note(runID, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.track {
		p.started[runID] = name
	}
}

// waitBound waits until every run of a bound Actor that started has ended,
// those that start meanwhile too, or ctx ends, and prints a line with the
// end of each.
func (p *platform) waitBound(ctx context.Context) {
	srv := p.srv.Load()
	for ctx.Err() == nil {
		p.mu.Lock()
		var runID, name string
		for id, n := range p.started {
			runID, name = id, n
			break
		}
		p.mu.Unlock()
		if runID == "" {
			return
		}
		if run, ok := srv.Run(runID); ok {
			if !run.Status.IsTerminal() {
				fmt.Fprintf(p.stderr, "apify-local: waiting for run %s of %s to end\n", runID, name)
				run, _ = srv.WaitRun(ctx, runID)
			}
			if run != nil && run.Status.IsTerminal() {
				fmt.Fprintf(p.stderr, "apify-local: run %s of %s %s (exit code %s)\n", runID, name, run.Status, exitCodeText(run.ExitCode))
			}
		}
		p.mu.Lock()
		if ctx.Err() == nil {
			delete(p.started, runID)
		}
		p.mu.Unlock()
	}
}

// pending reports whether a run of a bound Actor that started may not have
// ended.
func (p *platform) pending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.started) > 0
}

// pidOf returns where the process running as run runID keeps its ID.
func (p *platform) pidOf(runID string) *atomic.Int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	pid, ok := p.pids[runID]
	if !ok {
		pid = new(atomic.Int64)
		p.pids[runID] = pid
	}
	return pid
}

// forget forgets the process of run runID, which has exited.
func (p *platform) forget(runID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pids, runID)
}

// usage measures the process group of run runID, while its command runs.
func (p *platform) usage(runID string) (apifytest.ProcessUsage, bool) {
	p.mu.Lock()
	pid, ok := p.pids[runID]
	p.mu.Unlock()
	if !ok || pid.Load() == 0 {
		return apifytest.ProcessUsage{}, false
	}
	u, err := procstat.Group(int(pid.Load()))
	if err != nil {
		return apifytest.ProcessUsage{}, false
	}
	return apifytest.ProcessUsage{MemoryBytes: u.MemoryBytes, CPUTime: u.CPUTime}, true
}

// webServerEnv returns the web server variables of run runID: a free
// loopback port, picked on its first start and kept across its restarts,
// as ACTOR_WEB_SERVER_PORT and APIFY_CONTAINER_PORT, and its URL as
// ACTOR_WEB_SERVER_URL, APIFY_CONTAINER_URL and the run's containerUrl. The
// URL reaches the process directly: on loopback no proxy stands between.
func (p *platform) webServerEnv(runID string) ([]string, error) {
	var url string
	if run, ok := p.srv.Load().Run(runID); ok && strings.HasPrefix(run.ContainerURL, "http://127.0.0.1:") {
		url = run.ContainerURL // a restart keeps the run's port
	} else {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("no free port for the web server: %w", err)
		}
		url = "http://127.0.0.1:" + strconv.Itoa(port)
		if err := p.srv.Load().SetContainerURL(runID, url); err != nil {
			return nil, err
		}
	}
	ps := strings.TrimPrefix(url, "http://127.0.0.1:")
	return []string{
		"ACTOR_WEB_SERVER_PORT=" + ps, "ACTOR_WEB_SERVER_URL=" + url,
		"APIFY_CONTAINER_PORT=" + ps, "APIFY_CONTAINER_URL=" + url,
	}, nil
}

// Web server ports are picked in [minWebPort, maxWebPort), below the
// ephemeral ports (32768 and up on Linux) that the kernel hands to
// outgoing connections, one of which could take a port picked among them
// before the run's process listens on it.
const (
	minWebPort = 20000
	maxWebPort = 32768
)

// freePort returns a loopback TCP port that was free a moment ago: one
// below the ephemeral ports if a few tries find one, else any.
func freePort() (int, error) {
	for range 20 {
		port := minWebPort + rand.IntN(maxWebPort-minWebPort)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
