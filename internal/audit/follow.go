package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// DefaultInterval is how often Follow polls when FollowConfig.Interval is
// zero.
const DefaultInterval = 5 * time.Second

// emptyRoot is the root of the empty tree: SHA-256 of nothing (RFC 6962).
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// webhookDeadline bounds the POSTs of a report to the webhook, retries
// and all: a follower that found a fault and is told to stop, stops.
const webhookDeadline = 10 * time.Second

// ErrFault is matched by the error Follow returns when it found the log,
// the server or a witness at fault; the report's Problems say what.
var ErrFault = errors.New("the log or the server is at fault")

// FollowConfig configures Follow. Zero values are the documented defaults.
type FollowConfig struct {
	// Config is the audit's: the server, the log key, the HTTP client,
	// workers and requests, Progress and Logger. Its SettleTries and
	// SettleWait are not used: a follower compares the API whenever it
	// finds it standing where the log does, and otherwise at a later poll.
	Config
	// Dir is the mirror: the log as C2SP tlog-tiles lays it out, with
	// the last accepted checkpoint and the follower's follow.json. It is
	// made when absent, and resumed from when present.
	Dir string
	// Interval is how long Follow waits between polls; DefaultInterval
	// when zero.
	Interval time.Duration
	// Witnesses are base URLs of witnesses whose latest cosigned
	// checkpoint, GET <URL>/checkpoint?origin=<origin>, must be consistent
	// with what the follower accepted.
	Witnesses []string
	// Webhook, when set, is POSTed the report as JSON when Follow finds a
	// fault.
	Webhook string
	// Accepted, when not nil, is told of every checkpoint accepted.
	Accepted func(Status)
}

// Status is where a follower stands after accepting a checkpoint.
type Status struct {
	// Size and Root are the accepted checkpoint's.
	Size uint64
	Root string
	// New is how many entries it added to the replay; Resumed is set for
	// the checkpoint read back from the mirror on start.
	New     uint64
	Resumed bool
	// Cosigned lists the charter's witnesses that cosigned it.
	Cosigned []string
	// Compared reports whether the API stood at Size when last read, and
	// was compared whole with the replay; its verdicts are compared as
	// far as it has applied entries, always.
	Compared bool
	// Fetched is how many tiles and bundles the follower has fetched from
	// the server and kept in the mirror since it started.
	Fetched int
	// Held is how many verdicts, the replay's and the API's, the follower
	// holds in memory: those of entries it has not compared yet.
	Held int
}

