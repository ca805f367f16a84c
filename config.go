package trail

import (
	"crypto"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"time"
)

// Config configures a Recorder. The zero value of every optional field is a
// documented default; New validates the whole config and fails at start-up
// rather than at delivery time.
type Config struct {
	// AccountID is the 12-digit account stamped as recipientAccountId on
	// events that carry none. Required.
	AccountID string
	// Region is the region stamped as awsRegion on events that carry none,
	// and the home region of every trail. Required.
	Region string
	// Instance names this recorder among the instances of a fleet that
	// share trails (it is stored with every log file and names the holder
	// of a fleet lease). Default: DefaultInstance(), "<hostname>-<pid>".
	// At most 128 printable characters, no slash or backslash.
	Instance string
	// Trails select and deliver events. A recorder without trails still
	// validates events and keeps history.
	Trails []Trail
	// History keeps the event history that LookupEvents, Events and Query
	// search. Nil means a bounded in-memory store (a *MemoryHistory sized
	// by HistoryOptions); NoHistory keeps no history. The recorder does not
	// close the store. Appends run on their own goroutine, in batches: a
	// store that falls behind or blocks never holds up delivery, and what
	// its full queue cannot take is counted in Stats.HistoryDropped. The
	// default in-memory store is only ever behind on CPU, so while it
	// makes progress the recorder waits for it (backpressure) instead.
	History HistoryStore
	// HistoryOptions select the events that enter history (management
	// events by default) and their retention (90 days by default).
	HistoryOptions HistoryOptions
	// DataResourceTypes are resource types, beyond those named in trails'
	// data selectors and the AWS types S3 object, Lambda function and
	// DynamoDB table, whose events are data events.
	DataResourceTypes []string
	// QueueSize is the number of events the ingest queue holds (default 4096).
	QueueSize int
	// SinkQueueSize is the number of log files each sink's queue holds
	// (default 256). A full sink queue holds back the batcher, and so,
	// eventually, Record; other sinks keep delivering meanwhile.
	SinkQueueSize int
	// Overflow is what Record does when the ingest queue is full (default
	// Block).
	Overflow OverflowPolicy
	// Retry controls redelivery of failed files.
	Retry RetryPolicy
	// OnError, if set, receives every *DeliveryError (after each failed
	// attempt) and every dropped event's error. It is called from the
	// recorder's goroutines and must not block for long.
	OnError func(error)
	// AuditSource is the eventSource of the events that record trail
	// management calls (CreateTrail, StopLogging, …); default
	// "cloudtrail.amazonaws.com". "-" turns that self-audit off.
	AuditSource string
	// Logger receives warnings (failed deliveries, dropped events, spool
	// damage). Nil means slog.Default(); to discard warnings, say so with
	// slog.New(slog.DiscardHandler).
	Logger *slog.Logger
	// Spool, if set, makes Record durable: it returns nil only once the
	// event is in a write-ahead log on disk, from which a restarted
	// recorder delivers what no sink had yet. Nil keeps batches in memory
	// only (a crash, or a missing Close, loses them). See Spool.
	Spool *Spool
	// Observers see every event Record accepts (selected by a trail or
	// not), on Record's goroutine: metric filters (*filter.Metrics),
	// detectors. See EventObserver.
	Observers []EventObserver
	// ReplayEvents is how many recent accepted events the recorder keeps
	// for subscriptions that resume from a cursor (default
	// DefaultReplayEvents). The buffer exists from the first Subscribe on.
	ReplayEvents int
}

