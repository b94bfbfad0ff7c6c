package web

// Computed is how many times u has computed the overview's tallies and
// the map's points, which it caches until the projection changes.
func Computed(u *UI) (overview, points int) {
	u.caches.overview.mu.Lock()
	overview = u.caches.overview.computed
	u.caches.overview.mu.Unlock()
	u.caches.points.mu.Lock()
	points = u.caches.points.computed
	u.caches.points.mu.Unlock()
	return overview, points
}
