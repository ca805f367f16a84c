package trail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Fleet, set as Validation.Fleet, makes a trail's digest chains fleet-wide:
// many recorders (instances of one service, Config.Instance tells them
// apart) share the trail, its bucket and its signing key, every instance
// delivers its own log files, and one digest chain per (trail, account,
// region) covers the files of all of them, as CloudTrail's single digest
// writer does.
//
// # How
//
// Each instance stores a log file's digest facts with it as object metadata
// (LogFile.Metadata). One instance per chain is the digest writer, elected
// through a lease object the storage itself holds (LeaseStore: S3
// conditional writes, filesink's lock file), at
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail-Lease/region/<trail>.json
//
// The writer renews the lease every LeaseTTL/3; when it stops renewing
// (crash, pause, partition), another instance takes over once LeaseTTL has
// passed. Periods lie on a grid aligned to UTC (multiples of Period since
// the Unix epoch), the same for every instance. At each period end the
// writer lists the log files of the chain delivered since the previous
// digest (from LookBack before its end, so late deliveries and clock skew
// are caught), leaves out those an earlier digest lists, reads the facts of
// the others from their metadata and writes the digest create-only: a key
// holding another digest is a conflict, after which the writer re-reads the
// chain and stands down. A new writer continues from the newest digest and
// covers everything delivered since it.
//
// At Close an instance that delivered files since the writer's last look
// takes the lease (waiting for it, bounded by Close's context) and writes a
// final digest that covers them, then releases the lease.
//
// The trail needs a sink that is a DigestSink, an ObjectReader and a
// LeaseStore (filesink, memsink, s3sink); digests are written to the first
// such sink only. Digest chains of other accounts and regions than the home
// ones are written by instances that delivered files for them.
type Fleet struct {
	// LeaseTTL is how long a writer's lease lasts without renewal (default
	// 30 seconds, at least 1 second). A crashed writer is replaced after at
	// most this long.
	LeaseTTL time.Duration
	// LookBack is how far before the previous digest's end the writer looks
	// for log files not yet in a digest (default 15 minutes, and at least
	// twice the trail's Interval plus a minute). A file delivered later than
	// this after its name's time stays uncovered (trailcheck reports it).
	LookBack time.Duration
}

// DefaultLeaseTTL and DefaultLookBack are the defaults of Fleet.
const (
	DefaultLeaseTTL = 30 * time.Second
	DefaultLookBack = 15 * time.Minute
)

// fleetStore is the sink a fleet's digest writer works through.
type fleetStore interface {
	Sink
	DigestSink
	ObjectReader
	LeaseStore
}

// fleetConfig is a trail's resolved Fleet.
type fleetConfig struct {
	ttl      time.Duration
	lookBack time.Duration
	store    fleetStore
}

func newFleetConfig(f *Fleet, t *Trail) (*fleetConfig, error) {
	fc := &fleetConfig{ttl: f.LeaseTTL, lookBack: f.LookBack}
	if fc.ttl == 0 {
		fc.ttl = DefaultLeaseTTL
	}
	if fc.lookBack == 0 {
		fc.lookBack = DefaultLookBack
	}
	if fc.ttl < time.Second || fc.lookBack < 0 {
		return nil, errors.New("Validation.Fleet: LeaseTTL must be at least 1s and LookBack not negative")
	}
	interval := t.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if min := 2*interval + time.Minute; fc.lookBack < min {
		fc.lookBack = min
	}
	for _, s := range t.Sinks {
		if fs, ok := s.(fleetStore); ok {
			fc.store = fs
			break
		}
	}
	if fc.store == nil {
		return nil, errors.New("Validation.Fleet: no sink can hold a lease and read back (needs DeliverDigest, List, Get, ReadLease and WriteLease)")
	}
	return fc, nil
}

// LeaseKey returns the key of the lease object of a fleet's digest chain.
func LeaseKey(prefix, orgID, account, region, trailName string) string {
	b := appendKeyBase(nil, prefix, orgID, account)
	return string(b) + "CloudTrail-Lease/" + region + "/" + trailName + ".json"
}

// leaseRecord is the content of a lease object.
type leaseRecord struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
	// Closing is set by a holder that is writing its final digest: an
	// instance closing meanwhile must wait for it and cover its own files.
	Closing bool `json:"closing,omitempty"`
}

