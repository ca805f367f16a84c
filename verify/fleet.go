package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// checkFleet makes the checks that matter when several writers may have
// written a trail's digests (a fleet of recorders): digests in the window
// that the walk from the newest digest never reached, and forks (two
// digests naming the same previous digest).
func (v *validator) checkFleet(ctx context.Context) error {
	var off []*loadedDigest
	for _, k := range v.listedAll {
		if _, ok := v.loaded[k]; ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n := len(v.walk)
		ld, err := v.loadDigest(ctx, k)
		if err != nil {
			return err
		}
		v.walk = v.walk[:n] // not part of the walk
		delete(v.loaded, k)
		off = append(off, ld)
		detail := "digest is not on the chain walked from the newest digest: validate-logs never checks it or the log files it lists"
		if ld.d != nil && len(ld.d.LogFiles) > 0 {
			detail += fmt.Sprintf(" (%d log files)", len(ld.d.LogFiles))
		}
		v.extra(&IntegrityError{Kind: KindDigestOffChain, Key: k, Start: ld.start, End: ld.end, Detail: detail})
	}
	byPrev := map[string][]string{}
	for _, lds := range [][]*loadedDigest{v.walk, off} {
		for _, ld := range lds {
			if ld.d == nil || ld.d.PreviousDigestS3Object == nil {
				continue
			}
			p := *ld.d.PreviousDigestS3Object
			byPrev[p] = append(byPrev[p], ld.key)
		}
	}
	prevs := make([]string, 0, len(byPrev))
	for p, ks := range byPrev {
		if len(ks) > 1 {
			prevs = append(prevs, p)
		}
	}
	sort.Strings(prevs)
	for _, p := range prevs {
		ks := byPrev[p]
		sort.Strings(ks)
		for _, k := range ks {
			v.extra(&IntegrityError{Kind: KindDigestFork, Key: k,
				Detail: fmt.Sprintf("fork: %d digests follow %s (%s)", len(ks), p, strings.Join(ks, ", "))})
		}
	}
	return nil
}
