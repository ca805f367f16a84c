package cwlogsink_test

// Tests against moto_server, an independent implementation of CloudWatch
// Logs, with the real SDK client. They skip unless .ci/moto.sh started a
// server (CI=true makes them fail instead); run them with
//
//	bash .ci/moto.sh run -- go test -race -run 'Moto|ReadBack' ./sink/cwlogsink/...
//
// What moto 5.2 enforces of PutLogEvents' rules: events in chronological
// order (InvalidParameterException) and the 14-day / 2-hour window
// (rejectedLogEventsInfo); it accepts calls above 10,000 events or
// 1,048,576 bytes, events above 1 MiB and batches spanning more than 24
// hours, and it never throttles. So the limits are checked here on the wire,
// by wireProxy, a pass-through in front of moto that records each
// PutLogEvents call and can answer ThrottlingException instead of
// forwarding; cwlogstest enforces every rule with AWS's error.

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/mototest"
	"github.com/trailkit/trail/sink/cwlogsink"
	"github.com/trailkit/trail/sink/memsink"
)

const motoPkg = "./sink/cwlogsink/..."

// motoClient returns the real SDK client for the moto server, or for
// endpoint (a wireProxy in front of it) when not empty.
func motoClient(t *testing.T, endpoint string, maxAttempts int) *cloudwatchlogs.Client {
	t.Helper()
	srv := mototest.Require(t, motoPkg)
	cfg := srv.Config(maxAttempts)
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cloudwatchlogs.NewFromConfig(cfg)
}

// wireCall is one PutLogEvents request as it went over the wire.
type wireCall struct {
	Events    int
	Bytes     int // Σ len(message) + 26
	Throttled bool
}

// wireProxy forwards every request to moto unchanged and records the
// PutLogEvents calls; throttle makes it answer the next n PutLogEvents
// calls with ThrottlingException itself.
type wireProxy struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []wireCall
	throttle int
}

func newWireProxy(t *testing.T) *wireProxy {
	t.Helper()
	target, err := url.Parse(mototest.Require(t, motoPkg).Endpoint)
	require.NoError(t, err)
	p := &wireProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "Logs_20140328.PutLogEvents" {
			rp.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in struct {
			LogEvents []struct {
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := wireCall{Events: len(in.LogEvents)}
		for _, e := range in.LogEvents {
			c.Bytes += len(e.Message) + cwlogsink.EventOverhead
		}
		p.mu.Lock()
		if p.throttle > 0 {
			p.throttle--
			c.Throttled = true
		}
		p.calls = append(p.calls, c)
		p.mu.Unlock()
		if c.Throttled {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *wireProxy) throttleNext(n int) {
	p.mu.Lock()
	p.throttle += n
	p.mu.Unlock()
}

// puts returns the PutLogEvents calls that reached moto.
func (p *wireProxy) puts() []wireCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wireCall
	for _, c := range p.calls {
		if !c.Throttled {
			out = append(out, c)
		}
	}
	return out
}

// storedEvent is an event as GetLogEvents or FilterLogEvents returns it.
type storedEvent struct {
	Message   string
	Timestamp int64
}

// getAll reads the stream from its head with GetLogEvents, page by page
// (moto, like AWS, ends with the same forward token).
func getAll(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []storedEvent {
	t.Helper()
	var out []storedEvent
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
	for range 1000 {
		page, err := c.GetLogEvents(context.Background(), in)
		require.NoError(t, err)
		for _, e := range page.Events {
			out = append(out, storedEvent{aws.ToString(e.Message), aws.ToInt64(e.Timestamp)})
		}
		if len(page.Events) == 0 || aws.ToString(page.NextForwardToken) == aws.ToString(in.NextToken) {
			return out
		}
		in.NextToken = page.NextForwardToken
	}
	t.Fatal("GetLogEvents: more than 1000 pages")
	return nil
}

// filterAll reads the group with FilterLogEvents, page by page, and checks
// that every event is in stream.
func filterAll(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []storedEvent {
	t.Helper()
	var out []storedEvent
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)}
	for range 1000 {
		page, err := c.FilterLogEvents(context.Background(), in)
		require.NoError(t, err)
		for _, e := range page.Events {
			require.Equal(t, stream, aws.ToString(e.LogStreamName))
			out = append(out, storedEvent{aws.ToString(e.Message), aws.ToInt64(e.Timestamp)})
		}
		if page.NextToken == nil {
			return out
		}
		in.NextToken = page.NextToken
	}
	t.Fatal("FilterLogEvents: more than 1000 pages")
	return nil
}

// jsonValue decodes a record for value comparison (numbers kept exact).
func jsonValue(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), "%.200s", s)
	return v
}

// fileRecords returns the records of a stored log file, read from its gzip'd
// body as a consumer of the S3 object would.
func fileRecords(t *testing.T, f *trail.LogFile) []json.RawMessage {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(f.Body))
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	var doc struct{ Records []json.RawMessage }
	require.NoError(t, json.Unmarshal(body, &doc))
	return doc.Records
}

