package actor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// The platform's events websocket: one JSON text message per event,
// {"name": ..., "createdAt": ..., "data": {...}}.

// maxEventFrameBytes caps one message from the events socket; the
// platform's are a few hundred bytes. A longer one closes the connection
// with 1009, after which the SDK connects again.
const maxEventFrameBytes = 64 << 10

// Reconnection, as the official Python SDK does it: a connection that stayed
// open for healthyConnection is reopened at once when it drops; one that
// drops sooner is reopened at once the first time, then after a growing,
// jittered wait. Close codes that say the next attempt would fail the same
// way end the reconnecting.
const (
	healthyConnection = time.Second
	dialTimeout       = 10 * time.Second
	backoffFirst      = 5 * time.Second // the first wait is a random part of it
	backoffMin        = 3100 * time.Millisecond
	backoffMax        = 90 * time.Second
	backoffFactor     = 1.618
)

// permanentClose reports the close codes after which the SDK does not
// connect again: protocol and data errors (1002, 1003, 1007), a missing
// extension (1010) and a policy violation (1008), which the platform sends
// for an unknown run or more than 10 connections of one run.
func permanentClose(code websocket.StatusCode) bool {
	switch code {
	case websocket.StatusProtocolError, websocket.StatusUnsupportedData, websocket.StatusInvalidFramePayloadData,
		websocket.StatusPolicyViolation, websocket.StatusMandatoryExtension:
		return true
	}
	return false
}

// noRedirects is the HTTP client of the websocket handshake: the SDK
// follows no redirect.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// connectEvents dials the events socket, failing when the first connection
// cannot be made (as the Python SDK does), then reads it on a goroutine,
// reconnecting when it drops. The returned function closes it and waits for
// the goroutine.
func (a *Actor) connectEvents(ctx context.Context, rawURL string) (stop func(), err error) {
	host := "?"
	if u, err := url.Parse(rawURL); err == nil {
		host = u.Host // the URL itself is never logged: it may carry a secret
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dialTimeout)
	conn, err := dialEvents(dctx, rawURL)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("actor: init: connecting to the platform's events websocket (ACTOR_EVENTS_WEBSOCKET_URL, host %s): %w", host, err)
	}
	a.log().DebugContext(ctx, "connected to the platform's events websocket", "host", host)
	rctx, stopRead := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.readEvents(rctx, rawURL, host, conn)
	}()
	return func() {
		stopRead()
		<-done
	}, nil
}

func dialEvents(ctx context.Context, rawURL string) (*websocket.Conn, error) {
	conn, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{HTTPClient: noRedirects})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// Not the URL, which a *url.Error shows.
			return nil, fmt.Errorf("websocket handshake: %w", ue.Err)
		}
		return nil, err
	}
	conn.SetReadLimit(maxEventFrameBytes)
	return conn, nil
}

// readEvents reads conn until ctx ends, then connects again as the policy
// above says.
func (a *Actor) readEvents(ctx context.Context, rawURL, host string, conn *websocket.Conn) {
	var (
		quickDrops int // connections in a row that dropped before healthyConnection
		attempt    int // backoffs since the last healthy connection
	)
	for {
		opened := time.Now()
		err := a.readConn(ctx, conn)
		if ctx.Err() != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			return
		}
		code := websocket.CloseStatus(err)
		if permanentClose(code) {
			a.log().ErrorContext(ctx, "the platform closed the events websocket for good; not reconnecting: no more platform events",
				"host", host, "code", int(code), "error", err)
			return
		}
		a.log().WarnContext(ctx, "the events websocket dropped; reconnecting", "host", host, "code", int(code), "error", err)
		if time.Since(opened) >= healthyConnection {
			quickDrops, attempt = 0, 0
		} else {
			quickDrops++
		}
		backOff := quickDrops > 1 // the first quick drop reconnects at once, as a healthy one does
		for {
			if backOff {
				wait := backoffWait(attempt)
				attempt++
				if !sleepCtx(ctx, wait) {
					return
				}
			}
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			conn, err = dialEvents(dctx, rawURL)
			cancel()
			if err == nil {
				a.log().InfoContext(ctx, "reconnected to the platform's events websocket", "host", host)
				break
			}
			if ctx.Err() != nil {
				return
			}
			a.log().WarnContext(ctx, "cannot reconnect to the events websocket", "host", host, "error", err)
			backOff = true
		}
	}
}

