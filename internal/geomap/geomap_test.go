package geomap

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func labels() map[string]string {
	return map[string]string{
		"AF": "Afghanistan", "PK": "Pakistan", "IR": "Iran", "TM": "Turkmenistan",
		"UZ": "Uzbekistan", "TJ": "Tajikistan", "KG": "Kyrgyzstan", "CN": "China", "IN": "India",
	}
}

func render(t *testing.T, points []Point, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, points, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered map (run go test -update to accept):\n%s", path, firstDiff(got, string(want)))
	}
}

func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("at byte %d:\n got …%s…\nwant …%s…", i, got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}

func TestGolden(t *testing.T) {
	points := []Point{
		{Lat: 34.11, Lon: 71.09, Class: "st-decided", Href: "/incidents/1", Title: "Torkham: crossing closed"},
		{Lat: 30.92, Lon: 66.45, Class: "st-open", Href: "/incidents/2", Title: "Chaman"},
		{Lat: 32.33, Lon: 69.35, Class: "st-disputed", Title: "Angoor Adda, no link"},
		{Lat: 10, Lon: 10, Class: "st-open", Title: "outside the box"},
	}
	golden(t, "map.svg", render(t, points, Options{Labels: labels(), Title: "Incidents on the border"}))
	golden(t, "map-rtl.svg", render(t, points[:1], Options{Labels: map[string]string{"AF": "افغانستان", "PK": "پاکستان"}, Title: "رویدادها", RTL: true}))
}

func TestProject(t *testing.T) {
	for _, tt := range []struct{ lat, lon, x, y float64 }{
		{40, 60, 0, 0},
		{23, 78, 18 * 40 * math.Cos(31.5*math.Pi/180), 680},
		{31.5, 69, 9 * 40 * math.Cos(31.5*math.Pi/180), 340},
	} {
		x, y := Project(tt.lat, tt.lon)
		if math.Abs(x-tt.x) > 1e-9 || math.Abs(y-tt.y) > 1e-9 {
			t.Errorf("Project(%v, %v) = %v, %v, want %v, %v", tt.lat, tt.lon, x, y, tt.x, tt.y)
		}
		if x < 0 || x > viewWidth || y < 0 || y > viewHeight {
			t.Errorf("Project(%v, %v) = %v, %v, outside the viewBox", tt.lat, tt.lon, x, y)
		}
	}
}

// ring is a closed ring of viewBox points.
type ring [][2]float64

// parsePath reads the path data Render writes: "M x y l dx dy … z" rings
// or "M x y l …" lines. It fails on any other command.
func parsePath(t *testing.T, d string) []ring {
	t.Helper()
	toks := regexp.MustCompile(`[A-Za-z]|-?[0-9]*\.?[0-9]+`).FindAllString(d, -1)
	var rings []ring
	var cmd string
	var nums []float64
	for _, tok := range toks {
		switch tok {
		case "M", "l", "z":
			cmd = tok
			if tok == "z" {
				cmd = ""
			}
			continue
		}
		if len(tok) == 1 && (tok[0] < '0' || tok[0] > '9') {
			t.Fatalf("unexpected path command %q", tok)
		}
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			t.Fatal(err)
		}
		nums = append(nums, v)
		if len(nums) < 2 {
			continue
		}
		p := [2]float64{nums[0], nums[1]}
		nums = nums[:0]
		switch cmd {
		case "M":
			rings = append(rings, ring{p})
			cmd = "l" // SVG: numbers after M's first pair are line-tos; mapgen writes l
		case "l":
			r := &rings[len(rings)-1]
			last := (*r)[len(*r)-1]
			*r = append(*r, [2]float64{last[0] + p[0], last[1] + p[1]})
		default:
			t.Fatalf("coordinates outside a command in %.40q", d)
		}
	}
	return rings
}

// inside reports whether p lies inside the rings by the even–odd rule.
func inside(p [2]float64, rings []ring) bool {
	in := false
	for _, r := range rings {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			a, b := r[i], r[j]
			if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
				in = !in
			}
		}
	}
	return in
}

// mapShapes renders a map and parses its countries and border back.
func mapShapes(t *testing.T) (map[string][]ring, []ring) {
	t.Helper()
	svg := render(t, nil, Options{})
	shapes := map[string][]ring{}
	for _, m := range regexp.MustCompile(`<path class="country (c-[A-Z]{2}|disputed)" d="([^"]*)"/>`).FindAllStringSubmatch(svg, -1) {
		shapes[strings.TrimPrefix(m[1], "c-")] = parsePath(t, m[2])
	}
	m := regexp.MustCompile(`<path class="border-afpk"[^>]* d="([^"]*)"/>`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatal("no border-afpk path")
	}
	return shapes, parsePath(t, m[1])
}

