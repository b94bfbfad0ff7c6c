package web

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	// sessionTTL is how long a session lasts.
	sessionTTL = 12 * time.Hour
	// SessionCookie is the session cookie's name.
	SessionCookie = "truce_session"
)

// A nonce is hex of 16 random bytes, the expiry (Unix seconds, 8 bytes
// big-endian) and an HMAC-SHA256 of both with the origin, the host and
// the member: the server keeps nothing per challenge, so no flood of
// challenges can fill a table and lock the members out.
const (
	nonceRandom = 16
	nonceLen    = nonceRandom + 8 + sha256.Size
)

// sessions holds the per-process secret that session cookies and
// sign-in challenges are HMAC-SHA256'd with, and the nonces already
// answered with a valid signature, until they expire, so that none is
// used twice. Both live in memory only: a restart ends every session.
type sessions struct {
	secret [32]byte

	mu sync.Mutex
	// used maps each nonce answered with a valid signature to its
	// expiry. Only a member's key can add to it.
	used map[string]time.Time
}

func newSessions() *sessions {
	s := &sessions{used: map[string]time.Time{}}
	rand.Read(s.secret[:])
	return s
}

// ChallengeText is the exact text a member signs to sign in: the
// prefix, the mechanism's origin, the site's host, the member and the
// nonce, one per line.
func ChallengeText(origin, host, member, nonce string) string {
	return ChallengePrefix + "\nmechanism: " + origin + "\nsite: " + host + "\nmember: " + member + "\nnonce: " + nonce + "\n"
}

// nonceMAC binds a nonce's random bytes and expiry to the mechanism,
// the site and the member.
func (s *sessions) nonceMAC(origin, host, member string, random []byte, expires int64) []byte {
	m := hmac.New(sha256.New, s.secret[:])
	fmt.Fprintf(m, "truce sign-in challenge v1\n%s\n%s\n%s\n%d\n%x\n", origin, host, member, expires, random)
	return m.Sum(nil)
}

// issue makes a fresh challenge for member, expiring at expires.
func (s *sessions) issue(expires time.Time, origin, host, member string) (nonce, text string) {
	b := make([]byte, nonceRandom, nonceLen)
	rand.Read(b)
	e := expires.Unix()
	b = binary.BigEndian.AppendUint64(b, uint64(e))
	b = append(b, s.nonceMAC(origin, host, member, b[:nonceRandom], e)...)
	nonce = hex.EncodeToString(b)
	return nonce, ChallengeText(origin, host, member, nonce)
}

// check says whether nonce is one this server issued for this origin,
// host and member, and has not expired; it gives the expiry.
func (s *sessions) check(now time.Time, origin, host, member, nonce string) (time.Time, error) {
	b, err := hex.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return time.Time{}, fmt.Errorf("%w: the challenge is not one of this site's: ask for a new one", errSignIn)
	}
	e := int64(binary.BigEndian.Uint64(b[nonceRandom:]))
	if !hmac.Equal(b[nonceRandom+8:], s.nonceMAC(origin, host, member, b[:nonceRandom], e)) {
		return time.Time{}, fmt.Errorf("%w: the challenge was for another member or site", errSignIn)
	}
	expires := time.Unix(e, 0)
	if !now.Before(expires) {
		return time.Time{}, fmt.Errorf("%w: the challenge has expired: ask for a new one", errSignIn)
	}
	return expires, nil
}

// use records a nonce answered with a valid signature, and says false
// when it was used before. Expired nonces are forgotten: check refuses
// them anyway.
func (s *sessions) use(now time.Time, nonce string, expires time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, e := range s.used {
		if !now.Before(e) {
			delete(s.used, n)
		}
	}
	if _, ok := s.used[nonce]; ok {
		return false
	}
	s.used[nonce] = expires
	return true
}

// mac is the HMAC of a session's member, the keyid it signed in with
// and its expiry.
func (s *sessions) mac(member, keyid string, expires int64) []byte {
	m := hmac.New(sha256.New, s.secret[:])
	fmt.Fprintf(m, "truce session v2\n%s\n%s\n%d\n", member, keyid, expires)
	return m.Sum(nil)
}

// cookieValue is member, keyid, expiry (Unix seconds) and their MAC.
func (s *sessions) cookieValue(member, keyid string, expires time.Time) string {
	e := expires.Unix()
	return base64.RawURLEncoding.EncodeToString([]byte(member)) + "." + keyid + "." + strconv.FormatInt(e, 10) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac(member, keyid, e))
}

