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
// and rendered; the zero value is the platform's default. InterpolateStrings
// replaces placeholders inside JSON strings too (shouldInterpolateStrings):
// a string that is exactly one placeholder takes the value with its own
// type, else the value converted to a string as JavaScript does is spliced
// in. AllowedVariables lists the variables a placeholder may start with (nil:
// userId, createdAt, eventType, eventData, resource, globals). MaxBodyBytes
// is the most bytes a render may write (0: 10 MiB).
type TemplateOptions = payloadtemplate.Options

// TemplateError reports a problem in a payload or headers template, or with a
// value while rendering one: its Offset, Line and Column (from 1, columns in
// characters), the Variable or Header it concerns, the Reason and a Hint. Its
// Err is ErrInvalidJSON, ErrInvalidVariable, ErrInvalidHeaders,
// ErrBodyTooLarge, or the error that encoding a value returned.
type TemplateError = payloadtemplate.Error

// Template is a parsed payload or headers template, immutable and safe for
// concurrent use. Its methods:
//   - Render(vars map[string]any) ([]byte, error) returns the JSON body the
//     platform would send for these variables. A placeholder outside strings
//     whose value is missing or falsy (0, false, "", null) becomes null; a
//     missing path below a variable is null, not an error. Values are as
//     encoding/json decodes them, or json.RawMessage (written as it is,
//     compacted; a path looks into it without decoding it); other Go values
//     go by their encoding/json encoding. Maps are written with keys sorted.
//   - RenderHeaders(vars map[string]any) (map[string]string, error) returns
//     the headers: a member rendering to null, or to nothing, is left out;
//     any other value that is not a string, a name that is not a header
//     name, or a value with a control character is an error naming the
//     header. Which headers the platform overrides is up to the sender.
//   - Variables() []string returns the variables the placeholders start
//     with, each once, in order of first use.
type Template = payloadtemplate.Template

// PayloadTemplate is the earlier name of [Template], kept for the code that
// uses it.
type PayloadTemplate = Template

// ParsePayloadTemplate parses and validates a payload template: its JSON syntax
// with every placeholder read as a value, and the variable each placeholder
// starts with. Errors are *TemplateError values wrapping ErrInvalidJSON or
// ErrInvalidVariable; as on the platform, variable errors outside strings
// come first, then syntax errors, then variable errors inside strings. A
// template may be 1 MiB long, a placeholder's name 4 KiB.
func ParsePayloadTemplate(text string, opts TemplateOptions) (*Template, error) {
	return payloadtemplate.Parse(text, opts)
}

// ParseHeadersTemplate parses a headers template as ParsePayloadTemplate does
// and also checks that it is a JSON object whose member names are header
// names and whose values are strings, null or placeholders (else
// ErrInvalidHeaders).
func ParseHeadersTemplate(text string, opts TemplateOptions) (*Template, error) {
	return payloadtemplate.ParseHeaders(text, opts)
}

// RenderPayloadTemplate parses text and renders it with vars in one step.
func RenderPayloadTemplate(text string, vars map[string]any, opts TemplateOptions) ([]byte, error) {
	return payloadtemplate.RenderText(text, vars, opts)
}
