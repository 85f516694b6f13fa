package localstorage

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const metadataFile = "__metadata__.json"

// jsTime is a time as JavaScript's Date serializes it: UTC, milliseconds, "Z".
type jsTime time.Time

func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format(`"2006-01-02T15:04:05.000Z"`)), nil
}

func (t *jsTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = jsTime(v)
	return nil
}

// newID returns a random UUID (version 4), the form crawlee gives local storages.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// readMetadata decodes dir/__metadata__.json into v and reports whether it
// did. A missing or empty file leaves v as it is; so does one that does not
// parse (crawlee writes it in place, so a kill can cut it short), with a
// warning: everything in it but the id and timestamps is rebuilt from the
// data files.
func readMetadata(dir string, v any, log *slog.Logger) (bool, error) {
	path := filepath.Join(dir, metadataFile)
	b, err := readFileLimit(path, metadataFile, 1<<20)
	if os.IsNotExist(err) || (err == nil && len(b) == 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("localstorage: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Warn("localstorage: ignoring unreadable metadata", "file", path, "err", err)
		return false, nil
	}
	return true, nil
}

// metadataWriter rewrites a storage's __metadata__.json at most once per
// interval: the first change after a quiet interval is written at once, later
// ones are coalesced into one write when the interval ends. Counts on disk
// are rebuilt from the data files when a storage is opened, so a lagging
// metadata file loses nothing; Flush (called by Storage.Close) writes the
// last state.
type metadataWriter struct {
	dir      string
	interval time.Duration
	durable  bool
	mu       *sync.Mutex // the storage's mutex, held while encode runs
	encode   func() any  // returns the metadata; called with mu held
	onError  func(error) // reports a failed background write

	dirty   bool
	dropped bool // the storage was dropped: nothing more is written
	last    time.Time
	timer   *time.Timer
}

// changed records a change; mu must be held.
func (w *metadataWriter) changed() error {
	w.dirty = true
	if w.interval <= 0 || time.Since(w.last) >= w.interval {
		return w.writeLocked()
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(w.interval-time.Since(w.last), func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.timer = nil
			if err := w.writeLocked(); err != nil && w.onError != nil {
				w.onError(err)
			}
		})
	}
	return nil
}

// flush writes pending metadata now; mu must be held.
func (w *metadataWriter) flush() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	return w.writeLocked()
}

func (w *metadataWriter) writeLocked() error {
	if !w.dirty || w.dropped {
		return nil
	}
	b, err := json.MarshalIndent(w.encode(), "", "\t")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(w.dir, metadataFile, b, w.durable); err != nil {
		return err
	}
	w.dirty = false
	w.last = time.Now()
	return nil
}