// wantEvents is what CloudWatch Logs must hold for recs: one event per
// record, the compact record as message, eventTime in ms as timestamp,
// ordered by timestamp (records of equal time in file order).
func wantEvents(t *testing.T, recs []json.RawMessage) []storedEvent {
	t.Helper()
	out := make([]storedEvent, len(recs))
	for i, r := range recs {
		var head struct {
			EventTime time.Time `json:"eventTime"`
		}
		require.NoError(t, json.Unmarshal(r, &head))
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, r))
		out[i] = storedEvent{compact.String(), head.EventTime.UnixMilli()}
	}
	slices.SortStableFunc(out, func(a, b storedEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return out
}

// requireSameEvents compares stored events with the wanted ones, one by
// one: same order, same timestamp, the same JSON value and the same bytes.
func requireSameEvents(t *testing.T, want, got []storedEvent) {
	t.Helper()
	require.Equal(t, len(want), len(got), "stored events")
	for i := range want {
		require.Equal(t, want[i].Timestamp, got[i].Timestamp, "event %d timestamp", i)
		require.Equal(t, jsonValue(t, want[i].Message), jsonValue(t, got[i].Message), "event %d value", i)
		require.Equal(t, want[i].Message, got[i].Message, "event %d bytes", i)
	}
}

// TestRecorderOutputReadBack runs a recorder whose trail delivers to
// memsink (the S3 object) and to the sink, against cwlogstest and against
// moto_server, and reads every event back with GetLogEvents (and, from
// moto, FilterLogEvents, which cwlogstest lacks): one event per record of
// the log files, equal to the record, in eventTime order.
func TestRecorderOutputReadBack(t *testing.T) {
	tests := []struct {
		name   string
		client func(t *testing.T) *cloudwatchlogs.Client
		moto   bool
	}{
		{name: "cwlogstest", client: func(t *testing.T) *cloudwatchlogs.Client { return newClient(newServer(t), 0) }},
		{name: "moto_server", client: func(t *testing.T) *cloudwatchlogs.Client { return motoClient(t, "", 0) }, moto: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testRecorderOutputReadBack(t, tt.client(t), tt.moto) })
	}
}

