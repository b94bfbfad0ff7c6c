package storetest

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/truce-mechanism/truce/internal/store"
)

// model is the projection held in memory: the store that every
// implementation is compared with. It applies only valid batches.
type model struct {
	next     uint64
	clock    time.Time
	verdicts []store.Verdict
	subjects map[string]store.Subject
	charters []store.Charter
	denials  []store.AccessDenial
	docs     map[string][]byte
}

func newModel() *model {
	return &model{subjects: map[string]store.Subject{}, docs: map[string][]byte{}}
}

// apply records b as a store must after Apply(b) returns nil. Times are
// expected back in UTC. (The suite's times have whole microseconds, the
// precision of PostgreSQL's timestamptz.)
func (m *model) apply(b *store.Batch) {
	m.next = b.Next
	m.clock = utc(b.Clock)
	for _, v := range b.Verdicts {
		v.Received = utc(v.Received)
		m.verdicts = append(m.verdicts, v)
	}
	for _, s := range b.Subjects {
		s.Received = utc(s.Received)
		s.When = utc(s.When)
		m.subjects[s.ID] = s
	}
	m.charters = append(m.charters, b.Charters...)
	slices.SortFunc(m.charters, func(a, b store.Charter) int { return cmp.Compare(a.Version, b.Version) })
	m.denials = append(m.denials, b.AccessDenials...)
	maps.Copy(m.docs, b.Documents)
}

func utc(t time.Time) time.Time { return t.UTC() }

// all is every subject in log order.
func (m *model) all() []store.Subject {
	all := slices.Collect(maps.Values(m.subjects))
	slices.SortFunc(all, func(a, b store.Subject) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.ID, b.ID))
	})
	return all
}

// list is every subject of kind that f selects, newest first, ignoring
// f.Limit and f.Cursor.
func (m *model) list(kind string, f store.Filter) []store.Subject {
	var l []store.Subject
	for _, s := range slices.Backward(m.all()) {
		if s.Kind == kind && matches(s, f) {
			l = append(l, s)
		}
	}
	return l
}

// matches is the meaning of store.Filter.
func matches(s store.Subject, f store.Filter) bool {
	if !f.From.IsZero() && s.When.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !s.When.Before(f.To) {
		return false
	}
	if f.Place != "" {
		p := strings.ToLower(f.Place)
		if !strings.Contains(strings.ToLower(s.Place), p) &&
			!strings.Contains(strings.ToLower(s.Admin1), p) &&
			!strings.Contains(strings.ToLower(s.Country), p) {
			return false
		}
	}
	if f.EventType != "" && s.EventType != f.EventType {
		return false
	}
	if f.Party != "" && s.Party != f.Party && s.AllegedOrigin != f.Party && s.Against != f.Party {
		return false
	}
	if f.Status != "" && s.Status != f.Status {
		return false
	}
	return true
}

// gen makes batches of plausible projection rows from a seed, so that
// bulk tests are repeatable. Each subject appears at most once per batch.
type gen struct {
	rng      *rand.Rand
	next     uint64
	clock    time.Time
	subjects []store.Subject
	version  int
}

func newGen(seed uint64) *gen {
	return &gen{
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		clock: time.Date(2025, 11, 7, 10, 0, 0, 0, time.UTC),
	}
}

