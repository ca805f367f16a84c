package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/trailkit/trail"
)

// memHistory is a bounded in-memory trail.HistoryStore: the newest max
// events, newest first. Events are numbered as they arrive; a page token is
// the number of the last event of the page, so pages stay stable while new
// events arrive (event times have whole seconds and cannot order events of
// one second).
type memHistory struct {
	mu     sync.Mutex
	max    int
	seq    uint64
	events []stored // oldest first
	ids    map[string]bool
}

type stored struct {
	seq uint64
	ev  trail.Event
}

func newMemHistory(max int) *memHistory {
	return &memHistory{max: max, ids: map[string]bool{}}
}

// Append stores events, skipping IDs it holds already.
func (h *memHistory) Append(ctx context.Context, events []trail.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range events {
		ev := events[i]
		if h.ids[ev.EventID] {
			continue
		}
		// The events are only valid during the call: copy what refers to
		// the recorder's memory.
		ev.RequestParameters = slices.Clone(ev.RequestParameters)
		ev.ResponseElements = slices.Clone(ev.ResponseElements)
		ev.AdditionalEventData = slices.Clone(ev.AdditionalEventData)
		ev.Resources = slices.Clone(ev.Resources)
		if ev.TLSDetails != nil {
			tls := *ev.TLSDetails
			ev.TLSDetails = &tls
		}
		h.seq++
		h.ids[ev.EventID] = true
		h.events = append(h.events, stored{seq: h.seq, ev: ev})
	}
	if n := len(h.events) - h.max; n > 0 {
		for _, s := range h.events[:n] {
			delete(h.ids, s.ev.EventID)
		}
		h.events = slices.Delete(h.events, 0, n)
	}
	return nil
}

// Lookup returns one page of matching events, newest first.
func (h *memHistory) Lookup(ctx context.Context, q *trail.LookupQuery) (*trail.LookupPage, error) {
	after := uint64(0) // 0: the first page
	if q.NextToken != "" {
		num, ok := strings.CutPrefix(q.NextToken, "before-")
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || n == 0 {
			return nil, trail.ErrInvalidPageToken
		}
		after = n
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	page := &trail.LookupPage{}
	var last uint64 // seq of the page's last event
	for i := len(h.events) - 1; i >= 0; i-- {
		s := &h.events[i]
		ev := &s.ev
		if after != 0 && s.seq >= after ||
			!q.StartTime.IsZero() && ev.EventTime.Before(q.StartTime) ||
			!q.EndTime.IsZero() && ev.EventTime.After(q.EndTime) ||
			!matches(ev, q.Attributes) {
			continue
		}
		if len(page.Events) == q.MaxResults {
			page.NextToken = "before-" + strconv.FormatUint(last, 10)
			break
		}
		page.Events = append(page.Events, *ev)
		last = s.seq
	}
	return page, nil
}

func matches(ev *trail.Event, attrs []trail.LookupAttribute) bool {
	for _, a := range attrs {
		ok := false
		switch a.Key {
		case trail.LookupEventID:
			ok = ev.EventID == a.Value
		case trail.LookupEventName:
			ok = ev.EventName == a.Value
		case trail.LookupEventSource:
			ok = ev.EventSource == a.Value
		case trail.LookupUsername:
			ok = ev.UserIdentity.UserName == a.Value
		case trail.LookupAccessKeyID:
			ok = ev.UserIdentity.AccessKeyID == a.Value
		case trail.LookupReadOnly:
			ok = strconv.FormatBool(ev.IsReadOnly()) == a.Value
		case trail.LookupResourceType, trail.LookupResourceName:
			for _, r := range ev.Resources {
				if a.Key == trail.LookupResourceType && r.Type == a.Value || a.Key == trail.LookupResourceName && r.ARN == a.Value {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
