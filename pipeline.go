package trail

import (
	"context"
	"fmt"
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
			p.spoolMaintain()
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
		if it.ctl != nil {
			p.flushHistory()
			p.control(it.ctl)
			p.rearm(timer, &armedAt)
			continue
		}
		if it.flush != nil {
			p.flushHistory()
			p.cutAll(time.Now())
			p.barrier(it.flush)
			p.rearm(timer, &armedAt)
			continue
		}
		p.add(&it)
		if w := p.wake(); !w.IsZero() && (armedAt.IsZero() || w.Before(armedAt)) {
			p.rearm(timer, &armedAt)
		}
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
		p.spoolMaintain()
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

func (p *pipe) add(it *item) {
	ev := &it.ev
	if it.hist {
		p.hist = append(p.hist, *ev)
		if len(p.hist) >= 512 {
			p.flushHistory()
		}
	}
	if it.mask == 0 {
		return
	}
	rec := it.enc // spooled events come encoded
	if rec == nil {
		p.scratch = ev.AppendJSON(p.scratch[:0])
		rec = p.scratch
	} else {
		p.spoolNext = it.idx + 1
	}
	now := time.Now()
	for i, ts := range it.set.states {
		if it.mask&(1<<i) == 0 || !ts.active {
			continue
		}
		p.addTo(ts, ev.RecipientAccountID, ev.AWSRegion, rec, ev.EventTime, it.idx, now)
	}
}

// addTo appends one encoded record to its batch of ts, cutting the batch
// on size. idx is its spool log index (spool mode only).
func (p *pipe) addTo(ts *trailState, account, region string, rec []byte, eventTime time.Time, idx uint64, now time.Time) {
	key := batchKey{trail: ts, account: account, region: region}
	b := p.batches[key]
	if b == nil {
		b = &batch{key: key}
		b.reset()
		p.batches[key] = b
	}
	if len(b.ends) > 0 && b.sizeWith(rec) > ts.cfg.MaxBytes {
		p.cut(b, now)
	}
	if len(b.ends) == 0 {
		b.deadline = now.Add(ts.cfg.Interval)
		if p.nextDeadline.IsZero() || b.deadline.Before(p.nextDeadline) {
			p.nextDeadline = b.deadline
		}
	}
	b.add(rec, eventTime)
	if p.r.spool != nil {
		if len(b.ends) == 1 {
			b.first, b.spooled = idx, true
		}
		b.last = idx
	}
	if len(b.ends) >= ts.cfg.MaxRecords || len(b.buf)+2 >= ts.cfg.MaxBytes {
		p.cut(b, now)
	}
}

// cut turns a non-empty batch into a file, records it in the digest chain,
// and queues it for every sink of the trail. Queuing blocks while a sink's
// queue is full.
func (p *pipe) cut(b *batch, now time.Time) {
	if len(b.ends) == 0 {
		return
	}
	ts := b.key.trail
	first, last, spooled := b.first, b.last, b.spooled
	f, err := b.finish(&ts.cfg, now)
	if err != nil {
		// gzip into memory cannot fail in practice; report it anyway.
		p.r.report(err)
		b.reset()
		return
	}
	if ts.val != nil {
		c := p.chainFor(ts, chainKey(b.key), now)
		p.roll(ts, c, now)
		c.files = append(c.files, DigestLogFile{Bucket: ts.cfg.Bucket, Key: f.Key, SHA256: f.SHA256,
			OldestEventTime: f.OldestEventTime, NewestEventTime: f.NewestEventTime})
	}
	job := sinkJob{file: f}
	if spooled {
		job.sf = p.spoolCut(ts, first, last, f)
	}
	p.send(ts, job)
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

func (p *pipe) cutDue(now time.Time) {
	p.nextDeadline = time.Time{}
	for _, b := range p.batches {
		if len(b.ends) == 0 {
			continue
		}
		if !b.deadline.After(now) {
			p.cut(b, now)
			continue
		}
		if p.nextDeadline.IsZero() || b.deadline.Before(p.nextDeadline) {
			p.nextDeadline = b.deadline
		}
	}
	p.gc()
}

func (p *pipe) cutAll(now time.Time) {
	for _, b := range p.batches {
		p.cut(b, now)
	}
	p.nextDeadline = time.Time{}
	p.gc()
}

// gc forgets empty batches so that streams of past accounts and regions do
// not accumulate.
func (p *pipe) gc() {
	for k, b := range p.batches {
		if len(b.ends) == 0 {
			delete(p.batches, k)
		}
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
	clear(p.hist)
	p.hist = p.hist[:0]
}

// chainFor returns the digest chain of k, creating it on first use: from
// Validation.Resume, else from the newest digest the sinks hold, else as a
// new chain whose first period is the grid period holding now.
func (p *pipe) chainFor(ts *trailState, k chainKey, now time.Time) *chain {
	if c := p.chains[k]; c != nil {
		return c
	}
	r := p.r
	prev, ok := ts.val.resume[acctRegion{k.account, k.region}]
	if ts.noResume {
		prev, ok = ChainState{}, true
	}
	if !ok && ts.val.reader != nil {
		ctx, cancel := context.WithTimeout(r.deliverCtx, 30*time.Second)
		st, err := loadChainState(ctx, ts.val.reader, &ts.cfg, r.cfg.Region, k)
		cancel()
		if err != nil {
			r.report(fmt.Errorf("trail %q: starting a new digest chain for %s/%s: %w", ts.cfg.Name, k.account, k.region, err))
		}
		prev = st
	}
	c := &chain{key: k, prev: prev}
	period := ts.val.period
	if !prev.IsZero() {
		c.start = prev.EndTime
	} else {
		c.start = r.start.Add(now.Sub(r.start).Truncate(period))
		if c.start.Before(ts.chainFloor) {
			c.start = ts.chainFloor
		}
	}
	c.end = p.boundaryAfter(ts, laterOf(now, c.start))
	p.chains[k] = c
	r.setChainState(k, prev)
	p.updateNextDigest()
	return c
}

// boundaryAfter returns the first grid boundary strictly after t.
func (p *pipe) boundaryAfter(ts *trailState, t time.Time) time.Time {
	period := ts.val.period
	if t.Before(p.r.start) {
		return p.r.start
	}
	return p.r.start.Add(t.Sub(p.r.start).Truncate(period) + period)
}

func (r *Recorder) setChainState(k chainKey, s ChainState) {
	if s.IsZero() {
		return
	}
	r.chainMu.Lock()
	r.chainStates[k] = s
	r.chainMu.Unlock()
}

func (p *pipe) updateNextDigest() {
	p.nextDigest = time.Time{}
	for _, c := range p.chains {
		if p.nextDigest.IsZero() || c.end.Before(p.nextDigest) {
			p.nextDigest = c.end
		}
	}
}

// roll closes every period of c that ended by now.
func (p *pipe) roll(ts *trailState, c *chain, now time.Time) {
	for !now.Before(c.end) {
		p.emitDigest(ts, c, c.end)
		c.end = p.boundaryAfter(ts, laterOf(c.end, c.start))
	}
}

func (p *pipe) advanceChains(now time.Time) {
	for _, c := range p.chains {
		p.roll(c.key.trail, c, now)
	}
	p.updateNextDigest()
}

// finalDigests closes the current period of every chain at Close.
func (p *pipe) finalDigests(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for _, c := range p.chains {
		p.finalDigest(c, now)
	}
}

// finalDigest closes c's current period at now (whole seconds).
func (p *pipe) finalDigest(c *chain, now time.Time) {
	ts := c.key.trail
	p.roll(ts, c, now)
	if now.After(c.start) {
		p.emitDigest(ts, c, now)
	} else if len(c.files) > 0 {
		p.emitDigest(ts, c, c.start.Add(time.Second))
	}
}

// emitDigest signs the digest of [c.start, end] and queues it for the sinks.
// If signing fails, the period stays open (its files are kept for the next
// digest) so the chain has no hole.
func (p *pipe) emitDigest(ts *trailState, c *chain, end time.Time) {
	r := p.r
	d := &Digest{
		Trail: ts.cfg.Name, Bucket: ts.cfg.Bucket, AccountID: c.key.account, Region: c.key.region,
		HomeRegion: r.cfg.Region, StartTime: c.start, EndTime: end, LogFiles: c.files, Previous: c.prev,
	}
	d.Key = DigestKey(ts.cfg.Prefix, ts.cfg.Organization, c.key.account, c.key.region, ts.cfg.Name, r.cfg.Region, end)
	i, inWindow := ts.val.ring.signerAt(end)
	if !inWindow {
		r.report(fmt.Errorf("trail %q: no signing key is valid at %s; signing with the newest key", ts.cfg.Name, end.Format(TimeFormat)))
	}
	if err := d.sign(ts.val.ring.keys[i].Signer, ts.val.ring.pubs[i].Fingerprint); err != nil {
		r.report(err)
		return
	}
	c.prev = d.State()
	c.start = end
	c.files = nil
	r.setChainState(c.key, c.prev)
	job := sinkJob{digest: d}
	if r.spool != nil {
		job.sf = p.spoolDigest(ts, d)
	}
	p.send(ts, job)
}

// startChains creates the home chain of a logging trail with validation, so
// that it writes digests (empty ones too) from the start.
func (p *pipe) startChains(ts *trailState, now time.Time) {
	if ts.val != nil && ts.active {
		p.chainFor(ts, chainKey{trail: ts, account: p.r.cfg.AccountID, region: p.r.cfg.Region}, now)
	}
}

// endChains writes the final digest of each of ts's chains and forgets them;
// chains started later begin afresh, no earlier than the final digests' end.
func (p *pipe) endChains(ts *trailState, now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for k, c := range p.chains {
		if k.trail != ts {
			continue
		}
		p.finalDigest(c, now)
		if c.start.After(ts.chainFloor) {
			ts.chainFloor = c.start
		}
		delete(p.chains, k)
		p.r.chainMu.Lock()
		delete(p.r.chainStates, k)
		p.r.chainMu.Unlock()
	}
	if now.After(ts.chainFloor) {
		ts.chainFloor = now
	}
	ts.noResume = true
	p.updateNextDigest()
}

// cutTrail cuts the open batches of one trail.
func (p *pipe) cutTrail(ts *trailState, now time.Time) {
	for k, b := range p.batches {
		if k.trail == ts {
			p.cut(b, now)
		}
	}
	p.gc()
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
