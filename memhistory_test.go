package trail_test

import (
	"testing"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
)

func TestMemoryHistoryConformance(t *testing.T) {
	historytest.Run(t, func(t *testing.T) trail.HistoryStore {
		return trail.NewMemoryHistory(trail.MemoryHistoryOptions{})
	})
}
