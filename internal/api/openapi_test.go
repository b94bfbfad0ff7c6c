package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// walkSchemas calls fn with every schema in the document and where it is.
func walkSchemas(doc openAPIDoc, fn func(s map[string]any, at string)) {
	var walk func(v any, at string)
	walk = func(v any, at string) {
		s, ok := v.(map[string]any)
		if !ok {
			return // true or false
		}
		fn(s, at)
		for _, k := range []string{"items", "additionalProperties", "not", "if", "then", "else"} {
			if sub, ok := s[k]; ok {
				walk(sub, at+"/"+k)
			}
		}
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			list, _ := s[k].([]any)
			for i, sub := range list {
				walk(sub, fmt.Sprintf("%s/%s/%d", at, k, i))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for _, k := range sortedKeys(props) {
			walk(props[k], at+"/properties/"+k)
		}
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		walk(schemas[name], "#/components/schemas/"+name)
	}
	params, _ := comps["parameters"].(map[string]any)
	for _, name := range sortedKeys(params) {
		walk(params[name].(map[string]any)["schema"], "#/components/parameters/"+name+"/schema")
	}
	var media func(v any, at string)
	media = func(v any, at string) {
		m, _ := v.(map[string]any)
		content, _ := m["content"].(map[string]any)
		for _, ct := range sortedKeys(content) {
			if s, ok := content[ct].(map[string]any)["schema"]; ok {
				walk(s, at+"/content/"+ct+"/schema")
			}
		}
	}
	resps, _ := comps["responses"].(map[string]any)
	for _, name := range sortedKeys(resps) {
		media(resps[name], "#/components/responses/"+name)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item := paths[p].(map[string]any)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			at := "#/paths/" + p + "/" + m
			media(op["requestBody"], at+"/requestBody")
			rs, _ := op["responses"].(map[string]any)
			for _, code := range sortedKeys(rs) {
				media(rs[code], at+"/responses/"+code)
			}
			ps, _ := op["parameters"].([]any)
			for i, p := range ps {
				walk(p.(map[string]any)["schema"], fmt.Sprintf("%s/parameters/%d/schema", at, i))
			}
		}
	}
}

