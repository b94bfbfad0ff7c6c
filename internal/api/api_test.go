package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

// stranger is a key no member holds.
var stranger = testKey("stranger")

// tamper decodes an envelope, lets fn change it, and encodes it again.
func tamper(t *testing.T, env []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(env, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstSig(m map[string]any) map[string]any {
	return m["signatures"].([]any)[0].(map[string]any)
}

func key31() string { return base64.StdEncoding.EncodeToString(make([]byte, 31)) }

// TestSubmitErrors submits statements that must be refused, one per way a
// statement can be wrong, and checks the status, the error shape and
// message, and that nothing was logged.
func TestSubmitErrors(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	accepted := f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.open, "occurred", "yes", ""))
	f.submit(accepted)
	good := func() []byte {
		return f.seal(f.statement("qa-1", truce.TypeAssessment), vote(w.open, "occurred", "yes", ""))
	}

	withBody := func(author, typ, body string) []byte {
		st := f.statement(author, typ)
		st.Body = json.RawMessage(body)
		return f.seal(st, nil)
	}
	otherMechanism := f.statement("tr-1", truce.TypeAssessment)
	otherMechanism.Mechanism = "truce.example/another"
	unknownType := f.statement("af-1", "incident.rumour")
	noLat := incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF")
	noLat.Location.Lat = nil
	badCharter := charter()
	badCharter.Members[0].Keys = []string{key31()}
	amend := func(version int, keys ...string) *truce.CharterAmend {
		c := charter()
		if len(keys) > 0 {
			c.Members[0].Keys = keys
		}
		return &truce.CharterAmend{Version: version, Members: c.Members, Clauses: c.Clauses, Rules: c.Rules}
	}
	notAuthor := f.statement("tr-1", truce.TypeAssessment)
	notAuthorEnv, _ := truce.SignStatement(notAuthor, vote(w.open, "occurred", "yes", ""), testKey("pk-1"))
	notAuthorJSON, _ := notAuthorEnv.MarshalJSON()
	nonMember := f.statement("zz-9", truce.TypeAssessment)
	nonMemberEnv, _ := truce.SignStatement(nonMember, vote(w.open, "occurred", "yes", ""), stranger)
	nonMemberJSON, _ := nonMemberEnv.MarshalJSON()
	takenID := f.statement("qa-1", truce.TypeAssessment)
	takenID.ID = w.decided
	big := incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF")
	big.Narrative = strings.Repeat("x", 61<<10)
	huge := []byte(`{"envelopes":["` + strings.Repeat("x", 4<<20) + `"]}`)

	tests := []struct {
		name   string
		body   []byte
		code   int
		phrase string
	}{
		// 400: malformed.
		{"not JSON", []byte(`{"payloadType":`), 400, "request body is not a JSON object"},
		{"unsigned statement", []byte(`{"type":"reply","mechanism":"m","author":"af-1","body":{"subject":"s","text":"t"}}`), 400, "a reply statement that nobody signed"},
		{"payload not base64", []byte(`{"payload":"!!!","payloadType":"application/vnd.truce.statement+json","signatures":[]}`), 400, "payload is not base64"},
		{"signature not base64", tamper(t, good(), func(m map[string]any) { firstSig(m)["sig"] = "%%%" }), 400, "sig is not base64"},
		{"signature of 32 bytes", tamper(t, good(), func(m map[string]any) { firstSig(m)["sig"] = base64.StdEncoding.EncodeToString(make([]byte, 32)) }), 400, "an Ed25519 signature is 64"},
		{"keyid not hex", tamper(t, good(), func(m map[string]any) { firstSig(m)["keyid"] = "ABC" }), 400, "is not 64 lowercase hex digits"},
		{"unknown envelope field", tamper(t, good(), func(m map[string]any) { m["extra"] = 1 }), 400, "unknown field"},
		{"another payloadType", tamper(t, good(), func(m map[string]any) { m["payloadType"] = "application/json" }), 400, "payloadType is"},
		{"payload not a statement", tamper(t, good(), func(m map[string]any) { m["payload"] = base64.StdEncoding.EncodeToString([]byte("hello")) }), 400, "not valid JSON"},
		{"missing field", f.seal(f.statement("af-1", truce.TypeIncident), noLat), 400, "body.location.lat is required"},
		{"unknown body field", withBody("af-1", truce.TypeWithdraw, `{"subject":"`+w.decided+`","reason":"r","extra":1}`), 400, "unknown field"},
		{"unknown statement type", f.seal(unknownType, noLat), 400, "is not a statement type"},
		{"another mechanism", f.seal(otherMechanism, vote(w.open, "occurred", "yes", "")), 400, `is for mechanism "truce.example/another"`},
		{"charter listing a 31-byte key", f.seal(f.statement("tr-1", truce.TypeCharter), badCharter, charterCosigners...), 400, "is not a base64 32-byte Ed25519 public key"},
		{"amendment listing a 31-byte key", f.seal(f.statement("tr-1", truce.TypeCharterAmend), amend(2, key31()), charterCosigners...), 400, "is not a base64 32-byte Ed25519 public key"},
		{"not a party", f.seal(f.statement("af-1", truce.TypeIncident), incident(torkham, "2025-11-06", "Battles", "Armed clash", "XX", "AF")), 400, `"XX" is not one of the charter's parties`},
		{"sub-event of another event type", f.seal(f.statement("af-1", truce.TypeIncident), incident(torkham, "2025-11-06", "Battles", "Grenade", "PK", "AF")), 400, "is not one of ACLED's sub-event types"},
		{"violation yes without severity", f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.open, "violation", "yes", "")), 400, "severity is required on a yes to violation"},
		{"origin not a party", f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.open, "origin", "XX", "")), 400, "is not a party id"},
		{"unknown subject", f.seal(f.statement("tr-1", truce.TypeAssessment), vote("nope", "occurred", "yes", "")), 400, "no incident or action with id nope"},
		{"subject that is not a report", f.seal(f.statement("tr-1", truce.TypeAssessment), vote("st-1", "occurred", "yes", "")), 400, "is not an incident or action report"},
		// 401: signatures.
		{"no signatures", tamper(t, good(), func(m map[string]any) { m["signatures"] = []any{} }), 401, "no signatures"},
		{"signature that does not verify", tamper(t, good(), func(m map[string]any) {
			sig, _ := base64.StdEncoding.DecodeString(firstSig(m)["sig"].(string))
			sig[10] ^= 1
			firstSig(m)["sig"] = base64.StdEncoding.EncodeToString(sig)
		}), 401, "does not verify"},
		{"payload changed after signing", tamper(t, good(), func(m map[string]any) {
			p, _ := base64.StdEncoding.DecodeString(m["payload"].(string))
			m["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(`"yes"`), []byte(`"no"`), 1))
		}), 401, "does not verify"},
		{"key that is not the author's", notAuthorJSON, 401, "no signature by tr-1, its author"},
		{"key of no member", f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.open, "occurred", "yes", ""), "stranger"), 401, "not a member key"},
		// 403: roles and rules.
		{"author not a member", nonMemberJSON, 403, "zz-9 is not a member of the mechanism"},
		{"action by a mediator", f.seal(f.statement("tr-1", truce.TypeAction), &truce.ActionReport{Clause: "C1", TakenAt: "2025-11-06", Description: "d"}), 403, "only a party member may report a compliance action"},
		{"reply by an uninterested party", f.seal(f.statement("tj-1", truce.TypeReply), &truce.Reply{Subject: w.open, Text: "t"}), 403, "only a member of an interested party"},
		{"reply by a mediator", f.seal(f.statement("tr-1", truce.TypeReply), &truce.Reply{Subject: w.open, Text: "t"}), 403, "only a member of an interested party"},
		{"withdrawal by another member", f.seal(f.statement("pk-1", truce.TypeWithdraw), &truce.Withdraw{Subject: w.decided, Reason: "r"}), 403, "only af-1, who reported"},
		{"access denial by a party", f.seal(f.statement("af-1", truce.TypeAccessDenied), &truce.AccessDenied{Party: "PK", Place: "p", At: "2025-11-06", Description: "d"}), 403, "only a monitor or mediator"},
		{"evidence on a withdrawn subject", f.seal(f.statement("af-1", truce.TypeEvidence), &truce.EvidenceAdd{Subject: w.withdrawn, SHA256: sha([]byte("x")), Size: 1, MediaType: "text/plain", Name: "x", Description: "x"}), 403, "was withdrawn"},
		{"second charter", f.seal(f.statement("tr-1", truce.TypeCharter), charter(), charterCosigners...), 403, "already has a charter"},
		{"amendment missing co-signers", f.seal(f.statement("tr-1", truce.TypeCharterAmend), amend(2), "af-1"), 403, "missing: pk-1, tj-1, qa-1"},
		{"amendment by a monitor", f.seal(f.statement("mon-1", truce.TypeCharterAmend), amend(2), "tr-1", "af-1", "pk-1", "tj-1", "qa-1"), 403, "only party and mediator members may propose"},
		// 409: conflicts.
		{"replay", accepted, 409, "replay: id"},
		{"another statement with a taken id", f.seal(takenID, vote(w.open, "occurred", "yes", "")), 409, "replay: id " + w.decided},
		{"already decided", f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.decided, "occurred", "no", "")), 409, "already decided"},
		{"amendment of a stale version", f.seal(f.statement("tr-1", truce.TypeCharterAmend), amend(3), charterCosigners...), 409, "an amendment must make version 2"},
		// 413: too large.
		{"statement over 60 KiB", f.seal(f.statement("af-1", truce.TypeIncident), big), 413, "the limit is 61440"},
		{"request body over 4 MiB", huge, 413, "request body is over 4194304 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			f.refuse(tt.body, tt.code, tt.phrase)
		})
	}
}