func TestCountries(t *testing.T) {
	shapes, _ := mapShapes(t)
	for _, code := range []string{"AF", "PK", "IR", "TM", "UZ", "TJ", "KG", "CN", "IN", "disputed"} {
		if len(shapes[code]) == 0 {
			t.Errorf("no path for %s", code)
		}
	}
	for code, at := range labelAt {
		x, y := Project(at[0], at[1])
		if !inside([2]float64{x, y}, shapes[code]) {
			t.Errorf("label of %s at %v lies outside it", code, at)
		}
	}
}

// km is the length of a viewBox vector in kilometres, near enough.
func km(dx, dy float64) float64 {
	return math.Hypot(dx/unitsX*math.Cos(31.5*math.Pi/180), dy/unitsY) * 111.2
}

func TestBorderAFPK(t *testing.T) {
	shapes, border := mapShapes(t)
	vertices := func(rings []ring) map[[2]float64]bool {
		m := map[[2]float64]bool{}
		for _, r := range rings {
			for _, p := range r {
				m[[2]float64{math.Round(p[0] * 10), math.Round(p[1] * 10)}] = true
			}
		}
		return m
	}
	af, pk := vertices(shapes["AF"]), vertices(shapes["PK"])
	var length float64
	n := 0
	for _, line := range border {
		for i, p := range line {
			n++
			k := [2]float64{math.Round(p[0] * 10), math.Round(p[1] * 10)}
			if !af[k] || !pk[k] {
				t.Fatalf("border point %v is not a vertex of both Afghanistan (%v) and Pakistan (%v)", p, af[k], pk[k])
			}
			if i > 0 {
				length += km(p[0]-line[i-1][0], p[1]-line[i-1][1])
			}
		}
	}
	t.Logf("border: %d lines, %d points, %.0f km", len(border), n, length)
	// Natural Earth's line, simplified, is shorter than the Durand Line's
	// 2,640 km on the ground.
	if length < 1800 || length > 2700 {
		t.Errorf("border is %.0f km long, want 1,800–2,700", length)
	}
	// Kabul lies on the Afghan side; Islamabad (33.69 N, 73.06 E) on the
	// Pakistani side.
	for _, tt := range []struct {
		name     string
		lat, lon float64
		want     string
	}{{"Kabul", 34.53, 69.17, "AF"}, {"Islamabad", 33.69, 73.06, "PK"}} {
		x, y := Project(tt.lat, tt.lon)
		if !inside([2]float64{x, y}, shapes[tt.want]) {
			t.Errorf("%s is not in %s", tt.name, tt.want)
		}
	}
}

// distance is the distance from p to the nearest segment of the lines.
func distance(p [2]float64, lines []ring) float64 {
	d := math.Inf(1)
	for _, l := range lines {
		for i := 1; i < len(l); i++ {
			a, b := l[i-1], l[i]
			dx, dy := b[0]-a[0], b[1]-a[1]
			u := math.Max(0, math.Min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/(dx*dx+dy*dy)))
			d = math.Min(d, km(p[0]-a[0]-u*dx, p[1]-a[1]-u*dy))
		}
	}
	return d
}

func TestPlaces(t *testing.T) {
	shapes, border := mapShapes(t)
	places := Places()
	if len(places) < 25 {
		t.Errorf("%d places, want at least 25", len(places))
	}
	seen := map[string]bool{}
	for i, p := range places {
		if seen[p.Name] {
			t.Errorf("%s listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Name == "" || p.Admin1 == "" || p.Admin2 == "" {
			t.Errorf("%+v: missing a name", p)
		}
		if i > 0 && p.Lat > places[i-1].Lat {
			t.Errorf("%s is north of %s: Places is not north to south", p.Name, places[i-1].Name)
		}
		if !inBox(p.Lat, p.Lon) {
			t.Errorf("%s is outside the map", p.Name)
			continue
		}
		x, y := Project(p.Lat, p.Lon)
		pt := [2]float64{x, y}
		d := distance(pt, border)
		// Within a few km of the line, 1:50m data cannot tell the sides
		// apart: Torkham may fall on either.
		if d < 6 {
			if !inside(pt, shapes["AF"]) && !inside(pt, shapes["PK"]) {
				t.Errorf("%s, %.1f km from the border, is in neither Afghanistan nor Pakistan", p.Name, d)
			}
			t.Logf("%s is %.1f km from the border", p.Name, d)
			continue
		}
		if !inside(pt, shapes[p.Country]) {
			t.Errorf("%s (%.1f km from the border) is not inside %s", p.Name, d, p.Country)
		}
	}
	if a, b := Places(), Places(); &a[0] == &b[0] {
		t.Error("Places returns a shared slice")
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script>&'`
	svg := render(t, []Point{{Lat: 31.6, Lon: 65.7, Class: `a" onclick="x`, Href: `/i?a=1&b="2"`, Title: evil}},
		Options{Title: evil, Labels: map[string]string{"AF": evil}})
	if strings.Contains(svg, "<script") || strings.Contains(svg, `" onclick`) {
		t.Errorf("text not escaped:\n%s", svg)
	}
	wellFormed(t, svg)
	var titles int
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); ok && string(cd) == evil {
			titles++
		}
	}
	if titles != 3 {
		t.Errorf("the text came back %d times from the SVG, want 3 (title, label, point)", titles)
	}
}

