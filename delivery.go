package trail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

	// What the worker holds (queued or being delivered) and what it gave
	// up on, for CloseError.
	pendingFiles, pendingRecords, pendingDigests atomic.Int64
	lostFiles, lostRecords, lostDigests          atomic.Int64
	exited                                       atomic.Bool
}

// enqueue queues job, blocking while the queue is full, until the
// recorder's delivery context ends (Close gave up); a job it could not
// queue then counts as lost. It reports whether the job was queued.
func (w *sinkWorker) enqueue(job sinkJob) bool {
	w.hold(job, 1)
	select {
	case w.queue <- job:
		return true
	default:
	}
	select {
	case w.queue <- job:
		return true
	case <-w.rec.deliverCtx.Done():
		w.hold(job, -1)
		w.lose(job)
		return false
	}
}

// hold counts job as pending (n = 1) or no longer pending (n = -1).
func (w *sinkWorker) hold(job sinkJob, n int64) {
	switch {
	case job.file != nil:
		w.pendingFiles.Add(n)
		w.pendingRecords.Add(n * int64(len(job.file.Records)))
	case job.digest != nil:
		w.pendingDigests.Add(n)
	}
}

func (w *sinkWorker) lose(job sinkJob) {
	switch {
	case job.file != nil:
		w.lostFiles.Add(1)
		w.lostRecords.Add(int64(len(job.file.Records)))
	case job.digest != nil:
		w.lostDigests.Add(1)
	}
}

func (w *sinkWorker) run() {
	defer w.rec.workers.Done()
	defer w.exited.Store(true)
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
			w.hold(job, -1)
			if len(w.queue) == 0 {
				w.drainParked()
			}
		case <-w.pkick:
			w.drainParked()
		}
	}
}

func (w *sinkWorker) attempt(ctx context.Context, job sinkJob) error {
	w.rec.external.Add(1)
	defer w.rec.external.Add(-1)
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
		r.progress.Add(1)
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
			w.lose(job)
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
// the history worker and the pruning goroutine.
type historyState struct {
	store HistoryStore // nil when disabled
	opts  HistoryOptions

	// The history worker: the batcher hands it batches through queue
	// (not blocking on a store: a full queue drops the batch, counted,
	// except for the in-process store, see inProcess); it appends them
	// with ctx, which Close cancels when it gives up.
	queue  chan histBatch
	free   chan []Event // recycled batch slices
	ctx    context.Context
	cancel context.CancelFunc
	wdone  chan struct{} // closed when the history worker exits
	queued atomic.Int64  // events handed to the worker, not yet kept or lost
	idle   chan struct{} // the worker found its queue empty (a token, capacity 1)
	// inProcess: the store is the default MemoryHistory, which never waits
	// on anything outside the process. When its queue is full it is behind
	// on CPU, not stuck, and the batcher waits for room (bounded by
	// histWaitMax) rather than drop what it could keep.
	inProcess bool
	batches   atomic.Uint64 // batches the worker finished
	stalled   bool          // wait gave up, the worker then at stalledAt batches (batcher only)
	stalledAt uint64
	senders   sync.WaitGroup // hand-offs waiting for room in queue

	stop chan struct{} // closed by stopPruning
	done chan struct{} // closed when the pruning goroutine exits
	historySync
}

// histBatch is one batch for the history worker; mark, if set, is closed
// once the batch (and every batch before it) has been appended.
type histBatch struct {
	events []Event
	mark   chan<- struct{}
}

// histQueueBatches is the capacity of the history queue in batches (of up
// to histBatchSize events).
const histQueueBatches = 64

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
		h.inProcess = true
	case NoHistory:
		h.store = nil
	default:
		h.store = r.cfg.History
	}
	h.wdone = make(chan struct{})
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if h.store != nil {
		h.queue = make(chan histBatch, histQueueBatches)
		h.free = make(chan []Event, histQueueBatches+2)
		h.idle = make(chan struct{}, 1)
	}
	return nil
}

// wants reports whether an accepted, categorized event enters history.
func (h *historyState) wants(ev *Event) bool {
	return h.store != nil && (ev.EventCategory == CategoryManagement || ev.EventCategory == CategoryInsight || h.opts.DataEvents)
}

// offer queues b without blocking and reports whether it did.
func (h *historyState) offer(b histBatch) bool {
	select {
	case h.queue <- b:
		h.queued.Add(int64(len(b.events)))
		return true
	default:
		return false
	}
}

// histWaitMax bounds how long the batcher waits for room in the history
// queue of an in-process store (see historyState.inProcess) while the
// worker makes no progress.
const histWaitMax = time.Second

// wait queues b, waiting for room while the worker keeps appending (giving
// up once it appended nothing for histWaitMax), and reports whether it did.
// Once it gave up, it does not wait again until the worker has progressed.
func (h *historyState) wait(b histBatch) bool {
	seen := h.batches.Load()
	if h.stalled && seen == h.stalledAt {
		return false
	}
	h.stalled = false
	t := time.NewTimer(histWaitMax)
	defer t.Stop()
	h.queued.Add(int64(len(b.events)))
	for {
		select {
		case h.queue <- b:
			return true
		case <-t.C:
			if now := h.batches.Load(); now != seen {
				seen = now
				t.Reset(histWaitMax)
				continue
			}
			h.stalled, h.stalledAt = true, seen
		case <-h.ctx.Done():
		}
		h.queued.Add(-int64(len(b.events)))
		return false
	}
}

// freeSlice returns an empty batch slice, recycled if one is free.
func (h *historyState) freeSlice() []Event {
	select {
	case s := <-h.free:
		return s
	default:
		return make([]Event, 0, histBatchSize)
	}
}

// recycle returns a batch slice for reuse (dropping what it refers to).
func (h *historyState) recycle(s []Event) {
	if cap(s) != histBatchSize {
		return
	}
	clear(s)
	select {
	case h.free <- s[:0]:
	default:
	}
}

// closeQueue ends the history worker's input (the batcher calls it last),
// once the hand-offs still running (see pipe.handOffHistory) are done.
func (h *historyState) closeQueue() {
	if h.queue == nil {
		return
	}
	go func() {
		h.senders.Wait()
		close(h.queue)
	}()
}

// runHistory is the history worker: it appends batches until the queue is
// closed. What the store fails to keep is counted in Stats.HistoryDropped
// and reported to OnError as a *HistoryError.
func (r *Recorder) runHistory() {
	h := &r.history
	defer close(h.wdone)
	if h.queue == nil {
		return
	}
	for b := range h.queue {
		n := len(b.events)
		switch {
		case n == 0:
		case h.ctx.Err() != nil:
			r.historyLost(n, "the recorder closed before the store kept them")
		default:
			r.external.Add(1)
			err := h.store.Append(h.ctx, b.events)
			r.external.Add(-1)
			if err != nil {
				r.stats.histErr.Add(1)
				r.stats.histDropped.Add(uint64(n))
				r.report(&HistoryError{Events: n, Reason: "HistoryStore.Append failed", Err: err})
			}
		}
		h.queued.Add(-int64(n))
		h.appended(n)
		h.batches.Add(1)
		r.progress.Add(1)
		h.recycle(b.events)
		if b.mark != nil {
			close(b.mark)
		}
		if len(h.queue) == 0 {
			select { // the batcher hands over what it collected meanwhile
			case h.idle <- struct{}{}:
			default:
			}
		}
	}
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
