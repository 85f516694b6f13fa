package actor

import "github.com/go-apify/actor/internal/payloadtemplate"

// Webhook payload and headers templates, rendered as the Apify platform
// renders them (WebhookPayloadTemplate in @apify/utilities). The engine is
// internal/payloadtemplate; this file is its public face.

// DefaultPayloadTemplate is the payload template the platform uses when a
// webhook has none, byte for byte.
const DefaultPayloadTemplate = payloadtemplate.Default

// ErrInvalidJSON reports a template that is not JSON once every placeholder is
// read as a value.
var ErrInvalidJSON = payloadtemplate.ErrInvalidJSON

// ErrInvalidVariable reports a placeholder whose variable is not allowed, or
// whose name is longer than 4 KiB.
var ErrInvalidVariable = payloadtemplate.ErrInvalidVariable

// ErrInvalidHeaders reports a headers template that is not a JSON object of
// header names to string values, or that renders to something else.
var ErrInvalidHeaders = payloadtemplate.ErrInvalidHeaders

// ErrBodyTooLarge reports a render that would write more than its limit
// (TemplateOptions.MaxBodyBytes, 10 MiB by default).
var ErrBodyTooLarge = payloadtemplate.ErrBodyTooLarge

// TemplateOptions configures how a payload or headers template is parsed
// and rendered. The zero value is the platform's default: placeholders
// inside strings are left alone, the platform's variables (userId,
// createdAt, eventType, eventData, resource, globals) are allowed, and a
// render writes at most 10 MiB. Its fields:
//   - InterpolateStrings replaces {{name}} placeholders inside JSON string
//     values too (shouldInterpolateStrings on the platform). A string that
//     is exactly one placeholder takes the variable's value with its own
//     type; a placeholder among other text is replaced by the value
//     converted to a string as JavaScript does.
//   - AllowedVariables lists the variable names a placeholder may start
//     with; nil means the platform's list.
//   - MaxBodyBytes is the most bytes a render may write (0: 10 MiB); a
//     render that would write more fails with ErrBodyTooLarge.
type TemplateOptions = payloadtemplate.Options

// TemplateError reports a problem in a payload or headers template, or with a
// value while rendering one: its Offset, Line and Column (counted from 1,
// columns in characters) in the template, the Variable (as in
// {{resource.id}}) or Header it concerns, if any, the Reason and a Hint. It
// wraps ErrInvalidJSON, ErrInvalidVariable, ErrInvalidHeaders,
// ErrBodyTooLarge, or the error that encoding a value returned (its Err
// field).
type TemplateError = payloadtemplate.Error

// PayloadTemplate is a parsed payload or headers template, immutable and
// safe for concurrent use. Its methods:
//   - Render(vars map[string]any) ([]byte, error) returns the JSON body the
//     platform would send for these variables: the template's text with
//     each placeholder replaced. A placeholder outside strings whose value
//     is missing or falsy (0, false, "", null) becomes null; a missing path
//     below a variable is null, not an error. Values are JSON as decoded by
//     encoding/json (map[string]any, []any, string, float64, bool, nil,
//     json.Number, json.RawMessage); other Go values are encoded with
//     encoding/json. Maps are written with their keys sorted. A
//     json.RawMessage is written as it is, compacted, and a path looks into
//     it without decoding it.
//   - RenderHeaders(vars map[string]any) (map[string]string, error) renders
//     a headers template and returns its headers: a member whose value
//     renders to null, or to nothing, is left out; any other value that is
//     not a string is an error naming the header, and so is a name that is
//     not a valid header name or a value with a control character. Which
//     headers the platform overrides (host, Content-Type, X-Apify-Webhook,
//     X-Apify-Webhook-Dispatch-Id, X-Apify-Request-Origin) is up to the
//     sender.
//   - Variables() []string returns the variables the placeholders start
//     with, each once, in order of first use.
type PayloadTemplate = payloadtemplate.Template

// ParsePayloadTemplate parses and validates a payload template: its JSON syntax
// with every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *TemplateError values wrapping ErrInvalidJSON or
// ErrInvalidVariable. As on the platform, variable errors of placeholders
// outside strings come first, then syntax errors, then variable errors of
// placeholders inside strings. A template may be 1 MiB long at most, and a
// placeholder's name (between the braces) 4 KiB.
func ParsePayloadTemplate(text string, opts TemplateOptions) (*PayloadTemplate, error) {
	return payloadtemplate.Parse(text, opts)
}

// ParseHeadersTemplate parses a headers template as ParsePayloadTemplate does
// and also checks that its top level is a JSON object whose member names are
// valid header names and whose values are strings, null or placeholders.
// Errors about the shape wrap ErrInvalidHeaders.
func ParseHeadersTemplate(text string, opts TemplateOptions) (*PayloadTemplate, error) {
	return payloadtemplate.ParseHeaders(text, opts)
}

// RenderPayloadTemplate parses text and renders it with vars in one step.
func RenderPayloadTemplate(text string, vars map[string]any, opts TemplateOptions) ([]byte, error) {
	t, err := payloadtemplate.Parse(text, opts)
	if err != nil {
		return nil, err
	}
	return t.Render(vars)
}
