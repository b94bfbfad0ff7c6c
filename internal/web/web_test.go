package web_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/store"
	"github.com/truce-mechanism/truce/internal/web"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// now is the tests' fixed clock: an hour after the demo's history ends.
var (
	demoEnd = time.Date(2025, 12, 1, 12, 0, 0, 0, time.UTC)
	now     = demoEnd.Add(time.Hour)
)

// fixture is a whole simulated mechanism, generated once for the
// package's tests: its full HTTP handler (API and UI, as truce demo
// serves it) and a UI of its own on the fixed clock.
type fixture struct {
	d    *demo.Demo
	full *httptest.Server // d.Handler(): the API with the UI mounted
	ui   *httptest.Server // web.New on the fixed clock, for golden files
	// incident and action are ids of subjects with findings and votes.
	incident, action string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixDir  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fix != nil {
		fix.full.Close()
		fix.ui.Close()
		fix.d.Close(context.Background())
	}
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

func getFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		fixDir, fixErr = os.MkdirTemp("", "truce-web-test")
		if fixErr != nil {
			return
		}
		ctx := context.Background()
		cfg := demo.Config{Seed: 7, End: demoEnd, Scale: 0.2}
		d, err := demo.Open(ctx, filepath.Join(fixDir, "demo"), cfg)
		if err != nil {
			fixErr = err
			return
		}
		cat, err := i18n.Load()
		if err != nil {
			fixErr = err
			return
		}
		ui := web.New(web.Config{
			Mechanism: d.Server.Mechanism, Store: d.Server.Store, Log: d.Server.Ledger,
			LogKey: d.Server.Info.LogKey, Catalog: cat, Now: func() time.Time { return now },
		})
		fix = &fixture{d: d, full: httptest.NewServer(d.Handler()), ui: httptest.NewServer(ui)}
		fix.incident, fix.action, fixErr = pickSubjects(ctx, d.Server.Store)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// pickSubjects finds the first decided incident and the first decided
// action, the richest pages.
func pickSubjects(ctx context.Context, s store.Store) (incident, action string, err error) {
	for kind, id := range map[string]*string{store.KindIncident: &incident, store.KindAction: &action} {
		rows, _, err := s.Subjects(ctx, kind, store.Filter{Status: "decided", Limit: 1000})
		if err != nil {
			return "", "", err
		}
		if len(rows) == 0 {
			return "", "", fmt.Errorf("the demo has no decided %s", kind)
		}
		*id = rows[len(rows)-1].ID
	}
	return incident, action, nil
}

type response struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, base, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

var thirdParty = regexp.MustCompile(`(?i)\b(src|href|action|srcset|poster|data)="(https?:)?//[^"]*"`)

var locales = []string{"en", "ps", "prs", "ur", "tr"}

func pages(f *fixture) []string {
	return []string{"/", "/map", "/incidents", "/actions", "/incidents/" + f.incident, "/actions/" + f.action, "/compliance", "/charter"}
}

// TestPages: every page answers 200 in every language, with the
// language's lang and dir, the security headers, and nothing inline.
func TestPages(t *testing.T) {
	f := getFixture(t)
	rtl := map[string]bool{"ps": true, "prs": true, "ur": true}
	for _, path := range pages(f) {
		for _, lang := range locales {
			t.Run(lang+path, func(t *testing.T) {
				r := get(t, f.full.URL, path+"?lang="+lang)
				if r.code != http.StatusOK {
					t.Fatalf("status %d:\n%s", r.code, r.body)
				}
				checkPage(t, r)
				dir := "ltr"
				if rtl[lang] {
					dir = "rtl"
				}
				if !regexp.MustCompile(`<html lang="[^"]+" dir="` + dir + `">`).MatchString(r.body) {
					t.Errorf("no <html dir=%q> in %.200s", dir, r.body)
				}
				if c := r.header.Get("Set-Cookie"); !strings.HasPrefix(c, "lang="+lang+";") {
					t.Errorf("Set-Cookie %q, want lang=%s", c, lang)
				}
				if !strings.Contains(r.body, "SIMULATED") {
					t.Errorf("no SIMULATED banner")
				}
			})
		}
	}
}

// checkPage checks what every HTML page must have.
func checkPage(t *testing.T, r response) {
	t.Helper()
	if got := r.header.Get("Content-Security-Policy"); got != web.CSP {
		t.Errorf("Content-Security-Policy %q, want %q", got, web.CSP)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Content-Type": "text/html; charset=utf-8"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s %q, want %q", h, got, want)
		}
	}
	lower := strings.ToLower(r.body)
	for _, bad := range []string{"style=", "<script", "<style", "javascript:", " onclick=", " onload=", "url("} {
		if i := strings.Index(lower, bad); i >= 0 {
			t.Errorf("the page holds %q: …%s…", bad, r.body[max(i-80, 0):min(i+80, len(r.body))])
		}
	}
	// Nothing is fetched from anywhere but the server itself.
	if m := thirdParty.FindString(r.body); m != "" {
		t.Errorf("the page refers to another site: %s", m)
	}
	if !strings.Contains(r.body, `<a class="skip" href="#main">`) || !strings.Contains(r.body, `<main id="main"`) {
		t.Errorf("no skip link to <main>")
	}
}

