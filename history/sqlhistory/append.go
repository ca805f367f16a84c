package sqlhistory

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/trailkit/trail"
)

// Append stores events in one transaction, skipping event IDs that are
// stored already (the first copy wins, also within events).
//
// One bad event never costs the others: an event without an EventID is
// refused alone, and when the transaction fails for another reason than
// ctx (a value the database will not take), Append stores the events one
// by one so that only those the database refuses are lost. The error then
// names every refused event (an *EventError each, joined); the others are
// stored. Values PostgreSQL text cannot hold (NUL, invalid UTF-8) and
// values longer than a PostgreSQL index row holds are stored without loss
// (postings index them in a bounded form, see postingValue; lookups
// compare the full value), so they are no reason to refuse.
func (s *Store) Append(ctx context.Context, events []trail.Event) error {
	if len(events) == 0 {
		return nil
	}
	var refused []error
	seen := make(map[string]struct{}, len(events))
	batch := make([]*trail.Event, 0, len(events))
	for i := range events {
		ev := &events[i]
		if ev.EventID == "" {
			refused = append(refused, &EventError{Index: i, Err: &trail.ValidationError{Field: "eventID", Reason: "empty"}})
			continue
		}
		if _, dup := seen[ev.EventID]; dup {
			continue
		}
		seen[ev.EventID] = struct{}{}
		batch = append(batch, ev)
	}
	if len(batch) == 0 {
		return errors.Join(refused...)
	}
	err := s.appendBatch(ctx, batch)
	if err != nil && ctx.Err() == nil && len(batch) > 1 {
		// Isolate the bad events: one transaction per event. (batch was
		// sorted by appendTx; the index reported is the caller's.)
		index := make(map[*trail.Event]int, len(events))
		for i := range events {
			index[&events[i]] = i
		}
		err = nil
		for _, ev := range slices.Clone(batch) {
			if e := s.appendBatch(ctx, []*trail.Event{ev}); e != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("sqlhistory: append: %w", ctx.Err())
				}
				refused = append(refused, &EventError{Index: index[ev], EventID: ev.EventID, Err: e})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("sqlhistory: append: %w", err)
	}
	return errors.Join(refused...)
}

// appendBatch stores batch (distinct event IDs) in one transaction.
func (s *Store) appendBatch(ctx context.Context, batch []*trail.Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.appendTx(ctx, tx, batch); err != nil {
		return err
	}
	return tx.Commit()
}

// EventError reports one event Append refused; the other events of the
// call were stored.
type EventError struct {
	Index   int    // position of the event in the events given to Append
	EventID string // its EventID (empty when that is what is wrong)
	Err     error
}

// Error implements the error interface.
func (e *EventError) Error() string {
	return fmt.Sprintf("sqlhistory: event %d (%q) not stored, the others were: %v", e.Index, e.EventID, e.Err)
}

// Unwrap returns the cause.
func (e *EventError) Unwrap() error { return e.Err }

// block is a block ready to be stored.
type block struct {
	id         int64
	minT, maxT int64
	n          int
	head, data []byte // compressed
	posts      []posting
}

// chunk is the events that go to one block: batch[lo:hi].
type chunk struct {
	lo, hi int
	id     int64
}

// appendTx stores batch, which has distinct event IDs, in tx: it records
// the new IDs in the ids table, then writes the new events as blocks with
// their postings.
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, batch []*trail.Event) error {
	// Events sorted by time, so that every block covers a short time
	// range, and split into even blocks.
	slices.SortStableFunc(batch, func(a, b *trail.Event) int { return cmp.Compare(a.EventTime.Unix(), b.EventTime.Unix()) })
	recs := encodeRecords(batch)
	nb := (len(batch) + maxBlockEvents - 1) / maxBlockEvents
	per := (len(batch) + nb - 1) / nb
	var chunks []chunk
	for i := 0; i < len(batch); {
		j, size := i, 0
		for j < len(batch) && j-i < per && (j == i || size+len(recs[j]) <= maxBlockBytes) {
			size += len(recs[j])
			j++
		}
		chunks = append(chunks, chunk{lo: i, hi: j})
		i = j
	}
	// Build the blocks while the ids are inserted, expecting every event
	// to be new; blocks with events stored already are built again.
	blocks := make([]*block, len(chunks))
	build := func(ci, lo, hi int, isNew []bool) {
		h := &head{}
		var data []byte
		for i := lo; i < hi; i++ {
			if isNew == nil || isNew[i] {
				h.addEvent(batch[i], len(recs[i]))
				data = append(data, recs[i]...)
			}
		}
		blocks[ci] = nil
		if len(h.entries) > 0 {
			blocks[ci] = h.block(data)
		}
	}
	var wg sync.WaitGroup
	for ci, c := range chunks {
		wg.Go(func() { build(ci, c.lo, c.hi, nil) })
	}
	err := s.reserveBlocks(ctx, tx, chunks)
	var isNew []bool
	if err == nil {
		isNew, err = s.insertIDs(ctx, tx, batch, chunks)
	}
	wg.Wait()
	if err != nil {
		return err
	}
	for ci, c := range chunks {
		if slices.Contains(isNew[c.lo:c.hi], false) {
			build(ci, c.lo, c.hi, isNew)
		}
		if blocks[ci] != nil {
			blocks[ci].id = c.id
		}
	}
	blocks = slices.DeleteFunc(blocks, func(b *block) bool { return b == nil })
	if err := s.insertBlocks(ctx, tx, blocks); err != nil {
		return err
	}
	if s.d == SQLite {
		for _, c := range chunks {
			if c.id%mergeBlocks == 0 {
				return s.mergeIDs(ctx, tx)
			}
		}
	}
	return nil
}