// Follow keeps a verified mirror of the log in cfg.Dir and audits every
// checkpoint the server publishes from then on, until ctx is done or it
// finds a fault.
//
// On start it reads back the mirror's accepted checkpoint, verifies it
// with the log key, and replays the fold from the mirror's own bundles,
// checked again against that checkpoint's tree (what the mirror lacks, it
// fetches from the server); nothing is fetched twice and nothing is taken
// on trust. Then, every interval, it fetches the server's checkpoint and:
//
//   - verifies its signature by the log key;
//   - refuses a smaller tree (a rollback) or another root at the same
//     size, and otherwise proves the new tree consistent with the accepted
//     one, from the server's tiles, with tlog.ProveTree and CheckTree;
//   - fetches the new tiles and bundles, checks them against the tree,
//     verifies every new entry's signatures, folds them, and keeps them in
//     the mirror;
//   - verifies its witnesses' cosignatures, and that they satisfy the
//     witness policy in force for its size (state.WitnessPolicy): that of
//     the latest charter among its own entries, new ones included; only
//     then writes the checkpoint as accepted;
//   - compares the API's new verdicts with the replay's, and, when the
//     API stands at the accepted size, its incidents, actions, charter
//     and compliance;
//   - reads each witness's latest cosigned checkpoint and checks it
//     against the accepted one: equal at equal size, provably consistent
//     otherwise. Anything else is a split view.
//
// At the first problem it logs it, POSTs the report to cfg.Webhook if
// set (for at most webhookDeadline), and returns the report with an error
// matching ErrFault. A server or witness it cannot reach, or a tile or
// bundle it cannot fetch (a network error, or a 5xx, 429 or 408 after the
// retries), is logged and tried again at the next poll: a replay cut short
// keeps what it folded, accepts nothing, and goes on from there under the
// same checkpoint. It returns nil when ctx is done.
func Follow(ctx context.Context, cfg FollowConfig) (*Report, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(cfg.LogKey))
	if err != nil {
		return nil, fmt.Errorf("cannot use log key %q: %w (%v)", cfg.LogKey, ErrLogKey, err)
	}
	if cfg.Server == "" {
		return nil, errors.New("cannot follow: no server given")
	}
	if cfg.Dir == "" {
		return nil, errors.New("cannot follow: no folder given for the mirror")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	cfg.Config = cfg.Config.withDefaults()
	m, err := openMirror(cfg.Dir)
	if err != nil {
		return nil, err
	}
	a := newAuditor(cfg.Config, verifier)
	defer a.c.close()
	f := &follower{cfg: cfg, a: a, m: m, logKey: strings.TrimSpace(cfg.LogKey)}
	a.src = mirrorFirst{m: m, c: a.c}
	a.tiles = newTileCache(a.src)
	a.save = func(t tlog.Tile, data []byte) { f.save(t, data, false) }
	a.direct = a.c
	a.overwrite = func(t tlog.Tile, data []byte) { f.save(t, data, true) }
	for _, u := range cfg.Witnesses {
		f.witnesses = append(f.witnesses, newClient(u, cfg.HTTPClient, 2, cfg.Logger))
	}
	defer func() {
		for _, w := range f.witnesses {
			w.close()
		}
	}()
	start := time.Now()
	finish := func() *Report {
		a.summarize()
		return a.timed(start)
	}

	for {
		err := f.resume(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || !unreachable(err) {
			return nil, err
		}
		// What the mirror lacks, the server cannot give now: the replay
		// goes on from where it stopped (a.next) at the next try.
		cfg.Logger.Warn("cannot resume; trying again", "server", cfg.Server, "error", err)
		select {
		case <-ctx.Done():
			return finish(), nil
		case <-time.After(cfg.Interval):
		}
	}
	if len(a.report.Problems) > 0 {
		return f.fault(ctx, finish())
	}
	for {
		err := f.poll(ctx)
		if len(a.report.Problems) > 0 {
			return f.fault(ctx, finish())
		}
		if ctx.Err() != nil {
			return finish(), nil
		}
		if err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return finish(), fatal.err
			}
			cfg.Logger.Warn("cannot poll; trying again at the next", "server", cfg.Server, "error", err)
		}
		select {
		case <-ctx.Done():
			return finish(), nil
		case <-time.After(cfg.Interval):
		}
	}
}

// withDefaults fills in a Config's zero values.
func (cfg Config) withDefaults() Config {
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers()
	}
	if cfg.Requests <= 0 {
		cfg.Requests = DefaultRequests
	}
	if cfg.SettleTries <= 0 {
		cfg.SettleTries = DefaultSettleTries
	}
	if cfg.SettleWait <= 0 {
		cfg.SettleWait = DefaultSettleWait
	}
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	return cfg
}

// fatalError is a failure of the follower itself, such as a full disk,
// which polling again would not mend.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// follower is Follow's state between polls.
type follower struct {
	cfg       FollowConfig
	a         *auditor
	m         *mirror
	logKey    string
	witnesses []*client

	// accepted is the accepted checkpoint as served, st follow.json.
	accepted []byte
	st       *followState
	// infoChecked is set once /v1/log was read and compared.
	infoChecked bool
	// verdicts is how many of the API's verdicts were compared.
	verdicts uint64
	// compared is set when the API was compared whole at the accepted
	// size.
	compared bool
	// pending is the checkpoint accepted in this poll, told once the API
	// was compared.
	pending *Status
	// unfinished is the checkpoint, as served, whose replay an outage cut
	// short: the next poll steps to it again, whatever the server serves
	// by then, so that the fold goes on under the tree its entries were
	// checked against.
	unfinished []byte

	mu      sync.Mutex
	saveErr error
}

// save keeps a verified tile or bundle in the mirror.
func (f *follower) save(t tlog.Tile, data []byte, overwrite bool) {
	if err := f.m.save(t, data, overwrite); err != nil {
		f.mu.Lock()
		if f.saveErr == nil {
			f.saveErr = err
		}
		f.mu.Unlock()
	}
}

func (f *follower) savedOK() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saveErr != nil {
		return &fatalError{f.saveErr}
	}
	return nil
}

