package trail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/memsink"
)

const adminAcct = "111122223333"

func adminRecorder(t *testing.T, trails ...trail.Trail) *trail.Recorder {
	t.Helper()
	rec, err := trail.New(trail.Config{AccountID: adminAcct, Region: "us-east-1", Trails: trails})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	return rec
}

func eventsNamed(sink *memsink.Sink, name string) []trail.Event {
	return sink.FindEvents(memsink.MatchFunc(func(e *trail.Event) bool { return e.EventName == name }))
}

func TestTrailLifecycle(t *testing.T) {
	ctx := context.Background()
	audit := memsink.New()
	rec := adminRecorder(t, trail.Trail{Name: "audit", Sinks: []trail.Sink{audit}})
	sink := memsink.New()

	info, err := rec.CreateTrail(ctx, trail.Trail{Name: "orders", Bucket: "bkt", Prefix: "p", Sinks: []trail.Sink{sink}})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:cloudtrail:us-east-1:111122223333:trail/orders", info.TrailARN)
	st, err := rec.GetTrailStatus(ctx, "orders")
	require.NoError(t, err)
	assert.False(t, st.IsLogging, "a created trail does not log before StartLogging")

	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Before"}))
	require.NoError(t, rec.StartLogging(ctx, "orders"))
	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "During"}))
	require.NoError(t, rec.Flush(ctx))
	assert.Empty(t, eventsNamed(sink, "Before"))
	assert.Len(t, eventsNamed(sink, "During"), 1)
	assert.Len(t, eventsNamed(sink, "StartLogging"), 1, "StartLogging is delivered to the started trail")

	st, err = rec.GetTrailStatus(ctx, "arn:aws:cloudtrail:us-east-1:111122223333:trail/orders")
	require.NoError(t, err)
	assert.True(t, st.IsLogging)
	assert.False(t, st.StartLoggingTime.IsZero())
	assert.False(t, st.LatestDeliveryTime.IsZero())

	// Update: the new prefix applies to files cut afterwards.
	tr, err := rec.GetTrail(ctx, "orders")
	require.NoError(t, err)
	tr.Prefix = "q"
	_, err = rec.UpdateTrail(ctx, tr)
	require.NoError(t, err)
	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "AfterUpdate"}))
	require.NoError(t, rec.Flush(ctx))
	var prefixes []string
	for _, f := range sink.Files() {
		prefixes = append(prefixes, f.Key[:2])
	}
	assert.Contains(t, prefixes, "p/")
	assert.Contains(t, prefixes, "q/")

	require.NoError(t, rec.StopLogging(ctx, "orders"))
	require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "AfterStop"}))
	require.NoError(t, rec.Flush(ctx))
	assert.Len(t, eventsNamed(sink, "StopLogging"), 1, "the trail delivers its own StopLogging event")
	assert.Empty(t, eventsNamed(sink, "AfterStop"), "then nothing more")
	st, err = rec.GetTrailStatus(ctx, "orders")
	require.NoError(t, err)
	assert.False(t, st.IsLogging)
	assert.False(t, st.StopLoggingTime.IsZero())

	summaries := rec.ListTrails(ctx)
	require.Len(t, summaries, 2)
	assert.Equal(t, "orders", summaries[1].Name)
	require.NoError(t, rec.DeleteTrail(ctx, "orders"))
	_, err = rec.GetTrail(ctx, "orders")
	require.ErrorIs(t, err, trail.ErrTrailNotFound)
	assert.Len(t, rec.ListTrails(ctx), 1)

	// Every management call was recorded by the audit trail.
	require.NoError(t, rec.Flush(ctx))
	for _, op := range []string{"CreateTrail", "GetTrailStatus", "StartLogging", "GetTrail", "UpdateTrail", "StopLogging", "ListTrails", "DeleteTrail"} {
		evs := eventsNamed(audit, op)
		require.NotEmptyf(t, evs, "%s recorded", op)
		assert.Equal(t, trail.DefaultAuditSource, evs[0].EventSource)
	}
	upd := eventsNamed(audit, "UpdateTrail")[0]
	assert.False(t, *upd.ReadOnly)
	assert.JSONEq(t, `{"name":"orders","s3BucketName":"bkt","s3KeyPrefix":"q","isMultiRegionTrail":false,"enableLogFileValidation":false,"isOrganizationTrail":false}`, string(upd.RequestParameters))
	assert.True(t, *eventsNamed(audit, "GetTrail")[0].ReadOnly)
	failed := eventsNamed(audit, "GetTrail")
	assert.Equal(t, "TrailNotFoundException", failed[len(failed)-1].ErrorCode)
}

