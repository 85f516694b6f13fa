package webhookrecv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
)

// maxDispatchIDLen bounds the dispatch IDs kept by a Deduper.
const maxDispatchIDLen = 256

// Func processes one delivery. Returning nil tells the platform the delivery
// is done; an error, a panic or runtime.Goexit makes the handler answer 500
// so the platform retries. The context is the request's: it ends when the
// platform gives up waiting, and the function should then return, since
// redeliveries of the dispatch are answered 409 for as long as it runs.
type Func func(ctx context.Context, d *Delivery) error

// Options configure a [Handler]. Only Secret is required.
type Options struct {
	// Secret is the shared secret every delivery must carry in
	// [SecretHeader] (see [HeadersTemplate]). Required: there is no way to
	// accept unauthenticated deliveries.
	Secret string
	// AllowSecretInURL also accepts the secret in the [SecretParam] query
	// parameter (see [URLWithSecret]) when the header is absent.
	AllowSecretInURL bool
	// MaxBodyBytes limits the body; 0 means [DefaultMaxBodyBytes].
	MaxBodyBytes int64
	// Deduper records processed dispatches; nil means a new
	// [MemoryDeduper] with [DefaultDedupCapacity].
	Deduper Deduper
	// Logger receives one line per delivery; nil means silence.
	Logger *slog.Logger
}

// Handler is an [http.Handler] that receives webhook deliveries and runs a
// [Func] once per dispatch. It answers:
//
//   - 405 to a method other than POST;
//   - 401 when the secret is missing or wrong — and to every request when no
//     secret is configured, as in a zero Handler;
//   - 413 when the body is over the limit;
//   - 400 when the payload is malformed or the dispatch ID is too long;
//   - 200 {"status":"accepted"} when the function succeeded;
//   - 200 {"status":"duplicate"} when the dispatch was accepted before, without
//     running the function again;
//   - 409 when the same dispatch is being processed right now, so the
//     platform tries again later;
//   - 500 when the function failed, panicked or ended its goroutine, or the
//     Deduper failed, so the platform retries.
//
// A request without [HeaderDispatchID] (made by hand; the platform always
// sends it) runs the function every time. Error bodies are {"error":"..."};
// they never contain the secret or the function's error, which goes to the
// logger.
type Handler struct {
	fn      Func
	secret  secretChecker
	maxBody int64
	dedup   Deduper
	log     *slog.Logger
}

// NewHandler returns a Handler that runs fn. It fails when fn is nil, when the
// secret is missing ([ErrNoSecret]) or invalid ([ErrInvalidSecret]), or when
// MaxBodyBytes is negative.
func NewHandler(fn Func, opts Options) (*Handler, error) {
	if fn == nil {
		return nil, errors.New("webhookrecv: the handler's function is nil")
	}
	if err := ValidateSecret(opts.Secret); err != nil {
		return nil, fmt.Errorf("webhookrecv: Options.Secret: %w", err)
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("webhookrecv: Options.MaxBodyBytes is negative (%d)", opts.MaxBodyBytes)
	}
	h := &Handler{
		fn:      fn,
		secret:  newSecretChecker(opts.Secret, opts.AllowSecretInURL),
		maxBody: opts.MaxBodyBytes,
		dedup:   opts.Deduper,
		log:     opts.Logger,
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.dedup == nil {
		h.dedup = NewMemoryDeduper(DefaultDedupCapacity)
	}
	return h, nil
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, "error", "method "+r.Method+" not allowed: webhooks are delivered with POST")
		return
	}
	if !h.secret.check(r) {
		h.logger().WarnContext(r.Context(), "webhook rejected: missing or wrong secret", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, "error", "missing or wrong secret")
		return
	}

	d := &Delivery{
		WebhookID:  r.Header.Get(HeaderWebhookID),
		DispatchID: r.Header.Get(HeaderDispatchID),
	}
	log := h.logger().With("webhook", d.WebhookID, "dispatch", d.DispatchID)
	if len(d.DispatchID) > maxDispatchIDLen {
		writeJSON(w, http.StatusBadRequest, "error", fmt.Sprintf("header %s is longer than %d bytes", HeaderDispatchID, maxDispatchIDLen))
		return
	}

	body, err := readBody(w, r, h.maxBody)
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		log.WarnContext(r.Context(), "webhook rejected: body too large", "limit", h.maxBody)
		writeJSON(w, http.StatusRequestEntityTooLarge, "error", fmt.Sprintf("body larger than %d bytes", h.maxBody))
		return
	case err != nil:
		log.WarnContext(r.Context(), "webhook rejected: reading body failed", "err", err)
		writeJSON(w, http.StatusBadRequest, "error", "reading the body failed")
		return
	}
	d.Body = body
	if d.Payload, err = ParsePayload(body); err != nil {
		log.WarnContext(r.Context(), "webhook rejected: malformed payload", "err", err)
		writeJSON(w, http.StatusBadRequest, "error", err.Error())
		return
	}
	log = log.With("event", d.Payload.EventType)

	if d.DispatchID == "" {
		// Nothing to deduplicate on: the platform always sends the header,
		// so this is a hand-made request.
		h.process(w, r, d, log, false)
		return
	}
	claim, err := h.dedup.Claim(r.Context(), d.DispatchID)
	if err != nil {
		log.ErrorContext(r.Context(), "webhook not processed: deduper failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, "error", "deduplication store failed; retry later")
		return
	}
	switch claim {
	case AlreadyDone:
		log.InfoContext(r.Context(), "webhook redelivery recognised: already accepted")
		writeJSON(w, http.StatusOK, "status", "duplicate")
		return
	case InProgress:
		log.InfoContext(r.Context(), "webhook redelivery while the dispatch is being processed")
		writeJSON(w, http.StatusConflict, "error", "this dispatch is being processed; retry later")
		return
	case Claimed:
	default:
		log.ErrorContext(r.Context(), "webhook not processed: deduper returned an unknown result", "result", int(claim))
		writeJSON(w, http.StatusInternalServerError, "error", "deduplication store failed; retry later")
		return
	}
	h.process(w, r, d, log, true)
}

