package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/notify"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/sink/s3sink"
)

const topic = "arn:aws:sns:us-east-1:111122223333:trail-files"

// snsServer is a local SNS endpoint for the query protocol's Publish.
type snsServer struct {
	*httptest.Server
	mu       sync.Mutex
	messages []url.Values
	fail     []string // error codes for the next requests
	requests int
}

func newSNSServer(t *testing.T) *snsServer {
	s := &snsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *snsServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	w.Header().Set("Content-Type", "text/xml")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, code, msg)
	}
	switch {
	case r.Method != http.MethodPost || err != nil:
		fail(400, "MalformedQueryString", "bad request")
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		fail(403, "MissingAuthenticationToken", "no auth")
	case form.Get("Action") != "Publish" || form.Get("Version") != "2010-03-31":
		fail(400, "InvalidAction", "only Publish")
	case form.Get("TopicArn") != topic:
		fail(404, "NotFound", "Topic does not exist")
	case form.Get("Message") == "" || len(form.Get("Message")) > notify.MaxMessageBytes:
		fail(400, "InvalidParameter", "Invalid parameter: Message")
	case len(s.fail) > 0:
		code := s.fail[0]
		s.fail = s.fail[1:]
		status := 400
		if code == "InternalError" {
			status = 500
		}
		fail(status, code, "injected")
	default:
		s.messages = append(s.messages, form)
		fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></PublishResponse>`, len(s.messages), s.requests)
	}
}

func (s *snsServer) failNext(codes ...string) {
	s.mu.Lock()
	s.fail = append(s.fail, codes...)
	s.mu.Unlock()
}

// bodies returns the decoded Message of every published notification.
func (s *snsServer) bodies(t *testing.T) []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notify.Message
	for _, f := range s.messages {
		var m notify.Message
		require.NoError(t, json.Unmarshal([]byte(f.Get("Message")), &m))
		out = append(out, m)
	}
	return out
}

func snsClient(srv *snsServer, attempts int) *sns.Client {
	return sns.New(sns.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = time.Millisecond
			o.RateLimiter = ratelimit.None
		}),
	})
}

func newPublisher(t *testing.T, srv *snsServer, attempts int, topicARN string) *notify.SNS {
	p, err := notify.NewSNS(snsClient(srv, attempts), topicARN, notify.SNSOptions{})
	require.NoError(t, err)
	return p
}

func TestSNSPublishMessage(t *testing.T) {
	srv := newSNSServer(t)
	n, err := notify.New(newPublisher(t, srv, 1, topic), notify.Options{})
	require.NoError(t, err)
	key := "AWSLogs/111122223333/CloudTrail/us-east-2/2016/08/11/111122223333_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz"
	require.NoError(t, n.Notify(context.Background(), "amzn-s3-demo-bucket", key))
	require.Len(t, srv.messages, 1)
	f := srv.messages[0]
	assert.Equal(t, topic, f.Get("TopicArn"))
	assert.Equal(t, `{"s3Bucket":"amzn-s3-demo-bucket","s3ObjectKey":["`+key+`"]}`, f.Get("Message"), "CloudTrail's message, byte for byte")
	assert.Empty(t, f.Get("Subject"))
}

func TestSNSErrors(t *testing.T) {
	tests := []struct {
		name      string
		topic     string
		fail      []string
		permanent bool
		code      string
	}{
		{name: "topic not found", topic: "arn:aws:sns:us-east-1:111122223333:missing", permanent: true, code: "NotFound"},
		{name: "not authorized", topic: topic, fail: []string{"AuthorizationError"}, permanent: true, code: "AuthorizationError"},
		{name: "kms key disabled", topic: topic, fail: []string{"KMSDisabled"}, permanent: true, code: "KMSDisabled"},
		{name: "throttled", topic: topic, fail: []string{"Throttled"}, code: "Throttled"},
		{name: "internal error", topic: topic, fail: []string{"InternalError"}, code: "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSNSServer(t)
			srv.failNext(tt.fail...)
			err := newPublisher(t, srv, 1, tt.topic).Publish(context.Background(), "{}")
			require.Error(t, err)
			assert.Equal(t, tt.permanent, errors.Is(err, trail.ErrPermanent), "%v", err)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
		})
	}
	_, err := notify.NewSNS(snsClient(newSNSServer(t), 1), "trail-files", notify.SNSOptions{})
	require.ErrorContains(t, err, "topic ARN")
	_, err = notify.NewSNS(snsClient(newSNSServer(t), 1), topic, notify.SNSOptions{Subject: "line\nbreak"})
	require.Error(t, err)
}

// plain is a sink with no optional capability.
type plain struct{ n int }

func (p *plain) Deliver(context.Context, *trail.LogFile) error { p.n++; return nil }

// readerOnly reads but stores no digests.
type readerOnly struct{ *memsink.Sink }

func (readerOnly) DeliverDigest() {} // not the DigestSink signature

func TestSinkForwardsOptionalInterfaces(t *testing.T) {
	s3, err := s3sink.New(offlineS3{}, "audit-bucket", s3sink.Options{})
	require.NoError(t, err)
	tests := []struct {
		name                string
		inner               trail.Sink
		digest, reader, aft bool
		str                 string
	}{
		{name: "plain", inner: &plain{}, str: "notify(*notify_test.plain)"},
		{name: "reader only", inner: readerOnly{memsink.New()}, reader: true, str: "notify(memsink)"},
		{name: "memsink: digests and reader", inner: memsink.New(), digest: true, reader: true, str: "notify(memsink)"},
		{name: "filesink: digests and reader", inner: filesink.New(t.TempDir(), filesink.Options{}), digest: true, reader: true},
		{name: "s3sink: digests, reader, ListAfter", inner: s3, digest: true, reader: true, aft: true, str: "notify(s3sink(s3://audit-bucket))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := notify.New(&fakePub{}, notify.Options{})
			require.NoError(t, err)
			s := notify.Sink(tt.inner, n)
			_, isD := s.(trail.DigestSink)
			_, isR := s.(trail.ObjectReader)
			_, isA := s.(interface {
				ListAfter(context.Context, string, string) ([]string, error)
			})
			_, isC := s.(io.Closer)
			assert.Equal(t, tt.digest, isD, "DigestSink")
			assert.Equal(t, tt.reader, isR, "ObjectReader")
			assert.Equal(t, tt.aft, isA, "ListAfter")
			assert.True(t, isC, "io.Closer")
			if tt.str != "" {
				assert.Equal(t, tt.str, s.(fmt.Stringer).String())
			}
			// trail.New accepts the wrapper in a validated trail exactly
			// when the inner sink stores digests.
			rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
				Retry:   trail.RetryPolicy{MaxAttempts: 1},
				OnError: func(error) {},
				Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{s},
					Validation: &trail.Validation{Signer: testKey(t)}}}})
			if tt.digest {
				require.NoError(t, err)
				_ = rec.Close(context.Background())
			} else {
				require.ErrorContains(t, err, "no sink can store digest files")
			}
		})
	}
}

// fakePub records messages and can fail.
type fakePub struct {
	mu   sync.Mutex
	msgs []notify.Message
	fail []error
}

func (p *fakePub) Publish(_ context.Context, message string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.fail) > 0 {
		err := p.fail[0]
		p.fail = p.fail[1:]
		return err
	}
	var m notify.Message
	if err := json.Unmarshal([]byte(message), &m); err != nil {
		return err
	}
	p.msgs = append(p.msgs, m)
	return nil
}

func (p *fakePub) messages() []notify.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Message(nil), p.msgs...)
}

// counting counts deliveries per key.
type counting struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) Deliver(_ context.Context, f *trail.LogFile) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[f.Key]++
	return nil
}

func TestSinkRetriesNotificationWithoutRedelivery(t *testing.T) {
	pub := &fakePub{fail: []error{errors.New("connection reset")}}
	n, err := notify.New(pub, notify.Options{})
	require.NoError(t, err)
	inner := &counting{n: map[string]int{}}
	s := notify.Sink(inner, n)
	ctx := context.Background()
	f := &trail.LogFile{Bucket: "audit-bucket", Key: "AWSLogs/k1.json.gz"}
	err = s.Deliver(ctx, f)
	require.ErrorContains(t, err, "stored, notification failed")
	assert.NotErrorIs(t, err, trail.ErrPermanent)
	require.NoError(t, s.Deliver(ctx, f), "the recorder's retry")
	assert.Equal(t, 1, inner.n[f.Key], "stored once")
	assert.Equal(t, []notify.Message{{S3Bucket: "audit-bucket", S3ObjectKey: []string{f.Key}}}, pub.messages(), "notified once")

	// A file without bucket cannot be notified.
	err = s.Deliver(ctx, &trail.LogFile{Key: "k"})
	require.ErrorIs(t, err, trail.ErrPermanent)
	s2 := notify.SinkWithOptions(inner, n, notify.SinkOptions{Bucket: "other-bucket"})
	require.NoError(t, s2.Deliver(ctx, &trail.LogFile{Key: "k"}))
	assert.Equal(t, "other-bucket", pub.messages()[1].S3Bucket)
}

func TestDelayBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pub := &fakePub{}
		n, err := notify.New(pub, notify.Options{Delay: time.Minute, MaxKeys: 3})
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, n.Notify(ctx, "b1", "k1"))
		require.NoError(t, n.Notify(ctx, "b1", "k2"))
		require.NoError(t, n.Notify(ctx, "b1", "k2"), "a waiting key is not added twice")
		require.NoError(t, n.Notify(ctx, "b2", "x1"))
		assert.Empty(t, pub.messages(), "gathering")
		assert.Equal(t, 3, n.Pending())
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.ElementsMatch(t, []notify.Message{{S3Bucket: "b1", S3ObjectKey: []string{"k1", "k2"}}, {S3Bucket: "b2", S3ObjectKey: []string{"x1"}}}, pub.messages())

		// MaxKeys keys are published at once, without waiting.
		for _, k := range []string{"k3", "k4", "k5"} {
			require.NoError(t, n.Notify(ctx, "b1", k))
		}
		assert.Len(t, pub.messages(), 3)
		assert.Equal(t, notify.Message{S3Bucket: "b1", S3ObjectKey: []string{"k3", "k4", "k5"}}, pub.messages()[2])

		// A failed background publish is reported and retried later.
		var reported []error
		n2, err := notify.New(pub, notify.Options{Delay: time.Minute, OnError: func(err error) { reported = append(reported, err) }})
		require.NoError(t, err)
		pub.fail = []error{errors.New("boom")}
		require.NoError(t, n2.Notify(ctx, "b3", "z1"))
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Len(t, reported, 1)
		assert.Equal(t, 1, n2.Pending())
		require.NoError(t, n2.Notify(ctx, "b3", "z2"))
		require.NoError(t, n2.Close(), "Close publishes what waits")
		assert.Equal(t, notify.Message{S3Bucket: "b3", S3ObjectKey: []string{"z1", "z2"}}, pub.messages()[3])
		require.ErrorIs(t, n2.Notify(ctx, "b3", "z3"), notify.ErrClosed)
	})
}

func TestMessagesStayBelowSNSLimit(t *testing.T) {
	pub := &fakePub{}
	n, err := notify.New(pub, notify.Options{Delay: time.Hour, MaxKeys: 5000})
	require.NoError(t, err)
	ctx := context.Background()
	const keys = 4000
	for i := range keys {
		require.NoError(t, n.Notify(ctx, "audit-bucket", fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/111122223333_CloudTrail_us-east-1_20260301T1005Z_%016d.json.gz", i)))
	}
	require.NoError(t, n.Flush(ctx))
	msgs := pub.messages()
	require.Greater(t, len(msgs), 1)
	total := 0
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		assert.LessOrEqual(t, len(b), notify.MaxMessageBytes)
		total += len(m.S3ObjectKey)
	}
	assert.Equal(t, keys, total)
	require.NoError(t, n.Close())
}

// TestRecorderNotifiesOverSNS runs a recorder whose sink is wrapped by
// notify.Sink, with the real SNS client against the local endpoint: every
// delivered log file is announced once (a throttled publish is retried),
// digests are stored but not announced, and the recorder's Close closes the
// notifier.
func TestRecorderNotifiesOverSNS(t *testing.T) {
	srv := newSNSServer(t)
	n, err := notify.New(newPublisher(t, srv, 3, topic), notify.Options{})
	require.NoError(t, err)
	mem := memsink.New()
	var retried []error
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Retry:   trail.RetryPolicy{Initial: 10 * time.Millisecond},
		OnError: func(err error) { retried = append(retried, err) },
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", MaxRecords: 2, Sinks: []trail.Sink{notify.Sink(mem, n)},
			Validation: &trail.Validation{Signer: testKey(t)}}}})
	require.NoError(t, err)
	ctx := context.Background()
	// SNS's "Throttled" is not in the SDK's retryable codes: the recorder
	// retries the delivery, which only publishes again.
	srv.failNext("Throttled")
	for i := range 5 {
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: fmt.Sprintf("Op%d", i)}))
	}
	require.NoError(t, rec.Close(ctx))
	var notified []string
	for _, m := range srv.bodies(t) {
		assert.Equal(t, "audit-bucket", m.S3Bucket)
		notified = append(notified, m.S3ObjectKey...)
	}
	assert.ElementsMatch(t, mem.Keys(), notified)
	assert.Len(t, notified, 3)
	require.Len(t, retried, 1)
	assert.ErrorContains(t, retried[0], "stored, notification failed")
	assert.NotEmpty(t, mem.Digests(), "digests went through the wrapper")
	require.ErrorIs(t, n.Notify(ctx, "audit-bucket", "late"), notify.ErrClosed, "the recorder's Close closed the notifier")
}
