package trail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

// histRecorder returns a recorder without trails, closed when the test ends.
func histRecorder(t *testing.T, cfg trail.Config) *trail.Recorder {
	t.Helper()
	cfg.AccountID, cfg.Region = "111122223333", "us-east-1"
	rec, err := trail.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	return rec
}

// histEvent returns event number i: i seconds after t0, one of three names,
// users of three identity types.
func histEvent(t0 time.Time, i int) *trail.Event {
	ev := &trail.Event{
		EventSource: "orders.example.com",
		EventName:   []string{"CreateOrder", "GetOrder", "ListOrders"}[i%3],
		EventTime:   t0.Add(time.Duration(i) * time.Second),
		ReadOnly:    trail.Bool(i%3 != 0),
		EventID:     fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: "alice", AccessKeyID: "AKIAEXAMPLE000000001",
			ARN: "arn:aws:iam::111122223333:user/alice"},
		RequestParameters: []byte(`{"orderId": "o-1"}`),
		Resources:         []trail.Resource{{Type: "Example::Orders::Order", ARN: fmt.Sprintf("arn:orders/o-%d", i%4)}},
	}
	if i%5 == 0 {
		ev.UserIdentity = trail.UserIdentity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:build-7",
			ARN: "arn:aws:sts::111122223333:assumed-role/Deployer/build-7", AccessKeyID: "ASIAEXAMPLE"}
	}
	if i%7 == 0 {
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "no"
	}
	return ev
}

func recordN(t *testing.T, rec *trail.Recorder, t0 time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		require.NoError(t, rec.Record(ctx, histEvent(t0, i)))
	}
	require.NoError(t, rec.Flush(ctx))
}

func TestLookupEvents(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	recordN(t, rec, t0, 60)
	ctx := context.Background()

	out, err := rec.LookupEvents(ctx, trail.LookupInput{
		LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "CreateOrder"}},
		MaxResults:       3,
	})
	require.NoError(t, err)
	require.Len(t, out.Events, 3)
	require.NotEmpty(t, out.NextToken)
	e := out.Events[0]
	require.Equal(t, "00000000-0000-4000-8000-000000000057", e.EventID) // event 57, the newest CreateOrder
	require.Equal(t, "CreateOrder", e.EventName)
	require.Equal(t, "false", e.ReadOnly)
	require.Equal(t, "alice", e.Username)
	require.Equal(t, "AKIAEXAMPLE000000001", e.AccessKeyID)
	require.Equal(t, "orders.example.com", e.EventSource)
	require.Equal(t, t0.Add(57*time.Second), e.EventTime)
	require.Equal(t, []trail.LookupResource{{ResourceType: "Example::Orders::Order", ResourceName: "arn:orders/o-1"}}, e.Resources)
	require.Equal(t, string(e.Event.AppendJSON(nil)), e.CloudTrailEvent)
	var rec2 trail.Event
	require.NoError(t, json.Unmarshal([]byte(e.CloudTrailEvent), &rec2))
	require.Equal(t, "111122223333", rec2.RecipientAccountID, "the stamped record is kept")

	// The next pages continue; the last has no token.
	var all []string
	in := trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "CreateOrder"}}, MaxResults: 3}
	for {
		out, err := rec.LookupEvents(ctx, in)
		require.NoError(t, err)
		for _, e := range out.Events {
			all = append(all, e.EventID)
		}
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	require.Len(t, all, 20)

	t.Run("Username", func(t *testing.T) {
		out, err := rec.LookupEvents(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupUsername, Value: "build-7"}}})
		require.NoError(t, err)
		require.Len(t, out.Events, 12)
		require.Equal(t, "build-7", out.Events[0].Username)
	})
	t.Run("TimeRange", func(t *testing.T) {
		out, err := rec.LookupEvents(ctx, trail.LookupInput{StartTime: t0.Add(10 * time.Second), EndTime: t0.Add(14 * time.Second)})
		require.NoError(t, err)
		require.Len(t, out.Events, 5, "both ends are inclusive")
		require.Equal(t, t0.Add(14*time.Second), out.Events[0].EventTime)
	})
}

