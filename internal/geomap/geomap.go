// Package geomap draws the border region of Afghanistan and Pakistan as an
// SVG map, with incidents as points, for server-rendered pages.
//
// The map covers longitude 60°–78° E and latitude 23°–40° N. Its countries
// come from Natural Earth's 1:50m admin-0 data (version 4.1.0, public
// domain) by way of the npm package world-atlas@2.0.2, clipped, projected
// and simplified by internal/mapgen into mapdata.go; see README.md. The
// international boundaries are Natural Earth's de facto lines, including
// in Kashmir; the map takes no position on them.
//
// The SVG needs no script and no inline style attributes, so it works
// under a strict Content-Security-Policy: it carries presentation
// attributes (fill, stroke) as fallbacks and classes for the page's CSS to
// override.
package geomap

//go:generate go run ./internal/mapgen

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"net/url"
	"strconv"
)

// Attribution credits the map data, as Natural Earth asks. Render draws it
// on the map.
const Attribution = "Made with Natural Earth (v4.1.0, public domain), via world-atlas 2.0.2"

// Point is a point drawn on the map, such as an incident.
type Point struct {
	// Lat and Lon are the point's WGS 84 latitude and longitude in degrees.
	Lat, Lon float64
	// Class is added to the circle's "pt" class, for example "st-decided".
	Class string
	// Href, if not empty, makes the point a link. It must be a relative
	// URL or an http or https URL that parses; Render skips a point whose
	// Href is anything else.
	Href string
	// Title is the point's accessible label, drawn as its <title>.
	Title string
}

// Options are the map's options. The zero value draws an unlabelled map
// with no accessible name.
type Options struct {
	// Labels are country labels, already localized, by ISO 3166-1 alpha-2
	// code: AF, PK, IR, CN, IN, TJ, TM, UZ, KG. A country with no label,
	// or an empty one, is drawn unlabelled.
	Labels map[string]string
	// Title is the SVG's accessible name, drawn as its <title>.
	Title string
	// RTL sets the labels' text direction to right-to-left. The map itself
	// is not mirrored.
	RTL bool
}

// country is one country of the generated map data.
type country struct {
	// code is the ISO 3166-1 alpha-2 code, or "" for a disputed area.
	code string
	// name is Natural Earth's English name.
	name string
	// d is the country's outline as SVG path data in viewBox units.
	d string
}

// labelAt places each country's label, inside the part of the country
// that the map shows.
var labelAt = map[string][2]float64{ // lat, lon
	"AF": {33.6, 65.6},
	"PK": {29.2, 69.0},
	"IR": {31.0, 60.8},
	"TM": {38.0, 61.6},
	"UZ": {39.2, 65.8},
	"TJ": {38.5, 71.6},
	"KG": {39.64, 72.0},
	"CN": {37.5, 77.2},
	"IN": {25.0, 75.6},
}

// pointRadius is the radius of a point in viewBox units.
const pointRadius = 4

// Project returns where the map draws latitude lat and longitude lon, in
// viewBox units from the top left corner. The projection is
// equirectangular, with x scaled by the cosine of the box's middle
// latitude (31.5°) so that shapes are close to true across the region:
//
//	x = (lon − 60) × 40 × cos 31.5°
//	y = (40 − lat) × 40
//
// The viewBox is 0 0 614 680, so the map's box projects into it. Points
// outside the box project outside the viewBox.
func Project(lat, lon float64) (x, y float64) {
	return (lon - lonWest) * unitsX, (latNorth - lat) * unitsY
}

// inBox reports whether lat, lon lies in the map's box.
func inBox(lat, lon float64) bool {
	return lat >= latSouth && lat <= latNorth && lon >= lonWest && lon <= lonEast
}

// Drawn reports whether Render draws p: it lies in the map's box, and
// its Href is empty or a relative or http(s) URL.
func (p Point) Drawn() bool {
	return inBox(p.Lat, p.Lon) && (p.Href == "" || safeHref(p.Href))
}