// fleetWriter runs the digest writer election of one trail in one
// recorder: a goroutine, started with the trail's sink workers and stopped
// by Close, owns every fleetChain.
type fleetWriter struct {
	r      *Recorder
	ts     *trailState
	fc     *fleetConfig
	ring   *KeyRing
	period time.Duration

	mu     sync.Mutex
	chains map[acctRegion]*fleetChain // under mu (the map; chains are owned by the goroutine)
	kick   chan struct{}

	startOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	abandoned bool // set by close(abandon): a later close does nothing
}

// fleetChain is the writer state of one chain.
type fleetChain struct {
	key      acctRegion
	leaseVer string    // version of the lease object we hold; "" = not held
	renewed  time.Time // when we last wrote the lease
	loaded   bool      // head and covered were read from storage
	head     ChainState
	origin   time.Time            // with a zero head: the start of the chain's first period
	covered  map[string]time.Time // log key -> its name's time, for files some digest lists
	facts    map[string]LogFileFacts
}

func newFleetWriter(r *Recorder, ts *trailState) *fleetWriter {
	fw := &fleetWriter{r: r, ts: ts, fc: ts.val.fleet, ring: ts.val.ring, period: ts.val.period,
		chains: map[acctRegion]*fleetChain{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	fw.note(r.cfg.AccountID, r.cfg.Region)
	return fw
}

// note makes sure the writer takes part in the election of a chain (the
// batcher calls it for every file it cuts).
func (fw *fleetWriter) note(account, region string) {
	k := acctRegion{account, region}
	fw.mu.Lock()
	_, ok := fw.chains[k]
	if !ok {
		fw.chains[k] = &fleetChain{key: k}
	}
	fw.mu.Unlock()
	if !ok {
		select {
		case fw.kick <- struct{}{}:
		default:
		}
	}
}

func (fw *fleetWriter) chainList() []*fleetChain {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	out := make([]*fleetChain, 0, len(fw.chains))
	for _, c := range fw.chains {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key.account != out[j].key.account {
			return out[i].key.account < out[j].key.account
		}
		return out[i].key.region < out[j].key.region
	})
	return out
}

func (fw *fleetWriter) start() {
	fw.startOnce.Do(func() { go fw.run() })
}

// run is the writer goroutine: it wakes at every grid boundary and every
// LeaseTTL/3 to renew or try to take each chain's lease.
func (fw *fleetWriter) run() {
	defer close(fw.done)
	renew := fw.fc.ttl / 3
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-fw.stop:
			return
		case <-fw.kick:
		case <-t.C:
		}
		now := time.Now()
		ctx, cancel := context.WithTimeout(fw.r.deliverCtx, fw.fc.ttl)
		for _, c := range fw.chainList() {
			fw.tick(ctx, c, now, false)
		}
		cancel()
		now = time.Now()
		next := fw.boundaryAfter(now)
		if w := now.Add(renew); w.Before(next) {
			next = w
		}
		t.Reset(next.Sub(now))
	}
}

// boundaryAfter returns the first grid boundary strictly after t.
func (fw *fleetWriter) boundaryAfter(t time.Time) time.Time {
	p := int64(fw.period / time.Second)
	s := t.Unix()
	return time.Unix((s/p+1)*p, 0).UTC()
}

// gridFloor returns the last grid boundary at or before t.
func (fw *fleetWriter) gridFloor(t time.Time) time.Time {
	p := int64(fw.period / time.Second)
	s := t.Unix()
	return time.Unix(s/p*p, 0).UTC()
}

func (fw *fleetWriter) leaseKey(c *fleetChain) string {
	cfg := fw.ts.config()
	return LeaseKey(cfg.Prefix, cfg.Organization, c.key.account, c.key.region, cfg.Name)
}

