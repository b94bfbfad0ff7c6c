package ledger

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/transparency-dev/tessera/api/layout"
)

// Cache-Control values for what Handler serves.
// SPEC: https://c2sp.org/tlog-tiles#apis
const (
	// The checkpoint changes: caches must revalidate it every time.
	checkpointCache = "no-cache"
	// A full tile or bundle never changes.
	fullTileCache = "public, max-age=31536000, immutable"
	// A partial tile never changes either, but Tessera deletes it once the
	// full one is published; a short life spares clients a stale 404.
	partialTileCache = "public, max-age=60"
)

// tilePath matches the paths of tiles and entry bundles: /tile/<L>/<N>[.p/<W>]
// and /tile/entries/<N>[.p/<W>], where N is in 3-digit groups, each but the
// last prefixed with x. canonicalPath checks the numbers' ranges.
var tilePath = regexp.MustCompile(`^tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?$`)

// Handler returns a read-only C2SP tlog-tiles server for the log folder, to
// be mounted with http.StripPrefix: it serves GET and HEAD of /checkpoint,
// /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>] as the files lie, and
// 404 for anything else, Tessera's .state/ and its temporary files
// included. Entry bundles are served uncompressed; compression, if wanted,
// belongs in front of this handler.
func (l *Ledger) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		cache, ok := resource(p)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, err := os.Open(filepath.Join(l.dir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			l.log.Error("cannot open log file", "path", p, "error", err)
			http.Error(w, "cannot read log", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if p == layout.CheckpointPath {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
		h.Set("Cache-Control", cache)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
}

// resource reports whether p (without a leading slash) is a path that
// C2SP tlog-tiles defines, written the one way the spec allows, and the
// Cache-Control it is served with.
func resource(p string) (cache string, ok bool) {
	if p == layout.CheckpointPath {
		return checkpointCache, true
	}
	m := tilePath.FindStringSubmatch(p)
	if m == nil {
		return "", false
	}
	n, err := strconv.ParseUint(strings.NewReplacer("x", "", "/", "").Replace(m[2]), 10, 64)
	if err != nil {
		return "", false
	}
	var w uint64
	if m[3] != "" {
		if w, err = strconv.ParseUint(m[3], 10, 8); err != nil {
			return "", false
		}
	}
	var want string
	if m[1] == "entries" {
		want = layout.EntriesPath(n, uint8(w))
	} else {
		level, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil || level > 63 {
			return "", false
		}
		want = layout.TilePath(level, n, uint8(w))
	}
	// Rejects what the pattern lets through: leading x000/ groups.
	if p != want {
		return "", false
	}
	if w > 0 {
		return partialTileCache, true
	}
	return fullTileCache, true
}
