package trail

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// streamName names a stream of log files by trail name (trail states do not
// survive a restart).
type streamName struct {
	trail, account, region string
	insight                bool
}

// recovery is what Open found in the spool.
type recovery struct {
	end        uint64 // the log's next index at Open
	cuts       []cutRec
	cutIdx     []uint64 // log index of each cut record
	digests    []*Digest
	digestIdx  []uint64
	checkpoint *checkpoint
	cpIdx      uint64
	events     int
	errs       []error
	lost       []idxRange // log indexes of records damage took (from Open's reports)
	damaged    []bool     // per cut: some of its events were lost to damage
}

// idxRange is a range [first, end) of log indexes.
type idxRange struct{ first, end uint64 }

func newRecovery() *recovery { return &recovery{} }

// lostIn reports whether damage took a record with an index in [first, last].
func (rc *recovery) lostIn(first, last uint64) bool {
	for _, l := range rc.lost {
		if l.first <= last && first < l.end {
			return true
		}
	}
	return false
}

// coverage tells, per stream, the index ranges of the intact cut files:
// an event in one is delivered with that file, not replayed.
type coverage map[streamName][][2]uint64

func (cv coverage) add(k streamName, first, last uint64) {
	cv[k] = append(cv[k], [2]uint64{first, last})
}

func (cv coverage) sort() {
	for _, rs := range cv {
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	}
}

// between reports whether a range of k starts in (after, before).
func (cv coverage) between(k streamName, after, before uint64) bool {
	rs := cv[k]
	i := sort.Search(len(rs), func(i int) bool { return rs[i][0] > after })
	return i < len(rs) && rs[i][0] < before
}

// in reports whether idx is in a range of k (after sort).
func (cv coverage) in(k streamName, idx uint64) bool {
	rs := cv[k]
	i := sort.Search(len(rs), func(i int) bool { return rs[i][0] > idx })
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		if rs[j][0] <= idx && idx <= rs[j][1] {
			return true
		}
	}
	return false
}

// scan reads one record during Open. Undecodable records are reported, not
// fatal.
func (rc *recovery) scan(idx uint64, p []byte) error {
	if len(p) == 0 {
		rc.errs = append(rc.errs, fmt.Errorf("%w: record %d is empty", ErrSpoolCorrupt, idx))
		return nil
	}
	var err error
	switch p[0] {
	case recEvent:
		rc.events++
		return nil
	case recCut:
		var c cutRec
		if c, err = decodeCutRec(p); err == nil {
			rc.cuts = append(rc.cuts, c)
			rc.cutIdx = append(rc.cutIdx, idx)
		}
	case recDigest:
		d := new(Digest)
		if err = decodeJSONRec(p, recDigest, d); err == nil {
			rc.digests = append(rc.digests, d)
			rc.digestIdx = append(rc.digestIdx, idx)
		}
	case recCheckpoint:
		cp := new(checkpoint)
		if err = decodeJSONRec(p, recCheckpoint, cp); err == nil {
			rc.checkpoint, rc.cpIdx = cp, idx
		}
	default:
		err = errBadRecord
	}
	if err != nil {
		rc.errs = append(rc.errs, fmt.Errorf("%w: record %d (kind %q): %v", ErrSpoolCorrupt, idx, p[0], err))
	}
	return nil
}

// recoveredChain is a digest chain as the spool left it.
type recoveredChain struct {
	prev  ChainState
	start time.Time
	files []DigestLogFile
}

// chains replays the chain records after the newest checkpoint.
func (rc *recovery) chains() map[streamName]*recoveredChain {
	out := map[streamName]*recoveredChain{}
	if cp := rc.checkpoint; cp != nil {
		for _, c := range cp.Chains {
			out[streamName{c.Trail, c.Account, c.Region, false}] = &recoveredChain{prev: c.Prev, start: c.Start, files: c.Files}
		}
	}
	get := func(k streamName) *recoveredChain {
		c := out[k]
		if c == nil {
			c = &recoveredChain{}
			out[k] = c
		}
		return c
	}
	// Merge cut and digest records in log order.
	i, j := 0, 0
	for i < len(rc.cuts) || j < len(rc.digests) {
		if j >= len(rc.digests) || (i < len(rc.cuts) && rc.cutIdx[i] < rc.digestIdx[j]) {
			if c := &rc.cuts[i]; !c.insight && !rc.isDamaged(i) && (rc.checkpoint == nil || rc.cutIdx[i] > rc.cpIdx) {
				ch := get(streamName{c.trail, c.account, c.region, false})
				ch.files = append(ch.files, c.digestFile(""))
			}
			i++
			continue
		}
		if rc.checkpoint == nil || rc.digestIdx[j] > rc.cpIdx {
			d := rc.digests[j]
			ch := get(streamName{d.Trail, d.AccountID, d.Region, false})
			ch.prev, ch.start, ch.files = d.State(), d.EndTime, nil
		}
		j++
	}
	return out
}