// storedIDs returns the event IDs of batch that ids holds.
func (s *Store) storedIDs(ctx context.Context, tx *sql.Tx, batch []*trail.Event) (map[string]struct{}, error) {
	const group = 200
	stored := map[string]struct{}{}
	var full *sql.Stmt
	args := make([]any, 0, group)
	for lo := 0; lo < len(batch); lo += group {
		hi := min(lo+group, len(batch))
		args = args[:0]
		for _, ev := range batch[lo:hi] {
			args = append(args, ev.EventID)
		}
		query := s.sql(`SELECT event_id FROM {p}ids WHERE event_id IN (?` + strings.Repeat(", ?", hi-lo-1) + `)`)
		var (
			rows *sql.Rows
			err  error
		)
		if hi-lo == group {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, query); err != nil {
					return nil, err
				}
				defer full.Close()
			}
			rows, err = full.QueryContext(ctx, args...)
		} else {
			rows, err = tx.QueryContext(ctx, query, args...)
		}
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			stored[id] = struct{}{}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return stored, nil
}

// mergeBlocks is how often (in blocks) SQLite moves new_ids into ids.
const mergeBlocks = 64

// mergeIDs moves the rows of new_ids into ids. A B-tree insert at a
// random key (event IDs are random) dirties a page of its own: inserting a
// batch's IDs straight into ids, whose pages all get written at every
// commit once it is large, made the Append rate of SQLite fall as the
// store grew. The small new_ids takes the IDs of the last batches, and a
// merge every mergeBlocks blocks (about 32,000 events) writes each page
// of ids once, in key order. (PostgreSQL inserts into ids directly:
// concurrent appends would race with a merge.)
func (s *Store) mergeIDs(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}ids (event_id, block_id) SELECT event_id, block_id FROM {p}new_ids ORDER BY event_id`)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}new_ids`))
	return err
}

// encodeRecords returns the compact JSON of the events, encoded in
// parallel.
func encodeRecords(batch []*trail.Event) [][]byte {
	recs := make([][]byte, len(batch))
	workers := min(runtime.GOMAXPROCS(0), (len(batch)+255)/256)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(batch)/workers, (w+1)*len(batch)/workers
		wg.Go(func() {
			var buf []byte
			for i := lo; i < hi; i++ {
				start := len(buf)
				buf = batch[i].AppendJSON(buf)
				recs[i] = buf[start:len(buf):len(buf)]
			}
		})
	}
	wg.Wait()
	return recs
}

// block compresses h and data into a block to store (without its id).
func (h *head) block(data []byte) *block {
	b := &block{n: len(h.entries), posts: h.postings()}
	b.minT, b.maxT = h.timeRange()
	b.data = make([]byte, 0, len(data)/4)
	h.segs = h.segs[:0]
	for i := 0; i < len(h.entries); i += segmentEvents {
		first, last := &h.entries[i], &h.entries[min(i+segmentEvents, len(h.entries))-1]
		n := len(b.data)
		b.data = zenc.EncodeAll(data[first.off:last.off+last.n], b.data)
		h.segs = append(h.segs, len(b.data)-n)
	}
	b.head = compressHead(h.encode(nil))
	return b
}

