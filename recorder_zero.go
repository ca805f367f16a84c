package trail

import (
	"fmt"
	"strconv"
)

// ErrNoRecorder is returned by the methods of a nil or zero-value *Recorder
// (one not made by New). It wraps ErrClosed: such a recorder accepts nothing.
var ErrNoRecorder = fmt.Errorf("%w: the *trail.Recorder is nil or was not made by trail.New", ErrClosed)

// unusable reports ErrNoRecorder for a nil or zero-value Recorder.
func (r *Recorder) unusable() error {
	if r == nil || r.queue == nil {
		return ErrNoRecorder
	}
	return nil
}

// withIdentity returns a copy of ev carrying id (Record's WithIdentity
// fallback); the caller's event is left alone.
func withIdentity(ev *Event, id UserIdentity) *Event {
	cp := *ev
	cp.UserIdentity = id
	return &cp
}

// String formats the counters for people:
//
//	recorded 100 (invalid 0, unselected 0, overloaded 0, dropped 0, queued 0); files delivered 3 (2.0 KiB), failed 0, retries 0; digests delivered 1, failed 0; history errors 0
//
// With a spool, it ends with the spool's counters:
//
//	…; spool 1.5 MiB, events 100 (unsent 20), syncs 12, corrupt 0
func (s Stats) String() string {
	b := make([]byte, 0, 192)
	b = appendCount(b, "recorded ", s.Recorded)
	b = appendCount(b, " (invalid ", s.Invalid)
	b = appendCount(b, ", unselected ", s.Unselected)
	b = appendCount(b, ", overloaded ", s.Overloaded)
	b = appendCount(b, ", dropped ", s.Dropped)
	b = append(b, ", queued "...)
	b = strconv.AppendInt(b, int64(s.Queued), 10)
	b = appendCount(b, "); files delivered ", s.FilesDelivered)
	b = append(b, " ("...)
	b = append(b, byteSize(s.BytesDelivered)...)
	b = appendCount(b, "), failed ", s.FilesFailed)
	b = appendCount(b, ", retries ", s.Retries)
	b = appendCount(b, "; digests delivered ", s.DigestsDelivered)
	b = appendCount(b, ", failed ", s.DigestsFailed)
	b = appendCount(b, "; history errors ", s.HistoryErrors)
	if s.SpoolBytes > 0 { // a spool's log is never empty (segment headers)
		b = append(b, "; spool "...)
		b = append(b, byteSize(uint64(s.SpoolBytes))...)
		b = appendCount(b, ", events ", s.SpoolEvents)
		b = append(b, " (unsent "...)
		b = strconv.AppendInt(b, s.SpoolUnsent, 10)
		b = appendCount(b, "), syncs ", s.SpoolSyncs)
		b = appendCount(b, ", corrupt ", s.SpoolCorrupt)
	}
	return string(b)
}

// appendCount appends label and then n in decimal.
func appendCount(b []byte, label string, n uint64) []byte {
	b = append(b, label...)
	return strconv.AppendUint(b, n, 10)
}

// byteSize formats n bytes with a binary unit: "512 B", "2.0 KiB", "1.5 MiB".
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
