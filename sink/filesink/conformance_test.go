package filesink_test

import (
	"testing"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) trail.Sink { return filesink.New(t.TempDir(), filesink.Options{NoSync: true}) })
}
