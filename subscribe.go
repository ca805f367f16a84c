package trail

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
)

// EventMatcher selects events for a subscription. *filter.Pattern (a
// compiled CloudWatch Logs filter pattern) satisfies it.
type EventMatcher interface {
	MatchEvent(ev *Event) bool
}

// EventObserver sees accepted events as Record accepts them: metric filters
// (*filter.Metrics), detectors, counters. ObserveEvent is called on the
// goroutine that called Record, after the event was accepted, so it must be
// quick and must not block; it must not keep ev (or anything ev points to
// that it may modify) after it returns, and must not modify ev.
type EventObserver interface {
	ObserveEvent(ev *Event)
}

// Cursor is the position of an event in the recorder's stream of accepted
// events: the first event accepted after the first Subscribe is 1, the next
// 2, and so on. Resuming a subscription from cursor X delivers the events
// after X.
type Cursor uint64

// DefaultReplayEvents is the default of Config.ReplayEvents.
const DefaultReplayEvents = 4096

// DefaultSubscriptionBuffer is the default of SubscribeOptions.Buffer.
const DefaultSubscriptionBuffer = 1024

// ErrSubscriptionClosed is the error of a subscription closed by its
// Close method.
var ErrSubscriptionClosed = errors.New("trail: subscription closed")

// ErrCursorExpired is wrapped by the *CursorError of a resume cursor whose
// successors have left the replay buffer.
var ErrCursorExpired = errors.New("trail: cursor no longer in the replay buffer")

// FellBehindError ends a subscription whose reader did not keep up: its
// buffer was full when an event for it was accepted. Every event up to and
// including Cursor was delivered on the channel; Subscribe again with
// From: Cursor to continue without a gap or a duplicate (while the events
// after Cursor are still in the replay buffer).
type FellBehindError struct {
	Cursor Cursor
}

// Error returns "fell behind, resume from cursor X".
func (e *FellBehindError) Error() string {
	return fmt.Sprintf("trail: subscriber fell behind, resume from cursor %d", e.Cursor)
}

// CursorError reports a resume cursor Subscribe cannot serve.
type CursorError struct {
	Cursor Cursor // the cursor asked for
	Oldest Cursor // the oldest event the replay buffer still holds (0: none)
	Latest Cursor // the newest accepted event
	Err    error  // ErrCursorExpired, or nil for a cursor beyond Latest
}

// Error describes the cursor and what the buffer holds.
func (e *CursorError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("trail: cursor %d is beyond the newest event (%d)", e.Cursor, e.Latest)
	}
	return fmt.Sprintf("trail: cursor %d: events after it are gone (replay buffer holds %d..%d)", e.Cursor, e.Oldest, e.Latest)
}

// Unwrap returns Err.
func (e *CursorError) Unwrap() error { return e.Err }

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Filter selects the events (nil: every accepted event).
	Filter EventMatcher
	// From resumes after this cursor: the events accepted after it are
	// replayed from the recorder's replay buffer, then live events follow,
	// with no gap and no duplicate. Zero: live events from now on.
	From Cursor
	// Buffer is how many events the subscription holds for its reader
	// (default DefaultSubscriptionBuffer). When it is full, the
	// subscription ends with a *FellBehindError; the recorder never waits.
	Buffer int
}

// StreamEvent is one event of a subscription.
type StreamEvent struct {
	Cursor Cursor
	Event  Event
}

// Subscription delivers accepted events that match its filter. Read them
// from C or Events; when C is closed, Err says why.
type Subscription struct {
	r      *Recorder
	filter EventMatcher
	ch     chan StreamEvent
	last   Cursor // the newest cursor sent on ch (under r.subs.mu)
	err    error  // why it ended (under r.subs.mu)
	done   bool   // under r.subs.mu
}

// C returns the channel the events arrive on. It is closed when the
// subscription ends.
func (s *Subscription) C() <-chan StreamEvent { return s.ch }

// Err returns why the subscription ended (a *FellBehindError,
// ErrSubscriptionClosed, ErrClosed), or nil while it runs.
func (s *Subscription) Err() error {
	s.r.subs.mu.Lock()
	defer s.r.subs.mu.Unlock()
	return s.err
}

// Close ends the subscription; events still buffered stay readable.
func (s *Subscription) Close() {
	h := &s.r.subs
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, ErrSubscriptionClosed)
}

// Events returns an iterator over the subscription's events. It ends
// when ctx ends (yielding ctx's error), when the subscription ends for any
// reason but Close (yielding that error: a *FellBehindError says where to
// resume), or when the loop breaks. Breaking out does not close the
// subscription.
func (s *Subscription) Events(ctx context.Context) iter.Seq2[StreamEvent, error] {
	return func(yield func(StreamEvent, error) bool) {
		for {
			select {
			case ev, ok := <-s.ch:
				if !ok {
					if err := s.Err(); err != nil && !errors.Is(err, ErrSubscriptionClosed) {
						yield(StreamEvent{}, err)
					}
					return
				}
				if !yield(ev, nil) {
					return
				}
			case <-ctx.Done():
				yield(StreamEvent{}, ctx.Err())
				return
			}
		}
	}
}

