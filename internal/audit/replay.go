package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/pubkey"
	"github.com/truce-mechanism/truce/internal/state"
)

// chunkSize is how many entries one job parses and verifies.
const chunkSize = 64

// takeEvery is how many entries the replay folds between calls to the
// state's ForgetChanges, which the audit needs only to let go of what the
// state keeps for a projection.
const takeEvery = 8192

// logInfo is GET /v1/log: what the server says of its log.
type logInfo struct {
	Origin string `json:"origin"`
	Key    string `json:"key"`
	Size   uint64 `json:"size"`
}

func (a *auditor) logInfo(ctx context.Context) (*logInfo, error) {
	body, err := a.c.get(ctx, "/v1/log")
	if err != nil {
		return nil, fmt.Errorf("cannot read the server's log description: %w", err)
	}
	var info logInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("cannot read the server's log description (GET /v1/log): %w", err)
	}
	return &info, nil
}

// checkpoint fetches the log's checkpoint and verifies it. ok is false
// when it cannot be trusted, which is reported as a problem.
func (a *auditor) checkpoint(ctx context.Context) (tree tlog.Tree, ok bool, err error) {
	raw, err := a.c.get(ctx, "/log/checkpoint")
	if notFound(err) {
		a.problem(KindCheckpoint, -1, "the server serves no checkpoint (GET /log/checkpoint: 404)")
		return tlog.Tree{}, false, nil
	}
	if err != nil {
		return tlog.Tree{}, false, fmt.Errorf("cannot fetch the checkpoint: %w", err)
	}
	tree, err = openCheckpoint(raw, a.verifier)
	if err != nil {
		a.problem(KindCheckpoint, -1, "%v", err)
		return tlog.Tree{}, false, nil
	}
	return tree, true, nil
}

// openCheckpoint verifies a checkpoint's signature with the log key and
// reads its tree.
func openCheckpoint(raw []byte, v note.Verifier) (tlog.Tree, error) {
	key := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
	n, err := note.Open(raw, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		var by []string
		for _, s := range unverified.Note.UnverifiedSigs {
			by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return tlog.Tree{}, fmt.Errorf("the checkpoint carries no signature by the log key %s (it is signed by %s)", key, strings.Join(by, ", "))
	case errors.As(err, &invalid):
		return tlog.Tree{}, fmt.Errorf("the checkpoint's signature by the log key %s does not verify", key)
	case err != nil:
		return tlog.Tree{}, fmt.Errorf("the checkpoint is not a signed note: %v", err)
	}
	return parseCheckpoint(n.Text, v.Name())
}

// parseCheckpoint reads a checkpoint's body: the origin, the tree size in
// decimal and the root hash in base64, each on a line, then any extension
// lines.
// SPEC: https://c2sp.org/tlog-checkpoint
func parseCheckpoint(text, origin string) (tlog.Tree, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return tlog.Tree{}, fmt.Errorf("the checkpoint %q is not an origin, a size and a root hash, each on a line", text)
	}
	if lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("the checkpoint's origin is %q, but the log key is for %q", lines[0], origin)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return tlog.Tree{}, fmt.Errorf("the checkpoint's size %q is not a decimal number", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return tlog.Tree{}, fmt.Errorf("the checkpoint's root hash %q is not %d bytes in base64", lines[2], tlog.HashSize)
	}
	tree := tlog.Tree{N: n}
	copy(tree.Hash[:], h)
	return tree, nil
}

// extend audits the log up to a later checkpoint: it proves the new tree
// consistent with the one audited so far, and replays the entries the new
// one adds. ok is false if the proof fails, which is reported.
func (a *auditor) extend(ctx context.Context, tree tlog.Tree) (ok bool, err error) {
	old := a.tree
	if err := a.proveTree(ctx, tree, old); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if unreachable(err) {
			return false, fmt.Errorf("cannot prove the checkpoint of size %d consistent with the checkpoint of size %d: %w", tree.N, old.N, err)
		}
		a.problem(KindCheckpoint, -1, "the checkpoint of size %d is not consistent with the checkpoint of size %d audited before it: %v", tree.N, old.N, err)
		return false, nil
	}
	return true, a.replay(ctx, tree)
}

