package memsink_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// fatalTB records what Fatalf reported and stops the calling goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs f with a fatalTB and returns what it reported ("" if nothing).
func fails(f func(t testing.TB)) string {
	tb := &fatalTB{}
	var wg sync.WaitGroup
	wg.Go(func() { f(tb) })
	wg.Wait()
	return tb.msg
}

func filledSink(t *testing.T) *memsink.Sink {
	evs := []string{
		`{"eventSource":"orders.example.com","eventName":"CreateOrder","eventTime":"2025-03-01T10:00:00Z","eventID":"00000000-0000-4000-8000-000000000001","userIdentity":{"userName":"alice","arn":"arn:aws:iam::111122223333:user/alice","accessKeyId":"AKIA1"},"readOnly":false,"requestID":"r1","sourceIPAddress":"192.0.2.1","resources":[{"type":"Example::Order","ARN":"arn:order/1"}]}`,
		`{"eventSource":"orders.example.com","eventName":"GetOrder","eventTime":"2025-03-01T10:00:01Z","eventID":"00000000-0000-4000-8000-000000000002","userIdentity":{"userName":"bob"},"readOnly":true}`,
		`{"eventSource":"orders.example.com","eventName":"DeleteOrder","eventTime":"2025-03-01T10:00:02Z","eventID":"00000000-0000-4000-8000-000000000003","userIdentity":{"userName":"bob"},"readOnly":false,"errorCode":"AccessDenied"}`,
	}
	f := &trail.LogFile{Key: "k1"}
	for _, e := range evs {
		f.Records = append(f.Records, []byte(e))
	}
	s := memsink.New()
	require.NoError(t, s.Deliver(context.Background(), f))
	return s
}

func TestFilter(t *testing.T) {
	s := filledSink(t)
	names := func(evs []trail.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.EventName)
		}
		return out
	}
	tests := []struct {
		name string
		m    memsink.Matcher
		want []string
	}{
		{"nil matches all", nil, []string{"CreateOrder", "GetOrder", "DeleteOrder"}},
		{"zero filter matches all", memsink.Filter{}, []string{"CreateOrder", "GetOrder", "DeleteOrder"}},
		{"event name", memsink.Filter{EventName: "GetOrder"}, []string{"GetOrder"}},
		{"user", memsink.Filter{Username: "bob"}, []string{"GetOrder", "DeleteOrder"}},
		{"user and read-only", memsink.Filter{Username: "bob", ReadOnly: trail.Bool(false)}, []string{"DeleteOrder"}},
		{"failed", memsink.Filter{Failed: trail.Bool(true)}, []string{"DeleteOrder"}},
		{"succeeded", memsink.Filter{Failed: trail.Bool(false)}, []string{"CreateOrder", "GetOrder"}},
		{"error code", memsink.Filter{ErrorCode: "AccessDenied"}, []string{"DeleteOrder"}},
		{"resource", memsink.Filter{ResourceARN: "arn:order/1", ResourceType: "Example::Order"}, []string{"CreateOrder"}},
		{"resource type mismatch", memsink.Filter{ResourceARN: "arn:order/1", ResourceType: "Other"}, nil},
		{"identity fields", memsink.Filter{UserARN: "arn:aws:iam::111122223333:user/alice", AccessKeyID: "AKIA1", RequestID: "r1", SourceIPAddress: "192.0.2.1"}, []string{"CreateOrder"}},
		{"event ID", memsink.Filter{EventID: "00000000-0000-4000-8000-000000000002"}, []string{"GetOrder"}},
		{"no match", memsink.Filter{EventSource: "other.example.com"}, nil},
		{"MatchFunc", memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName != "GetOrder" }), []string{"CreateOrder", "DeleteOrder"}},
		{"All", memsink.All(memsink.Filter{Username: "bob"}, nil, memsink.MatchFunc(func(e *trail.Event) bool { return e.IsReadOnly() })), []string{"GetOrder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, names(s.FindEvents(tt.m)))
		})
	}
}

func TestRequire(t *testing.T) {
	s := filledSink(t)
	t.Run("one match", func(t *testing.T) {
		ev := s.RequireEvent(t, memsink.Filter{EventName: "CreateOrder"})
		assert.Equal(t, "alice", ev.UserIdentity.UserName)
		assert.Len(t, s.RequireEvents(t, memsink.Filter{Username: "bob"}, 2), 2)
		s.RequireNoEvent(t, memsink.Filter{EventName: "Nope"})
	})
	t.Run("failures list the events", func(t *testing.T) {
		msg := fails(func(tb testing.TB) { s.RequireEvent(tb, memsink.Filter{Username: "bob"}) })
		assert.Contains(t, msg, `want 1 event(s) matching userName="bob", found 2`)
		assert.Contains(t, msg, `delivered events (3):`)
		assert.Contains(t, msg, `2025-03-01T10:00:02Z orders.example.com "DeleteOrder" errorCode=AccessDenied userName=bob eventID=00000000-0000-4000-8000-000000000003`)

		msg = fails(func(tb testing.TB) {
			s.RequireNoEvent(tb, memsink.Filter{ReadOnly: trail.Bool(true), Failed: trail.Bool(false)})
		})
		assert.Contains(t, msg, "want 0 event(s) matching readOnly=true failed=false, found 1")

		msg = fails(func(tb testing.TB) { memsink.New().RequireEvent(tb, nil) })
		assert.Contains(t, msg, "want 1 event(s) matching any event, found 0\ndelivered events: none")

		msg = fails(func(tb testing.TB) {
			s.RequireEvent(tb, memsink.MatchFunc(func(*trail.Event) bool { return false }))
		})
		assert.Contains(t, msg, "matching memsink.MatchFunc")
	})
	t.Run("Describe caps the list", func(t *testing.T) {
		evs := make([]trail.Event, 60)
		for i := range evs {
			evs[i] = trail.Event{EventName: "E", EventTime: time.Unix(0, 0)}
		}
		assert.Contains(t, memsink.Describe(evs), "… and 10 more")
	})
}
