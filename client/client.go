package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultBaseURL is the base URL of the Apify API; paths under /v2 are
// appended to it.
const DefaultBaseURL = "https://api.apify.com"

// Version is the version of this client, sent in the User-Agent header.
const Version = "0.1.0"

// Defaults of the retry policy.
const (
	// DefaultMaxRetries is how many times a failed request is retried.
	DefaultMaxRetries = 8
	// DefaultMinBackoff is the shortest wait between attempts.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff is the longest wait between attempts.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultAttemptTimeout bounds each attempt of a request when neither
	// WithAttemptTimeout nor the Timeout of the client given to
	// WithHTTPClient sets a bound.
	DefaultAttemptTimeout = 30 * time.Second
)

// maxResponseBytes bounds the size of a response body the client reads.
const maxResponseBytes = 64 << 20

// Client calls the Apify API v2. It is safe for concurrent use; create one and
// reuse it. The zero value is not usable: call New or NewFromEnv.
type Client struct {
	auth       []string // header value "Bearer <token>", or nil without a token; sent only in that header
	token      string   // redacted from every error text
	baseURL    string   // scheme://host[/prefix] without a trailing slash
	userAgent  string
	uaHeader   []string     // header values, shared read-only by all requests
	http       *http.Client // a copy of the caller's client with the attempt timeout, not following redirects
	attemptTO  time.Duration
	maxRetries int
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
}

// options collects what the Option functions set; New validates it.
type options struct {
	token        string
	baseURL      string
	httpClient   *http.Client
	maxRetries   int
	minBackoff   time.Duration
	maxBackoff   time.Duration
	attemptTO    time.Duration
	logger       *slog.Logger
	uaSuffix     string
	atHome       bool
	atHomeSet    bool
	optionErrors []error
}

// Option configures a Client built by New or NewFromEnv.
type Option func(*options)

// WithToken sets the API token. It is sent only in the Authorization header,
// never in a URL, a log line or an error. Without a token, requests are
// anonymous.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// WithBaseURL sets the base URL of the API (default DefaultBaseURL), e.g.
// "http://127.0.0.1:8080" for a local platform. It must be an absolute http or
// https URL without credentials, query or fragment; a trailing "/v2" is
// tolerated and dropped.
func WithBaseURL(u string) Option {
	return func(o *options) { o.baseURL = u }
}

// WithHTTPClient sets the HTTP client that carries the requests. The client is
// never modified: a shallow copy is used, which follows no redirects (the API
// never redirects, and following one could send the token or a run start
// elsewhere). Its own Timeout, if any, acts as the per-attempt timeout unless
// WithAttemptTimeout is given.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) {
		if hc == nil {
			o.optionErrors = append(o.optionErrors, errors.New("client: WithHTTPClient: the *http.Client is nil"))
			return
		}
		o.httpClient = hc
	}
}

// WithMaxRetries sets how many times a failed request is retried (default
// DefaultMaxRetries); 0 disables retries. Negative values are rejected by New.
func WithMaxRetries(n int) Option {
	return func(o *options) { o.maxRetries = n }
}

// WithBackoff sets the bounds of the wait between attempts (default
// DefaultMinBackoff and DefaultMaxBackoff). The wait grows exponentially from
// min with random jitter and never exceeds max, not even when the platform
// asks for a longer one with Retry-After.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = min, max }
}

// WithAttemptTimeout bounds each attempt of a request (connecting, sending and
// reading the whole response). An attempt cut short by it counts as a network
// error and is retried when that is safe. Long-polling requests (waitForFinish)
// get the wait they ask for on top of it. Zero, the default, means the
// Timeout of the client given to WithHTTPClient, or DefaultAttemptTimeout
// when that is zero too: every attempt has a bound.
func WithAttemptTimeout(d time.Duration) Option {
	return func(o *options) { o.attemptTO = d }
}

// WithLogger sets the logger that records retries (at Debug) and requests that
// give up after retrying (at Warn), with method, path, attempt and status but
// never headers, bodies or the token. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithUserAgentSuffix appends "; s" to the User-Agent header, to identify the
// program using the client.
func WithUserAgentSuffix(s string) Option {
	return func(o *options) { o.uaSuffix = s }
}

// WithAtHome sets the "isAtHome/<bool>" part of the User-Agent, which tells
// the platform whether the caller runs on it. The default is taken from the
// APIFY_IS_AT_HOME environment variable.
func WithAtHome(b bool) Option {
	return func(o *options) { o.atHome, o.atHomeSet = b, true }
}

