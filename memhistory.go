package trail

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// MemoryHistoryOptions configure a MemoryHistory. The zero value keeps 90
// days of events in at most 256 MiB.
type MemoryHistoryOptions struct {
	// MaxAge drops events older than this (default 90 days), on Append and
	// on Prune.
	MaxAge time.Duration
	// MaxBytes bounds the store's memory (default 256 MiB). When it is
	// exceeded the oldest events are evicted, a segment (32768 events) at a
	// time.
	MaxBytes int64
}

// MemoryHistory is the default HistoryStore: bounded, in memory, safe for
// concurrent use, and compact. Events are kept in segments of 32768. Inside
// a segment every record is a binary row whose recurring strings are
// interned in the segment's string table. A segment's first 128 rows (at
// most 64 KiB) stay uncompressed and serve as the zstd dictionary of the
// rest, which is compressed in blocks of 16 rows: small blocks keep random
// reads cheap, the dictionary keeps them as small as large blocks would be.
// Each lookup attribute has a posting list per value, kept as a chain (every
// event links to the previous event with the same value: two bytes per
// event and attribute), so a lookup visits only the events that match and
// decompresses only the blocks that hold its page. Event IDs are kept as
// 16 bytes per segment, and one ID index for the whole store (UUIDs parsed
// once) makes Append idempotent at the cost of one map probe per event,
// however many segments the store holds.
//
// Measured by BenchmarkMemoryHistoryHeap and BenchmarkMemoryHistoryLookup
// (memhistory_bench_test.go: 1,000,000 synthetic management events of about
// 1.5 KB of compact JSON each, from historytest.Generator; 2-core x86-64,
// Go 1.26):
//
//	heap per retained event                     280 B  (bar: 400 B; 206 B before the ID index)
//	50 newest events for a frequent EventName   0.28 ms (bar: 2 ms)
//	50 newest events for a rare EventName       0.60 ms
//	50 newest events, no attribute              0.10 ms
//	50 newest for a Username / ResourceType     0.57 ms / 0.27 ms
//	Append, batches of 512 (BenchmarkMemoryHistoryFill, CPU time):
//	  first 250,000 events of 1.5M              ~6 µs/event (was 8)
//	  last 250,000 (store full, evicting)       ~7.5 µs/event (was 26.5)
//
// Eviction is by segment: the store drops the oldest segment when it holds
// more than MaxBytes, and a segment once all its events are older than
// MaxAge or the last Prune. Events pruned from a segment that stays are
// hidden from lookups at once and freed with the segment.
type MemoryHistory struct {
	opts   MemoryHistoryOptions
	tokens *PageTokens
	seed   maphash.Seed

	mu       sync.RWMutex
	segs     []*memSegment      // oldest first
	nextNo   uint64             // number of the next segment
	ids      map[[16]byte]idRef // every held event with a UUID ID
	otherIDs map[string]idRef   // every held event with another ID
	cutoff   int64              // events before this Unix second are gone
	enc      *zstd.Encoder      // the open segment's (under mu, write)
	dec      *zstd.Decoder      // knows every segment's dictionary; DecodeAll is safe for concurrent use
	row      rowEncoder
	zbuf     []byte    // compression scratch
	bufs     sync.Pool // decompression buffers (*[]byte)
	sealed   int64     // bytes of full segments
	nextSeg  uint32    // dictionary ID of the next segment
}

// NewMemoryHistory returns an empty in-memory store.
func NewMemoryHistory(opts MemoryHistoryOptions) *MemoryHistory {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultHistoryRetention
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultHistoryMaxBytes
	}
	return &MemoryHistory{opts: opts, tokens: NewPageTokens(nil), seed: maphash.MakeSeed(), cutoff: math.MinInt64,
		ids: map[[16]byte]idRef{}, otherIDs: map[string]idRef{}}
}

