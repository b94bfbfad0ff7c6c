package main

import (
	"encoding/json"
	"fmt"
)

// topology is the part of a TopoJSON document that mapgen reads.
//
// SPEC: https://github.com/topojson/topojson-specification
type topology struct {
	Type      string `json:"type"`
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64             `json:"arcs"`
	Objects map[string]json.RawMessage `json:"objects"`
}

type geometryCollection struct {
	Type       string     `json:"type"`
	Geometries []geometry `json:"geometries"`
}

type geometry struct {
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	Arcs       json.RawMessage `json:"arcs"`
	Properties struct {
		Name string `json:"name"`
	} `json:"properties"`
}

// feature is a decoded geometry: polygons of rings of arc indexes, as in
// TopoJSON, where a negative index ~i means arc i reversed.
type feature struct {
	ID, Name string
	Polygons [][][]int
}

// decode reads a TopoJSON topology and returns its arcs as absolute
// longitude/latitude points and the named object's features.
func decode(data []byte, object string) ([][]pt, []feature, error) {
	var t topology
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, nil, fmt.Errorf("cannot decode topology: %w", err)
	}
	if t.Type != "Topology" {
		return nil, nil, fmt.Errorf("type %q, want Topology", t.Type)
	}
	arcs := make([][]pt, len(t.Arcs))
	for i, a := range t.Arcs {
		arcs[i] = make([]pt, len(a))
		var x, y float64
		for j, p := range a {
			if t.Transform == nil {
				arcs[i][j] = pt{p[0], p[1]}
				continue
			}
			// SPEC: §2.1.4: quantized positions are delta-encoded within an arc.
			x += p[0]
			y += p[1]
			arcs[i][j] = pt{x*t.Transform.Scale[0] + t.Transform.Translate[0], y*t.Transform.Scale[1] + t.Transform.Translate[1]}
		}
	}
	raw, ok := t.Objects[object]
	if !ok {
		return nil, nil, fmt.Errorf("no object %q", object)
	}
	var gc geometryCollection
	if err := json.Unmarshal(raw, &gc); err != nil {
		return nil, nil, fmt.Errorf("cannot decode object %q: %w", object, err)
	}
	var fs []feature
	for _, g := range gc.Geometries {
		f := feature{ID: g.ID, Name: g.Properties.Name}
		switch g.Type {
		case "Polygon":
			var p [][]int
			if err := json.Unmarshal(g.Arcs, &p); err != nil {
				return nil, nil, fmt.Errorf("cannot decode %s: %w", g.Properties.Name, err)
			}
			f.Polygons = [][][]int{p}
		case "MultiPolygon":
			if err := json.Unmarshal(g.Arcs, &f.Polygons); err != nil {
				return nil, nil, fmt.Errorf("cannot decode %s: %w", g.Properties.Name, err)
			}
		case "", "null":
			continue
		default:
			return nil, nil, fmt.Errorf("%s: unexpected geometry type %q", g.Properties.Name, g.Type)
		}
		for _, poly := range f.Polygons {
			for _, ring := range poly {
				for _, a := range ring {
					if i := arcIndex(a); i < 0 || i >= len(arcs) {
						return nil, nil, fmt.Errorf("%s: arc %d out of range", g.Properties.Name, a)
					}
				}
			}
		}
		fs = append(fs, f)
	}
	return arcs, fs, nil
}

// arcIndex returns the arc a ring refers to: a for a >= 0, or ~a for a
// reversed arc.
func arcIndex(a int) int {
	if a < 0 {
		return ^a
	}
	return a
}

// ring joins a ring's arcs into one closed list of points. Consecutive arcs
// share their meeting point, so each arc after the first loses its first
// point.
//
// SPEC: §2.2.2: a negative index ~i means arc i traversed in reverse.
func ring(arcs [][]pt, indexes []int) []pt {
	var out []pt
	for k, a := range indexes {
		src := arcs[arcIndex(a)]
		seg := make([]pt, len(src))
		copy(seg, src)
		if a < 0 {
			for i, j := 0, len(seg)-1; i < j; i, j = i+1, j-1 {
				seg[i], seg[j] = seg[j], seg[i]
			}
		}
		if k > 0 && len(seg) > 0 {
			seg = seg[1:]
		}
		out = append(out, seg...)
	}
	return out
}
