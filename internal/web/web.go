// Package web is the mechanism's web UI: server-rendered pages in five
// languages, over the same projection and log the JSON API reads.
//
// The public pages need no sign-in: the overview, the map, the lists of
// incidents and actions and each one's record, compliance and the
// charter. Every page is html/template over templates/*.html with one
// stylesheet from static/, under a strict Content-Security-Policy. The
// public pages load no script: their filters are GET forms, and the only
// other form on them is sign-out's POST, which needs no JavaScript
// either. Maps and charts are SVG drawn on the server (geomap, chart).
// The overview's tallies and the map's points, which read every subject,
// are computed once per change of the projection (data.go).
//
// Member pages (member.go, signin.go) add sign-in with the member's own
// key and the forms that make statements; they load a script
// (static/member.js, which imports static/sign.js), and every statement
// is signed in the member's browser and posted by it.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/truce-mechanism/truce/internal/api"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/mechanism"
	"github.com/truce-mechanism/truce/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy of every page: nothing but the
// server's own stylesheet, images and (later) scripts; no inline style or
// script, no framing, forms posted only back to the server.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'"

// Config configures New. Every field but Now and Logger is required.
type Config struct {
	// Mechanism is the running mechanism, for its origin and the witness
	// policy of the log's checkpoints.
	Mechanism *mechanism.Mechanism
	// Store is the projection the pages read.
	Store store.Store
	// Log is the log, for its size and published checkpoint.
	Log api.Checkpoints
	// LogKey is the log's signed-note verifier key.
	LogKey string
	// Catalog holds the pages' messages in every language.
	Catalog *i18n.Catalog
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock for the ages the pages show; default time.Now.
	Now func() time.Time
	// SecureCookies marks the session cookie Secure on every response,
	// for a server behind a proxy that terminates TLS. By default
	// (false) it is Secure only when the request itself came over TLS,
	// so that plain HTTP on loopback works.
	SecureCookies bool
}

// UI is the web UI's handler.
type UI struct {
	cfg   Config
	mux   *http.ServeMux
	base  *template.Template
	pages map[string]*template.Template
	// css is the stylesheet's URL, which names its content hash so that
	// it can be cached for good.
	css     string
	cssBody []byte
	// sessions signs session cookies and keeps sign-in challenges.
	sessions *sessions
	// caches keep what the overview and the map read from every subject.
	caches caches
}

// New returns the web UI. It panics if its own templates do not parse,
// which the tests catch.
func New(cfg Config) *UI {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u := &UI{cfg: cfg, mux: http.NewServeMux(), pages: map[string]*template.Template{}, sessions: newSessions()}
	u.cssBody, _ = fs.ReadFile(staticFS, "static/truce.css")
	sum := sha256.Sum256(u.cssBody)
	u.css = "/static/truce." + hex.EncodeToString(sum[:6]) + ".css"
	u.parse()
	u.routes()
	return u
}

// routes registers the public pages. Member pages register theirs here
// too, or from outside with Handle.
func (u *UI) routes() {
	u.mux.HandleFunc("GET /{$}", u.overview)
	u.mux.HandleFunc("GET /map", u.mapPage)
	u.mux.HandleFunc("GET /incidents", u.list(store.KindIncident))
	u.mux.HandleFunc("GET /actions", u.list(store.KindAction))
	u.mux.HandleFunc("GET /incidents/{id}", u.subject(store.KindIncident))
	u.mux.HandleFunc("GET /actions/{id}", u.subject(store.KindAction))
	u.mux.HandleFunc("GET /compliance", u.compliance)
	u.mux.HandleFunc("GET /charter", u.charter)
	u.mux.HandleFunc("GET "+u.css, u.stylesheet)
	// Browsers ask for an icon on every first visit; there is none.
	u.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
	u.memberRoutes()
	u.mux.HandleFunc("/", u.notFound)
}

// Handle registers another route on the UI, such as a member page; it
// gets the same security headers as every page.
func (u *UI) Handle(pattern string, h http.Handler) { u.mux.Handle(pattern, h) }

// ServeHTTP serves the UI with its security headers, and remembers a
// language chosen with ?lang= in a cookie.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if tag := r.URL.Query().Get("lang"); tag != "" {
		if l, ok := u.cfg.Catalog.Locale(tag); ok {
			http.SetCookie(w, &http.Cookie{Name: "lang", Value: l.Tag, Path: "/", MaxAge: 365 * 24 * 3600,
				SameSite: http.SameSiteLaxMode, HttpOnly: true})
		}
	}
	u.mux.ServeHTTP(w, r)
}

func (u *UI) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(u.cssBody)
}

// parse reads the layout and every page template. Each page is the
// layout (layout.html, defining "layout" and its blocks, with the member
// forms' shared parts in member_parts.html) cloned with one page file
// that defines "title" and "main".
func (u *UI) parse() {
	u.base = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/member_parts.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		name = name[len("templates/"):]
		if name == "layout.html" || name == "member_parts.html" {
			continue
		}
		t := template.Must(template.Must(u.base.Clone()).ParseFS(templateFS, "templates/"+name))
		u.pages[name[:len(name)-len(".html")]] = t
	}
}

// render writes the page named name with data, in the request's
// language, with the given status. The page is rendered to a buffer first
// so that a template error is a 500, not half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	p := u.page(r, data)
	var b bytes.Buffer
	t := u.pages[name]
	if t == nil {
		u.fail(w, r, fmt.Errorf("no page template %q", name))
		return
	}
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		u.fail(w, r, fmt.Errorf("cannot render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.L.HTMLLang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	// A member's page names them and holds their forms: no cache keeps
	// it. A public page may be kept, but only used once revalidated,
	// since every new entry changes it.
	if p.Account != nil {
		w.Header().Set("Cache-Control", "private, no-store")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers 500 with a plain page, logging why.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	u.cfg.Logger.Error("page failed", "path", r.URL.Path, "err", err)
	l := u.cfg.Catalog.Negotiate(r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintln(w, l.T("error.internal"))
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusNotFound, "notfound", nil)
}
