package actor_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-apify/actor"
	"github.com/google/go-cmp/cmp"
)

func TestEnvPrecedence(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		vars map[string]string
		want actor.Environment
	}{
		"empty": {nil, actor.Environment{}},
		"current names": {
			map[string]string{
				"APIFY_IS_AT_HOME": "1", "ACTOR_RUN_ID": "run", "ACTOR_ID": "act", "ACTOR_TASK_ID": "task",
				"APIFY_USER_ID": "user", "APIFY_TOKEN": "tok", "APIFY_API_BASE_URL": "http://127.0.0.1:1",
				"ACTOR_DEFAULT_DATASET_ID": "ds", "ACTOR_DEFAULT_KEY_VALUE_STORE_ID": "kvs", "ACTOR_DEFAULT_REQUEST_QUEUE_ID": "rq",
			},
			actor.Environment{
				IsAtHome: true, RunID: "run", ActorID: "act", TaskID: "task", UserID: "user", Token: actor.NewToken("tok"),
				APIBaseURL: "http://127.0.0.1:1", DefaultDatasetID: "ds", DefaultKeyValueStoreID: "kvs", DefaultRequestQueueID: "rq",
			},
		},
		"legacy names": {
			map[string]string{
				"APIFY_ACTOR_RUN_ID": "run", "APIFY_ACTOR_ID": "act", "APIFY_ACTOR_TASK_ID": "task",
				"APIFY_DEFAULT_DATASET_ID": "ds", "APIFY_DEFAULT_KEY_VALUE_STORE_ID": "kvs", "APIFY_DEFAULT_REQUEST_QUEUE_ID": "rq",
			},
			actor.Environment{RunID: "run", ActorID: "act", TaskID: "task", DefaultDatasetID: "ds", DefaultKeyValueStoreID: "kvs", DefaultRequestQueueID: "rq"},
		},
		"current names win": {
			map[string]string{
				"ACTOR_RUN_ID": "new-run", "APIFY_ACTOR_RUN_ID": "old-run",
				"ACTOR_ID": "new-act", "APIFY_ACTOR_ID": "old-act",
				"ACTOR_TASK_ID": "new-task", "APIFY_ACTOR_TASK_ID": "old-task",
				"ACTOR_DEFAULT_DATASET_ID": "new-ds", "APIFY_DEFAULT_DATASET_ID": "old-ds",
				"ACTOR_DEFAULT_KEY_VALUE_STORE_ID": "new-kvs", "APIFY_DEFAULT_KEY_VALUE_STORE_ID": "old-kvs",
				"ACTOR_DEFAULT_REQUEST_QUEUE_ID": "new-rq", "APIFY_DEFAULT_REQUEST_QUEUE_ID": "old-rq",
			},
			actor.Environment{RunID: "new-run", ActorID: "new-act", TaskID: "new-task", DefaultDatasetID: "new-ds", DefaultKeyValueStoreID: "new-kvs", DefaultRequestQueueID: "new-rq"},
		},
		"empty current name falls back": {
			map[string]string{"ACTOR_RUN_ID": "", "APIFY_ACTOR_RUN_ID": "old-run"},
			actor.Environment{RunID: "old-run"},
		},
		"at home true":  {map[string]string{"APIFY_IS_AT_HOME": "true"}, actor.Environment{IsAtHome: true}},
		"at home TRUE":  {map[string]string{"APIFY_IS_AT_HOME": "TRUE"}, actor.Environment{IsAtHome: true}},
		"at home 0":     {map[string]string{"APIFY_IS_AT_HOME": "0"}, actor.Environment{}},
		"at home false": {map[string]string{"APIFY_IS_AT_HOME": "False"}, actor.Environment{}},
		"at home empty": {map[string]string{"APIFY_IS_AT_HOME": ""}, actor.Environment{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := actor.New(actor.WithLookupEnv(env(tc.vars)))
			if diff := cmp.Diff(tc.want, a.Env()); diff != "" {
				t.Errorf("Env() (-want +got):\n%s", diff)
			}
			if got := a.IsAtHome(); got != tc.want.IsAtHome {
				t.Errorf("IsAtHome() = %t, want %t", got, tc.want.IsAtHome)
			}
		})
	}
}