const (
	memSegEvents   = 1 << 15  // events per segment (seq+1 fits in uint16)
	memBlockEvents = 16       // rows per compressed block
	memDictEvents  = 128      // a segment's first rows form its dictionary…
	memDictBytes   = 64 << 10 // …up to this size
	memMaxInterned = 1 << 14  // strings per segment string table
	memMaxIntern   = 256      // longer strings are not interned
	// memIDIndexBytes estimates the ID index's heap per event (a map
	// entry of 16+16 bytes at the map's load factor).
	memIDIndexBytes = 40
)

// Indexed attributes with one value per event.
const (
	chainEventName = iota
	chainEventSource
	chainUsername
	chainAccessKey
	chainErrorCode
	numChains
)

// Indexed attributes with several values per event.
const (
	multiResourceType = iota
	multiResourceName
	numMulti
)

// Event meta bits.
const (
	metaReadOnly  = 1 << 0
	metaError     = 1 << 1
	metaCatShift  = 2 // two bits: 0 Management, 1 Data, 2 NetworkActivity, 3 other
	metaCatMask   = 3 << metaCatShift
	metaIDNotUUID = 1 << 4
)

func categoryCode(c string) uint8 {
	switch c {
	case CategoryManagement:
		return 0
	case CategoryData:
		return 1
	case CategoryNetworkActivity:
		return 2
	}
	return 3
}

// chainIndex indexes an attribute with at most one value per event: every
// event links to the previous event with the same value.
type chainIndex struct {
	slot  map[uint64]uint32 // value hash → slot
	head  []uint16          // slot → newest seq+1
	count []uint32          // slot → events
	prev  []uint16          // seq → previous seq+1 with the same value, 0 if none
}

func (c *chainIndex) add(h uint64, seq int, has bool) {
	if !has {
		c.prev = append(c.prev, 0)
		return
	}
	if c.slot == nil {
		c.slot = map[uint64]uint32{}
	}
	s, ok := c.slot[h]
	if !ok {
		s = uint32(len(c.head))
		c.slot[h] = s
		c.head = append(c.head, 0)
		c.count = append(c.count, 0)
	}
	c.prev = append(c.prev, c.head[s])
	c.head[s] = uint16(seq + 1)
	c.count[s]++
}

// multiIndex indexes an attribute with any number of values per event.
type multiIndex struct {
	slot  map[uint64]uint32 // value hash → slot
	head  []uint32          // slot → newest entry+1
	count []uint32          // slot → entries
	eseq  []uint16          // entry → seq
	eprev []uint32          // entry → previous entry+1 of the slot
}

func (m *multiIndex) add(h uint64, seq int) {
	if m.slot == nil {
		m.slot = map[uint64]uint32{}
	}
	s, ok := m.slot[h]
	if !ok {
		s = uint32(len(m.head))
		m.slot[h] = s
		m.head = append(m.head, 0)
		m.count = append(m.count, 0)
	}
	if e := m.head[s]; e != 0 && int(m.eseq[e-1]) == seq {
		return // the same value twice in one event
	}
	m.eseq = append(m.eseq, uint16(seq))
	m.eprev = append(m.eprev, m.head[s])
	m.head[s] = uint32(len(m.eseq))
	m.count[s]++
}

// memSegment holds up to memSegEvents events in append order.
type memSegment struct {
	n      int
	times  []int64 // seq → Unix second
	meta   []uint8 // seq → meta bits
	no     uint64  // segment number (the ID index refers to it)
	ids    []byte  // seq → 16-byte UUID (zero when not a UUID)
	otherR map[uint16]string

	chains [numChains]chainIndex
	multi  [numMulti]multiIndex

	strs   []string
	strMap map[string]uint32 // nil once the segment is full

	dict    []byte   // rows 0..dictN-1, uncompressed: the dictionary
	dictN   int      // rows in dict (final once blocks start)
	dictID  uint32   // zstd dictionary ID
	blocks  [][]byte // compressed full blocks of memBlockEvents rows after dictN
	rowOff  []uint32 // seq → offset of its row in dict or its block
	open    []byte   // rows of the open block
	prefMax []int64  // seq/memBlockEvents → max time of seqs up to the end of that group

	minT, maxT int64
	cutoff     int64 // events before this Unix second are pruned
	size       int64 // bytes, computed when the segment fills
}

