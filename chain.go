package trail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"sort"
	"strings"
	"time"
)

// The chain stage: one goroutine that takes, in cut order, the files the
// batcher cut (waiting for each to be compressed), records them in their
// digest chains, closes digest periods on the batcher's ticks, signs the
// digests and queues files and digests for the sink workers. Chain
// resumption (reading the newest digest back from a sink) runs here, never
// on the batcher.
//
// Fleet mode hooks in at emitDigest: a fleet digest writer decides there
// whether this instance writes the chain's digest.

// chainMsg is one message from the batcher to the chain stage: a cut file,
// a control change, a Flush barrier, the final message at Close, or (none
// of those) a tick at a digest period boundary. now is the batcher's time
// when it sent the message.
type chainMsg struct {
	job     *fileJob
	ctl     *control
	barrier *flushBarrier
	final   bool
	now     time.Time

	// spool mode: maintain (truncate the log below spoolLow, the lowest
	// index the batcher still needs; also done with final)
	maintain bool
	spoolLow uint64
}

// chainStage is the chain stage's state, owned by its goroutine.
type chainStage struct {
	r      *Recorder
	states []*trailState // trails with running sink workers
	chains map[chainKey]*chain
}

// chainLoop runs the chain stage until the batcher closes r.chainQ, then
// writes the final digests, closes the sink workers' queues and waits for
// them; it closes r.done last.
func (r *Recorder) chainLoop(cs *chainStage) {
	defer close(r.done)
	final := time.Now()
	var spoolLow uint64
	for m := range r.chainQ {
		r.progress.Add(1)
		switch {
		case m.job != nil:
			<-m.job.done
			cs.file(m.job, m.now)
		case m.ctl != nil:
			cs.control(m.ctl, m.now)
		case m.barrier != nil:
			cs.barrier(m.barrier)
		case m.final:
			final, spoolLow = m.now, m.spoolLow
		case m.maintain:
			cs.spoolMaintain(m.spoolLow, false)
		default:
			cs.advanceChains(m.now)
		}
	}
	cs.finalDigests(final)
	for _, ts := range cs.states {
		closeWorkers(ts.workers)
	}
	r.workers.Wait()
	if r.spool != nil {
		cs.spoolMaintain(spoolLow, true)
	}
}

// file records a compressed file in its digest chain and queues it for the
// trail's sinks.
func (cs *chainStage) file(job *fileJob, now time.Time) {
	ts, f := job.ts, job.f
	if job.err != nil {
		// gzip into memory cannot fail in practice; report it anyway.
		cs.r.report(job.err)
		for _, w := range job.waiters {
			w.fileDone(ReceiptFile{}, job.err)
		}
		ts.inflightFiles.Add(-1)
		ts.inflightRecords.Add(-int64(len(f.Records)))
		return
	}
	switch {
	case job.insight: // digests cover CloudTrail/ log files only
	case ts.fleet != nil:
		ts.fleet.note(f.AccountID, f.Region) // the fleet's writer lists it
	case ts.val != nil:
		c := cs.chainFor(ts, chainKey{trail: ts, account: f.AccountID, region: f.Region}, now)
		cs.roll(ts, c, now)
		c.files = append(c.files, DigestLogFile{Bucket: f.Bucket, Key: f.Key, SHA256: f.SHA256,
			OldestEventTime: f.OldestEventTime, NewestEventTime: f.NewestEventTime})
	}
	sj := sinkJob{file: f}
	if len(job.waiters) > 0 {
		sj.track = newFileTrack(ReceiptFile{Trail: ts.name, Bucket: f.Bucket, Key: f.Key}, job.waiters, len(ts.workers))
	}
	if job.spooled {
		sj.sf = cs.spoolCut(ts, job.insight, job.first, job.last, f)
		sj.sf.track = sj.track
	}
	cs.send(ts, sj)
	ts.inflightFiles.Add(-1)
	ts.inflightRecords.Add(-int64(len(f.Records)))
}

// send queues job for every sink of the trail (digests only for those that
// store digests). It blocks while a sink's queue is full, until Close gives
// up; what it could not queue then counts as lost for that sink.
func (cs *chainStage) send(ts *trailState, job sinkJob) {
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
		w.enqueue(job)
	}
}

