package trail

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Validation turns on log file integrity validation for a trail: every
// Period, for every (account, source region) the trail delivers files for,
// the recorder writes a digest file that lists the log files delivered in
// the period with their SHA-256 hashes, chained to the previous digest and
// signed with SHA256withRSA, in exactly CloudTrail's format (so that
// `aws cloudtrail validate-logs` accepts it).
//
// # Restarts
//
// A recorder continues an existing chain instead of starting a new one: for
// each chain it first uses a matching entry of Resume, and otherwise reads
// the newest digest back through the first of the trail's sinks that
// implements DigestSink and ObjectReader (filesink, memsink and s3sink
// do). Only when neither knows
// the chain does it write a starting digest (previous* fields null), which
// the AWS verifier reports as a gap, not as an error.
type Validation struct {
	// Signer signs digests: an RSA private key of at least 2048 bits (a
	// *rsa.PrivateKey, or a KMS/HSM-backed crypto.Signer whose Public() is an
	// *rsa.PublicKey). Set Signer or Keys, not both.
	Signer crypto.Signer
	// Keys holds rotating keys with validity windows; the key valid at a
	// digest's end time signs it.
	Keys *KeyRing
	// Period is the length of a digest period (default 1 hour, at least 1
	// second). Periods are contiguous.
	Period time.Duration
	// Resume continues these chains (from Recorder.ChainStates of a previous
	// run).
	Resume []ChainState
}

// DefaultDigestPeriod is CloudTrail's digest cadence.
const DefaultDigestPeriod = time.Hour

// SignatureAlgorithm is the only digest signature algorithm.
const SignatureAlgorithm = "SHA256withRSA"

// DigestSink is implemented by sinks that can store digest files. A trail
// with Validation needs at least one; digests go to every sink of the trail
// that implements it (stream sinks such as CloudWatch Logs get none). The digest's
// signature must be stored as object metadata "signature" and
// "signature-algorithm" (Digest.Metadata).
type DigestSink interface {
	DeliverDigest(ctx context.Context, d *Digest) error
}

// ObjectReader is implemented by sinks that can read back what they stored;
// the recorder uses it to continue a digest chain after a restart. Its method
// set matches verify.Store, so such a sink can also be verified directly.
type ObjectReader interface {
	// List returns the keys that start with prefix, in lexicographic order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns an object's body and metadata; a missing object gives an
	// error wrapping fs.ErrNotExist.
	Get(ctx context.Context, key string) (body []byte, meta map[string]string, err error)
}

// Digest is one signed digest file.
type Digest struct {
	Trail      string
	Bucket     string
	Key        string
	AccountID  string // account whose log files it covers
	Region     string // source region of the log files
	HomeRegion string
	StartTime  time.Time
	EndTime    time.Time
	// LogFiles are the files delivered in [StartTime, EndTime).
	LogFiles []DigestLogFile
	// Body is the gzip'd digest; JSON the uncompressed bytes that were signed.
	Body []byte
	JSON []byte
	// Signature is the lower-case hex signature; Fingerprint the MD5
	// fingerprint of the signing key's PKCS#1 DER.
	Signature   string
	Fingerprint string
	// Previous is the chain state this digest links to (zero for a starting
	// digest).
	Previous ChainState
}

// Metadata returns the object metadata a sink must store with the digest.
func (d *Digest) Metadata() map[string]string {
	return map[string]string{"signature": d.Signature, "signature-algorithm": SignatureAlgorithm}
}

// DigestLogFile is one entry of a digest's logFiles list.
type DigestLogFile struct {
	Bucket          string
	Key             string
	SHA256          [32]byte
	OldestEventTime time.Time
	NewestEventTime time.Time
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

// SigningKey is one key of a KeyRing with its validity window.
type SigningKey struct {
	Signer    crypto.Signer
	NotBefore time.Time // zero: always valid from the start
	NotAfter  time.Time // zero: no end
}

// KeyRing holds the digest signing keys of a trail over time. CloudTrail
// rotates keys (30-day windows, possibly overlapping); old public keys stay
// listable so that old digests still verify.
type KeyRing struct {
	keys []SigningKey
	pubs []PublicKey
}

// PublicKey is a verification key as CloudTrail's ListPublicKeys returns it.
type PublicKey struct {
	DER         []byte // PKCS#1 RSAPublicKey DER
	Fingerprint string // lower-case hex MD5 of DER
	NotBefore   time.Time
	NotAfter    time.Time
}

// PEM returns the key as a PEM "RSA PUBLIC KEY" block.
func (p PublicKey) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: p.DER})
}

