package trail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
)

func TestPageTokens(t *testing.T) {
	tokens := trail.NewPageTokens([]byte("0123456789abcdef"))
	q := &trail.QueryInput{StartTime: time.Unix(1000, 500), LookupAttributes: []trail.LookupAttribute{
		{Key: trail.LookupEventName, Value: "A"}, {Key: trail.LookupUsername, Value: "bob"}}, MaxResults: 5}
	cur := trail.PageCursor{Time: time.Unix(5000, 0).UTC(), EventID: "0b6a3a52-52f4-4a4b-9d0e-7f0c1e2d3a4b"}
	tok := tokens.Encode(q, cur)

	tests := []struct {
		name    string
		tokens  *trail.PageTokens
		q       trail.QueryInput
		wantErr bool
	}{
		{"Same", tokens, *q, false},
		{"OtherMaxResults", tokens, trail.QueryInput{StartTime: q.StartTime, LookupAttributes: q.LookupAttributes, MaxResults: 50}, false},
		{"AttributesReordered", tokens, trail.QueryInput{StartTime: q.StartTime, LookupAttributes: []trail.LookupAttribute{q.LookupAttributes[1], q.LookupAttributes[0]}}, false},
		{"SameSecondStart", tokens, trail.QueryInput{StartTime: time.Unix(1001, 0), LookupAttributes: q.LookupAttributes}, false},
		{"OtherStart", tokens, trail.QueryInput{StartTime: time.Unix(1002, 0), LookupAttributes: q.LookupAttributes}, true},
		{"OtherEnd", tokens, trail.QueryInput{StartTime: q.StartTime, EndTime: time.Unix(9000, 0), LookupAttributes: q.LookupAttributes}, true},
		{"OtherAttributes", tokens, trail.QueryInput{StartTime: q.StartTime, LookupAttributes: q.LookupAttributes[:1]}, true},
		{"OtherErrors", tokens, trail.QueryInput{StartTime: q.StartTime, LookupAttributes: q.LookupAttributes, Errors: trail.OnlyErrors}, true},
		{"OtherKey", trail.NewPageTokens(nil), *q, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.NextToken = tok
			got, ok, err := tt.tokens.Decode(&tt.q)
			if tt.wantErr {
				require.ErrorIs(t, err, trail.ErrInvalidPageToken)
				require.ErrorIs(t, err, trail.ErrInvalidLookup)
				var le *trail.LookupError
				require.ErrorAs(t, err, &le)
				require.Equal(t, trail.CodeInvalidNextToken, le.Code)
				return
			}
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, cur, got)
		})
	}
	_, ok, err := tokens.Decode(&trail.QueryInput{})
	require.NoError(t, err)
	require.False(t, ok, "no token: first page")
}

func TestPageCursorAfter(t *testing.T) {
	c := trail.PageCursor{Time: time.Unix(100, 0), EventID: "b"}
	require.True(t, c.After(99, "z"))
	require.True(t, c.After(100, "a"))
	require.False(t, c.After(100, "b"))
	require.False(t, c.After(100, "c"))
	require.False(t, c.After(101, "a"))
}

// FuzzPageToken feeds arbitrary tokens to Decode: it must never panic and
// must refuse everything but a token it issued.
func FuzzPageToken(f *testing.F) {
	tokens := trail.NewPageTokens([]byte("fuzz-key-fuzz-key"))
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "A"}}}
	valid := tokens.Encode(&q, trail.PageCursor{Time: time.Unix(1700000000, 0), EventID: "x"})
	f.Add(valid)
	f.Add("")
	f.Add("AAAA")
	f.Add(valid[:len(valid)-1])
	f.Add(valid + "A")
	f.Add(valid[:4] + "\n" + valid[4:])
	f.Add(valid + "\r\n")
	f.Add(valid + "=")
	f.Add(tokens.Encode(&q, trail.PageCursor{Time: time.Unix(1700000000, 0), EventID: "x", Seq: 42}))
	f.Add(tokens.Encode(&q, trail.PageCursor{Time: time.Unix(1700000000, 0), EventID: "x", Seq: 42, LateEnd: 99,
		LateTime: time.Unix(1700000100, 0), LateID: "y"}))
	f.Fuzz(func(t *testing.T, tok string) {
		q := q
		q.NextToken = tok
		c, ok, err := tokens.Decode(&q)
		if tok == valid {
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "x", c.EventID)
			return
		}
		if err == nil && tok != "" {
			// Only a token this key issued for q can pass: re-encoding the
			// cursor must give back the same token.
			require.True(t, ok)
			require.Equal(t, tok, tokens.Encode(&q, c), "accepted a token it did not issue")
		}
	})
}

// TestPageTokenOneEncoding: a token with line breaks, padding or the
// standard alphabet inserted is refused; only the issued spelling passes.
func TestPageTokenOneEncoding(t *testing.T) {
	tokens := trail.NewPageTokens([]byte("one-encoding-key"))
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "A"}}}
	valid := tokens.Encode(&q, trail.PageCursor{Time: time.Unix(1700000000, 0), EventID: "x"})
	variants := map[string]string{
		"newline inside": valid[:5] + "\n" + valid[5:],
		"CR LF at end":   valid + "\r\n",
		"newline first":  "\n" + valid,
		"many newlines":  strings.Join(strings.Split(valid, ""), "\n"),
		"padding":        valid + "==",
		"space":          valid[:3] + " " + valid[3:],
		"std alphabet":   strings.NewReplacer("-", "+", "_", "/").Replace(valid),
	}
	for name, tok := range variants {
		if tok == valid {
			continue // the replacement changed nothing
		}
		q := q
		q.NextToken = tok
		_, _, err := tokens.Decode(&q)
		assert.ErrorIs(t, err, trail.ErrInvalidPageToken, name)
	}
	q.NextToken = valid
	_, ok, err := tokens.Decode(&q)
	require.NoError(t, err)
	assert.True(t, ok)
}

// TestPageTokenSequence: a cursor with a store's append sequence (and a
// late-event position) survives the round trip, and a version 1 token still
// decodes.
func TestPageTokenSequence(t *testing.T) {
	tokens := trail.NewPageTokens([]byte("sequence-key"))
	q := trail.QueryInput{LookupAttributes: []trail.LookupAttribute{{Key: trail.LookupEventName, Value: "A"}}}
	for _, c := range []trail.PageCursor{
		{Time: time.Unix(1700000000, 0).UTC(), EventID: "x"},
		{Time: time.Unix(1700000000, 0).UTC(), EventID: "x", Seq: 7},
		{Time: time.Unix(1700000000, 0).UTC(), EventID: "x", Seq: 7, LateEnd: 9, LateTime: time.Unix(1700000500, 0).UTC(), LateID: "y"},
	} {
		q := q
		q.NextToken = tokens.Encode(&q, c)
		got, ok, err := tokens.Decode(&q)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, c, got)
	}
}
