package trailui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailui"
)

// sseMessage is one server-sent event.
type sseMessage struct {
	ID, Event, Data string
	Retry           bool
}

// stream is a client of live.stream.
type stream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, srv *httptest.Server, query, lastID string) *stream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/audit/live.stream"+query, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	s := &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
	if resp.StatusCode == http.StatusOK {
		// The first message says how soon to reconnect; once it is here
		// the subscription exists.
		m := s.next()
		require.True(t, m.Retry, "%+v", m)
	}
	return s
}

// next reads the next message (comments are skipped).
func (s *stream) next() sseMessage {
	s.t.Helper()
	var m sseMessage
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(s.t, err)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if m != (sseMessage{}) {
				return m
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			m.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			m.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			m.Data = line[6:]
		case strings.HasPrefix(line, "retry: "):
			m.Retry = true
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
}

type liveRow struct {
	ID, Time, User, Name, Source, Resource, RType, Error string
	RO                                                   bool
}

func (s *stream) nextEvent() (string, liveRow) {
	s.t.Helper()
	m := s.next()
	require.Equal(s.t, "ev", m.Event, "%+v", m)
	var row liveRow
	require.NoError(s.t, json.Unmarshal([]byte(m.Data), &row))
	return m.ID, row
}

func record(t *testing.T, rec *trail.Recorder, user, name, id string) {
	t.Helper()
	require.NoError(t, rec.Record(context.Background(), &trail.Event{
		EventSource: "orders.example.com", EventName: name, EventID: id,
		UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: user, AccountID: account},
		Resources:    []trail.Resource{{Type: "Example::Orders::Order", ARN: "arn:example:orders:::order/" + id[len(id)-2:]}},
	}))
}

func TestLiveStream(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	srv := httptest.NewServer(f.ui)
	defer srv.Close()

	s := openStream(t, srv, "?user=alice", "")
	assert.Equal(t, "text/event-stream; charset=utf-8", s.resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", s.resp.Header.Get("Cache-Control"))
	assert.NotEmpty(t, s.resp.Header.Get("Content-Security-Policy"))
	record(t, f.rec, "bob", "GetOrder", eventID(1))
	record(t, f.rec, "alice", "CreateOrder", eventID(2))
	record(t, f.rec, "alice", "<script>alert(1)</script>", eventID(3))
	id2, row := s.nextEvent()
	assert.Equal(t, liveRow{ID: eventID(2), Time: row.Time, User: "alice", Name: "CreateOrder", Source: "orders.example.com",
		Resource: "arn:example:orders:::order/02", RType: "Example::Orders::Order"}, row, "bob's event is filtered out")
	_, err := time.Parse("2006-01-02 15:04:05", row.Time)
	assert.NoError(t, err)
	id3, row := s.nextEvent()
	assert.Equal(t, eventID(3), row.ID)
	assert.Equal(t, "<script>alert(1)</script>", row.Name)
	assert.NotEqual(t, id2, id3)

	t.Run("resume after a reconnect", func(t *testing.T) {
		s.resp.Body.Close()
		record(t, f.rec, "alice", "DeleteOrder", eventID(4))
		s := openStream(t, srv, "?user=alice", id2)
		_, row := s.nextEvent()
		assert.Equal(t, eventID(3), row.ID, "the events after the last one seen, once each")
		_, row = s.nextEvent()
		assert.Equal(t, eventID(4), row.ID)
		record(t, f.rec, "alice", "GetOrder", eventID(5))
		_, row = s.nextEvent()
		assert.Equal(t, eventID(5), row.ID, "then live events")
	})
	t.Run("unknown cursor: a gap, then live", func(t *testing.T) {
		s := openStream(t, srv, "", "99999999")
		assert.Equal(t, "gap", s.next().Event)
		record(t, f.rec, "carol", "GetOrder", eventID(6))
		_, row := s.nextEvent()
		assert.Equal(t, eventID(6), row.ID)
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, err := srv.Client().Head(srv.URL + "/audit/live.stream")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	})
	t.Run("bad filter", func(t *testing.T) {
		resp, _ := do(t, f.ui, httptest.NewRequest("GET", "/audit/live.stream?ro=maybe", nil))
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

func TestLiveStreamLimitAndClose(t *testing.T) {
	f := newFixture(t, trailui.Options{MaxLiveStreams: 1})
	srv := httptest.NewServer(f.ui)
	defer srv.Close()
	s := openStream(t, srv, "", "")
	second := openStream(t, srv, "", "")
	assert.Equal(t, http.StatusServiceUnavailable, second.resp.StatusCode)
	assert.NotEmpty(t, second.resp.Header.Get("Retry-After"))

	// Closing the recorder ends the stream.
	require.NoError(t, f.rec.Close(context.Background()))
	assert.Equal(t, "end", s.next().Event)
	_, err := s.r.ReadString('\n')
	assert.Error(t, err, "the stream is over")
}

func TestLivePage(t *testing.T) {
	f := newFixture(t, trailui.Options{})
	f.recordN(t, 9)
	resp, body := f.get(t, "live?user=alice&start=2026-01-01")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `data-stream="live.stream?user=alice"`, "the stream has the filters, not the time range")
	assert.Contains(t, body, "<noscript>")
	assert.Equal(t, []string{eventID(6), eventID(3), eventID(0)}, ids(body), "the newest events, server-rendered")
	checkHTML(t, "live", body)
	_, body = f.get(t, "?user=alice")
	assert.Contains(t, body, `<a href="live?user=alice">Live view</a>`)
}
