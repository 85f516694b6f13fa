package client

import (
	"encoding/json"
	"time"
)

// EventType is the type of platform event that triggers a webhook.
type EventType string

// The webhook event types of the Apify platform.
const (
	EventActorRunCreated     EventType = "ACTOR.RUN.CREATED"
	EventActorRunSucceeded   EventType = "ACTOR.RUN.SUCCEEDED"
	EventActorRunFailed      EventType = "ACTOR.RUN.FAILED"
	EventActorRunTimedOut    EventType = "ACTOR.RUN.TIMED_OUT"
	EventActorRunAborted     EventType = "ACTOR.RUN.ABORTED"
	EventActorRunResurrected EventType = "ACTOR.RUN.RESURRECTED"

	EventActorBuildCreated   EventType = "ACTOR.BUILD.CREATED"
	EventActorBuildSucceeded EventType = "ACTOR.BUILD.SUCCEEDED"
	EventActorBuildFailed    EventType = "ACTOR.BUILD.FAILED"
	EventActorBuildTimedOut  EventType = "ACTOR.BUILD.TIMED_OUT"
	EventActorBuildAborted   EventType = "ACTOR.BUILD.ABORTED"

	EventTest EventType = "TEST"
)

// EventTypes lists every webhook event type the platform knows, runs first.
func EventTypes() []EventType {
	return []EventType{
		EventActorRunCreated, EventActorRunSucceeded, EventActorRunFailed,
		EventActorRunTimedOut, EventActorRunAborted, EventActorRunResurrected,
		EventActorBuildCreated, EventActorBuildSucceeded, EventActorBuildFailed,
		EventActorBuildTimedOut, EventActorBuildAborted, EventTest,
	}
}

// IsKnown reports whether e is one of the platform's event types.
func (e EventType) IsKnown() bool {
	for _, k := range EventTypes() {
		if e == k {
			return true
		}
	}
	return false
}

// Known is IsKnown.
//
// Deprecated: use IsKnown.
func (e EventType) Known() bool { return e.IsKnown() }

// IsRunEvent reports whether e is an ACTOR.RUN.* event.
func (e EventType) IsRunEvent() bool {
	switch e {
	case EventActorRunCreated, EventActorRunSucceeded, EventActorRunFailed,
		EventActorRunTimedOut, EventActorRunAborted, EventActorRunResurrected:
		return true
	}
	return false
}

// RunStatus is the status of an Actor run (or build).
type RunStatus string

// The statuses of an Actor run.
const (
	StatusReady     RunStatus = "READY"
	StatusRunning   RunStatus = "RUNNING"
	StatusSucceeded RunStatus = "SUCCEEDED"
	StatusFailed    RunStatus = "FAILED"
	StatusTimingOut RunStatus = "TIMING-OUT"
	StatusTimedOut  RunStatus = "TIMED-OUT"
	StatusAborting  RunStatus = "ABORTING"
	StatusAborted   RunStatus = "ABORTED"
)

// IsTerminal reports whether a run in status s has ended for good.
func (s RunStatus) IsTerminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusAborted:
		return true
	}
	return false
}

// Terminal is IsTerminal.
//
// Deprecated: use IsTerminal.
func (s RunStatus) Terminal() bool { return s.IsTerminal() }

// Event returns the webhook event type that a run's transition into status s
// fires, and false for a status that fires none.
func (s RunStatus) Event() (EventType, bool) {
	switch s {
	case StatusSucceeded:
		return EventActorRunSucceeded, true
	case StatusFailed:
		return EventActorRunFailed, true
	case StatusTimedOut:
		return EventActorRunTimedOut, true
	case StatusAborted:
		return EventActorRunAborted, true
	}
	return "", false
}

