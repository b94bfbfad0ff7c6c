package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func sample() ([]Series, Options) {
	return []Series{
			{Label: "Decided", Class: "st-decided", Values: []int{3, 0, 5, 2, 7, 1}},
			{Label: "Under review", Class: "st-review", Values: []int{1, 4, 2, 0, 3, 6}},
			{Label: "Reported", Class: "st-reported", Values: []int{2, 2, 1, 4, 0, 9}},
		}, Options{
			Title:   "Incidents per week",
			XLabels: []string{"2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"},
			YLabel:  "Incidents",
		}
}

func render(t *testing.T, series []Series, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := WeeklyBars(&b, series, opt); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
	}
	if strings.Contains(svg, "style") {
		t.Errorf("style in SVG:\n%s", svg)
	}
	if strings.Count(svg, "<svg") != 1 || !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, "<title>") {
		t.Errorf("want one <svg role=\"img\"> with a <title>:\n%s", svg)
	}
	return svg
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
		t.Errorf("%s differs (run go test -update to accept):\ngot:\n%s", path, got)
	}
}

// persian formats n in Extended Arabic-Indic digits, as a Dari or Pashto
// page would.
func persian(n int) string {
	var b strings.Builder
	for _, r := range strconv.Itoa(n) {
		b.WriteRune(r - '0' + '۰')
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	series, opt := sample()
	golden(t, "weekly.svg", render(t, series, opt))
	opt.RTL = true
	opt.Number = persian
	opt.Title = "رویدادها در هر هفته"
	golden(t, "weekly-rtl.svg", render(t, series, opt))
	golden(t, "empty.svg", render(t, nil, Options{Title: "Incidents per week"}))
}

func TestDesc(t *testing.T) {
	series, opt := sample()
	svg := render(t, series, opt)
	if want := "<desc>Decided: 18; Under review: 16; Reported: 18</desc>"; !strings.Contains(svg, want) {
		t.Errorf("no %s in\n%s", want, svg)
	}
	for _, want := range []string{"<title>2026-11-23 — Reported: 9</title>", `class="bar st-decided"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %s", want)
		}
	}
	// A zero makes no segment: 6 weeks × 3 series less the 3 zeros.
	if n := strings.Count(svg, "<rect"); n != 15 {
		t.Errorf("%d segments, want 15", n)
	}
	opt.Desc = "custom"
	if svg := render(t, series, opt); !strings.Contains(svg, "<desc>custom</desc>") {
		t.Error("Options.Desc not used")
	}
	opt.Number = persian
	opt.Desc = ""
	if svg := render(t, series, opt); !strings.Contains(svg, "Decided: ۱۸") || !strings.Contains(svg, ">۱۵</text>") {
		t.Errorf("Number not used:\n%s", svg)
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script>&`
	svg := render(t, []Series{{Label: evil, Class: `c" onclick="x`, Values: []int{1}}},
		Options{Title: evil, XLabels: []string{evil}, YLabel: evil, Desc: evil})
	if strings.Contains(svg, "<script") || strings.Contains(svg, `" onclick`) {
		t.Errorf("not escaped:\n%s", svg)
	}
}

func TestEmpty(t *testing.T) {
	for _, tt := range []struct {
		name   string
		series []Series
		opt    Options
	}{
		{"nothing", nil, Options{}},
		{"weeks without series", nil, Options{XLabels: []string{"a", "b"}}},
		{"all zero", []Series{{Label: "Decided", Values: []int{0, 0, 0}}}, Options{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svg := render(t, tt.series, tt.opt)
			if strings.Contains(svg, "<rect") {
				t.Errorf("bars in an empty chart:\n%s", svg)
			}
			if !strings.Contains(svg, `class="baseline"`) || !strings.Contains(svg, `class="tick"`) {
				t.Errorf("no axis:\n%s", svg)
			}
		})
	}
}

func TestNegative(t *testing.T) {
	err := WeeklyBars(io.Discard, []Series{{Label: "x", Values: []int{1, -1}}}, Options{})
	if !errors.Is(err, ErrNegative) {
		t.Errorf("got %v, want ErrNegative", err)
	}
}

var rectRE = regexp.MustCompile(`<rect class="([^"]*)" fill="[^"]*" x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)">`)

func TestRTLMirrors(t *testing.T) {
	series, opt := sample()
	ltr := rectRE.FindAllStringSubmatch(render(t, series, opt), -1)
	opt.RTL = true
	rtlSVG := render(t, series, opt)
	rtl := rectRE.FindAllStringSubmatch(rtlSVG, -1)
	if len(ltr) != len(rtl) || len(ltr) == 0 {
		t.Fatalf("%d bars left to right, %d right to left", len(ltr), len(rtl))
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	for i := range ltr {
		a, b := ltr[i], rtl[i]
		if a[1] != b[1] || a[3] != b[3] || a[4] != b[4] || a[5] != b[5] {
			t.Errorf("bar %d: %v vs %v: only x should differ", i, a[1:], b[1:])
		}
		if x := width - f(a[2]) - f(a[4]); fmt.Sprintf("%.1f", x) != fmt.Sprintf("%.1f", f(b[2])) {
			t.Errorf("bar %d at x=%s right to left, want %.1f", i, b[2], x)
		}
	}
	// The first week is at the right.
	if f(rtl[0][2]) <= f(rtl[len(rtl)-1][2]) {
		t.Error("first bar is not right of the last")
	}
	if !strings.Contains(rtlSVG, `direction="rtl"`) {
		t.Error("no direction=rtl")
	}
}

func TestScale(t *testing.T) {
	for _, tt := range []struct{ top, step, max int }{
		{0, 1, 4}, {1, 1, 1}, {4, 1, 4}, {5, 1, 5}, {6, 2, 6}, {9, 2, 10}, {10, 2, 10},
		{11, 5, 15}, {23, 5, 25}, {26, 10, 30}, {99, 20, 100}, {101, 50, 150}, {1234, 500, 1500},
	} {
		step, max := scale(tt.top)
		if step != tt.step || max != tt.max {
			t.Errorf("scale(%d) = %d, %d, want %d, %d", tt.top, step, max, tt.step, tt.max)
		}
	}
}

func TestManyWeeksThinLabels(t *testing.T) {
	labels := make([]string, 52)
	values := make([]int, 52)
	for i := range labels {
		labels[i] = fmt.Sprintf("W%02d", i+1)
		values[i] = i % 7
	}
	svg := render(t, []Series{{Label: "Decided", Values: values}}, Options{XLabels: labels})
	if n := strings.Count(svg, `class="xlabel"`); n < 4 || n > 10 {
		t.Errorf("%d x labels for 52 weeks, want 4–10", n)
	}
	t.Logf("52 weeks, 1 series: %d bytes", len(svg))
}
