package witness

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// conflictsDir is the folder of evidence files in the data folder.
const conflictsDir = "conflicts"

// maxSeen bounds how many evidence files one log's record of what it has
// already kept remembers before it starts afresh.
const maxSeen = 1024

// Kinds of evidence: why a validly signed checkpoint was refused.
const (
	// KindFork is a checkpoint of the size the witness last cosigned with
	// another root hash: two trees of one size, proof of a split view.
	KindFork = "fork"
	// KindRollback is a checkpoint smaller than the one the witness last
	// cosigned. On its own it proves nothing, since a log signs every size
	// on its way up, but a later consistency proof or its absence may.
	KindRollback = "rollback"
	// KindInconsistent is a checkpoint larger than the one the witness last
	// cosigned whose consistency proof does not verify. It is proof of
	// misbehaviour only if no valid proof exists, which anyone can check by
	// asking the log for one.
	KindInconsistent = "inconsistent"
)

// keepEvidence writes an evidence file for a refused checkpoint and logs
// it. It never overwrites a file, and keeps one file for a refusal that
// repeats (a log retrying the same checkpoint) while the process runs.
// A failure to write is logged and otherwise ignored: the refusal stands
// whether or not its evidence could be kept.
func (w *Witness) keepEvidence(l *logState, kind string, body []byte, offered checkpoint) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n%s%d\n%s", kind, len(l.cosigned), l.cosigned, len(body), body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if l.seen[sum] {
		w.log.Debug("refused an inconsistent checkpoint again", "origin", l.origin, "kind", kind,
			"held_size", l.cp.size, "offered_size", offered.size)
		return
	}
	if len(l.seen) >= maxSeen {
		clear(l.seen)
	}
	l.seen[sum] = true

	now := w.now().UTC()
	text := fmt.Appendf(nil, "truce witness evidence: %s\norigin %s\ntime %s\nheld size %d root %s\noffered size %d root %s\n\n",
		kind, l.origin, now.Format(time.RFC3339Nano),
		l.cp.size, base64.StdEncoding.EncodeToString(l.cp.root[:]),
		offered.size, base64.StdEncoding.EncodeToString(offered.root[:]))
	text = fmt.Appendf(text, "held checkpoint, the latest this witness cosigned, %d bytes:\n%s", len(l.cosigned), l.cosigned)
	text = fmt.Appendf(text, "\noffered request, as received, %d bytes:\n%s", len(body), body)

	name, err := writeEvidence(w.dir, now, l.origin, kind, text)
	if err != nil {
		w.log.Error("cannot keep evidence of an inconsistent checkpoint", "origin", l.origin, "kind", kind, "error", err)
		return
	}
	w.log.Warn("refused an inconsistent checkpoint and kept the evidence", "origin", l.origin, "kind", kind,
		"held_size", l.cp.size, "offered_size", offered.size, "file", name)
}

// writeEvidence writes text to a new file in DATA/conflicts/ named by time,
// origin and kind, adding a number to the name rather than overwriting
// a file, and syncs it and the folder.
func writeEvidence(dir string, now time.Time, origin, kind string, text []byte) (string, error) {
	folder := filepath.Join(dir, conflictsDir) // made by Open
	base := now.Format("20060102T150405.000000000Z") + "-" + url.PathEscape(origin) + "-" + kind
	for i := 0; ; i++ {
		name := filepath.Join(folder, base+".txt")
		if i > 0 {
			name = filepath.Join(folder, base+"-"+strconv.Itoa(i)+".txt")
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(text); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		return name, syncDir(folder)
	}
}
