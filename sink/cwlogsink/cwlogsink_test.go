package cwlogsink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/cwlogsink"
	"github.com/trailkit/trail/sink/cwlogsink/cwlogstest"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
	group  = "CloudTrail/audit"
	stream = acct + "_CloudTrail_" + region
)

// newClient returns the real SDK client pointed at srv, retrying quickly
// (maxAttempts 0 keeps the SDK default of 3).
func newClient(srv *cwlogstest.Server, maxAttempts int) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 2 * time.Millisecond
			o.RateLimiter = ratelimit.None
			if maxAttempts > 0 {
				o.MaxAttempts = maxAttempts
			}
		}),
	})
}

func newServer(t *testing.T) *cwlogstest.Server {
	srv := cwlogstest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// record returns a compact CloudTrail-like record with the given event time
// and a message of about size bytes.
func record(id int, at time.Time, size int) json.RawMessage {
	r := fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","accountId":"%s"},"eventTime":"%s","eventSource":"orders.example.com","eventName":"CreateOrder","awsRegion":"%s","requestParameters":{"pad":"","id":%d},"eventID":"ev-%d"}`,
		acct, at.UTC().Format(trail.TimeFormat), region, id, id)
	if pad := size - len(r); pad > 0 {
		r = strings.Replace(r, `"pad":""`, `"pad":"`+strings.Repeat("p", pad)+`"`, 1)
	}
	return json.RawMessage(r)
}

// tiny returns a small record (about 60 bytes), so that 10,000 of them fit
// in 1 MiB.
func tiny(id int, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventTime":"%s","eventID":"%d"}`, at.UTC().Format(trail.TimeFormat), id))
}

// records returns n records step apart, the last one step before end:
// tiny ones when size is negative, else record's of at least size bytes.
func records(end time.Time, n, size int, step time.Duration) []json.RawMessage {
	recs := make([]json.RawMessage, n)
	for i := range recs {
		at := end.Add(-time.Duration(n-i) * step)
		if size < 0 {
			recs[i] = tiny(i, at)
		} else {
			recs[i] = record(i, at, size)
		}
	}
	return recs
}

func logFile(key string, recs []json.RawMessage) *trail.LogFile {
	if key == "" {
		key = "AWSLogs/" + acct + "/CloudTrail/" + region + "/2026/03/01/" + acct + "_CloudTrail_" + region + "_20260301T1005Z_abcdefghABCDEFGH.json.gz"
	}
	return &trail.LogFile{Trail: "main", Key: key, AccountID: acct, Region: region, Records: recs, Created: time.Now()}
}

func messages(evs []cwlogstest.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

func TestDeliverCreatesGroupAndStream(t *testing.T) {
	srv := newServer(t)
	client := newClient(srv, 0)
	s, err := cwlogsink.New(client, group, cwlogsink.Options{RetentionDays: 30})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	recs := []json.RawMessage{record(1, now.Add(-time.Minute), 0), record(2, now.Add(-3*time.Minute), 0), record(3, now.Add(-2*time.Minute), 0)}
	ctx := context.Background()
	require.NoError(t, s.Deliver(ctx, logFile("", recs)))

	days, ok := srv.Retention(group)
	require.True(t, ok, "group created")
	assert.EqualValues(t, 30, days)
	assert.Equal(t, []string{stream}, srv.Streams(group))
	got := srv.Events(group, stream)
	assert.Equal(t, []string{string(recs[1]), string(recs[2]), string(recs[0])}, messages(got), "chronological, messages are the records")
	assert.Equal(t, now.Add(-3*time.Minute).UnixMilli(), got[0].Timestamp, "timestamp = eventTime in ms")

	// The endpoint answers the SDK's reads too.
	out, err := client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)})
	require.NoError(t, err)
	require.Len(t, out.Events, 3)
	assert.Equal(t, string(recs[1]), aws.ToString(out.Events[0].Message))
	ds, err := client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	require.Len(t, ds.LogStreams, 1)
	assert.Equal(t, stream, aws.ToString(ds.LogStreams[0].LogStreamName))
	assert.Equal(t, now.Add(-time.Minute).UnixMilli(), aws.ToInt64(ds.LogStreams[0].LastEventTimestamp))

	// A second file reuses group and stream: no more create calls.
	require.NoError(t, s.Deliver(ctx, logFile("k2", []json.RawMessage{record(4, now, 0)})))
	assert.Equal(t, 1, srv.Count("CreateLogGroup"))
	assert.Equal(t, 2, srv.Count("CreateLogStream"), "the first attempt found no group, the second created the stream")
	assert.Equal(t, cwlogsink.Stats{Calls: 2, Events: 4, Bytes: uint64(len(recs[0]) + len(recs[1]) + len(recs[2]) + len(record(4, now, 0)) + 4*26), Files: 2}, s.Stats())
	_, isDigestSink := any(s).(trail.DigestSink)
	require.False(t, isDigestSink, "digests are not sent to CloudWatch Logs")
}

