// Package flock takes exclusive locks on folders, so that one process, and
// one opener within it, keeps a data folder at a time.
//
// The lock is flock(2) on the folder itself. Unlike fcntl(2) locks (which
// Tessera's POSIX driver takes), flock locks belong to the open file, so a
// second opener in the same process is refused too. Closing the returned
// file releases the lock; so does the process's end, however it ends.
package flock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked is returned by Lock for a folder another opener holds.
var ErrLocked = errors.New("the folder is in use")

// Lock takes an exclusive lock on the folder dir without waiting, and
// returns the open folder that holds it.
func Lock(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open folder: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("cannot lock folder: %w", err)
	}
	return f, nil
}
