// Package syncfile replaces files so that a crash leaves either the old
// contents or the new, never a mix, and the new contents are on disk once
// Replace returns: a synced temporary file, renamed over the old one, and
// the folder synced.
package syncfile

import (
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix begins the names of Replace's temporary files, which a crash
// may leave behind; RemoveTemps removes them.
const TempPrefix = ".tmp-"

// Replace writes data to name, with mode perm, durably and whole.
func Replace(name string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a folder's entries durable: a rename or a new file in it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// RemoveTemps removes the temporary files a crash in Replace left in dir.
func RemoveTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
