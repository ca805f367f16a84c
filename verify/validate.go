package verify

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Options configure [Validate].
type Options struct {
	// Bucket is the bucket the files were written for; every digest's
	// digestS3Bucket must equal it. Required.
	Bucket string
	// TrailARN is arn:aws:cloudtrail:<home region>:<account>:trail/<name>.
	// Required.
	TrailARN string
	// Prefix is the trail's S3 key prefix ("" = none).
	Prefix string
	// OrgID is the organization id ("o-...") of an organization trail; then
	// AccountID names the member account whose files are validated.
	OrgID string
	// AccountID is the account whose files are validated; default: the
	// account in TrailARN.
	AccountID string
	// Region is the source region whose files are validated; default: the
	// home region in TrailARN.
	Region string
	// Start and End bound the window (delivery times, as validate-logs'
	// --start-time/--end-time). End zero means now.
	Start, End time.Time
	// PublicKeys are the accepted keys (ListPublicKeys); those whose
	// validity overlaps [Start, End] are used. At least one is required.
	PublicKeys []PublicKey
	// ExpectedEnd, if set, is a time the newest digest must reach: a
	// digest chain ending earlier means the newest digests were deleted
	// (or delivery stopped), reported as [KindNewestDigestMissing].
	ExpectedEnd time.Time
	// RequireEnd makes End a time up to which the trail must be covered
	// (set it when End was given explicitly: trailcheck --end). The rule,
	// exactly (no slack beyond the minute precision of log file names):
	//
	//   - every log file of the chain whose name's minute ends at or before
	//     End (named before End's minute) must be listed by a digest, else
	//     [KindLogNotInDigest]; one named in End's minute that no digest
	//     lists is a [KindNotYetCovered] notice (its cut may follow End);
	//   - the newest digest must end at or after End, else
	//     [KindNewestDigestMissing] — unless it is a final digest (its
	//     period is shorter than the trail's digest period, see
	//     DigestPeriod: the digest a recorder writes at Close or when
	//     logging stops), after which the trail wrote nothing.
	//
	// Deleting the final digest, or any number of trailing periods, is
	// thereby an error. What stays undetectable offline: deleting every
	// digest after an older final digest together with every log file
	// they list (the tree then looks like a trail that stopped there);
	// ExpectedEnd asserts how far the digests must reach. To validate a
	// trail that is still running, give an End no later than its newest
	// digest's end, or leave End unset (newer files are then notices).
	// ExpectedEnd, when set, replaces the second rule.
	RequireEnd bool
	// DigestPeriod is the trail's digest period, used by RequireEnd to tell
	// a final digest (shorter) from a regular one. Zero: the most frequent
	// period length among the valid digests found (the longest of those
	// tied); when no length occurs twice, that or one hour (the default
	// period of CloudTrail and trail), whichever is longer.
	DigestPeriod time.Duration
	// PrefixChecked leaves out the findings about the prefix as a whole
	// (stray objects, symlinks, special files, temporary files: see
	// [TreeLister]) because another Validate of the same prefix, for
	// another chain, reported them already. trailcheck sets it for every
	// chain but the first.
	PrefixChecked bool
	// AllowRestarts accepts chain restarts (a starting digest while older
	// digests exist): they are listed in Report.Gaps but not reported as
	// KindChainRestart findings. Set it when restarts are expected, e.g.
	// after StopLogging/StartLogging; a restart can also hide deleted
	// digests, so check the trail's StopLogging events.
	AllowRestarts bool
	// Progress, if set, is called after each digest or log file is read,
	// with the number done and the current estimate of the total (which
	// grows as digests list log files).
	Progress func(done, total int)
}

// Validate validates the trail's digest and log files in st over the
// window, with the algorithm of `aws cloudtrail validate-logs` (walk the
// digests from the newest to the oldest following previousDigestS3Object,
// verify each signature, then every log file's hash), followed by extra
// checks validate-logs does not make (see [Kind]).
//
// Integrity problems are reported in the Report, never as an error. An
// error (wrapping [ErrInvalidOptions], [ErrNoPublicKeys], a Store error
// other than fs.ErrNotExist, or ctx's error) means validation could not be
// carried out; validate-logs aborts in the same situations.
func Validate(ctx context.Context, st Store, opt Options) (*Report, error) {
	v, err := newValidator(st, opt)
	if err != nil {
		return nil, err
	}
	if err := v.run(ctx); err != nil {
		return nil, err
	}
	return v.rep, nil
}

