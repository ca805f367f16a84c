// Package notify publishes CloudTrail's log file delivery notifications: after
// each log file is stored, a message
//
//	{"s3Bucket":"amzn-s3-demo-bucket","s3ObjectKey":["AWSLogs/…json.gz"]}
//
// goes to a topic (Amazon SNS through NewSNS, or any Publisher). A Notifier
// batches keys per bucket into such messages; Sink wraps any trail.Sink so
// that the recorder notifies after each file the wrapped sink stored, with no
// change to the recorder:
//
//	s3, _ := s3sink.New(client, "audit-bucket", s3sink.Options{})
//	pub, _ := notify.NewSNS(snsClient, "arn:aws:sns:us-east-1:111122223333:trail-files", notify.SNSOptions{})
//	n, _ := notify.New(pub, notify.Options{})
//	trail.Trail{..., Sinks: []trail.Sink{notify.Sink(s3, n)}}
//
// Notifications are at least once: a failed publish fails the delivery, the
// recorder retries it, and the retry publishes again without storing the
// file a second time.
//
// To a FIFO topic (an ARN ending in ".fifo") NewSNS's publisher sends each
// message in one message group (SNSOptions.MessageGroupID) with its
// SHA-256 as deduplication ID.
//
// # Tests
//
// The package's tests publish with the real SNS client to a local endpoint
// of ours (injected failures), always; and to moto_server, an independent
// SNS with an SQS queue subscribed to the topic, when .ci/moto.sh started
// one (TRAIL_TEST_MOTO_ENDPOINT; .ci/run does). Locally the moto tests
// skip unless run as
//
//	bash .ci/moto.sh run -- go test -race ./notify/...
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Message is the body of a CloudTrail delivery notification.
type Message struct {
	S3Bucket    string   `json:"s3Bucket"`
	S3ObjectKey []string `json:"s3ObjectKey"`
}

// Publisher sends one notification message, a JSON string. NewSNS returns
// one for Amazon SNS; an error wrapping trail.ErrPermanent means retrying
// cannot help.
type Publisher interface {
	Publish(ctx context.Context, message string) error
}

// Defaults of Options.
const (
	DefaultMaxKeys = 100
	// MaxMessageBytes is SNS's message size limit (256 KiB); messages are
	// cut to stay below it.
	MaxMessageBytes   = 262144
	DefaultMaxPending = 10000
	DefaultTimeout    = 30 * time.Second
)

// Options tune a Notifier. The zero value is the default: every Notify
// publishes at once (one key per message, unless keys of failed publishes
// are waiting), at most 100 keys per message.
type Options struct {
	// Delay gathers keys for up to this long before publishing them in one
	// message (0: publish on every Notify). Keys are also published when
	// MaxKeys are waiting, and by Flush and Close.
	Delay time.Duration
	// MaxKeys is the most keys in one message (default 100); a message also
	// stays below MaxMessageBytes.
	MaxKeys int
	// MaxPending bounds the keys waiting to be published (default 10,000);
	// beyond it the oldest are dropped and reported to OnError.
	MaxPending int
	// Timeout bounds background publishes (Delay mode) and Close (default
	// 30 seconds).
	Timeout time.Duration
	// OnError receives errors of background publishes and dropped keys.
	OnError func(error)
}

// Notifier batches delivered log files into notification messages. It is
// safe for concurrent use.
type Notifier struct {
	pub  Publisher
	opts Options

	pubMu   sync.Mutex // serializes publishes
	mu      sync.Mutex
	pending map[string][]string        // bucket → keys in arrival order
	queued  map[string]map[string]bool // bucket → set of pending keys
	timer   *time.Timer
	closed  bool
}

