package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/state"
)

// page is what every template gets: the request's language and the
// mechanism's charter around the page's own Data.
type page struct {
	L       *i18n.Locale
	Locales []*i18n.Locale
	// Path is the request's path, for the navigation's aria-current.
	Path string
	// CSS is the stylesheet's URL.
	CSS string
	// Origin is the mechanism's log origin.
	Origin string
	// Charter is the charter in force, nil before there is one.
	Charter *state.Charter
	// Simulated is set for a demo: its charter's title says SIMULATED.
	Simulated bool
	// Account is the signed-in member, nil when no one is signed in.
	Account *account
	Data    any

	query       url.Values
	escapedPath string
}

func (u *UI) page(r *http.Request, data any) *page {
	p := &page{
		L: u.cfg.Catalog.Negotiate(r), Locales: u.cfg.Catalog.Locales(), Path: r.URL.Path,
		CSS: u.css, Origin: u.cfg.Mechanism.Origin(), Data: data, query: r.URL.Query(), escapedPath: r.URL.EscapedPath(),
	}
	if c, err := u.latestCharter(r.Context()); err == nil && c != nil {
		p.Charter = c
		p.Simulated = strings.HasPrefix(strings.ToUpper(c.Title), "SIMULATED")
		p.Account = u.account(r, c)
	}
	return p
}

// latestCharter is the charter in force, or nil before there is one.
func (u *UI) latestCharter(ctx context.Context) (*state.Charter, error) {
	rows, err := u.cfg.Store.Charters(ctx)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	c := new(state.Charter)
	if err := json.Unmarshal(rows[len(rows)-1].Doc, c); err != nil {
		return nil, fmt.Errorf("cannot read the charter: %w", err)
	}
	return c, nil
}

// LangURL is this page in another language: the same path and query,
// with lang set (which also sets the lang cookie). The path is the
// request's escaped one with a single leading slash: one rebuilt from the
// decoded path could leave the site (/%2Fevil.com/x would link to
// //evil.com/x).
func (p *page) LangURL(tag string) string {
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	q.Set("lang", tag)
	return "/" + strings.TrimLeft(p.escapedPath, "/") + "?" + q.Encode()
}

// Current is "page" for the navigation link to section, the value of
// its aria-current, and empty for the others.
func (p *page) Current(section string) string {
	if section == "/" && p.Path == "/" || section != "/" && strings.HasPrefix(p.Path, section) {
		return "page"
	}
	return ""
}

// Date shows a day in the Gregorian and the Solar Hijri calendar.
func (p *page) Date(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s <span class="alt">%s</span></time>`,
		t.UTC().Format(time.DateOnly), template.HTMLEscapeString(p.L.Date(t)), template.HTMLEscapeString(p.L.SolarHijri(t))))
}

// DateTime shows a moment, with its day in the Solar Hijri calendar too.
func (p *page) DateTime(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s <span class="alt">%s</span></time>`,
		t.UTC().Format(time.RFC3339), template.HTMLEscapeString(p.L.DateTime(t)), template.HTMLEscapeString(p.L.SolarHijri(t))))
}

// When shows a body's time (a date, or an RFC 3339 time) as Date or
// DateTime does, or as given when it does not parse.
func (p *page) When(s string) template.HTML {
	t, err := truce.ParseWhen(s)
	if err != nil {
		return template.HTML(template.HTMLEscapeString(s))
	}
	if len(s) == len(time.DateOnly) {
		return p.Date(t)
	}
	return p.DateTime(t)
}

// N is n in the page's language.
func (p *page) N(n any) string {
	switch n := n.(type) {
	case int:
		return p.L.N(n)
	case int64:
		return p.L.N(int(n))
	case uint64:
		return p.L.N(int(n))
	case *int:
		if n == nil {
			return "—"
		}
		return p.L.N(*n)
	}
	return fmt.Sprint(n)
}

