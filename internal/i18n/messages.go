package i18n

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// entry is one message of one locale.
type entry struct {
	// forms holds the text under "text" for a plain message, or under the
	// CLDR plural categories ("zero", "one", "two", "few", "many",
	// "other") for a plural one.
	forms map[string]string
	// plural is whether forms holds plural categories.
	plural bool
	// draft is whether no native speaker has reviewed the message.
	draft bool
	// line is where the message's table starts in its file, or 0.
	line int
}

// text returns the message's text for plural form (ignored for a plain
// message), falling back to "other".
func (e *entry) text(form string) string {
	if !e.plural {
		return e.forms["text"]
	}
	if s, ok := e.forms[form]; ok {
		return s
	}
	return e.forms["other"]
}

// pluralForms are the CLDR plural categories a plural message may give.
func pluralForms() []string {
	return []string{"zero", "one", "two", "few", "many", "other"}
}

// parseMessages parses one message file. Every key is a TOML table, dotted
// headers nesting them: [nav.map] is key "nav.map", and so is
// ["nav.map"]. A message table has text = "…", or plural forms with at
// least other = "…", and optionally status ("draft" or "reviewed"), note
// and reviewed_by; a table holding only tables is a namespace. A message
// may hold further messages ([log.witnessed] and [log.witnessed.yes]), so
// a key's last part cannot be a field name such as text, unless the whole
// key is quoted. In a translation (not English) a message without
// status = "reviewed" is a draft.
func parseMessages(name string, data []byte, translation bool) (map[string]*entry, error) {
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: cannot parse messages: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: cannot parse messages: %w", name, err)
	}
	lines := tableLines(string(data))
	msgs := make(map[string]*entry)
	var walk func(prefix string, t map[string]any) error
	walk = func(prefix string, t map[string]any) error {
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			key := prefix + k
			sub, ok := t[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s: want a table [%s] with text = \"…\", not a bare value", name, key, prefix+k)
			}
			if len(sub) == 0 {
				return fmt.Errorf("%s: %s: empty table, want text = \"…\"", where(name, lines[key]), key)
			}
			children := make(map[string]any)
			if isMessage(sub) {
				e, err := parseEntry(sub, translation, children)
				if err != nil {
					return fmt.Errorf("%s: %s: %v", where(name, lines[key]), key, err)
				}
				e.line = lines[key]
				if _, dup := msgs[key]; dup {
					return fmt.Errorf("%s: %s: defined twice", where(name, lines[key]), key)
				}
				msgs[key] = e
			} else {
				children = sub
			}
			if err := walk(key+".", children); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("", tree); err != nil {
		return nil, err
	}
	return msgs, nil
}

// where returns "file:line", or just the file if line is unknown (0).
func where(name string, line int) string {
	if line == 0 {
		return name
	}
	return fmt.Sprintf("%s:%d", name, line)
}

// isMessage reports whether table t is a message rather than a namespace
// of messages: whether it holds anything but tables.
func isMessage(t map[string]any) bool {
	for _, v := range t {
		if _, ok := v.(map[string]any); !ok {
			return true
		}
	}
	return false
}

// parseEntry parses message table t. Tables inside it are further
// messages, whose keys extend t's ([log.witnessed] and [log.witnessed.yes]);
// parseEntry puts them in children.
func parseEntry(t map[string]any, translation bool, children map[string]any) (*entry, error) {
	e := &entry{forms: make(map[string]string), draft: translation}
	for k, v := range t {
		if sub, ok := v.(map[string]any); ok {
			children[k] = sub
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s is not a string (put it in quotes)", k)
		}
		switch {
		case k == "text" || slices.Contains(pluralForms(), k):
			e.forms[k] = s
		case k == "status":
			switch s {
			case "draft":
				e.draft = true
			case "reviewed":
				e.draft = false
			default:
				return nil, fmt.Errorf("status is %q, want \"draft\" or \"reviewed\"", s)
			}
		case k == "note" || k == "reviewed_by":
		default:
			return nil, fmt.Errorf("unknown field %q (want text, one, other, …, status, note or reviewed_by)", k)
		}
	}
	_, hasText := e.forms["text"]
	e.plural = !hasText
	switch {
	case hasText && len(e.forms) > 1:
		return nil, errors.New("has both text and plural forms")
	case !hasText && len(e.forms) == 0:
		return nil, errors.New("has no text")
	case e.plural && e.forms["other"] == "":
		return nil, errors.New("plural message has no other = \"…\"")
	}
	return e, nil
}

