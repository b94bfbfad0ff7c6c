package demo

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// Summary counts what a generated history holds.
type Summary struct {
	// Origin is the mechanism's log origin; Seed and Scale are the
	// Config that made it.
	Origin string  `json:"origin"`
	Seed   int64   `json:"seed"`
	Scale  float64 `json:"scale"`
	// Start and End are the history's first and last moments.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Entries is the number of log entries, all accepted by the fold.
	Entries int `json:"entries"`
	// Statements counts the entries by statement type.
	Statements map[string]int `json:"statements"`
	// Members is the number of members in the charter in force, and
	// CharterVersions the number of charter versions.
	Members         int `json:"members"`
	CharterVersions int `json:"charter_versions"`
	// Incidents and Actions count subjects by overall status; Questions
	// counts every question of every subject by status.
	Incidents map[string]int `json:"incidents"`
	Actions   map[string]int `json:"actions"`
	Questions map[string]int `json:"questions"`
	// Votes is every member's latest vote on every question; Uncounted
	// those the rules do not count; Replacing those that replaced an
	// earlier vote by the same member.
	Votes     int `json:"votes"`
	Uncounted int `json:"uncounted_votes"`
	Replacing int `json:"replacing_votes"`
	// Replies and LateReplies count replies, and those after the window.
	Replies     int `json:"replies"`
	LateReplies int `json:"late_replies"`
	// EvidenceFiles is the number of files in the evidence store.
	EvidenceFiles int `json:"evidence_files"`
	// AccessDenials, Violations (confirmed, with Serious among them) and
	// VerifiedActions are by party; unattributed violations are under "".
	AccessDenials   map[string]int `json:"access_denials"`
	Violations      map[string]int `json:"violations"`
	Serious         map[string]int `json:"serious_violations"`
	VerifiedActions map[string]int `json:"verified_actions"`
	// Took is how long generating the demo took.
	Took time.Duration `json:"took"`
}

func summarize(cfg Config, p *planner, events []*event, st *state.State) *Summary {
	s := &Summary{
		Origin: Origin, Seed: cfg.Seed, Scale: cfg.Scale, Start: p.start, End: p.end,
		Entries: len(events), Statements: map[string]int{},
		Incidents: map[string]int{}, Actions: map[string]int{}, Questions: map[string]int{},
		AccessDenials: map[string]int{}, Violations: map[string]int{}, Serious: map[string]int{}, VerifiedActions: map[string]int{},
		EvidenceFiles: len(p.files), CharterVersions: len(st.Charters()), Members: len(st.Charter().Members),
	}
	for _, e := range events {
		s.Statements[e.typ]++
	}
	for _, sub := range st.Subjects() {
		if sub.Kind == "incident" {
			s.Incidents[sub.Status()]++
		} else {
			s.Actions[sub.Status()]++
		}
		for _, q := range sub.Questions {
			s.Questions[q.Status]++
			for _, v := range q.Votes {
				s.Votes++
				if !v.Counted {
					s.Uncounted++
				}
				if len(v.Replaced) > 0 {
					s.Replacing++
				}
			}
		}
		for _, r := range sub.Replies {
			s.Replies++
			if r.Late {
				s.LateReplies++
			}
		}
	}
	c := st.Compliance()
	for _, pc := range c.Parties {
		s.AccessDenials[pc.Party] = pc.AccessDenials
		s.Violations[pc.Party] = pc.Violations
		s.Serious[pc.Party] = pc.Serious
		s.VerifiedActions[pc.Party] = pc.VerifiedActions
	}
	// An unattributed violation may be tallied under several clauses;
	// count incidents once.
	seen := map[string]bool{}
	for _, t := range c.Unattributed {
		for _, id := range t.Incidents {
			if !seen[id] {
				seen[id] = true
				s.Violations[""]++
			}
		}
	}
	return s
}

// WriteTo writes the summary for people, one topic a line.
func (s *Summary) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "  %-21s %s\n", label, fmt.Sprintf(format, args...))
	}
	line("simulated history", "%s to %s UTC (%d days), seed %d", s.Start.Format("2006-01-02 15:04"), s.End.Format("2006-01-02 15:04"), int(s.End.Sub(s.Start).Hours()/24), s.Seed)
	line("log entries", "%d, every one accepted by the fold", s.Entries)
	var types []string
	for _, t := range truce.Types {
		if n := s.Statements[t]; n > 0 {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
	}
	line("statements", "%s", strings.Join(types, ", "))
	line("members", "%d, charter version %d", s.Members, s.CharterVersions)
	line("incidents", "%s", byStatus(s.Incidents))
	line("compliance actions", "%s", byStatus(s.Actions))
	line("questions", "%s", byStatus(s.Questions))
	line("votes", "%d latest votes: %d not counted by the rules, %d replacing an earlier vote", s.Votes, s.Uncounted, s.Replacing)
	line("replies", "%d, %d of them late", s.Replies, s.LateReplies)
	line("evidence files", "%d", s.EvidenceFiles)
	line("confirmed violations", "AF %d (%d serious), PK %d (%d serious), origin not attributed %d",
		s.Violations[partyAF], s.Serious[partyAF], s.Violations[partyPK], s.Serious[partyPK], s.Violations[""])
	line("verified actions", "AF %d, PK %d", s.VerifiedActions[partyAF], s.VerifiedActions[partyPK])
	line("access denied by", "AF %d, PK %d", s.AccessDenials[partyAF], s.AccessDenials[partyPK])
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// byStatus writes counts by status in the order a question goes through
// them.
func byStatus(m map[string]int) string {
	order := []string{state.StatusDecided, state.StatusDisputed, state.StatusOpen, state.StatusAwaitingReply, state.StatusWithdrawn}
	total := 0
	var parts []string
	for _, k := range order {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
		total += m[k]
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(order, k) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
			total += m[k]
		}
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}
