// Package chart draws charts for server-rendered pages as SVG: for now,
// incidents per week, stacked by status.
//
// The SVG needs no script and no inline style attributes, so it works
// under a strict Content-Security-Policy. Shapes carry presentation
// attributes (fill, stroke) as fallbacks and classes for the page's CSS to
// override. All text comes from the caller, already localized; the chart
// adds none of its own.
package chart

import (
	"bufio"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Series is one stack layer of a bar chart, such as the incidents in one
// status.
type Series struct {
	// Label names the series, already localized.
	Label string
	// Class is added to each of the series' bars' "bar" class, for example
	// "st-decided".
	Class string
	// Values holds one count per bar. Missing values count as zero.
	Values []int
}

// Options are a chart's options. The zero value draws an untitled chart
// with plain digits.
type Options struct {
	// Title is the chart's accessible name, drawn as its <title>.
	Title string
	// XLabels label the bars, one per bar, already localized: for example
	// the weeks' first days. When they do not fit, only every second,
	// third … label is drawn; every bar's <title> has its label.
	XLabels []string
	// YLabel, if not empty, labels the count axis.
	YLabel string
	// RTL mirrors the chart for right-to-left locales: the first bar is at
	// the right and the count axis on the right.
	RTL bool
	// Number formats counts, in the locale's digits. Nil means strconv.Itoa.
	Number func(int) string
	// Desc, if not empty, replaces the chart's <desc>, which by default
	// sums each series up as "Label: total; Label: total".
	Desc string
}

// The chart's geometry, in viewBox units.
const (
	width, height = 640, 300
	marginTop     = 12
	marginBottom  = 28 // room for the x labels
	marginAxis    = 44 // room for the count axis' numbers
	marginYLabel  = 18 // more room for YLabel
	marginFar     = 12
	barFill       = 0.7 // share of a bar's slot the bar fills
	labelWidth    = 64  // room one x label needs
)

// palette gives bars a fill before the page's CSS sets one by class.
var palette = [...]string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"}

// ErrNegative is returned for a negative count.
var ErrNegative = errors.New("chart: negative count")

// WeeklyBars writes a stacked bar chart, one bar per week and one stack
// layer per series, as one <svg> element with a fixed viewBox and width
// 100%. Its <desc> sums up each series; each bar segment's <title> gives
// its week, series and count. With no data it draws an empty axis.
//
// Its classes, for the page's CSS:
//
//	svg.chart       the chart
//	line.grid       a gridline; line.baseline the zero line
//	text.tick       a count on the axis
//	rect.bar        a bar segment, with its series' Class
//	text.xlabel     a bar's label
//	text.ylabel     the count axis' label
func WeeklyBars(w io.Writer, series []Series, opt Options) error {
	number := opt.Number
	if number == nil {
		number = strconv.Itoa
	}
	n := len(opt.XLabels)
	totals := make([]int, len(series))
	for i, s := range series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			if v < 0 {
				return fmt.Errorf("%w in series %q", ErrNegative, s.Label)
			}
			totals[i] += v
		}
	}
	stack := make([]int, n)
	for _, s := range series {
		for i, v := range s.Values {
			stack[i] += v
		}
	}
	top := 0
	for _, v := range stack {
		top = max(top, v)
	}
	step, yMax := scale(top)

	left := float64(marginAxis)
	if opt.YLabel != "" {
		left += marginYLabel
	}
	right := float64(width - marginFar)
	bottom := float64(height - marginBottom)
	plotW, plotH := right-left, bottom-marginTop
	y := func(v int) float64 { return bottom - plotH*float64(v)/float64(yMax) }
	// Layout is done left to right; mx mirrors an x for RTL.
	mx := func(x float64) float64 {
		if opt.RTL {
			return width - x
		}
		return x
	}

	b := bufio.NewWriter(w)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="100%%" role="img" font-size="11"`, width, height)
	if opt.RTL {
		b.WriteString(` direction="rtl"`)
	}
	b.WriteString(">")
	b.WriteString("<title>" + esc(opt.Title) + "</title>")
	desc := opt.Desc
	if desc == "" {
		parts := make([]string, len(series))
		for i, s := range series {
			parts[i] = s.Label + ": " + number(totals[i])
		}
		desc = strings.Join(parts, "; ")
	}
	if desc != "" {
		b.WriteString("<desc>" + esc(desc) + "</desc>")
	}
	b.WriteString("\n")

	// Gridlines and the counts on the axis. The numbers' text-anchor "end"
	// puts them before the axis in either direction.
	b.WriteString(`<g stroke="#ddd" stroke-width="1">`)
	for v := step; v <= yMax; v += step {
		fmt.Fprintf(b, `<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, coord(mx(left)), coord(mx(right)), coord(y(v)), coord(y(v)))
	}
	fmt.Fprintf(b, `<line class="baseline" stroke="#888" x1="%s" x2="%s" y1="%s" y2="%s"/>`, coord(mx(left)), coord(mx(right)), coord(bottom), coord(bottom))
	b.WriteString("</g>\n")
	b.WriteString(`<g fill="#555" text-anchor="end">`)
	for v := 0; v <= yMax; v += step {
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" dy="0.35em">%s</text>`, coord(mx(left-6)), coord(y(v)), esc(number(v)))
	}
	b.WriteString("</g>\n")
	if opt.YLabel != "" {
		x, rot := 14.0, -90
		if opt.RTL {
			x, rot = width-14, 90
		}
		cy := coord(marginTop + plotH/2)
		fmt.Fprintf(b, `<text class="ylabel" fill="#555" text-anchor="middle" x="%s" y="%s" transform="rotate(%d %s %s)">%s</text>`+"\n",
			coord(x), cy, rot, coord(x), cy, esc(opt.YLabel))
	}

	// The bars, bottom up in series order.
	if n > 0 {
		slot := plotW / float64(n)
		bw := slot * barFill
		b.WriteString("<g>")
		for i := range n {
			x := left + slot*float64(i) + (slot-bw)/2
			if opt.RTL {
				x = width - x - bw
			}
			xl := ""
			if i < len(opt.XLabels) {
				xl = opt.XLabels[i]
			}
			base := 0
			for k, s := range series {
				if i >= len(s.Values) || s.Values[i] == 0 {
					continue
				}
				v := s.Values[i]
				class := "bar"
				if s.Class != "" {
					class += " " + s.Class
				}
				title := s.Label + ": " + number(v)
				if xl != "" {
					title = xl + " — " + title
				}
				y0, y1 := y(base), y(base+v)
				fmt.Fprintf(b, `<rect class="%s" fill="%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
					esc(class), palette[k%len(palette)], coord(x), coord(y1), coord(bw), coord(y0-y1), esc(title))
				base += v
			}
		}
		b.WriteString("</g>\n")

		every := int(math.Ceil(float64(n) * labelWidth / plotW))
		b.WriteString(`<g fill="#555" text-anchor="middle">`)
		for i, l := range opt.XLabels {
			if i%every != 0 || l == "" {
				continue
			}
			fmt.Fprintf(b, `<text class="xlabel" x="%s" y="%s">%s</text>`, coord(mx(left+slot*(float64(i)+0.5))), coord(bottom+18), esc(l))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Flush()
}

// scale picks the count axis: a step of 1, 2 or 5 times a power of ten
// giving at most five gridlines, and the top of the axis, a multiple of
// the step at or above top. With nothing to show it is 0–4.
func scale(top int) (step, yMax int) {
	if top <= 0 {
		return 1, 4
	}
	step = 1
	for mag := 1; ; mag *= 10 {
		if f := stepFor(top, mag); f > 0 {
			step = f
			break
		}
	}
	return step, (top + step - 1) / step * step
}

func stepFor(top, mag int) int {
	for _, m := range [...]int{1, 2, 5} {
		if s := m * mag; (top+s-1)/s <= 5 {
			return s
		}
	}
	return 0
}

// esc escapes text for SVG character data and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// coord formats a viewBox coordinate with at most one decimal place.
func coord(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