func testRecorderOutputReadBack(t *testing.T, client *cloudwatchlogs.Client, moto bool) {
	group := mototest.Name(t, "CloudTrail")
	sink, err := cwlogsink.New(client, group, cwlogsink.Options{RetentionDays: 7})
	require.NoError(t, err)
	mem := memsink.New()
	var errs []error
	var errMu sync.Mutex
	rec, err := trail.New(trail.Config{AccountID: acct, Region: region,
		OnError: func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() },
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Interval: time.Hour, MaxRecords: 40,
			Sinks: []trail.Sink{mem, sink}}}})
	require.NoError(t, err)

	// eventTime has second precision: distinct seconds, out of order,
	// make the stream's timestamp order one order.
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	secs := rand.New(rand.NewPCG(1, 2)).Perm(3600)
	ctx := context.Background()
	shapes := []trail.Event{
		{EventSource: "orders.example.com", EventName: "CreateOrder", SourceIPAddress: "192.0.2.10", UserAgent: "orders-client/1.0",
			RequestParameters: json.RawMessage(`{"orderId":"o-1","items":[{"sku":"A-1","qty":2,"price":12.5}],"note":null}`),
			ResponseElements:  json.RawMessage(`{"status":"created"}`)},
		{EventSource: "orders.example.com", EventName: "DeleteOrder", ErrorCode: "AccessDenied",
			ErrorMessage: `User: arn:aws:iam::111122223333:user/<bob> is not authorized & "denied"`},
		{EventSource: "search.example.com", EventName: "Search", ReadOnly: aws.Bool(true),
			RequestParameters: json.RawMessage(`{"q":"Grüße, 世界 \u2028 emoji 🎉","limit":9007199254740993}`)},
		{EventSource: "files.example.com", EventName: "PutFile",
			RequestParameters: json.RawMessage(`{"path":"/a/b","blob":"` + strings.Repeat("x", 20000) + `"}`),
			Resources:         []trail.Resource{{ARN: "arn:aws:files.example.com:::share/a", Type: "Files::Share"}}},
	}
	const n = 250
	for i := range n {
		ev := shapes[i%len(shapes)]
		ev.EventTime = base.Add(time.Duration(secs[i]) * time.Second)
		require.NoError(t, rec.Record(ctx, &ev))
	}
	require.NoError(t, rec.Close(ctx))
	errMu.Lock()
	require.Empty(t, errs)
	errMu.Unlock()

	files := mem.Files()
	require.Greater(t, len(files), 1, "several log files")
	var recs []json.RawMessage
	for _, f := range files {
		recs = append(recs, fileRecords(t, f)...)
	}
	require.Equal(t, n, len(recs), "records in the log files")
	// Each file is sorted on its own and the files interleave in time;
	// GetLogEvents returns the stream in timestamp order.
	want := wantEvents(t, recs)
	requireSameEvents(t, want, getAll(t, client, group, stream))
	st := sink.Stats()
	assert.EqualValues(t, n, st.Events)
	assert.EqualValues(t, len(files), st.Files)
	if moto {
		requireSameEvents(t, want, filterAll(t, client, group, stream))
		groups, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		require.NoError(t, err)
		require.Len(t, groups.LogGroups, 1)
		assert.EqualValues(t, 7, aws.ToInt32(groups.LogGroups[0].RetentionInDays), "the sink set the retention of the group it created")
	}
	streams, err := client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	require.Len(t, streams.LogStreams, 1)
	assert.Equal(t, stream, aws.ToString(streams.LogStreams[0].LogStreamName))
}

// TestMotoExistingGroupAndStream: a group and stream created beforehand, as
// an operator would with NoCreateGroup, are used as they are.
func TestMotoExistingGroupAndStream(t *testing.T) {
	client := motoClient(t, "", 0)
	ctx := context.Background()
	group := mototest.Name(t, "CloudTrail")
	_, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	orgStream := cwlogsink.StreamName("o-exampleorg1", acct, region)
	_, err = client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(orgStream)})
	require.NoError(t, err)
	tests := []struct {
		name   string
		key    string
		stream string
	}{
		{name: "org stream exists", key: "AWSLogs/o-exampleorg1/" + acct + "/CloudTrail/" + region + "/2026/03/01/f1.json.gz", stream: orgStream},
		{name: "account stream created", key: "AWSLogs/" + acct + "/CloudTrail/" + region + "/2026/03/01/f2.json.gz", stream: stream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cwlogsink.New(client, group, cwlogsink.Options{NoCreateGroup: true})
			require.NoError(t, err)
			recs := []json.RawMessage{record(1, time.Now().Add(-time.Minute), 0), record(2, time.Now(), 0)}
			require.NoError(t, s.Deliver(ctx, logFile(tt.key, recs)))
			requireSameEvents(t, wantEvents(t, recs), getAll(t, client, group, tt.stream))
		})
	}
	s, err := cwlogsink.New(client, mototest.Name(t, "missing"), cwlogsink.Options{NoCreateGroup: true})
	require.NoError(t, err)
	err = s.Deliver(ctx, logFile("", []json.RawMessage{record(1, time.Now(), 0)}))
	require.ErrorIs(t, err, trail.ErrPermanent, "moto's ResourceNotFoundException for a missing group")
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "ResourceNotFoundException", ae.ErrorCode())
}

