// Package storetest checks implementations of store.Store: one suite that
// the SQLite and PostgreSQL stores alike must pass, so that the API and the
// pages get the same answers from either.
//
// The suite compares each store with a projection held in memory, and pins
// down what store.go leaves to the reader:
//   - a batch starts at the store's next log index and holds one verdict
//     per entry, in order: the projection follows the log with no gap and
//     no overlap;
//   - a failed Apply leaves nothing of itself;
//   - a charter version, an access denial's index and a subject's index
//     are each taken once (a log entry reports at most one subject);
//   - times come back in UTC, and a zero time comes back zero (the suite's
//     times have whole microseconds, PostgreSQL's precision);
//   - Filter.Place folds case beyond ASCII and takes % and _ literally;
//   - a list's cursor stays valid while batches are applied, and a garbage
//     cursor is an error;
//   - Verdicts caps its limit as Filter does;
//   - a walk's fn may call the store.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce/internal/store"
)

// Run runs the suite against stores made by open. Each call of open must
// return a new, empty store, which Run closes. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testEmpty},
		{"ApplyAndRead", testApplyAndRead},
		{"Order", testOrder},
		{"Atomic", testAtomic},
		{"Upsert", testUpsert},
		{"Filter", testFilter},
		{"Paging", testPaging},
		{"PagingWhileApplying", testPagingWhileApplying},
		{"NotFound", testNotFound},
		{"Walks", testWalks},
		{"Reset", testReset},
		{"Bulk", testBulk},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			defer closeStore(t, s)
			tt.fn(t, s)
		})
	}
}

// RunPersistent runs the tests of a store that outlives its process. open
// opens the store called name, creating it empty the first time; opening
// the same name again, once the previous store is closed, must give back
// everything that was applied. RunPersistent closes every store it opens.
func RunPersistent(t *testing.T, open func(t *testing.T, name string) store.Store) {
	t.Run("ReopenEmpty", func(t *testing.T) {
		closeStore(t, open(t, "empty"))
		s := open(t, "empty")
		defer closeStore(t, s)
		check(t, s, newModel())
	})
	t.Run("Reopen", func(t *testing.T) {
		m := newModel()
		batches := fixture()
		s := open(t, "reopen")
		apply(t, s, m, batches[0])
		apply(t, s, m, batches[1])
		closeStore(t, s)

		s = open(t, "reopen")
		check(t, s, m)
		// The store carries on where it stopped.
		apply(t, s, m, batches[2])
		closeStore(t, s)

		s = open(t, "reopen")
		check(t, s, m)
		g := newGen(7)
		g.next, g.clock, g.version = m.next, m.clock, len(m.charters)
		for range 3 {
			apply(t, s, m, g.batch(300))
		}
		closeStore(t, s)

		s = open(t, "reopen")
		defer closeStore(t, s)
		check(t, s, m)
	})
	t.Run("ReopenAfterReset", func(t *testing.T) {
		s := open(t, "reset")
		m := newModel()
		for _, b := range fixture() {
			apply(t, s, m, b)
		}
		if err := s.Reset(t.Context()); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		closeStore(t, s)
		s = open(t, "reset")
		defer closeStore(t, s)
		check(t, s, newModel())
	})
}

