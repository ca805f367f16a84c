package trailui

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/trailkit/trail"
)

// trailsView is the data of the trails page.
type trailsView struct {
	Trails  []trailView
	Stats   []statLine
	History string
	HistMem *trail.MemoryHistoryStats
}

type trailView struct {
	Info       trail.TrailInfo
	Selectors  string // the selectors as CloudTrail's JSON
	Sinks      []sinkView
	Interval   string
	Validation bool
	Status     *trail.TrailStatus
	StatusErr  string
}

type sinkView struct {
	Name     string
	Readable bool // implements trail.ObjectReader
	Digests  bool // implements trail.DigestSink
}

type statLine struct {
	Name  string
	Value string
	Warn  bool
}

func (h *Handler) trails(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := &trailsView{}
	for _, info := range h.rec.DescribeTrails(ctx) {
		tv := trailView{Info: info}
		sel := any(info.EventSelectors)
		if len(info.AdvancedEventSelectors) > 0 {
			sel = info.AdvancedEventSelectors
		}
		if b, err := json.MarshalIndent(sel, "", "  "); err == nil {
			tv.Selectors = string(b)
		}
		if t, err := h.rec.GetTrail(ctx, info.Name); err == nil {
			for _, s := range t.Sinks {
				_, rd := s.(trail.ObjectReader)
				_, dg := s.(trail.DigestSink)
				tv.Sinks = append(tv.Sinks, sinkView{Name: sinkName(s), Readable: rd, Digests: dg})
			}
			iv := t.Interval
			if iv <= 0 {
				iv = trail.DefaultInterval
			}
			tv.Interval = iv.String()
			tv.Validation = t.Validation != nil
		}
		if st, err := h.rec.GetTrailStatus(ctx, info.Name); err == nil {
			tv.Status = st
		} else {
			tv.StatusErr = "The status could not be read."
		}
		v.Trails = append(v.Trails, tv)
	}
	st := h.rec.Stats()
	num := func(n uint64) string { return fmt.Sprint(n) }
	v.Stats = []statLine{
		{"Recorded", num(st.Recorded), false},
		{"Invalid", num(st.Invalid), st.Invalid > 0},
		{"Unselected", num(st.Unselected), false},
		{"Overloaded", num(st.Overloaded), st.Overloaded > 0},
		{"Dropped", num(st.Dropped), st.Dropped > 0},
		{"Files delivered", num(st.FilesDelivered), false},
		{"Files failed", num(st.FilesFailed), st.FilesFailed > 0},
		{"Retries", num(st.Retries), st.Retries > 0},
		{"Bytes delivered", num(st.BytesDelivered), false},
		{"Digests delivered", num(st.DigestsDelivered), false},
		{"Digests failed", num(st.DigestsFailed), st.DigestsFailed > 0},
		{"History errors", num(st.HistoryErrors), st.HistoryErrors > 0},
		{"Queued now", fmt.Sprint(st.Queued), false},
	}
	switch hs := h.rec.History().(type) {
	case nil:
		v.History = "none (trail.NoHistory)"
	case *trail.MemoryHistory:
		v.History = "in memory (trail.MemoryHistory)"
		s := hs.Stats()
		v.HistMem = &s
	default:
		v.History = fmt.Sprintf("%T", hs)
	}
	h.render(w, http.StatusOK, "trails.html", "trails", v)
}
