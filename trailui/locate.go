package trailui

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/trailkit/trail"
)

// Bounds of the log file search of the event page.
const (
	// searchSlack widens the window of delivery times searched: a batch is
	// cut at most Trail.Interval after its first event, and the event's
	// time may precede its Record call a little.
	searchSlack = 10 * time.Minute
	// maxSearchFiles bounds the files decompressed per trail.
	maxSearchFiles = 24
	// maxCheckFiles bounds the files looked at per trail (most are ruled
	// out by their facts: oldest and newest event time).
	maxCheckFiles = 1000
	// maxSearchBytes bounds the uncompressed bytes read per trail.
	maxSearchBytes = 256 << 20
)

// locate says, per trail, whether it selects the event and where the event
// was delivered. Selection comes from Recorder.Explain, which judges the
// event by the trail's current configuration (the trail may have been
// changed since the event); the log file from reading back the files a
// trail's readable sinks (trail.ObjectReader) got in the minutes after the
// event. Anything else is reported as not known.
func (h *Handler) locate(ctx context.Context, ev *trail.Event) []trailMatch {
	decisions := map[string]trail.TrailDecision{}
	if x, err := h.rec.Explain(ev); err == nil {
		for _, d := range x.Trails {
			decisions[d.Trail] = d
		}
	}
	var out []trailMatch
	for _, info := range h.rec.DescribeTrails(ctx) {
		m := trailMatch{Trail: info.Name}
		d, explained := decisions[info.Name]
		switch {
		case explained && d.Selected:
			m.Selection = "Selected by " + d.Selector + "."
		case explained:
			m.Selection = "Not selected: " + d.Reason + "."
		default:
			m.Selection = "Not known."
			if reason := excluded(&info, ev); reason != "" {
				m.Selection, explained = reason, true
			}
		}
		selected := !explained || d.Selected
		if h.opts.NoLogFileSearch {
			m.Status, m.Note = "unknown", "Not known: the log file search is turned off (Options.NoLogFileSearch)."
			out = append(out, m)
			continue
		}
		t, err := h.rec.GetTrail(ctx, info.Name)
		if err != nil {
			m.Status, m.Note = "unknown", "Not known: the trail could not be read."
			out = append(out, m)
			continue
		}
		m = searchTrail(ctx, &t, ev, m)
		if m.Status == "not-found" && !selected {
			m.Status, m.Note = "not-selected", "In none of its log files."
		}
		out = append(out, m)
	}
	return out
}

// excluded returns why a trail cannot have taken ev by its region or
// account, or "".
func excluded(info *trail.TrailInfo, ev *trail.Event) string {
	if !info.IsMultiRegionTrail && ev.AWSRegion != "" && ev.AWSRegion != info.HomeRegion {
		return fmt.Sprintf("Not selected: a single-region trail takes only events of %s.", info.HomeRegion)
	}
	if !info.IsOrganizationTrail {
		// arn:aws:cloudtrail:region:account:trail/name
		parts := strings.SplitN(info.TrailARN, ":", 6)
		if len(parts) == 6 && ev.RecipientAccountID != "" && parts[4] != ev.RecipientAccountID {
			return fmt.Sprintf("Not selected: the trail takes only events of account %s.", parts[4])
		}
	}
	return ""
}

func sinkName(s trail.Sink) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}

// searchTrail reads back the trail's log files delivered in the window
// after the event, through the first of its sinks that can be read.
func searchTrail(ctx context.Context, t *trail.Trail, ev *trail.Event, m trailMatch) trailMatch {
	var readers []trail.ObjectReader
	var names []string
	for _, s := range t.Sinks {
		if r, ok := s.(trail.ObjectReader); ok {
			readers = append(readers, r)
			names = append(names, sinkName(s))
		}
	}
	if len(readers) == 0 {
		m.Status, m.Note = "unknown", "Not known: no sink of this trail can be read back."
		return m
	}
	interval := t.Interval
	if interval <= 0 {
		interval = trail.DefaultInterval
	}
	// A file is named by the minute its batch was cut, which is not before
	// the event was recorded.
	from := ev.EventTime.UTC().Truncate(time.Minute)
	to := ev.EventTime.UTC().Add(interval + searchSlack)
	needle := eventIDNeedle(ev.EventID)
	at := ev.EventTime.UTC().Truncate(time.Second)
	failed := false
	searched, total := 0, 0
	for i, r := range readers {
		keys, err := candidateKeys(ctx, r, t, ev, from, to)
		if err != nil {
			failed = true
			continue
		}
		budget := int64(maxSearchBytes)
		searched, total = 0, len(keys)
		read := 0 // files decompressed
		mr, _ := r.(trail.MetadataReader)
		for _, k := range keys {
			if read == maxSearchFiles || searched == maxCheckFiles || budget <= 0 {
				break
			}
			// The file's facts (oldest and newest event time), when the
			// sink has them without the body, rule most files out.
			if mr != nil {
				if meta, err := mr.Metadata(ctx, k); err == nil && !mayHold(meta, at) {
					searched++
					continue
				}
			}
			found, n, err := fileHolds(ctx, r, k, needle, budget, at)
			budget -= n
			if err != nil {
				failed = true
				continue
			}
			searched++
			if n > 0 {
				read++
			}
			if found {
				m.Status, m.Key, m.Sink = "delivered", k, names[i]
				m.Note = "Delivered in this log file."
				return m
			}
		}
		if !failed {
			break // the first readable sink has every file the trail delivered
		}
	}
	window := fmt.Sprintf("between %s and %s", from.Format("15:04"), to.Format("15:04 UTC"))
	switch {
	case failed:
		m.Status, m.Note = "unknown", "Not known: the trail's log files could not be read back."
	case searched < total:
		m.Status = "unknown"
		m.Note = fmt.Sprintf("Not known: not in the %d log files searched of the %d delivered %s.", searched, total, window)
	default:
		m.Status = "not-found"
		m.Note = fmt.Sprintf("In none of the trail's %d log files delivered %s: the trail did not select it, or its file is not delivered yet.", total, window)
	}
	return m
}

