package main

import "github.com/trailkit/trail"

// setSpool sets Config.Spool for -spool: group-committed, so what Record
// acknowledged survives kill -9.
func setSpool(cfg *trail.Config, dir string) error {
	if dir != "" {
		cfg.Spool = &trail.Spool{Dir: dir}
	}
	return nil
}
