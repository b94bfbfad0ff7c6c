package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// openAPIDoc is internal/api/openapi.json, decoded.
type openAPIDoc map[string]any

func loadOpenAPI(t testing.TB) openAPIDoc {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// pointer resolves a local JSON pointer such as #/components/schemas/Error.
func (d openAPIDoc) pointer(ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var v any = map[string]any(d)
	if rest == "" {
		return v, true
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return nil, false
	}
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return v, true
}

// deref follows $ref until it reaches an object without one.
func (d openAPIDoc) deref(v any) map[string]any {
	for range 32 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if v, ok = d.pointer(ref); !ok {
			panic("unresolved $ref " + ref)
		}
	}
	panic("$ref loop")
}

// validator checks JSON values against the subset of JSON Schema 2020-12
// that openapi.json uses: the keywords in schemaKeywords. TestOpenAPIKeywords
// makes sure the document uses no other, so that no constraint it states
// goes unchecked here.
//
// In strict mode it also reports object members that no schema declares, so
// that the description cannot silently fall behind what the server sends.
// (Clients are told to ignore fields they do not know; the description is
// told to know them all.)
type validator struct {
	doc    openAPIDoc
	strict bool
}

// schemaKeywords are the keywords validator applies.
var schemaKeywords = []string{
	"$ref", "type", "enum", "const", "required", "properties", "additionalProperties",
	"items", "minItems", "allOf", "oneOf", "anyOf", "not", "if", "then", "else",
	"minimum", "maximum", "minLength", "maxLength", "pattern",
}

// annotationKeywords change nothing that validation checks.
var annotationKeywords = []string{"description", "title", "examples", "format", "default", "discriminator", "contentMediaType"}

var patterns sync.Map // string → *regexp.Regexp

func (c *validator) validate(schema any, v any) []string {
	var errs []string
	c.check(schema, v, "", false, &errs)
	return errs
}

