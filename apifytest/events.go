package apifytest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/go-apify/actor/internal/procstat"
)

// A run's events websocket: the platform's channel to the Actor's process
// for systemInfo, migrating and aborting (see the package documentation).

// Limits and defaults of the events websocket.
const (
	// MaxEventConnections is how many events websocket connections a run
	// may have open at once, as on the platform; one more is closed with
	// status 1008 (policy violation).
	MaxEventConnections = 10
	// DefaultSystemInfoInterval is how often a run with an open events
	// connection is sent a systemInfo event.
	DefaultSystemInfoInterval = time.Second
	// eventWriteTimeout bounds the writing of one frame to one connection.
	eventWriteTimeout = 5 * time.Second
	// eventQueue is how many frames may wait for a connection that reads
	// slowly; a connection whose queue is full is closed with 1013 (try
	// again later), as the SDKs reconnect after it.
	eventQueue = 64
)

// eventsPattern is the route of a run's events websocket. It is served
// without the API token: an SDK connects to the URL in
// ACTOR_EVENTS_WEBSOCKET_URL with no header of its own, so the URL carries a
// random key of the run's instead.
const eventsPattern = "/_apifytest/runs/{id}/events"

// The names of the events the platform sends.
const (
	eventSystemInfo = "systemInfo"
	eventMigrating  = "migrating"
	eventAborting   = "aborting"
)

// ProcessUsage is what a run's process uses at one moment: its resident
// memory, and the CPU time it has consumed since it started. See
// WithProcessUsage.
type ProcessUsage struct {
	MemoryBytes int64
	CPUTime     time.Duration
}

// systemInfo is the data of a systemInfo event, as the platform sends it
// (and as the Python SDK requires every field). CPU usage is in percent of
// one core.
type systemInfo struct {
	MemAvgBytes     float64 `json:"memAvgBytes"`
	MemCurrentBytes int64   `json:"memCurrentBytes"`
	MemMaxBytes     int64   `json:"memMaxBytes"`
	CPUAvgUsage     float64 `json:"cpuAvgUsage"`
	CPUMaxUsage     float64 `json:"cpuMaxUsage"`
	CPUCurrentUsage float64 `json:"cpuCurrentUsage"`
	IsCPUOverloaded bool    `json:"isCpuOverloaded"`
	CreatedAt       string  `json:"createdAt"`
}

// eventFrame is one event, one JSON text frame.
type eventFrame struct {
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	Data      any    `json:"data"`
}

// eventHub is a run's events websocket connections and the figures of its
// systemInfo events. Guarded by Server.mu.
type eventHub struct {
	key   string // the secret of the run's events URL
	conns map[*eventConn]struct{}
	stop  chan struct{} // stops the systemInfo ticker; nil when none runs

	samples        int
	memSum, cpuSum float64
	memMax         int64
	cpuMax         float64
	haveLast       bool // lastCPU and lastAt hold the previous measurement
	lastCPU        time.Duration
	lastAt         time.Time
}

func newEventHub() *eventHub {
	return &eventHub{key: randomString(32), conns: map[*eventConn]struct{}{}}
}

// eventConn is one open connection.
type eventConn struct {
	out  chan outFrame
	quit chan struct{} // closed by stop
	once sync.Once
	// code and reason close the connection once stop is called; set
	// under Server.mu before.
	code   websocket.StatusCode
	reason string
}

// stop makes the connection close once its queued frames are written.
func (ec *eventConn) stop() { ec.once.Do(func() { close(ec.quit) }) }

// outFrame is a frame queued for a connection, with what to call once it
// is written (or cannot be).
type outFrame struct {
	data    []byte
	written func()
}

// eventsURL returns the URL of run r's events websocket.
func (r *runRec) eventsURL(baseURL string) string {
	ws := "ws" + strings.TrimPrefix(baseURL, "http")
	return ws + "/_apifytest/runs/" + r.run.ID + "/events?key=" + r.hub.key
}

