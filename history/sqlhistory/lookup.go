package sqlhistory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/trailkit/trail"
)

// candidate is a block that may hold matching events; its events (with the
// value it was found by) lie between minT and maxT.
type candidate struct {
	id         int64
	minT, maxT int64
}

// hit is a matching event found in a block's head.
type hit struct {
	t     int64
	id    string
	block int64
}

// cmpHits orders hits as history does: newest first, then event ID
// descending.
func cmpHits(a, b hit) int {
	if c := cmp.Compare(b.t, a.t); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

// Lookup returns one page of the events matching q, newest first (see
// trail.HistoryStore).
//
// It takes the candidate blocks in descending order of their newest
// relevant event (from the postings of one of q's attributes, from the ids
// tables for an EventId, or from the blocks themselves), filters the heads,
// and stops once the next candidate is older than the last event the page
// needs. Only the data segments that hold the page's events are
// decompressed and decoded.
func (s *Store) Lookup(ctx context.Context, q *trail.QueryInput) (*trail.QueryOutput, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q = recordedQuery(q)
	cur, hasCur, err := s.tokens.Decode(q)
	if err != nil {
		return nil, err
	}
	k := q.PageSize()
	lo, hiAll := q.TimeBounds(time.Now())
	hi := hiAll
	if hasCur {
		hi = min(hi, cur.Time.Unix())
	}
	filter := func(h *head, e *entry) bool {
		switch q.Errors {
		case trail.OnlyErrors:
			if e.errorCode == "" {
				return false
			}
		case trail.NoErrors:
			if e.errorCode != "" {
				return false
			}
		}
		for _, a := range q.LookupAttributes {
			if !h.has(e, a.Key, a.Value) {
				return false
			}
		}
		return true
	}
	// The append sequence (block ids, assigned in commit order) committed
	// before this page is read: events appended later have higher ones.
	seqNow, err := s.appendSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlhistory: lookup: %w", err)
	}
	watermark := seqNow
	var (
		late     []hit
		lateRead map[int64]*storedBlock
	)
	if hasCur && cur.Seq > 0 {
		// Late appends: events in blocks committed after the previous
		// page was read whose place is before the cursor (already passed)
		// come first, so that paging never skips them.
		end := cur.LateEnd
		if end == 0 {
			end = seqNow
		}
		if end > cur.Seq {
			lc := trail.PageCursor{Time: cur.LateTime, EventID: cur.LateID}
			late, lateRead, err = s.scan(ctx, q, lo, hiAll, func(h *head, e *entry, blk int64) bool {
				return blk > cur.Seq && blk <= end && e.t >= lo && e.t <= hiAll && !cur.After(e.t, e.id) &&
					(cur.LateEnd == 0 || lc.After(e.t, e.id)) && filter(h, e)
			}, k)
			if err != nil {
				return nil, fmt.Errorf("sqlhistory: lookup: %w", err)
			}
			if len(late) > k {
				evs, err := s.records(ctx, q, late, lateRead)
				if err != nil {
					return nil, fmt.Errorf("sqlhistory: lookup: %w", err)
				}
				page := &trail.QueryOutput{Events: evs}
				if len(evs) > k {
					page.Events = evs[:k]
				}
				last := page.Events[len(page.Events)-1]
				page.NextToken = s.tokens.Encode(q, trail.PageCursor{Time: cur.Time, EventID: cur.EventID, Seq: cur.Seq,
					LateEnd: end, LateTime: last.EventTime, LateID: last.EventID})
				return page, nil
			}
		}
		watermark = max(end, cur.Seq)
	}
	if lo > hi && len(late) == 0 {
		return &trail.QueryOutput{}, nil
	}
	rest := k - len(late)
	var (
		normal []hit
		read   map[int64]*storedBlock
	)
	if lo <= hi {
		normal, read, err = s.scan(ctx, q, lo, hi, func(h *head, e *entry, _ int64) bool {
			return e.t >= lo && e.t <= hi && (!hasCur || cur.After(e.t, e.id)) && filter(h, e)
		}, rest)
		if err != nil {
			return nil, fmt.Errorf("sqlhistory: lookup: %w", err)
		}
	}
	more := len(normal) > rest
	if more {
		normal = normal[:rest+1]
	}
	hits := append(late, normal...)
	if read == nil {
		read = map[int64]*storedBlock{}
	}
	maps.Copy(read, lateRead)
	evs, err := s.records(ctx, q, hits, read)
	if err != nil {
		return nil, fmt.Errorf("sqlhistory: lookup: %w", err)
	}
	page := &trail.QueryOutput{Events: evs}
	if more && len(evs) > k {
		page.Events = evs[:k]
		next := trail.PageCursor{Time: cur.Time, EventID: cur.EventID, Seq: watermark}
		if last := &page.Events[k-1]; k > len(late) {
			next.Time, next.EventID = last.EventTime, last.EventID
		}
		page.NextToken = s.tokens.Encode(q, next)
	}
	return page, nil
}

