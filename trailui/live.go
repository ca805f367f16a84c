package trailui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/trailkit/trail"
)

// Bounds of the live view.
const (
	// DefaultMaxLiveStreams is the default of Options.MaxLiveStreams.
	DefaultMaxLiveStreams = 16
	// liveBuffer is a stream's subscription buffer: a browser that does
	// not keep up falls behind and resumes from its cursor.
	liveBuffer = 256
	// heartbeat keeps idle streams (and proxies) alive.
	heartbeat = 15 * time.Second
)

// liveView is the data of the live page.
type liveView struct {
	*historyView
	Stream string // the event stream's URL
}

// live serves the live page: the newest events, server-rendered (so the
// page shows something without JavaScript), and a table that the embedded
// script fills from the event stream.
func (h *Handler) live(w http.ResponseWriter, r *http.Request) {
	q, hv, err := queryFrom(r.URL.Query())
	if err != nil {
		h.renderHistory(w, http.StatusBadRequest, hv, err.Error())
		return
	}
	lv := &liveView{historyView: hv}
	v := hv.filterValues()
	v.Del("start")
	v.Del("end")
	lv.Stream = "live.stream"
	if len(v) > 0 {
		lv.Stream += "?" + v.Encode()
	}
	q.StartTime, q.EndTime, q.MaxResults = time.Time{}, time.Time{}, PageSize
	if res, err := h.rec.Query(r.Context(), q); err == nil {
		for i := range res.Events {
			hv.Rows = append(hv.Rows, newRow(&res.Events[i]))
		}
	}
	h.render(w, http.StatusOK, "live.html", "live", lv)
}

// liveRow is one event on the stream, the columns of the history table.
type liveRow struct {
	ID        string `json:"id"`
	Time      string `json:"time"`
	User      string `json:"user,omitempty"`
	Name      string `json:"name"`
	Source    string `json:"source"`
	Resource  string `json:"resource,omitempty"`
	RType     string `json:"rtype,omitempty"`
	ErrorCode string `json:"error,omitempty"`
	ReadOnly  bool   `json:"ro,omitempty"`
}

// queryMatcher makes a LookupQuery's attributes and error filter a
// subscription filter.
type queryMatcher struct{ q *trail.QueryInput }

// MatchEvent implements trail.EventMatcher.
func (m queryMatcher) MatchEvent(ev *trail.Event) bool { return m.q.Match(ev) }

// liveStream serves server-sent events from Recorder.Subscribe: one "ev"
// message per accepted event that matches the filters, with the event's
// cursor as its id, so that a browser that reconnects (EventSource sends
// Last-Event-ID) resumes without a gap or a duplicate while the recorder's
// replay buffer still holds its successors.
func (h *Handler) liveStream(w http.ResponseWriter, r *http.Request) {
	q, _, err := queryFrom(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := q.Validate(); err != nil {
		http.Error(w, "invalid filter", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodHead {
		// Headers only: a stream that nobody reads would run until the
		// connection closes.
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return
	}
	if n := h.streams.Add(1); n > int64(h.opts.MaxLiveStreams) {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "503 too many live views", http.StatusServiceUnavailable)
		return
	}
	defer h.streams.Add(-1)

	opts := trail.SubscribeOptions{Buffer: liveBuffer}
	if len(q.LookupAttributes) > 0 || q.Errors != trail.AnyOutcome {
		opts.Filter = queryMatcher{&q}
	}
	gap := false
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if c, err := strconv.ParseUint(id, 10, 64); err == nil {
			opts.From = trail.Cursor(c)
		}
	}
	sub, err := h.rec.Subscribe(opts)
	var ce *trail.CursorError
	if errors.As(err, &ce) {
		// The events after the cursor are gone (or the recorder restarted):
		// go on live and say so.
		gap = true
		opts.From = 0
		sub, err = h.rec.Subscribe(opts)
	}
	if err != nil {
		http.Error(w, "503 live view unavailable", http.StatusServiceUnavailable)
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	buf.WriteString("retry: 2000\n\n")
	if gap {
		buf.WriteString("event: gap\ndata: {}\n\n")
	}
	if _, err := w.Write(buf.Bytes()); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	ctx := r.Context()
	for {
		buf.Reset()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			buf.WriteString(": ping\n\n")
		case se, ok := <-sub.C():
			if !ok {
				var fb *trail.FellBehindError
				if errors.As(sub.Err(), &fb) {
					// The browser reconnects with Last-Event-ID: the last id
					// sent, which is where it resumes.
					fmt.Fprintf(&buf, "event: behind\ndata: %d\n\n", fb.Cursor)
				} else {
					buf.WriteString("event: end\ndata: {}\n\n")
				}
				_, _ = w.Write(buf.Bytes())
				_ = rc.Flush()
				return
			}
			writeLiveEvent(&buf, se)
			// Send what else is waiting in one write.
			for more := true; more && buf.Len() < 64<<10; {
				select {
				case se, ok := <-sub.C():
					if !ok {
						more = false
						break
					}
					writeLiveEvent(&buf, se)
				default:
					more = false
				}
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func writeLiveEvent(buf *bytes.Buffer, se trail.StreamEvent) {
	rw := newRow(&se.Event)
	lr := liveRow{
		ID: se.Event.EventID, Time: rw.Time.UTC().Format("2006-01-02 15:04:05"), User: rw.User,
		Name: rw.Name, Source: rw.Source, Resource: rw.Resource, RType: rw.ResourceType,
		ErrorCode: rw.ErrorCode, ReadOnly: rw.ReadOnly,
	}
	data, err := json.Marshal(lr) // escapes <, > and &; never holds a newline
	if err != nil {
		return
	}
	fmt.Fprintf(buf, "id: %d\nevent: ev\ndata: %s\n\n", se.Cursor, data)
}

// liveLink is the live page for the same filters (no time range).
func liveLink(v url.Values) string {
	c := cloneValues(v)
	c.Del("start")
	c.Del("end")
	if len(c) == 0 {
		return "live"
	}
	return "live?" + c.Encode()
}
