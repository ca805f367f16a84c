package trail

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailkit/trail/internal/wal"
)

// Spool makes Record durable: with Config.Spool set, every event a trail
// selects is written to a write-ahead log in Dir before Record returns nil,
// and the log is truncated only once every sink of every trail has stored
// the log file holding the event (and, with validation, the digest listing
// that file is durable too).
//
// On New, the recorder recovers what the log still holds: files cut before
// a crash are delivered again under the same key with the same bytes (a
// redelivery overwrites instead of duplicating), events of batches that
// were still open go into new files, digest chains continue where the log
// left them, and every file delivered before the crash is listed in a
// digest. Damaged bytes in the log (a torn tail after a power cut, a
// flipped bit) are reported to Config.OnError and the logger as a
// *SpoolCorruptError; the intact records around them are recovered.
//
// While a sink is down, its undelivered files wait in the log on disk, not
// in memory: the recorder keeps only a few files per sink in memory and
// rebuilds the others from the log when the sink takes them again.
//
// The spool guards the trails' log files, not the event history. Events
// that no trail selects (kept in history only) are not written to it, and
// history appends stay best-effort as without a spool (a full history queue
// drops, counted in Stats.HistoryDropped); recovery after a crash replays
// events into log files, not into history. The default MemoryHistory does
// not outlive the process anyway; a durable HistoryStore may miss the
// events of the last moments before a crash that the log files have.
//
// Stats reports the spool's counters (SpoolBytes, SpoolEvents,
// SpoolUnsent, SpoolSyncs, SpoolCorrupt).
//
// One spool directory belongs to one Recorder at a time.
type Spool struct {
	// Dir is the directory of the log; it is created if missing. Required.
	Dir string
	// Sync is when Record's event reaches the disk (default SyncGroupCommit).
	Sync SyncPolicy
	// SyncInterval is how often SyncOnInterval flushes the log to the disk
	// (default 1s).
	SyncInterval time.Duration
	// MaxBytes bounds the log (default DefaultSpoolMaxBytes). When it is
	// full (sinks are behind), Record follows Config.Overflow: Block waits
	// for room, Reject returns ErrOverloaded, Drop drops the event.
	MaxBytes int64
	// SegmentBytes is the size of one log segment file, the unit in which
	// the log is truncated (default 16 MiB). Segments are preallocated: the
	// next one is written with zeros in the background while the current
	// one fills, so that an fsync flushes records only, not a change of
	// the file's size (on ext4 the median fsync drops by 40–60%). The directory
	// holds up to two segments more than MaxBytes counts: the unused end
	// of the active one and the next one, prepared.
	SegmentBytes int64
}

// SyncPolicy says when a spooled event reaches the disk.
type SyncPolicy int

const (
	// SyncGroupCommit acknowledges an event only after an fsync that covers
	// it: one fsync covers every event that arrived meanwhile. What Record
	// acknowledged survives kill -9 and a power cut.
	SyncGroupCommit SyncPolicy = iota
	// SyncOnInterval acknowledges an event once it has been written to the
	// operating system, and fsyncs every Spool.SyncInterval. What Record
	// acknowledged survives a crash of the process (kill -9, a panic, an
	// OOM kill), but a power cut or kernel crash may lose the last
	// SyncInterval.
	SyncOnInterval
)

// Spool defaults.
const (
	DefaultSpoolMaxBytes     = 1 << 30
	DefaultSpoolSegmentBytes = 16 << 20
	DefaultSpoolSyncInterval = time.Second
	// spoolMemFiles is how many files a sink worker's queue holds in memory
	// in spool mode; later files wait in the log.
	spoolMemFiles = 4
	// spoolMaintainEvery is how often the pipeline tries to truncate the
	// log (it also does at Close).
	spoolMaintainEvery = time.Second
)

// SpoolCorruptError reports damaged bytes found in the spool when the
// recorder started. The log's frames carry their length, index and a
// CRC-32C checksum: past damage inside a segment, recovery resynchronises
// on the next frame that checks out and recovers everything after it, so
// only the records the damaged bytes held are lost. It wraps
// ErrSpoolCorrupt.
type SpoolCorruptError struct {
	Dir     string // the spool directory
	Segment string // file name of the damaged segment
	Offset  int64  // where the damage starts
	Bytes   int64  // damaged bytes skipped
	First   uint64 // log index of the first record lost
	// Records is the number of records lost, or -1 when unknown (damage
	// that runs to the end of the log: a write torn by a crash or a power
	// cut, which Record had not acknowledged unless it was a power cut
	// under SyncOnInterval).
	Records int64
	// Resumed reports that recovery read on after the damage.
	Resumed bool
	Reason  string
}

