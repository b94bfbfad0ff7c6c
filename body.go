package truce

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Roles of members.
const (
	RoleParty    = "party"
	RoleMediator = "mediator"
	RoleMonitor  = "monitor"
)

// Questions asked of a subject, and their special answers.
const (
	QuestionOccurred    = "occurred"
	QuestionOrigin      = "origin"
	QuestionViolation   = "violation"
	QuestionDuplicateOf = "duplicate_of"
	QuestionVerified    = "verified"

	AnswerYes             = "yes"
	AnswerNo              = "no"
	AnswerInconclusive    = "inconclusive"
	AnswerNotAttributable = "not_attributable"
	AnswerNone            = "none"
	SeverityMinor         = "minor"
	SeveritySerious       = "serious"
	OriginUnknown         = "unknown"
)

// IncidentQuestions are asked of every incident, in this order.
var IncidentQuestions = []string{QuestionOccurred, QuestionOrigin, QuestionViolation, QuestionDuplicateOf}

// ActionQuestions are asked of every compliance action.
var ActionQuestions = []string{QuestionVerified}

// Agreement rules.
const (
	AgreementUnanimous = "unanimous"
	AgreementTwoThirds = "two_thirds"
	AgreementMajority  = "majority"
)

type body interface{ check() error }

func newBody(typ string) (body, error) {
	switch typ {
	case TypeCharter:
		return new(Charter), nil
	case TypeCharterAmend:
		return new(CharterAmend), nil
	case TypeIncident:
		return new(IncidentReport), nil
	case TypeAction:
		return new(ActionReport), nil
	case TypeEvidence:
		return new(EvidenceAdd), nil
	case TypeReply:
		return new(Reply), nil
	case TypeAssessment:
		return new(Assessment), nil
	case TypeAccessDenied:
		return new(AccessDenied), nil
	case TypeWithdraw:
		return new(Withdraw), nil
	}
	return nil, &FieldError{Field: "type", Problem: fmt.Sprintf("%q is not a statement type (want one of %s)", typ, strings.Join(Types, ", "))}
}

// Party is one of the parties to the agreement.
type Party struct {
	// ID is short and stable, such as AF or PK.
	ID string `json:"id"`
	// Name is the party's name for people.
	Name string `json:"name"`
}

// Member is a person or office that may sign statements.
type Member struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is RoleParty, RoleMediator or RoleMonitor.
	Role string `json:"role"`
	// Party is the member's party, for role party only.
	Party string `json:"party,omitempty"`
	// Keys are base64 raw Ed25519 public keys; any of them may sign.
	Keys []string `json:"keys"`
}

// Clause is one commitment of the agreement.
type Clause struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	// Consequence is what the agreement attaches to a violation.
	Consequence string `json:"consequence,omitempty"`
}

// Rules say whose votes decide a question, and when.
type Rules struct {
	// ReplyWindow is how long the accused may reply before a question can
	// be decided: a Go duration such as 72h, or whole days such as 3d.
	ReplyWindow  string       `json:"reply_window"`
	Verification Verification `json:"verification"`
}

// Verification is the quorum rule for findings.
type Verification struct {
	// Roles whose votes count.
	Roles []string `json:"roles"`
	// Quorum is the least number of counted votes for a decision.
	Quorum int `json:"quorum"`
	// Agreement is AgreementUnanimous, AgreementTwoThirds or AgreementMajority.
	Agreement string `json:"agreement"`
	// CountInterested lets members of interested parties' count.
	CountInterested bool `json:"count_interested"`
}

// Window is the reply window as a duration.
func (r *Rules) Window() time.Duration {
	d, _ := ParseWindow(r.ReplyWindow)
	return d
}

// ParseWindow parses a reply window: a Go duration (72h) or days (3d).
func ParseWindow(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > int(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 72h or 3d", s)
	}
	return d, nil
}

