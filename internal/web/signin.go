package web

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

// Sign-in: the member's browser signs a challenge with the member's own
// key (sign.js keeps it in IndexedDB as a non-extractable WebCrypto key),
// and the server answers with a session cookie. The cookie only says who
// is reading, to show the member's forms; every change is still a
// statement that the browser signs with the key, so a stolen cookie
// forges nothing.

// ChallengePrefix begins every sign-in challenge. A DSSE signature is
// over a PAE, which begins "DSSEv1 ", so a signed challenge can never be
// taken for a signed statement, nor the other way round.
const ChallengePrefix = "truce sign-in v1"

const (
	// challengeTTL is how long a challenge may be answered.
	challengeTTL = 5 * time.Minute
	// maxChallenges bounds the challenges kept waiting for an answer, so
	// that a flood of requests cannot fill the memory.
	maxChallenges = 10_000
	// sessionTTL is how long a session lasts.
	sessionTTL = 12 * time.Hour
	// SessionCookie is the session cookie's name.
	SessionCookie = "truce_session"
)

// challenge is one sign-in challenge waiting for its signature.
type challenge struct {
	member, text string
	expires      time.Time
}

// sessions holds the per-process secret that session cookies are
// HMAC-SHA256'd with, and the challenges not yet answered. Both live in
// memory only: a restart ends every session.
type sessions struct {
	secret [32]byte

	mu         sync.Mutex
	challenges map[string]challenge
}

func newSessions() *sessions {
	s := &sessions{challenges: map[string]challenge{}}
	rand.Read(s.secret[:])
	return s
}

// ChallengeText is the exact text a member signs to sign in: the
// prefix, the mechanism's origin, the site's host, the member and the
// nonce, one per line.
func ChallengeText(origin, host, member, nonce string) string {
	return ChallengePrefix + "\nmechanism: " + origin + "\nsite: " + host + "\nmember: " + member + "\nnonce: " + nonce + "\n"
}

// issue makes a fresh challenge for member.
func (s *sessions) issue(now time.Time, origin, host, member string) (nonce, text string, err error) {
	var b [32]byte
	rand.Read(b[:])
	nonce = hex.EncodeToString(b[:])
	text = ChallengeText(origin, host, member, nonce)
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, c := range s.challenges {
		if !now.Before(c.expires) {
			delete(s.challenges, n)
		}
	}
	if len(s.challenges) >= maxChallenges {
		return "", "", errors.New("too many sign-ins are waiting: try again in a few minutes")
	}
	s.challenges[nonce] = challenge{member: member, text: text, expires: now.Add(challengeTTL)}
	return nonce, text, nil
}

// take removes and returns the challenge with nonce: each is answered at
// most once, whether or not the answer is right.
func (s *sessions) take(now time.Time, nonce string) (challenge, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.challenges[nonce]
	delete(s.challenges, nonce)
	return c, ok && now.Before(c.expires)
}

// mac is the HMAC of a session's member and expiry.
func (s *sessions) mac(member string, expires int64) []byte {
	m := hmac.New(sha256.New, s.secret[:])
	fmt.Fprintf(m, "truce session v1\n%s\n%d\n", member, expires)
	return m.Sum(nil)
}

// cookieValue is member, expiry (Unix seconds) and their MAC.
func (s *sessions) cookieValue(member string, expires time.Time) string {
	e := expires.Unix()
	return base64.RawURLEncoding.EncodeToString([]byte(member)) + "." + strconv.FormatInt(e, 10) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac(member, e))
}

// member reads a cookie value: the member it names, when its MAC holds
// and it has not expired.
func (s *sessions) member(now time.Time, value string) (string, bool) {
	parts := strings.Split(value, ".")
	if len(parts) != 3 {
		return "", false
	}
	m, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	e, err2 := strconv.ParseInt(parts[1], 10, 64)
	mac, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", false
	}
	if !hmac.Equal(mac, s.mac(string(m), e)) || now.Unix() >= e {
		return "", false
	}
	return string(m), true
}

// account is the signed-in member, as the pages show it.
type account struct {
	ID, Name, Role, Party string
}

// account is the request's signed-in member, or nil: a session whose
// member the current charter no longer lists has ended.
func (u *UI) account(r *http.Request, c *state.Charter) *account {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || c == nil {
		return nil
	}
	id, ok := u.sessions.member(u.cfg.Now(), ck.Value)
	if !ok {
		return nil
	}
	m := c.Member(id)
	if m == nil {
		return nil
	}
	return &account{ID: m.ID, Name: m.Name, Role: m.Role, Party: m.Party}
}

// sameOrigin refuses a POST that a page of another site made: the
// browser's Origin header, when it sends one, must be this site. Under
// the pages' Referrer-Policy: no-referrer a form's POST carries
// "Origin: null"; then Fetch Metadata (Sec-Fetch-Site) decides.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		site := r.Header.Get("Sec-Fetch-Site")
		return site == "same-origin" || o == "" && site == ""
	}
	ou, err := url.Parse(o)
	return err == nil && ou.Host == r.Host
}