// Error implements the error interface.
func (e *SpoolCorruptError) Error() string {
	n := "an unknown number of records"
	if e.Reason == "torn record" {
		n += " (a write torn by a crash)"
	}
	if e.Records >= 0 {
		n = fmt.Sprintf("%d records", e.Records)
	}
	if e.Records != 0 {
		n += fmt.Sprintf(" from log index %d", e.First)
	}
	what := "cannot be recovered"
	if e.Resumed {
		what = "skipped; the records after them were recovered"
	}
	return fmt.Sprintf("trail: spool %s: segment %s: %s at offset %d: %d bytes, %s, %s",
		e.Dir, e.Segment, e.Reason, e.Offset, e.Bytes, n, what)
}

// Unwrap returns ErrSpoolCorrupt.
func (e *SpoolCorruptError) Unwrap() error { return ErrSpoolCorrupt }

// ErrSpoolCorrupt is wrapped by every *SpoolCorruptError.
var ErrSpoolCorrupt = errors.New("trail: spool damaged")

func (s *Spool) withDefaults() (Spool, error) {
	c := *s
	if c.Dir == "" {
		return c, configErr("Spool.Dir is required")
	}
	if c.Sync < SyncGroupCommit || c.Sync > SyncOnInterval {
		return c, configErr("unknown Spool.Sync policy %d", c.Sync)
	}
	if c.SyncInterval < 0 || c.MaxBytes < 0 || c.SegmentBytes < 0 {
		return c, configErr("negative Spool.SyncInterval, MaxBytes or SegmentBytes")
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSpoolSyncInterval
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultSpoolMaxBytes
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSpoolSegmentBytes
	}
	if c.SegmentBytes > c.MaxBytes/2 {
		c.SegmentBytes = max(c.MaxBytes/2, 1<<16)
	}
	return c, nil
}

// Record kinds in the log.
const (
	recEvent      = 'E' // an event and the trails that selected it
	recCut        = 'C' // a batch cut into a log file (its key, its events)
	recDigest     = 'D' // a signed digest, before it is delivered
	recCheckpoint = 'K' // chain states and the low-water mark
)

// spool is the running write-ahead log of a Recorder.
type spool struct {
	r    *Recorder
	cfg  Spool
	log  *wal.Log
	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	cur  *group
	full chan struct{} // closed (and replaced) when truncation frees room

	omu         sync.Mutex
	outstanding map[*spoolFile]struct{} // files and digests not yet stored everywhere

	rec          *recovery // what Open found; consumed by the pipeline at start
	checkpointed uint64    // low-water mark of the newest checkpoint (pipeline)

	bufCap, itemsCap int // committer: sizes for new groups

	dirty atomic.Bool // appended since the last sync (SyncOnInterval)
}

// group is one group commit: the frames of the events that arrived while
// the previous group was being written.
type group struct {
	buf   []byte
	n     int // frames in buf
	items []spooled
	res   *groupResult // what its waiters learn (not recycled with the group)
}

type groupResult struct {
	done chan struct{} // closed once the group is committed and handed over
	err  error         // set before done is closed
}

type spooled struct {
	it       item
	k        int // frame number in the group
	off, end int // the record JSON in buf
}

// spoolFile tracks one log file or digest until every sink has it.
type spoolFile struct {
	first     uint64 // lowest log index it needs (its first event, or its digest record)
	remaining atomic.Int32
	cut       cutRec     // for log files: how to rebuild it from the log
	digest    *Digest    // for digests
	track     *fileTrack // receipts waiting for the file
}

// groupPool recycles the buffers of groups the pipeline has taken.
var groupPool sync.Pool

func newGroup(size, items int) *group {
	if g, ok := groupPool.Get().(*group); ok && cap(g.buf) >= size && cap(g.items) >= items {
		g.res = &groupResult{done: make(chan struct{})}
		return g
	}
	return &group{buf: make([]byte, 0, max(size, 4096)), items: make([]spooled, 0, max(items, 16)),
		res: &groupResult{done: make(chan struct{})}}
}

// recycle returns a group the pipeline has handled (its records were
// copied into batches) for reuse. Waiters hold g.res, which a new use
// replaces.
func (g *group) recycle() {
	clear(g.items)
	*g = group{buf: g.buf[:0], items: g.items[:0]}
	groupPool.Put(g)
}