// Witness is a witness the charter trusts to cosign checkpoints.
type Witness struct {
	Name string `json:"name"`
	// Key is the witness's C2SP tlog-cosignature verifier key: a
	// signed-note key of type 0x04, as `truce witness` prints it.
	Key string `json:"key"`
	// URL is where the witness takes checkpoints: the prefix of its
	// C2SP tlog-witness add-checkpoint endpoint.
	URL string `json:"url"`
}

// Charter is the body of the genesis statement.
type Charter struct {
	Title     string    `json:"title"`
	Parties   []Party   `json:"parties"`
	Members   []Member  `json:"members"`
	Clauses   []Clause  `json:"clauses"`
	Rules     Rules     `json:"rules"`
	Languages []string  `json:"languages"`
	Witnesses []Witness `json:"witnesses,omitempty"`
	// WitnessPolicy says whose cosignatures a checkpoint needs; see
	// WitnessPolicy for its forms.
	WitnessPolicy json.RawMessage `json:"witness_policy,omitempty"`
}

// CharterAmend replaces the charter's members, clauses and rules whole.
type CharterAmend struct {
	// Version is the charter version this amendment makes: the current
	// version plus one. The genesis charter is version 1.
	Version int      `json:"version"`
	Members []Member `json:"members"`
	Clauses []Clause `json:"clauses"`
	Rules   Rules    `json:"rules"`
	// Title, Languages, Witnesses and WitnessPolicy replace the charter's
	// when given.
	Title         string          `json:"title,omitempty"`
	Languages     []string        `json:"languages,omitempty"`
	Witnesses     []Witness       `json:"witnesses,omitempty"`
	WitnessPolicy json.RawMessage `json:"witness_policy,omitempty"`
}

// Location is where something happened, in ACLED's terms.
type Location struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
	// GeoPrecision is ACLED's: 1 the place itself, 2 near it, 3 the region.
	GeoPrecision int    `json:"geo_precision"`
	Place        string `json:"place"`
	Admin1       string `json:"admin1"`
	Admin2       string `json:"admin2,omitempty"`
	Country      string `json:"country"`
}

// IncidentReport alleges an incident.
type IncidentReport struct {
	// OccurredAt is a date (2025-11-07) or an RFC 3339 time.
	OccurredAt string `json:"occurred_at"`
	// TimePrecision is ACLED's: 1 the day, 2 the week, 3 the month.
	TimePrecision int      `json:"time_precision"`
	Location      Location `json:"location"`
	EventType     string   `json:"event_type"`
	SubEventType  string   `json:"sub_event_type"`
	// AllegedOrigin is the party from whose territory the act came, or "unknown".
	AllegedOrigin string `json:"alleged_origin"`
	// Against is the party that was hit.
	Against    string   `json:"against"`
	Clauses    []string `json:"clauses"`
	Fatalities *int     `json:"fatalities"`
	Injured    *int     `json:"injured"`
	Narrative  string   `json:"narrative"`
	Sources    []string `json:"sources"`
}

// ActionReport claims a compliance action under a clause.
type ActionReport struct {
	Clause      string    `json:"clause"`
	TakenAt     string    `json:"taken_at"`
	Description string    `json:"description"`
	Location    *Location `json:"location,omitempty"`
}

// EvidenceAdd records a file, held in the evidence store, about a subject.
type EvidenceAdd struct {
	Subject    string `json:"subject"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	MediaType  string `json:"media_type"`
	Name       string `json:"name"`
	CapturedAt string `json:"captured_at,omitempty"`
	// Description says what the file shows.
	Description string `json:"description"`
}

// Reply is an interested party's answer to a subject.
type Reply struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// Contests lists the questions the reply disputes.
	Contests []string `json:"contests"`
}

// Assessment is a member's vote on one question of a subject.
type Assessment struct {
	Subject  string `json:"subject"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Severity is SeverityMinor or SeveritySerious, on a yes to violation.
	Severity  string `json:"severity,omitempty"`
	Rationale string `json:"rationale"`
}

