package apifytest_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-apify/actor/apifytest"
)

// dial opens a raw connection to srv that gives up after 10 seconds.
func dial(t *testing.T, srv *apifytest.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn
}

// TestConnectionTimeouts checks that a connection cannot hold the server:
// a wrong token is answered without waiting for the body, a body that does
// not arrive in time is answered 408, and an idle connection is closed.
func TestConnectionTimeouts(t *testing.T) {
	t.Parallel()
	// The token is checked long before the body timeout ends.
	srv := apifytest.NewTestServer(t, apifytest.WithConnectionTimeouts(100*time.Millisecond, time.Minute))
	short := apifytest.NewTestServer(t, apifytest.WithConnectionTimeouts(time.Minute, 200*time.Millisecond))
	tests := []struct {
		name       string
		srv        *apifytest.Server
		token      string
		wantStatus int
	}{
		{"wrong token", srv, "wrong", http.StatusUnauthorized},
		{"no token", srv, "", http.StatusUnauthorized},
		{"slow body", short, short.Token, http.StatusRequestTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := dial(t, tt.srv)
			// A body of 1000 bytes of which 10 are sent.
			req := "POST /v2/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
			if tt.token != "" {
				req += "Authorization: Bearer " + tt.token + "\r\n"
			}
			if _, err := io.WriteString(conn, req+"\r\n{\"eventTyp"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !resp.Close {
				t.Errorf("status %d, close %v; want %d and the connection closed", resp.StatusCode, resp.Close, tt.wantStatus)
			}
		})
	}
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		conn := dial(t, srv)
		br := bufio.NewReader(conn)
		if _, err := io.WriteString(conn, "GET /v2/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+srv.Token+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("status %d, close %v; want a kept-alive 200", resp.StatusCode, resp.Close)
		}
		// The server closes the connection once it has idled for 100 ms.
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("read after idling: %v, want EOF: the server closing the connection", err)
		}
	})
}