type validator struct {
	st     Store
	opt    Options
	lay    Layout
	start  time.Time
	end    time.Time
	keys   map[string]PublicKey
	pubs   map[string]*rsa.PublicKey
	rep    *Report
	extras []*IntegrityError

	walk       []*loadedDigest          // in processing order
	loaded     map[string]*loadedDigest // by key
	listedLogs map[string]string        // log key -> first digest listing it
	listedAll  []string                 // every digest key listed in the window (fleet.go)
	done       int
	total      int
}

type loadedDigest struct {
	key      string
	found    bool
	raw      []byte // uncompressed
	sha      string // hex sha256 of raw
	trailing int
	meta     map[string]string
	d        *Digest
	start    time.Time
	end      time.Time
	timesOK  bool
	err      *IntegrityError // validate-logs verdict; nil = valid
	restart  *Gap            // set when validate-logs printed a gap notice after it
}

func (ld *loadedDigest) valid() bool { return ld.found && ld.err == nil }

func newValidator(st Store, opt Options) (*validator, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOptions)
	}
	arn, err := ParseTrailARN(opt.TrailARN)
	if err != nil {
		return nil, err
	}
	if opt.Bucket == "" {
		return nil, fmt.Errorf("%w: Bucket is required", ErrInvalidOptions)
	}
	lay := Layout{Prefix: opt.Prefix, OrgID: opt.OrgID, AccountID: opt.AccountID, Region: opt.Region,
		HomeRegion: arn.HomeRegion, TrailName: arn.Name}
	if lay.AccountID == "" {
		lay.AccountID = arn.AccountID
	}
	if lay.Region == "" {
		lay.Region = arn.HomeRegion
	}
	start := opt.Start.UTC()
	end := opt.End.UTC()
	if opt.End.IsZero() {
		end = time.Now().UTC()
	}
	if start.After(end) {
		return nil, fmt.Errorf("%w: invalid time range specified: start-time must occur before end-time", ErrInvalidOptions)
	}
	if !opt.ExpectedEnd.IsZero() && opt.ExpectedEnd.After(end) {
		return nil, fmt.Errorf("%w: ExpectedEnd %s is after the end of the window %s", ErrInvalidOptions,
			display(opt.ExpectedEnd), display(end))
	}
	v := &validator{
		st: st, opt: opt, lay: lay, start: start, end: end,
		keys:       map[string]PublicKey{},
		pubs:       map[string]*rsa.PublicKey{},
		loaded:     map[string]*loadedDigest{},
		listedLogs: map[string]string{},
		rep: &Report{TrailARN: opt.TrailARN, Bucket: opt.Bucket, Start: start, End: end,
			Gaps: []Gap{}, Results: []Result{}, Findings: []*IntegrityError{}},
	}
	for _, k := range opt.PublicKeys {
		if k.overlaps(start, end) {
			v.keys[k.fingerprint()] = k
		}
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("%w between %s and %s", ErrNoPublicKeys, display(start), display(end))
	}
	return v, nil
}

func (v *validator) progress(doneDelta, totalDelta int) {
	v.done += doneDelta
	v.total += totalDelta
	if v.total < v.done {
		v.total = v.done
	}
	if v.opt.Progress != nil {
		v.opt.Progress(v.done, v.total)
	}
}

