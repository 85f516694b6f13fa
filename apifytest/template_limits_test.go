package apifytest_test

import (
	"strings"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// TestDeliveryBodyTooLarge checks that a payload template whose body would
// pass the render limit (10 MiB) fails its dispatch at once, with the
// reason in its call, and sends nothing: 30,000 {{resource}} of a run of
// some 500 bytes.
func TestDeliveryBodyTooLarge(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	rc := newReceiver(t)
	hook := succeededHook(rc.URL)
	hook.PayloadTemplate = "[" + strings.Repeat("{{resource}},", 30_000) + "null]"
	deliverRun(t, srv, hook)

	if got := rc.requests(); len(got) != 0 {
		t.Errorf("receiver got %d requests, want none", len(got))
	}
	ds := srv.Dispatches()
	if len(ds) != 1 {
		t.Fatalf("%d dispatches, want 1", len(ds))
	}
	d := ds[0]
	if d.Status != client.DispatchFailed || len(d.Calls) != 1 {
		t.Fatalf("dispatch status %s with %d calls, want FAILED with 1", d.Status, len(d.Calls))
	}
	if msg := d.Calls[0].ErrorMessage; !strings.Contains(msg, "over the limit of 10485760 bytes") || !strings.Contains(msg, "{{resource}}") {
		t.Errorf("call error %q does not name the limit and the placeholder", msg)
	}
}
