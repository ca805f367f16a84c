package trail

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Receipt says where a recorded event was stored: the log file of every
// trail that selected it, each stored by every sink of its trail.
type Receipt struct {
	EventID string        // the event's eventID (stamped when it had none)
	Files   []ReceiptFile // one per trail that selected the event; none if no trail did
}

// ReceiptFile is one stored log file holding the event.
type ReceiptFile struct {
	Trail  string // trail name
	Bucket string // the trail's bucket
	Key    string // object key of the log file
}

// receiptLinger is how soon a batch holding an event someone waits for is
// cut; events waited for meanwhile share the file.
const receiptLinger = 20 * time.Millisecond

// RecordAndWait records ev as Record does, then waits until the log file
// holding it is stored by every sink of every trail that selected it, and
// returns where it went: fail-closed auditing, as Vault's audit devices and
// Kubernetes' blocking-strict audit mode offer. The batches holding the
// event are cut within a few milliseconds (sharing the file with the
// events other callers wait for meanwhile), so that the wait is that of
// one delivery, not of Trail.Interval.
//
// It returns Record's errors, the *DeliveryError of a sink that gave up on
// the file, or ctx's error when ctx ends first (the event may still be
// delivered later).
func (r *Recorder) RecordAndWait(ctx context.Context, ev *Event) (Receipt, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	w := &receiptWait{done: make(chan struct{})}
	if err := r.record(ctx, ev, w); err != nil {
		return Receipt{}, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return Receipt{EventID: w.eventID}, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return Receipt{EventID: w.eventID, Files: w.files}, w.err
}

// receiptWait is one RecordAndWait call: one file per selected trail to go.
type receiptWait struct {
	eventID   string
	mu        sync.Mutex
	remaining int
	files     []ReceiptFile
	err       error
	done      chan struct{}
}

func (w *receiptWait) init(eventID string, mask uint64) {
	w.eventID = eventID
	w.remaining = bits.OnesCount64(mask)
	if w.remaining == 0 {
		close(w.done)
	}
}

// fileDone settles one trail's file: stored (err nil) or given up on.
func (w *receiptWait) fileDone(f ReceiptFile, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.remaining == 0 {
		return
	}
	if err != nil {
		if w.err == nil {
			w.err = err
		}
	} else {
		w.files = append(w.files, f)
	}
	w.remaining--
	if w.remaining == 0 {
		close(w.done)
	}
}

// fileTrack counts the sinks that still have to store one file someone
// waits for.
type fileTrack struct {
	file      ReceiptFile
	waiters   []*receiptWait
	remaining atomic.Int32
	mu        sync.Mutex
	err       error
}

func newFileTrack(f ReceiptFile, waiters []*receiptWait, sinks int) *fileTrack {
	t := &fileTrack{file: f, waiters: waiters}
	t.remaining.Store(int32(sinks))
	return t
}

// done records one sink's outcome (nil: stored); the last settles the
// waiters. A nil track does nothing.
func (t *fileTrack) done(err error) {
	if t == nil {
		return
	}
	if err != nil {
		t.mu.Lock()
		if t.err == nil {
			t.err = err
		}
		t.mu.Unlock()
	}
	if t.remaining.Add(-1) != 0 {
		return
	}
	t.mu.Lock()
	err = t.err
	t.mu.Unlock()
	for _, w := range t.waiters {
		w.fileDone(t.file, err)
	}
}
