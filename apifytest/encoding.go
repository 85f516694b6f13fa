package apifytest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// decodeBody undoes a request body's Content-Encoding: gzip, deflate, or br,
// which the official JS client applies to every body of 1 KiB or more. The
// decoded body is read through the body size limit and decoding stops there,
// so that a small compressed bomb costs no more than limit bytes: it is a 413.
func decodeBody(encoding string, body []byte) ([]byte, *Error) {
	r, e := decoder(encoding, body)
	if e != nil || r == nil {
		return body, e
	}
	out, err := readLimited(r, maxBody)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, &Error{StatusCode: http.StatusRequestEntityTooLarge, Type: typeTooLarge,
			Message: "The decompressed payload is too large (limit: " + strconv.Itoa(maxBody) + " bytes)"}
	case err != nil:
		return nil, badEncoding(encoding, err)
	}
	return out, nil
}

// decoder returns a reader of body decoded from encoding, or nil for a body
// that is not encoded.
func decoder(encoding string, body []byte) (io.Reader, *Error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return nil, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, badEncoding(encoding, err)
		}
		return zr, nil
	case "deflate":
		return flate.NewReader(bytes.NewReader(body)), nil
	case "br":
		return brotli.NewReader(bytes.NewReader(body)), nil
	default:
		return nil, &Error{StatusCode: http.StatusUnsupportedMediaType, Type: "unsupported-content-encoding",
			Message: fmt.Sprintf("Content-Encoding %q is not supported (use gzip, deflate or br)", encoding)}
	}
}

// errTooLarge is readLimited's error for a reader with more than limit bytes.
var errTooLarge = errors.New("more bytes than the limit")

// readLimited reads r to its end, reading at most limit+1 bytes from it:
// errTooLarge if there are more than limit.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errTooLarge
	}
	return out, nil
}

func badEncoding(encoding string, err error) *Error {
	return &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidRequest,
		Message: fmt.Sprintf("cannot decode the %s-encoded request body: %v", encoding, err)}
}
