package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the height of C2SP tlog-tiles tiles: 256 hashes, or 256
// entries per bundle.
// SPEC: https://c2sp.org/tlog-tiles#merkle-tree
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// Retries of a request that failed for a reason that may pass: a network
// error, a 5xx, a 429. The waits double from retryWait.
const (
	maxAttempts = 5
	retryWait   = 100 * time.Millisecond
)

// maxBody bounds what one response may hold: an entry bundle is at most
// 256 entries of 64 KiB, and an API page of 1,000 subjects stays well
// under this.
const maxBody = 256 << 20

// client fetches from the server, a bounded number of requests at a time,
// retrying what may pass.
type client struct {
	base string
	http *http.Client
	own  *http.Transport // closed at the end when the client is ours
	sem  chan struct{}
	log  *slog.Logger
}

func newClient(base string, hc *http.Client, requests int, log *slog.Logger) *client {
	c := &client{base: strings.TrimSuffix(base, "/"), http: hc, sem: make(chan struct{}, requests), log: log}
	if c.http == nil {
		// The default transport keeps 2 idle connections per host, which
		// would have most of the requests in flight dial afresh.
		c.own = http.DefaultTransport.(*http.Transport).Clone()
		c.own.MaxIdleConnsPerHost = requests
		c.http = &http.Client{Transport: c.own}
	}
	return c
}

func (c *client) close() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

// statusError is an answer other than 200 OK.
type statusError struct {
	path string
	code int
	body string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.path, e.code, http.StatusText(e.code))
	if e.body != "" && e.code != http.StatusNotFound {
		msg += ": " + e.body
	}
	return msg
}

// notFound reports whether err is a 404 answer.
func notFound(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusNotFound
}

// get fetches path (which begins with /) and returns the body of a 200
// answer. Network errors, 5xx and 429 answers are retried; any other
// status is a *statusError.
func (c *client) get(ctx context.Context, path string) ([]byte, error) {
	wait := retryWait
	for attempt := 1; ; attempt++ {
		body, err, retry := c.try(ctx, path)
		if err == nil || !retry || attempt == maxAttempts || ctx.Err() != nil {
			return body, err
		}
		c.log.Warn("retrying", "path", path, "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (c *client) try(ctx context.Context, path string) (body []byte, err error, retry bool) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err(), false
	}
	defer func() { <-c.sem }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot make request: %w", err), false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var dns *net.DNSError
		return nil, fmt.Errorf("cannot reach the server: %w", err), !errors.As(err, &dns) || dns.IsTemporary
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxBody {
		return nil, fmt.Errorf("cannot read GET %s: the answer is over %d bytes", path, maxBody), false
	}
	body, err = readBody(resp.Body, resp.ContentLength)
	if err != nil {
		return nil, fmt.Errorf("cannot read GET %s: %w", path, err), true
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("cannot read GET %s: the answer is over %d bytes", path, maxBody), false
	}
	if resp.StatusCode != http.StatusOK {
		msg := string(body)
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		code := resp.StatusCode
		return nil, &statusError{path: path, code: code, body: strings.TrimSpace(msg)},
			code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	return body, nil, false
}

// readBody reads a response body of at most maxBody+1 bytes, into a
// buffer of its Content-Length when given: entry bundles are most of what
// an audit reads, and io.ReadAll would copy each several times as it grew.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length < 0 {
		return io.ReadAll(io.LimitReader(r, maxBody+1))
	}
	// net/http ends the body at its Content-Length.
	buf := make([]byte, length)
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// tilePath is the C2SP tlog-tiles path of a tile, or of an entry bundle
// for level -1: tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>], N in
// 3-digit groups, all but the last prefixed with x. It is sumdb's tile
// path without the height element, and "entries" for sumdb's "data".
// SPEC: https://c2sp.org/tlog-tiles#merkle-tree
func tilePath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", t.H))
	if t.L == -1 {
		p = "entries" + strings.TrimPrefix(p, "data")
	}
	return "tile/" + p
}

// fetchTile fetches a tile's data, or for level -1 an entry bundle. A
// partial tile that is gone (Tessera deletes partial tiles once the full
// one is published) is read from the full tile instead: a partial tile is
// a prefix of the full one.
// SPEC: https://c2sp.org/tlog-tiles#partial-tiles
func (c *client) fetchTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	data, err := c.get(ctx, "/log/"+tilePath(t))
	if err != nil && notFound(err) && t.W < tileWidth {
		full := t
		full.W = tileWidth
		if fdata, ferr := c.get(ctx, "/log/"+tilePath(full)); ferr == nil {
			if t.L == -1 {
				return prefixBundle(fdata, t.W), nil
			}
			if len(fdata) >= t.W*tlog.HashSize {
				return fdata[:t.W*tlog.HashSize], nil
			}
		}
	}
	return data, err
}

// prefixBundle returns the first n entries of a bundle, as a bundle; a
// malformed bundle is returned whole, for splitBundle to report.
func prefixBundle(b []byte, n int) []byte {
	off := 0
	for range n {
		if len(b)-off < 2 {
			return b
		}
		off += 2 + (int(b[off])<<8 | int(b[off+1]))
		if off > len(b) {
			return b
		}
	}
	return b[:off]
}

// splitBundle splits an entry bundle into its entries: each is a
// big-endian 16-bit length and that many bytes.
// SPEC: https://c2sp.org/tlog-tiles#log-entries
func splitBundle(b []byte) ([][]byte, error) {
	var entries [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return entries, fmt.Errorf("the bundle ends in the middle of a length, after %d entries", len(entries))
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b)-2 < n {
			return entries, fmt.Errorf("entry %d of the bundle is %d bytes long, but only %d bytes are left", len(entries), n, len(b)-2)
		}
		entries = append(entries, b[2:2+n:2+n])
		b = b[2+n:]
	}
	return entries, nil
}