func TestStreamNames(t *testing.T) {
	tests := []struct {
		name string
		org  string
		key  string
		want string
	}{
		{name: "account trail", want: stream},
		{name: "org trail from key", key: "AWSLogs/o-exampleorg1/" + acct + "/CloudTrail/" + region + "/2026/03/01/f.json.gz", want: "o-exampleorg1_" + stream},
		{name: "org trail from options", org: "o-abcdefghij", want: "o-abcdefghij_" + stream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			s, err := cwlogsink.New(newClient(srv, 0), group, cwlogsink.Options{OrganizationID: tt.org})
			require.NoError(t, err)
			require.NoError(t, s.Deliver(context.Background(), logFile(tt.key, []json.RawMessage{record(1, time.Now(), 0)})))
			assert.Equal(t, []string{tt.want}, srv.Streams(group))
		})
	}
	assert.Equal(t, "o-exampleorg1_"+stream, cwlogsink.StreamName("o-exampleorg1", acct, region))
}

// TestPutLogEventsRules sends files that would break each PutLogEvents rule
// in one call; the sink splits or skips, and the endpoint (which enforces
// every rule) accepts all calls.
func TestPutLogEventsRules(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	many := func(n, size int, step time.Duration) []json.RawMessage { return records(now, n, size, step) }
	shuffled := many(500, 0, time.Second)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	tests := []struct {
		name      string
		recs      []json.RawMessage
		calls     int
		delivered int
		drops     map[cwlogsink.DropReason]int
	}{
		{name: "more than 10,000 events", recs: many(25000, -1, time.Millisecond), calls: 3, delivered: 25000},
		{name: "more than 1 MiB", recs: many(3000, 1000, time.Millisecond), calls: 3, delivered: 3000},
		{name: "exactly 1 MiB", recs: many(16, 65536-26, time.Second), calls: 1, delivered: 16},
		{name: "one byte over 1 MiB", recs: append(many(16, 65536-26, time.Second), record(99, now, 0)), calls: 2, delivered: 17},
		{name: "spans more than 24 hours", recs: many(60, 0, time.Hour), calls: 3, delivered: 60},
		{name: "out of order", recs: shuffled, calls: 1, delivered: 500},
		{name: "events above 256 KB skipped", recs: []json.RawMessage{record(1, now, 100), record(2, now, 256*1024), record(3, now, 256*1024-26)},
			calls: 1, delivered: 2, drops: map[cwlogsink.DropReason]int{cwlogsink.TooLarge: 1}},
		{name: "older than 14 days skipped", recs: []json.RawMessage{record(1, now.Add(-15*24*time.Hour), 0), record(2, now.Add(-13*24*time.Hour), 0), record(3, now, 0)},
			calls: 2, delivered: 2, drops: map[cwlogsink.DropReason]int{cwlogsink.TooOld: 1}},
		{name: "more than 2 hours ahead skipped", recs: []json.RawMessage{record(1, now.Add(3*time.Hour), 0), record(2, now.Add(time.Hour), 0)},
			calls: 1, delivered: 1, drops: map[cwlogsink.DropReason]int{cwlogsink.TooNew: 1}},
		{name: "nothing left to send", recs: []json.RawMessage{record(1, now.Add(-20*24*time.Hour), 0)},
			calls: 0, delivered: 0, drops: map[cwlogsink.DropReason]int{cwlogsink.TooOld: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			var mu sync.Mutex
			drops := map[cwlogsink.DropReason]int{}
			s, err := cwlogsink.New(newClient(srv, 1), group, cwlogsink.Options{OnDrop: func(d cwlogsink.Drop) {
				mu.Lock()
				drops[d.Reason]++
				mu.Unlock()
				assert.False(t, d.Rejected)
				assert.Equal(t, stream, d.Stream)
			}})
			require.NoError(t, err)
			require.NoError(t, s.Deliver(context.Background(), logFile("", tt.recs)))
			calls := srv.Calls()
			assert.Equal(t, tt.calls, len(calls))
			assert.Equal(t, tt.calls, srv.Count("PutLogEvents"), "no call was refused")
			for _, c := range calls {
				assert.LessOrEqual(t, c.Events, cwlogsink.MaxBatchEvents)
				assert.LessOrEqual(t, c.Bytes, cwlogsink.MaxBatchBytes)
			}
			got := srv.Events(group, stream)
			assert.Equal(t, tt.delivered, len(got))
			for i := 1; i < len(got); i++ {
				require.LessOrEqual(t, got[i-1].Timestamp, got[i].Timestamp)
			}
			if tt.drops == nil {
				tt.drops = map[cwlogsink.DropReason]int{}
			}
			assert.Equal(t, tt.drops, drops)
		})
	}
}

