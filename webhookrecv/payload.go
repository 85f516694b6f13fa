package webhookrecv

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/go-apify/actor/client"
)

// ErrMalformedPayload is matched (with [errors.Is]) by every error that reports
// a payload that cannot be parsed; the error is a [*PayloadError].
var ErrMalformedPayload = errors.New("webhookrecv: malformed payload")

// PayloadError reports what is wrong with a webhook payload.
type PayloadError struct {
	// Field is the JSON path of the offending field ("createdAt",
	// "eventData.actorId", "resource.id"), or "" when the body as a whole is
	// wrong.
	Field string
	// Reason says what is wrong, without repeating the offending value.
	Reason string
}

// Error implements error.
func (e *PayloadError) Error() string {
	if e.Field == "" {
		return "webhookrecv: malformed payload: " + e.Reason
	}
	return fmt.Sprintf("webhookrecv: malformed payload: field %q %s", e.Field, e.Reason)
}

// Is reports whether target is [ErrMalformedPayload].
func (e *PayloadError) Is(target error) bool { return target == ErrMalformedPayload }

// Payload is the platform's default webhook payload:
//
//	{
//	  "userId": {{userId}},
//	  "createdAt": {{createdAt}},
//	  "eventType": {{eventType}},
//	  "eventData": {{eventData}},
//	  "resource": {{resource}}
//	}
//
// A payload template that keeps these fields and adds others parses too (the
// extra fields are in [Delivery.Body]); a field it leaves out stays at its zero
// value.
type Payload struct {
	// UserID is the ID of the user whose webhook fired.
	UserID string `json:"userId"`
	// CreatedAt is when the event happened. The platform sends ISO 8601 in
	// UTC with milliseconds ("2025-03-14T09:26:53.589Z"); any RFC 3339 time
	// is accepted. Zero when the payload has null or "" or leaves it out.
	CreatedAt time.Time `json:"createdAt"`
	// EventType is the event that fired the webhook; it may be one this
	// package does not know yet.
	EventType client.EventType `json:"eventType"`
	// EventData identifies what the event is about; nil when the payload has
	// null or leaves it out. ActorTaskID is empty for runs not started through
	// a task (the platform leaves it out or sends null).
	EventData *client.EventData `json:"eventData"`
	// Resource is the object the event is about (for run events, the run as
	// the API returns it), kept as raw JSON; nil when absent or null. [Payload.Run]
	// decodes it.
	Resource json.RawMessage `json:"resource"`
}

// ParsePayload parses a webhook payload. The body must be a JSON object; each
// field of [Payload] that is present must have its type or be null. An error
// is a [*PayloadError] naming the field.
func ParsePayload(b []byte) (*Payload, error) {
	if len(b) == 0 {
		return nil, &PayloadError{Reason: "the body is empty"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &PayloadError{Reason: "the body is a JSON " + te.Value + ", not an object"}
		}
		return nil, &PayloadError{Reason: "the body is not valid JSON: " + jsonReason(err)}
	}
	if fields == nil {
		return nil, &PayloadError{Reason: "the body is JSON null, not an object"}
	}

	var p Payload
	if err := decodeString(fields["userId"], "userId", &p.UserID); err != nil {
		return nil, err
	}
	var eventType string
	if err := decodeString(fields["eventType"], "eventType", &eventType); err != nil {
		return nil, err
	}
	p.EventType = client.EventType(eventType)

	var createdAt string
	if err := decodeString(fields["createdAt"], "createdAt", &createdAt); err != nil {
		return nil, err
	}
	if createdAt != "" {
		t, err := time.Parse(time.RFC3339Nano, createdAt)
		if err != nil {
			return nil, &PayloadError{Field: "createdAt", Reason: "is not an RFC 3339 time"}
		}
		p.CreatedAt = t
	}

	if raw := fields["eventData"]; !isNull(raw) {
		var ed client.EventData
		if err := json.Unmarshal(raw, &ed); err != nil {
			return nil, typeError(err, "eventData", "must be an object or null")
		}
		p.EventData = &ed
	}

	if raw := fields["resource"]; !isNull(raw) {
		p.Resource = raw
	}
	return &p, nil
}

// Run decodes [Payload.Resource] as the run the event is about. It fails with
// a [*PayloadError] when the resource is missing or is not a run (build events
// carry a build).
func (p *Payload) Run() (*client.Run, error) {
	if len(p.Resource) == 0 {
		return nil, &PayloadError{Field: "resource", Reason: "is missing or null"}
	}
	var run client.Run
	if err := json.Unmarshal(p.Resource, &run); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			// The times' own decoding fails without naming the field.
			return nil, &PayloadError{Field: "resource", Reason: "has a time that is not an RFC 3339 string"}
		}
		return nil, typeError(err, "resource", "must be an object")
	}
	if run.ID == "" {
		return nil, &PayloadError{Field: "resource.id", Reason: "is missing: the resource is not a run"}
	}
	return &run, nil
}

// decodeString decodes a JSON string or null (left as "") into dst; absent
// fields (nil raw) are left alone.
func decodeString(raw json.RawMessage, field string, dst *string) error {
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return &PayloadError{Field: field, Reason: "must be a string or null"}
	}
	return nil
}

// typeError turns an error of json.Unmarshal into a *PayloadError under the
// field prefix; whole-value errors get reason.
func typeError(err error, prefix, reason string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &PayloadError{Field: prefix + "." + te.Field, Reason: "must be " + jsonKind(te.Type) + ", not a JSON " + te.Value}
	}
	return &PayloadError{Field: prefix, Reason: reason}
}

// jsonKind names the JSON value that decodes into a Go value of type t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON type"
}

// jsonReason is the text of a JSON decoding error without the package prefix.
func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return err.Error()
}

func isNull(raw json.RawMessage) bool {
	return raw == nil || string(raw) == "null"
}