func newMemSegment(no uint64, cutoff int64) *memSegment {
	return &memSegment{no: no, minT: math.MaxInt64, maxT: math.MinInt64, cutoff: cutoff,
		strMap: map[string]uint32{}}
}

func (s *memSegment) full() bool { return s.n >= memSegEvents }

// bytes estimates the segment's heap.
func (s *memSegment) bytes() int64 {
	if s.size > 0 {
		return s.size
	}
	n := int64(cap(s.times)*8 + cap(s.meta) + cap(s.ids) + cap(s.rowOff)*4 + cap(s.open) +
		cap(s.dict) + cap(s.prefMax)*8)
	for _, b := range s.blocks {
		n += int64(cap(b)) + 24
	}
	for i := range s.chains {
		c := &s.chains[i]
		n += int64(cap(c.prev)*2+cap(c.head)*2+cap(c.count)*4) + int64(len(c.slot))*20
	}
	for i := range s.multi {
		m := &s.multi[i]
		n += int64(cap(m.eseq)*2+cap(m.eprev)*4+cap(m.head)*4+cap(m.count)*4) + int64(len(m.slot))*20
	}
	for _, str := range s.strs {
		n += int64(len(str)) + 16
	}
	n += int64(len(s.strMap)) * 24
	n += int64(len(s.otherR)) * 64
	n += int64(s.n) * memIDIndexBytes // the store's ID index
	return n
}

// idKey is an event ID in the store's ID index: a UUID packed into 16
// bytes (parsed once per event), or, for the rare other IDs, the string.
type idKey struct {
	uuid  [16]byte
	other string
}

// keyOf returns the index key of id.
func keyOf(id string) idKey {
	var k idKey
	if u, ok := parseUUID(id); ok {
		k.uuid = u
	} else {
		k.other = id
	}
	return k
}

// idRef locates an event: the segment's number and the event's seq in it.
type idRef struct {
	seg uint64
	seq uint16
}

// lookupID returns where the event with key k is, if the store holds it.
// The caller holds m.mu.
func (m *MemoryHistory) lookupID(k idKey) (idRef, bool) {
	if k.other != "" {
		ref, ok := m.otherIDs[k.other]
		return ref, ok
	}
	ref, ok := m.ids[k.uuid]
	return ref, ok
}

// findID returns the seq of the event with the given ID in s, or -1.
func (m *MemoryHistory) findID(s *memSegment, k idKey) int {
	if ref, ok := m.lookupID(k); ok && ref.seg == s.no {
		return int(ref.seq)
	}
	return -1
}

// forgetIDs removes a dropped segment's events from the ID index.
func (m *MemoryHistory) forgetIDs(s *memSegment) {
	for seq := range s.n {
		if s.meta[seq]&metaIDNotUUID != 0 {
			id := s.otherR[uint16(seq)]
			if ref, ok := m.otherIDs[id]; ok && ref.seg == s.no {
				delete(m.otherIDs, id)
			}
			continue
		}
		k := [16]byte(s.ids[seq*16 : seq*16+16])
		if ref, ok := m.ids[k]; ok && ref.seg == s.no {
			delete(m.ids, k)
		}
	}
}

// eventID returns the event's ID as bytes, formatted into buf when it is a
// UUID.
func (s *memSegment) eventID(seq int, buf *[36]byte) []byte {
	if s.meta[seq]&metaIDNotUUID != 0 {
		return bytesOf(s.otherR[uint16(seq)])
	}
	formatUUID(buf, s.ids[seq*16:seq*16+16])
	return buf[:]
}

func (s *memSegment) intern(str string) (uint32, bool) {
	if s.strMap == nil || len(str) > memMaxIntern {
		return 0, false
	}
	if id, ok := s.strMap[str]; ok {
		return id, true
	}
	if len(s.strs) >= memMaxInterned {
		return 0, false
	}
	id := uint32(len(s.strs))
	s.strs = append(s.strs, str)
	s.strMap[str] = id
	return id, true
}

