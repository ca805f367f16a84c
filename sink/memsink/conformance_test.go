package memsink_test

import (
	"testing"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/memsink"
	"github.com/trailkit/trail/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(*testing.T) trail.Sink { return memsink.New() })
}