// resume reads back the mirror's accepted checkpoint and replays the log
// up to it from the mirror.
func (f *follower) resume(ctx context.Context) error {
	a := f.a
	raw, st, err := f.m.load()
	if err != nil {
		return err
	}
	if raw == nil {
		f.st = &followState{Origin: a.origin, LogKey: f.logKey, Server: f.cfg.Server}
		return nil
	}
	if st.Origin != a.origin || st.LogKey != f.logKey {
		return fmt.Errorf("cannot resume: the mirror in %s follows the log %s with key %s, not %s", f.m.dir, st.Origin, st.LogKey, f.logKey)
	}
	cp, err := truce.OpenCheckpoint(raw, a.verifier, nil)
	if err != nil {
		return fmt.Errorf("cannot resume from the mirror in %s: the checkpoint in %s: %w", f.m.dir, followFile, err)
	}
	tree := tlog.Tree{N: cp.Size, Hash: cp.Hash}
	if uint64(tree.N) != st.Size || tree.Hash.String() != st.Root {
		return fmt.Errorf("cannot resume from the mirror in %s: the checkpoint in %s is of size %d, root %s, but it says size %d, root %s", f.m.dir, followFile, tree.N, tree.Hash, st.Size, st.Root)
	}
	f.cfg.Logger.Info("resuming from the mirror", "dir", f.m.dir, "size", tree.N, "root", tree.Hash)
	if err := a.replay(ctx, tree); err != nil {
		return err
	}
	if len(a.report.Problems) > 0 {
		for i := range a.report.Problems {
			a.report.Problems[i].Message = "resuming from the mirror in " + f.m.dir + ": " + a.report.Problems[i].Message
		}
		return nil
	}
	if err := f.savedOK(); err != nil {
		return err.(*fatalError).err
	}
	f.accepted, f.st = raw, st
	f.st.Server = f.cfg.Server
	f.tell(Status{Size: uint64(tree.N), Root: tree.Hash.String(), New: uint64(tree.N), Resumed: true})
	return nil
}

// tell reports an accepted checkpoint.
func (f *follower) tell(s Status) {
	f.m.mu.Lock()
	s.Fetched = f.m.saves
	f.m.mu.Unlock()
	s.Held = len(f.a.verdicts) + len(f.a.server)
	f.cfg.Logger.Info("accepted checkpoint", "size", s.Size, "root", s.Root, "new", s.New, "compared", s.Compared)
	if f.cfg.Accepted != nil {
		f.cfg.Accepted(s)
	}
}

// poll does one round: the server's checkpoint, the log up to it, the API
// and the witnesses.
func (f *follower) poll(ctx context.Context) error {
	a := f.a
	if !f.infoChecked {
		info, err := a.logInfo(ctx)
		if err != nil {
			return err
		}
		f.infoChecked = true
		if info.Key != f.logKey {
			a.problem(KindLog, -1, "the server gives its log key as %q, but the follower checks the log with %q", info.Key, f.logKey)
		}
		if info.Origin != a.origin {
			a.problem(KindLog, -1, "the server gives its origin as %q, but the log key is for %q", info.Origin, a.origin)
		}
		if len(a.report.Problems) > 0 {
			return nil
		}
	}
	// A checkpoint whose replay was cut short is finished first; the
	// server's latest waits for the next poll.
	raw := f.unfinished
	if raw == nil {
		var err error
		raw, err = a.c.get(ctx, "/log/checkpoint")
		if notFound(err) {
			a.problem(KindCheckpoint, -1, "the server serves no checkpoint (GET /log/checkpoint: 404)")
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot fetch the checkpoint: %w", err)
		}
	}
	if !bytes.Equal(raw, f.accepted) {
		ok, err := f.step(ctx, raw)
		if err != nil || !ok {
			return err
		}
	}
	if err := f.compareAPI(ctx); err != nil {
		return err
	}
	f.checkWitnesses(ctx)
	return nil
}

