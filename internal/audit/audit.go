// Package audit is an observer's independent check of a truce mechanism.
//
// Run trusts nothing the server says that it can check itself. It fetches
// the log's checkpoint and verifies its signed-note signature with the log
// key the auditor brings; fetches every tile and entry bundle of the tree
// over HTTP (C2SP tlog-tiles) and checks, with golang.org/x/mod/sumdb/tlog,
// that they hash to the checkpoint's root; parses every entry, verifies
// every signature and replays the state with the fold (internal/state), in
// log order; and finally compares the replay with what the server's JSON
// API says: every verdict, every incident and action with its findings and
// votes, the charter and the compliance tallies.
//
// The work is a pipeline: bundles are fetched a few at a time; on every
// core, they are authenticated, their entries parsed and their signatures
// verified, ahead of the fold, which runs in log order and is handed the
// signatures already verified (Apply's verified map) so that it verifies
// none itself. Meanwhile the API is read. The audit is bound by the CPU:
// verifying signatures and parsing entries take nearly all of it.
//
// The API can only be compared with the replay at one log position: an
// incident's findings at the checkpoint can differ from its findings a
// few entries later. So the audit first replays the log up to the
// checkpoint it fetched; if the API has by then applied entries beyond it,
// Run fetches the newer checkpoint, proves it consistent with the first
// (tlog.ProveTree and CheckTree), extends the replay to it, and reads the
// API again, until the API has applied exactly the entries replayed and
// applied nothing while it was read (its verdicts, read before and after
// the rest, tell). If the API never stands still long enough, or lags
// behind, its verdicts are still compared (they never change), and the
// rest is reported as not compared.
//
// What Run finds wrong is reported as Problems, each naming what and
// where; Run returns an error only when it cannot complete the audit.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/truce-mechanism/truce/internal/pubkey"
	"github.com/truce-mechanism/truce/internal/state"
)

// Defaults for the zero values of Config.
const (
	// DefaultRequests is how many HTTP requests are in flight at a time.
	DefaultRequests = 8
	// DefaultSettleTries is how many times Run fetches the API's state,
	// waiting or extending the replay in between, before it gives up on
	// finding the API and the replay at the same log position.
	DefaultSettleTries = 20
	// DefaultSettleWait is how long Run waits between those tries for the
	// server to publish a checkpoint or apply its entries.
	DefaultSettleWait = 250 * time.Millisecond
)

// Config configures Run. Zero values are the documented defaults.
type Config struct {
	// Server is the mechanism's base URL, such as https://truce.example.
	Server string
	// LogKey is the log's signed-note verifier key, which the auditor
	// must get from a source it trusts rather than from the server.
	LogKey string
	// HTTPClient makes the requests; a client of its own when nil.
	HTTPClient *http.Client
	// Workers is how many goroutines parse entries and verify signatures;
	// runtime.GOMAXPROCS(0) when zero.
	Workers int
	// Requests is how many HTTP requests are in flight at a time;
	// DefaultRequests when zero.
	Requests int
	// SettleTries and SettleWait bound the wait for the API and the
	// replay to stand at the same log position; DefaultSettleTries and
	// DefaultSettleWait when zero.
	SettleTries int
	SettleWait  time.Duration
	// Progress, when not nil, is told how many entries have been replayed
	// out of how many there are to replay.
	Progress func(done, total uint64)
	// Logger receives retries and other notes; discarded when nil.
	Logger *slog.Logger
}

// discard is the logger of a Config without one.
var discard = slog.New(slog.DiscardHandler)

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// ErrLogKey is matched by the error Run returns for a log key that is
// not a signed-note verifier key.
var ErrLogKey = errors.New("not a signed-note verifier key")

