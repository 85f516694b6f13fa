package apifytest

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// settleTimeout bounds how long the end of a run waits for the server to
// read and handle what the Actor sent on connections it has closed (see
// settle): a handler that ignores its request's context and blocks on the
// run's end cannot hold the run up for longer.
const settleTimeout = 5 * time.Second

// connSet holds the server's connections that are open, for settle.
type connSet struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	waiters int           // settle calls waiting on changed
	changed chan struct{} // closed, and replaced, on a change while waiters > 0
}

func newConnSet() *connSet {
	return &connSet{conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
}

// track is the http.Server's ConnState hook.
func (cs *connSet) track(c net.Conn, st http.ConnState) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch st {
	case http.StateNew:
		cs.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(cs.conns, c)
	}
	if cs.waiters > 0 {
		close(cs.changed)
		cs.changed = make(chan struct{})
	}
}

// settle waits until no connection of the server holds bytes, or the end
// of the stream, that its client sent and the server has not yet read,
// so that the requests a process sent before it exited are handled
// before its run ends: when a process exits, its connections are closed
// with what it wrote still on its way to the server. The JS SDK's
// Actor.exit, for one, sends the final status message, waits 1 ms and
// exits, without waiting for the answer. A connection that its client
// closed is waited for until the server has handled its last request and
// closed it too; one whose client is still there only until the server
// has read what has arrived. settle gives up after settleTimeout, or when
// done is closed; on a system where a connection cannot be examined so
// (see unread), it returns at once.
func (cs *connSet) settle(done <-chan struct{}) {
	var expired <-chan time.Time
	for {
		changed, pending := cs.pending()
		if !pending {
			return
		}
		if expired == nil {
			t := time.NewTimer(settleTimeout)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-changed:
		case <-expired:
		case <-done:
		}
		cs.mu.Lock()
		cs.waiters--
		cs.mu.Unlock()
		select {
		case <-expired:
			return
		case <-done:
			return
		default:
		}
	}
}

// pending reports whether a connection holds what its client sent and the
// server has not read; if one does, it also returns a channel closed on
// the next change of a connection's state, and the caller is counted
// among the waiters until it says otherwise.
func (cs *connSet) pending() (<-chan struct{}, bool) {
	cs.mu.Lock()
	conns := make([]net.Conn, 0, len(cs.conns))
	for c := range cs.conns {
		conns = append(conns, c)
	}
	// Counted before the connections are examined, so that a change
	// meanwhile closes changed.
	cs.waiters++
	changed := cs.changed
	cs.mu.Unlock()
	for _, c := range conns {
		if unread(c) {
			return changed, true
		}
	}
	cs.mu.Lock()
	cs.waiters--
	cs.mu.Unlock()
	return nil, false
}
