package trail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/memsink"
)

// captureHandler keeps the messages of the records it handles.
type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.msgs = append(h.msgs, b.String())
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

// useDefaultLogger makes h slog's default logger for the test.
func useDefaultLogger(t *testing.T, h slog.Handler) {
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(old) })
}

func TestWarningsReachTheDefaultLogger(t *testing.T) {
	for _, tc := range []struct {
		name     string
		logger   *slog.Logger
		wantWarn bool
	}{
		{"nil Logger: slog.Default()", nil, true},
		{"discarding is explicit", slog.New(slog.DiscardHandler), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &captureHandler{}
			useDefaultLogger(t, h)
			sink := memsink.New()
			sink.FailWith(fmt.Errorf("%w: access denied", trail.ErrPermanent))
			rec, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion, Logger: tc.logger,
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
			require.NoError(t, err)
			require.NoError(t, rec.Record(context.Background(), mkEvent("CreateOrder")))
			require.ErrorIs(t, rec.Close(context.Background()), trail.ErrUndelivered)
			got := strings.Join(h.all(), "\n")
			if tc.wantWarn {
				require.Contains(t, got, "trail: delivery failed")
				require.Contains(t, got, "access denied")
			} else {
				require.Empty(t, got)
			}
		})
	}
}

func TestCloseSaysWhatWasLost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spool bool
		want  []string
	}{
		{"in memory", false, []string{"1 log files (3 events)", "they are lost", "access denied"}},
		{"spooled", true, []string{"1 log files (3 events)", "stay in the spool", "delivered again on the next start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := memsink.New()
			sink.FailWith(fmt.Errorf("%w: access denied", trail.ErrPermanent))
			cfg := trail.Config{AccountID: testAccount, Region: testRegion, Logger: slog.New(slog.DiscardHandler),
				Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}}
			if tc.spool {
				cfg.Spool = &trail.Spool{Dir: t.TempDir()}
			}
			rec, err := trail.New(cfg)
			require.NoError(t, err)
			for range 3 {
				require.NoError(t, rec.Record(context.Background(), mkEvent("CreateOrder")))
			}
			err = rec.Close(context.Background())
			require.ErrorIs(t, err, trail.ErrUndelivered)
			var de *trail.DeliveryError
			require.ErrorAs(t, err, &de, "the first failure is in the chain")
			require.ErrorIs(t, err, trail.ErrPermanent)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// TestRetriesBoundedByDefault: without a spool, a sink that keeps failing
// is given up on after DefaultMaxAttempts (about 14 minutes), so that
// Close(context.Background()) ends and says what was lost.
func TestRetriesBoundedByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := newFlakySink(-1, errors.New("connection refused"))
		rec, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion, Logger: slog.New(slog.DiscardHandler),
			Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
		require.NoError(t, err)
		require.NoError(t, rec.Record(context.Background(), mkEvent("CreateOrder")))
		start := time.Now()
		err = rec.Close(context.Background())
		require.ErrorIs(t, err, trail.ErrUndelivered)
		require.Equal(t, trail.DefaultMaxAttempts, sink.totalAttempts())
		require.Less(t, time.Since(start), 30*time.Minute)
	})
}

// TestUnwritableFileSinkFailsLoudly is the README's program with its output
// directory not writable (a file in its place, or a read-only directory):
// Close must end and say that the files were lost, never hang in silence.
func TestUnwritableFileSinkFailsLoudly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"a file where the directory should be", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "audit-out")
			require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
			return p
		}},
		{"read-only directory", func(t *testing.T) string {
			if os.Geteuid() == 0 {
				t.Skip("root writes to read-only directories")
			}
			p := filepath.Join(t.TempDir(), "audit-out")
			require.NoError(t, os.Mkdir(p, 0o555))
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			h := &captureHandler{}
			useDefaultLogger(t, h)
			synctest.Test(t, func(t *testing.T) {
				rec, err := trail.New(trail.Config{AccountID: testAccount, Region: testRegion,
					Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{filesink.New(dir, filesink.Options{})}}}})
				if err != nil { // the filesink refuses at start-up, naming the directory
					require.ErrorContains(t, err, dir)
					return
				}
				require.NoError(t, rec.Record(context.Background(), mkEvent("CreateOrder")))
				err = rec.Close(context.Background())
				require.ErrorIs(t, err, trail.ErrUndelivered)
				require.ErrorContains(t, err, "they are lost")
				require.NotEmpty(t, h.all(), "a warning reached slog.Default()")
			})
		})
	}
}
