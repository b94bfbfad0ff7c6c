// Command mapgen writes internal/geomap's map data, mapdata.go, from
// Natural Earth's admin-0 countries at 1:50m (version 4.1.0) as packaged by
// the npm package world-atlas@2.0.2.
//
// It runs `npm pack world-atlas@2.0.2` in a temporary directory (or reads
// the tarball given with -tgz), checks the tarball against the sha512
// integrity npm published for it, decodes countries-50m.json (TopoJSON),
// projects the countries of the border region, simplifies their arcs,
// clips them to the map's box and writes them as SVG path data in viewBox
// units with one decimal place.
//
// Run it with `go generate ./internal/geomap/`. Only regenerating needs
// npm; building and testing truce read the committed mapdata.go.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"flag"
	"fmt"
	"go/format"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	pkg = "world-atlas@2.0.2"
	// integrity is dist.integrity of world-atlas@2.0.2 on registry.npmjs.org.
	integrity = "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
	file      = "package/countries-50m.json"
)

// The map's box and projection. The projection is equirectangular with
// x scaled by the cosine of the box's middle latitude (31.5°), so that
// distances and shapes are nearly true across the region (within about
// ±13% east–west at the box's top and bottom edges).
const (
	lonWest, lonEast   = 60.0, 78.0
	latSouth, latNorth = 23.0, 40.0
	unitsPerDegree     = 40.0 // viewBox units per degree of latitude
)

// countries maps the ISO 3166-1 numeric codes that world-atlas uses as ids
// to ISO alpha-2 codes, for every country that reaches into the box.
// Natural Earth's "Siachen Glacier" has no id; it is drawn as disputed.
var countries = map[string]string{
	"004": "AF", "586": "PK", "364": "IR", "795": "TM", "860": "UZ",
	"762": "TJ", "156": "CN", "356": "IN", "417": "KG",
}

func main() {
	tgz := flag.String("tgz", "", "read this world-atlas-2.0.2.tgz instead of running npm pack")
	out := flag.String("o", "mapdata.go", "write the Go source to this file")
	tol := flag.Float64("tolerance", 0.5, "simplify arcs to within this many viewBox units")
	flag.Parse()
	if err := run(*tgz, *out, *tol); err != nil {
		fmt.Fprintf(os.Stderr, "mapgen: error: %v\n", err)
		os.Exit(1)
	}
}

func run(tgz, out string, tol float64) error {
	if tgz == "" {
		dir, err := os.MkdirTemp("", "mapgen")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "--silent", pkg)
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		if b, err := cmd.Output(); err != nil {
			return fmt.Errorf("cannot npm pack %s: %w (hint: regenerating needs npm and registry access; use -tgz with a downloaded tarball)", pkg, err)
		} else {
			tgz = filepath.Join(dir, strings.TrimSpace(string(b)))
		}
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		return err
	}
	sum := sha512.Sum512(raw)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return fmt.Errorf("%s: integrity %s, want %s", tgz, got, integrity)
	}
	data, err := extract(raw, file)
	if err != nil {
		return err
	}
	arcs, features, err := decode(data, "countries")
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	src, stats, err := build(arcs, features, tol)
	if err != nil {
		return err
	}
	formatted, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("cannot format generated source: %w", err)
	}
	if err := os.WriteFile(out, formatted, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mapgen: wrote %s: %d bytes; %s\n", out, len(formatted), stats)
	return nil
}

// extract returns one file of a gzipped tarball.
func extract(tgz []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("cannot read tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("tarball has no %s", name)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read tarball: %w", err)
		}
		if h.Name == name {
			return io.ReadAll(tr)
		}
	}
}

var kx = unitsPerDegree * math.Cos((latSouth+latNorth)/2*math.Pi/180)

func project(p pt) pt {
	return pt{(p.X - lonWest) * kx, (latNorth - p.Y) * unitsPerDegree}
}

type country struct {
	code, name, d string
}

