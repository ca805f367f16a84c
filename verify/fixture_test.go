package verify

// A small generator of CloudTrail buckets for tests: gzip'd log files with
// {"Records":[...]}, and a chain of hourly digests signed with a test
// RSA-2048 key, written exactly as spec 3.3-3.5 describe (independently of
// the package's own verification code).

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail/internal/gztest"
	"github.com/trailkit/trail/internal/testkeys"
)

// testKey signs the generated digests; otherKey signed nothing.
var (
	testKey  = testkeys.Key
	otherKey = testkeys.OtherKey
)

func pubPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err) // test set-up only
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// md5 fingerprint of the PKCS#1 DER, computed via the package helper and
// cross-checked in TestFingerprint.
func testFingerprint(k *rsa.PrivateKey) string { return Fingerprint(&k.PublicKey) }

type record struct {
	EventVersion       string            `json:"eventVersion"`
	UserIdentity       map[string]string `json:"userIdentity"`
	EventTime          string            `json:"eventTime"`
	EventSource        string            `json:"eventSource"`
	EventName          string            `json:"eventName"`
	AWSRegion          string            `json:"awsRegion"`
	SourceIPAddress    string            `json:"sourceIPAddress"`
	UserAgent          string            `json:"userAgent"`
	RequestParameters  map[string]string `json:"requestParameters"`
	ResponseElements   any               `json:"responseElements"`
	RequestID          string            `json:"requestID"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
	EventCategory      string            `json:"eventCategory"`
}

type logEntry struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

type digestDoc struct {
	AWSAccountID                string     `json:"awsAccountId"`
	DigestStartTime             string     `json:"digestStartTime"`
	DigestEndTime               string     `json:"digestEndTime"`
	DigestS3Bucket              string     `json:"digestS3Bucket"`
	DigestS3Object              string     `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string     `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string     `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string    `json:"newestEventTime"`
	OldestEventTime             *string    `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string    `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string    `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string    `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string    `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string    `json:"previousDigestSignature"`
	LogFiles                    []logEntry `json:"logFiles"`
}

type fixtureConfig struct {
	Bucket, Prefix, OrgID, Account, Region, HomeRegion, Trail string
	// Start is the first digest's digestStartTime; digests are hourly.
	Start time.Time
	Hours int
	// LogsPerDigest gives the number of log files of digest i (default
	// pattern 2,1,0,3).
	LogsPerDigest func(i int) int
	// Restart makes digest i a starting digest.
	Restart map[int]bool
	// MutateLog changes the records of log j of digest i after the digest
	// entry's event-time range was computed from them.
	MutateLog func(i, j int, recs []record)
	// MutateLogBytes changes the serialized log j of digest i before it is
	// hashed and gzip'd.
	MutateLogBytes func(i, j int, raw []byte) []byte
	// MutateDigest changes digest i before it is serialized and signed.
	MutateDigest func(i int, d *digestDoc)
	// SignKey returns the key that signs digest i (default testKey).
	SignKey func(i int) *rsa.PrivateKey
}

type fixture struct {
	cfg     fixtureConfig
	objects map[string][]byte
	meta    map[string]map[string]string
	digests []string     // digest keys, oldest first
	logs    [][]string   // log keys per digest
	starts  []time.Time  // digest start times
	ends    []time.Time  // digest end times
	docs    []*digestDoc // as signed
	sigs    []string     // signatures
	rng     *mrand.Rand  // deterministic names and ids
	layout  Layout       // where things go
}

func defaultConfig() fixtureConfig {
	return fixtureConfig{
		Bucket: "audit-bucket", Account: "111122223333", Region: "us-east-1", HomeRegion: "us-east-1",
		Trail: "main", Start: time.Date(2026, 1, 1, 0, 7, 31, 0, time.UTC), Hours: 6,
	}
}

func (c fixtureConfig) arn() string {
	return "arn:aws:cloudtrail:" + c.HomeRegion + ":" + c.Account + ":trail/" + c.Trail
}

func gunzip(t testing.TB, b []byte) []byte {
	out, _, err := gunzipFirst(b)
	require.NoError(t, err)
	return out
}

// marshalCT serializes like CloudTrail: compact, no HTML escaping, "/" as "\/".
func marshalCT(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`))
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (f *fixture) unique() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = alnum[f.rng.IntN(len(alnum))]
	}
	return string(b)
}

