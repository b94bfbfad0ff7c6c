package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/api"
	"github.com/truce-mechanism/truce/internal/browser"
	"github.com/truce-mechanism/truce/internal/demo"
	"github.com/truce-mechanism/truce/internal/store"
)

// submitted clicks a submit button and waits for the outcome: the log
// index's link, or an error on the page, which fails the test.
func submitted(t *testing.T, b *browser.Browser, button string) {
	t.Helper()
	b.Click(button)
	var out struct {
		OK            bool
		Error, Result string
	}
	b.Eval(`new Promise((done) => { const start = Date.now(); const poll = () => {
		const err = document.querySelector(".form-error:not([hidden])"), res = document.querySelector("#result");
		if (document.querySelector("#result a.index") || err || Date.now() - start > 20000) {
			return done({OK: !!document.querySelector("#result a.index"), Error: err ? err.textContent : "", Result: res.hidden ? "" : res.textContent});
		}
		setTimeout(poll, 20) }; poll() })`, &out)
	if !out.OK {
		t.Fatalf("%s: no log index; the form says %q, the result %q", button, out.Error, out.Result)
	}
}

// TestMemberActionFlow: in Chromium, a party member reports a compliance
// action with a place; the action is logged, and its public page shows
// it.
func TestMemberActionFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, base := ownDemo(t)

	signInBrowser(t, b, base, d, "af-1")
	b.Open(base+"/member", browser.Desktop)
	b.Click(`a[href="/report/action"]`)
	b.WaitVisible("#f-description")
	var clauses []string
	b.Eval(`Array.from(document.querySelectorAll("#f-clause option"), (o) => o.value)`, &clauses)
	if len(clauses) < 2 {
		t.Fatalf("the clause list offers %v", clauses)
	}
	clause := clauses[1]
	set(b, "#f-clause", clause)
	set(b, "#f-taken", "2025-11-28")
	description := "Withdrew two artillery batteries 20 km back from the Torkham crossing, as the clause requires."
	b.Fill("#f-description", description)
	set(b, "#f-place", "Torkham")
	st := review(t, b)
	body, _ := st["body"].(map[string]any)
	loc, _ := body["location"].(map[string]any)
	if st["type"] != truce.TypeAction || st["author"] != "af-1" || body["clause"] != clause || body["taken_at"] != "2025-11-28" ||
		body["description"] != description || loc == nil || loc["place"] != "Torkham" || loc["lat"] != 34.11 {
		t.Fatalf("the statement shown: %v", st)
	}
	submitted(t, b, "#sign-submit")
	var href string
	b.Eval(`document.querySelector("#result .open-subject").getAttribute("href")`, &href)
	if want := "/actions/" + st["id"].(string); href != want {
		t.Fatalf("the result links %q, want %q", href, want)
	}

	// Logged: the statement at the index is the one shown, and the
	// action's page shows it to anyone.
	var index string
	b.Eval(`document.querySelector("#result a.index").getAttribute("href")`, &index)
	res, err := http.Get(base + index)
	if err != nil {
		t.Fatal(err)
	}
	var logged api.Statement
	json.NewDecoder(res.Body).Decode(&logged)
	res.Body.Close()
	entry, err := truce.ParseEntry(logged.Entry)
	if res.StatusCode != http.StatusOK || err != nil || entry.Statement == nil || entry.Statement.ID != st["id"] || !logged.Verdict.Accepted {
		t.Errorf("GET %s: %d, entry %v (%v), verdict %+v, want statement %s accepted", index, res.StatusCode, entry, err, logged.Verdict, st["id"])
	}
	r := get(t, base, href)
	if r.code != http.StatusOK || !strings.Contains(r.body, description) || !strings.Contains(r.body, "Torkham") {
		t.Errorf("GET %s: %d, without the description or the place", href, r.code)
	}
	b.Open(base+href, browser.Desktop)
	if got := b.Text("main h1"); !strings.Contains(got, clause) {
		t.Errorf("the action's page is headed %q, want its clause %s", got, clause)
	}
}

