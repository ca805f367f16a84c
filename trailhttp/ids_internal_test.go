package trailhttp

import (
	"regexp"
	"testing"

	"github.com/trailkit/trail/internal/ids"

	"github.com/stretchr/testify/assert"
)

func TestNewIDs(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	s := ids.NewSource()
	seen := map[string]bool{}
	for range 1000 {
		ev, req := s.NewIDs(true)
		assert.Regexp(t, v4, ev)
		assert.Regexp(t, v4, req)
		assert.False(t, seen[ev] || seen[req] || ev == req, "duplicate ID")
		seen[ev], seen[req] = true, true
		only, none := s.NewIDs(false)
		assert.Regexp(t, v4, only)
		assert.Empty(t, none)
	}
}

func BenchmarkNewIDs(b *testing.B) {
	s := ids.NewSource()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.NewIDs(true)
	}
}
