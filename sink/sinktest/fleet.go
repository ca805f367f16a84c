package sinktest

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailkit/trail"
)

// testDigestCreateOnly: storing a digest again with the same bytes
// succeeds; with other bytes it fails with trail.ErrConflict and the first
// digest stays.
func testDigestCreateOnly(t *testing.T, s trail.Sink) {
	ds, ok := s.(trail.DigestSink)
	if !ok {
		t.Skip("the sink stores no digests (no DeliverDigest)")
	}
	ctx := context.Background()
	k := trail.DigestKey("sinktest", "", account, region, "sinktest", region, time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC))
	mk := func(rec, sig string) *trail.Digest {
		lf := logFile(t, "x", record(rec))
		return &trail.Digest{Trail: "sinktest", Bucket: bucket, Key: k, Body: lf.Body, JSON: lf.JSON, Signature: sig}
	}
	first := mk("A", strings.Repeat("ab", 256))
	if err := ds.DeliverDigest(ctx, first); err != nil {
		t.Fatalf("DeliverDigest: %v", err)
	}
	if err := ds.DeliverDigest(ctx, first); err != nil {
		t.Fatalf("DeliverDigest of identical bytes again: %v, want success", err)
	}
	err := ds.DeliverDigest(ctx, mk("B", strings.Repeat("cd", 256)))
	if !errors.Is(err, trail.ErrConflict) || !errors.Is(err, trail.ErrPermanent) {
		t.Fatalf("DeliverDigest of other bytes at the same key: %v, want an error wrapping trail.ErrConflict and trail.ErrPermanent", err)
	}
	// Racing writers: exactly one of several different digests wins.
	k2 := trail.DigestKey("sinktest", "", account, region, "sinktest", region, time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			d := mk(string(rune('a'+i)), strings.Repeat("0"+string(rune('1'+i)), 256))
			d.Key = k2
			errs[i] = ds.DeliverDigest(ctx, d)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, trail.ErrConflict):
			t.Fatalf("racing DeliverDigest: %v, want nil or trail.ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d racing digest writes succeeded, want exactly 1", won, len(errs))
	}
	rd, ok := s.(trail.ObjectReader)
	if !ok {
		return
	}
	_, meta, err := rd.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if meta["signature"] != first.Signature {
		t.Fatal("a conflicting write replaced the stored digest's signature")
	}
}

// testFacts: a delivered log file's digest facts come back as metadata.
func testFacts(t *testing.T, s trail.Sink) {
	mr, ok := s.(trail.MetadataReader)
	if !ok {
		t.Skip("the sink cannot return metadata (no Metadata method)")
	}
	ctx := context.Background()
	f := logFile(t, key("F0000001"), record("F1"), record("F2"))
	f.SHA256 = sha256.Sum256(f.JSON)
	f.OldestEventTime = time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	f.NewestEventTime = time.Date(2026, 1, 1, 0, 4, 59, 0, time.UTC)
	f.Created = time.Date(2026, 1, 1, 0, 5, 0, 123456789, time.UTC)
	f.Instance = "sinktest-1"
	if err := s.Deliver(ctx, f); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	meta, err := mr.Metadata(ctx, f.Key)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	got, err := trail.ParseLogFileFacts(meta)
	if err != nil {
		t.Fatalf("ParseLogFileFacts(%v): %v", meta, err)
	}
	want := f.Facts()
	if got.SHA256 != want.SHA256 || !got.OldestEventTime.Equal(want.OldestEventTime) || !got.NewestEventTime.Equal(want.NewestEventTime) ||
		!got.Created.Equal(want.Created) || got.Instance != want.Instance {
		t.Fatalf("facts read back %+v, want %+v", got, want)
	}
	if _, err := mr.Metadata(ctx, key("F0000404")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Metadata of a missing key: %v, want fs.ErrNotExist", err)
	}
	if rd, ok := s.(trail.ObjectReader); ok {
		keys, err := rd.List(ctx, strings.TrimSuffix(f.Key, "F0000001.json.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0] != f.Key {
			t.Fatalf("List = %q, want only the log file (metadata is not an object)", keys)
		}
	}
}

// testLease: compare-and-swap semantics of trail.LeaseStore.
func testLease(t *testing.T, s trail.Sink) {
	ls, ok := s.(trail.LeaseStore)
	if !ok {
		t.Skip("the sink holds no leases (no ReadLease/WriteLease)")
	}
	ctx := context.Background()
	const k = "AWSLogs/111122223333/CloudTrail-Lease/us-east-1/sinktest.json"
	if _, _, err := ls.ReadLease(ctx, k); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadLease of a missing lease: %v, want fs.ErrNotExist", err)
	}
	v1, err := ls.WriteLease(ctx, k, []byte(`{"holder":"a"}`), "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := ls.WriteLease(ctx, k, []byte(`{"holder":"b"}`), ""); !errors.Is(err, trail.ErrConflict) {
		t.Fatalf("second create: %v, want trail.ErrConflict", err)
	}
	data, v, err := ls.ReadLease(ctx, k)
	if err != nil || string(data) != `{"holder":"a"}` || v != v1 {
		t.Fatalf("ReadLease = %q, %q, %v; want the first write, version %q", data, v, err, v1)
	}
	v2, err := ls.WriteLease(ctx, k, []byte(`{"holder":"a","n":2}`), v1)
	if err != nil {
		t.Fatalf("renew with the current version: %v", err)
	}
	if _, err := ls.WriteLease(ctx, k, []byte(`{"holder":"c"}`), v1); !errors.Is(err, trail.ErrConflict) {
		t.Fatalf("write with a stale version: %v, want trail.ErrConflict", err)
	}
	// Racing takeovers from the same version: exactly one wins.
	var wg sync.WaitGroup
	wins := make([]bool, 5)
	for i := range wins {
		wg.Go(func() {
			_, err := ls.WriteLease(ctx, k, []byte(`{"holder":"r`+string(rune('0'+i))+`"}`), v2)
			wins[i] = err == nil
			if err != nil && !errors.Is(err, trail.ErrConflict) {
				t.Errorf("racing takeover: %v", err)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d racing takeovers from one version succeeded, want 1", n)
	}
}
