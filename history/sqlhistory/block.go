package sqlhistory

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/trailkit/trail"
)

// A block stores up to maxBlockEvents events of one Append in two
// compressed columns:
//
//   - head (S2): a format byte (headFormat), then uvarint(n) entries, each the
//     lookup attributes of one event: varint(eventTime), then the strings
//     eventID, eventName, eventSource, username, accessKeyId,
//     eventCategory and errorCode (each uvarint(len) and bytes), a flags
//     byte (1: readOnly), uvarint(number of resources) and that many
//     (type, ARN) string pairs, and uvarint(length of the record).
//     After the entries: uvarint(number of segments) and the compressed
//     length of each segment.
//   - data: the compact JSON records in entry order, in segments of
//     segmentEvents records, each compressed on its own with zstd (so that reading
//     one record decompresses its segment only).
//
// Lookups read and filter heads, which are small, and decompress only the
// segments that hold the page's events.
const (
	headFormat = 1
	// maxBlockEvents and maxBlockBytes bound a block: the events of one
	// Append are split into blocks of at most this many events and bytes of
	// JSON.
	maxBlockEvents = 512
	maxBlockBytes  = 4 << 20
	// segmentEvents is the number of records compressed together.
	segmentEvents = 256
	// maxDecoded bounds what the decoder accepts for one column.
	maxDecoded = 64 << 20
)

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false),
		zstd.WithLowerEncoderMem(true))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecoded),
		zstd.WithDecoderMaxWindow(maxDecoded))
)

var errCorrupt = errors.New("sqlhistory: corrupt stored block")

// entry is what a block's head keeps of one event.
type entry struct {
	t                                                int64
	id, name, source, user, key, category, errorCode string
	readOnly                                         bool
	res0, res1                                       int // the event's resources: head.res[res0:res1], type and ARN alternating
	off, n                                           int // the record: data[off:off+n]
}

// head is a decoded block head.
type head struct {
	entries []entry
	res     []string
	size    int   // total length of the records
	segs    []int // compressed length of each segment of data
}

// addEvent appends ev's entry, its record being n bytes long.
func (h *head) addEvent(ev *trail.Event, n int) {
	e := entry{
		t: ev.EventTime.Unix(), id: ev.EventID, name: recordedText(ev.EventName), source: recordedText(ev.EventSource),
		user: recordedText(ev.LookupUsername()), key: recordedText(ev.UserIdentity.AccessKeyID),
		category: recordedText(ev.EventCategory), errorCode: recordedText(ev.ErrorCode), readOnly: ev.IsReadOnly(),
		res0: len(h.res), off: h.size, n: n,
	}
	for _, r := range ev.Resources {
		h.res = append(h.res, recordedText(r.Type), recordedText(r.ARN))
	}
	e.res1 = len(h.res)
	h.size += n
	h.entries = append(h.entries, e)
}

// addEntry appends a copy of e (from head src).
func (h *head) addEntry(src *head, e entry) {
	res := src.res[e.res0:e.res1]
	e.res0 = len(h.res)
	h.res = append(h.res, res...)
	e.res1 = len(h.res)
	e.off = h.size
	h.size += e.n
	h.entries = append(h.entries, e)
}