// jsonError answers in the API's error shape.
func jsonError(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// maxSignInBody bounds the JSON of a sign-in request.
const maxSignInBody = 4096

// challengeRequest is the body of POST /signin/challenge.
type challengeRequest struct {
	Member string `json:"member"`
}

// ChallengeResponse is the answer to POST /signin/challenge.
type ChallengeResponse struct {
	Nonce string `json:"nonce"`
	// Text is what to sign, byte for byte, as UTF-8.
	Text    string    `json:"text"`
	Expires time.Time `json:"expires"`
}

// SignInRequest is the body of POST /signin.
type SignInRequest struct {
	Member string `json:"member"`
	KeyID  string `json:"keyid"`
	Nonce  string `json:"nonce"`
	// Signature is the standard base64 of the Ed25519 signature of the
	// challenge's text.
	Signature string `json:"signature"`
}

func (u *UI) signInChallenge(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		jsonError(w, http.StatusForbidden, "a sign-in must come from this site's own page")
		return
	}
	var req challengeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSignInBody)).Decode(&req); err != nil || req.Member == "" {
		jsonError(w, http.StatusBadRequest, `the body must be {"member": "<member id>"}`)
		return
	}
	c, err := u.latestCharter(r.Context())
	if err != nil {
		u.cfg.Logger.Error("cannot read the charter", "err", err)
		jsonError(w, http.StatusInternalServerError, "cannot read the charter")
		return
	}
	if c == nil || c.Member(req.Member) == nil {
		jsonError(w, http.StatusForbidden, fmt.Sprintf("%s is not a member of the mechanism's current charter", req.Member))
		return
	}
	now := u.cfg.Now()
	nonce, text, err := u.sessions.issue(now, u.cfg.Mechanism.Origin(), r.Host, req.Member)
	if err != nil {
		jsonError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ChallengeResponse{Nonce: nonce, Text: text, Expires: now.Add(challengeTTL).UTC()})
}

// errSignIn is why a sign-in is refused.
var errSignIn = errors.New("sign-in refused")

// checkSignIn checks an answer to a challenge against the current
// charter: the challenge is this site's, unused, unexpired and for this
// member; the key is one of the member's; the signature verifies.
func (u *UI) checkSignIn(r *http.Request, c *state.Charter, req *SignInRequest) (*truce.Member, error) {
	ch, ok := u.sessions.take(u.cfg.Now(), req.Nonce)
	if !ok {
		return nil, fmt.Errorf("%w: the challenge is unknown, used or expired: ask for a new one", errSignIn)
	}
	if ch.member != req.Member || ch.text != ChallengeText(u.cfg.Mechanism.Origin(), r.Host, req.Member, req.Nonce) {
		return nil, fmt.Errorf("%w: the challenge was for another member or site", errSignIn)
	}
	m := c.Member(req.Member)
	if m == nil {
		return nil, fmt.Errorf("%w: %s is not a member of the current charter", errSignIn, req.Member)
	}
	var pub ed25519.PublicKey
	for _, k := range m.Keys {
		if p, err := truce.ParsePublicKey(k); err == nil && truce.KeyID(p) == req.KeyID {
			pub = p
		}
	}
	if pub == nil {
		return nil, fmt.Errorf("%w: key %s is not a key of %s in the current charter", errSignIn, shortID(req.KeyID), req.Member)
	}
	sig, err := base64.StdEncoding.DecodeString(req.Signature)
	if err != nil || !ed25519.Verify(pub, []byte(ch.text), sig) {
		return nil, fmt.Errorf("%w: the signature does not verify with %s's key %s", errSignIn, req.Member, shortID(req.KeyID))
	}
	return m, nil
}

func shortID(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		jsonError(w, http.StatusForbidden, "a sign-in must come from this site's own page")
		return
	}
	var req SignInRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSignInBody)).Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, `the body must be {"member", "keyid", "nonce", "signature"}`)
		return
	}
	c, err := u.latestCharter(r.Context())
	if err != nil || c == nil {
		jsonError(w, http.StatusInternalServerError, "cannot read the charter")
		return
	}
	m, err := u.checkSignIn(r, c, &req)
	if err != nil {
		u.cfg.Logger.Info("sign-in refused", "member", req.Member, "err", err)
		jsonError(w, http.StatusUnauthorized, err.Error())
		return
	}
	expires := u.cfg.Now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: u.sessions.cookieValue(m.ID, expires), Path: "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, map[string]string{"member": m.ID, "name": m.Name, "role": m.Role})
}

func (u *UI) signOut(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "a sign-out must come from this site's own page", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/signin?out=1", http.StatusSeeOther)
}