func (rc *recovery) isDamaged(i int) bool { return i < len(rc.damaged) && rc.damaged[i] }

// lowWater is where the recovered log's needed records start.
func (rc *recovery) lowWater(first uint64) uint64 {
	if rc.checkpoint != nil {
		return max(first, rc.checkpoint.LowWater)
	}
	return first
}

// recoverSpool runs before the batcher and the chain stage start: it
// restores the digest chains (cs), queues the cut files and digests no sink
// may have yet for redelivery, and refills the batches that were open (p).
func (r *Recorder) recoverSpool(p *pipe, cs *chainStage, now time.Time) {
	s := r.spool
	rc := s.rec
	s.rec = nil
	low := rc.lowWater(s.log.FirstIndex())
	p.spoolNext = rc.end
	s.checkpointed = low
	byName := map[string]*trailState{}
	for _, ts := range p.states {
		if ts.active {
			byName[ts.name] = ts
		}
	}
	// Files that damage took events of: their surviving events go into new
	// files (a file of the same key but other bytes would contradict a
	// digest); the others are delivered again as they were.
	cov := coverage{}
	rc.damaged = make([]bool, len(rc.cuts))
	for i := range rc.cuts {
		c := &rc.cuts[i]
		if c.first < low {
			continue
		}
		if ts := byName[c.trail]; ts != nil && rc.lostIn(c.first, c.last) {
			t := ts.config()
			if _, err := s.rebuild(c, &t); err != nil {
				rc.damaged[i] = true
				r.warn(fmt.Errorf("%w: spool %s: file %s of trail %q lost records to damage: its surviving events go into a new file (if a sink stored %s before the crash, they are there twice) and %s is left out of digests",
					ErrSpoolCorrupt, s.cfg.Dir, c.key, c.trail, c.key, c.key))
				continue
			}
		}
		cov.add(streamName{c.trail, c.account, c.region, c.insight}, c.first, c.last)
	}
	// Chains.
	for k, rch := range rc.chains() {
		ts := byName[k.trail]
		if ts == nil || ts.val == nil || ts.fleet != nil || (rch.prev.IsZero() && len(rch.files) == 0) {
			continue
		}
		ts.val.resume[acctRegion{k.account, k.region}] = rch.prev
		c := cs.chainFor(ts, chainKey{trail: ts, account: k.account, region: k.region}, now)
		if rch.prev.IsZero() && !rch.start.IsZero() && rch.start.Before(c.start) {
			c.start = rch.start
		}
		files := make([]DigestLogFile, 0, len(rch.files)+len(c.files))
		for _, f := range rch.files {
			f.Bucket = ts.cfg.Bucket
			files = append(files, f)
		}
		c.files = append(files, c.files...)
	}
	// Files and digests to deliver again.
	var lost []string
	for i := range rc.cuts {
		c := rc.cuts[i]
		if c.first < low || rc.damaged[i] {
			continue // stored everywhere before the log was truncated, or damaged
		}
		ts := byName[c.trail]
		if ts == nil {
			lost = append(lost, c.key)
			continue
		}
		sf := &spoolFile{first: c.first, cut: c}
		s.track(sf, len(ts.workers))
		for _, w := range ts.workers {
			w.park(sf)
		}
	}
	for i, d := range rc.digests {
		if rc.digestIdx[i] < low {
			continue
		}
		ts := byName[d.Trail]
		if ts == nil {
			lost = append(lost, d.Key)
			continue
		}
		sf := &spoolFile{first: rc.digestIdx[i], digest: d}
		ws := digestWorkers(ts)
		s.track(sf, len(ws))
		for _, w := range ws {
			w.park(sf)
		}
	}
	if len(lost) > 0 {
		r.warn(fmt.Errorf("trail: spool %s: %d files of trails no longer configured are not delivered again (first: %s)", s.cfg.Dir, len(lost), lost[0]))
	}
	// Events of batches that were open: into batches again.
	if rc.events == 0 {
		return
	}
	// A file of replayed events must not span an intact file of its stream
	// (a later recovery rebuilds a file from the stream's events in its
	// range of indexes): the replayed batch is cut where one lies between
	// two of its events, and at the end if one lies after its first.
	cov.sort()
	lastIdx := map[batchKey]uint64{}
	var replayed int
	err := s.log.Read(low, rc.end, func(idx uint64, pl []byte) error {
		if len(pl) == 0 || pl[0] != recEvent {
			return nil
		}
		e, err := decodeEventRec(pl)
		if err != nil {
			r.warn(fmt.Errorf("%w: event record %d: %v", ErrSpoolCorrupt, idx, err))
			return nil
		}
		rec := e.json
		insight := isInsightRecord(rec)
		for _, name := range e.trails {
			k := streamName{name, e.account, e.region, insight}
			if cov.in(k, idx) {
				continue // in a cut file, delivered again above
			}
			ts := byName[name]
			if ts == nil {
				continue
			}
			bk := batchKey{trail: ts, account: e.account, region: e.region, insight: insight}
			if b := p.batches[bk]; b != nil && len(b.ends) > 0 && cov.between(k, lastIdx[bk], idx) {
				p.cut(b, now)
			}
			lastIdx[bk] = idx
			p.addTo(ts, e.account, e.region, insight, rec, e.eventTime, idx, now, nil)
			replayed++
		}
		return nil
	})
	for bk := range lastIdx {
		k := streamName{bk.trail.name, bk.account, bk.region, bk.insight}
		if b := p.batches[bk]; b != nil && len(b.ends) > 0 && cov.between(k, b.first, ^uint64(0)) {
			p.cut(b, now)
		}
	}
	if err != nil {
		r.warn(fmt.Errorf("trail: spool %s: replaying open batches: %w", s.cfg.Dir, err))
	}
	if replayed > 0 || len(rc.cuts) > 0 {
		r.logger().Info("trail: recovered spool", "dir", s.cfg.Dir, "files", len(rc.cuts), "digests", len(rc.digests), "openEvents", replayed)
	}
}