// step audits a checkpoint the server serves that differs from the one
// accepted, and accepts it. ok is false when it found a problem.
func (f *follower) step(ctx context.Context, raw []byte) (ok bool, err error) {
	a := f.a
	old := a.tree
	// The log's signature first: nothing is fetched under a tree the log
	// did not sign. The cosignatures wait for the fold (below).
	cp, err := truce.OpenCheckpoint(raw, a.verifier, nil)
	if err != nil {
		if _, why := openCheckpoint(raw, a.verifier); why != nil {
			err = why // it says which key and what is wrong, in words
		}
		a.problem(KindCheckpoint, -1, "GET /log/checkpoint: %v", err)
		return false, nil
	}
	tree := tlog.Tree{N: cp.Size, Hash: cp.Hash}
	switch {
	case tree.N == 0 && tree.Hash != emptyRoot:
		a.problem(KindCheckpoint, -1, "the server's checkpoint of size 0 has root %s, not the empty tree's %s", tree.Hash, emptyRoot)
		return false, nil
	case f.accepted == nil:
		// The first checkpoint: nothing to be consistent with.
	case tree.N < old.N:
		a.problem(KindCheckpoint, -1, "the server's checkpoint went back from size %d (root %s), accepted before, to size %d (root %s): the log was rolled back", old.N, old.Hash, tree.N, tree.Hash)
		return false, nil
	case tree.N == old.N && tree.Hash != old.Hash:
		a.problem(KindCheckpoint, -1, "the server's checkpoint of size %d has root %s, but the checkpoint of size %d accepted before has root %s: the log was rewritten", tree.N, tree.Hash, old.N, old.Hash)
		return false, nil
	}
	if tree.N > old.N {
		a.tiles = newTileCache(a.src) // the last tree's partial tiles are of no more use
		if err := a.proveTree(ctx, tree, old); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if unreachable(err) {
				return false, fmt.Errorf("cannot prove the checkpoint of size %d consistent with the accepted one of size %d: %w", tree.N, old.N, err)
			}
			a.problem(KindCheckpoint, -1, "the server's checkpoint of size %d (root %s) is not consistent with the checkpoint of size %d (root %s) accepted before: %v", tree.N, tree.Hash, old.N, old.Hash, err)
			return false, nil
		}
		problems := len(a.report.Problems)
		if err := a.replay(ctx, tree); err != nil {
			if ctx.Err() == nil && unreachable(err) {
				// The fold stopped before the bundle it could not have
				// (a.next), and a.tree is still the accepted tree: the
				// next poll proves this checkpoint again and goes on.
				f.unfinished = raw
			}
			return false, err
		}
		if len(a.report.Problems) > problems {
			return false, nil
		}
		if err := f.savedOK(); err != nil {
			return false, err
		}
		f.compared = false
	}
	// The policy for a checkpoint of size n is that of the latest charter
	// among entries [0, n), which the fold has now read: the rule the
	// server publishes by.
	policy, err := state.WitnessPolicy(a.st.Charters(), uint64(tree.N))
	if err != nil {
		a.problem(KindWitness, -1, "the checkpoint of size %d: %v", tree.N, err)
		return false, nil
	}
	if len(policy.Witnesses()) > 0 {
		if cp, err = truce.OpenCheckpoint(raw, a.verifier, policy); err != nil {
			a.problem(KindWitness, -1, "GET /log/checkpoint (size %d, root %s): %v", tree.N, tree.Hash, err)
			return false, nil
		}
	}
	if !cp.Witnessed {
		by := "no witness of the policy's"
		if c := cp.Cosigned(); len(c) > 0 {
			by = strings.Join(c, ", ")
		}
		a.problem(KindWitness, -1, "the server's checkpoint of size %d (root %s) does not satisfy the witness policy in force for it, %s, set by the latest charter among its entries: it is cosigned by %s", tree.N, tree.Hash, policy, by)
		return false, nil
	}
	f.accepted, f.unfinished = raw, nil
	f.st.Server = f.cfg.Server
	f.st.Size, f.st.Root, f.st.Accepted = uint64(tree.N), tree.Hash.String(), time.Now().UTC()
	if err := f.m.commit(raw, f.st); err != nil {
		return false, &fatalError{err}
	}
	f.pending = &Status{Size: uint64(tree.N), Root: tree.Hash.String(), New: uint64(tree.N - old.N), Cosigned: cp.Cosigned()}
	return true, nil
}

// compareAPI compares the API's verdicts that are new since the last poll
// and, when the API stands at the accepted size, the rest of its state.
func (f *follower) compareAPI(ctx context.Context) error {
	a := f.a
	defer func() {
		if f.pending != nil {
			f.pending.Compared = f.compared
			f.tell(*f.pending)
			f.pending = nil
		}
	}()
	if err := a.fetchVerdicts(ctx); err != nil {
		return err
	}
	if g := a.vbroken; g != nil {
		a.problem(KindVerdict, int64(g[0]), "the server's statement list goes on from this index with index %d: it leaves out or repeats entries", g[1])
		return nil
	}
	size := uint64(a.tree.N)
	n := min(size, a.served())
	if n > f.verdicts {
		a.compareVerdictRange(f.verdicts, n)
		f.verdicts = n
		a.forget(n) // never compared again
	}
	if a.served() != size || a.stopped != nil {
		return nil
	}
	snap, err := a.snapshot(ctx)
	if err != nil || snap == nil {
		return err
	}
	a.compareSubjects(snap)
	a.compareCharter(snap.charter)
	a.compareCompliance(snap.compliance)
	f.compared = true
	a.report.ServerApplied = snap.applied
	return nil
}

