package webhookrecv_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-apify/actor/webhookrecv"
)

func TestValidateSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		wantErr error
	}{
		{"random", "4f1c0b2e9d", nil},
		{"punctuation", `a"b\c<d>&e}f{g`, nil},
		{"empty", "", webhookrecv.ErrNoSecret},
		{"space", "two words", webhookrecv.ErrInvalidSecret},
		{"newline", "abc\ndef", webhookrecv.ErrInvalidSecret},
		{"non-ASCII", "pässword", webhookrecv.ErrInvalidSecret},
		{"template variable", "a{{userId}}b", webhookrecv.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhookrecv.ValidateSecret(tt.secret)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ValidateSecret(%q) = %v, want %v", tt.secret, err, tt.wantErr)
			}
			if tt.secret != "" && err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, err := webhookrecv.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := webhookrecv.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 64 || a == b {
		t.Errorf("NewSecret = %q, %q; want two different 64-character secrets", a, b)
	}
	if err := webhookrecv.ValidateSecret(a); err != nil {
		t.Errorf("ValidateSecret(NewSecret()) = %v", err)
	}
}

func TestHeadersTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		want   string
	}{
		{"plain", "s3cr3t-t0ken", `{"X-Webhook-Secret":"s3cr3t-t0ken"}`},
		{"JSON specials are escaped", `a"b\c`, `{"X-Webhook-Secret":"a\"b\\c"}`},
		{"HTML specials are kept", `<a&b>`, `{"X-Webhook-Secret":"<a&b>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhookrecv.HeadersTemplate(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("HeadersTemplate(%q) = %s, want %s", tt.secret, got, tt.want)
			}
			var headers map[string]string
			if err := json.Unmarshal([]byte(got), &headers); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if diff := cmp.Diff(map[string]string{webhookrecv.SecretHeader: tt.secret}, headers); diff != "" {
				t.Errorf("decoded template (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := webhookrecv.HeadersTemplate(""); !errors.Is(err, webhookrecv.ErrNoSecret) {
		t.Errorf("HeadersTemplate(\"\") error = %v, want ErrNoSecret", err)
	}
}

func TestURLWithSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		secret  string
		want    string
		wantErr bool
	}{
		{"plain", "https://example.com/hook", "abc", "https://example.com/hook?webhook_secret=abc", false},
		{"keeps other parameters", "https://example.com/hook?a=1", "abc", "https://example.com/hook?a=1&webhook_secret=abc", false},
		{"replaces an old secret", "https://example.com/hook?webhook_secret=old", "new", "https://example.com/hook?webhook_secret=new", false},
		{"escapes", "http://127.0.0.1:8080/", "a&b=c", "http://127.0.0.1:8080/?webhook_secret=a%26b%3Dc", false},
		{"relative", "/hook", "abc", "", true},
		{"other scheme", "ftp://example.com/", "abc", "", true},
		{"unparsable", "http://[::1", "abc", "", true},
		{"no secret", "https://example.com/", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhookrecv.URLWithSecret(tt.url, tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("URLWithSecret error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("URLWithSecret = %q, want %q", got, tt.want)
			}
			if err == nil {
				u, _ := url.Parse(got)
				if s := u.Query().Get(webhookrecv.SecretParam); s != tt.secret {
					t.Errorf("query %s = %q, want %q", webhookrecv.SecretParam, s, tt.secret)
				}
			}
		})
	}
}
