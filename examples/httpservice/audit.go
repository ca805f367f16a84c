package main

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/trailkit/trail"
)

// lookupEvent is one event of a LookupEvents answer, in AWS's shape.
type lookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       string           `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []lookupResource `json:"Resources"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

type lookupResource struct {
	ResourceType string `json:"ResourceType"`
	ResourceName string `json:"ResourceName"`
}

// lookupKeys are the query parameters that become lookup attributes.
var lookupKeys = []trail.LookupAttributeKey{
	trail.LookupEventID, trail.LookupEventName, trail.LookupReadOnly, trail.LookupUsername,
	trail.LookupResourceType, trail.LookupResourceName, trail.LookupEventSource, trail.LookupAccessKeyID,
}

// maxLookupResults is LookupEvents' page size limit (and default).
const maxLookupResults = 50

// lookupEvents serves GET /audit/events: LookupEvents over the event
// history. Query parameters: one or more attributes by their LookupEvents
// names (EventName=CreateOrder, Username=alice, ReadOnly=false, …),
// StartTime and EndTime (RFC 3339), MaxResults (1–50, default 50) and
// NextToken from the previous page.
func lookupEvents(history trail.HistoryStore) func(w http.ResponseWriter, r *http.Request, _ user) {
	return func(w http.ResponseWriter, r *http.Request, _ user) {
		q := r.URL.Query()
		in := trail.LookupQuery{MaxResults: maxLookupResults, NextToken: q.Get("NextToken")}
		for _, k := range lookupKeys {
			if v := q.Get(string(k)); v != "" {
				in.Attributes = append(in.Attributes, trail.LookupAttribute{Key: k, Value: v})
			}
		}
		for name, t := range map[string]*time.Time{"StartTime": &in.StartTime, "EndTime": &in.EndTime} {
			if v := q.Get(name); v != "" {
				var err error
				if *t, err = time.Parse(time.RFC3339, v); err != nil {
					writeError(w, http.StatusBadRequest, "InvalidTimeRangeException", name+": want an RFC 3339 time")
					return
				}
			}
		}
		if v := q.Get("MaxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLookupResults {
				writeError(w, http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults: want 1 to 50")
				return
			}
			in.MaxResults = n
		}
		// Recorder.LookupEvents is not in the core package yet; this asks
		// the history store, which is what it will delegate to.
		page, err := history.Lookup(r.Context(), &in)
		switch {
		case errors.Is(err, trail.ErrInvalidPageToken):
			writeError(w, http.StatusBadRequest, "InvalidNextTokenException", "NextToken was not issued for this query")
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		out := struct {
			Events    []lookupEvent `json:"Events"`
			NextToken string        `json:"NextToken,omitempty"`
		}{Events: []lookupEvent{}, NextToken: page.NextToken}
		for i := range page.Events {
			ev := &page.Events[i]
			le := lookupEvent{
				EventID: ev.EventID, EventName: ev.EventName, ReadOnly: strconv.FormatBool(ev.IsReadOnly()),
				AccessKeyID: ev.UserIdentity.AccessKeyID, EventTime: ev.EventTime.Format(trail.TimeFormat),
				EventSource: ev.EventSource, Username: ev.UserIdentity.UserName, Resources: []lookupResource{},
				CloudTrailEvent: string(ev.AppendJSON(nil)),
			}
			for _, res := range ev.Resources {
				le.Resources = append(le.Resources, lookupResource{ResourceType: res.Type, ResourceName: res.ARN})
			}
			out.Events = append(out.Events, le)
		}
		writeJSON(w, http.StatusOK, out)
	}
}
