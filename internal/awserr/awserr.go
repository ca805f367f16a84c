// Package awserr holds the error classification the AWS sinks share.
package awserr

import (
	"errors"
	"fmt"

	"github.com/trailkit/trail"
)

// Classify wraps err with trail.ErrPermanent when permanent reports that
// retrying cannot fix it; other errors (throttling, 5xx answers, timeouts,
// network errors), nil, and errors that already wrap trail.ErrPermanent are
// returned unchanged, so that the recorder retries what it may. The
// original error stays reachable with errors.Is and errors.As.
func Classify(err error, permanent func(error) bool) error {
	if err == nil || errors.Is(err, trail.ErrPermanent) {
		return err
	}
	if permanent(err) {
		return fmt.Errorf("%w: %w", trail.ErrPermanent, err)
	}
	return err
}
