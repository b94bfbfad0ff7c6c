package truce_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/truce-mechanism/truce"
)

// validStatements are valid statements of every type, as JSON trees that
// the tests below change one field at a time.
func validStatements(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	add := func(typ string, body any) {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		var tree any
		if err := json.Unmarshal(b, &tree); err != nil {
			t.Fatal(err)
		}
		out[typ] = map[string]any{
			"type":      typ,
			"id":        "0193b5c2-0000-7c55-9a1d-5e8f3b2a1cff",
			"mechanism": vectorMechanism,
			"author":    "m-tr-1",
			"time":      "2025-11-08T10:00:00Z",
			"body":      tree,
		}
	}
	for _, v := range vectors() {
		add(v.statement.Type, v.body)
	}
	// The charter also names a witness, which the vector does not.
	charter := out[truce.TypeCharter]["body"].(map[string]any)
	charter["witnesses"] = []any{map[string]any{"name": "witness.af.example", "key": "witness.af.example+7010fe19+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "url": "https://witness.af.example/"}}
	members := charter["members"]
	add(truce.TypeCharterAmend, map[string]any{
		"version": 2,
		"members": members,
		"clauses": []any{map[string]any{"id": "c1", "text": "No attacks."}},
		"rules": map[string]any{
			"reply_window": "3d",
			"verification": map[string]any{"roles": []any{"mediator", "monitor"}, "quorum": 2, "agreement": "two_thirds", "count_interested": false},
		},
	})
	add(truce.TypeAction, map[string]any{
		"clause":      "c2",
		"taken_at":    "2025-11-08",
		"description": "Monitors were escorted to the Chaman border posts.",
		"location": map[string]any{
			"lat": 30.9210, "lon": 66.4597, "geo_precision": 1,
			"place": "Chaman", "admin1": "Balochistan", "country": "Pakistan",
		},
	})
	add(truce.TypeEvidence, map[string]any{
		"subject":     vectorIncidentID,
		"sha256":      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"size":        48213,
		"media_type":  "image/jpeg",
		"name":        "crater.jpg",
		"captured_at": "2025-11-07T08:10:00Z",
		"description": "The crater, looking north-east.",
	})
	add(truce.TypeReply, map[string]any{
		"subject":  vectorIncidentID,
		"text":     "No unit of ours fired that morning.",
		"contests": []any{"origin", "violation"},
	})
	add(truce.TypeAccessDenied, map[string]any{
		"subject":     vectorIncidentID,
		"party":       "PK",
		"place":       "Chaman",
		"at":          "2025-11-08T09:00:00Z",
		"description": "The monitors were turned back at the checkpoint.",
	})
	add(truce.TypeWithdraw, map[string]any{
		"subject": vectorIncidentID,
		"reason":  "Reported twice by mistake.",
	})
	for _, typ := range truce.Types {
		if out[typ] == nil {
			t.Fatalf("no valid statement of type %s", typ)
		}
	}
	return out
}

// deleted is a value that, set at a path, removes the field.
type deleted struct{}

var (
	pathSegment = regexp.MustCompile(`^([a-z_0-9]+)((?:\[\d+\])*)$`)
	pathIndex   = regexp.MustCompile(`\d+`)
)

// with returns a deep copy of tree whose field at path, such as
// body.location.lat or body.members[0].keys[0], is set to v.
func with(t *testing.T, tree map[string]any, path string, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	// walk follows steps down from node, and sets (or deletes) the last.
	var walk func(node any, steps []string)
	walk = func(node any, steps []string) {
		step := steps[0]
		var next any
		switch n := node.(type) {
		case map[string]any:
			if len(steps) == 1 {
				if _, ok := v.(deleted); ok {
					delete(n, step)
				} else {
					n[step] = v
				}
				return
			}
			next = n[step]
		case []any:
			i, _ := strconv.Atoi(step)
			if i >= len(n) {
				t.Fatalf("%s: index %d out of range", path, i)
			}
			if len(steps) == 1 {
				n[i] = v
				return
			}
			next = n[i]
		default:
			t.Fatalf("%s: cannot step into %T", path, node)
		}
		walk(next, steps[1:])
	}
	var steps []string
	for _, s := range strings.Split(path, ".") {
		m := pathSegment.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("bad path %q", path)
		}
		steps = append(steps, m[1])
		for _, idx := range pathIndex.FindAllString(m[2], -1) {
			steps = append(steps, idx)
		}
	}
	walk(root, steps)
	return root.(map[string]any)
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatementValid(t *testing.T) {
	valid := validStatements(t)
	tests := []struct {
		name string
		typ  string
		path string
		v    any
	}{
		{"as is", "", "", nil},
		{"action without location", truce.TypeAction, "body.location", deleted{}},
		{"action with null location", truce.TypeAction, "body.location", nil},
		{"action taken at an RFC 3339 time", truce.TypeAction, "body.taken_at", "2025-11-08T06:00:00+04:30"},
		{"evidence without captured_at", truce.TypeEvidence, "body.captured_at", deleted{}},
		{"access denied without subject", truce.TypeAccessDenied, "body.subject", deleted{}},
		{"access denied on a date", truce.TypeAccessDenied, "body.at", "2025-11-08"},
		{"reply contesting nothing", truce.TypeReply, "body.contests", []any{}},
		{"incident with empty lists", truce.TypeIncident, "body.sources", []any{}},
		{"incident with no clauses", truce.TypeIncident, "body.clauses", []any{}},
		{"incident on a date", truce.TypeIncident, "body.occurred_at", "2025-11-07"},
		{"incident at the date line", truce.TypeIncident, "body.location.lon", -180},
		{"incident at the pole", truce.TypeIncident, "body.location.lat", 90},
		{"incident with no fatalities", truce.TypeIncident, "body.fatalities", 0},
		{"incident of unknown origin", truce.TypeIncident, "body.alleged_origin", "unknown"},
		{"incident without admin2", truce.TypeIncident, "body.location.admin2", deleted{}},
		{"assessment of origin", truce.TypeAssessment, "body", map[string]any{"subject": "x", "question": "origin", "answer": "PK", "rationale": "r"}},
		{"assessment no to violation", truce.TypeAssessment, "body", map[string]any{"subject": "x", "question": "violation", "answer": "no", "rationale": "r"}},
		{"assessment minor violation", truce.TypeAssessment, "body.severity", "minor"},
		{"assessment duplicate of none", truce.TypeAssessment, "body", map[string]any{"subject": "x", "question": "duplicate_of", "answer": "none", "rationale": "r"}},
		{"assessment verified", truce.TypeAssessment, "body", map[string]any{"subject": "x", "question": "verified", "answer": "inconclusive", "rationale": "r"}},
		{"charter without witnesses", truce.TypeCharter, "body.witnesses", deleted{}},
		{"charter needing k of its witnesses", truce.TypeCharter, "body.witness_policy", 1},
		{"charter with a witness group", truce.TypeCharter, "body.witness_policy", map[string]any{"all": []any{map[string]any{"at_least": 1, "of": []any{"witness.af.example"}}}}},
		{"charter without consequence", truce.TypeCharter, "body.clauses[0].consequence", deleted{}},
		{"charter window in days", truce.TypeCharter, "body.rules.reply_window", "3d"},
		{"charter counting interested", truce.TypeCharter, "body.rules.verification.count_interested", true},
		{"charter majority", truce.TypeCharter, "body.rules.verification.agreement", "majority"},
		{"statement time with offset", truce.TypeWithdraw, "time", "2025-11-08T14:30:00+04:30"},
		{"id of 128 characters", truce.TypeWithdraw, "id", strings.Repeat("a", 128)},
	}
	for _, tt := range tests {
		types := []string{tt.typ}
		if tt.typ == "" {
			types = truce.Types
		}
		for _, typ := range types {
			t.Run(typ+"/"+tt.name, func(t *testing.T) {
				s := valid[typ]
				if tt.path != "" {
					s = with(t, s, tt.path, tt.v)
				}
				st, body, err := truce.ParseStatement(marshal(t, s))
				if err != nil {
					t.Fatalf("ParseStatement: %v", err)
				}
				if st.Type != typ {
					t.Errorf("Type is %q, want %q", st.Type, typ)
				}
				if got, want := fmt.Sprintf("%T", body), bodyType(typ); got != want {
					t.Errorf("body is a %s, want %s", got, want)
				}
			})
		}
	}
}

func bodyType(typ string) string {
	return map[string]string{
		truce.TypeCharter:      "*truce.Charter",
		truce.TypeCharterAmend: "*truce.CharterAmend",
		truce.TypeIncident:     "*truce.IncidentReport",
		truce.TypeAction:       "*truce.ActionReport",
		truce.TypeEvidence:     "*truce.EvidenceAdd",
		truce.TypeReply:        "*truce.Reply",
		truce.TypeAssessment:   "*truce.Assessment",
		truce.TypeAccessDenied: "*truce.AccessDenied",
		truce.TypeWithdraw:     "*truce.Withdraw",
	}[typ]
}

// TestParseStatementFieldError changes one field of a valid statement at a
// time, and checks that the error names exactly that field.
func TestParseStatementFieldError(t *testing.T) {
	valid := validStatements(t)
	del := deleted{}
	tests := []struct {
		typ  string
		path string
		v    any
		// want is the FieldError's Field, when it is not path.
		want string
		// phrase is in the error message.
		phrase string
		// bug, when set, skips the case: the package gets it wrong.
		bug string
	}{
		// The statement around every body.
		{typ: truce.TypeWithdraw, path: "type", v: del, phrase: "required"},
		{typ: truce.TypeWithdraw, path: "type", v: "incident", phrase: `"incident" is not a statement type`},
		{typ: truce.TypeWithdraw, path: "type", v: "Withdraw", phrase: "not a statement type"},
		{typ: truce.TypeWithdraw, path: "id", v: del, phrase: "required"},
		{typ: truce.TypeWithdraw, path: "id", v: strings.Repeat("a", 129), phrase: "longer than 128"},
		{typ: truce.TypeWithdraw, path: "mechanism", v: "", phrase: "required"},
		{typ: truce.TypeWithdraw, path: "author", v: del, phrase: "required"},
		{typ: truce.TypeWithdraw, path: "time", v: del, phrase: "RFC 3339"},
		{typ: truce.TypeWithdraw, path: "time", v: "0001-01-01T00:00:00Z", phrase: "required"},
		{typ: truce.TypeWithdraw, path: "body", v: del, phrase: "required"},
		{typ: truce.TypeWithdraw, path: "body", v: nil, phrase: "required"},

		// charter
		{typ: truce.TypeCharter, path: "body.title", v: del},
		{typ: truce.TypeCharter, path: "body.title", v: "  ", phrase: "required"},
		{typ: truce.TypeCharter, path: "body.parties", v: del, phrase: "at least two"},
		{typ: truce.TypeCharter, path: "body.parties", v: []any{map[string]any{"id": "AF", "name": "Afghanistan"}}, phrase: "at least two"},
		{typ: truce.TypeCharter, path: "body.parties[0].id", v: del},
		{typ: truce.TypeCharter, path: "body.parties[0].id", v: "A F", phrase: "letters, digits"},
		{typ: truce.TypeCharter, path: "body.parties[0].id", v: "unknown", phrase: "reserved"},
		{typ: truce.TypeCharter, path: "body.parties[1].id", v: "inconclusive", phrase: "reserved"},
		{typ: truce.TypeCharter, path: "body.parties[1].id", v: "AF", phrase: "listed twice"},
		{typ: truce.TypeCharter, path: "body.parties[1].name", v: del},
		{typ: truce.TypeCharter, path: "body.members", v: del},
		{typ: truce.TypeCharter, path: "body.members", v: []any{}},
		{typ: truce.TypeCharter, path: "body.members[0].id", v: del},
		{typ: truce.TypeCharter, path: "body.members[0].id", v: "-af", phrase: "letters, digits"},
		{typ: truce.TypeCharter, path: "body.members[0].id", v: strings.Repeat("a", 65)},
		{typ: truce.TypeCharter, path: "body.members[1].id", v: "af-1", phrase: "listed twice"},
		{typ: truce.TypeCharter, path: "body.members[2].name", v: del},
		{typ: truce.TypeCharter, path: "body.members[2].role", v: del, phrase: "not a role"},
		{typ: truce.TypeCharter, path: "body.members[2].role", v: "guarantor", phrase: `"guarantor" is not a role`},
		{typ: truce.TypeCharter, path: "body.members[0].party", v: del, phrase: "not one of the charter's parties"},
		{typ: truce.TypeCharter, path: "body.members[0].party", v: "IR", phrase: `"IR" is not one of the charter's parties`},
		{typ: truce.TypeCharter, path: "body.members[2].party", v: "AF", phrase: "a mediator belongs to no party"},
		{typ: truce.TypeCharter, path: "body.members[3].party", v: "PK", phrase: "a monitor belongs to no party"},
		{typ: truce.TypeCharter, path: "body.members[3].keys", v: del, phrase: "at least one public key"},
		{typ: truce.TypeCharter, path: "body.members[3].keys", v: []any{}, phrase: "at least one public key"},
		{typ: truce.TypeCharter, path: "body.members[3].keys[0]", v: "not base64!", phrase: "Ed25519 public key"},
		{typ: truce.TypeCharter, path: "body.members[3].keys[0]", v: "AAAA", phrase: "Ed25519 public key"},
		{typ: truce.TypeCharter, path: "body.members[3].keys[0]", v: truce.EncodePublicKey(vectorPub("af-1")), phrase: "also a key of af-1"},
		{typ: truce.TypeCharter, path: "body.clauses", v: del, phrase: "at least one clause"},
		{typ: truce.TypeCharter, path: "body.clauses[0].id", v: del},
		{typ: truce.TypeCharter, path: "body.clauses[1].id", v: "c1", phrase: "listed twice"},
		{typ: truce.TypeCharter, path: "body.clauses[1].text", v: ""},
		{typ: truce.TypeCharter, path: "body.rules", v: del, want: "body.rules.reply_window"},
		{typ: truce.TypeCharter, path: "body.rules.reply_window", v: del, phrase: "such as 72h"},
		{typ: truce.TypeCharter, path: "body.rules.reply_window", v: "three days", phrase: "72h or 3d"},
		{typ: truce.TypeCharter, path: "body.rules.reply_window", v: "-1h"},
		{typ: truce.TypeCharter, path: "body.rules.reply_window", v: "-1d"},
		{typ: truce.TypeCharter, path: "body.rules.reply_window", v: "200000d", bug: "ParseWindow overflows: a charter's 200000d window is accepted and is about -8 days, so every reply window is closed at once"},
		{typ: truce.TypeCharter, path: "body.rules.verification", v: del, want: "body.rules.verification.roles"},
		{typ: truce.TypeCharter, path: "body.rules.verification.roles", v: []any{}, phrase: "at least one role"},
		{typ: truce.TypeCharter, path: "body.rules.verification.roles[0]", v: "observer", phrase: `"observer" is not a role`},
		{typ: truce.TypeCharter, path: "body.rules.verification.quorum", v: 0, phrase: "at least 1"},
		{typ: truce.TypeCharter, path: "body.rules.verification.quorum", v: -2},
		{typ: truce.TypeCharter, path: "body.rules.verification.agreement", v: "consensus", phrase: "unanimous, two_thirds or majority"},
		{typ: truce.TypeCharter, path: "body.languages", v: []any{}, phrase: "at least one language"},
		{typ: truce.TypeCharter, path: "body.witnesses[0].name", v: del},
		{typ: truce.TypeCharter, path: "body.witnesses[0].key", v: ""},
		{typ: truce.TypeCharter, path: "body.witnesses[0].url", v: del},
		{typ: truce.TypeCharter, path: "body.witnesses[0].url", v: "witness.af.example", phrase: "not an http or https address"},
		{typ: truce.TypeCharter, path: "body.witnesses[0].key", v: "witness.af.example+1f2e3d4c+AcSpTZTRfHWzPDlBJj7JJn8zJTDiGSs3sRSpeXlSzGAV", phrase: "cosignature/v1 verifier key"},
		{typ: truce.TypeCharter, path: "body.witnesses[0].key", v: "witness.af.example+7010fe18+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", phrase: "key hash"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: 2, phrase: "asks for 2 cosignatures of the 1 witnesses"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: "tr", phrase: `names witness "tr", which is not listed`},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: map[string]any{"quorum": 1}, phrase: "exactly one of all and any"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: map[string]any{"at_least": 2, "of": []any{"witness.af.example"}}, want: "body.witness_policy.at_least", phrase: "asks for 2 of 1"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: map[string]any{"all": []any{}}, phrase: "at least one witness"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: map[string]any{"any": []any{3}}, want: "body.witness_policy[0]"},
		{typ: truce.TypeCharter, path: "body.witness_policy", v: map[string]any{"at_least": 2, "of": []any{"witness.af.example", "witness.af.example"}}, want: "body.witness_policy[1]", phrase: "counts once"},

		// charter.amend
		{typ: truce.TypeCharterAmend, path: "body.version", v: del, phrase: "current one plus one"},
		{typ: truce.TypeCharterAmend, path: "body.version", v: 1, phrase: "current one plus one"},
		{typ: truce.TypeCharterAmend, path: "body.members", v: del},
		{typ: truce.TypeCharterAmend, path: "body.clauses", v: []any{}},
		{typ: truce.TypeCharterAmend, path: "body.clauses[0].text", v: del},
		{typ: truce.TypeCharterAmend, path: "body.rules.reply_window", v: "soon"},
		{typ: truce.TypeCharterAmend, path: "body.rules.verification.agreement", v: del},
		{typ: truce.TypeCharterAmend, path: "body.witnesses", v: []any{map[string]any{"key": "k", "url": "u"}}, want: "body.witnesses[0].name"},

		// incident.report
		{typ: truce.TypeIncident, path: "body.occurred_at", v: del, phrase: "a date such as 2025-11-07"},
		{typ: truce.TypeIncident, path: "body.occurred_at", v: "yesterday", phrase: `"yesterday" is not a date`},
		{typ: truce.TypeIncident, path: "body.occurred_at", v: "2025-11-07 06:30", phrase: "not a date"},
		{typ: truce.TypeIncident, path: "body.occurred_at", v: "2025-02-30", phrase: "not a date"},
		{typ: truce.TypeIncident, path: "body.time_precision", v: del, phrase: "1, 2 or 3"},
		{typ: truce.TypeIncident, path: "body.time_precision", v: 4, phrase: "1, 2 or 3"},
		{typ: truce.TypeIncident, path: "body.location", v: del, want: "body.location.lat"},
		{typ: truce.TypeIncident, path: "body.location.lat", v: del, phrase: "required"},
		{typ: truce.TypeIncident, path: "body.location.lat", v: nil, phrase: "required"},
		{typ: truce.TypeIncident, path: "body.location.lat", v: 90.5, phrase: "between -90 and 90"},
		{typ: truce.TypeIncident, path: "body.location.lat", v: -91},
		{typ: truce.TypeIncident, path: "body.location.lon", v: del},
		{typ: truce.TypeIncident, path: "body.location.lon", v: 180.0001, phrase: "between -180 and 180"},
		{typ: truce.TypeIncident, path: "body.location.geo_precision", v: del, phrase: "1, 2 or 3"},
		{typ: truce.TypeIncident, path: "body.location.geo_precision", v: 0},
		{typ: truce.TypeIncident, path: "body.location.geo_precision", v: 4},
		{typ: truce.TypeIncident, path: "body.location.place", v: del},
		{typ: truce.TypeIncident, path: "body.location.admin1", v: " "},
		{typ: truce.TypeIncident, path: "body.location.country", v: del},
		{typ: truce.TypeIncident, path: "body.event_type", v: del, phrase: "ACLED's event types"},
		{typ: truce.TypeIncident, path: "body.event_type", v: "Shelling", phrase: `"Shelling" is not one of ACLED's event types`},
		{typ: truce.TypeIncident, path: "body.event_type", v: "battles", phrase: "ACLED's event types"},
		{typ: truce.TypeIncident, path: "body.sub_event_type", v: del, phrase: "sub-event types of Explosions/Remote violence"},
		{typ: truce.TypeIncident, path: "body.sub_event_type", v: "Armed clash", phrase: `"Armed clash" is not one of ACLED's sub-event types`},
		{typ: truce.TypeIncident, path: "body.alleged_origin", v: del},
		{typ: truce.TypeIncident, path: "body.against", v: ""},
		{typ: truce.TypeIncident, path: "body.clauses", v: del, phrase: "ids of the clauses"},
		{typ: truce.TypeIncident, path: "body.clauses", v: nil},
		{typ: truce.TypeIncident, path: "body.fatalities", v: del, phrase: "0 when none"},
		{typ: truce.TypeIncident, path: "body.fatalities", v: -1, phrase: "negative"},
		{typ: truce.TypeIncident, path: "body.injured", v: del, phrase: "0 when none"},
		{typ: truce.TypeIncident, path: "body.injured", v: -3, phrase: "negative"},
		{typ: truce.TypeIncident, path: "body.narrative", v: "\t\n", phrase: "required"},
		{typ: truce.TypeIncident, path: "body.sources", v: del, phrase: "may be empty"},

		// action.report
		{typ: truce.TypeAction, path: "body.clause", v: del},
		{typ: truce.TypeAction, path: "body.taken_at", v: del},
		{typ: truce.TypeAction, path: "body.taken_at", v: "08/11/2025", phrase: "not a date"},
		{typ: truce.TypeAction, path: "body.description", v: ""},
		{typ: truce.TypeAction, path: "body.location.lat", v: del},
		{typ: truce.TypeAction, path: "body.location.lon", v: -200},
		{typ: truce.TypeAction, path: "body.location.place", v: del},
		{typ: truce.TypeAction, path: "body.location", v: map[string]any{}, want: "body.location.lat"},

		// evidence.add
		{typ: truce.TypeEvidence, path: "body.subject", v: del},
		{typ: truce.TypeEvidence, path: "body.sha256", v: del, phrase: "64 lowercase hex"},
		{typ: truce.TypeEvidence, path: "body.sha256", v: strings.ToUpper("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), phrase: "lowercase"},
		{typ: truce.TypeEvidence, path: "body.sha256", v: "9f86d081", phrase: "64 lowercase hex"},
		{typ: truce.TypeEvidence, path: "body.size", v: del, phrase: "more than 0"},
		{typ: truce.TypeEvidence, path: "body.size", v: 0, phrase: "more than 0"},
		{typ: truce.TypeEvidence, path: "body.size", v: -5},
		{typ: truce.TypeEvidence, path: "body.media_type", v: del},
		{typ: truce.TypeEvidence, path: "body.name", v: ""},
		{typ: truce.TypeEvidence, path: "body.captured_at", v: "last week", phrase: "not a date"},
		{typ: truce.TypeEvidence, path: "body.description", v: del},

		// reply
		{typ: truce.TypeReply, path: "body.subject", v: del},
		{typ: truce.TypeReply, path: "body.text", v: " "},
		{typ: truce.TypeReply, path: "body.contests[1]", v: "guilt", phrase: `"guilt" is not a question`},

		// assessment
		{typ: truce.TypeAssessment, path: "body.subject", v: del},
		{typ: truce.TypeAssessment, path: "body.question", v: del, phrase: "not a question"},
		{typ: truce.TypeAssessment, path: "body.question", v: "guilt", phrase: `"guilt" is not a question`},
		{typ: truce.TypeAssessment, path: "body.answer", v: del, phrase: "required"},
		{typ: truce.TypeAssessment, path: "body.answer", v: "maybe", phrase: `"maybe" is not yes, no or inconclusive`},
		{typ: truce.TypeAssessment, path: "body.answer", v: "Yes", phrase: "not yes, no or inconclusive"},
		{typ: truce.TypeAssessment, path: "body.severity", v: del, phrase: "minor or serious"},
		{typ: truce.TypeAssessment, path: "body.severity", v: "grave", phrase: "minor or serious"},
		{typ: truce.TypeAssessment, path: "body", v: map[string]any{"subject": "x", "question": "occurred", "answer": "no", "severity": "minor", "rationale": "r"}, want: "body.severity", phrase: "only given with a yes to violation"},
		{typ: truce.TypeAssessment, path: "body.rationale", v: del},

		// access.denied
		{typ: truce.TypeAccessDenied, path: "body.party", v: del},
		{typ: truce.TypeAccessDenied, path: "body.place", v: ""},
		{typ: truce.TypeAccessDenied, path: "body.at", v: del},
		{typ: truce.TypeAccessDenied, path: "body.at", v: "2025-13-01", phrase: "not a date"},
		{typ: truce.TypeAccessDenied, path: "body.description", v: del},

		// withdraw
		{typ: truce.TypeWithdraw, path: "body.subject", v: del},
		{typ: truce.TypeWithdraw, path: "body.reason", v: ""},
	}
	valid[truce.TypeAction] = with(t, valid[truce.TypeAction], "body.location.admin2", deleted{})
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s=%v", tt.typ, tt.path, tt.v)
		if _, ok := tt.v.(deleted); ok {
			name = fmt.Sprintf("%s/%s missing", tt.typ, tt.path)
		}
		t.Run(name, func(t *testing.T) {
			payload := marshal(t, with(t, valid[tt.typ], tt.path, tt.v))
			_, _, err := truce.ParseStatement(payload)
			if err == nil {
				t.Fatalf("ParseStatement(%s) succeeded, want an error about %s", payload, tt.path)
			}
			want := tt.want
			if want == "" {
				want = tt.path
			}
			var fe *truce.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseStatement: %v (%T), want a *FieldError about %s", err, err, want)
			}
			if fe.Field != want {
				t.Errorf("ParseStatement: error about %q (%v), want %q", fe.Field, err, want)
			}
			if !errors.Is(err, truce.ErrMalformed) {
				t.Errorf("ParseStatement: %v does not match ErrMalformed", err)
			}
			if !strings.HasPrefix(err.Error(), want+" ") {
				t.Errorf("error %q does not begin with the field %s", err, want)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

// TestParseStatementMalformed checks the errors about statements that are
// not JSON of the right shape: they match ErrMalformed and say what is
// wrong.
func TestParseStatementMalformed(t *testing.T) {
	valid := validStatements(t)
	incident := string(marshal(t, valid[truce.TypeIncident]))
	tests := []struct {
		name    string
		payload string
		phrase  string
	}{
		{"empty", "", "statement"},
		{"not JSON", "incident at the border", "not valid JSON"},
		{"truncated", incident[:len(incident)/2], "statement"},
		{"a list", "[]", "must be an object"},
		{"a string", `"incident"`, "must be an object"},
		{"trailing object", incident + "{}", "trailing data"},
		{"trailing garbage", incident + "x", "statement"},
		{"unknown field", string(marshal(t, with(t, valid[truce.TypeIncident], "signature", "x"))), `unknown field "signature"`},
		{"unknown body field", string(marshal(t, with(t, valid[truce.TypeIncident], "body.casualties", 3))), `unknown field "casualties"`},
		{"unknown location field", string(marshal(t, with(t, valid[truce.TypeIncident], "body.location.altitude", 900))), `unknown field "location.altitude"`},
		{"unknown member field", string(marshal(t, with(t, valid[truce.TypeCharter], "body.members[0].email", "a@b.c"))), `unknown field "members.email"`},
		{"unknown rules field", string(marshal(t, with(t, valid[truce.TypeCharter], "body.rules.verification.veto", true))), `unknown field "rules.verification.veto"`},
		{"body a string", string(marshal(t, with(t, valid[truce.TypeWithdraw], "body", "withdrawn"))), "must be an object"},
		{"body a list", string(marshal(t, with(t, valid[truce.TypeWithdraw], "body", []any{}))), "must be an object"},
		{"type a number", string(marshal(t, with(t, valid[truce.TypeWithdraw], "type", 7))), "type must be a string"},
		{"lat a string", string(marshal(t, with(t, valid[truce.TypeIncident], "body.location.lat", "31.0"))), "location.lat must be a number"},
		{"fatalities a string", string(marshal(t, with(t, valid[truce.TypeIncident], "body.fatalities", "two"))), "fatalities must be a"},
		{"clauses a string", string(marshal(t, with(t, valid[truce.TypeIncident], "body.clauses", "c1"))), "clauses must be a list"},
		{"keys a string", string(marshal(t, with(t, valid[truce.TypeCharter], "body.members[0].keys", "AAAA"))), "members.keys must be a list"},
		{"count_interested a string", string(marshal(t, with(t, valid[truce.TypeCharter], "body.rules.verification.count_interested", "no"))), "must be true or false"},
		{"time not RFC 3339", string(marshal(t, with(t, valid[truce.TypeWithdraw], "time", "7 Nov 2025"))), "parsing time"},
		{"size too large", strings.Replace(string(marshal(t, valid[truce.TypeEvidence])), `"size":48213`, `"size":1e30`, 1), "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := truce.ParseStatement([]byte(tt.payload))
			if err == nil {
				t.Fatalf("ParseStatement(%q) succeeded, want an error", tt.payload)
			}
			if !errors.Is(err, truce.ErrMalformed) {
				t.Errorf("ParseStatement: %v does not match ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.phrase) {
				t.Errorf("error %q does not say %q", err, tt.phrase)
			}
		})
	}
}

// TestParseStatementWrongTypeNamesField checks that a field of the wrong
// JSON type is a *FieldError, as a missing or out-of-range one is, so that
// a client can point at the field.
func TestParseStatementWrongTypeNamesField(t *testing.T) {
	valid := validStatements(t)
	tests := []struct {
		typ, path string
		v         any
	}{
		{truce.TypeIncident, "body.location.lat", "31.0"},
		{truce.TypeIncident, "body.fatalities", "two"},
		{truce.TypeIncident, "body.time_precision", 1.5},
		{truce.TypeCharter, "body.rules.verification.quorum", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, _, err := truce.ParseStatement(marshal(t, with(t, valid[tt.typ], tt.path, tt.v)))
			var fe *truce.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.path {
				t.Errorf("ParseStatement: %v, want a *FieldError about %s", err, tt.path)
			}
		})
	}
}

// TestParseStatementOneReading checks that a signed statement means the
// same to every JSON parser: Go's encoding/json matches names without
// regard to case and keeps the last of duplicate names, where JavaScript,
// Python and most others match names exactly. A statement that Go reads
// one way and a browser or a third-party auditor another would let an
// author (or the operator, replaying a member's statement) make findings
// that are not the same on every machine.
func TestParseStatementOneReading(t *testing.T) {
	valid := validStatements(t)
	assessment := string(marshal(t, with(t, valid[truce.TypeAssessment], "body", map[string]any{
		"subject": vectorIncidentID, "question": "origin", "answer": "PK", "rationale": "r",
	})))
	withdraw := string(marshal(t, valid[truce.TypeWithdraw]))
	tests := []struct {
		name    string
		payload string
	}{
		{"name in another case", strings.Replace(withdraw, `"type":`, `"Type":`, 1)},
		{"body name in another case", strings.Replace(withdraw, `"reason":`, `"REASON":`, 1)},
		{"name with a long s", strings.Replace(withdraw, `"subject":`, "\"\u017fubject\":", 1)},
		{"duplicate name, another case", strings.Replace(assessment, `"answer":"PK"`, `"answer":"PK","Answer":"AF"`, 1)},
		{"duplicate name", strings.Replace(assessment, `"answer":"PK"`, `"answer":"PK","answer":"AF"`, 1)},
		{"duplicate statement type", strings.Replace(withdraw, `"type":"withdraw"`, `"type":"reply","TYPE":"withdraw"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := truce.ParseStatement([]byte(tt.payload)); !errors.Is(err, truce.ErrMalformed) {
				t.Errorf("ParseStatement(%s) = %v, want an ErrMalformed error", tt.payload, err)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		s    string
		want time.Duration
		ok   bool
		bug  string
	}{
		{s: "72h", want: 72 * time.Hour, ok: true},
		{s: "3d", want: 72 * time.Hour, ok: true},
		{s: "0d", want: 0, ok: true},
		{s: "90m", want: 90 * time.Minute, ok: true},
		{s: "1h30m", want: 90 * time.Minute, ok: true},
		{s: "36500d", want: 36500 * 24 * time.Hour, ok: true},
		{s: ""},
		{s: "3"},
		{s: "d"},
		{s: "3 d"},
		{s: "3days"},
		{s: "1.5d"},
		{s: "-1d"},
		{s: "-1h"},
		{s: "3000000h"},
		{s: "200000d", bug: "ParseWindow multiplies days into a time.Duration without checking for overflow: 200000d is about -8 days"},
		{s: "9223372036854775807d", bug: "ParseWindow multiplies days into a time.Duration without checking for overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			got, err := truce.ParseWindow(tt.s)
			if tt.ok {
				if err != nil || got != tt.want {
					t.Errorf("ParseWindow(%q) = %v, %v; want %v, nil", tt.s, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Errorf("ParseWindow(%q) = %v, want an error", tt.s, got)
			}
		})
	}
}

func TestCharterAmendCheckMembers(t *testing.T) {
	valid := validStatements(t)
	parties := []truce.Party{{ID: "AF", Name: "Afghanistan"}, {ID: "PK", Name: "Pakistan"}}
	tests := []struct {
		path string
		v    any
		want string
	}{
		{"body.version", 3, ""},
		{"body.members[0].party", "IR", "body.members[0].party"},
		{"body.members[2].party", "AF", "body.members[2].party"},
		{"body.members[1].keys[0]", "AAAA", "body.members[1].keys[0]"},
		{"body.members[3].id", "af-1", "body.members[3].id"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			// ParseStatement cannot know the charter's parties, so it
			// leaves the members to CheckMembers.
			_, body, err := truce.ParseStatement(marshal(t, with(t, valid[truce.TypeCharterAmend], tt.path, tt.v)))
			if err != nil {
				t.Fatalf("ParseStatement: %v", err)
			}
			err = body.(*truce.CharterAmend).CheckMembers(parties)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckMembers: %v, want nil", err)
				}
				return
			}
			var fe *truce.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.want {
				t.Errorf("CheckMembers: %v, want a *FieldError about %s", err, tt.want)
			}
		})
	}
}
