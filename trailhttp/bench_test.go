package trailhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/trailhttp"
)

// discardWriter is a ResponseWriter that costs nothing: it reuses its header
// map, so that a benchmark measures the handler, not the writer.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

func benchMux() *http.ServeMux {
	body := []byte(`{"id":"o-1","item":"book"}`)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(body)
	})
	return mux
}

// benchRecorder returns a recorder that validates and stamps every event
// like any recorder but whose trails select nothing (it has none, and no
// history), so Record returns without queueing: what remains is the
// middleware plus Record's own synchronous work.
func benchRecorder(tb testing.TB, cfg trail.Config) *trail.Recorder {
	cfg.AccountID, cfg.Region = "111122223333", "us-east-1"
	rec, err := trail.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = rec.Close(context.Background()) })
	return rec
}

func runHandler(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/orders/o-1", nil)
	r.Header.Set("User-Agent", "bench/1.0")
	serveLoop(b, h, r)
}

// serveLoop serves r with h once per iteration, reporting allocations.
func serveLoop(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkOverhead compares a ServeMux with and without the middleware.
// The difference between "bare" and "middleware" is the middleware's cost
// per request: IDs, header, client IP, the event, and Record's validation
// and stamping (Record's time.Now included) on a recorder that selects
// nothing.
func BenchmarkOverhead(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		runHandler(b, benchMux())
	})
	b.Run("middleware", func(b *testing.B) {
		runHandler(b, trailhttp.Handler(benchRecorder(b, trail.Config{}), benchMux(), trailhttp.Options{EventSource: "orders.example.com"}))
	})
	b.Run("middleware/no-header", func(b *testing.B) {
		runHandler(b, trailhttp.Handler(benchRecorder(b, trail.Config{}), benchMux(),
			trailhttp.Options{EventSource: "orders.example.com", AuditIDHeader: "-"}))
	})
	b.Run("middleware/request-id-header", func(b *testing.B) {
		h := trailhttp.Handler(benchRecorder(b, trail.Config{}), benchMux(),
			trailhttp.Options{EventSource: "orders.example.com", RequestIDHeader: "X-Request-Id"})
		r := httptest.NewRequest("GET", "/orders/o-1", nil)
		r.Header.Set("X-Request-Id", "req-1")
		serveLoop(b, h, r)
	})
	// With a trail that selects the event the request also pays for the
	// queue hand-off; the Drop policy keeps a full queue from blocking the
	// benchmark (dropped events are counted, not delivered).
	b.Run("middleware/selected-drop", func(b *testing.B) {
		rec := benchRecorder(b, trail.Config{Overflow: trail.Drop, QueueSize: 64,
			Trails: []trail.Trail{{Name: "bench", Sinks: []trail.Sink{discardSink{}}}}})
		runHandler(b, trailhttp.Handler(rec, benchMux(), trailhttp.Options{EventSource: "orders.example.com"}))
	})
}

type discardSink struct{}

func (discardSink) Deliver(context.Context, *trail.LogFile) error { return nil }

func TestOverheadAllocs(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("allocation counts differ under the race detector and coverage")
	}
	measure := func(h http.Handler) float64 {
		r := httptest.NewRequest("GET", "/orders/o-1", nil)
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, r) // warm the pools
		return testing.AllocsPerRun(1000, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
	}
	bare := measure(benchMux())
	mw := measure(trailhttp.Handler(benchRecorder(t, trail.Config{}), benchMux(), trailhttp.Options{EventSource: "orders.example.com"}))
	t.Logf("allocations per request: bare %.1f, with middleware %.1f", bare, mw)
	if mw-bare > 3 {
		t.Errorf("the middleware adds %.1f allocations per request, want at most 3", mw-bare)
	}
}

// BenchmarkRecordOnly is the share of BenchmarkOverhead spent in
// Recorder.Record (validation, stamping, selection) for the same event.
func BenchmarkRecordOnly(b *testing.B) {
	rec := benchRecorder(b, trail.Config{})
	ev := &trail.Event{
		EventID: "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b", RequestID: "5f1c0a2e-9b1d-4c5e-8f7a-2d3b4c5d6e7f",
		EventSource: "orders.example.com", EventName: "GET /orders/{id}", ReadOnly: trail.Bool(true),
		SourceIPAddress: "192.0.2.1", UserAgent: "bench/1.0",
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := rec.Record(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