// proveTree proves the tree larger consistent with smaller, with
// tlog.ProveTree from the tiles of larger and tlog.CheckTree. An error
// that unreachable matches is a tile that could not be fetched, which may
// pass; any other is a proof that does not verify, or a tile that does
// not hash to larger's root, from the server. When src is a mirror, what
// fails is tried again from the server alone before it is believed.
func (a *auditor) proveTree(ctx context.Context, larger, smaller tlog.Tree) error {
	switch {
	case smaller.N == 0:
		return nil // every tree extends the empty one; tlog has no proof for that
	case larger.N == smaller.N:
		if larger.Hash != smaller.Hash {
			return fmt.Errorf("the roots of size %d differ", larger.N)
		}
		return nil
	}
	err := proveWith(ctx, a.tiles, a.save, larger, smaller)
	if err != nil && !unreachable(err) && ctx.Err() == nil && a.direct != nil {
		err = proveWith(ctx, newTileCache(a.direct), a.overwrite, larger, smaller)
	}
	return err
}

func proveWith(ctx context.Context, tiles *tileCache, save func(tlog.Tile, []byte), larger, smaller tlog.Tree) error {
	thr := tlog.TileHashReader(larger, &cacheTiles{ctx: ctx, cache: tiles, save: save})
	proof, err := tlog.ProveTree(larger.N, smaller.N, thr)
	if err != nil {
		return fmt.Errorf("cannot prove it from the tiles of size %d: %w", larger.N, err)
	}
	return tlog.CheckTree(proof, larger.N, larger.Hash, smaller.N, smaller.Hash)
}

// bundle is one entry bundle on its way through the replay's pipeline:
// fetched and split, then checked against the tree and its entries parsed
// and verified, by several jobs at once, then folded.
type bundle struct {
	n     int64 // the bundle's number: its entries are n*256, n*256+1, ...
	width int   // how many entries the tree being audited has in it
	skip  int   // how many leading entries an earlier replay folded

	// src, tiles and save are where its data comes from and what keeps
	// it once verified: the auditor's, or the server alone's.
	src   tileSource
	tiles *tileCache
	save  func(tlog.Tile, []byte)

	data, tile       []byte // as fetched
	dataErr, tileErr error

	raw      [][]byte       // the entries, at most width
	entries  []*truce.Entry // parsed entries raw[skip:]
	sigs     []sigs         // what the jobs found of their signatures
	problems []Problem
	// upper, when set, says which tile above level 0 could not be had.
	upper string
	// outage, when set, is a fetch that failed for a reason that may
	// pass (unreachable): the bundle is not folded, and what else it
	// found is found again when it is fetched again.
	outage error

	pending atomic.Int32  // jobs still to run
	done    chan struct{} // closed when they have all run
}

// sigs is what a job found of an entry's signatures: by keyid, those that
// verified (the fold's verified map) and those that did not. A signature
// in neither was not tried, its key being unknown to the job.
type sigs struct {
	ok, bad map[string]bool
}

func (b *bundle) first() int64 { return b.n * tileWidth }

func (b *bundle) problem(kind string, index int64, format string, args ...any) {
	b.problems = append(b.problems, Problem{Kind: kind, Index: index, Message: fmt.Sprintf(format, args...)})
}

// finish marks one of the bundle's jobs done.
func (b *bundle) finish() {
	if b.pending.Add(-1) == 0 {
		close(b.done)
	}
}

// keyring is every key that the charters and amendments parsed so far
// list, by keyid, whatever their place in the log: a keyid names one key,
// so a signature that verifies under it verifies, and the fold decides
// whether the key was a member's where the entry stands. It is replaced,
// never changed, so that verifying jobs read it without a lock.
type keyring struct {
	mu   sync.Mutex
	keys atomic.Pointer[map[string]*pubkey.Key]
}

func newKeyring() *keyring {
	k := new(keyring)
	k.keys.Store(&map[string]*pubkey.Key{})
	return k
}