// TestMotoBatchLimits delivers files at and over each PutLogEvents limit:
// every call on the wire stays within 10,000 events and 1,048,576 bytes,
// events of exactly the sink's size limit go and one byte more are skipped,
// and moto holds every delivered event, equal and in order.
func TestMotoBatchLimits(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	many := func(n, size int, step time.Duration) []json.RawMessage { return records(now, n, size, step) }
	shuffled := many(2000, -1, time.Millisecond)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	const (
		ctMax  = cwlogsink.CloudTrailMaxEventSize - cwlogsink.EventOverhead // message bytes of a 256 KB event
		svcMax = cwlogsink.ServiceMaxEventSize - cwlogsink.EventOverhead    // message bytes of a 1 MiB event
	)
	tests := []struct {
		name     string
		maxEvent int // Options.MaxEventSize
		recs     []json.RawMessage
		calls    []int // events per call
		skipped  []int // records skipped as too large
	}{
		{name: "exactly 10,000 events", recs: many(10000, -1, time.Millisecond), calls: []int{10000}},
		{name: "10,001 events", recs: many(10001, -1, time.Millisecond), calls: []int{10000, 1}},
		{name: "exactly 1 MiB", recs: many(16, 65536-26, time.Second), calls: []int{16}},
		{name: "one event over 1 MiB", recs: append(many(16, 65536-26, time.Second), record(99, now, 0)), calls: []int{16, 1}},
		{name: "3,000 events of 1 KB", recs: many(3000, 1000, time.Millisecond), calls: []int{1022, 1022, 956}},
		{name: "event of exactly 256 KB", recs: []json.RawMessage{record(1, now, 100), record(2, now, ctMax), record(3, now, 100)}, calls: []int{3}},
		{name: "event one byte over 256 KB", recs: []json.RawMessage{record(1, now, 100), record(2, now, ctMax+1), record(3, now, 100)},
			calls: []int{2}, skipped: []int{1}},
		{name: "event of exactly 1 MiB with the service limit", maxEvent: cwlogsink.ServiceMaxEventSize,
			recs: []json.RawMessage{record(1, now.Add(-time.Second), 100), record(2, now, svcMax), record(3, now, svcMax+1)}, calls: []int{1, 1}, skipped: []int{2}},
		{name: "span over 24 hours", recs: many(60, 0, time.Hour), calls: []int{25, 25, 10}},
		{name: "out of order", recs: shuffled, calls: []int{2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newWireProxy(t)
			client := motoClient(t, proxy.URL, 1)
			group := mototest.Name(t, "CloudTrail")
			var skipped []int
			var mu sync.Mutex
			s, err := cwlogsink.New(client, group, cwlogsink.Options{MaxEventSize: tt.maxEvent, OnDrop: func(d cwlogsink.Drop) {
				mu.Lock()
				defer mu.Unlock()
				assert.Equal(t, cwlogsink.TooLarge, d.Reason)
				skipped = append(skipped, d.Record)
			}})
			require.NoError(t, err)
			require.NoError(t, s.Deliver(context.Background(), logFile("", tt.recs)))

			var perCall []int
			for _, c := range proxy.puts() {
				assert.LessOrEqual(t, c.Events, cwlogsink.MaxBatchEvents)
				assert.LessOrEqual(t, c.Bytes, cwlogsink.MaxBatchBytes)
				perCall = append(perCall, c.Events)
			}
			assert.Equal(t, tt.calls, perCall)
			mu.Lock()
			assert.Equal(t, tt.skipped, skipped)
			mu.Unlock()

			var sent []json.RawMessage
			for i, r := range tt.recs {
				if !slices.Contains(tt.skipped, i) {
					sent = append(sent, r)
				}
			}
			requireSameEvents(t, wantEvents(t, sent), getAll(t, client, group, stream))
		})
	}
}

// TestMotoOrderEnforced: moto refuses a PutLogEvents call out of
// chronological order, as AWS does, so the sink's sorting is checked by an
// independent implementation, not only by our own.
func TestMotoOrderEnforced(t *testing.T) {
	client := motoClient(t, "", 0)
	ctx := context.Background()
	group := mototest.Name(t, "CloudTrail")
	_, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	_, err = client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	require.NoError(t, err)
	now := time.Now().UnixMilli()
	_, err = client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
		LogEvents: []types.InputLogEvent{{Message: aws.String("b"), Timestamp: aws.Int64(now)}, {Message: aws.String("a"), Timestamp: aws.Int64(now - 1)}}})
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "InvalidParameterException", ae.ErrorCode())
	assert.Contains(t, ae.ErrorMessage(), "chronological order")
	assert.True(t, cwlogsink.IsPermanent(err))
}

