package i18n

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func mustLoad(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func mustLocale(t *testing.T, c *Catalog, tag string) *Locale {
	t.Helper()
	l, ok := c.Locale(tag)
	if !ok {
		t.Fatalf("Locale(%q): not found", tag)
	}
	return l
}

func TestLocales(t *testing.T) {
	c := mustLoad(t)
	want := []struct{ tag, name, htmlLang, dir string }{
		{"en", "English", "en", "ltr"},
		{"ps", "پښتو", "ps", "rtl"},
		{"prs", "دری", "fa-AF", "rtl"},
		{"ur", "اردو", "ur", "rtl"},
		{"tr", "Türkçe", "tr", "ltr"},
	}
	got := c.Locales()
	if len(got) != len(want) {
		t.Fatalf("got %d locales, want %d", len(got), len(want))
	}
	for i, w := range want {
		l := got[i]
		if l.Tag != w.tag || l.Name != w.name || l.HTMLLang != w.htmlLang || l.Dir != w.dir {
			t.Errorf("Locales()[%d] = {%s %s %s %s}, want {%s %s %s %s}", i, l.Tag, l.Name, l.HTMLLang, l.Dir, w.tag, w.name, w.htmlLang, w.dir)
		}
		if byTag := mustLocale(t, c, w.tag); byTag != l {
			t.Errorf("Locale(%q) is not Locales()[%d]", w.tag, i)
		}
	}
	if _, ok := c.Locale("fa"); ok {
		t.Errorf("Locale(\"fa\"): got a locale, want none")
	}
	if l := mustLocale(t, c, "PRS"); l.Tag != "prs" {
		t.Errorf("Locale(\"PRS\").Tag = %q, want prs", l.Tag)
	}
	got[0] = nil
	if c.Locales()[0] == nil {
		t.Errorf("changing the slice Locales returned changed the catalog")
	}
}

// TestPlaceholders fails when a translation's placeholders differ from
// English's, so that no translated page loses or invents a value.
func TestPlaceholders(t *testing.T) {
	c := mustLoad(t)
	en := c.Default()
	for _, l := range c.Locales()[1:] {
		for key, e := range l.messages {
			src, ok := en.messages[key]
			if !ok {
				continue // reported by TestCoverage
			}
			got, want := entryPlaceholders(e), entryPlaceholders(src)
			if !slices.Equal(got, want) {
				t.Errorf("messages/%s.toml:%d: %s: placeholders %v, want %v as in English", l.Tag, e.line, key, got, want)
			}
		}
	}
}

// entryPlaceholders returns the sorted placeholder names of all of a
// message's forms.
func entryPlaceholders(e *entry) []string {
	var names []string
	for _, s := range e.forms {
		for _, p := range placeholders(s) {
			if !slices.Contains(names, p) {
				names = append(names, p)
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestMonthNames fails when a locale's own file lacks one of the 12 month
// names of either calendar: a date must never mix languages.
func TestMonthNames(t *testing.T) {
	c := mustLoad(t)
	for _, l := range c.Locales() {
		for _, cal := range []string{"gregorian", "solar"} {
			var names []string
			for m := 1; m <= 12; m++ {
				key := "month." + cal + "." + strconv.Itoa(m)
				e, ok := l.messages[key]
				if !ok || e.text("other") == "" {
					t.Errorf("messages/%s.toml: no %s", l.Tag, key)
					continue
				}
				if slices.Contains(names, e.text("other")) {
					t.Errorf("messages/%s.toml: %s %q repeats an earlier month", l.Tag, key, e.text("other"))
				}
				names = append(names, e.text("other"))
			}
		}
		for _, key := range []string{"date.gregorian", "date.solar", "datetime"} {
			if _, ok := l.messages[key]; !ok {
				t.Errorf("messages/%s.toml: no %s", l.Tag, key)
			}
		}
	}
}

// TestCoverage reports, without failing, what translators still have to
// do: keys English has that a locale lacks, keys a locale has that English
// no longer has, and messages that are plural in one and not the other.
func TestCoverage(t *testing.T) {
	c := mustLoad(t)
	en := c.Default()
	t.Logf("en: %d messages", len(en.messages))
	for _, l := range c.Locales()[1:] {
		missing := l.Missing()
		t.Logf("%s: %d messages, %d drafts, %d missing", l.Tag, len(l.messages), l.Drafts(), len(missing))
		for _, key := range missing {
			t.Logf("%s: missing %s (English: %q)", l.Tag, key, en.messages[key].text("other"))
		}
		for _, key := range l.Keys() {
			src, ok := en.messages[key]
			switch {
			case !ok:
				t.Logf("messages/%s.toml:%d: %s is not in en.toml: renamed or removed?", l.Tag, l.messages[key].line, key)
			case src.plural != l.messages[key].plural:
				t.Logf("messages/%s.toml:%d: %s: plural is %v, but %v in English", l.Tag, l.messages[key].line, key, l.messages[key].plural, src.plural)
			}
		}
	}
}

func TestStarterKeys(t *testing.T) {
	c := mustLoad(t)
	keys := []string{
		"site.name", "nav.overview", "nav.map", "nav.incidents", "nav.actions", "nav.compliance",
		"nav.charter", "nav.sign_in", "nav.sign_out", "nav.language", "banner.simulated",
		"log.size", "log.last_checkpoint", "log.witnessed_by", "vote.counted", "vote.not_counted",
		"reply.window_closes", "filter.from", "filter.to", "filter.place", "filter.event_type",
		"filter.party", "filter.status", "filter.apply", "filter.next_page",
	}
	for _, s := range []string{"awaiting_reply", "open", "disputed", "decided", "withdrawn"} {
		keys = append(keys, "status."+s)
	}
	for _, q := range []string{"occurred", "origin", "violation", "duplicate_of", "verified"} {
		keys = append(keys, "question."+q)
	}
	for _, a := range []string{"yes", "no", "inconclusive", "not_attributable", "none", "minor", "serious"} {
		keys = append(keys, "answer."+a)
	}
	for _, e := range []string{"Battles", "Explosions/Remote violence", "Violence against civilians", "Protests", "Riots", "Strategic developments"} {
		keys = append(keys, EventTypeKey(e))
	}
	for _, l := range c.Locales() {
		for _, key := range keys {
			if _, ok := l.messages[key]; !ok {
				t.Errorf("messages/%s.toml: no %s", l.Tag, key)
			}
		}
	}
}

func TestEventTypeKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Battles", "event.battles"},
		{"Explosions/Remote violence", "event.explosions_remote_violence"},
		{"Violence against civilians", "event.violence_against_civilians"},
		{"Strategic developments", "event.strategic_developments"},
		{"  Riots ", "event.riots"},
		{"", "event."},
	}
	for _, tc := range tests {
		if got := EventTypeKey(tc.in); got != tc.want {
			t.Errorf("EventTypeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// testFS returns message files for a small catalog: English has a, p and
// only_en; Pashto has a draft a, a reviewed p and a message without status.
func testFS() fstest.MapFS {
	return fstest.MapFS{
		"messages/en.toml": {Data: []byte(`
[a]
text = "Hello {who}, {who}!"
note = "greeting"
[p]
one = "{n} thing in {place}"
other = "{n} things in {place}"
[only_en]
text = "Only English"
[nested.deeper.key]
text = "deep"
`)},
		"messages/ps.toml": {Data: []byte(`
[a]
text = "سلام {who}"
status = "draft"
[p]
one = "{n} شی په {place} کې"
other = "{n} شیان په {place} کې"
status = "reviewed"
reviewed_by = "test"
[nostatus]
text = "x"
`)},
		"messages/prs.toml": {Data: []byte("")},
		"messages/ur.toml":  {Data: []byte("")},
		"messages/tr.toml":  {Data: []byte("")},
	}
}

func mustLoadFS(t *testing.T, fsys fstest.MapFS) *Catalog {
	t.Helper()
	c, err := load(fsys)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func TestT(t *testing.T) {
	c := mustLoadFS(t, testFS())
	en, ps := mustLocale(t, c, "en"), mustLocale(t, c, "ps")
	tests := []struct {
		name string
		l    *Locale
		key  string
		args []string
		want string
	}{
		{"fills every use", en, "a", []string{"who", "Ana"}, "Hello Ana, Ana!"},
		{"unfilled stays", en, "a", nil, "Hello {who}, {who}!"},
		{"unknown arg ignored", en, "a", []string{"x", "1", "who", "Ana"}, "Hello Ana, Ana!"},
		{"odd last arg ignored", en, "a", []string{"who", "Ana", "x"}, "Hello Ana, Ana!"},
		{"value with braces not refilled", en, "a", []string{"who", "{who}"}, "Hello {who}, {who}!"},
		{"translation", ps, "a", []string{"who", "Ana"}, "سلام Ana"},
		{"falls back to English", ps, "only_en", nil, "Only English"},
		{"falls back to the key", ps, "no.such.key", nil, "no.such.key"},
		{"English falls back to the key", en, "no.such.key", []string{"who"}, "no.such.key"},
		{"nested tables", en, "nested.deeper.key", nil, "deep"},
		{"plural message through T", en, "p", []string{"n", "5", "place", "Kabul"}, "5 things in Kabul"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.T(tc.key, tc.args...); got != tc.want {
				t.Errorf("%s.T(%q, %q) = %q, want %q", tc.l.Tag, tc.key, tc.args, got, tc.want)
			}
		})
	}
}

func TestTN(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		tag  string
		n    int
		want string
	}{
		{"en", 0, "0 incidents"},
		{"en", 1, "1 incident"},
		{"en", 2, "2 incidents"},
		{"en", 1234, "1,234 incidents"},
		{"en", -1, "-1 incident"},
		{"ps", 0, "۰ پېښې"},
		{"ps", 1, "۱ پېښه"},
		{"ps", 2, "۲ پېښې"},
		{"prs", 1, "۱ رویداد"},
		{"prs", 1234, "۱٬۲۳۴ رویداد"},
		{"ur", 1, "1 واقعہ"},
		{"ur", 2, "2 واقعات"},
		{"tr", 1, "1 olay"},
		{"tr", 1234, "1.234 olay"},
	}
	for _, tc := range tests {
		l := mustLocale(t, c, tc.tag)
		if got := l.TN("incidents.count", tc.n); got != tc.want {
			t.Errorf("%s.TN(incidents.count, %d) = %q, want %q", tc.tag, tc.n, got, tc.want)
		}
	}

	tc := mustLoadFS(t, testFS())
	ps, prs := mustLocale(t, tc, "ps"), mustLocale(t, tc, "prs")
	if got, want := ps.TN("p", 1, "place", "Kabul"), "۱ شی په Kabul کې"; got != want {
		t.Errorf("ps.TN(p, 1) = %q, want %q", got, want)
	}
	// prs lacks p: the English words come with English plural rules and
	// digits, so they agree with each other.
	if got, want := prs.TN("p", 0, "place", "Kabul"), "0 things in Kabul"; got != want {
		t.Errorf("prs.TN(p, 0) = %q, want %q", got, want)
	}
	if got, want := ps.TN("a", 3, "who", "Ana"), "سلام Ana"; got != want {
		t.Errorf("ps.TN(a, 3) on a plain message = %q, want %q", got, want)
	}
	if got, want := ps.TN("missing", 3), "missing"; got != want {
		t.Errorf("ps.TN(missing, 3) = %q, want %q", got, want)
	}
}

func TestPluralForm(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		tag  string
		want []string // for 0, 1, 2, 5, 21
	}{
		{"en", []string{"other", "one", "other", "other", "other"}},
		{"ps", []string{"other", "one", "other", "other", "other"}},
		{"prs", []string{"one", "one", "other", "other", "other"}}, // CLDR fa: i = 0 or n = 1
		{"ur", []string{"other", "one", "other", "other", "other"}},
		{"tr", []string{"other", "one", "other", "other", "other"}},
	}
	for _, tc := range tests {
		l := mustLocale(t, c, tc.tag)
		var got []string
		for _, n := range []int{0, 1, 2, 5, 21} {
			got = append(got, l.pluralForm(n))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s plural forms of 0, 1, 2, 5, 21 = %v, want %v", tc.tag, got, tc.want)
		}
	}
}

// TestN pins the exact strings x/text gives, marks included: U+200E
// LEFT-TO-RIGHT MARK before the minus sign in ps, prs and ur (and after it
// in ps), U+2212 MINUS SIGN in prs, U+066C ARABIC THOUSANDS SEPARATOR in ps
// and prs.
func TestN(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		tag  string
		n    int
		want string
	}{
		{"en", 0, "0"},
		{"en", 7, "7"},
		{"en", 1234, "1,234"},
		{"en", 1234567, "1,234,567"},
		{"en", -1234, "-1,234"},
		{"ps", 0, "۰"},
		{"ps", 7, "۷"},
		{"ps", 1234, "۱٬۲۳۴"},
		{"ps", 1234567, "۱٬۲۳۴٬۵۶۷"},
		{"ps", -1234, "\u200e-\u200e۱٬۲۳۴"},
		{"prs", 0, "۰"},
		{"prs", 7, "۷"},
		{"prs", 1234, "۱٬۲۳۴"},
		{"prs", 1234567, "۱٬۲۳۴٬۵۶۷"},
		{"prs", -1234, "\u200e\u2212۱٬۲۳۴"},
		{"ur", 0, "0"},
		{"ur", 1234, "1,234"},
		{"ur", 1234567, "1,234,567"},
		{"ur", -1234, "\u200e-1,234"},
		{"tr", 0, "0"},
		{"tr", 1234, "1.234"},
		{"tr", 1234567, "1.234.567"},
		{"tr", -1234, "-1.234"},
	}
	for _, tc := range tests {
		l := mustLocale(t, c, tc.tag)
		if got := l.N(tc.n); got != tc.want {
			t.Errorf("%s.N(%d) = %+q, want %+q", tc.tag, tc.n, got, tc.want)
		}
	}
}

func TestDates(t *testing.T) {
	c := mustLoad(t)
	tm := time.Date(2025, time.November, 7, 14, 5, 0, 0, time.UTC)
	tests := []struct {
		tag, date, solar, dateTime string
	}{
		{"en", "7 November 2025", "16 Aqrab 1404", "7 November 2025, 14:05 UTC"},
		{"ps", "۷ نومبر ۲۰۲۵", "۱۶ لړم ۱۴۰۴", "۷ نومبر ۲۰۲۵، ۱۴:۰۵ UTC"},
		{"prs", "۷ نومبر ۲۰۲۵", "۱۶ عقرب ۱۴۰۴", "۷ نومبر ۲۰۲۵، ۱۴:۰۵ UTC"},
		{"ur", "7 نومبر 2025", "16 عقرب 1404", "7 نومبر 2025، 14:05 UTC"},
		{"tr", "7 Kasım 2025", "16 Akrep 1404", "7 Kasım 2025 14:05 UTC"},
	}
	for _, tc := range tests {
		l := mustLocale(t, c, tc.tag)
		if got := l.Date(tm); got != tc.date {
			t.Errorf("%s.Date = %q, want %q", tc.tag, got, tc.date)
		}
		if got := l.SolarHijri(tm); got != tc.solar {
			t.Errorf("%s.SolarHijri = %q, want %q", tc.tag, got, tc.solar)
		}
		if got := l.DateTime(tm); got != tc.dateTime {
			t.Errorf("%s.DateTime = %q, want %q", tc.tag, got, tc.dateTime)
		}
	}
}

func TestDateMonths(t *testing.T) {
	c := mustLoad(t)
	en, prs, ps := c.Default(), mustLocale(t, c, "prs"), mustLocale(t, c, "ps")
	tests := []struct {
		l    *Locale
		t    time.Time
		want string
	}{
		{en, date(2024, time.March, 20), "1 Hamal 1403"},
		{en, date(2025, time.March, 20), "30 Hut 1403"},
		{en, date(2025, time.June, 21), "31 Jawza 1404"},
		{en, date(2025, time.December, 22), "1 Jadi 1404"},
		{prs, date(2026, time.March, 21), "۱ حمل ۱۴۰۵"},
		{prs, date(2025, time.September, 22), "۳۱ سنبله ۱۴۰۴"},
		{ps, date(2026, time.March, 21), "۱ وری ۱۴۰۵"},
		{ps, date(2026, time.March, 20), "۲۹ کب ۱۴۰۴"},
	}
	for _, tc := range tests {
		if got := tc.l.SolarHijri(tc.t); got != tc.want {
			t.Errorf("%s.SolarHijri(%s) = %q, want %q", tc.l.Tag, tc.t.Format(time.DateOnly), got, tc.want)
		}
	}
	for m := time.January; m <= time.December; m++ {
		got := en.Date(date(2025, m, 1))
		if want := "1 " + m.String() + " 2025"; got != want {
			t.Errorf("en.Date(2025-%02d-01) = %q, want %q", m, got, want)
		}
	}
	// Outside the leap-year table, SolarHijri falls back to the Gregorian date.
	if got, want := en.SolarHijri(date(4000, time.January, 2)), "2 January 4000"; got != want {
		t.Errorf("en.SolarHijri(4000-01-02) = %q, want %q", got, want)
	}
	// Every date is the day in UTC, whatever t's location, in both
	// calendars and in DateTime alike.
	for _, tc := range []struct {
		t                     string
		date, solar, dateTime string
	}{
		{"2025-11-07T23:00:00+04:30", "7 November 2025", "16 Aqrab 1404", "7 November 2025, 18:30 UTC"},
		{"2025-11-08T01:00:00+04:30", "7 November 2025", "16 Aqrab 1404", "7 November 2025, 20:30 UTC"},
		{"2025-03-20T23:30:00-01:00", "21 March 2025", "1 Hamal 1404", "21 March 2025, 00:30 UTC"},
	} {
		tm, err := time.Parse(time.RFC3339, tc.t)
		if err != nil {
			t.Fatal(err)
		}
		if got := en.Date(tm); got != tc.date {
			t.Errorf("en.Date(%s) = %q, want %q", tc.t, got, tc.date)
		}
		if got := en.SolarHijri(tm); got != tc.solar {
			t.Errorf("en.SolarHijri(%s) = %q, want %q", tc.t, got, tc.solar)
		}
		if got := en.DateTime(tm); got != tc.dateTime {
			t.Errorf("en.DateTime(%s) = %q, want %q", tc.t, got, tc.dateTime)
		}
	}
}

func TestDraft(t *testing.T) {
	c := mustLoadFS(t, testFS())
	en, ps := mustLocale(t, c, "en"), mustLocale(t, c, "ps")
	tests := []struct {
		l    *Locale
		key  string
		want bool
	}{
		{en, "a", false},
		{en, "no.such.key", false},
		{ps, "a", true},
		{ps, "p", false},       // status = "reviewed"
		{ps, "nostatus", true}, // no status in a translation: a draft
		{ps, "only_en", true},  // shown in English
		{ps, "no.such.key", true},
	}
	for _, tc := range tests {
		if got := tc.l.Draft(tc.key); got != tc.want {
			t.Errorf("%s.Draft(%q) = %v, want %v", tc.l.Tag, tc.key, got, tc.want)
		}
	}
	if got, want := ps.Drafts(), 2; got != want {
		t.Errorf("ps.Drafts() = %d, want %d", got, want)
	}
	if got, want := en.Drafts(), 0; got != want {
		t.Errorf("en.Drafts() = %d, want %d", got, want)
	}
	if got, want := ps.Missing(), []string{"nested.deeper.key", "only_en"}; !slices.Equal(got, want) {
		t.Errorf("ps.Missing() = %q, want %q", got, want)
	}
	if got := en.Missing(); len(got) != 0 {
		t.Errorf("en.Missing() = %q, want none", got)
	}
}

// TestStarterDrafts checks that the starter translations, written without
// native speakers, all say they are drafts and English none.
func TestStarterDrafts(t *testing.T) {
	c := mustLoad(t)
	for _, l := range c.Locales() {
		reviewed := 0
		for _, key := range l.Keys() {
			if !l.Draft(key) {
				reviewed++
			}
		}
		if l.Tag == "en" {
			if l.Drafts() != 0 {
				t.Errorf("en.Drafts() = %d, want 0", l.Drafts())
			}
			continue
		}
		if l.Drafts()+reviewed != len(l.Keys()) {
			t.Errorf("%s: %d drafts + %d reviewed, want %d messages", l.Tag, l.Drafts(), reviewed, len(l.Keys()))
		}
		t.Logf("%s: %d of %d messages reviewed", l.Tag, reviewed, len(l.Keys()))
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // replaces messages/ps.toml, or names another file with "name.toml:"
		want string
	}{
		{"syntax", "[a]\ntext = \"x\"\n[b]\ntext = \"unclosed\n", "messages/ps.toml:4: cannot parse messages"},
		{"unknown field", "\n[a]\ntxt = \"x\"\n", "messages/ps.toml:2: a: unknown field \"txt\""},
		{"not a string", "[a]\ntext = 3\n", "messages/ps.toml:1: a: text is not a string"},
		{"bad status", "[x]\n[x.y]\ntext = \"t\"\nstatus = \"done\"\n", "messages/ps.toml:2: x.y: status is \"done\""},
		{"text and plural", "[a]\ntext = \"t\"\none = \"o\"\n", "messages/ps.toml:1: a: has both text and plural forms"},
		{"plural without other", "[a]\none = \"o\"\n", "messages/ps.toml:1: a: plural message has no other"},
		{"only status", "[a]\nstatus = \"draft\"\n", "messages/ps.toml:1: a: has no text"},
		{"bare value", "a = \"x\"\n", "messages/ps.toml: a: want a table"},
		{"empty table", "[a]\n", "messages/ps.toml:1: a: empty table"},
		{"quoted header", "[\"nav\" . 'b c']\nfoo = \"x\"\n", "messages/ps.toml:1: nav.b c: unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := testFS()
			fsys["messages/ps.toml"] = &fstest.MapFile{Data: []byte(tc.file)}
			_, err := load(fsys)
			if err == nil {
				t.Fatalf("load: got no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("load: got %q, want it to start %q", err, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		fsys := testFS()
		delete(fsys, "messages/ur.toml")
		if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "ur.toml") {
			t.Errorf("load: got %v, want an error naming ur.toml", err)
		}
	})
	t.Run("unknown locale", func(t *testing.T) {
		fsys := testFS()
		fsys["messages/fa.toml"] = &fstest.MapFile{Data: []byte("")}
		if _, err := load(fsys); err == nil || !strings.HasPrefix(err.Error(), "messages/fa.toml: ") {
			t.Errorf("load: got %v, want an error naming messages/fa.toml", err)
		}
	})
}

func TestNestedKeys(t *testing.T) {
	fsys := testFS()
	fsys["messages/en.toml"] = &fstest.MapFile{Data: []byte(`
[log.witnessed]
text = "Witness policy"
[log.witnessed.yes]
text = "met"
[log.witnessed.yes.really]
text = "really met"
["subject.publication.text"]
text = "quoted, since text is a field name"
[subject.publication]
text = "Publication"
`)}
	c := mustLoadFS(t, fsys)
	en := c.Default()
	want := []string{"log.witnessed", "log.witnessed.yes", "log.witnessed.yes.really", "subject.publication", "subject.publication.text"}
	if got := en.Keys(); !slices.Equal(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
	if got, want := en.T("log.witnessed.yes"), "met"; got != want {
		t.Errorf("T(log.witnessed.yes) = %q, want %q", got, want)
	}
	if got, want := en.T("subject.publication.text"), "quoted, since text is a field name"; got != want {
		t.Errorf("T(subject.publication.text) = %q, want %q", got, want)
	}

	fsys["messages/en.toml"] = &fstest.MapFile{Data: []byte("[a.b]\ntext = \"x\"\n\n[\"a.b\"]\ntext = \"y\"\n")}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "a.b: defined twice") {
		t.Errorf("load with a.b twice: got %v, want an error saying a.b is defined twice", err)
	}
}

func TestPlaceholderNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"no braces", nil},
		{"{n} of {n} in {place_2}", []string{"n", "place_2"}},
		{"{ not one } {} {a-b} {ok}", []string{"ok"}},
		{"unclosed {n", nil},
		{"{{n}}", []string{"n"}},
	}
	for _, tc := range tests {
		if got := placeholders(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("placeholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		name   string
		url    string
		cookie string
		accept []string
		want   string
	}{
		{"default", "/", "", nil, "en"},
		{"query", "/?lang=ps", "", nil, "ps"},
		{"query case", "/incidents?lang=PRS", "", nil, "prs"},
		{"query beats cookie and header", "/?lang=tr", "ur", []string{"ps"}, "tr"},
		{"unknown query falls to cookie", "/?lang=de", "ur", []string{"ps"}, "ur"},
		{"empty query falls to cookie", "/?lang=", "ur", nil, "ur"},
		{"cookie beats header", "/", "prs", []string{"tr"}, "prs"},
		{"unknown cookie falls to header", "/", "xx", []string{"tr"}, "tr"},
		{"header", "/", "", []string{"ur-PK,ur;q=0.9,en;q=0.8"}, "ur"},
		{"fa-AF is Dari", "/", "", []string{"fa-AF"}, "prs"},
		{"fa is Dari", "/", "", []string{"fa"}, "prs"},
		{"fa-IR is Dari", "/", "", []string{"fa-IR, en;q=0.5"}, "prs"},
		{"prs", "/", "", []string{"prs"}, "prs"},
		{"ps-PK", "/", "", []string{"ps-PK"}, "ps"},
		{"ps_AF underscore", "/", "", []string{"ps_AF"}, "ps"},
		{"tr-TR", "/", "", []string{"tr-TR,tr;q=0.9"}, "tr"},
		{"en-GB", "/", "", []string{"en-GB"}, "en"},
		{"skips unknown languages", "/", "", []string{"de-DE, fr;q=0.9, ps;q=0.8"}, "ps"},
		{"quality order", "/", "", []string{"en;q=0.3, tr;q=0.5, ps;q=0.4"}, "tr"},
		{"equal quality keeps order", "/", "", []string{"ur;q=0.5, tr;q=0.5"}, "ur"},
		{"q=0 excluded", "/", "", []string{"ps;q=0, tr;q=0.1"}, "tr"},
		{"case and spaces", "/", "", []string{" PS-af ; Q=0.7 "}, "ps"},
		{"several header lines", "/", "", []string{"de", "ur;q=0.2"}, "ur"},
		{"wildcard", "/", "", []string{"*"}, "en"},
		{"malformed q", "/", "", []string{"ps;q=abc, tr;q=0.5"}, "tr"},
		{"garbage", "/", "", []string{";;,,=;q"}, "en"},
		{"nothing known", "/", "", []string{"de, fr"}, "en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.url, nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "lang", Value: tc.cookie})
			}
			for _, a := range tc.accept {
				r.Header.Add("Accept-Language", a)
			}
			if got := c.Negotiate(r); got.Tag != tc.want {
				t.Errorf("Negotiate(%s, cookie %q, Accept-Language %q) = %s, want %s", tc.url, tc.cookie, tc.accept, got.Tag, tc.want)
			}
		})
	}
	if got := c.Negotiate(nil); got.Tag != "en" {
		t.Errorf("Negotiate(nil) = %s, want en", got.Tag)
	}
}