func build(lonlat [][]pt, features []feature, tol float64) ([]byte, string, error) {
	frame := box{0, 0, (lonEast - lonWest) * kx, (latNorth - latSouth) * unitsPerDegree}
	// Project and simplify every arc once, so shared borders stay shared.
	arcs := make([][]pt, len(lonlat))
	for i, a := range lonlat {
		p := make([]pt, len(a))
		for j := range a {
			p[j] = project(a[j])
		}
		arcs[i] = simplify(p, tol)
	}
	var out []country
	var af, pk *feature
	points := 0
	for i := range features {
		f := &features[i]
		var d strings.Builder
		n := 0
		for _, poly := range f.Polygons {
			for _, r := range poly {
				rp := ring(arcs, r)
				if len(rp) > 1 && rp[0] == rp[len(rp)-1] {
					rp = rp[:len(rp)-1]
				}
				q := dedupe(round(clipRing(rp, frame)), true)
				if len(q) < 3 || math.Abs(areaTenths(q)) < 50 { // under 0.5 unit²
					continue
				}
				n += len(q)
				writePath(&d, q, true)
			}
		}
		if n == 0 {
			continue
		}
		code, ok := countries[f.ID]
		switch {
		case ok:
		case f.ID == "" && f.Name == "Siachen Glacier":
			code = ""
		default:
			return nil, "", fmt.Errorf("%s (%s) reaches into the map but has no code in mapgen", f.Name, f.ID)
		}
		switch code {
		case "AF":
			af = f
		case "PK":
			pk = f
		}
		points += n
		out = append(out, country{code, f.Name, d.String()})
	}
	if af == nil || pk == nil {
		return nil, "", fmt.Errorf("no Afghanistan or Pakistan in the data")
	}
	slices.SortFunc(out, func(a, b country) int { return strings.Compare(a.code, b.code) })

	// The Afghanistan–Pakistan border: the runs of arcs the two share,
	// in the order Afghanistan's rings go round.
	shared := map[int]bool{}
	for _, poly := range pk.Polygons {
		for _, r := range poly {
			for _, a := range r {
				shared[arcIndex(a)] = true
			}
		}
	}
	var border strings.Builder
	borderPoints := 0
	for _, poly := range af.Polygons {
		for _, r := range poly {
			// Rotate the ring to start at an arc that is not shared, so no
			// run wraps round its end.
			start := slices.IndexFunc(r, func(a int) bool { return !shared[arcIndex(a)] })
			if start < 0 {
				return nil, "", fmt.Errorf("an Afghan ring lies wholly on the Pakistan border")
			}
			rot := append(slices.Clone(r[start:]), r[:start]...)
			var run []int
			flush := func() error {
				if len(run) == 0 {
					return nil
				}
				line := dedupe(round(ring(arcs, run)), false)
				for _, p := range line {
					if !frame.contains(pt{float64(p[0]) / 10, float64(p[1]) / 10}) {
						return fmt.Errorf("the Afghanistan–Pakistan border leaves the map's box")
					}
				}
				borderPoints += len(line)
				writePath(&border, line, false)
				run = nil
				return nil
			}
			for _, a := range rot {
				if shared[arcIndex(a)] {
					run = append(run, a)
				} else if err := flush(); err != nil {
					return nil, "", err
				}
			}
			if err := flush(); err != nil {
				return nil, "", err
			}
		}
	}
	if borderPoints == 0 {
		return nil, "", fmt.Errorf("Afghanistan and Pakistan share no arc")
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by mapgen from %s %s; DO NOT EDIT.\n\n", pkg, file)
	fmt.Fprintf(&b, "package geomap\n\n")
	fmt.Fprintf(&b, "// The map's box and projection; see Project.\n")
	fmt.Fprintf(&b, "const (\n")
	fmt.Fprintf(&b, "lonWest, lonEast = %v, %v\n", lonWest, lonEast)
	fmt.Fprintf(&b, "latSouth, latNorth = %v, %v\n", latSouth, latNorth)
	fmt.Fprintf(&b, "// unitsX and unitsY are viewBox units per degree of longitude and latitude.\n")
	fmt.Fprintf(&b, "unitsX, unitsY = %s, %v\n", strconv.FormatFloat(kx, 'g', -1, 64), unitsPerDegree)
	fmt.Fprintf(&b, "viewWidth, viewHeight = %v, %v\n", math.Ceil(frame.MaxX), math.Ceil(frame.MaxY))
	fmt.Fprintf(&b, ")\n\n")
	fmt.Fprintf(&b, "// countries are the countries in the box, clipped to it, as SVG path data.\n")
	fmt.Fprintf(&b, "// An empty code is Natural Earth's Siachen Glacier, drawn as disputed.\n")
	fmt.Fprintf(&b, "var countries = [...]country{\n")
	for _, c := range out {
		fmt.Fprintf(&b, "{%q, %q, %q},\n", c.code, c.name, c.d)
	}
	fmt.Fprintf(&b, "}\n\n")
	fmt.Fprintf(&b, "// borderAFPK is the line Afghanistan and Pakistan share, as SVG path data.\n")
	fmt.Fprintf(&b, "const borderAFPK = %q\n", border.String())
	stats := fmt.Sprintf("%d countries, %d points, border %d points, tolerance %v", len(out), points, borderPoints, tol)
	return b.Bytes(), stats, nil
}

// round converts viewBox units to integer tenths, the precision written.
func round(p []pt) [][2]int {
	out := make([][2]int, len(p))
	for i, q := range p {
		out[i] = [2]int{int(math.Round(q.X * 10)), int(math.Round(q.Y * 10))}
	}
	return out
}

// dedupe drops points equal to the one before, and for a closed ring a
// last point equal to the first.
func dedupe(p [][2]int, closed bool) [][2]int {
	var out [][2]int
	for _, q := range p {
		if len(out) == 0 || out[len(out)-1] != q {
			out = append(out, q)
		}
	}
	if closed && len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}

func areaTenths(p [][2]int) float64 {
	r := make([]pt, len(p))
	for i, q := range p {
		r[i] = pt{float64(q[0]), float64(q[1])}
	}
	return area(r) / 100
}

// writePath writes points in tenths as "M x y l dx dy …", closed with "z"
// for a ring. Deltas are exact in tenths, so relative coordinates do not
// drift.
func writePath(b *strings.Builder, p [][2]int, closed bool) {
	b.WriteString("M")
	b.WriteString(num(p[0][0]))
	b.WriteString(" ")
	b.WriteString(num(p[0][1]))
	if len(p) > 1 {
		b.WriteString("l")
		for i := 1; i < len(p); i++ {
			for k, v := range []int{p[i][0] - p[i-1][0], p[i][1] - p[i-1][1]} {
				if (i > 1 || k > 0) && v >= 0 {
					b.WriteString(" ")
				}
				b.WriteString(num(v))
			}
		}
	}
	if closed {
		b.WriteString("z")
	}
}

// num formats tenths as a decimal with at most one place: 12 → "1.2",
// -5 → "-0.5", 30 → "3".
func num(t int) string {
	s := ""
	if t < 0 {
		s, t = "-", -t
	}
	s += strconv.Itoa(t / 10)
	if t%10 != 0 {
		s += "." + strconv.Itoa(t%10)
	}
	return s
}