// candidateKeys lists the trail's log file keys for ev's account and region
// whose delivery time lies in [from, to], nearest to the event first.
func candidateKeys(ctx context.Context, r trail.ObjectReader, t *trail.Trail, ev *trail.Event, from, to time.Time) ([]string, error) {
	type cand struct {
		key string
		at  time.Time
	}
	var cands []cand
	for day := from.Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		k := trail.LogFileKey(t.Prefix, t.Organization, ev.RecipientAccountID, ev.AWSRegion, day, "x")
		dir := k[:strings.LastIndexByte(k, '/')+1]
		keys, err := r.List(ctx, dir)
		if err != nil {
			return nil, err
		}
		for _, key := range keys {
			at, ok := deliveryTime(key[len(dir):])
			if ok && !at.Before(from) && !at.After(to) {
				cands = append(cands, cand{key, at})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return a.at.Compare(b.at) })
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.key
	}
	return keys, nil
}

// deliveryTime parses the time of a log file name:
// account_CloudTrail_region_YYYYMMDDTHHmmZ_unique.json.gz.
func deliveryTime(name string) (time.Time, bool) {
	if strings.Contains(name, "/") || !strings.HasSuffix(name, ".json.gz") {
		return time.Time{}, false
	}
	parts := strings.Split(name, "_")
	if len(parts) != 5 || parts[1] != "CloudTrail" {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T1504Z", parts[3])
	return t, err == nil
}

// eventIDNeedle is how the eventID member of a record reads in a log file.
func eventIDNeedle(id string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(id)
	return append([]byte(`"eventID":`), bytes.TrimSpace(b.Bytes())...)
}

// fileHolds reports whether the gzip'd log file at key holds needle,
// reading at most limit uncompressed bytes as a stream, and how many it
// read.
func fileHolds(ctx context.Context, r trail.ObjectReader, key string, needle []byte, limit int64, at time.Time) (bool, int64, error) {
	body, meta, err := r.Get(ctx, key)
	if err != nil {
		return false, 0, err
	}
	if !mayHold(meta, at) {
		return false, 0, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	found, read, err := containsStream(zr, needle, limit)
	return found, read, err
}

// mayHold reports whether a log file whose object metadata is meta may
// hold an event of time at: false only when its facts say that its events
// are all older or all newer.
func mayHold(meta map[string]string, at time.Time) bool {
	f, err := trail.ParseLogFileFacts(meta)
	if err != nil {
		return true
	}
	return !at.Before(f.OldestEventTime) && !at.After(f.NewestEventTime)
}

// containsStream reports whether r holds needle within its first limit
// bytes, reading it in chunks, and how many bytes it read.
func containsStream(r io.Reader, needle []byte, limit int64) (bool, int64, error) {
	buf := make([]byte, 256<<10)
	keep := len(needle) - 1
	have, read := 0, int64(0)
	for read < limit {
		room := buf[have:]
		if rem := limit - read; int64(len(room)) > rem {
			room = room[:rem]
		}
		n, err := r.Read(room)
		read += int64(n)
		have += n
		if bytes.Contains(buf[:have], needle) {
			return true, read, nil
		}
		if err == io.EOF {
			return false, read, nil
		}
		if err != nil {
			return false, read, err
		}
		if have > keep { // carry the tail that may start a match
			copy(buf, buf[have-keep:have])
			have = keep
		}
	}
	return false, read, nil
}