// openSpool opens (recovering) the log. Damage is reported through r.
func (r *Recorder) openSpool(cfg Spool) (*spool, error) {
	s := &spool{r: r, cfg: cfg, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		cur: newGroup(0, 0), full: make(chan struct{}), outstanding: map[*spoolFile]struct{}{}}
	rec := newRecovery()
	l, damage, err := wal.Open(cfg.Dir, wal.Options{SegmentSize: cfg.SegmentBytes, Preallocate: true}, rec.scan)
	if err != nil {
		return nil, fmt.Errorf("trail: open spool %s: %w", cfg.Dir, err)
	}
	rec.end = l.NextIndex()
	for _, d := range damage {
		r.warn(&SpoolCorruptError{Dir: cfg.Dir, Segment: d.Segment, Offset: d.Offset, Bytes: d.Bytes,
			First: d.First, Records: d.Records, Resumed: d.Resumed, Reason: d.Reason})
		if d.Records != 0 {
			end := rec.end // unknown count: up to the end of the log
			if d.Records > 0 {
				end = d.First + uint64(d.Records)
			}
			rec.lost = append(rec.lost, idxRange{d.First, end})
		}
		r.stats.spoolCorrupt.Add(1)
	}
	for _, e := range rec.errs {
		r.warn(e)
	}
	s.log, s.rec = l, rec
	return s, nil
}

func (s *spool) start() { go s.run() }

// record appends the event to the current group and waits until the group
// is committed. Events no trail selected (for history only) travel in the
// group too, without a log record, and without waiting.
func (s *spool) record(ctx context.Context, it *item) error {
	r := s.r
	for {
		r.mu.RLock()
		if r.closed {
			r.mu.RUnlock()
			r.unpend(it)
			return ErrClosed
		}
		if it.mask == 0 || s.log.Size() < s.cfg.MaxBytes {
			break
		}
		r.mu.RUnlock()
		switch r.cfg.Overflow {
		case Reject:
			r.unpend(it)
			r.stats.overloaded.Add(1)
			return ErrOverloaded
		case Drop:
			r.unpend(it)
			r.stats.dropped.Add(1)
			r.report(errSpoolDropped)
			return nil
		}
		s.mu.Lock()
		full := s.full
		s.mu.Unlock()
		if s.log.Size() < s.cfg.MaxBytes {
			continue
		}
		select {
		case <-full:
		case <-ctx.Done():
			r.unpend(it)
			return ctx.Err()
		case <-r.closing:
			r.unpend(it)
			return ErrClosed
		}
	}
	var fb *[]byte
	var frame []byte
	if it.mask != 0 {
		// Encode outside the lock; under it, only copy the frame.
		fb = framePool.Get().(*[]byte)
		frame = append((*fb)[:0], make([]byte, wal.HeaderSize)...)
		frame = appendEventRec(frame, it)
		if len(frame)-wal.HeaderSize > wal.MaxRecord {
			r.mu.RUnlock()
			*fb = frame[:0]
			framePool.Put(fb)
			r.unpend(it)
			return &ValidationError{Field: "event", Reason: "encoded record too large for the spool"}
		}
		wal.SealFrame(frame)
	}
	s.mu.Lock()
	g := s.cur
	sp := spooled{k: -1}
	if frame != nil {
		g.buf = append(g.buf, frame...)
		sp = spooled{k: g.n, off: len(g.buf) - it.encLen, end: len(g.buf)}
		g.n++
	}
	g.items = append(g.items, sp)
	g.items[len(g.items)-1].it = *it
	res := g.res
	s.mu.Unlock()
	r.mu.RUnlock()
	if fb != nil {
		*fb = frame[:0]
		framePool.Put(fb)
	}
	s.wake()
	if frame == nil {
		// For history only: not spooled (see Spool), so nothing to wait
		// for; the group carries it to the batcher in order.
		r.stats.recorded.Add(1)
		r.stats.unselected.Add(1)
		return nil
	}
	select {
	case <-res.done:
		if res.err != nil {
			return fmt.Errorf("trail: spool: %w", res.err)
		}
		r.stats.recorded.Add(1)
		r.stats.spoolEvents.Add(1)
		return nil
	case <-ctx.Done():
		// The event may still be committed and delivered; it was not
		// acknowledged.
		return ctx.Err()
	}
}

// pass appends a control item (flush, trail change, history sync) to the
// current group, so that it reaches the pipeline after every event
// acknowledged before it. The caller holds r.mu for reading.
func (s *spool) pass(it *item) {
	s.mu.Lock()
	s.cur.items = append(s.cur.items, spooled{it: *it, k: -1})
	s.mu.Unlock()
	s.wake()
}

func (s *spool) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

var errSpoolDropped = fmt.Errorf("%w: event dropped: spool full (overflow policy Drop)", ErrOverloaded)

