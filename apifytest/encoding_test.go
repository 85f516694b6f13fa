package apifytest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-apify/actor/internal/nodetest"
)

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	plain := []byte(strings.Repeat(`{"hello":"world"}`, 200))
	var gz, fl bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	fw, _ := flate.NewWriter(&fl, flate.DefaultCompression)
	_, _ = fw.Write(plain)
	_ = fw.Close()
	tests := []struct {
		encoding   string
		body       []byte
		wantStatus int
	}{
		{"", plain, 0},
		{"identity", plain, 0},
		{"gzip", gz.Bytes(), 0},
		{"GZIP", gz.Bytes(), 0},
		{"deflate", fl.Bytes(), 0},
		{"gzip", plain, http.StatusBadRequest},
		{"zstd", plain, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		got, err := decodeBody(t.Context(), tt.encoding, tt.body)
		switch {
		case tt.wantStatus != 0 && (err == nil || err.StatusCode != tt.wantStatus):
			t.Errorf("%s: error %v, want status %d", tt.encoding, err, tt.wantStatus)
		case tt.wantStatus == 0 && (err != nil || !bytes.Equal(got, plain)):
			t.Errorf("%s: %v, body of %d bytes", tt.encoding, err, len(got))
		}
	}
}

// TestDecodeBrotli decodes what node's zlib compresses, as apify-client does
// for every body of 1 KiB or more.
func TestDecodeBrotli(t *testing.T) {
	t.Parallel()
	node := nodetest.Node(t)
	plain := []byte(strings.Repeat(`{"hello":"brotli"}`, 300))
	cmd := exec.CommandContext(t.Context(), node, "-e",
		`const c=[];process.stdin.on("data",d=>c.push(d)).on("end",()=>process.stdout.write(require("zlib").brotliCompressSync(Buffer.concat(c))))`)
	cmd.Stdin = bytes.NewReader(plain)
	compressed, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, e := decodeBody(t.Context(), "br", compressed)
	if e != nil || !bytes.Equal(got, plain) {
		t.Errorf("br: %v, %d bytes", e, len(got))
	}
	if _, e := decodeBody(t.Context(), "br", []byte("not brotli")); e == nil || e.StatusCode != http.StatusBadRequest {
		t.Errorf("bad br: %v", e)
	}
}