func (k *keyring) get() map[string]*pubkey.Key { return *k.keys.Load() }

// add adds the keys of the charters and amendments among entries.
func (k *keyring) add(entries []*truce.Entry) {
	var found []ed25519.PublicKey
	for _, e := range entries {
		found = append(found, charterKeys(e)...)
	}
	if len(found) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.get()
	next := make(map[string]*pubkey.Key, len(old)+len(found))
	for id, pub := range old {
		next[id] = pub
	}
	for _, pub := range found {
		id := truce.KeyID(pub)
		if _, ok := next[id]; !ok {
			next[id] = pubkey.New(pub)
		}
	}
	k.keys.Store(&next)
}

// charterKeys lists the keys that an entry's charter or amendment lists.
func charterKeys(e *truce.Entry) []ed25519.PublicKey {
	var members []truce.Member
	switch body := e.Body.(type) {
	case *truce.Charter:
		members = body.Members
	case *truce.CharterAmend:
		members = body.Members
	default:
		return nil
	}
	var keys []ed25519.PublicKey
	for _, m := range members {
		for _, k := range m.Keys {
			if pub, err := truce.ParsePublicKey(k); err == nil {
				keys = append(keys, pub)
			}
		}
	}
	return keys
}

// replay fetches, authenticates, parses, verifies and folds the entries
// of tree that are not folded yet.
//
// Bundles are fetched a.cfg.Requests requests at a time, in log order, at
// most window bundles ahead of the fold. Each fetched bundle becomes jobs
// for a.cfg.Workers goroutines: one checks it against the tree; each of
// the others parses and verifies a chunk of its entries. No job waits for
// another, so the workers stay busy as long as there are bundles in the
// window. The fold takes the bundles in log order on this goroutine.
//
// A bundle or tile that cannot be fetched for a reason that may pass (a
// server it cannot reach, a 5xx, 429 or 408 after the retries) cuts the
// replay short with an error that unreachable matches, before that
// bundle is folded: a.tree stays as it was, and a.next says how far the
// fold got, so that the next replay of the same tree goes on from there
// and folds no entry twice. Everything folded before the cut was checked
// against tree, and is kept in the mirror for a follower.
func (a *auditor) replay(ctx context.Context, tree tlog.Tree) error {
	from, to := a.next, uint64(tree.N)
	if from >= to {
		a.tree = tree
		return nil
	}
	start := time.Now()
	defer func() { a.report.ReplayDuration += time.Since(start) }()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := a.cfg.Workers
	window := max(16, 4*workers, 2*a.cfg.Requests)
	jobs := make(chan func(), 8*workers)
	var pool sync.WaitGroup
	for range workers {
		pool.Go(func() {
			for job := range jobs {
				if ctx.Err() == nil {
					job()
				}
			}
		})
	}
	// Every job is queued by a fetching goroutine, so the pool is closed
	// once they are all done.
	var fetchers sync.WaitGroup
	defer func() {
		cancel()
		fetchers.Wait()
		close(jobs)
		pool.Wait()
	}()

	slots := make(chan struct{}, window)
	order := make(chan *bundle, window)
	var direct *tileCache // the server's tiles alone, for refetch
	fetchers.Go(func() {
		defer close(order)
		for n := from / tileWidth; n*tileWidth < to; n++ {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			b := &bundle{
				n:     int64(n),
				width: int(min(tileWidth, to-n*tileWidth)),
				skip:  int(max(from, n*tileWidth) - n*tileWidth),
				src:   a.src, tiles: a.tiles, save: a.save,
				done: make(chan struct{}),
			}
			if n == 0 {
				// The genesis charter, entry 0, lists the keys that sign
				// nearly every entry: its bundle goes first, with its keys.
				a.fetchBundle(ctx, b, tree, jobs)
			} else {
				fetchers.Go(func() { a.fetchBundle(ctx, b, tree, jobs) })
			}
			select {
			case order <- b:
			case <-ctx.Done():
				return
			}
		}
	})

	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if b.outage == nil && (len(b.problems) > 0 || b.upper != "") && a.direct != nil {
			if direct == nil {
				direct = newTileCache(a.direct)
			}
			b = a.refetch(ctx, tree, b, direct)
		}
		if b.outage != nil && parent.Err() == nil {
			a.next = uint64(b.first()) + uint64(b.skip)
			return fmt.Errorf("cannot replay the log from entry %d to %d: %w", a.next, to, b.outage)
		}
		a.foldBundle(b)
		<-slots
		if a.cfg.Progress != nil {
			a.cfg.Progress(a.replayed(), to)
		}
	}
	if err := parent.Err(); err != nil {
		return fmt.Errorf("cannot finish the replay: %w", err)
	}
	a.tree, a.next = tree, to
	return nil
}

