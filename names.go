package truce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// exactNames checks that every name in the JSON data is spelled exactly
// as the field of t that encoding/json fills with it, is written without
// escapes, and is not given twice in one object. encoding/json matches
// names regardless of case, and of Unicode folding ("ſubject" is
// "subject"), and keeps the last of duplicate names; JavaScript, Python and
// most other parsers do neither. A signed statement must read the same to
// every checker. data should be JSON that encoding/json has already
// accepted; on anything else the scan stops with an error.
func exactNames(data []byte, t reflect.Type) error {
	s := nameScanner{data: data}
	return s.value(t, "", true)
}

type nameScanner struct {
	data []byte
	i    int
}

func (s *nameScanner) peek() byte {
	for s.i < len(s.data) {
		switch c := s.data[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// value scans one JSON value whose Go type is t (nil when unknown, in
// which case only duplicates are checked); check is false inside a
// json.RawMessage, which its own decoding checks.
func (s *nameScanner) value(t reflect.Type, at string, check bool) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch s.peek() {
	case '{':
		s.i++
		var seen []string
		for {
			c := s.peek()
			if c == ',' {
				s.i++
				c = s.peek()
			}
			if c == '}' {
				s.i++
				return nil
			}
			if c != '"' {
				return fmt.Errorf("malformed JSON at byte %d", s.i)
			}
			name, escaped := s.str()
			if check {
				if escaped {
					return fmt.Errorf("name %q is written with escapes; write names plainly", at+name)
				}
				if slices.Contains(seen, name) {
					return fmt.Errorf("%q is given twice", at+name)
				}
				seen = append(seen, name)
			}
			if s.peek() != ':' {
				return fmt.Errorf("malformed JSON at byte %d", s.i)
			}
			s.i++
			var ft reflect.Type
			sub := check
			switch {
			case !check || t == nil:
			case t.Kind() == reflect.Struct:
				f, ok := jsonFields[t][name]
				if !ok {
					return fmt.Errorf("unknown field %q (names are case-sensitive)", at+name)
				}
				ft = f
				sub = f != rawMessageType
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if err := s.value(ft, at+name+".", sub); err != nil {
				return err
			}
		}
	case '[':
		s.i++
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
			et = t.Elem()
		}
		for {
			c := s.peek()
			if c == ',' {
				s.i++
				c = s.peek()
			}
			if c == ']' {
				s.i++
				return nil
			}
			if c == 0 {
				return fmt.Errorf("malformed JSON at byte %d", s.i)
			}
			if err := s.value(et, at, check); err != nil {
				return err
			}
		}
	case '"':
		s.skipStr()
		return nil
	case 0:
		return fmt.Errorf("malformed JSON at byte %d", s.i)
	}
	// A number, true, false or null.
	start := s.i
	for s.i < len(s.data) && !strings.ContainsRune(",]}: \t\n\r", rune(s.data[s.i])) {
		s.i++
	}
	if s.i == start {
		return fmt.Errorf("malformed JSON at byte %d", s.i)
	}
	return nil
}

// str scans a string at s.i and returns its raw content and whether it
// has escapes.
func (s *nameScanner) str() (string, bool) {
	start := s.i + 1
	escaped := s.skipStr()
	end := max(start, s.i-1)
	return string(s.data[start:end]), escaped
}

// skipStr moves past a string at s.i, and reports whether it has escapes.
func (s *nameScanner) skipStr() bool {
	s.i++ // the opening quote
	escaped := false
	for s.i < len(s.data) {
		j := bytes.IndexByte(s.data[s.i:], '"')
		if j < 0 {
			s.i = len(s.data)
			return escaped
		}
		k := bytes.IndexByte(s.data[s.i:s.i+j], '\\')
		if k < 0 {
			s.i += j + 1
			return escaped
		}
		escaped = true
		s.i += k + 2 // the backslash and the character it escapes
	}
	return escaped
}

// jsonFields maps every struct type of the wire format to its fields by
// exact JSON name. It is built once, from the types, and never changed.
var jsonFields = fieldTable(
	reflect.TypeFor[wireEntry](), reflect.TypeFor[wireEnvelope](), reflect.TypeFor[Statement](),
	reflect.TypeFor[Charter](), reflect.TypeFor[CharterAmend](), reflect.TypeFor[IncidentReport](),
	reflect.TypeFor[ActionReport](), reflect.TypeFor[EvidenceAdd](), reflect.TypeFor[Reply](),
	reflect.TypeFor[Assessment](), reflect.TypeFor[AccessDenied](), reflect.TypeFor[Withdraw](),
	reflect.TypeFor[typedStatement[Charter]](), reflect.TypeFor[typedStatement[CharterAmend]](),
	reflect.TypeFor[typedStatement[IncidentReport]](), reflect.TypeFor[typedStatement[ActionReport]](),
	reflect.TypeFor[typedStatement[EvidenceAdd]](), reflect.TypeFor[typedStatement[Reply]](),
	reflect.TypeFor[typedStatement[Assessment]](), reflect.TypeFor[typedStatement[AccessDenied]](),
	reflect.TypeFor[typedStatement[Withdraw]](),
)

func fieldTable(roots ...reflect.Type) map[reflect.Type]map[string]reflect.Type {
	table := map[reflect.Type]map[string]reflect.Type{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || table[t] != nil {
			return
		}
		fields := map[string]reflect.Type{}
		table[t] = fields
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
			add(f.Type)
		}
	}
	for _, t := range roots {
		add(t)
	}
	return table
}
