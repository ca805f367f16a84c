package trail

import (
	"context"
	"fmt"
)

// Checker is an optional capability of a [Sink]: a sink that can tell at
// start-up that it will not work (a directory it cannot write, a bucket that
// does not exist) implements it. New, CreateTrail and UpdateTrail call Check
// once before a trail uses the sink and refuse the configuration when it
// fails, so a misconfigured sink fails loudly at start instead of retrying
// for ever in the background.
type Checker interface {
	Check(ctx context.Context) error
}

// checkSinks runs Check on the sinks that implement Checker.
func checkSinks(sinks []Sink) error {
	for j, s := range sinks {
		c, ok := s.(Checker)
		if !ok {
			continue
		}
		if err := c.Check(context.Background()); err != nil {
			return fmt.Errorf("sink %d (%s): %w", j, sinkName(s), err)
		}
	}
	return nil
}
