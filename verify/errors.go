package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind classifies an integrity problem found by [Validate].
//
// Kinds for which [Kind.AWS] reports true are the problems that
// `aws cloudtrail validate-logs` itself reports; the others are extra checks
// that validate-logs does not make.
type Kind int

// Problems that `aws cloudtrail validate-logs` reports (same conditions, same
// message text in [IntegrityError.Error]).
const (
	// KindDigestNotFound: a digest file the chain points to (or that was
	// listed) does not exist. validate-logs: "not found".
	KindDigestNotFound Kind = iota + 1
	// KindDigestInvalidFormat: a digest file is not gzip, not UTF-8 JSON,
	// not an object or lacks a required field. validate-logs: "invalid format".
	KindDigestInvalidFormat
	// KindDigestMoved: digestS3Bucket/digestS3Object inside a digest differ
	// from where it was read. validate-logs: "has been moved from its
	// original location".
	KindDigestMoved
	// KindPublicKeyNotFound: no accepted public key has the digest's
	// digestPublicKeyFingerprint. validate-logs: "public key not found in
	// region <home> for fingerprint <fp>".
	KindPublicKeyNotFound
	// KindPublicKeyUnusable: the accepted public key with that fingerprint
	// cannot be parsed. validate-logs: "Unable to load PKCS #1 key with
	// fingerprint <fp>".
	KindPublicKeyUnusable
	// KindSignatureInvalid: the signature metadata is missing or does not
	// verify. validate-logs: "signature verification failed".
	KindSignatureInvalid
	// KindLogHashMismatch: the SHA-256 of a log file's uncompressed bytes is
	// not the hashValue its digest lists. validate-logs: "hash value doesn't
	// match".
	KindLogHashMismatch
	// KindLogNotFound: a log file listed by a valid digest does not exist.
	// validate-logs: "not found".
	KindLogNotFound
	// KindLogInvalidFormat: a listed log file cannot be decompressed, or its
	// digest entry is malformed. validate-logs: "invalid format".
	KindLogInvalidFormat
)

// Problems that `aws cloudtrail validate-logs` does not detect.
const (
	// KindPreviousHashMismatch: previousDigestHashValue is not the lower-case
	// hex SHA-256 of the previous digest's uncompressed bytes.
	KindPreviousHashMismatch Kind = iota + 100
	// KindPreviousSignatureMismatch: previousDigestSignature is not the
	// previous digest's signature metadata.
	KindPreviousSignatureMismatch
	// KindChainRestart: a starting digest (all previous* fields null) while
	// an older digest of the trail exists in the window. validate-logs only
	// prints a gap notice; a restart is also how deletions can be hidden.
	KindChainRestart
	// KindNewestDigestMissing: no digest reaches Options.ExpectedEnd, or
	// under Options.RequireEnd the newest digest is a full period ending
	// before End (the newest digests were deleted, or delivery stopped).
	KindNewestDigestMissing
	// KindChainGap: a digest's digestStartTime is later than the
	// digestEndTime of the next older digest found: the digests in between
	// are missing (validate-logs reports at most the first of them).
	KindChainGap
	// KindDigestOverlap: a digest's digestStartTime is earlier than the
	// digestEndTime of the next older digest.
	KindDigestOverlap
	// KindDigestNameMismatch: a digest's key is not the key the trail's
	// layout gives for its digestEndTime (wrong timestamp, date folder,
	// account, region, trail name or prefix).
	KindDigestNameMismatch
	// KindDigestFieldInvalid: a signed digest has a field that CloudTrail
	// never writes (wrong algorithm names, account, non-canonical times,
	// inconsistent null previous* fields, event-time summary not matching its
	// log files, upper-case hex, missing logFiles, ...).
	KindDigestFieldInvalid
	// KindKeyNotValidAtTime: the digest's period lies outside the validity
	// window of the public key it was signed with.
	KindKeyNotValidAtTime
	// KindLogNotInDigest: a log file in the trail's CloudTrail/<region>/
	// folders, delivered inside the validated range, that no digest lists.
	KindLogNotInDigest
	// KindLogListedTwice: a log file listed by more than one digest entry.
	KindLogListedTwice
	// KindLogRecordsInvalid: a log file whose hash is valid but whose content
	// is not a {"Records":[...]} document with an eventTime in every record.
	KindLogRecordsInvalid
	// KindEventTimeOutOfRange: a record's eventTime lies outside the
	// [oldestEventTime, newestEventTime] its digest claims for the file.
	KindEventTimeOutOfRange
	// KindTrailingData: a gzip object (log or digest) has bytes after its
	// first gzip member. validate-logs ignores them (they are not hashed),
	// but gzip tools, Athena and SIEMs read them.
	KindTrailingData
	// KindDigestFork: two digests name the same previous digest (two
	// writers continued one chain); validate-logs follows one branch and
	// never reads the other.
	KindDigestFork
	// KindDigestOffChain: a digest of the trail in the window that the walk
	// from the newest digest never reaches (another chain, the other branch
	// of a fork); validate-logs never checks it nor the files it lists.
	KindDigestOffChain
	// KindStrayObject: an object under the trail's prefix where the trail's
	// layout has none: outside AWSLogs/<account>/CloudTrail*/<region>/
	// yyyy/mm/dd/, with a name that is not a log file's or digest's, or
	// whose name disagrees with its folders (account, region, date), or a
	// metadata sidecar without its object. validate-logs never looks there.
	KindStrayObject
	// KindNotRegular: a symbolic link, FIFO, device, socket or other special
	// file under the trail's prefix. It is reported without being followed
	// or opened (a FIFO cannot make validation hang; a symlink cannot make
	// it read a file outside the tree).
	KindNotRegular
	// KindNotYetCovered (a notice, see [Kind.Notice]): a log file of the
	// trail's region that no digest lists because it is newer than the
	// newest digest's coverage (within two minutes of its end, or after
	// it): the next digest will list it, or it is forged; it cannot be
	// verified yet. Under Options.RequireEnd only a file named in End's
	// minute can be a notice: every older one must be listed.
	KindNotYetCovered
	// KindTempFile (a notice): a sink's leftover temporary file (".tmp-*"),
	// an incomplete write of a crashed run, not an object of the trail.
	KindTempFile
	// KindMetadataAmbiguous: an object's metadata names the same key twice
	// (for example both "signature" and "x-amz-meta-signature" in a
	// sidecar): which one counts would depend on map order, so neither does.
	KindMetadataAmbiguous
)

