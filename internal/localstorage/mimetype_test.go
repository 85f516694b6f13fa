package localstorage

import (
	"encoding/json"
	"os"
	"testing"
)

// TestMimeTables checks the tables against what the mime-types package that
// crawlee uses (2.1.35, mime-db 1.52) answers; testdata/mime-types.json was
// made with it.
func TestMimeTables(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/mime-types.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Extension   map[string]*string
		ContentType map[string]*string
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for ct, ext := range golden.Extension {
		want := "bin" // crawlee's fallback
		if ext != nil {
			want = *ext
		}
		if got := extensionFor(ct); got != want {
			t.Errorf("extensionFor(%q) = %q, want %q", ct, got, want)
		}
	}
	for ext, ct := range golden.ContentType {
		want := "text/plain" // crawlee's fallback
		if ct != nil {
			want = *ct
		}
		if got := contentTypeFor(ext); got != want {
			t.Errorf("contentTypeFor(%q) = %q, want %q", ext, got, want)
		}
	}
}