// checkWitnesses reads each witness's latest cosigned checkpoint and
// checks it against the accepted one.
func (f *follower) checkWitnesses(ctx context.Context) {
	a := f.a
	if len(f.witnesses) == 0 {
		return
	}
	path := "/checkpoint?origin=" + url.QueryEscape(a.origin)
	policy, err := state.WitnessPolicy(a.st.Charters(), uint64(a.tree.N))
	if err != nil {
		policy = nil // step reported it
	}
	changed := false
	for i, w := range f.witnesses {
		wurl := f.cfg.Witnesses[i]
		raw, err := w.get(ctx, path)
		if notFound(err) {
			continue // it has cosigned nothing of this log yet
		}
		if err != nil {
			f.cfg.Logger.Warn("cannot read a witness's checkpoint; trying again at the next poll", "witness", wurl, "error", err)
			continue
		}
		// Its cosignatures are checked by the witnesses the follower
		// expects now, at the accepted size.
		cp, err := truce.OpenCheckpoint(raw, a.verifier, policy)
		if err != nil {
			a.problem(KindWitness, -1, "witness %s serves, as the checkpoint it cosigned last, one that does not open as the log's: %v", wurl, err)
			continue
		}
		wt := tlog.Tree{N: cp.Size, Hash: cp.Hash}
		acc := a.tree
		switch {
		case wt.N == acc.N && wt.Hash != acc.Hash:
			a.problem(KindSplitView, -1, "witness %s cosigned the checkpoint of size %d with root %s, but the server gave this follower size %d with root %s: the log shows two histories", wurl, wt.N, wt.Hash, acc.N, acc.Hash)
			continue
		case wt.N != acc.N:
			larger, smaller := acc, wt
			if wt.N > acc.N {
				larger, smaller = wt, acc
			}
			if err := a.proveTree(ctx, larger, smaller); err != nil {
				if ctx.Err() != nil {
					return
				}
				if unreachable(err) {
					f.cfg.Logger.Warn("cannot check a witness's checkpoint; trying again at the next poll", "witness", wurl, "size", wt.N, "error", err)
					continue
				}
				if wt.N < acc.N {
					a.problem(KindSplitView, -1, "witness %s cosigned the checkpoint of size %d with root %s, which is not consistent with the checkpoint of size %d (root %s) the server gave this follower: %v", wurl, wt.N, wt.Hash, acc.N, acc.Hash, err)
				} else {
					a.problem(KindSplitView, -1, "witness %s cosigned the checkpoint of size %d with root %s, which the server's tiles do not prove consistent with the checkpoint of size %d (root %s) it gave this follower: %v", wurl, wt.N, wt.Hash, acc.N, acc.Hash, err)
				}
				continue
			}
		}
		seen := witnessSeen{Size: uint64(wt.N), Root: wt.Hash.String()}
		if f.st.Witnesses == nil {
			f.st.Witnesses = map[string]witnessSeen{}
		}
		if old, ok := f.st.Witnesses[wurl]; !ok || old.Size != seen.Size || old.Root != seen.Root {
			seen.At = time.Now().UTC()
			f.st.Witnesses[wurl] = seen
			changed = true
		}
	}
	if changed && f.accepted != nil {
		if err := f.m.record(f.st); err != nil {
			f.cfg.Logger.Warn("cannot record what the witnesses showed", "error", err)
		}
	}
}

// fault logs the report's problems, POSTs the report to the webhook, and
// returns the error Follow ends with.
func (f *follower) fault(ctx context.Context, r *Report) (*Report, error) {
	for _, p := range r.Problems {
		f.cfg.Logger.Error("audit fault", "kind", p.Kind, "index", p.Index, "subject", p.Subject, "problem", p.Message)
	}
	if f.cfg.Webhook != "" {
		if err := postReport(context.WithoutCancel(ctx), f.cfg.HTTPClient, f.cfg.Webhook, r, webhookDeadline); err != nil {
			f.cfg.Logger.Error("cannot post the report to the webhook", "webhook", f.cfg.Webhook, "error", err)
		}
	}
	return r, fmt.Errorf("%w: %s", ErrFault, r.Problems[0])
}

// postReport POSTs a report as JSON, trying up to three times within
// deadline.
func postReport(ctx context.Context, hc *http.Client, webhook string, r *Report, deadline time.Duration) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err = postOnce(ctx, hc, webhook, body)
		if err == nil || attempt == 3 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func postOnce(ctx context.Context, hc *http.Client, webhook string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", webhook, resp.Status)
	}
	return nil
}
