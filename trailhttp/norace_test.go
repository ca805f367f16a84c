//go:build !race

package trailhttp_test

const raceEnabled = false