// TestServerEnforcesRules drives the endpoint directly with the SDK: each
// broken rule gets AWS's error code.
func TestServerEnforcesRules(t *testing.T) {
	srv := newServer(t)
	c := newClient(srv, 1)
	ctx := context.Background()
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
	now := time.Now().UnixMilli()
	evs := func(n, size int, step int64) []types.InputLogEvent {
		out := make([]types.InputLogEvent, n)
		for i := range out {
			out[i] = types.InputLogEvent{Message: aws.String(strings.Repeat("m", size)), Timestamp: aws.Int64(now - int64(n-i)*step)}
		}
		return out
	}
	put := func(g, st string, e []types.InputLogEvent) error {
		_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String(st), LogEvents: e})
		return err
	}
	unordered := evs(3, 10, 1000)
	unordered[0], unordered[2] = unordered[2], unordered[0]
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"group exists", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
			return err
		}, "ResourceAlreadyExistsException", "already exists"},
		{"bad group name", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad:name")})
			return err
		}, "InvalidParameterException", "logGroupName"},
		{"stream exists", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
			return err
		}, "ResourceAlreadyExistsException", "already exists"},
		{"bad stream name", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("a*b")})
			return err
		}, "InvalidParameterException", "logStreamName"},
		{"stream in missing group", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceNotFoundException", "log group does not exist"},
		{"retention not allowed", func() error {
			_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(2)})
			return err
		}, "InvalidParameterException", "retentionInDays"},
		{"missing stream", func() error { return put(group, "nope", evs(1, 10, 1)) }, "ResourceNotFoundException", "log stream does not exist"},
		{"no events", func() error { return put(group, stream, []types.InputLogEvent{}) }, "InvalidParameterException", "logEvents"},
		{"10,001 events", func() error { return put(group, stream, evs(10001, 1, 1)) }, "InvalidParameterException", "logEvents"},
		{"1 MiB + 1 byte", func() error { return put(group, stream, append(evs(16, 65536-26, 1), evs(1, 1, 1)...)) }, "InvalidParameterException", "Upload too large: 1048603 bytes"},
		{"event above 1 MiB", func() error { return put(group, stream, evs(1, 1048576, 1)) }, "InvalidParameterException", "Log event too large"},
		{"out of order", func() error { return put(group, stream, unordered) }, "InvalidParameterException", "chronological order"},
		{"span over 24 hours", func() error { return put(group, stream, evs(2, 10, int64(24*time.Hour/time.Millisecond)+1)) }, "InvalidParameterException", "24 hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
			assert.Contains(t, ae.ErrorMessage(), tt.msg)
		})
	}
	assert.Empty(t, srv.Events(group, stream), "no refused call stored anything")
	require.NoError(t, put(group, stream, evs(16, 65536-26, 1)), "exactly 1 MiB is fine")
	require.NoError(t, put(group, stream, evs(2, 10, int64(24*time.Hour/time.Millisecond))), "exactly 24 hours is fine")
}

