package client

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// TestDecodeRun decodes a run as the platform returns it, with fields this
// client does not know.
func TestDecodeRun(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"data":{
			"id":"HG7ML7M8z78YcAPEB","actId":"janedoe~my-actor","userId":"BPWZBd7Z9c746JAng",
			"actorTaskId":"rANaydYhUxjsnA3oz","startedAt":"2019-11-30T07:34:24.202Z",
			"finishedAt":"2019-12-12T09:30:12.202Z","status":"ABORTED","statusMessage":"Actor was aborted",
			"isStatusMessageTerminal":true,
			"meta":{"origin":"WEB","clientIp":"172.234.12.34","userAgent":"Mozilla/5.0 (iPad)","futureMeta":1},
			"stats":{"inputBodyLen":240,"migrationCount":0,"restartCount":0,"resurrectCount":1,
				"memAvgBytes":35914228.4,"memMaxBytes":38244352,"memCurrentBytes":0,"cpuAvgUsage":0.00955965,
				"cpuMaxUsage":3.1546,"cpuCurrentUsage":0,"netRxBytes":2652,"netTxBytes":1338,"durationMillis":26239,
				"runTimeSecs":26.239,"metamorph":0,"computeUnits":0.0072886},
			"options":{"build":"latest","timeoutSecs":300,"memoryMbytes":1024,"diskMbytes":2048,"maxItems":100},
			"buildId":"7sT5jcggjjA9fNcxF","buildNumber":"0.1.2","exitCode":0,"generalAccess":"RESTRICTED",
			"defaultKeyValueStoreId":"eJNzqsbPiopwJcgGQ","defaultDatasetId":"wmKPijuyDnPZAPRMk",
			"defaultRequestQueueId":"FL35cSF7jrxr3BY39",
			"storageIds":{"datasets":{"default":"wmKPijuyDnPZAPRMk"},"keyValueStores":{"default":"eJNzqsbPiopwJcgGQ"},
				"requestQueues":{"default":"FL35cSF7jrxr3BY39"}},
			"isContainerServerReady":false,"gitBranchName":"master",
			"usage":{"ACTOR_COMPUTE_UNITS":3,"DATASET_READS":4},"usageTotalUsd":0.2654,
			"usageUsd":{"ACTOR_COMPUTE_UNITS":0.072},
			"chargedEventCounts":{"actor-start":1},
			"metamorphs":[{"createdAt":"2019-11-30T07:39:24.202Z","actorId":"nspoEjklmnsF2oosD","buildId":"ME6oKecqy5kXDS4KQ","inputKey":"INPUT-METAMORPH-1"}],
			"somethingNew":{"nested":[1,2,3]},"platformUsageBillingModel":"USER"
		}}`)
	})
	c := newTestClient(t, api.srv.URL)
	got, err := c.GetRun(t.Context(), "HG7ML7M8z78YcAPEB")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	want := &Run{
		ID: "HG7ML7M8z78YcAPEB", ActID: "janedoe~my-actor", UserID: "BPWZBd7Z9c746JAng",
		ActorTaskID: "rANaydYhUxjsnA3oz", StartedAt: at("2019-11-30T07:34:24.202Z"),
		FinishedAt: ptr(at("2019-12-12T09:30:12.202Z")), Status: StatusAborted, StatusMessage: "Actor was aborted",
		IsStatusMessageTerminal: true,
		Meta:                    RunMeta{Origin: "WEB", ClientIP: "172.234.12.34", UserAgent: "Mozilla/5.0 (iPad)"},
		Stats: RunStats{InputBodyLen: 240, ResurrectCount: 1, MemAvgBytes: 35914228.4, MemMaxBytes: 38244352,
			CPUAvgUsage: 0.00955965, CPUMaxUsage: 3.1546, NetRxBytes: 2652, NetTxBytes: 1338, DurationMillis: 26239,
			RunTimeSecs: 26.239, ComputeUnits: 0.0072886},
		Options: RunOptions{Build: "latest", TimeoutSecs: 300, MemoryMbytes: 1024, DiskMbytes: 2048, MaxItems: ptr(100)},
		BuildID: "7sT5jcggjjA9fNcxF", BuildNumber: "0.1.2", ExitCode: ptr(0), GeneralAccess: "RESTRICTED",
		DefaultKeyValueStoreID: "eJNzqsbPiopwJcgGQ", DefaultDatasetID: "wmKPijuyDnPZAPRMk",
		DefaultRequestQueueID: "FL35cSF7jrxr3BY39",
		StorageIDs: &RunStorageIDs{Datasets: map[string]string{"default": "wmKPijuyDnPZAPRMk"},
			KeyValueStores: map[string]string{"default": "eJNzqsbPiopwJcgGQ"},
			RequestQueues:  map[string]string{"default": "FL35cSF7jrxr3BY39"}},
		GitBranchName: "master",
		Usage:         &RunUsage{"ACTOR_COMPUTE_UNITS": 3, "DATASET_READS": 4}, UsageTotalUSD: ptr(0.2654),
		UsageUSD:           &RunUsage{"ACTOR_COMPUTE_UNITS": 0.072},
		ChargedEventCounts: map[string]int{"actor-start": 1},
		Metamorphs: []RunMetamorph{{CreatedAt: at("2019-11-30T07:39:24.202Z"), ActorID: "nspoEjklmnsF2oosD",
			BuildID: "ME6oKecqy5kXDS4KQ", InputKey: "INPUT-METAMORPH-1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if !got.Status.IsTerminal() {
		t.Error("ABORTED is terminal")
	}
}

func TestDecodeDispatch(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"data":{"id":"d1","userId":"u1","webhookId":"wh1","createdAt":"2024-01-02T03:04:05.000Z",
			"status":"FAILED","eventType":"ACTOR.RUN.SUCCEEDED","eventData":{"actorId":"a1","actorRunId":"r1"},
			"webhook":{"condition":{"actorRunId":"r1"},"requestUrl":"https://x.test","isAdHoc":true,"unknown":1},
			"calls":[{"startedAt":"2024-01-02T03:04:06Z","finishedAt":"2024-01-02T03:04:07Z","errorMessage":"timeout",
				"responseStatus":504,"responseBody":"gw"},{"startedAt":"2024-01-02T03:05:06Z","responseStatus":200,"extra":"x"}]}}`)
	})
	c := newTestClient(t, api.srv.URL)
	got, err := c.GetWebhookDispatch(t.Context(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) *time.Time { tm, _ := time.Parse(time.RFC3339, s); return &tm }
	want := &WebhookDispatch{
		ID: "d1", UserID: "u1", WebhookID: "wh1", CreatedAt: *at("2024-01-02T03:04:05Z"), Status: DispatchFailed,
		EventType: EventActorRunSucceeded, EventData: &EventData{ActorID: "a1", ActorRunID: "r1"},
		Webhook: &WebhookDispatchSummary{Condition: WebhookCondition{ActorRunID: "r1"}, RequestURL: "https://x.test", IsAdHoc: true},
		Calls: []WebhookCall{
			{StartedAt: at("2024-01-02T03:04:06Z"), FinishedAt: at("2024-01-02T03:04:07Z"), ErrorMessage: "timeout", ResponseStatus: 504, ResponseBody: "gw"},
			{StartedAt: at("2024-01-02T03:05:06Z"), ResponseStatus: 200},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dispatch (-want +got):\n%s", diff)
	}
}

func TestDecodeWebhook(t *testing.T) {
	t.Parallel()
	body := `{"data":{"id":"wh1","createdAt":"2024-01-02T03:04:05Z","modifiedAt":"2024-01-02T03:04:06Z","userId":"u1",
		"isAdHoc":false,"shouldInterpolateStrings":true,"eventTypes":["ACTOR.RUN.SUCCEEDED","ACTOR.BUILD.FAILED"],
		"condition":{"actorId":"a1"},"ignoreSslErrors":false,"doNotRetry":true,"requestUrl":"https://x.test",
		"payloadTemplate":"{}","headersTemplate":"{}","description":"d","lastDispatch":{"status":"SUCCEEDED",
		"finishedAt":"2024-01-03T00:00:00Z"},"stats":{"totalDispatches":3},"newField":[]}}`
	api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 201, body) })
	c := newTestClient(t, api.srv.URL)
	got, err := c.CreateWebhook(t.Context(), WebhookCondition{ActorID: "a1"},
		WebhookDefinition{EventTypes: []EventType{EventActorRunSucceeded}, RequestURL: "https://x.test"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	want := &Webhook{ID: "wh1", CreatedAt: at("2024-01-02T03:04:05Z"), ModifiedAt: at("2024-01-02T03:04:06Z"),
		UserID: "u1", Condition: WebhookCondition{ActorID: "a1"},
		WebhookDefinition: WebhookDefinition{
			ShouldInterpolateStrings: true, EventTypes: []EventType{EventActorRunSucceeded, EventActorBuildFailed},
			DoNotRetry: true, RequestURL: "https://x.test", PayloadTemplate: "{}", HeadersTemplate: "{}", Description: "d",
		},
		LastDispatch: &WebhookLastDispatch{Status: DispatchSucceeded, FinishedAt: ptr(at("2024-01-03T00:00:00Z"))},
		Stats:        &WebhookStats{TotalDispatches: 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
}

func TestDecodeBadResponses(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`not json`, `{"data":null}`, `{}`, `{"data":{"id":5}}`} {
		api := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, body) })
		c := newTestClient(t, api.srv.URL)
		if run, err := c.GetRun(t.Context(), "r"); err == nil {
			t.Errorf("body %s: got %+v, want an error", body, run)
		}
	}
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	all := EventTypes()
	if len(all) != 12 {
		t.Fatalf("%d event types, want 12", len(all))
	}
	runs := 0
	for _, e := range all {
		if !e.IsKnown() {
			t.Errorf("%s not Known", e)
		}
		if e.IsRunEvent() {
			runs++
		}
		b, _ := json.Marshal(e)
		var back EventType
		if err := json.Unmarshal(b, &back); err != nil || back != e {
			t.Errorf("%s: JSON round trip gave %s, %v", e, back, err)
		}
	}
	if runs != 6 || EventType("ACTOR.RUN.FOO").IsKnown() {
		t.Errorf("run events = %d, want 6; unknown types must not be Known", runs)
	}
	for s, want := range map[RunStatus]bool{StatusReady: false, StatusRunning: false, StatusTimingOut: false,
		StatusAborting: false, StatusSucceeded: true, StatusFailed: true, StatusTimedOut: true, StatusAborted: true} {
		if s.IsTerminal() != want {
			t.Errorf("%s.IsTerminal() = %v", s, !want)
		}
	}
}
