package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
	"github.com/truce-mechanism/truce/internal/web"
)

// demoIncident is a copy of an incident report that af-1 made in d, for
// af-1 to report again with changes.
func demoIncident(t *testing.T, d *demo.Demo) *truce.IncidentReport {
	t.Helper()
	var found *truce.IncidentReport
	err := d.Server.Store.AllSubjects(context.Background(), func(row *store.Subject) error {
		if found != nil || row.Kind != store.KindIncident {
			return nil
		}
		sub := new(state.Subject)
		if err := json.Unmarshal(row.Doc, sub); err != nil {
			return err
		}
		if sub.Author != "af-1" {
			return nil
		}
		_, body, err := truce.ParseStatement(sub.Statement)
		if err != nil {
			return err
		}
		found, _ = body.(*truce.IncidentReport)
		return nil
	})
	if err != nil || found == nil {
		t.Fatalf("no incident by af-1 in the demo: %v", err)
	}
	lat, lon := *found.Location.Lat, *found.Location.Lon
	found.Location.Lat, found.Location.Lon = &lat, &lon
	return found
}

// report has af-1 report an incident with id through base's API, after
// edit changes a copy of one of its reports; the report must be logged
// and accepted.
func report(t *testing.T, d *demo.Demo, base, id string, edit func(*truce.IncidentReport)) {
	t.Helper()
	body := demoIncident(t, d)
	edit(body)
	key, _ := memberKey(t, d, "af-1")
	st := &truce.Statement{Type: truce.TypeIncident, ID: id, Mechanism: demo.Origin, Author: "af-1", Time: time.Now().UTC().Truncate(time.Second)}
	env, err := truce.SignStatement(st, body, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	res, m := postJSON(t, base+"/v1/statements", json.RawMessage(b))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("reporting %q: %d %v", id, res.StatusCode, m)
	}
	if v, _ := m["verdict"].(map[string]any); v["accepted"] != true {
		t.Fatalf("reporting %q: logged but rejected: %v", id, m)
	}
}

// ownUI is a UI of its own over d, on the clock now, served over HTTP.
func ownUI(t *testing.T, d *demo.Demo, now func() time.Time) (*web.UI, string) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ui := web.New(web.Config{
		Mechanism: d.Server.Mechanism, Store: d.Server.Store, Log: d.Server.Ledger,
		LogKey: d.Server.Info.LogKey, Catalog: cat, Now: now,
	})
	ts := httptest.NewServer(ui)
	t.Cleanup(ts.Close)
	return ui, ts.URL
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// TestSubjectIDEscaped: a statement id is any string; links to its
// subject escape it, so the map still draws, every link reaches the
// subject's page, and the page's own links stay on it.
func TestSubjectIDEscaped(t *testing.T) {
	d, full := ownDemo(t)
	const id = "bad%zz/q?x#y"
	report(t, d, full, id, func(r *truce.IncidentReport) { r.OccurredAt = "2025-11-08T01:00:00+04:30" })
	const want = "/incidents/bad%25zz%2Fq%3Fx%23y"
	for _, path := range []string{"/map", "/incidents?limit=1000"} {
		r := get(t, full, path)
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, r.code, r.body)
		}
		if !strings.Contains(r.body, `href="`+want+`"`) {
			t.Errorf("%s: no link to %s", path, want)
		}
	}
	r := get(t, full, want)
	if r.code != http.StatusOK || !strings.Contains(r.body, `<code dir="ltr">`+html.EscapeString(id)+`</code>`) {
		t.Fatalf("%s: %d, want the page of %q", want, r.code, id)
	}
	// The member links on it, once signed in, keep the id in one segment.
	cookie := signInHTTP(t, &fixture{d: d}, full, "af-1")
	r = get(t, full, want, "Cookie", cookie)
	if !strings.Contains(r.body, `href="`+want+`/evidence"`) {
		t.Errorf("the signed-in page has no evidence link %s/evidence", want)
	}
}

