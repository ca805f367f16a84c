package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"testing/fstest"
)

func FuzzParseDigest(f *testing.F) {
	fx := buildFixture(f, defaultConfig())
	for _, k := range fx.digests[:2] {
		f.Add(gunzip(f, fx.objects[k]))
	}
	f.Add([]byte(`{"digestPublicKeyFingerprint":1,"digestS3Bucket":null,"digestS3Object":[],"previousDigestSignature":{},"digestEndTime":"","digestStartTime":""}`))
	f.Add([]byte(`{"digestPublicKeyFingerprint":"","digestS3Bucket":"","digestS3Object":"","previousDigestSignature":null,"digestEndTime":"","digestStartTime":"","logFiles":[null,1,{"s3Bucket":2}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDigest(data)
		if err != nil {
			if d != nil {
				t.Fatal("digest and error")
			}
			return
		}
		_ = d.SigningData(data)
		_ = d.Starting()
		for _, lf := range d.LogFiles {
			_ = lf.Err
		}
	})
}

func FuzzParseLogFile(f *testing.F) {
	fx := buildFixture(f, defaultConfig())
	f.Add(gunzip(f, fx.objects[fx.logs[0][0]]))
	f.Add([]byte(`{"Records":[]}`))
	f.Add([]byte(`{"Records":[{"eventTime":"2026-01-01T00:00:00+02:00"},{"eventTime":"x"}]}`))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]},"Records":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := ParseLogFile(data)
		if err != nil {
			return
		}
		if lf.Records > 0 && lf.NewestEventTime.Before(lf.OldestEventTime) {
			t.Fatalf("newest %v before oldest %v", lf.NewestEventTime, lf.OldestEventTime)
		}
	})
}

func FuzzCheckLog(f *testing.F) {
	fx := buildFixture(f, defaultConfig())
	body := fx.objects[fx.logs[0][0]]
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Add(append(append([]byte{}, body...), body...))
	f.Add([]byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		res := checkLog(body)
		if res.formatErr == nil && len(res.hash) != 64 {
			t.Fatalf("no hash: %+v", res)
		}
	})
}

// FuzzValidateDigest replaces one digest of a valid bucket (and its
// signature metadata) by fuzzer input and checks Validate neither panics
// nor fails: every outcome must be a finding.
func FuzzValidateDigest(f *testing.F) {
	fx := buildFixture(f, defaultConfig())
	base := fx.fs()
	target := fx.digests[3]
	opts := fx.options()
	f.Add(gunzip(f, fx.objects[target]), true, fx.sigs[3])
	f.Add(fx.objects[target], false, fx.sigs[3])
	f.Add([]byte(`{"digestPublicKeyFingerprint":"`+testFingerprint(testKey())+`","digestS3Bucket":"audit-bucket","digestS3Object":"`+target+`","previousDigestSignature":null,"digestEndTime":"x","digestStartTime":"y","logFiles":[{"s3Bucket":"audit-bucket","s3Object":"../../etc/passwd","hashValue":"0"}]}`), true, "00")
	f.Fuzz(func(t *testing.T, data []byte, gzipIt bool, sig string) {
		m := maps.Clone(base)
		body := data
		if gzipIt {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			_, _ = w.Write(data)
			_ = w.Close()
			body = buf.Bytes()
		}
		m[target] = &fstest.MapFile{Data: body}
		meta, _ := json.Marshal(map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"})
		m[target+MetadataSuffix] = &fstest.MapFile{Data: meta}
		o := opts
		o.RequireEnd = len(data)%2 == 0 // --end's rules too, on half the inputs
		rep, err := Validate(context.Background(), FSStore(m), o)
		if err != nil {
			t.Fatalf("Validate failed: %v", err)
		}
		if err := rep.WriteText(&bytes.Buffer{}, &bytes.Buffer{}, TextOptions{Verbose: true, Extra: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseSidecar: sidecar metadata never depends on map order: parsing
// the same bytes twice gives the same map, and a key given twice (after
// normalization) is reported, never used.
func FuzzParseSidecar(f *testing.F) {
	for _, s := range []string{`{"signature":"ab","signature-algorithm":"SHA256withRSA"}`,
		`{"signature":"ab","x-amz-meta-signature":"cd"}`, `{"Signature":"ab","signature":"ab"}`, `[]`, `{"a":1,"b":{"c":null}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m1, err1 := parseSidecar(b)
		m2, err2 := parseSidecar(b)
		if (err1 == nil) != (err2 == nil) || len(m1) != len(m2) {
			t.Fatalf("not deterministic: %v %v", m1, m2)
		}
		for k, v := range m1 {
			if m2[k] != v {
				t.Fatalf("not deterministic at %q: %q vs %q", k, v, m2[k])
			}
		}
		if amb := m1[AmbiguousMetadataKey]; amb != "" {
			for _, k := range strings.Split(amb, ",") {
				if _, used := m1[k]; used {
					t.Fatalf("ambiguous key %q used", k)
				}
			}
		}
	})
}
