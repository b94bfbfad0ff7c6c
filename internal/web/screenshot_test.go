package web_test

import (
	"bytes"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/truce-mechanism/truce/internal/browser"
)

// maxShot is the most a screenshot may weigh in docs/screenshots.
const maxShot = 300_000

// TestScreenshots takes the README's screenshots of the demo's main
// pages, in English and Pashto, at a desktop's and a phone's width:
//
//	TRUCE_SCREENSHOTS=$PWD/docs/screenshots go test ./internal/web -run TestScreenshots
//
// Without the variable it is skipped.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("TRUCE_SCREENSHOTS")
	if dir == "" {
		t.Skip("TRUCE_SCREENSHOTS is not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := getFixture(t)
	b := browser.New(t)
	base := f.full.URL
	// shoot saves the page at path; from, when not empty, is the
	// selector of the element the picture starts at.
	shoot := func(name, path string, width int, from ...string) {
		t.Helper()
		b.Open(base+path, width)
		top := 0
		if len(from) > 0 {
			b.Eval(`Math.max(0, Math.floor(document.querySelector(`+js(from[0])+`).getBoundingClientRect().top + scrollY - 8))`, &top)
		}
		tmp := filepath.Join(t.TempDir(), name+".png")
		b.Screenshot(tmp)
		out := filepath.Join(dir, name+".png")
		n := shrink(t, tmp, out, width, top)
		t.Logf("%s: %d bytes", out, n)
	}
	pages := []struct{ name, path string }{
		{"overview", "/"}, {"map", "/map"}, {"incidents", "/incidents?limit=12"},
		{"incident", "/incidents/" + f.incident}, {"compliance", "/compliance"}, {"charter", "/charter"},
		{"signin", "/signin"},
	}
	for _, lang := range []string{"en", "ps"} {
		for _, p := range pages {
			shoot(p.name+"-"+lang, p.path+sep(p.path)+"lang="+lang, browser.Desktop)
		}
		shoot("overview-"+lang+"-phone", "/?lang="+lang, browser.Phone)
		shoot("incident-"+lang+"-phone", "/incidents/"+f.incident+"?lang="+lang, browser.Phone, "#h-questions")
	}
	signInBrowser(t, b, base, f.d, "mon-1")
	for _, lang := range []string{"en", "ps"} {
		shoot("form-incident-"+lang, "/report/incident?lang="+lang, browser.Desktop)
	}
	shoot("form-incident-en-phone", "/report/incident?lang=en", browser.Phone)
}

func sep(path string) string {
	if bytes.ContainsRune([]byte(path), '?') {
		return "&"
	}
	return "?"
}

// shrink keeps the top of a full-page screenshot, from top down, (at most 1.6 times as
// high as wide for a desktop, 5 times for a phone) and writes it as a
// PNG, in 256 colours when full colour weighs more than maxShot.
func shrink(t *testing.T, in, out string, width, top int) int {
	t.Helper()
	fi, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(fi)
	fi.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	r.Min.Y = min(r.Min.Y+top, r.Max.Y-1)
	limit := width * 16 / 10
	if width <= browser.Phone {
		limit = width * 5
	}
	if r.Dy() > limit {
		r.Max.Y = r.Min.Y + limit
	}
	rgba := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Src)
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	var buf bytes.Buffer
	if err := enc.Encode(&buf, rgba); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > maxShot {
		p := image.NewPaletted(rgba.Bounds(), palette.Plan9)
		draw.Draw(p, p.Bounds(), rgba, image.Point{}, draw.Src)
		buf.Reset()
		if err := enc.Encode(&buf, p); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() > maxShot {
		t.Errorf("%s weighs %d bytes, over %d", out, buf.Len(), maxShot)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
