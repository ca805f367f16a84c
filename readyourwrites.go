package trail

import (
	"context"
	"errors"
	"sync/atomic"
)

// historySync makes an event visible to LookupEvents, Query, Events and
// QueryEvents as soon as Record returned nil for it (read-your-writes), while
// history appends stay batched on the pipeline goroutine: Record counts a
// history event before handing it over, the pipeline uncounts it once the
// store's Append returned, and a lookup that sees events still pending sends
// a sync through the ingest queue — behind every event recorded before it —
// and waits until the pipeline has appended them.
type historySync struct {
	pending atomic.Int64 // history events handed over and not yet appended
}

func (h *historySync) accepted()      { h.pending.Add(1) }
func (h *historySync) abandoned()     { h.pending.Add(-1) }
func (h *historySync) appended(n int) { h.pending.Add(-int64(n)) }
func (h *historySync) quiet() bool    { return h.pending.Load() <= 0 }

// awaitHistory returns once every event whose Record returned before the
// call is in the history store, or ctx ends. After Close has begun, the
// pipeline appends what is left on its own and awaitHistory does not wait.
func (r *Recorder) awaitHistory(ctx context.Context) error {
	if r.history.quiet() {
		return nil
	}
	done := make(chan struct{})
	if err := r.sendItem(ctx, &item{hsync: done}); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
