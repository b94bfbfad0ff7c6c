package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/term"
)

// progress returns a progress reporter that draws a bar on a terminal
// (standard error) and stays quiet otherwise.
func progress(e *env, label string) func(done, total uint64) {
	f, ok := e.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var last time.Time
	return func(done, total uint64) {
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		filled := width
		if total > 0 {
			filled = int(done * width / total)
		}
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < filled {
				bar[i] = '='
			}
		}
		fmt.Fprintf(f, "\r%s [%s] %d/%d", label, bar, done, total)
		if done >= total {
			fmt.Fprintln(f)
		}
	}
}