// Notice reports whether findings of this kind are notices rather than
// problems: they are listed in Report.Notices, not Report.Findings, and do
// not make Report.OK false (trailcheck exits 0 unless --strict).
func (k Kind) Notice() bool { return k == KindNotYetCovered || k == KindTempFile }

var kindNames = map[Kind]string{
	KindDigestNotFound:            "digest-not-found",
	KindDigestInvalidFormat:       "digest-invalid-format",
	KindDigestMoved:               "digest-moved",
	KindPublicKeyNotFound:         "public-key-not-found",
	KindPublicKeyUnusable:         "public-key-unusable",
	KindSignatureInvalid:          "signature-invalid",
	KindLogHashMismatch:           "log-hash-mismatch",
	KindLogNotFound:               "log-not-found",
	KindLogInvalidFormat:          "log-invalid-format",
	KindPreviousHashMismatch:      "previous-hash-mismatch",
	KindPreviousSignatureMismatch: "previous-signature-mismatch",
	KindChainRestart:              "chain-restart",
	KindNewestDigestMissing:       "newest-digest-missing",
	KindChainGap:                  "chain-gap",
	KindDigestOverlap:             "digest-overlap",
	KindDigestNameMismatch:        "digest-name-mismatch",
	KindDigestFieldInvalid:        "digest-field-invalid",
	KindKeyNotValidAtTime:         "key-not-valid-at-time",
	KindLogNotInDigest:            "log-not-in-digest",
	KindLogListedTwice:            "log-listed-twice",
	KindLogRecordsInvalid:         "log-records-invalid",
	KindEventTimeOutOfRange:       "event-time-out-of-range",
	KindTrailingData:              "trailing-data",
	KindDigestFork:                "digest-fork",
	KindDigestOffChain:            "digest-off-chain",
	KindStrayObject:               "stray-object",
	KindNotRegular:                "not-regular-file",
	KindNotYetCovered:             "not-yet-covered",
	KindTempFile:                  "temp-file",
	KindMetadataAmbiguous:         "metadata-ambiguous",
}