func TestLookupEventsErrors(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name string
		in   trail.LookupInput
		want error
		code string
	}{
		{"TwoAttributes", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{
			{Key: trail.LookupEventName, Value: "A"}, {Key: trail.LookupUsername, Value: "b"}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"QueryOnlyKey", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupErrorCode, Value: "A"}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"UnknownKey", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: "eventName", Value: "A"}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"EmptyValue", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"LongValue", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: strings.Repeat("_", 1001)}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"ReadOnlyValue", trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupReadOnly, Value: "True"}}},
			trail.ErrInvalidLookupAttributes, trail.CodeInvalidLookupAttributes},
		{"MaxResults51", trail.LookupInput{MaxResults: 51}, trail.ErrInvalidMaxResults, trail.CodeInvalidMaxResults},
		{"MaxResultsNegative", trail.LookupInput{MaxResults: -1}, trail.ErrInvalidMaxResults, trail.CodeInvalidMaxResults},
		{"StartAfterEnd", trail.LookupInput{StartTime: now, EndTime: now.Add(-time.Second)}, trail.ErrInvalidTimeRange, trail.CodeInvalidTimeRange},
		{"StartInFuture", trail.LookupInput{StartTime: now.Add(time.Hour)}, trail.ErrInvalidTimeRange, trail.CodeInvalidTimeRange},
		{"ForgedToken", trail.LookupInput{NextToken: "eyJmb28iOiJiYXIifQ"}, trail.ErrInvalidPageToken, trail.CodeInvalidNextToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rec.LookupEvents(ctx, tt.in)
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, err, trail.ErrInvalidLookup)
			var le *trail.LookupError
			require.ErrorAs(t, err, &le)
			require.Equal(t, tt.code, le.Code)
		})
	}
	_, err := rec.LookupEvents(ctx, trail.LookupInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: string(make([]byte, 2000))}}})
	require.NoError(t, err, "2000 characters are allowed")
}

func TestHistoryCategories(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for _, tt := range []struct {
		name string
		opts trail.HistoryOptions
		want int
	}{
		{"ManagementOnly", trail.HistoryOptions{}, 10},
		{"DataEvents", trail.HistoryOptions{DataEvents: true}, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := histRecorder(t, trail.Config{HistoryOptions: tt.opts})
			ctx := context.Background()
			for i := range 20 {
				ev := histEvent(t0, i)
				if i%2 == 1 {
					ev.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::b/k"}}
				}
				require.NoError(t, rec.Record(ctx, ev))
			}
			require.NoError(t, rec.Flush(ctx))
			n := 0
			for ev, err := range rec.Events(ctx, trail.LookupInput{MaxResults: 3}) {
				require.NoError(t, err)
				require.True(t, tt.opts.DataEvents || ev.EventCategory == trail.CategoryManagement)
				n++
			}
			require.Equal(t, tt.want, n)
		})
	}
}

func TestNoHistory(t *testing.T) {
	rec := histRecorder(t, trail.Config{History: trail.NoHistory})
	require.NoError(t, rec.Record(context.Background(), histEvent(time.Now().Add(-time.Minute), 1)))
	require.Nil(t, rec.History())
	_, err := rec.LookupEvents(context.Background(), trail.LookupInput{})
	require.ErrorIs(t, err, trail.ErrHistoryDisabled)
	_, err = rec.Query(context.Background(), trail.QueryInput{})
	require.ErrorIs(t, err, trail.ErrHistoryDisabled)
	require.EqualValues(t, 1, rec.Stats().Unselected, "an event no trail and no history takes")
}

func TestDefaultHistoryStore(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	_, ok := rec.History().(*trail.MemoryHistory)
	require.True(t, ok, "nil Config.History means the in-memory store")
	_, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", HistoryOptions: trail.HistoryOptions{Retention: -1}})
	require.ErrorIs(t, err, trail.ErrInvalidConfig)
}

func TestEventsIterator(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	recordN(t, rec, t0, 50)
	ctx := context.Background()
	var got []time.Time
	for ev, err := range rec.Events(ctx, trail.LookupInput{MaxResults: 7}) {
		require.NoError(t, err)
		got = append(got, ev.EventTime)
	}
	require.Len(t, got, 50)
	for i := range got {
		require.Equal(t, t0.Add(time.Duration(49-i)*time.Second), got[i])
	}
	// Breaking out early stops paging.
	n := 0
	for range rec.Events(ctx, trail.LookupInput{MaxResults: 2}) {
		n++
		if n == 3 {
			break
		}
	}
	require.Equal(t, 3, n)
	// An invalid input yields its error once.
	errs := 0
	for _, err := range rec.Events(ctx, trail.LookupInput{MaxResults: 99}) {
		require.ErrorIs(t, err, trail.ErrInvalidMaxResults)
		errs++
	}
	require.Equal(t, 1, errs)
	// A cancelled context ends the iteration with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, err := range rec.Events(cctx, trail.LookupInput{}) {
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestQuery(t *testing.T) {
	rec := histRecorder(t, trail.Config{})
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	recordN(t, rec, t0, 105)
	ctx := context.Background()
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{
		{Key: trail.LookupEventName, Value: "CreateOrder"},
		{Key: trail.LookupResourceName, Value: "arn:orders/o-0"},
	}, Errors: trail.NoErrors}
	var got []string
	for ev, err := range rec.QueryEvents(ctx, q) {
		require.NoError(t, err)
		got = append(got, ev.EventID)
	}
	// i%3==0, i%4==0, i%7!=0: multiples of 12 below 105 but 0 and 84.
	require.Equal(t, []string{"00000000-0000-4000-8000-000000000096", "00000000-0000-4000-8000-000000000072",
		"00000000-0000-4000-8000-000000000060", "00000000-0000-4000-8000-000000000048", "00000000-0000-4000-8000-000000000036",
		"00000000-0000-4000-8000-000000000024", "00000000-0000-4000-8000-000000000012"}, got)

	page, err := rec.Query(ctx, trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupErrorCode, Value: "AccessDenied"}}, MaxResults: 1000})
	require.NoError(t, err)
	require.Len(t, page.Events, 15)
	page, err = rec.Query(ctx, trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventCategory, Value: trail.CategoryManagement}}})
	require.NoError(t, err)
	require.Len(t, page.Events, 50)
	_, err = rec.Query(ctx, trail.QueryInput{MaxResults: 1001})
	require.ErrorIs(t, err, trail.ErrInvalidMaxResults)
}