// New returns a Client configured by opts. With no options it talks to
// DefaultBaseURL anonymously with the default retry policy and attempt
// timeout. It returns an
// error naming the option at fault for a bad base URL, a negative retry count,
// inverted or negative backoff bounds, a negative attempt timeout or a
// User-Agent suffix with control characters.
func New(opts ...Option) (*Client, error) {
	o := options{
		baseURL:    DefaultBaseURL,
		maxRetries: DefaultMaxRetries,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return build(&o)
}

// NewFromEnv is New with the token taken from APIFY_TOKEN and the base URL
// from APIFY_API_BASE_URL, as the platform sets them for a running Actor.
// Options override the environment; unset or empty variables are ignored.
func NewFromEnv(opts ...Option) (*Client, error) {
	var env []Option
	if t := os.Getenv("APIFY_TOKEN"); t != "" {
		env = append(env, WithToken(t))
	}
	if u := os.Getenv("APIFY_API_BASE_URL"); u != "" {
		env = append(env, WithBaseURL(u))
	}
	return New(append(env, opts...)...)
}

func build(o *options) (*Client, error) {
	if len(o.optionErrors) > 0 {
		return nil, errors.Join(o.optionErrors...)
	}
	base, err := parseBaseURL(o.baseURL)
	if err != nil {
		return nil, err
	}
	if o.maxRetries < 0 {
		return nil, fmt.Errorf("client: WithMaxRetries: %d is negative", o.maxRetries)
	}
	if o.minBackoff < 0 || o.maxBackoff < 0 {
		return nil, fmt.Errorf("client: WithBackoff: bounds %v and %v must not be negative", o.minBackoff, o.maxBackoff)
	}
	if o.minBackoff > o.maxBackoff {
		return nil, fmt.Errorf("client: WithBackoff: min %v exceeds max %v", o.minBackoff, o.maxBackoff)
	}
	if o.attemptTO < 0 {
		return nil, fmt.Errorf("client: WithAttemptTimeout: %v is negative", o.attemptTO)
	}
	if hasCTL(o.uaSuffix) {
		return nil, errors.New("client: WithUserAgentSuffix: the suffix contains control characters")
	}
	if hasCTL(o.token) || strings.ContainsRune(o.token, ' ') {
		// The message must not show the token.
		return nil, errors.New("client: WithToken: the token contains spaces or control characters")
	}
	atHome := o.atHome
	if !o.atHomeSet {
		atHome = envBool(os.Getenv("APIFY_IS_AT_HOME"))
	}

	hc := http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if o.httpClient != nil {
		hc = *o.httpClient
	}
	switch {
	case o.attemptTO > 0:
		hc.Timeout = o.attemptTO
	case hc.Timeout <= 0:
		hc.Timeout = DefaultAttemptTimeout
	}
	hc.CheckRedirect = refuseRedirect

	c := &Client{
		baseURL:    base,
		userAgent:  userAgent(atHome, o.uaSuffix),
		token:      o.token,
		http:       &hc,
		attemptTO:  hc.Timeout,
		maxRetries: o.maxRetries,
		minBackoff: o.minBackoff,
		maxBackoff: o.maxBackoff,
		log:        o.logger,
	}
	c.uaHeader = []string{c.userAgent}
	if o.token != "" {
		c.auth = []string{"Bearer " + o.token}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// refuseRedirect is the CheckRedirect of every Client: a 3xx response is
// returned as it is, and becomes an *APIError. The API never redirects, and
// net/http would forward the Authorization header to another port of the
// same host and send a run start again on 307 and 308.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// parseBaseURL validates u and returns it without a trailing slash or "/v2".
// Its errors show u only once it is known to carry no credentials, query or
// fragment, where a token could hide.
func parseBaseURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("client: WithBaseURL: not a URL: %w", sanitize(err))
	}
	switch {
	case p.User != nil:
		return "", errors.New("client: WithBaseURL: the URL must not carry credentials; use WithToken")
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "":
		return "", errors.New("client: WithBaseURL: the URL must not have a query or fragment")
	case p.Scheme != "http" && p.Scheme != "https":
		return "", fmt.Errorf("client: WithBaseURL: %q: the scheme must be http or https", u)
	case p.Host == "":
		return "", fmt.Errorf("client: WithBaseURL: %q has no host", u)
	}
	path := strings.TrimRight(p.EscapedPath(), "/")
	path = strings.TrimSuffix(path, "/v2")
	return p.Scheme + "://" + p.Host + path, nil
}

// hasCTL reports whether s has characters that a header value cannot carry.
func hasCTL(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// envBool reads a boolean environment variable the way the platform's tools
// do: "true", "1" and the like are true, "false" and "0" false, and any other
// non-empty value true.
func envBool(s string) bool {
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return s != ""
}

func userAgent(atHome bool, suffix string) string {
	ua := "ApifyClient-Go/" + Version + " (" + runtime.GOOS + "; Go/" +
		strings.TrimPrefix(runtime.Version(), "go") + "); isAtHome/" + strconv.FormatBool(atHome)
	if suffix != "" {
		ua += "; " + suffix
	}
	return ua
}

// BaseURL returns the base URL the client sends requests to, without "/v2".
// It never contains the token.
func (c *Client) BaseURL() string { return c.baseURL }

// UserAgent returns the User-Agent header the client sends.
func (c *Client) UserAgent() string { return c.userAgent }

// Format prints the client as client.Client{BaseURL:"..." Authenticated:true}
// whatever the verb, so that printing or logging a Client (fmt, slog) never
// reveals its token.
func (c *Client) Format(f fmt.State, _ rune) {
	if c == nil {
		io.WriteString(f, "<nil>")
		return
	}
	fmt.Fprintf(f, "client.Client{BaseURL:%q Authenticated:%t}", c.baseURL, c.auth != nil)
}

// request describes one API call.
type request struct {
	method      string
	path        string     // escaped, starting with "/v2/"
	query       url.Values // may be nil
	body        []byte     // nil for no body
	contentType string     // of body
	policy      retryPolicy
	longPoll    time.Duration // how long the platform may hold the response
	anyType     bool          // accept a response of any media type (a record), not only JSON
	stream      bool          // hand a 2xx body to the caller unread, in response.stream
	header      http.Header   // more headers, in canonical form; may be nil
	// readBody, when set, is the body instead of body: it returns a new
	// reader of it for each attempt, whose Len is the body's length.
	readBody retryablehttp.ReaderFunc
}

var (
	acceptJSON = []string{"application/json"}
	acceptAny  = []string{"*/*"}
)

// response is a finished API call: the status, the headers and the whole
// body, or the unread body when the request asked for a stream.
type response struct {
	status   int
	header   http.Header
	body     []byte
	stream   io.ReadCloser // the caller closes it
	attempts int
}

// do sends r with retries and returns the response, or an error: an *APIError
// for a non-2xx status, the context's error when it ends, or a wrapped
// transport error.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	if c == nil || c.http == nil {
		return nil, &unsentError{errors.New("client: the Client was not made by New or NewFromEnv")}
	}
	if ctx == nil {
		return nil, &unsentError{errors.New("client: nil context")}
	}
	u := c.baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	st := &call{c: c, r: r}
	if r.policy == retryUnlessReceived {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { st.connected.Store(true) },
		})
	}
	var body any
	switch {
	case r.readBody != nil:
		body = r.readBody
	case r.body != nil:
		body = r.body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, &unsentError{fmt.Errorf("client: %s %s: %w", r.method, r.path, sanitize(err))}
	}
	// The header values are shared, read-only slices: no allocation per
	// request. The keys are in canonical form.
	req.Header["User-Agent"] = c.uaHeader
	req.Header["Accept"] = acceptJSON
	if r.anyType {
		req.Header["Accept"] = acceptAny
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if c.auth != nil {
		req.Header["Authorization"] = c.auth
	}
	if body != nil {
		if r.contentType == "application/json" {
			req.Header["Content-Type"] = acceptJSON
		} else {
			req.Header["Content-Type"] = []string{r.contentType}
		}
	}
	req.SetResponseHandler(st.handle)

	hc := c.http
	if r.longPoll > 0 {
		cp := *c.http
		cp.Timeout = c.attemptTO + r.longPoll
		hc = &cp
	}
	rc := &retryablehttp.Client{
		HTTPClient:     hc,
		RetryWaitMin:   c.minBackoff,
		RetryWaitMax:   c.maxBackoff,
		RetryMax:       c.maxRetries,
		RequestLogHook: st.beforeAttempt,
		CheckRetry:     st.checkRetry,
		Backoff:        st.backoff,
		ErrorHandler:   st.giveUp,
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, &canceledError{method: r.method, path: r.path, err: ctxErr, reached: !st.waiting && st.reached}
		}
		return nil, &TransportError{Method: r.method, Path: r.path, Attempts: st.attempts,
			Err: c.redactorFor(r).redactErr(sanitize(err)), reached: st.reached}
	}
	if !st.read {
		// The retries ran out on a retryable status: the body is still unread.
		if err := st.handle(resp); err != nil {
			return nil, &TransportError{Method: r.method, Path: r.path, Attempts: st.attempts,
				Err: c.redactorFor(r).redactErr(sanitize(err)), reached: true}
		}
	}
	out := &response{status: resp.StatusCode, header: resp.Header, body: st.body, stream: st.stream, attempts: st.attempts}
	if out.status < 200 || out.status > 299 {
		return nil, newAPIError(r.method, r.path, out, c.redactorFor(r))
	}
	return out, nil
}

