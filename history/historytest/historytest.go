// Package historytest is a conformance kit for trail.HistoryStore
// implementations, in the manner of testing/slogtest: a store passes when
// Run reports no failures.
//
//	func TestConformance(t *testing.T) {
//		historytest.Run(t, func(t *testing.T) trail.HistoryStore {
//			return mystore.New(…) // empty, private to this subtest
//		})
//	}
//
// Run checks every lookup attribute (and the extra keys of Query), the
// Username rules, several attributes at once, the error filter, inclusive
// time ranges and their rounding to seconds, history order (newest first,
// event ID descending within a second), page sizes and their clamping,
// paging that stays consistent while events are appended and pruned,
// invalid and foreign page tokens, idempotent appends, records that come
// back intact, pruning (for stores that implement trail.Pruner), and
// concurrent appends and lookups (run it with -race).
//
// The package also has Generator, which makes realistic synthetic events for
// benchmarks, and BenchAppend, the body of an append benchmark.
package historytest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

// Run runs the conformance suite. newStore must return a new, empty store
// for every call (each subtest calls it); stores made by different calls
// must not accept each other's page tokens. Cleanup is the caller's (use
// t.Cleanup inside newStore).
func Run(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) trail.HistoryStore)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"Order", testOrder},
		{"Attributes", testAttributes},
		{"Username", testUsername},
		{"MultipleAttributes", testMultipleAttributes},
		{"Errors", testErrors},
		{"TimeRange", testTimeRange},
		{"PageSize", testPageSize},
		{"Paging", testPaging},
		{"ConsistentAfterInsert", testConsistentAfterInsert},
		{"ConsistentAfterPrune", testConsistentAfterPrune},
		{"InvalidToken", testInvalidToken},
		{"InvalidQuery", testInvalidQuery},
		{"Idempotent", testIdempotent},
		{"Prune", testPrune},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

// base is the time of the fixture's newest regular event: recent, so that
// stores with a retention window keep every event.
func base() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour) }

// uuidN returns a deterministic lower-case UUID.
func uuidN(prefix uint32, n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", prefix, n>>16&0xffff, n>>8&0xfff, n&0xfff, n)
}

