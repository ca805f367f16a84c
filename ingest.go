package trail

import (
	"context"
	"fmt"
)

// The ingest stage: Record validates, stamps and copies the caller's event
// once, into a pooled item (its strings into a pooled arena), selects the
// trails that take it, and hands the item's pointer to the batcher through
// the bounded ingest queue. The batcher returns the item to the pool once
// it has encoded it (history keeps its own copy of the Event).
//
// A spool stage (write-ahead log) plugs in between ingest and the batcher:
// it takes items from the ingest queue and passes them on once durable.

// item travels through the ingest queue: an event with the trails that
// selected it, or a flush request or trail-management change.
type item struct {
	ev    Event
	set   *selectorSet // the set that computed mask
	mask  uint64
	hist  bool
	flush chan<- struct{}
	hsync chan<- struct{} // awaitHistory: closed once history is appended
	grp   *group          // spool mode: a committed group of items
	ctl   *control
	wait  *receiptWait // RecordAndWait: resolved when the event's files are stored

	// spool mode
	idx    uint64 // log index of the event record
	enc    []byte // the encoded record (a sub-slice of the committed group)
	encLen int
}

// Record validates ev, stamps what is missing on a copy, selects the trails
// that take it and hands it to the batcher. It does not wait for delivery.
// The caller may reuse ev once Record returns. An event without a
// userIdentity gets the one WithIdentity stored in ctx, if any. Once Record
// returned nil, LookupEvents and the other lookups see the event (when
// history keeps it).
//
// Errors: a *ValidationError for a malformed event; ErrClosed after Close;
// ErrOverloaded when the queue is full under the Reject policy; ctx's error
// when ctx ends while Record waits for room under the Block policy.
func (r *Recorder) Record(ctx context.Context, ev *Event) error {
	return r.record(ctx, ev, nil)
}

func (r *Recorder) record(ctx context.Context, ev *Event, w *receiptWait) error {
	if err := r.unusable(); err != nil {
		return err
	}
	if ev == nil {
		r.stats.invalid.Add(1)
		return &ValidationError{Field: "event", Reason: "nil event"}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if ev.UserIdentity.IsZero() {
		if id, ok := IdentityFrom(ctx); ok {
			ev = withIdentity(ev, id)
		}
	}
	a := r.arenas.Get().(*arena)
	it := r.getItem(a)
	err := r.prepare(&it.ev, ev, a)
	r.arenas.Put(a)
	if err != nil {
		r.putItem(it)
		r.stats.invalid.Add(1)
		return err
	}
	set := r.selectors.Load()
	set.categorize(&it.ev)
	if err := checkEncodedSize(&it.ev); err != nil { // after categorize: its fields count
		r.putItem(it)
		r.stats.invalid.Add(1)
		return err
	}
	it.set = set
	it.mask = set.match(&it.ev)
	it.hist = r.history.wants(&it.ev)
	if w != nil {
		w.init(it.ev.EventID, it.mask)
		if it.mask != 0 {
			it.wait = w
		}
	}
	if it.mask == 0 && !it.hist {
		select {
		case <-r.closing: // after Close, unselected events are refused too
			r.putItem(it)
			return ErrClosed
		default:
		}
		r.stats.recorded.Add(1)
		r.stats.unselected.Add(1)
		r.publish(&it.ev, set, 0)
		r.putItem(it)
		return nil
	}
	if it.hist {
		r.history.accepted() // before the hand-over: see historySync
	}
	if r.spool != nil {
		err = r.spool.record(ctx, it) // the spool keeps a copy
		if err == nil {
			r.publish(&it.ev, set, it.mask)
		}
		r.putItem(it)
		return err
	}
	mask := it.mask
	// Once queued, the item belongs to the batcher: publish from a copy
	// (only when someone observes or subscribes).
	var pub *Event
	if r.publishing(set, mask) {
		pub = observerScratch.Get().(*Event)
		*pub = it.ev
	}
	err = r.enqueue(ctx, it)
	if err != nil {
		r.putItem(it)
	} else {
		if mask == 0 {
			r.stats.unselected.Add(1) // for history only
		}
		if pub != nil {
			r.publish(pub, set, mask)
		}
	}
	if pub != nil {
		*pub = Event{}
		observerScratch.Put(pub)
	}
	return err
}

// publishing reports whether publish would pass an event of set and mask
// to anyone (observers or subscribers).
func (r *Recorder) publishing(set *selectorSet, mask uint64) bool {
	if len(r.cfg.Observers) > 0 || r.subs.active.Load() {
		return true
	}
	if set != nil && mask != 0 {
		for i, ts := range set.states {
			if mask&(1<<i) != 0 && len(ts.cfg.Observers) > 0 {
				return true
			}
		}
	}
	return false
}

// getItem returns an empty item from the pool, or else a new one from a's
// chunk of items (so that a burst that fills the ingest queue costs one
// allocation per itemChunk events).
func (r *Recorder) getItem(a *arena) *item {
	if it, ok := r.items.Get().(*item); ok {
		return it
	}
	if len(a.items) == cap(a.items) {
		a.items = make([]item, 0, itemChunk)
	}
	a.items = a.items[:len(a.items)+1]
	return &a.items[len(a.items)-1]
}

// itemChunk is how many items an arena allocates at a time.
const itemChunk = 64

// putItem clears it (so that the pool keeps no event memory alive) and
// returns it to the pool.
func (r *Recorder) putItem(it *item) {
	*it = item{}
	r.items.Put(it)
}

func (r *Recorder) enqueue(ctx context.Context, it *item) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.unpend(it)
		return ErrClosed
	}
	select {
	case r.queue <- it:
		r.stats.recorded.Add(1)
		return nil
	default:
	}
	switch r.cfg.Overflow {
	case Reject:
		r.unpend(it)
		r.stats.overloaded.Add(1)
		return ErrOverloaded
	case Drop:
		r.unpend(it)
		r.putItem(it)
		r.stats.dropped.Add(1)
		r.report(errDropped)
		return nil
	}
	select {
	case r.queue <- it:
		r.stats.recorded.Add(1)
		return nil
	case <-ctx.Done():
		r.unpend(it)
		return ctx.Err()
	case <-r.closing:
		r.unpend(it)
		return ErrClosed
	}
}

// unpend uncounts a history event that was not handed over.
func (r *Recorder) unpend(it *item) {
	if it.hist {
		r.history.abandoned()
	}
}

var errDropped = fmt.Errorf("%w: event dropped (overflow policy Drop)", ErrOverloaded)