// tableLines maps the key of each [table] header in a TOML file to its line
// number, for error messages; BurntSushi/toml does not report them.
func tableLines(src string) map[string]int {
	lines := make(map[string]int)
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "[") || strings.HasPrefix(line, "[[") {
			continue
		}
		if key, ok := headerKey(line[1:]); ok {
			lines[key] = i + 1
		}
	}
	return lines
}

// headerKey returns the dotted key of a table header from after its "[",
// unquoting quoted parts: `nav . "sign in" ]` is "nav.sign in".
func headerKey(s string) (string, bool) {
	var b strings.Builder
	for len(s) > 0 {
		switch c := s[0]; {
		case c == ' ' || c == '\t':
			s = s[1:]
		case c == ']':
			return b.String(), true
		case c == '.':
			b.WriteByte('.')
			s = s[1:]
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[1:], c)
			if end < 0 {
				return "", false
			}
			b.WriteString(s[1 : 1+end])
			s = s[2+end:]
		default:
			b.WriteByte(c)
			s = s[1:]
		}
	}
	return "", false
}

// placeholders returns the names of the {name} placeholders in s, in order
// of first appearance. A name is ASCII letters, digits and underscores.
func placeholders(s string) []string {
	var names []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return names
		}
		s = s[i+1:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return names
		}
		if name := s[:j]; isPlaceholderName(name) {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
			s = s[j+1:]
		}
	}
}

func isPlaceholderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// fill replaces each {name} in s whose name is given in args (name, value
// pairs) by its value. Unknown placeholders stay as they are, so that a
// missing argument shows on the page rather than vanishing.
func fill(s string, args []string) string {
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		v, ok := lookupArg(args, name)
		if !ok {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func lookupArg(args []string, name string) (string, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == name {
			return args[i+1], true
		}
	}
	return "", false
}

// lookup returns the message for key and the locale it comes from: l, or
// English if l lacks it.
func (l *Locale) lookup(key string) (*entry, *Locale) {
	if e, ok := l.messages[key]; ok {
		return e, l
	}
	if l.fallback != nil {
		if e, ok := l.fallback.messages[key]; ok {
			return e, l.fallback
		}
	}
	return nil, nil
}

// T returns the message for key with its {name} placeholders filled from
// args, which are name, value pairs: T("log.size", "n", l.N(42)). A key
// this locale lacks falls back to English, then to the key itself. For a
// plural message T uses its other form. T never panics; an odd last
// argument is ignored.
func (l *Locale) T(key string, args ...string) string {
	e, _ := l.lookup(key)
	if e == nil {
		return key
	}
	return fill(e.text("other"), args)
}

// TN returns the plural message for key in the form that n takes in this
// locale's language by CLDR's cardinal rules (one, other, …), with {n}
// filled by N(n) and other placeholders from args as in T. A message that
// falls back to English uses English's rules and digits, to match its
// words. A plain (non-plural) message is used for every n.
func (l *Locale) TN(key string, n int, args ...string) string {
	e, src := l.lookup(key)
	if e == nil {
		return key
	}
	a := make([]string, 0, len(args)+2)
	a = append(a, args...)
	a = append(a, "n", src.N(n))
	return fill(e.text(src.pluralForm(n)), a)
}

// Draft reports whether what T shows for key in this locale is not yet
// reviewed by a native speaker: the locale's message is a draft, or, in a
// locale other than English, the key is missing and T falls back to
// English.
func (l *Locale) Draft(key string) bool {
	e, src := l.lookup(key)
	if e == nil {
		return l.fallback != nil
	}
	return e.draft || src != l
}

// Drafts returns how many of this locale's messages are drafts.
func (l *Locale) Drafts() int {
	n := 0
	for _, e := range l.messages {
		if e.draft {
			n++
		}
	}
	return n
}

// Missing returns the keys English has and this locale lacks, sorted: the
// translators' to-do list. It is empty for English.
func (l *Locale) Missing() []string {
	if l.fallback == nil {
		return nil
	}
	var keys []string
	for k := range l.fallback.messages {
		if _, ok := l.messages[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Keys returns the keys of this locale's own messages, sorted.
func (l *Locale) Keys() []string {
	keys := make([]string, 0, len(l.messages))
	for k := range l.messages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
