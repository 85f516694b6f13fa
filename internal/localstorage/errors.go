package localstorage

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound reports a record or request that does not exist.
	ErrNotFound = errors.New("localstorage: not found")
	// ErrInvalid reports an argument that breaks a rule; the error is a *FieldError.
	ErrInvalid = errors.New("localstorage: invalid argument")
	// ErrTooLarge reports a value over a size limit; the error is a *FieldError.
	ErrTooLarge = errors.New("localstorage: too large")
	// ErrNotLocked reports a lock call on a request this process has not locked.
	ErrNotLocked = errors.New("localstorage: request is not locked")
	// ErrClosed reports a call on a Storage after Close.
	ErrClosed = errors.New("localstorage: storage is closed")
)

// FieldError is the error for bad input: it names the field and the reason,
// and unwraps to ErrInvalid or ErrTooLarge.
type FieldError struct {
	Field  string // e.g. "key", "name", "items[3]"
	Reason string
	Err    error // ErrInvalid or ErrTooLarge
}

// Error returns "localstorage: field: reason".
func (e *FieldError) Error() string {
	return fmt.Sprintf("localstorage: %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalid or ErrTooLarge.
func (e *FieldError) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func tooLarge(field string, size, limit int) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf("is %d bytes, over the limit of %d", size, limit), Err: ErrTooLarge}
}