// TestMotoThrottling: ThrottlingException answers (injected by the proxy;
// moto has none) are retried by the SDK client, and beyond its attempts by
// the recorder's next Deliver, which resumes the file: moto holds each
// event once.
func TestMotoThrottling(t *testing.T) {
	// Three calls of 1 MiB: 16, 16 and 8 events.
	recs := make([]json.RawMessage, 40)
	now := time.Now()
	for i := range recs {
		recs[i] = record(i, now.Add(time.Duration(i-len(recs))*time.Millisecond), 65536-cwlogsink.EventOverhead)
	}
	tests := []struct {
		name      string
		throttle  int    // ThrottlingException answers to the second call
		delivers  int    // Deliver calls until success
		attempts  int    // PutLogEvents requests on the wire
		throttled uint64 // Stats.Throttled
	}{
		{name: "retried by the SDK", throttle: 2, delivers: 1, attempts: 5},
		{name: "beyond the SDK's attempts", throttle: 3, delivers: 2, attempts: 6, throttled: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newWireProxy(t)
			client := motoClient(t, proxy.URL, 3)
			group := mototest.Name(t, "CloudTrail")
			ctx := context.Background()
			f := logFile("", recs)
			// The first call reaches moto, then the throttling starts.
			api := &hookAPI{API: client, before: func(call int) {
				if call == 2 {
					proxy.throttleNext(tt.throttle)
				}
			}}
			s, err := cwlogsink.New(api, group, cwlogsink.Options{})
			require.NoError(t, err)
			var derr error
			for i := range tt.delivers {
				derr = s.Deliver(ctx, f)
				if i < tt.delivers-1 {
					require.Error(t, derr)
					assert.NotErrorIs(t, derr, trail.ErrPermanent)
					var ae smithy.APIError
					require.ErrorAs(t, derr, &ae)
					assert.Equal(t, "ThrottlingException", ae.ErrorCode())
				}
			}
			require.NoError(t, derr)
			proxy.mu.Lock()
			assert.Len(t, proxy.calls, tt.attempts)
			proxy.mu.Unlock()
			var perCall []int
			for _, c := range proxy.puts() {
				perCall = append(perCall, c.Events)
			}
			assert.Equal(t, []int{16, 16, 8}, perCall, "each call reached moto once")
			st := s.Stats()
			assert.Equal(t, tt.throttled, st.Throttled)
			assert.EqualValues(t, tt.delivers-1, st.Resumed)
			requireSameEvents(t, wantEvents(t, recs), getAll(t, client, group, stream))
		})
	}
}

// hookAPI calls before with the 1-based number of each PutLogEvents call
// the sink makes (the SDK's retries within a call are not counted).
type hookAPI struct {
	cwlogsink.API
	n      atomic.Int32
	before func(call int)
}

func (h *hookAPI) PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	h.before(int(h.n.Add(1)))
	return h.API.PutLogEvents(ctx, in, o...)
}