// Append stores events, skipping those whose EventID is stored already and
// those older than MaxAge or the last Prune. Events without an EventID are
// refused with a *ValidationError (and nothing is stored).
func (m *MemoryHistory) Append(ctx context.Context, events []Event) error {
	for i := range events {
		if events[i].EventID == "" {
			return &ValidationError{Field: "eventID", Reason: "empty"}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := max(m.cutoff, time.Now().Add(-m.opts.MaxAge).Unix())
	for i := range events {
		ev := &events[i]
		t := ev.EventTime.Unix()
		if t < cutoff {
			continue
		}
		k := keyOf(ev.EventID)
		if _, ok := m.lookupID(k); ok {
			continue
		}
		if err := m.insert(ev, t, k); err != nil {
			return err
		}
	}
	m.evict(cutoff)
	return nil
}

func (m *MemoryHistory) insert(ev *Event, t int64, k idKey) error {
	if len(m.segs) == 0 || m.segs[len(m.segs)-1].full() {
		m.segs = append(m.segs, newMemSegment(m.nextNo, m.cutoff))
		m.nextNo++
	}
	s := m.segs[len(m.segs)-1]
	seq := s.n

	// Row first: it is the only part that can fail.
	isUUID := k.other == ""
	m.row.buf = m.row.buf[:0]
	m.row.seg = s
	m.row.encodeRow(ev, !isUUID)
	if s.dictID == 0 {
		// Still building the dictionary.
		s.rowOff = append(s.rowOff, uint32(len(s.dict)))
		s.dict = append(s.dict, m.row.buf...)
		s.dictN++
	} else {
		if len(s.open)+len(m.row.buf) > math.MaxUint32 {
			return fmt.Errorf("trail: memory history: event %s too large", ev.EventID)
		}
		s.rowOff = append(s.rowOff, uint32(len(s.open)))
		s.open = append(s.open, m.row.buf...)
	}

	s.times = append(s.times, t)
	meta := categoryCode(ev.EventCategory) << metaCatShift
	if ev.IsReadOnly() {
		meta |= metaReadOnly
	}
	if ev.ErrorCode != "" {
		meta |= metaError
	}
	ref := idRef{seg: s.no, seq: uint16(seq)}
	if isUUID {
		s.ids = append(s.ids, k.uuid[:]...)
		m.ids[k.uuid] = ref
	} else {
		meta |= metaIDNotUUID
		s.ids = append(s.ids, make([]byte, 16)...)
		if s.otherR == nil {
			s.otherR = map[uint16]string{}
		}
		id := string(bytesOf(ev.EventID)) // a copy
		s.otherR[uint16(seq)] = id
		m.otherIDs[id] = ref
	}
	s.meta = append(s.meta, meta)

	m.chain(s, chainEventName, ev.EventName, seq)
	m.chain(s, chainEventSource, ev.EventSource, seq)
	m.chain(s, chainUsername, ev.LookupUsername(), seq)
	m.chain(s, chainAccessKey, ev.UserIdentity.AccessKeyID, seq)
	m.chain(s, chainErrorCode, ev.ErrorCode, seq)
	for i := range ev.Resources {
		r := &ev.Resources[i]
		if r.Type != "" {
			s.multi[multiResourceType].add(maphash.String(m.seed, r.Type), seq)
		}
		if r.ARN != "" {
			s.multi[multiResourceName].add(maphash.String(m.seed, r.ARN), seq)
		}
	}

	s.minT, s.maxT = min(s.minT, t), max(s.maxT, t)
	b := seq / memBlockEvents
	if b == len(s.prefMax) {
		pm := t
		if b > 0 {
			pm = max(pm, s.prefMax[b-1])
		}
		s.prefMax = append(s.prefMax, pm)
	} else {
		s.prefMax[b] = max(s.prefMax[b], t)
	}
	s.n++
	switch {
	case s.dictID == 0:
		if s.n >= memDictEvents || len(s.dict) >= memDictBytes || s.full() {
			m.startBlocks(s)
		}
	case (s.n-s.dictN)%memBlockEvents == 0:
		m.seal(s)
	}
	if s.full() {
		m.finish(s)
	}
	return nil
}

// startBlocks freezes the segment's dictionary and prepares the encoder that
// uses it and a decoder that knows it.
func (m *MemoryHistory) startBlocks(s *memSegment) {
	m.nextSeg++
	if m.nextSeg == 0 {
		m.nextSeg++ // 0 means "no dictionary"
	}
	s.dictID = m.nextSeg
	s.dict = slices.Clip(s.dict)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false),
		zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(1<<17), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderDictRaw(s.dictID, s.dict))
	if err != nil {
		// Cannot happen with these options; compress without a dictionary.
		enc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	}
	m.enc = enc
	m.rebuildDecoder()
}

