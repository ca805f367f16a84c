package trail_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/trailkit/trail"
)

// TestRecordAllocs pins Record of an already valid event (eventID,
// eventTime, region and account set; resources, requestParameters and a
// session context included) at zero allocations in steady state: the
// recorder copies the event into arena chunks that amortize to well under
// one allocation per event. The count covers the whole process, so the
// pipeline goroutine's encoding into the open batch is included; the trail
// is configured not to cut files during the measurement.
func TestRecordAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector randomly drops sync.Pool entries; run without -race")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	rec := newRecorder(t, trail.Config{QueueSize: 1 << 14, Trails: []trail.Trail{{
		Name: "main", Interval: time.Hour, MaxRecords: 1 << 20, MaxBytes: 1 << 30,
		Sinks: []trail.Sink{&countSink{}},
	}}})
	ctx := context.Background()
	e := trail.FixtureBenchEvent()
	// Warm up: arena chunks, the batch buffer, pools, the timer.
	for range 3000 {
		if err := rec.Record(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(2000, func() {
		if err := rec.Record(ctx, &e); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "Record allocates %v times per call", allocs)

	// Unselected events are not queued and must not allocate either.
	other := e
	other.AWSRegion = "eu-west-1"
	allocs = testing.AllocsPerRun(2000, func() {
		if err := rec.Record(ctx, &other); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "Record of an unselected event allocates %v times per call", allocs)
}
