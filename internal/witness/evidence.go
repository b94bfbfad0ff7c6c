package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/truce-mechanism/truce/internal/syncfile"
)

// conflictsDir is the folder of evidence files in the data folder.
const conflictsDir = "conflicts"

// DefaultMaxEvidence is how many evidence files the witness keeps per log
// when Config.MaxEvidence is zero.
const DefaultMaxEvidence = 1000

// Kinds of evidence: why a validly signed checkpoint was refused.
//
// A checkpoint smaller than the one held (a rollback) is refused but
// never kept: every checkpoint a log ever published is public and validly
// signed, so anyone can replay an old one, and it proves nothing unless
// it is not a prefix of the held one. The witness cannot tell: the
// request's proof leads from its old size up to the offered checkpoint,
// never on to the held one, and without the log's tiles the witness
// cannot compute that proof itself. Keeping such requests would only let
// anyone fill the folder.
const (
	// KindFork is a checkpoint of the size the witness last cosigned with
	// another root hash: two trees of one size, proof of a split view.
	KindFork = "fork"
	// KindInconsistent is a checkpoint larger than the one the witness last
	// cosigned whose consistency proof does not verify. It is proof of
	// misbehaviour only if no valid proof exists, which anyone can check by
	// asking the log for one.
	KindInconsistent = "inconsistent"
)

// evidence is a refusal to keep, copied out of a logState under its mutex
// so that the file is written without holding it: the fsyncs of an
// evidence file must not stall the log's own add-checkpoint calls.
type evidence struct {
	kind     string
	key      [sha256.Size]byte // the offered checkpoint's text, hashed
	held     []byte
	heldCP   checkpoint
	offered  checkpoint
	body     []byte
	drop     bool // over the cap: log it, write nothing
	firstOut bool // the first refusal dropped by this process
}

// noteEvidence decides, under l.mu, whether a refusal of kind for the
// offered checkpoint, whose note text is text, is to be kept. It returns
// nil for a checkpoint already kept (or being kept): refusals are told
// apart by the offered checkpoint's text alone, not the request, so a
// checkpoint sent again with another old size, other proof lines or other
// signatures is one file. Past max files for the log it returns an
// evidence to drop. A kept one counts towards max at once.
func (l *logState) noteEvidence(kind, text string, body []byte, offered checkpoint, max int) *evidence {
	key := sha256.Sum256([]byte(text))
	if l.seen[key] {
		return nil
	}
	ev := &evidence{kind: kind, key: key, held: bytes.Clone(l.cosigned), heldCP: l.cp, offered: offered, body: body}
	if l.evidence >= max {
		ev.drop, ev.firstOut = true, !l.dropping
		l.dropping = true
		return ev
	}
	l.seen[key] = true
	l.evidence++
	return ev
}

// keepEvidence writes an evidence file for a refused checkpoint and logs
// it; it must be called without l.mu held. It never overwrites a file.
// A failure to write is logged and otherwise ignored, and the checkpoint
// may be kept when it is offered again: the refusal stands whether or not
// its evidence could be kept.
func (w *Witness) keepEvidence(l *logState, ev *evidence) {
	if ev.drop {
		level := slog.LevelDebug
		if ev.firstOut {
			level = slog.LevelWarn
		}
		w.log.Log(context.Background(), level, "refused an inconsistent checkpoint but keeps no more evidence of this log, dropping it",
			"origin", l.origin, "kind", ev.kind, "max_evidence", w.maxEvidence,
			"held_size", ev.heldCP.size, "offered_size", ev.offered.size)
		return
	}
	now := w.now().UTC()
	text := fmt.Appendf(nil, "truce witness evidence: %s\norigin %s\ntime %s\nheld size %d root %s\noffered size %d root %s\n\n",
		ev.kind, l.origin, now.Format(time.RFC3339Nano),
		ev.heldCP.size, base64.StdEncoding.EncodeToString(ev.heldCP.root[:]),
		ev.offered.size, base64.StdEncoding.EncodeToString(ev.offered.root[:]))
	text = fmt.Appendf(text, "held checkpoint, the latest this witness cosigned, %d bytes:\n%s", len(ev.held), ev.held)
	text = fmt.Appendf(text, "\noffered request, as received, %d bytes:\n%s", len(ev.body), ev.body)

	name, err := writeEvidence(w.dir, now, l.origin, ev.kind, text)
	if err != nil {
		l.mu.Lock()
		delete(l.seen, ev.key)
		l.evidence--
		l.mu.Unlock()
		w.log.Error("cannot keep evidence of an inconsistent checkpoint", "origin", l.origin, "kind", ev.kind, "error", err)
		return
	}
	w.log.Warn("refused an inconsistent checkpoint and kept the evidence", "origin", l.origin, "kind", ev.kind,
		"held_size", ev.heldCP.size, "offered_size", ev.offered.size, "file", name)
}

// evidenceName is the file name of evidence of a log kept at now; a number
// is added before ".txt" for a name already taken.
func evidenceName(now time.Time, origin, kind string) string {
	return now.Format("20060102T150405.000000000Z") + "-" + url.PathEscape(origin) + "-" + kind
}

// countEvidence counts the evidence files of each origin in DATA/conflicts/,
// so that the cap holds across restarts. Other files are ignored.
func countEvidence(dir string, origins []string) (map[string]int, error) {
	entries, err := os.ReadDir(filepath.Join(dir, conflictsDir))
	if err != nil {
		return nil, err
	}
	escaped := make(map[string]string, len(origins))
	for _, o := range origins {
		escaped[url.PathEscape(o)] = o
	}
	counts := make(map[string]int, len(origins))
	for _, e := range entries {
		// TIME-ORIGIN-KIND.txt or TIME-ORIGIN-KIND-N.txt; TIME has no "-".
		name, ok := strings.CutSuffix(e.Name(), ".txt")
		_, name, ok2 := strings.Cut(name, "-")
		if !ok || !ok2 {
			continue
		}
		if i := strings.LastIndexByte(name, '-'); i >= 0 {
			if _, err := strconv.ParseUint(name[i+1:], 10, 64); err == nil {
				name = name[:i]
			}
		}
		// Versions before this one kept rollbacks too.
		for _, kind := range []string{KindFork, KindInconsistent, "rollback"} {
			if o, ok := strings.CutSuffix(name, "-"+kind); ok {
				if origin, ok := escaped[o]; ok {
					counts[origin]++
				}
				break
			}
		}
	}
	return counts, nil
}

// writeEvidence writes text to a new file in DATA/conflicts/ named by time,
// origin and kind, adding a number to the name rather than overwriting
// a file, and syncs it and the folder.
func writeEvidence(dir string, now time.Time, origin, kind string, text []byte) (string, error) {
	folder := filepath.Join(dir, conflictsDir) // made by Open
	base := evidenceName(now, origin, kind)
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
		return name, syncfile.SyncDir(folder)
	}
}