// AccessDenied records that a party kept monitors out of a place.
type AccessDenied struct {
	Subject     string `json:"subject,omitempty"`
	Party       string `json:"party"`
	Place       string `json:"place"`
	At          string `json:"at"`
	Description string `json:"description"`
}

// Withdraw takes back the author's own subject.
type Withdraw struct {
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
}

// fields collects the first problem found while checking a body.
type fields struct{ err *FieldError }

func (f *fields) bad(field, problem string) {
	if f.err == nil {
		f.err = &FieldError{Field: "body." + field, Problem: problem}
	}
}

func (f *fields) need(field, v string) {
	if strings.TrimSpace(v) == "" {
		f.bad(field, "is required")
	}
}

func (f *fields) when(field, v string, required bool) {
	if v == "" {
		if required {
			f.bad(field, "is required (a date such as 2025-11-07 or an RFC 3339 time)")
		}
		return
	}
	if _, err := ParseWhen(v); err != nil {
		f.bad(field, fmt.Sprintf("%q is not a date such as 2025-11-07 or an RFC 3339 time", v))
	}
}

func (f *fields) result() error {
	if f.err == nil {
		return nil
	}
	return f.err
}

// ParseWhen parses a body time: a date (2025-11-07) or an RFC 3339 time.
func ParseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

func (f *fields) id(field, v string) {
	if v == "" {
		f.bad(field, "is required")
	} else if !idPattern.MatchString(v) {
		f.bad(field, fmt.Sprintf("%q must be 1 to 64 letters, digits, '.', '_', ':' or '-'", v))
	}
}

func (c *Charter) check() error {
	var f fields
	f.need("title", c.Title)
	if len(c.Parties) < 2 {
		f.bad("parties", "must list at least two parties")
	}
	parties := map[string]bool{}
	for i, p := range c.Parties {
		f.id(fmt.Sprintf("parties[%d].id", i), p.ID)
		f.need(fmt.Sprintf("parties[%d].name", i), p.Name)
		if p.ID == OriginUnknown || p.ID == AnswerNotAttributable || p.ID == AnswerInconclusive {
			f.bad(fmt.Sprintf("parties[%d].id", i), fmt.Sprintf("%q is reserved", p.ID))
		}
		if parties[p.ID] {
			f.bad(fmt.Sprintf("parties[%d].id", i), fmt.Sprintf("%q is listed twice", p.ID))
		}
		parties[p.ID] = true
	}
	checkMembers(&f, c.Members, parties)
	checkClauses(&f, c.Clauses)
	checkRules(&f, &c.Rules)
	if len(c.Languages) == 0 {
		f.bad("languages", "must list at least one language")
	}
	resolvePolicy(&f, c.Witnesses, c.WitnessPolicy)
	return f.result()
}

// CheckMembers checks an amendment's members against the charter's parties.
func (a *CharterAmend) CheckMembers(parties []Party) error {
	var f fields
	ps := map[string]bool{}
	for _, p := range parties {
		ps[p.ID] = true
	}
	checkMembers(&f, a.Members, ps)
	return f.result()
}

func (a *CharterAmend) check() error {
	var f fields
	if a.Version < 2 {
		f.bad("version", "must be the new charter version: the current one plus one (the first charter is version 1)")
	}
	if len(a.Members) == 0 {
		f.bad("members", "is required")
	}
	checkClauses(&f, a.Clauses)
	checkRules(&f, &a.Rules)
	resolvePolicy(&f, a.Witnesses, a.WitnessPolicy)
	return f.result()
}

