package localstorage

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"
)

// requestIDLength is the length of a request id derived from its unique key.
const requestIDLength = 15

// RequestID returns the id crawlee and the platform derive from a unique key:
// the SHA-256 digest in standard base64 with '+', '/' and '=' removed, cut to
// 15 characters.
func RequestID(uniqueKey string) string {
	sum := sha256.Sum256([]byte(uniqueKey))
	s := strings.NewReplacer("+", "", "/", "", "=", "").Replace(base64.StdEncoding.EncodeToString(sum[:]))
	return s[:min(len(s), requestIDLength)]
}

// Request is a request in a request queue, with the platform's fields.
type Request struct {
	ID            string
	UniqueKey     string
	URL           string
	Method        string // empty means GET
	Payload       string
	Headers       map[string]string
	UserData      json.RawMessage // a JSON object, or empty
	NoRetry       bool
	RetryCount    int
	ErrorMessages []string
	LoadedURL     string
	HandledAt     *time.Time // set once the request is handled
	// Extra holds the fields other SDKs store that Request has no field for
	// (crawlee's sessionRotationCount, for one); they are written back as read.
	Extra map[string]json.RawMessage
}

// requestJSON is a request as crawlee serializes it, field for field.
type requestJSON struct {
	ID            string            `json:"id"`
	URL           string            `json:"url"`
	UniqueKey     string            `json:"uniqueKey"`
	Method        string            `json:"method"`
	Payload       string            `json:"payload,omitempty"`
	NoRetry       bool              `json:"noRetry"`
	RetryCount    int               `json:"retryCount"`
	ErrorMessages []string          `json:"errorMessages"`
	Headers       map[string]string `json:"headers"`
	UserData      json.RawMessage   `json:"userData"`
	LoadedURL     string            `json:"loadedUrl,omitempty"`
	HandledAt     *jsTime           `json:"handledAt,omitempty"`
}

var requestKeys = map[string]bool{
	"id": true, "url": true, "uniqueKey": true, "method": true, "payload": true, "noRetry": true, "retryCount": true,
	"errorMessages": true, "headers": true, "userData": true, "loadedUrl": true, "handledAt": true,
}

// MarshalJSON encodes the request as crawlee does, with Extra's fields after
// the known ones.
func (r Request) MarshalJSON() ([]byte, error) {
	j := requestJSON{
		ID: r.ID, URL: r.URL, UniqueKey: r.UniqueKey, Method: r.Method, Payload: r.Payload, NoRetry: r.NoRetry,
		RetryCount: r.RetryCount, ErrorMessages: r.ErrorMessages, Headers: r.Headers, UserData: r.UserData, LoadedURL: r.LoadedURL,
	}
	if j.Method == "" {
		j.Method = "GET"
	}
	if j.ErrorMessages == nil {
		j.ErrorMessages = []string{}
	}
	if j.Headers == nil {
		j.Headers = map[string]string{}
	}
	if len(j.UserData) == 0 {
		j.UserData = json.RawMessage("{}")
	}
	if r.HandledAt != nil {
		t := jsTime(*r.HandledAt)
		j.HandledAt = &t
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if len(r.Extra) == 0 {
		return b, nil
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		if !requestKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b = b[:len(b)-1]
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		b = append(append(append(append(b, ','), kb...), ':'), r.Extra[k]...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes a request as crawlee or the platform stores it.
func (r *Request) UnmarshalJSON(b []byte) error {
	var j requestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*r = Request{
		ID: j.ID, URL: j.URL, UniqueKey: j.UniqueKey, Method: j.Method, Payload: j.Payload, NoRetry: j.NoRetry,
		RetryCount: j.RetryCount, ErrorMessages: j.ErrorMessages, Headers: j.Headers, UserData: j.UserData, LoadedURL: j.LoadedURL,
	}
	if string(r.UserData) == "null" {
		r.UserData = nil
	}
	if j.HandledAt != nil {
		t := time.Time(*j.HandledAt)
		r.HandledAt = &t
	}
	for k, v := range all {
		if !requestKeys[k] {
			if r.Extra == nil {
				r.Extra = map[string]json.RawMessage{}
			}
			r.Extra[k] = v
		}
	}
	return nil
}

// validate checks a request to be stored and fills in its id.
func (r *Request) validate(field string) error {
	if r.UniqueKey == "" {
		return invalid(field+".uniqueKey", "is empty")
	}
	if r.URL == "" {
		return invalid(field+".url", "is empty")
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field+".url", "%q is not an absolute http or https URL", truncate(r.URL, 100))
	}
	id := RequestID(r.UniqueKey)
	if r.ID != "" && r.ID != id {
		return invalid(field+".id", "%q does not match the id of its uniqueKey, %q", r.ID, id)
	}
	r.ID = id
	if len(r.UserData) > 0 {
		if v := bytes.TrimSpace(r.UserData); len(v) == 0 || v[0] != '{' || !json.Valid(v) {
			return invalid(field+".userData", "is not a JSON object")
		}
	}
	for k, v := range r.Extra {
		if !json.Valid(v) {
			return invalid(field+".extra."+k, "is not valid JSON")
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
