package actor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-apify/actor/client"
)

// DefaultStateKey is the record of the default key-value store that
// [UseState] keeps its state in when given no key: the one the official
// SDKs' useState uses, so that Actors in other languages share it.
const DefaultStateKey = "APIFY_GLOBAL_STATE"

// State is a value of type T that survives restarts of the run: it is read
// from a record of the run's default key-value store the first time it is
// used and written back on every [PersistState] event and at exit. Get it
// with [UseState]. Its methods are safe for concurrent use.
//
// The value goes through encoding/json: only what JSON keeps survives (an
// exported field, not a channel or a func). The record is in the default
// key-value store wherever the Actor's storage is (see [StorageMode]): on
// the platform, or off it in local files
// (key_value_stores/default/APIFY_GLOBAL_STATE.json, as the JS SDK keeps it).
// On a platform whose environment names no default key-value store
// (ACTOR_DEFAULT_KEY_VALUE_STORE_ID), the state lives in memory only and
// starts from its initial value in every process.
type State[T any] struct {
	a   *Actor
	key string
	kv  *KeyValueStore // nil: in memory only

	mu    sync.Mutex
	value T

	saveMu sync.Mutex // one save at a time
	saved  []byte     // the JSON last loaded or saved
}

// UseState returns the state under key of a's default key-value store
// (DefaultStateKey when key is empty; nil a means the default Actor),
// loading it the first time: the stored value when the record exists,
// initial otherwise. Later calls with the same key return the same *State;
// one with another type T is an error. An error loading the record (other
// than its absence) is returned: starting afresh would redo the work a
// restart is meant to keep.
func UseState[T any](ctx context.Context, a *Actor, key string, initial T) (*State[T], error) {
	if a == nil {
		a = defaultActor
	}
	if key == "" {
		key = DefaultStateKey
	}
	if err := client.ValidateRecordKey(key); err != nil {
		return nil, fmt.Errorf("actor: UseState: key %q: %w", key, err)
	}
	if _, _, err := a.ready(ctx); err != nil {
		return nil, err
	}

	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	if existing, ok := a.st.states[key]; ok {
		s, ok := existing.(*State[T])
		if !ok {
			return nil, fmt.Errorf("actor: UseState: key %q holds a state of type %s, not %T", key, existing.typeName(), initial)
		}
		return s, nil
	}
	s := &State[T]{a: a, key: key, value: initial}
	kv, err := a.OpenKeyValueStore(ctx, "")
	switch {
	case errors.Is(err, ErrNoDefaultStorage):
		a.log().InfoContext(ctx, "the state is kept in memory only: the environment names no default key-value store", "key", key)
	case err != nil:
		return nil, fmt.Errorf("actor: UseState: %w", err)
	default:
		s.kv = kv
		rec, err := kv.GetRecord(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("actor: UseState: loading record %s: %w", key, err)
		default:
			var v T
			if err := json.Unmarshal(rec.Value, &v); err != nil {
				return nil, fmt.Errorf("actor: UseState: record %s is not JSON of a %T: %w", key, initial, err)
			}
			s.value, s.saved = v, rec.Value
		}
	}
	if a.st.states == nil {
		a.st.states = make(map[string]stateSaver)
		// The first state registers the saving of all of them.
		a.OnPersistState(func(ctx context.Context, _ PersistState) { a.saveStates(ctx) })
	}
	a.st.states[key] = s
	return s, nil
}

// Get returns the value. It is a shallow copy: maps and slices in it are
// shared with the state, so change them only inside [State.Update].
func (s *State[T]) Get() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// Set replaces the value.
func (s *State[T]) Set(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value = v
}

// Update calls fn with the value under the state's lock, so that fn's
// changes are never half seen by a save or another Update.
func (s *State[T]) Update(fn func(v *T)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.value)
}

// Save writes the value to its record now, unless it has not changed since
// it was last loaded or saved. In memory only, it does nothing.
func (s *State[T]) Save(ctx context.Context) error {
	if s.kv == nil {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	b, err := json.Marshal(s.value)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("actor: saving state %s: %w", s.key, err)
	}
	if s.saved != nil && bytes.Equal(b, s.saved) {
		return nil
	}
	done := s.a.track()
	defer done()
	if err := s.kv.SetRecord(ctx, s.key, b, "application/json; charset=utf-8"); err != nil {
		return fmt.Errorf("actor: saving state %s: %w", s.key, err)
	}
	s.saved = b
	return nil
}

func (s *State[T]) typeName() string {
	var zero T
	return fmt.Sprintf("%T", zero)
}

// stateSaver is a *State of any type.
type stateSaver interface {
	Save(ctx context.Context) error
	typeName() string
}

// states are the states of an Actor by key.
type states struct {
	mu     sync.Mutex
	states map[string]stateSaver
}

// saveStates saves every state, logging failures.
func (a *Actor) saveStates(ctx context.Context) {
	a.st.mu.Lock()
	all := make([]stateSaver, 0, len(a.st.states))
	for _, s := range a.st.states {
		all = append(all, s)
	}
	a.st.mu.Unlock()
	for _, s := range all {
		if err := s.Save(ctx); err != nil {
			a.log().ErrorContext(ctx, "cannot save the state", "error", err)
		}
	}
}
