// Package wal is the recorder's write-ahead log: numbered records in segment
// files, each record framed by its length and a CRC-32C checksum.
//
// # Layout
//
// A log is a directory of segment files named by the index of their first
// record (%020d.wal). A segment starts with a 16-byte header (the magic
// "trailwal" and the first index, little-endian) followed by frames:
//
//	uint32 length of payload (little-endian)
//	uint32 CRC-32C (Castagnoli) of the length bytes and the payload
//	payload
//
// Record indexes are consecutive across segments; a record never spans two
// segments.
//
// # Durability
//
// The log has one writer at a time (its methods are safe for concurrent use;
// they serialize on a mutex). Append hands a whole group of frames to the
// operating system in one write; Sync makes everything appended so far
// durable (fdatasync of the active segment). Group commit is the caller's
// pattern: collect the records that arrived meanwhile, Append them together,
// Sync once, then acknowledge all of them.
//
// # Damage
//
// Open reads every segment and checks every frame. A frame whose checksum or
// length does not hold ends its segment: the rest of that segment is
// reported as a *CorruptError (wrapping ErrCorrupt) with the byte count and,
// when a later segment tells, the number of records lost. A torn tail of the
// last segment (a crash during a write) is reported the same way and cut
// off, so that new records follow the last good one. Nothing is dropped
// without a report, and bad input never panics.
package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrCorrupt is wrapped by every *CorruptError.
var ErrCorrupt = errors.New("wal: corrupt log")

// ErrLocked is returned by Open when another open log (in this process or
// another) holds the directory.
var ErrLocked = errors.New("wal: directory in use by another log")

// ErrClosed is returned by methods of a closed log.
var ErrClosed = errors.New("wal: log closed")

// MaxRecord is the largest payload a frame may carry (64 MiB). A decoded
// length above it is treated as corruption.
const MaxRecord = 64 << 20

// HeaderSize is the size of a frame header.
const HeaderSize = 8

const (
	segHeaderSize = 16
	segMagic      = "trailwal"
	segSuffix     = ".wal"
	// DefaultSegmentSize is the size at which Append starts a new segment.
	DefaultSegmentSize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CorruptError reports damaged bytes found by Open.
type CorruptError struct {
	Segment string // file name of the segment
	Offset  int64  // where the damage starts
	Bytes   int64  // bytes from Offset to the end of the segment, not read
	// Records is the number of records lost, when a later segment's first
	// index tells it; -1 when unknown (a torn tail of the last segment,
	// which usually holds one partly written group).
	Records int64
	Reason  string
}

// Error implements the error interface.
func (e *CorruptError) Error() string {
	n := "an unknown number of records"
	if e.Records >= 0 {
		n = strconv.FormatInt(e.Records, 10) + " records"
	}
	return fmt.Sprintf("wal: segment %s: %s at offset %d: %d bytes (%s) cannot be read", e.Segment, e.Reason, e.Offset, e.Bytes, n)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// AppendFrame appends payload framed (length, CRC-32C, payload) to dst.
func AppendFrame(dst, payload []byte) []byte {
	off := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	dst = append(dst, payload...)
	SealFrame(dst[off:])
	return dst
}

// SealFrame fills in the header of frame, whose payload follows a reserved
// HeaderSize bytes: callers that encode the payload in place reserve the
// header, append the payload, and seal.
func SealFrame(frame []byte) {
	n := len(frame) - HeaderSize
	binary.LittleEndian.PutUint32(frame[0:4], uint32(n))
	c := crc32.Update(0, castagnoli, frame[0:4])
	c = crc32.Update(c, castagnoli, frame[HeaderSize:])
	binary.LittleEndian.PutUint32(frame[4:8], c)
}

// DecodeFrame decodes the frame at the start of b: its payload (a sub-slice
// of b) and the frame's total size. io.ErrUnexpectedEOF means b ends inside
// the frame; any other error means the frame is damaged.
func DecodeFrame(b []byte) (payload []byte, size int, err error) {
	if len(b) < HeaderSize {
		return nil, 0, io.ErrUnexpectedEOF
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n > MaxRecord {
		return nil, 0, fmt.Errorf("record length %d over the %d-byte limit", n, MaxRecord)
	}
	if uint64(len(b)-HeaderSize) < uint64(n) {
		return nil, 0, io.ErrUnexpectedEOF
	}
	end := HeaderSize + int(n)
	c := crc32.Update(0, castagnoli, b[0:4])
	c = crc32.Update(c, castagnoli, b[HeaderSize:end])
	if c != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, errors.New("checksum mismatch")
	}
	return b[HeaderSize:end:end], end, nil
}

// Options configure a log.
type Options struct {
	// SegmentSize is the size at which a new segment starts (default
	// DefaultSegmentSize). Segments are the unit of TruncateFront.
	SegmentSize int64
}

type segment struct {
	first uint64 // index of its first record
	name  string
	size  int64
}

// Log is an open write-ahead log.
type Log struct {
	mu     sync.Mutex
	dir    string
	opts   Options
	segs   []segment // in index order; the last is active
	f      *os.File  // active segment, opened for appending
	next   uint64    // index of the next record
	total  int64     // bytes of all segments
	dirty  bool      // appended since the last Sync
	err    error     // sticky write error
	closed bool
	lock   *os.File // holds the directory's lock
}

// Open opens (creating if needed) the log in dir and calls fn for every
// intact record, in index order. fn's payload is valid only during the call.
// Damage is reported in the returned errors (each a *CorruptError; see the
// package comment) while the log is still opened; err is for failures that
// leave no log (I/O errors, an error from fn).
func Open(dir string, opts Options, fn func(index uint64, payload []byte) error) (l *Log, damage []*CorruptError, err error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("wal: %w", err)
	}
	names, err := listSegments(dir)
	if err != nil {
		return nil, nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	l = &Log{dir: dir, opts: opts, lock: lock}
	defer func() {
		if err != nil {
			unlockDir(lock)
		}
	}()
	for i, s := range names {
		last := i == len(names)-1
		var nextFirst int64 = -1
		if !last {
			nextFirst = int64(names[i+1].first)
		}
		size, count, d, err := scanSegment(dir, s, nextFirst, fn)
		if err != nil {
			return nil, damage, err
		}
		if d != nil {
			damage = append(damage, d)
			if last {
				// Cut the torn tail so that appends follow the last good record.
				if err := truncateFile(filepath.Join(dir, s.name), size); err != nil {
					return nil, damage, err
				}
			}
		}
		s.size = size
		l.segs = append(l.segs, s)
		l.total += size
		l.next = s.first + count
		if !last && l.next < names[i+1].first {
			l.next = names[i+1].first
		}
	}
	if len(l.segs) == 0 {
		if err := l.newSegment(0); err != nil {
			return nil, damage, err
		}
		return l, damage, nil
	}
	act := &l.segs[len(l.segs)-1]
	if act.size < segHeaderSize {
		// A segment created just before a crash: write its header again.
		l.total -= act.size
		l.segs = l.segs[:len(l.segs)-1]
		if err := l.newSegment(act.first); err != nil {
			return nil, damage, err
		}
		return l, damage, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, act.name), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, damage, fmt.Errorf("wal: %w", err)
	}
	l.f = f
	return l, damage, nil
}

func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var segs []segment
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) || e.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, segment{first: first, name: name})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	return segs, nil
}

