//go:build race

package trail_test

// raceEnabled reports whether the race detector is on. It randomly drops
// sync.Pool entries, so allocation counts are meaningless under -race.
const raceEnabled = true
