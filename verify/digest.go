package verify

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Digest is a parsed CloudTrail digest file (spec 3.3). Nullable fields are
// pointers (nil = JSON null or absent).
type Digest struct {
	AWSAccountID                string
	DigestStartTime             string
	DigestEndTime               string
	DigestS3Bucket              string
	DigestS3Object              string
	DigestPublicKeyFingerprint  string
	DigestSignatureAlgorithm    string
	NewestEventTime             *string
	OldestEventTime             *string
	PreviousDigestS3Bucket      *string
	PreviousDigestS3Object      *string
	PreviousDigestHashValue     *string
	PreviousDigestHashAlgorithm *string
	PreviousDigestSignature     *string
	// LogFiles lists the digest's log files (nil for null or []).
	LogFiles []DigestLogFile
	// HasLogFiles reports whether the logFiles field is present.
	HasLogFiles bool
	// Problems lists fields of unexpected JSON type (not fatal for
	// validate-logs, reported as [KindDigestFieldInvalid]).
	Problems []string
}

// DigestLogFile is one entry of a digest's logFiles.
type DigestLogFile struct {
	// Fields named as in the digest JSON (spec 3.3); a field that is not
	// a string holds its raw JSON text.
	S3Bucket        string
	S3Object        string
	HashValue       string
	HashAlgorithm   string
	NewestEventTime string
	OldestEventTime string
	// Err is set when the entry is malformed (not an object, s3Bucket,
	// s3Object or hashValue missing or not a string); validate-logs
	// reports such a log file as "invalid format".
	Err error
}

// requiredDigestKeys are the fields validate-logs requires (spec 3.7 c).
var requiredDigestKeys = []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime"}

// ParseDigest parses the uncompressed bytes of a digest file. It fails
// (wrapping [ErrInvalidFormat]) where validate-logs reports "invalid
// format": not UTF-8, not a JSON object, a required field missing; and also
// when a required field has the wrong JSON type. It never panics.
func ParseDigest(data []byte) (*Digest, error) {
	obj, err := decodeDigestObject(data)
	if err != nil {
		return nil, err
	}
	return digestFromObject(obj)
}

func decodeDigestObject(data []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: digest is not UTF-8", ErrInvalidFormat)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: digest JSON: %w", ErrInvalidFormat, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: digest is JSON null", ErrInvalidFormat)
	}
	return obj, nil
}