// scan returns, best first, up to k+1 of the events that match (with the
// id of the block they are in) in the candidate blocks of [lo, hi], and the
// blocks whose heads were read for them.
//
// It takes the candidate blocks in descending order of their newest
// relevant event, filters the heads, and stops once the next candidate is
// older than the last event the page needs.
func (s *Store) scan(ctx context.Context, q *trail.QueryInput, lo, hi int64, match func(h *head, e *entry, block int64) bool, k int) ([]hit, map[int64]*storedBlock, error) {
	it := s.candidates(q, lo, hi)
	var (
		read    = map[int64]*storedBlock{} // the heads read
		hits    []hit
		bound   hit // when bounded: k+1 hits at least as good as bound are known
		bounded bool
	)
	trim := func() {
		slices.SortFunc(hits, cmpHits)
		hits = hits[:k+1]
		bound, bounded = hits[k], true
	}
	// full reports whether no event of c or a later candidate can make the
	// page (hits is sorted and trimmed after every block).
	full := func(c candidate) bool { return len(hits) > k && hits[k].t > c.maxT }
	group := 2
scan:
	for {
		batch, err := it.next(ctx, group)
		if err != nil {
			return nil, nil, err
		}
		if len(batch) == 0 || full(batch[0]) {
			break
		}
		ids := make([]int64, len(batch))
		for i, c := range batch {
			ids[i] = c.id
		}
		heads, err := s.readBlocks(ctx, ids, false, nil)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range batch {
			if full(c) {
				break scan
			}
			h := heads[c.id]
			if h == nil {
				continue // pruned meanwhile
			}
			n := len(hits)
			for i := range h.head.entries {
				e := &h.head.entries[i]
				if !match(h.head, e, c.id) {
					continue
				}
				x := hit{e.t, e.id, c.id}
				if bounded && cmpHits(x, bound) >= 0 {
					continue // k+1 better hits are known
				}
				hits = append(hits, x)
				if len(hits) > 2*k+64 {
					trim()
				}
			}
			if len(hits) > n {
				read[c.id] = h // records needs it, unless better hits push these out
			}
			if len(hits) > k {
				trim()
			}
		}
		if len(read) > 2*(k+1) {
			// Forget the heads of blocks none of whose events are left
			// in the page.
			used := make(map[int64]bool, len(read))
			for _, x := range hits {
				used[x.block] = true
			}
			maps.DeleteFunc(read, func(id int64, _ *storedBlock) bool { return !used[id] })
		}
		group = min(2*group, 32)
	}
	slices.SortFunc(hits, cmpHits)
	if len(hits) > k+1 {
		hits = hits[:k+1]
	}
	return hits, read, nil
}

