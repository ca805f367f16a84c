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
	if ts.val != nil && ts.val.fleet == nil && ts.active {
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

// chain is one digest chain, owned by the pipeline goroutine.
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
