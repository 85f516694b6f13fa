// Package stress holds the fault, fuzz and load suites of the module; it has
// no code of its own besides this comment. Its tests drive the SDK and the
// local platform (package apifytest) over loopback:
//
//   - faults_test.go: AddWebhook and run starts through a proxy
//     (package internal/faultproxy) that injects 30% faults — error statuses,
//     429 with Retry-After, connection resets, responses lost after the server
//     acted, stalls past the per-attempt timeout — and counts what the server
//     really created;
//   - fuzz_test.go: FuzzDecodeWebhooks, over client.DecodeWebhooks and
//     EncodeWebhooks (and actor.DecodeWebhooks, which forwards), with its
//     corpus in testdata/fuzz;
//   - load_test.go: 200 concurrent clients against one local platform for
//     2 seconds (30 with ACTOR_LONG_TESTS=1, as in .ci/run;
//     ACTOR_LOAD_SECONDS overrides), then checks that nothing was lost and
//     that every goroutine ended after Close.
//
// Run them with `go test ./stress/...`, and fuzz with
// `go test -fuzz=FuzzDecodeWebhooks ./stress/`.
package stress
