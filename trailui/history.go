package trailui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trailkit/trail"
)

// PageSize is the number of events a history page shows.
const PageSize = 50

// maxStack bounds the tokens of earlier pages kept in a URL: beyond it the
// oldest are dropped ("Newer" then stops, "Newest" still works).
const maxStack = 64

// filterField is one text filter of the history form.
type filterField struct {
	Param string                   // query parameter
	Label string                   // form label
	Key   trail.LookupAttributeKey // lookup attribute
}

// filterFields are the lookup attributes of CloudTrail's LookupEvents, in
// the console's order (ReadOnly is a select, see below).
var filterFields = []filterField{
	{"name", "Event name", trail.LookupEventName},
	{"user", "User name", trail.LookupUsername},
	{"source", "Event source", trail.LookupEventSource},
	{"rtype", "Resource type", trail.LookupResourceType},
	{"rname", "Resource name", trail.LookupResourceName},
	{"key", "AWS access key", trail.LookupAccessKeyID},
	{"id", "Event ID", trail.LookupEventID},
}

// filterParams are every query parameter that belongs to the query (not to
// paging).
var filterParams = []string{"name", "user", "source", "rtype", "rname", "key", "id", "ro", "outcome", "start", "end"}

// inputField is a filled-in text field of the form.
type inputField struct {
	filterField
	Value string
}

// historyView is the data of the history page.
type historyView struct {
	Fields               []inputField
	ReadOnly, Outcome    string
	Start, End           string // as typed (normalized)
	Rows                 []row
	Filtered             bool
	PageNo               int
	Newest, Newer, Older string // links, "" when there is none
	Last1h, Last24h      string // quick time ranges
	Last7d               string
	Live                 string // the live view of the same filters
}

// row is one line of the table.
type row struct {
	Time         time.Time
	User         string
	UserLink     string
	Name         string
	Link         string
	Source       string
	SourceLink   string
	Resource     string // first resource's name (ARN), or its type
	ResourceType string
	MoreRes      int // resources beyond the first
	ErrorCode    string
	ReadOnly     bool
}

// timeLayouts are accepted for start and end, all in UTC unless they say.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("want a UTC time such as 2006-01-02T15:04:05")
}

const formTime = "2006-01-02T15:04:05"

// queryFrom builds the history query of the request's filters.
func queryFrom(v url.Values) (trail.QueryInput, *historyView, error) {
	var q trail.QueryInput
	hv := &historyView{}
	for _, f := range filterFields {
		val := strings.TrimSpace(v.Get(f.Param))
		hv.Fields = append(hv.Fields, inputField{f, val})
		if val != "" {
			q.LookupAttributes = append(q.LookupAttributes, trail.LookupAttribute{Key: f.Key, Value: val})
		}
	}
	switch ro := v.Get("ro"); ro {
	case "":
	case "true", "false":
		hv.ReadOnly = ro
		q.LookupAttributes = append(q.LookupAttributes, trail.LookupAttribute{Key: trail.LookupReadOnly, Value: ro})
	default:
		return q, hv, errors.New("read-only: want true or false")
	}
	switch o := v.Get("outcome"); o {
	case "":
	case "errors":
		hv.Outcome, q.Errors = o, trail.OnlyErrors
	case "ok":
		hv.Outcome, q.Errors = o, trail.NoErrors
	default:
		return q, hv, errors.New("outcome: want errors or ok")
	}
	for _, b := range []struct {
		param string
		t     *time.Time
		s     *string
	}{{"start", &q.StartTime, &hv.Start}, {"end", &q.EndTime, &hv.End}} {
		s := strings.TrimSpace(v.Get(b.param))
		if s == "" {
			continue
		}
		t, err := parseTime(s)
		if err != nil {
			return q, hv, errors.New(b.param + " time: " + err.Error())
		}
		*b.t, *b.s = t, t.Format(formTime)
	}
	hv.Filtered = len(q.LookupAttributes) > 0 || q.Errors != trail.AnyOutcome || hv.Start != "" || hv.End != ""
	return q, hv, nil
}

// filterValues are the query's parameters, normalized (for links).
func (hv *historyView) filterValues() url.Values {
	v := url.Values{}
	for _, f := range hv.Fields {
		if f.Value != "" {
			v.Set(f.Param, f.Value)
		}
	}
	for p, s := range map[string]string{"ro": hv.ReadOnly, "outcome": hv.Outcome, "start": hv.Start, "end": hv.End} {
		if s != "" {
			v.Set(p, s)
		}
	}
	return v
}

