//go:build race

package truce_test

// raceEnabled is set when the tests run under the race detector, which
// makes the byte-flip tests slow and finds nothing in them: they are
// single-threaded.
const raceEnabled = true
