package sqlhistory_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/sqlhistory"
)

// hundred returns 100 events, one second apart, with distinct IDs.
func hundred() []trail.Event {
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	evs := make([]trail.Event, 100)
	for i := range evs {
		evs[i] = trail.Event{
			EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), EventTime: base.Add(time.Duration(i) * time.Second),
			EventSource: "orders.example.com", EventName: "Op", EventType: trail.EventTypeAPICall,
			EventCategory: trail.CategoryManagement, AWSRegion: "us-east-1", RecipientAccountID: "111122223333",
			UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: fmt.Sprintf("user-%d", i)},
		}
	}
	return evs
}

// recorded is what a log file records for s (trail's encoder and decoding).
func recorded(s string) string {
	var ev trail.Event
	e := trail.Event{UserIdentity: trail.UserIdentity{UserName: s}}
	if err := json.Unmarshal(e.AppendJSON(nil), &ev); err != nil {
		panic(err)
	}
	return ev.UserIdentity.UserName
}

func lookupAll(t *testing.T, s trail.HistoryStore, attrs ...trail.LookupAttribute) []trail.Event {
	t.Helper()
	var out []trail.Event
	q := &trail.QueryInput{LookupAttributes: attrs, MaxResults: trail.MaxQueryResults}
	for {
		page, err := s.Lookup(context.Background(), q)
		require.NoError(t, err)
		out = append(out, page.Events...)
		if page.NextToken == "" {
			return out
		}
		q.NextToken = page.NextToken
	}
}

