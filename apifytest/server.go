package apifytest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-apify/actor/client"
)

// Server is a local Apify platform on a loopback port. Create it with
// NewServer or NewTestServer; its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port, without /v2: what
	// APIFY_API_BASE_URL holds and what client.WithBaseURL takes.
	URL string
	// Token is the default user's API token.
	Token string
	// UserID is the default user's ID.
	UserID string

	cfg     config
	log     *slog.Logger
	handler http.Handler
	mux     *http.ServeMux // the routes, behind no middleware
	hs      *http.Server
	ln      net.Listener
	served  chan struct{} // closed when hs.Serve has returned
	conns   *connSet      // hs's connections

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	closeOnce sync.Once
	bg        sync.WaitGroup // running Actor functions

	deliverer *deliverer
	faults    faults
	// users, by token, are fixed by NewServer: reading the map needs no
	// lock (what a user owns is guarded by mu).
	users map[string]*user

	mu         sync.Mutex
	closed     bool
	actors     map[string]*actorRec // by ID and by name
	tasks      map[string]*taskRec  // by ID and by name
	runs       map[string]*runRec
	webhooks   map[string]*webhookRec
	dispatches map[string]*dispatchRec
	allDisp    []*dispatchRec // every dispatch, oldest first
	storages   map[string]*storage
	seq        uint64        // the last record's creation number (webhooks, runs, dispatches)
	done       []doneRec     // finished runs and test dispatches, oldest first, until evicted
	evictTimer *time.Timer   // the next eviction by age
	active     int           // dispatches not yet settled
	idle       chan struct{} // closed while active == 0
}

// NewServer starts a Server on a loopback port (see WithAddr). Close it when
// done.
func NewServer(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.err(); err != nil {
		return nil, err
	}
	def := userSpec{id: newID(), token: newToken()}
	if cfg.defaultUser != nil {
		def = *cfg.defaultUser
	}
	s := &Server{
		Token:      def.token,
		UserID:     def.id,
		cfg:        cfg,
		log:        cfg.logger,
		served:     make(chan struct{}),
		users:      map[string]*user{},
		actors:     map[string]*actorRec{},
		tasks:      map[string]*taskRec{},
		runs:       map[string]*runRec{},
		webhooks:   map[string]*webhookRec{},
		dispatches: map[string]*dispatchRec{},
		storages:   map[string]*storage{},
		idle:       make(chan struct{}),
		conns:      newConnSet(),
	}
	close(s.idle)
	ids := map[string]bool{}
	for _, spec := range append([]userSpec{def}, cfg.users...) {
		if _, dup := s.users[spec.token]; dup {
			return nil, fmt.Errorf("apifytest: two users have the same token")
		}
		if ids[spec.id] {
			return nil, fmt.Errorf("apifytest: two users have the ID %q", spec.id)
		}
		ids[spec.id] = true
		s.users[spec.token] = &user{id: spec.id, token: spec.token, username: "user-" + spec.id,
			idemKeys: map[string]*webhookRec{}, watchers: map[string][]*webhookRec{},
			byStatus: map[client.RunStatus][]*runRec{}}
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("apifytest: listen on %s: %w", cfg.addr, err)
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.routes()
	s.hs = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       cfg.idleTimeout,
		// No ReadTimeout: it would cancel long polls; bodies have a
		// deadline of their own (see bodyDeadline).
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ConnState:   s.conns.track,
	}
	s.deliverer = newDeliverer(s)
	go func() {
		defer close(s.served)
		if err := s.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("apifytest: serve", "err", err)
		}
	}()
	s.log.Info("apifytest: listening", "url", s.URL)
	return s, nil
}

// NewTestServer is NewServer for tests: it fails tb when the server cannot
// start, and closes the server when the test ends.
func NewTestServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		tb.Fatalf("apifytest.NewTestServer: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server: it closes the listener and open connections,
// cancels the context of running Actor functions, stops deliveries in flight
// and pending retries (their dispatches stay ACTIVE), and waits for its
// goroutines (Actor functions included) to return. It is safe to call more
// than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.evictTimer != nil {
			s.evictTimer.Stop()
		}
		for _, r := range s.runs {
			if r.timer != nil {
				r.timer.Stop()
			}
		}
		s.mu.Unlock()
		s.cancel()
		_ = s.hs.Close()
		<-s.served
		s.deliverer.close()
		s.bg.Wait()
		s.log.Info("apifytest: closed", "url", s.URL)
	})
}

// Handler returns the server's HTTP handler, to mount it in another server.
// Values that name the server, such as Env's APIFY_API_BASE_URL, still use
// s.URL.
func (s *Server) Handler() http.Handler { return s.handler }

// Client returns an API client for the default user, wired to s, with short
// backoffs so that tests of retries run fast; opts are applied after those
// defaults. It panics if opts make client.New fail.
func (s *Server) Client(opts ...client.Option) *client.Client {
	all := append([]client.Option{
		client.WithBaseURL(s.URL),
		client.WithToken(s.Token),
		client.WithBackoff(time.Millisecond, 20*time.Millisecond),
	}, opts...)
	c, err := client.New(all...)
	if err != nil {
		panic(fmt.Sprintf("apifytest: Server.Client: %v", err))
	}
	return c
}

// Env returns the environment, as "KEY=value" strings, that a process sees
// when it runs as run runID: the API's URL (APIFY_API_BASE_URL, and
// APIFY_CLIENT_BASE_URL for the Apify CLI) and the run owner's token, the
// run, Actor, task and user IDs, APIFY_IS_AT_HOME=1, the default storages'
// IDs, the input key, memory, timeout and start time, the URL of its
// events websocket (ACTOR_EVENTS_WEBSOCKET_URL), and where the JS SDK's
// proxy check learns that there is no proxy. For an empty or
// unknown runID it holds only the API's URL and the default user's token and
// ID.
func (s *Server) Env(runID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runID]
	if !ok {
		return []string{
			"APIFY_API_BASE_URL=" + s.URL,
			"APIFY_API_PUBLIC_BASE_URL=" + s.URL,
			"APIFY_TOKEN=" + s.Token,
			"APIFY_USER_ID=" + s.UserID,
			"APIFY_CLIENT_BASE_URL=" + s.URL,
		}
	}
	return r.envLocked(s.URL)
}

// userByToken returns the user a token belongs to. It takes no lock: the
// users are fixed by NewServer.
func (s *Server) userByToken(token string) (*user, bool) {
	u, ok := s.users[token]
	return u, ok
}

// defaultUser returns the default user. Like userByToken, it takes no lock.
func (s *Server) defaultUser() *user { return s.users[s.Token] }