// Kinds of Problem.
const (
	// KindCheckpoint: the checkpoint is missing, malformed, not signed by
	// the log key, or not consistent with an earlier one.
	KindCheckpoint = "checkpoint"
	// KindTile: a Merkle tile is missing or does not hash as it should.
	KindTile = "tile"
	// KindEntry: an entry bundle is missing or malformed, or an entry does
	// not hash to the tree's record hash.
	KindEntry = "entry"
	// KindVerdict: the API's verdict on an entry differs from the replay's.
	KindVerdict = "verdict"
	// KindIncident and KindAction: the API's incident or action differs
	// from the replay's.
	KindIncident = "incident"
	KindAction   = "action"
	// KindCharter: the API's charter differs from the replay's.
	KindCharter = "charter"
	// KindCompliance: the API's compliance tallies differ from the replay's.
	KindCompliance = "compliance"
	// KindLog: what the API says of the log (its key, origin or size)
	// differs from what the log shows.
	KindLog = "log"
	// KindIncomplete: part of the audit could not be done, and says why.
	KindIncomplete = "incomplete"
	// KindWitness: a checkpoint does not satisfy the charter's witness
	// policy, or a witness serves a checkpoint that does not open.
	KindWitness = "witness"
	// KindSplitView: a witness cosigned a checkpoint that differs from,
	// or is not consistent with, what the server gave the follower.
	KindSplitView = "split-view"
)

// Problem is one verification failure or one difference between the
// server and the replay.
type Problem struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Index is the log index the problem is about, or -1.
	Index int64 `json:"index"`
	// Subject is the incident or action id the problem is about, if any.
	Subject string `json:"subject,omitempty"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
}

// String gives the problem as one line naming where it is.
func (p Problem) String() string {
	switch {
	case p.Subject != "":
		return fmt.Sprintf("%s %s: %s", p.Kind, p.Subject, p.Message)
	case p.Index >= 0:
		return fmt.Sprintf("index %d: %s", p.Index, p.Message)
	}
	return p.Kind + ": " + p.Message
}

// Report is what an audit found.
type Report struct {
	// Server is the audited server's base URL.
	Server string `json:"server"`
	// Origin is the log's origin line, the mechanism's name.
	Origin string `json:"origin"`
	// Size and Root are those of the checkpoint audited up to; Root in
	// base64, as the checkpoint gives it.
	Size uint64 `json:"size"`
	Root string `json:"root"`
	// Entries is how many entries were replayed, Accepted and Rejected
	// how the fold judged them.
	Entries  uint64 `json:"entries"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	// Signatures counts the signatures that verified; BadSignatures those
	// that did not; UnknownKeySignatures those by keys that no charter or
	// amendment logged up to their entry lists, which cannot be checked.
	// The signatures of entries that are not valid statements, which the
	// fold rejects without looking at them, are not counted.
	Signatures           uint64 `json:"signatures"`
	BadSignatures        uint64 `json:"bad_signatures"`
	UnknownKeySignatures uint64 `json:"unknown_key_signatures"`
	// CharterVersion is the replay's charter version, 0 without a charter.
	CharterVersion int `json:"charter_version"`
	// Incidents and Actions count the replay's subjects by status.
	Incidents map[string]int `json:"incidents"`
	Actions   map[string]int `json:"actions"`
	// ServerApplied is how many entries the server's API had applied when
	// it was compared.
	ServerApplied uint64 `json:"server_applied"`
	// Duration is the whole audit's; ReplayDuration the part spent
	// fetching, verifying and replaying the log, while the API is read.
	Duration       time.Duration `json:"-"`
	ReplayDuration time.Duration `json:"-"`
	// Seconds and ReplaySeconds are Duration and ReplayDuration in
	// seconds, for the JSON report.
	Seconds       float64 `json:"seconds"`
	ReplaySeconds float64 `json:"replay_seconds"`
	// EntriesPerSecond is Entries over Duration.
	EntriesPerSecond float64 `json:"entries_per_second"`
	// Problems is every verification failure and difference: those of the
	// log itself first, then the API's differences from the replay, each
	// kind in log order.
	Problems []Problem `json:"problems"`
}

