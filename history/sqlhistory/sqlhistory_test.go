package sqlhistory_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
	"github.com/trailkit/trail/history/sqlhistory"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pg.stop()
	os.Exit(code)
}

// openSQLite opens a new SQLite store in a temporary directory.
func openSQLite(t testing.TB) *sqlhistory.Store {
	t.Helper()
	s, err := sqlhistory.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"), sqlhistory.Options{Dialect: sqlhistory.SQLite})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) trail.HistoryStore { return openSQLite(t) })
}

func TestPostgreSQLConformance(t *testing.T) {
	dsn := postgresDSN(t)
	historytest.Run(t, func(t *testing.T) trail.HistoryStore { return openPostgres(t, dsn) })
}

// testServer is a PostgreSQL server the tests started themselves.
type testServer struct {
	once sync.Once
	dsn  string
	dir  string
	err  error
}

var pg testServer

func (p *testServer) stop() {
	if p.dir != "" {
		_ = exec.Command("bash", "../../.ci/postgres.sh", "stop", p.dir).Run()
	}
}

// postgresDSN returns TRAIL_TEST_POSTGRES_DSN or, when it is unset, starts a
// throw-away server with .ci/postgres.sh (without installing anything); it
// skips the test when neither works.
func postgresDSN(t testing.TB) string {
	if dsn := os.Getenv("TRAIL_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	pg.once.Do(func() {
		cmd := exec.Command("bash", "../../.ci/postgres.sh", "start")
		cmd.Env = append(os.Environ(), "TRAIL_PG_NO_INSTALL=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			pg.err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
			v = strings.ReplaceAll(v, `\`, "") // %q-quoted by bash
			switch k {
			case "TRAIL_TEST_POSTGRES_DSN":
				pg.dsn = v
			case "TRAIL_TEST_POSTGRES_DIR":
				pg.dir = v
			}
		}
	})
	if pg.dsn == "" {
		t.Skipf("PostgreSQL tests skipped: TRAIL_TEST_POSTGRES_DSN is unset and no local server could be started "+
			"(install it with: apt-get install -y postgresql; or run `source .ci/postgres.sh` first): %v", pg.err)
	}
	return pg.dsn
}

var prefixes atomic.Int64

// openPostgres returns a store on tables of its own, dropped when the test
// ends.
func openPostgres(t testing.TB, dsn string) *sqlhistory.Store {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	prefix := fmt.Sprintf("t%d_%d_", time.Now().UnixNano()%1e9, prefixes.Add(1))
	s, err := sqlhistory.New(context.Background(), db, sqlhistory.Options{Dialect: sqlhistory.PostgreSQL, TablePrefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, tbl := range []string{"events", "resources", "blocks", "epochs", "postings", "ids", "new_ids", "meta"} {
			_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + tbl)
		}
		_, _ = db.Exec("DROP SEQUENCE IF EXISTS " + prefix + "block_ids")
		_ = db.Close()
	})
	return s
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s1, err := sqlhistory.Open(ctx, path, sqlhistory.Options{Dialect: sqlhistory.SQLite})
	require.NoError(t, err)
	gen := historytest.NewGenerator(7, time.Now().Add(-time.Hour), time.Second)
	var evs []trail.Event
	for range 30 {
		evs = append(evs, gen.Next())
	}
	require.NoError(t, s1.Append(ctx, evs))
	q := trail.QueryInput{MaxResults: 10}
	page, err := s1.Lookup(ctx, &q)
	require.NoError(t, err)
	require.NoError(t, s1.Close())

	// The schema is kept, and so is the token key: a token of the first
	// store works in the second (as between instances sharing a database).
	s2, err := sqlhistory.Open(ctx, path, sqlhistory.Options{Dialect: sqlhistory.SQLite})
	require.NoError(t, err)
	defer s2.Close()
	q.NextToken = page.NextToken
	page2, err := s2.Lookup(ctx, &q)
	require.NoError(t, err)
	require.Len(t, page2.Events, 10)
	require.True(t, page2.Events[0].EventTime.Before(page.Events[9].EventTime) || page2.Events[0].EventTime.Equal(page.Events[9].EventTime))

	// A schema from the future is refused.
	_, err = s2.DB().Exec(`UPDATE trail_meta SET value = CAST('99' AS BLOB) WHERE name = 'schema_version'`)
	require.NoError(t, err)
	_, err = sqlhistory.New(ctx, s2.DB(), sqlhistory.Options{Dialect: sqlhistory.SQLite})
	require.ErrorIs(t, err, sqlhistory.ErrSchemaTooNew)
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	for _, opts := range []sqlhistory.Options{
		{},
		{Dialect: sqlhistory.SQLite, TablePrefix: "Bad-Prefix"},
		{Dialect: sqlhistory.SQLite, TablePrefix: "x; DROP TABLE y"},
	} {
		_, err := sqlhistory.Open(ctx, filepath.Join(t.TempDir(), "x.db"), opts)
		require.ErrorIs(t, err, sqlhistory.ErrInvalidOptions, "%+v", opts)
	}
}

// TestRecorderWithSQLite wires a store into a recorder.
func TestRecorderWithSQLite(t *testing.T) {
	store := openSQLite(t)
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", History: store})
	require.NoError(t, err)
	ctx := context.Background()
	gen := historytest.NewGenerator(3, time.Now().Add(-time.Hour), time.Second)
	for range 120 {
		ev := gen.Next()
		require.NoError(t, rec.Record(ctx, &ev))
	}
	require.NoError(t, rec.Close(ctx))
	n := 0
	for _, err := range rec.Events(ctx, trail.LookupInput{MaxResults: 50}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 120, n)
}

// TestPageTokenNeverSkipsLateAppends appends events between pages (newer
// ones, some in the cursor's own second that sort before it, some in the
// range already paged through, more than a page of them): with the
// store-assigned sequence in the token, paging returns every event exactly
// once.
func TestPageTokenNeverSkipsLateAppends(t *testing.T) {
	dialects := []struct {
		name string
		open func(t *testing.T) *sqlhistory.Store
	}{
		{"SQLite", func(t *testing.T) *sqlhistory.Store { return openSQLite(t) }},
		{"PostgreSQL", func(t *testing.T) *sqlhistory.Store { return openPostgres(t, postgresDSN(t)) }},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			ctx := context.Background()
			t0 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
			mk := func(prefix string, i int, at time.Time) trail.Event {
				return trail.Event{EventID: fmt.Sprintf("%s-%08d-0000-4000-8000-000000000000", prefix, i), EventTime: at,
					EventSource: "orders.example.com", EventName: "CreateOrder", EventCategory: "Management", ReadOnly: trail.Bool(false),
					UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: "alice"}, AWSRegion: "us-east-1", RecipientAccountID: "111122223333"}
			}
			var first []trail.Event
			for i := range 120 {
				first = append(first, mk("0000aaaa", i, t0.Add(-time.Duration(i/3)*time.Second)))
			}
			require.NoError(t, s.Append(ctx, first))
			want := map[string]bool{}
			for _, e := range first {
				want[e.EventID] = true
			}
			q := trail.QueryInput{MaxResults: 10}
			got := map[string]int{}
			late := 0
			for pages := 0; ; pages++ {
				page, err := s.Lookup(ctx, &q)
				require.NoError(t, err)
				for _, e := range page.Events {
					got[e.EventID]++
				}
				if page.NextToken == "" {
					break
				}
				last := page.Events[len(page.Events)-1]
				if pages < 5 {
					// Late: the cursor's second (sorting before it), the
					// range already paged, newer than everything; 14 > a page.
					var evs []trail.Event
					for j := range 14 {
						at := []time.Time{last.EventTime, last.EventTime.Add(2 * time.Second), t0.Add(time.Minute)}[j%3]
						evs = append(evs, mk(fmt.Sprintf("%08x", 0xffff0000+pages), j, at))
					}
					require.NoError(t, s.Append(ctx, evs))
					for _, e := range evs {
						want[e.EventID] = true
					}
					late += len(evs)
				}
				q.NextToken = page.NextToken
			}
			for id := range want {
				assert.Equal(t, 1, got[id], "event %s returned %d times", id, got[id])
			}
			assert.Len(t, got, len(want))
			t.Logf("%d events, %d appended between pages: all returned once", len(want), late)
		})
	}
}