// TestBadEventsAreIsolated, for both dialects: values PostgreSQL text cannot
// hold are stored without loss (a NUL among 100 events: all 100 kept, the
// NUL found byte for byte by lookup); an event the database refuses or that
// has no ID is refused alone and reported, the other 99 kept.
func TestBadEventsAreIsolated(t *testing.T) {
	stores := map[string]func(t *testing.T) *sqlhistory.Store{
		"SQLite":     func(t *testing.T) *sqlhistory.Store { return openSQLite(t) },
		"PostgreSQL": func(t *testing.T) *sqlhistory.Store { return openPostgres(t, postgresDSN(t)) },
	}
	hostile := map[string]string{
		"NUL":               "ali\x00ce",
		"invalid UTF-8":     "bob\xff\xfe",
		"escape marker":     "\x01carol",
		"NUL only":          "\x00",
		"lone surrogate":    "\xed\xa0\x80",
		"valid, like ours":  "\x0141",
		"plain after above": "dave",
	}
	ctx := context.Background()
	for dialect, open := range stores {
		t.Run(dialect, func(t *testing.T) {
			for name, user := range hostile {
				t.Run("stored without loss/"+name, func(t *testing.T) {
					s := open(t)
					evs := hundred()
					evs[42].UserIdentity.UserName = user
					evs[42].Resources = []trail.Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::b/" + user}}
					require.NoError(t, s.Append(ctx, evs))
					assert.Len(t, lookupAll(t, s), 100, "every event kept")
					got := lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupUsername, Value: user})
					require.Len(t, got, 1)
					assert.Equal(t, evs[42].EventID, got[0].EventID)
					// As the log file records it: byte for byte, except that
					// bytes that are not UTF-8 read as U+FFFD there and here.
					assert.Equal(t, strings.ToValidUTF8(user, "\uFFFD") == user, got[0].UserIdentity.UserName == user)
					assert.Equal(t, recorded(user), got[0].UserIdentity.UserName)
					assert.Len(t, lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupResourceName, Value: "arn:aws:s3:::b/" + user}), 1)
					assert.Len(t, lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupUsername, Value: "user-41"}), 1)
				})
			}
			t.Run("refused alone", func(t *testing.T) {
				s := open(t)
				evs := hundred()
				evs[7].EventID = ""
				err := s.Append(ctx, evs)
				var ee *sqlhistory.EventError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, 7, ee.Index)
				var ve *trail.ValidationError
				assert.ErrorAs(t, err, &ve)
				assert.Len(t, lookupAll(t, s), 99, "the other 99 kept")
			})
			t.Run("a value the database refuses costs only its event", func(t *testing.T) {
				s := open(t)
				evs := hundred()
				// A 12 KB random event ID (recorders write UUIDs): larger than
				// PostgreSQL's largest B-tree index row (about 2.7 KB), so the
				// ids insert fails there; SQLite takes it.
				big := make([]byte, 6000)
				_, _ = rand.Read(big)
				evs[63].EventID = hex.EncodeToString(big)
				err := s.Append(ctx, evs)
				all := lookupAll(t, s)
				if err == nil {
					assert.Equal(t, "SQLite", dialect)
					assert.Len(t, all, 100)
					return
				}
				var ee *sqlhistory.EventError
				require.ErrorAs(t, err, &ee, "%v", err)
				assert.Equal(t, 63, ee.Index)
				assert.Equal(t, evs[63].EventID, ee.EventID)
				assert.Len(t, all, 99, "the other 99 kept")
				assert.False(t, errors.Is(err, context.Canceled))
			})
			t.Run("long values stored and found exactly", func(t *testing.T) {
				s := open(t)
				evs := hundred()
				random := make([]byte, 6000)
				_, _ = rand.Read(random)
				long := hex.EncodeToString(random) // 12 KB of hex
				e1990 := strings.Repeat("é", 1990)
				// Over PostgreSQL's largest B-tree index row (about 2.7 KB)
				// as they are or once escaped, and pairs that share their
				// first kilobytes so that only the full value tells them
				// apart. Lookups take values of up to 2,000 characters.
				findable := map[int]string{
					10: e1990 + "a",                     // 3,981 bytes
					11: e1990 + "b",                     // differs in the last byte only
					12: strings.Repeat("é", 1024),       // 2,048 bytes: the bound, stored as it is
					13: strings.Repeat("é", 1024) + "a", // one byte over
					14: long[:1500] + "\x00a",           // escaped (3 KB), then bounded
					15: long[:1500] + "\x00b",
					16: "\x02" + long[:1999], // starts with the bounded form's marker
					17: long[:2000],          // the longest lookup value, ASCII
				}
				// Longer than any lookup value: stored without loss all the
				// same (found by event ID, their values intact).
				kept := map[int]string{
					20: "arn:aws:s3:::b/" + long,
					21: "arn:aws:s3:::b/" + long[:len(long)-1] + "x\x00",
				}
				for _, m := range []map[int]string{findable, kept} {
					for i, v := range m {
						evs[i].Resources = []trail.Resource{{Type: "AWS::S3::Object", ARN: v}}
						evs[i].UserIdentity.UserName = v
					}
				}
				require.NoError(t, s.Append(ctx, evs))
				assert.Len(t, lookupAll(t, s), 100, "every event kept")
				for i, v := range findable {
					for _, key := range []trail.LookupAttributeKey{trail.LookupResourceName, trail.LookupUsername} {
						got := lookupAll(t, s, trail.LookupAttribute{Key: key, Value: v})
						if assert.Len(t, got, 1, "%s of event %d (%d bytes)", key, i, len(v)) {
							assert.Equal(t, evs[i].EventID, got[0].EventID)
							assert.Equal(t, recorded(v), got[0].UserIdentity.UserName)
						}
					}
				}
				for i, v := range kept {
					got := lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupEventID, Value: evs[i].EventID})
					if assert.Len(t, got, 1) {
						assert.Equal(t, recorded(v), got[0].UserIdentity.UserName)
						assert.Equal(t, recorded(v), got[0].Resources[0].ARN)
					}
				}
				for _, v := range []string{e1990 + "c", long[:1500] + "\x00c", strings.Repeat("é", 1024) + "b"} {
					assert.Empty(t, lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupResourceName, Value: v}), "a long value no event has")
				}
				// Prune removes their postings with the events.
				pruned, err := s.Prune(ctx, time.Now())
				require.NoError(t, err)
				assert.Equal(t, 100, pruned)
				assert.Empty(t, lookupAll(t, s, trail.LookupAttribute{Key: trail.LookupResourceName, Value: findable[10]}))
			})
		})
	}
}
