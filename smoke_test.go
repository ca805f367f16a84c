package trail_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
)

func TestSmoke(t *testing.T) {
	sink := memsink.New()
	rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1",
		Trails: []trail.Trail{{Name: "main", Sinks: []trail.Sink{sink}}}})
	require.NoError(t, err)
	ctx := context.Background()
	for range 10 {
		require.NoError(t, rec.Record(ctx, &trail.Event{EventSource: "orders.example.com", EventName: "CreateOrder",
			RequestParameters: []byte(`{"id": 1}`)}))
	}
	require.NoError(t, rec.Close(ctx))
	require.Len(t, sink.Events(), 10)
	require.Len(t, sink.Files(), 1)
	t.Log(sink.Files()[0].Key, string(sink.Files()[0].Records[0]))
}