// Run audits the mechanism at cfg.Server against the log key cfg.LogKey.
// It returns an error only when it cannot complete the audit: a bad log
// key, a server it cannot reach, an API answer it cannot read. What it
// finds wrong is in the report's Problems.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	verifier, err := note.NewVerifier(strings.TrimSpace(cfg.LogKey))
	if err != nil {
		return nil, fmt.Errorf("cannot use log key %q: %w (%v)", cfg.LogKey, ErrLogKey, err)
	}
	if cfg.Server == "" {
		return nil, fmt.Errorf("cannot audit: no server given")
	}
	cfg = cfg.withDefaults()
	a := newAuditor(cfg, verifier)
	defer a.c.close()
	if err := a.run(ctx); err != nil {
		return nil, err
	}
	return a.timed(start), nil
}

// timed completes the report with the audit's times, from start.
func (a *auditor) timed(start time.Time) *Report {
	r := a.report
	r.Duration = time.Since(start)
	r.Seconds = r.Duration.Seconds()
	r.ReplaySeconds = r.ReplayDuration.Seconds()
	if r.Seconds > 0 {
		r.EntriesPerSecond = float64(r.Entries) / r.Seconds
	}
	return r
}

// newAuditor makes an auditor of the server in cfg, whose defaults are
// set, with verifier the log key's.
func newAuditor(cfg Config, verifier note.Verifier) *auditor {
	c := newClient(cfg.Server, cfg.HTTPClient, cfg.Requests, cfg.Logger)
	return &auditor{
		cfg:      cfg,
		c:        c,
		src:      c,
		verifier: verifier,
		origin:   verifier.Name(),
		tiles:    newTileCache(c),
		st:       state.New(verifier.Name()),
		ring:     newKeyring(),
		keys:     map[string]*pubkey.Key{},
		report: &Report{
			Server: cfg.Server, Origin: verifier.Name(),
			Incidents: map[string]int{}, Actions: map[string]int{}, Problems: []Problem{},
		},
		reported: map[string]bool{},
	}
}

// auditor is one run of an audit, or a follower's audit that goes on.
type auditor struct {
	cfg      Config
	c        *client
	verifier note.Verifier
	origin   string
	// src gives tiles and bundles: the server, or for a follower its
	// mirror before the server; tiles caches src's tiles above level 0.
	src   tileSource
	tiles *tileCache
	// save, when set, is given every tile and bundle once it is verified
	// against the tree being replayed: a follower's mirror keeps them.
	save func(tlog.Tile, []byte)
	// direct, when set, is the server alone, behind a mirror that src
	// reads first: what the mirror gave that does not verify is fetched
	// again from direct before anything is reported, and what then
	// verifies is given to overwrite, to replace the mirror's copy.
	direct    tileSource
	overwrite func(tlog.Tile, []byte)

	// tree is the checkpoint audited up to so far, and next the log index
	// the fold takes next: tree.N, or more when a replay to a larger tree
	// was cut short by an outage (see replay), which the next replay of
	// that tree goes on from.
	tree tlog.Tree
	next uint64
	// st is the replay; verdicts its verdict on each entry from vbase on
	// (a follower lets go of those it has compared).
	st       *state.State
	verdicts []verdict
	vbase    uint64
	// stopped, when set, is the log index at which the replay stopped for
	// want of an entry; nothing from there on is compared.
	stopped *uint64
	// untaken counts the entries folded since the last ForgetChanges.
	untaken int
	// ring is every key that the charters parsed so far list, for the
	// verifying jobs; keys is every key that the charters folded so far
	// list, for the report's tally of signatures.
	ring *keyring
	keys map[string]*pubkey.Key

	report *Report
	// reported dedupes problems that many bundles would report alike.
	reported map[string]bool

	// server is what the API said of each entry, index by index from
	// sbase on, and vcursor the cursor of the last page of it read.
	server  []apiVerdict
	sbase   uint64
	vcursor string
	// vbroken is set once the API's statement list was found out of
	// order: the index expected, and the one given.
	vbroken *[2]uint64
}

