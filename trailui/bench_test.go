package trailui_test

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/trailui"
)

const benchEvents = 1_000_000

var bench1M struct {
	once sync.Once
	ui   *trailui.Handler
	user string // a user name of the history
	name string // a frequent event name
}

// benchUI is a console over a recorder whose history (the default
// in-memory store) holds 1M synthetic management events of about 1.45 KB
// each, built once per test binary (about 10 s).
func benchUI(b *testing.B) *trailui.Handler {
	bench1M.once.Do(func() {
		ctx := context.Background()
		store := trail.NewMemoryHistory(trail.MemoryHistoryOptions{MaxBytes: 4 << 30})
		step := 150 * time.Millisecond
		gen := historytest.NewGenerator(1, time.Now().Add(-benchEvents*step-time.Hour), step)
		batch := make([]trail.Event, 0, 1000)
		for i := range benchEvents {
			ev := gen.Next()
			if i == 0 {
				bench1M.user = ev.LookupUsername()
			}
			batch = append(batch, ev)
			if len(batch) == cap(batch) {
				if err := store.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		bench1M.name = gen.Names()[0]
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", History: store, AuditSource: "-"})
		if err != nil {
			b.Fatal(err)
		}
		bench1M.ui, err = trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
		if err != nil {
			b.Fatal(err)
		}
	})
	return bench1M.ui
}

// BenchmarkHistoryPage renders one page of 50 events of a 1M-event history,
// server side (the bar is 50 ms).
//
//	go test -run '^$' -bench HistoryPage -benchtime 200x ./trailui
func BenchmarkHistoryPage(b *testing.B) {
	ui := benchUI(b)
	serve := func(b *testing.B, target string) string {
		w := httptest.NewRecorder()
		ui.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/audit/"+target, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d", target, w.Code)
		}
		return w.Body.String()
	}
	// older follows the Older link of a page.
	older := func(b *testing.B, body string) string {
		i := strings.Index(body, `" rel="next">`)
		if i < 0 {
			b.Fatal("no Older link")
		}
		j := strings.LastIndex(body[:i], `href="`)
		return strings.TrimPrefix(html.UnescapeString(body[j+len(`href="`):i]), "./")
	}
	for _, tc := range []struct {
		name, target string
		pages        int // pages to follow before measuring
	}{
		{"newest", "", 0},
		{"user", "?" + url.Values{"user": {bench1M.user}}.Encode(), 0},
		{"eventName", "?" + url.Values{"name": {bench1M.name}}.Encode(), 0},
		{"page5", "", 4},
		{"user_page5", "?" + url.Values{"user": {bench1M.user}}.Encode(), 4},
	} {
		b.Run(tc.name, func(b *testing.B) {
			target := tc.target
			for range tc.pages {
				target = older(b, serve(b, target))
			}
			if n := strings.Count(serve(b, target), `class="ev"`); n != trailui.PageSize {
				b.Fatalf("%d rows, want %d", n, trailui.PageSize)
			}
			b.ReportAllocs()
			for b.Loop() {
				serve(b, target)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}

// BenchmarkEventPage renders an event's page, with the search of its log
// file: 20,000 events of about 1.45 KB delivered to a memsink in files of
// 1,000 records (about 1.4 MB each uncompressed) over 7 minutes.
//
//	go test -run '^$' -bench EventPage -benchtime 100x ./trailui
func BenchmarkEventPage(b *testing.B) {
	ctx := context.Background()
	sink := memsink.New()
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", AuditSource: "-",
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}, MaxRecords: 1000}}})
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close(ctx)
	gen := historytest.NewGenerator(3, time.Now().Add(-7*time.Minute), 20*time.Millisecond)
	var ids []string
	for range 20_000 {
		ev := gen.Next()
		ev.EventTime = time.Now() // files are cut now: events of now
		if err := rec.Record(ctx, &ev); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, ev.EventID)
	}
	if err := rec.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	ui, err := trailui.New(rec, trailui.Options{Authorize: trailui.AllowAll})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   string
	}{{"first", ids[0]}, {"middle", ids[len(ids)/2]}, {"last", ids[len(ids)-1]}} {
		b.Run(tc.name, func(b *testing.B) {
			target := "/audit/event?" + url.Values{"id": {tc.id}}.Encode()
			w := httptest.NewRecorder()
			ui.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
			if !strings.Contains(w.Body.String(), "Delivered in this log file.") {
				b.Fatalf("%s: no log file", tc.name)
			}
			b.ReportAllocs()
			for b.Loop() {
				ui.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}