// call is the state of one request across its attempts.
type call struct {
	c         *Client
	r         *request
	attempts  int
	connected atomic.Bool // a connection was obtained in the current attempt
	reached   bool        // the latest attempt may have reached the platform
	waiting   bool        // between attempts, in the backoff
	lastErr   error       // of the latest attempt, for logging
	body      []byte
	stream    io.ReadCloser // the unread 2xx body of a streamed request
	read      bool
}

func (s *call) beforeAttempt(_ retryablehttp.Logger, _ *http.Request, i int) {
	s.attempts = i + 1
	s.connected.Store(false)
	s.reached, s.waiting = false, false
	s.lastErr = nil
}

// handle takes the response that will not be retried: a HEAD's has no body,
// a streamed request's 2xx body is kept unread, any other body is read.
func (s *call) handle(resp *http.Response) error {
	switch {
	case s.r.method == http.MethodHead:
		resp.Body.Close()
		s.body, s.read = nil, true
		return nil
	case s.r.stream && resp.StatusCode >= 200 && resp.StatusCode <= 299:
		s.stream, s.read = resp.Body, true
		return nil
	}
	return s.readBody(resp)
}

// readBody reads and closes the body of a response that will not be retried.
// A failure to read it is handed back to the retry policy.
func (s *call) readBody(resp *http.Response) error {
	defer resp.Body.Close()
	var (
		body []byte
		err  error
	)
	switch n := resp.ContentLength; {
	case n > maxResponseBytes:
		return errResponseTooLarge
	case n >= 0:
		// net/http ends the body after n bytes and reports a short one.
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	default:
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		if err == nil && len(body) > maxResponseBytes {
			return errResponseTooLarge
		}
	}
	if err != nil {
		return fmt.Errorf("reading the response body: %w", err)
	}
	s.body, s.read = body, true
	return nil
}

