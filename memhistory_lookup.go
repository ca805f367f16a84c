package trail

import (
	"bytes"
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Lookup returns one page of the events matching q, newest first (see
// HistoryStore).
func (m *MemoryHistory) Lookup(ctx context.Context, q *QueryInput) (*QueryOutput, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	cur, hasCur, err := m.tokens.Decode(q)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := q.PageSize()
	p := memPlan{q: q, cur: cur, hasCur: hasCur}
	p.lo, p.hi = q.TimeBounds(time.Now())
	if hasCur {
		p.curT = cur.Time.Unix()
		p.curID = []byte(cur.EventID)
		p.hi = min(p.hi, p.curT)
	}
	p.compile(m.seed)

	m.mu.RLock()
	defer m.mu.RUnlock()
	p.lo = max(p.lo, m.cutoff)
	cache := blockCache{pool: &m.bufs}
	defer cache.release()
	// Index conditions can match a value whose hash collides with the
	// wanted one; the decoded events are checked, and if one fails the
	// search is redone checking every candidate.
	top := m.search(&p, k+1, nil)
	events, ok := m.decodeAll(top, &p, &cache)
	if !ok {
		top = m.search(&p, k+1, &cache)
		events, _ = m.decodeAll(top, &p, &cache)
	}
	page := &QueryOutput{Events: events}
	if len(events) > k {
		page.Events = events[:k]
		last := &events[k-1]
		page.NextToken = m.tokens.Encode(q, PageCursor{Time: last.EventTime, EventID: last.EventID})
	}
	return page, nil
}

type memCond struct {
	idx int
	h   uint64
}

type metaCheck struct{ mask, want uint8 }

// memPlan is a query compiled for the segments.
type memPlan struct {
	q      *QueryInput
	lo, hi int64
	cur    PageCursor
	hasCur bool
	curT   int64
	curID  []byte

	eventIDs []string
	chains   []memCond
	multis   []memCond
	meta     []metaCheck
	idSeed   maphash.Seed
}

func (p *memPlan) compile(seed maphash.Seed) {
	p.idSeed = seed
	for _, a := range p.q.LookupAttributes {
		h := maphash.String(seed, a.Value)
		switch a.Key {
		case LookupEventID:
			p.eventIDs = append(p.eventIDs, a.Value)
		case LookupEventName:
			p.chains = append(p.chains, memCond{chainEventName, h})
		case LookupEventSource:
			p.chains = append(p.chains, memCond{chainEventSource, h})
		case LookupUsername:
			p.chains = append(p.chains, memCond{chainUsername, h})
		case LookupAccessKeyID:
			p.chains = append(p.chains, memCond{chainAccessKey, h})
		case LookupErrorCode:
			p.chains = append(p.chains, memCond{chainErrorCode, h})
		case LookupResourceType:
			p.multis = append(p.multis, memCond{multiResourceType, h})
		case LookupResourceName:
			p.multis = append(p.multis, memCond{multiResourceName, h})
		case LookupReadOnly:
			want := uint8(0)
			if a.Value == "true" {
				want = metaReadOnly
			}
			p.meta = append(p.meta, metaCheck{metaReadOnly, want})
		case LookupEventCategory:
			p.meta = append(p.meta, metaCheck{metaCatMask, categoryCode(a.Value) << metaCatShift})
		}
	}
	switch p.q.Errors {
	case OnlyErrors:
		p.meta = append(p.meta, metaCheck{metaError, metaError})
	case NoErrors:
		p.meta = append(p.meta, metaCheck{metaError, 0})
	}
}

// memCand is a candidate event.
type memCand struct {
	t   int64
	s   *memSegment
	seq int
}

// newer reports whether a comes before b in history order.
func newer(a, b *memCand) bool {
	if a.t != b.t {
		return a.t > b.t
	}
	var x, y [36]byte
	return bytes.Compare(a.s.eventID(a.seq, &x), b.s.eventID(b.seq, &y)) > 0
}

// topK keeps the k newest candidates in a heap whose root is the oldest.
type topK struct {
	k int
	h []memCand
}

func (t *topK) full() bool { return len(t.h) == t.k }

func (t *topK) offer(c memCand) {
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		t.up(len(t.h) - 1)
		return
	}
	if !newer(&c, &t.h[0]) {
		return
	}
	t.h[0] = c
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !newer(&t.h[p], &t.h[i]) {
			return
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && newer(&t.h[l], &t.h[r]) {
			c = r
		}
		if !newer(&t.h[i], &t.h[c]) {
			return
		}
		t.h[i], t.h[c] = t.h[c], t.h[i]
		i = c
	}
}

// memIter yields the seqs of a segment that an index selects, descending.
type memIter struct {
	kind int // iterAll, iterChain, iterMulti, iterOne
	c    *chainIndex
	m    *multiIndex
	cur  int // next seq (all, one) or link (chain: seq+1, multi: entry+1)
	last int // for followers: the current seq
}

const (
	iterAll = iota
	iterChain
	iterMulti
	iterOne
)

func (it *memIter) next() int {
	switch it.kind {
	case iterAll:
		s := it.cur
		it.cur--
		return s
	case iterOne:
		s := it.cur
		it.cur = -1
		return s
	case iterChain:
		if it.cur == 0 {
			return -1
		}
		s := it.cur - 1
		it.cur = int(it.c.prev[s])
		return s
	}
	if it.cur == 0 {
		return -1
	}
	e := it.cur - 1
	it.cur = int(it.m.eprev[e])
	return int(it.m.eseq[e])
}

// has reports whether the follower yields seq; calls must come with
// descending seqs.
func (it *memIter) has(seq int) bool {
	for it.last > seq {
		it.last = it.next()
	}
	return it.last == seq
}

// search returns the best k candidates, newest first. With a non-nil cache
// every candidate is decoded and checked against the query first.
func (m *MemoryHistory) search(p *memPlan, k int, verify *blockCache) []memCand {
	segs := make([]*memSegment, 0, len(m.segs))
	for _, s := range m.segs {
		lo := max(p.lo, s.cutoff)
		if s.n == 0 || s.maxT < lo || s.minT > p.hi {
			continue
		}
		segs = append(segs, s)
	}
	slices.SortFunc(segs, func(a, b *memSegment) int {
		switch {
		case a.maxT > b.maxT:
			return -1
		case a.maxT < b.maxT:
			return 1
		}
		return 0
	})
	top := &topK{k: k, h: make([]memCand, 0, k)}
	for _, s := range segs {
		if top.full() && top.h[0].t > s.maxT {
			break
		}
		m.searchSeg(s, p, top, verify)
	}
	out := top.h
	slices.SortFunc(out, func(a, b memCand) int {
		if newer(&a, &b) {
			return -1
		}
		return 1
	})
	return out
}

func (m *MemoryHistory) searchSeg(s *memSegment, p *memPlan, top *topK, verify *blockCache) {
	lo := max(p.lo, s.cutoff)
	// Pick the driving index: an event ID, else the shortest chain, else
	// every event.
	drv := memIter{kind: iterAll, cur: s.n - 1}
	best := uint32(s.n) + 1
	var followers []memIter
	var one int = -1
	for i, id := range p.eventIDs {
		seq := m.findID(s, keyOf(id))
		if seq < 0 || (i > 0 && seq != one) {
			return
		}
		one = seq
	}
	if one >= 0 {
		drv, best = memIter{kind: iterOne, cur: one}, 1
	}
	// consider makes it the driver when its posting list is the shortest so
	// far; every other iterator follows (filters) the driver.
	consider := func(it memIter, n uint32) {
		if n < best {
			if drv.kind != iterAll {
				followers = append(followers, drv)
			}
			drv, best = it, n
		} else {
			followers = append(followers, it)
		}
	}
	for _, c := range p.chains {
		ci := &s.chains[c.idx]
		slot, ok := ci.slot[c.h]
		if !ok {
			return
		}
		consider(memIter{kind: iterChain, c: ci, cur: int(ci.head[slot])}, ci.count[slot])
	}
	for _, c := range p.multis {
		mi := &s.multi[c.idx]
		slot, ok := mi.slot[c.h]
		if !ok {
			return
		}
		consider(memIter{kind: iterMulti, m: mi, cur: int(mi.head[slot])}, mi.count[slot])
	}
	for i := range followers {
		followers[i].last = followers[i].next()
	}
	var idBuf [36]byte
	for seq := drv.next(); seq >= 0; seq = drv.next() {
		if top.full() && top.h[0].t > s.prefMax[seq/memBlockEvents] {
			break
		}
		t := s.times[seq]
		if t < lo || t > p.hi {
			continue
		}
		meta := s.meta[seq]
		ok := true
		for _, c := range p.meta {
			if meta&c.mask != c.want {
				ok = false
				break
			}
		}
		for i := range followers {
			if !ok {
				break
			}
			ok = followers[i].has(seq)
		}
		if !ok {
			continue
		}
		if p.hasCur && t == p.curT && bytes.Compare(s.eventID(seq, &idBuf), p.curID) >= 0 {
			continue
		}
		c := memCand{t: t, s: s, seq: seq}
		if verify != nil {
			if ev, ok := m.decode(s, seq, verify); !ok || !p.q.Match(&ev) {
				continue
			}
		}
		top.offer(c)
	}
}

// blockCache keeps the blocks one lookup decompressed, in buffers from
// pool.
type blockCache struct {
	pool *sync.Pool
	keys []blockKey
	raws [][]byte
}

// release recycles the cache's buffers; decoded events do not refer to them.
func (c *blockCache) release() {
	for i, raw := range c.raws {
		if cap(raw) <= 1<<20 {
			c.pool.Put(&raw)
		}
		c.raws[i] = nil
	}
	c.keys, c.raws = c.keys[:0], c.raws[:0]
}

type blockKey struct {
	s *memSegment
	b int
}

func (c *blockCache) get(dec *zstd.Decoder, s *memSegment, b int) ([]byte, bool) {
	if b < 0 {
		return s.dict, true
	}
	if b == len(s.blocks) {
		return s.open, true
	}
	k := blockKey{s, b}
	for i, kk := range c.keys {
		if kk == k {
			return c.raws[i], true
		}
	}
	if dec == nil {
		return nil, false
	}
	var buf []byte
	if p, _ := c.pool.Get().(*[]byte); p != nil {
		buf = (*p)[:0]
	}
	raw, err := dec.DecodeAll(s.blocks[b], buf)
	if err != nil {
		return nil, false
	}
	c.keys = append(c.keys, k)
	c.raws = append(c.raws, raw)
	return raw, true
}

// decode returns the event at seq.
func (m *MemoryHistory) decode(s *memSegment, seq int, cache *blockCache) (Event, bool) {
	var ev Event
	b := -1
	if seq >= s.dictN {
		b = (seq - s.dictN) / memBlockEvents
	}
	raw, ok := cache.get(m.dec, s, b)
	off := int(s.rowOff[seq])
	if !ok || off > len(raw) {
		return ev, false
	}
	d := rowDecoder{b: raw[off:], strs: s.strs}
	if !d.decodeRow(&ev) {
		return ev, false
	}
	ev.EventTime = time.Unix(s.times[seq], 0).UTC()
	if s.meta[seq]&metaIDNotUUID == 0 {
		var b [36]byte
		ev.EventID = string(s.eventID(seq, &b))
	}
	return ev, true
}

// decodeAll decodes the candidates; ok is false if one of them does not
// match the query.
func (m *MemoryHistory) decodeAll(top []memCand, p *memPlan, cache *blockCache) ([]Event, bool) {
	out := make([]Event, 0, len(top))
	ok := true
	for _, c := range top {
		ev, good := m.decode(c.s, c.seq, cache)
		if !good || !p.q.Match(&ev) {
			ok = false
			continue
		}
		out = append(out, ev)
	}
	return out, ok
}
