package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
)

// DefaultInputKey is the key of the input record when the environment names
// none.
const DefaultInputKey = "INPUT"

// GetInput decodes the run's input into v, a pointer: the record of the
// default key-value store named by ACTOR_INPUT_KEY (then the legacy
// APIFY_INPUT_KEY, then "INPUT"). Locally that is
// key_value_stores/default/INPUT.json under the storage directory.
//
//   - With no input record the error matches [ErrNoInput] and v is left alone,
//     so that defaults set in v before the call stay.
//   - An empty input (a record with no bytes) returns nil and leaves v alone.
//   - A JSON input (content type application/json or +json) is decoded into
//     v; a value of the wrong type is an error naming the field.
//   - Any other content type is stored in v when it is a *string, and is an
//     error otherwise. A *[]byte gets the value as stored, whatever its type.
func (a *Actor) GetInput(ctx context.Context, v any) error {
	if v == nil {
		return errors.New("actor: GetInput: v is nil; pass a pointer")
	}
	key := a.Env().InputKey
	if key == "" {
		key = DefaultInputKey
	}
	kv, err := a.OpenKeyValueStore(ctx, "")
	if err != nil {
		return fmt.Errorf("actor: get input: %w", err)
	}
	rec, err := kv.GetRecord(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("actor: get input: no record %q in the default key-value store: %w", key, ErrNoInput)
	}
	if err != nil {
		return fmt.Errorf("actor: get input: %w", err)
	}
	if p, ok := v.(*[]byte); ok {
		*p = rec.Value
		return nil
	}
	if len(bytes.TrimSpace(rec.Value)) == 0 {
		return nil
	}
	if isJSON(rec.ContentType) {
		return decodeJSON(fmt.Sprintf("input (record %q)", key), rec.Value, v)
	}
	p, ok := v.(*string)
	if !ok {
		return fmt.Errorf("actor: get input: record %q has the content type %q, not JSON: read it into a *[]byte or a *string, not a %T", key, rec.ContentType, v)
	}
	*p = string(rec.Value)
	return nil
}

// isJSON reports whether a content type is JSON's: application/json,
// something+json, or none at all (records stored without one).
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
