package trail

// The batcher: open batches per (trail, account, region), their deadlines,
// and cutting them into log files.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// histBatchSize is how many events the batcher collects before it hands
// them to the history worker (it also hands off whenever its queue is
// empty and the worker idle).
const histBatchSize = 512

func (p *pipe) add(it *item) {
	ev := &it.ev
	if it.hist {
		p.hist = append(p.hist, *ev)
		if len(p.hist) >= histBatchSize {
			p.handOffHistory(nil)
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
		p.addTo(ts, ev.RecipientAccountID, ev.AWSRegion, ev.EventCategory == CategoryInsight, rec, ev.EventTime, it.idx, now, it.wait)
	}
	if it.wait != nil {
		for i, ts := range it.set.states {
			if it.mask&(1<<i) != 0 && !ts.active {
				it.wait.fileDone(ReceiptFile{}, fmt.Errorf("trail %q stopped logging before the event reached it", ts.name))
			}
		}
	}
}

// addTo appends one encoded record to its batch of ts, cutting the batch
// on size. idx is its spool log index (spool mode only). insight puts it
// in the stream of Insights files (CloudTrail-Insight/).
func (p *pipe) addTo(ts *trailState, account, region string, insight bool, rec []byte, eventTime time.Time, idx uint64, now time.Time, w *receiptWait) {
	key := batchKey{trail: ts, account: account, region: region, insight: insight}
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
	p.open.Add(1)
	if p.r.spool != nil {
		if len(b.ends) == 1 {
			b.first, b.spooled = idx, true
		}
		b.last = idx
	}
	if w != nil { // someone waits for the file: cut it soon
		b.waiters = append(b.waiters, w)
		if soon := now.Add(receiptLinger); soon.Before(b.deadline) {
			b.deadline = soon
			if p.nextDeadline.IsZero() || soon.Before(p.nextDeadline) {
				p.nextDeadline = soon
			}
		}
	}
	if len(b.ends) >= ts.cfg.MaxRecords || len(b.buf)+2 >= ts.cfg.MaxBytes {
		p.cut(b, now)
	}
}

// cut turns a non-empty batch into a file and hands it to the compress
// workers and, in cut order, to the chain stage, which records it in the
// digest chain and queues it for the trail's sinks once it is compressed.
// Handing off blocks while those queues are full.
func (p *pipe) cut(b *batch, now time.Time) {
	if len(b.ends) == 0 {
		return
	}
	ts := b.key.trail
	p.open.Add(-int64(len(b.ends)))
	job := &fileJob{ts: ts, level: ts.cfg.CompressionLevel, done: make(chan struct{}),
		first: b.first, last: b.last, spooled: b.spooled, insight: b.key.insight, waiters: b.waiters}
	b.waiters = nil
	job.f = b.finish(&ts.cfg, now)
	job.f.Instance = p.r.cfg.Instance
	ts.inflightFiles.Add(1)
	ts.inflightRecords.Add(int64(len(job.f.Records)))
	p.r.compressQ <- job
	p.down(chainMsg{job: job, now: now})
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

// cutTrail cuts the open batches of one trail.
func (p *pipe) cutTrail(ts *trailState, now time.Time) {
	for k, b := range p.batches {
		if k.trail == ts {
			p.cut(b, now)
		}
	}
	p.gc()
}

// batchKey identifies one stream of log files.
type batchKey struct {
	trail   *trailState
	account string
	region  string
	insight bool // Insights events: files under CloudTrail-Insight/
}

// batch accumulates encoded records for one (trail, account, region).
type batch struct {
	key            batchKey
	first, last    uint64         // spool log indexes of its first and last event
	waiters        []*receiptWait // RecordAndWait callers of its events
	spooled        bool           // its events are in the spool
	buf            []byte         // `{"Records":[` + records joined by ','
	ends           []int          // end offset of each record in buf
	oldest, newest time.Time
	deadline       time.Time
}

const recordsOpen = `{"Records":[`

func (b *batch) reset() {
	// Size the new body like the last one of this stream (plus a little),
	// so that a busy stream does not regrow its buffer by doubling.
	size := 64 << 10
	if n := len(b.buf) + len(b.buf)/8; n > size {
		size = n
	}
	b.buf = append(make([]byte, 0, size), recordsOpen...)
	b.ends = b.ends[:0] // LogFile.Records was copied out of it
	b.oldest, b.newest = time.Time{}, time.Time{}
	b.spooled = false
}

func (b *batch) add(rec []byte, t time.Time) {
	if len(b.ends) > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, rec...)
	b.ends = append(b.ends, len(b.buf))
	if b.oldest.IsZero() || t.Before(b.oldest) {
		b.oldest = t
	}
	if t.After(b.newest) {
		b.newest = t
	}
}

// size is the body size if rec were added now.
func (b *batch) sizeWith(rec []byte) int { return len(b.buf) + 1 + len(rec) + 2 }

// finish turns the batch into a LogFile without Body and SHA256 (the
// compress workers fill them in) and resets the batch, which must not be
// empty.
func (b *batch) finish(t *Trail, now time.Time) *LogFile {
	body := append(b.buf, ']', '}')
	recs := make([]json.RawMessage, len(b.ends))
	start := len(recordsOpen)
	for i, end := range b.ends {
		recs[i] = body[start:end:end]
		start = end + 1
	}
	f := &LogFile{
		Trail:           t.Name,
		Bucket:          t.Bucket,
		AccountID:       b.key.account,
		Region:          b.key.region,
		JSON:            body,
		Records:         recs,
		OldestEventTime: b.oldest,
		NewestEventTime: b.newest,
		Created:         now.UTC(),
	}
	if b.key.insight {
		f.Key = InsightFileKey(t.Prefix, t.Organization, b.key.account, b.key.region, now, uniqueString())
	} else {
		f.Key = LogFileKey(t.Prefix, t.Organization, b.key.account, b.key.region, now, uniqueString())
	}
	b.reset()
	return f
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// uniqueString returns CloudTrail's 16-character [A-Za-z0-9] file-name suffix.
func uniqueString() string {
	var b [16]byte
	for i := range b {
		b[i] = alnum[rand.N(len(alnum))]
	}
	return string(b[:])
}