func TestLanguageNegotiation(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct {
		header []string
		want   string
	}{
		{nil, `lang="en" dir="ltr"`},
		{[]string{"Accept-Language", "tr-TR,tr;q=0.9"}, `lang="tr" dir="ltr"`},
		{[]string{"Accept-Language", "ur"}, `lang="ur" dir="rtl"`},
		{[]string{"Cookie", "lang=ps"}, `lang="ps" dir="rtl"`},
	} {
		r := get(t, f.ui.URL, "/charter", tc.header...)
		if !strings.Contains(r.body, "<html "+tc.want+">") {
			t.Errorf("%v: want <html %s>, got %.120s", tc.header, tc.want, r.body)
		}
	}
	// The language links keep the page's query.
	r := get(t, f.ui.URL, "/incidents?status=decided")
	if !strings.Contains(r.body, `href="/incidents?lang=tr&amp;status=decided"`) {
		t.Errorf("no Turkish link keeping the filter")
	}
}

func TestNotFound(t *testing.T) {
	f := getFixture(t)
	for _, path := range []string{"/incidents/no-such-incident", "/actions/no-such-action", "/no/such/page", "/incidents/" + f.action} {
		for _, lang := range []string{"en", "tr"} {
			r := get(t, f.full.URL, path+"?lang="+lang)
			if r.code != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", path, r.code)
			}
			checkPage(t, r)
			if !strings.Contains(r.body, `<html lang="`+lang+`"`) {
				t.Errorf("%s: the 404 page is not in %s", path, lang)
			}
		}
	}
	// The API keeps its own JSON 404s.
	r := get(t, f.full.URL, "/v1/nothing")
	if r.code != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("/v1/nothing: %d %s, want a JSON 404", r.code, r.header.Get("Content-Type"))
	}
}

var rowRE = regexp.MustCompile(`<tr>\s*<th scope="row"><a href="/incidents/([^"]+)">`)

func incidentIDs(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

var nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// TestListPaging follows "next page" to the end: every incident once,
// as many as the store holds.
func TestListPaging(t *testing.T) {
	f := getFixture(t)
	seen := map[string]bool{}
	path, pagesN := "/incidents?limit=10", 0
	for path != "" {
		r := get(t, f.ui.URL, path)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d", path, r.code)
		}
		ids := incidentIDs(r.body)
		if len(ids) == 0 || len(ids) > 10 {
			t.Fatalf("%s: %d rows", path, len(ids))
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("%s: %s shown twice", path, id)
			}
			seen[id] = true
		}
		path = ""
		if m := nextRE.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
			if pagesN > 0 && !strings.Contains(r.body, "First page") {
				t.Errorf("page %d has no link to the first", pagesN+1)
			}
		}
		pagesN++
	}
	var total int
	for _, n := range getFixture(t).d.Summary.Incidents {
		total += n
	}
	if len(seen) != total || pagesN < 2 {
		t.Errorf("paged through %d incidents in %d pages; the demo has %d", len(seen), pagesN, total)
	}
}