// refetch does a bundle's work again from the server alone, on this
// goroutine, when what the mirror gave did not verify: the mirror's tiles
// and bundles are not synced, and a crash can leave one cut short. Only
// the server's copy failing is a fault; what verifies replaces the
// mirror's copy, and the tiles above level 0 the auditor's cached ones.
func (a *auditor) refetch(ctx context.Context, tree tlog.Tree, b *bundle, direct *tileCache) *bundle {
	nb := &bundle{
		n: b.n, width: b.width, skip: b.skip,
		src: a.direct, tiles: direct,
		save: func(t tlog.Tile, data []byte) {
			a.overwrite(t, data)
			if t.L > 0 || t.W < tileWidth {
				a.tiles.put(t, data)
			}
		},
		done: make(chan struct{}),
	}
	jobs := make(chan func(), 1+tileWidth/chunkSize)
	a.fetchBundle(ctx, nb, tree, jobs)
	close(jobs)
	for job := range jobs {
		job()
	}
	if ctx.Err() != nil {
		return b
	}
	return nb
}

// fetchBundle fetches a bundle and its level-0 tile, together, splits the
// bundle into entries and queues the jobs that check and parse them.
func (a *auditor) fetchBundle(ctx context.Context, b *bundle, tree tlog.Tree, jobs chan<- func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		b.tile, b.tileErr = fetchHashTile(ctx, b.src, tlog.Tile{H: tileHeight, L: 0, N: b.n, W: b.width})
	})
	bt := tlog.Tile{H: tileHeight, L: -1, N: b.n, W: b.width}
	b.data, b.dataErr = b.src.fetchTile(ctx, bt)
	if b.dataErr != nil {
		b.dataErr = &tileError{bt, b.dataErr, true}
	}
	wg.Wait()

	bpath := tilePath(bt)
	switch {
	case unreachable(b.dataErr):
		b.outage = b.dataErr
	case b.dataErr != nil:
		b.problem(KindEntry, b.first(), "cannot fetch entry bundle %s: %v", bpath, b.dataErr)
	default:
		raw, err := splitBundle(b.data)
		if err != nil {
			b.problem(KindEntry, b.first()+int64(len(raw)), "entry bundle %s is malformed: %v", bpath, err)
		} else if len(raw) != b.width {
			b.problem(KindEntry, b.first()+int64(min(len(raw), b.width)), "entry bundle %s holds %d entries, want %d", bpath, len(raw), b.width)
		}
		b.raw = raw[:min(len(raw), b.width)]
	}
	if b.n == 0 && b.skip == 0 && len(b.raw) > 0 {
		a.ring.add([]*truce.Entry{state.ParseLogEntry(b.raw[0])})
	}

	var todo []func()
	todo = append(todo, func() { a.checkBundle(ctx, tree, b) })
	if n := len(b.raw) - b.skip; n > 0 {
		b.entries = make([]*truce.Entry, n)
		b.sigs = make([]sigs, n)
		for lo := 0; lo < n; lo += chunkSize {
			hi := min(lo+chunkSize, n)
			todo = append(todo, func() { a.parseAndVerify(b, lo, hi) })
		}
	}
	b.pending.Store(int32(len(todo)))
	for _, job := range todo {
		select {
		case jobs <- func() { job(); b.finish() }:
		case <-ctx.Done():
			return
		}
	}
}

