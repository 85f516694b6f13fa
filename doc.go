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
// The Apify API client lives in package client; a local platform that runs
// Actors and really delivers webhooks, for tests and local runs, lives in
// package apifytest and the apify-local command.
package actor