func (c *validator) check(schema any, v any, at string, shallow bool, errs *[]string) {
	fail := func(format string, args ...any) {
		where := at
		if where == "" {
			where = "/"
		}
		*errs = append(*errs, where+": "+fmt.Sprintf(format, args...))
	}
	if b, ok := schema.(bool); ok {
		if !b {
			fail("no value is allowed here")
		}
		return
	}
	s, ok := schema.(map[string]any)
	if !ok {
		fail("schema is a %T", schema)
		return
	}
	if ref, ok := s["$ref"].(string); ok {
		target, ok := c.doc.pointer(ref)
		if !ok {
			fail("unresolved $ref %s", ref)
			return
		}
		c.check(target, v, at, shallow, errs)
		return
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			fail("got %s, want %s", jsonType(v), strings.Join(types, " or "))
			return
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, v) }) {
		fail("%s is not one of %s", compact(v), compact(enum))
	}
	if cst, ok := s["const"]; ok && !jsonEqual(cst, v) {
		fail("got %s, want %s", compact(v), compact(cst))
	}
	switch v := v.(type) {
	case string:
		n := utf8.RuneCountInString(v)
		if min, ok := s["minLength"].(float64); ok && float64(n) < min {
			fail("%q is shorter than %v characters", v, min)
		}
		if max, ok := s["maxLength"].(float64); ok && float64(n) > max {
			fail("%q is longer than %v characters", v, max)
		}
		if p, ok := s["pattern"].(string); ok {
			re, _ := patterns.Load(p)
			if re == nil {
				re = regexp.MustCompile(p)
				patterns.Store(p, re)
			}
			if !re.(*regexp.Regexp).MatchString(v) {
				fail("%q does not match %s", v, p)
			}
		}
	case float64:
		if min, ok := s["minimum"].(float64); ok && v < min {
			fail("%v is less than %v", v, min)
		}
		if max, ok := s["maximum"].(float64); ok && v > max {
			fail("%v is more than %v", v, max)
		}
	case []any:
		if min, ok := s["minItems"].(float64); ok && float64(len(v)) < min {
			fail("%d items, want at least %v", len(v), min)
		}
		if items, ok := s["items"]; ok {
			for i, x := range v {
				c.check(items, x, fmt.Sprintf("%s/%d", at, i), false, errs)
			}
		}
	case map[string]any:
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					fail("%s is required", r)
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		for _, k := range sortedKeys(v) {
			if p, ok := props[k]; ok {
				c.check(p, v[k], at+"/"+k, false, errs)
			} else if ap, ok := s["additionalProperties"]; ok {
				c.check(ap, v[k], at+"/"+k, false, errs)
			}
		}
		if c.strict && !shallow {
			names, open := c.declared(s)
			for _, k := range sortedKeys(v) {
				if !open && !names[k] {
					fail("%s is not in the description", k)
				}
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			c.check(sub, v, at, true, errs)
		}
	}
	if any, ok := s["anyOf"].([]any); ok {
		if c.matching(any, v, at) == 0 {
			fail("%s matches none of anyOf", compact(v))
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		if n := c.matching(one, v, at); n != 1 {
			var why []string
			for i, sub := range one {
				why = append(why, fmt.Sprintf("[%d] %s", i, strings.Join(c.validateAt(sub, v, at), "; ")))
			}
			fail("matches %d of oneOf, want 1: %s", n, strings.Join(why, " | "))
		}
	}
	// A condition only tests the value: it declares nothing, so strictness
	// does not apply at its top.
	if not, ok := s["not"]; ok && len(c.condition(not, v, at)) == 0 {
		fail("%s matches a schema it must not", compact(v))
	}
	if cond, ok := s["if"]; ok {
		if len(c.condition(cond, v, at)) == 0 {
			if then, ok := s["then"]; ok {
				c.check(then, v, at, true, errs)
			}
		} else if els, ok := s["else"]; ok {
			c.check(els, v, at, true, errs)
		}
	}
}

func (c *validator) validateAt(schema, v any, at string) []string {
	var errs []string
	c.check(schema, v, at, false, &errs)
	return errs
}

func (c *validator) condition(schema, v any, at string) []string {
	var errs []string
	c.check(schema, v, at, true, &errs)
	return errs
}

func (c *validator) matching(schemas []any, v any, at string) int {
	n := 0
	for _, sub := range schemas {
		if len(c.validateAt(sub, v, at)) == 0 {
			n++
		}
	}
	return n
}

// declared is the set of member names schema s declares, through allOf,
// and whether it leaves members open (a map, or a schema with no
// properties at all, or one that picks among branches that check their own).
func (c *validator) declared(s map[string]any) (names map[string]bool, open bool) {
	names = map[string]bool{}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		if ap, ok := s["additionalProperties"]; ok && ap != false {
			open = true
		}
		if _, ok := s["oneOf"]; ok {
			open = true
		}
		if _, ok := s["anyOf"]; ok {
			open = true
		}
		props, _ := s["properties"].(map[string]any)
		for k := range props {
			names[k] = true
		}
		all, _ := s["allOf"].([]any)
		for _, sub := range all {
			walk(c.doc.deref(sub))
		}
	}
	walk(s)
	return names, open || len(names) == 0
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestValidator shows that the checker rejects what each keyword forbids:
// a checker that accepted everything would make every schema test pass.
func TestValidator(t *testing.T) {
	doc := openAPIDoc{"components": map[string]any{"schemas": map[string]any{
		"Point": map[string]any{"type": "object", "required": []any{"x"}, "properties": map[string]any{
			"x": map[string]any{"type": "integer", "minimum": 0.0, "maximum": 9.0},
			"y": map[string]any{"type": "number"},
		}, "additionalProperties": false},
		"Named": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
	}}}
	ref := func(n string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + n} }
	obj := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		schema any
		value  string
		strict bool
		ok     bool
	}{
		{"ref ok", ref("Point"), `{"x":1,"y":2.5}`, false, true},
		{"ref missing required", ref("Point"), `{"y":1}`, false, false},
		{"integer", ref("Point"), `{"x":1.5}`, false, false},
		{"minimum", ref("Point"), `{"x":-1}`, false, false},
		{"maximum", ref("Point"), `{"x":10}`, false, false},
		{"additionalProperties false", ref("Point"), `{"x":1,"z":1}`, false, false},
		{"type", map[string]any{"type": "string"}, `1`, false, false},
		{"type list", map[string]any{"type": []any{"string", "null"}}, `null`, false, true},
		{"enum", map[string]any{"enum": []any{"a", "b"}}, `"c"`, false, false},
		{"const", map[string]any{"const": "a"}, `"a"`, false, true},
		{"const miss", map[string]any{"const": "a"}, `"b"`, false, false},
		{"pattern", map[string]any{"type": "string", "pattern": "^[0-9a-f]{4}$"}, `"abcg"`, false, false},
		{"minLength", map[string]any{"type": "string", "minLength": 1.0}, `""`, false, false},
		{"maxLength", map[string]any{"type": "string", "maxLength": 2.0}, `"abc"`, false, false},
		{"items", map[string]any{"type": "array", "items": ref("Point")}, `[{"x":1},{"x":"1"}]`, false, false},
		{"minItems", map[string]any{"type": "array", "minItems": 1.0}, `[]`, false, false},
		{"oneOf none", map[string]any{"oneOf": []any{ref("Point"), map[string]any{"type": "string"}}}, `true`, false, false},
		{"oneOf two", map[string]any{"oneOf": []any{ref("Named"), map[string]any{"type": "object"}}}, `{}`, false, false},
		{"oneOf one", map[string]any{"oneOf": []any{ref("Point"), map[string]any{"type": "string"}}}, `"s"`, false, true},
		{"anyOf", map[string]any{"anyOf": []any{ref("Point"), map[string]any{"type": "string"}}}, `1`, false, false},
		{"allOf", map[string]any{"allOf": []any{ref("Named"), map[string]any{"required": []any{"id"}}}}, `{"name":"a"}`, false, false},
		{"not", map[string]any{"not": map[string]any{"required": []any{"a"}}}, `{"a":1}`, false, false},
		{"if then", map[string]any{"if": map[string]any{"properties": map[string]any{"q": map[string]any{"const": "v"}}},
			"then": map[string]any{"required": []any{"s"}}}, `{"q":"v"}`, false, false},
		{"if else", map[string]any{"if": map[string]any{"properties": map[string]any{"q": map[string]any{"const": "v"}}},
			"then": true, "else": map[string]any{"required": []any{"s"}}}, `{"q":"w"}`, false, false},
		{"nested additionalProperties", map[string]any{"type": "object", "additionalProperties": ref("Point")}, `{"a":{"x":1},"b":{}}`, false, false},
		{"strict undeclared", ref("Named"), `{"name":"a","extra":1}`, true, false},
		{"lenient undeclared", ref("Named"), `{"name":"a","extra":1}`, false, true},
		{"strict through allOf", map[string]any{"allOf": []any{ref("Named"), map[string]any{"properties": map[string]any{"id": true}}}}, `{"name":"a","id":1}`, true, true},
		{"strict through allOf undeclared", map[string]any{"allOf": []any{ref("Named"), map[string]any{"properties": map[string]any{"id": true}}}}, `{"name":"a","idd":1}`, true, false},
		{"strict nested", map[string]any{"type": "object", "properties": map[string]any{"n": ref("Named")}}, `{"n":{"nam":"a"}}`, true, false},
		{"false schema", false, `1`, false, false},
		{"strict if then", map[string]any{"type": "object", "properties": map[string]any{"q": true, "s": true},
			"if":   map[string]any{"properties": map[string]any{"q": map[string]any{"const": "v"}}},
			"then": map[string]any{"required": []any{"s"}}}, `{"q":"v"}`, true, false},
		{"strict not", map[string]any{"type": "object", "properties": map[string]any{"q": true, "s": true},
			"not": map[string]any{"properties": map[string]any{"q": map[string]any{"const": "v"}}}}, `{"q":"v","s":1}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &validator{doc: doc, strict: tt.strict}
			errs := c.validate(tt.schema, obj(tt.value))
			if got := len(errs) == 0; got != tt.ok {
				t.Errorf("valid = %v (%q), want %v", got, errs, tt.ok)
			}
		})
	}
}