// process runs the function and, when the dispatch is claimed, ends the
// claim: complete on success, release on failure — also when the function
// ends its goroutine (runtime.Goexit, as t.FailNow does), which no recover
// sees: a deferred release then keeps redeliveries from meeting 409 for ever.
func (h *Handler) process(w http.ResponseWriter, r *http.Request, d *Delivery, log *slog.Logger, claimed bool) {
	// The claim must end even when the platform hung up meanwhile.
	ctx := context.WithoutCancel(r.Context())
	returned := false
	defer func() {
		if returned {
			return
		}
		// The server closes the connection of a handler that does not
		// return: say so, so that the client does not send the next
		// request on it, and flush, or the 500 is never sent.
		w.Header().Set("Connection", "close")
		h.fail(ctx, w, d, log, claimed, errors.New("webhookrecv: the handler's function ended its goroutine (runtime.Goexit)"))
		_ = http.NewResponseController(w).Flush()
	}()
	err := h.call(r.Context(), d)
	returned = true
	if err != nil {
		h.fail(ctx, w, d, log, claimed, err)
		return
	}
	if claimed {
		if err := h.dedup.Complete(ctx, d.DispatchID); err != nil {
			// The work is done: asking for a retry would only repeat it.
			log.ErrorContext(ctx, "recording the dispatch as processed failed", "err", err)
		}
	}
	log.InfoContext(ctx, "webhook accepted")
	writeJSON(w, http.StatusOK, "status", "accepted")
}

// fail releases a claimed dispatch the function failed to process, logs
// err and answers 500, so that the platform retries.
func (h *Handler) fail(ctx context.Context, w http.ResponseWriter, d *Delivery, log *slog.Logger, claimed bool, err error) {
	if claimed {
		if rerr := h.dedup.Release(ctx, d.DispatchID); rerr != nil {
			log.ErrorContext(ctx, "releasing the dispatch failed", "err", rerr)
		}
	}
	log.ErrorContext(ctx, "webhook processing failed; the platform will retry", "err", err)
	writeJSON(w, http.StatusInternalServerError, "error", "processing failed; retry later")
}

// call runs the function, turning a panic into an error that carries the
// stack, for the log.
func (h *Handler) call(ctx context.Context, d *Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("webhookrecv: the handler's function panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h.fn(ctx, d)
}

// discard is the logger of a Handler without one.
var discard = slog.New(slog.DiscardHandler)

// logger returns the configured logger, or discard (nil Logger option, or
// a zero Handler).
func (h *Handler) logger() *slog.Logger {
	if h.log == nil {
		return discard
	}
	return h.log
}

func writeJSON(w http.ResponseWriter, status int, key, value string) {
	b, _ := json.Marshal(map[string]string{key: value}) // cannot fail for strings
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