// TestBatch submits envelopes together: results come in order, each a
// log index or its own error, and only the good ones are logged.
func TestBatch(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	replayed := f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.open, "occurred", "yes", ""))
	f.submit(replayed)
	big := incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF")
	big.Narrative = strings.Repeat("x", 61<<10)
	forged := tamper(t, f.seal(f.statement("qa-1", truce.TypeAssessment), vote(w.open, "origin", "PK", "")), func(m map[string]any) {
		firstSig(m)["keyid"] = strings.Repeat("0", 64)
	})
	goodID, good := f.env("qa-1", truce.TypeAssessment, vote(w.open, "occurred", "yes", ""))
	envs := []json.RawMessage{
		good,
		json.RawMessage(`{"nope":1}`),
		replayed,
		f.seal(f.statement("af-1", truce.TypeIncident), big),
		forged,
		f.seal(f.statement("tr-1", truce.TypeAction), &truce.ActionReport{Clause: "C1", TakenAt: "2025-11-06", Description: "d"}),
		f.seal(f.statement("tr-1", truce.TypeAssessment), vote(w.decided, "occurred", "no", "")),
	}
	wantCodes := []int{0, 400, 409, 413, 401, 403, 409}
	body, _ := json.Marshal(map[string]any{"envelopes": envs})
	log0, _ := f.logSize()
	code, m := f.doJSON("POST", "/v1/statements", body)
	if code != http.StatusOK {
		t.Fatalf("batch: %d %v, want 200", code, m)
	}
	results := m["results"].([]any)
	if len(results) != len(envs) {
		t.Fatalf("batch: %d results, want %d", len(results), len(envs))
	}
	for i, r := range results {
		r := r.(map[string]any)
		if wantCodes[i] == 0 {
			if r["index"] == nil || r["verdict"].(map[string]any)["accepted"] != true {
				t.Errorf("results[%d] = %v, want accepted with an index", i, r)
			}
			continue
		}
		e, _ := r["error"].(map[string]any)
		if e == nil || e["code"] != float64(wantCodes[i]) || e["message"] == "" || r["index"] != nil {
			t.Errorf("results[%d] = %v, want an error with code %d and no index", i, r, wantCodes[i])
		}
	}
	if log, _ := f.logSize(); log != log0+1 {
		t.Errorf("log grew from %d to %d, want one entry", log0, log)
	}
	idx := uint64(results[0].(map[string]any)["index"].(float64))
	st := f.get(fmt.Sprintf("/v1/statements/%d", idx))
	if st["verdict"].(map[string]any)["accepted"] != true {
		t.Errorf("statement %d: %v", idx, st)
	}
	// The vote is on the subject.
	inc := f.get("/v1/incidents/" + w.open)
	votes := inc["questions"].(map[string]any)["occurred"].(map[string]any)["votes"].([]any)
	if last := votes[len(votes)-1].(map[string]any); last["statement_id"] != goodID || last["counted"] != true {
		t.Errorf("latest vote %v, want %s, counted", last, goodID)
	}

	// An empty batch, and one envelope twice: logged once.
	if code, m := f.doJSON("POST", "/v1/statements", []byte(`{"envelopes":[]}`)); code != 200 || len(m["results"].([]any)) != 0 {
		t.Errorf("empty batch: %d %v", code, m)
	}
	twice := f.seal(f.statement("af-1", truce.TypeReply), &truce.Reply{Subject: w.decided, Text: "Late, but said."})
	body, _ = json.Marshal(map[string]any{"envelopes": []json.RawMessage{twice, twice}})
	_, m = f.doJSON("POST", "/v1/statements", body)
	var logged, conflicts int
	for _, r := range m["results"].([]any) {
		r := r.(map[string]any)
		switch {
		case r["index"] != nil:
			logged++
		case r["error"].(map[string]any)["code"] == float64(409):
			conflicts++
		}
	}
	if logged != 1 || conflicts != 1 {
		t.Errorf("one envelope twice: %v, want one logged and one 409", m["results"])
	}
}