// replayed is how many entries the replay has folded.
func (a *auditor) replayed() uint64 { return a.vbase + uint64(len(a.verdicts)) }

// served is how many entries the API has given verdicts on, as read.
func (a *auditor) served() uint64 { return a.sbase + uint64(len(a.server)) }

// forget lets go of the verdicts, the replay's and the API's, on entries
// before n, which no later comparison reads.
func (a *auditor) forget(n uint64) {
	if k := min(n, a.replayed()); k > a.vbase {
		a.verdicts = slices.Clone(a.verdicts[k-a.vbase:])
		a.vbase = k
	}
	if k := min(n, a.served()); k > a.sbase {
		a.server = slices.Clone(a.server[k-a.sbase:])
		a.sbase = k
	}
}

// verdict is the replay's verdict on one entry.
type verdict struct {
	accepted bool
	reason   string
	id       string
}

func (a *auditor) problem(kind string, index int64, format string, args ...any) {
	a.report.Problems = append(a.report.Problems, Problem{Kind: kind, Index: index, Message: fmt.Sprintf(format, args...)})
}

func (a *auditor) subjectProblem(kind, id, format string, args ...any) {
	a.report.Problems = append(a.report.Problems, Problem{Kind: kind, Index: -1, Subject: id, Message: fmt.Sprintf(format, args...)})
}

func (a *auditor) run(ctx context.Context) error {
	info, err := a.logInfo(ctx)
	if err != nil {
		return err
	}
	if info.Key != strings.TrimSpace(a.cfg.LogKey) {
		a.problem(KindLog, -1, "the server gives its log key as %q, but the audit checks the log with %q", info.Key, strings.TrimSpace(a.cfg.LogKey))
	}
	if info.Origin != a.origin {
		a.problem(KindLog, -1, "the server gives its origin as %q, but the log key is for %q", info.Origin, a.origin)
	}
	tree, ok, err := a.checkpoint(ctx)
	if err != nil {
		return err
	}
	if !ok {
		a.summarize()
		return nil
	}
	// The API is read while the log is replayed: its verdicts never
	// change once given, and a server that is taking no statements still
	// stands where it stood, which settle confirms.
	type early struct {
		snap *snapshot
		err  error
	}
	api := make(chan early, 1)
	go func() {
		if err := a.fetchVerdicts(ctx); err != nil {
			api <- early{err: err}
			return
		}
		var e early
		if a.served() == uint64(tree.N) {
			e.snap, e.err = a.snapshot(ctx)
		}
		api <- e
	}()
	err = a.replay(ctx, tree)
	e := <-api
	if err == nil {
		err = e.err
	}
	if err != nil {
		return err
	}
	snap, err := a.settle(ctx, e.snap)
	if err != nil {
		return err
	}
	a.compare(snap)
	a.summarize()
	return nil
}

// summarize fills in the report's tallies from the replay.
func (a *auditor) summarize() {
	r := a.report
	r.Size = uint64(a.tree.N)
	r.Root = a.tree.Hash.String()
	if c := a.st.Charter(); c != nil {
		r.CharterVersion = c.Version
	}
	for _, sub := range a.st.Subjects() {
		if sub.Kind == "action" {
			r.Actions[sub.Status()]++
		} else {
			r.Incidents[sub.Status()]++
		}
	}
	sort.SliceStable(r.Problems, func(i, j int) bool { return problemOrder(r.Problems[i]) < problemOrder(r.Problems[j]) })
}

// problemOrder puts the log's own problems before the API's differences.
func problemOrder(p Problem) int {
	switch p.Kind {
	case KindCheckpoint, KindLog, KindWitness, KindSplitView:
		return 0
	case KindTile, KindEntry:
		return 1
	case KindVerdict:
		return 2
	case KindIncomplete:
		return 4
	}
	return 3
}
