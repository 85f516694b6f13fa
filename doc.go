// Package actor is the Go SDK for Apify Actors, built around ad-hoc webhooks:
// single-use webhooks bound to one Actor run that fire once when the run
// succeeds, fails, times out or is aborted.
//
// Actor code calls [Init] (or wraps its work in [Main]), adds webhooks for
// its own run with [AddWebhook], and ends with [Exit] or [Fail]. Services that
// start Actors attach ad-hoc webhooks to the new run with [Start],
// [StartTask], [Call] and [CallTask]. Payload and headers templates are
// validated and rendered exactly as the platform renders them
// ([ParsePayloadTemplate]).
//
// Actors read their input with [GetInput], push results with [PushData] and
// keep records and crawl queues in [KeyValueStore] and [RequestQueue]: on
// the platform through its API, off it in local files laid out as the Apify
// CLI and the official SDKs lay them out (see [StorageMode]).
//
// The Apify API client lives in package client; a local platform that runs
// Actors and really delivers webhooks, for tests and local runs, lives in
// package apifytest and the apify-local command.
package actor
