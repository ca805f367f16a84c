package trailhttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailtest"
)

// TestWaitDelivered: the routes that ask for it answer only once their
// event is stored by every sink (503 when it cannot be); the others only
// wait for the recorder to accept the event.
func TestWaitDelivered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sinkDown   bool
		method     string
		path       string
		wantStatus int
		wantStored bool // the event is in the sink when the response arrives
	}{
		{"waiting route, sink up", false, "POST", "/orders", 201, true},
		{"waiting route, sink down", true, "POST", "/orders", 503, false},
		{"other route, sink down", true, "GET", "/orders/o-1", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := trailtest.NewRecorder(t, func(c *trail.Config) { c.Retry = trail.RetryPolicy{MaxAttempts: 1} })
			if tc.sinkDown {
				rec.Sink.FailWith(fmt.Errorf("%w: access denied", trail.ErrPermanent))
			}
			var gotErr error
			h := trailhttp.Handler(rec.Recorder, ordersMux(), trailhttp.Options{
				FailClosed:    true,
				WaitDelivered: func(r *http.Request) bool { return r.Pattern == "POST /orders" },
				OnError:       func(_ *http.Request, err error) { gotErr = err },
			})
			w := serve(h, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.wantStatus, w.Code)
			stored := len(rec.Sink.Events()) > 0
			require.Equal(t, tc.wantStored, stored)
			if tc.wantStatus == 503 {
				var de *trail.DeliveryError
				require.ErrorAs(t, gotErr, &de)
			}
			rec.Sink.FailWith(nil)
		})
	}
}