// chainFor returns the digest chain of k, creating it on first use: from
// Validation.Resume, else from the newest digest the sinks hold, else as a
// new chain whose first period is the grid period holding now.
func (cs *chainStage) chainFor(ts *trailState, k chainKey, now time.Time) *chain {
	if c := cs.chains[k]; c != nil {
		return c
	}
	r := cs.r
	prev, ok := ts.val.resume[acctRegion{k.account, k.region}]
	if ts.noResume {
		prev, ok = ChainState{}, true
	}
	if !ok && ts.val.reader != nil {
		ctx, cancel := context.WithTimeout(r.deliverCtx, 30*time.Second)
		r.external.Add(1)
		st, err := loadChainState(ctx, ts.val.reader, &ts.chainCfg, r.cfg.Region, k)
		r.external.Add(-1)
		cancel()
		if err != nil {
			r.report(fmt.Errorf("trail %q: starting a new digest chain for %s/%s: %w", ts.chainCfg.Name, k.account, k.region, err))
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
	c.end = cs.r.boundaryAfter(ts.val.period, laterOf(now, c.start))
	cs.chains[k] = c
	r.setChainState(k, prev)
	return c
}

// boundaryAfter returns the first boundary strictly after t of the grid of
// digest periods of the given length.
func (r *Recorder) boundaryAfter(period time.Duration, t time.Time) time.Time {
	if t.Before(r.start) {
		return r.start
	}
	return r.start.Add(t.Sub(r.start).Truncate(period) + period)
}

func (r *Recorder) setChainState(k chainKey, s ChainState) {
	if s.IsZero() {
		return
	}
	r.chainMu.Lock()
	r.chainStates[k] = s
	r.chainMu.Unlock()
}

// roll closes every period of c that ended by now.
func (cs *chainStage) roll(ts *trailState, c *chain, now time.Time) {
	for !now.Before(c.end) {
		cs.emitDigest(ts, c, c.end)
		c.end = cs.r.boundaryAfter(ts.val.period, laterOf(c.end, c.start))
	}
}

func (cs *chainStage) advanceChains(now time.Time) {
	for _, c := range cs.chains {
		cs.roll(c.key.trail, c, now)
	}
}

// finalDigests closes the current period of every chain at Close.
func (cs *chainStage) finalDigests(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for _, c := range cs.chains {
		cs.finalDigest(c, now)
	}
}

// finalDigest closes c's current period at now (whole seconds).
func (cs *chainStage) finalDigest(c *chain, now time.Time) {
	ts := c.key.trail
	cs.roll(ts, c, now)
	if now.After(c.start) {
		cs.emitDigest(ts, c, now)
	} else if len(c.files) > 0 {
		cs.emitDigest(ts, c, c.start.Add(time.Second))
	}
}

// emitDigest signs the digest of [c.start, end] and queues it for the sinks.
// If signing fails, the period stays open (its files are kept for the next
// digest) so the chain has no hole.
func (cs *chainStage) emitDigest(ts *trailState, c *chain, end time.Time) {
	r := cs.r
	d := &Digest{
		Trail: ts.chainCfg.Name, Bucket: ts.chainCfg.Bucket, AccountID: c.key.account, Region: c.key.region,
		HomeRegion: r.cfg.Region, StartTime: c.start, EndTime: end, LogFiles: c.files, Previous: c.prev,
	}
	d.Key = DigestKey(ts.chainCfg.Prefix, ts.chainCfg.Organization, c.key.account, c.key.region, ts.chainCfg.Name, r.cfg.Region, end)
	i, inWindow := ts.val.ring.signerAt(end)
	if !inWindow {
		r.report(fmt.Errorf("trail %q: no signing key is valid at %s; signing with the newest key", ts.chainCfg.Name, end.Format(TimeFormat)))
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
		job.sf = cs.spoolDigest(ts, d)
	}
	cs.send(ts, job)
}

// startChains creates the home chain of a logging trail with validation, so
// that it writes digests (empty ones too) from the start.
func (cs *chainStage) startChains(ts *trailState, now time.Time) {
	if ts.val != nil && ts.val.fleet == nil && ts.chainActive {
		cs.chainFor(ts, chainKey{trail: ts, account: cs.r.cfg.AccountID, region: cs.r.cfg.Region}, now)
	}
}

// endChains writes the final digest of each of ts's chains and forgets them;
// chains started later begin afresh, no earlier than the final digests' end.
func (cs *chainStage) endChains(ts *trailState, now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for k, c := range cs.chains {
		if k.trail != ts {
			continue
		}
		cs.finalDigest(c, now)
		if c.start.After(ts.chainFloor) {
			ts.chainFloor = c.start
		}
		delete(cs.chains, k)
		cs.r.chainMu.Lock()
		delete(cs.r.chainStates, k)
		cs.r.chainMu.Unlock()
	}
	if now.After(ts.chainFloor) {
		ts.chainFloor = now
	}
	ts.noResume = true
}

// ChainState is where a digest chain stands: the newest digest written.
type ChainState struct {
	Trail     string    // trail name
	AccountID string    // account of the chain
	Region    string    // source region of the chain
	Bucket    string    // bucket of the newest digest
	Key       string    // key of the newest digest
	EndTime   time.Time // its digestEndTime
	Hash      string    // lower-case hex SHA-256 of its uncompressed bytes
	Signature string    // its signature, hex
}

// IsZero reports whether s is the zero state (no previous digest).
func (s ChainState) IsZero() bool { return s.Key == "" }

func (s ChainState) bucketOrEmpty() string {
	if s.IsZero() {
		return ""
	}
	return s.Bucket
}

// chainKey identifies one digest chain.
type chainKey struct {
	trail   *trailState
	account string
	region  string
}

// chain is one digest chain, owned by the chain stage.
type chain struct {
	key        chainKey
	start, end time.Time // current period
	files      []DigestLogFile
	prev       ChainState
}

// validator is a trail's validation setup, resolved in New.
type validator struct {
	ring   *KeyRing
	period time.Duration
	resume map[acctRegion]ChainState
	reader ObjectReader // for chain resumption; may be nil
	fleet  *fleetConfig // fleet mode (fleet.go); nil otherwise
}

// acctRegion names a chain within a trail.
type acctRegion struct{ account, region string }

func newValidator(v *Validation, t *Trail) (*validator, error) {
	if (v.Signer == nil) == (v.Keys == nil) {
		return nil, errors.New("Validation: set exactly one of Signer and Keys")
	}
	ring := v.Keys
	if v.Signer != nil {
		var err error
		if ring, err = NewKeyRing(SigningKey{Signer: v.Signer}); err != nil {
			return nil, fmt.Errorf("Validation: %w", err)
		}
	}
	period := v.Period
	if period == 0 {
		period = DefaultDigestPeriod
	}
	if period < time.Second || period%time.Second != 0 {
		return nil, errors.New("Validation: Period must be whole seconds, at least 1s")
	}
	if t.Bucket == "" {
		return nil, errors.New("Validation needs Bucket: digests name the bucket they are stored in")
	}
	val := &validator{ring: ring, period: period, resume: map[acctRegion]ChainState{}}
	digestSinks := 0
	for _, s := range t.Sinks {
		if _, ok := s.(DigestSink); ok {
			digestSinks++
			if rd, ok := s.(ObjectReader); ok && val.reader == nil {
				val.reader = rd
			}
		}
	}
	if digestSinks == 0 {
		return nil, errors.New("Validation: no sink can store digest files (none has a DeliverDigest method)")
	}
	if v.Fleet != nil {
		fc, err := newFleetConfig(v.Fleet, t)
		if err != nil {
			return nil, err
		}
		val.fleet = fc
	}
	for _, st := range v.Resume {
		if st.Trail != t.Name {
			continue
		}
		val.resume[acctRegion{st.AccountID, st.Region}] = st
	}
	return val, nil
}

// loadChainState reads the newest digest of a chain back through rd.
func loadChainState(ctx context.Context, rd ObjectReader, t *Trail, homeRegion string, k chainKey) (ChainState, error) {
	base := digestDir(t.Prefix, t.Organization, k.account, k.region)
	keys, err := rd.List(ctx, base)
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: list digests under %s: %w", base, err)
	}
	namePrefix := digestNamePrefix(k.account, k.region, t.Name, homeRegion)
	var newest, newestStamp string
	for _, key := range keys {
		name := key[strings.LastIndexByte(key, '/')+1:]
		if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, "Z.json.gz") || len(name) != len(namePrefix)+len(digestStampLayout)+len(".json.gz") {
			continue
		}
		stamp := name[len(namePrefix) : len(namePrefix)+16]
		if stamp > newestStamp {
			newest, newestStamp = key, stamp
		}
	}
	if newest == "" {
		return ChainState{}, nil
	}
	gz, meta, err := rd.Get(ctx, newest)
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: read digest %s: %w", newest, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: digest %s: %w", newest, err)
	}
	zr.Multistream(false)
	body, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: digest %s: %w", newest, err)
	}
	var d struct {
		End    string `json:"digestEndTime"`
		Bucket string `json:"digestS3Bucket"`
		Object string `json:"digestS3Object"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return ChainState{}, fmt.Errorf("trail: digest %s: %w", newest, err)
	}
	end, err := time.Parse(TimeFormat, d.End)
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: digest %s: digestEndTime: %w", newest, err)
	}
	if d.Object != newest || meta["signature"] == "" {
		return ChainState{}, fmt.Errorf("trail: digest %s: moved or unsigned; not continuing its chain", newest)
	}
	sum := sha256.Sum256(body)
	return ChainState{Trail: t.Name, AccountID: k.account, Region: k.region, Bucket: d.Bucket, Key: newest,
		EndTime: end, Hash: hex.EncodeToString(sum[:]), Signature: meta["signature"]}, nil
}

// ChainStates returns the state of every digest chain after the digests
// emitted so far, sorted by trail, account and region. Persist them and pass
// them as Validation.Resume to continue the chains in a new process when the
// sinks cannot be read back.
func (r *Recorder) ChainStates() []ChainState {
	if r.unusable() != nil {
		return nil
	}
	r.chainMu.Lock()
	out := make([]ChainState, 0, len(r.chainStates))
	for _, s := range r.chainStates {
		out = append(out, s)
	}
	r.chainMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Trail != b.Trail {
			return a.Trail < b.Trail
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.Region < b.Region
	})
	return out
}