// Party is a party's name: its message (party.af) where there is one,
// or the charter's name, or its id.
func (p *page) Party(id string) string {
	if key := "party." + strings.ToLower(id); p.L.T(key) != key {
		return p.L.T(key)
	}
	if p.Charter != nil {
		for _, party := range p.Charter.Parties {
			if party.ID == id {
				return party.Name
			}
		}
	}
	if id == "unknown" {
		return p.L.T("party.unknown")
	}
	return id
}

// Member is a member's name from the charter, or its id.
func (p *page) Member(id string) string {
	if p.Charter != nil {
		if m := p.Charter.Member(id); m != nil {
			return m.Name
		}
	}
	return id
}

// Role is a member's role, in words, with its party.
func (p *page) Role(id string) string {
	if p.Charter == nil {
		return ""
	}
	m := p.Charter.Member(id)
	if m == nil {
		return p.L.T("role.former")
	}
	role := p.L.T("role." + m.Role)
	if m.Party != "" {
		return role + " · " + p.Party(m.Party)
	}
	return role
}

// Answer is a question's answer in words: a party's name for an origin,
// an incident's for a duplicate, otherwise the answer's message.
func (p *page) Answer(question, answer string) string {
	switch {
	case answer == "":
		return ""
	case question == truce.QuestionOrigin && p.Charter != nil && p.Charter.HasParty(answer):
		return p.Party(answer)
	case question == truce.QuestionDuplicateOf && answer != truce.AnswerNone:
		return p.L.T("answer.duplicate", "id", answer)
	}
	return p.L.T("answer." + answer)
}

// EventType is an ACLED event type in words: its message (event.battles)
// where there is one, or as ACLED names it.
func (p *page) EventType(t string) string {
	key := "event." + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, t)
	if v := p.L.T(key); v != key {
		return v
	}
	return t
}

// Age is how long ago t was, in words.
func (p *page) Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return p.L.TN("age.seconds", int(d/time.Second))
	case d < time.Hour:
		return p.L.TN("age.minutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return p.L.TN("age.hours", int(d/time.Hour))
	}
	return p.L.TN("age.days", int(d/(24*time.Hour)))
}

// funcs are the templates' functions that need no language.
var funcs = template.FuncMap{
	// short abbreviates a hash or key for display; the title attribute
	// or the link carries it whole.
	"short": func(s string) string {
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	"join": strings.Join,
	"coord": func(f *float64) string {
		if f == nil {
			return ""
		}
		return fmt.Sprintf("%.4f", *f)
	},
	"keyid": func(k string) string {
		pub, err := truce.ParsePublicKey(k)
		if err != nil {
			return ""
		}
		return truce.KeyID(pub)
	},
	"add":        func(a, b int) int { return a + b },
	"subjectURL": subjectURL,
	// isolate sets text of its own direction apart inside a sentence of
	// another (an English title in a Pashto sentence), with Unicode's
	// first-strong isolate, for where a <bdi> cannot go: inside a message.
	"isolate": func(s string) string { return "\u2068" + s + "\u2069" },
}

// subjectURL is the page of the subject of kind ("incident", "action")
// with id. An id is any string its author chose (up to 128 characters),
// so it is escaped as one path segment: bad%zz/q?x#y would otherwise be
// a broken escape, another path, a query and a fragment.
func subjectURL(kind, id string) string {
	return "/" + kind + "s/" + url.PathEscape(id)
}

// Index links a log index to its entry and its receipt.
func (p *page) Index(i uint64) template.HTML {
	return template.HTML(fmt.Sprintf(`<a class="index" href="/v1/statements/%d" title="%s">#%s</a> <a class="receipt" href="/v1/statements/%d/receipt">%s</a>`,
		i, template.HTMLEscapeString(p.L.T("log.entry")), template.HTMLEscapeString(p.L.N(int(i))), i, template.HTMLEscapeString(p.L.T("log.receipt"))))
}

// Status is a status in words, marked for its colour.
func (p *page) Status(s string) template.HTML {
	return template.HTML(fmt.Sprintf(`<span class="status status-%s">%s</span>`, template.HTMLEscapeString(s), template.HTMLEscapeString(p.L.T("status."+s))))
}
