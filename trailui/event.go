package trailui

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trailkit/trail"
)

// eventView is the data of the event page.
type eventView struct {
	Event      *trail.Event
	User       string
	UserLink   string
	ReadOnly   string
	JSON       string
	Download   string
	Resources  []resourceView
	Trails     []trailMatch
	SearchOff  bool
	Searchable bool // some trail exists
}

type resourceView struct {
	Type, ARN, AccountID string
	Link                 string // filter by this resource name
}

// trailMatch says where a trail holds the event.
type trailMatch struct {
	Trail     string
	Selection string // whether the trail's current selectors take the event
	Status    string // "delivered", "not-found", "unknown", "error"
	Key       string // the log file
	Sink      string // the sink it was read from
	Note      string // for people
}

// findEvent looks one event up by its ID.
func (h *Handler) findEvent(ctx context.Context, id string) (*trail.Event, error) {
	res, err := h.rec.Query(ctx, trail.QueryInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventID, Value: id}},
		MaxResults:       1,
	})
	if err != nil {
		return nil, err
	}
	if len(res.Events) == 0 {
		return nil, nil
	}
	return &res.Events[0], nil
}

func (h *Handler) lookupOne(w http.ResponseWriter, r *http.Request) *trail.Event {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if id == "" {
		h.fail(w, http.StatusBadRequest, "Which event? The link has no event ID.", "")
		return nil
	}
	ev, err := h.findEvent(r.Context(), id)
	if err != nil {
		status, msg := lookupFailure(err)
		h.fail(w, status, msg, "")
		return nil
	}
	if ev == nil {
		h.fail(w, http.StatusNotFound, "No event with this ID is in the event history.", id)
		return nil
	}
	return ev
}

func (h *Handler) event(w http.ResponseWriter, r *http.Request) {
	ev := h.lookupOne(w, r)
	if ev == nil {
		return
	}
	ev.EventTime = ev.EventTime.UTC()
	var pretty bytes.Buffer
	raw := ev.AppendJSON(nil)
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(raw)
	}
	v := &eventView{
		Event:    ev,
		User:     ev.LookupUsername(),
		ReadOnly: strconv.FormatBool(ev.IsReadOnly()),
		JSON:     pretty.String(),
		Download: "event.json?" + url.Values{"id": {ev.EventID}}.Encode(),
	}
	if v.User != "" {
		v.UserLink = link(url.Values{"user": {v.User}})
	}
	for _, res := range ev.Resources {
		rv := resourceView{Type: res.Type, ARN: res.ARN, AccountID: res.AccountID}
		if res.ARN != "" {
			rv.Link = link(url.Values{"rname": {res.ARN}})
		}
		v.Resources = append(v.Resources, rv)
	}
	v.SearchOff = h.opts.NoLogFileSearch
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	v.Trails = h.locate(ctx, ev)
	h.render(w, http.StatusOK, "event.html", "event", v)
}

// eventJSON serves the record as a download: the bytes a log file holds,
// indented.
func (h *Handler) eventJSON(w http.ResponseWriter, r *http.Request) {
	ev := h.lookupOne(w, r)
	if ev == nil {
		return
	}
	var out bytes.Buffer
	raw := ev.AppendJSON(nil)
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		out.Reset()
		out.Write(raw)
	}
	out.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeName(ev.EventID)+`.json"`)
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	_, _ = w.Write(out.Bytes())
}

// safeName keeps the letters, digits, '-', '_' and '.' of s (at most 100),
// for a file name in a header.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 100 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "event"
	}
	return b.String()
}
