package memsink_test

import (
	"context"
	"fmt"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

// OrderService is the code under test: it audits every order it creates.
type OrderService struct {
	Audit *trail.Recorder
}

func (s *OrderService) CreateOrder(ctx context.Context, user, orderID string) error {
	// … create the order …
	return s.Audit.Record(ctx, &trail.Event{
		EventSource:  "orders.example.com",
		EventName:    "CreateOrder",
		ReadOnly:     trail.Bool(false),
		UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: user},
		Resources:    []trail.Resource{{Type: "Example::Orders::Order", ARN: "arn:example:orders:::order/" + orderID}},
	})
}

// testCreateOrderIsAudited is a unit test of OrderService. In your own
// _test.go file it is
//
//	func TestCreateOrderIsAudited(t *testing.T)
//
// testify's require and assert take the *testing.T as is.
func testCreateOrderIsAudited(t require.TestingT) {
	ctx := context.Background()
	sink := memsink.New()
	rec, err := trail.New(trail.Config{
		AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "audit", Sinks: []trail.Sink{sink}}},
	})
	require.NoError(t, err)
	svc := &OrderService{Audit: rec}

	require.NoError(t, svc.CreateOrder(ctx, "alice", "o-42"))

	// Flush delivers what was recorded; Close would too.
	require.NoError(t, rec.Flush(ctx))
	events := sink.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName == "CreateOrder" }))
	require.Len(t, events, 1)
	assert.Equal(t, "alice", events[0].UserIdentity.UserName)
	assert.Equal(t, "arn:example:orders:::order/o-42", events[0].Resources[0].ARN)
	assert.False(t, events[0].IsReadOnly())
	assert.Equal(t, trail.CategoryManagement, events[0].EventCategory) // stamped by Record
	require.Len(t, sink.Files(), 1)
	assert.Contains(t, sink.Files()[0].Key, "AWSLogs/111122223333/CloudTrail/us-east-1/")
	require.NoError(t, rec.Close(ctx))
}

// exampleT stands in for *testing.T so that the example runs.
type exampleT struct{ failed bool }

func (t *exampleT) Errorf(format string, args ...any) {
	t.failed = true
	fmt.Printf(format+"\n", args...)
}
func (t *exampleT) FailNow() { t.failed = true; panic("test failed") }

// Example shows the unit-test pattern memsink is made for: give the code
// under test a Recorder whose trail delivers to a memsink.Sink, Flush, then
// assert on the delivered events with testify.
func Example() {
	t := &exampleT{}
	testCreateOrderIsAudited(t)
	fmt.Println("passed:", !t.failed)
	// Output: passed: true
}

// ExampleSink_FindEvents finds delivered events with a Filter, or with any
// function wrapped in MatchFunc.
func ExampleSink_FindEvents() {
	ctx := context.Background()
	sink := memsink.New()
	rec, _ := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{sink}}}})
	for _, name := range []string{"CreateOrder", "GetOrder", "DeleteOrder"} {
		_ = rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: name, ReadOnly: trail.Bool(name == "GetOrder")})
	}
	_ = rec.Close(ctx)

	fmt.Println(len(sink.FindEvents(memsink.Filter{EventSource: "orders.example.com"})))
	writes := sink.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return !e.IsReadOnly() }))
	for _, e := range writes {
		fmt.Println(e.EventName)
	}
	// Output:
	// 3
	// CreateOrder
	// DeleteOrder
}