// member reads a cookie value: the member and keyid it names, when its
// MAC holds and it has not expired.
func (s *sessions) member(now time.Time, value string) (member, keyid string, ok bool) {
	parts := strings.Split(value, ".")
	if len(parts) != 4 {
		return "", "", false
	}
	m, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	e, err2 := strconv.ParseInt(parts[2], 10, 64)
	mac, err3 := base64.RawURLEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", "", false
	}
	if !hmac.Equal(mac, s.mac(string(m), parts[1], e)) || now.Unix() >= e {
		return "", "", false
	}
	return string(m), parts[1], true
}

// account is the signed-in member, as the pages show it.
type account struct {
	ID, Name, Role, Party string
}

// account is the request's signed-in member, or nil: a session whose
// member the current charter no longer lists, or whose key is no longer
// one of the member's, has ended.
func (u *UI) account(r *http.Request, c *state.Charter) *account {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || c == nil {
		return nil
	}
	id, keyid, ok := u.sessions.member(u.cfg.Now(), ck.Value)
	if !ok {
		return nil
	}
	m := c.Member(id)
	if m == nil || keyByID(m, keyid) == nil {
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
	expires := u.cfg.Now().Add(challengeTTL).Truncate(time.Second)
	nonce, text := u.sessions.issue(expires, u.cfg.Mechanism.Origin(), r.Host, req.Member)
	writeJSON(w, http.StatusOK, ChallengeResponse{Nonce: nonce, Text: text, Expires: expires.UTC()})
}

// errSignIn is why a sign-in is refused.
var errSignIn = errors.New("sign-in refused")

// checkSignIn checks an answer to a challenge against the current
// charter: the challenge is this site's, for this member and unexpired;
// the key is one of the member's; the signature verifies; and only then,
// the nonce has not been used. A wrong answer uses up nothing, so that
// no one but the member can fill the table of used nonces.
func (u *UI) checkSignIn(r *http.Request, c *state.Charter, req *SignInRequest) (*truce.Member, error) {
	now := u.cfg.Now()
	origin := u.cfg.Mechanism.Origin()
	expires, err := u.sessions.check(now, origin, r.Host, req.Member, req.Nonce)
	if err != nil {
		return nil, err
	}
	m := c.Member(req.Member)
	if m == nil {
		return nil, fmt.Errorf("%w: %s is not a member of the current charter", errSignIn, req.Member)
	}
	pub := keyByID(m, req.KeyID)
	if pub == nil {
		return nil, fmt.Errorf("%w: key %s is not a key of %s in the current charter", errSignIn, shortID(req.KeyID), req.Member)
	}
	sig, err := base64.StdEncoding.DecodeString(req.Signature)
	if err != nil || !ed25519.Verify(pub, []byte(ChallengeText(origin, r.Host, req.Member, req.Nonce)), sig) {
		return nil, fmt.Errorf("%w: the signature does not verify with %s's key %s", errSignIn, req.Member, shortID(req.KeyID))
	}
	if !u.sessions.use(now, req.Nonce, expires) {
		return nil, fmt.Errorf("%w: the challenge was used already: ask for a new one", errSignIn)
	}
	return m, nil
}

// keyByID is the member's public key with keyid, or nil.
func keyByID(m *truce.Member, keyid string) ed25519.PublicKey {
	for _, k := range m.Keys {
		if p, err := truce.ParsePublicKey(k); err == nil && truce.KeyID(p) == keyid {
			return p
		}
	}
	return nil
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
		Name: SessionCookie, Value: u.sessions.cookieValue(m.ID, req.KeyID, expires), Path: "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: u.secure(r),
	})
	writeJSON(w, http.StatusOK, map[string]string{"member": m.ID, "name": m.Name, "role": m.Role})
}

func (u *UI) signOut(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "a sign-out must come from this site's own page", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: u.secure(r)})
	http.Redirect(w, r, "/signin?out=1", http.StatusSeeOther)
}

// secure says whether the session cookie is Secure: when the request
// came over TLS, or always with Config.SecureCookies (behind a proxy that
// terminates TLS, where every request reaches us as plain HTTP).
func (u *UI) secure(r *http.Request) bool {
	return r.TLS != nil || u.cfg.SecureCookies
}
