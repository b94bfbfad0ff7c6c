// Package i18n translates and formats truce's web UI for its readers:
// mediators' staff and the parties' liaison officers, in English, Pashto,
// Dari, Urdu and Turkish.
//
// Messages live in one TOML file per locale, messages/{en,ps,prs,ur,tr}.toml,
// embedded in the binary and owned by translators (see messages/README.md).
// English is the source: a key missing from another locale falls back to
// English, then to the key itself, so a page never breaks for a missing
// translation. Each non-English message carries status = "draft" until a
// native speaker has reviewed it; [Locale.Draft] and [Locale.Drafts] let the
// UI say so.
//
// Numbers are formatted with golang.org/x/text (CLDR 32 data). Because that
// data gives Latin digits for ps-AF and fa-AF and does not know "prs" at all,
// each locale formats through an explicit tag: ps-u-nu-arabext,
// fa-AF-u-nu-arabext (Dari), ur, tr and en. Dates are built here from month
// names in the message files, in the Gregorian and the Solar Hijri calendars
// (see [ToSolarHijri]), since x/text has no date formatting.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

//go:embed messages/*.toml
var messageFiles embed.FS

// Catalog holds every locale's messages, loaded from the embedded message
// files. A Catalog and its Locales are immutable and safe for concurrent use.
type Catalog struct {
	locales []*Locale
}

// Locale is one language of the UI: its messages and the way it writes
// numbers and dates. Get one from [Catalog.Locale] or [Catalog.Negotiate].
type Locale struct {
	// Tag names the locale in URLs and cookies: "en", "ps", "prs", "ur"
	// or "tr". It is what ?lang= takes.
	Tag string
	// Name is the language's name in itself, for a language menu:
	// English, پښتو, دری, اردو, Türkçe.
	Name string
	// HTMLLang is the BCP 47 tag for the lang attribute of <html>:
	// en, ps, fa-AF, ur, tr. Dari is fa-AF rather than prs because browsers
	// choose fonts and hyphenation by it.
	HTMLLang string
	// Dir is the text direction for the dir attribute: "ltr", or "rtl"
	// for ps, prs and ur.
	Dir string

	// format is the tag numbers and plural rules are looked up with.
	format language.Tag
	// printer formats numbers for format.
	printer *message.Printer
	// zero is the locale's digit zero; the other nine follow it in Unicode.
	zero rune
	// messages maps keys to this locale's messages.
	messages map[string]*entry
	// fallback is English, or nil for English itself.
	fallback *Locale
}

// localeSpec describes one supported locale before its messages are loaded.
type localeSpec struct {
	tag, name, htmlLang, dir, format string
}

// localeSpecs returns the supported locales in display order. The format
// tags work around x/text's CLDR 32 data (see the package comment).
func localeSpecs() []localeSpec {
	return []localeSpec{
		{"en", "English", "en", "ltr", "en"},
		{"ps", "پښتو", "ps", "rtl", "ps-u-nu-arabext"},
		{"prs", "دری", "fa-AF", "rtl", "fa-AF-u-nu-arabext"},
		{"ur", "اردو", "ur", "rtl", "ur"},
		{"tr", "Türkçe", "tr", "ltr", "tr"},
	}
}

// Load parses the embedded message files. Its errors name the file, and the
// line and key where they can.
func Load() (*Catalog, error) {
	return load(messageFiles)
}

// load parses messages/<tag>.toml in fsys for every supported locale.
func load(fsys fs.FS) (*Catalog, error) {
	specs := localeSpecs()
	names, err := fs.Glob(fsys, "messages/*.toml")
	if err != nil {
		return nil, fmt.Errorf("cannot list message files: %w", err)
	}
	for _, name := range names {
		tag := strings.TrimSuffix(strings.TrimPrefix(name, "messages/"), ".toml")
		if !slices.ContainsFunc(specs, func(s localeSpec) bool { return s.tag == tag }) {
			return nil, fmt.Errorf("%s: %q is not a supported locale (en, ps, prs, ur, tr)", name, tag)
		}
	}
	c := &Catalog{}
	for _, s := range specs {
		name := "messages/" + s.tag + ".toml"
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("cannot read message file: %w", err)
		}
		msgs, err := parseMessages(name, data, s.tag != "en")
		if err != nil {
			return nil, err
		}
		format := language.MustParse(s.format)
		p := message.NewPrinter(format, message.Catalog(catalog.NewBuilder()))
		zero, _ := firstRune(p.Sprintf("%d", 0))
		l := &Locale{
			Tag:      s.tag,
			Name:     s.name,
			HTMLLang: s.htmlLang,
			Dir:      s.dir,
			format:   format,
			printer:  p,
			zero:     zero,
			messages: msgs,
		}
		if len(c.locales) > 0 {
			l.fallback = c.locales[0]
		}
		c.locales = append(c.locales, l)
	}
	return c, nil
}

