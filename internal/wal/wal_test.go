package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

type rec struct {
	idx     uint64
	payload string
}

func open(t *testing.T, dir string, seg int64) (*Log, []rec, []*CorruptError) {
	t.Helper()
	var got []rec
	l, damage, err := Open(dir, Options{SegmentSize: seg}, func(i uint64, p []byte) error {
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

func TestDamage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage edits the segment files (sorted by first index).
		damage      func(t *testing.T, segs []string)
		wantRecords []int
		wantLost    int64 // CorruptError.Records
		wantNext    uint64
	}{
		{
			name: "torn tail of the last segment",
			damage: func(t *testing.T, segs []string) {
				last := segs[len(segs)-1]
				fi, _ := os.Stat(last)
				os.Truncate(last, fi.Size()-3)
			},
			wantRecords: seq(0, 8), wantLost: -1, wantNext: 8,
		},
		{
			name: "garbage appended to the last segment",
			damage: func(t *testing.T, segs []string) {
				f, _ := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
				f.Write([]byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6})
				f.Close()
			},
			wantRecords: seq(0, 9), wantLost: -1, wantNext: 9,
		},
		{
			name: "flipped bit in a middle segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[1], segHeaderSize+HeaderSize+2)
			},
			// segments of 3 records: 0-2, 3-5 (damaged from its first), 6-8
			wantRecords: append(seq(0, 3), seq(6, 9)...), wantLost: 3, wantNext: 9,
		},
		{
			name: "flipped bit in the last record's checksum",
			damage: func(t *testing.T, segs []string) {
				last := segs[len(segs)-1]
				fi, _ := os.Stat(last)
				flip(t, last, fi.Size()-int64(len("record-8"))-4)
			},
			wantRecords: seq(0, 8), wantLost: -1, wantNext: 8,
		},
		{
			name: "bad header of a middle segment",
			damage: func(t *testing.T, segs []string) {
				flip(t, segs[1], 0)
			},
			wantRecords: append(seq(0, 3), seq(6, 9)...), wantLost: 3, wantNext: 9,
		},
		{
			name: "last segment created but header lost",
			damage: func(t *testing.T, segs []string) {
				os.WriteFile(filepath.Join(filepath.Dir(segs[0]), fmt.Sprintf("%020d.wal", 9)), []byte("trail"), 0o600)
			},
			wantRecords: seq(0, 9), wantLost: -1, wantNext: 9,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _, _ := open(t, dir, 64) // three records per segment
			for i := range 9 {
				appendN(t, l, i, 1)
			}
			l.Close()
			segs := segFiles(t, dir)
			if len(segs) != 3 {
				t.Fatalf("%d segments, want 3", len(segs))
			}
			tc.damage(t, segs)
			l2, got, damage := open(t, dir, 64)
			wantRecords(t, got, tc.wantRecords...)
			if len(damage) != 1 {
				t.Fatalf("damage reports %v, want one", damage)
			}
			d := damage[0]
			if !errors.Is(d, ErrCorrupt) || d.Records != tc.wantLost || d.Error() == "" {
				t.Fatalf("damage %#v: want Records %d", d, tc.wantLost)
			}
			if l2.NextIndex() != tc.wantNext {
				t.Fatalf("NextIndex %d, want %d", l2.NextIndex(), tc.wantNext)
			}
			// New records follow the last good one and survive a reopen.
			appendN(t, l2, int(tc.wantNext), 2)
			l2.Close()
			_, got, damage = open(t, dir, 64)
			want := append(append([]int(nil), tc.wantRecords...), int(tc.wantNext), int(tc.wantNext)+1)
			wantRecords(t, got, want...)
			for _, d := range damage {
				if d.Segment == filepath.Base(segs[len(segs)-1]) && tc.wantLost == -1 {
					t.Fatalf("torn tail reported again after it was cut: %v", d)
				}
			}
		})
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
	l, _, _ := open(t, dir, 64)
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
	_, got, _ = open(t, dir, 64)
	wantRecords(t, got, 6, 7, 8)
	if _, err := l.Append(AppendFrame(nil, []byte("x")), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(AppendFrame(nil, []byte("hello")))
	f.Add(AppendFrame(AppendFrame(nil, nil), []byte("x")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		off := 0
		for off < len(b) {
			p, n, err := DecodeFrame(b[off:])
			if err != nil {
				if n != 0 || p != nil {
					t.Fatalf("error %v with n=%d", err, n)
				}
				return
			}
			if n != HeaderSize+len(p) || n > len(b)-off {
				t.Fatalf("size %d for payload %d", n, len(p))
			}
			if re := AppendFrame(nil, p); !bytes.Equal(re, b[off:off+n]) {
				t.Fatalf("re-encoding differs")
			}
			off += n
		}
	})
}

// FuzzOpen opens a log whose only segment holds arbitrary bytes: Open must
// not panic, and every byte it does not return as records is reported.
func FuzzOpen(f *testing.F) {
	var seg []byte
	seg = append(seg, segMagic...)
	seg = append(seg, make([]byte, 8)...)
	seg = AppendFrame(seg, []byte("one"))
	f.Add(seg)
	f.Add(seg[:len(seg)-1])
	f.Add([]byte("trailwal"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.wal", 0)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		var read int
		l, damage, err := Open(dir, Options{}, func(_ uint64, p []byte) error {
			read += HeaderSize + len(p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		lost := int64(0)
		for _, d := range damage {
			lost += d.Bytes
		}
		hdr := min(len(b), segHeaderSize)
		if len(damage) == 0 && int64(read+hdr) != int64(len(b)) {
			t.Fatalf("read %d of %d bytes without a damage report", read+hdr, len(b))
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
	l, _, _ := open(t, dir, 64)
	for i := range 9 {
		appendN(t, l, i, 1)
	}
	l.Close()
	segs := segFiles(t, dir)
	flip(t, segs[1], segHeaderSize+HeaderSize+16+2) // second record of the middle segment
	l2, _, damage := open(t, dir, 64)
	if len(damage) != 1 || damage[0].Records != 2 {
		t.Fatalf("damage %v", damage)
	}
	var got []rec
	if err := l2.Read(0, 100, func(i uint64, p []byte) error {
		got = append(got, rec{i, string(p)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, got, 0, 1, 2, 3, 6, 7, 8)
}
