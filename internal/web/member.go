package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/geomap"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
)

// Member pages: sign-in and the forms that make statements. The server
// renders each form, in the reader's language, for the roles the rules
// allow; static/member.js builds the statement from its fields, shows it,
// signs it in the browser with sign.js and submits it to
// POST /v1/statements. The server never sees a private key and signs
// nothing for a member.

// memberRoutes registers the sign-in and the member pages.
func (u *UI) memberRoutes() {
	u.mux.HandleFunc("GET /signin", u.signInPage)
	u.mux.HandleFunc("POST /signin/challenge", u.signInChallenge)
	u.mux.HandleFunc("POST /signin", u.signIn)
	u.mux.HandleFunc("POST /signout", u.signOut)
	u.mux.HandleFunc("GET /member", u.memberHome)
	u.mux.HandleFunc("GET /report/incident", u.form("incident"))
	u.mux.HandleFunc("GET /report/action", u.form("action"))
	u.mux.HandleFunc("GET /charter/cosign", u.form("cosign"))
	u.mux.HandleFunc("GET /incidents/{id}/{form}", u.subjectForm(store.KindIncident))
	u.mux.HandleFunc("GET /actions/{id}/{form}", u.subjectForm(store.KindAction))
	u.mux.HandleFunc("GET /static/{file}", u.script)
}

// scripts are the member pages' modules, served as they are in static/.
var scripts = map[string]bool{"sign.js": true, "member.js": true}

// script serves static/sign.js and static/member.js. member.js imports
// ./sign.js by name, so neither URL carries a hash: they are revalidated
// with an ETag instead of cached for good.
func (u *UI) script(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if !scripts[name] {
		u.notFound(w, r)
		return
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		u.notFound(w, r)
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Write(b)
}

// safeNext is where to go after signing in: a path on this site only.
// Browsers drop tabs and newlines from a URL and read "\\" as "/", so
// "/\t/evil.example" would be another site: a next with any control
// character or backslash, a scheme, a host, or a path that does not
// begin with exactly one "/" goes to /member instead.
func safeNext(next string) string {
	const home = "/member"
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || unicode.IsControl(r) }) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	return next
}

type signInData struct {
	Next string
	// Out is set just after signing out.
	Out bool
}

func (u *UI) signInPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	u.render(w, r, http.StatusOK, "member_signin", &signInData{Next: safeNext(r.URL.Query().Get("next")), Out: r.URL.Query().Get("out") != ""})
}

// eventType is an ACLED event type with its sub-event types.
type eventType struct {
	Name string
	Subs []string
}

// formData is what every member page gets.
type formData struct {
	// Form names the form: incident, action, evidence, reply, vote,
	// cosign.
	Form string
	// Type is the statement type the form makes.
	Type       string
	Places     []geomap.Place
	EventTypes []eventType
	// Subject is the incident or action a reply, vote or evidence is
	// about.
	Subject *subjectData
	// Question is the question voted on, Answers its possible answers.
	Question string
	Answers  []string
	// Open are the subject's questions still open to a vote.
	Open []string
	// Refused is set when the member's role may not use the form: the
	// message key saying why.
	Refused string
}

// formTypes maps each form to the statement type it makes.
var formTypes = map[string]string{
	"incident": truce.TypeIncident, "action": truce.TypeAction, "cosign": truce.TypeCharterAmend,
	"evidence": truce.TypeEvidence, "reply": truce.TypeReply, "vote": truce.TypeAssessment,
}

// signedIn gives the signed-in member, or sends the reader to the
// sign-in page and gives nil.
func (u *UI) signedIn(w http.ResponseWriter, r *http.Request) (*account, *state.Charter, bool) {
	c, err := u.latestCharter(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return nil, nil, false
	}
	a := u.account(r, c)
	if a == nil {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, nil, false
	}
	w.Header().Set("Cache-Control", "no-store")
	return a, c, true
}

func (u *UI) memberHome(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := u.signedIn(w, r); !ok {
		return
	}
	u.render(w, r, http.StatusOK, "member_home", nil)
}

// refusal is the message key saying why a member may not use a form, or
// "" when it may. These are the rules of internal/state, checked early so
// that no one fills in a form the server will refuse.
func refusal(form string, a *account, sub *subjectData) string {
	switch form {
	case "action":
		if a.Role != truce.RoleParty {
			return "form.refused.action"
		}
	case "cosign":
		if a.Role != truce.RoleParty && a.Role != truce.RoleMediator {
			return "form.refused.cosign"
		}
	case "reply":
		if a.Role != truce.RoleParty || !slices.Contains(sub.Subject.Interested, a.Party) {
			return "form.refused.reply"
		}
	}
	if sub != nil && sub.Subject.Withdrawn != nil {
		return "form.refused.withdrawn"
	}
	return ""
}

