package web

import (
	"errors"
	"net/http"

	"github.com/truce-mechanism/truce/internal/store"
)

// The handlers decode the request, call the queries in data.go and
// render; nothing else.

func (u *UI) overview(w http.ResponseWriter, r *http.Request) {
	d, err := u.overviewData(r.Context(), u.cfg.Catalog.Negotiate(r))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "overview", d)
}

func (u *UI) mapPage(w http.ResponseWriter, r *http.Request) {
	c, err := u.latestCharter(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d, err := u.mapData(r.Context(), r.URL.Query(), u.cfg.Catalog.Negotiate(r), c)
	switch {
	case errors.Is(err, errBadFilter):
		u.render(w, r, http.StatusBadRequest, "map", d)
	case err != nil:
		u.fail(w, r, err)
	default:
		u.render(w, r, http.StatusOK, "map", d)
	}
}

func (u *UI) list(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := u.latestCharter(r.Context())
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d, err := u.listData(r.Context(), kind, r.URL.Path, r.URL.Query(), c)
		switch {
		case errors.Is(err, errBadFilter):
			u.render(w, r, http.StatusBadRequest, "list", d)
		case err != nil:
			u.fail(w, r, err)
		default:
			u.render(w, r, http.StatusOK, "list", d)
		}
	}
}

func (u *UI) subject(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := u.subjectData(r.Context(), kind, r.PathValue("id"))
		switch {
		case errors.Is(err, store.ErrNotFound):
			u.notFound(w, r)
		case err != nil:
			u.fail(w, r, err)
		default:
			u.render(w, r, http.StatusOK, "subject", d)
		}
	}
}

func (u *UI) compliance(w http.ResponseWriter, r *http.Request) {
	d, err := u.complianceData(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "compliance", d)
}

func (u *UI) charter(w http.ResponseWriter, r *http.Request) {
	d, err := u.charterData(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "charter", d)
}
