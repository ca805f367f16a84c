package trail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

func TestExplain(t *testing.T) {
	sink := memsink.New()
	sinks := []trail.Sink{sink}
	rec := newRecorder(t, trail.Config{
		HistoryOptions: trail.HistoryOptions{},
		Trails: []trail.Trail{
			{Name: "all", Bucket: "audit-bucket", Sinks: sinks},
			{Name: "writes", Bucket: "audit-bucket", Management: trail.ReadWriteWriteOnly, Sinks: sinks},
			{Name: "global", Bucket: "audit-bucket", MultiRegion: true, Management: trail.ReadWriteNone,
				Data: []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::bkt/"}}}, Sinks: sinks},
			{Name: "basic", Bucket: "audit-bucket", EventSelectors: []trail.EventSelector{
				{ReadWriteType: trail.ReadWriteAll, ExcludeManagementEventSources: []string{"kms.amazonaws.com"}}}, Sinks: sinks},
			{Name: "advanced", Bucket: "audit-bucket", Advanced: []trail.AdvancedSelector{{Name: "deletes", FieldSelectors: []trail.FieldSelector{
				{Field: "eventCategory", Equals: []string{"Management"}}, {Field: "eventName", StartsWith: []string{"Delete"}}}}}, Sinks: sinks},
			{Name: "stopped", Bucket: "audit-bucket", Sinks: sinks},
		},
	})
	ctx := context.Background()
	require.NoError(t, rec.StopLogging(ctx, "stopped"))

	type want struct {
		selector, reason string // per trail: "" when not checked
	}
	tests := []struct {
		name    string
		ev      trail.Event
		history bool
		trails  map[string]want // selected when selector != ""
	}{
		{name: "read management event", ev: trail.Event{EventSource: "orders.example.com", EventName: "GetOrder", ReadOnly: trail.Bool(true)},
			history: true, trails: map[string]want{
				"all":      {selector: "Management (ReadWriteType All)"},
				"writes":   {reason: "Management: readOnly true: ReadWriteType is WriteOnly"},
				"global":   {reason: "Management: management events are not included"},
				"basic":    {selector: "EventSelectors[0] (ReadWriteType All)"},
				"advanced": {reason: `AdvancedEventSelectors[0] "deletes": eventName "GetOrder" fails StartsWith ["Delete"]`},
				"stopped":  {reason: "not logging"},
			}},
		{name: "delete", ev: trail.Event{EventSource: "orders.example.com", EventName: "DeleteOrder"},
			history: true, trails: map[string]want{
				"writes":   {selector: "Management (ReadWriteType WriteOnly)"},
				"advanced": {selector: `AdvancedEventSelectors[0] "deletes"`},
			}},
		{name: "excluded source", ev: trail.Event{EventSource: "kms.amazonaws.com", EventName: "Decrypt"},
			history: true, trails: map[string]want{"basic": {reason: "eventSource kms.amazonaws.com is excluded"}}},
		{name: "other region", ev: trail.Event{EventSource: "orders.example.com", EventName: "PutOrder", AWSRegion: "eu-west-1"},
			history: true, trails: map[string]want{"all": {reason: "awsRegion eu-west-1: the trail takes only us-east-1"}}},
		{name: "other account", ev: trail.Event{EventSource: "orders.example.com", EventName: "PutOrder", RecipientAccountID: "444455556666"},
			history: true, trails: map[string]want{"all": {reason: "recipientAccountId 444455556666: the trail takes only account " + testAccount}}},
		{name: "data event", ev: trail.Event{EventSource: "s3.amazonaws.com", EventName: "GetObject", ReadOnly: trail.Bool(true),
			Resources: []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::bkt/key"}}},
			trails: map[string]want{
				"global": {selector: "Data[0] AWS::S3::Object arn:aws:s3:::bkt/"},
				"all":    {reason: "the trail selects no data events"},
			}},
		{name: "data event of another bucket", ev: trail.Event{EventSource: "s3.amazonaws.com", EventName: "GetObject",
			Resources: []trail.Resource{{Type: trail.ResourceS3Object, ARN: "arn:aws:s3:::other/key"}}},
			trails: map[string]want{"global": {reason: "Data[0] (AWS::S3::Object): no resource ARN starts with arn:aws:s3:::bkt/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := rec.Explain(&tt.ev)
			require.NoError(t, err)
			require.Len(t, x.Trails, 6)
			got := map[string]trail.TrailDecision{}
			for _, d := range x.Trails {
				got[d.Trail] = d
			}
			for name, w := range tt.trails {
				d := got[name]
				if w.selector != "" {
					assert.True(t, d.Selected, "%s: %+v", name, d)
					assert.Equal(t, w.selector, d.Selector, name)
					assert.Equal(t, []string{sink.String()}, d.Sinks, name)
				} else {
					assert.False(t, d.Selected, "%s: %+v", name, d)
					assert.Contains(t, d.Reason, w.reason, name)
					assert.Empty(t, d.Sinks, name)
				}
			}
			assert.Equal(t, tt.history, x.History)
			if !tt.history {
				assert.Contains(t, x.HistoryReason, "HistoryOptions.DataEvents")
			}
			s := x.String()
			assert.True(t, strings.HasPrefix(s, "event "+tt.ev.EventSource+" "+tt.ev.EventName), s)
			for _, name := range x.Selected() {
				assert.Contains(t, s, "trail "+name+": selected by ")
			}
		})
	}

	t.Run("agrees with Record", func(t *testing.T) {
		ev := &trail.Event{EventSource: "orders.example.com", EventName: "DeleteThing"}
		x, err := rec.Explain(ev)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"all", "writes", "basic", "advanced"}, x.Selected())
		before := rec.Stats().Recorded
		require.NoError(t, rec.Flush(ctx))
		assert.Equal(t, before, rec.Stats().Recorded, "Explain records nothing")
	})
	t.Run("invalid event", func(t *testing.T) {
		_, err := rec.Explain(&trail.Event{EventName: "NoSource"})
		var ve *trail.ValidationError
		require.ErrorAs(t, err, &ve)
		_, err = rec.Explain(nil)
		require.ErrorAs(t, err, &ve)
	})
}

func TestExplainNoHistory(t *testing.T) {
	rec := newRecorder(t, trail.Config{History: trail.NoHistory})
	x, err := rec.Explain(mkEvent("Anything"))
	require.NoError(t, err)
	assert.False(t, x.History)
	assert.Contains(t, x.HistoryReason, "NoHistory")
	assert.Contains(t, x.String(), "no trails")
}
