package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTrails runs the example and checks the story it prints: the events
// recorded before StartLogging and while stopped are not delivered, and
// every trail change is attributed to alice.
func TestTrails(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	runErr := run()
	os.Stdout = stdout
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, runErr)
	delivered := string(out)[strings.Index(string(out), "events delivered by trail"):strings.Index(string(out), "GetTrailStatus")]
	require.NotContains(t, delivered, "DeleteOrder", "recorded while stopped")
	require.Equal(t, 1, strings.Count(delivered, "CreateOrder"), "only the one recorded while logging")
	require.Equal(t, 1, strings.Count(delivered, "GetOrder"), "the read after PutEventSelectors(WriteOnly) is not delivered")
	require.Contains(t, delivered, "UpdateOrder")
	require.Contains(t, string(out), `"IsLogging": true`)
	for _, op := range []string{"CreateTrail", "StartLogging", "StopLogging", "PutEventSelectors"} {
		require.Regexp(t, op+` +by alice`, string(out))
	}
}