// Render writes the map with points as one <svg> element. It skips, and
// reports nothing about, the points that are not Drawn: those outside the
// map's box, and those whose Href does not parse or has another scheme
// (javascript:, data:), so that one bad point cannot take the whole map
// down. The SVG has a fixed viewBox and width 100%, so it scales to its
// container.
//
// Its classes, for the page's CSS:
//
//	svg.geomap         the map
//	path.country       a country, with c-AF, c-PK … by ISO alpha-2 code,
//	                   or "disputed" for Natural Earth's Siachen Glacier
//	path.border-afpk   the Afghanistan–Pakistan border, drawn over the countries
//	text.label         a country label
//	circle.pt          a point, with the point's Class
//	text.attribution   the data's attribution
func Render(w io.Writer, points []Point, opt Options) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="geomap" viewBox="0 0 %d %d" width="100%%" role="img"`, viewWidth, viewHeight)
	if opt.RTL {
		b.WriteString(` direction="rtl"`)
	}
	b.WriteString(">")
	b.WriteString("<title>" + esc(opt.Title) + "</title>\n")
	// The sea, so that the box reads as a map without CSS.
	fmt.Fprintf(b, `<rect class="sea" width="%d" height="%d" fill="#dde8f0"/>`+"\n", viewWidth, viewHeight)
	b.WriteString(`<g fill="#f4f1ea" stroke="#8a8a8a" stroke-width="0.8" stroke-linejoin="round">` + "\n")
	for _, c := range countries {
		class := "country disputed"
		if c.code != "" {
			class = "country c-" + c.code
		}
		fmt.Fprintf(b, `<path class="%s" d="%s"/>`+"\n", class, c.d)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(b, `<path class="border-afpk" fill="none" stroke="#b03a2e" stroke-width="2" stroke-linejoin="round" d="%s"/>`+"\n", borderAFPK)
	if len(opt.Labels) > 0 {
		b.WriteString(`<g class="labels" font-size="14" text-anchor="middle" fill="#555">`)
		for _, code := range [...]string{"AF", "PK", "IR", "TM", "UZ", "TJ", "KG", "CN", "IN"} {
			label := opt.Labels[code]
			if label == "" {
				continue
			}
			at := labelAt[code]
			x, y := Project(at[0], at[1])
			fmt.Fprintf(b, `<text class="label" x="%s" y="%s">%s</text>`, coord(x), coord(y), esc(label))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString(`<g class="points" stroke="#fff" stroke-width="1">` + "\n")
	for _, p := range points {
		if !p.Drawn() {
			continue
		}
		x, y := Project(p.Lat, p.Lon)
		class := "pt"
		if p.Class != "" {
			class += " " + esc(p.Class)
		}
		if p.Href != "" {
			b.WriteString(`<a href="` + esc(p.Href) + `">`)
		}
		fmt.Fprintf(b, `<circle class="%s" cx="%s" cy="%s" r="%d">`, class, coord(x), coord(y), pointRadius)
		if p.Title != "" {
			b.WriteString("<title>" + esc(p.Title) + "</title>")
		}
		b.WriteString("</circle>")
		if p.Href != "" {
			b.WriteString("</a>")
		}
		b.WriteString("\n")
	}
	b.WriteString("</g>\n")
	// The attribution sits in the Arabian Sea, at the bottom left, and
	// stays left-to-right in every locale: it is English.
	fmt.Fprintf(b, `<text class="attribution" x="6" y="%d" font-size="9" fill="#555" direction="ltr">%s</text>`+"\n", viewHeight-6, esc(Attribution))
	b.WriteString("</svg>\n")
	return b.Flush()
}

// safeHref reports whether href is a relative URL or an http or https
// URL, so that no point links to javascript: or data: even if the page's
// Content-Security-Policy would block it.
func safeHref(href string) bool {
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	return u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https"
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