func (f *fixture) uuid() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", f.rng.Uint32(), f.rng.Uint32()&0xffff,
		f.rng.Uint32()&0xffff, f.rng.Uint32()&0xffff, f.rng.Uint64()&0xffffffffffff)
}

func fmtT(t time.Time) string { return t.UTC().Format(JSONTimeFormat) }

func ptr(s string) *string { return &s }

func buildFixture(t testing.TB, cfg fixtureConfig) *fixture {
	t.Helper()
	if cfg.LogsPerDigest == nil {
		cfg.LogsPerDigest = func(i int) int { return []int{2, 1, 0, 3}[i%4] }
	}
	if cfg.SignKey == nil {
		cfg.SignKey = func(int) *rsa.PrivateKey { return testKey() }
	}
	arn, err := ParseTrailARN(cfg.arn())
	require.NoError(t, err)
	f := &fixture{
		cfg: cfg, objects: map[string][]byte{}, meta: map[string]map[string]string{},
		rng: mrand.New(mrand.NewPCG(1, 2)),
		layout: Layout{Prefix: cfg.Prefix, OrgID: cfg.OrgID, AccountID: cfg.Account, Region: cfg.Region,
			HomeRegion: arn.HomeRegion, TrailName: arn.Name},
	}
	var prevKey, prevHash, prevSig string
	for i := 0; i < cfg.Hours; i++ {
		start := cfg.Start.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Hour)
		d := &digestDoc{
			AWSAccountID: cfg.Account, DigestStartTime: fmtT(start), DigestEndTime: fmtT(end),
			DigestS3Bucket: cfg.Bucket, DigestS3Object: f.layout.DigestKey(end),
			DigestPublicKeyFingerprint: testFingerprint(testKey()), DigestSignatureAlgorithm: "SHA256withRSA",
			LogFiles: []logEntry{},
		}
		if i > 0 && !cfg.Restart[i] {
			d.PreviousDigestS3Bucket = ptr(cfg.Bucket)
			d.PreviousDigestS3Object = ptr(prevKey)
			d.PreviousDigestHashValue = ptr(prevHash)
			d.PreviousDigestHashAlgorithm = ptr("SHA-256")
			d.PreviousDigestSignature = ptr(prevSig)
		}
		var logKeys []string
		var oldest, newest time.Time
		for j := 0; j < cfg.LogsPerDigest(i); j++ {
			delivered := start.Add(time.Duration(j+1) * 15 * time.Minute)
			key := f.layout.LogKey(delivered, f.unique())
			var recs []record
			lo, hi := time.Time{}, time.Time{}
			for r := 0; r < 3; r++ {
				et := delivered.Add(-time.Duration(r+1) * 70 * time.Second).Truncate(time.Second)
				if lo.IsZero() || et.Before(lo) {
					lo = et
				}
				if hi.IsZero() || et.After(hi) {
					hi = et
				}
				recs = append(recs, record{
					EventVersion: "1.11", UserIdentity: map[string]string{"type": "AWSService", "invokedBy": "orders.example.com"},
					EventTime: fmtT(et), EventSource: "orders.example.com", EventName: []string{"CreateOrder", "GetOrder", "DeleteOrder"}[r],
					AWSRegion: cfg.Region, SourceIPAddress: "192.0.2.10", UserAgent: "trail-test/1.0",
					RequestParameters: map[string]string{"orderId": f.unique()}, RequestID: f.uuid(), EventID: f.uuid(),
					ReadOnly: r == 1, EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: cfg.Account,
					EventCategory: "Management",
				})
			}
			if cfg.MutateLog != nil {
				cfg.MutateLog(i, j, recs)
			}
			raw := marshalCT(t, map[string]any{"Records": recs})
			if cfg.MutateLogBytes != nil {
				raw = cfg.MutateLogBytes(i, j, raw)
			}
			sum := sha256.Sum256(raw)
			f.objects[key] = gztest.Gzip(t, raw)
			d.LogFiles = append(d.LogFiles, logEntry{S3Bucket: cfg.Bucket, S3Object: key, HashValue: hex.EncodeToString(sum[:]),
				HashAlgorithm: "SHA-256", NewestEventTime: fmtT(hi), OldestEventTime: fmtT(lo)})
			if oldest.IsZero() || lo.Before(oldest) {
				oldest = lo
			}
			if newest.IsZero() || hi.After(newest) {
				newest = hi
			}
			logKeys = append(logKeys, key)
		}
		if len(logKeys) > 0 {
			d.OldestEventTime, d.NewestEventTime = ptr(fmtT(oldest)), ptr(fmtT(newest))
		}
		if cfg.MutateDigest != nil {
			cfg.MutateDigest(i, d)
		}
		raw := marshalCT(t, d)
		sig := signDigest(t, cfg.SignKey(i), d, raw)
		key := d.DigestS3Object
		f.objects[key] = gztest.Gzip(t, raw)
		f.meta[key] = map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}
		sum := sha256.Sum256(raw)
		prevKey, prevHash, prevSig = key, hex.EncodeToString(sum[:]), sig
		f.digests = append(f.digests, key)
		f.logs = append(f.logs, logKeys)
		f.starts = append(f.starts, start)
		f.ends = append(f.ends, end)
		f.docs = append(f.docs, d)
		f.sigs = append(f.sigs, sig)
	}
	return f
}

