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
	b = append(b, "recorded "...)
	b = strconv.AppendUint(b, s.Recorded, 10)
	b = append(b, " (invalid "...)
	b = strconv.AppendUint(b, s.Invalid, 10)
	b = append(b, ", unselected "...)
	b = strconv.AppendUint(b, s.Unselected, 10)
	b = append(b, ", overloaded "...)
	b = strconv.AppendUint(b, s.Overloaded, 10)
	b = append(b, ", dropped "...)
	b = strconv.AppendUint(b, s.Dropped, 10)
	b = append(b, ", queued "...)
	b = strconv.AppendInt(b, int64(s.Queued), 10)
	b = append(b, "); files delivered "...)
	b = strconv.AppendUint(b, s.FilesDelivered, 10)
	b = append(b, " ("...)
	b = append(b, byteSize(s.BytesDelivered)...)
	b = append(b, "), failed "...)
	b = strconv.AppendUint(b, s.FilesFailed, 10)
	b = append(b, ", retries "...)
	b = strconv.AppendUint(b, s.Retries, 10)
	b = append(b, "; digests delivered "...)
	b = strconv.AppendUint(b, s.DigestsDelivered, 10)
	b = append(b, ", failed "...)
	b = strconv.AppendUint(b, s.DigestsFailed, 10)
	b = append(b, "; history errors "...)
	b = strconv.AppendUint(b, s.HistoryErrors, 10)
	if s.SpoolBytes > 0 { // a spool's log is never empty (segment headers)
		b = append(b, "; spool "...)
		b = append(b, byteSize(uint64(s.SpoolBytes))...)
		b = append(b, ", events "...)
		b = strconv.AppendUint(b, s.SpoolEvents, 10)
		b = append(b, " (unsent "...)
		b = strconv.AppendInt(b, s.SpoolUnsent, 10)
		b = append(b, "), syncs "...)
		b = strconv.AppendUint(b, s.SpoolSyncs, 10)
		b = append(b, ", corrupt "...)
		b = strconv.AppendUint(b, s.SpoolCorrupt, 10)
	}
	return string(b)
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
