package notify_test

// Tests against moto_server, an independent implementation of SNS and
// SQS, with the real SDK clients: a topic, an SQS queue subscribed to it,
// log files delivered by a recorder, and the queue's messages read back and
// checked against CloudTrail's notification format. They skip unless
// .ci/moto.sh started a server (CI=true makes them fail instead); run them
// with
//
//	bash .ci/moto.sh run -- go test -race -run Moto ./notify/...

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/mototest"
	"github.com/trailkit/trail/notify"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/sink/s3sink"
)

const motoPkg = "./notify/..."

// motoTopic is an SNS topic with one SQS queue subscribed to it.
type motoTopic struct {
	arn   string
	queue string // queue URL
	sns   *sns.Client
	sqs   *sqs.Client
}

// newMotoTopic creates a topic (FIFO when fifo, with its FIFO queue) and a
// queue subscribed to it, with raw message delivery when raw.
func newMotoTopic(t *testing.T, raw, fifo bool) motoTopic {
	t.Helper()
	cfg := mototest.Require(t, motoPkg).Config(1)
	m := motoTopic{sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	ctx := context.Background()
	name := mototest.Name(t, "trail")
	var topicAttrs, queueAttrs map[string]string
	if fifo {
		name += ".fifo"
		topicAttrs = map[string]string{"FifoTopic": "true"}
		queueAttrs = map[string]string{"FifoQueue": "true"}
	}
	topic, err := m.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: topicAttrs})
	require.NoError(t, err)
	m.arn = aws.ToString(topic.TopicArn)
	q, err := m.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: queueAttrs})
	require.NoError(t, err)
	m.queue = aws.ToString(q.QueueUrl)
	qa, err := m.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	sub := &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]), ReturnSubscriptionArn: true}
	if raw {
		sub.Attributes = map[string]string{"RawMessageDelivery": "true"}
	}
	_, err = m.sns.Subscribe(ctx, sub)
	require.NoError(t, err)
	return m
}

// publisher returns notify's SNS publisher for the topic.
func (m motoTopic) publisher(t *testing.T, opts notify.SNSOptions) *notify.SNS {
	t.Helper()
	p, err := notify.NewSNS(m.sns, m.arn, opts)
	require.NoError(t, err)
	return p
}

// receiveAll drains the queue, deleting what it received (a FIFO queue
// hands out the next messages of a group only then): moto enqueues during
// Publish, so everything published is there, and an empty answer means
// drained.
func (m motoTopic) receiveAll(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var bodies []string
	for range 10000 {
		out, err := m.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(m.queue), MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			return bodies
		}
		del := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.queue)}
		for i, msg := range out.Messages {
			bodies = append(bodies, aws.ToString(msg.Body))
			del.Entries = append(del.Entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle})
		}
		res, err := m.sqs.DeleteMessageBatch(ctx, del)
		require.NoError(t, err)
		require.Empty(t, res.Failed)
	}
	t.Fatal("queue not drained after 10000 receives")
	return nil
}

// envelope is the JSON body SNS puts in the queue without raw delivery.
type envelope struct {
	Type      string
	MessageID string `json:"MessageId"`
	TopicArn  string
	Subject   *string
	Message   string
	Timestamp string
}

// notification checks that message is CloudTrail's notification, exactly
// {"s3Bucket":"…","s3ObjectKey":["…",…]}: those two members in that order,
// a non-empty array of keys; it returns the decoded message.
func notification(t *testing.T, message string) notify.Message {
	t.Helper()
	var members map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(message), &members), "%.300s", message)
	require.Len(t, members, 2, "only s3Bucket and s3ObjectKey: %.300s", message)
	var m notify.Message
	dec := json.NewDecoder(strings.NewReader(message))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))
	require.NotEmpty(t, m.S3Bucket)
	require.NotEmpty(t, m.S3ObjectKey, "s3ObjectKey is a non-empty array")
	keys, err := json.Marshal(m.S3ObjectKey)
	require.NoError(t, err)
	bucket, err := json.Marshal(m.S3Bucket)
	require.NoError(t, err)
	require.Equal(t, `{"s3Bucket":`+string(bucket)+`,"s3ObjectKey":`+string(keys)+`}`, message, "CloudTrail's member order, compact")
	return m
}