// checkBundle checks each of a bundle's entries' record hash against the
// tree.
//
// The check is tlog's: a TileHashReader over the bundle's level-0 tile
// and the tiles above it authenticates the level-0 hashes against the
// checkpoint's root. When that fails, the level-0 tile that the entries
// themselves make is tried in its place: if it authenticates, the entries
// are the log's and the served tile is wrong, at the hashes where the two
// differ.
func (a *auditor) checkBundle(ctx context.Context, tree tlog.Tree, b *bundle) {
	first := b.first()
	bpath := tilePath(tlog.Tile{H: tileHeight, L: -1, N: b.n, W: b.width})
	hashTile := tlog.Tile{H: tileHeight, L: 0, N: b.n, W: b.width}
	tpath := tilePath(hashTile)

	hashes := make([]tlog.Hash, len(b.raw))
	for j, e := range b.raw {
		hashes[j] = tlog.RecordHash(e)
	}
	indexes := make([]int64, b.width)
	for j := range indexes {
		indexes[j] = tlog.StoredHashIndex(0, first+int64(j))
	}
	authenticate := func(tile []byte) ([]tlog.Hash, error) {
		return tlog.TileHashReader(tree, &bundleTiles{ctx: ctx, cache: b.tiles, own: hashTile, data: tile, save: b.save}).ReadHashes(indexes)
	}
	defer func() { b.tile, b.data = nil, nil }()
	if b.outage != nil {
		return
	}
	var want []tlog.Hash
	err := b.tileErr
	if err == nil {
		want, err = authenticate(b.tile)
	}
	var te *tileError
	switch {
	case unreachable(err):
		// The server may serve it at the next try: not a fault.
		b.outage = err
	case err == nil:
		// The entries an earlier replay folded are checked again: a
		// follower keeps the bundle as it is now.
		altered := false
		for j := range hashes {
			if hashes[j] != want[j] {
				altered = true
				b.problem(KindEntry, first+int64(j), "the entry in %s hashes to %s, but the log's tree has %s: the entry bundle was altered", bpath, hashes[j], want[j])
			}
		}
		if !altered && len(hashes) == b.width && b.save != nil {
			b.save(tlog.Tile{H: tileHeight, L: -1, N: b.n, W: b.width}, b.data)
		}
	case errors.As(err, &te) && te.tile != hashTile:
		// A tile above level 0, or on the tree's right edge, is missing:
		// no bundle under it can be checked.
		b.upper = fmt.Sprintf("cannot fetch %s, so the entries under it cannot be checked against the checkpoint: %v", tilePath(te.tile), te.err)
	case len(hashes) == b.width:
		mine := make([]byte, 0, b.width*tlog.HashSize)
		for _, h := range hashes {
			mine = append(mine, h[:]...)
		}
		if _, err2 := authenticate(mine); unreachable(err2) {
			b.outage = err2
			break
		} else if err2 != nil {
			b.problem(KindTile, first, "entries %d to %d cannot be checked: neither %s nor the entries of %s hash to the checkpoint's root (%v)", first, first+int64(b.width)-1, tpath, bpath, err)
			break
		}
		if b.tileErr != nil {
			b.problem(KindTile, first, "cannot fetch %s: %v; the entries of %s hash to the checkpoint's root without it", tpath, errors.Unwrap(b.tileErr), bpath)
			break
		}
		for j := range b.width {
			var served tlog.Hash
			copy(served[:], b.tile[j*tlog.HashSize:])
			if served != hashes[j] {
				b.problem(KindTile, first+int64(j), "%s holds %s for this entry, but the entry hashes to %s, which the checkpoint's root confirms: the tile was altered", tpath, served, hashes[j])
			}
		}
	default:
		b.problem(KindTile, first, "entries %d to %d cannot be checked against the checkpoint's root: %v", first, first+int64(b.width)-1, err)
	}
}