// timeRange returns the oldest and newest event time of h.
func (h *head) timeRange() (lo, hi int64) {
	for i, e := range h.entries {
		if i == 0 || e.t < lo {
			lo = e.t
		}
		if i == 0 || e.t > hi {
			hi = e.t
		}
	}
	return lo, hi
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encode returns h in head format, uncompressed.
func (h *head) encode(b []byte) []byte {
	b = append(b, headFormat)
	b = binary.AppendUvarint(b, uint64(len(h.entries)))
	for i := range h.entries {
		e := &h.entries[i]
		b = binary.AppendVarint(b, e.t)
		for _, s := range [...]string{e.id, e.name, e.source, e.user, e.key, e.category, e.errorCode} {
			b = appendStr(b, s)
		}
		var flags byte
		if e.readOnly {
			flags = 1
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64((e.res1-e.res0)/2))
		for _, s := range h.res[e.res0:e.res1] {
			b = appendStr(b, s)
		}
		b = binary.AppendUvarint(b, uint64(e.n))
	}
	b = binary.AppendUvarint(b, uint64(len(h.segs)))
	for _, n := range h.segs {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b
}

// headReader reads a head; the strings it returns alias the buffer, which
// must not change afterwards.
type headReader struct {
	b   []byte
	err bool
}

func (r *headReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *headReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *headReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = true, nil
		return ""
	}
	if n == 0 {
		return ""
	}
	s := unsafe.String(&r.b[0], int(n))
	r.b = r.b[n:]
	return s
}

func (r *headReader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// parseHead decodes an uncompressed head. The result aliases b.
func parseHead(b []byte) (*head, error) {
	r := headReader{b: b}
	if r.byte() != headFormat {
		return nil, errCorrupt
	}
	n := r.uvarint()
	if r.err || n > uint64(len(r.b))/11 { // an entry takes at least 11 bytes
		return nil, errCorrupt
	}
	h := &head{entries: make([]entry, 0, n)}
	for range n {
		var e entry
		e.t = r.varint()
		e.id, e.name, e.source, e.user = r.str(), r.str(), r.str(), r.str()
		e.key, e.category, e.errorCode = r.str(), r.str(), r.str()
		e.readOnly = r.byte()&1 != 0
		nres := r.uvarint()
		if r.err || nres > uint64(len(r.b))/2 {
			return nil, errCorrupt
		}
		e.res0 = len(h.res)
		for range 2 * nres {
			h.res = append(h.res, r.str())
		}
		e.res1 = len(h.res)
		size := r.uvarint()
		if r.err || size > maxDecoded || uint64(h.size)+size > maxDecoded {
			return nil, errCorrupt
		}
		e.off, e.n = h.size, int(size)
		h.size += int(size)
		h.entries = append(h.entries, e)
	}
	nseg := r.uvarint()
	if r.err || nseg != (n+segmentEvents-1)/segmentEvents {
		return nil, errCorrupt
	}
	h.segs = make([]int, nseg)
	total := uint64(0)
	for i := range h.segs {
		size := r.uvarint()
		total += size
		if size > maxDecoded || total > maxDecoded {
			return nil, errCorrupt
		}
		h.segs[i] = int(size)
	}
	if r.err || len(r.b) != 0 {
		return nil, errCorrupt
	}
	return h, nil
}

// compressHead compresses an encoded head. Heads use S2, which decodes
// about three times as fast as zstd: lookups decode many heads.
func compressHead(raw []byte) []byte { return s2.Encode(nil, raw) }

// decodeHead decompresses and parses a stored head.
func decodeHead(b []byte) (*head, error) {
	if n, err := s2.DecodedLen(b); err != nil || n > maxDecoded {
		return nil, errCorrupt
	}
	raw, err := s2.Decode(nil, b)
	if err != nil {
		return nil, errCorrupt
	}
	return parseHead(raw)
}

// segment decompresses segment i of a block's stored data and returns it
// with the offset of its first record.
func (h *head) segment(zdata []byte, i int) (data []byte, off int, err error) {
	if i < 0 || i >= len(h.segs) {
		return nil, 0, errCorrupt
	}
	start := 0
	for _, n := range h.segs[:i] {
		start += n
	}
	end := start + h.segs[i]
	if end > len(zdata) {
		return nil, 0, errCorrupt
	}
	first, last := &h.entries[i*segmentEvents], &h.entries[min((i+1)*segmentEvents, len(h.entries))-1]
	size := last.off + last.n - first.off
	data, err = zdec.DecodeAll(zdata[start:end], make([]byte, 0, min(size, 1<<20)))
	if err != nil || len(data) != size {
		return nil, 0, errCorrupt
	}
	return data, first.off, nil
}

// decodeData decompresses all of a block's records.
func (h *head) decodeData(zdata []byte) ([]byte, error) {
	all := make([]byte, 0, min(h.size, 8<<20))
	total := 0
	for i, n := range h.segs {
		total += n
		seg, _, err := h.segment(zdata, i)
		if err != nil {
			return nil, err
		}
		all = append(all, seg...)
	}
	if total != len(zdata) || len(all) != h.size {
		return nil, errCorrupt
	}
	return all, nil
}

// has reports whether e has value for key, as trail.Event.HasLookupValue.
func (h *head) has(e *entry, key trail.LookupAttributeKey, value string) bool {
	switch key {
	case trail.LookupEventID:
		return e.id == value
	case trail.LookupEventName:
		return e.name == value
	case trail.LookupEventSource:
		return e.source == value
	case trail.LookupReadOnly:
		return value == strconv.FormatBool(e.readOnly)
	case trail.LookupUsername:
		return value != "" && e.user == value
	case trail.LookupAccessKeyID:
		return value != "" && e.key == value
	case trail.LookupResourceType, trail.LookupResourceName:
		k := 0
		if key == trail.LookupResourceName {
			k = 1
		}
		for i := e.res0 + k; i < e.res1; i += 2 {
			if h.res[i] == value && value != "" {
				return true
			}
		}
	case trail.LookupEventCategory:
		return e.category == value
	case trail.LookupErrorCode:
		return value != "" && e.errorCode == value
	}
	return false
}

// epochShift groups blocks into epochs of 16 (block id >> epochShift).
// Postings are keyed by epoch first, so that an Append's postings go to the
// newest epoch's few pages instead of all over the table (which made the
// cost of an Append grow with the store); a lookup seeks each epoch that
// overlaps its time range.
const epochShift = 4

// The attributes of trail_postings rows.
const (
	attrEventName = iota + 1
	attrEventSource
	attrUsername
	attrAccessKeyID
	attrReadOnly
	attrResourceType
	attrResourceName
	attrEventCategory
	attrErrorCode
	attrFailed // value "1": the event has an errorCode
)

// attrOf returns the postings attribute of a lookup key (0 for EventId,
// which the ids table serves).
func attrOf(k trail.LookupAttributeKey) int16 {
	switch k {
	case trail.LookupEventName:
		return attrEventName
	case trail.LookupEventSource:
		return attrEventSource
	case trail.LookupUsername:
		return attrUsername
	case trail.LookupAccessKeyID:
		return attrAccessKeyID
	case trail.LookupReadOnly:
		return attrReadOnly
	case trail.LookupResourceType:
		return attrResourceType
	case trail.LookupResourceName:
		return attrResourceName
	case trail.LookupEventCategory:
		return attrEventCategory
	case trail.LookupErrorCode:
		return attrErrorCode
	}
	return 0
}

type postingKey struct {
	attr  int16
	value string
}

// posting is one trail_postings row: the events of a block that have a
// value lie between minT and maxT.
type posting struct {
	postingKey
	minT, maxT int64
}

// postings returns the distinct (attribute, value) pairs of h's events,
// with their time range in the block.
func (h *head) postings() []posting {
	idx := make(map[postingKey]int, 4*len(h.entries))
	var out []posting
	add := func(attr int16, value string, t int64) {
		if value == "" {
			return
		}
		k := postingKey{attr, postingValue(value)}
		if i, ok := idx[k]; ok {
			p := &out[i]
			p.minT, p.maxT = min(p.minT, t), max(p.maxT, t)
			return
		}
		idx[k] = len(out)
		out = append(out, posting{k, t, t})
	}
	for i := range h.entries {
		e := &h.entries[i]
		add(attrEventName, e.name, e.t)
		add(attrEventSource, e.source, e.t)
		add(attrUsername, e.user, e.t)
		add(attrAccessKeyID, e.key, e.t)
		add(attrReadOnly, strconv.FormatBool(e.readOnly), e.t)
		for j := e.res0; j+1 < e.res1; j += 2 {
			add(attrResourceType, h.res[j], e.t)
			add(attrResourceName, h.res[j+1], e.t)
		}
		add(attrEventCategory, e.category, e.t)
		add(attrErrorCode, e.errorCode, e.t)
		if e.errorCode != "" {
			add(attrFailed, "1", e.t)
		}
	}
	return out
}