// Run is an Actor run as the platform returns it.
type Run struct {
	ID                      string          `json:"id"`
	ActID                   string          `json:"actId"`
	UserID                  string          `json:"userId"`
	ActorTaskID             string          `json:"actorTaskId,omitempty"`
	StartedAt               time.Time       `json:"startedAt"`
	FinishedAt              *time.Time      `json:"finishedAt,omitempty"`
	Status                  RunStatus       `json:"status"`
	StatusMessage           string          `json:"statusMessage,omitempty"`
	IsStatusMessageTerminal bool            `json:"isStatusMessageTerminal,omitempty"`
	Meta                    RunMeta         `json:"meta"`
	Stats                   RunStats        `json:"stats"`
	Options                 RunOptions      `json:"options"`
	BuildID                 string          `json:"buildId"`
	BuildNumber             string          `json:"buildNumber,omitempty"`
	ExitCode                *int            `json:"exitCode,omitempty"`
	GeneralAccess           string          `json:"generalAccess,omitempty"`
	DefaultKeyValueStoreID  string          `json:"defaultKeyValueStoreId"`
	DefaultDatasetID        string          `json:"defaultDatasetId"`
	DefaultRequestQueueID   string          `json:"defaultRequestQueueId"`
	ContainerURL            string          `json:"containerUrl,omitempty"`
	Usage                   *RunUsage       `json:"usage,omitempty"`
	UsageTotalUSD           *float64        `json:"usageTotalUsd,omitempty"`
	ChargedEventCounts      map[string]int  `json:"chargedEventCounts,omitempty"`
	PricingInfo             json.RawMessage `json:"pricingInfo,omitempty"`
	StorageIDs              *RunStorageIDs  `json:"storageIds,omitempty"`
	IsContainerServerReady  bool            `json:"isContainerServerReady,omitempty"`
	GitBranchName           string          `json:"gitBranchName,omitempty"`
	UsageUSD                *RunUsage       `json:"usageUsd,omitempty"`
	Metamorphs              []RunMetamorph  `json:"metamorphs,omitempty"`
}

// RunStorageIDs are the IDs of a run's storages, by kind and alias
// ("default" for the run's default storage).
type RunStorageIDs struct {
	Datasets       map[string]string `json:"datasets,omitempty"`
	KeyValueStores map[string]string `json:"keyValueStores,omitempty"`
	RequestQueues  map[string]string `json:"requestQueues,omitempty"`
}

// RunMetamorph records a run's transformation into a run of another Actor.
type RunMetamorph struct {
	CreatedAt time.Time `json:"createdAt"`
	ActorID   string    `json:"actorId"`
	BuildID   string    `json:"buildId"`
	InputKey  string    `json:"inputKey,omitempty"`
}

// RunMeta describes where a run came from.
type RunMeta struct {
	Origin      string     `json:"origin"`
	ClientIP    string     `json:"clientIp,omitempty"`
	UserAgent   string     `json:"userAgent,omitempty"`
	ScheduleID  string     `json:"scheduleId,omitempty"`
	ScheduledAt *time.Time `json:"scheduledAt,omitempty"`
}

// RunOptions are the resources a run was started with.
type RunOptions struct {
	Build        string `json:"build"`
	TimeoutSecs  int    `json:"timeoutSecs"`
	MemoryMbytes int    `json:"memoryMbytes"`
	DiskMbytes   int    `json:"diskMbytes"`
	MaxItems     *int   `json:"maxItems,omitempty"`
	// MaxTotalChargeUSD caps what a pay-per-event run may charge.
	MaxTotalChargeUSD *float64 `json:"maxTotalChargeUsd,omitempty"`
}

// RunStats are a run's resource statistics.
type RunStats struct {
	InputBodyLen    int     `json:"inputBodyLen,omitempty"`
	MigrationCount  int     `json:"migrationCount,omitempty"`
	RebootCount     int     `json:"rebootCount,omitempty"`
	RestartCount    int     `json:"restartCount"`
	ResurrectCount  int     `json:"resurrectCount"`
	MemAvgBytes     float64 `json:"memAvgBytes,omitempty"`
	MemMaxBytes     int64   `json:"memMaxBytes,omitempty"`
	MemCurrentBytes int64   `json:"memCurrentBytes,omitempty"`
	CPUAvgUsage     float64 `json:"cpuAvgUsage,omitempty"`
	CPUMaxUsage     float64 `json:"cpuMaxUsage,omitempty"`
	CPUCurrentUsage float64 `json:"cpuCurrentUsage,omitempty"`
	NetRxBytes      int64   `json:"netRxBytes,omitempty"`
	NetTxBytes      int64   `json:"netTxBytes,omitempty"`
	DurationMillis  int64   `json:"durationMillis,omitempty"`
	RunTimeSecs     float64 `json:"runTimeSecs,omitempty"`
	Metamorph       int     `json:"metamorph,omitempty"`
	ComputeUnits    float64 `json:"computeUnits"`
}

// RunUsage is a run's usage of billable resources, by resource name
// (ACTOR_COMPUTE_UNITS, DATASET_READS, ...).
type RunUsage map[string]float64