// signDigest implements spec 3.5 independently of the package code.
func signDigest(t testing.TB, k *rsa.PrivateKey, d *digestDoc, raw []byte) string {
	sum := sha256.Sum256(raw)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	msg := d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	require.NoError(t, err)
	return hex.EncodeToString(sig)
}

func (f *fixture) options() Options {
	return Options{
		Bucket: f.cfg.Bucket, TrailARN: f.cfg.arn(), Prefix: f.cfg.Prefix, OrgID: f.cfg.OrgID,
		AccountID: f.cfg.Account, Region: f.cfg.Region,
		Start: f.starts[0], End: f.ends[len(f.ends)-1],
		PublicKeys: []PublicKey{NewPublicKey(&testKey().PublicKey)},
	}
}

func (f *fixture) fs() fstest.MapFS {
	m := fstest.MapFS{}
	for k, b := range f.objects {
		m[k] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	for k, md := range f.meta {
		b, err := json.Marshal(md)
		if err != nil {
			panic(err) // map[string]string always marshals
		}
		m[k+MetadataSuffix] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return m
}

// writeDir writes the bucket as dir/<bucket>/<key> with sidecars.
func (f *fixture) writeDir(t testing.TB, dir string) {
	t.Helper()
	for name, file := range f.fs() {
		p := filepath.Join(dir, f.cfg.Bucket, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, file.Data, 0o644))
	}
}

func (f *fixture) remove(key string) {
	delete(f.objects, key)
	delete(f.meta, key)
}

func (f *fixture) rename(from, to string) {
	f.objects[to] = f.objects[from]
	if m, ok := f.meta[from]; ok {
		f.meta[to] = m
	}
	f.remove(from)
}

// rewriteLog changes a log file's uncompressed content and re-gzips it.
func (f *fixture) rewriteLog(t testing.TB, key string, change func([]byte) []byte) {
	f.objects[key] = gztest.Gzip(t, change(gunzip(t, f.objects[key])))
}

// extraLog returns a new log key and gzip'd body delivered at when.
func (f *fixture) extraLog(t testing.TB, when time.Time) (string, []byte) {
	recs := []record{{EventVersion: "1.11", EventTime: fmtT(when.Add(-time.Minute)), EventSource: "orders.example.com",
		EventName: "DeleteOrder", AWSRegion: f.cfg.Region, EventID: f.uuid(), EventType: "AwsApiCall",
		RecipientAccountID: f.cfg.Account}}
	return f.layout.LogKey(when, f.unique()), gztest.Gzip(t, marshalCT(t, map[string]any{"Records": recs}))
}

func (f *fixture) allLogs() []string {
	var out []string
	for _, l := range f.logs {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

func flipHexChar(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return strings.ToLower(string(b))
}