// tileSource gives a tile's data, or an entry bundle's for level -1, as
// stored: the server over HTTP, a follower's mirror on disk, or the mirror
// before the server. What it gives is unauthenticated.
type tileSource interface {
	fetchTile(ctx context.Context, t tlog.Tile) ([]byte, error)
}

var _ tileSource = (*client)(nil)

// tileCache fetches the tiles above level 0 and the partial tiles on the
// right edge of the tree, each once, for every bundle's TileHashReader to
// share; the full level-0 tiles are fetched with their bundles instead,
// since each is needed once. Data is cached unauthenticated: every
// ReadHashes checks what it is given against the tree's root again.
type tileCache struct {
	c  tileSource
	mu sync.Mutex
	m  map[tlog.Tile]*tileFetch
}

type tileFetch struct {
	done chan struct{}
	data []byte
	err  error
}

func newTileCache(c tileSource) *tileCache {
	return &tileCache{c: c, m: map[tlog.Tile]*tileFetch{}}
}

// get returns the tile's data, fetching it on the first call; concurrent
// callers wait for the same fetch.
func (tc *tileCache) get(ctx context.Context, t tlog.Tile) ([]byte, error) {
	tc.mu.Lock()
	f, ok := tc.m[t]
	if !ok {
		f = &tileFetch{done: make(chan struct{})}
		tc.m[t] = f
	}
	tc.mu.Unlock()
	if ok {
		select {
		case <-f.done:
			return f.data, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.data, f.err = fetchHashTile(ctx, tc.c, t)
	if f.err != nil && (ctx.Err() != nil || unreachable(f.err)) {
		// Not the tile's fault: let a later caller try again.
		tc.mu.Lock()
		delete(tc.m, t)
		tc.mu.Unlock()
	}
	close(f.done)
	return f.data, f.err
}

// put keeps data, verified, as the tile's, for later callers.
func (tc *tileCache) put(t tlog.Tile, data []byte) {
	f := &tileFetch{done: make(chan struct{}), data: data}
	close(f.done)
	tc.mu.Lock()
	tc.m[t] = f
	tc.mu.Unlock()
}

// tileError is a tile that could not be had: fetch is set when its source
// did not give it, and clear when what it gave is not a tile.
type tileError struct {
	tile  tlog.Tile
	err   error
	fetch bool
}

func (e *tileError) Error() string { return e.err.Error() }
func (e *tileError) Unwrap() error { return e.err }

// fetchHashTile fetches a tile of hashes and checks its length.
func fetchHashTile(ctx context.Context, c tileSource, t tlog.Tile) ([]byte, error) {
	data, err := c.fetchTile(ctx, t)
	if err != nil {
		return nil, &tileError{t, err, true}
	}
	if len(data) != t.W*tlog.HashSize {
		return nil, &tileError{t, fmt.Errorf("%s is %d bytes, want %d (%d hashes)", tilePath(t), len(data), t.W*tlog.HashSize, t.W), false}
	}
	return data, nil
}

// unreachable reports whether err is a tile that could not be fetched for
// a reason that may pass: the server could not be reached, or answered
// with a 5xx, 429 or 408 after the retries, or the fetch was cancelled.
// That is an outage, to be tried again, not a fault of the log; a tile the
// server refuses outright (404) or that does not hash is one.
func unreachable(err error) bool {
	var te *tileError
	if !errors.As(err, &te) || !te.fetch {
		return false
	}
	var se *statusError
	if errors.As(te.err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests || se.code == http.StatusRequestTimeout
	}
	return true
}

// bundleTiles is the tlog.TileReader of one bundle's check: the bundle's
// own level-0 tile as given, every other tile from the cache.
type bundleTiles struct {
	ctx   context.Context
	cache *tileCache
	own   tlog.Tile
	data  []byte
	save  func(tlog.Tile, []byte) // nil, or a follower's mirror
}

var _ tlog.TileReader = (*bundleTiles)(nil)

// Height is C2SP tlog-tiles' tile height, for tlog.TileReader.
func (r *bundleTiles) Height() int { return tileHeight }

// ReadTiles gives tlog the tiles it asks for.
func (r *bundleTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t == r.own {
			out[i] = r.data
			continue
		}
		data, err := r.cache.get(r.ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles is given the tiles tlog has verified against the tree's root;
// a follower keeps them in its mirror.
func (r *bundleTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) { saveTiles(r.save, tiles, data) }

func saveTiles(save func(tlog.Tile, []byte), tiles []tlog.Tile, data [][]byte) {
	if save == nil {
		return
	}
	for i, t := range tiles {
		save(t, data[i])
	}
}

// cacheTiles is a tlog.TileReader over the cache alone, for proofs.
type cacheTiles struct {
	ctx   context.Context
	cache *tileCache
	save  func(tlog.Tile, []byte) // nil, or a follower's mirror
}

// Height is C2SP tlog-tiles' tile height, for tlog.TileReader.
func (r *cacheTiles) Height() int { return tileHeight }

// ReadTiles gives tlog the tiles it asks for.
func (r *cacheTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := r.cache.get(r.ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles is given the tiles tlog has verified against the tree's root;
// a follower keeps them in its mirror.
func (r *cacheTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) { saveTiles(r.save, tiles, data) }