func TestWithEnviron(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		env  []string
		want actor.Environment
	}{
		"nil":          {nil, actor.Environment{}},
		"values":       {[]string{"ACTOR_RUN_ID=run", "APIFY_TOKEN=a=b", "APIFY_IS_AT_HOME=1"}, actor.Environment{RunID: "run", Token: actor.NewToken("a=b"), IsAtHome: true}},
		"last wins":    {[]string{"ACTOR_RUN_ID=first", "ACTOR_RUN_ID=second"}, actor.Environment{RunID: "second"}},
		"no separator": {[]string{"ACTOR_RUN_ID", "ACTOR_ID=act"}, actor.Environment{ActorID: "act"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, actor.New(actor.WithEnviron(tc.env)).Env()); diff != "" {
				t.Errorf("Env() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvReadOnce(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ACTOR_RUN_ID": "first"}
	lookups := 0
	a := actor.New(actor.WithLookupEnv(func(name string) (string, bool) {
		lookups++
		v, ok := vars[name]
		return v, ok
	}))
	if err := a.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := lookups
	vars["ACTOR_RUN_ID"] = "second"
	if got := a.Env().RunID; got != "first" || lookups != n {
		t.Errorf("after Init, Env().RunID = %q with %d more lookups; want %q read at Init", got, lookups-n, "first")
	}
}

func TestEnvNeverPrintsToken(t *testing.T) {
	t.Parallel()
	const token = "apify_api_SeCrEt"
	e := actor.Environment{IsAtHome: true, RunID: "RUN123", Token: actor.NewToken(token)}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, e), fmt.Sprintf(verb, &e))
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("env", "env", e)
	outs = append(outs, logged.String())
	j, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))

	for _, out := range outs {
		if strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
			t.Errorf("output reveals the token: %s", out)
		}
	}
	if s := e.String(); !strings.Contains(s, "RUN123") || !strings.Contains(s, `Token:"[redacted]"`) {
		t.Errorf("String() = %s, want the run ID and a redacted token", s)
	}
	if !strings.Contains(logged.String(), `"runId":"RUN123"`) || !strings.Contains(logged.String(), `"token":"[redacted]"`) {
		t.Errorf("logged %s, want the run ID and a redacted token", logged.String())
	}
	if s := (actor.Environment{}).String(); !strings.Contains(s, `Token:""`) {
		t.Errorf("String() of an empty Environment = %s, want an empty token shown as empty", s)
	}
}

// TestEnvInsideStructNeverShowsToken: an Environment in a field of another
// value, exported or not, shows no token under any fmt verb, nor in JSON,
// XML, text or gob; a decoded one has no token; Reveal still has it.
func TestEnvInsideStructNeverShowsToken(t *testing.T) {
	t.Parallel()
	const token = "apify_api_InSiDe"
	e := actor.Environment{RunID: "RUN123", Token: actor.NewToken(token)}
	type Exported struct {
		Env   actor.Environment
		Token actor.Token `xml:"token,attr"`
	}
	type unexported struct {
		env   actor.Environment
		token actor.Token
	}
	outer := Exported{Env: e, Token: e.Token}
	inner := unexported{env: e, token: e.Token}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{outer, &outer, inner, &inner, e.Token, []actor.Environment{e}, map[string]actor.Environment{"e": e}} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
	}
	j, err := json.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	x, err := xml.Marshal(outer)
	if err != nil {
		t.Fatal(err)
	}
	text, err := e.Token.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var g bytes.Buffer
	if err := gob.NewEncoder(&g).Encode(outer); err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j), string(x), string(text), g.String())
	for _, out := range outs {
		if strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
			t.Errorf("output reveals the token: %s", out)
		}
	}
	if !strings.Contains(string(j), `"Token":"[redacted]"`) || !strings.Contains(string(x), `token="[redacted]"`) {
		t.Errorf("JSON %s and XML %s should show the token as [redacted]", j, x)
	}
	var back Exported
	if err := gob.NewDecoder(&g).Decode(&back); err != nil {
		t.Fatalf("gob decode: %v", err)
	}
	if back.Env.RunID != "RUN123" || back.Env.Token.IsSet() || back.Token.IsSet() {
		t.Errorf("gob round trip = %+v, want the run ID and no token", back)
	}
	if got := e.Token.Reveal(); got != token {
		t.Errorf("Reveal() = %q, want the token", got)
	}
	if !e.Token.Equal(actor.NewToken(token)) || e.Token.Equal(actor.Token{}) || (actor.Token{}).Reveal() != "" {
		t.Error("Equal compares the tokens' values; the zero Token is empty")
	}
}
