package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		db   string
	}{
		{"Memory", ""},
		{"SQLite", filepath.Join(t.TempDir(), "h.db")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), &out, tt.db, 3000))
			s := out.String()
			require.Contains(t, s, "recorded 3000 events")
			require.Contains(t, s, "EVENT TIME")
			require.Contains(t, s, "CreateOrder")
			require.Contains(t, s, "deploy-bot")
			require.Contains(t, s, "AccessDenied")
			require.Regexp(t, `events on resource order/o-7: [1-9][0-9]*`, s)
		})
	}
}