// Trail is one named stream of selected events and the sinks that store it.
type Trail struct {
	// Name is the trail name: 3–128 characters of letters, digits, '.', '_'
	// and '-', starting and ending with a letter or digit. Required.
	Name string
	// Bucket is the S3 bucket the files are meant for. It is recorded in
	// LogFile.Bucket (and in digests, which require it).
	Bucket string
	// Prefix is the S3 key prefix (at most 200 characters, no leading or
	// trailing '/').
	Prefix string
	// MultiRegion makes the trail take events of every region; otherwise it
	// takes only events of Config.Region.
	MultiRegion bool
	// Organization, an organization ID ("o-" and 10–32 lower-case letters or
	// digits), makes this an organization trail: it takes events of every
	// account and writes keys with the organization ID after AWSLogs/.
	// Otherwise the trail takes only events of Config.AccountID.
	Organization string

	// Management selects management events by their readOnly flag. The zero
	// value, ReadWriteAll, takes all of them; ReadWriteNone takes none.
	Management ReadWriteType
	// ExcludeManagementEventSources drops management events of these event
	// sources (for example "kms.amazonaws.com").
	ExcludeManagementEventSources []string
	// Data selects data events by resource type and ARN.
	Data []DataResource
	// EventSelectors are CloudTrail's basic event selectors (at most five),
	// an alternative to Management, ExcludeManagementEventSources and Data
	// for configurations kept in CloudTrail's shape.
	EventSelectors []EventSelector
	// Advanced replaces the basic selectors with advanced event selectors.
	// Only one of the three forms (Management/ExcludeManagementEventSources/
	// Data, EventSelectors, Advanced) may be set.
	Advanced []AdvancedSelector
	// InsightSelectors enable CloudTrail Insights on the trail: it takes the
	// Insights events (eventType AwsCloudTrailInsight) of the insight types
	// listed and delivers them under CloudTrail-Insight/ instead of
	// CloudTrail/. Nil or empty: the trail takes no Insights events.
	InsightSelectors []InsightSelector

	// Validation, if set, writes a signed digest chain for the trail's log
	// files (CloudTrail's log file integrity validation). At least one sink
	// must then implement DigestSink; digests go to those that do.
	Validation *Validation

	// Sinks store the trail's log files; at least one is required.
	Sinks []Sink
	// Interval is how long a batch collects events before it is cut into a
	// log file (default 5 minutes).
	Interval time.Duration
	// MaxRecords cuts a file early when it holds this many records (default
	// 10000).
	MaxRecords int
	// MaxBytes cuts a file early before its uncompressed body would exceed
	// this size (default 32 MiB).
	MaxBytes int
	// CompressionLevel is the gzip level of the trail's log files, from 1
	// (fastest) to 9 (smallest). Zero means DefaultCompressionLevel (1):
	// on CloudTrail records level 6 saves about a fifth of the bytes for
	// twice the CPU (see DefaultCompressionLevel).
	CompressionLevel int
	// Observers see the events this trail selects, as Record accepts them
	// (see EventObserver): metric filters attached to one trail.
	Observers []EventObserver
}

