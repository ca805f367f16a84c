package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// prealloc makes the tests' logs preallocate their segments
// (TestPreallocated).
var prealloc bool

// TestPreallocated runs the tests again on preallocated segments, whose
// unused ends are zeros.
func TestPreallocated(t *testing.T) {
	prealloc = true
	defer func() { prealloc = false }()
	t.Run("RoundTrip", TestRoundTrip)
	t.Run("Damage", TestDamage)
	t.Run("FlipEveryByte", TestFlipEveryByte)
	t.Run("TruncateFrontAndRead", TestTruncateFrontAndRead)
	t.Run("ReadSkipsDamage", TestReadSkipsDamage)
	t.Run("SyncWhileAppending", TestSyncWhileAppending)
}

type rec struct {
	idx     uint64
	payload string
}

func open(t *testing.T, dir string, seg int64) (*Log, []rec, []*CorruptError) {
	t.Helper()
	var got []rec
	l, damage, err := Open(dir, Options{SegmentSize: seg, Preallocate: prealloc}, func(i uint64, p []byte) error {
		got = append(got, rec{i, string(p)})
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, got, damage
}

func appendN(t *testing.T, l *Log, from, n int) {
	t.Helper()
	var buf []byte
	for i := from; i < from+n; i++ {
		buf = AppendFrame(buf, fmt.Appendf(nil, "record-%d", i))
	}
	first, err := l.Append(buf, n)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if first != uint64(from) {
		t.Fatalf("Append: first index %d, want %d", first, from)
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func wantRecords(t *testing.T, got []rec, idx ...int) {
	t.Helper()
	if len(got) != len(idx) {
		t.Fatalf("read %d records, want %d: %v", len(got), len(idx), got)
	}
	for k, i := range idx {
		if got[k].idx != uint64(i) || got[k].payload != fmt.Sprintf("record-%d", i) {
			t.Fatalf("record %d = %v, want index %d", k, got[k], i)
		}
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seg      int64
		groups   []int
		wantSegs int
	}{
		{"one segment", 0, []int{1, 10, 100}, 1},
		{"many segments", 64, []int{3, 3, 3, 3, 3}, 5},
		{"empty", 0, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, got, damage := open(t, dir, tc.seg)
			if len(got) != 0 || len(damage) != 0 {
				t.Fatalf("new log: records %v damage %v", got, damage)
			}
			n := 0
			for _, g := range tc.groups {
				appendN(t, l, n, g)
				n += g
			}
			if l.NextIndex() != uint64(n) {
				t.Fatalf("NextIndex %d, want %d", l.NextIndex(), n)
			}
			l.Close()
			if s := segFiles(t, dir); len(s) != tc.wantSegs {
				t.Fatalf("%d segments, want %d", len(s), tc.wantSegs)
			}
			l2, got, damage := open(t, dir, tc.seg)
			if len(damage) != 0 {
				t.Fatalf("damage: %v", damage)
			}
			wantRecords(t, got, seq(0, n)...)
			appendN(t, l2, n, 2)
			l2.Close()
			_, got, _ = open(t, dir, tc.seg)
			wantRecords(t, got, seq(0, n+2)...)
		})
	}
}

// segSize makes segments of three records ("record-N", 8 bytes each).
const segSize = segHeaderSize + 3*(HeaderSize+8)

func TestDamage(t *testing.T) {
	const frame = HeaderSize + 8 // one record's frame
	for _, tc := range []struct {
		name string
		// damage edits the segment files (sorted by first index).
		damage      func(t *testing.T, segs []string)
		wantRecords []int
		wantFirst   uint64 // CorruptError.First
		wantLost    int64  // CorruptError.Records
		wantResumed bool
		wantNext    uint64
	}{
		{
			name: "torn tail of the last segment",
			damage: func(t *testing.T, segs []string) {
				last := segs[len(segs)-1]
				fi, _ := os.Stat(last)
				os.Truncate(last, fi.Size()-3)
			},
			wantRecords: seq(0, 8), wantFirst: 8, wantLost: -1, wantNext: 8,
		},
		{
			name: "garbage appended to the last segment",
			damage: func(t *testing.T, segs []string) {
				f, _ := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
				f.Write([]byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6})
				f.Close()
			},
			wantRecords: seq(0, 9), wantFirst: 9, wantLost: -1, wantNext: 9,
		},
		{
			name: "flipped bit in the payload of a middle segment's first record",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[1], segHeaderSize+HeaderSize+2)
			},
			// segments of 3 records: 0-2, 3-5 (record 3 damaged), 6-8
			wantRecords: append(seq(0, 3), seq(4, 9)...), wantFirst: 3, wantLost: 1, wantResumed: true, wantNext: 9,
		},
		{
			name: "flipped bit in the length of a record in the last segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[2], segHeaderSize+frame+1)
			},
			wantRecords: append(seq(0, 7), 8), wantFirst: 7, wantLost: 1, wantResumed: true, wantNext: 9,
		},
		{
			name: "flipped bit in the index of a record in the last segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[2], segHeaderSize+frame+8)
			},
			wantRecords: append(seq(0, 7), 8), wantFirst: 7, wantLost: 1, wantResumed: true, wantNext: 9,
		},
		{
			name: "flipped bit in the last record's checksum",
			damage: func(t *testing.T, segs []string) {
				last := segs[len(segs)-1]
				fi, _ := os.Stat(last)
				flip(t, last, fi.Size()-frame+4)
			},
			wantRecords: seq(0, 8), wantFirst: 8, wantLost: -1, wantNext: 8,
		},
		{
			name: "last record of a middle segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[1], segHeaderSize+2*frame+HeaderSize)
			},
			wantRecords: append(seq(0, 5), seq(6, 9)...), wantFirst: 5, wantLost: 1, wantNext: 9,
		},
		{
			name: "bad header of a middle segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[1], 0)
			},
			wantRecords: seq(0, 9), wantFirst: 3, wantLost: 0, wantResumed: true, wantNext: 9,
		},
		{
			name: "bad header of the last segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[2], 9)
			},
			wantRecords: seq(0, 9), wantFirst: 6, wantLost: 0, wantResumed: true, wantNext: 9,
		},
		{
			name: "last segment created but header lost",
			damage: func(t *testing.T, segs []string) {
				os.WriteFile(filepath.Join(filepath.Dir(segs[0]), fmt.Sprintf("%020d.wal", 9)), []byte("trail"), 0o600)
			},
			wantRecords: seq(0, 9), wantFirst: 9, wantLost: -1, wantNext: 9,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _, _ := open(t, dir, segSize) // three records per segment
			for i := range 9 {
				appendN(t, l, i, 1)
			}
			l.Close()
			segs := segFiles(t, dir)
			if len(segs) != 3 {
				t.Fatalf("%d segments, want 3", len(segs))
			}
			tc.damage(t, segs)
			l2, got, damage := open(t, dir, segSize)
			wantRecords(t, got, tc.wantRecords...)
			if len(damage) != 1 {
				t.Fatalf("damage reports %v, want one", damage)
			}
			d := damage[0]
			if !errors.Is(d, ErrCorrupt) || d.Records != tc.wantLost || d.First != tc.wantFirst || d.Resumed != tc.wantResumed || d.Error() == "" {
				t.Fatalf("damage %#v: want First %d Records %d Resumed %v", d, tc.wantFirst, tc.wantLost, tc.wantResumed)
			}
			if l2.NextIndex() != tc.wantNext {
				t.Fatalf("NextIndex %d, want %d", l2.NextIndex(), tc.wantNext)
			}
			// Read steps over the damage as Open did.
			var read []rec
			if err := l2.Read(0, 100, func(i uint64, p []byte) error {
				read = append(read, rec{i, string(p)})
				return nil
			}); err != nil {
				t.Fatalf("Read: %v", err)
			}
			wantRecords(t, read, tc.wantRecords...)
			// New records follow the last good one and survive a reopen.
			appendN(t, l2, int(tc.wantNext), 2)
			l2.Close()
			_, got, damage = open(t, dir, segSize)
			want := append(append([]int(nil), tc.wantRecords...), int(tc.wantNext), int(tc.wantNext)+1)
			wantRecords(t, got, want...)
			for _, d := range damage {
				if d.Segment == filepath.Base(segs[len(segs)-1]) && (tc.wantLost == -1 || d.Reason == "bad segment header") {
					t.Fatalf("damage reported again after it was repaired: %v", d)
				}
			}
		})
	}
}