// acquire renews or takes c's lease. It reports whether this instance holds
// it afterwards. closing marks the lease as held for a final digest.
func (fw *fleetWriter) acquire(ctx context.Context, c *fleetChain, now time.Time, closing bool) bool {
	st := fw.fc.store
	key := fw.leaseKey(c)
	me := fw.r.cfg.Instance
	rec, _ := json.Marshal(leaseRecord{Holder: me, Expires: now.Add(fw.fc.ttl).UTC(), Closing: closing})
	if c.leaseVer != "" {
		if !closing && now.Sub(c.renewed) < fw.fc.ttl/3 {
			return true
		}
		v, err := st.WriteLease(ctx, key, rec, c.leaseVer)
		if err == nil {
			c.leaseVer, c.renewed = v, now
			return true
		}
		fw.standDown(c)
		if !errors.Is(err, ErrConflict) {
			fw.r.report(fmt.Errorf("trail %q: fleet lease %s: %w", fw.ts.name, key, err))
			return false
		}
	}
	data, ver, err := st.ReadLease(ctx, key)
	var cur leaseRecord
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ver = ""
	case err != nil:
		fw.r.report(fmt.Errorf("trail %q: fleet lease %s: %w", fw.ts.name, key, err))
		return false
	default:
		if json.Unmarshal(data, &cur) != nil {
			cur = leaseRecord{} // unreadable: take it over
		}
		if cur.Holder != me && now.Before(cur.Expires) {
			return false // held by a live instance
		}
	}
	v, err := st.WriteLease(ctx, key, rec, ver)
	if err != nil {
		if !errors.Is(err, ErrConflict) {
			fw.r.report(fmt.Errorf("trail %q: fleet lease %s: %w", fw.ts.name, key, err))
		}
		return false
	}
	fw.r.logger().Debug("trail: fleet digest writer lease taken", "trail", fw.ts.name, "account", c.key.account,
		"region", c.key.region, "instance", me, "previous", cur.Holder, "expired", cur.Expires)
	c.leaseVer, c.renewed = v, now
	c.loaded = false // a new term: read the chain
	return true
}

// standDown forgets leadership of c: its chain is read again when it next
// holds the lease.
func (fw *fleetWriter) standDown(c *fleetChain) {
	c.leaseVer = ""
	c.loaded = false
	c.covered = nil
	c.facts = nil
}

// release ends our lease of c so that another instance may take it at once.
func (fw *fleetWriter) release(ctx context.Context, c *fleetChain) {
	if c.leaseVer == "" {
		return
	}
	rec, _ := json.Marshal(leaseRecord{Holder: fw.r.cfg.Instance})
	if _, err := fw.fc.store.WriteLease(ctx, fw.leaseKey(c), rec, c.leaseVer); err != nil && !errors.Is(err, ErrConflict) {
		fw.r.report(fmt.Errorf("trail %q: release fleet lease: %w", fw.ts.name, err))
	}
	fw.standDown(c)
}

// tick does the writer's work for c at now: hold the lease, then write the
// digest of every grid period that ended. With final, it also covers, in
// one last digest ending now, every file not yet in a digest.
func (fw *fleetWriter) tick(ctx context.Context, c *fleetChain, now time.Time, final bool) error {
	if !fw.acquire(ctx, c, now, final) {
		return errNotWriter
	}
	if !c.loaded {
		if err := fw.load(ctx, c); err != nil {
			fw.r.report(err)
			return err
		}
	}
	start := c.head.EndTime
	if c.head.IsZero() {
		start = c.origin
	}
	for n := 0; ; n++ {
		end := fw.boundaryAfter(start)
		if end.After(now) {
			break
		}
		if n >= maxCatchUp {
			end = fw.gridFloor(now) // a long outage: one digest for the rest
		}
		if err := fw.write(ctx, c, start, end, false); err != nil {
			return err
		}
		start = end
	}
	if final {
		end := now.UTC().Truncate(time.Second)
		if !end.After(start) {
			end = start.Add(time.Second)
		}
		if err := fw.write(ctx, c, start, end, true); err != nil {
			return err
		}
	}
	return nil
}

// maxCatchUp bounds the digests a new writer writes one period at a time
// after an outage; the rest are covered by one longer digest.
const maxCatchUp = 1000

var errNotWriter = errors.New("trail: not the fleet's digest writer")