// rebuildDecoder makes a decoder that knows the dictionaries of the current
// segments. Lookups that hold the previous one keep using it safely.
func (m *MemoryHistory) rebuildDecoder() {
	opts := []zstd.DOption{zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1 << 28)}
	for _, s := range m.segs {
		if s.dictID != 0 {
			opts = append(opts, zstd.WithDecoderDictRaw(s.dictID, s.dict))
		}
	}
	if dec, err := zstd.NewReader(nil, opts...); err == nil {
		m.dec = dec
	}
}

func (m *MemoryHistory) chain(s *memSegment, c int, v string, seq int) {
	if v == "" {
		s.chains[c].add(0, seq, false)
		return
	}
	s.chains[c].add(maphash.String(m.seed, v), seq, true)
}

// seal compresses the open block.
func (m *MemoryHistory) seal(s *memSegment) {
	m.zbuf = m.enc.EncodeAll(s.open, m.zbuf[:0])
	s.blocks = append(s.blocks, slices.Clone(m.zbuf)) // exactly sized
	s.open = s.open[:0]
}

// finish trims a full segment and records its size.
func (m *MemoryHistory) finish(s *memSegment) {
	s.strMap = nil
	if len(s.open) > 0 {
		m.seal(s)
	}
	s.open = nil
	m.enc = nil
	s.size = 0
	s.size = s.bytes()
	m.sealed += s.size
}

// evict drops whole segments that are too old, then the oldest ones while
// the store is over MaxBytes.
func (m *MemoryHistory) evict(cutoff int64) {
	for len(m.segs) > 0 && m.segs[0].full() && m.segs[0].maxT < cutoff {
		m.drop()
	}
	for len(m.segs) > 1 && m.bytesLocked() > m.opts.MaxBytes {
		m.drop()
	}
}

func (m *MemoryHistory) drop() {
	s := m.segs[0]
	if s.full() {
		m.sealed -= s.size
	}
	m.forgetIDs(s)
	m.segs[0] = nil
	m.segs = m.segs[1:]
}

func (m *MemoryHistory) bytesLocked() int64 {
	n := m.sealed
	if len(m.segs) > 0 {
		if s := m.segs[len(m.segs)-1]; !s.full() {
			n += s.bytes()
		}
	}
	return n
}

// Prune deletes the events older than before and returns how many it
// deleted. Segments whose events are all older are freed; in the others the
// events are hidden at once and freed with their segment.
func (m *MemoryHistory) Prune(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cut := ceilUnix(before)
	m.mu.Lock()
	defer m.mu.Unlock()
	if cut <= m.cutoff {
		return 0, nil
	}
	n := 0
	for _, s := range m.segs {
		if s.maxT < s.cutoff || s.minT >= cut {
			continue
		}
		for _, t := range s.times {
			if t < cut && t >= s.cutoff {
				n++
			}
		}
		s.cutoff = max(s.cutoff, cut)
	}
	m.cutoff = cut
	m.evict(cut)
	return n, nil
}

// MemoryHistoryStats describe a MemoryHistory.
type MemoryHistoryStats struct {
	Events   int   // events held, including pruned ones not yet freed
	Segments int   // segments
	Bytes    int64 // estimated heap
}

// Stats returns the store's size.
func (m *MemoryHistory) Stats() MemoryHistoryStats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := MemoryHistoryStats{Segments: len(m.segs), Bytes: m.bytesLocked()}
	for _, s := range m.segs {
		st.Events += s.n
	}
	return st
}