// scanSegment reads one segment, calling fn for each intact record. It
// returns the size of its intact prefix, the number of records in it, and
// the damage found after it.
func scanSegment(dir string, s segment, nextFirst int64, fn func(uint64, []byte) error) (size int64, count uint64, damage *CorruptError, err error) {
	data, err := os.ReadFile(filepath.Join(dir, s.name))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("wal: %w", err)
	}
	lost := func(off int64, reason string) *CorruptError {
		d := &CorruptError{Segment: s.name, Offset: off, Bytes: int64(len(data)) - off, Records: -1, Reason: reason}
		if nextFirst >= 0 {
			d.Records = max(nextFirst-int64(s.first)-int64(count), 0)
		}
		return d
	}
	if len(data) < segHeaderSize {
		if len(data) == 0 && nextFirst < 0 {
			return 0, 0, nil, nil
		}
		return 0, 0, lost(0, "short segment header"), nil
	}
	if string(data[:8]) != segMagic || binary.LittleEndian.Uint64(data[8:16]) != s.first {
		return 0, 0, lost(0, "bad segment header"), nil
	}
	off := segHeaderSize
	for off < len(data) {
		payload, n, derr := DecodeFrame(data[off:])
		if derr != nil {
			reason := derr.Error()
			if derr == io.ErrUnexpectedEOF {
				reason = "torn record"
			}
			return int64(off), count, lost(int64(off), reason), nil
		}
		if err := fn(s.first+count, payload); err != nil {
			return 0, 0, nil, err
		}
		count++
		off += n
	}
	return int64(off), count, nil, nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: cut torn tail: %w", err)
	}
	return nil
}

// newSegment creates and syncs a segment whose first record is first, and
// makes it the active one. The caller holds mu (or is Open).
func (l *Log) newSegment(first uint64) error {
	name := fmt.Sprintf("%020d%s", first, segSuffix)
	path := filepath.Join(l.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	var h [segHeaderSize]byte
	copy(h[:], segMagic)
	binary.LittleEndian.PutUint64(h[8:], first)
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	l.segs = append(l.segs, segment{first: first, name: name, size: segHeaderSize})
	l.total += segHeaderSize
	l.next = first
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		return fmt.Errorf("wal: sync directory: %w", err)
	}
	return nil
}

