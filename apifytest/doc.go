// Package apifytest is a local Apify platform for tests and local runs, in the
// spirit of net/http/httptest and miniredis: an HTTP server on a loopback port
// that speaks the platform's API v2 for webhooks, webhook dispatches, Actor
// runs and storages (datasets, key-value stores and request queues), runs
// Actors registered as Go functions, and really delivers webhooks —
// rendered payload and headers templates, retries with doubling delays, a
// dispatch record with every HTTP call.
//
// A test starts one with [NewTestServer], points code at [Server.URL] with
// [Server.Token] (or uses [Server.Client], or gives a process [Server.Env]),
// drives runs from Go with [Server.StartRun], [Server.FinishRun] and
// [Server.AbortRun] or lets [Server.RegisterActor] functions run them, and
// waits for runs with [Server.WaitRun] and for deliveries with
// [Server.WaitIdle] or [Server.WaitDispatch], without sleeping:
//
//	srv := apifytest.NewTestServer(t)
//	run, _ := srv.StartRun(ctx, "janedoe~my-actor", nil, client.StartOptions{Webhooks: []client.WebhookDefinition{{
//		EventTypes: []client.EventType{client.EventActorRunSucceeded},
//		RequestURL: receiver.URL,
//	}}})
//	srv.FinishRun(run.ID, client.StatusSucceeded, 0)
//	srv.WaitIdle(ctx)
//
// # API
//
// Every request needs a valid token, in the Authorization: Bearer header (or,
// for compatibility with older clients, a token query parameter); one user
// never sees another's runs, webhooks, dispatches or storages. Responses use
// the platform's envelopes ({"data": ...}, lists with total, offset, limit,
// count, desc and items) and errors ({"error": {"type", "message"}}). Served:
//
//	POST   /v2/webhooks                    GET /v2/webhooks
//	GET    /v2/webhooks/{id}               PUT /v2/webhooks/{id}     DELETE /v2/webhooks/{id}
//	POST   /v2/webhooks/{id}/test          GET /v2/webhooks/{id}/dispatches
//	GET    /v2/webhook-dispatches          GET /v2/webhook-dispatches/{id}
//	POST   /v2/acts/{actorId}/runs         POST /v2/actors/{actorId}/runs
//	POST   /v2/actor-tasks/{taskId}/runs   GET /v2/actor-runs
//	GET    /v2/actor-runs/{id}             PUT /v2/actor-runs/{id}   DELETE /v2/actor-runs/{id}
//	POST   /v2/actor-runs/{id}/abort
//	POST   /v2/actor-runs/{id}/reboot      POST /v2/actor-runs/{id}/metamorph
//	POST   /v2/actor-runs/{id}/resurrect
//	POST   /v2/actor-runs/{id}/charge
//	GET    /v2/logs/{id}                   GET /v2/actor-runs/{runId}/log
//	GET    /v2/users/{userId}              GET /v2/users/me/limits   GET /v2/users/me/usage/monthly
//	GET, POST /v2/datasets             GET, POST /v2/key-value-stores    GET, POST /v2/request-queues
//
// for Actors (under /v2/acts and /v2/actors alike) and tasks:
//
//	GET /v2/acts                GET /v2/acts/{actorId}        GET /v2/acts/{actorId}/runs
//	GET /v2/actors              GET /v2/actors/{actorId}      GET /v2/actors/{actorId}/runs
//	GET /v2/actor-tasks         GET /v2/actor-tasks/{taskId}  GET /v2/actor-tasks/{taskId}/runs
//	GET /v2/acts/{actorId}/webhooks     GET /v2/actors/{actorId}/webhooks
//	GET /v2/actor-tasks/{taskId}/webhooks  GET, PUT /v2/actor-tasks/{taskId}/input
//	GET /v2/acts/{actorId}/runs/last
//	GET /v2/actors/{actorId}/runs/last
//	GET /v2/actor-tasks/{taskId}/runs/last
//	GET, HEAD, POST, PUT, DELETE /v2/acts/{actorId}/runs/last/{rest...}
//	GET, HEAD, POST, PUT, DELETE /v2/actors/{actorId}/runs/last/{rest...}
//	GET, HEAD, POST, PUT, DELETE /v2/actor-tasks/{taskId}/runs/last/{rest...}
//	GET /v2/acts/{actorId}/runs/{runId}     POST /v2/acts/{actorId}/runs/{runId}/{rest...}
//	GET /v2/actors/{actorId}/runs/{runId}   POST /v2/actors/{actorId}/runs/{runId}/{rest...}
//
// and, for each storage, under its ID or "username~name" and as a run's
// default storage (/v2/actor-runs/{runId}/dataset, /key-value-store and
// /request-queue, with the same endpoints below them):
//
//	GET, PUT, DELETE /v2/datasets/{id}
//	GET, HEAD, POST  /v2/datasets/{id}/items
//	GET              /v2/datasets/{id}/statistics
//	GET, PUT, DELETE /v2/key-value-stores/{id}
//	GET              /v2/key-value-stores/{id}/keys
//	GET              /v2/key-value-stores/{id}/records
//	GET, HEAD, PUT, POST, DELETE /v2/key-value-stores/{id}/records/{key}
//	GET, PUT, DELETE /v2/request-queues/{id}
//	GET, POST        /v2/request-queues/{id}/requests
//	POST, DELETE     /v2/request-queues/{id}/requests/batch
//	POST             /v2/request-queues/{id}/requests/unlock
//	GET, PUT, DELETE /v2/request-queues/{id}/requests/{requestId}
//	PUT, DELETE      /v2/request-queues/{id}/requests/{requestId}/lock
//	GET              /v2/request-queues/{id}/head
//	POST             /v2/request-queues/{id}/head/lock
//
//	GET, PUT, DELETE /v2/actor-runs/{runId}/dataset
//	GET, HEAD, POST  /v2/actor-runs/{runId}/dataset/items
//	GET              /v2/actor-runs/{runId}/dataset/statistics
//	GET, PUT, DELETE /v2/actor-runs/{runId}/key-value-store
//	GET              /v2/actor-runs/{runId}/key-value-store/keys
//	GET              /v2/actor-runs/{runId}/key-value-store/records
//	GET, HEAD, PUT, POST, DELETE /v2/actor-runs/{runId}/key-value-store/records/{key}
//	GET, PUT, DELETE /v2/actor-runs/{runId}/request-queue
//	GET, POST        /v2/actor-runs/{runId}/request-queue/requests
//	POST, DELETE     /v2/actor-runs/{runId}/request-queue/requests/batch
//	POST             /v2/actor-runs/{runId}/request-queue/requests/unlock
//	GET, PUT, DELETE /v2/actor-runs/{runId}/request-queue/requests/{requestId}
//	PUT, DELETE      /v2/actor-runs/{runId}/request-queue/requests/{requestId}/lock
//	GET              /v2/actor-runs/{runId}/request-queue/head
//	POST             /v2/actor-runs/{runId}/request-queue/head/lock
//
// Any Actor or task ID (an ID, "username~name" or "username/name") is
// accepted and created on first use, by a run start or a GET: an Actor
// known by name has an ID derived from the name, the same in every server.
// Actors and tasks have the platform's shapes with local defaults (no
// versions or builds; defaultRunOptions build latest, 3600 s, 1024 MB),
// stats counting the runs the server keeps, and lists of those the user
// has used, registered Actors included. Run lists of an Actor or task
// take status, offset, limit and desc, and look at all the user's kept
// runs; their webhook lists hold the webhooks whose condition is that
// Actor or task. A task's input (PUT .../input, a JSON object) is the
// input its runs start with, overridden field by field by a JSON object
// given at the start, as on the platform. .../runs/last (with status and origin) is the last run started;
// the paths below it (dataset, key-value-store, log, abort, ...) are the
// run's, and a 404 record-not-found without one. An Actor's
// .../runs/{runId} (and abort, metamorph, resurrect below it) is the
// run's own, for a run of that Actor. DELETE of a run that has
// ended removes it with its default storages (but those given a name),
// dispatches and ad-hoc webhooks; one still going is a 400.
//
// A run's log is a line of the platform's ("ACTOR: Started ..."), then what
// [Server.AppendLog] or [Server.LogWriter] gave it (apify-local feeds a
// process's stdout and stderr), each line starting with the time it was
// written, as on the platform. It keeps its last [MaxLogBytes]: older
// bytes are dropped and the log then starts with a line saying how many. It is served as text/plain; stream=1 (or true)
// follows it, flushing each write, until the run ends; download=1 makes it
// an attachment; raw changes nothing. A client that waits for a run that
// nothing will end (an Actor without a registered function, no
// [WithAutoFinish]) still waits, but the server warns once per run, in its
// log and in the run's, how to end it.
//
// The users are local: /v2/users/me has the platform's shape with a plan
// of no limits, no usage, and a proxy with no groups. There is no proxy:
// a run's environment points the JS SDK's proxy check
// (APIFY_PROXY_HOSTNAME, APIFY_PROXY_PORT, APIFY_PROXY_STATUS_URL) at the
// server, which answers that it is not connected and why, so that
// createProxyConfiguration() fails saying there is no proxy (unless given
// proxyUrls); a client that uses the server as a proxy all the same gets a
// 502 proxy-not-available saying so. A run's environment has APIFY_CLIENT_BASE_URL as well as
// APIFY_API_BASE_URL. A run's input is its default key-value
// store's INPUT record. Request bodies may be compressed with gzip, deflate
// or brotli (br, as the official JS client compresses every body of 1 KiB or
// more). A body is at most 9 MiB, compressed and decompressed alike;
// decompression stops at that limit, and a larger body is a 413.
//
// # Storages
//
// Datasets, key-value stores and request queues are a run's default ones
// (its input is the INPUT record of its store) or created through the API;
// POST with ?name= gets the user's storage of that name or creates it.
// Names are unique per user and kind; "username~name" (or "~name") finds one
// wherever an ID does. Lists hold the named storages, and with unnamed=1
// all; nothing is shared between users, so ownership=sharedWithMe lists
// none. A named storage outlives the retention of its run. consoleUrl
// points where the platform's console would show the storage.
//
// Dataset items are JSON objects. A read selects stored items by offset,
// limit and desc, then shapes each, in this order: skipFailedPages (items
// with errorInfo), fields (kept in the order given, renamed by
// outputFields), omit, unwind (in order; an array field becomes one item per
// element, an object element or object field merged into its parent; a
// missing field, an empty array or any other value leaves the item as it
// is), flatten ("a": {"b": 1} becomes "a.b": 1), skipHidden (fields starting
// with "#") and skipEmpty; clean is skipHidden and skipEmpty, simplified is
// fields=url,pageFunctionResult,errorInfo with unwind=pageFunctionResult. A
// view needs a schema, which datasets do not have here: it is refused, and
// statistics have no fieldStatistics. The formats are json, jsonl and csv:
// CSV's header row is the union of the fields in the order they first
// appear, a string is its text, null and a missing field are empty, and
// numbers, booleans, arrays and objects are their JSON; delimiter and
// skipHeaderRow apply, and a CSV starts with a BOM unless bom=0 (other
// formats only with bom=1), as on the platform; attachment=1 sets
// Content-Disposition. The X-Apify-Pagination-* headers count stored items
// (Count before skipping and unwinding, as on the platform), and Limit is
// 999999999999 for a read without one.
//
// Keys are listed in byte order, after exclusiveStartKey, those starting
// with prefix; stores have no schema, so collection is refused. GET
// .../records is the records (those starting with prefix) as a ZIP
// archive, a file per record named by its key. A record is stored as
// sent, its Content-Encoding undone; read with attachment=true, it comes
// with Content-Disposition: attachment.
//
// A request's ID derives from its uniqueKey as on the platform and in
// Crawlee (SHA-256, base64 without "+", "/" and "=", the first 15
// characters); adding a request whose unique key is in the queue changes
// nothing and says wasAlreadyPresent. The head gives pending requests that
// are not locked, forefront ones first (the last added first), then the
// others in the order added. A lock belongs to the clientKey that took it
// (a call without one is a new client, as on the platform): until it
// expires, the request is in no one's head, and only that client may
// prolong or delete the lock, or update or delete the request (403
// request-handled-or-locked otherwise). Prolonging keeps the request's
// place (forefront moves it to the front); deleting the lock puts it at
// the end, or with forefront at the front. Updating a request with
// handledAt marks it handled and releases its lock; without one it is
// pending again. Lists of requests go in the order added, with an opaque
// cursor; filter=locked keeps the locked ones, filter=pending the pending
// ones not locked.
//
// # Runs
//
// A run is READY, then RUNNING, and ends SUCCEEDED, FAILED, TIMED-OUT (through
// TIMING-OUT) or ABORTED (through ABORTING). A run of an Actor registered with
// [Server.RegisterActor] ends when its function returns; any other run stays
// RUNNING until [Server.FinishRun], [Server.AbortRun], the abort endpoint, its
// timeout, or the automatic finish set with [WithAutoFinish]. Each terminal
// transition fires the matching ACTOR.RUN.* event; ACTOR.RUN.CREATED fires for
// webhooks that exist when the run is created (those given at start included),
// and its dispatches are attempted before the run's terminal ones. As on the
// platform, the last status message the Actor set stays when its run ends,
// terminal or not; a run without one gets a terminal message that names how
// it ended.
//
// # Charging
//
// A server made [WithPricing] prices every run it starts as a run of a
// pay-per-event (or other) Actor: the run has the pricingInfo, empty
// chargedEventCounts and, when the start gives maxTotalChargeUsd or the
// pricing a default, options.maxTotalChargeUsd; its process gets
// APIFY_ACTOR_PRICING_INFO, APIFY_CHARGED_ACTOR_EVENT_COUNTS (the counts
// when the process starts) and ACTOR_MAX_TOTAL_CHARGE_USD, as the official
// SDKs read them. POST /v2/actor-runs/{id}/charge ({"eventName", "count"},
// answered 201 {}) adds count to the event's chargedEventCounts; with an
// idempotency-key header, once per key and run: a repeated key is answered
// 201 and charges nothing. It refuses a run that is not pay-per-event, an
// event not in the pricing, the synthetic apify-* events (which the
// platform charges from dataset writes) and a finished run. As on the
// platform, the API does not refuse a charge past the maximum total charge;
// the run is then aborted (the official JS SDK charges one event more than
// the budget allows so that the platform ends the run). When the pricing
// has them, the server charges the synthetic events itself, as the
// platform does: apify-actor-start when a run starts or is resurrected
// (one per GB of memory, at least one) and apify-default-dataset-item for each item
// pushed to a run's default dataset.
//
// # Events
//
// Each run has an events websocket, as on the platform: its URL is in the
// run's environment as ACTOR_EVENTS_WEBSOCKET_URL (and the legacy
// APIFY_ACTOR_EVENTS_WS_URL), ws://HOST/_apifytest/runs/{id}/events?key=KEY.
// The SDKs connect to it without a token, so the URL carries a random key
// of the run's instead: keep it as secret as the token. The server sends one
// JSON text frame per event, {"name", "createdAt", "data"}:
//   - systemInfo, every [DefaultSystemInfoInterval] while the run has a
//     connection ([WithSystemInfoInterval]): memAvgBytes, memCurrentBytes,
//     memMaxBytes, cpuAvgUsage, cpuMaxUsage, cpuCurrentUsage (percent of one
//     core), isCpuOverloaded (past 95% of the run's share, a core per 4096
//     MB) and createdAt, measured from the run's process (see
//     [WithProcessUsage]); the run's stats get the same figures.
//   - migrating, {"timeRemainingSecs": N}, when the run is migrated.
//   - aborting, {}, on a graceful abort (gracefully=true).
//
// persistState is not sent: the SDKs emit it themselves, and with
// isMigrating set after migrating. A connection for an unknown run, with a
// wrong key, for a run that has finished, or past [MaxEventConnections] at
// once is closed with status 1008, as the platform does; a client that
// falls 64 frames behind is closed with 1013. When the run ends
// its connections are closed with 1000, and when its process restarts with
// 1012.
//
// # Restarts
//
// A run restarts in place as on the platform: same run ID, storages and
// environment, a new process (for an Actor registered with
// [Server.RegisterActor], a new call of its function, whose ctx the restart
// cancels with [ErrRestarting] as its cause; [RestartOf] tells a call why it
// was made).
//   - Migration ([Server.MigrateRun], POST /_apifytest/runs/{id}/migrate):
//     migrating is sent, the process has the migration grace
//     ([WithMigrationGrace], [DefaultMigrationGrace]) to exit, and is then
//     killed and started again; the run stays RUNNING and
//     stats.migrationCount and stats.restartCount go up. A process that
//     exits with 0 during the grace ends the run SUCCEEDED and is not
//     restarted, as on the platform; any other exit restarts it at once.
//   - Reboot (POST /v2/actor-runs/{id}/reboot, RUNNING runs only, else 400):
//     the process is killed and started again at once, without an event;
//     stats.rebootCount and stats.restartCount go up. During a migration a
//     reboot hastens it, as the SDKs do once they have saved their state.
//   - Metamorph (POST /v2/actor-runs/{id}/metamorph?targetActorId=&build=,
//     RUNNING runs only): the body is stored with its content type as the
//     default store's INPUT-METAMORPH-1 (then -2, ...), run.metamorphs,
//     stats.metamorph and stats.restartCount record it (run.actId stays the
//     run's first Actor), and the target Actor's registered function
//     runs next with ACTOR_INPUT_KEY naming the record. A run whose process
//     is a function cannot become one of an Actor without a function: that
//     is a 501 metamorph-not-supported (apify-local runs only its COMMAND).
//   - Resurrection (POST /v2/actor-runs/{id}/resurrect, finished runs only,
//     else 400; build, timeout and memory as for a start): the run is
//     RUNNING again, ACTOR.RUN.RESURRECTED fires, its timeout starts again,
//     its function is called again and stats.resurrectCount goes up. An
//     ad-hoc webhook that has fired does not fire again, the documented
//     "triggers once"; [WithRefireAfterResurrect] makes the run's ad-hoc
//     webhooks fire again.
//
// A graceful abort sends aborting and gives the process
// [DefaultGracefulAbortTimeout] ([WithGracefulAbortTimeout]) to exit before
// its context is cancelled. A run without a function (one that tests drive)
// has no process to stop: its restarts count at once, after the event is
// queued. None of these calls is idempotent, as on the platform.
//
// # Delivery
//
// Every event creates one dispatch per matching webhook (an ad-hoc webhook
// fires at most once, unless [WithRefireAfterResurrect]). Dispatches wait in a queue per receiver host
// (host:port), each served by its own bounded set of workers (see
// [WithDeliveryWorkers]), so that a receiver that hangs delays no other
// host's calls. A worker POSTs the rendered payload to the webhook's
// requestUrl (redirects are not followed; the URL's userinfo is sent as
// Basic auth) with the rendered headers, over which
// Content-Type: application/json, X-Apify-Webhook (the webhook's ID),
// X-Apify-Webhook-Dispatch-Id and X-Apify-Request-Origin: WEBHOOK are set. A
// 2xx response succeeds; any other status, a network error or a timeout is a
// failed call recorded in the dispatch's calls and retried after the backoff,
// doubling each time, up to the retry limit (the platform's 11 retries by
// default) unless the webhook says doNotRetry.
//
// # Limits
//
// The server bounds what a client, a receiver or a loop of webhooks can make
// it hold:
//   - A request body is at most 9 MiB, compressed and decompressed (413);
//     a body must arrive within [DefaultBodyTimeout] (408), an idle
//     keep-alive connection is closed after [DefaultIdleTimeout] (see
//     [WithConnectionTimeouts]), and a request with a wrong token is
//     answered without its body being read.
//   - A user has at most [DefaultWebhookLimit] webhooks ([WithWebhookLimit]);
//     an ad-hoc webhook that has fired, or whose run has ended, no longer
//     counts.
//   - The server keeps [DefaultRetainedRuns] finished runs ([WithRetention]):
//     past that, or past the retention's age, the oldest go with their
//     storages, dispatches and ad-hoc webhooks.
//   - A webhook call carries [ChainDepthHeader]; a run started, or a
//     webhook tested, by such a call passes the depth on, and a dispatch
//     more than [MaxChainDepth] calls deep fails without a call, so that
//     webhooks calling the server itself in a loop stop.
//   - The storages of a user hold at most [DefaultStorageLimit] bytes
//     ([WithStorageLimit]); a user creates at most 10,000 storages of a
//     kind through the API (run storages are bounded by the retention);
//     both are 403 limit-reached past them.
//   - A read of dataset items selects at most 1,000,000 items (a read
//     without a limit of a larger dataset is refused), and its response
//     is at most 256 MiB (400: use a smaller limit); fields, omit, unwind
//     and flatten list at most 1000 names each, and flatten goes 32
//     levels deep.
//   - Pages of keys hold at most 1000 keys; heads at most 1000 requests
//     (100 by default), heads with locks 25; batches 25 requests; lists of
//     requests 10,000 (1000 by default); a lock lasts at most a day; a
//     clientKey has at most 32 characters.
//   - Lists cost the page they return, whatever the number of records
//     (lists of requests with a filter, and heads, skip the requests they
//     leave out).
//
// # Control endpoints
//
// Outside /v2, for tests written in any language (they need the token too):
//
//	POST /_apifytest/runs/{id}/finish   body {"status": "SUCCEEDED", "exitCode": 0}; both optional
//	                                    (default SUCCEEDED, and exit code 0 for SUCCEEDED, 1 otherwise)
//	POST /_apifytest/runs/{id}/abort    aborts the run
//	POST /_apifytest/runs/{id}/migrate  migrates the run (see Restarts); answers when the
//	                                    process has started again, or the run has ended
//	GET  /_apifytest/runs/{id}/env      the run's environment, as Server.Env: {"NAME": "value", ...},
//	                                    to start a process as the run
//	GET  /_apifytest/runs/{id}/events   the run's events websocket (see Events): its key, not the token
//	POST /_apifytest/wait-idle          ?timeout=SECONDS (default 30): waits until no dispatch of the
//	                                    server is ACTIVE; 200 {"data": {"idle": true}} or 408 on timeout
//
// Each but the events websocket answers in the usual envelope.
//
// # Faults
//
// [Server.FailNext], [Server.DropNextResponses], [Server.StallNext] and
// [Server.InjectFault] make the next API requests fail, lose their response
// after the server acted, or hang, for testing clients.
package apifytest