// load reads c's chain head and the log files its recent digests list.
func (fw *fleetWriter) load(ctx context.Context, c *fleetChain) error {
	cfg := fw.ts.config()
	st := fw.fc.store
	head, err := loadChainState(ctx, st, &cfg, fw.r.cfg.Region, chainKey{trail: fw.ts, account: c.key.account, region: c.key.region})
	if err != nil {
		return fmt.Errorf("trail %q: fleet: %w", cfg.Name, err)
	}
	c.head = head
	c.covered = map[string]time.Time{}
	c.facts = map[string]LogFileFacts{}
	if head.IsZero() {
		c.origin = fw.gridFloor(time.Now())
		c.loaded = true
		return nil
	}
	horizon := head.EndTime.Add(-fw.fc.lookBack - 2*time.Minute)
	key := head.Key
	for i := 0; key != "" && i < 100000; i++ {
		d, err := readFleetDigest(ctx, st, key)
		if errors.Is(err, fs.ErrNotExist) {
			break // a deleted digest: trailcheck reports it
		}
		if err != nil {
			return fmt.Errorf("trail %q: fleet: %w", cfg.Name, err)
		}
		for _, lf := range d.LogFiles {
			c.covered[lf.S3Object] = logKeyTime(lf.S3Object)
		}
		end, err := time.Parse(TimeFormat, d.DigestEndTime)
		if err != nil || end.Before(horizon) || d.PreviousDigestS3Object == nil {
			break
		}
		key = *d.PreviousDigestS3Object
	}
	c.loaded = true
	return nil
}

type fleetDigestJSON struct {
	DigestEndTime          string  `json:"digestEndTime"`
	PreviousDigestS3Object *string `json:"previousDigestS3Object"`
	LogFiles               []struct {
		S3Object string `json:"s3Object"`
	} `json:"logFiles"`
}

func readFleetDigest(ctx context.Context, rd ObjectReader, key string) (*fleetDigestJSON, error) {
	gz, _, err := rd.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	body, err := gunzipFirst(gz)
	if err != nil {
		return nil, fmt.Errorf("digest %s: %w", key, err)
	}
	var d fleetDigestJSON
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("digest %s: %w", key, err)
	}
	return &d, nil
}

func gunzipFirst(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	return io.ReadAll(io.LimitReader(zr, 256<<20))
}