func link(v url.Values) string {
	if len(v) == 0 {
		return "./"
	}
	return "./?" + v.Encode()
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, hv, err := queryFrom(v)
	if err != nil {
		h.renderHistory(w, http.StatusBadRequest, hv, err.Error())
		return
	}
	token := v.Get("t")
	stack := v["p"]
	if len(stack) > maxStack {
		stack = stack[len(stack)-maxStack:]
	}
	q.NextToken = token
	q.MaxResults = PageSize
	res, err := h.rec.Query(r.Context(), q)
	if err != nil {
		status, msg := lookupFailure(err)
		h.renderHistory(w, status, hv, msg)
		return
	}
	base := hv.filterValues()
	hv.Rows = make([]row, 0, len(res.Events))
	for i := range res.Events {
		hv.Rows = append(hv.Rows, newRow(&res.Events[i]))
	}
	hv.PageNo = len(stack) + 1
	if token != "" || len(stack) > 0 {
		hv.Newest = link(base)
	}
	if len(stack) > 0 {
		nv := cloneValues(base)
		if prev := stack[len(stack)-1]; prev != "" {
			nv.Set("t", prev)
		}
		for _, s := range stack[:len(stack)-1] {
			nv.Add("p", s)
		}
		hv.Newer = link(nv)
	}
	if res.NextToken != "" {
		nv := cloneValues(base)
		nv.Set("t", res.NextToken)
		for _, s := range stack {
			nv.Add("p", s)
		}
		nv.Add("p", token)
		hv.Older = link(nv)
	}
	h.renderHistory(w, http.StatusOK, hv, "")
}

type historyPage struct {
	*historyView
	Error string
}

func (h *Handler) renderHistory(w http.ResponseWriter, status int, hv *historyView, msg string) {
	// Quick time ranges: absolute start times, so that the pages of one
	// query keep one query.
	base := hv.filterValues()
	hv.Live = liveLink(base)
	now := h.now().UTC().Truncate(time.Second)
	for _, qr := range []struct {
		d time.Duration
		s *string
	}{{time.Hour, &hv.Last1h}, {24 * time.Hour, &hv.Last24h}, {7 * 24 * time.Hour, &hv.Last7d}} {
		nv := cloneValues(base)
		nv.Set("start", now.Add(-qr.d).Format(formTime))
		nv.Del("end")
		*qr.s = link(nv)
	}
	h.render(w, status, "history.html", "history", historyPage{hv, msg})
}

// lookupFailure turns a lookup error into a status and a message for people.
func lookupFailure(err error) (int, string) {
	var le *trail.LookupError
	switch {
	case errors.Is(err, trail.ErrInvalidPageToken):
		return http.StatusBadRequest, "This page link is no longer valid (it was made for another query or by another history). Start again from the newest events."
	case errors.As(err, &le):
		return http.StatusBadRequest, le.Reason
	case errors.Is(err, trail.ErrHistoryDisabled):
		return http.StatusNotFound, "This recorder keeps no event history (Config.History is trail.NoHistory)."
	default:
		return http.StatusInternalServerError, "The event history could not be read."
	}
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v)+2)
	for k, s := range v {
		c[k] = append([]string(nil), s...)
	}
	return c
}

func newRow(ev *trail.Event) row {
	rw := row{
		Time:      ev.EventTime,
		User:      ev.LookupUsername(),
		Name:      ev.EventName,
		Link:      "event?" + url.Values{"id": {ev.EventID}}.Encode(),
		Source:    ev.EventSource,
		ErrorCode: ev.ErrorCode,
		ReadOnly:  ev.IsReadOnly(),
	}
	if rw.User != "" {
		rw.UserLink = link(url.Values{"user": {rw.User}})
	}
	if rw.Source != "" {
		rw.SourceLink = link(url.Values{"source": {rw.Source}})
	}
	if len(ev.Resources) > 0 {
		rw.Resource, rw.ResourceType = ev.Resources[0].ARN, ev.Resources[0].Type
		if rw.Resource == "" {
			rw.Resource = rw.ResourceType
		}
		rw.MoreRes = len(ev.Resources) - 1
	}
	return rw
}
