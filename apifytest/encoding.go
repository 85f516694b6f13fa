package apifytest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"
)

// decodeBody undoes a request body's Content-Encoding. gzip and deflate are
// decoded in Go; br, which the official JS client applies to every body of
// 1 KiB or more, with the zlib of the node executable on PATH, the one
// brotli decoder at hand that the standard library lacks.
func decodeBody(ctx context.Context, encoding string, body []byte) ([]byte, *Error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, badEncoding(encoding, err)
		}
		r = zr
	case "deflate":
		r = flate.NewReader(bytes.NewReader(body))
	case "br":
		out, err := brotliDecode(ctx, body)
		if err != nil {
			return nil, badEncoding(encoding, err)
		}
		return out, nil
	default:
		return nil, &Error{StatusCode: http.StatusUnsupportedMediaType, Type: "unsupported-content-encoding",
			Message: fmt.Sprintf("Content-Encoding %q is not supported (use gzip, deflate or br)", encoding)}
	}
	out, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, badEncoding(encoding, err)
	}
	if len(out) > maxBody {
		return nil, &Error{StatusCode: http.StatusRequestEntityTooLarge, Type: typeTooLarge, Message: "The decompressed payload is too large"}
	}
	return out, nil
}

func badEncoding(encoding string, err error) *Error {
	return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest,
		Message: fmt.Sprintf("cannot decode the %s-encoded request body: %v", encoding, err)}
}

// brotliScript decompresses stdin to stdout with node's zlib.
const brotliScript = `const z=require("zlib");const c=[];process.stdin.on("data",d=>c.push(d)).on("end",()=>{try{process.stdout.write(z.brotliDecompressSync(Buffer.concat(c)))}catch(e){process.stderr.write(e.message);process.exit(1)}})`

func brotliDecode(ctx context.Context, body []byte) ([]byte, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("decoding brotli needs node on PATH: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", brotliScript)
	cmd.Stdin = bytes.NewReader(body)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if out.Len() > maxBody {
		return nil, fmt.Errorf("decompressed body larger than %d bytes", maxBody)
	}
	return out.Bytes(), nil
}
