package verify

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// LogFile summarizes a CloudTrail log file's records.
type LogFile struct {
	// Records is the number of records.
	Records int
	// OldestEventTime and NewestEventTime are the minimum and maximum
	// eventTime over the records (zero when there are none).
	OldestEventTime, NewestEventTime time.Time
}

// ParseLogFile parses the uncompressed bytes of a log file, which must be
// one JSON object {"Records":[...]} whose records are objects each with a
// string RFC 3339 "eventTime". Errors wrap [ErrInvalidFormat]. It never
// panics.
func ParseLogFile(data []byte) (*LogFile, error) {
	return parseLog(bytes.NewReader(data))
}

func parseLog(r io.Reader) (*LogFile, error) {
	dec := json.NewDecoder(r)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: log file: %s", ErrInvalidFormat, fmt.Sprintf(format, args...))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("%v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad("not a JSON object")
	}
	lf := &LogFile{}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("%v", err)
		}
		name, _ := tok.(string)
		if name != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad("%v", err)
			}
			continue
		}
		if seen {
			return nil, bad("duplicate Records field")
		}
		seen = true
		if err := parseRecords(dec, lf); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, bad("%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("data after the JSON object")
	}
	if !seen {
		return nil, bad("no Records field")
	}
	return lf, nil
}

func parseRecords(dec *json.Decoder, lf *LogFile) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: log file: %s", ErrInvalidFormat, fmt.Sprintf(format, args...))
	}
	tok, err := dec.Token()
	if err != nil {
		return bad("%v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return bad("Records is not an array")
	}
	for dec.More() {
		var rec map[string]json.RawMessage
		if err := dec.Decode(&rec); err != nil {
			return bad("record %d: %v", lf.Records, err)
		}
		if rec == nil {
			return bad("record %d is not an object", lf.Records)
		}
		raw, ok := rec["eventTime"]
		if !ok {
			return bad("record %d has no eventTime", lf.Records)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad("record %d: eventTime is not a string", lf.Records)
		}
		t, err := parseJSONTime(s)
		if err != nil {
			return bad("record %d: %v", lf.Records, err)
		}
		if lf.Records == 0 || t.Before(lf.OldestEventTime) {
			lf.OldestEventTime = t
		}
		if lf.Records == 0 || t.After(lf.NewestEventTime) {
			lf.NewestEventTime = t
		}
		lf.Records++
	}
	if _, err := dec.Token(); err != nil { // closing ']'
		return bad("%v", err)
	}
	return nil
}

// logCheck is the result of reading one log object the way validate-logs
// does (first gzip member, SHA-256 of the uncompressed bytes).
type logCheck struct {
	hash      string // lower-case hex SHA-256 of what was decompressed
	formatErr error  // validate-logs "invalid format" (bad gzip header, data or CRC)
	truncated bool   // stream ended early: validate-logs hashes what it got
	trailing  int    // bytes after the first gzip member
	info      *LogFile
	parseErr  error
}

// errRecorder remembers the first non-EOF read error of r.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// checkLog hashes and parses a gzip'd log body in one pass.
func checkLog(body []byte) logCheck {
	h := sha256.New()
	var res logCheck
	if len(body) == 0 {
		// zlib's decompressobj yields nothing and no error for no input.
		res.hash = hex.EncodeToString(h.Sum(nil))
		res.truncated = true
		res.parseErr = fmt.Errorf("%w: empty object", ErrInvalidFormat)
		return res
	}
	if n := min(3, len(body)); !bytes.Equal(body[:n], []byte{0x1f, 0x8b, 0x08}[:n]) {
		// zlib rejects a wrong magic number or method as soon as it sees it.
		res.formatErr = fmt.Errorf("%w: gzip: invalid header", ErrInvalidFormat)
		return res
	}
	br := bytes.NewReader(body)
	zr, err := gzip.NewReader(br)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			res.hash = hex.EncodeToString(h.Sum(nil))
			res.truncated = true
			res.parseErr = fmt.Errorf("%w: truncated gzip header", ErrInvalidFormat)
			return res
		}
		res.formatErr = fmt.Errorf("%w: gzip: %w", ErrInvalidFormat, err)
		return res
	}
	zr.Multistream(false)
	rec := &errRecorder{r: zr}
	tee := io.TeeReader(rec, h)
	res.info, res.parseErr = parseLog(tee)
	_, _ = io.Copy(io.Discard, tee) // hash the rest; errors are in rec.err
	res.hash = hex.EncodeToString(h.Sum(nil))
	switch {
	case rec.err == nil:
		res.trailing = br.Len()
	case errors.Is(rec.err, io.ErrUnexpectedEOF):
		res.truncated = true
	default:
		res.formatErr = fmt.Errorf("%w: gzip: %w", ErrInvalidFormat, rec.err)
	}
	if res.parseErr != nil {
		res.info = nil
	}
	return res
}
