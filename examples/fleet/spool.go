package main

import (
	"errors"

	"github.com/trailkit/trail"
)

// setSpool sets Config.Spool for -spool.
func setSpool(cfg *trail.Config, dir string) error {
	if dir == "" {
		return nil
	}
	_ = cfg
	return errors.New("-spool: this build has no Config.Spool yet")
}
