package trail

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestHistoryWait: for the in-process store, a hand-off to a full history
// queue waits while the worker keeps appending, and gives up (restoring
// the queued count) once the worker made no progress for histWaitMax or
// the recorder gave up on history.
func TestHistoryWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		worker func(h *historyState, cancel context.CancelFunc)
		want   bool
		waited time.Duration
	}{
		{"progressing worker", func(h *historyState, _ context.CancelFunc) {
			for range 3 { // slower than histWaitMax in all, faster each step
				<-time.After(histWaitMax * 4 / 5)
				h.batches.Add(1)
			}
			<-h.queue
		}, true, 3 * histWaitMax * 4 / 5},
		{"stuck worker", func(*historyState, context.CancelFunc) {}, false, histWaitMax},
		{"closed recorder", func(_ *historyState, cancel context.CancelFunc) {
			<-time.After(histWaitMax / 2)
			cancel()
		}, false, histWaitMax / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &historyState{queue: make(chan histBatch, 1), inProcess: true}
				var cancel context.CancelFunc
				h.ctx, cancel = context.WithCancel(context.Background())
				defer cancel()
				h.queue <- histBatch{} // full
				go tc.worker(h, cancel)
				start := time.Now()
				got := h.wait(histBatch{events: make([]Event, 3)})
				assert.Equal(t, tc.want, got)
				assert.Equal(t, tc.waited, time.Since(start))
				if got {
					assert.EqualValues(t, 3, h.queued.Load())
				} else {
					assert.Zero(t, h.queued.Load(), "what was not queued is not counted")
				}
				if tc.name == "stuck worker" {
					start = time.Now()
					assert.False(t, h.wait(histBatch{events: make([]Event, 3)}), "still stuck")
					assert.Zero(t, time.Since(start), "no second wait for a worker that made no progress")
					h.batches.Add(1)
					go func() { <-time.After(histWaitMax / 2); <-h.queue }()
					start = time.Now()
					assert.True(t, h.wait(histBatch{events: make([]Event, 3)}), "waits again once the worker moved")
					assert.Equal(t, histWaitMax/2, time.Since(start))
				}
			})
		})
	}
}