// TestMemberEvidenceFlow: in Chromium, a monitor picks a file for an
// incident (a wrong one first, then the right one); the browser hashes it, signs and submits the evidence.add,
// then uploads the file; the mechanism serves the very bytes back under
// their hash, and the incident's page lists the file with its hash.
func TestMemberEvidenceFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, base := ownDemo(t)
	open, _, err := d.Server.Store.Subjects(context.Background(), store.KindIncident, store.Filter{Status: "open", Limit: 1})
	if err != nil || len(open) == 0 {
		t.Fatalf("no open incident: %v", err)
	}
	incident := "/incidents/" + open[0].ID

	// Bytes that are not text, so that a re-encoding anywhere would show.
	content := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for i := range 3000 {
		content = append(content, byte(i*7), byte(i>>3))
	}
	file := filepath.Join(t.TempDir(), "crater-north.png")
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])

	signInBrowser(t, b, base, d, "mon-1")
	b.Open(base+incident, browser.Desktop)
	b.Click(`a[href$="/evidence"]`)
	b.WaitVisible("#f-file")
	description := "The crater north of the customs yard, photographed the morning after."
	b.Fill("#f-description", description)

	// The wrong file first: the statement reviewed names it; picking the
	// right one takes that statement away and names the new file.
	wrong := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(wrong, []byte("not the photograph\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.SetFile("#f-file", wrong)
	if st := review(t, b); st["body"].(map[string]any)["name"] != "notes.txt" || st["body"].(map[string]any)["media_type"] != "text/plain" {
		t.Fatalf("the statement for notes.txt: %v", st)
	}
	b.SetFile("#f-file", file)
	var hidden bool
	b.Eval(`document.querySelector("#review").hidden`, &hidden)
	if !hidden {
		t.Errorf("after another file was picked, the statement for the first is still offered for signing")
	}
	st := review(t, b)
	body, _ := st["body"].(map[string]any)
	if st["type"] != truce.TypeEvidence || st["author"] != "mon-1" || body["subject"] != open[0].ID || body["sha256"] != hash ||
		body["size"] != float64(len(content)) || body["name"] != "crater-north.png" || body["media_type"] != "image/png" || body["description"] != description {
		t.Fatalf("the statement shown: %v, want sha256 %s and size %d", st, hash, len(content))
	}
	if got := value(b, "#f-sha"); got != hash {
		t.Errorf("the form shows the hash %q, want %s", got, hash)
	}
	submitted(t, b, "#sign-submit")
	b.WaitVisible("#result .uploaded, #result .error")
	if got := b.Text("#result"); strings.Contains(got, "failed") || !strings.Contains(got, "Logged at index") {
		t.Fatalf("result: %q", got)
	}

	res, err := http.Get(base + "/v1/evidence/" + hash)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || !slices.Equal(got, content) {
		t.Errorf("GET /v1/evidence/%s: %d, %d bytes (%v), want the %d bytes uploaded", hash, res.StatusCode, len(got), err, len(content))
	}

	b.Open(base+incident, browser.Desktop)
	var row struct{ Name, Hash, Short, Text string }
	b.Eval(`(() => { const a = document.querySelector("#h-evidence ~ .scroll a[href="+JSON.stringify("/v1/evidence/`+hash+`")+"]");
		return a ? {Name: a.textContent, Hash: a.closest("tr").querySelector("code.hash").title,
			Short: a.closest("tr").querySelector("code.hash").textContent, Text: a.closest("tr").textContent} : null })()`, &row)
	short := strings.TrimSuffix(row.Short, "…")
	if row.Name != "crater-north.png" || row.Hash != hash || len(short) < 16 || !strings.HasPrefix(hash, short) || !strings.Contains(row.Text, description) {
		t.Errorf("the incident's evidence row: %+v, want the file, its hash %s and its description", row, hash)
	}
}

// TestMemberCosignFlow: a charter amendment that adds a clause, signed in
// Go by one mediator, is co-signed in Chromium by every other party and
// mediator member in turn, each loading what the one before saved (from
// its file, or pasted); each sees the clause added and who still must
// sign; the last submits it, and the charter in force is the new
// version.
func TestMemberCosignFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	b := browser.New(t)
	d, base := ownDemo(t)

	var charter struct {
		Version int            `json:"version"`
		Members []truce.Member `json:"members"`
		Clauses []truce.Clause `json:"clauses"`
		Rules   truce.Rules    `json:"rules"`
	}
	getCharter := func() {
		t.Helper()
		res, err := http.Get(base + "/v1/charter")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&charter); err != nil {
			t.Fatal(err)
		}
	}
	getCharter()
	old := charter.Version
	var signers []string
	for _, m := range charter.Members {
		if m.Role == truce.RoleParty || m.Role == truce.RoleMediator {
			signers = append(signers, m.ID)
		}
	}
	if len(signers) < 3 {
		t.Fatalf("the charter's party and mediator members: %v", signers)
	}
	clause := truce.Clause{ID: "water-sharing", Text: "Neither party diverts the Kabul river without notice to the other.", Consequence: "Referred to the mediators."}
	amend := &truce.CharterAmend{Version: old + 1, Members: charter.Members, Clauses: append(slices.Clone(charter.Clauses), clause), Rules: charter.Rules}
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := memberKey(t, d, signers[0])
	env, err := truce.SignStatement(&truce.Statement{Type: truce.TypeCharterAmend, ID: id.String(), Mechanism: demo.Origin,
		Author: signers[0], Time: time.Now().UTC().Truncate(time.Second)}, amend, key)
	if err != nil {
		t.Fatal(err)
	}
	envJSON, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	for i, member := range signers[1:] {
		last := i == len(signers)-2
		signInBrowser(t, b, base, d, member)
		b.Open(base+"/member", browser.Desktop)
		b.Click(`a[href="/charter/cosign"]`)
		b.WaitVisible("#f-envelope")
		if i%2 == 0 {
			file := filepath.Join(dir, "charter-amend-"+member+".json")
			if err := os.WriteFile(file, envJSON, 0o644); err != nil {
				t.Fatal(err)
			}
			b.SetFile("#f-envfile", file)
			b.Eval(`new Promise((ok) => { const t = () => document.querySelector("#f-envelope").value ? ok(true) : setTimeout(t, 10); t() })`, nil)
		} else {
			set(b, "#f-envelope", string(envJSON))
		}
		b.Click("#cosign-form button[type=submit]")
		b.WaitVisible("#review")
		if got := b.Text("#changes"); !strings.Contains(got, "Makes charter version "+strconv.Itoa(old+1)) || !strings.Contains(got, "added: water-sharing") {
			t.Errorf("%s sees the changes %q, want version %d and the clause added", member, got, old+1)
		}
		if got := b.Text("#signatures"); !strings.Contains(got, strings.Join(signers[i+1:], ", ")) || !strings.Contains(got, signers[0]) {
			t.Errorf("%s sees the signatures %q, want %v still missing", member, got, signers[i+1:])
		}
		b.Click("#cosign")
		b.WaitVisible("#cosign-submit")
		sigs := b.Text("#signatures")
		if last != strings.Contains(sigs, "Every signer has signed") || !strings.Contains(sigs, member) {
			t.Errorf("after %s co-signed, the signatures say %q", member, sigs)
		}
		if err := json.Unmarshal([]byte(value(b, "#f-envelope")), &struct{}{}); err != nil {
			t.Fatalf("the co-signed envelope is not JSON: %v", err)
		}
		envJSON = []byte(value(b, "#f-envelope"))
		if last {
			submitted(t, b, "#cosign-submit")
		} else {
			b.Click("#cosign-save")
			b.WaitVisible("#result")
			if got := b.Text("#result"); !strings.Contains(got, "pass the file to the next signer") {
				t.Errorf("%s saved the envelope and the page says %q", member, got)
			}
		}
		signOutBrowser(b)
	}

	getCharter()
	if charter.Version != old+1 || !slices.ContainsFunc(charter.Clauses, func(c truce.Clause) bool { return c == clause }) {
		t.Errorf("GET /v1/charter: version %d with clauses %v, want version %d with %s", charter.Version, charter.Clauses, old+1, clause.ID)
	}
	r := get(t, base, "/charter")
	if !strings.Contains(r.body, clause.Text) {
		t.Errorf("/charter does not show the new clause")
	}
}