// TestRejectedLogEventsInfo: when the service's clock or retention rejects
// events the sink's clock let through, the response's
// rejectedLogEventsInfo is honoured: those events are reported, the rest
// counted as delivered.
func TestRejectedLogEventsInfo(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	recs := make([]json.RawMessage, 10)
	for i := range recs {
		recs[i] = record(i, base.Add(time.Duration(i)*time.Minute), 0)
	}
	tests := []struct {
		name      string
		serverNow time.Time
		retention int32
		reason    cwlogsink.DropReason
		rejected  []int // record indexes
	}{
		{name: "too old", serverNow: base.Add(cwlogsink.MaxEventAge + 4*time.Minute + 30*time.Second), reason: cwlogsink.TooOld, rejected: []int{0, 1, 2, 3, 4}},
		{name: "too new", serverNow: base.Add(-cwlogsink.MaxEventFuture + 6*time.Minute + 30*time.Second), reason: cwlogsink.TooNew, rejected: []int{7, 8, 9}},
		{name: "expired by retention", serverNow: base.Add(24*time.Hour + 2*time.Minute + 30*time.Second), retention: 1, reason: cwlogsink.Expired, rejected: []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.SetNow(func() time.Time { return tt.serverNow })
			var got []cwlogsink.Drop
			var mu sync.Mutex
			s, err := cwlogsink.New(newClient(srv, 1), group, cwlogsink.Options{RetentionDays: tt.retention,
				Now:    func() time.Time { return base.Add(10 * time.Minute) },
				OnDrop: func(d cwlogsink.Drop) { mu.Lock(); got = append(got, d); mu.Unlock() }})
			require.NoError(t, err)
			require.NoError(t, s.Deliver(context.Background(), logFile("", recs)))
			var idx []int
			for _, d := range got {
				assert.True(t, d.Rejected)
				assert.Equal(t, tt.reason, d.Reason)
				idx = append(idx, d.Record)
			}
			assert.Equal(t, tt.rejected, idx)
			assert.Len(t, srv.Events(group, stream), len(recs)-len(tt.rejected))
			st := s.Stats()
			assert.EqualValues(t, len(recs)-len(tt.rejected), st.Events)
			assert.EqualValues(t, 1, st.Calls)
		})
	}
}