func TestTrailManagementErrors(t *testing.T) {
	ctx := context.Background()
	rec := adminRecorder(t, trail.Trail{Name: "existing", Sinks: []trail.Sink{memsink.New()}})
	sink := []trail.Sink{memsink.New()}
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"duplicate", func() error {
			_, err := rec.CreateTrail(ctx, trail.Trail{Name: "existing", Sinks: sink})
			return err
		}, trail.ErrTrailAlreadyExists},
		{"too short", func() error { _, err := rec.CreateTrail(ctx, trail.Trail{Name: "ab", Sinks: sink}); return err }, trail.ErrInvalidTrailName},
		{"adjacent separators", func() error {
			_, err := rec.CreateTrail(ctx, trail.Trail{Name: "my-_trail", Sinks: sink})
			return err
		}, trail.ErrInvalidTrailName},
		{"ends with dash", func() error {
			_, err := rec.CreateTrail(ctx, trail.Trail{Name: "trail-", Sinks: sink})
			return err
		}, trail.ErrInvalidTrailName},
		{"ip address", func() error {
			_, err := rec.CreateTrail(ctx, trail.Trail{Name: "192.168.5.4", Sinks: sink})
			return err
		}, trail.ErrInvalidTrailName},
		{"bad selectors", func() error {
			_, err := rec.CreateTrail(ctx, trail.Trail{Name: "bad-sel", Sinks: sink, Advanced: []trail.AdvancedSelector{{}}})
			return err
		}, trail.ErrInvalidEventSelectors},
		{"no sinks", func() error { _, err := rec.CreateTrail(ctx, trail.Trail{Name: "no-sinks"}); return err }, trail.ErrInvalidParameter},
		{"update unknown", func() error { _, err := rec.UpdateTrail(ctx, trail.Trail{Name: "nope", Sinks: sink}); return err }, trail.ErrTrailNotFound},
		{"delete unknown", func() error { return rec.DeleteTrail(ctx, "nope") }, trail.ErrTrailNotFound},
		{"start unknown", func() error { return rec.StartLogging(ctx, "nope") }, trail.ErrTrailNotFound},
		{"stop unknown", func() error { return rec.StopLogging(ctx, "nope") }, trail.ErrTrailNotFound},
		{"status unknown", func() error { _, err := rec.GetTrailStatus(ctx, "nope"); return err }, trail.ErrTrailNotFound},
		{"selectors unknown", func() error { _, err := rec.GetEventSelectors(ctx, "nope"); return err }, trail.ErrTrailNotFound},
		{"wrong region ARN", func() error {
			_, err := rec.GetTrail(ctx, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/existing")
			return err
		}, trail.ErrInvalidCloudTrailARN},
		{"other account ARN", func() error {
			_, err := rec.GetTrail(ctx, "arn:aws:cloudtrail:us-east-1:444455556666:trail/existing")
			return err
		}, trail.ErrTrailNotFound},
		{"six basic selectors", func() error {
			sels := make([]trail.EventSelector, 6)
			_, err := rec.PutEventSelectors(ctx, "existing", sels, nil)
			return err
		}, trail.ErrInvalidEventSelectors},
		{"both selector kinds", func() error {
			_, err := rec.PutEventSelectors(ctx, "existing", []trail.EventSelector{{}}, []trail.AdvancedSelector{{}})
			return err
		}, trail.ErrInvalidParameter},
		{"501 advanced values", func() error {
			vals := make([]string, 501)
			for i := range vals {
				vals[i] = fmt.Sprint("v", i)
			}
			_, err := rec.PutEventSelectors(ctx, "existing", nil, []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
				{Field: "eventCategory", Equals: []string{"Management"}}, {Field: "eventName", Equals: vals}}}})
			return err
		}, trail.ErrInvalidEventSelectors},
		{"data resource without values", func() error {
			_, err := rec.PutEventSelectors(ctx, "existing", []trail.EventSelector{{DataResources: []trail.DataResource{{Type: trail.ResourceS3Object}}}}, nil)
			return err
		}, trail.ErrInvalidEventSelectors},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			require.ErrorIs(t, err, c.want)
			var te *trail.TrailError
			require.ErrorAs(t, err, &te)
			assert.NotEmpty(t, te.Message)
		})
	}
}