// fixture returns n events, one every 7 seconds going back from base, with
// ties (every fifth event shares its predecessor's second), three users of
// each identity type, several sources, names, resources and errors.
func fixture(n int) []trail.Event {
	t0 := base()
	users := []trail.UserIdentity{
		{Type: "IAMUser", PrincipalID: "AIDAEXAMPLE000000001", ARN: "arn:aws:iam::111122223333:user/alice",
			AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLE000000001", UserName: "alice"},
		{Type: "IAMUser", PrincipalID: "AIDAEXAMPLE000000002", ARN: "arn:aws:iam::111122223333:user/bob",
			AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLE000000002", UserName: "bob"},
		{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root",
			AccountID: "111122223333", AccessKeyID: "ASIAEXAMPLEROOT00001"},
		{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE000000001:carol@example.com",
			ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/carol@example.com", AccountID: "111122223333",
			AccessKeyID: "ASIAEXAMPLE000000003",
			SessionContext: &trail.SessionContext{
				SessionIssuer: &trail.SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLE000000001",
					ARN: "arn:aws:iam::111122223333:role/Deployer", AccountID: "111122223333", UserName: "Deployer"},
				WebIDFederationData: &trail.WebIDFederationData{},
				Attributes:          &trail.SessionAttributes{CreationDate: "2025-01-02T03:00:00Z", MFAAuthenticated: "false"},
			}},
		{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"},
	}
	sources := []string{"orders.example.com", "payments.example.com", "iam.amazonaws.com"}
	names := []string{"CreateOrder", "GetOrder", "ListOrders", "DeleteOrder", "CreateUser", "Pay", "Refund"}
	out := make([]trail.Event, n)
	sec := 0
	for i := range out {
		if i%5 != 4 {
			sec += 7
		}
		ev := trail.Event{
			EventVersion:       "1.11",
			UserIdentity:       users[i%len(users)],
			EventTime:          t0.Add(-time.Duration(sec) * time.Second),
			EventSource:        sources[i%len(sources)],
			EventName:          names[i%len(names)],
			AWSRegion:          "us-east-1",
			SourceIPAddress:    "198.51.100.7",
			UserAgent:          "aws-cli/2.15.0",
			RequestParameters:  []byte(fmt.Sprintf(`{"orderId":"o-%d","note":"x y"}`, i)),
			RequestID:          uuidN(0xaaaa0000, i),
			EventID:            uuidN(uint32(0x10000000+(i*2654435761)%0x0fffffff), i),
			ReadOnly:           trail.Bool(i%3 == 1),
			EventType:          trail.EventTypeAPICall,
			ManagementEvent:    trail.Bool(true),
			RecipientAccountID: "111122223333",
			EventCategory:      trail.CategoryManagement,
		}
		if i%4 == 0 {
			ev.ResponseElements = []byte(`{"status":"OK"}`)
		}
		switch i % 6 {
		case 0:
			ev.Resources = []trail.Resource{{AccountID: "111122223333", Type: "Example::Orders::Order", ARN: fmt.Sprintf("arn:aws:orders:us-east-1:111122223333:order/o-%d", i%10)}}
		case 1:
			ev.Resources = []trail.Resource{
				{Type: "Example::Orders::Order", ARN: "arn:aws:orders:us-east-1:111122223333:order/shared"},
				{Type: "AWS::KMS::Key", ARN: "arn:aws:kms:us-east-1:111122223333:key/k1"},
			}
		case 2:
			ev.Resources = []trail.Resource{{ARN: "arn:aws:orders:us-east-1:111122223333:order/untyped"}}
		}
		if i%11 == 3 {
			ev.ErrorCode = []string{"AccessDenied", "ValidationException"}[i%2]
			ev.ErrorMessage = "denied"
		}
		if i%13 == 5 {
			ev.EventCategory = trail.CategoryData
			ev.ManagementEvent = trail.Bool(false)
		}
		if i%17 == 9 {
			ev.TLSDetails = &trail.TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "orders.example.com"}
			ev.Addendum = &trail.Addendum{Reason: "DELIVERY_DELAY"}
		}
		out[i] = ev
	}
	return out
}

// cmpHistory orders events as history does: newest first, then eventID
// descending.
func cmpHistory(a, b *trail.Event) int {
	if c := b.EventTime.Compare(a.EventTime); c != 0 {
		return c
	}
	return cmp.Compare(b.EventID, a.EventID)
}

// expect returns the IDs of the events of all that q matches, in history
// order.
func expect(all []trail.Event, q trail.QueryInput) []string {
	now := time.Now()
	lo, hi := q.TimeBounds(now)
	var evs []*trail.Event
	for i := range all {
		ev := &all[i]
		if t := ev.EventTime.Unix(); t < lo || t > hi || !q.Match(ev) {
			continue
		}
		evs = append(evs, ev)
	}
	slices.SortFunc(evs, cmpHistory)
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.EventID
	}
	return ids
}

func ids(evs []trail.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = evs[i].EventID
	}
	return out
}

func appendAll(t *testing.T, s trail.HistoryStore, evs []trail.Event) {
	t.Helper()
	ctx := context.Background()
	for len(evs) > 0 {
		n := min(len(evs), 97)
		require.NoError(t, s.Append(ctx, evs[:n]))
		evs = evs[n:]
	}
}