// handleEvents serves GET /_apifytest/runs/{id}/events?key=KEY: it upgrades
// to a websocket, then closes it with 1008 for an unknown run, a wrong key,
// a run that has ended, or one connection over MaxEventConnections, as the
// platform does; otherwise it sends the run's events until the run ends or
// restarts.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, _ *user) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	id, key := r.PathValue("id"), r.URL.Query().Get("key")
	s.mu.Lock()
	rr, ok := s.runs[id]
	reason := ""
	switch {
	case s.closed:
		reason = "the server is closing"
	case !ok || subtle.ConstantTimeCompare([]byte(key), []byte(rr.hub.key)) != 1:
		reason = "unknown Actor run"
	case rr.run.Status.IsTerminal():
		reason = "the Actor run has finished"
	case len(rr.hub.conns) >= MaxEventConnections:
		reason = "too many connections: a run may have " + strconv.Itoa(MaxEventConnections)
	}
	if reason != "" {
		s.mu.Unlock()
		_ = conn.Close(websocket.StatusPolicyViolation, reason)
		return
	}
	ec := &eventConn{out: make(chan outFrame, eventQueue), quit: make(chan struct{})}
	h := rr.hub
	h.conns[ec] = struct{}{}
	if h.stop == nil {
		h.stop = make(chan struct{})
		s.bg.Add(1)
		go s.sendSystemInfo(rr, h, h.stop)
	}
	s.bg.Add(1)
	s.mu.Unlock()
	defer s.bg.Done()
	s.serveEvents(rr, ec, conn)
}

// serveEvents writes the frames queued for ec until the server stops it
// (see closeEventsLocked) or closes, the peer closes, or a write fails.
func (s *Server) serveEvents(r *runRec, ec *eventConn, conn *websocket.Conn) {
	// The client sends nothing but control frames; a data frame, or the
	// server closing, closes the connection at once.
	peer := conn.CloseRead(s.ctx)
	var werr error
loop:
	for {
		select {
		case f := <-ec.out:
			if werr = writeFrame(s.ctx, conn, f); werr != nil {
				break loop
			}
		case <-ec.quit:
			break loop
		case <-peer.Done():
			break loop
		}
	}
	s.mu.Lock()
	delete(r.hub.conns, ec)
	if len(r.hub.conns) == 0 && r.hub.stop != nil {
		close(r.hub.stop)
		r.hub.stop = nil
	}
	code, reason := ec.code, ec.reason
	s.mu.Unlock()
	// No frame is queued for ec any more: flush what is, so that a
	// notice sent right before the run ends or restarts still arrives.
	for flushing := true; flushing; {
		select {
		case f := <-ec.out:
			if werr == nil && peer.Err() == nil {
				werr = writeFrame(s.ctx, conn, f)
			} else {
				f.written()
			}
		default:
			flushing = false
		}
	}
	if werr != nil || peer.Err() != nil || code == 0 {
		_ = conn.CloseNow()
		return
	}
	_ = conn.Close(code, reason)
}

// writeFrame writes f to conn within eventWriteTimeout.
func writeFrame(ctx context.Context, conn *websocket.Conn, f outFrame) error {
	defer f.written()
	wctx, cancel := context.WithTimeout(ctx, eventWriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, f.data)
}

// emitLocked queues the event name with data for every connection of run
// r and returns a channel closed once each has written it or is gone.
func (s *Server) emitLocked(r *runRec, name string, data any) <-chan struct{} {
	written := make(chan struct{})
	b, err := json.Marshal(eventFrame{Name: name, CreatedAt: isoTime(now()), Data: data})
	if err != nil || len(r.hub.conns) == 0 {
		close(written)
		return written
	}
	var wg sync.WaitGroup
	for ec := range r.hub.conns {
		wg.Add(1)
		select {
		case ec.out <- outFrame{data: b, written: wg.Done}:
		default:
			wg.Done()
			ec.code, ec.reason = websocket.StatusTryAgainLater, "the client reads events too slowly"
			ec.stop()
		}
	}
	go func() { wg.Wait(); close(written) }()
	return written
}

