package apifytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Errors that the Server's Go methods return, usable with errors.Is.
var (
	// ErrNotFound: no run, webhook or dispatch has the given ID.
	ErrNotFound = errors.New("apifytest: not found")
	// ErrRunFinished: the run has already ended.
	ErrRunFinished = errors.New("apifytest: run already finished")
	// ErrClosed: the server has been closed.
	ErrClosed = errors.New("apifytest: server closed")
	// ErrAborted, wrapped in the error an ActorFunc returns, ends its run
	// ABORTED instead of FAILED.
	ErrAborted = errors.New("apifytest: run aborted")
)

// Error is an error as the API reports it: an HTTP status code, the
// platform's error type ("invalid-value", "record-not-found", ...) and a
// message. The Server's Go methods return it for invalid arguments;
// errors.Is(err, ErrNotFound) holds for a 404 and errors.Is(err,
// ErrRunFinished) for a run that has already ended.
type Error struct {
	StatusCode int
	Type       string
	Message    string
}

// Error describes e with its status, type and message.
func (e *Error) Error() string {
	return fmt.Sprintf("apifytest: %d %s: %s", e.StatusCode, e.Type, e.Message)
}

// Is reports whether e is of the kind target names.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRunFinished:
		return e.Type == typeRunFinished
	}
	return false
}

// The platform's error types used here.
const (
	typeInvalidRequest   = "invalid-request"
	typeInvalidValue     = "invalid-value"
	typeInvalidParameter = "invalid-parameter"
	typeNotFound         = "record-not-found"
	typePageNotFound     = "page-not-found"
	typeTokenMissing     = "token-not-provided"
	typeTokenInvalid     = "invalid-token"
	typeMethod           = "method-not-allowed"
	typeTooLarge         = "request-too-large"
	typeTooManyWebhooks  = "too-many-webhooks"
	typeRateLimit        = "rate-limit-exceeded"
	typeServerError      = "internal-server-error"
	typeRunFinished      = "run-already-finished"
	typeTimeout          = "timeout"
	typeLimitReached     = "limit-reached"
	typeNameNotUnique    = "name-not-unique"
	typeInvalidKey       = "invalid-record-key"
	typeInvalidClientKey = "invalid-client-key"
	typeRequestID        = "request-id-invalid"
	typeRequestLocked    = "request-handled-or-locked"
	typeRunNotRunning    = "run-not-running"
	typeRunNotFinished   = "run-not-finished"
	typeRunRestarting    = "run-restarting"
	typeCannotMetamorph  = "metamorph-not-supported"
)

func badRequest(format string, args ...any) *Error {
	return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidValue, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{StatusCode: http.StatusNotFound, Type: typeNotFound, Message: what + " was not found"}
}

// writeError writes err in the platform's error envelope; anything but an
// *Error becomes a 500.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{StatusCode: http.StatusInternalServerError, Type: typeServerError, Message: err.Error()}
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"type": e.Type, "message": e.Message}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.StatusCode)
	_, _ = w.Write(body)
}

// writeData writes v in the platform's {"data": v} envelope.
func writeData(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(struct {
		Data any `json:"data"`
	}{v})
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// respond answers with v in the data envelope, or with e if it is not nil.
func respond(w http.ResponseWriter, status int, v any, e *Error) {
	if e != nil {
		writeError(w, e)
		return
	}
	writeData(w, status, v)
}
