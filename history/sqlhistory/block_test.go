package sqlhistory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
)

// testBlock returns the compressed head and data of a block of n
// generated events, and the events.
func testBlock(n int) (zhead, zdata []byte, evs []trail.Event) {
	gen := historytest.NewGenerator(5, time.Now().Add(-time.Hour), time.Second)
	h := &head{}
	var data []byte
	for range n {
		ev := gen.Next()
		rec := ev.AppendJSON(nil)
		h.addEvent(&ev, len(rec))
		data = append(data, rec...)
		evs = append(evs, ev)
	}
	b := h.block(data)
	return b.head, b.data, evs
}

func TestBlockRoundTrip(t *testing.T) {
	zhead, zdata, evs := testBlock(40)
	h, err := decodeHead(zhead)
	require.NoError(t, err)
	data, err := h.decodeData(zdata)
	require.NoError(t, err)
	require.Len(t, h.entries, len(evs))
	for i := range h.entries {
		e := &h.entries[i]
		ev := &evs[i]
		require.Equal(t, ev.EventID, e.id)
		require.Equal(t, ev.EventTime.Unix(), e.t)
		require.Equal(t, string(ev.AppendJSON(nil)), string(data[e.off:e.off+e.n]))
		for _, key := range []trail.LookupAttributeKey{trail.LookupEventName, trail.LookupEventSource, trail.LookupUsername,
			trail.LookupAccessKeyID, trail.LookupReadOnly, trail.LookupEventCategory, trail.LookupErrorCode} {
			for _, other := range evs[:5] {
				var v string
				switch key {
				case trail.LookupEventName:
					v = other.EventName
				case trail.LookupEventSource:
					v = other.EventSource
				case trail.LookupUsername:
					v = other.LookupUsername()
				case trail.LookupAccessKeyID:
					v = other.UserIdentity.AccessKeyID
				case trail.LookupReadOnly:
					v = "true"
				case trail.LookupEventCategory:
					v = other.EventCategory
				case trail.LookupErrorCode:
					v = "AccessDenied"
				}
				require.Equal(t, ev.HasLookupValue(key, v), h.has(e, key, v), "%s=%s", key, v)
			}
		}
		for _, r := range ev.Resources {
			require.True(t, h.has(e, trail.LookupResourceType, r.Type))
			require.True(t, h.has(e, trail.LookupResourceName, r.ARN))
		}
	}
}

// FuzzDecodeBlock feeds arbitrary stored bytes to the block decoders: they
// must fail cleanly, never panic.
func FuzzDecodeBlock(f *testing.F) {
	zhead, zdata, _ := testBlock(3)
	raw, _ := s2.Decode(nil, zhead)
	f.Add(zhead, zdata, false)
	f.Add(raw, zdata, true)
	f.Add([]byte{headFormat, 1, 2, 0, 0}, []byte{}, true)
	f.Add([]byte{}, []byte{}, false)
	f.Fuzz(func(t *testing.T, hb, db []byte, rawHead bool) {
		var (
			h   *head
			err error
		)
		if rawHead {
			h, err = parseHead(hb)
		} else {
			h, err = decodeHead(hb)
		}
		if err != nil {
			return
		}
		for i := range h.entries {
			e := &h.entries[i]
			for _, k := range []trail.LookupAttributeKey{trail.LookupResourceType, trail.LookupResourceName, trail.LookupReadOnly} {
				h.has(e, k, "x")
			}
		}
		_ = h.postings()
		for i := range h.segs {
			seg, off, err := h.segment(db, i)
			if err != nil {
				continue
			}
			for _, e := range h.entries[i*segmentEvents : min((i+1)*segmentEvents, len(h.entries))] {
				if e.off < off || e.off-off+e.n > len(seg) {
					t.Fatalf("record %d+%d outside segment %d at %d (%d bytes)", e.off, e.n, i, off, len(seg))
				}
				var ev trail.Event
				_ = json.Unmarshal(seg[e.off-off:e.off-off+e.n], &ev)
			}
		}
		data, err := h.decodeData(db)
		if err != nil {
			return
		}
		for _, e := range h.entries {
			var ev trail.Event
			_ = json.Unmarshal(data[e.off:e.off+e.n], &ev)
		}
	})
}

// TestMigrateV1 fills a version 1 database and opens it: the events move
// to blocks and the old tables go.
func TestMigrateV1(t *testing.T) { onBothDialects(t, "mig", testMigrateV1) }

// onBothDialects runs test on a new SQLite database and, when
// TRAIL_TEST_POSTGRES_DSN is set, on PostgreSQL tables of a new prefix
// that starts with base (dropped afterwards). test gets the database, its
// dialect and the table prefix to use.
func onBothDialects(t *testing.T, base string, test func(t *testing.T, db *sql.DB, d Dialect, prefix string)) {
	t.Run("SQLite", func(t *testing.T) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "history.db")+"?_txlock=immediate")
		require.NoError(t, err)
		defer db.Close()
		test(t, db, SQLite, "trail_")
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := os.Getenv("TRAIL_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("skipping: TRAIL_TEST_POSTGRES_DSN is unset; start a server with: source .ci/postgres.sh (installs it with apt-get install -y postgresql)")
		}
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer db.Close()
		prefix := fmt.Sprintf("%s%d_", base, time.Now().UnixNano()%1e9)
		defer func() {
			for _, tbl := range []string{"events", "resources", "blocks", "epochs", "postings", "ids", "new_ids", "meta"} {
				_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + tbl)
			}
			_, _ = db.Exec("DROP SEQUENCE IF EXISTS " + prefix + "block_ids")
		}()
		test(t, db, PostgreSQL, prefix)
	})
}