// NewKeyRing checks the keys (RSA, at least 2048 bits) and returns a ring.
func NewKeyRing(keys ...SigningKey) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("trail: key ring: no keys")
	}
	kr := &KeyRing{}
	for i, k := range keys {
		if k.Signer == nil {
			return nil, fmt.Errorf("trail: key ring: key %d: nil Signer", i)
		}
		pub, err := rsaPublic(k.Signer)
		if err != nil {
			return nil, fmt.Errorf("trail: key ring: key %d: %w", i, err)
		}
		if !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
			return nil, fmt.Errorf("trail: key ring: key %d: NotAfter is not after NotBefore", i)
		}
		kr.keys = append(kr.keys, k)
		der := x509.MarshalPKCS1PublicKey(pub)
		kr.pubs = append(kr.pubs, PublicKey{DER: der, Fingerprint: fingerprint(der), NotBefore: k.NotBefore, NotAfter: k.NotAfter})
	}
	return kr, nil
}

func rsaPublic(s crypto.Signer) (*rsa.PublicKey, error) {
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer's public key is %T, want *rsa.PublicKey", s.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("RSA key of %d bits, want at least 2048", pub.N.BitLen())
	}
	return pub, nil
}

// signerAt returns the key valid at t: among the keys whose window holds t,
// the one that became valid last; if none holds t, the last key (and false).
func (kr *KeyRing) signerAt(t time.Time) (int, bool) {
	best := -1
	for i, k := range kr.keys {
		if (k.NotBefore.IsZero() || !t.Before(k.NotBefore)) && (k.NotAfter.IsZero() || t.Before(k.NotAfter)) {
			if best < 0 || !k.NotBefore.Before(kr.keys[best].NotBefore) {
				best = i
			}
		}
	}
	if best < 0 {
		return len(kr.keys) - 1, false
	}
	return best, true
}

// PublicKeys returns the public keys whose validity window overlaps
// [start, end], like CloudTrail's ListPublicKeys.
func (kr *KeyRing) PublicKeys(start, end time.Time) []PublicKey {
	var out []PublicKey
	for _, p := range kr.pubs {
		if (p.NotAfter.IsZero() || p.NotAfter.After(start)) && (p.NotBefore.IsZero() || !p.NotBefore.After(end)) {
			out = append(out, p)
		}
	}
	return out
}

// PublicKeyInfo returns the PKCS#1 DER and fingerprint of an RSA public key.
func PublicKeyInfo(pub *rsa.PublicKey) PublicKey {
	der := x509.MarshalPKCS1PublicKey(pub)
	return PublicKey{DER: der, Fingerprint: fingerprint(der)}
}

func fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// DigestKey returns the S3 key of a digest file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail-Digest/region/YYYY/MM/DD/account_CloudTrail-Digest_region_trail_home_YYYYMMDDTHHMMSSZ.json.gz
//
// end is the digest's end time (UTC is used).
func DigestKey(prefix, orgID, account, region, trailName, homeRegion string, end time.Time) string {
	end = end.UTC()
	b := make([]byte, 0, 200)
	b = appendKeyBase(b, prefix, orgID, account)
	b = append(b, "CloudTrail-Digest/"...)
	b = append(b, region...)
	b = append(b, '/')
	b = end.AppendFormat(b, "2006/01/02/")
	b = append(b, account...)
	b = append(b, "_CloudTrail-Digest_"...)
	b = append(b, region...)
	b = append(b, '_')
	b = append(b, trailName...)
	b = append(b, '_')
	b = append(b, homeRegion...)
	b = append(b, '_')
	b = end.AppendFormat(b, "20060102T150405Z")
	b = append(b, ".json.gz"...)
	return string(b)
}

// appendDigestString writes s as a JSON string the way CloudTrail's digests
// do: like log files, but with '/' escaped as `\/`.
func appendDigestString(dst []byte, s string) []byte {
	start := len(dst)
	dst = appendString(dst, s)
	if bytes.IndexByte(dst[start:], '/') < 0 {
		return dst
	}
	esc := bytes.ReplaceAll(dst[start:], []byte("/"), []byte(`\/`))
	return append(dst[:start], esc...)
}

func appendDigestField(dst []byte, name, value string) []byte {
	dst = appendKey(dst, name)
	return appendDigestString(dst, value)
}

func appendDigestNullable(dst []byte, name, value string) []byte {
	dst = appendKey(dst, name)
	if value == "" {
		return append(dst, "null"...)
	}
	return appendDigestString(dst, value)
}

func appendDigestTime(dst []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return appendDigestNullable(dst, name, "")
	}
	return appendDigestField(dst, name, t.UTC().Format(TimeFormat))
}

