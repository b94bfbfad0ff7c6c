//go:build !race

package truce_test

const raceEnabled = false