func closeStore(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// apply applies b to s and m, and checks Progress.
func apply(t *testing.T, s store.Store, m *model, b *store.Batch) {
	t.Helper()
	if err := s.Apply(t.Context(), b); err != nil {
		t.Fatalf("Apply(batch ending at %d): %v", b.Next, err)
	}
	m.apply(b)
	checkProgress(t, s, m.next, m.clock)
}

func checkProgress(t *testing.T, s store.Store, wantNext uint64, wantClock time.Time) {
	t.Helper()
	next, clock, err := s.Progress(t.Context())
	if err != nil {
		t.Fatalf("Progress: %v", err)
	}
	if next != wantNext || fmtTime(clock) != fmtTime(wantClock) {
		t.Fatalf("Progress() = %d, %s; want %d, %s", next, fmtTime(clock), wantNext, fmtTime(wantClock))
	}
}

// check compares everything s can say with m.
func check(t *testing.T, s store.Store, m *model) {
	t.Helper()
	ctx := t.Context()
	checkProgress(t, s, m.next, m.clock)

	var got []store.Verdict
	for from := uint64(0); ; {
		page, err := s.Verdicts(ctx, from, 1000)
		if err != nil {
			t.Fatalf("Verdicts(%d, 1000): %v", from, err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		from = page[len(page)-1].Index + 1
	}
	compare(t, "Verdicts", got, m.verdicts, fmtVerdict)
	// One by one, a sample: the list has shown them all.
	for _, want := range sample(m.verdicts) {
		v, err := s.Verdict(ctx, want.Index)
		if err != nil {
			t.Fatalf("Verdict(%d): %v", want.Index, err)
		}
		if g, w := fmtVerdict(*v), fmtVerdict(want); g != w {
			t.Fatalf("Verdict(%d) = %s, want %s", want.Index, g, w)
		}
	}

	for _, want := range sample(m.all()) {
		got, err := s.Subject(ctx, want.Kind, want.ID)
		if err != nil {
			t.Fatalf("Subject(%q, %q): %v", want.Kind, want.ID, err)
		}
		if g, w := fmtSubject(*got), fmtSubject(want); g != w {
			t.Fatalf("Subject(%q, %q) = %s, want %s", want.Kind, want.ID, g, w)
		}
	}
	var all []store.Subject
	if err := s.AllSubjects(ctx, func(s *store.Subject) error {
		all = append(all, *s)
		return nil
	}); err != nil {
		t.Fatalf("AllSubjects: %v", err)
	}
	compare(t, "AllSubjects", all, m.all(), fmtSubject)
	for _, kind := range []string{store.KindIncident, store.KindAction} {
		compare(t, "Subjects("+kind+")", listAll(t, s, kind, store.Filter{Limit: 1000}), m.list(kind, store.Filter{}), fmtSubject)
	}

	charters, err := s.Charters(ctx)
	if err != nil {
		t.Fatalf("Charters: %v", err)
	}
	compare(t, "Charters", charters, m.charters, fmtCharter)
	denials, err := s.AccessDenials(ctx)
	if err != nil {
		t.Fatalf("AccessDenials: %v", err)
	}
	compare(t, "AccessDenials", denials, m.denials, fmtDenial)
	for _, name := range []string{"compliance", "tallies"} {
		want, ok := m.docs[name]
		got, err := s.Document(ctx, name)
		switch {
		case !ok && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("Document(%q) = %q, %v; want ErrNotFound", name, got, err)
		case ok && err != nil:
			t.Fatalf("Document(%q): %v", name, err)
		case ok && !bytes.Equal(got, want):
			t.Fatalf("Document(%q) = %q, want %q", name, got, want)
		}
	}

	var ids, wantIDs []string
	if err := s.StatementIDs(ctx, func(id string) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatalf("StatementIDs: %v", err)
	}
	for _, v := range m.verdicts {
		if v.ID != "" {
			wantIDs = append(wantIDs, v.ID)
		}
	}
	slices.Sort(ids)
	slices.Sort(wantIDs)
	compare(t, "StatementIDs", ids, wantIDs, func(s string) string { return s })
}

// sample is about 200 items of l, spread over it, with its first and last.
func sample[T any](l []T) []T {
	if len(l) <= 200 {
		return l
	}
	var s []T
	step := len(l) / 200
	for i := 0; i < len(l); i += step {
		s = append(s, l[i])
	}
	return append(s, l[len(l)-1])
}

// listAll pages through a list with f's limit, checking that each page
// but the last is full, and that the last has no next.
func listAll(t *testing.T, s store.Store, kind string, f store.Filter) []store.Subject {
	t.Helper()
	var all []store.Subject
	for n := 0; ; n++ {
		items, next, err := s.Subjects(t.Context(), kind, f)
		if err != nil {
			t.Fatalf("Subjects(%q, %+v): %v", kind, f, err)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		if len(items) != f.Limit {
			t.Fatalf("Subjects(%q, %+v): %d items and next %q, want %d before the end", kind, f, len(items), next, f.Limit)
		}
		if n > 100000 {
			t.Fatalf("Subjects(%q, %+v): no end after %d pages", kind, f, n)
		}
		f.Cursor = next
	}
}

// compare reports the first difference between two lists, each item shown
// by show.
func compare[T any](t *testing.T, what string, got, want []T, show func(T) string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = show(got[i])
		}
		if i < len(want) {
			w = show(want[i])
		}
		if g != w {
			t.Fatalf("%s: got %d items, want %d; item %d is %s, want %s", what, len(got), len(want), i, g, w)
		}
	}
}

// fmtTime shows a time with its zone, so that a time given back in another
// zone than UTC differs.
func fmtTime(t time.Time) string {
	return t.Format(time.RFC3339Nano) + " " + t.Location().String()
}

func fmtVerdict(v store.Verdict) string {
	return fmt.Sprintf("{Index:%d Received:%s ID:%q Type:%q Author:%q Subject:%q Accepted:%t Reason:%q}",
		v.Index, fmtTime(v.Received), v.ID, v.Type, v.Author, v.Subject, v.Accepted, v.Reason)
}

func fmtSubject(s store.Subject) string {
	return fmt.Sprintf("{ID:%q Kind:%q Index:%d Received:%s Author:%q Party:%q When:%s Place:%q Admin1:%q Country:%q EventType:%q AllegedOrigin:%q Against:%q Status:%q Doc:%q}",
		s.ID, s.Kind, s.Index, fmtTime(s.Received), s.Author, s.Party, fmtTime(s.When), s.Place, s.Admin1, s.Country,
		s.EventType, s.AllegedOrigin, s.Against, s.Status, s.Doc)
}

func fmtCharter(c store.Charter) string {
	return fmt.Sprintf("{Version:%d Index:%d Doc:%q}", c.Version, c.Index, c.Doc)
}

func fmtDenial(d store.AccessDenial) string {
	return fmt.Sprintf("{Index:%d ID:%q Author:%q Party:%q Subject:%q Place:%q At:%q Doc:%q}",
		d.Index, d.ID, d.Author, d.Party, d.Subject, d.Place, d.At, d.Doc)
}

func ids(items []store.Subject) []string {
	var ids []string
	for _, s := range items {
		ids = append(ids, s.ID)
	}
	return ids
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := t.Context()
	next, clock, err := s.Progress(ctx)
	if err != nil || next != 0 || !clock.IsZero() {
		t.Fatalf("Progress() = %d, %v, %v; want 0, zero time, nil", next, clock, err)
	}
	check(t, s, newModel())
	vs, err := s.Verdicts(ctx, 0, 10)
	if err != nil || len(vs) != 0 {
		t.Errorf("Verdicts(0, 10) = %v, %v; want none", vs, err)
	}
	items, cursor, err := s.Subjects(ctx, store.KindIncident, store.Filter{})
	if err != nil || len(items) != 0 || cursor != "" {
		t.Errorf("Subjects() = %v, %q, %v; want none", items, cursor, err)
	}
}

func testApplyAndRead(t *testing.T, s store.Store) {
	m := newModel()
	for _, b := range fixture() {
		apply(t, s, m, b)
		check(t, s, m)
	}
	// Spot checks that do not go through the model.
	ctx := t.Context()
	next, clock, err := s.Progress(ctx)
	if err != nil || next != 15 || !clock.Equal(fixtureT0().Add(21*time.Second)) {
		t.Errorf("Progress() = %d, %v, %v; want 15, %v", next, clock, err, fixtureT0().Add(21*time.Second))
	}
	v, err := s.Verdict(ctx, 9)
	if err != nil || v.Accepted || v.Reason != "author is not a member" || v.ID != "as-2" {
		t.Errorf("Verdict(9) = %+v, %v; want as-2 rejected", v, err)
	}
	sub, err := s.Subject(ctx, store.KindIncident, "inc-b")
	if err != nil || sub.When.Location() != time.UTC || !sub.When.Equal(fixtureT0().Add(-24*time.Hour)) {
		t.Errorf("Subject(inc-b).When = %v, %v; want %v", sub.When, err, fixtureT0().Add(-24*time.Hour))
	}
	sub, err = s.Subject(ctx, store.KindAction, "act-g")
	if err != nil || !sub.When.IsZero() {
		t.Errorf("Subject(act-g).When = %v, %v; want zero", sub.When, err)
	}
	vs, err := s.Verdicts(ctx, 3, 4)
	if err != nil || len(vs) != 4 || vs[0].Index != 3 || vs[3].Index != 6 {
		t.Errorf("Verdicts(3, 4) = %v, %v; want indexes 3 to 6", vs, err)
	}
	vs, err = s.Verdicts(ctx, 13, 10)
	if err != nil || len(vs) != 2 {
		t.Errorf("Verdicts(13, 10) = %v, %v; want indexes 13 and 14", vs, err)
	}
	vs, err = s.Verdicts(ctx, math.MaxUint64, 10)
	if err != nil || len(vs) != 0 {
		t.Errorf("Verdicts(MaxUint64, 10) = %v, %v; want none", vs, err)
	}
}

// testOrder checks that a store refuses a batch that does not start at its
// next index or whose verdicts are not the batch's entries in order: the
// projection follows the log, with no gap and no overlap.
func testOrder(t *testing.T, s store.Store) {
	m := newModel()
	batches := fixture()
	apply(t, s, m, batches[0])
	clock := batches[0].Clock.Add(time.Second)
	verdicts := func(indexes ...uint64) []store.Verdict {
		var vs []store.Verdict
		for _, i := range indexes {
			vs = append(vs, store.Verdict{Index: i, Received: clock, ID: fmt.Sprint("x-", i), Type: "reply", Accepted: true})
		}
		return vs
	}
	bad := []struct {
		name string
		b    *store.Batch
	}{
		{"gap", &store.Batch{Next: 8, Clock: clock, Verdicts: verdicts(6, 7)}},
		{"overlap", &store.Batch{Next: 6, Clock: clock, Verdicts: verdicts(4, 5)}},
		{"replay", &store.Batch{Next: 5, Clock: clock, Verdicts: verdicts(0, 1, 2, 3, 4)}},
		{"next after verdicts", &store.Batch{Next: 8, Clock: clock, Verdicts: verdicts(5, 6)}},
		{"next before verdicts", &store.Batch{Next: 6, Clock: clock, Verdicts: verdicts(5, 6)}},
		{"hole", &store.Batch{Next: 7, Clock: clock, Verdicts: verdicts(5, 7)}},
		{"twice", &store.Batch{Next: 7, Clock: clock, Verdicts: verdicts(5, 5)}},
		{"backwards", &store.Batch{Next: 7, Clock: clock, Verdicts: verdicts(6, 5)}},
		{"empty behind", &store.Batch{Next: 3, Clock: clock}},
		{"empty ahead", &store.Batch{Next: 6, Clock: clock}},
		{"more verdicts than next", &store.Batch{Next: 1, Clock: clock, Verdicts: verdicts(5, 6)}},
	}
	for _, tt := range bad {
		tt.b.Documents = map[string][]byte{"compliance": []byte(`"bad"`)}
		if err := s.Apply(t.Context(), tt.b); err == nil {
			t.Errorf("Apply(%s) = nil, want an error", tt.name)
		} else {
			t.Logf("Apply(%s): %v", tt.name, err)
		}
		check(t, s, m)
	}
	// A batch of no entries at the next index is fine.
	apply(t, s, m, &store.Batch{Next: 5, Clock: clock, Documents: map[string][]byte{"tallies": []byte(`{}`)}})
	check(t, s, m)
	apply(t, s, m, batches[1])
	check(t, s, m)
}

// testAtomic checks that a batch that fails part way leaves nothing of
// itself.
func testAtomic(t *testing.T, s store.Store) {
	m := newModel()
	batches := fixture()
	apply(t, s, m, batches[0])
	apply(t, s, m, batches[1])

	// The third batch, with a charter version that is already taken: a
	// store that writes a batch in the order of its fields fails after it
	// has written the verdicts and the subjects.
	bad := *batches[2]
	bad.Charters = append([]store.Charter{bad.Charters[0], {Version: 1, Index: 12, Doc: []byte(`{}`)}}, bad.Charters[1:]...)
	if err := s.Apply(t.Context(), &bad); err == nil {
		t.Fatalf("Apply(batch with a charter version taken) = nil, want an error")
	} else {
		t.Logf("Apply(batch with a charter version taken): %v", err)
	}
	check(t, s, m)

	// The same with a charter version twice in the batch, and an access
	// denial at an index that already has one.
	bad = *batches[2]
	bad.Charters = append(bad.Charters, bad.Charters[0])
	if err := s.Apply(t.Context(), &bad); err == nil {
		t.Fatalf("Apply(batch with a charter version twice) = nil, want an error")
	}
	check(t, s, m)
	bad = *batches[2]
	bad.AccessDenials = []store.AccessDenial{batches[1].AccessDenials[0]}
	if err := s.Apply(t.Context(), &bad); err == nil {
		t.Fatalf("Apply(batch with an access denial again) = nil, want an error")
	}
	check(t, s, m)

	// A log entry reports one subject at most: lists page by log index.
	bad = *batches[2]
	other := bad.Subjects[0]
	other.ID = "inc-z"
	bad.Subjects = append(slices.Clone(bad.Subjects), other)
	if err := s.Apply(t.Context(), &bad); err == nil {
		t.Fatalf("Apply(batch with two subjects at log index %d) = nil, want an error", other.Index)
	}
	check(t, s, m)
	bad = *batches[2]
	other = batches[1].Subjects[0] // inc-d, at index 7
	other.ID = "inc-z"
	bad.Subjects = append(slices.Clone(bad.Subjects), other)
	if err := s.Apply(t.Context(), &bad); err == nil {
		t.Fatalf("Apply(batch with a new subject at the log index of inc-d) = nil, want an error")
	}
	check(t, s, m)

	// The store is still good for the right batch.
	apply(t, s, m, batches[2])
	check(t, s, m)
}

func testUpsert(t *testing.T, s store.Store) {
	m := newModel()
	batches := fixture()
	apply(t, s, m, batches[0])
	ctx := t.Context()
	page := func(f store.Filter) []string {
		items, _, err := s.Subjects(ctx, store.KindIncident, f)
		if err != nil {
			t.Fatalf("Subjects(%+v): %v", f, err)
		}
		return ids(items)
	}
	if got := page(store.Filter{Status: "open"}); len(got) != 0 {
		t.Errorf("open incidents before the assessment: %v, want none", got)
	}
	apply(t, s, m, batches[1])
	check(t, s, m)
	sub, err := s.Subject(ctx, store.KindIncident, "inc-a")
	if err != nil || sub.Status != "open" || string(sub.Doc) != `{"id":"inc-a","status":"open","votes":1}` {
		t.Fatalf("Subject(inc-a) = %+v, %v; want it replaced", sub, err)
	}
	if got, want := page(store.Filter{Status: "open"}), []string{"inc-a"}; !slices.Equal(got, want) {
		t.Errorf("open incidents = %v, want %v", got, want)
	}
	if got, want := page(store.Filter{Status: "awaiting_reply"}), []string{"inc-d", "inc-b"}; !slices.Equal(got, want) {
		t.Errorf("incidents awaiting reply = %v, want %v", got, want)
	}
	// Replaced in place: same position, once.
	if got, want := page(store.Filter{}), []string{"inc-d", "inc-b", "inc-a"}; !slices.Equal(got, want) {
		t.Errorf("incidents = %v, want %v", got, want)
	}
	apply(t, s, m, batches[2])
	check(t, s, m)
	if got, want := page(store.Filter{Status: "withdrawn"}), []string{"inc-a"}; !slices.Equal(got, want) {
		t.Errorf("withdrawn incidents = %v, want %v", got, want)
	}
	if got := page(store.Filter{Status: "open"}); !slices.Equal(got, []string{"inc-e"}) {
		t.Errorf("open incidents = %v, want [inc-e]", got)
	}
}

func testFilter(t *testing.T, s store.Store) {
	m := newModel()
	for _, b := range fixture() {
		apply(t, s, m, b)
	}
	t0 := fixtureT0()
	epoch := time.Unix(0, 0).UTC()
	tests := []struct {
		name string
		kind string
		f    store.Filter
		want []string
	}{
		{"all", store.KindIncident, store.Filter{}, []string{"inc-e", "inc-d", "inc-b", "inc-a"}},
		{"from inclusive", store.KindIncident, store.Filter{From: t0.Add(-24 * time.Hour)}, []string{"inc-e", "inc-d", "inc-b"}},
		{"from in another zone", store.KindIncident, store.Filter{From: t0.Add(-24 * time.Hour).In(time.FixedZone("PKT", 5*3600))}, []string{"inc-e", "inc-d", "inc-b"}},
		{"from a microsecond later", store.KindIncident, store.Filter{From: t0.Add(-24*time.Hour + time.Microsecond)}, []string{"inc-e", "inc-d"}},
		{"to exclusive", store.KindIncident, store.Filter{To: t0}, []string{"inc-b", "inc-a"}},
		{"to a microsecond later", store.KindIncident, store.Filter{To: t0.Add(time.Microsecond)}, []string{"inc-d", "inc-b", "inc-a"}},
		{"from and to", store.KindIncident, store.Filter{From: t0.Add(-24 * time.Hour), To: t0}, []string{"inc-b"}},
		{"empty range", store.KindIncident, store.Filter{From: t0, To: t0}, nil},
		{"place in country", store.KindIncident, store.Filter{Place: "afghan"}, []string{"inc-e", "inc-d", "inc-a"}},
		{"place in admin1", store.KindIncident, store.Filter{Place: "BALOCH"}, []string{"inc-b"}},
		{"place in place", store.KindIncident, store.Filter{Place: "spin b"}, []string{"inc-a"}},
		{"place beyond ASCII", store.KindIncident, store.Filter{Place: "ÜRGÜN"}, []string{"inc-d"}},
		{"place beyond ASCII lower", store.KindIncident, store.Filter{Place: "ürg"}, []string{"inc-d"}},
		{"place percent is literal", store.KindIncident, store.Filter{Place: "%"}, nil},
		{"place underscore is literal", store.KindIncident, store.Filter{Place: "_"}, nil},
		{"place none", store.KindIncident, store.Filter{Place: "Kabul"}, nil},
		{"event type", store.KindIncident, store.Filter{EventType: "Battles"}, []string{"inc-d", "inc-a"}},
		{"event type exact", store.KindIncident, store.Filter{EventType: "battles"}, nil},
		{"event type with slash", store.KindIncident, store.Filter{EventType: "Explosions/Remote violence"}, []string{"inc-b"}},
		{"party PK", store.KindIncident, store.Filter{Party: "PK"}, []string{"inc-d", "inc-b", "inc-a"}},
		{"party AF", store.KindIncident, store.Filter{Party: "AF"}, []string{"inc-e", "inc-d", "inc-b", "inc-a"}},
		{"party unknown", store.KindIncident, store.Filter{Party: "unknown"}, []string{"inc-e"}},
		{"party exact", store.KindIncident, store.Filter{Party: "pk"}, nil},
		{"status", store.KindIncident, store.Filter{Status: "awaiting_reply"}, []string{"inc-d", "inc-b"}},
		{"status withdrawn", store.KindIncident, store.Filter{Status: "withdrawn"}, []string{"inc-a"}},
		{"status none", store.KindIncident, store.Filter{Status: "decided"}, nil},
		{"party and type", store.KindIncident, store.Filter{Party: "PK", EventType: "Battles"}, []string{"inc-d", "inc-a"}},
		{"party, type and status", store.KindIncident, store.Filter{Party: "PK", EventType: "Battles", Status: "awaiting_reply"}, []string{"inc-d"}},
		{"place and from", store.KindIncident, store.Filter{Place: "paktika", From: t0}, []string{"inc-d"}},
		{"everything", store.KindIncident, store.Filter{
			From: t0.Add(-72 * time.Hour), To: t0, Place: "kandahar", EventType: "Battles", Party: "PK", Status: "withdrawn",
		}, []string{"inc-a"}},
		{"everything but one", store.KindIncident, store.Filter{
			From: t0.Add(-72 * time.Hour), To: t0, Place: "kandahar", EventType: "Battles", Party: "PK", Status: "open",
		}, nil},
		{"actions", store.KindAction, store.Filter{}, []string{"act-g", "act-f", "act-c"}},
		{"action clause", store.KindAction, store.Filter{EventType: "c1"}, []string{"act-g", "act-c"}},
		{"action party", store.KindAction, store.Filter{Party: "AF"}, []string{"act-f"}},
		{"action place", store.KindAction, store.Filter{Place: "torkham"}, []string{"act-f"}},
		{"action status", store.KindAction, store.Filter{Status: "disputed"}, []string{"act-g"}},
		{"action from epoch", store.KindAction, store.Filter{From: epoch}, []string{"act-c"}},
		{"action to epoch", store.KindAction, store.Filter{To: epoch}, []string{"act-g", "act-f"}},
		{"action from before epoch", store.KindAction, store.Filter{From: epoch.Add(-time.Microsecond)}, []string{"act-f", "act-c"}},
		{"unknown kind", "finding", store.Filter{}, nil},
	}
	for _, tt := range tests {
		items, next, err := s.Subjects(t.Context(), tt.kind, tt.f)
		if err != nil {
			t.Errorf("%s: Subjects(%q, %+v): %v", tt.name, tt.kind, tt.f, err)
			continue
		}
		if got := ids(items); !slices.Equal(got, tt.want) || next != "" {
			t.Errorf("%s: Subjects(%q, %+v) = %v, %q; want %v, \"\"", tt.name, tt.kind, tt.f, got, next, tt.want)
		}
		// The suite's own reading of Filter must agree with the table.
		if want := ids(m.list(tt.kind, tt.f)); !slices.Equal(want, tt.want) {
			t.Errorf("%s: model gives %v, table %v", tt.name, want, tt.want)
		}
		for _, got := range items {
			if g, w := fmtSubject(got), fmtSubject(m.subjects[got.ID]); g != w {
				t.Errorf("%s: item %s, want %s", tt.name, g, w)
			}
		}
	}
}

func testPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := newModel()
	g := newGen(1)
	for range 8 {
		apply(t, s, m, g.batch(500))
	}
	incidents := m.list(store.KindIncident, store.Filter{})
	if len(incidents) <= 1000 {
		t.Fatalf("the generator made %d incidents, want more than 1000", len(incidents))
	}

	items, next, err := s.Subjects(ctx, store.KindIncident, store.Filter{})
	if err != nil || len(items) != 50 || next == "" {
		t.Fatalf("Subjects(no limit) = %d items, %q, %v; want 50 and a next", len(items), next, err)
	}
	compare(t, "first page", items, incidents[:50], fmtSubject)
	items, next, err = s.Subjects(ctx, store.KindIncident, store.Filter{Limit: 5000})
	if err != nil || len(items) != 1000 || next == "" {
		t.Fatalf("Subjects(limit 5000) = %d items, %q, %v; want 1000 and a next", len(items), next, err)
	}
	compare(t, "capped page", items, incidents[:1000], fmtSubject)
	items, next, err = s.Subjects(ctx, store.KindIncident, store.Filter{Limit: 1000, Cursor: next})
	if err != nil || next != "" {
		t.Fatalf("Subjects(limit 1000, second page) = %d items, %q, %v; want the rest and no next", len(items), next, err)
	}
	compare(t, "second capped page", items, incidents[1000:], fmtSubject)

	for _, f := range []store.Filter{
		{Limit: 1, Status: "decided", Place: "pakistan"},
		{Limit: 37},
		{Limit: 13, Party: "PK"},
		{Limit: 20, Status: "disputed"},
		{Limit: 9, EventType: "Battles", Place: "PAKTIKA"},
		{Limit: 50, From: m.clock.Add(-30 * time.Hour), To: m.clock.Add(-10 * time.Hour)},
	} {
		want := m.list(store.KindIncident, f)
		compare(t, fmt.Sprintf("pages of %+v", f), listAll(t, s, store.KindIncident, f), want, fmtSubject)
	}
	compare(t, "pages of actions", listAll(t, s, store.KindAction, store.Filter{Limit: 7}), m.list(store.KindAction, store.Filter{}), fmtSubject)

	// A list of exactly a page has no next.
	f := store.Filter{Place: "Landi Kotal", Status: "open"}
	want := m.list(store.KindIncident, f)
	if len(want) == 0 || len(want) > 1000 {
		t.Fatalf("the generator made %d open incidents at Landi Kotal, want 1 to 1000", len(want))
	}
	f.Limit = len(want)
	items, next, err = s.Subjects(ctx, store.KindIncident, f)
	if err != nil || next != "" {
		t.Errorf("Subjects(%+v) = %d items, %q, %v; want %d and no next", f, len(items), next, err, len(want))
	}
	compare(t, "a full page", items, want, fmtSubject)

	// Verdicts caps its limit as Filter does.
	for _, tt := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {5000, 1000}, {1000, 1000}, {7, 7}} {
		vs, err := s.Verdicts(ctx, 1, tt.limit)
		if err != nil || len(vs) != tt.want || vs[0].Index != 1 {
			t.Errorf("Verdicts(1, %d) = %d verdicts, %v; want %d from index 1", tt.limit, len(vs), err, tt.want)
		}
	}

	for _, cursor := range []string{"not a cursor", "%%%", "-1", "\x00", strings.Repeat("z", 300)} {
		items, next, err := s.Subjects(ctx, store.KindIncident, store.Filter{Cursor: cursor})
		if !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Subjects(cursor %q) = %d items, %q, %v; want ErrBadCursor", cursor, len(items), next, err)
		}
	}
}