// all pages through q and returns every event, checking the page
// invariants on the way.
func all(t *testing.T, s trail.HistoryStore, q trail.QueryInput) []trail.Event {
	t.Helper()
	var out []trail.Event
	for range 100000 {
		page, err := s.Lookup(context.Background(), &q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Events), q.PageSize(), "page larger than the page size")
		if page.NextToken != "" {
			require.Len(t, page.Events, q.PageSize(), "a page with a NextToken must be full")
		}
		out = append(out, page.Events...)
		if page.NextToken == "" {
			return out
		}
		q.NextToken = page.NextToken
	}
	t.Fatal("paging does not end")
	return nil
}

func newWith(t *testing.T, newStore func(t *testing.T) trail.HistoryStore, evs []trail.Event) trail.HistoryStore {
	t.Helper()
	s := newStore(t)
	appendAll(t, s, evs)
	return s
}

func testEmpty(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	s := newStore(t)
	page, err := s.Lookup(context.Background(), &trail.QueryInput{})
	require.NoError(t, err)
	require.Empty(t, page.Events)
	require.Empty(t, page.NextToken)
	require.NoError(t, s.Append(context.Background(), nil))
}

func testRoundTrip(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(40)
	s := newWith(t, newStore, evs)
	byID := map[string]*trail.Event{}
	for i := range evs {
		byID[evs[i].EventID] = &evs[i]
	}
	got := all(t, s, trail.QueryInput{MaxResults: 1000})
	require.Len(t, got, len(evs))
	for i := range got {
		want := byID[got[i].EventID]
		require.NotNil(t, want, "unknown event %s", got[i].EventID)
		require.Equal(t, string(want.AppendJSON(nil)), string(got[i].AppendJSON(nil)), "record changed in the store")
	}
}

func testOrder(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(120)
	// Ten events in one second, appended in scrambled order.
	t0 := base().Add(time.Minute)
	for i := range 10 {
		ev := fixture(1)[0]
		ev.EventTime = t0
		ev.EventID = uuidN(uint32(0x50000000+(i*7919)%97), 1000+i)
		evs = append(evs, ev)
	}
	rev := slices.Clone(evs)
	slices.Reverse(rev)
	s := newWith(t, newStore, rev)
	got := all(t, s, trail.QueryInput{MaxResults: 7})
	require.Equal(t, expect(evs, trail.QueryInput{}), ids(got), "want newest first, event ID descending within a second")
}

func testAttributes(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(300)
	s := newWith(t, newStore, evs)
	tests := []struct {
		key   trail.LookupAttributeKey
		value string
		min   int // at least this many matches in the fixture
	}{
		{trail.LookupEventID, evs[17].EventID, 1},
		{trail.LookupEventName, "CreateOrder", 40},
		{trail.LookupEventName, "Refund", 40},
		{trail.LookupEventName, "NoSuchName", 0},
		{trail.LookupReadOnly, "true", 90},
		{trail.LookupReadOnly, "false", 190},
		{trail.LookupUsername, "alice", 50},
		{trail.LookupUsername, "root", 50},
		{trail.LookupUsername, "carol@example.com", 50},
		{trail.LookupUsername, "Deployer", 0},
		{trail.LookupResourceType, "Example::Orders::Order", 90},
		{trail.LookupResourceType, "AWS::KMS::Key", 45},
		{trail.LookupResourceName, "arn:aws:orders:us-east-1:111122223333:order/shared", 45},
		{trail.LookupResourceName, "arn:aws:orders:us-east-1:111122223333:order/o-4", 4},
		{trail.LookupResourceName, "arn:aws:orders:us-east-1:111122223333:order/untyped", 45},
		{trail.LookupEventSource, "payments.example.com", 90},
		{trail.LookupAccessKeyID, "AKIAEXAMPLE000000002", 50},
		{trail.LookupAccessKeyID, "AKIAEXAMPLE999999999", 0},
		{trail.LookupEventCategory, trail.CategoryData, 20},
		{trail.LookupEventCategory, trail.CategoryManagement, 250},
		{trail.LookupErrorCode, "AccessDenied", 10},
	}
	for _, tt := range tests {
		t.Run(string(tt.key)+"="+tt.value, func(t *testing.T) {
			q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: tt.key, Value: tt.value}}, MaxResults: 13}
			want := expect(evs, q)
			require.GreaterOrEqual(t, len(want), tt.min, "fixture")
			got := all(t, s, q)
			require.Equal(t, want, ids(got))
			for i := range got {
				require.True(t, got[i].HasLookupValue(tt.key, tt.value))
			}
		})
	}
}