// New returns a Notifier publishing through p. The zero Options
// is the default.
func New(p Publisher, opts Options) (*Notifier, error) {
	if p == nil {
		return nil, errors.New("notify: nil Publisher")
	}
	n := &Notifier{pub: p, pending: map[string][]string{}, queued: map[string]map[string]bool{}}
	n.opts = opts
	o := &n.opts
	if o.Delay < 0 || o.MaxKeys < 0 || o.MaxPending < 0 || o.Timeout < 0 {
		return nil, errors.New("notify: negative Delay, MaxKeys, MaxPending or Timeout")
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return n, nil
}

// ErrClosed is returned by Notify after Close.
var ErrClosed = errors.New("notify: notifier closed")

// Notify records that the object bucket/key was delivered. Without Delay it
// publishes the bucket's waiting keys now and returns the publish error;
// with Delay it publishes when the delay ends (or MaxKeys keys wait).
// Notifying a key that is still waiting adds nothing.
func (n *Notifier) Notify(ctx context.Context, bucket, key string) error {
	if bucket == "" || key == "" {
		return errors.New("notify: empty bucket or key")
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	if !n.queued[bucket][key] {
		if n.queued[bucket] == nil {
			n.queued[bucket] = map[string]bool{}
		}
		n.queued[bucket][key] = true
		n.pending[bucket] = append(n.pending[bucket], key)
		n.trimLocked(bucket)
	}
	full := len(n.pending[bucket]) >= n.opts.MaxKeys
	if n.opts.Delay > 0 && !full {
		if n.timer == nil {
			n.timer = time.AfterFunc(n.opts.Delay, n.background)
		}
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	return n.publishBucket(ctx, bucket, !full)
}

// trimLocked drops the oldest keys of bucket beyond MaxPending.
func (n *Notifier) trimLocked(bucket string) {
	over := len(n.pending[bucket]) - n.opts.MaxPending
	if over <= 0 {
		return
	}
	for _, k := range n.pending[bucket][:over] {
		delete(n.queued[bucket], k)
	}
	n.pending[bucket] = n.pending[bucket][over:]
	if n.opts.OnError != nil {
		n.opts.OnError(fmt.Errorf("notify: %d keys of bucket %s dropped unpublished (more than %d waiting)", over, bucket, n.opts.MaxPending))
	}
}

// background publishes everything after Delay.
func (n *Notifier) background() {
	n.mu.Lock()
	n.timer = nil
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
	defer cancel()
	if err := n.Flush(ctx); err != nil && n.opts.OnError != nil {
		n.opts.OnError(err)
	}
}

// Flush publishes every waiting key now.
func (n *Notifier) Flush(ctx context.Context) error {
	n.mu.Lock()
	buckets := make([]string, 0, len(n.pending))
	for b := range n.pending {
		buckets = append(buckets, b)
	}
	n.mu.Unlock()
	var errs []error
	for _, b := range buckets {
		if err := n.publishBucket(ctx, b, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// publishBucket publishes the bucket's waiting keys in messages of at most
// MaxKeys keys and MaxMessageBytes bytes; with once, only the first message
// (Notify without Delay publishes what is there, one message).
func (n *Notifier) publishBucket(ctx context.Context, bucket string, once bool) error {
	n.pubMu.Lock()
	defer n.pubMu.Unlock()
	for {
		n.mu.Lock()
		keys := n.pending[bucket]
		if len(keys) == 0 {
			n.mu.Unlock()
			return nil
		}
		msg, cnt, err := encode(bucket, keys, n.opts.MaxKeys)
		n.mu.Unlock()
		if err != nil {
			return err
		}
		if err := n.pub.Publish(ctx, msg); err != nil {
			return fmt.Errorf("notify: publish %d keys of bucket %s: %w", cnt, bucket, err)
		}
		n.mu.Lock()
		// Keys are only appended (or trimmed from the front) meanwhile:
		// drop the published ones that are still at the front.
		done := keys[:cnt]
		cur := n.pending[bucket]
		i := 0
		for i < len(cur) && i < len(done) && cur[i] == done[i] {
			delete(n.queued[bucket], cur[i])
			i++
		}
		n.pending[bucket] = cur[i:]
		if len(n.pending[bucket]) == 0 {
			delete(n.pending, bucket)
			delete(n.queued, bucket)
		}
		more := len(n.pending[bucket]) > 0
		n.mu.Unlock()
		if once || !more {
			return nil
		}
	}
}

// encode returns the message for the first keys (at most max, and below
// MaxMessageBytes) and how many keys it holds.
func encode(bucket string, keys []string, limit int) (string, int, error) {
	cnt := min(len(keys), limit)
	for {
		b, err := json.Marshal(Message{S3Bucket: bucket, S3ObjectKey: keys[:cnt]})
		if err != nil {
			return "", 0, fmt.Errorf("notify: %w", err)
		}
		if len(b) <= MaxMessageBytes {
			return string(b), cnt, nil
		}
		if cnt == 1 {
			return "", 0, fmt.Errorf("notify: key %.64q… makes a message above %d bytes", keys[0], MaxMessageBytes)
		}
		cnt = cnt * MaxMessageBytes / len(b)
		cnt = max(1, min(cnt, len(keys)-1))
	}
}

// Pending returns the number of keys waiting to be published.
func (n *Notifier) Pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, ks := range n.pending {
		c += len(ks)
	}
	return c
}

// Close stops the Delay timer, publishes what is waiting (bounded by
// Options.Timeout) and makes later Notify calls fail with ErrClosed. It is
// idempotent.
func (n *Notifier) Close() error {
	n.mu.Lock()
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.Timeout)
	defer cancel()
	return n.Flush(ctx)
}
