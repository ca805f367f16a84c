package trail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// ExampleNew makes a recorder with one trail that delivers to memory,
// records an event and closes the recorder, which delivers what is pending.
func ExampleNew() {
	ctx := context.Background()
	sink := memsink.New()
	rec, err := trail.New(trail.Config{
		AccountID: "111122223333",
		Region:    "us-east-1",
		Trails:    []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"})
	if err := rec.Close(ctx); err != nil {
		fmt.Println(err)
	}
	for _, key := range sink.Keys() {
		fmt.Println(key[:strings.LastIndex(key, "CloudTrail/")+len("CloudTrail/us-east-1/")] + "…")
	}
	fmt.Println(len(sink.Events()), "event delivered")
	// Output:
	// AWSLogs/111122223333/CloudTrail/us-east-1/…
	// 1 event delivered
}

// ExampleRecorder_Record records an event: Record fills in what the caller
// left out (eventID, eventTime, awsRegion, recipientAccountId, category, and
// the userIdentity that WithIdentity put in the context) on its own copy.
func ExampleRecorder_Record() {
	ctx := context.Background()
	sink := memsink.New()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}}}})
	defer rec.Close(ctx)

	ctx = trail.WithIdentity(ctx, trail.UserIdentity{Type: "IAMUser", UserName: "alice"})
	err := rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder",
		RequestParameters: []byte(`{"item":"book"}`)})
	fmt.Println("recorded:", err == nil)

	err = rec.Record(ctx, &trail.Event{EventName: "NoSource"})
	var ve *trail.ValidationError
	fmt.Println("invalid:", errors.As(err, &ve))

	_ = rec.Flush(ctx) // cut the batch into a log file and deliver it now
	ev := sink.Events()[0]
	fmt.Println(ev.EventName, ev.UserIdentity.UserName, ev.AWSRegion, ev.RecipientAccountID, ev.EventCategory, len(ev.EventID))
	st := rec.Stats()
	fmt.Println(st.Recorded, "recorded,", st.Invalid, "invalid,", st.FilesDelivered, "file delivered")
	// Output:
	// recorded: true
	// invalid: true
	// CreateOrder alice us-east-1 111122223333 Management 36
	// 1 recorded, 1 invalid, 1 file delivered
}

// ExampleRecorder_LookupEvents finds recorded management events in the
// recorder's event history — at once: an event is visible as soon as Record
// returned, no Flush needed.
func ExampleRecorder_LookupEvents() {
	ctx := context.Background()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1"})
	defer rec.Close(ctx)
	for _, name := range []string{"CreateOrder", "GetOrder", "CreateOrder"} {
		_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: name})
	}
	out, err := rec.LookupEvents(ctx, trail.LookupInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "CreateOrder"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Events), "events")
	for _, e := range out.Events {
		fmt.Println(e.EventName, e.EventSource, e.ReadOnly)
	}
	// Output:
	// 2 events
	// CreateOrder orders.example.com false
	// CreateOrder orders.example.com false
}

// ExampleRecorder_Events iterates over every matching event of the history,
// page after page, newest first.
func ExampleRecorder_Events() {
	ctx := context.Background()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1"})
	defer rec.Close(ctx)
	for i := range 120 {
		_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "GetOrder",
			ReadOnly: trail.Bool(true), UserIdentity: trail.UserIdentity{UserName: []string{"alice", "bob"}[i%2]}})
	}
	n := 0
	for ev, err := range rec.Events(ctx, trail.LookupInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "alice"}},
		MaxResults:       50, // page size: three pages
	}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if ev.UserIdentity.UserName == "alice" {
			n++
		}
	}
	fmt.Println(n, "events of alice")
	// Output: 60 events of alice
}

// ExampleRecorder_Query uses the query language beyond LookupEvents: several
// attributes (AND) and a filter on failed calls.
func ExampleRecorder_Query() {
	ctx := context.Background()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1"})
	defer rec.Close(ctx)
	_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "DeleteOrder", ErrorCode: "AccessDenied"})
	_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "DeleteOrder"})
	_ = rec.Record(ctx, &trail.Event{EventSource: "users.example.com", EventName: "DeleteUser", ErrorCode: "AccessDenied"})
	page, _ := rec.Query(ctx, trail.QueryInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventSource, Value: "orders.example.com"}},
		Errors:           trail.OnlyErrors,
	})
	for _, ev := range page.Events {
		fmt.Println(ev.EventName, ev.ErrorCode)
	}
	// Output: DeleteOrder AccessDenied
}

// ExampleRecorder_Explain asks which trails take an event, by which
// selector, and why not — without recording it; handy in a test of a
// trail configuration.
func ExampleRecorder_Explain() {
	sink := memsink.New()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{
		{Name: "everything", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}},
		{Name: "writes", Bucket: "audit-bucket", Management: trail.ReadWriteWriteOnly, Sinks: []trail.Sink{sink}},
		{Name: "s3-data", Bucket: "audit-bucket", Management: trail.ReadWriteNone, Sinks: []trail.Sink{sink},
			Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::invoices/"}}}},
	}})
	defer rec.Close(context.Background())

	x, err := rec.Explain(&trail.Event{EventSource: "orders.example.com", EventName: "GetOrder", ReadOnly: trail.Bool(true)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(x)
	fmt.Println(x.Selected())
	// Output:
	// event orders.example.com GetOrder (Management, readOnly true, region us-east-1, account 111122223333)
	// trail everything: selected by Management (ReadWriteType All); sinks: memsink
	// trail writes: not selected: Management: readOnly true: ReadWriteType is WriteOnly
	// trail s3-data: not selected: Management: management events are not included
	// history: kept
	// [everything]
}

// ExampleStats_String prints a recorder's counters.
func ExampleStats_String() {
	fmt.Println(trail.Stats{Recorded: 100, Unselected: 2, FilesDelivered: 3, BytesDelivered: 5 << 10})
	// Output: recorded 100 (invalid 0, unselected 2, overloaded 0, dropped 0, queued 0); files delivered 3 (5.0 KiB), failed 0, retries 0; digests delivered 0, failed 0; history errors 0
}
