package main

import (
	"slices"
	"strings"
	"testing"
)

// A two-square topology: arc 0 is the shared edge, quantized and
// delta-encoded; the right square walks it reversed (~0 = -1).
const twoSquares = `{"type":"Topology","transform":{"scale":[0.5,2],"translate":[10,20]},
"arcs":[[[2,0],[0,1]],[[2,1],[-2,0],[0,-1],[2,0]],[[2,0],[2,0],[0,1],[-2,0]]],
"objects":{"c":{"type":"GeometryCollection","geometries":[
{"type":"Polygon","id":"004","properties":{"name":"Left"},"arcs":[[0,1]]},
{"type":"MultiPolygon","id":"586","properties":{"name":"Right"},"arcs":[[[2,-1]]]}]}}}`

func TestDecode(t *testing.T) {
	arcs, fs, err := decode([]byte(twoSquares), "c")
	if err != nil {
		t.Fatal(err)
	}
	if want := []pt{{11, 20}, {11, 22}}; !slices.Equal(arcs[0], want) {
		t.Errorf("arc 0 = %v, want %v", arcs[0], want)
	}
	if len(fs) != 2 || fs[0].Name != "Left" || fs[1].ID != "586" {
		t.Fatalf("features = %+v", fs)
	}
	left := ring(arcs, fs[0].Polygons[0][0])
	if want := []pt{{11, 20}, {11, 22}, {10, 22}, {10, 20}, {11, 20}}; !slices.Equal(left, want) {
		t.Errorf("left ring = %v, want %v", left, want)
	}
	right := ring(arcs, fs[1].Polygons[0][0])
	if want := []pt{{11, 20}, {12, 20}, {12, 22}, {11, 22}, {11, 20}}; !slices.Equal(right, want) {
		t.Errorf("right ring (with ~0) = %v, want %v", right, want)
	}
	if _, _, err := decode([]byte(strings.Replace(twoSquares, "[[0,1]]", "[[0,7]]", 1)), "c"); err == nil {
		t.Error("no error for an arc index out of range")
	}
}

func TestWritePath(t *testing.T) {
	var b strings.Builder
	writePath(&b, [][2]int{{1000, 250}, {1012, 245}, {1012, 300}, {990, 300}}, true)
	if got, want := b.String(), "M100 25l1.2-0.5 0 5.5-2.2 0z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestClipRing(t *testing.T) {
	sq := []pt{{-1, -1}, {2, -1}, {2, 2}, {-1, 2}}
	got := clipRing(sq, box{0, 0, 1, 1})
	if a := area(got); a != 1 {
		t.Errorf("clipped area %v, want 1 (%v)", a, got)
	}
	if got := clipRing([]pt{{5, 5}, {6, 5}, {6, 6}}, box{0, 0, 1, 1}); len(got) != 0 {
		t.Errorf("a ring outside the box clipped to %v", got)
	}
}

func TestSimplifyKeepsEnds(t *testing.T) {
	line := []pt{{0, 0}, {1, 0.1}, {2, 0}, {3, 5}, {4, 0}}
	got := simplify(line, 0.5)
	if want := []pt{{0, 0}, {2, 0}, {3, 5}, {4, 0}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