func firstRune(s string) (rune, bool) {
	for _, r := range s {
		return r, true
	}
	return 0, false
}

// Locales returns every locale in display order: en, ps, prs, ur, tr.
func (c *Catalog) Locales() []*Locale {
	return slices.Clone(c.locales)
}

// Locale returns the locale whose Tag is tag (case-insensitively).
func (c *Catalog) Locale(tag string) (*Locale, bool) {
	for _, l := range c.locales {
		if strings.EqualFold(l.Tag, tag) {
			return l, true
		}
	}
	return nil, false
}

// Default returns English, the locale Negotiate falls back to.
func (c *Catalog) Default() *Locale {
	return c.locales[0]
}

// Negotiate picks the locale for a request: the ?lang= query parameter if it
// names a locale, then the "lang" cookie, then the first language of the
// Accept-Language header that the UI has, by quality, and English otherwise.
// In Accept-Language, fa, fa-AF and prs (Persian of any region) all choose
// Dari, and regions are ignored for the others (ps-PK is Pashto).
func (c *Catalog) Negotiate(r *http.Request) *Locale {
	if r == nil {
		return c.Default()
	}
	if tag := r.URL.Query().Get("lang"); tag != "" {
		if l, ok := c.Locale(tag); ok {
			return l
		}
	}
	if ck, err := r.Cookie("lang"); err == nil {
		if l, ok := c.Locale(ck.Value); ok {
			return l
		}
	}
	for _, tag := range acceptLanguages(r.Header.Values("Accept-Language")) {
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		switch base {
		case "fa":
			base = "prs"
		case "*":
			continue
		}
		if l, ok := c.Locale(base); ok {
			return l
		}
	}
	return c.Default()
}

// acceptLanguages returns the language ranges of Accept-Language header
// values, best first (RFC 9110, section 12.5.4), without those of quality 0.
// Malformed entries are skipped rather than failing the whole header.
func acceptLanguages(headers []string) []string {
	type weighted struct {
		tag string
		q   float64
	}
	var ws []weighted
	for _, h := range headers {
		for _, part := range strings.Split(h, ",") {
			tag, params, _ := strings.Cut(part, ";")
			tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
			if tag == "" {
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
			if q > 0 {
				ws = append(ws, weighted{tag, q})
			}
		}
	}
	slices.SortStableFunc(ws, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]string, len(ws))
	for i, w := range ws {
		tags[i] = w.tag
	}
	return tags
}

// pluralForm returns the CLDR cardinal plural category of n in l's language
// ("zero", "one", "two", "few", "many" or "other").
func (l *Locale) pluralForm(n int) string {
	if n < 0 {
		n = -n
	}
	switch plural.Cardinal.MatchPlural(l.format, n, 0, 0, 0, 0) {
	case plural.Zero:
		return "zero"
	case plural.One:
		return "one"
	case plural.Two:
		return "two"
	case plural.Few:
		return "few"
	case plural.Many:
		return "many"
	}
	return "other"
}

// EventTypeKey returns the message key of an ACLED event type as the store
// holds it: "Explosions/Remote violence" is "event.explosions_remote_violence".
// Letters are lowered, and each run of other characters becomes "_".
func EventTypeKey(eventType string) string {
	var b strings.Builder
	b.WriteString("event.")
	sep := false
	for _, r := range strings.ToLower(eventType) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > len("event.") {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	return b.String()
}