// Append writes n frames, encoded back to back in frames (AppendFrame), in
// one write, and returns the index of the first. The frames are handed to
// the operating system (they survive a crash of the process) but are
// durable only after Sync. If the active segment is full, the frames start a
// new one (after syncing the old). A failed write is cut off again so that
// the log stays well-formed; if even that fails, the log refuses further
// appends.
func (l *Log) Append(frames []byte, n int) (first uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.err != nil {
		return 0, l.err
	}
	act := &l.segs[len(l.segs)-1]
	if act.size > segHeaderSize && act.size+int64(len(frames)) > l.opts.SegmentSize {
		if err := l.f.Sync(); err != nil {
			return 0, l.fail(err)
		}
		if err := l.newSegment(l.next); err != nil {
			return 0, err
		}
		act = &l.segs[len(l.segs)-1]
	}
	if _, err := l.f.Write(frames); err != nil {
		if terr := l.f.Truncate(act.size); terr != nil {
			return 0, l.fail(fmt.Errorf("%w (and cutting the partial write: %v)", err, terr))
		}
		return 0, fmt.Errorf("wal: append: %w", err)
	}
	first = l.next
	l.next += uint64(n)
	act.size += int64(len(frames))
	l.total += int64(len(frames))
	l.dirty = true
	return first, nil
}

func (l *Log) fail(err error) error {
	l.err = fmt.Errorf("wal: %w", err)
	return l.err
}

// Sync makes every record appended so far durable.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.err != nil {
		return l.err
	}
	if !l.dirty {
		return nil
	}
	if err := fdatasync(l.f); err != nil {
		return l.fail(err)
	}
	l.dirty = false
	return nil
}

// NextIndex is the index the next appended record gets.
func (l *Log) NextIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// FirstIndex is the index of the oldest record kept.
func (l *Log) FirstIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0].first
}

// Size is the number of bytes the log's segments hold.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Removable is the number of segments TruncateFront(index) would remove.
func (l *Log) Removable(index uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for k < len(l.segs)-1 && l.segs[k+1].first <= index {
		k++
	}
	return k
}

// TruncateFront removes the segments all of whose records have indexes
// below index (never the active segment) and returns the bytes freed.
func (l *Log) TruncateFront(index uint64) (freed int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	k := 0
	for k < len(l.segs)-1 && l.segs[k+1].first <= index {
		k++
	}
	if k == 0 {
		return 0, nil
	}
	for j, s := range l.segs[:k] {
		if err := os.Remove(filepath.Join(l.dir, s.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.segs = append(l.segs[:0], l.segs[j:]...)
			return freed, fmt.Errorf("wal: %w", err)
		}
		freed += s.size
		l.total -= s.size
	}
	l.segs = append(l.segs[:0], l.segs[k:]...)
	return freed, syncDir(l.dir)
}

// Read calls fn for the records with indexes in [from, to), in order,
// streaming the kept segments (records appended after Read began are not
// seen; bytes Open found damaged are skipped). fn's payload is valid only
// during the call.
func (l *Log) Read(from, to uint64, fn func(index uint64, payload []byte) error) error {
	l.mu.Lock()
	segs := append([]segment(nil), l.segs...)
	l.mu.Unlock()
	var buf []byte
	for i, s := range segs {
		if i+1 < len(segs) && segs[i+1].first <= from {
			continue
		}
		if s.first >= to {
			break
		}
		var err error
		buf, err = readSegment(filepath.Join(l.dir, s.name), s, from, to, buf, fn)
		if err == errStop {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readSegment streams the first s.size bytes of a segment (its intact,
// completely written prefix).
func readSegment(path string, s segment, from, to uint64, buf []byte, fn func(uint64, []byte) error) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, s.size), 256<<10)
	if _, err := br.Discard(segHeaderSize); err != nil {
		return buf, nil // an empty segment
	}
	bad := func(off int64, reason string) error {
		return &CorruptError{Segment: s.name, Offset: off, Records: -1, Reason: reason}
	}
	off := int64(segHeaderSize)
	for idx := s.first; ; idx++ {
		var h [HeaderSize]byte
		if _, err := io.ReadFull(br, h[:]); err == io.EOF {
			return buf, nil
		} else if err != nil {
			return buf, bad(off, "torn record")
		}
		n := binary.LittleEndian.Uint32(h[0:4])
		if n > MaxRecord {
			return buf, bad(off, "record length over the limit")
		}
		if idx >= to {
			return buf, errStop
		}
		if idx < from {
			if _, err := br.Discard(int(n)); err != nil {
				return buf, bad(off, "torn record")
			}
			off += HeaderSize + int64(n)
			continue
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		p := buf[:n]
		if _, err := io.ReadFull(br, p); err != nil {
			return buf, bad(off, "torn record")
		}
		c := crc32.Update(0, castagnoli, h[0:4])
		if crc32.Update(c, castagnoli, p) != binary.LittleEndian.Uint32(h[4:8]) {
			return buf, bad(off, "checksum mismatch")
		}
		if err := fn(idx, p); err != nil {
			return buf, err
		}
		off += HeaderSize + int64(n)
	}
}

var errStop = errors.New("stop")

// Close syncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	if l.dirty && l.err == nil {
		err = fdatasync(l.f)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	unlockDir(l.lock)
	if err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}