// Defaults.
const (
	DefaultInterval      = 5 * time.Minute
	DefaultMaxRecords    = 10000
	DefaultMaxBytes      = 32 << 20
	DefaultQueueSize     = 4096
	DefaultSinkQueueSize = 256
	maxTrails            = 64
)

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ipv4RE    = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$`)
	trailRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	adjRE     = regexp.MustCompile(`[._-]{2}`)
)

// ValidateTrailName reports whether name follows CloudTrail's trail-name
// rules.
func ValidateTrailName(name string) error {
	switch {
	case len(name) < 3 || len(name) > 128:
		return fmt.Errorf("trail name %q: must be 3 to 128 characters", name)
	case !trailRE.MatchString(name):
		return fmt.Errorf("trail name %q: only letters, digits, '.', '_' and '-', starting and ending with a letter or digit", name)
	case adjRE.MatchString(name):
		return fmt.Errorf("trail name %q: no two of '.', '_', '-' may be adjacent", name)
	case ipv4RE.MatchString(name):
		return fmt.Errorf("trail name %q: must not look like an IP address", name)
	}
	return nil
}

func validatePrefix(p string) error {
	if len(p) > 200 {
		return fmt.Errorf("prefix longer than 200 characters")
	}
	if p == "" {
		return nil
	}
	if p[0] == '/' || p[len(p)-1] == '/' {
		return fmt.Errorf("prefix %q: must not start or end with '/'", p)
	}
	for _, seg := range splitSlash(p) {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("prefix %q: empty, '.' or '..' path segment", p)
		}
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("prefix %q: control character or backslash", p)
		}
	}
	return nil
}

func splitSlash(s string) []string {
	var out []string
	for {
		i := indexByte(s, '/')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// checkTrail validates a trail's configuration and fills in its defaults.
func (r *Recorder) checkTrail(t *Trail) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("trail %q: "+format, append([]any{t.Name}, args...)...)
	}
	if err := ValidateTrailName(t.Name); err != nil {
		return err
	}
	if t.Organization != "" && !orgRE.MatchString(t.Organization) {
		return fail("Organization %q: want o- and 10 to 32 lower-case letters or digits", t.Organization)
	}
	if len(t.Sinks) == 0 {
		return fail("no sinks")
	}
	for j, s := range t.Sinks {
		if s == nil {
			return fail("sink %d is nil", j)
		}
	}
	if err := checkKeyParts(t); err != nil {
		return fail("%w", err)
	}
	if err := checkSinks(t.Sinks); err != nil {
		return fail("%w", err)
	}
	if t.Interval < 0 || t.MaxRecords < 0 || t.MaxBytes < 0 {
		return fail("negative Interval, MaxRecords or MaxBytes")
	}
	if t.CompressionLevel < 0 || t.CompressionLevel > 9 {
		return fail("CompressionLevel %d: want 1 to 9, or 0 for the default", t.CompressionLevel)
	}
	if t.Interval == 0 {
		t.Interval = DefaultInterval
	}
	if t.MaxRecords == 0 {
		t.MaxRecords = DefaultMaxRecords
	}
	if t.MaxBytes == 0 {
		t.MaxBytes = DefaultMaxBytes
	}
	if _, _, _, err := compileSelectors(t); err != nil {
		return fail("%v", err)
	}
	return nil
}

// OverflowPolicy says what Record does when the ingest queue is full.
type OverflowPolicy int

const (
	// Block waits for room, bounded by Record's ctx (the default).
	Block OverflowPolicy = iota
	// Reject returns ErrOverloaded at once.
	Reject
	// Drop discards the event, counts it in Stats.Dropped, reports it to
	// Config.OnError and returns nil.
	Drop
)

// RetryPolicy controls redelivery of failed files. Zero fields take defaults.
type RetryPolicy struct {
	// Initial is the delay before the first retry (default 1s).
	Initial time.Duration
	// Max caps the delay between attempts (default 5m).
	Max time.Duration
	// MaxAttempts stops retrying after this many attempts. 0 means
	// DefaultMaxAttempts without a spool (about 14 minutes of retries with
	// the default delays) and UnlimitedAttempts with one (the files wait on
	// disk). UnlimitedAttempts retries until the file is delivered or
	// Close's context ends.
	MaxAttempts int
}

// DefaultMaxAttempts is RetryPolicy.MaxAttempts's default without a spool.
const DefaultMaxAttempts = 10

// UnlimitedAttempts as RetryPolicy.MaxAttempts retries without end (until
// Close's context ends).
const UnlimitedAttempts = -1

func (p RetryPolicy) withDefaults(spooled bool) RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
		if spooled {
			p.MaxAttempts = UnlimitedAttempts
		}
	}
	if p.Initial <= 0 {
		p.Initial = time.Second
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Minute
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}

// backoff returns the delay before attempt n+1 (n ≥ 1): exponential with
// "equal jitter", between half and all of min(Max, Initial·2^(n-1)).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// Validation turns on log file integrity validation for a trail: every
// Period, for every (account, source region) the trail delivers files for,
// the recorder writes a digest file that lists the log files delivered in
// the period with their SHA-256 hashes, chained to the previous digest and
// signed with SHA256withRSA, in exactly CloudTrail's format (so that
// `aws cloudtrail validate-logs` accepts it).
//
// # Restarts
//
// A recorder continues an existing chain instead of starting a new one: for
// each chain it first uses a matching entry of Resume, and otherwise reads
// the newest digest back through the first of the trail's sinks that
// implements DigestSink and ObjectReader (filesink, memsink and s3sink
// do). Only when neither knows
// the chain does it write a starting digest (previous* fields null), which
// the AWS verifier reports as a gap, not as an error.
type Validation struct {
	// Signer signs digests: an RSA private key of at least 2048 bits (a
	// *rsa.PrivateKey, or a KMS/HSM-backed crypto.Signer whose Public() is an
	// *rsa.PublicKey). Set Signer or Keys, not both.
	Signer crypto.Signer
	// Keys holds rotating keys with validity windows; the key valid at a
	// digest's end time signs it.
	Keys *KeyRing
	// Period is the length of a digest period (default 1 hour, at least 1
	// second). Periods are contiguous.
	Period time.Duration
	// Resume continues these chains (from Recorder.ChainStates of a previous
	// run).
	Resume []ChainState
	// Fleet, if set, makes the trail's digest chains fleet-wide: one chain
	// per (trail, account, region) for every recorder that shares the trail,
	// written by one elected instance (see Fleet). Resume is then ignored.
	Fleet *Fleet
}

// DefaultDigestPeriod is CloudTrail's digest cadence.
const DefaultDigestPeriod = time.Hour
