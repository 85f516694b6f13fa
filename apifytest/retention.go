package apifytest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// What the server keeps, and what it refuses to let grow: finished runs
// and their records are evicted past the retention (WithRetention), ad-hoc
// webhooks that can no longer fire stop counting toward the webhook limit,
// and a chain of deliveries that feed themselves is cut off at
// MaxChainDepth.

// MaxChainDepth is how many webhook calls can follow from one another: a
// call to the server's own API (a run start, a webhook test) made by a
// webhook delivery carries its depth in the ChainDepthHeader, runs started
// by it pass the depth on, and a dispatch deeper than MaxChainDepth fails
// without a call, with the reason in its calls. This cuts off webhooks that
// call the server itself in a loop (a webhook testing itself, two
// ACTOR.RUN.CREATED webhooks that each start a run of their Actor).
const MaxChainDepth = 8

// ChainDepthHeader is the header of webhook calls that holds how many
// webhook calls led to this one (1 for a call caused by no other).
const ChainDepthHeader = "X-Apifytest-Chain-Depth"

// chainDepth returns the depth a request carries: 0 for one that no
// webhook call made.
func chainDepth(r *http.Request) int {
	n, err := strconv.Atoi(r.Header.Get(ChainDepthHeader))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, MaxChainDepth+1)
}

// chainError is why a dispatch of the given depth is not delivered, or "".
func chainError(depth int) string {
	if depth <= MaxChainDepth {
		return ""
	}
	return "not delivered: the event was caused by a chain of " + strconv.Itoa(depth-1) +
		" webhook calls to this server, each causing the next (limit " + strconv.Itoa(MaxChainDepth) +
		", see " + ChainDepthHeader + ")"
}

// doneRec is a finished run, or a settled test dispatch, in the order
// they were done with: the oldest are evicted first.
type doneRec struct {
	run  *runRec
	test *dispatchRec
	at   time.Time
}

// runSettledLocked notes that r may be done: ended, with every dispatch
// settled. Its ad-hoc webhooks stop counting toward the limit when it ends.
func (s *Server) runSettledLocked(r *runRec) {
	if !r.run.Status.IsTerminal() || r.pending > 0 || r.retained {
		return
	}
	r.retained = true
	s.retainLocked(doneRec{run: r, at: time.Now()})
}

// retainLocked appends x to the records that retention evicts, and evicts.
func (s *Server) retainLocked(x doneRec) {
	s.done = append(s.done, x)
	s.evictLocked()
}

// evictLocked evicts the oldest done records past the retention, and
// schedules the next eviction by age.
func (s *Server) evictLocked() {
	t := time.Now()
	age := s.cfg.retainAge
	for len(s.done) > 0 && (len(s.done) > s.cfg.retainRuns || age > 0 && t.Sub(s.done[0].at) >= age) {
		x := s.done[0]
		s.done[0] = doneRec{}
		s.done = s.done[1:]
		if x.run != nil {
			s.evictRunLocked(x.run)
		} else {
			s.evictDispatchLocked(x.test)
		}
	}
	if age > 0 && len(s.done) > 0 && s.evictTimer == nil && !s.closed {
		s.evictTimer = time.AfterFunc(s.done[0].at.Add(age).Sub(t), func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.evictTimer = nil
			s.evictLocked()
		})
	}
}

// evictRunLocked forgets run r: its storages (but those given a name),
// dispatches and ad-hoc webhooks.
func (s *Server) evictRunLocked(r *runRec) {
	u := r.owner
	delete(s.runs, r.run.ID)
	u.runs = removeSeq(u.runs, r)
	u.byStatus[r.run.Status] = removeSeq(u.byStatus[r.run.Status], r)
	for _, id := range []string{r.run.DefaultKeyValueStoreID, r.run.DefaultDatasetID, r.run.DefaultRequestQueueID} {
		s.evictStorageLocked(id)
	}
	for _, d := range r.dispatches {
		s.evictDispatchLocked(d)
	}
	for _, wh := range slices.Clone(u.watchers["run:"+r.run.ID]) {
		if wh.w.IsAdHoc {
			s.deleteWebhookLocked(wh)
		}
	}
}

// evictDispatchLocked forgets dispatch d.
func (s *Server) evictDispatchLocked(d *dispatchRec) {
	delete(s.dispatches, d.d.ID)
	s.allDisp = removeSeq(s.allDisp, d)
	d.owner.dispatches = removeSeq(d.owner.dispatches, d)
	wh := d.webhook
	wh.dispatches = removeSeq(wh.dispatches, d)
	if wh.last == d {
		wh.last = nil
	}
}

// sequenced is a record with its creation number.
type sequenced interface{ seqNo() uint64 }

func (r *runRec) seqNo() uint64      { return r.seq }
func (d *dispatchRec) seqNo() uint64 { return d.seq }
func (w *webhookRec) seqNo() uint64  { return w.seq }

// removeSeq removes x from list, ordered by creation number.
func removeSeq[T sequenced](list []T, x T) []T {
	i, found := slices.BinarySearchFunc(list, x.seqNo(), func(e T, n uint64) int { return cmp.Compare(e.seqNo(), n) })
	switch {
	case !found:
		return list
	case i == 0: // the usual case: the oldest goes first
		var zero T
		list[0] = zero
		return list[1:]
	}
	return slices.Delete(list, i, i+1)
}

// insertSeq inserts x into list, ordered by creation number.
func insertSeq[T sequenced](list []T, x T) []T {
	n := len(list)
	if n == 0 || list[n-1].seqNo() < x.seqNo() { // the usual case: the newest
		return append(list, x)
	}
	i, _ := slices.BinarySearchFunc(list, x.seqNo(), func(e T, n uint64) int { return cmp.Compare(e.seqNo(), n) })
	return slices.Insert(list, i, x)
}

// countsLocked reports whether w counts toward its owner's webhook limit:
// an ad-hoc webhook that has fired, or whose run has ended, never fires
// again and does not.
func (s *Server) countsLocked(w *webhookRec) bool {
	if !w.w.IsAdHoc || w.deleted {
		return !w.deleted
	}
	if w.fired {
		return false
	}
	r, ok := s.runs[w.w.Condition.ActorRunID]
	return !ok || !r.run.Status.IsTerminal()
}

// recountLocked updates w's owner's count of webhooks toward the limit.
func (s *Server) recountLocked(w *webhookRec) {
	if c := s.countsLocked(w); c != w.counted {
		w.counted = c
		if c {
			w.owner.counted++
		} else {
			w.owner.counted--
		}
	}
}

// runEndedLocked stops counting the ad-hoc webhooks of run r, which has
// ended, toward the limit.
func (s *Server) runEndedLocked(r *runRec) {
	for _, wh := range r.owner.watchers["run:"+r.run.ID] {
		s.recountLocked(wh)
	}
}
