// Package trail is an embeddable CloudTrail for Go services: every API call
// the host application serves is recorded as a CloudTrail event, selected by
// per-trail event selectors, and delivered in batches as gzip'd log files with
// CloudTrail's exact object keys to sinks (local disk, S3, CloudWatch Logs,
// memory), optionally with CloudTrail's signed digest chain, and kept in a
// searchable event history.
//
//	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
//		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket",
//			Sinks: []trail.Sink{filesink.New("./audit", filesink.Options{})}}}})
//	defer rec.Close(ctx)
//	err = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"})
//	out, err := rec.LookupEvents(ctx, trail.LookupInput{})
//
// Start with [New], [Recorder.Record], [Recorder.LookupEvents] and
// [Recorder.Explain]; the examples show each.
//
// # Packages
//
// The root package never imports a subpackage; sinks and stores implement
// its small interfaces ([Sink], [DigestSink], [HistoryStore]).
//
//   - [github.com/trailkit/trail/sink/filesink]: log files and digests on local disk, laid out like the bucket.
//   - [github.com/trailkit/trail/sink/s3sink]: Amazon S3 (and S3-compatible servers such as MinIO).
//   - [github.com/trailkit/trail/sink/cwlogsink]: CloudWatch Logs, as CloudTrail's log group integration.
//   - [github.com/trailkit/trail/sink/memsink]: in memory, with assertions for tests.
//   - [github.com/trailkit/trail/sink/sinktest]: the conformance suite every sink runs.
//   - [github.com/trailkit/trail/history/sqlhistory]: event history in SQLite or PostgreSQL.
//   - [github.com/trailkit/trail/history/historytest]: the conformance suite every history store runs.
//   - [github.com/trailkit/trail/notify]: a notification per delivered file (Amazon SNS).
//   - [github.com/trailkit/trail/filter]: CloudWatch Logs filter patterns, metric filters and alarms.
//   - [github.com/trailkit/trail/trailhttp] and [github.com/trailkit/trail/trailgrpc]: one event per HTTP request or gRPC call.
//   - [github.com/trailkit/trail/trailtest]: a recorder for unit tests.
//   - [github.com/trailkit/trail/trailui]: a read-only web console over the history and trails.
//   - [github.com/trailkit/trail/verify] and cmd/trailcheck: offline validation of log files and digests.
//
// # Flow
//
// [Recorder.Record] validates an event, stamps what is missing (eventID,
// eventTime, eventVersion, awsRegion, recipientAccountId, eventType,
// eventCategory, managementEvent) on its own copy, runs every trail's compiled
// selectors once, and hands the event to a single batcher goroutine. It does
// not allocate for a valid event in steady state. An event without a
// userIdentity gets the one [WithIdentity] put in the context.
//
// The batcher encodes each event once (CloudTrail's compact JSON, key order
// as in real log files) and appends it to one batch per (trail, account,
// region). A batch is cut into a [LogFile] when Trail.Interval has elapsed since
// its first event, or when MaxRecords or MaxBytes is reached. The body
// {"Records":[…]} is gzip'd as a single member and its SHA-256 kept for
// digests.
//
// Every sink of a trail has its own bounded queue and a goroutine that
// delivers with exponential backoff and jitter; an error wrapping
// [ErrPermanent] is not retried. Failures reach Config.OnError as
// [*DeliveryError] values and are counted in [Stats].
//
// # Selection
//
// A trail takes management events by their readOnly flag (Trail.Management),
// data events by resource type and ARN prefix (Trail.Data), or, instead of
// both, CloudTrail's advanced event selectors (Trail.Advanced). An event is a
// data event when the caller says so (EventCategory "Data") or when one of
// its resources has a data type: AWS::S3::Object, AWS::Lambda::Function,
// AWS::DynamoDB::Table, a type named in any trail's data selectors, or one of
// Config.DataResourceTypes. A trail takes only events of Config.Region unless
// MultiRegion, and only events of Config.AccountID unless it is an
// organization trail. [Recorder.Explain] says which trails select an
// event, by which selector, and why not.
//
// # Validation
//
// A trail with Validation writes CloudTrail's hourly digest chain: signed
// (SHA256withRSA) digest files in CloudTrail's exact format, which the real
// `aws cloudtrail validate-logs` and package verify accept. Chains survive
// restarts (see [Validation]).
//
// # History
//
// Accepted management events enter the event history (Config.History: an
// in-memory [MemoryHistory] by default, or any [HistoryStore] such as
// sqlhistory), searchable with [Recorder.LookupEvents], [Recorder.Events],
// [Recorder.Query] and [Recorder.QueryEvents]. An event is visible to them
// as soon as Record returned nil: no Flush is needed.
//
// # Trails at run time
//
// [Recorder.CreateTrail], UpdateTrail, DeleteTrail, StartLogging,
// StopLogging, PutEventSelectors and their readers change and describe trails while
// events are recorded; each call is itself recorded as an event.
//
// # Conventions
//
// One name per concept across the module: lookups take an Input and return
// an Output (LookupEvents: LookupInput → LookupOutput; Query: QueryInput →
// QueryOutput), and both name their attribute filters LookupAttributes;
// the in-memory test helpers find events with FindEvents(Matcher)
// (memsink.Sink, trailtest.Recorder; wrap a function in memsink.MatchFunc).
//
// Options are passed by value, and the zero value of every field is a
// documented default: trail.New(Config), filesink.New(dir, Options),
// s3sink.New(client, bucket, Options), and so on. Deliberate exceptions:
// optional parts of a configuration that are off when nil are pointers
// (Trail.Validation, and the like in subpackages), and trailtest.NewRecorder
// takes functional options that edit the Config it builds.
//
// # Lifecycle
//
// [Recorder.Flush] cuts all batches and waits for their delivery.
// [Recorder.Close] stops accepting events, cuts and delivers what is
// pending, and closes sinks that implement io.Closer; both are bounded by
// their context. Record after Close returns [ErrClosed]; so does every method
// of a nil or zero-value Recorder ([ErrNoRecorder]).
package trail
