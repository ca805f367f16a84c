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
				// A 12 KB random resource name: larger than PostgreSQL's
				// largest B-tree index row (about 2.7 KB), so the posting
				// insert fails there; SQLite takes it.
				big := make([]byte, 6000)
				_, _ = rand.Read(big)
				evs[63].Resources = []trail.Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::b/" + hex.EncodeToString(big)}}
				err := s.Append(ctx, evs)
				t.Logf("Append: %v", err)
				all := lookupAll(t, s)
				if err == nil {
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
		})
	}
}
