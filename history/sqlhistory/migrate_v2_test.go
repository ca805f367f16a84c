package sqlhistory

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
)

// TestMigrateV2 opens a version 2 database whose postings hold long values
// and values starting with the bounded form's marker as version 2 stored
// them (raw): version 3 rewrites them, and lookups by those values find
// exactly their events.
func TestMigrateV2(t *testing.T) { onBothDialects(t, "mig2_", testMigrateV2) }

func testMigrateV2(t *testing.T, db *sql.DB, d Dialect, prefix string) {
	ctx := context.Background()
	old := &Store{db: db, d: d, p: prefix}
	key, err := old.migrateTo(ctx, 2)
	require.NoError(t, err)
	old.tokens = trail.NewPageTokens(key)
	// Values version 2 stored raw but version 3 does not: within what
	// PostgreSQL version 2 could index (2,048 bytes and more only on
	// SQLite), and the marker first.
	values := map[int]string{
		1: "\x02marker first",
		2: strings.Repeat("é", 1025), // 2,050 bytes
		3: strings.Repeat("a", 1999) + "\x02",
		4: "plain",
	}
	if d == SQLite {
		values[5] = strings.Repeat("x", 1990) + strings.Repeat("é", 10) // 2,010 bytes
		values[6] = strings.Repeat("é", 1999)
	}
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var evs []trail.Event
	for i := range 10 {
		ev := trail.Event{EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EventTime: base.Add(time.Duration(i) * time.Second),
			EventSource: "orders.example.com", EventName: "Op", EventType: trail.EventTypeAPICall,
			EventCategory: trail.CategoryManagement, AWSRegion: "us-east-1", RecipientAccountID: "111122223333"}
		if v, ok := values[i]; ok {
			ev.UserIdentity = trail.UserIdentity{Type: "IAMUser", UserName: v}
		}
		evs = append(evs, ev)
	}
	require.NoError(t, old.Append(ctx, evs))
	// Append wrote the version 3 forms: put back what version 2 wrote.
	for _, v := range values {
		if postingValue(v) == postingValueV2(v) {
			continue
		}
		res, err := db.ExecContext(ctx, old.sql(`UPDATE {p}postings SET value = `+old.ph(1)+` WHERE value = `+old.ph(2)), postingValueV2(v), postingValue(v))
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	}
	s, err := New(ctx, db, Options{Dialect: d, TablePrefix: prefix})
	require.NoError(t, err)
	var ver []byte
	require.NoError(t, db.QueryRow(old.sql(`SELECT value FROM {p}meta WHERE name = 'schema_version'`)).Scan(&ver))
	assert.Equal(t, "3", string(ver))
	for i, v := range values {
		page, err := s.Lookup(ctx, &trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: v}}, MaxResults: 50})
		require.NoError(t, err)
		if assert.Len(t, page.Events, 1, "event %d (%d bytes)", i, len(v)) {
			assert.Equal(t, evs[i].EventID, page.Events[0].EventID)
		}
	}
	var long int
	require.NoError(t, db.QueryRow(old.sql(`SELECT COUNT(*) FROM {p}postings WHERE length(value) > `+old.ph(1)), maxPostingValue).Scan(&long))
	assert.Zero(t, long, "no posting over maxPostingValue characters")
}