// giveUp hands the last response (whose status was retryable) or error back
// to Do's caller unchanged.
func (s *call) giveUp(resp *http.Response, err error, _ int) (*http.Response, error) {
	if s.attempts > 1 {
		s.c.log.LogAttrs(context.Background(), slog.LevelWarn, "apify: giving up",
			slog.String("method", s.r.method), slog.String("path", s.r.path),
			slog.Int("attempts", s.attempts), slog.Int("status", statusOf(resp)),
			s.errAttr(err))
	}
	return resp, err
}

var errResponseTooLarge = fmt.Errorf("the response body exceeds %d bytes", maxResponseBytes)

// decodeData decodes the {"data": ...} envelope of a 2xx response.
func decodeData[T any](r *request, resp *response) (*T, error) {
	var env struct {
		Data *T `json:"data"`
	}
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return nil, fmt.Errorf("client: %s %s: decoding the response: %w", r.method, r.path, err)
	}
	if env.Data == nil {
		return nil, fmt.Errorf("client: %s %s: the response has no data", r.method, r.path)
	}
	return env.Data, nil
}

// doData sends r and decodes the data of its response.
func doData[T any](ctx context.Context, c *Client, r *request) (*T, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeData[T](r, resp)
}

// pathID checks a resource ID and escapes it for a path segment. An ID that
// is empty, all spaces, "." or "..", or that has a "/", is an *IDError and
// nothing is sent: a proxy that normalises paths would send "." and ".." to
// another resource.
func pathID(field, id string) (string, error) {
	switch {
	case strings.TrimSpace(id) == "":
		return "", &IDError{Field: field, ID: id, Reason: "is empty"}
	case id == "." || id == "..":
		return "", &IDError{Field: field, ID: id, Reason: "is a dot segment"}
	case strings.Contains(id, "/"):
		return "", &IDError{Field: field, ID: id, Reason: `has a "/"`}
	}
	return url.PathEscape(id), nil
}