// refs calls fn with every $ref in v and where it is.
func refs(v any, at string, fn func(ref, at string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if k == "$ref" {
				if s, ok := v[k].(string); ok {
					fn(s, at)
					continue
				}
			}
			refs(v[k], at+"/"+k, fn)
		}
	case []any:
		for i, x := range v {
			refs(x, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.[0-9]+$`).MatchString(v) {
		t.Errorf("openapi is %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info %v lacks title or version", info)
	}

	// Every $ref resolves, and every schema, parameter and response is used.
	used := map[string]bool{}
	refs(map[string]any(doc), "#", func(ref, at string) {
		if _, ok := doc.pointer(ref); !ok {
			t.Errorf("%s: $ref %s does not resolve", at, ref)
		}
		used[ref] = true
	})
	comps := doc["components"].(map[string]any)
	for _, kind := range []string{"schemas", "parameters", "responses"} {
		m, _ := comps[kind].(map[string]any)
		for _, name := range sortedKeys(m) {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("%s is never used", ref)
			}
		}
	}

	// Operations: unique ids, summaries, described responses with status
	// codes, and path parameters declared exactly as the template has them.
	opIDs := map[string]string{}
	paths := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item := paths[p].(map[string]any)
		var inTemplate []string
		for _, m := range templateParam.FindAllStringSubmatch(p, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		if len(opsOf(item)) == 0 {
			t.Errorf("%s has no operations", p)
		}
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("%s and %s share operationId %s", where, other, id)
			}
			opIDs[id] = where
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s has no summary", where)
			}
			rs, _ := op["responses"].(map[string]any)
			if len(rs) == 0 {
				t.Errorf("%s describes no responses", where)
			}
			for _, code := range sortedKeys(rs) {
				if !regexp.MustCompile(`^[1-5][0-9][0-9]$`).MatchString(code) {
					t.Errorf("%s: response %q is not a status code", where, code)
				}
				if d, _ := doc.deref(rs[code])["description"].(string); d == "" {
					t.Errorf("%s: response %s has no description", where, code)
				}
			}
			var declared []string
			params := append(slices.Clone(asList(item["parameters"])), asList(op["parameters"])...)
			for _, p := range params {
				p := doc.deref(p)
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("%s: path parameter %s is not required", where, p["name"])
					}
				}
				if d, _ := p["description"].(string); d == "" {
					t.Errorf("%s: parameter %s has no description", where, p["name"])
				}
			}
			if !slices.Equal(sorted(declared), sorted(inTemplate)) {
				t.Errorf("%s: path parameters %v, want those of the template %v", where, declared, inTemplate)
			}
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestOpenAPIKeywords makes sure every schema keyword in the document is
// one the validator checks or a mere annotation, so that the live tests
// check every constraint the description states.
func TestOpenAPIKeywords(t *testing.T) {
	doc := loadOpenAPI(t)
	known := append(slices.Clone(schemaKeywords), annotationKeywords...)
	n := 0
	walkSchemas(doc, func(s map[string]any, at string) {
		n++
		for k := range s {
			if !slices.Contains(known, k) {
				t.Errorf("%s: keyword %q is not checked by the test validator", at, k)
			}
		}
		if p, ok := s["pattern"].(string); ok {
			if _, err := regexp.Compile(p); err != nil {
				t.Errorf("%s: pattern %q: %v", at, p, err)
			}
		}
		if req, ok := s["required"].([]any); ok {
			props, _ := s["properties"].(map[string]any)
			for _, r := range req {
				if _, ok := props[r.(string)]; !ok && props != nil {
					t.Errorf("%s: %s is required but not a property", at, r)
				}
			}
		}
	})
	if n < 100 {
		t.Errorf("walked %d schemas; the walk is missing most of them", n)
	}
}

// apiRoutes is every pattern that api.go registers on its mux, read from
// its source.
func apiRoutes(t *testing.T) []string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "api.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "mux" {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("%s: a route whose pattern is not a string literal; this test cannot read it", fset.Position(call.Pos()))
			return true
		}
		pattern, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, pattern)
		return true
	})
	return routes
}

// TestOpenAPIRoutes compares the routes that api.go registers with the
// paths that openapi.json describes, both ways. The C2SP log is one route
// (GET /log/) in api.go and one path per kind of resource in the
// description; the catch-all /v1/ (a JSON 404) is not an operation.
func TestOpenAPIRoutes(t *testing.T) {
	routes := apiRoutes(t)
	if len(routes) < 15 {
		t.Fatalf("found %d routes in api.go: %v; the parse is missing some", len(routes), routes)
	}
	registered := map[string]bool{}
	catchAll := false
	for _, r := range routes {
		if r == "/v1/" {
			catchAll = true
			continue
		}
		if !strings.Contains(r, " ") {
			t.Errorf("api.go registers %q for every method; describe it or give it a method", r)
		}
		// "/{$}" is ServeMux's way of saying exactly "/".
		registered[strings.Replace(r, " /{$}", " /", 1)] = true
	}
	if !catchAll {
		t.Errorf("api.go has no catch-all /v1/ route; the description promises a JSON 404 for unknown routes")
	}

	doc := loadOpenAPI(t)
	described := map[string]bool{}
	var logPaths []string
	paths := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		for _, m := range httpMethods {
			if _, ok := paths[p].(map[string]any)[m]; !ok {
				continue
			}
			route := strings.ToUpper(m) + " " + p
			if strings.HasPrefix(p, "/log/") {
				if m != "get" {
					t.Errorf("%s: the log is served read-only, by GET /log/", route)
				}
				route = "GET /log/"
				logPaths = append(logPaths, p)
			}
			described[route] = true
		}
	}
	for _, r := range sortedKeys(registered) {
		if !described[r] {
			t.Errorf("api.go registers %s, which openapi.json does not describe", r)
		}
	}
	for _, r := range sortedKeys(described) {
		if !registered[r] {
			t.Errorf("openapi.json describes %s, which api.go does not register", r)
		}
	}
	for _, want := range []string{"/log/checkpoint", "/log/tile/{L}/{N}", "/log/tile/{L}/{N}.p/{W}", "/log/tile/entries/{N}", "/log/tile/entries/{N}.p/{W}"} {
		if !slices.Contains(logPaths, want) {
			t.Errorf("openapi.json does not describe %s", want)
		}
	}
}

// TestOpenAPIStatuses checks that the statuses SPEC.md lists are described
// where SPEC.md says they happen.
func TestOpenAPIStatuses(t *testing.T) {
	doc := loadOpenAPI(t)
	paths := doc["paths"].(map[string]any)
	want := map[string][]string{
		"POST /v1/statements":             {"201", "200", "400", "401", "403", "409", "413"},
		"GET /v1/statements":              {"200", "400"},
		"GET /v1/statements/{index}":      {"200", "400", "404"},
		"GET /v1/charter":                 {"200", "404"},
		"GET /v1/members":                 {"200", "404"},
		"GET /v1/incidents":               {"200", "400"},
		"GET /v1/actions":                 {"200", "400"},
		"GET /v1/incidents/{id}":          {"200", "404"},
		"GET /v1/actions/{id}":            {"200", "404"},
		"GET /v1/compliance":              {"200"},
		"PUT /v1/evidence/{sha256}":       {"201", "400", "403", "413"},
		"GET /v1/evidence/{sha256}":       {"200", "404"},
		"GET /v1/log":                     {"200"},
		"GET /log/tile/entries/{N}":       {"200", "404"},
		"GET /log/checkpoint":             {"200"},
		"GET /v1/openapi.json":            {"200"},
		"GET /healthz":                    {"200"},
		"GET /metrics":                    {"200"},
		"GET /log/tile/{L}/{N}.p/{W}":     {"200", "404"},
		"GET /log/tile/{L}/{N}":           {"200", "404"},
		"GET /log/tile/entries/{N}.p/{W}": {"200", "404"},
	}
	for _, route := range sortedKeys(want) {
		method, path, _ := strings.Cut(route, " ")
		item, _ := paths[path].(map[string]any)
		op, _ := item[strings.ToLower(method)].(map[string]any)
		rs, _ := op["responses"].(map[string]any)
		for _, code := range want[route] {
			if _, ok := rs[code]; !ok {
				t.Errorf("%s does not describe status %s", route, code)
			}
		}
		// Every /v1/ error is the error shape.
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for _, code := range sortedKeys(rs) {
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			content, _ := doc.deref(rs[code])["content"].(map[string]any)
			media, _ := content["application/json"].(map[string]any)
			if ref, _ := media["schema"].(map[string]any)["$ref"].(string); ref != "#/components/schemas/Error" {
				t.Errorf("%s %s: schema %v, want the Error shape", route, code, media["schema"])
			}
		}
	}
}

// TestOpenAPIServed checks that the server serves the file.
func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/v1/openapi.json", nil)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.code != http.StatusOK || !bytes.Equal(r.body, want) {
		t.Errorf("GET /v1/openapi.json: %d, %d bytes; want 200 and openapi.json's %d bytes", r.code, len(r.body), len(want))
	}
}

// TestOpenAPILive requests every described GET operation of a live
// mechanism, with real values for the path parameters, and checks that each
// is served (not the catch-all 404) with a described status, Content-Type
// and schema.
func TestOpenAPILive(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	f.doUpload(sha(evidenceFile), evidenceFile, http.StatusCreated)
	size, _ := f.logSize()
	cp, err := f.srv.Ledger.WaitPublished(context.Background(), size)
	if err != nil {
		t.Fatal(err)
	}
	if size >= 256 {
		t.Fatalf("the world has %d entries; this test wants a partial first tile", size)
	}
	values := map[string]string{
		"index": "1", "version": "1", "sha256": sha(evidenceFile), "L": "0", "N": "000", "W": strconv.FormatUint(size, 10),
	}
	paths := f.doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		if _, ok := paths[p].(map[string]any)["get"]; !ok {
			continue
		}
		values["id"] = w.decided
		if strings.HasPrefix(p, "/v1/actions/") {
			values["id"] = w.action
		}
		path := templateParam.ReplaceAllStringFunc(p, func(m string) string {
			v, ok := values[m[1:len(m)-1]]
			if !ok {
				t.Fatalf("%s: no test value for %s", p, m)
			}
			return v
		})
		r := f.do("GET", path, nil)
		full := p == "/log/tile/{L}/{N}" || p == "/log/tile/entries/{N}"
		switch {
		case full && r.code == http.StatusNotFound:
			// A full tile of a log of fewer than 256 entries.
		case r.code != http.StatusOK:
			t.Errorf("GET %s (%s): %d %.200s, want 200", path, p, r.code, r.body)
		}
		switch p {
		case "/log/checkpoint":
			if !bytes.Equal(r.body, cp) {
				t.Errorf("GET %s: %q, want the published checkpoint %q", path, r.body, cp)
			}
		case "/log/tile/entries/{N}.p/{W}":
			// The bundle's second entry is the one /v1/statements/1 gives.
			entries := parseBundle(t, r.body)
			var st struct{ Entry json.RawMessage }
			json.Unmarshal(f.do("GET", "/v1/statements/1", nil).body, &st)
			if uint64(len(entries)) != size || !bytes.Equal(entries[1], st.Entry) {
				t.Errorf("GET %s: %d entries, [1] = %.100s; want %d entries, [1] = %.100s", path, len(entries), entries[1], size, st.Entry)
			}
		case "/healthz":
			if string(r.body) != "ok\n" {
				t.Errorf("GET /healthz: %q", r.body)
			}
		case "/metrics":
			if !bytes.Contains(r.body, []byte("truce_statements_total")) {
				t.Errorf("GET /metrics lacks truce_statements_total")
			}
		}
	}
	// The catch-all answers unknown routes with a JSON 404, which is
	// described in prose, not as an operation.
	for _, path := range []string{"/v1/nope", "/v1/statements/1/more"} {
		f.wantError(f.raw("GET", path, nil), "GET "+path, http.StatusNotFound, "no such API resource")
	}
	f.wantError(f.raw("DELETE", "/v1/statements", nil), "DELETE /v1/statements", http.StatusNotFound, "no such API resource")
}

// parseBundle splits a C2SP entry bundle: each entry is a big-endian
// 16-bit length and the entry.
func parseBundle(t *testing.T, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("entry bundle: %d trailing bytes", len(b))
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			t.Fatalf("entry bundle: entry of %d bytes, %d left", n, len(b)-2)
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}