func testUsername(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(10)
	evs[0].UserIdentity = trail.UserIdentity{Type: "FederatedUser", PrincipalID: "111122223333:dave",
		ARN: "arn:aws:sts::111122223333:federated-user/dave", AccountID: "111122223333"}
	s := newWith(t, newStore, evs)
	for _, name := range []string{"alice", "root", "carol@example.com", "dave", "lambda.amazonaws.com"} {
		q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: name}}}
		got := all(t, s, q)
		require.NotEmpty(t, got, name)
		require.Equal(t, expect(evs, q), ids(got), name)
		for i := range got {
			require.Equal(t, name, got[i].LookupUsername())
		}
	}
}

func testMultipleAttributes(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(300)
	s := newWith(t, newStore, evs)
	tests := [][]trail.LookupAttribute{
		{{Key: trail.LookupEventName, Value: "CreateOrder"}, {Key: trail.LookupReadOnly, Value: "false"}},
		{{Key: trail.LookupUsername, Value: "alice"}, {Key: trail.LookupEventSource, Value: "orders.example.com"}},
		{{Key: trail.LookupResourceType, Value: "Example::Orders::Order"}, {Key: trail.LookupResourceType, Value: "AWS::KMS::Key"}},
		{{Key: trail.LookupResourceName, Value: "arn:aws:kms:us-east-1:111122223333:key/k1"}, {Key: trail.LookupEventName, Value: "GetOrder"}},
		{{Key: trail.LookupEventName, Value: "CreateOrder"}, {Key: trail.LookupEventName, Value: "GetOrder"}},
		{{Key: trail.LookupEventID, Value: evs[9].EventID}, {Key: trail.LookupEventName, Value: evs[9].EventName}},
		{{Key: trail.LookupEventID, Value: evs[9].EventID}, {Key: trail.LookupEventName, Value: evs[10].EventName}},
		{{Key: trail.LookupErrorCode, Value: "ValidationException"}, {Key: trail.LookupReadOnly, Value: "true"}},
		{{Key: trail.LookupEventCategory, Value: trail.CategoryData}, {Key: trail.LookupAccessKeyID, Value: "ASIAEXAMPLEROOT00001"}},
	}
	for i, attrs := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			q := trail.QueryInput{LookupAttributes: attrs, MaxResults: 9}
			require.Equal(t, expect(evs, q), ids(all(t, s, q)))
		})
	}
}

func testErrors(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(200)
	s := newWith(t, newStore, evs)
	for _, f := range []trail.ErrorFilter{trail.AnyOutcome, trail.OnlyErrors, trail.NoErrors} {
		q := trail.QueryInput{Errors: f, MaxResults: 50}
		want := expect(evs, q)
		require.NotEmpty(t, want)
		require.Equal(t, want, ids(all(t, s, q)), "filter %d", f)
	}
	q := trail.QueryInput{Errors: trail.OnlyErrors, LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "bob"}}}
	require.Equal(t, expect(evs, q), ids(all(t, s, q)))
}