// TestMotoRecorderNotifies runs a recorder whose trail delivers through
// notify.Sink to memsink, publishing with the real SNS client to moto; a
// subscribed SQS queue receives the notifications: every log file named
// once, digests never, CloudTrail's message format inside SNS's envelope
// (or as the body, with raw delivery).
func TestMotoRecorderNotifies(t *testing.T) {
	tests := []struct {
		name    string
		raw     bool
		fifo    bool
		sns     notify.SNSOptions
		opts    notify.Options
		perMsg  []int // keys per message
		subject string
		events  int // recorded events, 2 per file (default 10)
	}{
		{name: "a message per file", perMsg: []int{1, 1, 1, 1, 1}},
		{name: "raw message delivery", raw: true, perMsg: []int{1, 1, 1, 1, 1}},
		{name: "with subject", sns: notify.SNSOptions{Subject: "CloudTrail log files"}, perMsg: []int{1, 1, 1, 1, 1}, subject: "CloudTrail log files"},
		{name: "keys gathered, MaxKeys 2", opts: notify.Options{Delay: time.Hour, MaxKeys: 2}, perMsg: []int{2, 2, 1}},
		{name: "FIFO topic and queue", fifo: true, perMsg: []int{1, 1, 1, 1, 1}},
		{name: "FIFO, more files than one receive returns", fifo: true, events: 30, perMsg: slices.Repeat([]int{1}, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := newMotoTopic(t, tt.raw, tt.fifo)
			n, err := notify.New(topic.publisher(t, tt.sns), tt.opts)
			require.NoError(t, err)
			mem := memsink.New()
			var errs []error
			var errMu sync.Mutex
			rec, err := trail.New(trail.Config{AccountID: mototest.AccountID, Region: mototest.Region,
				OnError: func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() },
				Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", MaxRecords: 2, Interval: time.Hour,
					Sinks: []trail.Sink{notify.Sink(mem, n)}, Validation: &trail.Validation{Signer: testKey(t)}}}})
			require.NoError(t, err)
			ctx := context.Background()
			if tt.events == 0 {
				tt.events = 10
			}
			for i := range tt.events {
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: fmt.Sprintf("Op%d", i)}))
			}
			require.NoError(t, rec.Close(ctx), "Close delivers the last file and a digest, and closes the notifier")
			errMu.Lock()
			require.Empty(t, errs)
			errMu.Unlock()
			require.Len(t, mem.Keys(), tt.events/2)
			require.NotEmpty(t, mem.Digests(), "digests were stored")

			var notified []string
			var sizes []int
			for _, body := range topic.receiveAll(t) {
				msg := body
				if !tt.raw {
					var env envelope
					require.NoError(t, json.Unmarshal([]byte(body), &env))
					assert.Equal(t, "Notification", env.Type)
					assert.Equal(t, topic.arn, env.TopicArn)
					assert.NotEmpty(t, env.MessageID)
					if tt.subject != "" {
						require.NotNil(t, env.Subject)
						assert.Equal(t, tt.subject, *env.Subject)
					} else {
						assert.Nil(t, env.Subject)
					}
					msg = env.Message
				}
				m := notification(t, msg)
				assert.Equal(t, "audit-bucket", m.S3Bucket)
				for _, k := range m.S3ObjectKey {
					assert.True(t, strings.HasPrefix(k, "AWSLogs/"+mototest.AccountID+"/CloudTrail/"+mototest.Region+"/"), "a log file, not a digest: %s", k)
				}
				notified = append(notified, m.S3ObjectKey...)
				sizes = append(sizes, len(m.S3ObjectKey))
			}
			assert.ElementsMatch(t, mem.Keys(), notified, "every log file named once")
			if tt.fifo {
				var delivered []string
				for _, f := range mem.Files() {
					delivered = append(delivered, f.Key)
				}
				assert.Equal(t, delivered, notified, "a FIFO queue receives the files in delivery order")
			}
			slices.Sort(sizes)
			want := slices.Clone(tt.perMsg)
			slices.Sort(want)
			assert.Equal(t, want, sizes, "keys per message")
		})
	}
}

