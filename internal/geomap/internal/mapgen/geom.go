package main

import "math"

// pt is a point: longitude/latitude before projection, viewBox units after.
type pt struct{ X, Y float64 }

// simplify reduces a polyline with the Douglas–Peucker algorithm, keeping
// its end points, so that no dropped point lies farther than tol from the
// result. Arcs are simplified one by one before rings are assembled, so an
// arc shared by two countries stays identical in both.
func simplify(p []pt, tol float64) []pt {
	if len(p) < 3 {
		return p
	}
	keep := make([]bool, len(p))
	keep[0], keep[len(p)-1] = true, true
	if p[0] == p[len(p)-1] {
		// A closed arc: split it at the point farthest from its start.
		far, d := 0, -1.0
		for i := range p {
			if dd := math.Hypot(p[i].X-p[0].X, p[i].Y-p[0].Y); dd > d {
				far, d = i, dd
			}
		}
		keep[far] = true
		dp(p, 0, far, tol, keep)
		dp(p, far, len(p)-1, tol, keep)
	} else {
		dp(p, 0, len(p)-1, tol, keep)
	}
	var out []pt
	for i, k := range keep {
		if k {
			out = append(out, p[i])
		}
	}
	return out
}

func dp(p []pt, a, b int, tol float64, keep []bool) {
	if b-a < 2 {
		return
	}
	far, d := -1, tol
	for i := a + 1; i < b; i++ {
		if dd := segDist(p[i], p[a], p[b]); dd > d {
			far, d = i, dd
		}
	}
	if far < 0 {
		return
	}
	keep[far] = true
	dp(p, a, far, tol, keep)
	dp(p, far, b, tol, keep)
}

// segDist is the distance from p to the segment a–b.
func segDist(p, a, b pt) float64 {
	dx, dy := b.X-a.X, b.Y-a.Y
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(p.X-a.X, p.Y-a.Y)
	}
	t := ((p.X-a.X)*dx + (p.Y-a.Y)*dy) / l2
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(p.X-a.X-t*dx, p.Y-a.Y-t*dy)
}

// box is an axis-aligned rectangle.
type box struct{ MinX, MinY, MaxX, MaxY float64 }

func (b box) contains(p pt) bool {
	return p.X >= b.MinX && p.X <= b.MaxX && p.Y >= b.MinY && p.Y <= b.MaxY
}

// clipRing clips a closed ring (first point not repeated) to b with the
// Sutherland–Hodgman algorithm. A concave ring can come out with
// zero-width spurs along the box's edges; they fill nothing and lie on the
// map's frame.
func clipRing(r []pt, b box) []pt {
	edges := []struct {
		in  func(pt) bool
		cut func(p, q pt) pt
	}{
		{func(p pt) bool { return p.X >= b.MinX }, func(p, q pt) pt { return atX(p, q, b.MinX) }},
		{func(p pt) bool { return p.X <= b.MaxX }, func(p, q pt) pt { return atX(p, q, b.MaxX) }},
		{func(p pt) bool { return p.Y >= b.MinY }, func(p, q pt) pt { return atY(p, q, b.MinY) }},
		{func(p pt) bool { return p.Y <= b.MaxY }, func(p, q pt) pt { return atY(p, q, b.MaxY) }},
	}
	for _, e := range edges {
		if len(r) == 0 {
			return nil
		}
		var out []pt
		prev := r[len(r)-1]
		for _, cur := range r {
			switch {
			case e.in(cur) && e.in(prev):
				out = append(out, cur)
			case e.in(cur):
				out = append(out, e.cut(prev, cur), cur)
			case e.in(prev):
				out = append(out, e.cut(prev, cur))
			}
			prev = cur
		}
		r = out
	}
	return r
}

func atX(p, q pt, x float64) pt {
	return pt{x, p.Y + (q.Y-p.Y)*(x-p.X)/(q.X-p.X)}
}

func atY(p, q pt, y float64) pt {
	return pt{p.X + (q.X-p.X)*(y-p.Y)/(q.Y-p.Y), y}
}

// area is a ring's signed area (shoelace formula).
func area(r []pt) float64 {
	var a float64
	for i := range r {
		j := (i + 1) % len(r)
		a += r[i].X*r[j].Y - r[j].X*r[i].Y
	}
	return a / 2
}