func TestThrottlingRetried(t *testing.T) {
	srv := newServer(t)
	s, err := cwlogsink.New(newClient(srv, 0), group, cwlogsink.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	recs := []json.RawMessage{record(1, time.Now(), 0), record(2, time.Now(), 0)}
	srv.FailNext("PutLogEvents", "ThrottlingException", 2)
	require.NoError(t, s.Deliver(ctx, logFile("", recs)), "the SDK client retries throttling")
	assert.Equal(t, 3, srv.Count("PutLogEvents"))
	assert.Len(t, srv.Events(group, stream), 2, "stored once")
	assert.EqualValues(t, 0, s.Stats().Throttled, "no throttling reached the sink")

	// Throttling beyond the SDK's attempts is a retryable error for the
	// recorder, not a permanent one.
	srv.FailNext("PutLogEvents", "ThrottlingException", 3)
	err = s.Deliver(ctx, logFile("k2", recs))
	require.Error(t, err)
	assert.NotErrorIs(t, err, trail.ErrPermanent)
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "ThrottlingException", ae.ErrorCode())
	require.NoError(t, s.Deliver(ctx, logFile("k2", recs)), "the recorder's retry succeeds")
	assert.Len(t, srv.Events(group, stream), 4)
	assert.EqualValues(t, 1, s.Stats().Throttled)
}

// failingAPI fails the failAt-th PutLogEvents call (1-based) with a
// retryable error.
type failingAPI struct {
	cwlogsink.API
	n, failAt atomic.Int32
}

func (f *failingAPI) PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	if f.n.Add(1) == f.failAt.Load() {
		return nil, &types.ServiceUnavailableException{Message: aws.String("injected")}
	}
	return f.API.PutLogEvents(ctx, in, o...)
}

func TestResumeAfterPartialFailure(t *testing.T) {
	srv := newServer(t)
	api := &failingAPI{API: newClient(srv, 1)}
	api.failAt.Store(2)
	s, err := cwlogsink.New(api, group, cwlogsink.Options{})
	require.NoError(t, err)
	now := time.Now()
	recs := make([]json.RawMessage, 25000)
	for i := range recs {
		recs[i] = tiny(i, now)
	}
	ctx := context.Background()
	f := logFile("", recs)
	err = s.Deliver(ctx, f)
	require.Error(t, err)
	assert.NotErrorIs(t, err, trail.ErrPermanent)
	assert.Equal(t, 10000, len(srv.Events(group, stream)), "first call stored")
	require.NoError(t, s.Deliver(ctx, f), "retry resumes")
	assert.Equal(t, 25000, len(srv.Events(group, stream)), "no duplicates, nothing lost")
	assert.Equal(t, 3, srv.Count("PutLogEvents"))
	st := s.Stats()
	assert.EqualValues(t, 1, st.Resumed)
	assert.EqualValues(t, 25000, st.Events)
}

func TestPermanentErrors(t *testing.T) {
	tests := []struct {
		name string
		opts cwlogsink.Options
		prep func(*cwlogstest.Server)
		code string
	}{
		{name: "access denied", prep: func(s *cwlogstest.Server) { s.FailNext("CreateLogStream", "AccessDeniedException", 1) }, code: "AccessDeniedException"},
		{name: "bad credentials", prep: func(s *cwlogstest.Server) { s.FailNext("CreateLogStream", "UnrecognizedClientException", 1) }, code: "UnrecognizedClientException"},
		{name: "missing group not created", opts: cwlogsink.Options{NoCreateGroup: true}, code: "ResourceNotFoundException"},
		{name: "group creation denied", prep: func(s *cwlogstest.Server) { s.FailNext("CreateLogGroup", "AccessDeniedException", 1) }, code: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if tt.prep != nil {
				tt.prep(srv)
			}
			s, err := cwlogsink.New(newClient(srv, 1), group, tt.opts)
			require.NoError(t, err)
			err = s.Deliver(context.Background(), logFile("", []json.RawMessage{record(1, time.Now(), 0)}))
			require.ErrorIs(t, err, trail.ErrPermanent)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
		})
	}
}

func TestStreamDeletedIsRecreated(t *testing.T) {
	srv := newServer(t)
	s, err := cwlogsink.New(newClient(srv, 1), group, cwlogsink.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.Deliver(ctx, logFile("k1", []json.RawMessage{record(1, time.Now(), 0)})))
	srv.DeleteLogStream(group, stream)
	require.NoError(t, s.Deliver(ctx, logFile("k2", []json.RawMessage{record(2, time.Now(), 0)})))
	assert.Len(t, srv.Events(group, stream), 1)
}