// TestDatesOneDay: a time with an offset shows the same day, its UTC
// one, in the Gregorian and the Solar Hijri calendar and the datetime
// attribute.
func TestDatesOneDay(t *testing.T) {
	d, full := ownDemo(t)
	for _, tc := range []struct{ id, at, want string }{
		{"kabul-night", "2025-11-08T01:00:00+04:30",
			`<time datetime="2025-11-07T20:30:00Z">7 November 2025, 20:30 UTC <span class="alt">16 Aqrab 1404</span></time>`},
		{"new-year", "2025-03-20T23:30:00-01:00",
			`<time datetime="2025-03-21T00:30:00Z">21 March 2025, 00:30 UTC <span class="alt">1 Hamal 1404</span></time>`},
	} {
		report(t, d, full, tc.id, func(r *truce.IncidentReport) { r.OccurredAt = tc.at })
		if r := get(t, full, "/incidents/"+tc.id+"?lang=en"); !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: the page lacks %s", tc.at, tc.want)
		}
	}
	r := get(t, full, "/incidents?lang=en&limit=1000")
	for _, want := range []string{
		`<a href="/incidents/kabul-night"><time datetime="2025-11-07">7 November 2025 <span class="alt">16 Aqrab 1404</span></time></a>`,
		`<a href="/incidents/new-year"><time datetime="2025-03-21">21 March 2025 <span class="alt">1 Hamal 1404</span></time></a>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
}

// TestLanguageLinksStayOnSite: the language links of a page at a path
// that decodes to //host stay on the site.
func TestLanguageLinksStayOnSite(t *testing.T) {
	f := getFixture(t)
	for _, path := range []string{"/%2Fevil.com/x", "/%2F%2Fevil.com/x"} {
		r := get(t, f.ui.URL, path+"?lang=ps&a=1")
		if r.code != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404", path, r.code)
		}
		langs := 0
		for _, m := range hrefRE.FindAllStringSubmatch(r.body, -1) {
			href := html.UnescapeString(m[1])
			if strings.HasPrefix(href, "//") || strings.HasPrefix(href, `/\`) {
				t.Errorf("%s links off the site: %s", path, href)
			}
			if strings.Contains(href, "lang=") {
				langs++
				if want := path + "?a=1&lang="; !strings.HasPrefix(href, want) {
					t.Errorf("%s: language link %s, want %s…", path, href, want)
				}
			}
		}
		if langs != 5 {
			t.Errorf("%s: %d language links, want 5", path, langs)
		}
	}
}

var svgDesc = regexp.MustCompile(`<desc>([^<]*)</desc>`)

// TestChartFarFuture: an incident dated in a far future leaves the
// chart ending at the log's week, and a note counts it.
func TestChartFarFuture(t *testing.T) {
	d, full := ownDemo(t)
	report(t, d, full, "far-future", func(r *truce.IncidentReport) { r.OccurredAt = "2999-01-01" })
	r := get(t, full, "/?lang=en")
	if !strings.Contains(html.UnescapeString(r.body), "1 incident dated after the log's current week is not shown.") {
		t.Errorf("no note of the incident dated 2999")
	}
	m := svgDesc.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no chart")
	}
	total := 0
	for _, n := range regexp.MustCompile(`\d+`).FindAllString(m[1], -1) {
		v, _ := strconv.Atoi(n)
		total += v
	}
	if total == 0 {
		t.Errorf("the chart is empty: %s", m[1])
	}
}

// TestOverviewAndMapCached: the overview and the map read every subject
// once per change of the projection, not once per request; a new entry
// makes them read again. The map counts only the points it draws.
func TestOverviewAndMapCached(t *testing.T) {
	d, full := ownDemo(t)
	ui, base := ownUI(t, d, time.Now)
	circle := regexp.MustCompile(`<circle class="pt `)
	count := regexp.MustCompile(`<p>(\d+) incidents <a href="/incidents">`)
	drawn := func() (shown, circles int) {
		r := get(t, base, "/map?lang=en")
		m := count.FindStringSubmatch(r.body)
		if r.code != http.StatusOK || m == nil {
			t.Fatalf("/map: %d, no count", r.code)
		}
		n, _ := strconv.Atoi(m[1])
		return n, len(circle.FindAllString(r.body, -1))
	}
	for range 2 {
		if r := get(t, base, "/?lang=en"); r.code != http.StatusOK {
			t.Fatalf("/: %d", r.code)
		}
		get(t, base, "/?lang=ps")
		drawn()
	}
	if o, p := web.Computed(ui); o != 1 || p != 1 {
		t.Errorf("four overviews and two maps computed the overview %d times and the map %d, want once each", o, p)
	}
	get(t, base, "/map?status=decided")
	if _, p := web.Computed(ui); p != 2 {
		t.Errorf("another filter: the map computed %d times in all, want 2", p)
	}
	// An incident outside the map's box: a new entry, which the map
	// does not draw or count.
	report(t, d, full, "far-away", func(r *truce.IncidentReport) {
		lat, lon := 10.0, 10.0
		r.Location.Lat, r.Location.Lon = &lat, &lon
	})
	get(t, base, "/")
	shown, circles := drawn()
	if o, p := web.Computed(ui); o != 2 || p != 3 {
		t.Errorf("after a new entry: the overview computed %d times, the map %d, want 2 and 3", o, p)
	}
	if shown != circles {
		t.Errorf("the map says %d incidents and draws %d", shown, circles)
	}
}

