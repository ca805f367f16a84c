package sqlhistory

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Prune deletes the events older than before and returns how many it
// deleted: blocks whose events are all older are deleted; blocks that
// straddle before are rewritten with their newer events. Postings and ids
// of the deleted events go with them.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	cut := before.Unix()
	if before.Nanosecond() > 0 {
		cut++ // an event at the whole second before 'before' is older
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlhistory: prune: %w", err)
	}
	defer tx.Rollback()
	total := 0
	for {
		n, more, err := s.pruneSome(ctx, tx, cut)
		if err != nil {
			return 0, fmt.Errorf("sqlhistory: prune: %w", err)
		}
		total += n
		if !more {
			break
		}
	}
	// An epoch whose newest event is older has no block left.
	if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}epochs WHERE max_time < `+s.ph(1)), cut); err != nil {
		return 0, fmt.Errorf("sqlhistory: prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlhistory: prune: %w", err)
	}
	return total, nil
}

const pruneBatch = 64

// pruneChanges is what a prune step deletes and rewrites.
type pruneChanges struct {
	blocks  []int64
	ids     []string
	posts   []posting
	postBID []int64
	rewrite []*block
}

// pruneSome prunes up to pruneBatch blocks that hold events older than cut
// and reports whether there may be more.
func (s *Store) pruneSome(ctx context.Context, tx *sql.Tx, cut int64) (int, bool, error) {
	lock := ""
	if s.d == PostgreSQL {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, s.sql(`SELECT id, max_time, head FROM {p}blocks WHERE min_time < `+s.ph(1)+
		` ORDER BY min_time LIMIT `+fmt.Sprint(pruneBatch)+lock), cut)
	if err != nil {
		return 0, false, err
	}
	type old struct {
		id, maxT int64
		h        *head
	}
	var olds []old
	for rows.Next() {
		var (
			o  old
			hb []byte
		)
		if err := rows.Scan(&o.id, &o.maxT, &hb); err != nil {
			rows.Close()
			return 0, false, err
		}
		if o.h, err = decodeHead(hb); err != nil {
			rows.Close()
			return 0, false, fmt.Errorf("block %d: %w", o.id, err)
		}
		olds = append(olds, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	var ch pruneChanges
	n := 0
	for _, o := range olds {
		for i := range o.h.entries {
			if e := &o.h.entries[i]; e.t < cut {
				ch.ids = append(ch.ids, e.id)
				n++
			}
		}
		for _, p := range o.h.postings() {
			if p.maxT < cut {
				ch.posts, ch.postBID = append(ch.posts, p), append(ch.postBID, o.id)
			}
		}
		if o.maxT < cut {
			ch.blocks = append(ch.blocks, o.id)
			continue
		}
		// Rewrite the block with its newer events. Postings keep their
		// time ranges, which still bound the events left.
		var data []byte
		if err := tx.QueryRowContext(ctx, s.sql(`SELECT data FROM {p}blocks WHERE id = `+s.ph(1)), o.id).Scan(&data); err != nil {
			return 0, false, err
		}
		all, err := o.h.decodeData(data)
		if err != nil {
			return 0, false, fmt.Errorf("block %d: %w", o.id, err)
		}
		nh := &head{}
		var nd []byte
		for _, e := range o.h.entries {
			if e.t >= cut {
				nh.addEntry(o.h, e)
				nd = append(nd, all[e.off:e.off+e.n]...)
			}
		}
		b := nh.block(nd)
		b.id = o.id
		ch.rewrite = append(ch.rewrite, b)
	}
	if err := s.applyPrune(ctx, tx, &ch); err != nil {
		return 0, false, err
	}
	return n, len(olds) == pruneBatch, nil
}

func (s *Store) applyPrune(ctx context.Context, tx *sql.Tx, ch *pruneChanges) error {
	for _, b := range ch.rewrite {
		if _, err := tx.ExecContext(ctx, s.sql(`UPDATE {p}blocks SET min_time = `+s.ph(1)+`, n = `+s.ph(2)+`, head = `+s.ph(3)+
			`, data = `+s.ph(4)+` WHERE id = `+s.ph(5)), b.minT, b.n, b.head, b.data, b.id); err != nil {
			return err
		}
	}
	if s.d == PostgreSQL {
		if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}blocks WHERE id = ANY($1)`), ch.blocks); err != nil {
			return err
		}
		for _, tbl := range []string{"ids", "new_ids"} {
			if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}`+tbl+` WHERE event_id = ANY($1)`), ch.ids); err != nil {
				return err
			}
		}
		attrs, values, maxs := make([]int16, len(ch.posts)), make([]string, len(ch.posts)), make([]int64, len(ch.posts))
		epochs := make([]int64, len(ch.posts))
		for i, p := range ch.posts {
			epochs[i], attrs[i], values[i], maxs[i] = ch.postBID[i]>>epochShift, p.attr, p.value, p.maxT
		}
		_, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}postings p
			USING unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[]) AS x(epoch, attr, value, max_time, block_id)
			WHERE p.epoch = x.epoch AND p.attr = x.attr AND p.value = x.value AND p.max_time = x.max_time AND p.block_id = x.block_id`),
			epochs, attrs, values, maxs, ch.postBID)
		return err
	}
	del := func(query string, n int, args func(i int) []any) error {
		if n == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, s.sql(query))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range n {
			if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return nil
	}
	if err := del(`DELETE FROM {p}blocks WHERE id = ?`, len(ch.blocks), func(i int) []any { return []any{ch.blocks[i]} }); err != nil {
		return err
	}
	for _, tbl := range []string{"ids", "new_ids"} {
		if err := del(`DELETE FROM {p}`+tbl+` WHERE event_id = ?`, len(ch.ids), func(i int) []any { return []any{ch.ids[i]} }); err != nil {
			return err
		}
	}
	return del(`DELETE FROM {p}postings WHERE epoch = ? AND attr = ? AND value = ? AND max_time = ? AND block_id = ?`, len(ch.posts), func(i int) []any {
		p := &ch.posts[i]
		return []any{ch.postBID[i] >> epochShift, p.attr, p.value, p.maxT, ch.postBID[i]}
	})
}