// encodeDigestJSON writes the digest body in CloudTrail's field order.
func (d *Digest) encodeJSON() []byte {
	var newest, oldest time.Time
	for _, f := range d.LogFiles {
		if newest.IsZero() || f.NewestEventTime.After(newest) {
			newest = f.NewestEventTime
		}
		if oldest.IsZero() || f.OldestEventTime.Before(oldest) {
			oldest = f.OldestEventTime
		}
	}
	b := make([]byte, 0, 1024+300*len(d.LogFiles))
	b = append(b, '{')
	b = appendDigestField(b, "awsAccountId", d.AccountID)
	b = appendDigestField(b, "digestStartTime", d.StartTime.UTC().Format(TimeFormat))
	b = appendDigestField(b, "digestEndTime", d.EndTime.UTC().Format(TimeFormat))
	b = appendDigestField(b, "digestS3Bucket", d.Bucket)
	b = appendDigestField(b, "digestS3Object", d.Key)
	b = appendDigestField(b, "digestPublicKeyFingerprint", d.Fingerprint)
	b = appendDigestField(b, "digestSignatureAlgorithm", SignatureAlgorithm)
	b = appendDigestTime(b, "newestEventTime", newest)
	b = appendDigestTime(b, "oldestEventTime", oldest)
	p := d.Previous
	b = appendDigestNullable(b, "previousDigestS3Bucket", p.bucketOrEmpty())
	b = appendDigestNullable(b, "previousDigestS3Object", p.Key)
	b = appendDigestNullable(b, "previousDigestHashValue", p.Hash)
	hashAlg := ""
	if !p.IsZero() {
		hashAlg = "SHA-256"
	}
	b = appendDigestNullable(b, "previousDigestHashAlgorithm", hashAlg)
	b = appendDigestNullable(b, "previousDigestSignature", p.Signature)
	b = append(b, `,"logFiles":[`...)
	for i, f := range d.LogFiles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendDigestField(b, "s3Bucket", f.Bucket)
		b = appendDigestField(b, "s3Object", f.Key)
		b = appendDigestField(b, "hashValue", hex.EncodeToString(f.SHA256[:]))
		b = appendDigestField(b, "hashAlgorithm", "SHA-256")
		b = appendDigestField(b, "newestEventTime", f.NewestEventTime.UTC().Format(TimeFormat))
		b = appendDigestField(b, "oldestEventTime", f.OldestEventTime.UTC().Format(TimeFormat))
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

func (s ChainState) bucketOrEmpty() string {
	if s.IsZero() {
		return ""
	}
	return s.Bucket
}

// SigningString returns the exact string a digest signature covers:
// end time, bucket/key, hex SHA-256 of the uncompressed digest, and the
// previous signature (or "null"), separated by newlines.
func SigningString(endTime, bucket, key string, digestSHA256 [32]byte, previousSignature string) string {
	prev := previousSignature
	if prev == "" {
		prev = "null"
	}
	return endTime + "\n" + bucket + "/" + key + "\n" + hex.EncodeToString(digestSHA256[:]) + "\n" + prev
}

// sign fills JSON, Body, Signature and Fingerprint.
func (d *Digest) sign(signer crypto.Signer, fp string) error {
	d.Fingerprint = fp
	d.JSON = d.encodeJSON()
	sum := sha256.Sum256(d.JSON)
	msg := SigningString(d.EndTime.UTC().Format(TimeFormat), d.Bucket, d.Key, sum, d.Previous.Signature)
	h := sha256.Sum256([]byte(msg))
	sig, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("trail: sign digest %s: %w", d.Key, err)
	}
	d.Signature = hex.EncodeToString(sig)
	body, err := gzipBytes(d.JSON)
	if err != nil {
		return fmt.Errorf("trail: gzip digest %s: %w", d.Key, err)
	}
	d.Body = body
	return nil
}

// State returns the chain state after this digest.
func (d *Digest) State() ChainState {
	sum := sha256.Sum256(d.JSON)
	return ChainState{Trail: d.Trail, AccountID: d.AccountID, Region: d.Region, Bucket: d.Bucket, Key: d.Key,
		EndTime: d.EndTime, Hash: hex.EncodeToString(sum[:]), Signature: d.Signature}
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
	base := string(appendKeyBase(nil, t.Prefix, t.Organization, k.account)) + "CloudTrail-Digest/" + k.region + "/"
	keys, err := rd.List(ctx, base)
	if err != nil {
		return ChainState{}, fmt.Errorf("trail: list digests under %s: %w", base, err)
	}
	namePrefix := k.account + "_CloudTrail-Digest_" + k.region + "_" + t.Name + "_" + homeRegion + "_"
	var newest, newestStamp string
	for _, key := range keys {
		name := key[strings.LastIndexByte(key, '/')+1:]
		if !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, "Z.json.gz") || len(name) != len(namePrefix)+len("20060102T150405Z.json.gz") {
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

// ParseSigningKeyPEM parses an RSA private key for Validation.Signer from
// PEM: "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8).
func ParseSigningKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("trail: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("trail: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("trail: %T is not an RSA private key", k)
	}
	return rk, nil
}