// testPagingWhileApplying checks that a cursor taken before a batch still
// continues the list as it was: later subjects are newer and come before
// it, and a replaced subject keeps its place.
func testPagingWhileApplying(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := newModel()
	g := newGen(2)
	for range 2 {
		apply(t, s, m, g.batch(300))
	}
	want := ids(m.list(store.KindIncident, store.Filter{}))
	var got []string
	f := store.Filter{Limit: 10}
	for {
		items, next, err := s.Subjects(ctx, store.KindIncident, f)
		if err != nil {
			t.Fatalf("Subjects(%+v): %v", f, err)
		}
		got = append(got, ids(items)...)
		if next == "" {
			break
		}
		f.Cursor = next
		apply(t, s, m, g.batch(20))
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages while applying = %d items, want %d as they were first:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	check(t, s, m)
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := newModel()
	for _, b := range fixture() {
		apply(t, s, m, b)
	}
	if v, err := s.Verdict(ctx, 15); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Verdict(15) = %v, %v; want ErrNotFound", v, err)
	}
	if v, err := s.Verdict(ctx, math.MaxUint64); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Verdict(MaxUint64) = %v, %v; want ErrNotFound", v, err)
	}
	for _, k := range []struct{ kind, id string }{
		{store.KindIncident, "inc-z"},
		{store.KindIncident, ""},
		{store.KindAction, "inc-a"}, // an incident, not an action
		{store.KindIncident, "act-c"},
		{"finding", "inc-a"},
		{store.KindIncident, "rep-1"}, // a statement, not a subject
	} {
		if sub, err := s.Subject(ctx, k.kind, k.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Subject(%q, %q) = %v, %v; want ErrNotFound", k.kind, k.id, sub, err)
		}
	}
	for _, name := range []string{"missing", "", "Compliance"} {
		if doc, err := s.Document(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Document(%q) = %q, %v; want ErrNotFound", name, doc, err)
		}
	}
}