// batch makes the batch of the next n log entries.
func (g *gen) batch(n int) *store.Batch {
	places := [][3]string{
		{"Spin Boldak", "Kandahar", "Afghanistan"},
		{"Chaman", "Balochistan", "Pakistan"},
		{"Torkham", "Nangarhar", "Afghanistan"},
		{"Landi Kotal", "Khyber Pakhtunkhwa", "Pakistan"},
		{"Ürgün", "Paktika", "Afghanistan"},
		{"Angoor Adda", "Khyber Pakhtunkhwa", "Pakistan"},
	}
	eventTypes := []string{"Battles", "Explosions/Remote violence", "Violence against civilians", "Strategic developments"}
	statuses := []string{"awaiting_reply", "open", "disputed", "decided", "withdrawn"}
	authors := []struct{ id, party string }{{"m-af-1", "AF"}, {"m-pk-1", "PK"}, {"m-tr-1", ""}, {"m-qa-1", ""}, {"mon-1", ""}}
	origins := []string{"AF", "PK", "unknown"}
	b := &store.Batch{}
	inBatch := map[string]int{} // subject id → position in b.Subjects
	upsert := func(s store.Subject) {
		if i, ok := inBatch[s.ID]; ok {
			b.Subjects[i] = s
			return
		}
		inBatch[s.ID] = len(b.Subjects)
		b.Subjects = append(b.Subjects, s)
	}
	for range n {
		i := g.next
		g.next++
		g.clock = g.clock.Add(time.Duration(g.rng.IntN(3_000_000)) * time.Microsecond)
		a := authors[g.rng.IntN(len(authors))]
		v := store.Verdict{
			Index: i, Received: g.clock,
			ID: fmt.Sprintf("st-%07d", i), Author: a.id, Accepted: true,
		}
		switch r := g.rng.IntN(20); {
		case i == 0 || r == 19 && g.version < 20:
			g.version++
			v.Type = "charter.amend"
			if g.version == 1 {
				v.Type = "charter"
			}
			b.Charters = append(b.Charters, store.Charter{Version: g.version, Index: i, Doc: fmt.Appendf(nil, `{"version":%d}`, g.version)})
		case r < 6:
			v.Type = "incident.report"
			p := places[g.rng.IntN(len(places))]
			s := store.Subject{
				ID: v.ID, Kind: store.KindIncident, Index: i, Received: g.clock,
				Author: a.id, Party: a.party,
				When:  g.clock.Add(-time.Duration(g.rng.IntN(72*3600)) * time.Second),
				Place: p[0], Admin1: p[1], Country: p[2],
				EventType:     eventTypes[g.rng.IntN(len(eventTypes))],
				AllegedOrigin: origins[g.rng.IntN(len(origins))],
				Against:       origins[g.rng.IntN(2)],
				Status:        "awaiting_reply",
			}
			s.Doc = fmt.Appendf(nil, `{"id":%q,"status":%q,"rev":0}`, s.ID, s.Status)
			g.subjects = append(g.subjects, s)
			upsert(s)
		case r < 8:
			v.Type = "action.report"
			if a.party == "" {
				a = authors[g.rng.IntN(2)]
				v.Author = a.id
			}
			s := store.Subject{
				ID: v.ID, Kind: store.KindAction, Index: i, Received: g.clock,
				Author: a.id, Party: a.party,
				When:      g.clock.Add(-time.Duration(g.rng.IntN(72*3600)) * time.Second),
				EventType: fmt.Sprintf("c%d", 1+g.rng.IntN(4)),
				Status:    "awaiting_reply",
			}
			if g.rng.IntN(2) == 0 {
				p := places[g.rng.IntN(len(places))]
				s.Place, s.Admin1, s.Country = p[0], p[1], p[2]
			}
			s.Doc = fmt.Appendf(nil, `{"id":%q,"status":%q,"rev":0}`, s.ID, s.Status)
			g.subjects = append(g.subjects, s)
			upsert(s)
		case r < 12 && len(g.subjects) > 0:
			v.Type = "assessment"
			k := g.rng.IntN(len(g.subjects))
			s := g.subjects[k]
			v.Subject = s.ID
			s.Status = statuses[g.rng.IntN(len(statuses))]
			s.Doc = fmt.Appendf(nil, `{"id":%q,"status":%q,"rev":%d}`, s.ID, s.Status, i)
			g.subjects[k] = s
			upsert(s)
		case r == 12:
			v.Type = "access.denied"
			p := places[g.rng.IntN(len(places))]
			b.AccessDenials = append(b.AccessDenials, store.AccessDenial{
				Index: i, ID: v.ID, Author: v.Author, Party: origins[g.rng.IntN(2)],
				Place: p[0], At: g.clock.Format(time.RFC3339), Doc: fmt.Appendf(nil, `{"id":%q}`, v.ID),
			})
		case r == 13:
			v = store.Verdict{Index: i, Received: g.clock, Reason: "malformed entry"}
		case r == 14:
			v.Type = "assessment"
			v.Accepted = false
			v.Reason = "author is not a member"
		default:
			v.Type = "evidence.add"
		}
		b.Verdicts = append(b.Verdicts, v)
	}
	b.Next = g.next
	b.Clock = g.clock
	if g.rng.IntN(3) == 0 {
		b.Documents = map[string][]byte{"compliance": fmt.Appendf(nil, `{"next":%d}`, b.Next)}
	}
	return b
}