// closeEventsLocked closes run r's connections with code and reason, once
// the frames queued for them are written.
func (s *Server) closeEventsLocked(r *runRec, code websocket.StatusCode, reason string) {
	for ec := range r.hub.conns {
		ec.code, ec.reason = code, reason
		ec.stop()
	}
}

// sendSystemInfo sends run r a systemInfo event every systemInfoInterval
// until stop is closed.
func (s *Server) sendSystemInfo(r *runRec, h *eventHub, stop chan struct{}) {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.systemInfoInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		usage, ok := s.usageOf(r)
		at := time.Now()
		s.mu.Lock()
		if r.hub == h && len(h.conns) > 0 {
			info := h.sampleLocked(usage, ok, at, r.run.Options.MemoryMbytes)
			st := &r.run.Stats
			st.MemAvgBytes, st.MemMaxBytes, st.MemCurrentBytes = info.MemAvgBytes, info.MemMaxBytes, info.MemCurrentBytes
			st.CPUAvgUsage, st.CPUMaxUsage, st.CPUCurrentUsage = info.CPUAvgUsage, info.CPUMaxUsage, info.CPUCurrentUsage
			s.emitLocked(r, eventSystemInfo, info)
		}
		s.mu.Unlock()
	}
}

// usageOf measures what run r's process uses: through WithProcessUsage,
// else, while an Actor function runs it, the server's own process, where
// the function runs. A run with no process uses nothing.
func (s *Server) usageOf(r *runRec) (ProcessUsage, bool) {
	if s.cfg.processUsage != nil {
		return s.cfg.processUsage(r.run.ID)
	}
	s.mu.Lock()
	running := r.exec != nil
	s.mu.Unlock()
	if !running {
		return ProcessUsage{}, false
	}
	u, err := procstat.Process(os.Getpid())
	if err != nil {
		return ProcessUsage{}, false
	}
	return ProcessUsage{MemoryBytes: u.MemoryBytes, CPUTime: u.CPUTime}, true
}

// sampleLocked adds a measurement to h's figures and returns the
// systemInfo data they make. CPU usage is the CPU time consumed since the
// previous measurement over the time passed, in percent of one core; it is
// overloaded past 95% of the run's share of CPU, one core per 4096 MB of
// memory as on the platform.
func (h *eventHub) sampleLocked(u ProcessUsage, ok bool, at time.Time, memoryMbytes int) systemInfo {
	cur := 0.0
	if ok && h.haveLast && u.CPUTime >= h.lastCPU && at.After(h.lastAt) {
		cur = float64(u.CPUTime-h.lastCPU) / float64(at.Sub(h.lastAt)) * 100
	}
	if ok {
		h.lastCPU, h.lastAt, h.haveLast = u.CPUTime, at, true
	} else {
		h.haveLast = false // the process is gone: a new one starts from zero
	}
	h.samples++
	h.memSum += float64(u.MemoryBytes)
	h.cpuSum += cur
	h.memMax = max(h.memMax, u.MemoryBytes)
	h.cpuMax = max(h.cpuMax, cur)
	share := float64(memoryMbytes) / 4096 * 100
	return systemInfo{
		MemAvgBytes:     h.memSum / float64(h.samples),
		MemCurrentBytes: u.MemoryBytes,
		MemMaxBytes:     h.memMax,
		CPUAvgUsage:     h.cpuSum / float64(h.samples),
		CPUMaxUsage:     h.cpuMax,
		CPUCurrentUsage: cur,
		IsCPUOverloaded: cur >= 0.95*share,
		CreatedAt:       isoTime(now()),
	}
}
