package trailtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailtest"
)

func record(t *testing.T, rec *trailtest.Recorder, ev trail.Event) {
	t.Helper()
	require.NoError(t, rec.Record(context.Background(), &ev))
}

func TestNewRecorder(t *testing.T) {
	rec := trailtest.NewRecorder(t)
	record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder", ReadOnly: trail.Bool(false)})
	record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "GetOrder", ReadOnly: trail.Bool(true), AWSRegion: "eu-west-1"})

	evs := rec.Events()
	require.Len(t, evs, 2, "multi-region, read and write events")
	// The two regions go to two files, delivered in no particular order.
	created := rec.RequireEvent(t, trailtest.Filter{EventName: "CreateOrder"})
	assert.Equal(t, trailtest.AccountID, created.RecipientAccountID)
	assert.Equal(t, trailtest.Region, created.AWSRegion)
	assert.Len(t, rec.FindEvents(trailtest.Filter{ReadOnly: trail.Bool(true)}), 1)
	assert.Len(t, rec.FindEvents(nil), 2)
	rec.RequireEvents(t, trailtest.Filter{EventSource: "orders.example.com"}, 2)
	rec.RequireNoEvent(t, trailtest.Filter{EventName: "DeleteOrder"})

	rec.Reset()
	assert.Empty(t, rec.Events())
	record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "DeleteOrder"})
	assert.Equal(t, "DeleteOrder", rec.RequireEvent(t, nil).EventName)
	for _, k := range rec.Sink.Keys() {
		assert.Contains(t, k, "AWSLogs/"+trailtest.AccountID+"/CloudTrail/")
	}
}

func TestOptions(t *testing.T) {
	rec := trailtest.NewRecorder(t,
		nil, // ignored
		func(c *trail.Config) { c.Overflow = trail.Reject },
		trailtest.WithTrail(func(tr *trail.Trail) {
			tr.Management = trail.ReadWriteWriteOnly
			tr.Data = []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::bucket/"}}}
		}))
	record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "GetOrder", ReadOnly: trail.Bool(true)})
	record(t, rec, trail.Event{EventSource: "s3.amazonaws.com", EventName: "GetObject", ReadOnly: trail.Bool(true),
		Resources: []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::bucket/key"}}})
	ev := rec.RequireEvent(t, nil)
	assert.Equal(t, "GetObject", ev.EventName, "the write-only trail skips GetOrder but takes the data event")
	assert.Equal(t, trail.CategoryData, ev.EventCategory)
}

func TestDeliveryErrorsAreCollected(t *testing.T) {
	rec := trailtest.NewRecorder(t, func(c *trail.Config) { c.Retry = trail.RetryPolicy{MaxAttempts: 1} })
	rec.Sink.FailWith(fmt.Errorf("%w: disk full", trail.ErrPermanent))
	record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"})
	assert.Empty(t, rec.Events())
	errs := rec.Errors()
	require.NotEmpty(t, errs)
	var de *trail.DeliveryError
	assert.True(t, errors.As(errs[0], &de), "%v", errs[0])
	rec.Sink.FailWith(nil)
}

// fatalTB records Fatalf and stops the goroutine, like testing.T.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()                           {}
func (f *fatalTB) Cleanup(func())                    {}
func (f *fatalTB) Errorf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestInvalidConfigFailsTheTest(t *testing.T) {
	tb := &fatalTB{}
	var wg sync.WaitGroup
	wg.Go(func() { trailtest.NewRecorder(tb, func(c *trail.Config) { c.AccountID = "nope" }) })
	wg.Wait()
	assert.Contains(t, tb.msg, "trailtest: trail: invalid config: AccountID")
}

func TestClosedByCleanup(t *testing.T) {
	var rec *trailtest.Recorder
	t.Run("inner", func(t *testing.T) {
		rec = trailtest.NewRecorder(t)
		record(t, rec, trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder"})
	})
	assert.ErrorIs(t, rec.Record(context.Background(), &trail.Event{EventSource: "x", EventName: "y"}), trail.ErrClosed)
	assert.Len(t, rec.Sink.Events(), 1, "closing flushed the event")
	assert.Len(t, rec.Events(), 1, "querying a closed recorder still works")
}