// TestRejectedAfterLogging races two withdrawals of one subject: both
// pass the checks on receipt, both are logged, and the fold rejects the
// second. The 201 carries accepted:false, as openapi.json says.
func TestRejectedAfterLogging(t *testing.T) {
	f := newFixture(t)
	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	for try := range 10 {
		id := f.post("af-1", truce.TypeIncident, incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF"))
		body, _ := json.Marshal(map[string]any{"envelopes": []json.RawMessage{
			f.seal(f.statement("af-1", truce.TypeWithdraw), &truce.Withdraw{Subject: id, Reason: "first"}),
			f.seal(f.statement("af-1", truce.TypeWithdraw), &truce.Withdraw{Subject: id, Reason: "second"}),
		}})
		_, m := f.doJSON("POST", "/v1/statements", body)
		var rejected []map[string]any
		accepted := 0
		for _, r := range m["results"].([]any) {
			r := r.(map[string]any)
			if r["error"] != nil {
				// Applied before the other was checked: refused on receipt.
				if e := r["error"].(map[string]any); e["code"] != float64(403) {
					t.Fatalf("try %d: %v, want 403 or logged", try, r)
				}
				continue
			}
			if r["verdict"].(map[string]any)["accepted"] == true {
				accepted++
			} else {
				rejected = append(rejected, r)
			}
		}
		if accepted != 1 {
			t.Fatalf("try %d: %v, want one withdrawal accepted", try, m["results"])
		}
		if len(rejected) == 0 {
			continue
		}
		r := rejected[0]
		reason, _ := r["verdict"].(map[string]any)["reason"].(string)
		if !strings.Contains(reason, "was withdrawn") {
			t.Errorf("rejected withdrawal: reason %q, want it to say the subject was withdrawn", reason)
		}
		idx := int(r["index"].(float64))
		st := f.get(fmt.Sprintf("/v1/statements/%d", idx))
		if v := st["verdict"].(map[string]any); v["accepted"] != false || v["reason"] != reason {
			t.Errorf("GET /v1/statements/%d: verdict %v, want rejected with %q", idx, v, reason)
		}
		list := f.get(fmt.Sprintf("/v1/statements?cursor=%d&limit=1", idx))
		if row := list["items"].([]any)[0].(map[string]any); row["verdict"].(map[string]any)["accepted"] != false || row["subject"] != id {
			t.Errorf("GET /v1/statements?cursor=%d: %v", idx, row)
		}
		return
	}
	t.Fatal("in 10 tries, no withdrawal raced the other into the log; cannot show a logged rejection")
}

// TestNoCharter reads and writes a mechanism before its charter.
// TestDataHeaders checks that what the API and the log serve cannot be
// run or framed as a page by a browser.
func TestDataHeaders(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/v1/log", "/v1/no-such", "/log/checkpoint", "/healthz", "/metrics"} {
		r := f.raw("GET", path, nil)
		if got := r.header.Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("GET %s: Content-Security-Policy %q", path, got)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", path, got)
		}
	}
}

