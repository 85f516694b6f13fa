package actor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		frame    string
		wantKind eventKind
		want     any
		wantErr  string
	}{
		{"systemInfo without its own time", `{"name":"systemInfo","createdAt":"2025-01-02T03:04:05Z","data":{"memCurrentBytes":10}}`,
			kindSystemInfo, SystemInfo{CreatedAt: at, MemCurrentBytes: 10}, ""},
		{"migrating with time remaining", `{"name":"migrating","createdAt":"2025-01-02T03:04:05Z","data":{"timeRemainingSecs":1.5}}`,
			kindMigrating, Migrating{CreatedAt: at, TimeRemaining: 1500 * time.Millisecond}, ""},
		{"migrating without data", `{"name":"migrating"}`, kindMigrating, Migrating{}, ""},
		{"migrating with a silly time remaining", `{"name":"migrating","data":{"timeRemainingSecs":-3}}`, kindMigrating, Migrating{}, ""},
		{"aborting with null data", `{"name":"aborting","data":null}`, kindAborting, Aborting{}, ""},
		{"persistState", `{"name":"persistState","data":{"isMigrating":true}}`, kindPersistState, PersistState{IsMigrating: true}, ""},
		{"malformed time", `{"name":"persistState","createdAt":"yesterday"}`, kindPersistState, PersistState{}, ""},
		{"unknown", `{"name":"brandNew","data":{"x":1}}`, 0, nil, ""},
		{"deprecated cpuInfo", `{"name":"cpuInfo","data":{"isCpuOverloaded":true}}`, 0, nil, ""},
		{"no name", `{"data":{}}`, 0, nil, "no name"},
		{"not JSON", `{"name":`, 0, nil, "decoding the event"},
		{"bad data", `{"name":"persistState","data":{"isMigrating":"yes"}}`, 0, nil, "event persistState"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kind, v, err := decodeEvent([]byte(tc.frame))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kind != tc.wantKind {
				t.Errorf("kind = %d, want %d", kind, tc.wantKind)
			}
			if diff := cmp.Diff(tc.want, v); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListenerCoalesces: a busy handler gets only the newest of the events
// that arrived meanwhile, persistState keeping IsMigrating, and never runs
// concurrently with itself.
func TestListenerCoalesces(t *testing.T) {
	t.Parallel()
	a := New(WithLookupEnv(func(string) (string, bool) { return "", false }))
	release := make(chan struct{})
	got := make(chan PersistState, 8)
	a.OnPersistState(func(_ context.Context, e PersistState) {
		got <- e
		<-release
	})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a.ev.emit(kindPersistState, PersistState{CreatedAt: t0})
	first := <-got // the handler is now busy
	a.ev.emit(kindPersistState, PersistState{CreatedAt: t0.Add(1), IsMigrating: true})
	a.ev.emit(kindPersistState, PersistState{CreatedAt: t0.Add(2)})
	close(release)
	second := <-got
	want := []PersistState{{CreatedAt: t0}, {CreatedAt: t0.Add(2), IsMigrating: true}}
	if diff := cmp.Diff(want, []PersistState{first, second}); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	a.ev.snapshot(kindPersistState)[0].wait(t.Context())
	select {
	case e := <-got:
		t.Errorf("a third event was delivered: %+v", e)
	default:
	}
}

func TestBackoffWait(t *testing.T) {
	t.Parallel()
	var waits []time.Duration
	for n := range 12 {
		waits = append(waits, backoffWait(n))
	}
	if w := waits[0]; w <= 0 || w > backoffFirst {
		t.Errorf("first wait %v, want in (0, %v]", w, backoffFirst)
	}
	if waits[1] != backoffMin {
		t.Errorf("second wait %v, want %v", waits[1], backoffMin)
	}
	for i := 2; i < len(waits); i++ {
		if waits[i] < waits[i-1] || waits[i] > backoffMax {
			t.Errorf("wait %d = %v after %v: want growing up to %v", i, waits[i], waits[i-1], backoffMax)
		}
	}
	if waits[len(waits)-1] != backoffMax {
		t.Errorf("last wait %v, want the cap %v", waits[len(waits)-1], backoffMax)
	}
}
