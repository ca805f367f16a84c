//go:build !race

package trail_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
