package memsink

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trailkit/trail"
)

// Matcher selects events; Filter and MatchFunc implement it.
type Matcher interface {
	Match(ev *trail.Event) bool
}

// MatchFunc adapts a function to a Matcher.
type MatchFunc func(ev *trail.Event) bool

// Match returns f(ev).
func (f MatchFunc) Match(ev *trail.Event) bool { return f(ev) }

// Filter matches events whose fields equal the non-empty fields of the
// filter; the zero Filter matches every event.
//
//	ev := sink.RequireEvent(t, memsink.Filter{EventName: "CreateOrder", Username: "alice"})
//	assert.Empty(t, ev.ErrorCode)
type Filter struct {
	EventSource     string
	EventName       string
	EventID         string
	RequestID       string
	ErrorCode       string // use Failed to match any error
	Username        string // userIdentity.userName
	UserARN         string // userIdentity.arn
	AccessKeyID     string // userIdentity.accessKeyId
	SourceIPAddress string
	ResourceARN     string // an element of resources has this ARN
	ResourceType    string // an element of resources has this type
	ReadOnly        *bool  // trail.Bool(true) or trail.Bool(false)
	Failed          *bool  // errorCode set (true) or empty (false)
}

// Match reports whether ev matches every non-empty field of f.
func (f Filter) Match(ev *trail.Event) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(f.EventSource, ev.EventSource) || !eq(f.EventName, ev.EventName) || !eq(f.EventID, ev.EventID) ||
		!eq(f.RequestID, ev.RequestID) || !eq(f.ErrorCode, ev.ErrorCode) ||
		!eq(f.Username, ev.UserIdentity.UserName) || !eq(f.UserARN, ev.UserIdentity.ARN) ||
		!eq(f.AccessKeyID, ev.UserIdentity.AccessKeyID) || !eq(f.SourceIPAddress, ev.SourceIPAddress) {
		return false
	}
	if f.ReadOnly != nil && (ev.ReadOnly == nil || *ev.ReadOnly != *f.ReadOnly) {
		return false
	}
	if f.Failed != nil && (ev.ErrorCode != "") != *f.Failed {
		return false
	}
	if f.ResourceARN != "" || f.ResourceType != "" {
		found := false
		for _, r := range ev.Resources {
			if eq(f.ResourceARN, r.ARN) && eq(f.ResourceType, r.Type) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// String describes the filter's conditions, for failure messages.
func (f Filter) String() string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", name, v))
		}
	}
	add("eventSource", f.EventSource)
	add("eventName", f.EventName)
	add("eventID", f.EventID)
	add("requestID", f.RequestID)
	add("errorCode", f.ErrorCode)
	add("userName", f.Username)
	add("arn", f.UserARN)
	add("accessKeyId", f.AccessKeyID)
	add("sourceIPAddress", f.SourceIPAddress)
	add("resources.ARN", f.ResourceARN)
	add("resources.type", f.ResourceType)
	if f.ReadOnly != nil {
		parts = append(parts, fmt.Sprintf("readOnly=%t", *f.ReadOnly))
	}
	if f.Failed != nil {
		parts = append(parts, fmt.Sprintf("failed=%t", *f.Failed))
	}
	if len(parts) == 0 {
		return "any event"
	}
	return strings.Join(parts, " ")
}

// All matches events that every one of ms matches (all events if ms is
// empty). Nil matchers are ignored.
func All(ms ...Matcher) Matcher {
	return MatchFunc(func(ev *trail.Event) bool {
		for _, m := range ms {
			if m != nil && !m.Match(ev) {
				return false
			}
		}
		return true
	})
}

// FindEvents returns the delivered events that m matches (all of them if m
// is nil), in delivery order. Wrap a function in MatchFunc.
func (s *Sink) FindEvents(m Matcher) []trail.Event {
	if m == nil {
		return s.Events()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []trail.Event
	for i := range s.events {
		if m.Match(&s.events[i]) {
			out = append(out, s.events[i])
		}
	}
	return out
}

// RequireEvent returns the one delivered event that m matches. If there is
// none, or more than one, it fails the test with t.Fatalf, listing the
// delivered events.
func (s *Sink) RequireEvent(t testing.TB, m Matcher) trail.Event {
	t.Helper()
	return s.RequireEvents(t, m, 1)[0]
}

// RequireEvents returns the delivered events that m matches, failing the
// test with t.Fatalf unless there are exactly n.
func (s *Sink) RequireEvents(t testing.TB, m Matcher, n int) []trail.Event {
	t.Helper()
	got := s.FindEvents(m)
	if len(got) != n {
		t.Fatalf("memsink: want %d event(s) matching %s, found %d\n%s", n, describe(m), len(got), Describe(s.Events()))
	}
	return got
}

// RequireNoEvent fails the test with t.Fatalf if any delivered event matches m.
func (s *Sink) RequireNoEvent(t testing.TB, m Matcher) {
	t.Helper()
	s.RequireEvents(t, m, 0)
}

func describe(m Matcher) string {
	switch m := m.(type) {
	case nil:
		return "any event"
	case fmt.Stringer:
		return m.String()
	}
	return fmt.Sprintf("%T", m)
}

// Describe lists events one a line (eventTime, eventSource, eventName,
// errorCode, userName, eventID), at most 50, for failure messages.
func Describe(events []trail.Event) string {
	if len(events) == 0 {
		return "delivered events: none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "delivered events (%d):", len(events))
	for i := range events {
		if i == 50 {
			fmt.Fprintf(&b, "\n  … and %d more", len(events)-50)
			break
		}
		ev := &events[i]
		fmt.Fprintf(&b, "\n  %s %s %q", ev.EventTime.Format(trail.TimeFormat), ev.EventSource, ev.EventName)
		if ev.ErrorCode != "" {
			fmt.Fprintf(&b, " errorCode=%s", ev.ErrorCode)
		}
		if u := ev.UserIdentity.UserName; u != "" {
			fmt.Fprintf(&b, " userName=%s", u)
		}
		fmt.Fprintf(&b, " eventID=%s", ev.EventID)
	}
	return b.String()
}
