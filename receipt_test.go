package trail_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

func TestRecordAndWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spool bool
	}{{"in memory", false}, {"spooled", true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := memsink.New(), memsink.New()
				cfg := trail.Config{AccountID: testAccount, Region: testRegion, History: trail.NoHistory,
					Trails: []trail.Trail{
						{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{a, b}},
						{Name: "writes", Bucket: "other-bucket", Sinks: []trail.Sink{b}, Management: trail.ReadWriteWriteOnly},
					}}
				if tc.spool {
					cfg.Spool = &trail.Spool{Dir: t.TempDir()}
				}
				rec := newRecorder(t, cfg)
				start := time.Now()
				var wg sync.WaitGroup
				receipts := make([]trail.Receipt, 20)
				for i := range receipts {
					wg.Go(func() {
						r, err := rec.RecordAndWait(context.Background(), &trail.Event{EventSource: "orders.example.com",
							EventName: "CreateOrder", ReadOnly: trail.Bool(i%2 == 0)})
						require.NoError(t, err)
						receipts[i] = r
					})
				}
				wg.Wait()
				require.Less(t, time.Since(start), time.Second, "waited for the batch interval")
				for i, r := range receipts {
					require.NotEmpty(t, r.EventID)
					want := 2 // both trails take writes
					if i%2 == 0 {
						want = 1
					}
					require.Len(t, r.Files, want)
					for _, f := range r.Files {
						sinks := []*memsink.Sink{a, b}
						if f.Trail == "writes" {
							require.Equal(t, "other-bucket", f.Bucket)
							sinks = sinks[1:]
						}
						for _, s := range sinks {
							lf, ok := s.File(f.Key)
							require.Truef(t, ok, "%s not in %s", f.Key, s)
							require.Contains(t, string(lf.JSON), r.EventID)
						}
					}
				}
				// Files are shared by the callers that waited meanwhile.
				require.Less(t, len(a.Files()), len(receipts))
			})
		})
	}
}

func TestRecordAndWaitReportsFailure(t *testing.T) {
	sink := memsink.New()
	sink.FailWith(fmt.Errorf("%w: access denied", trail.ErrPermanent))
	rec := newRecorder(t, trail.Config{Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
	_, err := rec.RecordAndWait(context.Background(), mkEvent("CreateOrder"))
	var de *trail.DeliveryError
	require.ErrorAs(t, err, &de)
	require.ErrorIs(t, err, trail.ErrPermanent)

	// An event no trail selects is stored nowhere, at once.
	r, err := rec.RecordAndWait(context.Background(), &trail.Event{EventSource: "orders.example.com",
		EventName: "GetOrder", ReadOnly: trail.Bool(true), RecipientAccountID: otherAcct})
	require.NoError(t, err)
	require.Empty(t, r.Files)
	require.NotEmpty(t, r.EventID)
}