// TestListFilters: each filter narrows the list to what the store's own
// query gives, and the form shows it back.
func TestListFilters(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	for _, q := range []url.Values{
		{"status": {"decided"}},
		{"status": {"awaiting_reply"}},
		{"party": {"PK"}},
		{"type": {"Explosions/Remote violence"}},
		{"from": {"2025-11-10"}, "to": {"2025-11-20"}},
		{"place": {"kunar"}},
		{"party": {"AF"}, "status": {"disputed"}},
	} {
		t.Run(q.Encode(), func(t *testing.T) {
			q.Set("limit", "1000")
			r := get(t, f.ui.URL, "/incidents?"+q.Encode())
			if r.code != http.StatusOK {
				t.Fatalf("status %d", r.code)
			}
			sf := store.Filter{Status: q.Get("status"), Party: q.Get("party"), EventType: q.Get("type"), Place: q.Get("place"), Limit: 1000}
			if v := q.Get("from"); v != "" {
				sf.From, _ = time.Parse(time.DateOnly, v)
			}
			if v := q.Get("to"); v != "" {
				sf.To, _ = time.Parse(time.DateOnly, v)
				sf.To = sf.To.AddDate(0, 0, 1)
			}
			rows, _, err := f.d.Server.Store.Subjects(ctx, store.KindIncident, sf)
			if err != nil {
				t.Fatal(err)
			}
			got := incidentIDs(r.body)
			if len(got) != len(rows) {
				t.Fatalf("%d incidents shown, the store has %d", len(got), len(rows))
			}
			for i := range rows {
				if got[i] != rows[i].ID {
					t.Fatalf("row %d is %s, want %s", i, got[i], rows[i].ID)
				}
			}
			if s := q.Get("status"); s != "" && !strings.Contains(r.body, `<option value="`+s+`" selected>`) {
				t.Errorf("the form does not show status %s chosen", s)
			}
			if v := q.Get("from"); v != "" && !strings.Contains(r.body, `name="from" type="date" value="`+v+`"`) {
				t.Errorf("the form does not show from %s", v)
			}
		})
	}
	r := get(t, f.ui.URL, "/incidents?from=yesterday")
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("a bad date: status %d, want 400 with the reason shown", r.code)
	}
}

// TestMap: the map draws the incidents the filter selects, each linking
// to its page.
func TestMap(t *testing.T) {
	f := getFixture(t)
	decided := f.d.Summary.Incidents["decided"]
	for _, tc := range []struct {
		query string
		want  int
	}{{"", 0}, {"?status=decided", decided}} {
		r := get(t, f.ui.URL, "/map"+tc.query)
		if r.code != http.StatusOK {
			t.Fatalf("/map%s: %d", tc.query, r.code)
		}
		links := regexp.MustCompile(`href="/incidents/[^"]+"`).FindAllString(r.body, -1)
		if tc.want > 0 && len(links) != tc.want {
			t.Errorf("/map%s links %d incidents, want %d", tc.query, len(links), tc.want)
		}
		if len(links) == 0 {
			t.Errorf("/map%s draws no incident", tc.query)
		}
		if !strings.Contains(r.body, "Natural Earth") {
			t.Errorf("/map%s does not name its boundary data", tc.query)
		}
	}
}

// TestMessages: every message key the templates use has English text.
func TestMessages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	en, _ := cat.Locale("en")
	files, _ := filepath.Glob("templates/*.html")
	src, _ := filepath.Glob("*.go")
	key := regexp.MustCompile(`\bTN? "([a-z0-9_.]+)"|\.TN?\("([a-z0-9_.]+)"`)
	n := 0
	for _, name := range append(files, src...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2]
			if strings.HasSuffix(k, ".") {
				continue // a prefix completed at run time
			}
			n++
			if en.T(k) == k && en.TN(k, 2) == k {
				t.Errorf("%s: message %q is not in en.toml", name, k)
			}
		}
	}
	if n < 100 {
		t.Errorf("found only %d message keys; the pattern misses some", n)
	}
	// Keys the templates complete at run time.
	for _, k := range []string{"status.awaiting_reply", "status.open", "status.disputed", "status.decided", "status.withdrawn",
		"question.occurred", "question.origin", "question.violation", "question.duplicate_of", "question.verified",
		"answer.yes", "answer.no", "answer.inconclusive", "answer.not_attributable", "answer.none", "answer.minor", "answer.serious",
		"role.party", "role.mediator", "role.monitor", "agreement.unanimous", "agreement.two_thirds", "agreement.majority",
		"precision.time.2", "precision.time.3"} {
		if en.T(k) == k {
			t.Errorf("message %q is not in en.toml", k)
		}
	}
}

