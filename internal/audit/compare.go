package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/truce-mechanism/truce/internal/state"
)

// pageLimit is the page size asked of the API's lists: its largest.
const pageLimit = 1000

// maxPages bounds a list, against a server whose cursors never end.
const maxPages = 1 << 20

// maxDiffs is how many differences one JSON document reports at most.
const maxDiffs = 20

// apiVerdict is an item of GET /v1/statements.
type apiVerdict struct {
	Index   uint64 `json:"index"`
	ID      string `json:"id"`
	Verdict struct {
		Accepted bool   `json:"accepted"`
		Reason   string `json:"reason"`
	} `json:"verdict"`
}

// apiSubject is what the audit reads of an item of GET /v1/incidents and
// /v1/actions.
type apiSubject struct {
	ID        string                  `json:"id"`
	Kind      string                  `json:"kind"`
	Index     uint64                  `json:"index"`
	Status    string                  `json:"status"`
	Questions map[string]*apiQuestion `json:"questions"`
}

type apiQuestion struct {
	Status    string    `json:"status"`
	Answer    string    `json:"answer"`
	Severity  string    `json:"severity"`
	DecidedAt *uint64   `json:"decided_at"`
	Votes     []apiVote `json:"votes"`
}

type apiVote struct {
	Member   string `json:"member"`
	Answer   string `json:"answer"`
	Severity string `json:"severity"`
	Counted  bool   `json:"counted"`
}

// snapshot is the API's state after a number of entries.
type snapshot struct {
	// applied is how many entries the API had applied.
	applied             uint64
	incidents, actions  []apiSubject
	charter, compliance []byte // JSON; charter nil for none
}

// settle reads the API's state where it stands at the audited log
// position, and returns nil if it never does in the tries it has. When
// the API has applied more entries than the audited checkpoint holds, the
// audit is extended to a newer checkpoint; when fewer, the server is given
// time to catch up. The API has applied what it has verdicts on.
//
// early is a snapshot read while the log was replayed, if any: it stands
// if the API has applied nothing since.
func (a *auditor) settle(ctx context.Context, early *snapshot) (*snapshot, error) {
	for try := 1; ; try++ {
		if err := a.fetchVerdicts(ctx); err != nil {
			return nil, err
		}
		size := uint64(a.tree.N)
		applied := a.served()
		a.report.ServerApplied = applied
		if early != nil && early.applied == size && applied == size {
			return early, nil
		}
		early = nil
		if applied == size {
			snap, err := a.snapshot(ctx)
			if err != nil || snap != nil {
				return snap, err
			}
			applied = a.served() // it moved meanwhile
		}
		if try >= a.cfg.SettleTries || a.vbroken != nil {
			return nil, nil
		}
		if applied > size && a.stopped == nil {
			tree, ok, err := a.checkpoint(ctx)
			if err != nil || !ok {
				return nil, err
			}
			if tree.N < a.tree.N {
				a.problem(KindCheckpoint, -1, "the server's checkpoint went back from size %d to %d", a.tree.N, tree.N)
				return nil, nil
			}
			if tree.N > a.tree.N {
				if ok, err := a.extend(ctx, tree); err != nil || !ok {
					return nil, err
				}
				continue
			}
		}
		a.cfg.Logger.Info("waiting for the server", "audited", size, "applied", applied)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(a.cfg.SettleWait):
		}
	}
}

