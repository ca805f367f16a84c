package awserr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/awserr"
)

func TestClassify(t *testing.T) {
	errDenied := errors.New("AccessDenied")
	errSlow := errors.New("SlowDown")
	already := fmt.Errorf("%w: %w", trail.ErrPermanent, errDenied)
	permanent := func(err error) bool { return errors.Is(err, errDenied) }
	tests := []struct {
		name          string
		err           error
		wantPermanent bool
		wantSame      bool // returned unchanged
	}{
		{name: "nil", err: nil, wantSame: true},
		{name: "permanent", err: errDenied, wantPermanent: true},
		{name: "retryable", err: errSlow, wantSame: true},
		{name: "already permanent", err: already, wantPermanent: true, wantSame: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awserr.Classify(tt.err, permanent)
			assert.Equal(t, tt.wantPermanent, errors.Is(got, trail.ErrPermanent))
			if tt.wantSame {
				assert.Equal(t, tt.err, got)
			} else {
				assert.ErrorIs(t, got, tt.err, "the original error stays reachable")
			}
		})
	}
}