// TestUnsafeHref: a point linking to another scheme, or with an href
// that does not parse, is skipped; the rest of the map is drawn.
func TestUnsafeHref(t *testing.T) {
	for _, href := range []string{"javascript:alert(1)", "data:text/html,x", "JavaScript:x", "/incidents/bad%zz", "http://[::1"} {
		good := Point{Lat: 33, Lon: 66, Href: "/incidents/good", Class: "good"}
		bad := Point{Lat: 31.6, Lon: 65.7, Href: href, Class: "bad"}
		if bad.Drawn() {
			t.Errorf("Point with href %q: Drawn() = true, want false", href)
		}
		var b strings.Builder
		if err := Render(&b, []Point{bad, good}, Options{}); err != nil {
			t.Errorf("Render with href %q: %v", href, err)
			continue
		}
		if strings.Contains(b.String(), "pt bad") || !strings.Contains(b.String(), `<a href="/incidents/good"><circle class="pt good"`) {
			t.Errorf("Render with href %q: want only the good point, got %s", href, b.String()[strings.Index(b.String(), `<g class="points"`):])
		}
		wellFormed(t, b.String())
	}
	if p := (Point{Lat: 50, Lon: 66}); p.Drawn() {
		t.Errorf("a point outside the box: Drawn() = true, want false")
	}
	if p := (Point{Lat: 33, Lon: 66, Href: "https://example.org/x"}); !p.Drawn() {
		t.Errorf("a point with an https href: Drawn() = false, want true")
	}
}

func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

func TestNoStyle(t *testing.T) {
	for _, opt := range []Options{{}, {Labels: labels(), Title: "t"}, {Labels: labels(), RTL: true}} {
		svg := render(t, []Point{{Lat: 31.6, Lon: 65.7, Class: "st-x", Href: "/x", Title: "x"}}, opt)
		if strings.Contains(svg, "style") {
			t.Errorf("style in SVG with %+v", opt)
		}
		if strings.Count(svg, "<svg") != 1 || !strings.HasPrefix(svg, "<svg ") {
			t.Errorf("want exactly one <svg> element")
		}
		for _, want := range []string{`role="img"`, `width="100%"`, `viewBox="0 0 614 680"`, "<title>", Attribution} {
			if !strings.Contains(svg, want) {
				t.Errorf("no %s", want)
			}
		}
		wellFormed(t, svg)
	}
}

func TestPointsOutsideSkipped(t *testing.T) {
	svg := render(t, []Point{
		{Lat: 31.6, Lon: 65.7}, {Lat: 22.9, Lon: 65}, {Lat: 31, Lon: 78.1},
		{Lat: math.NaN(), Lon: 65}, {Lat: 40, Lon: 60},
	}, Options{})
	if n := strings.Count(svg, "<circle"); n != 2 {
		t.Errorf("%d circles, want 2", n)
	}
	if strings.Contains(svg, "<a ") {
		t.Error("a link for a point without Href")
	}
}

func TestSize(t *testing.T) {
	empty := render(t, nil, Options{Labels: labels(), Title: "Incidents"})
	var points []Point
	for i := range 400 {
		points = append(points, Point{
			Lat: 29 + float64(i%70)/10, Lon: 64 + float64(i/70)*1.3,
			Class: "st-decided", Href: fmt.Sprintf("/incidents/%d", 100000+i),
			Title: fmt.Sprintf("Incident %d, Khyber Pakhtunkhwa", 100000+i),
		})
	}
	full := render(t, points, Options{Labels: labels(), Title: "Incidents"})
	t.Logf("map alone: %d bytes; with 400 points: %d bytes (%d bytes a point)", len(empty), len(full), (len(full)-len(empty))/400)
	if len(full) > 80_000 {
		t.Errorf("map with 400 points is %d bytes, want under 80,000", len(full))
	}
}
