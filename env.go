package actor

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Environment is the environment the platform gives an Actor run, read from the
// process environment by [Actor.Init]. Where the platform sets both a current
// ACTOR_* name and a legacy APIFY_* name, the ACTOR_* one wins; a variable set
// to the empty string counts as unset.
//
// Environment never shows its Token: it is a [Token], which every fmt verb,
// slog and every encoding (JSON, XML, text, gob) show redacted, also when the
// Environment sits in a field, exported or not, of another value.
type Environment struct {
	// IsAtHome is true when the code runs on the Apify platform
	// (APIFY_IS_AT_HOME set to anything but "", "0" or "false").
	IsAtHome bool
	// RunID is this run's ID (ACTOR_RUN_ID, APIFY_ACTOR_RUN_ID).
	RunID string
	// ActorID is the running Actor's ID (ACTOR_ID, APIFY_ACTOR_ID).
	ActorID string
	// TaskID is the ID of the task the run was started from, if any
	// (ACTOR_TASK_ID, APIFY_ACTOR_TASK_ID).
	TaskID string
	// UserID is the ID of the user who started the run (APIFY_USER_ID).
	UserID string
	// Token is the API token (APIFY_TOKEN). It is never printed or encoded;
	// [Token.Reveal] returns it.
	Token Token
	// APIBaseURL is the API's base URL (APIFY_API_BASE_URL); empty means
	// the client's default, https://api.apify.com.
	APIBaseURL string
	// DefaultDatasetID is the run's default dataset
	// (ACTOR_DEFAULT_DATASET_ID, APIFY_DEFAULT_DATASET_ID).
	DefaultDatasetID string
	// DefaultKeyValueStoreID is the run's default key-value store
	// (ACTOR_DEFAULT_KEY_VALUE_STORE_ID, APIFY_DEFAULT_KEY_VALUE_STORE_ID).
	DefaultKeyValueStoreID string
	// DefaultRequestQueueID is the run's default request queue
	// (ACTOR_DEFAULT_REQUEST_QUEUE_ID, APIFY_DEFAULT_REQUEST_QUEUE_ID).
	DefaultRequestQueueID string
	// InputKey is the key of the input record in the default key-value
	// store (ACTOR_INPUT_KEY, APIFY_INPUT_KEY); empty means "INPUT".
	InputKey string
}

// readEnv reads the environment through lookup (os.LookupEnv by default).
func readEnv(lookup func(string) (string, bool)) Environment {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	atHome := strings.ToLower(get("APIFY_IS_AT_HOME"))
	return Environment{
		IsAtHome:               atHome != "" && atHome != "0" && atHome != "false",
		RunID:                  get("ACTOR_RUN_ID", "APIFY_ACTOR_RUN_ID"),
		ActorID:                get("ACTOR_ID", "APIFY_ACTOR_ID"),
		TaskID:                 get("ACTOR_TASK_ID", "APIFY_ACTOR_TASK_ID"),
		UserID:                 get("APIFY_USER_ID"),
		Token:                  NewToken(get("APIFY_TOKEN")),
		APIBaseURL:             get("APIFY_API_BASE_URL"),
		DefaultDatasetID:       get("ACTOR_DEFAULT_DATASET_ID", "APIFY_DEFAULT_DATASET_ID"),
		DefaultKeyValueStoreID: get("ACTOR_DEFAULT_KEY_VALUE_STORE_ID", "APIFY_DEFAULT_KEY_VALUE_STORE_ID"),
		DefaultRequestQueueID:  get("ACTOR_DEFAULT_REQUEST_QUEUE_ID", "APIFY_DEFAULT_REQUEST_QUEUE_ID"),
		InputKey:               get("ACTOR_INPUT_KEY", "APIFY_INPUT_KEY"),
	}
}

// redactedToken is what a Token that is set shows in place of its value.
const redactedToken = "[redacted]"

// Token is an API token that never shows itself: every fmt verb, slog,
// encoding/json, encoding/xml, encoding/gob and every encoding.TextMarshaler
// user show "[redacted]" for a set token and "" for an empty one. The value
// sits behind a pointer, so that fmt does not print it even through an
// unexported field, where it cannot call methods. [Token.Reveal] returns it.
// The zero value is the empty token. Compare tokens with [Token.Equal], not
// ==, which compares where they are stored.
type Token struct{ p *string }

// NewToken returns the token s.
func NewToken(s string) Token {
	if s == "" {
		return Token{}
	}
	return Token{p: &s}
}

// Reveal returns the token itself. Send it only in an Authorization header.
func (t Token) Reveal() string {
	if t.p == nil {
		return ""
	}
	return *t.p
}

// IsSet reports whether the token is not empty.
func (t Token) IsSet() bool { return t.p != nil && *t.p != "" }

// Equal reports whether t and u are the same token.
func (t Token) Equal(u Token) bool { return t.Reveal() == u.Reveal() }

// String returns "[redacted]", or "" for an empty token.
func (t Token) String() string {
	if !t.IsSet() {
		return ""
	}
	return redactedToken
}

// GoString returns the quoted [Token.String], for %#v.
func (t Token) GoString() string { return strconv.Quote(t.String()) }

// Format makes every fmt verb print [Token.String] (quoted for %q and %#v).
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		io.WriteString(f, t.GoString())
		return
	}
	io.WriteString(f, t.String())
}

// LogValue logs [Token.String].
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText returns [Token.String]; encoding/json and encoding/xml use it.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// GobEncode returns [Token.String].
func (t Token) GobEncode() ([]byte, error) { return []byte(t.String()), nil }

// GobDecode makes the token empty: an encoding never carries a token, so
// there is nothing to decode.
func (t *Token) GobDecode([]byte) error {
	*t = Token{}
	return nil
}

// String returns the environment with the token redacted.
func (e Environment) String() string {
	return fmt.Sprintf("Environment{IsAtHome:%t RunID:%q ActorID:%q TaskID:%q UserID:%q Token:%q APIBaseURL:%q "+
		"DefaultDatasetID:%q DefaultKeyValueStoreID:%q DefaultRequestQueueID:%q}",
		e.IsAtHome, e.RunID, e.ActorID, e.TaskID, e.UserID, e.Token.String(), e.APIBaseURL,
		e.DefaultDatasetID, e.DefaultKeyValueStoreID, e.DefaultRequestQueueID)
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, ...) print [Environment.String],
// so no verb reveals the token.
func (e Environment) Format(f fmt.State, _ rune) {
	fmt.Fprint(f, e.String())
}

// LogValue logs the environment as a group with the token redacted.
func (e Environment) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("isAtHome", e.IsAtHome),
		slog.String("runId", e.RunID),
		slog.String("actorId", e.ActorID),
		slog.String("taskId", e.TaskID),
		slog.String("userId", e.UserID),
		slog.String("token", e.Token.String()),
		slog.String("apiBaseUrl", e.APIBaseURL),
		slog.String("defaultDatasetId", e.DefaultDatasetID),
		slog.String("defaultKeyValueStoreId", e.DefaultKeyValueStoreID),
		slog.String("defaultRequestQueueId", e.DefaultRequestQueueID),
	)
}