// TestMotoMessageSize: many long keys are cut into messages below SNS's
// 256 KiB, which moto enforces (InvalidParameter above it), and every key
// arrives once; a message of exactly 262,144 bytes is accepted and one byte
// more is a permanent error.
func TestMotoMessageSize(t *testing.T) {
	topic := newMotoTopic(t, true, false)
	pub := topic.publisher(t, notify.SNSOptions{})
	n, err := notify.New(pub, notify.Options{Delay: time.Hour, MaxKeys: 5000})
	require.NoError(t, err)
	ctx := context.Background()
	const keys = 3000
	var sent []string
	for i := range keys {
		k := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/2026/03/01/%s_CloudTrail_us-east-1_20260301T1005Z_%016d.json.gz", mototest.AccountID, mototest.AccountID, i)
		sent = append(sent, k)
		require.NoError(t, n.Notify(ctx, "audit-bucket", k))
	}
	require.NoError(t, n.Close())
	var got []string
	bodies := topic.receiveAll(t)
	require.Greater(t, len(bodies), 1, "more than one message")
	for _, b := range bodies {
		assert.LessOrEqual(t, len(b), notify.MaxMessageBytes)
		got = append(got, notification(t, b).S3ObjectKey...)
	}
	assert.Equal(t, sent, got, "every key once, in order")

	tests := []struct {
		name      string
		size      int
		permanent bool
	}{
		{name: "exactly 256 KiB", size: notify.MaxMessageBytes},
		{name: "one byte over", size: notify.MaxMessageBytes + 1, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pub.Publish(ctx, strings.Repeat("m", tt.size))
			if !tt.permanent {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, trail.ErrPermanent)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "InvalidParameter", ae.ErrorCode())
		})
	}
}

// TestMotoPublishErrors: moto's answers to publishes that cannot succeed are
// permanent errors, so the recorder does not retry them for ever.
func TestMotoPublishErrors(t *testing.T) {
	cfg := mototest.Require(t, motoPkg).Config(1)
	client := sns.NewFromConfig(cfg)
	tests := []struct {
		name  string
		topic string
	}{
		{name: "topic does not exist", topic: "arn:aws:sns:" + mototest.Region + ":" + mototest.AccountID + ":" + mototest.Name(t, "missing")},
		{name: "topic of another region", topic: "arn:aws:sns:eu-west-1:" + mototest.AccountID + ":" + mototest.Name(t, "elsewhere")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := notify.NewSNS(client, tt.topic, notify.SNSOptions{})
			require.NoError(t, err)
			err = p.Publish(context.Background(), `{"s3Bucket":"b","s3ObjectKey":["k"]}`)
			require.Error(t, err)
			assert.ErrorIs(t, err, trail.ErrPermanent, "%v", err)
			var ae smithy.APIError
			assert.True(t, errors.As(err, &ae), "the SDK error is reachable")
		})
	}
}

// lossyProxy forwards to moto; while lose > 0, a Publish still reaches moto
// but its answer is replaced by a 500 InternalError, as when a response is
// lost on the way back.
type lossyProxy struct {
	*httptest.Server
	mu   sync.Mutex
	lose int
}