func digestFromObject(obj map[string]json.RawMessage) (*Digest, error) {
	for _, k := range requiredDigestKeys {
		if _, ok := obj[k]; !ok {
			return nil, fmt.Errorf("%w: digest lacks required field %q", ErrInvalidFormat, k)
		}
	}
	d := &Digest{}
	var err error
	str := func(name string, dst *string, required bool) {
		if err != nil {
			return
		}
		raw, ok := obj[name]
		if !ok {
			if !required {
				d.Problems = append(d.Problems, fmt.Sprintf("field %s is missing", name))
			}
			return
		}
		if e := json.Unmarshal(raw, dst); e != nil || isNull(raw) {
			if required {
				err = fmt.Errorf("%w: digest field %q is not a string", ErrInvalidFormat, name)
				return
			}
			d.Problems = append(d.Problems, fmt.Sprintf("field %s is not a string", name))
		}
	}
	nullable := func(name string, dst **string) {
		if err != nil {
			return
		}
		raw, ok := obj[name]
		if !ok || isNull(raw) {
			return
		}
		var s string
		if e := json.Unmarshal(raw, &s); e != nil {
			if name == "previousDigestSignature" {
				err = fmt.Errorf("%w: digest field %q is neither a string nor null", ErrInvalidFormat, name)
				return
			}
			d.Problems = append(d.Problems, fmt.Sprintf("field %s is neither a string nor null", name))
			return
		}
		*dst = &s
	}
	str("awsAccountId", &d.AWSAccountID, false)
	str("digestStartTime", &d.DigestStartTime, true)
	str("digestEndTime", &d.DigestEndTime, true)
	str("digestS3Bucket", &d.DigestS3Bucket, true)
	str("digestS3Object", &d.DigestS3Object, true)
	str("digestPublicKeyFingerprint", &d.DigestPublicKeyFingerprint, true)
	str("digestSignatureAlgorithm", &d.DigestSignatureAlgorithm, false)
	nullable("newestEventTime", &d.NewestEventTime)
	nullable("oldestEventTime", &d.OldestEventTime)
	nullable("previousDigestS3Bucket", &d.PreviousDigestS3Bucket)
	nullable("previousDigestS3Object", &d.PreviousDigestS3Object)
	nullable("previousDigestHashValue", &d.PreviousDigestHashValue)
	nullable("previousDigestHashAlgorithm", &d.PreviousDigestHashAlgorithm)
	nullable("previousDigestSignature", &d.PreviousDigestSignature)
	if err != nil {
		return nil, err
	}
	raw, ok := obj["logFiles"]
	d.HasLogFiles = ok
	switch {
	case !ok:
		d.Problems = append(d.Problems, "field logFiles is missing")
	case isNull(raw):
	default:
		var entries []json.RawMessage
		if e := json.Unmarshal(raw, &entries); e != nil {
			d.Problems = append(d.Problems, "field logFiles is not an array")
			break
		}
		d.LogFiles = make([]DigestLogFile, 0, len(entries))
		for i, e := range entries {
			d.LogFiles = append(d.LogFiles, parseDigestLogFile(i, e))
		}
	}
	return d, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func parseDigestLogFile(i int, raw json.RawMessage) DigestLogFile {
	var lf DigestLogFile
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		lf.Err = fmt.Errorf("%w: logFiles[%d] is not an object", ErrInvalidFormat, i)
		return lf
	}
	get := func(name string, dst *string) error {
		v, ok := obj[name]
		if !ok {
			return fmt.Errorf("%w: logFiles[%d] lacks %s", ErrInvalidFormat, i, name)
		}
		if err := json.Unmarshal(v, dst); err != nil || isNull(v) {
			*dst = string(v) // keep the raw text; validate-logs compares it and fails
			return fmt.Errorf("%w: logFiles[%d].%s is not a string", ErrInvalidFormat, i, name)
		}
		return nil
	}
	if err := get("s3Bucket", &lf.S3Bucket); err != nil {
		lf.Err = err
	}
	if err := get("s3Object", &lf.S3Object); err != nil && lf.Err == nil {
		lf.Err = err
	}
	if _, ok := obj["hashValue"]; !ok && lf.Err == nil {
		lf.Err = fmt.Errorf("%w: logFiles[%d] lacks hashValue", ErrInvalidFormat, i)
	} else {
		// A non-string hashValue is no format error for validate-logs: it
		// just never equals the computed hash.
		_ = get("hashValue", &lf.HashValue)
	}
	_ = get("hashAlgorithm", &lf.HashAlgorithm)
	_ = get("newestEventTime", &lf.NewestEventTime)
	_ = get("oldestEventTime", &lf.OldestEventTime)
	return lf
}

// Starting reports whether d is a starting digest (previousDigestS3Bucket
// is null), the test validate-logs uses.
func (d *Digest) Starting() bool { return d.PreviousDigestS3Bucket == nil }

// SigningData returns the data CloudTrail signs for d (spec 3.5): four
// lines digestEndTime, digestS3Bucket "/" digestS3Object, the lower-case hex
// SHA-256 of uncompressed (the digest's exact uncompressed bytes), and
// previousDigestSignature or "null".
func (d *Digest) SigningData(uncompressed []byte) []byte {
	sum := sha256.Sum256(uncompressed)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return []byte(d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" +
		hex.EncodeToString(sum[:]) + "\n" + prev)
}

// VerifySignature checks a hex RSASSA-PKCS1-v1_5 SHA-256 signature of data.
func VerifySignature(pub *rsa.PublicKey, data []byte, signatureHex string) error {
	if pub == nil {
		return errors.New("verify: nil public key")
	}
	sig, err := hex.DecodeString(signatureHex)
	if err != nil {
		return fmt.Errorf("verify: signature is not hex: %w", err)
	}
	sum := sha256.Sum256(data)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// gunzipFirst decompresses the first gzip member of body, as validate-logs
// does for digests (zlib in gzip mode, which stops after one member); it
// returns the uncompressed bytes and how many bytes follow that member.
func gunzipFirst(body []byte) ([]byte, int, error) {
	br := bytes.NewReader(body)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: gzip: %w", ErrInvalidFormat, err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: gzip: %w", ErrInvalidFormat, err)
	}
	return out, br.Len(), nil
}

func parseJSONTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q: %w", ErrInvalidFormat, s, err)
	}
	return t.UTC(), nil
}

// canonicalTime reports whether s is exactly CloudTrail's format.
func canonicalTime(s string) bool {
	t, err := time.Parse(JSONTimeFormat, s)
	return err == nil && t.Format(JSONTimeFormat) == s
}
