// Command trailcheck validates CloudTrail log files and digest files stored
// in a local directory laid out like the S3 bucket, like
// `aws cloudtrail validate-logs` does for a real bucket, plus the checks
// validate-logs does not make.
//
// Usage:
//
//	trailcheck validate --dir DIR --public-key PEM --trail-arn ARN --start T [flags]
//	trailcheck explain --config CONFIG.json --event EVENT.json [--json]
//
// Run `trailcheck validate --help` for every flag and examples. explain says
// which trails of a recorder configuration select an event, by which
// selector, and whether history keeps it (trail.Recorder.Explain).
//
// Exit codes: 0 everything valid; 1 something INVALID (including the extra
// checks); 2 usage error; 3 validation could not run (I/O error, no public
// key valid in the window).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/trailkit/trail/verify"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	exitError   = 3
)

// now is the clock used for the default --end (replaced in tests).
var now = time.Now

const usageTop = `trailcheck - validate CloudTrail log and digest files offline

Usage:
  trailcheck validate --dir DIR --public-key PEM --trail-arn ARN --start T [flags]
  trailcheck validate --s3-bucket B [--endpoint URL] --public-key PEM --trail-arn ARN --start T [flags]
  trailcheck explain --config CONFIG.json --event EVENT.json [--json]
  trailcheck help

Run "trailcheck validate --help" or "trailcheck explain --help" for the flags.

Exit codes: 0 all valid, 1 something INVALID, 2 usage error, 3 validation could not run.
`

const usageValidate = `Usage: trailcheck validate --dir DIR --public-key PEM --trail-arn ARN --start T [flags]
       trailcheck validate --s3-bucket B [--endpoint URL] --public-key PEM --trail-arn ARN --start T [flags]

Validates the trail's digest chains and log files in DIR with the algorithm of
"aws cloudtrail validate-logs" (same checks, same output lines), then makes
extra checks validate-logs does not make: previousDigestHashValue and
previousDigestSignature against the previous digest, chain restarts, missing
newest digests (--expected-end), consecutive deleted digests, log files no
digest lists, event times outside the range a digest claims, data appended
after a gzip member, malformed digest fields.

Every chain: a trail writes one digest chain per (source region, account) --
a multi-region trail one per region, an organization trail one per member
account. By default every chain of the trail under --prefix is validated,
each reported on its own ("== chain 1/2: eu-west-1 account 111122223333"),
then one summary line per chain; --region (and --account-id, --org-id)
narrow it to one chain. When the trail has no digests under --prefix,
trailcheck lists the trails, prefixes, regions and accounts whose digests it
did find and exits 1.

Every object under the trail's prefix that is not a valid, covered log file
or digest is reported wherever it sits and whatever its name or type
(stray-object; not-regular-file for symlinks, FIFOs and other special files,
which are never followed or opened).

--end T asserts the trail is covered up to T, exactly: every log file named
before T's minute must be listed by a digest (log-not-in-digest), and the
newest digest must end at or after T unless it is a final digest -- one
shorter than the trail's digest period (--digest-period; default the most
frequent period of the digests found, at least 1h when none repeats), as
written at Close or StopLogging (newest-digest-missing). Deleting the final digest or any trailing periods
is thereby an error. To check a trail still running, give an --end no later
than its newest digest, or no --end.
Notices (not problems; exit 0 unless --strict): log files newer than the
digests' coverage (not-yet-covered) and sinks' leftover temporary files
(temp-file).

DIR is the bucket: if DIR/<bucket> exists it is used, else DIR itself (the
convention of the repository's AWS verifier harness, internal/ctoracle). A
digest's S3 metadata (its signature) is read from the sidecar file
"<digest>.metadata.json".

With --s3-bucket the files are read from S3 (credentials and region from
the standard AWS configuration chain; --endpoint for MinIO and other
S3-compatible servers) and the signature from the x-amz-meta-signature
metadata.

Without --bucket, the bucket name is read from digestS3Bucket of the newest
digest of the trail found under DIR or DIR/<subdir>; pass --bucket to check
the digests against a bucket name you know (a digest copied from another
bucket is then reported as moved).

Flags:
`