func testMigrateV1(t *testing.T, db *sql.DB, d Dialect, prefix string) {
	ctx := context.Background()
	old := &Store{db: db, d: d, p: prefix}
	_, err := old.migrateTo(ctx, 1)
	require.NoError(t, err)
	gen := historytest.NewGenerator(9, time.Now().Add(-time.Hour), 100*time.Millisecond)
	var evs []trail.Event
	for range 2500 {
		evs = append(evs, gen.Next())
	}
	// One transaction for the v1 rows: 2,500 autocommits (each a sync) took
	// tens of seconds on a busy machine.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	ph := make([]string, 10)
	for i := range ph {
		ph[i] = old.ph(i + 1)
	}
	insert := old.sql(`INSERT INTO {p}events (event_id, event_time, event_name, event_source, username, access_key_id,
		read_only, event_category, error_code, record) VALUES (` + strings.Join(ph, ",") + `)`)
	for i := range evs {
		ev := &evs[i]
		_, err := tx.ExecContext(ctx, insert,
			ev.EventID, ev.EventTime.Unix(), ev.EventName, ev.EventSource, ev.LookupUsername(), ev.UserIdentity.AccessKeyID,
			ev.IsReadOnly(), ev.EventCategory, ev.ErrorCode, string(ev.AppendJSON(nil)))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	s, err := New(ctx, db, Options{Dialect: d, TablePrefix: prefix})
	require.NoError(t, err)
	var n int
	_, err = db.Exec(old.sql(`SELECT 1 FROM {p}events`))
	require.Error(t, err, "v1 tables dropped")
	require.NoError(t, db.QueryRow(old.sql(`SELECT SUM(n) FROM {p}blocks`)).Scan(&n))
	require.Equal(t, len(evs), n)

	name := evs[100].EventName
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: name}}, MaxResults: 1000}
	var want []string
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].EventName == name {
			want = append(want, evs[i].EventID)
		}
	}
	var got []trail.Event
	for {
		page, err := s.Lookup(ctx, &q)
		require.NoError(t, err)
		got = append(got, page.Events...)
		if page.NextToken == "" {
			break
		}
		q.NextToken = page.NextToken
	}
	require.ElementsMatch(t, want, idsOf(got))
	for i := 1; i < len(got); i++ {
		require.False(t, got[i].EventTime.After(got[i-1].EventTime), "newest first")
	}
	// Appending a migrated event again does nothing.
	require.NoError(t, s.Append(ctx, evs[:10]))
	require.NoError(t, db.QueryRow(old.sql(`SELECT SUM(n) FROM {p}blocks`)).Scan(&n))
	require.Equal(t, len(evs), n)
}

func idsOf(evs []trail.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = evs[i].EventID
	}
	return out
}

// TestMergeIDs appends enough blocks for new_ids to be merged into ids a
// few times, and checks idempotency, EventId lookups and pruning across
// both tables.
func TestMergeIDs(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_txlock=immediate")
	require.NoError(t, err)
	defer db.Close()
	s, err := New(ctx, db, Options{Dialect: SQLite})
	require.NoError(t, err)
	gen := historytest.NewGenerator(3, time.Now().Add(-2*time.Hour), time.Second)
	var evs []trail.Event
	for range 1500 {
		evs = append(evs, gen.Next())
	}
	for i := 0; i < len(evs); i += 10 {
		require.NoError(t, s.Append(ctx, evs[i:i+10]))
	}
	count := func(tbl string) int {
		var n int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM trail_`+tbl).Scan(&n))
		return n
	}
	require.Equal(t, 150, count("blocks"))
	require.Equal(t, 1280, count("ids"), "merged at blocks 64 and 128")
	require.Equal(t, 220, count("new_ids"))
	// Appending everything again, in other batches, stores nothing.
	for i := 0; i < len(evs); i += 300 {
		require.NoError(t, s.Append(ctx, evs[i:i+300]))
	}
	require.Equal(t, 1500, count("ids")+count("new_ids"))
	var n int
	require.NoError(t, db.QueryRow(`SELECT SUM(n) FROM trail_blocks`).Scan(&n))
	require.Equal(t, 1500, n)
	for _, i := range []int{0, 700, 1499} {
		page, err := s.Lookup(ctx, &trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventID, Value: evs[i].EventID}}})
		require.NoError(t, err)
		require.Len(t, page.Events, 1)
		require.Equal(t, evs[i].EventID, page.Events[0].EventID)
	}
	// Prune the older half: its IDs go from both tables.
	cut := evs[750].EventTime
	want := 0
	for i := range evs {
		if evs[i].EventTime.Before(cut) {
			want++
		}
	}
	pruned, err := s.Prune(ctx, cut)
	require.NoError(t, err)
	require.Equal(t, want, pruned)
	require.Equal(t, 1500-want, count("ids")+count("new_ids"))
	require.NoError(t, s.Append(ctx, evs[:10])) // pruned events may come back
	require.Equal(t, 1500-want+10, count("ids")+count("new_ids"))
}