// listDigests is validate-logs' load_digest_keys_in_range.
func (v *validator) listDigests(ctx context.Context) ([]string, error) {
	marker := v.lay.DigestKey(v.start.Add(-time.Minute))
	prefix := v.lay.DigestDir()
	var (
		keys []string
		err  error
	)
	if al, ok := v.st.(AfterLister); ok {
		keys, err = al.ListAfter(ctx, prefix, marker)
	} else {
		keys, err = v.st.List(ctx, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("verify: list digests: %w", err)
	}
	re := v.lay.digestKeyRegexp()
	targetStart := v.start.Format(DigestTimeFormat)
	targetEnd := v.end.Add(time.Hour).Format(DigestTimeFormat)
	var out []string
	for _, k := range keys {
		if k <= marker || !re.MatchString(k) {
			continue
		}
		date := digestKeyDate(k)
		if date > targetEnd {
			break
		}
		if date >= targetStart {
			if _, ok := parseDigestKeyDate(k); ok {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// popBefore is validate-logs' _get_last_digest: the newest remaining key
// (before == zero) or the newest remaining key dated strictly before
// before; keys passed over are dropped.
func popBefore(listed *[]string, before time.Time) (string, time.Time) {
	for len(*listed) > 0 {
		k := (*listed)[len(*listed)-1]
		*listed = (*listed)[:len(*listed)-1]
		kd, _ := parseDigestKeyDate(k)
		if before.IsZero() || kd.Before(before) {
			return k, kd
		}
	}
	return "", time.Time{}
}

func (v *validator) findNext(listed *[]string, lastKey string, lastStart time.Time) (string, time.Time) {
	before, ok := parseDigestKeyDate(lastKey)
	if !ok {
		before = lastStart
	}
	return popBefore(listed, before)
}

func (v *validator) run(ctx context.Context) error {
	listed, err := v.listDigests(ctx)
	if err != nil {
		return err
	}
	v.listedAll = append([]string(nil), listed...)
	v.progress(0, len(listed))
	key, lastStart := popBefore(&listed, time.Time{})
	bucket := v.opt.Bucket
	for key != "" && !v.start.After(lastStart) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, seen := v.loaded[key]; seen {
			v.extra(&IntegrityError{Kind: KindDigestFieldInvalid, Bucket: bucket, Key: key,
				Detail: "digest chain loops back to this digest"})
			key, _ = v.findNext(&listed, key, lastStart)
			continue
		}
		ld, err := v.loadDigest(ctx, key)
		if err != nil {
			return err
		}
		v.progress(1, 0)
		if ld.err != nil {
			v.rep.Digests.Invalid++
			v.rep.Results = append(v.rep.Results, Result{Type: ResultDigest, Bucket: bucket, Key: key, Err: ld.err})
			v.rep.Findings = append(v.rep.Findings, ld.err)
			key, _ = v.findNext(&listed, key, lastStart)
			continue
		}
		lastStart = ld.start
		v.rep.Digests.Valid++
		v.trackFound(ld)
		v.rep.Results = append(v.rep.Results, Result{Type: ResultDigest, Bucket: bucket, Key: key})
		if err := v.checkLogs(ctx, ld); err != nil {
			return err
		}
		d := ld.d
		switch {
		case d.Starting():
			nk, nd := v.findNext(&listed, key, lastStart)
			if nk != "" {
				g := Gap{Start: nd, End: ld.start, NewerKey: key, OlderKey: nk, Restart: true,
					Periods: periods(nd, ld.start, ld)}
				ld.restart = &g
				v.rep.Results = append(v.rep.Results, Result{Type: ResultGapNotice, Gap: &g})
			}
			key = nk
		case *d.PreviousDigestS3Bucket != bucket:
			// validate-logs re-lists in the other bucket; a Store reads one.
			v.extra(&IntegrityError{Kind: KindDigestFieldInvalid, Bucket: bucket, Key: key,
				Detail: fmt.Sprintf("previousDigestS3Bucket %q is not the validated bucket: chain not followed", *d.PreviousDigestS3Bucket)})
			key, _ = v.findNext(&listed, key, lastStart)
		case d.PreviousDigestS3Object == nil:
			key = ""
		default:
			key = *d.PreviousDigestS3Object
		}
	}
	v.rep.Digests.Total = v.rep.Digests.Valid + v.rep.Digests.Invalid
	v.rep.Logs.Total = v.rep.Logs.Valid + v.rep.Logs.Invalid
	if err := v.checkExtras(ctx); err != nil {
		return err
	}
	v.rep.Findings = append(v.rep.Findings, v.extras...)
	return nil
}

func (v *validator) extra(e *IntegrityError) {
	if e.Bucket == "" {
		e.Bucket = v.opt.Bucket
	}
	v.extras = append(v.extras, e)
}

// trackFound is validate-logs' _track_found_times (aws-cli 2.x).
func (v *validator) trackFound(ld *loadedDigest) {
	if v.rep.Found == nil {
		end := ld.end
		if v.end.Before(end) {
			end = v.end
		}
		v.rep.Found = &Range{Start: v.start, End: end}
	}
	if ld.start.After(v.start) {
		v.rep.Found.Start = ld.start
	}
	if v.rep.Covered == nil {
		v.rep.Covered = &Range{Start: ld.start, End: ld.end}
	}
	if ld.start.Before(v.rep.Covered.Start) {
		v.rep.Covered.Start = ld.start
	}
	if ld.end.After(v.rep.Covered.End) {
		v.rep.Covered.End = ld.end
	}
}

func digestErr(kind Kind, bucket, key, detail string, cause error) *IntegrityError {
	return &IntegrityError{Kind: kind, Bucket: bucket, Key: key, Detail: detail, Err: cause}
}

// loadDigest fetches and validates one digest exactly as validate-logs'
// fetch_digest + _load_and_validate_digest. The returned error is fatal.
func (v *validator) loadDigest(ctx context.Context, key string) (*loadedDigest, error) {
	bucket := v.opt.Bucket
	ld := &loadedDigest{key: key}
	v.loaded[key] = ld
	v.walk = append(v.walk, ld)
	body, meta, err := v.st.Get(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		ld.err = digestErr(KindDigestNotFound, bucket, key, "not found", err)
		return ld, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verify: get digest %q: %w", key, err)
	}
	ld.found = true
	ld.meta = meta
	if twice := meta[AmbiguousMetadataKey]; twice != "" {
		v.extra(&IntegrityError{Kind: KindMetadataAmbiguous, Bucket: bucket, Key: key,
			Detail: "metadata gives " + twice + " twice (for example both signature and x-amz-meta-signature): neither is used",
			Err:    ErrAmbiguousMetadata})
	}
	raw, trailing, err := gunzipFirst(body)
	if err != nil {
		ld.err = digestErr(KindDigestInvalidFormat, bucket, key, "invalid format", err)
		return ld, nil
	}
	ld.raw, ld.trailing = raw, trailing
	sum := sha256.Sum256(raw)
	ld.sha = hex.EncodeToString(sum[:])
	obj, err := decodeDigestObject(raw)
	if err != nil {
		ld.err = digestErr(KindDigestInvalidFormat, bucket, key, "invalid format", err)
		return ld, nil
	}
	sig, hasSig := meta["signature"]
	if _, hasAlg := meta["signature-algorithm"]; !hasSig || !hasAlg {
		ld.err = digestErr(KindSignatureInvalid, bucket, key, "signature verification failed",
			errors.New("metadata signature or signature-algorithm missing"))
		// Keep what can be parsed for the chain checks.
		ld.d, _ = digestFromObject(obj)
		v.parseTimes(ld)
		return ld, nil
	}
	d, err := digestFromObject(obj)
	if err != nil {
		ld.err = digestErr(KindDigestInvalidFormat, bucket, key, "invalid format", err)
		return ld, nil
	}
	ld.d = d
	v.parseTimes(ld)
	if d.DigestS3Bucket != bucket || d.DigestS3Object != key {
		ld.err = digestErr(KindDigestMoved, bucket, key, "has been moved from its original location",
			fmt.Errorf("digest says s3://%s/%s", d.DigestS3Bucket, d.DigestS3Object))
		return ld, nil
	}
	fp := d.DigestPublicKeyFingerprint
	pk, ok := v.keys[fp]
	if !ok {
		ld.err = digestErr(KindPublicKeyNotFound, bucket, key,
			fmt.Sprintf("public key not found in region %s for fingerprint %s", v.lay.HomeRegion, fp), nil)
		return ld, nil
	}
	pub, ok := v.pubs[fp]
	if !ok {
		var perr error
		pub, perr = pk.RSA()
		if perr != nil {
			ld.err = digestErr(KindPublicKeyUnusable, bucket, key,
				fmt.Sprintf("Unable to load PKCS #1 key with fingerprint %s", fp), perr)
			return ld, nil
		}
		v.pubs[fp] = pub
	}
	if err := VerifySignature(pub, d.SigningData(raw), sig); err != nil {
		ld.err = digestErr(KindSignatureInvalid, bucket, key, "signature verification failed", err)
		return ld, nil
	}
	if !ld.timesOK {
		// validate-logs fails parsing the dates after the signature check
		// and reports the exception text.
		ld.err = digestErr(KindDigestInvalidFormat, bucket, key, "invalid format",
			fmt.Errorf("unparseable digestStartTime %q or digestEndTime %q", d.DigestStartTime, d.DigestEndTime))
		return ld, nil
	}
	return ld, nil
}

func (v *validator) parseTimes(ld *loadedDigest) {
	if ld.d == nil {
		return
	}
	s, err1 := parseJSONTime(ld.d.DigestStartTime)
	e, err2 := parseJSONTime(ld.d.DigestEndTime)
	if err1 == nil && err2 == nil {
		ld.start, ld.end, ld.timesOK = s, e, true
	}
}

// checkLogs validates the log files of a valid digest (validate-logs'
// _download_log for each) and makes the per-file extra checks.
func (v *validator) checkLogs(ctx context.Context, ld *loadedDigest) error {
	v.progress(0, len(ld.d.LogFiles))
	for i := range ld.d.LogFiles {
		if err := ctx.Err(); err != nil {
			return err
		}
		lf := &ld.d.LogFiles[i]
		if err := v.checkLog(ctx, ld, lf); err != nil {
			return err
		}
		v.progress(1, 0)
	}
	return nil
}

func (v *validator) logResult(ld *loadedDigest, lf *DigestLogFile, kind Kind, detail string, cause error) {
	res := Result{Type: ResultLog, Bucket: lf.S3Bucket, Key: lf.S3Object}
	if kind == 0 {
		v.rep.Logs.Valid++
	} else {
		v.rep.Logs.Invalid++
		res.Err = &IntegrityError{Kind: kind, Log: true, Bucket: lf.S3Bucket, Key: lf.S3Object,
			Detail: detail, Digest: ld.key, Err: cause}
		v.rep.Findings = append(v.rep.Findings, res.Err)
	}
	v.rep.Results = append(v.rep.Results, res)
}

func (v *validator) checkLog(ctx context.Context, ld *loadedDigest, lf *DigestLogFile) error {
	if lf.Err != nil {
		v.logResult(ld, lf, KindLogInvalidFormat, "invalid format", lf.Err)
		return nil
	}
	if first, dup := v.listedLogs[lf.S3Object]; dup {
		v.extra(&IntegrityError{Kind: KindLogListedTwice, Log: true, Bucket: lf.S3Bucket, Key: lf.S3Object,
			Digest: ld.key, Detail: "log file is listed by more than one digest entry (also in " + first + ")"})
	} else {
		v.listedLogs[lf.S3Object] = ld.key
	}
	if lf.S3Bucket != v.opt.Bucket {
		v.logResult(ld, lf, KindLogNotFound, "not found",
			fmt.Errorf("listed in bucket %q; only %q can be read", lf.S3Bucket, v.opt.Bucket))
		return nil
	}
	body, _, err := v.st.Get(ctx, lf.S3Object)
	if errors.Is(err, fs.ErrNotExist) {
		v.logResult(ld, lf, KindLogNotFound, "not found", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: get log file %q: %w", lf.S3Object, err)
	}
	chk := checkLog(body)
	switch {
	case chk.formatErr != nil:
		v.logResult(ld, lf, KindLogInvalidFormat, "invalid format", chk.formatErr)
		return nil
	case chk.hash != lf.HashValue:
		cause := fmt.Errorf("computed %s, digest lists %s", chk.hash, lf.HashValue)
		if strings.EqualFold(chk.hash, lf.HashValue) {
			cause = fmt.Errorf("hashValue %s is upper-case hex", lf.HashValue)
		} else if chk.truncated {
			cause = fmt.Errorf("gzip stream truncated; computed %s, digest lists %s", chk.hash, lf.HashValue)
		}
		v.logResult(ld, lf, KindLogHashMismatch, "hash value doesn't match", cause)
		return nil
	}
	v.logResult(ld, lf, 0, "", nil)
	logErr := func(kind Kind, detail string, cause error) {
		v.extra(&IntegrityError{Kind: kind, Log: true, Bucket: lf.S3Bucket, Key: lf.S3Object,
			Digest: ld.key, Detail: detail, Err: cause})
	}
	if chk.trailing > 0 {
		logErr(KindTrailingData, fmt.Sprintf("%d bytes after the first gzip member (not covered by the hash)", chk.trailing), nil)
	}
	if lf.HashAlgorithm != "SHA-256" {
		logErr(KindDigestFieldInvalid, fmt.Sprintf("digest lists hashAlgorithm %q, not SHA-256", lf.HashAlgorithm), nil)
	}
	if chk.parseErr != nil {
		logErr(KindLogRecordsInvalid, "content is not a CloudTrail records document", chk.parseErr)
		return nil
	}
	if chk.info.Records == 0 {
		logErr(KindLogRecordsInvalid, "log file has no records", nil)
		return nil
	}
	oldest, err1 := parseJSONTime(lf.OldestEventTime)
	newest, err2 := parseJSONTime(lf.NewestEventTime)
	if err1 != nil || err2 != nil {
		logErr(KindDigestFieldInvalid, "digest entry lacks a valid oldestEventTime/newestEventTime", errors.Join(err1, err2))
		return nil
	}
	if chk.info.OldestEventTime.Before(oldest) {
		logErr(KindEventTimeOutOfRange, fmt.Sprintf("eventTime %s is before the oldestEventTime %s the digest claims",
			display(chk.info.OldestEventTime), lf.OldestEventTime), nil)
	}
	if chk.info.NewestEventTime.After(newest) {
		logErr(KindEventTimeOutOfRange, fmt.Sprintf("eventTime %s is after the newestEventTime %s the digest claims",
			display(chk.info.NewestEventTime), lf.NewestEventTime), nil)
	}
	return nil
}

// periods estimates how many digest periods (of ref's length, default one
// hour) fit between from and to.
func periods(from, to time.Time, ref *loadedDigest) int {
	p := time.Hour
	if ref != nil && ref.timesOK && ref.end.After(ref.start) {
		p = ref.end.Sub(ref.start)
	}
	n := math.Round(float64(to.Sub(from)) / float64(p))
	if n < 1 {
		return 1
	}
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

var lowerHex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkExtras makes the checks validate-logs does not make.
func (v *validator) checkExtras(ctx context.Context) error {
	for _, ld := range v.walk {
		if !ld.valid() {
			continue
		}
		v.checkDigestFields(ld)
		v.checkPrevious(ld)
	}
	v.checkContinuity()
	v.checkNewest()
	if err := v.checkFleet(ctx); err != nil {
		return err
	}
	if err := v.checkUnlisted(ctx); err != nil {
		return err
	}
	return v.checkTree(ctx)
}

func (v *validator) checkDigestFields(ld *loadedDigest) {
	d := ld.d
	bad := func(kind Kind, detail string) {
		v.extra(&IntegrityError{Kind: kind, Key: ld.key, Detail: detail})
	}
	field := func(detail string) { bad(KindDigestFieldInvalid, detail) }
	if ld.trailing > 0 {
		bad(KindTrailingData, fmt.Sprintf("%d bytes after the first gzip member (not covered by the signature)", ld.trailing))
	}
	if want := v.lay.DigestKey(ld.end); ld.key != want {
		bad(KindDigestNameMismatch, fmt.Sprintf("key does not match digestEndTime %s (expected %s)", d.DigestEndTime, want))
	}
	for _, p := range d.Problems {
		field(p)
	}
	if d.AWSAccountID != v.lay.AccountID {
		field(fmt.Sprintf("awsAccountId %q is not %s", d.AWSAccountID, v.lay.AccountID))
	}
	if d.DigestSignatureAlgorithm != "SHA256withRSA" {
		field(fmt.Sprintf("digestSignatureAlgorithm %q is not SHA256withRSA", d.DigestSignatureAlgorithm))
	}
	if a := ld.meta["signature-algorithm"]; a != "SHA256withRSA" {
		field(fmt.Sprintf("signature-algorithm metadata %q is not SHA256withRSA", a))
	}
	if s := ld.meta["signature"]; s != strings.ToLower(s) {
		field("signature metadata is upper-case hex")
	}
	for _, t := range []struct {
		name string
		val  *string
	}{{"digestStartTime", &d.DigestStartTime}, {"digestEndTime", &d.DigestEndTime},
		{"newestEventTime", d.NewestEventTime}, {"oldestEventTime", d.OldestEventTime}} {
		if t.val != nil && !canonicalTime(*t.val) {
			field(fmt.Sprintf("%s %q is not in the format %s", t.name, *t.val, JSONTimeFormat))
		}
	}
	if !ld.end.After(ld.start) {
		field(fmt.Sprintf("digestEndTime %s is not after digestStartTime %s", d.DigestEndTime, d.DigestStartTime))
	}
	prev := []*string{d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue,
		d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature}
	nulls := 0
	for _, p := range prev {
		if p == nil {
			nulls++
		}
	}
	if nulls != 0 && nulls != len(prev) {
		field("previousDigest* fields are partly null")
	}
	if a := d.PreviousDigestHashAlgorithm; a != nil && *a != "SHA-256" {
		field(fmt.Sprintf("previousDigestHashAlgorithm %q is not SHA-256", *a))
	}
	if h := d.PreviousDigestHashValue; h != nil && !lowerHex64.MatchString(*h) {
		field(fmt.Sprintf("previousDigestHashValue %q is not 64 lower-case hex digits", *h))
	}
	// Event-time summary must match the log files.
	var oldest, newest string
	var ot, nt time.Time
	for _, lf := range d.LogFiles {
		o, err1 := parseJSONTime(lf.OldestEventTime)
		n, err2 := parseJSONTime(lf.NewestEventTime)
		if err1 != nil || err2 != nil {
			continue
		}
		if oldest == "" || o.Before(ot) {
			oldest, ot = lf.OldestEventTime, o
		}
		if newest == "" || n.After(nt) {
			newest, nt = lf.NewestEventTime, n
		}
	}
	switch {
	case len(d.LogFiles) == 0:
		if d.NewestEventTime != nil || d.OldestEventTime != nil {
			field("digest lists no log files but has non-null newestEventTime/oldestEventTime")
		}
	case oldest != "":
		if d.OldestEventTime == nil || !sameTime(*d.OldestEventTime, ot) {
			field(fmt.Sprintf("oldestEventTime %s is not the oldest of its log files (%s)", strOrNull(d.OldestEventTime), oldest))
		}
		if d.NewestEventTime == nil || !sameTime(*d.NewestEventTime, nt) {
			field(fmt.Sprintf("newestEventTime %s is not the newest of its log files (%s)", strOrNull(d.NewestEventTime), newest))
		}
	}
	if pk, ok := v.keys[d.DigestPublicKeyFingerprint]; ok && !pk.overlaps(ld.start, ld.end) {
		bad(KindKeyNotValidAtTime, fmt.Sprintf("digest period %s..%s is outside the validity of key %s",
			d.DigestStartTime, d.DigestEndTime, d.DigestPublicKeyFingerprint))
	}
}

func sameTime(s string, t time.Time) bool {
	p, err := parseJSONTime(s)
	return err == nil && p.Equal(t)
}

func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// checkPrevious compares a digest's previous* fields with the previous
// digest as read.
func (v *validator) checkPrevious(ld *loadedDigest) {
	d := ld.d
	if d.Starting() || d.PreviousDigestS3Object == nil || *d.PreviousDigestS3Bucket != v.opt.Bucket {
		return
	}
	p := v.loaded[*d.PreviousDigestS3Object]
	if p == nil || !p.found || p.raw == nil {
		return
	}
	if h := d.PreviousDigestHashValue; h == nil || *h != p.sha {
		cause := fmt.Errorf("previous digest %s hashes to %s, digest says %s", p.key, p.sha, strOrNull(h))
		v.extra(&IntegrityError{Kind: KindPreviousHashMismatch, Key: ld.key,
			Detail: "previousDigestHashValue does not match the previous digest", Err: cause})
	}
	if sig, ok := p.meta["signature"]; ok {
		if s := d.PreviousDigestSignature; s == nil || *s != sig {
			v.extra(&IntegrityError{Kind: KindPreviousSignatureMismatch, Key: ld.key,
				Detail: "previousDigestSignature does not match the previous digest's signature",
				Err:    fmt.Errorf("previous digest %s", p.key)})
		}
	}
}

// checkContinuity compares consecutive digests (in walk order, those whose
// times could be read) for gaps, overlaps and restarts.
func (v *validator) checkContinuity() {
	var newer *loadedDigest
	for _, ld := range v.walk {
		if ld.restart != nil {
			g := *ld.restart
			v.rep.Gaps = append(v.rep.Gaps, g)
		}
		if ld.restart != nil && !v.opt.AllowRestarts {
			g := *ld.restart
			v.extra(&IntegrityError{Kind: KindChainRestart, Key: ld.key, Start: g.Start, End: g.End,
				Detail: fmt.Sprintf("digest chain restarts here (starting digest) although older digest %s exists; nothing covers %s to %s",
					g.OlderKey, display(g.Start), display(g.End))})
		}
		if ld.d == nil || !ld.timesOK {
			continue
		}
		if newer != nil && newer.restart == nil {
			switch {
			case ld.end.Before(newer.start):
				g := Gap{Start: ld.end, End: newer.start, NewerKey: newer.key, OlderKey: ld.key,
					Periods: periods(ld.end, newer.start, newer)}
				v.rep.Gaps = append(v.rep.Gaps, g)
				v.extra(&IntegrityError{Kind: KindChainGap, Key: newer.key, Start: g.Start, End: g.End,
					Detail: fmt.Sprintf("no digest covers %s to %s (about %d digest period(s) missing before this digest)",
						display(g.Start), display(g.End), g.Periods)})
			case ld.end.After(newer.start):
				v.extra(&IntegrityError{Kind: KindDigestOverlap, Key: newer.key, Start: newer.start, End: ld.end,
					Detail: fmt.Sprintf("digestStartTime %s is before the digestEndTime %s of the older digest %s",
						display(newer.start), display(ld.end), ld.key)})
			}
		}
		newer = ld
	}
}

func (v *validator) checkNewest() {
	expected := v.opt.ExpectedEnd.UTC()
	if v.opt.ExpectedEnd.IsZero() {
		if !v.opt.RequireEnd {
			return
		}
		expected = v.end
	}
	var newestKey string
	var newest time.Time
	var newestLD *loadedDigest
	for _, ld := range v.walk {
		if !ld.found {
			continue
		}
		end := ld.end
		if !ld.timesOK {
			end, _ = parseDigestKeyDate(ld.key)
		}
		if newestKey == "" || end.After(newest) {
			newestKey, newest, newestLD = ld.key, end, ld
		}
	}
	if newestKey == "" {
		v.extra(&IntegrityError{Kind: KindNewestDigestMissing, Key: v.lay.DigestDir(), End: expected,
			Detail: fmt.Sprintf("no digest found; digests must reach %s", display(expected))})
		return
	}
	if !newest.Before(expected) {
		return
	}
	if v.opt.ExpectedEnd.IsZero() && newestLD.valid() && newestLD.timesOK {
		if p := v.digestPeriod(); newestLD.end.Sub(newestLD.start) < p {
			return // a final digest: the trail stopped at its end
		}
	}
	detail := fmt.Sprintf("newest digest ends %s; digests must reach %s (newer digests missing)",
		display(newest), display(expected))
	if v.opt.ExpectedEnd.IsZero() {
		detail = fmt.Sprintf("newest digest ends %s, a full digest period (%s), not a final one; digests must reach --end %s (newer digests missing)",
			display(newest), v.digestPeriod(), display(expected))
	}
	v.extra(&IntegrityError{Kind: KindNewestDigestMissing, Key: newestKey, Start: newest, End: expected, Detail: detail})
}

// digestPeriod is Options.DigestPeriod or, when zero, the most frequent
// period length among the valid digests (the longest of those tied), at
// least one hour when no length occurs twice.
func (v *validator) digestPeriod() time.Duration {
	if v.opt.DigestPeriod > 0 {
		return v.opt.DigestPeriod
	}
	count := map[time.Duration]int{}
	for _, ld := range v.walk {
		if ld.valid() && ld.timesOK && ld.end.After(ld.start) {
			count[ld.end.Sub(ld.start)]++
		}
	}
	best, n := time.Duration(0), 0
	for p, c := range count {
		if c > n || (c == n && p > best) {
			best, n = p, c
		}
	}
	if n < 2 {
		// No length repeats (a chain of one or two digests, such as a first
		// period and a final one): at least CloudTrail's and trail's
		// default period.
		best = max(best, time.Hour)
	}
	return best
}

// checkUnlisted reports log files of the trail's region delivered inside
// the validated range that no digest lists.
func (v *validator) checkUnlisted(ctx context.Context) error {
	from := v.start
	to := v.end
	limit := time.Time{}
	if v.rep.Covered != nil {
		limit = v.rep.Covered.End
	}
	if e := v.opt.ExpectedEnd.UTC(); !v.opt.ExpectedEnd.IsZero() && e.After(limit) {
		limit = e
	}
	if !limit.IsZero() && limit.Before(to) {
		to = limit
	}
	if !from.Before(to) {
		return nil
	}
	// Every digest that was read lists files (valid or not).
	listed := map[string]bool{}
	for _, ld := range v.walk {
		if ld.d == nil {
			continue
		}
		for _, lf := range ld.d.LogFiles {
			listed[lf.S3Object] = true
		}
	}
	re := v.lay.logNameRegexp()
	const slack = 2 * time.Minute // name has minute precision; delivery may lag the name
	firstDay := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	var days []string // day folders, in order
	for day := firstDay; !day.After(to) && len(days) <= maxDayListings; day = day.AddDate(0, 0, 1) {
		days = append(days, v.lay.LogDayDir(day))
	}
	check := func(dayDir string, keys []string) {
		for _, k := range keys {
			if listed[k] || strings.HasPrefix(path.Base(k), ".tmp-") { // temporary files: the sweep's notices
				continue
			}
			t, ok := v.lay.logKeyTime(re, k)
			if !ok {
				if path.Dir(k)+"/" == dayDir {
					v.extra(&IntegrityError{Kind: KindLogNotInDigest, Log: true, Key: k,
						Detail: "unexpected object in the trail's log folder, listed by no digest"})
				}
				continue
			}
			if t.Before(from) || t.Add(slack).After(to) || !strings.HasPrefix(k, dayDir) {
				continue
			}
			v.extra(&IntegrityError{Kind: KindLogNotInDigest, Log: true, Key: k, Start: t,
				Detail: "log file is listed by no digest"})
		}
	}
	if len(days) > maxDayListings {
		// A long window: one listing of the region's log folder.
		keys, err := v.st.List(ctx, v.lay.LogDir())
		if err != nil {
			return fmt.Errorf("verify: list log files: %w", err)
		}
		byDay := map[string][]string{}
		for _, k := range keys {
			d := path.Dir(k) + "/"
			byDay[d] = append(byDay[d], k)
		}
		for day := firstDay; !day.After(to); day = day.AddDate(0, 0, 1) {
			if dir := v.lay.LogDayDir(day); len(byDay[dir]) > 0 {
				check(dir, byDay[dir])
			}
		}
		return nil
	}
	for _, dir := range days {
		if err := ctx.Err(); err != nil {
			return err
		}
		keys, err := v.st.List(ctx, dir)
		if err != nil {
			return fmt.Errorf("verify: list log files: %w", err)
		}
		check(dir, keys)
	}
	return nil
}

// maxDayListings is the longest window (in days) whose log folders are
// listed one day at a time; longer windows list the region folder once.
const maxDayListings = 62

// sortedKinds returns the distinct kinds of findings, sorted.
func sortedKinds(fs []*IntegrityError) []Kind {
	seen := map[Kind]bool{}
	var out []Kind
	for _, f := range fs {
		if !seen[f.Kind] {
			seen[f.Kind] = true
			out = append(out, f.Kind)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Kinds returns the distinct kinds among the report's findings, in Kind
// order.
func (r *Report) Kinds() []Kind { return sortedKinds(r.Findings) }