const examples = `
Examples:
  # Validate one day of a trail written by a file sink under ./audit/audit-bucket
  trailcheck validate --dir ./audit --bucket audit-bucket \
      --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \
      --public-key trail-pub.pem --start 2026-01-01T00:00:00Z --end 2026-01-02T00:00:00Z

  # Organization trail, member account 444455556666, S3 prefix, source region eu-west-1;
  # fail if the newest digest does not reach 2026-01-02T00:00:00Z
  trailcheck validate --dir ./bucket --prefix team --org-id o-exampleorg1 --account-id 444455556666 \
      --region eu-west-1 --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/org \
      --public-key old.pem --public-key new.pem --start 2026-01-01 --expected-end 2026-01-02T00:00:00Z

  # Straight from S3 (here a local MinIO)
  trailcheck validate --s3-bucket audit-bucket --endpoint http://127.0.0.1:9000 \
      --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main --public-key k.pem --start 2026-01-01

  # Machine-readable report
  trailcheck validate --dir ./audit --trail-arn ... --public-key k.pem --start 2026-01-01 --json
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageTop)
		return exitUsage
	}
	switch args[0] {
	case "validate":
		return runValidate(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageTop)
		return exitOK
	default:
		fmt.Fprintf(stderr, "trailcheck: unknown command %q\n\n%s", args[0], usageTop)
		return exitUsage
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type validateFlags struct {
	dir, bucket, trailARN, prefix, orgID, accountID, region string
	s3Bucket, endpoint                                      string
	start, end, expectedEnd, progress                       string
	digestPeriod                                            time.Duration
	noBucket                                                string // why --bucket could not be inferred
	publicKeys                                              stringList
	jsonOut, verbose, allowRestarts, strict                 bool
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	var f validateFlags
	fs := flag.NewFlagSet("trailcheck validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed below
	fs.StringVar(&f.dir, "dir", "", "directory holding the bucket (`DIR`/<bucket>/... or DIR/...) (required)")
	fs.Var(&f.publicKeys, "public-key", "`PEM` file with the public key(s) (\"PUBLIC KEY\" or \"RSA PUBLIC KEY\"); repeatable (required)")
	fs.StringVar(&f.trailARN, "trail-arn", "", "trail `ARN`, arn:aws:cloudtrail:<home region>:<account>:trail/<name> (required)")
	fs.StringVar(&f.start, "start", "", "start of the window (`TIME`: RFC 3339, 2006-01-02T15:04:05Z, 20060102T150405Z or 2006-01-02; UTC unless an offset is given) (required)")
	fs.StringVar(&f.start, "start-time", "", "same as --start (`TIME`)")
	fs.StringVar(&f.end, "end", "", "end of the window (`TIME`; default now)")
	fs.StringVar(&f.end, "end-time", "", "same as --end (`TIME`)")
	fs.StringVar(&f.s3Bucket, "s3-bucket", "", "read the files from this S3 `BUCKET` instead of --dir (standard AWS credential chain)")
	fs.StringVar(&f.endpoint, "endpoint", "", "S3 endpoint `URL` for --s3-bucket (path-style), e.g. http://127.0.0.1:9000 for MinIO")
	fs.StringVar(&f.bucket, "bucket", "", "`BUCKET` name the digests were written for (default: read from the newest digest)")
	fs.StringVar(&f.prefix, "prefix", "", "S3 key `PREFIX` of the trail")
	fs.StringVar(&f.orgID, "org-id", "", "organization `ID` (o-...) of an organization trail (needs --account-id)")
	fs.StringVar(&f.accountID, "account-id", "", "`ACCOUNT` whose files are validated (default: the ARN's account, or every member account of an organization trail)")
	fs.StringVar(&f.region, "region", "", "source `REGION` whose chain is validated (default: every region with digests of the trail)")
	fs.BoolVar(&f.allowRestarts, "allow-restarts", false, "accept digest chain restarts (after StopLogging/StartLogging) instead of reporting them")
	fs.StringVar(&f.expectedEnd, "expected-end", "", "the newest digest must reach this `TIME` (detects deleted newest digests)")
	fs.DurationVar(&f.digestPeriod, "digest-period", 0, "the trail's digest `PERIOD` (e.g. 1h), for --end's final-digest rule (default: the most frequent period of the digests found, at least 1h when none repeats)")
	fs.BoolVar(&f.strict, "strict", false, "exit 1 on notices too (log files not yet covered by a digest, leftover temporary files)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON instead of text: {ok, awsInvalid, chains: [{region, accountId, …report}]}, and with one chain its report at the top level too")
	fs.BoolVar(&f.verbose, "verbose", false, "also print the valid lines (like validate-logs --verbose)")
	fs.BoolVar(&f.verbose, "v", false, "alias of --verbose")
	fs.StringVar(&f.progress, "progress", "auto", "`MODE` of the progress bar on stderr: auto (terminal and large trees), always or never")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageValidate)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), examples)
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "trailcheck validate: "+format+"\n", a...)
		fmt.Fprintln(stderr, `Run "trailcheck validate --help" for usage.`)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	opt, root, code := f.options(usageErr)
	if code == exitInvalid && f.noBucket != "" {
		// No digests of the trail under --dir: a symlink or special file
		// where its folders must be is what hides them, reported as such.
		if found := obstructionsUnder(f.dir); len(found) > 0 {
			return reportNoDigests(found, f.noBucket, &f, stdout, stderr)
		}
		return usageErr("%s", f.noBucket)
	}
	if code != exitOK {
		return code
	}
	prog := &progress{w: stderr, mode: f.progress}
	opt.Progress = prog.update
	var st verify.Store
	if f.s3Bucket != "" {
		if opt.Bucket == "" {
			opt.Bucket = f.s3Bucket
		}
		s3st, err := openS3(context.Background(), f.s3Bucket, f.endpoint, opt.TrailARN)
		if err != nil {
			fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
			return exitError
		}
		st = s3st
	} else {
		st = verify.FSStore(os.DirFS(root))
	}
	arn, _ := verify.ParseTrailARN(opt.TrailARN) // checked by options
	ctx := context.Background()
	chains := []chain{{Prefix: f.prefix, OrgID: f.orgID, AccountID: opt.AccountID, Region: f.region,
		TrailName: arn.Name, HomeRegion: arn.HomeRegion}}
	if f.region == "" {
		// Every chain (source region, account) of the trail under the prefix.
		list := "AWSLogs/"
		if f.prefix != "" {
			list = f.prefix + "/AWSLogs/"
		}
		all, err := findChains(ctx, st, list)
		if err != nil {
			fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
			return exitError
		}
		chains = selectChains(all, &f, arn)
		if len(chains) == 0 {
			if everywhere, err := findChains(ctx, st, ""); err == nil {
				all = everywhere
			}
			base := ""
			if f.prefix != "" {
				base = f.prefix + "/"
			}
			return noDigests(ctx, st, opt.Bucket, base, noDigestsMessage(all, &f, arn), &f, stdout, stderr)
		}
	}
	type chainReport struct {
		chain
		OK         bool `json:"ok"`
		AWSInvalid bool `json:"awsInvalid"`
		*verify.Report
	}
	var reports []chainReport
	ok, awsInvalid := true, false
	for i, c := range chains {
		copt := opt
		copt.Region, copt.AccountID, copt.OrgID = c.Region, c.AccountID, c.OrgID
		copt.PrefixChecked = i > 0 // stray objects are reported once, with the first chain
		if len(chains) > 1 && !f.jsonOut {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "== chain %d/%d: %s\n", i+1, len(chains), c)
		}
		rep, err := verify.Validate(ctx, st, copt)
		prog.finish()
		if errors.Is(err, verify.ErrInvalidOptions) {
			return usageErr("%v", err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "trailcheck validate: chain %s: %v\n", c, err)
			return exitError
		}
		reports = append(reports, chainReport{c, rep.OK(), rep.AWSInvalid(), rep})
		ok = ok && rep.OK() && !(f.strict && len(rep.Notices) > 0)
		awsInvalid = awsInvalid || rep.AWSInvalid()
		if !f.jsonOut {
			if err := rep.WriteText(stdout, stderr, verify.TextOptions{Verbose: f.verbose, Extra: true}); err != nil {
				fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
				return exitError
			}
		}
	}
	if f.jsonOut {
		// One chain: its report at the top level too (as before chains were
		// listed); several: ok, awsInvalid and chains only.
		out := struct {
			OK         bool          `json:"ok"`
			AWSInvalid bool          `json:"awsInvalid"`
			Chains     []chainReport `json:"chains"`
			*verify.Report
		}{OK: ok, AWSInvalid: awsInvalid, Chains: reports}
		if len(reports) == 1 {
			out.Report = reports[0].Report
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
			return exitError
		}
	} else if len(chains) > 1 {
		fmt.Fprintf(stdout, "\n== %d chains:\n", len(chains))
		for _, r := range reports {
			status := "OK"
			if !r.OK {
				status = "INVALID"
			}
			fmt.Fprintf(stdout, "%-40s %d/%d digests valid, %d/%d log files valid: %s\n", r.chain.String(),
				r.Digests.Valid, r.Digests.Total, r.Logs.Valid, r.Logs.Total, status)
		}
	}
	if !ok {
		return exitInvalid
	}
	return exitOK
}

// noDigests reports that the trail has no digests under base (a key
// prefix): first
// every symlink and special file where the trail's folders or objects must
// be (verify.Obstructions: what may hide them, never followed), as findings
// (on stderr, or in the --json report), then msg. It returns exitInvalid.
func noDigests(ctx context.Context, st verify.Store, bucket, base, msg string, f *validateFlags, stdout, stderr io.Writer) int {
	found, err := verify.Obstructions(ctx, st, bucket, base)
	if err != nil {
		fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
		return exitError
	}
	return reportNoDigests(found, msg, f, stdout, stderr)
}

// obstructionsUnder returns verify.Obstructions of dir as a bucket and of each
// of its subfolders as a bucket named after it (DIR/<bucket>/...), for
// when --bucket could not be inferred. Read errors leave a part out.
func obstructionsUnder(dir string) []*verify.IntegrityError {
	ctx := context.Background()
	entries, _ := os.ReadDir(dir)
	sub := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			sub[e.Name()] = true
		}
	}
	var out []*verify.IntegrityError
	top, _ := verify.Obstructions(ctx, verify.FSStore(os.DirFS(dir)), "", "")
	for _, x := range top {
		if first, _, _ := strings.Cut(x.Key, "/"); !sub[first] {
			out = append(out, x)
		}
	}
	for _, e := range entries {
		if sub[e.Name()] {
			found, _ := verify.Obstructions(ctx, verify.FSStore(os.DirFS(filepath.Join(dir, e.Name()))), e.Name(), "")
			out = append(out, found...)
		}
	}
	return out
}

// reportNoDigests prints found (see noDigests) and msg; it returns
// exitInvalid.
func reportNoDigests(found []*verify.IntegrityError, msg string, f *validateFlags, stdout, stderr io.Writer) int {
	if f.jsonOut {
		out := struct {
			OK         bool                     `json:"ok"`
			AWSInvalid bool                     `json:"awsInvalid"`
			Error      string                   `json:"error"`
			Chains     []struct{}               `json:"chains"`
			Findings   []*verify.IntegrityError `json:"findings"`
		}{Error: msg, Chains: []struct{}{}, Findings: found}
		if out.Findings == nil {
			out.Findings = []*verify.IntegrityError{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "trailcheck validate: %v\n", err)
			return exitError
		}
	} else {
		for _, x := range found {
			fmt.Fprintln(stderr, x.Error())
		}
	}
	fmt.Fprintf(stderr, "trailcheck validate: %s\n", msg)
	return exitInvalid
}

// options checks the flags and resolves the bucket root directory.
func (f *validateFlags) options(usageErr func(string, ...any) int) (verify.Options, string, int) {
	var opt verify.Options
	switch {
	case f.dir == "" && f.s3Bucket == "":
		return opt, "", usageErr("--dir or --s3-bucket is required")
	case f.dir != "" && f.s3Bucket != "":
		return opt, "", usageErr("--dir and --s3-bucket are mutually exclusive")
	case f.endpoint != "" && f.s3Bucket == "":
		return opt, "", usageErr("--endpoint goes with --s3-bucket")
	case f.trailARN == "":
		return opt, "", usageErr("--trail-arn is required")
	case f.start == "":
		return opt, "", usageErr("--start is required")
	case len(f.publicKeys) == 0:
		return opt, "", usageErr("--public-key is required")
	case f.orgID != "" && f.accountID == "":
		return opt, "", usageErr("--org-id needs --account-id (the member account to validate)")
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return opt, "", usageErr("--progress must be auto, always or never, not %q", f.progress)
	}
	arn, err := verify.ParseTrailARN(f.trailARN)
	if err != nil {
		return opt, "", usageErr("%v", err)
	}
	opt = verify.Options{Bucket: f.bucket, TrailARN: f.trailARN, Prefix: f.prefix, OrgID: f.orgID,
		AccountID: f.accountID, Region: f.region}
	if opt.Start, err = parseTime(f.start); err != nil {
		return opt, "", usageErr("--start: %v", err)
	}
	opt.End = now().UTC()
	if f.end != "" {
		if opt.End, err = parseTime(f.end); err != nil {
			return opt, "", usageErr("--end: %v", err)
		}
		opt.RequireEnd = true // the trail must be covered up to --end: deleted trailing periods are errors
	}
	if f.digestPeriod < 0 {
		return opt, "", usageErr("--digest-period must not be negative")
	}
	opt.DigestPeriod = f.digestPeriod
	opt.AllowRestarts = f.allowRestarts
	if f.expectedEnd != "" {
		if opt.ExpectedEnd, err = parseTime(f.expectedEnd); err != nil {
			return opt, "", usageErr("--expected-end: %v", err)
		}
	}
	for _, p := range f.publicKeys {
		data, err := os.ReadFile(p)
		if err != nil {
			return opt, "", usageErr("--public-key: %v", err)
		}
		keys, err := verify.ParsePublicKeysPEM(data)
		if err != nil {
			return opt, "", usageErr("--public-key %s: %v", p, err)
		}
		opt.PublicKeys = append(opt.PublicKeys, keys...)
	}
	if f.s3Bucket != "" {
		return opt, "", exitOK
	}
	if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
		return opt, "", usageErr("--dir %s is not a directory", f.dir)
	}
	if f.bucket != "" {
		root := filepath.Join(f.dir, f.bucket)
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			root = f.dir
		}
		return opt, root, exitOK
	}
	bucket, root, err := inferBucket(f.dir, f, arn)
	if err != nil {
		f.noBucket = fmt.Sprintf("cannot infer --bucket: %v; pass --bucket", err)
		return opt, "", exitInvalid // runValidate names what may hide the digests, or reports a usage error
	}
	opt.Bucket = bucket
	return opt, root, exitOK
}

// inferBucket finds the newest digest of one of the trail's chains (see
// selectChains) under dir or one of its subdirectories and returns its
// digestS3Bucket and that root directory. When there is none, the error
// lists the chains of every trail and prefix found.
func inferBucket(dir string, f *validateFlags, arn verify.TrailARN) (string, string, error) {
	cands := []string{dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			cands = append(cands, filepath.Join(dir, e.Name()))
		}
	}
	ctx := context.Background()
	var found []chain
	for i, root := range cands {
		st := verify.FSStore(os.DirFS(root))
		all, err := findChains(ctx, st, "")
		if err != nil {
			return "", "", err
		}
		if i > 0 && underPrefix(ctx, cands[0], found, filepath.Base(root)) {
			continue // the first path component of a prefix in dir, not a bucket
		}
		if i == 0 || len(all) > 0 {
			found = all // a bucket directory's chains explain more than dir's
		}
		for _, c := range selectChains(all, f, arn) {
			body, _, err := st.Get(ctx, c.newest)
			if err != nil {
				return "", "", err
			}
			d, err := readDigest(body)
			if err != nil {
				return "", "", fmt.Errorf("newest digest %s: %w", c.newest, err)
			}
			if d.DigestS3Bucket == "" {
				return "", "", fmt.Errorf("newest digest %s has an empty digestS3Bucket", c.newest)
			}
			return d.DigestS3Bucket, root, nil
		}
	}
	return "", "", fmt.Errorf("%s", noDigestsMessage(found, f, arn))
}

// underPrefix reports whether name is the first path component of the
// prefix of one of chains found in dir: whether the newest digest of such a
// chain names its own key (relative to dir) as its digestS3Object. Else
// dir/name is a bucket directory (DIR/<bucket>/AWSLogs/...).
func underPrefix(ctx context.Context, dir string, chains []chain, name string) bool {
	st := verify.FSStore(os.DirFS(dir))
	for _, c := range chains {
		if c.Prefix != name && !strings.HasPrefix(c.Prefix, name+"/") {
			continue
		}
		body, _, err := st.Get(ctx, c.newest)
		if err != nil {
			continue
		}
		if d, err := readDigest(body); err == nil && d.DigestS3Object == c.newest {
			return true
		}
	}
	return false
}

func readDigest(body []byte) (*verify.Digest, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	zr.Multistream(false)
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return verify.ParseDigest(raw)
}

// parseTime accepts the formats listed in the --start help.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "20060102T150405Z", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q (use e.g. 2026-01-01T00:00:00Z)", s)
}

// progressThreshold is the number of files from which --progress=auto shows
// a bar (on a terminal only).
const progressThreshold = 500

type progress struct {
	w    io.Writer
	mode string
	bar  *progressbar.ProgressBar
	max  int
}

func (p *progress) enabled(total int) bool {
	switch p.mode {
	case "always":
		return true
	case "auto":
		return total >= progressThreshold && isTerminal(p.w)
	}
	return false
}

func (p *progress) update(done, total int) {
	if p.bar == nil {
		if !p.enabled(total) {
			return
		}
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("validating"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		p.max = total
	}
	if total != p.max {
		p.bar.ChangeMax(total)
		p.max = total
	}
	_ = p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