// run is the committer: it writes each group in one write, syncs it (group
// commit), hands it to the pipeline, and acknowledges its events.
func (s *spool) run() {
	defer close(s.done)
	var tick <-chan time.Time
	if s.cfg.Sync == SyncOnInterval {
		t := time.NewTicker(s.cfg.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.kick:
			s.commit()
		case <-tick:
			if s.dirty.Swap(false) {
				if err := s.log.Sync(); err != nil {
					s.r.warn(fmt.Errorf("trail: spool sync: %w", err))
				}
			}
		case <-s.stop:
			s.commit()
			return
		}
	}
}

func (s *spool) commit() {
	// Let the producers that are ready append first: without it, a
	// committer with nothing to wait for (SyncOnInterval) takes groups of
	// one or two events and pays a write per event.
	runtime.Gosched()
	s.mu.Lock()
	g := s.cur
	if len(g.items) == 0 {
		s.mu.Unlock()
		return
	}
	s.bufCap = max(s.bufCap*7/8, len(g.buf)*2)
	s.itemsCap = max(s.itemsCap*7/8, len(g.items)*2)
	s.cur = newGroup(s.bufCap, s.itemsCap)
	s.mu.Unlock()
	var first uint64
	var err error
	if g.n > 0 {
		first, err = s.log.Append(g.buf, g.n)
		if err == nil {
			if s.cfg.Sync == SyncGroupCommit {
				err = s.log.Sync()
			} else {
				s.dirty.Store(true)
			}
		}
	}
	if err != nil {
		s.r.warn(fmt.Errorf("trail: spool write: %w", err))
		kept := g.items[:0]
		for _, sp := range g.items {
			if sp.k < 0 {
				kept = append(kept, sp) // control items and history-only events still go through
			} else {
				s.r.unpend(&sp.it)
			}
		}
		g.items = kept
	} else {
		for i := range g.items {
			sp := &g.items[i]
			if sp.k >= 0 {
				sp.it.idx = first + uint64(sp.k)
				sp.it.enc = g.buf[sp.off:sp.end:sp.end]
			}
		}
	}
	// Acknowledge first, then hand the group on: the events are durable
	// (or refused), and a batcher that is behind delays the next group, not
	// this one's callers. Groups still reach the batcher in log order.
	res := g.res
	res.err = err
	close(res.done)
	if len(g.items) > 0 {
		s.r.queue <- &item{grp: g} // the batcher recycles g
	} else {
		g.recycle()
	}
}

// shutdown stops the committer once it has committed what Record appended.
// The caller has made Record refuse new events.
func (s *spool) shutdown() {
	close(s.stop)
	<-s.done
}

// writeCtl appends one control record (cut, digest, checkpoint) and syncs
// it; the pipeline calls it before it lets a file or digest out.
func (s *spool) writeCtl(payload []byte) (uint64, error) {
	frame := wal.AppendFrame(make([]byte, 0, wal.HeaderSize+len(payload)), payload)
	idx, err := s.log.Append(frame, 1)
	if err != nil {
		return 0, err
	}
	if s.cfg.Sync == SyncGroupCommit {
		err = s.log.Sync()
	} else {
		s.dirty.Store(true)
	}
	return idx, err
}

// track registers f as outstanding until n sinks have it.
func (s *spool) track(f *spoolFile, n int) {
	f.remaining.Store(int32(n))
	s.omu.Lock()
	s.outstanding[f] = struct{}{}
	s.omu.Unlock()
}

// stored is called by a sink worker when its sink has stored f.
func (s *spool) stored(f *spoolFile) {
	if f.remaining.Add(-1) != 0 {
		return
	}
	s.omu.Lock()
	delete(s.outstanding, f)
	s.omu.Unlock()
}

// unsentInFiles is the number of events in log files some sink has not
// stored yet.
func (s *spool) unsentInFiles() int64 {
	s.omu.Lock()
	defer s.omu.Unlock()
	var n int64
	for f := range s.outstanding {
		if f.digest == nil {
			n += int64(f.cut.records)
		}
	}
	return n
}

// lowWater returns the lowest log index still needed by an outstanding file.
func (s *spool) lowWater(limit uint64) uint64 {
	s.omu.Lock()
	defer s.omu.Unlock()
	for f := range s.outstanding {
		limit = min(limit, f.first)
	}
	return limit
}

// close syncs and closes the log.
func (s *spool) close() error {
	if err := s.log.Close(); err != nil {
		return fmt.Errorf("trail: spool: %w", err)
	}
	return nil
}