// TestMotoServiceClockRejects: when moto's clock rejects events the sink's
// clock let through (a skewed host), the delivery still succeeds, moto
// stores exactly the events inside its window, and every event the sink
// reports as rejected is indeed missing.
//
// moto 5.2 reports tooOldLogEventEndIndex as the index of the last too-old
// event and tooNewLogEventStartIndex as that of the LAST too-new one; AWS
// documents the first as exclusive and the second as the first too-new
// event, which is what the sink follows (and cwlogstest answers). Against
// moto the sink therefore reports fewer drops than moto made; this test
// asserts only what holds under both readings.
func TestMotoServiceClockRejects(t *testing.T) {
	real := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name    string
		skew    time.Duration // sink clock - real clock
		times   []time.Duration
		missing []int // records moto refuses
	}{
		{name: "too old for moto", skew: -2 * 24 * time.Hour,
			times:   []time.Duration{-15*24*time.Hour - 3*time.Minute, -15*24*time.Hour - 2*time.Minute, -15*24*time.Hour - time.Minute, -13 * 24 * time.Hour},
			missing: []int{0, 1, 2}},
		{name: "too new for moto", skew: 2 * 24 * time.Hour,
			times:   []time.Duration{-time.Minute, 3 * time.Hour, 3*time.Hour + time.Minute, 3*time.Hour + 2*time.Minute},
			missing: []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := motoClient(t, "", 0)
			group := mototest.Name(t, "CloudTrail")
			var drops []cwlogsink.Drop
			var mu sync.Mutex
			s, err := cwlogsink.New(client, group, cwlogsink.Options{
				Now:    func() time.Time { return time.Now().Add(tt.skew) },
				OnDrop: func(d cwlogsink.Drop) { mu.Lock(); drops = append(drops, d); mu.Unlock() }})
			require.NoError(t, err)
			recs := make([]json.RawMessage, len(tt.times))
			for i, d := range tt.times {
				recs[i] = record(i, real.Add(d), 0)
			}
			require.NoError(t, s.Deliver(context.Background(), logFile("", recs)))
			var kept []json.RawMessage
			for i, r := range recs {
				if !slices.Contains(tt.missing, i) {
					kept = append(kept, r)
				}
			}
			requireSameEvents(t, wantEvents(t, kept), getAll(t, client, group, stream))
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, drops, "moto's rejectedLogEventsInfo reached OnDrop")
			for _, d := range drops {
				assert.True(t, d.Rejected)
				assert.Contains(t, tt.missing, d.Record, "reported as rejected but stored: %+v", d)
			}
			assert.EqualValues(t, len(recs), s.Stats().Events+uint64(len(drops)))
		})
	}
}

// TestMotoStreamDeletedIsRecreated: a stream deleted behind the sink's back
// (moto answers ResourceNotFoundException) is created again and the
// delivery goes through.
func TestMotoStreamDeletedIsRecreated(t *testing.T) {
	client := motoClient(t, "", 0)
	ctx := context.Background()
	group := mototest.Name(t, "CloudTrail")
	s, err := cwlogsink.New(client, group, cwlogsink.Options{})
	require.NoError(t, err)
	r1 := []json.RawMessage{record(1, time.Now().Add(-time.Second), 0)}
	require.NoError(t, s.Deliver(ctx, logFile("k1", r1)))
	tests := []struct {
		name   string
		delete func() error
	}{
		{name: "stream deleted", delete: func() error {
			_, err := client.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
			return err
		}},
		{name: "group deleted", delete: func() error {
			_, err := client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
			return err
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.delete())
			recs := []json.RawMessage{record(10+i, time.Now(), 0)}
			require.NoError(t, s.Deliver(ctx, logFile(fmt.Sprintf("k%d", 10+i), recs)))
			requireSameEvents(t, wantEvents(t, recs), getAll(t, client, group, stream))
		})
	}
}

// TestMotoGroupOptions: the group the sink creates has the retention and
// KMS key of its Options, as moto's DescribeLogGroups reports them; a group
// that exists already is left as it is.
func TestMotoGroupOptions(t *testing.T) {
	const kmsKey = "arn:aws:kms:" + mototest.Region + ":" + mototest.AccountID + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name      string
		exists    bool
		opts      cwlogsink.Options
		retention int32
		kms       string
	}{
		{name: "defaults: never expire, service encryption"},
		{name: "retention", opts: cwlogsink.Options{RetentionDays: 3653}, retention: 3653},
		{name: "KMS key", opts: cwlogsink.Options{GroupKMSKeyID: kmsKey}, kms: kmsKey},
		{name: "existing group untouched", exists: true, opts: cwlogsink.Options{RetentionDays: 30, GroupKMSKeyID: kmsKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := motoClient(t, "", 0)
			ctx := context.Background()
			group := mototest.Name(t, "CloudTrail")
			if tt.exists {
				_, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
				require.NoError(t, err)
			}
			s, err := cwlogsink.New(client, group, tt.opts)
			require.NoError(t, err)
			recs := []json.RawMessage{record(1, time.Now(), 0)}
			require.NoError(t, s.Deliver(ctx, logFile("", recs)))
			requireSameEvents(t, wantEvents(t, recs), getAll(t, client, group, stream))
			out, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
			require.NoError(t, err)
			require.Len(t, out.LogGroups, 1)
			g := out.LogGroups[0]
			assert.Equal(t, tt.retention, aws.ToInt32(g.RetentionInDays))
			assert.Equal(t, tt.kms, aws.ToString(g.KmsKeyId))
		})
	}
}
