package trail

import (
	"sync"
	"sync/atomic"
	"time"
)

// trailState is one trail: its configuration, its sink workers and its
// status. Fields marked "batcher" or "chain stage" are owned by that stage's
// goroutine once the trail is known to it; cfg is written only by the
// batcher (and by trail management before the pipeline knows the trail),
// under mu, so that readers on other goroutines take mu.
type trailState struct {
	name string // immutable

	mu  sync.Mutex
	cfg Trail

	// batcher-owned
	active bool          // takes events
	period time.Duration // digest period, 0 without validation

	// chain-stage-owned
	chainCfg    Trail // the configuration the chain stage has reached
	workers     []*sinkWorker
	val         *validator   // nil without validation
	fleet       *fleetWriter // fleet mode (set once, in newTrailState)
	chainActive bool         // has digest chains
	noResume    bool         // new chains start fresh (after Start/StopLogging)
	chainFloor  time.Time    // new chains start no earlier than this

	// files cut by the batcher that the chain stage has not yet queued for
	// the sinks, and their records (for CloseError)
	inflightFiles, inflightRecords atomic.Int64

	// under Recorder.admin
	logging bool

	// status, under mu
	startTime, stopTime     time.Time
	lastDelivered           time.Time
	lastDeliveryAttempt     time.Time
	lastDeliveryErr         string
	lastDigestDelivered     time.Time
	lastDigestErr           string
	retiredSinks            []Sink        // sinks replaced by UpdateTrail, closed by Close
	allWorkers              []*sinkWorker // every sink worker the trail ever had
	deliveredFiles, digests uint64
}

func (t *trailState) config() Trail {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

func (t *trailState) allSinks() []Sink {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append(append([]Sink(nil), t.cfg.Sinks...), t.retiredSinks...)
}

func (t *trailState) startWorkers() {
	if t.fleet != nil {
		t.fleet.start()
	}
	for _, w := range t.workers {
		w.rec.workers.Add(1)
		go w.run()
	}
}

func (t *trailState) noteDelivered(f *LogFile) {
	t.mu.Lock()
	if f.Created.After(t.lastDelivered) {
		t.lastDelivered = f.Created
	}
	t.lastDeliveryAttempt = time.Now()
	t.lastDeliveryErr = ""
	t.deliveredFiles++
	t.mu.Unlock()
}

func (t *trailState) noteDigestDelivered(d *Digest) {
	t.mu.Lock()
	if d.EndTime.After(t.lastDigestDelivered) {
		t.lastDigestDelivered = d.EndTime
	}
	t.lastDigestErr = ""
	t.digests++
	t.mu.Unlock()
}

func (t *trailState) noteFailure(de *DeliveryError) {
	t.mu.Lock()
	if de.Digest {
		t.lastDigestErr = de.Err.Error()
	} else {
		t.lastDeliveryErr = de.Err.Error()
		t.lastDeliveryAttempt = time.Now()
	}
	t.mu.Unlock()
}
