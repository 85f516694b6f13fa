package apifytest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
	"github.com/google/go-cmp/cmp"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t, apifytest.WithDefaultUser("me0000000000000id", "tok-me"), apifytest.WithUser("other", "tok-other"))
	type proxy struct {
		Password string
		Groups   []any
	}
	type me struct {
		ID, Username string
		Profile      struct{ Name string }
		Proxy        proxy
		Plan         struct{ ID string }
	}
	for _, path := range []string{"/v2/users/me", "/v2/users/me0000000000000id", "/v2/users/user-me0000000000000id"} {
		var got me
		call(t, srv, srv.Token, "GET", path, nil).data(t, &got)
		want := me{ID: "me0000000000000id", Username: "user-me0000000000000id", Proxy: proxy{Password: "no-proxy-on-the-local-platform", Groups: []any{}}}
		want.Profile.Name, want.Plan.ID = want.Username, "LOCAL"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
	var public map[string]any
	call(t, srv, srv.Token, "GET", "/v2/users/other", nil).data(t, &public)
	if public["username"] != "user-other" || public["proxy"] != nil || public["id"] != nil {
		t.Errorf("another user's public info: %v", public)
	}
	if r := call(t, srv, srv.Token, "GET", "/v2/users/nobody", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown user: %d, want 404", r.status)
	}

	if _, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	var limits struct {
		MonthlyUsageCycle struct{ StartAt, EndAt string }
		Limits            struct{ MaxActorMemoryGbytes float64 }
		Current           struct{ ActiveActorJobCount int }
	}
	call(t, srv, srv.Token, "GET", "/v2/users/me/limits", nil).data(t, &limits)
	if limits.Current.ActiveActorJobCount != 1 || limits.Limits.MaxActorMemoryGbytes != 32 || limits.MonthlyUsageCycle.StartAt == "" {
		t.Errorf("limits: %+v", limits)
	}
	var usage struct {
		UsageCycle          struct{ StartAt, EndAt string }
		DailyServiceUsages  []any
		MonthlyServiceUsage map[string]any
	}
	call(t, srv, srv.Token, "GET", "/v2/users/me/usage/monthly?date=2026-01-15", nil).data(t, &usage)
	if usage.UsageCycle.EndAt == "" || usage.DailyServiceUsages == nil || usage.MonthlyServiceUsage == nil {
		t.Errorf("usage: %+v", usage)
	}
	wantBadRequest(t, call(t, srv, srv.Token, "GET", "/v2/users/me/usage/monthly?date=soon", nil), "date=soon", "date")
}

// TestProxyCheck does what the JS SDK's proxy check does with a run's
// environment: a GET of APIFY_PROXY_STATUS_URL/?format=json through the
// proxy at APIFY_PROXY_HOSTNAME:APIFY_PROXY_PORT, which answers that there
// is no proxy.
func TestProxyCheck(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	run, err := srv.StartRun(ctxFor(t), "a~b", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range srv.Env(run.ID) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["APIFY_CLIENT_BASE_URL"] != srv.URL {
		t.Errorf("APIFY_CLIENT_BASE_URL = %q, want %q", env["APIFY_CLIENT_BASE_URL"], srv.URL)
	}
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("auto", "no-proxy-on-the-local-platform"),
		Host: env["APIFY_PROXY_HOSTNAME"] + ":" + env["APIFY_PROXY_PORT"]}
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	req, _ := http.NewRequestWithContext(ctxFor(t), "GET", env["APIFY_PROXY_STATUS_URL"]+"/?format=json", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var status struct {
		Connected       bool
		ConnectionError string
	}
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if status.Connected || !strings.Contains(status.ConnectionError, "There is no Apify Proxy on the local platform") {
		t.Errorf("proxy status %+v, want not connected, saying there is no proxy", status)
	}
}

// TestUsedAsProxy checks that a client that uses the server as a proxy (as
// the proxy environment of a run may lead one to) is told there is none.
func TestUsedAsProxy(t *testing.T) {
	t.Parallel()
	srv := apifytest.NewTestServer(t)
	proxyURL, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	for _, target := range []string{"http://example.invalid/page", "https://example.invalid/page"} {
		req, _ := http.NewRequestWithContext(ctxFor(t), "GET", target, nil)
		resp, err := hc.Do(req)
		if strings.HasPrefix(target, "https:") {
			// CONNECT refused: the transport reports the proxy's status.
			if err == nil || !strings.Contains(err.Error(), "Bad Gateway") {
				t.Errorf("GET %s through the server: %v, want a Bad Gateway", target, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Type, Message string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body.Error.Message, "There is no Apify Proxy") {
			t.Errorf("GET %s through the server: %d %+v, want 502 saying there is no proxy", target, resp.StatusCode, body)
		}
	}
}