func TestNewOptions(t *testing.T) {
	srv := newServer(t)
	c := newClient(srv, 1)
	tests := []struct {
		name    string
		group   string
		opts    cwlogsink.Options
		wantErr string
	}{
		{name: "defaults", group: group},
		{name: "all retention values", group: group, opts: cwlogsink.Options{RetentionDays: 3653}},
		{name: "retention not allowed", group: group, opts: cwlogsink.Options{RetentionDays: 2}, wantErr: "RetentionDays 2"},
		{name: "retention without creation", group: group, opts: cwlogsink.Options{RetentionDays: 7, NoCreateGroup: true}, wantErr: "NoCreateGroup"},
		{name: "bad group", group: "a:b", wantErr: "log group name"},
		{name: "empty group", group: "", wantErr: "log group name"},
		{name: "bad org", group: group, opts: cwlogsink.Options{OrganizationID: "org-1"}, wantErr: "OrganizationID"},
		{name: "event size above service limit", group: group, opts: cwlogsink.Options{MaxEventSize: 2 << 20}, wantErr: "MaxEventSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cwlogsink.New(c, tt.group, tt.opts)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "cwlogsink("+tt.group+")", s.String())
		})
	}
	for _, d := range cwlogsink.RetentionDays {
		assert.True(t, cwlogsink.ValidRetention(d))
	}
	_, err := cwlogsink.New(nil, group, cwlogsink.Options{})
	require.Error(t, err)
	s, err := cwlogsink.New(c, group, cwlogsink.Options{})
	require.NoError(t, err)
	require.ErrorIs(t, s.Deliver(context.Background(), &trail.LogFile{Key: "k"}), trail.ErrPermanent, "no account or region")
}

// TestRecorder100kEvents is the measured run: 100,000 events (20,000 under
// the race detector) through a recorder (default file size of 10,000
// records) to the local endpoint; it reports PutLogEvents calls per 100k
// events.
func TestRecorder100kEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the 100k-event run in -short mode")
	}
	srv := newServer(t)
	sink, err := cwlogsink.New(newClient(srv, 0), group, cwlogsink.Options{})
	require.NoError(t, err)
	var errs atomic.Int32
	rec, err := trail.New(trail.Config{AccountID: acct, Region: region, OnError: func(error) { errs.Add(1) },
		Trails: []trail.Trail{{Name: "main", Interval: time.Hour, Sinks: []trail.Sink{sink}}}})
	require.NoError(t, err)
	ctx := context.Background()
	n := 100000
	if raceEnabled {
		n = 20000 // same files-and-calls shape, a fifth of the time
	}
	ev := &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder", SourceIPAddress: "192.0.2.10",
		UserAgent: "orders-client/1.0", RequestParameters: []byte(`{"orderId":"o-123456","items":[{"sku":"A-1","qty":2}]}`),
		ResponseElements: []byte(`{"status":"created"}`)}
	t0 := time.Now()
	for range n {
		require.NoError(t, rec.Record(ctx, ev))
	}
	require.NoError(t, rec.Close(ctx))
	elapsed := time.Since(t0)
	require.Zero(t, errs.Load())
	got := srv.Events(group, stream)
	require.Equal(t, n, len(got))
	st := sink.Stats()
	calls := srv.Calls()
	sizes := 0
	for _, c := range calls {
		sizes += c.Bytes
		assert.LessOrEqual(t, c.Bytes, cwlogsink.MaxBatchBytes)
	}
	t.Logf("%d events -> %d files, %d PutLogEvents calls (%.1f per 100k events, %.0f KiB and %d events per call on average) in %s",
		n, st.Files, len(calls), float64(len(calls))*100000/float64(n), float64(sizes)/float64(len(calls))/1024, n/len(calls), elapsed)
	assert.EqualValues(t, len(calls), st.Calls)
}
