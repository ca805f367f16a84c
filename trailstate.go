package trail

import (
	"sync"
	"time"
)

// trailState is one trail: its configuration, its sink workers and its
// status. Fields marked "pipeline" are owned by the pipeline goroutine once
// the trail is known to it; cfg is also written only by the pipeline (and by
// trail management before the pipeline knows the trail), under mu, so that
// readers on other goroutines take mu.
type trailState struct {
	name string // immutable

	mu  sync.Mutex
	cfg Trail

	// pipeline-owned
	workers    []*sinkWorker
	val        *validator   // nil without validation
	fleet      *fleetWriter // fleet mode (set once, in newTrailState)
	active     bool         // takes events
	noResume   bool         // new chains start fresh (after Start/StopLogging)
	chainFloor time.Time    // new chains start no earlier than this

	// under Recorder.admin
	logging bool

	// status, under mu
	startTime, stopTime     time.Time
	lastDelivered           time.Time
	lastDeliveryAttempt     time.Time
	lastDeliveryErr         string
	lastDigestDelivered     time.Time
	lastDigestErr           string
	retiredSinks            []Sink // sinks replaced by UpdateTrail, closed by Close
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