func TestStylesheet(t *testing.T) {
	f := getFixture(t)
	r := get(t, f.ui.URL, "/")
	m := regexp.MustCompile(`<link rel="stylesheet" href="(/static/truce\.[0-9a-f]{12}\.css)">`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no versioned stylesheet link")
	}
	css := get(t, f.ui.URL, m[1])
	if css.code != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(css.header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: %d %v", css.code, css.header)
	}
	for _, physical := range []string{"margin-left", "margin-right", "padding-left", "padding-right", "text-align: left", "text-align: right", " left:", " right:", "float:"} {
		if strings.Contains(css.body, physical) {
			t.Errorf("the stylesheet uses %q: use the logical property, for right-to-left pages", physical)
		}
	}
	if r := get(t, f.ui.URL, "/static/truce.000000000000.css"); r.code != 404 {
		t.Errorf("an old stylesheet URL: %d, want 404", r.code)
	}
}

// TestPageWeight: every page with its stylesheet is under 150 KB,
// leaving out the map's SVG.
func TestPageWeight(t *testing.T) {
	f := getFixture(t)
	css := get(t, f.ui.URL, regexp.MustCompile(`/static/truce\.[0-9a-f]+\.css`).FindString(get(t, f.ui.URL, "/").body))
	svg := regexp.MustCompile(`(?s)<figure class="map">.*?</figure>`)
	for _, path := range pages(f) {
		for _, lang := range []string{"en", "ps"} {
			r := get(t, f.ui.URL, path+"?lang="+lang)
			body := r.body
			mapBytes := 0
			if path == "/map" {
				stripped := svg.ReplaceAllString(body, "")
				mapBytes = len(body) - len(stripped)
				body = stripped
			}
			total := len(body) + len(css.body)
			t.Logf("%-50s %-3s HTML %6d B + CSS %5d B = %6d B (map SVG %d B more)", path, lang, len(body), len(css.body), total, mapBytes)
			if total > 150_000 {
				t.Errorf("%s in %s weighs %d bytes, over 150 KB", path, lang, total)
			}
		}
	}
}

// TestSubjectPage: an incident's page shows every vote with whether it
// counted, each question's state, evidence hashes and log indexes with
// their receipts.
func TestSubjectPage(t *testing.T) {
	f := getFixture(t)
	r := get(t, f.ui.URL, "/incidents/"+f.incident)
	for _, want := range []string{"Did the incident occur?", "Which party did it come from?", "Finding:", "Counted",
		`/receipt">receipt</a>`, "Reply window", "Publication"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+ <span class="alt">[^<]+</span></time>`).MatchString(r.body) {
		t.Errorf("no date in both calendars")
	}
}

// golden files are compared with the parts that depend on the witnesses'
// own clocks (their cosignature times) blanked out.
var cosignTimes = regexp.MustCompile(`(?s)(<section aria-labelledby="h-log">).*?(</section>)`)

func TestGolden(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct{ name, path string }{
		{"overview-en", "/?lang=en"},
		{"overview-prs", "/?lang=prs"},
		{"incidents-en", "/incidents?lang=en&status=decided&limit=5"},
		{"actions-tr", "/actions?lang=tr&limit=5"},
		{"incident-en", "/incidents/" + f.incident + "?lang=en"},
		{"incident-ps", "/incidents/" + f.incident + "?lang=ps"},
		{"action-en", "/actions/" + f.action + "?lang=en"},
		{"compliance-ur", "/compliance?lang=ur"},
		{"charter-en", "/charter?lang=en"},
		{"notfound-tr", "/incidents/nothing?lang=tr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, f.ui.URL, tc.path)
			got := cosignTimes.ReplaceAllString(r.body, "$1 … $2")
			file := filepath.Join("testdata", tc.name+".html")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", tc.path, file, firstDiff(string(want), got))
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}