func TestEventSelectorsRoundTrip(t *testing.T) {
	ctx := context.Background()
	rec := adminRecorder(t, trail.Trail{Name: "main", Bucket: "audit-bucket", Sinks: []trail.Sink{memsink.New()},
		Management: trail.ReadWriteWriteOnly, ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
		Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::bkt/"}, ReadWrite: trail.ReadWriteWriteOnly}}})
	got, err := rec.GetEventSelectors(ctx, "main")
	require.NoError(t, err)
	raw, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, `{"TrailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main","EventSelectors":[
		{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,
		 "DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bkt/"]}],
		 "ExcludeManagementEventSources":["kms.amazonaws.com"]}]}`, string(raw))

	adv := `[{"Name":"writes","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]`
	var sels []trail.AdvancedSelector
	require.NoError(t, json.Unmarshal([]byte(adv), &sels))
	out, err := rec.PutEventSelectors(ctx, "main", nil, sels)
	require.NoError(t, err)
	raw, err = json.Marshal(out.AdvancedEventSelectors)
	require.NoError(t, err)
	assert.JSONEq(t, adv, string(raw))

	// DescribeTrails output round-trips through JSON into an equal trail.
	infos := rec.DescribeTrails(ctx)
	require.Len(t, infos, 1)
	raw, err = json.Marshal(infos)
	require.NoError(t, err)
	var back []trail.TrailInfo
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, infos, back)
	tr := back[0].Trail()
	assert.Equal(t, "audit-bucket", tr.Bucket)
	assert.Equal(t, sels, tr.Advanced)
	tr.Sinks = []trail.Sink{memsink.New()}
	tr.Name = "copy"
	_, err = rec.CreateTrail(ctx, tr)
	require.NoError(t, err, "a described trail can be created again")
}

// TestSelectorSwapUnderLoad flips a trail's selectors while many goroutines
// record: no event is lost by the trail that takes everything, and the
// flipping trail gets each event at most once and only events one of its
// selector sets selects.
func TestSelectorSwapUnderLoad(t *testing.T) {
	ctx := context.Background()
	all, flip := memsink.New(), memsink.New()
	rec := adminRecorder(t,
		trail.Trail{Name: "all", Sinks: []trail.Sink{all}},
		trail.Trail{Name: "flip", Sinks: []trail.Sink{flip}, Advanced: selectName("A")})
	const workers, perWorker = 8, 300
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			name := []string{"A", "B"}[i%2]
			_, err := rec.PutEventSelectors(ctx, "flip", nil, selectName(name))
			assert.NoError(t, err)
		}
	}()
	var rw sync.WaitGroup
	for w := range workers {
		rw.Add(1)
		go func() {
			defer rw.Done()
			for i := range perWorker {
				name := []string{"A", "B", "C"}[i%3]
				assert.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "load.example.com", EventName: name,
					RequestParameters: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}))
			}
		}()
	}
	rw.Wait()
	stop.Store(true)
	wg.Wait()
	require.NoError(t, rec.Flush(ctx))
	src := func(e *trail.Event) bool { return e.EventSource == "load.example.com" }
	assert.Len(t, all.FindEvents(memsink.MatchFunc(src)), workers*perWorker, "no event lost")
	seen := map[string]bool{}
	for _, e := range flip.FindEvents(memsink.MatchFunc(src)) {
		assert.Contains(t, []string{"A", "B"}, e.EventName)
		assert.False(t, seen[e.EventID], "event delivered twice")
		seen[e.EventID] = true
	}
}

func selectName(name string) []trail.AdvancedSelector {
	return []trail.AdvancedSelector{{FieldSelectors: []trail.FieldSelector{
		{Field: "eventCategory", Equals: []string{"Management"}},
		{Field: "eventName", Equals: []string{name}}}}}
}

