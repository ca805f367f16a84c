package main

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/trailkit/trail"
)

// lookupKeys are the query parameters that become lookup attributes: the
// attribute keys of CloudTrail's LookupEvents.
var lookupKeys = []trail.LookupAttributeKey{
	trail.LookupEventID, trail.LookupEventName, trail.LookupReadOnly, trail.LookupUsername,
	trail.LookupResourceType, trail.LookupResourceName, trail.LookupEventSource, trail.LookupAccessKeyID,
}

// lookupEvents serves GET /audit/events: Recorder.LookupEvents over the
// recorder's event history. Query parameters: at most one lookup attribute
// by its LookupEvents name (EventName=CreateOrder, Username=alice,
// ReadOnly=false, …), StartTime and EndTime (RFC 3339), MaxResults (1–50,
// default 50) and NextToken from the previous page. The answer is
// LookupEvents' response (trail.LookupOutput, whose events marshal in AWS's
// shape). Like CloudTrail, LookupEvents takes one attribute only: two or
// more are answered 400 InvalidLookupAttributesException (Recorder.Query
// would AND several, but this endpoint imitates the AWS API).
func lookupEvents(rec *trail.Recorder) func(w http.ResponseWriter, r *http.Request, _ user) {
	return func(w http.ResponseWriter, r *http.Request, _ user) {
		q := r.URL.Query()
		in := trail.LookupInput{NextToken: q.Get("NextToken")}
		for _, k := range lookupKeys {
			if v := q.Get(string(k)); v != "" {
				in.LookupAttributes = append(in.LookupAttributes, trail.LookupAttribute{Key: k, Value: v})
			}
		}
		for name, t := range map[string]*time.Time{"StartTime": &in.StartTime, "EndTime": &in.EndTime} {
			if v := q.Get(name); v != "" {
				var err error
				if *t, err = time.Parse(time.RFC3339, v); err != nil {
					writeError(w, http.StatusBadRequest, trail.CodeInvalidTimeRange, name+": want an RFC 3339 time")
					return
				}
			}
		}
		if v := q.Get("MaxResults"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				// 0 would mean the default to LookupEvents; AWS refuses it.
				writeError(w, http.StatusBadRequest, trail.CodeInvalidMaxResults, "MaxResults: want 1 to 50")
				return
			}
			in.MaxResults = n // LookupEvents checks the upper bound
		}
		out, err := rec.LookupEvents(r.Context(), in)
		var lerr *trail.LookupError
		switch {
		case errors.As(err, &lerr):
			// Code is CloudTrail's exception name.
			writeError(w, http.StatusBadRequest, lerr.Code, lerr.Reason)
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}
