package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// TestFullHistory checks the default, full-scale history in memory: its
// size, its content, and that every text says it is simulated.
func TestFullHistory(t *testing.T) {
	cfg := Config{Seed: 1, End: time.Date(2025, 12, 8, 9, 0, 0, 0, time.UTC)}.withDefaults()
	h, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum := h.summary
	if n := sum.Statements[truce.TypeIncident]; n < 250 || n > 350 {
		t.Errorf("got %d incidents, want 250 to 350", n)
	}
	if n := sum.Statements[truce.TypeAction]; n < 25 || n > 35 {
		t.Errorf("got %d compliance actions, want about 30", n)
	}
	if n := sum.Statements[truce.TypeAccessDenied]; n < 12 || n > 18 {
		t.Errorf("got %d access denials, want about 15", n)
	}
	for _, typ := range truce.Types {
		if sum.Statements[typ] == 0 {
			t.Errorf("no %s statement", typ)
		}
	}
	for _, s := range []string{state.StatusDecided, state.StatusDisputed, state.StatusOpen, state.StatusAwaitingReply, state.StatusWithdrawn} {
		if sum.Incidents[s] == 0 {
			t.Errorf("no incident is %s: %v", s, sum.Incidents)
		}
	}
	for _, p := range []string{partyAF, partyPK} {
		if sum.AccessDenials[p] == 0 || sum.Violations[p] == 0 {
			t.Errorf("party %s has %d access denials and %d violations, want some of both", p, sum.AccessDenials[p], sum.Violations[p])
		}
	}

	st := h.state
	if got := st.Clock(); got.After(cfg.End) || got.Before(cfg.End.Add(-24*time.Hour)) {
		t.Errorf("the log's clock ends at %v, want within the day before %v", got, cfg.End)
	}
	dupes := 0
	for _, sub := range st.Subjects() {
		if q := sub.Questions[truce.QuestionDuplicateOf]; q != nil && q.Status == state.StatusDecided && q.Answer != truce.AnswerNone {
			dupes++
		}
		r := sub.Incident()
		if r == nil {
			continue
		}
		if !strings.HasPrefix(r.Narrative, simulated) {
			t.Errorf("incident %s: narrative %q does not begin %q", sub.ID, r.Narrative, simulated)
		}
		if want := partyName(r.Against); r.Location.Country != want && r.EventType != "Strategic developments" {
			t.Errorf("incident %s against %s is located in %s", sub.ID, r.Against, r.Location.Country)
		}
	}
	if dupes == 0 {
		t.Error("no incident was found a duplicate of another")
	}

	// Every text a person reads begins "[Simulated]".
	for i, b := range h.entries {
		e, err := truce.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		switch body := e.Body.(type) {
		case *truce.Charter:
			if !strings.HasPrefix(body.Title, "SIMULATED") {
				t.Errorf("charter title %q does not begin SIMULATED", body.Title)
			}
			for _, c := range body.Clauses {
				texts = append(texts, c.Text, c.Consequence)
			}
			for _, m := range body.Members {
				if !strings.Contains(m.Name, "(simulated)") {
					t.Errorf("member name %q does not say simulated", m.Name)
				}
			}
		case *truce.IncidentReport:
			texts = append(append(texts, body.Narrative), body.Sources...)
		case *truce.ActionReport:
			texts = append(texts, body.Description)
		case *truce.EvidenceAdd:
			texts = append(texts, body.Description)
		case *truce.Reply:
			texts = append(texts, body.Text)
		case *truce.Assessment:
			texts = append(texts, body.Rationale)
		case *truce.AccessDenied:
			texts = append(texts, body.Description)
		case *truce.Withdraw:
			texts = append(texts, body.Reason)
		}
		for _, s := range texts {
			if !strings.HasPrefix(s, simulated) {
				t.Errorf("entry %d (%s): %q does not begin %q", i, e.Statement.Type, s, simulated)
			}
		}
	}
}

func TestSeedsDiffer(t *testing.T) {
	end := time.Date(2025, 12, 8, 9, 0, 0, 0, time.UTC)
	a, err := build(Config{Seed: 1, End: end, Scale: 0.1}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(Config{Seed: 2, End: end, Scale: 0.1}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if a.skey == b.skey || a.keys["tr-1"].Equal(b.keys["tr-1"]) {
		t.Error("seeds 1 and 2 made the same keys")
	}
	if string(a.entries[len(a.entries)-1]) == string(b.entries[len(b.entries)-1]) {
		t.Error("seeds 1 and 2 made the same last entry")
	}
}

func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		total   int
		weights []float64
		want    []int
	}{
		{10, []float64{1, 1}, []int{5, 5}},
		{3, []float64{1, 1, 1, 1}, []int{1, 1, 1, 0}},
		{7, []float64{0.5, 3}, []int{1, 6}},
		{0, []float64{1, 2}, []int{0, 0}},
	} {
		got := allocate(tc.total, tc.weights)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("allocate(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
				break
			}
		}
	}
}

func TestNewIDIsUUIDv7(t *testing.T) {
	p := newPlanner(Config{Seed: 3, End: time.Date(2025, 12, 8, 9, 0, 0, 0, time.UTC)}.withDefaults())
	at := time.Date(2025, 11, 7, 10, 0, 0, 123e6, time.UTC)
	id := p.newID(at)
	if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Errorf("newID = %s, want a UUIDv7", id)
	}
	// The first 48 bits are the time in milliseconds.
	if got, want := strings.ReplaceAll(id[:13], "-", ""), "019a5dc2357b"; got != want {
		t.Errorf("newID(%v) begins %s, want %s", at, got, want)
	}
}