// snapshot reads the API's subjects, charter and compliance, then its
// verdicts again: if it applied nothing meanwhile, they are its state
// after the entries it has verdicts on, and snapshot returns them; if it
// moved, nil.
func (a *auditor) snapshot(ctx context.Context) (*snapshot, error) {
	s := &snapshot{applied: a.served()}
	// The lists, the charter and the compliance tallies are read at once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() { s.incidents, errs[0] = a.fetchSubjects(ctx, "incidents") })
	wg.Go(func() { s.actions, errs[1] = a.fetchSubjects(ctx, "actions") })
	wg.Go(func() {
		s.charter, errs[2] = a.c.get(ctx, "/v1/charter")
		if notFound(errs[2]) {
			s.charter, errs[2] = nil, nil
		}
		if errs[2] != nil {
			errs[2] = fmt.Errorf("cannot read the server's charter: %w", errs[2])
		}
	})
	wg.Go(func() {
		if s.compliance, errs[3] = a.c.get(ctx, "/v1/compliance"); errs[3] != nil {
			errs[3] = fmt.Errorf("cannot read the server's compliance tallies: %w", errs[3])
		}
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := a.fetchVerdicts(ctx); err != nil {
		return nil, err
	}
	if a.served() != s.applied {
		return nil, nil
	}
	return s, nil
}

// fetchVerdicts reads the API's verdicts that the audit lacks, going on
// from the last page read, since verdicts never change.
func (a *auditor) fetchVerdicts(ctx context.Context) error {
	if a.vbroken != nil {
		return nil
	}
	cursor := a.vcursor
	for range maxPages {
		path := fmt.Sprintf("/v1/statements?limit=%d", pageLimit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []apiVerdict `json:"items"`
			Next  string       `json:"next"`
		}
		if err := a.getJSON(ctx, path, &page); err != nil {
			return fmt.Errorf("cannot read the server's verdicts: %w", err)
		}
		for _, v := range page.Items {
			n := a.served()
			if v.Index < n {
				continue // read before, from this page
			}
			if v.Index != n {
				a.vbroken = &[2]uint64{n, v.Index}
				return nil
			}
			a.server = append(a.server, v)
		}
		a.vcursor = cursor
		if page.Next == "" || page.Next == cursor {
			return nil
		}
		cursor = page.Next
	}
	return nil
}

// fetchSubjects reads a whole list of incidents or actions.
func (a *auditor) fetchSubjects(ctx context.Context, list string) ([]apiSubject, error) {
	var all []apiSubject
	cursor := ""
	for range maxPages {
		path := fmt.Sprintf("/v1/%s?limit=%d", list, pageLimit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items []apiSubject `json:"items"`
			Next  string       `json:"next"`
		}
		if err := a.getJSON(ctx, path, &page); err != nil {
			return nil, fmt.Errorf("cannot read the server's %s: %w", list, err)
		}
		all = append(all, page.Items...)
		if page.Next == "" || page.Next == cursor {
			break
		}
		cursor = page.Next
	}
	return all, nil
}

func (a *auditor) getJSON(ctx context.Context, path string, v any) error {
	body, err := a.c.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// compare reports every difference between the API and the replay; snap
// is nil when the API was never read at the audited log position.
func (a *auditor) compare(snap *snapshot) {
	size := a.replayed()
	a.compareVerdicts(size)
	if a.stopped != nil {
		return
	}
	if snap == nil {
		applied := a.served()
		a.problem(KindIncomplete, -1, "the server's API never stood at the audited log position in %d tries (it had applied %d entries, the audit replayed %d): only its verdicts on entries 0 to %d were compared, not its incidents, actions, charter and compliance; audit again, or audit a mirror that takes no statements", a.cfg.SettleTries, applied, size, int64(min(size, applied))-1)
		return
	}
	a.compareSubjects(snap)
	a.compareCharter(snap.charter)
	a.compareCompliance(snap.compliance)
}

func (a *auditor) compareVerdicts(size uint64) {
	if g := a.vbroken; g != nil {
		a.problem(KindVerdict, int64(g[0]), "the server's statement list goes on from this index with index %d: it leaves out or repeats entries", g[1])
	}
	n := min(size, a.served())
	a.compareVerdictRange(0, n)
	if n < size && a.vbroken == nil {
		a.problem(KindLog, int64(n), "the server has verdicts on %d entries only, but the audited checkpoint holds %d", n, size)
	}
}

// compareVerdictRange compares the API's verdicts on entries [from, to)
// with the replay's.
func (a *auditor) compareVerdictRange(from, to uint64) {
	for i := from; i < to; i++ {
		s, r := &a.server[i-a.sbase], &a.verdicts[i-a.vbase]
		if s.ID != r.id {
			a.problem(KindVerdict, int64(i), "the server gives statement id %q, the log has %q", s.ID, r.id)
		}
		switch {
		case s.Verdict.Accepted && !r.accepted:
			a.problem(KindVerdict, int64(i), "server says accepted, replay says rejected: %s", r.reason)
		case !s.Verdict.Accepted && r.accepted:
			a.problem(KindVerdict, int64(i), "server says rejected (%s), replay says accepted", s.Verdict.Reason)
		case s.Verdict.Reason != r.reason:
			a.problem(KindVerdict, int64(i), "server says rejected (%s), replay says rejected (%s)", s.Verdict.Reason, r.reason)
		}
	}
}

func (a *auditor) compareSubjects(snap *snapshot) {
	size := uint64(a.tree.N)
	replay := map[string]*state.Subject{}
	for _, s := range a.st.Subjects() {
		replay[s.ID] = s
	}
	listed := map[string]bool{}
	for _, l := range []struct {
		kind  string
		items []apiSubject
	}{{KindIncident, snap.incidents}, {KindAction, snap.actions}} {
		for i := range l.items {
			s := &l.items[i]
			if s.Index >= size {
				continue // beyond the checkpoint
			}
			if listed[s.ID] {
				a.subjectProblem(l.kind, s.ID, "the server lists it twice")
				continue
			}
			listed[s.ID] = true
			r := replay[s.ID]
			if r == nil {
				a.subjectProblem(l.kind, s.ID, "the server lists it (log index %d), but the replay has no such %s", s.Index, l.kind)
				continue
			}
			a.compareSubject(l.kind, s, r)
		}
	}
	for _, r := range a.st.Subjects() {
		if !listed[r.ID] {
			a.subjectProblem(r.Kind, r.ID, "the replay has it (log index %d, %s), but the server does not list it", r.Index, r.Status())
		}
	}
}

func (a *auditor) compareSubject(kind string, s *apiSubject, r *state.Subject) {
	if r.Kind != kind {
		a.subjectProblem(kind, s.ID, "the server lists it as an %s, the replay has an %s", kind, r.Kind)
		return
	}
	if s.Index != r.Index {
		a.subjectProblem(kind, s.ID, "the server says it was reported at log index %d, the replay at %d", s.Index, r.Index)
	}
	if st := r.Status(); s.Status != st {
		a.subjectProblem(kind, s.ID, "server says %s, replay says %s", s.Status, st)
	}
	names := map[string]bool{}
	for q := range s.Questions {
		names[q] = true
	}
	for q := range r.Questions {
		names[q] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		sq, rq := s.Questions[name], r.Questions[name]
		switch {
		case sq == nil:
			a.subjectProblem(kind, s.ID, "question %s: the server does not have it, the replay has it %s", name, describeQuestion(rq.Status, rq.Answer, rq.Severity, rq.DecidedAt))
			continue
		case rq == nil:
			a.subjectProblem(kind, s.ID, "question %s: the server has it %s, the replay does not have it", name, describeQuestion(sq.Status, sq.Answer, sq.Severity, sq.DecidedAt))
			continue
		}
		sd, rd := describeQuestion(sq.Status, sq.Answer, sq.Severity, sq.DecidedAt), describeQuestion(rq.Status, rq.Answer, rq.Severity, rq.DecidedAt)
		if sd != rd {
			a.subjectProblem(kind, s.ID, "question %s: server says %s, replay says %s", name, sd, rd)
		}
		rv := make([]apiVote, len(rq.Votes))
		for i, v := range rq.Votes {
			rv[i] = apiVote{Member: v.Member, Answer: v.Answer, Severity: v.Severity, Counted: v.Counted}
		}
		if !slices.Equal(sq.Votes, rv) {
			a.subjectProblem(kind, s.ID, "question %s: server has votes [%s], replay has [%s]", name, describeVotes(sq.Votes), describeVotes(rv))
		}
	}
}

// describeQuestion gives a question's state in a few words, such as
// "decided PK at 57" or "open".
func describeQuestion(status, answer, severity string, decidedAt *uint64) string {
	s := status
	if answer != "" {
		s += " " + answer
	}
	if severity != "" {
		s += " (" + severity + ")"
	}
	if decidedAt != nil {
		s += fmt.Sprintf(" at %d", *decidedAt)
	}
	return s
}

func describeVotes(vs []apiVote) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Member + " " + v.Answer
		if v.Severity != "" {
			out[i] += " (" + v.Severity + ")"
		}
		if v.Counted {
			out[i] += " counted"
		}
	}
	return strings.Join(out, ", ")
}

// charterVersion is an item of the charter's history, as the API gives it.
type charterVersion struct {
	Version     int       `json:"version"`
	Index       uint64    `json:"index"`
	StatementID string    `json:"statement_id"`
	Received    time.Time `json:"received"`
	Signers     []string  `json:"signers"`
}

// compareCharter compares the API's charter and its history with the
// replay's, as JSON values.
func (a *auditor) compareCharter(server []byte) {
	cs := a.st.Charters()
	switch {
	case server == nil && len(cs) == 0:
		return
	case server == nil:
		a.problem(KindCharter, -1, "the server has no charter, the replay has version %d (log index %d)", cs[len(cs)-1].Version, cs[len(cs)-1].Index)
		return
	case len(cs) == 0:
		a.problem(KindCharter, -1, "the server has a charter, the replay has none")
		return
	}
	c := cs[len(cs)-1]
	var doc map[string]any
	if err := json.Unmarshal(state.MarshalCanonical(c), &doc); err != nil {
		panic(err) // the fold's own charter is plain data
	}
	history := make([]charterVersion, len(cs))
	for i, c := range cs {
		history[i] = charterVersion{Version: c.Version, Index: c.Index, StatementID: c.StatementID, Received: c.Received, Signers: c.Signers}
	}
	doc["history"] = history
	a.diffDocuments(KindCharter, "the charter", server, doc)
}

func (a *auditor) compareCompliance(server []byte) {
	a.diffDocuments(KindCompliance, "the compliance tallies", server, a.st.Compliance())
}

// diffDocuments compares a JSON document from the API with the replay's
// value, encoded as JSON, and reports each difference by its path.
func (a *auditor) diffDocuments(kind, what string, server []byte, replay any) {
	var s, r any
	if err := json.Unmarshal(server, &s); err != nil {
		a.problem(kind, -1, "the server's %s are not JSON: %v", what, err)
		return
	}
	b, err := json.Marshal(replay)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		panic(err) // the fold's own values are plain data
	}
	n := 0
	diffJSON("", s, r, func(path, sv, rv string) {
		n++
		if n <= maxDiffs {
			a.problem(kind, -1, "%s: server says %s, replay says %s", path, sv, rv)
		}
	})
	if n > maxDiffs {
		a.problem(kind, -1, "%d more differences in %s", n-maxDiffs, what)
	}
}

