// Package sinktest is a conformance kit for trail.Sink implementations, in
// the spirit of testing/slogtest and gocloud's drivertest: a third-party
// sink runs the same checks as the sinks of this module.
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) trail.Sink { return mysink.New(t.TempDir()) })
//	}
//
// Run checks Deliver (the file is stored at its key; redelivery overwrites,
// never duplicates; a cancelled context is an error), and, for the optional
// interfaces the sink implements, DeliverDigest (body and the signature
// metadata stored) and ObjectReader (List in lexicographic order under a
// prefix, Get of bodies and metadata, fs.ErrNotExist for a missing key). A
// sink that also reads back is then validated end to end: a recorder writes a
// digest chain through it and package verify must find it intact.
package sinktest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail/internal/testkeys"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/verify"
)

// NewSink returns a fresh, empty sink for one subtest.
type NewSink func(t *testing.T) trail.Sink

// Run runs the conformance checks against sinks made by newSink.
func Run(t *testing.T, newSink NewSink) {
	t.Helper()
	t.Run("Deliver", func(t *testing.T) { testDeliver(t, newSink(t)) })
	t.Run("Redeliver", func(t *testing.T) { testRedeliver(t, newSink(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newSink(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newSink(t)) })
	t.Run("Digest", func(t *testing.T) { testDigest(t, newSink(t)) })
	t.Run("Reader", func(t *testing.T) { testReader(t, newSink(t)) })
	t.Run("DigestCreateOnly", func(t *testing.T) { testDigestCreateOnly(t, newSink(t)) })
	t.Run("Facts", func(t *testing.T) { testFacts(t, newSink(t)) })
	t.Run("Lease", func(t *testing.T) { testLease(t, newSink(t)) })
	t.Run("RecorderChainVerifies", func(t *testing.T) { testRecorder(t, newSink(t)) })
}

const (
	account = "111122223333"
	region  = "us-east-1"
	bucket  = "sinktest-bucket"
)

// logFile builds a small valid log file for key with the given records.
func logFile(t *testing.T, key string, records ...string) *trail.LogFile {
	t.Helper()
	body := []byte(`{"Records":[` + strings.Join(records, ",") + `]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f := &trail.LogFile{Trail: "sinktest", Bucket: bucket, Key: key, AccountID: account, Region: region,
		Body: gz.Bytes(), JSON: body, Created: time.Now().UTC()}
	start := len(`{"Records":[`)
	for _, r := range records {
		f.Records = append(f.Records, body[start:start+len(r)])
		start += len(r) + 1
	}
	return f
}

func record(name string) string {
	return `{"eventVersion":"1.11","userIdentity":{},"eventTime":"2026-01-01T00:00:00Z","eventSource":"sinktest.example.com","eventName":"` +
		name + `","awsRegion":"us-east-1","requestParameters":null,"responseElements":null,"eventID":"00000000-0000-4000-8000-000000000000","eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`
}

func key(n string) string {
	return trail.LogFileKey("sinktest", "", account, region, time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC), "Sinktest"+n)
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("stored body is not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("stored body: %v", err)
	}
	return out
}

func testDeliver(t *testing.T, s trail.Sink) {
	ctx := context.Background()
	f := logFile(t, key("0000000A"), record("A"), record("B"))
	if err := s.Deliver(ctx, f); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	rd, ok := s.(trail.ObjectReader)
	if !ok {
		return
	}
	body, _, err := rd.Get(ctx, f.Key)
	if err != nil {
		t.Fatalf("Get after Deliver: %v", err)
	}
	if got := gunzip(t, body); !bytes.Equal(got, f.JSON) {
		t.Fatalf("stored file decompresses to %q, want %q", got, f.JSON)
	}
}

func testRedeliver(t *testing.T, s trail.Sink) {
	ctx := context.Background()
	k := key("0000000B")
	for _, name := range []string{"first", "second"} {
		if err := s.Deliver(ctx, logFile(t, k, record(name))); err != nil {
			t.Fatalf("Deliver %s: %v", name, err)
		}
	}
	rd, ok := s.(trail.ObjectReader)
	if !ok {
		return
	}
	keys, err := rd.List(ctx, "sinktest/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if n := countOf(keys, k); n != 1 {
		t.Fatalf("key %s listed %d times after redelivery, want 1", k, n)
	}
	body, _, err := rd.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := gunzip(t, body); !bytes.Contains(got, []byte(`"second"`)) {
		t.Fatalf("redelivery did not overwrite: %s", got)
	}
}

func countOf(keys []string, k string) int {
	n := 0
	for _, x := range keys {
		if x == k {
			n++
		}
	}
	return n
}

func testCancelled(t *testing.T, s trail.Sink) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Deliver(ctx, logFile(t, key("0000000C"), record("C"))); err == nil {
		t.Fatal("Deliver with a cancelled context returned nil")
	}
}

func testConcurrent(t *testing.T, s trail.Sink) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Deliver(ctx, logFile(t, key("Conc"+string(rune('A'+i))+"xxxx"), record("C")))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Deliver: %v", err)
		}
	}
	if rd, ok := s.(trail.ObjectReader); ok {
		keys, err := rd.List(ctx, "sinktest/")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(keys) != 16 {
			t.Fatalf("List after 16 concurrent deliveries: %d keys", len(keys))
		}
	}
}

func signingKey(t testing.TB) *rsa.PrivateKey { return testkeys.RSA(t) }

func testDigest(t *testing.T, s trail.Sink) {
	ds, ok := s.(trail.DigestSink)
	if !ok {
		t.Skip("the sink stores no digests (no DeliverDigest)")
	}
	ctx := context.Background()
	d := &trail.Digest{Trail: "sinktest", Bucket: bucket,
		Key:  trail.DigestKey("sinktest", "", account, region, "sinktest", region, time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)),
		Body: logFile(t, "x", record("D")).Body, JSON: []byte(`{"Records":[` + record("D") + `]}`), Signature: strings.Repeat("ab", 256)}
	if err := ds.DeliverDigest(ctx, d); err != nil {
		t.Fatalf("DeliverDigest: %v", err)
	}
	rd, ok := s.(trail.ObjectReader)
	if !ok {
		return
	}
	body, meta, err := rd.Get(ctx, d.Key)
	if err != nil {
		t.Fatalf("Get digest: %v", err)
	}
	if !bytes.Equal(gunzip(t, body), d.JSON) {
		t.Fatal("digest body changed in storage")
	}
	for k, v := range d.Metadata() {
		if meta[k] != v {
			t.Fatalf("digest metadata %q = %q, want %q (keys must stay lower-case)", k, meta[k], v)
		}
	}
}

