package trail

import (
	"context"
	"fmt"
	"time"
)

// historyState is the recorder's event history: the store, what enters it,
// and the pruning goroutine.
type historyState struct {
	store HistoryStore // nil when disabled
	opts  HistoryOptions
	stop  chan struct{} // closed by stopPruning
	done  chan struct{} // closed when the pruning goroutine exits
}

// setupHistory resolves Config.History and Config.HistoryOptions (New calls
// it before starting goroutines).
func (r *Recorder) setupHistory() error {
	opts, err := r.cfg.HistoryOptions.withDefaults()
	if err != nil {
		return err
	}
	h := &r.history
	h.opts = opts
	switch r.cfg.History {
	case nil:
		h.store = NewMemoryHistory(MemoryHistoryOptions{MaxAge: opts.Retention, MaxBytes: opts.MaxBytes})
	case NoHistory:
		h.store = nil
	default:
		h.store = r.cfg.History
	}
	return nil
}

// wants reports whether an accepted, categorized event enters history.
func (h *historyState) wants(ev *Event) bool {
	return h.store != nil && (ev.EventCategory == CategoryManagement || h.opts.DataEvents)
}

// startPruning starts the goroutine that prunes a store implementing Pruner:
// at once, then every PruneInterval, until stopPruning.
func (r *Recorder) startPruning() {
	p, ok := r.history.store.(Pruner)
	if !ok {
		return
	}
	h := &r.history
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.done)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-h.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		t := time.NewTicker(h.opts.PruneInterval)
		defer t.Stop()
		for {
			before := time.Now().Add(-h.opts.Retention)
			if _, err := p.Prune(ctx, before); err != nil && ctx.Err() == nil {
				r.stats.histErr.Add(1)
				r.report(fmt.Errorf("trail: pruning event history before %s: %w", before.UTC().Format(time.RFC3339), err))
			}
			select {
			case <-t.C:
			case <-h.stop:
				return
			}
		}
	}()
}

// stopPruning stops the pruning goroutine and waits for it.
func (r *Recorder) stopPruning() {
	h := &r.history
	if h.stop == nil {
		return
	}
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}