// appendSeq returns the highest block id committed: the store's append
// sequence. Block ids are assigned in commit order (SQLite: under the
// write lock; PostgreSQL: under an advisory lock held to commit).
func (s *Store) appendSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT COALESCE(MAX(id), 0) FROM {p}blocks`)).Scan(&n)
	return n, err
}

// records reads and decodes the events of hits, in order. Events that are
// gone (pruned since their head was read) are left out.
func (s *Store) records(ctx context.Context, q *trail.QueryInput, hits []hit, read map[int64]*storedBlock) ([]trail.Event, error) {
	if len(hits) == 0 {
		return []trail.Event{}, nil
	}
	var ids []int64
	for _, h := range hits {
		if !slices.Contains(ids, h.block) {
			ids = append(ids, h.block)
		}
	}
	blocks, err := s.readBlocks(ctx, ids, true, read)
	if err != nil {
		return nil, err
	}
	want := make(map[string]struct{}, len(hits))
	for _, h := range hits {
		want[h.id] = struct{}{}
	}
	recs := make(map[string][]byte, len(hits))
	for id, b := range blocks {
		seg, segOff, segIdx := []byte(nil), 0, -1
		for i := range b.head.entries {
			e := &b.head.entries[i]
			if _, ok := want[e.id]; !ok {
				continue
			}
			if si := i / segmentEvents; si != segIdx {
				if seg, segOff, err = b.head.segment(b.data, si); err != nil {
					return nil, fmt.Errorf("block %d: %w", id, err)
				}
				segIdx = si
			}
			if e.off-segOff+e.n > len(seg) {
				return nil, fmt.Errorf("block %d: %w", id, errCorrupt)
			}
			recs[e.id] = seg[e.off-segOff : e.off-segOff+e.n]
		}
	}
	evs := make([]trail.Event, 0, len(hits))
	for _, h := range hits {
		rec, ok := recs[h.id]
		if !ok {
			continue
		}
		var ev trail.Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			return nil, fmt.Errorf("stored record: %w", err)
		}
		if ev.EventID != h.id || ev.EventTime.Unix() != h.t || !q.Match(&ev) {
			return nil, fmt.Errorf("%w: record %s does not match its head", errCorrupt, h.id)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// storedBlock is a block read back: its head and, when asked for, its
// stored (compressed) records.
type storedBlock struct {
	head  *head
	zhead []byte // as stored
	data  []byte
}

// readBlocks reads and decodes the blocks with the given ids that exist.
// Heads equal to those of cache are not decoded again.
func (s *Store) readBlocks(ctx context.Context, ids []int64, withData bool, cache map[int64]*storedBlock) (map[int64]*storedBlock, error) {
	cols := "id, head"
	if withData {
		cols += ", data"
	}
	args := make([]any, len(ids))
	phs := make([]string, len(ids))
	for i, id := range ids {
		args[i], phs[i] = id, s.ph(i+1)
	}
	rows, err := s.db.QueryContext(ctx, s.sql("SELECT "+cols+" FROM {p}blocks WHERE id IN ("+strings.Join(phs, ", ")+")"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]*storedBlock, len(ids))
	for rows.Next() {
		var (
			id         int64
			head, data []byte
		)
		dst := []any{&id, &head}
		if withData {
			dst = append(dst, &data)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		if b := cache[id]; b != nil && bytes.Equal(b.zhead, head) {
			out[id] = &storedBlock{head: b.head, zhead: head, data: data}
			continue
		}
		h, err := decodeHead(head)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", id, err)
		}
		out[id] = &storedBlock{head: h, zhead: head, data: data}
	}
	return out, rows.Err()
}

// driverRank orders the keys by how few blocks their values usually
// select; the best ranked attribute of a query picks its candidate blocks.
var driverRank = map[trail.LookupAttributeKey]int{
	trail.LookupEventID:       1,
	trail.LookupResourceName:  2,
	trail.LookupAccessKeyID:   3,
	trail.LookupErrorCode:     4,
	trail.LookupUsername:      5,
	trail.LookupEventName:     6,
	trail.LookupResourceType:  7,
	trail.LookupEventSource:   8,
	trail.LookupEventCategory: 9,
	trail.LookupReadOnly:      10,
}

// candidateIter pages through the candidate blocks of a query, newest
// first, by keyset on (max_time, id).
type candidateIter struct {
	s       *Store
	query   string // up to the ORDER BY; {more} is where the keyset condition goes
	args    []any
	last    candidate
	started bool
	done    bool
	buf     []candidate
}

// candidates returns the iterator over the blocks that may hold events
// of q between lo and hi.
func (s *Store) candidates(q *trail.QueryInput, lo, hi int64) candidateSource {
	it := &candidateIter{s: s}
	var drive *trail.LookupAttribute
	for i := range q.LookupAttributes {
		a := &q.LookupAttributes[i]
		if drive == nil || driverRank[a.Key] < driverRank[drive.Key] {
			drive = a
		}
	}
	if drive != nil && drive.Key == trail.LookupEventID {
		it.query = `SELECT b.id, b.min_time, b.max_time FROM {p}ids i JOIN {p}blocks b ON b.id = i.block_id
			WHERE i.event_id = {?} AND b.max_time >= {?} AND b.min_time <= {?}
			UNION ALL SELECT b.id, b.min_time, b.max_time FROM {p}new_ids i JOIN {p}blocks b ON b.id = i.block_id
			WHERE i.event_id = {?} AND b.max_time >= {?} AND b.min_time <= {?}{more}`
		it.args = []any{drive.Value, lo, hi, drive.Value, lo, hi}
		it.query = s.sql(it.query)
		return it
	}
	if drive == nil && q.Errors == trail.OnlyErrors {
		drive = &trail.LookupAttribute{Key: "", Value: "1"}
	} else if drive != nil && drive.Key == trail.LookupReadOnly && q.Errors == trail.OnlyErrors {
		drive = &trail.LookupAttribute{Key: "", Value: "1"}
	}
	if drive != nil {
		attr := attrOf(drive.Key)
		if drive.Key == "" {
			attr = attrFailed
		}
		return &postingIter{s: s, attr: attr, value: postingValue(drive.Value), lo: lo, hi: hi}
	}
	it.query = `SELECT id, min_time, max_time FROM {p}blocks
		WHERE max_time >= {?} AND min_time <= {?}{more:id}
		ORDER BY max_time DESC, id DESC LIMIT 64`
	it.args = []any{lo, hi}
	it.query = s.sql(it.query)
	return it
}

// candidateSource yields candidate blocks in descending order of maxT.
type candidateSource interface {
	next(ctx context.Context, n int) ([]candidate, error)
}

// postingIter yields the blocks that have a value, from its postings: it
// reads the epochs overlapping the time range, then the postings of as many
// epochs, newest first, as it takes to know the next candidate (an epoch's
// max_time bounds its postings').
type postingIter struct {
	s       *Store
	attr    int16
	value   string
	lo, hi  int64
	epochs  []candidate // id is the epoch
	started bool
	ei      int
	buf     []candidate // read, sorted by maxT descending
}

func (it *postingIter) next(ctx context.Context, n int) ([]candidate, error) {
	if !it.started {
		it.started = true
		rows, err := it.s.db.QueryContext(ctx, it.s.sql(`SELECT epoch, min_time, max_time FROM {p}epochs
			WHERE max_time >= `+it.s.ph(1)+` AND min_time <= `+it.s.ph(2)+` ORDER BY max_time DESC, epoch DESC`), it.lo, it.hi)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.id, &c.minT, &c.maxT); err != nil {
				return nil, err
			}
			it.epochs = append(it.epochs, c)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []candidate
	for len(out) < n {
		for it.ei < len(it.epochs) && (len(it.buf) == 0 || it.epochs[it.ei].maxT >= it.buf[0].maxT) {
			if err := it.load(ctx); err != nil {
				return nil, err
			}
		}
		if len(it.buf) == 0 {
			break
		}
		out = append(out, it.buf[0])
		it.buf = it.buf[1:]
	}
	return out, nil
}

// load reads the postings of the next few epochs.
func (it *postingIter) load(ctx context.Context) error {
	epochs := it.epochs[it.ei:min(it.ei+8, len(it.epochs))]
	it.ei += len(epochs)
	args := []any{it.attr, it.value, it.lo, it.hi}
	phs := make([]string, len(epochs))
	for i, e := range epochs {
		args = append(args, e.id)
		phs[i] = it.s.ph(5 + i)
	}
	rows, err := it.s.db.QueryContext(ctx, it.s.sql(`SELECT block_id, min_time, max_time FROM {p}postings
		WHERE attr = `+it.s.ph(1)+` AND value = `+it.s.ph(2)+` AND max_time >= `+it.s.ph(3)+` AND min_time <= `+it.s.ph(4)+
		` AND epoch IN (`+strings.Join(phs, ", ")+`)`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.minT, &c.maxT); err != nil {
			return err
		}
		it.buf = append(it.buf, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	slices.SortFunc(it.buf, func(a, b candidate) int {
		if c := cmp.Compare(b.maxT, a.maxT); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	return nil
}

// next returns up to n further candidates.
func (it *candidateIter) next(ctx context.Context, n int) ([]candidate, error) {
	for len(it.buf) < n && !it.done {
		if err := it.fetch(ctx); err != nil {
			return nil, err
		}
	}
	n = min(n, len(it.buf))
	out := it.buf[:n:n]
	it.buf = it.buf[n:]
	return out, nil
}

func (it *candidateIter) fetch(ctx context.Context) error {
	query, args := it.query, it.args
	more, col := "", ""
	if i := strings.Index(query, "{more"); i >= 0 {
		j := strings.IndexByte(query[i:], '}')
		if c, ok := strings.CutPrefix(query[i:i+j], "{more:"); ok {
			col = c
		}
		if it.started && col != "" {
			more = " AND max_time <= {?} AND (max_time < {?} OR " + col + " < {?})"
			args = append(slices.Clone(args), it.last.maxT, it.last.maxT, it.last.id)
		}
		query = query[:i] + more + query[i+j+1:]
	}
	if col == "" {
		it.done = true // a single lookup (EventId)
	}
	n := 0
	for strings.Contains(query, "{?}") {
		n++
		query = strings.Replace(query, "{?}", it.s.ph(n), 1)
	}
	rows, err := it.s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.minT, &c.maxT); err != nil {
			return err
		}
		it.buf = append(it.buf, c)
		it.last, it.started = c, true
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got < 64 {
		it.done = true
	}
	return nil
}