// testWalks checks StatementIDs and AllSubjects: every item, an error from
// fn ends the walk and is returned, and fn may call the store.
func testWalks(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := newModel()
	g := newGen(3)
	for range 4 {
		apply(t, s, m, g.batch(1000))
	}
	check(t, s, m)

	stop := errors.New("stop")
	n := 0
	err := s.StatementIDs(ctx, func(id string) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("StatementIDs(stop at the 10th) = %v after %d calls, want %v after 10", err, n, stop)
	}
	n = 0
	err = s.AllSubjects(ctx, func(*store.Subject) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("AllSubjects(stop at the 10th) = %v after %d calls, want %v after 10", err, n, stop)
	}

	// A walk's fn may read the store: a store must not hold what a read
	// needs, such as its only connection, while it calls fn.
	n = 0
	err = s.AllSubjects(ctx, func(sub *store.Subject) error {
		n++
		got, err := s.Subject(ctx, sub.Kind, sub.ID)
		if err != nil {
			return err
		}
		if g, w := fmtSubject(*got), fmtSubject(*sub); g != w {
			return fmt.Errorf("Subject(%q) = %s in the walk, but the walk gave %s", sub.ID, g, w)
		}
		return nil
	})
	if err != nil || n != len(m.subjects) {
		t.Errorf("AllSubjects(reading the store) = %v after %d calls, want nil after %d", err, n, len(m.subjects))
	}
	n = 0
	err = s.StatementIDs(ctx, func(id string) error {
		n++
		_, _, err := s.Progress(ctx)
		return err
	})
	if err != nil || n == 0 {
		t.Errorf("StatementIDs(reading the store) = %v after %d calls", err, n)
	}
}