// diffJSON calls out with the path of each difference between two JSON
// values, as encoding/json decodes them into an any, and the two values
// there.
func diffJSON(path string, s, r any, out func(path, s, r string)) {
	switch sv := s.(type) {
	case map[string]any:
		rv, ok := r.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(sv)+len(rv))
		for k := range sv {
			keys = append(keys, k)
		}
		for k := range rv {
			if _, ok := sv[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			sk, sok := sv[k]
			rk, rok := rv[k]
			switch {
			case !sok:
				out(p, "nothing", short(rk))
			case !rok:
				out(p, short(sk), "nothing")
			default:
				diffJSON(p, sk, rk, out)
			}
		}
		return
	case []any:
		rv, ok := r.([]any)
		if !ok {
			break
		}
		if key := itemKey(sv, rv); key != "" {
			diffKeyed(path, key, sv, rv, out)
			return
		}
		if len(sv) != len(rv) {
			out(orRoot(path), items(len(sv)), items(len(rv)))
		}
		for i := range min(len(sv), len(rv)) {
			diffJSON(fmt.Sprintf("%s[%d]", path, i), sv[i], rv[i], out)
		}
		return
	}
	if !reflect.DeepEqual(s, r) {
		out(orRoot(path), short(s), short(r))
	}
}

// itemKey returns the field that names every item of two lists of
// objects, uniquely, if there is one: the lists are then compared item by
// item by that name (parties[PK].clauses[C1].violations) rather than by
// position, so that one missing item is one difference.
func itemKey(s, r []any) string {
keys:
	for _, k := range [...]string{"id", "party", "clause", "member", "version"} {
		seen := map[string]bool{}
		for _, list := range [][]any{s, r} {
			names := map[string]bool{}
			for _, it := range list {
				name, ok := itemName(it, k)
				if !ok || names[name] {
					continue keys
				}
				names[name] = true
				seen[name] = true
			}
		}
		if len(seen) > 0 {
			return k
		}
	}
	return ""
}