func digestWorkers(ts *trailState) []*sinkWorker {
	var ws []*sinkWorker
	for _, w := range ts.workers {
		if _, ok := w.sink.(DigestSink); ok {
			ws = append(ws, w)
		}
	}
	return ws
}

// spoolCut makes the cut of f durable before f goes out, and returns its
// tracker.
func (cs *chainStage) spoolCut(ts *trailState, insight bool, first, last uint64, f *LogFile) *spoolFile {
	p := cs
	c := cutRec{trail: ts.name, account: f.AccountID, region: f.Region, key: f.Key, created: f.Created,
		first: first, last: last, records: len(f.Records), sha256: f.SHA256, insight: insight,
		oldest: f.OldestEventTime, newest: f.NewestEventTime}
	if _, err := p.r.spool.writeCtl(appendCutRec(nil, &c)); err != nil {
		p.r.warn(fmt.Errorf("trail: spool: recording the cut of %s: %w (a crash now may deliver its events twice, under two keys)", f.Key, err))
	}
	sf := &spoolFile{first: first, cut: c}
	p.r.spool.track(sf, len(ts.workers))
	return sf
}

// spoolDigest makes a signed digest durable before it goes out.
func (cs *chainStage) spoolDigest(ts *trailState, d *Digest) *spoolFile {
	p := cs
	b, err := json.Marshal(d)
	if err != nil {
		p.r.warn(fmt.Errorf("trail: spool: encoding digest %s: %w", d.Key, err))
		return nil
	}
	idx, err := p.r.spool.writeCtl(append([]byte{recDigest}, b...))
	if err != nil {
		p.r.warn(fmt.Errorf("trail: spool: recording digest %s: %w", d.Key, err))
		return nil
	}
	sf := &spoolFile{first: idx, digest: d}
	p.r.spool.track(sf, len(digestWorkers(ts)))
	return sf
}