// --- record encoding -------------------------------------------------------

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTimeNano(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// appendEventRec appends an event record: kind, the names of the trails
// that selected it, account, region, event time, and its encoded JSON (the
// rest of the record). It sets it.encLen.
func appendEventRec(b []byte, it *item) []byte {
	b = append(b, recEvent)
	n := 0
	for i := range it.set.states {
		if it.mask&(1<<i) != 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i, ts := range it.set.states {
		if it.mask&(1<<i) != 0 {
			b = appendStr(b, ts.name)
		}
	}
	b = appendStr(b, it.ev.RecipientAccountID)
	b = appendStr(b, it.ev.AWSRegion)
	b = appendTimeNano(b, it.ev.EventTime)
	start := len(b)
	b = it.ev.AppendJSON(b)
	it.encLen = len(b) - start
	return b
}

// eventRec is a decoded event record.
type eventRec struct {
	trails          []string
	account, region string
	eventTime       time.Time
	json            []byte
}

var errBadRecord = errors.New("malformed spool record")

type recReader struct {
	b   []byte
	err error
}

func (r *recReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errBadRecord
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *recReader) time() time.Time {
	v := r.varint()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func decodeEventRec(p []byte) (eventRec, error) {
	var e eventRec
	if len(p) == 0 || p[0] != recEvent {
		return e, errBadRecord
	}
	r := &recReader{b: p[1:]}
	n := r.uvarint()
	if n > 64 {
		return e, errBadRecord
	}
	for range n {
		e.trails = append(e.trails, r.str())
	}
	e.account = r.str()
	e.region = r.str()
	e.eventTime = r.time()
	if r.err != nil {
		return e, r.err
	}
	e.json = r.b
	return e, nil
}

// cutRec records a batch cut into a log file: enough to rebuild the same
// file from the log's events.
type cutRec struct {
	trail, account, region string
	key                    string
	created                time.Time
	first, last            uint64 // log indexes of its first and last event
	records                int
	insight                bool // an Insights file (not in digests)
	sha256                 [32]byte
	oldest, newest         time.Time
}

func appendCutRec(b []byte, c *cutRec) []byte {
	b = append(b, recCut)
	b = appendStr(b, c.trail)
	b = appendStr(b, c.account)
	b = appendStr(b, c.region)
	b = appendStr(b, c.key)
	b = appendTimeNano(b, c.created)
	b = binary.AppendUvarint(b, c.first)
	b = binary.AppendUvarint(b, c.last)
	b = binary.AppendUvarint(b, uint64(c.records))
	var flags uint64
	if c.insight {
		flags |= 1
	}
	b = binary.AppendUvarint(b, flags)
	b = append(b, c.sha256[:]...)
	b = appendTimeNano(b, c.oldest)
	return appendTimeNano(b, c.newest)
}

func decodeCutRec(p []byte) (cutRec, error) {
	var c cutRec
	if len(p) == 0 || p[0] != recCut {
		return c, errBadRecord
	}
	r := &recReader{b: p[1:]}
	c.trail, c.account, c.region, c.key = r.str(), r.str(), r.str(), r.str()
	c.created = r.time()
	c.first, c.last = r.uvarint(), r.uvarint()
	c.records = int(min(r.uvarint(), 1<<31))
	c.insight = r.uvarint()&1 != 0
	if r.err == nil && len(r.b) < 32 {
		r.err = errBadRecord
	}
	if r.err != nil {
		return c, r.err
	}
	copy(c.sha256[:], r.b)
	r.b = r.b[32:]
	c.oldest, c.newest = r.time(), r.time()
	if r.err == nil && (len(r.b) != 0 || c.last < c.first) {
		r.err = errBadRecord
	}
	return c, r.err
}

func (c *cutRec) digestFile(bucket string) DigestLogFile {
	return DigestLogFile{Bucket: bucket, Key: c.key, SHA256: c.sha256, OldestEventTime: c.oldest, NewestEventTime: c.newest}
}

// checkpoint is the state that truncated records no longer tell: where
// every digest chain stands and which delivered files await a digest.
type checkpoint struct {
	LowWater uint64            `json:"lowWater"`
	Chains   []checkpointChain `json:"chains"`
}

type checkpointChain struct {
	Trail   string          `json:"trail"`
	Account string          `json:"account"`
	Region  string          `json:"region"`
	Prev    ChainState      `json:"prev"`
	Start   time.Time       `json:"start"`
	Files   []DigestLogFile `json:"files"`
}

func decodeJSONRec(p []byte, kind byte, v any) error {
	if len(p) == 0 || p[0] != kind {
		return errBadRecord
	}
	if err := json.Unmarshal(p[1:], v); err != nil {
		return fmt.Errorf("%w: %v", errBadRecord, err)
	}
	return nil
}