func checkMembers(f *fields, members []Member, parties map[string]bool) {
	if len(members) == 0 {
		f.bad("members", "is required")
	}
	seen := map[string]bool{}
	keys := map[string]string{}
	for i, m := range members {
		at := fmt.Sprintf("members[%d]", i)
		f.id(at+".id", m.ID)
		if seen[m.ID] {
			f.bad(at+".id", fmt.Sprintf("%q is listed twice", m.ID))
		}
		seen[m.ID] = true
		f.need(at+".name", m.Name)
		switch m.Role {
		case RoleParty:
			if !parties[m.Party] {
				f.bad(at+".party", fmt.Sprintf("%q is not one of the charter's parties", m.Party))
			}
		case RoleMediator, RoleMonitor:
			if m.Party != "" {
				f.bad(at+".party", fmt.Sprintf("must be empty: a %s belongs to no party", m.Role))
			}
		default:
			f.bad(at+".role", fmt.Sprintf("%q is not a role (want party, mediator or monitor)", m.Role))
		}
		if len(m.Keys) == 0 {
			f.bad(at+".keys", "must list at least one public key")
		}
		for j, k := range m.Keys {
			pub, err := ParsePublicKey(k)
			if err != nil {
				f.bad(fmt.Sprintf("%s.keys[%d]", at, j), "is not a base64 32-byte Ed25519 public key")
				continue
			}
			id := KeyID(pub)
			if other, dup := keys[id]; dup {
				f.bad(fmt.Sprintf("%s.keys[%d]", at, j), fmt.Sprintf("is also a key of %s", other))
			}
			keys[id] = m.ID
		}
	}
}

func checkClauses(f *fields, clauses []Clause) {
	if len(clauses) == 0 {
		f.bad("clauses", "must list at least one clause")
	}
	seen := map[string]bool{}
	for i, c := range clauses {
		f.id(fmt.Sprintf("clauses[%d].id", i), c.ID)
		if seen[c.ID] {
			f.bad(fmt.Sprintf("clauses[%d].id", i), fmt.Sprintf("%q is listed twice", c.ID))
		}
		seen[c.ID] = true
		f.need(fmt.Sprintf("clauses[%d].text", i), c.Text)
	}
}

func checkRules(f *fields, r *Rules) {
	if r.ReplyWindow == "" {
		f.bad("rules.reply_window", "is required (such as 72h)")
	} else if _, err := ParseWindow(r.ReplyWindow); err != nil {
		f.bad("rules.reply_window", err.Error())
	}
	v := r.Verification
	if len(v.Roles) == 0 {
		f.bad("rules.verification.roles", "must list at least one role")
	}
	for i, role := range v.Roles {
		if role != RoleParty && role != RoleMediator && role != RoleMonitor {
			f.bad(fmt.Sprintf("rules.verification.roles[%d]", i), fmt.Sprintf("%q is not a role", role))
		}
	}
	if v.Quorum < 1 {
		f.bad("rules.verification.quorum", "must be at least 1")
	}
	switch v.Agreement {
	case AgreementUnanimous, AgreementTwoThirds, AgreementMajority:
	default:
		f.bad("rules.verification.agreement", fmt.Sprintf("%q is not unanimous, two_thirds or majority", v.Agreement))
	}
}

func checkLocation(f *fields, at string, l *Location) {
	if l.Lat == nil {
		f.bad(at+".lat", "is required")
	} else if *l.Lat < -90 || *l.Lat > 90 {
		f.bad(at+".lat", "must be between -90 and 90")
	}
	if l.Lon == nil {
		f.bad(at+".lon", "is required")
	} else if *l.Lon < -180 || *l.Lon > 180 {
		f.bad(at+".lon", "must be between -180 and 180")
	}
	if l.GeoPrecision < 1 || l.GeoPrecision > 3 {
		f.bad(at+".geo_precision", "must be 1, 2 or 3 (ACLED: the place, near it, the region)")
	}
	f.need(at+".place", l.Place)
	f.need(at+".admin1", l.Admin1)
	f.need(at+".country", l.Country)
}