// backoffWait returns the wait before reconnection attempt n (from 0), as
// the Python SDK's websockets library does: a random part of backoffFirst,
// then backoffMin growing by backoffFactor up to backoffMax.
func backoffWait(n int) time.Duration {
	if n <= 0 {
		return time.Duration(rand.Int64N(int64(backoffFirst)) + 1)
	}
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d = time.Duration(float64(d) * backoffFactor)
	}
	return min(d, backoffMax)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// readConn reads events from conn until it fails, and dispatches them.
func (a *Actor) readConn(ctx context.Context, conn *websocket.Conn) error {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			a.log().WarnContext(ctx, "ignoring a binary message on the events websocket", "bytes", len(data))
			continue
		}
		kind, v, err := decodeEvent(data)
		switch {
		case err != nil:
			a.log().WarnContext(ctx, "ignoring a platform event that cannot be read", "error", err)
		case v == nil:
			// An unknown or deprecated event (cpuInfo).
		default:
			a.dispatch(ctx, kind, v)
		}
	}
}

// decodeEvent reads one message of the events socket. It returns a nil
// value for an event it does not know, or a deprecated one.
func decodeEvent(data []byte) (eventKind, any, error) {
	var f struct {
		Name      string          `json:"name"`
		CreatedAt string          `json:"createdAt"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, nil, fmt.Errorf("decoding the event: %w", err)
	}
	created, _ := time.Parse(time.RFC3339Nano, f.CreatedAt) // zero when absent or malformed
	hasData := len(f.Data) > 0 && string(f.Data) != "null"
	switch f.Name {
	case "systemInfo":
		var d struct {
			CreatedAt       string  `json:"createdAt"`
			MemAvgBytes     float64 `json:"memAvgBytes"`
			MemCurrentBytes float64 `json:"memCurrentBytes"`
			MemMaxBytes     float64 `json:"memMaxBytes"`
			CPUAvgUsage     float64 `json:"cpuAvgUsage"`
			CPUMaxUsage     float64 `json:"cpuMaxUsage"`
			CPUCurrentUsage float64 `json:"cpuCurrentUsage"`
			IsCPUOverloaded bool    `json:"isCpuOverloaded"`
		}
		if hasData {
			if err := json.Unmarshal(f.Data, &d); err != nil {
				return 0, nil, fmt.Errorf("decoding the data of event systemInfo: %w", err)
			}
		}
		s := SystemInfo{
			CreatedAt:   created,
			MemAvgBytes: d.MemAvgBytes, MemCurrentBytes: d.MemCurrentBytes, MemMaxBytes: d.MemMaxBytes,
			CPUAvgUsage: d.CPUAvgUsage, CPUMaxUsage: d.CPUMaxUsage, CPUCurrentUsage: d.CPUCurrentUsage,
			IsCPUOverloaded: d.IsCPUOverloaded,
		}
		if t, err := time.Parse(time.RFC3339Nano, d.CreatedAt); err == nil {
			s.CreatedAt = t // the time of the figures, when the data has one
		}
		return kindSystemInfo, s, nil
	case "migrating":
		var d struct {
			TimeRemainingSecs *float64 `json:"timeRemainingSecs"`
		}
		if hasData {
			if err := json.Unmarshal(f.Data, &d); err != nil {
				return 0, nil, fmt.Errorf("decoding the data of event migrating: %w", err)
			}
		}
		m := Migrating{CreatedAt: created}
		if s := d.TimeRemainingSecs; s != nil && *s > 0 && *s < 24*3600 {
			m.TimeRemaining = time.Duration(*s * float64(time.Second))
		}
		return kindMigrating, m, nil
	case "aborting":
		return kindAborting, Aborting{CreatedAt: created}, nil
	case "persistState":
		var d struct {
			IsMigrating bool `json:"isMigrating"`
		}
		if hasData {
			if err := json.Unmarshal(f.Data, &d); err != nil {
				return 0, nil, fmt.Errorf("decoding the data of event persistState: %w", err)
			}
		}
		return kindPersistState, PersistState{CreatedAt: created, IsMigrating: d.IsMigrating}, nil
	case "":
		return 0, nil, errors.New("the event has no name")
	}
	return 0, nil, nil
}
