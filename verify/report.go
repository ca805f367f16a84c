package verify

import (
	"fmt"
	"io"
	"time"
)

// Counts counts validated files the way validate-logs does.
type Counts struct {
	// Valid, Invalid and Total (= Valid + Invalid) files.
	Valid   int `json:"valid"`
	Invalid int `json:"invalid"`
	Total   int `json:"total"`
}

// Range is a closed time range.
type Range struct {
	// Start and End are inclusive.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Gap is a period inside the validated range that no digest covers.
type Gap struct {
	// Start is the end of the older digest, End the start of the newer one.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// NewerKey and OlderKey are the digests on either side.
	NewerKey string `json:"newerKey"`
	OlderKey string `json:"olderKey"`
	// Restart reports that the newer digest is a starting digest
	// (validate-logs prints "No log files were delivered by CloudTrail
	// between ..." for it and does not count it as INVALID).
	Restart bool `json:"restart"`
	// Periods estimates how many digest periods are missing.
	Periods int `json:"periods"`
}

// ResultType says what a [Result] is about.
type ResultType int

// Result types.
const (
	// ResultDigest is the outcome of one digest file.
	ResultDigest ResultType = iota + 1
	// ResultLog is the outcome of one log file.
	ResultLog
	// ResultGapNotice is validate-logs' gap notice for a chain restart.
	ResultGapNotice
)

// String returns "digest", "log" or "gap".
func (t ResultType) String() string {
	switch t {
	case ResultDigest:
		return "digest"
	case ResultLog:
		return "log"
	case ResultGapNotice:
		return "gap"
	}
	return fmt.Sprintf("result(%d)", int(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t ResultType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Result is one line of validate-logs' output: a digest or log file outcome
// or a gap notice, in the order validate-logs produces them.
type Result struct {
	// Type says whether this is a digest, a log file or a gap notice.
	Type ResultType `json:"type"`
	// Bucket and Key locate the file (empty for a gap notice).
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
	// Err is nil when the file is valid.
	Err *IntegrityError `json:"error,omitempty"`
	// Gap is set for ResultGapNotice.
	Gap *Gap `json:"gap,omitempty"`
}

// Report is the outcome of [Validate].
type Report struct {
	// TrailARN and Bucket are those of the Options.
	TrailARN string `json:"trailArn"`
	Bucket   string `json:"bucket"`
	// Start and End are the window validated (End resolved when zero).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Digests and Logs count files exactly as validate-logs does (a digest
	// is valid when its signature verifies; extra findings do not change
	// these counts).
	Digests Counts `json:"digests"`
	Logs    Counts `json:"logs"`
	// Found is validate-logs' "Results found for <start> to <end>" range
	// (aws-cli 2.x rule); nil when no digest was valid.
	Found *Range `json:"found,omitempty"`
	// Covered is the span of the valid digests: oldest digestStartTime to
	// newest digestEndTime; nil when no digest was valid.
	Covered *Range `json:"covered,omitempty"`
	// Gaps lists chain restarts and periods missing between digests.
	Gaps []Gap `json:"gaps"`
	// Results lists validate-logs' per-file outcomes in its order.
	Results []Result `json:"results"`
	// Findings lists every problem: validate-logs' first, in the order it
	// reports them, then the extra checks.
	Findings []*IntegrityError `json:"findings"`
	// Notices lists what cannot be judged yet or is not the trail's
	// (log files not yet covered by a digest, leftover temporary files):
	// reported, distinctly, but not problems (see [Kind.Notice]).
	Notices []*IntegrityError `json:"notices"`
}

// OK reports whether nothing is wrong (no finding of any kind).
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// AWSInvalid reports whether validate-logs would exit 1 (a digest or log
// file INVALID).
func (r *Report) AWSInvalid() bool { return r.Digests.Invalid > 0 || r.Logs.Invalid > 0 }

// Extra returns the findings validate-logs does not make.
func (r *Report) Extra() []*IntegrityError {
	var out []*IntegrityError
	for _, f := range r.Findings {
		if !f.Kind.AWS() {
			out = append(out, f)
		}
	}
	return out
}

// TextOptions control [Report.WriteText].
type TextOptions struct {
	// Verbose also prints the "valid" lines (validate-logs --verbose).
	Verbose bool
	// Extra appends the extra findings (on errOut) and a one-line summary
	// of them (on out) after validate-logs' output.
	Extra bool
}

// DisplayTimeFormat is validate-logs' display format for times.
const DisplayTimeFormat = "2006-01-02T15:04:05Z"

func display(t time.Time) string { return t.UTC().Format(DisplayTimeFormat) }

// WriteText writes the report the way `aws cloudtrail validate-logs` prints
// it: header, valid lines on out (when Verbose), INVALID lines and gap
// notices on errOut each followed by a blank line, and the summary on out.
// With Extra, the extra findings follow, one per line on errOut, and a
// summary line on out.
func (r *Report) WriteText(out, errOut io.Writer, o TextOptions) error {
	w := &textWriter{out: out, errOut: errOut, verbose: o.Verbose, double: true}
	w.printf(w.out, "Validating log files for trail %s between %s and %s\n\n", r.TrailARN, display(r.Start), display(r.End))
	for _, res := range r.Results {
		switch {
		case res.Type == ResultGapNotice && res.Gap != nil:
			w.status(fmt.Sprintf("No log files were delivered by CloudTrail between %s and %s",
				display(res.Gap.Start), display(res.Gap.End)), true)
		case res.Err != nil:
			w.status(res.Err.Error(), true)
		default:
			obj := "Digest file"
			if res.Type == ResultLog {
				obj = "Log file"
			}
			w.status(fmt.Sprintf("%s\ts3://%s/%s\tvalid", obj, res.Bucket, res.Key), false)
		}
	}
	if !w.double {
		w.printf(w.out, "\n")
	}
	w.printf(w.out, "Results requested for %s to %s\n", display(r.Start), display(r.End))
	if r.Digests.Total == 0 {
		w.printf(w.out, "No digests found\n")
	} else {
		if r.Found == nil {
			w.printf(w.out, "No valid digests found in range\n")
		} else {
			w.printf(w.out, "Results found for %s to %s:\n", display(r.Found.Start), display(r.Found.End))
		}
		w.ratio(r.Digests, "digest")
		w.ratio(r.Logs, "log")
		w.printf(w.out, "\n")
	}
	if o.Extra {
		extra := r.Extra()
		for _, f := range extra {
			w.printf(w.errOut, "%s\n", f.Error())
		}
		switch len(extra) {
		case 0:
			w.printf(w.out, "Additional checks (not made by aws cloudtrail validate-logs): no problems found\n")
		case 1:
			w.printf(w.out, "Additional checks (not made by aws cloudtrail validate-logs): 1 problem found\n")
		default:
			w.printf(w.out, "Additional checks (not made by aws cloudtrail validate-logs): %d problems found\n", len(extra))
		}
		for _, n := range r.Notices {
			w.printf(w.errOut, "%s\n", n.Error())
		}
		switch len(r.Notices) {
		case 0:
		case 1:
			w.printf(w.out, "Notices (not problems, cannot be judged yet): 1\n")
		default:
			w.printf(w.out, "Notices (not problems, cannot be judged yet): %d\n", len(r.Notices))
		}
	}
	return w.err
}

type textWriter struct {
	out, errOut io.Writer
	verbose     bool
	double      bool // validate-logs' _is_last_status_double_space
	err         error
}

func (w *textWriter) printf(dst io.Writer, format string, args ...any) {
	if w.err != nil {
		return
	}
	if _, err := fmt.Fprintf(dst, format, args...); err != nil {
		w.err = fmt.Errorf("verify: write report: %w", err)
	}
}

func (w *textWriter) status(msg string, isErr bool) {
	switch {
	case isErr && w.double:
		w.printf(w.errOut, "%s\n\n", msg)
		w.double = true
	case isErr:
		w.printf(w.errOut, "\n%s\n\n", msg)
		w.double = true
	case w.verbose:
		w.double = false
		w.printf(w.out, "%s\n", msg)
	}
}

func (w *textWriter) ratio(c Counts, name string) {
	if c.Total == 0 {
		return
	}
	w.printf(w.out, "\n%d/%d %s files valid", c.Valid, c.Total, name)
	if c.Invalid > 0 {
		w.printf(w.out, ", %d/%d %s files INVALID", c.Invalid, c.Total, name)
	}
}