// spoolMaintain truncates the log below the oldest record still needed,
// after a checkpoint that keeps what the removed records told. low is the
// lowest index the batcher still needed when it sent the request; files it
// cut before are tracked by the spool by now (the chain stage takes them in
// order).
func (cs *chainStage) spoolMaintain(low uint64, final bool) {
	p := cs
	s := p.r.spool
	low = s.lowWater(low)
	if s.log.Removable(low) == 0 && !(final && low > s.checkpointed) {
		return
	}
	cp := checkpoint{LowWater: low}
	for k, c := range p.chains {
		cp.Chains = append(cp.Chains, checkpointChain{Trail: k.trail.name, Account: k.account, Region: k.region,
			Prev: c.prev, Start: c.start, Files: c.files})
	}
	b, err := json.Marshal(&cp)
	if err == nil {
		_, err = s.writeCtl(append([]byte{recCheckpoint}, b...))
	}
	if err == nil {
		err = s.log.Sync()
	}
	if err == nil {
		_, err = s.log.TruncateFront(low)
	}
	if err != nil {
		p.r.warn(fmt.Errorf("trail: spool %s: truncating: %w", s.cfg.Dir, err))
		return
	}
	s.checkpointed = low
	s.mu.Lock()
	close(s.full)
	s.full = make(chan struct{})
	s.mu.Unlock()
}

// rebuild makes the log file of a cut again from the events in the log.
func (s *spool) rebuild(c *cutRec, t *Trail) (*LogFile, error) {
	b := &batch{key: batchKey{account: c.account, region: c.region, insight: c.insight}}
	b.reset()
	err := s.log.Read(c.first, c.last+1, func(idx uint64, pl []byte) error {
		if len(pl) == 0 || pl[0] != recEvent {
			return nil
		}
		e, err := decodeEventRec(pl)
		if err != nil {
			return fmt.Errorf("%w: event record %d: %v", ErrSpoolCorrupt, idx, err)
		}
		if e.account != c.account || e.region != c.region || isInsightRecord(e.json) != c.insight {
			return nil
		}
		for _, name := range e.trails {
			if name == c.trail {
				b.add(e.json, e.eventTime)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(b.ends) != c.records {
		return nil, fmt.Errorf("%w: file %s: the spool holds %d of its %d records", ErrSpoolCorrupt, c.key, len(b.ends), c.records)
	}
	f := b.finish(t, c.created)
	if err := compressFile(f, t.CompressionLevel); err != nil {
		return nil, err
	}
	f.Key = c.key
	if f.SHA256 != c.sha256 {
		return nil, fmt.Errorf("%w: file %s rebuilt from the spool differs from the one cut (SHA-256)", ErrSpoolCorrupt, c.key)
	}
	return f, nil
}

// park leaves sf in the spool until the worker takes it.
func (w *sinkWorker) park(sf *spoolFile) {
	w.pmu.Lock()
	w.parked = append(w.parked, sf)
	w.pmu.Unlock()
	select {
	case w.pkick <- struct{}{}:
	default:
	}
}

// drainParked delivers the parked files, one at a time, rebuilding each
// from the spool.
func (w *sinkWorker) drainParked() {
	r := w.rec
	for {
		w.pmu.Lock()
		if len(w.parked) == 0 {
			w.parked = nil
			w.pmu.Unlock()
			return
		}
		sf := w.parked[0]
		w.parked[0] = nil
		w.parked = w.parked[1:]
		w.pmu.Unlock()
		if sf.digest != nil {
			w.deliver(sinkJob{digest: sf.digest, sf: sf})
			continue
		}
		var err error
		var f *LogFile
		if err = r.deliverCtx.Err(); err == nil {
			t := w.trail.config()
			f, err = r.spool.rebuild(&sf.cut, &t)
		}
		if err != nil {
			de := &DeliveryError{Trail: w.trail.name, Sink: w.name, Key: sf.cut.key, Records: sf.cut.records, Final: true, Err: err}
			w.trail.noteFailure(de)
			r.reportDelivery(de)
			r.stats.filesFailed.Add(1)
			r.noteLost(de, true)
			sf.track.done(de)
			continue
		}
		w.deliver(sinkJob{file: f, sf: sf, track: sf.track})
	}
}
