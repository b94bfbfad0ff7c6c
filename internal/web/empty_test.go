package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/truce-mechanism/truce/internal/server"
)

// TestBeforeTheCharter serves every page of a mechanism that has just
// been made, with no charter yet: each must answer, in every language,
// with its security headers, rather than fail.
func TestBeforeTheCharter(t *testing.T) {
	dir := t.TempDir()
	if _, err := server.Init(dir, "truce.example/empty"); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, lang := range []string{"en", "ps", "prs", "ur", "tr"} {
		for path, want := range map[string]int{
			"/": 200, "/map": 200, "/incidents": 200, "/actions": 200, "/compliance": 200,
			"/charter": 200, "/signin": 200, "/no-such-page": 404, "/incidents/none": 404,
		} {
			resp, err := client.Get(ts.URL + path + "?lang=" + lang)
			if err != nil {
				t.Fatalf("GET %s in %s: %v", path, lang, err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s in %s: %d, want %d", path, lang, resp.StatusCode, want)
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("GET %s in %s: no CSP header", path, lang)
			}
		}
	}
}