// WebhookCondition binds a webhook to an Actor, a task or (ad hoc) one run.
type WebhookCondition struct {
	ActorID     string `json:"actorId,omitempty"`
	ActorTaskID string `json:"actorTaskId,omitempty"`
	ActorRunID  string `json:"actorRunId,omitempty"`
}

// Webhook is a webhook as the platform returns it: its definition, with the
// condition that binds it and what the platform adds.
type Webhook struct {
	ID         string           `json:"id"`
	CreatedAt  time.Time        `json:"createdAt"`
	ModifiedAt time.Time        `json:"modifiedAt"`
	UserID     string           `json:"userId"`
	IsAdHoc    bool             `json:"isAdHoc,omitempty"`
	Condition  WebhookCondition `json:"condition"`
	WebhookDefinition
	LastDispatch *WebhookLastDispatch `json:"lastDispatch,omitempty"`
	Stats        *WebhookStats        `json:"stats,omitempty"`
}

// WebhookLastDispatch summarises a webhook's most recent dispatch.
type WebhookLastDispatch struct {
	Status     DispatchStatus `json:"status"`
	FinishedAt *time.Time     `json:"finishedAt,omitempty"`
}

// WebhookStats counts a webhook's dispatches.
type WebhookStats struct {
	TotalDispatches int `json:"totalDispatches"`
}

// WebhookUpdate is the body of a request that changes a webhook: only the
// non-nil fields are sent, so a field can be set to its zero value.
type WebhookUpdate struct {
	IsAdHoc                  *bool             `json:"isAdHoc,omitempty"`
	EventTypes               []EventType       `json:"eventTypes,omitempty"`
	Condition                *WebhookCondition `json:"condition,omitempty"`
	IgnoreSSLErrors          *bool             `json:"ignoreSslErrors,omitempty"`
	DoNotRetry               *bool             `json:"doNotRetry,omitempty"`
	RequestURL               *string           `json:"requestUrl,omitempty"`
	PayloadTemplate          *string           `json:"payloadTemplate,omitempty"`
	HeadersTemplate          *string           `json:"headersTemplate,omitempty"`
	Description              *string           `json:"description,omitempty"`
	ShouldInterpolateStrings *bool             `json:"shouldInterpolateStrings,omitempty"`
}

// DispatchStatus is the state of a webhook dispatch.
type DispatchStatus string

// The states of a webhook dispatch.
const (
	DispatchActive    DispatchStatus = "ACTIVE"
	DispatchSucceeded DispatchStatus = "SUCCEEDED"
	DispatchFailed    DispatchStatus = "FAILED"
)

// WebhookDispatch is one delivery of one event through one webhook, with
// every HTTP call made for it.
type WebhookDispatch struct {
	ID        string                  `json:"id"`
	UserID    string                  `json:"userId"`
	WebhookID string                  `json:"webhookId"`
	CreatedAt time.Time               `json:"createdAt"`
	Status    DispatchStatus          `json:"status"`
	EventType EventType               `json:"eventType"`
	EventData *EventData              `json:"eventData,omitempty"`
	Webhook   *WebhookDispatchSummary `json:"webhook,omitempty"`
	Calls     []WebhookCall           `json:"calls"`
}

// EventData identifies what an event is about.
type EventData struct {
	ActorID      string `json:"actorId,omitempty"`
	ActorTaskID  string `json:"actorTaskId,omitempty"`
	ActorRunID   string `json:"actorRunId,omitempty"`
	ActorBuildID string `json:"actorBuildId,omitempty"`
}

// WebhookDispatchSummary is the part of a webhook that a dispatch records.
type WebhookDispatchSummary struct {
	ActionType string           `json:"actionType,omitempty"`
	Condition  WebhookCondition `json:"condition"`
	RequestURL string           `json:"requestUrl"`
	IsAdHoc    bool             `json:"isAdHoc"`
}

// WebhookCall is one HTTP request made for a dispatch.
type WebhookCall struct {
	StartedAt      *time.Time `json:"startedAt,omitempty"`
	FinishedAt     *time.Time `json:"finishedAt,omitempty"`
	ErrorMessage   string     `json:"errorMessage,omitempty"`
	ResponseStatus int        `json:"responseStatus,omitempty"`
	ResponseBody   string     `json:"responseBody,omitempty"`
}

// Page is one page of a list: the items and where they sit in the whole.
type Page[T any] struct {
	Total  int  `json:"total"`
	Offset int  `json:"offset"`
	Limit  int  `json:"limit"`
	Count  int  `json:"count"`
	Desc   bool `json:"desc"`
	Items  []T  `json:"items"`
}