func testTimeRange(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(100)
	future := fixture(1)[0]
	future.EventID = uuidN(0xfeedbeef, 1)
	future.EventTime = time.Now().UTC().Truncate(time.Second).Add(2 * time.Hour)
	s := newWith(t, newStore, append(slices.Clone(evs), future))
	at := func(i int) time.Time { return evs[i].EventTime }
	half := 500 * time.Millisecond
	tests := []struct {
		name       string
		start, end time.Time
	}{
		{"Unbounded", time.Time{}, time.Time{}},
		{"Inclusive", at(60), at(10)},
		{"OneSecond", at(30), at(30)},
		{"TiedSecond", at(4), at(4)},
		{"StartOnly", at(20), time.Time{}},
		{"EndOnly", time.Time{}, at(80)},
		{"SubSecondShrinks", at(60).Add(-half), at(10).Add(half)},
		{"SubSecondExcludes", at(60).Add(half), at(10).Add(-half)},
		{"Empty", at(10).Add(time.Second), at(10).Add(2 * time.Second)},
		{"BeforeEverything", at(99).Add(-time.Hour), at(99).Add(-time.Second)},
		{"IncludesFuture", at(5), future.EventTime},
	}
	all2 := append(slices.Clone(evs), future)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := trail.QueryInput{StartTime: tt.start, EndTime: tt.end, MaxResults: 11}
			want := expect(all2, q)
			got := ids(all(t, s, q))
			require.Equal(t, want, got)
			if tt.end.IsZero() {
				require.NotContains(t, got, future.EventID, "a zero EndTime means now")
			}
		})
	}
	t.Run("StartAfterEnd", func(t *testing.T) {
		_, err := s.Lookup(context.Background(), &trail.QueryInput{StartTime: at(10), EndTime: at(20)})
		require.ErrorIs(t, err, trail.ErrInvalidTimeRange)
	})
}

func testPageSize(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(1100)
	s := newWith(t, newStore, evs)
	for _, tt := range []struct{ max, want int }{{0, 50}, {-3, 50}, {1, 1}, {50, 50}, {51, 51}, {1000, 1000}, {1001, 1000}, {100000, 1000}} {
		page, err := s.Lookup(context.Background(), &trail.QueryInput{MaxResults: tt.max})
		require.NoError(t, err)
		require.Len(t, page.Events, tt.want, "MaxResults %d", tt.max)
		require.NotEmpty(t, page.NextToken)
		require.Equal(t, expect(evs, trail.QueryInput{})[:tt.want], ids(page.Events))
	}
	// The page size may change from page to page.
	q := trail.QueryInput{MaxResults: 10}
	page, err := s.Lookup(context.Background(), &q)
	require.NoError(t, err)
	q.MaxResults, q.NextToken = 25, page.NextToken
	page2, err := s.Lookup(context.Background(), &q)
	require.NoError(t, err)
	require.Equal(t, expect(evs, trail.QueryInput{})[10:35], ids(page2.Events))
}

func testPaging(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(250)
	s := newWith(t, newStore, evs)
	for _, size := range []int{1, 3, 50} {
		got := all(t, s, trail.QueryInput{MaxResults: size})
		require.Equal(t, expect(evs, trail.QueryInput{}), ids(got), "page size %d", size)
	}
	// A result that fills its last page exactly has no NextToken there.
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "Pay"}}}
	n := len(expect(evs, q))
	q.MaxResults = n
	page, err := s.Lookup(context.Background(), &q)
	require.NoError(t, err)
	require.Len(t, page.Events, n)
	require.Empty(t, page.NextToken, "no NextToken when no more events match")
}

func testConsistentAfterInsert(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(200)
	s := newWith(t, newStore, evs)
	want := expect(evs, trail.QueryInput{})
	q := trail.QueryInput{MaxResults: 20}
	page, err := s.Lookup(context.Background(), &q)
	require.NoError(t, err)
	got := ids(page.Events)
	// Newer events and events in the same second as the page's last one
	// arrive between pages.
	more := fixture(30)
	last := page.Events[len(page.Events)-1]
	for i := range more {
		more[i].EventID = uuidN(0xdddd0000, i)
		more[i].EventTime = more[i].EventTime.Add(time.Hour)
	}
	more[0].EventTime, more[0].EventID = last.EventTime, "ffffffff-ffff-4fff-8fff-ffffffffffff" // sorts before the cursor
	appendAll(t, s, more)
	for page.NextToken != "" {
		q.NextToken = page.NextToken
		page, err = s.Lookup(context.Background(), &q)
		require.NoError(t, err)
		got = append(got, ids(page.Events)...)
	}
	// Every event that was there is returned once, in order; late events
	// may be returned too (a store whose tokens never skip late appends
	// returns them all), each at most once.
	late := map[string]bool{}
	for _, e := range more {
		late[e.EventID] = true
	}
	var old []string
	seen := map[string]bool{}
	for _, id := range got {
		require.False(t, seen[id], "event %s returned twice", id)
		seen[id] = true
		if !late[id] {
			old = append(old, id)
		}
	}
	require.Equal(t, want, old, "pages must continue after the cursor, unaffected by newer events")
}

