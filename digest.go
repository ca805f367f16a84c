package trail

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// SignatureAlgorithm is the only digest signature algorithm.
const SignatureAlgorithm = "SHA256withRSA"

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