// parseAndVerify parses the entries [lo, hi) of b's entries to fold, adds
// the keys of any charter among them to the keyring, and verifies their
// signatures by the keys it has. Signatures of entries that the fold
// rejects before it looks at signatures are left alone.
func (a *auditor) parseAndVerify(b *bundle, lo, hi int) {
	for j := lo; j < hi; j++ {
		// The server's own reading of log bytes, so that an entry that is
		// not a truce entry at all gets the same verdict.
		b.entries[j] = state.ParseLogEntry(b.raw[b.skip+j])
	}
	a.ring.add(b.entries[lo:hi])
	keys := a.ring.get()
	for j := lo; j < hi; j++ {
		e := b.entries[j]
		if e.Problem != nil || e.Envelope == nil {
			continue
		}
		var msg []byte
		for _, s := range e.Envelope.Signatures {
			key, ok := keys[s.KeyID]
			if !ok {
				continue
			}
			if msg == nil {
				msg = truce.PAE(e.Envelope.PayloadType, e.Envelope.Payload)
			}
			r := &b.sigs[j]
			if key.Verify(msg, s.Sig) {
				if r.ok == nil {
					r.ok = make(map[string]bool, len(e.Envelope.Signatures))
				}
				r.ok[s.KeyID] = true
			} else {
				if r.bad == nil {
					r.bad = map[string]bool{}
				}
				r.bad[s.KeyID] = true
			}
		}
	}
}

// countSignatures tallies an entry's signatures for the report, by the
// keys that charters up to and including the entry list (a.keys, kept in
// log order), verifying here the few that the entry's job could not: by
// a key whose charter another job had not parsed yet.
func (a *auditor) countSignatures(e *truce.Entry, r *sigs) {
	if e.Problem != nil || e.Envelope == nil {
		return
	}
	for _, pub := range charterKeys(e) {
		if id := truce.KeyID(pub); a.keys[id] == nil {
			a.keys[id] = pubkey.New(pub)
		}
	}
	var msg []byte
	for _, s := range e.Envelope.Signatures {
		key, known := a.keys[s.KeyID]
		switch {
		case !known:
			a.report.UnknownKeySignatures++
		case r.ok[s.KeyID]:
			a.report.Signatures++
		case r.bad[s.KeyID]:
			a.report.BadSignatures++
		default:
			if msg == nil {
				msg = truce.PAE(e.Envelope.PayloadType, e.Envelope.Payload)
			}
			if !key.Verify(msg, s.Sig) {
				a.report.BadSignatures++
				continue
			}
			if r.ok == nil {
				r.ok = map[string]bool{}
			}
			r.ok[s.KeyID] = true
			a.report.Signatures++
		}
	}
}

// foldBundle applies a bundle's entries to the replay, in order. It stops
// the replay at the first entry that could not be read: the fold cannot
// skip one.
func (a *auditor) foldBundle(b *bundle) {
	r := a.report
	r.Problems = append(r.Problems, b.problems...)
	if b.upper != "" && !a.reported[b.upper] {
		a.reported[b.upper] = true
		a.problem(KindTile, -1, "%s", b.upper)
	}
	if a.stopped != nil {
		return
	}
	for j := b.skip; j < b.width; j++ {
		index := uint64(b.first()) + uint64(j)
		if j-b.skip >= len(b.entries) {
			a.stopped = &index
			a.problem(KindIncomplete, int64(index), "the replay stops here: the log's entry %d could not be read, so no later entry is replayed and neither incidents, actions, charter nor compliance are compared", index)
			return
		}
		e, s := b.entries[j-b.skip], &b.sigs[j-b.skip]
		a.countSignatures(e, s)
		v := a.st.Apply(index, e, s.ok)
		rec := verdict{accepted: v.Accepted}
		if v.Err != nil {
			rec.reason = v.Err.Error()
		}
		if e.Statement != nil {
			rec.id = e.Statement.ID
		}
		a.verdicts = append(a.verdicts, rec)
		r.Entries++
		if v.Accepted {
			r.Accepted++
		} else {
			r.Rejected++
		}
		a.untaken++
	}
	if a.untaken >= takeEvery {
		a.st.ForgetChanges()
		a.untaken = 0
	}
}