// TestFindingsPublished: the overview's findings say whether a
// witnessed checkpoint publishes them, as the subject's page does.
func TestFindingsPublished(t *testing.T) {
	f := getFixture(t)
	r := get(t, f.ui.URL, "/?lang=en")
	section := regexp.MustCompile(`(?s)<section aria-labelledby="h-findings">.*?</section>`).FindString(r.body)
	items := strings.Count(section, "<li>")
	marked := strings.Count(section, "published: a witnessed checkpoint covers it") + strings.Count(section, "not yet published")
	if items == 0 || marked != items {
		t.Errorf("%d findings, %d of them marked published or not", items, marked)
	}
}

// TestReplyWindowText: the reply window says it closed early when every
// interested party replied, and that it closes with the next entry when
// its deadline has passed without one.
func TestReplyWindowText(t *testing.T) {
	f := getFixture(t)
	var early string
	err := f.d.Server.Store.AllSubjects(context.Background(), func(row *store.Subject) error {
		sub := new(state.Subject)
		if err := json.Unmarshal(row.Doc, sub); err != nil {
			return err
		}
		for _, r := range sub.Replies {
			if early == "" && sub.WindowClosedAt != nil && r.Index == *sub.WindowClosedAt && !r.Late {
				early = row.Kind + "s/" + row.ID
			}
		}
		return nil
	})
	if err != nil || early == "" {
		t.Fatalf("no subject whose window closed early in the demo: %v", err)
	}
	if r := get(t, f.ui.URL, "/"+early+"?lang=en"); !strings.Contains(r.body, "closed early, when every interested party had replied, at <time") {
		t.Errorf("/%s does not say its window closed early", early)
	}

	d, full := ownDemo(t)
	report(t, d, full, "overdue", func(*truce.IncidentReport) {})
	_, base := ownUI(t, d, func() time.Time { return time.Now().AddDate(0, 1, 0) })
	r := get(t, base, "/incidents/overdue?lang=en")
	if !strings.Contains(r.body, "deadline passed at <time") || !strings.Contains(r.body, "it closes with the next entry logged") {
		t.Errorf("a window past its deadline does not say it closes with the next entry")
	}
	if r := get(t, full, "/incidents/overdue?lang=en"); !strings.Contains(r.body, "open until <time") {
		t.Errorf("a window before its deadline is not open")
	}
}

// TestCacheControl: a signed-in member's pages are not stored; public
// pages are revalidated; the stylesheet is cached for good.
func TestCacheControl(t *testing.T) {
	f := getFixture(t)
	for _, path := range []string{"/", "/incidents", "/incidents/" + f.incident, "/no-such-page"} {
		if got := get(t, f.ui.URL, path).header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", path, got)
		}
	}
	cookie := signInHTTP(t, f, f.ui.URL, "af-1")
	for _, path := range []string{"/", "/incidents/" + f.incident} {
		r := get(t, f.ui.URL, path, "Cookie", cookie)
		if !strings.Contains(r.body, `<a href="/member"`) {
			t.Fatalf("%s: not signed in", path)
		}
		if got := r.header.Get("Cache-Control"); got != "private, no-store" {
			t.Errorf("%s signed in: Cache-Control %q, want private, no-store", path, got)
		}
	}
}

// TestMixedDirectionText: text that members signed, in list and table
// cells, is isolated from the page's direction.
func TestMixedDirectionText(t *testing.T) {
	f := getFixture(t)
	for path, want := range map[string]*regexp.Regexp{
		"/incidents?lang=ps": regexp.MustCompile(`</a></th>\n<td><bdi>[^<]+</bdi></td>`),
		"/actions?lang=ur":   regexp.MustCompile(`<td><bdi>[^<]+</bdi></td><td>(<bdi>[^<]+</bdi>)?</td>`),
		"/?lang=prs":         regexp.MustCompile(`<li><a href="/(incidents|actions)/[^"]+"><bdi>`),
		"/charter?lang=ps":   regexp.MustCompile(`<th scope="row"><bdi>[^<]+</bdi> <code dir="ltr">`),
	} {
		if r := get(t, f.ui.URL, path); !want.MatchString(r.body) {
			t.Errorf("%s: no %s", path, want)
		}
	}
}