func TestLookupEventMarshalJSON(t *testing.T) {
	ev := trail.Event{EventID: "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b", EventName: "CreateUser", EventSource: "iam.amazonaws.com",
		EventTime:    time.Date(2025, 3, 1, 10, 15, 30, 0, time.UTC),
		UserIdentity: trail.UserIdentity{Type: "IAMUser", UserName: "alice", AccessKeyID: "AKIAEXAMPLEKEY000001"},
		ReadOnly:     trail.Bool(false), Resources: []trail.Resource{{Type: "AWS::IAM::User", ARN: "bob"}}}
	b, err := json.Marshal(trail.NewLookupEvent(&ev))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, map[string]any{
		"EventId": "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b", "EventName": "CreateUser", "ReadOnly": "false",
		"AccessKeyId": "AKIAEXAMPLEKEY000001", "EventTime": 1740824130.0, "EventSource": "iam.amazonaws.com",
		"Username": "alice", "Resources": []any{map[string]any{"ResourceType": "AWS::IAM::User", "ResourceName": "bob"}},
		"CloudTrailEvent": string(ev.AppendJSON(nil)),
	}, got)
}

func TestLookupUsername(t *testing.T) {
	for _, tt := range []struct {
		name string
		u    trail.UserIdentity
		want string
	}{
		{"IAMUser", trail.UserIdentity{Type: "IAMUser", UserName: "alice", ARN: "arn:aws:iam::1:user/alice"}, "alice"},
		{"Root", trail.UserIdentity{Type: "Root", UserName: "my-alias"}, "root"},
		{"AssumedRole", trail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/R/alice@example.com"}, "alice@example.com"},
		{"AssumedRolePrincipal", trail.UserIdentity{Type: "AssumedRole", PrincipalID: "AROA:sess"}, "sess"},
		{"FederatedUser", trail.UserIdentity{Type: "FederatedUser", ARN: "arn:aws:sts::1:federated-user/bob"}, "bob"},
		{"AWSService", trail.UserIdentity{Type: "AWSService", InvokedBy: "cloudtrail.amazonaws.com"}, "cloudtrail.amazonaws.com"},
		{"Unknown", trail.UserIdentity{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := trail.Event{UserIdentity: tt.u}
			require.Equal(t, tt.want, ev.LookupUsername())
		})
	}
}

// prunerStore records the Prune calls the recorder makes.
type prunerStore struct {
	*trail.MemoryHistory
	mu    sync.Mutex
	calls []time.Time
}

func (p *prunerStore) Prune(ctx context.Context, before time.Time) (int, error) {
	p.mu.Lock()
	p.calls = append(p.calls, before)
	p.mu.Unlock()
	return p.MemoryHistory.Prune(ctx, before)
}

func TestHistoryPruning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &prunerStore{MemoryHistory: trail.NewMemoryHistory(trail.MemoryHistoryOptions{})}
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", History: store,
			HistoryOptions: trail.HistoryOptions{Retention: 24 * time.Hour, PruneInterval: time.Hour}})
		require.NoError(t, err)
		start := time.Now()
		ctx := context.Background()
		require.NoError(t, rec.Record(ctx, histEvent(start.Add(-30*time.Hour), 0)))
		require.NoError(t, rec.Record(ctx, histEvent(start.Add(-time.Hour), 1)))
		require.NoError(t, rec.Flush(ctx))
		synctest.Wait()

		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		store.mu.Lock()
		calls := append([]time.Time(nil), store.calls...)
		store.mu.Unlock()
		require.Len(t, calls, 4, "at start, then hourly")
		for i, c := range calls {
			require.Equal(t, start.Add(time.Duration(i)*time.Hour-24*time.Hour), c)
		}
		var got []string
		for ev, err := range rec.Events(ctx, trail.LookupInput{}) {
			require.NoError(t, err)
			got = append(got, ev.EventID)
		}
		require.Len(t, got, 1, "the event older than the retention was pruned")

		require.NoError(t, rec.Close(ctx))
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		store.mu.Lock()
		require.Len(t, store.calls, 4, "no pruning after Close")
		store.mu.Unlock()
	})
}
