// Package cwlogsink is a trail.Sink that sends each record of a log file as
// one log event to an Amazon CloudWatch Logs log group, the way CloudTrail's
// CloudWatch Logs integration does:
//
//   - the log stream is "<accountID>_CloudTrail_<region>" for the file's
//     account and region, and "<orgID>_<accountID>_CloudTrail_<region>" for
//     organization trails (Options.OrganizationID, or the org ID in the
//     file's key);
//   - the log group is created when it is missing (with an optional
//     retention), and so is each stream;
//   - an event's message is the record's compact JSON, its timestamp the
//     record's eventTime in milliseconds.
//
// Every PutLogEvents rule is respected: a call carries at most 10,000 events
// and at most 1,048,576 bytes counting 26 bytes per event on top of the
// message; events within a call are in chronological order and span at most
// 24 hours; events older than 14 days or more than 2 hours in the future are
// not sent. Events larger than 256 KB (Options.MaxEventSize) are skipped, as
// CloudTrail skips them (they are still in the S3 log file). Skipped events,
// and events the service rejects (the response's rejectedLogEventsInfo: too
// old, too new, older than the group's retention), are reported to
// Options.OnDrop and counted in Stats; they do not fail the delivery.
//
// Throttling, 5xx answers and timeouts are returned as retryable errors (the
// SDK client retries them first); access and parameter errors wrap
// trail.ErrPermanent. When a delivery fails part-way, the sink remembers
// which calls of that file succeeded, so the recorder's retry sends only the
// rest and events are not duplicated (CloudWatch Logs has no idempotent
// write: a call whose response was lost can still be sent twice).
//
// # Tests
//
// The package's tests run the real SDK client against two servers: the
// subpackage cwlogstest (ours: every PutLogEvents rule with AWS's error,
// injected failures), always; and moto_server, an independent
// implementation, when .ci/moto.sh started one (TRAIL_TEST_MOTO_ENDPOINT;
// .ci/run does). Locally the moto tests skip unless run as
//
//	bash .ci/moto.sh run -- go test -race ./sink/cwlogsink/...
package cwlogsink

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/trailkit/trail"
)

// API is the part of the CloudWatch Logs client the sink uses.
// *cloudwatchlogs.Client implements it.
type API interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

var _ API = (*cloudwatchlogs.Client)(nil)

// PutLogEvents limits (CloudWatch Logs quotas).
const (
	// MaxBatchEvents is the most events one PutLogEvents call may carry.
	MaxBatchEvents = 10000
	// MaxBatchBytes is the most bytes one call may carry, counted as the
	// sum over its events of len(message) + EventOverhead.
	MaxBatchBytes = 1048576
	// EventOverhead is the per-event byte count added to the message size.
	EventOverhead = 26
	// MaxBatchSpan is the longest time span of the events of one call.
	MaxBatchSpan = 24 * time.Hour
	// MaxEventAge: older events are rejected (tooOldLogEventEndIndex).
	MaxEventAge = 14 * 24 * time.Hour
	// MaxEventFuture: events further in the future are rejected
	// (tooNewLogEventStartIndex).
	MaxEventFuture = 2 * time.Hour
	// ServiceMaxEventSize is the largest event (message + 26 bytes) the
	// service accepts.
	ServiceMaxEventSize = 1048576
	// CloudTrailMaxEventSize is the largest event (message + 26 bytes) that
	// CloudTrail sends to CloudWatch Logs: 256 KB.
	CloudTrailMaxEventSize = 256 * 1024
	// DefaultAttemptTimeout bounds each API call of a delivery.
	DefaultAttemptTimeout = time.Minute
)

// RetentionDays are the values PutRetentionPolicy accepts.
var RetentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ValidRetention reports whether days is one of RetentionDays.
func ValidRetention(days int32) bool { return slices.Contains(RetentionDays, days) }