func testConsistentAfterPrune(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(200)
	s := newWith(t, newStore, evs)
	p, ok := s.(trail.Pruner)
	if !ok {
		t.Skip("store does not implement trail.Pruner")
	}
	want := expect(evs, trail.QueryInput{})
	q := trail.QueryInput{MaxResults: 30}
	page, err := s.Lookup(context.Background(), &q)
	require.NoError(t, err)
	got := ids(page.Events)
	cut := evs[120].EventTime
	_, err = p.Prune(context.Background(), cut)
	require.NoError(t, err)
	for page.NextToken != "" {
		q.NextToken = page.NextToken
		page, err = s.Lookup(context.Background(), &q)
		require.NoError(t, err)
		got = append(got, ids(page.Events)...)
	}
	var kept []string
	for _, id := range want {
		for i := range evs {
			if evs[i].EventID == id && !evs[i].EventTime.Before(cut) {
				kept = append(kept, id)
			}
		}
	}
	require.Equal(t, kept, got)
}

func testInvalidToken(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(60)
	s := newWith(t, newStore, evs)
	other := newWith(t, newStore, evs)
	ctx := context.Background()
	q := trail.QueryInput{MaxResults: 5, LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupReadOnly, Value: "false"}}}
	page, err := s.Lookup(ctx, &q)
	require.NoError(t, err)
	tok := page.NextToken
	require.NotEmpty(t, tok)
	flip := []byte(tok)
	flip[len(flip)/2] ^= 1
	if flip[len(flip)/2] == '.' || flip[len(flip)/2] == '/' {
		flip[len(flip)/2] = 'A'
	}
	tests := []struct {
		name  string
		store trail.HistoryStore
		q     trail.QueryInput
	}{
		{"Garbage", s, trail.QueryInput{NextToken: "not a token"}},
		{"Base64Garbage", s, trail.QueryInput{NextToken: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"Tampered", s, trail.QueryInput{MaxResults: 5, LookupAttributes: q.LookupAttributes, NextToken: string(flip)}},
		{"Truncated", s, trail.QueryInput{MaxResults: 5, LookupAttributes: q.LookupAttributes, NextToken: tok[:len(tok)-3]}},
		{"OtherQuery", s, trail.QueryInput{MaxResults: 5, LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupReadOnly, Value: "true"}}, NextToken: tok}},
		{"OtherTimeRange", s, trail.QueryInput{MaxResults: 5, LookupAttributes: q.LookupAttributes, StartTime: evs[50].EventTime, NextToken: tok}},
		{"OtherStore", other, trail.QueryInput{MaxResults: 5, LookupAttributes: q.LookupAttributes, NextToken: tok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.store.Lookup(ctx, &tt.q)
			require.ErrorIs(t, err, trail.ErrInvalidPageToken)
		})
	}
	// The genuine token still works, with another page size too.
	q.NextToken, q.MaxResults = tok, 7
	_, err = s.Lookup(ctx, &q)
	require.NoError(t, err)
}

