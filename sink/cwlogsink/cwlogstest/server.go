// Package cwlogstest is a local CloudWatch Logs endpoint for tests: an
// httptest server on 127.0.0.1 that speaks the service's JSON protocol
// (awsJson1_1, "X-Amz-Target: Logs_20140328.<Operation>") for the operations
// a log shipper uses — CreateLogGroup, CreateLogStream, PutRetentionPolicy,
// PutLogEvents, GetLogEvents and DescribeLogStreams — and enforces the
// service's rules with its error codes, so that the real aws-sdk-go-v2
// cloudwatchlogs client can be pointed at it (BaseEndpoint) and a client's
// mistakes fail the way they would on AWS:
//
//   - names: log group 1–512 characters of [.\-_/#A-Za-z0-9], log stream
//     1–512 characters without ':' or '*' (InvalidParameterException);
//   - existence: ResourceAlreadyExistsException, ResourceNotFoundException;
//   - retention: one of the allowed day counts (InvalidParameterException);
//   - PutLogEvents: 1 to 10,000 events, at most 1,048,576 bytes counting 26
//     bytes per event, no event above 1 MB, events in chronological order,
//     spanning at most 24 hours (InvalidParameterException for the whole
//     call); events more than 2 hours in the future, older than 14 days, or
//     older than the group's retention are rejected individually in
//     rejectedLogEventsInfo and the rest stored;
//   - injected ThrottlingException or other failures (Server.FailNext).
//
// The sequence token is ignored, as the service now does. Requests must
// carry a SigV4 Authorization header (the signature is not checked).
package cwlogstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits the server enforces (the service's quotas).
const (
	MaxBatchEvents = 10000
	MaxBatchBytes  = 1048576
	EventOverhead  = 26
	MaxEventSize   = 1048576
	MaxBatchSpan   = 24 * time.Hour
	MaxEventAge    = 14 * 24 * time.Hour
	MaxEventFuture = 2 * time.Hour
	// TargetPrefix is the X-Amz-Target prefix of the service's operations.
	TargetPrefix = "Logs_20140328."
)

var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var groupRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

// Event is a stored log event.
type Event struct {
	Timestamp     int64  // milliseconds since the epoch
	Message       string // the message
	IngestionTime int64  // milliseconds since the epoch
}

// Call is one PutLogEvents call the server accepted (even if it rejected
// some of its events).
type Call struct {
	Group, Stream string
	Events        int // events in the call
	Bytes         int // Σ len(message) + 26
	Rejected      int // events rejected individually
}

type stream struct {
	name                    string
	created                 int64
	events                  []Event // in timestamp order
	firstTS, lastTS, lastIn int64
	stored                  int64
}

type group struct {
	name      string
	created   int64
	retention int32
	streams   map[string]*stream
}

// Server is a local CloudWatch Logs endpoint. Its methods are safe for
// concurrent use. Create it with NewServer and Close it when done.
type Server struct {
	*httptest.Server

	mu     sync.Mutex
	now    func() time.Time
	groups map[string]*group
	fails  map[string][]failure
	counts map[string]int
	calls  []Call
}

type failure struct {
	code, msg string
	status    int
}

// NewServer starts a server on 127.0.0.1 with the real clock.
func NewServer() *Server {
	s := &Server{now: time.Now, groups: map[string]*group{}, fails: map[string][]failure{}, counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetNow replaces the server's clock (used for event age checks and
// ingestion times).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// FailNext makes the next n calls of op (e.g. "PutLogEvents") fail with the
// given error code (e.g. "ThrottlingException"), HTTP 400 — or 500 for
// InternalServerException and 503 for ServiceUnavailableException — before
// they take effect.
func (s *Server) FailNext(op, code string, n int) {
	status := http.StatusBadRequest
	switch code {
	case "InternalServerException":
		status = http.StatusInternalServerError
	case "ServiceUnavailableException":
		status = http.StatusServiceUnavailable
	}
	msg := "injected failure"
	if code == "ThrottlingException" {
		msg = "Rate exceeded"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[op] = append(s.fails[op], failure{code: code, msg: msg, status: status})
	}
}

// Count returns how many requests of op the server received (including
// failed ones).
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// Calls returns the PutLogEvents calls that succeeded, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Events returns the events of a stream in timestamp order (nil if the
// stream does not exist).
func (s *Server) Events(groupName, streamName string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil || g.streams[streamName] == nil {
		return nil
	}
	return slices.Clone(g.streams[streamName].events)
}

// Retention returns a group's retention in days (0: never expire) and
// whether the group exists.
func (s *Server) Retention(groupName string) (int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil {
		return 0, false
	}
	return g.retention, true
}

// Streams returns the names of a group's streams, sorted.
func (s *Server) Streams(groupName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil {
		return nil
	}
	var out []string
	for n := range g.streams {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// DeleteLogStream removes a stream, as if someone deleted it.
func (s *Server) DeleteLogStream(groupName, streamName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupName]; g != nil {
		delete(g.streams, streamName)
	}
}

// apiError is an error answer.
type apiError struct {
	status int
	code   string
	msg    string
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func notFound(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", msg}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	var out any
	var aerr *apiError
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		aerr = &apiError{http.StatusNotFound, "UnknownOperationException", "POST / expected"}
	case !ok:
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", "unknown X-Amz-Target " + target}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		aerr = &apiError{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		aerr = &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	default:
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			aerr = &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
			break
		}
		out, aerr = s.dispatch(op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("req-%d", time.Now().UnixNano()))
	if aerr != nil {
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.code, "message": aerr.msg})
		return
	}
	if out == nil {
		out = struct{}{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) dispatch(op string, body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[op]++
	if fs := s.fails[op]; len(fs) > 0 {
		f := fs[0]
		s.fails[op] = fs[1:]
		return nil, &apiError{f.status, f.code, f.msg}
	}
	decode := func(v any) *apiError {
		if err := json.Unmarshal(body, v); err != nil {
			return &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
		}
		return nil
	}
	switch op {
	case "CreateLogGroup":
		var in struct {
			LogGroupName string `json:"logGroupName"`
		}
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.createLogGroup(in.LogGroupName)
	case "CreateLogStream":
		var in struct {
			LogGroupName  string `json:"logGroupName"`
			LogStreamName string `json:"logStreamName"`
		}
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.createLogStream(in.LogGroupName, in.LogStreamName)
	case "PutRetentionPolicy":
		var in struct {
			LogGroupName    string `json:"logGroupName"`
			RetentionInDays *int32 `json:"retentionInDays"`
		}
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.putRetention(in.LogGroupName, in.RetentionInDays)
	case "PutLogEvents":
		var in putLogEventsInput
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.putLogEvents(&in)
	case "GetLogEvents":
		var in getLogEventsInput
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.getLogEvents(&in)
	case "DescribeLogStreams":
		var in describeLogStreamsInput
		if e := decode(&in); e != nil {
			return nil, e
		}
		return s.describeLogStreams(&in)
	}
	return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", "operation " + op + " is not supported by cwlogstest"}
}

func (s *Server) nowMS() int64 { return s.now().UnixMilli() }

func checkGroupName(name string) *apiError {
	if !groupRE.MatchString(name) {
		return invalid("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	return nil
}

func checkStreamName(name string) *apiError {
	if len(name) < 1 || len(name) > 512 || strings.ContainsAny(name, ":*") {
		return invalid("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

func (s *Server) group(name string) (*group, *apiError) {
	if e := checkGroupName(name); e != nil {
		return nil, e
	}
	g := s.groups[name]
	if g == nil {
		return nil, notFound("The specified log group does not exist.")
	}
	return g, nil
}

func (s *Server) createLogGroup(name string) (any, *apiError) {
	if e := checkGroupName(name); e != nil {
		return nil, e
	}
	if s.groups[name] != nil {
		return nil, &apiError{http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists"}
	}
	s.groups[name] = &group{name: name, created: s.nowMS(), streams: map[string]*stream{}}
	return nil, nil
}

func (s *Server) createLogStream(groupName, name string) (any, *apiError) {
	if e := checkStreamName(name); e != nil {
		return nil, e
	}
	g, e := s.group(groupName)
	if e != nil {
		return nil, e
	}
	if g.streams[name] != nil {
		return nil, &apiError{http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists"}
	}
	g.streams[name] = &stream{name: name, created: s.nowMS()}
	return nil, nil
}

func (s *Server) putRetention(groupName string, days *int32) (any, *apiError) {
	g, e := s.group(groupName)
	if e != nil {
		return nil, e
	}
	if days == nil || !slices.Contains(retentionDays, *days) {
		v := "null"
		if days != nil {
			v = strconv.Itoa(int(*days))
		}
		return nil, invalid("1 validation error detected: Value '%s' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", v, retentionDays)
	}
	g.retention = *days
	return nil, nil
}

type inputEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  string       `json:"logGroupName"`
	LogStreamName string       `json:"logStreamName"`
	LogEvents     []inputEvent `json:"logEvents"`
	SequenceToken *string      `json:"sequenceToken"`
}

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsOutput struct {
	NextSequenceToken     string        `json:"nextSequenceToken,omitempty"`
	RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
}

func (s *Server) putLogEvents(in *putLogEventsInput) (any, *apiError) {
	if e := checkStreamName(in.LogStreamName); e != nil {
		return nil, e
	}
	n := len(in.LogEvents)
	if n < 1 || n > MaxBatchEvents {
		return nil, invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1 (got %d)", MaxBatchEvents, n)
	}
	size := 0
	for i, ev := range in.LogEvents {
		if ev.Timestamp == nil || ev.Message == nil {
			return nil, invalid("1 validation error detected: Value null at 'logEvents.%d.member.timestamp' or 'message' failed to satisfy constraint: Member must not be null", i+1)
		}
		if len(*ev.Message) < 1 {
			return nil, invalid("1 validation error detected: Value at 'logEvents.%d.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1)
		}
		es := len(*ev.Message) + EventOverhead
		if es > MaxEventSize {
			return nil, invalid("Log event too large: %d bytes exceeds limit of %d", es, MaxEventSize)
		}
		size += es
	}
	if size > MaxBatchBytes {
		return nil, invalid("Upload too large: %d bytes exceeds limit of %d", size, MaxBatchBytes)
	}
	for i := 1; i < n; i++ {
		if *in.LogEvents[i].Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, invalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if time.Duration(*in.LogEvents[n-1].Timestamp-*in.LogEvents[0].Timestamp)*time.Millisecond > MaxBatchSpan {
		return nil, invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	g, e := s.group(in.LogGroupName)
	if e != nil {
		return nil, e
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, notFound("The specified log stream does not exist.")
	}
	now := s.now()
	nowMS := now.UnixMilli()
	tooOld := now.Add(-MaxEventAge).UnixMilli()
	tooNew := now.Add(MaxEventFuture).UnixMilli()
	expired := int64(-1 << 62)
	if g.retention > 0 {
		expired = now.Add(-time.Duration(g.retention) * 24 * time.Hour).UnixMilli()
	}
	// Events are sorted, so the rejected ones form a prefix (too old,
	// expired) and a suffix (too new).
	var info rejectedInfo
	oldEnd, expEnd, newStart := 0, 0, n
	for i, ev := range in.LogEvents {
		ts := *ev.Timestamp
		if ts < tooOld {
			oldEnd = i + 1
		}
		if ts < expired {
			expEnd = i + 1
		}
		if ts > tooNew && newStart == n {
			newStart = i
		}
	}
	if oldEnd > 0 {
		info.TooOldLogEventEndIndex = &oldEnd
	}
	if expEnd > 0 {
		info.ExpiredLogEventEndIndex = &expEnd
	}
	if newStart < n {
		info.TooNewLogEventStartIndex = &newStart
	}
	rejected := 0
	for i, ev := range in.LogEvents {
		if i < oldEnd || i < expEnd || i >= newStart {
			rejected++
			continue
		}
		st.events = append(st.events, Event{Timestamp: *ev.Timestamp, Message: *ev.Message, IngestionTime: nowMS})
		if st.firstTS == 0 || *ev.Timestamp < st.firstTS {
			st.firstTS = *ev.Timestamp
		}
		st.lastTS = max(st.lastTS, *ev.Timestamp)
		st.stored += int64(len(*ev.Message))
	}
	st.lastIn = nowMS
	slices.SortStableFunc(st.events, func(a, b Event) int {
		switch {
		case a.Timestamp < b.Timestamp:
			return -1
		case a.Timestamp > b.Timestamp:
			return 1
		}
		return 0
	})
	s.calls = append(s.calls, Call{Group: g.name, Stream: st.name, Events: n, Bytes: size, Rejected: rejected})
	out := &putLogEventsOutput{NextSequenceToken: strconv.Itoa(len(s.calls))}
	if rejected > 0 {
		out.RejectedLogEventsInfo = &info
	}
	return out, nil
}

type getLogEventsInput struct {
	LogGroupName       string  `json:"logGroupName"`
	LogGroupIdentifier string  `json:"logGroupIdentifier"`
	LogStreamName      string  `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	Limit              *int32  `json:"limit"`
	NextToken          *string `json:"nextToken"`
	StartFromHead      *bool   `json:"startFromHead"`
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type getLogEventsOutput struct {
	Events            []outputEvent `json:"events"`
	NextForwardToken  string        `json:"nextForwardToken"`
	NextBackwardToken string        `json:"nextBackwardToken"`
}

// getLogEvents pages through the events of [startTime, endTime). Tokens are
// "f/<index>" (next page starts at index) and "b/<index>" (previous page
// ends before index); at either end the same token comes back, which is how
// clients detect the end.
func (s *Server) getLogEvents(in *getLogEventsInput) (any, *apiError) {
	name := in.LogGroupName
	if in.LogGroupIdentifier != "" {
		if name != "" {
			return nil, invalid("LogGroupName and LogGroupIdentifier are mutually exclusive")
		}
		name = in.LogGroupIdentifier
		if i := strings.Index(name, ":log-group:"); i >= 0 {
			name = strings.TrimSuffix(name[i+len(":log-group:"):], ":*")
		}
	}
	if e := checkStreamName(in.LogStreamName); e != nil {
		return nil, e
	}
	g, e := s.group(name)
	if e != nil {
		return nil, e
	}
	st := g.streams[in.LogStreamName]
	if st == nil {
		return nil, notFound("The specified log stream does not exist.")
	}
	limit := 10000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, invalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", *in.Limit)
		}
		limit = int(*in.Limit)
	}
	// The selected window [lo, hi) of st.events.
	lo, hi := 0, len(st.events)
	if in.StartTime != nil {
		lo = sort.Search(len(st.events), func(i int) bool { return st.events[i].Timestamp >= *in.StartTime })
	}
	if in.EndTime != nil {
		hi = sort.Search(len(st.events), func(i int) bool { return st.events[i].Timestamp >= *in.EndTime })
	}
	hi = max(hi, lo)
	var from, to int
	forward := in.StartFromHead != nil && *in.StartFromHead
	if in.NextToken != nil {
		dir, idx, ok := strings.Cut(*in.NextToken, "/")
		pos, err := strconv.Atoi(idx)
		if !ok || err != nil || (dir != "f" && dir != "b") || pos < 0 {
			return nil, invalid("The specified nextToken is invalid.")
		}
		forward = dir == "f"
		pos = min(max(pos, lo), hi)
		if forward {
			from, to = pos, min(pos+limit, hi)
		} else {
			from, to = max(pos-limit, lo), pos
		}
	} else if forward {
		from, to = lo, min(lo+limit, hi)
	} else {
		from, to = max(hi-limit, lo), hi
	}
	// The response holds at most 1 MB of messages.
	bytes := 0
	out := &getLogEventsOutput{Events: []outputEvent{}}
	if forward {
		for i := from; i < to; i++ {
			ev := st.events[i]
			if bytes += len(ev.Message) + EventOverhead; bytes > MaxBatchBytes && i > from {
				to = i
				break
			}
			out.Events = append(out.Events, outputEvent(ev))
		}
	} else {
		for i := to - 1; i >= from; i-- {
			ev := st.events[i]
			if bytes += len(ev.Message) + EventOverhead; bytes > MaxBatchBytes && i < to-1 {
				from = i + 1
				break
			}
			out.Events = append(out.Events, outputEvent(ev))
		}
		slices.Reverse(out.Events)
	}
	out.NextForwardToken = "f/" + strconv.Itoa(to)
	out.NextBackwardToken = "b/" + strconv.Itoa(from)
	return out, nil
}

type describeLogStreamsInput struct {
	LogGroupName        string  `json:"logGroupName"`
	LogGroupIdentifier  string  `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             string  `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	Limit               *int32  `json:"limit"`
	NextToken           *string `json:"nextToken"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsOutput struct {
	LogStreams []logStreamOut `json:"logStreams"`
	NextToken  *string        `json:"nextToken,omitempty"`
}

func (s *Server) describeLogStreams(in *describeLogStreamsInput) (any, *apiError) {
	name := in.LogGroupName
	if in.LogGroupIdentifier != "" {
		if name != "" {
			return nil, invalid("LogGroupName and LogGroupIdentifier are mutually exclusive")
		}
		name = in.LogGroupIdentifier
	}
	g, e := s.group(name)
	if e != nil {
		return nil, e
	}
	orderBy := in.OrderBy
	if orderBy == "" {
		orderBy = "LogStreamName"
	}
	if orderBy != "LogStreamName" && orderBy != "LastEventTime" {
		return nil, invalid("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", orderBy)
	}
	if orderBy == "LastEventTime" && in.LogStreamNamePrefix != nil {
		return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, invalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50", *in.Limit)
		}
		limit = int(*in.Limit)
	}
	var list []*stream
	for _, st := range g.streams {
		if in.LogStreamNamePrefix == nil || strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
			list = append(list, st)
		}
	}
	desc := in.Descending != nil && *in.Descending
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if orderBy == "LastEventTime" && a.lastTS != b.lastTS {
			return (a.lastTS < b.lastTS) != desc
		}
		return (a.name < b.name) != desc
	})
	start := 0
	if in.NextToken != nil {
		n, err := strconv.Atoi(strings.TrimPrefix(*in.NextToken, "s/"))
		if err != nil || n < 0 || n > len(list) {
			return nil, invalid("The specified nextToken is invalid.")
		}
		start = n
	}
	end := min(start+limit, len(list))
	out := &describeLogStreamsOutput{LogStreams: []logStreamOut{}}
	for _, st := range list[start:end] {
		o := logStreamOut{LogStreamName: st.name, CreationTime: st.created, StoredBytes: 0,
			Arn: "arn:aws:logs:us-east-1:123456789012:log-group:" + g.name + ":log-stream:" + st.name}
		if len(st.events) > 0 {
			first, last, in := st.firstTS, st.lastTS, st.lastIn
			o.FirstEventTimestamp, o.LastEventTimestamp, o.LastIngestionTime = &first, &last, &in
		}
		out.LogStreams = append(out.LogStreams, o)
	}
	if end < len(list) {
		tok := "s/" + strconv.Itoa(end)
		out.NextToken = &tok
	}
	return out, nil
}
