package apifytest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/go-apify/actor/internal/nodetest"
)

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	plain := []byte(strings.Repeat(`{"hello":"world"}`, 200))
	var gz, fl, br bytes.Buffer
	bw := brotli.NewWriter(&br)
	_, _ = bw.Write(plain)
	_ = bw.Close()
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
		{"br", br.Bytes(), 0},
		{"BR", br.Bytes(), 0},
		{"gzip", plain, http.StatusBadRequest},
		{"br", plain, http.StatusBadRequest},
		{"zstd", plain, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		got, err := decodeBody(tt.encoding, tt.body)
		switch {
		case tt.wantStatus != 0 && (err == nil || err.StatusCode != tt.wantStatus):
			t.Errorf("%s: error %v, want status %d", tt.encoding, err, tt.wantStatus)
		case tt.wantStatus == 0 && (err != nil || !bytes.Equal(got, plain)):
			t.Errorf("%s: %v, body of %d bytes", tt.encoding, err, len(got))
		}
	}
}

// TestDecodeBrotliFromNode decodes what node's zlib compresses, as apify-client does
// for every body of 1 KiB or more.
func TestDecodeBrotliFromNode(t *testing.T) {
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
	got, e := decodeBody("br", compressed)
	if e != nil || !bytes.Equal(got, plain) {
		t.Errorf("br: %v, %d bytes", e, len(got))
	}
	if _, e := decodeBody("br", []byte("not brotli")); e == nil || e.StatusCode != http.StatusBadRequest {
		t.Errorf("bad br: %v", e)
	}
}

// bomb returns n zero bytes compressed with encoding: a few kilobytes that
// decode to n bytes.
func bomb(t *testing.T, encoding string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch encoding {
	case "br":
		w = brotli.NewWriterLevel(&buf, 4) // 64 MiB of zeros in about 100 bytes
	case "gzip":
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	}
	zeros := make([]byte, 1<<20)
	for range n >> 20 {
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestDecompressionBomb decodes a compressed body that inflates far past the
// body size limit: decoding stops at the limit and the body is a 413.
func TestDecompressionBomb(t *testing.T) {
	t.Parallel()
	const inflated = 64 << 20 // seven times the limit
	for _, encoding := range []string{"br", "gzip"} {
		t.Run(encoding, func(t *testing.T) {
			t.Parallel()
			body := bomb(t, encoding, inflated)
			if len(body) > 256<<10 {
				t.Fatalf("bomb of %d bytes, want a small one", len(body))
			}
			r, e := decoder(encoding, body)
			if e != nil {
				t.Fatal(e)
			}
			cr := &countingReader{r: r}
			if _, err := readLimited(cr, maxBody); err != errTooLarge {
				t.Errorf("readLimited: %v, want errTooLarge", err)
			}
			if cr.n > maxBody+1 {
				t.Errorf("decoded %d bytes, want at most the limit %d + 1", cr.n, maxBody)
			}
			start := time.Now()
			_, e = decodeBody(encoding, body)
			if e == nil || e.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(e.Message, "limit") {
				t.Errorf("decodeBody: %v, want a 413 naming the limit", e)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("decodeBody took %v", d)
			}

			srv := NewTestServer(t)
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v2/datasets/x/items", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			req.Header.Set("Content-Encoding", encoding)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("POST of the bomb: status %d, want 413", resp.StatusCode)
			}
		})
	}
}