func testInvalidQuery(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	s := newStore(t)
	ctx := context.Background()
	for _, q := range []trail.QueryInput{
		{LookupAttributes: []trail.LookupAttribute{{Key: "Nope", Value: "x"}}},
		{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: ""}}},
		{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupReadOnly, Value: "yes"}}},
		{Errors: trail.ErrorFilter(9)},
	} {
		_, err := s.Lookup(ctx, &q)
		require.ErrorIs(t, err, trail.ErrInvalidLookupAttributes, "%+v", q)
	}
}

func testIdempotent(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(80)
	s := newWith(t, newStore, evs)
	appendAll(t, s, evs)
	// A batch holding the same event twice, and an event whose ID is
	// stored already under another name: the first copy wins.
	dup := evs[3]
	dup.EventName = "Changed"
	require.NoError(t, s.Append(context.Background(), []trail.Event{dup, dup, evs[4]}))
	fresh := fixture(1)[0]
	fresh.EventID = uuidN(0xcccc0000, 1)
	fresh2 := fresh
	fresh2.EventName = "SecondCopy"
	require.NoError(t, s.Append(context.Background(), []trail.Event{fresh, fresh2}))
	got := all(t, s, trail.QueryInput{MaxResults: 1000})
	require.Equal(t, expect(append(slices.Clone(evs), fresh), trail.QueryInput{}), ids(got))
	for _, id := range []string{evs[3].EventID, fresh.EventID} {
		page, err := s.Lookup(context.Background(), &trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventID, Value: id}}})
		require.NoError(t, err)
		require.Len(t, page.Events, 1)
		require.NotEqual(t, "Changed", page.Events[0].EventName)
		require.NotEqual(t, "SecondCopy", page.Events[0].EventName)
	}
	page, err := s.Lookup(context.Background(), &trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "Changed"}}})
	require.NoError(t, err)
	require.Empty(t, page.Events)
}

func testPrune(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	evs := fixture(150)
	s := newWith(t, newStore, evs)
	p, ok := s.(trail.Pruner)
	if !ok {
		t.Skip("store does not implement trail.Pruner")
	}
	ctx := context.Background()
	cut := evs[100].EventTime // events at cut stay
	var want []trail.Event
	for i := range evs {
		if !evs[i].EventTime.Before(cut) {
			want = append(want, evs[i])
		}
	}
	n, err := p.Prune(ctx, cut)
	require.NoError(t, err)
	require.Equal(t, len(evs)-len(want), n)
	require.Equal(t, expect(want, trail.QueryInput{}), ids(all(t, s, trail.QueryInput{MaxResults: 1000})))
	for _, q := range []trail.QueryInput{
		{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "CreateOrder"}}},
		{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupResourceType, Value: "AWS::KMS::Key"}}},
		{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventID, Value: evs[140].EventID}}},
	} {
		require.Equal(t, expect(want, q), ids(all(t, s, q)))
	}
	n, err = p.Prune(ctx, cut)
	require.NoError(t, err)
	require.Zero(t, n, "pruning again deletes nothing")
	n, err = p.Prune(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	require.Empty(t, all(t, s, trail.QueryInput{}))
}

func testConcurrent(t *testing.T, newStore func(t *testing.T) trail.HistoryStore) {
	s := newStore(t)
	evs := fixture(600)
	ctx := context.Background()
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer appends an overlapping share, in its own order.
			for i := w * 25; i < len(evs); i += 50 {
				end := min(i+75, len(evs))
				if err := s.Append(ctx, evs[i:end]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			q := trail.QueryInput{MaxResults: 20, LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupReadOnly, Value: "false"}}}
			for range 5 {
				page, err := s.Lookup(ctx, &q)
				if err != nil {
					errs <- err
					return
				}
				if page.NextToken == "" {
					break
				}
				q.NextToken = page.NextToken
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	appendAll(t, s, evs[:25]) // the part no writer started with
	require.Equal(t, expect(evs, trail.QueryInput{}), ids(all(t, s, trail.QueryInput{MaxResults: 1000})))
}
