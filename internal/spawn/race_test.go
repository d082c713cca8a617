//go:build race

package spawn

const raceEnabled = true
