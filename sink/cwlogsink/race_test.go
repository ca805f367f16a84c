//go:build race

package cwlogsink_test

// raceEnabled is true under the race detector, which slows the measured
// run about tenfold; it then records fewer events.
const raceEnabled = true