// Kinds returns every defined Kind, validate-logs kinds first.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindNames))
	for k := KindDigestNotFound; k <= KindLogInvalidFormat; k++ {
		out = append(out, k)
	}
	for k := KindPreviousHashMismatch; k <= KindMetadataAmbiguous; k++ {
		out = append(out, k)
	}
	return out
}

// String returns the kind's stable kebab-case name, e.g. "chain-gap".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (k Kind) MarshalText() ([]byte, error) {
	if _, ok := kindNames[k]; !ok {
		return nil, fmt.Errorf("verify: unknown kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (the String form).
func (k *Kind) UnmarshalText(b []byte) error {
	for kk, s := range kindNames {
		if s == string(b) {
			*k = kk
			return nil
		}
	}
	return fmt.Errorf("verify: unknown kind %q", b)
}

// AWS reports whether `aws cloudtrail validate-logs` detects this kind of
// problem (and counts it as INVALID).
func (k Kind) AWS() bool { return k >= KindDigestNotFound && k <= KindLogInvalidFormat }

// IsLog reports whether the problem concerns a log file (as opposed to a
// digest file or the digest chain).
func (k Kind) IsLog() bool {
	switch k {
	case KindLogHashMismatch, KindLogNotFound, KindLogInvalidFormat, KindLogNotInDigest,
		KindLogListedTwice, KindLogRecordsInvalid, KindEventTimeOutOfRange:
		return true
	}
	return false
}

// IntegrityError is one problem found by [Validate]. Its Error text has the
// tab-separated line format of `aws cloudtrail validate-logs`:
//
//	Digest file<TAB>s3://<bucket>/<key><TAB>INVALID: <detail>
type IntegrityError struct {
	// Kind classifies the problem.
	Kind Kind `json:"kind"`
	// Log reports whether Key names a log file (else a digest file).
	Log bool `json:"log"`
	// Bucket and Key locate the object concerned (for chain problems: the
	// newer digest of the pair).
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Detail is the text after "INVALID: " (for validate-logs kinds exactly
	// validate-logs' text).
	Detail string `json:"detail"`
	// Digest is, for a log-file problem, the key of the digest that lists it.
	Digest string `json:"digest,omitempty"`
	// Start and End delimit the period concerned (gaps, overlaps, missing
	// digests), when there is one.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Err is the underlying cause, if any.
	Err error `json:"-"`
}

// Error returns the validate-logs style line (without trailing newline).
func (e *IntegrityError) Error() string {
	obj := "Digest file"
	switch {
	case e.Kind == KindStrayObject || e.Kind == KindNotRegular || e.Kind == KindTempFile:
		obj = "Object"
	case e.Log:
		obj = "Log file"
	}
	if e.Kind.Notice() {
		return fmt.Sprintf("%s\ts3://%s/%s\tNOTICE: %s", obj, e.Bucket, e.Key, e.Detail)
	}
	return fmt.Sprintf("%s\ts3://%s/%s\tINVALID: %s", obj, e.Bucket, e.Key, e.Detail)
}

// MarshalJSON adds to the fields the Error text ("message") and the
// underlying cause's text ("cause", when there is one).
func (e *IntegrityError) MarshalJSON() ([]byte, error) {
	type plain IntegrityError // no methods: no recursion
	out := struct {
		*plain
		Message string `json:"message"`
		Cause   string `json:"cause,omitempty"`
	}{plain: (*plain)(e), Message: e.Error()}
	if e.Err != nil {
		out.Cause = e.Err.Error()
	}
	return json.Marshal(out)
}

// Unwrap returns the underlying cause.
func (e *IntegrityError) Unwrap() error { return e.Err }

// Sentinel errors returned (wrapped) by [Validate] when validation cannot be
// carried out at all. Integrity problems are never returned as errors: they
// are listed in [Report.Findings].
var (
	// ErrInvalidOptions: Options are inconsistent (bad trail ARN, missing
	// bucket, start after end, ...).
	ErrInvalidOptions = errors.New("verify: invalid options")
	// ErrNoPublicKeys: no accepted public key is valid in the window
	// (validate-logs: "No public keys found between ...").
	ErrNoPublicKeys = errors.New("verify: no public keys found")
	// ErrInvalidFormat is wrapped by parser errors ([ParseDigest],
	// [ParseLogFile], PEM parsing).
	ErrInvalidFormat = errors.New("verify: invalid format")
)
