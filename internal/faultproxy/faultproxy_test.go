package faultproxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault         Fault
		wantStatus    int // 0: the client gets an error
		wantReset     bool
		wantForwarded bool
	}{
		{fault: None, wantStatus: 200, wantForwarded: true},
		{fault: Status500, wantStatus: 500},
		{fault: Status502, wantStatus: 502},
		{fault: Status503, wantStatus: 503},
		{fault: RateLimited, wantStatus: 429},
		{fault: Reset, wantReset: true},
		{fault: DropResponse, wantForwarded: true},
		{fault: StallBefore, wantForwarded: true},
		{fault: StallAfter, wantForwarded: true},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			t.Parallel()
			var acted atomic.Int32
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if string(body) == "ping" {
					acted.Add(1)
				}
				w.Header().Set("X-Seen", "1")
				io.WriteString(w, "pong")
			})
			o := Options{Rate: 1, Faults: []Fault{tt.fault}, Stall: 300 * time.Millisecond}
			if tt.fault == None {
				o = Options{}
			}
			p, err := New(h, o)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			hc := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{}}
			req, _ := http.NewRequestWithContext(t.Context(), "POST", p.URL+"/x", strings.NewReader("ping"))
			resp, err := hc.Do(req)
			switch {
			case tt.wantStatus == 0 && err == nil:
				resp.Body.Close()
				t.Fatalf("status %d, want an error", resp.StatusCode)
			case tt.wantStatus != 0 && err != nil:
				t.Fatalf("error %v, want status %d", err, tt.wantStatus)
			case err != nil:
				if got := errors.Is(err, syscall.ECONNRESET); got != tt.wantReset {
					t.Errorf("error %v: is ECONNRESET = %v, want %v", err, got, tt.wantReset)
				}
			default:
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.fault == RateLimited && resp.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q, want 1", resp.Header.Get("Retry-After"))
				}
				if tt.fault == None && (string(body) != "pong" || resp.Header.Get("X-Seen") != "1") {
					t.Errorf("response %q with headers %v, want the handler's", body, resp.Header)
				}
			}
			p.Close() // waits for stalled requests to be forwarded
			want := int32(0)
			if tt.wantForwarded {
				want = 1
			}
			if got := acted.Load(); got != want {
				t.Errorf("handler acted %d times, want %d", got, want)
			}
			if diff := cmp.Diff(map[Fault]int{tt.fault: 1}, p.Counts()); diff != "" {
				t.Errorf("Counts() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateAndSeed(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	draw := func() map[Fault]int {
		p, err := New(h, Options{Rate: 0.3, Seed: 7, Faults: []Fault{Status500, Status503}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for range 1000 {
			resp, err := http.Get(p.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		return p.Counts()
	}
	first := draw()
	if diff := cmp.Diff(first, draw()); diff != "" {
		t.Errorf("same seed, different draws (-first +second):\n%s", diff)
	}
	if faulted := first[Status500] + first[Status503]; faulted < 240 || faulted > 360 {
		t.Errorf("%d of 1000 requests faulted, want about 300: %v", faulted, first)
	}
}

func TestEligible(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	p, err := New(h, Options{Rate: 1, Faults: []Fault{Status500},
		Eligible: func(r *http.Request) bool { return r.Method == http.MethodPost }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequestWithContext(t.Context(), method, p.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := map[string]int{"GET": 200, "POST": 500}[method]
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", method, resp.StatusCode, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	tests := []struct {
		name string
		h    http.Handler
		o    Options
		want string
	}{
		{"nil handler", nil, Options{}, "handler is nil"},
		{"rate", h, Options{Rate: 1.5}, "Options.Rate"},
		{"stall", h, Options{Stall: -time.Second}, "Options.Stall"},
		{"fault", h, Options{Faults: []Fault{None}}, "Options.Faults[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.h, tt.o)
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}
