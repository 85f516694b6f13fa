package webhookrecv

import (
	"context"
	"sync"
)

// DefaultDedupCapacity is how many accepted dispatch IDs a [MemoryDeduper]
// remembers by default.
const DefaultDedupCapacity = 10_000

// ClaimResult is the outcome of [Deduper.Claim].
type ClaimResult int

// The outcomes of a claim.
const (
	// Claimed means the caller holds the dispatch: it must process the
	// delivery, then call Complete on success or Release on failure.
	Claimed ClaimResult = iota
	// AlreadyDone means the dispatch was processed before.
	AlreadyDone
	// InProgress means another attempt holds the dispatch right now.
	InProgress
)

// String returns the result's name.
func (c ClaimResult) String() string {
	switch c {
	case Claimed:
		return "claimed"
	case AlreadyDone:
		return "already done"
	case InProgress:
		return "in progress"
	}
	return "unknown"
}

// Deduper records which dispatches have been processed, so that a redelivery
// runs the handler's function at most once after a success. The [Handler]
// claims a dispatch before running the function and then asks the store to
// end the claim, even when the function panics or the platform hangs up
// meanwhile: Complete after a success, Release after a failure, so that the
// platform's retry processes the dispatch again. When Complete or Release
// fails, the Handler only logs the error, and the claim may stay. An attempt
// that arrives while the dispatch is claimed sees [InProgress] and is answered
// 409, which the platform retries.
//
// Implementations must be safe for concurrent use. A store shared by several
// replicas (Redis SET NX, a unique key in SQL) makes the guarantee hold across
// them; [MemoryDeduper] holds within one process. A process that dies while
// it holds a claim cannot end it: a persistent store must let claims expire
// (after longer than the function may run), or every redelivery of that
// dispatch is answered 409 until the platform gives up. [MemoryDeduper] loses
// its claims, and what it remembers, with the process: after a restart, a
// redelivery runs the function again.
type Deduper interface {
	// Claim tries to take dispatchID for processing.
	Claim(ctx context.Context, dispatchID string) (ClaimResult, error)
	// Complete records dispatchID as processed and ends the claim. When it
	// fails, the handler logs the error and still answers 200: the work is
	// done, and asking for a retry would only repeat it.
	Complete(ctx context.Context, dispatchID string) error
	// Release ends the claim without recording dispatchID as processed.
	Release(ctx context.Context, dispatchID string) error
}

// MemoryDeduper is a [Deduper] in memory that remembers the most recently
// completed dispatch IDs, up to a capacity, forgetting the oldest first.
// Dispatches in progress are never forgotten. Its zero value is ready to use
// with [DefaultDedupCapacity].
type MemoryDeduper struct {
	mu       sync.Mutex
	capacity int
	done     map[string]struct{}
	order    []string // ring of completed IDs, oldest at next once full
	next     int
	inFlight map[string]struct{}
}

// NewMemoryDeduper returns a MemoryDeduper that remembers capacity completed
// dispatches; capacity <= 0 means [DefaultDedupCapacity].
func NewMemoryDeduper(capacity int) *MemoryDeduper {
	return &MemoryDeduper{capacity: capacity}
}

func (m *MemoryDeduper) init() {
	if m.done != nil {
		return
	}
	if m.capacity <= 0 {
		m.capacity = DefaultDedupCapacity
	}
	m.done = make(map[string]struct{})
	m.inFlight = make(map[string]struct{})
}

// Claim implements [Deduper].
func (m *MemoryDeduper) Claim(_ context.Context, dispatchID string) (ClaimResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if _, ok := m.done[dispatchID]; ok {
		return AlreadyDone, nil
	}
	if _, ok := m.inFlight[dispatchID]; ok {
		return InProgress, nil
	}
	m.inFlight[dispatchID] = struct{}{}
	return Claimed, nil
}

// Complete implements [Deduper].
func (m *MemoryDeduper) Complete(_ context.Context, dispatchID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.inFlight, dispatchID)
	if _, ok := m.done[dispatchID]; ok {
		return nil
	}
	if len(m.order) < m.capacity {
		m.order = append(m.order, dispatchID)
	} else {
		delete(m.done, m.order[m.next])
		m.order[m.next] = dispatchID
		m.next = (m.next + 1) % m.capacity
	}
	m.done[dispatchID] = struct{}{}
	return nil
}

// Release implements [Deduper].
func (m *MemoryDeduper) Release(_ context.Context, dispatchID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.inFlight, dispatchID)
	return nil
}

// Len returns how many completed dispatch IDs m remembers.
func (m *MemoryDeduper) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.done)
}
