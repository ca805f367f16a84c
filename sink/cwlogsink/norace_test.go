//go:build !race

package cwlogsink_test

const raceEnabled = false