func itemName(item any, key string) (string, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	switch v := m[key].(type) {
	case string:
		return v, true
	case float64:
		return fmt.Sprint(v), true
	}
	return "", false
}

func diffKeyed(path, key string, s, r []any, out func(path, s, r string)) {
	rs := map[string]any{}
	var sOrder, rOrder []string
	for _, it := range r {
		name, _ := itemName(it, key)
		rs[name] = it
		rOrder = append(rOrder, name)
	}
	seen := map[string]bool{}
	for _, it := range s {
		name, _ := itemName(it, key)
		seen[name] = true
		p := fmt.Sprintf("%s[%s]", path, name)
		if ri, ok := rs[name]; ok {
			sOrder = append(sOrder, name)
			diffJSON(p, it, ri, out)
		} else {
			out(p, short(it), "nothing")
		}
	}
	var common []string
	for _, name := range rOrder {
		if !seen[name] {
			out(fmt.Sprintf("%s[%s]", path, name), "nothing", short(rs[name]))
		} else {
			common = append(common, name)
		}
	}
	if !slices.Equal(sOrder, common) {
		out(orRoot(path), "the order "+strings.Join(sOrder, ", "), "the order "+strings.Join(common, ", "))
	}
}

func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}

func orRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// short encodes a JSON value for a message, cut to a readable length.
func short(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	s := strings.TrimSpace(b.String())
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
