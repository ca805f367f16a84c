package trail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// sinkJob is one unit of work for a sink worker: a file to deliver, or a
// barrier that Flush waits on.
type sinkJob struct {
	file    *LogFile
	digest  *Digest
	barrier *sync.WaitGroup
	sf      *spoolFile // spool mode: released when the sink has it
	track   *fileTrack // receipts waiting for the file
}

// sinkWorker owns one sink of one trail: its queue and its retry loop.
type sinkWorker struct {
	rec   *Recorder
	trail *trailState
	sink  Sink
	name  string
	queue chan sinkJob

	// Spool mode: files that wait in the spool for this sink, rebuilt
	// when the worker gets to them.
	pmu    sync.Mutex
	parked []*spoolFile
	pkick  chan struct{}
}

func (w *sinkWorker) run() {
	defer w.rec.workers.Done()
	for {
		select {
		case job, ok := <-w.queue:
			if !ok {
				w.drainParked()
				return
			}
			if job.barrier != nil {
				w.drainParked()
				job.barrier.Done()
				continue
			}
			w.deliver(job)
			if len(w.queue) == 0 {
				w.drainParked()
			}
		case <-w.pkick:
			w.drainParked()
		}
	}
}

func (w *sinkWorker) attempt(ctx context.Context, job sinkJob) error {
	if job.digest != nil {
		return w.sink.(DigestSink).DeliverDigest(ctx, job.digest)
	}
	return w.sink.Deliver(ctx, job.file)
}

// deliver tries until the file is stored, the error is permanent, the
// attempts are used up, or the recorder's delivery context ends (Close ran
// out of time).
func (w *sinkWorker) deliver(job sinkJob) {
	r := w.rec
	ctx := r.deliverCtx
	for attempt := 1; ; attempt++ {
		err := w.attempt(ctx, job)
		if err == nil {
			if d := job.digest; d != nil {
				r.stats.digestsDelivered.Add(1)
				w.trail.noteDigestDelivered(d)
				if job.sf != nil {
					r.spool.stored(job.sf)
				}
				return
			}
			r.stats.filesDelivered.Add(1)
			r.stats.bytesDelivered.Add(uint64(len(job.file.Body)))
			w.trail.noteDelivered(job.file)
			if job.sf != nil {
				r.spool.stored(job.sf)
			}
			job.track.done(nil)
			return
		}
		final := errors.Is(err, ErrPermanent) || ctx.Err() != nil ||
			(r.retry.MaxAttempts > 0 && attempt >= r.retry.MaxAttempts)
		de := &DeliveryError{Trail: w.trail.name, Sink: w.name, Attempt: attempt, Final: final, Err: err}
		if job.digest != nil {
			de.Key, de.Digest = job.digest.Key, true
		} else {
			de.Key, de.Records = job.file.Key, len(job.file.Records)
		}
		if !final {
			de.Backoff = r.retry.backoff(attempt)
		}
		w.trail.noteFailure(de)
		r.reportDelivery(de)
		if final {
			if job.digest != nil {
				r.stats.digestsFailed.Add(1)
			} else {
				r.stats.filesFailed.Add(1)
			}
			r.noteLost(de, job.sf != nil)
			job.track.done(de)
			return
		}
		r.stats.retries.Add(1)
		t := time.NewTimer(de.Backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// historyState is the recorder's event history: the store, what enters it,
// and the pruning goroutine.
type historyState struct {
	store HistoryStore // nil when disabled
	opts  HistoryOptions
	stop  chan struct{} // closed by stopPruning
	done  chan struct{} // closed when the pruning goroutine exits
	historySync
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
	return h.store != nil && (ev.EventCategory == CategoryManagement || ev.EventCategory == CategoryInsight || h.opts.DataEvents)
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