func (r *IncidentReport) check() error {
	var f fields
	f.when("occurred_at", r.OccurredAt, true)
	if r.TimePrecision < 1 || r.TimePrecision > 3 {
		f.bad("time_precision", "must be 1, 2 or 3 (ACLED: the day, the week, the month)")
	}
	checkLocation(&f, "location", &r.Location)
	if typeOK, subOK := validSubEvent(r.EventType, r.SubEventType); !typeOK {
		f.bad("event_type", fmt.Sprintf("%q is not one of ACLED's event types (%s)", r.EventType, strings.Join(ACLEDEventTypeOrder, ", ")))
	} else if !subOK {
		f.bad("sub_event_type", fmt.Sprintf("%q is not one of ACLED's sub-event types of %s (%s)", r.SubEventType, r.EventType, strings.Join(ACLEDEventTypes[r.EventType], ", ")))
	}
	f.need("alleged_origin", r.AllegedOrigin)
	f.need("against", r.Against)
	if r.Clauses == nil {
		f.bad("clauses", "is required (the ids of the clauses the incident would violate)")
	}
	if r.Fatalities == nil {
		f.bad("fatalities", "is required (0 when none)")
	} else if *r.Fatalities < 0 {
		f.bad("fatalities", "must not be negative")
	}
	if r.Injured == nil {
		f.bad("injured", "is required (0 when none)")
	} else if *r.Injured < 0 {
		f.bad("injured", "must not be negative")
	}
	f.need("narrative", r.Narrative)
	if r.Sources == nil {
		f.bad("sources", "is required (a list, which may be empty)")
	}
	return f.result()
}

func (r *ActionReport) check() error {
	var f fields
	f.need("clause", r.Clause)
	f.when("taken_at", r.TakenAt, true)
	f.need("description", r.Description)
	if r.Location != nil {
		checkLocation(&f, "location", r.Location)
	}
	return f.result()
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (e *EvidenceAdd) check() error {
	var f fields
	f.need("subject", e.Subject)
	if !sha256Pattern.MatchString(e.SHA256) {
		f.bad("sha256", "must be 64 lowercase hex digits")
	}
	if e.Size <= 0 {
		f.bad("size", "must be the file's size in bytes, more than 0")
	}
	f.need("media_type", e.MediaType)
	f.need("name", e.Name)
	f.when("captured_at", e.CapturedAt, false)
	f.need("description", e.Description)
	return f.result()
}

func (r *Reply) check() error {
	var f fields
	f.need("subject", r.Subject)
	f.need("text", r.Text)
	for i, q := range r.Contests {
		if !isQuestion(q) {
			f.bad(fmt.Sprintf("contests[%d]", i), fmt.Sprintf("%q is not a question (occurred, origin, violation, duplicate_of, verified)", q))
		}
	}
	return f.result()
}

func isQuestion(q string) bool {
	switch q {
	case QuestionOccurred, QuestionOrigin, QuestionViolation, QuestionDuplicateOf, QuestionVerified:
		return true
	}
	return false
}

func (a *Assessment) check() error {
	var f fields
	f.need("subject", a.Subject)
	if !isQuestion(a.Question) {
		f.bad("question", fmt.Sprintf("%q is not a question (occurred, origin, violation, duplicate_of, verified)", a.Question))
	}
	f.need("answer", a.Answer)
	switch a.Question {
	case QuestionOccurred, QuestionViolation, QuestionVerified:
		if a.Answer != AnswerYes && a.Answer != AnswerNo && a.Answer != AnswerInconclusive && a.Answer != "" {
			f.bad("answer", fmt.Sprintf("%q is not yes, no or inconclusive", a.Answer))
		}
	}
	if a.Question == QuestionViolation && a.Answer == AnswerYes {
		if a.Severity != SeverityMinor && a.Severity != SeveritySerious {
			f.bad("severity", "is required on a yes to violation: minor or serious")
		}
	} else if a.Severity != "" {
		f.bad("severity", "is only given with a yes to violation")
	}
	f.need("rationale", a.Rationale)
	return f.result()
}

func (a *AccessDenied) check() error {
	var f fields
	f.need("party", a.Party)
	f.need("place", a.Place)
	f.when("at", a.At, true)
	f.need("description", a.Description)
	return f.result()
}

func (w *Withdraw) check() error {
	var f fields
	f.need("subject", w.Subject)
	f.need("reason", w.Reason)
	return f.result()
}
