package trail

import (
	"context"
	"sync"
	"time"
)

// pipeline is the single goroutine that owns the batches: it encodes each
// event once, appends it to the batch of every trail that selected it, hands
// history its events, cuts batches on time or size, and passes files to the
// sink workers. It exits after the queue is closed and drained.
func (r *Recorder) pipeline() {
	defer close(r.done)
	p := &pipe{r: r, batches: map[batchKey]*batch{}}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
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
		case <-timer.C:
			armed = false
			p.cutDue(time.Now())
			p.rearm(timer, &armed)
			continue
		}
		if !ok {
			break
		}
		if it.flush != nil {
			p.flushHistory()
			p.cutAll(time.Now())
			p.barrier(it.flush)
			p.rearm(timer, &armed)
			continue
		}
		before := p.nextDeadline
		p.add(&it)
		if !armed || p.nextDeadline.Before(before) {
			p.rearm(timer, &armed)
		}
	}
	timer.Stop()
	p.flushHistory()
	p.cutAll(time.Now())
	for _, ts := range r.trails {
		for _, w := range ts.workers {
			close(w.queue)
		}
	}
	r.workers.Wait()
}

type pipe struct {
	r            *Recorder
	batches      map[batchKey]*batch
	scratch      []byte
	hist         []Event
	nextDeadline time.Time
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
	p.scratch = ev.AppendJSON(p.scratch[:0])
	rec := p.scratch
	now := time.Now()
	for i, ts := range p.r.trails {
		if it.mask&(1<<i) == 0 {
			continue
		}
		key := batchKey{trail: i, account: ev.RecipientAccountID, region: ev.AWSRegion}
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
		b.add(rec, ev.EventTime)
		if len(b.ends) >= ts.cfg.MaxRecords || len(b.buf)+2 >= ts.cfg.MaxBytes {
			p.cut(b, now)
		}
	}
}

// cut turns a non-empty batch into a file and queues it for every sink of
// the trail. Queuing blocks while a sink's queue is full.
func (p *pipe) cut(b *batch, now time.Time) {
	if len(b.ends) == 0 {
		return
	}
	ts := p.r.trails[b.key.trail]
	f, err := b.finish(ts, now)
	if err != nil {
		// gzip into memory cannot fail in practice; report it anyway.
		p.r.report(err)
		b.reset()
		return
	}
	for _, w := range ts.workers {
		w.queue <- sinkJob{file: f}
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

func (p *pipe) rearm(t *time.Timer, armed *bool) {
	t.Stop()
	*armed = false
	if p.nextDeadline.IsZero() {
		return
	}
	d := time.Until(p.nextDeadline)
	if d < 0 {
		d = 0
	}
	t.Reset(d)
	*armed = true
}

// barrier closes done once every sink worker has finished the jobs queued
// before it.
func (p *pipe) barrier(done chan<- struct{}) {
	var wg sync.WaitGroup
	for _, ts := range p.r.trails {
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
	if err := p.r.cfg.History.Append(context.Background(), p.hist); err != nil {
		p.r.stats.histErr.Add(1)
		p.r.report(err)
	}
	clear(p.hist)
	p.hist = p.hist[:0]
}