// reserveBlocks sets the ids of the chunks' blocks.
func (s *Store) reserveBlocks(ctx context.Context, tx *sql.Tx, chunks []chunk) error {
	if s.d == SQLite {
		// The transaction holds the write lock: no other writer
		// allocates block ids until it ends.
		var last int64
		if err := tx.QueryRowContext(ctx, s.sql(`SELECT COALESCE(MAX(id), 0) FROM {p}blocks`)).Scan(&last); err != nil {
			return err
		}
		for i := range chunks {
			chunks[i].id = last + 1 + int64(i)
		}
		return nil
	}
	// Block ids are the append sequence page tokens continue from (see
	// Lookup): they must be assigned in commit order, so the transaction
	// holds this lock from here to its end.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "trail-history-seq:"+s.p); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, s.sql(`SELECT nextval('{p}block_ids') FROM generate_series(1, $1)`), len(chunks))
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() && i < len(chunks) {
		if err := rows.Scan(&chunks[i].id); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(chunks) {
		return fmt.Errorf("got %d block ids, want %d", i, len(chunks))
	}
	return nil
}

// insertIDs inserts the event IDs of batch that are not stored yet, with
// the id of the block they go to, and reports which are new.
func (s *Store) insertIDs(ctx context.Context, tx *sql.Tx, batch []*trail.Event, chunks []chunk) ([]bool, error) {
	isNew := make([]bool, len(batch))
	if s.d == SQLite {
		// SQLite: the IDs go to the small new_ids, after a look in ids;
		// mergeIDs moves them to ids now and then (see there).
		stored, err := s.storedIDs(ctx, tx, batch)
		if err != nil {
			return nil, err
		}
		stmt, err := tx.PrepareContext(ctx, s.sql(`INSERT INTO {p}new_ids (event_id, block_id) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING`))
		if err != nil {
			return nil, err
		}
		defer stmt.Close()
		for _, c := range chunks {
			for i := c.lo; i < c.hi; i++ {
				if _, ok := stored[batch[i].EventID]; ok {
					continue
				}
				res, err := stmt.ExecContext(ctx, batch[i].EventID, c.id)
				if err != nil {
					return nil, err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return nil, err
				}
				isNew[i] = n > 0
			}
		}
		return isNew, nil
	}
	// In event ID order, so that concurrent appends lock the ids they
	// share in the same order.
	order := make([]int, len(batch))
	blockOf := make([]int64, len(batch))
	for _, c := range chunks {
		for i := c.lo; i < c.hi; i++ {
			order[i], blockOf[i] = i, c.id
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(batch[a].EventID, batch[b].EventID) })
	ids, bids := make([]string, len(batch)), make([]int64, len(batch))
	index := make(map[string]int, len(batch))
	for k, i := range order {
		ids[k], bids[k] = batch[i].EventID, blockOf[i]
		index[batch[i].EventID] = i
	}
	rows, err := tx.QueryContext(ctx, s.sql(`INSERT INTO {p}ids (event_id, block_id)
		SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`), ids, bids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			isNew[i] = true
		}
	}
	return isNew, rows.Err()
}

// insertBlocks inserts blocks and their postings.
func (s *Store) insertBlocks(ctx context.Context, tx *sql.Tx, blocks []*block) error {
	if len(blocks) == 0 {
		return nil
	}
	if s.d == SQLite {
		bstmt, err := tx.PrepareContext(ctx, s.sql(`INSERT INTO {p}blocks (id, min_time, max_time, n, head, data) VALUES (?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer bstmt.Close()
		pstmt, err := tx.PrepareContext(ctx, s.sql(`INSERT INTO {p}postings (epoch, attr, value, max_time, block_id, min_time) VALUES (?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer pstmt.Close()
		for _, b := range blocks {
			if _, err := bstmt.ExecContext(ctx, b.id, b.minT, b.maxT, b.n, b.head, b.data); err != nil {
				return err
			}
			for _, p := range b.posts {
				if _, err := pstmt.ExecContext(ctx, b.id>>epochShift, p.attr, p.value, p.maxT, b.id, p.minT); err != nil {
					return err
				}
			}
		}
		return s.upsertEpochs(ctx, tx, blocks)
	}
	var (
		bids, mins, maxs []int64
		ns               []int32
		heads, datas     [][]byte
		pattrs           []int16
		pvals            []string
		pmax, pbid, pmin []int64
		pepochs          []int64
	)
	for _, b := range blocks {
		bids, mins, maxs, ns = append(bids, b.id), append(mins, b.minT), append(maxs, b.maxT), append(ns, int32(b.n))
		heads, datas = append(heads, b.head), append(datas, b.data)
		for _, p := range b.posts {
			pepochs, pattrs, pvals = append(pepochs, b.id>>epochShift), append(pattrs, p.attr), append(pvals, p.value)
			pmax, pbid, pmin = append(pmax, p.maxT), append(pbid, b.id), append(pmin, p.minT)
		}
	}
	if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}blocks (id, min_time, max_time, n, head, data)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bytea[], $6::bytea[])`),
		bids, mins, maxs, ns, heads, datas); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}postings (epoch, attr, value, max_time, block_id, min_time)
		SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])`),
		pepochs, pattrs, pvals, pmax, pbid, pmin); err != nil {
		return err
	}
	return s.upsertEpochs(ctx, tx, blocks)
}

// upsertEpochs widens the time ranges of the blocks' epochs, in epoch
// order (so that concurrent appends lock them in the same order).
func (s *Store) upsertEpochs(ctx context.Context, tx *sql.Tx, blocks []*block) error {
	ranges := map[int64][2]int64{}
	for _, b := range blocks {
		e := b.id >> epochShift
		r, ok := ranges[e]
		if !ok {
			r = [2]int64{b.minT, b.maxT}
		}
		ranges[e] = [2]int64{min(r[0], b.minT), max(r[1], b.maxT)}
	}
	epochs := slices.Sorted(maps.Keys(ranges))
	for _, e := range epochs {
		r := ranges[e]
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}epochs (epoch, min_time, max_time) VALUES (`+s.ph(1)+`, `+s.ph(2)+`, `+s.ph(3)+`)
			ON CONFLICT (epoch) DO UPDATE SET min_time = {least}({p}epochs.min_time, excluded.min_time),
			max_time = {greatest}({p}epochs.max_time, excluded.max_time)`), e, r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}