// logKeyTime returns the time in a log file's name (minute precision), or
// the zero time.
func logKeyTime(key string) time.Time {
	// ..._YYYYMMDDTHHmmZ_<16>.json.gz
	const tail = len("_20060102T1504Z_0123456789abcdef.json.gz")
	if len(key) < tail {
		return time.Time{}
	}
	s := key[len(key)-tail+1 : len(key)-tail+1+len("20060102T1504Z")]
	t, err := time.Parse("20060102T1504Z", s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// write builds, signs and stores the digest of [start, end]: the chain's
// log files not yet in a digest, cut before end (with final: all of them).
func (fw *fleetWriter) write(ctx context.Context, c *fleetChain, start, end time.Time, final bool) error {
	files, err := fw.uncovered(ctx, c, end, final)
	if err != nil {
		fw.r.report(err)
		return err
	}
	if final && len(files) == 0 {
		return nil // nothing of ours (or anyone's) left: no off-grid digest
	}
	// Hold the lease for the write: a writer whose lease was taken over
	// must not write (create-only keys catch the rest).
	if !fw.acquire(ctx, c, time.Now(), final) {
		return errNotWriter
	}
	cfg := fw.ts.config()
	home := fw.r.cfg.Region
	d := &Digest{Trail: cfg.Name, Bucket: cfg.Bucket, AccountID: c.key.account, Region: c.key.region, HomeRegion: home,
		StartTime: start, EndTime: end, LogFiles: files, Previous: c.head}
	d.Key = DigestKey(cfg.Prefix, cfg.Organization, c.key.account, c.key.region, cfg.Name, home, end)
	i, inWindow := fw.ring.signerAt(end)
	if !inWindow {
		fw.r.report(fmt.Errorf("trail %q: no signing key is valid at %s; signing with the newest key", cfg.Name, end.Format(TimeFormat)))
	}
	if err := d.sign(fw.ring.keys[i].Signer, fw.ring.pubs[i].Fingerprint); err != nil {
		fw.r.report(err)
		return err
	}
	if err := fw.fc.store.DeliverDigest(ctx, d); err != nil {
		de := &DeliveryError{Trail: cfg.Name, Sink: sinkName(fw.fc.store), Key: d.Key, Attempt: 1, Digest: true, Err: err,
			Final: errors.Is(err, ErrPermanent)}
		fw.ts.noteFailure(de)
		fw.r.reportDelivery(de)
		if errors.Is(err, ErrConflict) {
			// Another writer got there first: re-read the chain, stand down.
			fw.r.stats.digestsFailed.Add(1)
			fw.standDown(c)
		}
		return err
	}
	fw.r.stats.digestsDelivered.Add(1)
	fw.ts.noteDigestDelivered(d)
	fw.r.logger().Debug("trail: fleet digest written", "trail", fw.ts.name, "key", d.Key, "files", len(files),
		"instance", fw.r.cfg.Instance, "final", final)
	for _, f := range files {
		c.covered[f.Key] = logKeyTime(f.Key)
		delete(c.facts, f.Key)
	}
	c.head = d.State()
	fw.r.setChainState(chainKey{trail: fw.ts, account: c.key.account, region: c.key.region}, c.head)
	horizon := c.head.EndTime.Add(-fw.fc.lookBack - 2*time.Minute)
	for k, t := range c.covered {
		if t.Before(horizon) {
			delete(c.covered, k)
		}
	}
	return nil
}

// uncovered lists c's log files from LookBack before the chain head on,
// and returns, sorted by key, those no digest lists that were cut before
// end (all of them with final).
func (fw *fleetWriter) uncovered(ctx context.Context, c *fleetChain, end time.Time, final bool) ([]DigestLogFile, error) {
	cfg := fw.ts.config()
	st := fw.fc.store
	from := c.head.EndTime
	if c.head.IsZero() {
		from = c.origin
	}
	from = from.Add(-fw.fc.lookBack).UTC()
	base := string(appendKeyBase(nil, cfg.Prefix, cfg.Organization, c.key.account)) + "CloudTrail/" + c.key.region + "/"
	to := end
	if final {
		to = time.Now().Add(time.Minute)
	}
	var out []DigestLogFile
	for day := from.Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		dir := base + day.Format("2006/01/02/")
		var keys []string
		var err error
		if al, ok := st.(interface {
			ListAfter(ctx context.Context, prefix, startAfter string) ([]string, error)
		}); ok && day.Equal(from.Truncate(24*time.Hour)) {
			mark := dir + c.key.account + "_CloudTrail_" + c.key.region + "_" + from.Format("20060102T1504Z")
			keys, err = al.ListAfter(ctx, dir, mark)
		} else {
			keys, err = st.List(ctx, dir)
		}
		if err != nil {
			return nil, fmt.Errorf("trail %q: fleet: list %s: %w", cfg.Name, dir, err)
		}
		var cand, need []string
		for _, k := range keys {
			if _, ok := c.covered[k]; ok {
				continue
			}
			kt := logKeyTime(k)
			if kt.IsZero() || kt.Before(from.Truncate(time.Minute)) || (!final && !kt.Before(end)) {
				continue
			}
			cand = append(cand, k)
			if _, ok := c.facts[k]; !ok {
				need = append(need, k)
			}
		}
		if err := fw.readAllFacts(ctx, c, need); err != nil {
			return nil, fmt.Errorf("trail %q: fleet: %w", cfg.Name, err)
		}
		for _, k := range cand {
			x, ok := c.facts[k]
			if !ok || (!final && !x.Created.Before(end)) {
				continue // gone meanwhile, or cut after end: the next digest's
			}
			out = append(out, DigestLogFile{Bucket: cfg.Bucket, Key: k, SHA256: x.SHA256,
				OldestEventTime: x.OldestEventTime, NewestEventTime: x.NewestEventTime})
		}
	}
	return out, nil
}

// factReaders bounds the concurrent metadata reads of a digest writer: at
// 100 files/s a period's facts cannot be read one request at a time.
const factReaders = 16

// readAllFacts reads the facts of keys into c.facts, factReaders at a time;
// a key that no longer exists is left out.
func (fw *fleetWriter) readAllFacts(ctx context.Context, c *fleetChain, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	facts := make([]LogFileFacts, len(keys))
	errs := make([]error, len(keys))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(factReaders, len(keys)) {
		wg.Go(func() {
			for i := range next {
				facts[i], errs[i] = fw.readFacts(ctx, keys[i])
			}
		})
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, k := range keys {
		switch {
		case errs[i] == nil:
			c.facts[k] = facts[i]
		case errors.Is(errs[i], fs.ErrNotExist):
		default:
			return errs[i]
		}
	}
	return nil
}

// readFacts reads a log file's digest facts from its metadata, or, for a
// file stored without them, from its body.
func (fw *fleetWriter) readFacts(ctx context.Context, key string) (LogFileFacts, error) {
	st := fw.fc.store
	var meta map[string]string
	var err error
	if mr, ok := st.(MetadataReader); ok {
		meta, err = mr.Metadata(ctx, key)
	} else {
		_, meta, err = st.Get(ctx, key)
	}
	if err != nil {
		return LogFileFacts{}, err
	}
	if x, err := ParseLogFileFacts(meta); err == nil {
		return x, nil
	}
	gz, _, err := st.Get(ctx, key)
	if err != nil {
		return LogFileFacts{}, err
	}
	return factsFromBody(key, gz)
}

// factsFromBody computes the facts of a log file stored without them.
func factsFromBody(key string, gz []byte) (LogFileFacts, error) {
	body, err := gunzipFirst(gz)
	if err != nil {
		return LogFileFacts{}, fmt.Errorf("log file %s: %w", key, err)
	}
	var doc struct {
		Records []struct {
			EventTime string `json:"eventTime"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return LogFileFacts{}, fmt.Errorf("log file %s: %w", key, err)
	}
	x := LogFileFacts{SHA256: sha256Sum(body), Created: logKeyTime(key)}
	for _, r := range doc.Records {
		t, err := time.Parse(TimeFormat, r.EventTime)
		if err != nil {
			continue
		}
		if x.OldestEventTime.IsZero() || t.Before(x.OldestEventTime) {
			x.OldestEventTime = t
		}
		if t.After(x.NewestEventTime) {
			x.NewestEventTime = t
		}
	}
	return x, nil
}

// close stops the writer goroutine and, unless abandon, covers in a final
// digest the files this instance delivered that no digest lists yet, then
// releases the leases it holds.
func (fw *fleetWriter) close(ctx context.Context, abandon bool) error {
	fw.startOnce.Do(func() { close(fw.done) }) // never started
	fw.closeOnce.Do(func() { close(fw.stop) })
	<-fw.done
	if abandon {
		fw.abandoned = true
	}
	if fw.abandoned {
		return nil
	}
	var errs []error
	for _, c := range fw.chainList() {
		if err := fw.closeChain(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (fw *fleetWriter) closeChain(ctx context.Context, c *fleetChain) error {
	poll := min(fw.fc.ttl/10, 250*time.Millisecond)
	for {
		now := time.Now()
		if c.leaseVer == "" {
			// Another live writer that is not itself closing lists our
			// files (all delivered by now) at its next period end.
			if fw.liveWriterElsewhere(ctx, c, now) {
				return nil
			}
		}
		// Read the chain again before an off-grid final digest: only
		// grid keys are shared by all writers, so a stale head here would
		// fork the chain.
		c.loaded = false
		err := fw.tick(ctx, c, now, true)
		if err == nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fw.fc.ttl)
			fw.release(rctx, c)
			cancel()
			return nil
		}
		if !errors.Is(err, errNotWriter) && !errors.Is(err, ErrConflict) {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fw.fc.ttl)
			fw.release(rctx, c)
			cancel()
			return fmt.Errorf("trail %q: fleet: final digest of %s/%s: %w", fw.ts.name, c.key.account, c.key.region, err)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("trail %q: fleet: waiting for the digest writer lease of %s/%s at Close: %w", fw.ts.name, c.key.account, c.key.region, ctx.Err())
		case <-t.C:
		}
	}
}

// liveWriterElsewhere reports whether another instance holds c's lease, is
// not closing, and has not let it expire.
func (fw *fleetWriter) liveWriterElsewhere(ctx context.Context, c *fleetChain, now time.Time) bool {
	data, _, err := fw.fc.store.ReadLease(ctx, fw.leaseKey(c))
	if err != nil {
		return false
	}
	var cur leaseRecord
	if json.Unmarshal(data, &cur) != nil {
		return false
	}
	return cur.Holder != fw.r.cfg.Instance && !cur.Closing && now.Before(cur.Expires)
}

// closeFleets ends the fleet writers of every trail (Close).
func (r *Recorder) closeFleets(ctx context.Context, abandon bool) error {
	r.admin.Lock()
	every := r.every
	r.admin.Unlock()
	var errs []error
	for _, ts := range every {
		if ts.fleet != nil {
			if err := ts.fleet.close(ctx, abandon); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
