package apifytest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// noProxyPassword is the proxy password of local users. It is not empty,
// because the JS SDK, finding none, would ask for one instead of checking
// the proxy; the check then learns from the server (see
// handleProxyStatus) that there is no proxy.
const noProxyPassword = "no-proxy-on-the-local-platform"

// noProxyMessage is why a proxy configuration fails on the local platform.
const noProxyMessage = "There is no Apify Proxy on the local platform (apifytest, apify-local): " +
	"run without a proxy, or give your own with createProxyConfiguration({ proxyUrls: [...] })."

// proxyStatusPath is where the JS SDK's proxy check goes, through the
// "proxy" that APIFY_PROXY_HOSTNAME and APIFY_PROXY_PORT name: the server
// itself (see runRec.envLocked).
const proxyStatusPath = "/_apifytest/proxy-status"

// userProfile is the profile of a local user.
type userProfile struct {
	Name string `json:"name"`
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("userId")
	switch id {
	case "me", u.id, u.username:
	default:
		// Another local user's public profile.
		for _, o := range s.users {
			if id == o.id || id == o.username {
				writeData(w, http.StatusOK, map[string]any{"username": o.username, "profile": userProfile{Name: o.username}})
				return
			}
		}
		writeError(w, notFound("User"))
		return
	}
	writeData(w, http.StatusOK, map[string]any{
		"id":       u.id,
		"username": u.username,
		"profile":  userProfile{Name: u.username},
		"email":    u.username + "@localhost",
		"proxy":    map[string]any{"password": noProxyPassword, "groups": []any{}},
		"plan": map[string]any{
			"id": "LOCAL", "description": "Local platform (apifytest)", "isEnabled": true,
			"monthlyBasePriceUsd": 0, "monthlyUsageCreditsUsd": 0, "usageDiscountPercent": 0,
			"enabledPlatformFeatures": []string{"ACTORS", "STORAGE", "WEBHOOKS"},
			"maxMonthlyUsageUsd":      0, "maxActorMemoryGbytes": 32, "maxMonthlyActorComputeUnits": 0,
			"maxMonthlyResidentialProxyGbytes": 0, "maxMonthlyProxySerps": 0, "maxMonthlyExternalDataTransferGbytes": 0,
			"maxActorCount": 0, "maxActorTaskCount": 0, "dataRetentionDays": 0,
			"availableProxyGroups": map[string]int{}, "teamAccountSeatCount": 1, "supportLevel": "NONE",
			"availableAddOns": []string{}, "maxScheduleCount": 0, "maxConcurrentActorRuns": 0,
		},
		"effectivePlatformFeatures": map[string]any{
			"ACTORS":  feature(true),
			"STORAGE": feature(true),
			"PROXY":   feature(false),
		},
		"createdAt": isoTime(time.Unix(0, 0)),
		"isPaying":  false,
	})
}

func feature(on bool) map[string]any {
	f := map[string]any{"isEnabled": on, "isTrial": false}
	if !on {
		f["disabledReason"] = noProxyMessage
		f["disabledReasonType"] = "NOT_AVAILABLE_LOCALLY"
	}
	return f
}

// usageCycle is the current calendar month, the local usage cycle.
func usageCycle() map[string]string {
	t := now()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return map[string]string{"startAt": isoTime(start), "endAt": isoTime(start.AddDate(0, 1, 0).Add(-time.Millisecond))}
}

// handleGetLimits serves GET /v2/users/me/limits. Zero limits are none:
// the local platform limits only what its options set.
func (s *Server) handleGetLimits(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	active := len(u.byStatus["READY"]) + len(u.byStatus["RUNNING"]) + len(u.byStatus["TIMING-OUT"]) + len(u.byStatus["ABORTING"])
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]any{
		"monthlyUsageCycle": usageCycle(),
		"limits": map[string]any{
			"maxMonthlyUsageUsd": 0, "maxMonthlyActorComputeUnits": 0, "maxMonthlyExternalDataTransferGbytes": 0,
			"maxMonthlyProxySerps": 0, "maxMonthlyResidentialProxyGbytes": 0, "maxActorMemoryGbytes": 32,
			"maxActorCount": 0, "maxActorTaskCount": 0, "maxConcurrentActorJobs": 0, "maxTeamAccountSeatCount": 1,
			"dataRetentionDays": 0, "maxScheduleCount": 0,
		},
		"current": map[string]any{
			"monthlyUsageUsd": 0, "monthlyActorComputeUnits": 0, "monthlyExternalDataTransferGbytes": 0,
			"monthlyProxySerps": 0, "monthlyResidentialProxyGbytes": 0, "actorMemoryGbytes": 0,
			"actorCount": 0, "actorTaskCount": 0, "activeActorJobCount": active, "teamAccountSeatCount": 1,
			"scheduleCount": 0,
		},
	})
}

// handleGetMonthlyUsage serves GET /v2/users/me/usage/monthly: nothing is
// billed locally.
func (s *Server) handleGetMonthlyUsage(w http.ResponseWriter, r *http.Request, u *user) {
	if v := r.URL.Query().Get("date"); v != "" {
		if _, err := time.Parse("2006-01-02", v); err != nil {
			writeError(w, &Error{StatusCode: http.StatusBadRequest, Type: typeInvalidParameter,
				Message: "Parameter date must be a date in the format YYYY-MM-DD, not " + v})
			return
		}
	}
	writeData(w, http.StatusOK, map[string]any{
		"usageCycle":                               usageCycle(),
		"monthlyServiceUsage":                      map[string]any{},
		"dailyServiceUsages":                       []any{},
		"totalUsageCreditsUsdBeforeVolumeDiscount": 0,
		"totalUsageCreditsUsdAfterVolumeDiscount":  0,
	})
}

// handleProxyStatus answers the JS SDK's proxy check (GET
// APIFY_PROXY_STATUS_URL/?format=json, sent through the proxy, which is
// this server): not connected, and why. It needs no token, as the check
// sends none.
func (s *Server) handleProxyStatus(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(map[string]any{"connected": false, "connectionError": noProxyMessage, "isManInTheMiddle": false})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// typeNoProxy is the error type of a request that uses the server as a
// proxy, as the proxy environment of a run may lead clients to do.
const typeNoProxy = "proxy-not-available"

// refuseProxying answers a request that asks the server to be a proxy (a
// CONNECT, or a request for an absolute URL of another host) with a 502
// saying there is no proxy, and passes any other to next. The proxy check
// (see handleProxyStatus) asks for an absolute URL of the server itself.
func (s *Server) refuseProxying(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect || r.URL.IsAbs() && "http://"+r.URL.Host != s.URL {
			writeError(w, &Error{StatusCode: http.StatusBadGateway, Type: typeNoProxy, Message: noProxyMessage})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// proxyEnv is the environment that points the JS SDK's proxy check at the
// server at baseURL (see handleProxyStatus).
func proxyEnv(baseURL string) []string {
	host, port := "127.0.0.1", ""
	if u, err := url.Parse(baseURL); err == nil {
		host, port = u.Hostname(), u.Port()
	}
	return []string{
		"APIFY_PROXY_HOSTNAME=" + host,
		"APIFY_PROXY_PORT=" + port,
		"APIFY_PROXY_STATUS_URL=" + baseURL + proxyStatusPath,
	}
}