// TestFlipEveryByte flips a bit at every offset of a log (records of
// varied sizes, two segments): Open never loses a record outside the frame
// the flipped bit is in, and reports exactly the bytes it did not read.
func TestFlipEveryByte(t *testing.T) {
	dir := t.TempDir()
	var payloads [][]byte
	for i := range 10 {
		payloads = append(payloads, bytes.Repeat([]byte{'a' + byte(i)}, 1+i*7))
	}
	l, _, _ := open(t, dir, 200)
	for _, p := range payloads {
		if _, err := l.Append(AppendFrame(nil, p), 1); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	segs := segFiles(t, dir)
	if len(segs) < 2 {
		t.Fatalf("%d segments, want at least 2", len(segs))
	}
	orig := map[string][]byte{}
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		orig[s] = b
	}
	// frameOf maps a segment's byte to the index of the record whose frame
	// holds it (-1 for the segment header).
	frameOf := func(seg string, off int) int {
		b := orig[seg]
		if off < segHeaderSize {
			return -1
		}
		pos := segHeaderSize
		for pos < len(b) {
			_, idx, n, err := DecodeFrame(b[pos:])
			if err != nil && allZero(b[pos:]) {
				return -2 // the zeroed end of a preallocated segment
			}
			if err != nil {
				t.Fatalf("intact segment %s: %v", seg, err)
			}
			if off < pos+n {
				return int(idx)
			}
			pos += n
		}
		t.Fatalf("offset %d past the end of %s", off, seg)
		return 0
	}
	for _, seg := range segs {
		for off := range orig[seg] {
			for _, s := range segs {
				if err := os.WriteFile(s, orig[s], 0o600); err != nil {
					t.Fatal(err)
				}
			}
			b := bytes.Clone(orig[seg])
			b[off] ^= 1 << (off % 8)
			if err := os.WriteFile(seg, b, 0o600); err != nil {
				t.Fatal(err)
			}
			hit := frameOf(seg, off)
			var got []int
			l, damage, err := Open(dir, Options{SegmentSize: 200, Preallocate: prealloc}, func(i uint64, p []byte) error {
				if !bytes.Equal(p, payloads[i]) {
					t.Fatalf("flip at %s:%d: record %d reads %q", filepath.Base(seg), off, i, p)
				}
				got = append(got, int(i))
				return nil
			})
			if err != nil {
				t.Fatalf("flip at %s:%d: Open: %v", filepath.Base(seg), off, err)
			}
			l.Close()
			var want []int
			for i := range payloads {
				if i != hit {
					want = append(want, i)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("flip at %s:%d (record %d): read %v, want %v", filepath.Base(seg), off, hit, got, want)
			}
			if len(damage) != 1 || damage[0].Offset > int64(off) || damage[0].Offset+max(damage[0].Bytes, 1) <= int64(off) {
				t.Fatalf("flip at %s:%d: damage %v", filepath.Base(seg), off, damage)
			}
			if d := damage[0]; hit >= 0 && (d.First != uint64(hit) || (d.Records != 1 && d.Records != -1)) ||
				hit == -2 && d.Records > 0 {
				t.Fatalf("flip at %s:%d: damage %#v, want record %d", filepath.Base(seg), off, d, hit)
			}
		}
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTruncateFrontAndRead(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, segSize)
	for i := range 9 {
		appendN(t, l, i, 1)
	}
	size := l.Size()
	for _, tc := range []struct {
		name      string
		index     uint64
		wantFirst uint64
	}{
		{"inside the first segment keeps it", 2, 0},
		{"first of the second segment frees the first", 3, 3},
		{"inside the third", 7, 6},
		{"past the end keeps the active segment", 100, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.TruncateFront(tc.index); err != nil {
				t.Fatal(err)
			}
			if l.FirstIndex() != tc.wantFirst {
				t.Fatalf("FirstIndex %d, want %d", l.FirstIndex(), tc.wantFirst)
			}
		})
	}
	if l.Size() >= size {
		t.Fatalf("Size %d not below %d", l.Size(), size)
	}
	var got []rec
	if err := l.Read(7, 9, func(i uint64, p []byte) error {
		got = append(got, rec{i, string(p)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, got, 7, 8)
	l.Close()
	_, got, _ = open(t, dir, segSize)
	wantRecords(t, got, 6, 7, 8)
	if _, err := l.Append(AppendFrame(nil, []byte("x")), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	one := AppendFrame(nil, []byte("hello"))
	if err := stamp(one, 1, 7); err != nil {
		f.Fatal(err)
	}
	f.Add(one)
	f.Add(AppendFrame(AppendFrame(nil, nil), []byte("x")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		off := 0
		for off < len(b) {
			p, idx, n, err := DecodeFrame(b[off:])
			if err != nil {
				if n != 0 || p != nil {
					t.Fatalf("error %v with n=%d", err, n)
				}
				return
			}
			if n != HeaderSize+len(p) || n > len(b)-off {
				t.Fatalf("size %d for payload %d", n, len(p))
			}
			re := AppendFrame(nil, p)
			if err := stamp(re, 1, idx); err != nil || !bytes.Equal(re, b[off:off+n]) {
				t.Fatalf("re-encoding differs (%v)", err)
			}
			off += n
		}
	})
}

// FuzzOpen opens a log whose only segment holds arbitrary bytes: Open must
// not panic, every byte is either read as a record or reported damaged, the
// records come in index order, and the log takes appends afterwards.
func FuzzOpen(f *testing.F) {
	seg := segHeader(0)
	var frames []byte
	for _, p := range []string{"one", "two", "three"} {
		frames = AppendFrame(frames, []byte(p))
	}
	if err := stamp(frames, 3, 0); err != nil {
		f.Fatal(err)
	}
	seg = append(seg, frames...)
	f.Add(seg)
	f.Add(seg[:len(seg)-1])
	flipped := bytes.Clone(seg)
	flipped[segHeaderSize+HeaderSize+1] ^= 4
	f.Add(flipped)
	f.Add([]byte(segMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.wal", 0)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		var read int
		next := uint64(0)
		l, damage, err := Open(dir, Options{}, func(i uint64, p []byte) error {
			if i < next {
				t.Fatalf("record %d after %d", i, next)
			}
			next = i + 1
			read += HeaderSize + len(p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accounted := int64(read)
		header := len(b) >= segHeaderSize
		for _, d := range damage {
			accounted += d.Bytes
			if d.Reason == "bad segment header" {
				header = false
			}
		}
		if header {
			accounted += segHeaderSize
		}
		if accounted > int64(len(b)) || !allZero(b[accounted:]) {
			t.Fatalf("%d of %d bytes read or reported, and the rest not a zeroed end (damage %v)", accounted, len(b), damage)
		}
		if l.NextIndex() < next {
			t.Fatalf("NextIndex %d before %d", l.NextIndex(), next)
		}
		if _, err := l.Append(AppendFrame(nil, []byte("after")), 1); err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
	})
}

func TestOneLogPerDirectory(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, 0)
	_, _, err := Open(dir, Options{}, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	l.Close()
	l2, _, _ := open(t, dir, 0)
	l2.Close()
}

func TestReadSkipsDamage(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, segSize)
	for i := range 9 {
		appendN(t, l, i, 1)
	}
	l.Close()
	segs := segFiles(t, dir)
	flip(t, segs[1], segHeaderSize+2*HeaderSize+8+2) // second record of the middle segment
	l2, _, damage := open(t, dir, segSize)
	if len(damage) != 1 || damage[0].Records != 1 || damage[0].First != 4 {
		t.Fatalf("damage %v", damage)
	}
	var got []rec
	if err := l2.Read(0, 100, func(i uint64, p []byte) error {
		got = append(got, rec{i, string(p)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, got, 0, 1, 2, 3, 5, 6, 7, 8)
}

// TestSyncWhileAppending: Syncs run without holding the log, while appends
// go on and roll over to new segments; every record survives a reopen.
func TestSyncWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, segSize)
	stop := make(chan struct{})
	synced := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				synced <- nil
				return
			default:
			}
			if err := l.Sync(); err != nil {
				synced <- err
				return
			}
		}
	}()
	const n = 300
	for i := range n {
		if _, err := l.Append(AppendFrame(nil, fmt.Appendf(nil, "record-%d", i)), 1); err != nil {
			t.Fatal(err)
		}
		if l.Size() <= 0 {
			t.Fatal("Size not positive")
		}
	}
	close(stop)
	if err := <-synced; err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if l.Syncs() == 0 {
		t.Fatal("no Syncs counted")
	}
	l.Close()
	_, got, damage := open(t, dir, segSize)
	if len(damage) != 0 {
		t.Fatalf("damage %v", damage)
	}
	wantRecords(t, got, seq(0, n)...)
}

// TestPreallocatedSegments: with Preallocate, every segment after the first
// is taken from a zeroed spare of SegmentSize bytes (records overwrite its
// zeros), a spare waits for the next, and a reopen reads the records and
// no damage in the zeroed ends.
func TestPreallocatedSegments(t *testing.T) {
	dir := t.TempDir()
	var got []rec
	l, _, err := Open(dir, Options{SegmentSize: segSize, Preallocate: true}, func(i uint64, p []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		appendN(t, l, i, 1)
	}
	segs := segFiles(t, dir)
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3", len(segs))
	}
	for _, s := range segs[1:] {
		if fi, err := os.Stat(s); err != nil || fi.Size() != segSize {
			t.Fatalf("segment %s: %v, size %d, want %d", s, err, fi.Size(), segSize)
		}
	}
	if l.Size() >= 3*segSize {
		t.Fatalf("Size %d counts the zeroed ends", l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, spareName)); err != nil {
		t.Fatalf("spare: %v", err)
	}
	l, got, damage := open(t, dir, segSize)
	if len(damage) != 0 {
		t.Fatalf("damage %v", damage)
	}
	wantRecords(t, got, seq(0, 8)...)
	appendN(t, l, 8, 3)
	l.Close()
	_, got, _ = open(t, dir, segSize)
	wantRecords(t, got, seq(0, 11)...)
}