func TestSelfAuditIdentity(t *testing.T) {
	audit := memsink.New()
	rec := adminRecorder(t, trail.Trail{Name: "audit", Sinks: []trail.Sink{audit}})
	alice := trail.UserIdentity{Type: "IAMUser", UserName: "alice", ARN: "arn:aws:iam::111122223333:user/alice"}
	ctx := trail.WithIdentity(context.Background(), alice)
	require.NoError(t, rec.StopLogging(ctx, "audit"))
	require.NoError(t, rec.Flush(ctx))
	evs := eventsNamed(audit, "StopLogging")
	require.Len(t, evs, 1)
	assert.Equal(t, alice, evs[0].UserIdentity, "who turned off the audit trail")
	assert.Equal(t, "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit", evs[0].Resources[0].ARN)
	assert.JSONEq(t, `{"name":"audit"}`, string(evs[0].RequestParameters))
}

func TestTrailStatusDeliveryErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		sink := memsink.New()
		rec, err := trail.New(trail.Config{AccountID: adminAcct, Region: "us-east-1", AuditSource: "-",
			Retry: trail.RetryPolicy{MaxAttempts: 1},
			Trails: []trail.Trail{{Name: "main", Bucket: "bkt", Sinks: []trail.Sink{sink}, Interval: time.Minute,
				Validation: &trail.Validation{Signer: signingKey(t), Period: 10 * time.Minute}}}})
		require.NoError(t, err)
		defer rec.Close(ctx)
		sink.FailWith(errors.New("AccessDenied"))
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "X"}))
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		st, err := rec.GetTrailStatus(ctx, "main")
		require.NoError(t, err)
		assert.Equal(t, "AccessDenied", st.LatestDeliveryError)
		assert.Equal(t, "AccessDenied", st.LatestDigestDeliveryError)
		assert.True(t, st.LatestDeliveryTime.IsZero())

		sink.FailWith(nil)
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "a.example.com", EventName: "Y"}))
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		st, err = rec.GetTrailStatus(ctx, "main")
		require.NoError(t, err)
		assert.Empty(t, st.LatestDeliveryError)
		assert.Empty(t, st.LatestDigestDeliveryError)
		assert.False(t, st.LatestDeliveryTime.IsZero())
		assert.False(t, st.LatestDigestDeliveryTime.IsZero())
	})
}

// TestStopStartLoggingChainAcceptedByAWS stops and restarts logging of a
// trail with validation: the chain ends with a final digest and a new one
// starts; the AWS verifier accepts every file and reports the restart only
// as a gap notice.
func TestStopStartLoggingChainAcceptedByAWS(t *testing.T) {
	script := oracle(t)
	key := signingKey(t)
	dir := t.TempDir()
	pubPEM := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pubPEM, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))
	var start, end time.Time
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start = time.Now().UTC()
		rec, err := trail.New(trail.Config{AccountID: adminAcct, Region: "us-east-1", Trails: []trail.Trail{{
			Name: "main", Bucket: "audit-bucket", Interval: 5 * time.Minute,
			Sinks:      []trail.Sink{filesink.New(dir, filesink.Options{NoSync: true})},
			Validation: &trail.Validation{Signer: key, Period: time.Hour},
		}}})
		require.NoError(t, err)
		for minute := range 6 * 60 {
			switch minute {
			case 150:
				require.NoError(t, rec.StopLogging(ctx, "main"))
			case 200:
				require.NoError(t, rec.StartLogging(ctx, "main"))
			}
			if minute%4 == 0 {
				require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "o.example.com", EventName: "Op"}))
			}
			time.Sleep(time.Minute)
		}
		require.NoError(t, rec.Close(ctx))
		end = time.Now().UTC()
	})
	out, code := runOracle(t, script, pubPEM, oracleRun{dir: dir, trailARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
		start: start, end: end, minDigests: 6})
	require.Equalf(t, 0, code, "verifier output:\n%s", out)
	assert.NotContains(t, out, "INVALID")
	assert.Contains(t, out, "No log files were delivered by CloudTrail between", "the restart shows as a gap notice")
	if testing.Verbose() {
		t.Log(lastLines(out, 8))
	}
	_ = strings.TrimSpace
}
