package trail_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

// The -update flag rewrites the golden files in testdata. It is registered
// only if no other test file of the binary did so.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		t.Logf("updated %s", path)
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -run %s -update", t.Name())
	require.Equal(t, string(want), string(got), "output differs from %s; if the change is intended run go test -run %s -update", path, t.Name())
}

const (
	testAccount = "111122223333"
	otherAcct   = "444455556666"
	testRegion  = "us-east-1"
	testOrg     = "o-exampleorgid"
)

// newRecorder creates a recorder (AccountID and Region default to the test
// account and region) and closes it when the test ends. Inside a synctest
// bubble the cleanup runs inside the bubble.
func newRecorder(t testing.TB, cfg trail.Config) *trail.Recorder {
	t.Helper()
	if cfg.AccountID == "" {
		cfg.AccountID = testAccount
	}
	if cfg.Region == "" {
		cfg.Region = testRegion
	}
	rec, err := trail.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rec.Close(ctx)
	})
	return rec
}

// mkEvent returns a minimal valid event.
func mkEvent(name string) *trail.Event {
	return &trail.Event{EventSource: "orders.example.com", EventName: name}
}

// errorLog collects what Config.OnError receives.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// deliveryErrors returns the *trail.DeliveryErrors received.
func (l *errorLog) deliveryErrors() []*trail.DeliveryError {
	var out []*trail.DeliveryError
	for _, err := range l.all() {
		if de, ok := err.(*trail.DeliveryError); ok {
			out = append(out, de)
		}
	}
	return out
}

// gateSink blocks every delivery until Release is called (or the delivery
// context ends), then stores the file.
type gateSink struct {
	release chan struct{}
	once    sync.Once
	started atomic.Int64 // deliveries that entered Deliver
	mu      sync.Mutex
	files   []*trail.LogFile
}

func newGateSink() *gateSink { return &gateSink{release: make(chan struct{})} }

func (s *gateSink) Release() { s.once.Do(func() { close(s.release) }) }

func (s *gateSink) Deliver(ctx context.Context, f *trail.LogFile) error {
	s.started.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.files = append(s.files, f)
	s.mu.Unlock()
	return nil
}

func (s *gateSink) Files() []*trail.LogFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*trail.LogFile(nil), s.files...)
}

// flakySink fails the first `fails` attempts of every file with err (all of
// them when fails < 0), then stores the file.
type flakySink struct {
	fails    int
	err      error
	mu       sync.Mutex
	attempts map[string]int
	files    []*trail.LogFile
	times    []time.Time // time of every attempt
}

func newFlakySink(fails int, err error) *flakySink {
	return &flakySink{fails: fails, err: err, attempts: map[string]int{}}
}

func (s *flakySink) Deliver(ctx context.Context, f *trail.LogFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[f.Key]++
	s.times = append(s.times, time.Now())
	if s.fails < 0 || s.attempts[f.Key] <= s.fails {
		return s.err
	}
	s.files = append(s.files, f)
	return nil
}

func (s *flakySink) totalAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.attempts {
		n += a
	}
	return n
}

func (s *flakySink) Files() []*trail.LogFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*trail.LogFile(nil), s.files...)
}

// countSink counts delivered files and records.
type countSink struct {
	files, records atomic.Int64
}

func (s *countSink) Deliver(_ context.Context, f *trail.LogFile) error {
	s.files.Add(1)
	s.records.Add(int64(len(f.Records)))
	return nil
}
