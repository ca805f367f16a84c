package trail

import (
	"context"
	"sync"
	"time"
)

// pipeline is the single goroutine that owns the batches and digest chains:
// it encodes each event once, appends it to the batch of every trail that
// selected it, hands history its events, cuts batches on time or size,
// passes files to the sink workers, and closes digest periods. It exits after
// the queue is closed and drained, once the last files and digests are queued
// and every sink worker has finished.
func (r *Recorder) pipeline(initial []*trailState) {
	defer close(r.done)
	p := &pipe{r: r, batches: map[batchKey]*batch{}, chains: map[chainKey]*chain{}}
	p.states = append(p.states, initial...)
	now := time.Now()
	var maint <-chan time.Time
	if r.spool != nil {
		p.recoverSpool(now)
		t := time.NewTicker(spoolMaintainEvery)
		defer t.Stop()
		maint = t.C
	}
	for _, ts := range p.states {
		p.startChains(ts, now)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var armedAt time.Time
	p.rearm(timer, &armedAt)
	for {
		var (
			it item
			ok bool
		)
		if len(r.queue) == 0 {
			p.flushHistory()
		}
		select {
		case it, ok = <-r.queue:
		case <-maint:
			p.spoolMaintain(false)
			continue
		case <-timer.C:
			armedAt = time.Time{}
			now := time.Now()
			p.cutDue(now)
			p.advanceChains(now)
			p.rearm(timer, &armedAt)
			continue
		}
		if !ok {
			break
		}
		if g := it.grp; g != nil { // spool mode: a committed group, in order
			for i := range g.items {
				p.handle(&g.items[i].it, timer, &armedAt)
			}
			g.recycle()
			continue
		}
		p.handle(&it, timer, &armedAt)
	}
	timer.Stop()
	p.flushHistory()
	now = time.Now()
	p.cutAll(now)
	p.finalDigests(now)
	for _, ts := range p.states {
		closeWorkers(ts.workers)
	}
	r.workers.Wait()
	if r.spool != nil {
		p.spoolMaintain(true)
	}
}

// handle takes one item off the ingest queue.
func (p *pipe) handle(it *item, timer *time.Timer, armedAt *time.Time) {
	if it.ctl != nil {
		p.flushHistory()
		p.control(it.ctl)
		p.rearm(timer, armedAt)
		return
	}
	if it.hsync != nil {
		p.flushHistory()
		close(it.hsync)
		return
	}
	if it.flush != nil {
		p.flushHistory()
		p.cutAll(time.Now())
		p.barrier(it.flush)
		p.rearm(timer, armedAt)
		return
	}
	p.add(it)
	if w := p.wake(); !w.IsZero() && (armedAt.IsZero() || w.Before(*armedAt)) {
		p.rearm(timer, armedAt)
	}
}

type pipe struct {
	r            *Recorder
	states       []*trailState // trails with running sink workers
	batches      map[batchKey]*batch
	chains       map[chainKey]*chain
	scratch      []byte
	hist         []Event
	nextDeadline time.Time // earliest batch deadline
	nextDigest   time.Time // earliest digest period end
	spoolNext    uint64    // spool: log index after the last event taken
}

func (p *pipe) send(ts *trailState, job sinkJob) {
	for _, w := range ts.workers {
		if job.digest != nil {
			if _, ok := w.sink.(DigestSink); !ok {
				continue
			}
		}
		if job.sf != nil && len(w.queue) >= spoolMemFiles {
			w.park(job.sf) // waits in the spool, not in memory
			continue
		}
		w.queue <- job
	}
}

// wake is when the pipeline must next act on its own.
func (p *pipe) wake() time.Time {
	w := p.nextDeadline
	if w.IsZero() || (!p.nextDigest.IsZero() && p.nextDigest.Before(w)) {
		w = p.nextDigest
	}
	return w
}

func (p *pipe) rearm(t *time.Timer, armedAt *time.Time) {
	t.Stop()
	*armedAt = p.wake()
	if armedAt.IsZero() {
		return
	}
	t.Reset(max(time.Until(*armedAt), 0))
}

// barrier closes done once every sink worker has finished the jobs queued
// before it.
func (p *pipe) barrier(done chan<- struct{}) {
	var wg sync.WaitGroup
	for _, ts := range p.states {
		for _, w := range ts.workers {
			wg.Add(1)
			w.queue <- sinkJob{barrier: &wg}
		}
	}
	go func() {
		wg.Wait()
		close(done)
	}()
}

func (p *pipe) flushHistory() {
	if len(p.hist) == 0 {
		return
	}
	if err := p.r.history.store.Append(context.Background(), p.hist); err != nil {
		p.r.stats.histErr.Add(1)
		p.r.report(err)
	}
	p.r.history.appended(len(p.hist))
	clear(p.hist)
	p.hist = p.hist[:0]
}

func closeWorkers(ws []*sinkWorker) {
	for _, w := range ws {
		close(w.queue)
	}
}

// control carries a trail-management change through the ingest queue, so
// that it takes effect between two events in queue order.
type control struct {
	op      controlOp
	ts      *trailState
	cfg     Trail         // ctlUpdate: the new configuration
	val     *validator    // ctlUpdate: its validator
	workers []*sinkWorker // ctlUpdate: new (started) workers, or nil to keep
	restart bool          // ctlUpdate: end the digest chains
	done    chan struct{}
}

type controlOp int

const (
	ctlAdd controlOp = iota
	ctlStart
	ctlStop
	ctlUpdate
	ctlDelete
)

func (p *pipe) control(c *control) {
	defer close(c.done)
	now := time.Now()
	ts := c.ts
	switch c.op {
	case ctlAdd:
		p.states = append(p.states, ts)
	case ctlStart:
		ts.active = true
		ts.noResume = true
		p.startChains(ts, now)
	case ctlStop:
		p.cutTrail(ts, now)
		p.endChains(ts, now)
		ts.active = false
	case ctlUpdate:
		p.cutTrail(ts, now)
		if c.restart {
			p.endChains(ts, now)
		}
		ts.mu.Lock()
		if c.workers != nil {
			ts.retiredSinks = append(ts.retiredSinks, ts.cfg.Sinks...)
		}
		ts.cfg = c.cfg
		ts.mu.Unlock()
		ts.val = c.val
		if c.workers != nil {
			closeWorkers(ts.workers)
			ts.workers = c.workers
		}
		if c.restart {
			p.startChains(ts, now)
		}
	case ctlDelete:
		p.cutTrail(ts, now)
		p.endChains(ts, now)
		ts.active = false
		closeWorkers(ts.workers)
		for i, s := range p.states {
			if s == ts {
				p.states = append(p.states[:i], p.states[i+1:]...)
				break
			}
		}
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