var (
	groupRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	orgRE   = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

// Options tune a Sink. The zero value is the default: streams of non-org
// trails (the org ID is read from org trails' keys), the group created when
// missing with no retention (events never expire), events above 256 KB
// skipped, one minute per API call.
type Options struct {
	// OrganizationID ("o-…") names the streams of an organization trail,
	// "<orgID>_<accountID>_CloudTrail_<region>". When empty, the org ID is
	// taken from the file's key ("[prefix/]AWSLogs/<orgID>/<account>/…"),
	// and files of other trails use "<accountID>_CloudTrail_<region>".
	OrganizationID string
	// RetentionDays, if not zero, is set with PutRetentionPolicy when the
	// sink creates the log group; it must be one of RetentionDays.
	RetentionDays int32
	// GroupKMSKeyID is the KMS key ARN the sink creates the group with
	// (empty: CloudWatch Logs' own encryption).
	GroupKMSKeyID string
	// NoCreateGroup makes a missing log group a permanent error instead of
	// creating it (for writers without logs:CreateLogGroup).
	NoCreateGroup bool
	// MaxEventSize is the largest event, len(message)+26 bytes, that is
	// sent; larger ones are skipped and reported (default
	// CloudTrailMaxEventSize, at most ServiceMaxEventSize).
	MaxEventSize int
	// OnDrop, if set, receives every event that was not delivered: skipped
	// by the sink or rejected by the service. It is called from Deliver and
	// must not block for long.
	OnDrop func(Drop)
	// AttemptTimeout bounds each API call (default one minute).
	AttemptTimeout time.Duration
	// Now is the clock used to skip too old and too new events (default
	// time.Now).
	Now func() time.Time
}

// DropReason says why an event was not delivered.
type DropReason int

const (
	// TooLarge: the event exceeds Options.MaxEventSize (skipped).
	TooLarge DropReason = iota + 1
	// TooOld: older than 14 days (skipped, or rejected by the service).
	TooOld
	// TooNew: more than 2 hours in the future (skipped, or rejected).
	TooNew
	// Expired: older than the log group's retention (rejected).
	Expired
)

// String names the reason.
func (r DropReason) String() string {
	switch r {
	case TooLarge:
		return "too large"
	case TooOld:
		return "too old"
	case TooNew:
		return "too new"
	case Expired:
		return "expired"
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// Drop describes an event that was not delivered.
type Drop struct {
	Key      string     // log file key
	Group    string     // log group
	Stream   string     // log stream
	Record   int        // index of the record in LogFile.Records
	Size     int        // len(message) + EventOverhead
	Time     time.Time  // event time
	Reason   DropReason // why
	Rejected bool       // true: the service rejected it; false: the sink skipped it
}

// Stats are a sink's counters since New.
type Stats struct {
	Calls     uint64 // PutLogEvents calls made (including failed ones)
	Events    uint64 // events accepted by the service
	Bytes     uint64 // bytes of accepted events, counting 26 per event
	TooLarge  uint64 // events skipped for their size
	TooOld    uint64 // events skipped or rejected as too old
	TooNew    uint64 // events skipped or rejected as too new
	Expired   uint64 // events rejected as older than the retention
	Files     uint64 // log files delivered
	Resumed   uint64 // deliveries that resumed a partly delivered file
	Throttled uint64 // calls that failed with ThrottlingException
}

// Sink delivers log files' records to one log group. It is safe for
// concurrent use.
type Sink struct {
	api   API
	group string
	opts  Options

	mu       sync.Mutex
	streams  map[string]bool      // streams known to exist
	pending  map[string]*progress // partly delivered files by key
	groupMu  sync.Mutex           // serializes group creation
	groupOK  bool                 // under groupMu
	needRet  bool                 // under groupMu: created, retention not yet set
	calls    atomic.Uint64
	events   atomic.Uint64
	bytes    atomic.Uint64
	files    atomic.Uint64
	resumed  atomic.Uint64
	throttle atomic.Uint64
	dropped  [5]atomic.Uint64 // by DropReason
}

// progress is the delivery plan of a file and how far it got.
type progress struct {
	stream  string
	batches [][]event
	done    int // batches accepted
}

// maxPending bounds the remembered partial deliveries (files the recorder
// gave up on are forgotten when the bound is hit).
const maxPending = 1024

var _ trail.Sink = (*Sink)(nil)

// New returns a Sink that writes to logGroup through client. The
// zero Options is the default.
func New(client API, logGroup string, opts Options) (*Sink, error) {
	if client == nil {
		return nil, errors.New("cwlogsink: nil client")
	}
	if !groupRE.MatchString(logGroup) {
		return nil, fmt.Errorf("cwlogsink: log group name %q: want 1 to 512 characters of letters, digits, '.', '-', '_', '/', '#'", logGroup)
	}
	s := &Sink{api: client, group: logGroup, streams: map[string]bool{}, pending: map[string]*progress{}}
	s.opts = opts
	o := &s.opts
	if o.OrganizationID != "" && !orgRE.MatchString(o.OrganizationID) {
		return nil, fmt.Errorf("cwlogsink: OrganizationID %q: want o- and 10 to 32 lower-case letters or digits", o.OrganizationID)
	}
	if o.RetentionDays != 0 && !ValidRetention(o.RetentionDays) {
		return nil, fmt.Errorf("cwlogsink: RetentionDays %d: not one of %v", o.RetentionDays, RetentionDays)
	}
	if o.RetentionDays != 0 && o.NoCreateGroup {
		return nil, errors.New("cwlogsink: RetentionDays applies to a group the sink creates; it cannot be set with NoCreateGroup")
	}
	if o.MaxEventSize < 0 || o.MaxEventSize > ServiceMaxEventSize {
		return nil, fmt.Errorf("cwlogsink: MaxEventSize %d: want 1 to %d bytes (0 for the default)", o.MaxEventSize, ServiceMaxEventSize)
	}
	if o.MaxEventSize == 0 {
		o.MaxEventSize = CloudTrailMaxEventSize
	}
	if o.AttemptTimeout < 0 {
		return nil, errors.New("cwlogsink: negative AttemptTimeout")
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return s, nil
}

// String names the sink in errors.
func (s *Sink) String() string { return "cwlogsink(" + s.group + ")" }

// LogGroup returns the log group the sink writes to.
func (s *Sink) LogGroup() string { return s.group }

// Stats returns a snapshot of the sink's counters.
func (s *Sink) Stats() Stats {
	return Stats{
		Calls: s.calls.Load(), Events: s.events.Load(), Bytes: s.bytes.Load(),
		TooLarge: s.dropped[TooLarge].Load(), TooOld: s.dropped[TooOld].Load(),
		TooNew: s.dropped[TooNew].Load(), Expired: s.dropped[Expired].Load(),
		Files: s.files.Load(), Resumed: s.resumed.Load(), Throttled: s.throttle.Load(),
	}
}

// StreamName returns CloudTrail's log stream name for an account and region:
// "<account>_CloudTrail_<region>", prefixed with "<orgID>_" for an
// organization trail.
func StreamName(orgID, account, region string) string {
	if orgID != "" {
		return orgID + "_" + account + "_CloudTrail_" + region
	}
	return account + "_CloudTrail_" + region
}

// orgFromKey returns the organization ID in a log file key
// "[prefix/]AWSLogs/<orgID>/<account>/CloudTrail/<region>/…", or "".
func orgFromKey(key, account, region string) string {
	parts := strings.Split(key, "/")
	for i := len(parts) - 2; i >= 3; i-- {
		if parts[i] == "CloudTrail" && parts[i+1] == region && parts[i-1] == account &&
			orgRE.MatchString(parts[i-2]) && parts[i-3] == "AWSLogs" {
			return parts[i-2]
		}
	}
	return ""
}

func (s *Sink) streamFor(f *trail.LogFile) string {
	org := s.opts.OrganizationID
	if org == "" {
		org = orgFromKey(f.Key, f.AccountID, f.Region)
	}
	return StreamName(org, f.AccountID, f.Region)
}

// event is one log event to send.
type event struct {
	record int   // index in LogFile.Records
	ts     int64 // milliseconds since the epoch
	msg    string
}

func (e event) size() int { return len(e.msg) + EventOverhead }

// Deliver sends f's records as log events. Events the sink skips or the
// service rejects are reported to Options.OnDrop; they do not make Deliver
// fail.
func (s *Sink) Deliver(ctx context.Context, f *trail.LogFile) error {
	if f == nil || f.Key == "" {
		return fmt.Errorf("cwlogsink: %w: empty log file", trail.ErrPermanent)
	}
	if f.AccountID == "" || f.Region == "" {
		return fmt.Errorf("cwlogsink: %w: log file %s has no account or region", trail.ErrPermanent, f.Key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	p := s.pending[f.Key]
	s.mu.Unlock()
	if p != nil {
		s.resumed.Add(1)
	} else {
		p = s.plan(f)
	}
	err := s.send(ctx, f, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil || errors.Is(err, trail.ErrPermanent) {
		delete(s.pending, f.Key)
		if err == nil {
			s.files.Add(1)
		}
		return err
	}
	if _, ok := s.pending[f.Key]; !ok && len(s.pending) >= maxPending {
		for k := range s.pending { // forget an arbitrary old entry
			delete(s.pending, k)
			break
		}
	}
	s.pending[f.Key] = p
	return err
}

// plan turns a file into sorted, filtered events split into batches that
// obey every PutLogEvents rule. Skipped events are reported here, once per
// file.
func (s *Sink) plan(f *trail.LogFile) *progress {
	p := &progress{stream: s.streamFor(f)}
	fallback := f.NewestEventTime
	if fallback.IsZero() {
		fallback = f.Created
	}
	now := s.opts.Now()
	oldest, newest := now.Add(-MaxEventAge).UnixMilli(), now.Add(MaxEventFuture).UnixMilli()
	evs := make([]event, 0, len(f.Records))
	for i, rec := range f.Records {
		t, ok := eventTime(rec)
		if !ok {
			t = fallback
		}
		ev := event{record: i, ts: t.UnixMilli(), msg: string(rec)}
		var why DropReason
		switch {
		case ev.size() > s.opts.MaxEventSize:
			why = TooLarge
		case ev.ts < oldest:
			why = TooOld
		case ev.ts > newest:
			why = TooNew
		}
		if why != 0 {
			s.drop(Drop{Key: f.Key, Group: s.group, Stream: p.stream, Record: i, Size: ev.size(), Time: t, Reason: why})
			continue
		}
		evs = append(evs, ev)
	}
	slices.SortStableFunc(evs, func(a, b event) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
	p.batches = split(evs)
	return p
}

// split cuts sorted events into batches of at most MaxBatchEvents events and
// MaxBatchBytes bytes whose events span at most MaxBatchSpan.
func split(evs []event) [][]event {
	var out [][]event
	start, bytes := 0, 0
	for i, ev := range evs {
		if i > start && (i-start >= MaxBatchEvents || bytes+ev.size() > MaxBatchBytes ||
			time.Duration(ev.ts-evs[start].ts)*time.Millisecond > MaxBatchSpan) {
			out = append(out, evs[start:i:i])
			start, bytes = i, 0
		}
		bytes += ev.size()
	}
	if start < len(evs) {
		out = append(out, evs[start:])
	}
	return out
}

func (s *Sink) drop(d Drop) {
	s.dropped[d.Reason].Add(1)
	if s.opts.OnDrop != nil {
		s.opts.OnDrop(d)
	}
}

// send delivers the batches of p from p.done on.
func (s *Sink) send(ctx context.Context, f *trail.LogFile, p *progress) error {
	if len(p.batches) == p.done {
		return nil
	}
	if err := s.ensureStream(ctx, p.stream); err != nil {
		return err
	}
	for p.done < len(p.batches) {
		batch := p.batches[p.done]
		out, err := s.put(ctx, p.stream, batch)
		if isCode(err, "ResourceNotFoundException") && !s.opts.NoCreateGroup {
			// The group or stream was deleted since we saw it: recreate.
			s.forget(p.stream)
			if err = s.ensureStream(ctx, p.stream); err != nil {
				return err
			}
			out, err = s.put(ctx, p.stream, batch)
		}
		if err != nil {
			return fmt.Errorf("cwlogsink: put %d events of %s to %s/%s: %w", len(batch), f.Key, s.group, p.stream, err)
		}
		s.accept(f, p.stream, batch, out)
		p.done++
	}
	return nil
}

func (s *Sink) put(ctx context.Context, stream string, batch []event) (*cloudwatchlogs.PutLogEventsOutput, error) {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(s.group),
		LogStreamName: aws.String(stream),
		LogEvents:     make([]types.InputLogEvent, len(batch)),
	}
	for i := range batch {
		in.LogEvents[i] = types.InputLogEvent{Message: &batch[i].msg, Timestamp: &batch[i].ts}
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	s.calls.Add(1)
	out, err := s.api.PutLogEvents(actx, in)
	if err != nil {
		if isCode(err, "ThrottlingException") {
			s.throttle.Add(1)
		}
		if isCode(err, "DataAlreadyAcceptedException") {
			// Legacy sequence-token answer: the batch is stored already.
			return &cloudwatchlogs.PutLogEventsOutput{}, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, classify(err)
	}
	return out, nil
}

// accept counts a stored batch and reports the events the service rejected
// (rejectedLogEventsInfo: [0, tooOldEnd) too old, [0, expiredEnd) expired,
// [tooNewStart, n) too new).
func (s *Sink) accept(f *trail.LogFile, stream string, batch []event, out *cloudwatchlogs.PutLogEventsOutput) {
	rejected := make([]DropReason, len(batch))
	if info := out.RejectedLogEventsInfo; info != nil {
		mark := func(from, to int, why DropReason) {
			from, to = max(from, 0), min(to, len(batch))
			for i := from; i < to; i++ {
				if rejected[i] == 0 {
					rejected[i] = why
				}
			}
		}
		if info.ExpiredLogEventEndIndex != nil {
			mark(0, int(*info.ExpiredLogEventEndIndex), Expired)
		}
		if info.TooOldLogEventEndIndex != nil {
			mark(0, int(*info.TooOldLogEventEndIndex), TooOld)
		}
		if info.TooNewLogEventStartIndex != nil {
			mark(int(*info.TooNewLogEventStartIndex), len(batch), TooNew)
		}
	}
	for i, ev := range batch {
		if why := rejected[i]; why != 0 {
			s.drop(Drop{Key: f.Key, Group: s.group, Stream: stream, Record: ev.record, Size: ev.size(),
				Time: time.UnixMilli(ev.ts).UTC(), Reason: why, Rejected: true})
			continue
		}
		s.events.Add(1)
		s.bytes.Add(uint64(ev.size()))
	}
}

func (s *Sink) forget(stream string) {
	s.mu.Lock()
	delete(s.streams, stream)
	s.mu.Unlock()
	s.groupMu.Lock()
	s.groupOK = false
	s.groupMu.Unlock()
}

// ensureStream creates the stream (and, when it is missing, the group) once.
func (s *Sink) ensureStream(ctx context.Context, stream string) error {
	s.mu.Lock()
	ok := s.streams[stream]
	s.mu.Unlock()
	if ok {
		return nil
	}
	err := s.createStream(ctx, stream)
	if isCode(err, "ResourceNotFoundException") && !s.opts.NoCreateGroup {
		if err = s.ensureGroup(ctx); err != nil {
			return err
		}
		err = s.createStream(ctx, stream)
	}
	if err != nil {
		return fmt.Errorf("cwlogsink: create log stream %s/%s: %w", s.group, stream, classify(err))
	}
	s.mu.Lock()
	s.streams[stream] = true
	s.mu.Unlock()
	return nil
}

func (s *Sink) createStream(ctx context.Context, stream string) error {
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	_, err := s.api.CreateLogStream(actx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(s.group), LogStreamName: aws.String(stream)})
	if isCode(err, "ResourceAlreadyExistsException") {
		return nil
	}
	return err
}

// ensureGroup creates the log group and sets its retention.
func (s *Sink) ensureGroup(ctx context.Context) error {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	if s.groupOK {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	defer cancel()
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(s.group)}
	if s.opts.GroupKMSKeyID != "" {
		in.KmsKeyId = aws.String(s.opts.GroupKMSKeyID)
	}
	_, err := s.api.CreateLogGroup(actx, in)
	if err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return fmt.Errorf("cwlogsink: create log group %s: %w", s.group, classify(err))
	}
	if err == nil && s.opts.RetentionDays != 0 {
		s.needRet = true
	}
	if s.needRet {
		_, err := s.api.PutRetentionPolicy(actx, &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String(s.group), RetentionInDays: aws.Int32(s.opts.RetentionDays)})
		if err != nil {
			return fmt.Errorf("cwlogsink: set retention of log group %s to %d days: %w", s.group, s.opts.RetentionDays, classify(err))
		}
		s.needRet = false
	}
	s.groupOK = true
	return nil
}