func (u *UI) form(form string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, _, ok := u.signedIn(w, r)
		if !ok {
			return
		}
		d := &formData{Form: form, Type: formTypes[form], Refused: refusal(form, a, nil)}
		if form == "incident" || form == "action" {
			d.Places = geomap.Places()
		}
		if form == "incident" {
			for _, t := range truce.ACLEDEventTypeOrder {
				d.EventTypes = append(d.EventTypes, eventType{t, truce.ACLEDEventTypes[t]})
			}
		}
		u.renderForm(w, r, d)
	}
}

// renderForm renders a form's page: 403 when the member's role may not
// use it.
func (u *UI) renderForm(w http.ResponseWriter, r *http.Request, d *formData) {
	status := http.StatusOK
	if d.Refused != "" {
		status = http.StatusForbidden
	}
	u.render(w, r, status, "member_"+d.Form, d)
}

func (u *UI) subjectForm(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form := r.PathValue("form")
		if form != "evidence" && form != "reply" && form != "vote" {
			u.notFound(w, r)
			return
		}
		a, c, ok := u.signedIn(w, r)
		if !ok {
			return
		}
		sub, err := u.subjectData(r.Context(), kind, r.PathValue("id"))
		switch {
		case errors.Is(err, store.ErrNotFound):
			u.notFound(w, r)
			return
		case err != nil:
			u.fail(w, r, err)
			return
		}
		d := &formData{Form: form, Type: formTypes[form], Subject: sub, Refused: refusal(form, a, sub)}
		for _, q := range sub.Questions {
			if q.Status != state.StatusDecided && q.Status != state.StatusWithdrawn {
				d.Open = append(d.Open, q.Name)
			}
		}
		if form == "vote" {
			d.Question = r.URL.Query().Get("question")
			if d.Question == "" && len(d.Open) > 0 {
				d.Question = d.Open[0]
			}
			if !slices.Contains(d.Open, d.Question) && d.Refused == "" {
				d.Refused = "form.refused.decided"
			}
			d.Answers = answers(d.Question, c)
		}
		u.renderForm(w, r, d)
	}
}

// answers are a question's possible answers, as SPEC lists them. A
// duplicate_of answer is an incident id, typed in, or none.
func answers(question string, c *state.Charter) []string {
	switch question {
	case truce.QuestionOrigin:
		var out []string
		for _, p := range c.Parties {
			out = append(out, p.ID)
		}
		return append(out, truce.AnswerNotAttributable, truce.AnswerInconclusive)
	case truce.QuestionDuplicateOf:
		return []string{truce.AnswerNone}
	}
	return []string{truce.AnswerYes, truce.AnswerNo, truce.AnswerInconclusive}
}

// MayReply says whether the signed-in member may reply to a subject:
// a party member of one of its interested parties.
func (p *page) MayReply(s *state.Subject) bool {
	return p.Account != nil && s.Withdrawn == nil && p.Account.Role == truce.RoleParty && slices.Contains(s.Interested, p.Account.Party)
}

// MayVote says whether the signed-in member may vote on a question now.
func (p *page) MayVote(s *state.Subject, status string) bool {
	return p.Account != nil && s.Withdrawn == nil && status != state.StatusDecided && status != state.StatusWithdrawn
}

// MayReportAction says whether the signed-in member may report a
// compliance action; MayCosign, a charter amendment.
func (p *page) MayReportAction() bool { return p.Account != nil && p.Account.Role == truce.RoleParty }

// MayCosign: see MayReportAction.
func (p *page) MayCosign() bool {
	return p.Account != nil && (p.Account.Role == truce.RoleParty || p.Account.Role == truce.RoleMediator)
}

// jsMessageKeys are the messages member.js shows, under "js.": the page
// lists them in the reader's language, so that the script needs no
// catalog of its own.
var jsMessageKeys = []string{
	"reading_key", "signing_in", "signin_failed", "no_key", "forgotten", "stored_as",
	"preparing", "signing", "submitting", "logged", "entry", "receipt", "open_subject", "refused", "unreachable",
	"hashing", "uploading", "uploaded", "upload_failed", "retry_upload",
	"bad_envelope", "not_amend", "version", "added", "removed", "changed", "unchanged", "rules", "members", "clauses",
	"signed_by", "missing", "complete", "cosigned", "saved",
}

type jsMessage struct{ Key, Text string }

// JSMessages are member.js's messages in the page's language.
func (p *page) JSMessages() []jsMessage {
	out := make([]jsMessage, len(jsMessageKeys))
	for i, k := range jsMessageKeys {
		out[i] = jsMessage{k, p.L.T("js." + k)}
	}
	return out
}
