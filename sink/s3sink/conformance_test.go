package s3sink_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/s3sink"
	"github.com/trailkit/trail/sink/sinktest"
)

// TestConformance runs the sink conformance kit against a real MinIO
// server, a fresh bucket per subtest.
func TestConformance(t *testing.T) {
	_, access, secret := minioEnv(t)
	c := minioClient(t, access, secret)
	sinktest.Run(t, func(t *testing.T) trail.Sink {
		s, err := s3sink.New(c, newBucket(t, c), s3sink.Options{})
		require.NoError(t, err)
		return s
	})
}
