package actor_test

import (
	"errors"
	"strings"
	"testing"

	actor "github.com/go-apify/actor"
)

// TestPayloadTemplateAPI checks the public face of the template engine:
// errors are *TemplateError values wrapping the root's sentinels, and the
// options reach the engine.
func TestPayloadTemplateAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		headers  bool
		opts     actor.TemplateOptions
		kind     error
	}{
		{"unknown variable", `{"a": {{nope}}}`, false, actor.TemplateOptions{}, actor.ErrInvalidVariable},
		{"not JSON", `{"a": }`, false, actor.TemplateOptions{}, actor.ErrInvalidJSON},
		{"headers not an object", `[]`, true, actor.TemplateOptions{}, actor.ErrInvalidHeaders},
		{"variable not allowed", `{"a": {{resource}}}`, false, actor.TemplateOptions{AllowedVariables: []string{"userId"}}, actor.ErrInvalidVariable},
		{"body over the limit", `{"a": {{resource}}}`, false, actor.TemplateOptions{MaxBodyBytes: 10}, actor.ErrBodyTooLarge},
		{"placeholder too long", `{"a": {{resource` + strings.Repeat(".a", 3000) + `}}}`, false, actor.TemplateOptions{}, actor.ErrInvalidVariable},
	}
	for _, tt := range tests {
		var err error
		if tt.headers {
			_, err = actor.ParseHeadersTemplate(tt.template, tt.opts)
		} else {
			_, err = actor.RenderPayloadTemplate(tt.template, map[string]any{"resource": "a long enough value"}, tt.opts)
		}
		var te *actor.TemplateError
		if !errors.Is(err, tt.kind) || !errors.As(err, &te) || te.Line != 1 {
			t.Errorf("%s: error %v, want a *TemplateError wrapping %v", tt.name, err, tt.kind)
		}
	}
	tmpl, err := actor.ParsePayloadTemplate(`{"a": "{{resource.id}} {{userId}}"}`, actor.TemplateOptions{InterpolateStrings: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.Variables(), ","); got != "resource,userId" {
		t.Errorf("Variables() = %s", got)
	}
	body, err := tmpl.Render(map[string]any{"resource": map[string]any{"id": "r1"}, "userId": "u1"})
	if want := `{"a": "r1 u1"}`; err != nil || string(body) != want {
		t.Errorf("Render = %s, %v; want %s", body, err, want)
	}
}
