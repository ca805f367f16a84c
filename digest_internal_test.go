package trail

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateDigestGolden = flag.Bool("update-digest", false, "rewrite testdata/digest*.golden")

// fixedKey is a test-only RSA-2048 key kept in testdata so that signatures
// (PKCS#1 v1.5 is deterministic) can be pinned by golden files.
func fixedKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "digest-test-key.pem"))
	require.NoError(t, err)
	blk, _ := pem.Decode(raw)
	require.NotNil(t, blk)
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	require.NoError(t, err)
	return k
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateDigestGolden {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run Golden -update-digest to create it")
	assert.Equal(t, string(want), string(got))
}

func TestDigestGolden(t *testing.T) {
	key := fixedKey(t)
	fp := PublicKeyInfo(&key.PublicKey).Fingerprint
	t0 := time.Date(2025, 3, 1, 10, 7, 31, 0, time.UTC)
	logKey := LogFileKey("", "", "111122223333", "us-east-1", t0.Add(3*time.Minute), "a1B2c3D4e5F6g7H8")
	first := &Digest{
		Trail: "main", Bucket: "trail-bucket", AccountID: "111122223333", Region: "us-east-1", HomeRegion: "us-east-1",
		StartTime: t0, EndTime: t0.Add(time.Hour),
		LogFiles: []DigestLogFile{{Bucket: "trail-bucket", Key: logKey, SHA256: sha256.Sum256([]byte("log")),
			OldestEventTime: t0.Add(-2 * time.Minute), NewestEventTime: t0.Add(time.Minute)}},
	}
	first.Key = DigestKey("", "", "111122223333", "us-east-1", "main", "us-east-1", first.EndTime)
	require.NoError(t, first.sign(key, fp))
	second := &Digest{
		Trail: "main", Bucket: "trail-bucket", AccountID: "111122223333", Region: "us-east-1", HomeRegion: "us-east-1",
		StartTime: first.EndTime, EndTime: first.EndTime.Add(time.Hour), Previous: first.State(),
	}
	second.Key = DigestKey("", "", "111122223333", "us-east-1", "main", "us-east-1", second.EndTime)
	require.NoError(t, second.sign(key, fp))

	golden(t, "digest-starting.golden.json", first.JSON)
	golden(t, "digest-next.golden.json", second.JSON)
	golden(t, "digest-signatures.golden", []byte(first.Signature+"\n"+second.Signature+"\n"))

	// The chain fields link the second digest to the first.
	var d2 map[string]any
	require.NoError(t, json.Unmarshal(second.JSON, &d2))
	sum := sha256.Sum256(first.JSON)
	assert.Equal(t, hex.EncodeToString(sum[:]), d2["previousDigestHashValue"])
	assert.Equal(t, first.Signature, d2["previousDigestSignature"])
	assert.Equal(t, first.Key, d2["previousDigestS3Object"])
	assert.Equal(t, "2025-03-01T11:07:31Z", d2["digestStartTime"])
	assert.Equal(t, []any{}, d2["logFiles"])
	assert.Nil(t, d2["newestEventTime"])
	// '/' is escaped as in CloudTrail's digests.
	assert.Contains(t, string(first.JSON), `"digestS3Object":"AWSLogs\/111122223333\/CloudTrail-Digest\/us-east-1\/2025\/03\/01\/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20250301T110731Z.json.gz"`)
}

func TestSigningString(t *testing.T) {
	var h [32]byte
	h[0] = 0xab
	got := SigningString("2025-03-01T11:07:31Z", "b", "k/x.json.gz", h, "")
	assert.Equal(t, "2025-03-01T11:07:31Z\nb/k/x.json.gz\nab"+hex.EncodeToString(h[1:])+"\nnull", got)
	assert.Contains(t, SigningString("e", "b", "k", h, "00ff"), "\n00ff")
}

func TestDigestKey(t *testing.T) {
	end := time.Date(2023, 10, 15, 23, 4, 4, 0, time.UTC)
	cases := []struct{ prefix, org, want string }{
		{"", "", "AWSLogs/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json.gz"},
		{"p/q", "o-exampleorgid", "p/q/AWSLogs/o-exampleorgid/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json.gz"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, DigestKey(c.prefix, c.org, "327878933619", "ap-northeast-1", "llm-guard-trail", "us-west-2", end))
	}
}

func TestKeyRing(t *testing.T) {
	k1 := fixedKey(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ring, err := NewKeyRing(
		SigningKey{Signer: k1, NotBefore: t0, NotAfter: t0.Add(30 * 24 * time.Hour)},
		SigningKey{Signer: k2, NotBefore: t0.Add(29 * 24 * time.Hour), NotAfter: t0.Add(59 * 24 * time.Hour)},
	)
	require.NoError(t, err)
	i, ok := ring.signerAt(t0.Add(time.Hour))
	assert.True(t, ok)
	assert.Equal(t, 0, i)
	i, ok = ring.signerAt(t0.Add(29*24*time.Hour + time.Hour)) // overlap: the newer key wins
	assert.True(t, ok)
	assert.Equal(t, 1, i)
	_, ok = ring.signerAt(t0.Add(100 * 24 * time.Hour))
	assert.False(t, ok)
	assert.Len(t, ring.PublicKeys(t0, t0.Add(time.Hour)), 1)
	assert.Len(t, ring.PublicKeys(t0, t0.Add(40*24*time.Hour)), 2, "old keys stay listable")

	_, err = NewKeyRing()
	assert.Error(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, err = NewKeyRing(SigningKey{Signer: small})
	assert.ErrorContains(t, err, "at least 2048")
	_, err = NewKeyRing(SigningKey{Signer: k1, NotBefore: t0, NotAfter: t0})
	assert.Error(t, err)
}

func TestParseSigningKeyPEM(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "digest-test-key.pem"))
	require.NoError(t, err)
	k, err := ParseSigningKeyPEM(raw)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	k2, err := ParseSigningKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	require.NoError(t, err)
	assert.True(t, k.Equal(k2))
	_, err = ParseSigningKeyPEM([]byte("not pem"))
	assert.Error(t, err)
	_, err = ParseSigningKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))
	assert.Error(t, err)
}