func TestNoCharter(t *testing.T) {
	f := newFixture(t)
	f.getError("/v1/charter", 404, "no charter yet")
	f.getError("/v1/members", 404, "no charter yet")
	if m := f.get("/v1/compliance"); len(m["parties"].([]any)) != 0 || len(m["unattributed"].([]any)) != 0 {
		t.Errorf("compliance before a charter: %v", m)
	}
	for _, p := range []string{"/v1/incidents", "/v1/actions", "/v1/statements"} {
		if m := f.get(p); len(m["items"].([]any)) != 0 || m["next"] != "" {
			t.Errorf("GET %s: %v, want no items", p, m)
		}
	}
	if m := f.get("/v1/log"); m["origin"] != testOrigin || m["size"] != float64(0) {
		t.Errorf("GET /v1/log: %v", m)
	}

	f.refuse(f.seal(f.statement("af-1", truce.TypeIncident), incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF")), 403, "no charter yet")
	f.refuse(f.seal(f.statement("tr-1", truce.TypeCharter), charter(), "af-1", "pk-1"), 403, "missing: tj-1, qa-1")
	f.refuse(f.seal(f.statement("tr-1", truce.TypeCharter), charter(), append(charterCosigners, "stranger")...), 401, "not a member key")
	notListed := f.statement("zz-9", truce.TypeCharter)
	f.refuse(f.seal(notListed, charter(), charterCosigners...), 403, "zz-9 is not one of the members it lists")
	badKey := charter()
	badKey.Members[2].Keys = []string{key31()}
	f.refuse(f.seal(f.statement("tr-1", truce.TypeCharter), badKey, charterCosigners...), 400, "body.members[2].keys[0] is not a base64 32-byte Ed25519 public key")
	partyMediator := charter()
	partyMediator.Members[3].Party = "AF"
	f.refuse(f.seal(f.statement("tr-1", truce.TypeCharter), partyMediator, charterCosigners...), 400, "a mediator belongs to no party")
	oneParty := charter()
	oneParty.Parties = oneParty.Parties[:1]
	f.refuse(f.seal(f.statement("tr-1", truce.TypeCharter), oneParty, charterCosigners...), 400, "at least two parties")

	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	if m := f.get("/v1/charter"); m["version"] != float64(1) || len(m["history"].([]any)) != 1 {
		t.Errorf("GET /v1/charter: %v", m)
	}
	// The compliance tally lists every party once a charter exists.
	if m := f.get("/v1/compliance"); len(m["parties"].([]any)) != 3 {
		t.Errorf("compliance: %v, want three parties", m)
	}
}

// TestReadErrors asks for what does not exist and passes bad query
// parameters.
func TestReadErrors(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	log0, state0 := f.logSize()
	tests := []struct {
		path   string
		code   int
		phrase string
	}{
		{"/v1/statements/999", 404, "no statement at log index 999"},
		{"/v1/statements/abc", 400, `"abc" is not a log index`},
		{"/v1/statements/-1", 400, "is not a log index"},
		{"/v1/statements/18446744073709551616", 400, "is not a log index"},
		{"/v1/incidents/nope", 404, "no incident with id nope"},
		{"/v1/incidents/" + w.action, 404, "no incident with id " + w.action},
		{"/v1/actions/" + w.decided, 404, "no action with id " + w.decided},
		{"/v1/evidence/" + sha([]byte("never uploaded")), 404, "no evidence file"},
		{"/v1/evidence/NOT-A-HASH", 404, "no evidence file"},
		{"/v1/statements?limit=0", 400, `limit "0" must be a whole number from 1 to 1000`},
		{"/v1/statements?limit=1001", 400, `limit "1001"`},
		{"/v1/statements?limit=ten", 400, `limit "ten"`},
		{"/v1/statements?cursor=-1", 400, `cursor "-1" is not one this API gave`},
		{"/v1/incidents?status=bogus", 400, `status "bogus" is not one of awaiting_reply, open, disputed, decided, withdrawn`},
		{"/v1/incidents?limit=0", 400, `limit "0" must be a whole number from 1 to 1000`},
		{"/v1/incidents?limit=1001", 400, `limit "1001"`},
		{"/v1/incidents?limit=2.5", 400, `limit "2.5"`},
		{"/v1/incidents?from=yesterday", 400, `from "yesterday" is not a date`},
		{"/v1/incidents?to=2025-13-01", 400, `to "2025-13-01" is not a date`},
		{"/v1/incidents?cursor=zzz", 400, `cursor "zzz" is not one this API gave`},
		{"/v1/incidents?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("-3")), 400, "is not one this API gave"},
		{"/v1/actions?status=pending", 400, `status "pending"`},
		{"/v1/actions?limit=-5", 400, `limit "-5"`},
		{"/v1/actions?from=2025-11", 400, `from "2025-11" is not a date`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f.t = t
			f.getError(tt.path, tt.code, tt.phrase)
		})
	}
	f.t = t
	if log, state := f.logSize(); log != log0 || state != state0 {
		t.Errorf("reads changed the log: %d, %d, want %d, %d", log, state, log0, state0)
	}
}

// doUpload PUTs an evidence file and wants code.
func (f *fixture) doUpload(sum string, content []byte, code int) response {
	f.t.Helper()
	r := f.do("PUT", "/v1/evidence/"+sum, content)
	if r.code != code {
		f.t.Fatalf("PUT /v1/evidence/%s: %d %s, want %d", sum, r.code, r.body, code)
	}
	return r
}

func TestEvidence(t *testing.T) {
	f := newFixture(t)
	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	subject := f.post("af-1", truce.TypeIncident, incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF"))
	content := []byte("a photograph of the crossing, or this test's stand-in for one\n")
	sum := sha(content)
	put := func(name string, body []byte, code int, phrase string) {
		t.Helper()
		f.wantError(f.do("PUT", "/v1/evidence/"+name, body), "PUT "+name, code, phrase)
		if f.srv.Evidence.Has(sum) {
			t.Fatalf("PUT %s refused with %d, but the file was stored", name, code)
		}
	}

	put(sum, content, 403, "submit the signed evidence.add first")
	put("NOT-A-HASH", content, 400, "is not a lowercase hex SHA-256")
	put(strings.ToUpper(sum), content, 400, "is not a lowercase hex SHA-256")

	f.post("mon-1", truce.TypeEvidence, &truce.EvidenceAdd{Subject: subject, SHA256: sum, Size: int64(len(content)),
		MediaType: "image/jpeg", Name: "crossing.jpg", Description: "The crossing."})
	wrong := bytes.Clone(content)
	wrong[0] ^= 1
	put(sum, wrong, 400, "the content hashes to")
	put(sum, content[:10], 400, fmt.Sprintf("got 10 bytes, the evidence record says %d", len(content)))
	put(sum, append(bytes.Clone(content), '!'), 413, fmt.Sprintf("larger than the %d bytes its evidence record gives", len(content)))
	f.getError("/v1/evidence/"+sum, 404, "no evidence file")

	r := f.doUpload(sum, content, http.StatusCreated)
	var stored map[string]any
	json.Unmarshal(r.body, &stored)
	if stored["sha256"] != sum || stored["size"] != float64(len(content)) {
		t.Errorf("PUT: %s", r.body)
	}
	if !f.srv.Evidence.Has(sum) {
		t.Errorf("PUT answered 201, but the store lacks the file")
	}
	// Uploading again is harmless.
	f.doUpload(sum, content, http.StatusCreated)

	r = f.do("GET", "/v1/evidence/"+sum, nil)
	if r.code != 200 || !bytes.Equal(r.body, content) {
		t.Fatalf("GET: %d %q, want 200 and the file", r.code, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/octet-stream", "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("GET: %s is %q, want %q", k, got, want)
		}
	}
	f.getError("/v1/evidence/"+sha([]byte("something else")), 404, "no evidence file")

	// The subject lists the record.
	ev := f.get("/v1/incidents/" + subject)["evidence"].([]any)
	if len(ev) != 1 || ev[0].(map[string]any)["sha256"] != sum || ev[0].(map[string]any)["author"] != "mon-1" {
		t.Errorf("evidence on the incident: %v", ev)
	}
}

// walk follows a list's cursors from path to the end and returns the ids
// of the items, failing on a page over limit or too many pages.
func (f *fixture) walk(path string, limit int, cursor string) (items []string, pages int) {
	f.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for {
		pages++
		if pages > 100 {
			f.t.Fatalf("%s: more than 100 pages", path)
		}
		m := f.get(fmt.Sprintf("%s%slimit=%d&cursor=%s", path, sep, limit, url.QueryEscape(cursor)))
		page := ids(m)
		if len(page) > limit {
			f.t.Fatalf("%s: a page of %d items, limit %d", path, len(page), limit)
		}
		items = append(items, page...)
		cursor = m["next"].(string)
		if cursor == "" {
			return items, pages
		}
		if len(page) == 0 {
			f.t.Fatalf("%s: an empty page with next %q", path, cursor)
		}
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	all := w.incidents()
	for _, limit := range []int{1, 2, 3, 4, len(all), 1000} {
		got, pages := f.walk("/v1/incidents", limit, "")
		if !slices.Equal(got, all) {
			t.Errorf("limit %d: %v, want each incident once, newest first: %v", limit, got, all)
		}
		if want := (len(all) + limit - 1) / limit; pages != want {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, want)
		}
	}
	if got, _ := f.walk("/v1/incidents?party=AF", 2, ""); !slices.Equal(got, only(all, append([]string{w.decided, w.open, w.withdrawn}, w.fillers...)...)) {
		t.Errorf("party AF: %v", got)
	}
	if got, _ := f.walk("/v1/actions", 1, ""); !slices.Equal(got, []string{w.action}) {
		t.Errorf("actions: %v", got)
	}

	// Incidents logged during a walk do not shift it: each incident that
	// existed when it began comes once.
	m := f.get("/v1/incidents?limit=4")
	seen := ids(m)
	for range 3 {
		f.post("af-1", truce.TypeIncident, incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF"))
	}
	rest, _ := f.walk("/v1/incidents", 4, m["next"].(string))
	if got := append(seen, rest...); !slices.Equal(got, all) {
		t.Errorf("walk with new incidents: %v, want %v", got, all)
	}

	// The statements list walks the log by index.
	size, _ := f.logSize()
	for _, limit := range []int{7, int(size), int(size) - 1} {
		var got []uint64
		pages := 0
		for cursor := ""; ; {
			pages++
			m := f.get(fmt.Sprintf("/v1/statements?limit=%d&cursor=%s", limit, cursor))
			for _, it := range m["items"].([]any) {
				got = append(got, uint64(it.(map[string]any)["index"].(float64)))
			}
			if cursor = m["next"].(string); cursor == "" || pages > 100 {
				break
			}
		}
		if uint64(len(got)) != size {
			t.Errorf("statements, limit %d: %d entries, want %d", limit, len(got), size)
		}
		for i, idx := range got {
			if idx != uint64(i) {
				t.Errorf("statements, limit %d: item %d has index %d", limit, i, idx)
				break
			}
		}
		if want := (int(size) + limit - 1) / limit; pages != want {
			t.Errorf("statements, limit %d: %d pages, want %d (next must be empty on the last page)", limit, pages, want)
		}
	}
}

// only keeps the ids of list that are among keep, in list's order.
func only(list []string, keep ...string) []string {
	out := []string{}
	for _, id := range list {
		if slices.Contains(keep, id) {
			out = append(out, id)
		}
	}
	return out
}

func TestFilters(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	all := w.incidents()
	inc := func(keep ...string) []string { return only(all, keep...) }
	fillers := w.fillers
	tests := []struct {
		query string
		want  []string
	}{
		{"status=decided", inc(w.decided)},
		{"status=open", inc(w.open)},
		{"status=disputed", inc(w.disputed)},
		{"status=withdrawn", inc(w.withdrawn)},
		{"status=awaiting_reply", inc(fillers...)},
		{"party=TJ", inc(w.disputed)},
		{"party=PK", inc(append([]string{w.decided, w.open, w.withdrawn}, fillers...)...)},
		{"party=QA", inc()},
		{"place=torkham", inc(w.decided)},
		{"place=PAKISTAN", inc(w.open)},
		{"place=khatlon", inc(w.disputed)},
		{"place=Spin+Boldak", inc(fillers...)},
		{"place=Afghanistan", inc(append([]string{w.decided, w.withdrawn}, fillers...)...)},
		{"place=nowhere", inc()},
		{"type=Battles", inc(append([]string{w.decided, w.withdrawn}, fillers...)...)},
		{"type=" + url.QueryEscape("Violence against civilians"), inc(w.disputed)},
		{"type=" + url.QueryEscape("Explosions/Remote violence"), inc(w.open)},
		{"type=battles", inc()},
		{"type=Riots", inc()},
		{"from=2025-11-03&to=2025-11-03", inc(w.open)},
		{"from=2025-11-04", inc(w.disputed, w.withdrawn)},
		{"to=2025-10-31", inc(fillers...)},
		{"from=2025-10-22&to=2025-10-23", inc(fillers[2], fillers[3])},
		{"from=2025-11-05T00:00:00Z&to=2025-11-05T06:30:00Z", inc()},
		{"from=2025-11-05T06:30:00Z&to=2025-11-05T06:30:01Z", inc(w.disputed)},
		{"party=PK&type=Battles&status=decided", inc(w.decided)},
		{"party=AF&place=spin&from=2025-10-24", inc(fillers[4])},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			f.t = t
			if got := ids(f.get("/v1/incidents?" + tt.query)); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	f.t = t
	for query, want := range map[string][]string{
		"type=C2": {w.action}, "type=C1": nil, "status=decided": {w.action}, "status=open": nil,
		"party=AF": {w.action}, "party=PK": nil, "place=kunar": {w.action},
		"from=2025-11-02&to=2025-11-02": {w.action}, "from=2025-11-03": nil,
	} {
		if got := ids(f.get("/v1/actions?" + query)); !slices.Equal(got, want) {
			t.Errorf("actions?%s: %v, want %v", query, got, want)
		}
	}
}

// TestStatements reads every entry of the world's log back and checks its
// statement against the description's Statement schema: every body type
// the world uses, as signed.
func TestStatements(t *testing.T) {
	f := newFixture(t)
	f.buildWorld()
	size, _ := f.logSize()
	types := map[string]bool{}
	for i := range size {
		m := f.get(fmt.Sprintf("/v1/statements/%d", i))
		if m["index"] != float64(i) || m["verdict"].(map[string]any)["accepted"] != true {
			t.Errorf("statement %d: %v", i, m)
		}
		entry := m["entry"].(map[string]any)
		if entry["received"] == nil || !strings.HasSuffix(entry["received"].(string), "Z") {
			t.Errorf("statement %d: received %v", i, entry["received"])
		}
		payload, err := base64.StdEncoding.DecodeString(entry["envelope"].(map[string]any)["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(payload, &st); err != nil {
			t.Fatal(err)
		}
		types[st["type"].(string)] = true
		for _, e := range f.v.validate(map[string]any{"$ref": "#/components/schemas/Statement"}, st) {
			t.Errorf("statement %d (%s): %s", i, st["type"], e)
		}
	}
	for _, typ := range truce.Types {
		if !types[typ] && typ != truce.TypeCharterAmend {
			t.Errorf("the world has no %s statement", typ)
		}
	}

	// A charter amendment, and the charter's history.
	c := charter()
	c.Rules.Verification.Agreement = truce.AgreementMajority
	f.post("pk-1", truce.TypeCharterAmend, &truce.CharterAmend{Version: 2, Members: c.Members, Clauses: c.Clauses, Rules: c.Rules}, "af-1", "tj-1", "tr-1", "qa-1")
	m := f.get("/v1/charter")
	if m["version"] != float64(2) || len(m["history"].([]any)) != 2 || m["rules"].(map[string]any)["verification"].(map[string]any)["agreement"] != "majority" {
		t.Errorf("charter after the amendment: %v", m)
	}
	// The version before it, whole, as it was in force.
	if m := f.get("/v1/charter/1"); m["version"] != float64(1) || len(m["history"].([]any)) != 2 || m["rules"].(map[string]any)["verification"].(map[string]any)["agreement"] != "unanimous" {
		t.Errorf("charter version 1 after the amendment: %v", m)
	}
	f.getError("/v1/charter/3", 404, "the versions are 1 to 2")
	f.getError("/v1/charter/one", 404, "the versions are 1 to 2")
	last := f.get(fmt.Sprintf("/v1/statements/%d", size))
	payload, _ := base64.StdEncoding.DecodeString(last["entry"].(map[string]any)["envelope"].(map[string]any)["payload"].(string))
	var st any
	json.Unmarshal(payload, &st)
	for _, e := range f.v.validate(map[string]any{"$ref": "#/components/schemas/Statement"}, st) {
		t.Errorf("charter.amend: %s", e)
	}

	// The description's schemas reject what the server would refuse.
	bad := []struct {
		name string
		body map[string]any
	}{
		{"an unknown type", map[string]any{"type": "incident.rumour"}},
		{"a sub-event of another type", map[string]any{"body": map[string]any{"sub_event_type": "Grenade"}}},
		{"a yes to violation without severity", nil},
		{"an unknown body field", map[string]any{"body": map[string]any{"extra": 1}}},
	}
	first := f.get("/v1/incidents/st-2")["statement"].(map[string]any)
	for _, b := range bad {
		st := deepCopy(first)
		for k, v := range b.body {
			if sub, ok := v.(map[string]any); ok {
				for k2, v2 := range sub {
					st[k].(map[string]any)[k2] = v2
				}
			} else {
				st[k] = v
			}
		}
		if b.body == nil {
			st["type"] = truce.TypeAssessment
			st["body"] = map[string]any{"subject": "st-2", "question": "violation", "answer": "yes", "rationale": "r"}
		}
		if errs := f.v.validate(map[string]any{"$ref": "#/components/schemas/Statement"}, st); len(errs) == 0 {
			t.Errorf("the Statement schema takes a statement with %s", b.name)
		}
	}
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// TestGolden keeps the JSON of a decided incident, an action, the charter,
// its members and the compliance tallies in testdata, with a fixed clock
// and fixed keys.
func TestGolden(t *testing.T) {
	f := newFixture(t)
	w := f.buildWorld()
	// The incident's publication depends on the checkpoint: wait for one
	// that covers every entry.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var l struct{ Size, Sequenced uint64 }
		if err := json.Unmarshal(f.do("GET", "/v1/log", nil).body, &l); err != nil {
			t.Fatal(err)
		}
		if l.Size == l.Sequenced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint covers the %d entries after 10s (size %d)", l.Sequenced, l.Size)
		}
	}

	r := f.do("GET", "/v1/incidents/"+w.decided, nil)
	f.golden("incident.json", r.body)
	var inc struct {
		Status    string
		Questions map[string]struct {
			Status, Answer, Severity string
			DecidedAt                *uint64 `json:"decided_at"`
			Votes                    []struct {
				Member   string
				Counted  bool
				Why      string
				Replaced []uint64
			}
		}
		Replies  []struct{ Party string }
		Evidence []struct{ SHA256 string }
	}
	if err := json.Unmarshal(r.body, &inc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"occurred": "yes", "origin": "PK", "violation": "yes", "duplicate_of": "none"}
	for q, a := range want {
		if got := inc.Questions[q]; got.Status != "decided" || got.Answer != a || got.DecidedAt == nil {
			t.Errorf("%s: %+v, want decided %s", q, got, a)
		}
	}
	if inc.Status != "decided" || inc.Questions["violation"].Severity != "serious" || len(inc.Replies) != 2 || len(inc.Evidence) != 1 {
		t.Errorf("incident: %+v", inc)
	}
	counted := map[string]bool{}
	for _, v := range inc.Questions["occurred"].Votes {
		counted[v.Member] = v.Counted
		if !v.Counted && v.Why == "" {
			t.Errorf("vote by %s is not counted and does not say why", v.Member)
		}
	}
	if !counted["tr-1"] || !counted["qa-1"] || counted["af-1"] || counted["mon-1"] || len(counted) != 4 {
		t.Errorf("occurred votes counted: %v, want the mediators' only", counted)
	}
	if v := inc.Questions["origin"].Votes[0]; v.Member != "tr-1" || len(v.Replaced) != 1 {
		t.Errorf("origin's first vote %+v, want tr-1's, replacing one", v)
	}

	f.golden("action.json", f.do("GET", "/v1/actions/"+w.action, nil).body)
	f.golden("charter.json", f.do("GET", "/v1/charter", nil).body)
	f.golden("members.json", f.do("GET", "/v1/members", nil).body)
	r = f.do("GET", "/v1/compliance", nil)
	f.golden("compliance.json", r.body)
	var comp struct {
		Parties []struct {
			Party           string `json:"party"`
			Violations      int    `json:"violations"`
			Serious         int    `json:"serious"`
			VerifiedActions int    `json:"verified_actions"`
			AccessDenials   int    `json:"access_denials"`
		}
	}
	json.Unmarshal(r.body, &comp)
	got := map[string][4]int{}
	for _, p := range comp.Parties {
		got[p.Party] = [4]int{p.Violations, p.Serious, p.VerifiedActions, p.AccessDenials}
	}
	if got["PK"] != [4]int{1, 1, 0, 1} || got["AF"] != [4]int{0, 0, 1, 0} || got["TJ"] != [4]int{} {
		t.Errorf("compliance (violations, serious, verified actions, denials): %v", got)
	}

	// The golden incident's schema is tight: dropping a required member
	// or adding an unknown one fails validation.
	var doc map[string]any
	json.Unmarshal(r.body, &doc)
	var incDoc map[string]any
	json.Unmarshal(f.do("GET", "/v1/incidents/"+w.decided, nil).body, &incDoc)
	schema := map[string]any{"$ref": "#/components/schemas/Incident"}
	for _, k := range []string{"status", "questions", "statement", "evidence"} {
		m := deepCopy(incDoc)
		delete(m, k)
		if len(f.v.validate(schema, m)) == 0 {
			t.Errorf("an incident without %s validates", k)
		}
	}
	m := deepCopy(incDoc)
	m["questions"].(map[string]any)["verified"] = m["questions"].(map[string]any)["occurred"]
	if len(f.v.validate(schema, m)) == 0 {
		t.Errorf("an incident with the question verified validates")
	}
	m = deepCopy(incDoc)
	m["questions"].(map[string]any)["occurred"].(map[string]any)["status"] = "final"
	if len(f.v.validate(schema, m)) == 0 {
		t.Errorf("an incident with a question status final validates")
	}
}

// TestLog checks what an auditor starts from.
func TestLog(t *testing.T) {
	f := newFixture(t)
	f.post("tr-1", truce.TypeCharter, charter(), charterCosigners...)
	f.advance(1234 * time.Millisecond)
	idx := f.submit(f.seal(f.statement("af-1", truce.TypeIncident), incident(torkham, "2025-11-06", "Battles", "Armed clash", "PK", "AF")))
	size, _ := f.logSize()
	if _, err := f.srv.Ledger.WaitPublished(context.Background(), size); err != nil {
		t.Fatal(err)
	}
	m := f.get("/v1/log")
	if m["origin"] != testOrigin || !strings.HasPrefix(m["key"].(string), testOrigin+"+") || m["size"] != float64(size) {
		t.Errorf("GET /v1/log: %v, want origin %s, its key, size %d", m, testOrigin, size)
	}
	st := f.get("/v1/statements/" + strconv.FormatUint(idx, 10))
	entry := st["entry"].(map[string]any)
	if entry["received"] != "2025-11-07T10:00:01.234Z" {
		t.Errorf("received %v, want the server's clock with three fractional digits", entry["received"])
	}
	// The entry is signed by af-1's key.
	raw, _ := json.Marshal(entry["envelope"])
	env, err := truce.ParseEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := env.Verify(testKey("af-1").Public().(ed25519.PublicKey)); !ok || err != nil {
		t.Errorf("the logged envelope does not verify with af-1's key: %v", err)
	}
}