func testReader(t *testing.T, s trail.Sink) {
	rd, ok := s.(trail.ObjectReader)
	if !ok {
		t.Skip("the sink cannot read back (no List/Get)")
	}
	ctx := context.Background()
	want := []string{key("R0000001"), key("R0000002"), key("R0000003")}
	for _, k := range slices.Backward(want) {
		if err := s.Deliver(ctx, logFile(t, k, record("R"))); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	if err := s.Deliver(ctx, logFile(t, "other/AWSLogs/x.json.gz", record("O"))); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got, err := rd.List(ctx, "sinktest/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(sinktest/) = %q, want %q (sorted, only under the prefix)", got, want)
	}
	if got, err := rd.List(ctx, "nothing-here/"); err != nil || len(got) != 0 {
		t.Fatalf("List of an empty prefix = %q, %v; want nothing, nil", got, err)
	}
	if _, _, err := rd.Get(ctx, key("Missing1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing key: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

// testRecorder records through the sink with validation and verifies the
// result with package verify (only for sinks that store digests and read
// back).
func testRecorder(t *testing.T, s trail.Sink) {
	rd, ok := s.(verify.Store)
	if _, isDigest := s.(trail.DigestSink); !ok || !isDigest {
		t.Skip("needs DeliverDigest, List and Get")
	}
	ctx := context.Background()
	k := signingKey(t)
	start := time.Now().UTC().Add(-time.Second)
	rec, err := trail.New(trail.Config{AccountID: account, Region: region, AuditSource: "-", Trails: []trail.Trail{{
		Name: "sinktest", Bucket: bucket, Prefix: "sinktest-chain", Sinks: []trail.Sink{s},
		Validation: &trail.Validation{Signer: k, Period: time.Hour},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := rec.Record(ctx, &trail.Event{EventSource: "sinktest.example.com", EventName: "Op" + string(rune('A'+i%3))}); err != nil {
			t.Fatal(err)
		}
		if i%7 == 6 {
			if err := rec.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Validate(ctx, rd, verify.Options{Bucket: bucket, Prefix: "sinktest-chain",
		TrailARN: "arn:aws:cloudtrail:" + region + ":" + account + ":trail/sinktest", Start: start, End: time.Now().UTC().Add(2 * time.Second),
		PublicKeys: []verify.PublicKey{verify.NewPublicKey(&k.PublicKey)}})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK() || rep.Digests.Valid < 1 || rep.Logs.Valid < 3 {
		t.Fatalf("verify: %d/%d digests, %d/%d logs valid; findings %v", rep.Digests.Valid, rep.Digests.Total,
			rep.Logs.Valid, rep.Logs.Total, rep.Findings)
	}
}