func newLossyProxy(t *testing.T, lose int) *lossyProxy {
	t.Helper()
	target, err := url.Parse(mototest.Require(t, motoPkg).Endpoint)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &lossyProxy{lose: lose}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		p.mu.Lock()
		lost := form.Get("Action") == "Publish" && p.lose > 0
		if lost {
			p.lose--
		}
		p.mu.Unlock()
		if !lost {
			rp.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(httptest.NewRecorder(), r) // moto publishes; the answer is lost
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>lost</Message></Error><RequestId>r-lost</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestMotoLostPublishAnswer: a publish whose answer is lost fails the
// delivery; the recorder's retry (a second Deliver of the same file) does
// not store the file again but publishes again. A standard topic then
// delivers the notification twice (at least once); a FIFO topic once, as
// the deduplication ID is the message's SHA-256.
func TestMotoLostPublishAnswer(t *testing.T) {
	tests := []struct {
		name   string
		fifo   bool
		copies int // notifications of the file in the queue
	}{
		{name: "standard topic: at least once", copies: 2},
		{name: "FIFO topic: deduplicated", fifo: true, copies: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := newMotoTopic(t, true, tt.fifo)
			proxy := newLossyProxy(t, 1)
			cfg := mototest.Require(t, motoPkg).Config(1)
			cfg.BaseEndpoint = aws.String(proxy.URL)
			pub, err := notify.NewSNS(sns.NewFromConfig(cfg), topic.arn, notify.SNSOptions{})
			require.NoError(t, err)
			n, err := notify.New(pub, notify.Options{})
			require.NoError(t, err)
			mem := memsink.New()
			s := notify.Sink(mem, n)
			ctx := context.Background()
			f := &trail.LogFile{Bucket: "audit-bucket", Key: "AWSLogs/" + mototest.AccountID + "/CloudTrail/" + mototest.Region + "/2026/03/01/f.json.gz"}
			err = s.Deliver(ctx, f)
			require.ErrorContains(t, err, "stored, notification failed")
			assert.NotErrorIs(t, err, trail.ErrPermanent, "a 500 is retried")
			require.NoError(t, s.Deliver(ctx, f), "the recorder's retry")
			assert.Len(t, mem.Keys(), 1, "stored once")
			var got []string
			for _, b := range topic.receiveAll(t) {
				got = append(got, notification(t, b).S3ObjectKey...)
			}
			assert.Equal(t, slices.Repeat([]string{f.Key}, tt.copies), got)
		})
	}
}

// TestMotoNotificationNamesStoredObject is CloudTrail's whole delivery
// path on moto: s3sink stores each log file in a moto S3 bucket, notify
// announces it on a moto SNS topic, and a subscriber that reads the queue
// and fetches each s3Bucket/s3ObjectKey gets the log file (gzip'd JSON
// with its records) — digests stored next to them, never announced.
func TestMotoNotificationNamesStoredObject(t *testing.T) {
	topic := newMotoTopic(t, false, false)
	cfg := mototest.Require(t, motoPkg).Config(1)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	name := mototest.Name(t, "trail")
	bucket := "trail-audit-" + name[len(name)-8:] // a valid bucket name: its random hex
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	store, err := s3sink.New(s3c, bucket, s3sink.Options{})
	require.NoError(t, err)
	n, err := notify.New(topic.publisher(t, notify.SNSOptions{}), notify.Options{})
	require.NoError(t, err)
	rec, err := trail.New(trail.Config{AccountID: mototest.AccountID, Region: mototest.Region,
		Trails: []trail.Trail{{Name: "main", Bucket: bucket, Prefix: "team", MaxRecords: 3, Interval: time.Hour,
			Sinks: []trail.Sink{notify.Sink(store, n)}, Validation: &trail.Validation{Signer: testKey(t)}}}})
	require.NoError(t, err)
	const events = 7
	for i := range events {
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: fmt.Sprintf("Op%d", i)}))
	}
	require.NoError(t, rec.Close(ctx))

	var names []string
	for _, body := range topic.receiveAll(t) {
		var env envelope
		require.NoError(t, json.Unmarshal([]byte(body), &env))
		m := notification(t, env.Message)
		assert.Equal(t, bucket, m.S3Bucket)
		for _, key := range m.S3ObjectKey {
			require.True(t, strings.HasPrefix(key, "team/AWSLogs/"+mototest.AccountID+"/CloudTrail/"+mototest.Region+"/"), key)
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.S3Bucket), Key: aws.String(key)})
			require.NoError(t, err, "the notified object exists")
			raw, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			require.NoError(t, err)
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			require.NoError(t, err)
			var doc struct{ Records []struct{ EventName string } }
			require.NoError(t, json.NewDecoder(zr).Decode(&doc))
			for _, r := range doc.Records {
				names = append(names, r.EventName)
			}
		}
	}
	want := make([]string, events)
	for i := range want {
		want[i] = fmt.Sprintf("Op%d", i)
	}
	assert.ElementsMatch(t, want, names, "the notified objects hold every event once")

	listed, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("team/AWSLogs/" + mototest.AccountID + "/CloudTrail-Digest/")})
	require.NoError(t, err)
	assert.NotEmpty(t, listed.Contents, "digests were stored, and not notified")
}