// subscriptions is the recorder's fan-out to subscribers and observers.
type subscriptions struct {
	active atomic.Bool // a Subscribe has happened: keep cursors and the replay buffer
	mu     sync.Mutex
	seq    Cursor        // the newest cursor handed out
	ring   []StreamEvent // replay buffer; ring[seq % len] holds seq
	subs   []*Subscription
	closed bool
}

var observerScratch = sync.Pool{New: func() any { return new(Event) }}

// Subscribe starts a subscription. It fails with a *CursorError when From is
// not in the replay buffer, with ErrClosed after Close, and with
// ErrNoRecorder on a Recorder not made by New.
func (r *Recorder) Subscribe(opts SubscribeOptions) (*Subscription, error) {
	if err := r.unusable(); err != nil {
		return nil, err
	}
	if opts.Buffer < 0 {
		return nil, fmt.Errorf("%w: negative subscription buffer", ErrInvalidConfig)
	}
	if opts.Buffer == 0 {
		opts.Buffer = DefaultSubscriptionBuffer
	}
	h := &r.subs
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.ring == nil {
		n := r.cfg.ReplayEvents
		if n <= 0 {
			n = DefaultReplayEvents
		}
		h.ring = make([]StreamEvent, n)
		h.active.Store(true)
	}
	s := &Subscription{r: r, filter: opts.Filter, ch: make(chan StreamEvent, opts.Buffer), last: h.seq}
	if opts.From != 0 {
		if opts.From > h.seq {
			return nil, &CursorError{Cursor: opts.From, Oldest: h.oldestLocked(), Latest: h.seq}
		}
		if opts.From < h.seq && opts.From+1 < h.oldestLocked() {
			return nil, &CursorError{Cursor: opts.From, Oldest: h.oldestLocked(), Latest: h.seq, Err: ErrCursorExpired}
		}
		s.last = opts.From
		for c := opts.From + 1; c <= h.seq; c++ {
			se := &h.ring[int(c%Cursor(len(h.ring)))]
			if s.filter != nil && !s.filter.MatchEvent(&se.Event) {
				continue
			}
			select {
			case s.ch <- *se:
				s.last = c
			default:
				// the replay alone fills the buffer: the reader resumes from here
				s.err, s.done = &FellBehindError{Cursor: s.last}, true
				close(s.ch)
				return s, nil
			}
		}
		s.last = h.seq
	}
	h.subs = append(h.subs, s)
	return s, nil
}

// oldestLocked returns the oldest cursor the ring still holds (0: none).
func (h *subscriptions) oldestLocked() Cursor {
	if h.seq == 0 {
		return 0
	}
	if n := Cursor(len(h.ring)); h.seq > n {
		return h.seq - n + 1
	}
	return 1
}

func (h *subscriptions) endLocked(s *Subscription, err error) {
	if s.done {
		return
	}
	s.done, s.err = true, err
	close(s.ch)
	for i, x := range h.subs {
		if x == s {
			h.subs = append(h.subs[:i], h.subs[i+1:]...)
			break
		}
	}
}

// closeAll ends every subscription with ErrClosed (Recorder.Close).
func (h *subscriptions) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for len(h.subs) > 0 {
		h.endLocked(h.subs[0], ErrClosed)
	}
}

// publish hands an accepted event to observers and subscribers. It never
// blocks on a reader and never keeps ev.
func (r *Recorder) publish(ev *Event, set *selectorSet, mask uint64) {
	obs := r.cfg.Observers
	trailObs := false
	if set != nil && mask != 0 {
		for i, ts := range set.states {
			if mask&(1<<i) != 0 && len(ts.cfg.Observers) > 0 {
				trailObs = true
				break
			}
		}
	}
	if len(obs) > 0 || trailObs {
		scratch := observerScratch.Get().(*Event)
		*scratch = *ev
		for _, o := range obs {
			o.ObserveEvent(scratch)
		}
		if trailObs {
			for i, ts := range set.states {
				if mask&(1<<i) == 0 {
					continue
				}
				for _, o := range ts.cfg.Observers {
					o.ObserveEvent(scratch)
				}
			}
		}
		*scratch = Event{}
		observerScratch.Put(scratch)
	}
	h := &r.subs
	if !h.active.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	slot := &h.ring[int(h.seq%Cursor(len(h.ring)))]
	slot.Cursor, slot.Event = h.seq, *ev
	for i := 0; i < len(h.subs); i++ {
		s := h.subs[i]
		if s.filter != nil && !s.filter.MatchEvent(&slot.Event) {
			continue
		}
		select {
		case s.ch <- *slot:
			s.last = h.seq
		default:
			h.endLocked(s, &FellBehindError{Cursor: s.last})
			i--
		}
	}
}