func testReset(t *testing.T, s store.Store) {
	m := newModel()
	for _, b := range fixture() {
		apply(t, s, m, b)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	check(t, s, newModel())
	// A reset store takes the log from the start again, and only from there.
	if err := s.Apply(t.Context(), fixture()[1]); err == nil {
		t.Errorf("Apply(second batch) after Reset = nil, want an error")
	}
	m = newModel()
	for _, b := range fixture() {
		apply(t, s, m, b)
	}
	check(t, s, m)
}

// testBulk applies batches of the size the server's fold makes.
func testBulk(t *testing.T, s store.Store) {
	m := newModel()
	g := newGen(4)
	for range 3 {
		apply(t, s, m, g.batch(2000))
	}
	check(t, s, m)
}

// testConcurrent reads while a writer applies batches: a reader never sees
// Progress go back, and sees every verdict below the next index it was told.
func testConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := newModel()
	g := newGen(5)
	batches := make([]*store.Batch, 30)
	for i := range batches {
		batches[i] = g.batch(50)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for _, b := range batches {
			if err := s.Apply(ctx, b); err != nil {
				t.Errorf("Apply(batch ending at %d): %v", b.Next, err)
				return
			}
		}
	})
	for r := range 3 {
		wg.Go(func() {
			var last uint64
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				next, _, err := s.Progress(ctx)
				if err != nil {
					t.Errorf("reader %d: Progress: %v", r, err)
					return
				}
				if next < last {
					t.Errorf("reader %d: Progress went from %d back to %d", r, last, next)
					return
				}
				last = next
				if next == 0 {
					continue
				}
				if _, err := s.Verdict(ctx, next-1); err != nil {
					t.Errorf("reader %d: Verdict(%d) after Progress said %d: %v", r, next-1, next, err)
					return
				}
				from := next - min(next, 30)
				vs, err := s.Verdicts(ctx, from, 30)
				if err != nil || uint64(len(vs)) < next-from {
					t.Errorf("reader %d: Verdicts(%d, 30) = %d verdicts, %v; want at least %d", r, from, len(vs), err, next-from)
					return
				}
				items, _, err := s.Subjects(ctx, store.KindIncident, store.Filter{Limit: 20, Party: "PK"})
				if err != nil {
					t.Errorf("reader %d: Subjects: %v", r, err)
					return
				}
				for i := 1; i < len(items); i++ {
					if items[i].Index >= items[i-1].Index {
						t.Errorf("reader %d: Subjects out of order: %d after %d", r, items[i].Index, items[i-1].Index)
						return
					}
				}
				if n%20 == 0 {
					var prev uint64
					err := s.AllSubjects(ctx, func(sub *store.Subject) error {
						if sub.Index < prev {
							return fmt.Errorf("subject %d after %d", sub.Index, prev)
						}
						prev = sub.Index
						return nil
					})
					if err != nil {
						t.Errorf("reader %d: AllSubjects: %v", r, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, b := range batches {
		m.apply(b)
	}
	check(t, s, m)
}
