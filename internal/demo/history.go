package demo

import (
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/truce-mechanism/truce"
)

// Days is how long the simulated history runs.
const Days = 42

// The shape of a full-scale history; Config.Scale multiplies the counts.
const (
	fullIncidents   = 285 // plus up to 30 more, by seed
	fullActions     = 30
	fullDenials     = 15
	fullDuplicates  = 6
	fullWithdrawn   = 5
	amendAfter      = 21*24*time.Hour + 9*time.Hour + 37*time.Minute
	replyWindow     = 72 * time.Hour
	firstIncident   = 6 * time.Hour // after the charter
	earlyStatements = 28 * time.Hour
	firstMediatorAt = 30 * time.Hour
	afterWindow     = replyWindow + 2*time.Hour
)

// event is one statement of the history, planned before it is signed.
type event struct {
	// at is the log's receive time; time the author's own clock.
	at, time time.Time
	// seq is the order of planning, which breaks ties of at.
	seq       int
	id        string
	author    string
	typ       string
	body      any
	cosigners []string
}

// answer is a vote's answer, with its severity on a yes to violation.
type answer struct{ answer, severity string }

// scenario is what happens to a subject after it is reported.
type scenario int

const (
	scRecent           scenario = iota // still in its reply window at the end
	scDecided                          // two mediators agree
	scDisputed                         // two mediators disagree and stay so
	scDisputedResolved                 // ... until one replaces its vote
	scDisputedChanged                  // one replaces its vote, still disagreeing
	scDisputedThird                    // a third mediator disagrees too
	scOpenNone                         // no mediator votes
	scOpenOne                          // one mediator votes
	scWithdrawn                        // its reporter withdraws it
)

// incident is a planned incident report and what becomes of it.
type incident struct {
	id       string
	at       time.Time
	author   string
	party    string // the reporter's party, or empty
	site     *site
	pt       point
	kind     kind
	report   *truce.IncidentReport
	truth    map[string]answer
	dupOf    *incident
	original bool // another report duplicates this one
	scenario scenario
	withdraw time.Time
}

// accused is the party the report accuses, or empty.
func (inc *incident) accused() string {
	if o := inc.report.AllegedOrigin; o != truce.OriginUnknown {
		return o
	}
	return ""
}

// action is a planned compliance action.
type action struct {
	id     string
	at     time.Time
	author string
	party  string
	truth  answer
}

// kind is an ACLED event type and sub-event type, with how often it is
// reported.
type kind struct {
	event, sub string
	weight     float64
}

func kinds() []kind {
	return []kind{
		{"Battles", "Armed clash", 34},
		{"Explosions/Remote violence", "Shelling/artillery/missile attack", 24},
		{"Explosions/Remote violence", "Air/drone strike", 12},
		{"Explosions/Remote violence", "Remote explosive/landmine/IED", 6},
		{"Explosions/Remote violence", "Grenade", 2},
		{"Violence against civilians", "Attack", 7},
		{"Violence against civilians", "Abduction/forced disappearance", 2},
		{"Strategic developments", "Headquarters or base established", 4},
		{"Strategic developments", "Looting/property destruction", 3},
		{"Strategic developments", "Disrupted weapons use", 2},
		{"Strategic developments", "Other", 4},
	}
}

// planner plans the history: every statement with its receive time,
// drawn from one seeded random source in a fixed order.
type planner struct {
	rng        *rand.Rand
	seed       int64
	scale      float64
	start, end time.Time
	amendAt    time.Time
	keys       map[string]ed25519.PrivateKey
	witnesses  []truce.Witness
	sites      []site
	kinds      []kind

	events    []*event
	incidents []*incident
	actions   []*action
	files     []*file
}

func newPlanner(cfg Config) *planner {
	p := &planner{
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7472756365646d6f)), // "trucedmo"
		seed:  cfg.Seed,
		scale: cfg.Scale,
		end:   cfg.End,
		start: cfg.End.Add(-Days * 24 * time.Hour),
		keys:  map[string]ed25519.PrivateKey{},
		sites: sites(),
		kinds: kinds(),
	}
	p.amendAt = p.start.Add(amendAfter)
	for _, m := range roster() {
		p.keys[m.id] = memberKey(cfg.Seed, m.id)
	}
	return p
}

// scaled is n times the scale, at least min.
func (p *planner) scaled(n float64, least int) int {
	return max(least, int(math.Round(n*p.scale)))
}

func (p *planner) chance(x float64) bool { return p.rng.Float64() < x }

// between is a random duration in [lo, hi], to the millisecond.
func (p *planner) between(lo, hi time.Duration) time.Duration {
	ms := p.rng.Int64N(int64((hi-lo)/time.Millisecond) + 1)
	return lo + time.Duration(ms)*time.Millisecond
}

func (p *planner) weighted(weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := p.rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// version is the charter version in force at t.
func (p *planner) version(t time.Time) int {
	if t.After(p.amendAt) {
		return amendmentVersion
	}
	return 1
}

func (p *planner) monitor(t time.Time) string {
	return pick(p.rng, membersOf(truce.RoleMonitor, "", p.version(t)))
}

// newID makes a UUIDv7 from the statement's time and seeded random bits.
//
// SPEC: RFC 9562, section 5.7.
func (p *planner) newID(t time.Time) string {
	var b uuid.UUID
	binary.BigEndian.PutUint64(b[0:8], uint64(t.UnixMilli())<<16|p.rng.Uint64()&0xffff)
	binary.BigEndian.PutUint64(b[8:16], p.rng.Uint64())
	b[6] = 0x70 | b[6]&0x0f // version 7
	b[8] = 0x80 | b[8]&0x3f // variant 10
	return b.String()
}

// add plans a statement received at at, made a little earlier by its
// author. Statements that would fall after the end are dropped: they are
// what would have happened next.
func (p *planner) add(at time.Time, author, typ string, body any, cosigners ...string) *event {
	return p.addLag(at, p.between(3*time.Second, 4*time.Minute), author, typ, body, cosigners...)
}

func (p *planner) addLag(at time.Time, lag time.Duration, author, typ string, body any, cosigners ...string) *event {
	at = at.UTC().Truncate(time.Millisecond)
	if at.After(p.end) || at.Before(p.start) {
		return nil
	}
	e := &event{at: at, time: at.Add(-lag).Truncate(time.Second), seq: len(p.events), author: author, typ: typ, body: body, cosigners: cosigners}
	e.id = p.newID(e.time)
	p.events = append(p.events, e)
	return e
}

// plan plans the whole history and returns its statements in log order.
func (p *planner) plan() []*event {
	p.addLag(p.start, 2*time.Hour+p.between(0, time.Hour), "tr-1", truce.TypeCharter, genesisCharter(p.keys, p.witnesses), signersOf(1)...)
	p.addLag(p.amendAt, 5*time.Hour+p.between(0, time.Hour), "qa-1", truce.TypeCharterAmend, amendment(p.keys), signersOf(1)...)
	p.planIncidents()
	p.planDuplicates()
	p.assignScenarios()
	for _, inc := range p.incidents {
		p.planFollowUps(inc)
	}
	p.planActions()
	p.planDenials()
	events := slices.Clone(p.events)
	slices.SortStableFunc(events, func(a, b *event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return events
}

// dayWeights gives each day's share of incidents: a slow start, a
// flare-up in the third week and a smaller one in the fifth.
func dayWeights() []float64 {
	w := make([]float64, Days)
	for d := range w {
		w[d] = 1
	}
	w[0], w[1] = 0.4, 0.7
	for i, x := range []float64{2.0, 3.2, 3.8, 3.0, 2.0, 1.4} {
		w[14+i] = x
	}
	for i, x := range []float64{1.7, 2.3, 1.5} {
		w[31+i] = x
	}
	return w
}

func flareDay(d int) bool { return (d >= 14 && d < 20) || (d >= 31 && d < 34) }

// allocate shares total among weights by largest remainder, so that the
// counts add up exactly.
func allocate(total int, weights []float64) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	counts := make([]int, len(weights))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		x := float64(total) * w / sum
		counts[i] = int(x)
		given += counts[i]
		rems[i] = rem{i, x - float64(counts[i])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for j := 0; given < total; j++ {
		counts[rems[j%len(rems)].i]++
		given++
	}
	return counts
}

func (p *planner) planIncidents() {
	total := p.scaled(float64(fullIncidents+p.rng.IntN(31)), 12)
	counts := allocate(total, dayWeights())
	for d := Days - 3; d < Days; d++ {
		counts[d] = max(counts[d], 1) // something is always awaiting a reply
	}
	for d, n := range counts {
		day := p.start.Add(time.Duration(d) * 24 * time.Hour)
		lo, hi := time.Duration(0), 24*time.Hour-time.Minute
		if d == 0 {
			lo = firstIncident
		}
		if d == Days-1 {
			hi -= 20 * time.Minute // the last report lands before the end
		}
		var times []time.Time
		for range n {
			times = append(times, day.Add(p.between(lo, hi)))
		}
		slices.SortFunc(times, time.Time.Compare)
		for _, at := range times {
			p.incidents = append(p.incidents, p.newIncident(at, flareDay(d)))
		}
	}
}

// newIncident plans one incident report received at at.
func (p *planner) newIncident(at time.Time, flare bool) *incident {
	weights := make([]float64, len(p.sites))
	for i, s := range p.sites {
		weights[i] = s.weight
		if flare {
			weights[i] = s.flare
		}
	}
	s := &p.sites[p.weighted(weights)]
	kw := make([]float64, len(p.kinds))
	for i, k := range p.kinds {
		kw[i] = k.weight
	}
	k := p.kinds[p.weighted(kw)]

	inc := &incident{at: at, site: s, kind: k}
	var origin, against string
	switch r := p.rng.Float64(); {
	case r < 0.55:
		inc.party = pick(p.rng, []string{partyAF, partyPK})
		inc.author = pick(p.rng, membersOf(truce.RoleParty, inc.party, p.version(at)))
		against, origin = inc.party, otherParty(inc.party)
	case r < 0.95:
		inc.author = p.monitor(at)
		against = pick(p.rng, []string{partyAF, partyPK})
		origin = otherParty(against)
		if p.chance(0.28) {
			origin = truce.OriginUnknown
		}
	default:
		inc.author = pick(p.rng, membersOf(truce.RoleMediator, "", p.version(at)))
		against = pick(p.rng, []string{partyAF, partyPK})
		origin = otherParty(against)
	}
	// Posts and troop movements are seen on the side that made them.
	side := against
	if (k.sub == "Headquarters or base established" || k.sub == "Other") && origin != truce.OriginUnknown {
		side = origin
	}
	inc.pt = pick(p.rng, s.points[side])
	inc.report = p.incidentReport(inc, origin, against, side, flare)
	inc.truth = p.truth(inc)
	return inc
}

func (p *planner) location(pt point, side string) truce.Location {
	precision := 1
	jitter := 0.006
	if p.chance(0.35) {
		precision, jitter = 2, 0.012
	}
	round := func(x float64) *float64 {
		v := math.Round(x*1e4) / 1e4
		return &v
	}
	return truce.Location{
		Lat: round(pt.lat + (p.rng.Float64()*2-1)*jitter), Lon: round(pt.lon + (p.rng.Float64()*2-1)*jitter),
		GeoPrecision: precision, Place: pt.place, Admin1: pt.admin1, Admin2: pt.admin2, Country: partyName(side),
	}
}

func (p *planner) casualties(k kind, flare bool) (fatalities, injured int) {
	big := 0.0
	if flare {
		big = 0.06
	}
	switch k.event {
	case "Strategic developments":
		if k.sub == "Looting/property destruction" && p.chance(0.4) {
			return 0, 1 + p.rng.IntN(5)
		}
		return 0, 0
	case "Violence against civilians":
		if k.sub == "Abduction/forced disappearance" {
			return 0, 0
		}
		fatalities = 1 + p.rng.IntN(3)
	default:
		switch r := p.rng.Float64(); {
		case r < 0.48-big:
			fatalities = 0
		case r < 0.88-big:
			fatalities = 1 + p.rng.IntN(3)
		case r < 0.98-big/2:
			fatalities = 4 + p.rng.IntN(6)
		default:
			fatalities = 10 + p.rng.IntN(16)
		}
		if k.sub == "Air/drone strike" && fatalities == 0 && p.chance(0.5) {
			fatalities = 1 + p.rng.IntN(4)
		}
	}
	injured = p.rng.IntN(4)
	if fatalities > 0 {
		injured += fatalities/2 + p.rng.IntN(fatalities+1)
	}
	return fatalities, injured
}

func (p *planner) incidentReport(inc *incident, origin, against, side string, flare bool) *truce.IncidentReport {
	k := inc.kind
	f, i := p.casualties(k, flare)
	occurred := inc.at.Add(-p.between(40*time.Minute, 30*time.Hour))
	if occurred.Before(p.start) {
		occurred = p.start
	}
	r := &truce.IncidentReport{
		TimePrecision: 1,
		OccurredAt:    occurred.Truncate(time.Minute).Format(time.RFC3339),
		Location:      p.location(inc.pt, side),
		EventType:     k.event, SubEventType: k.sub,
		AllegedOrigin: origin, Against: against,
		Fatalities: &f, Injured: &i,
	}
	if p.chance(0.12) {
		r.TimePrecision = 2
		r.OccurredAt = occurred.Format(time.DateOnly)
	}
	switch k.event {
	case "Strategic developments":
		if k.sub == "Looting/property destruction" {
			r.Clauses = []string{clauseCivilians}
		} else if k.sub == "Disrupted weapons use" {
			r.Clauses = []string{clauseAttacks}
		} else {
			r.Clauses = []string{clauseMovements}
		}
	case "Violence against civilians":
		r.Clauses = []string{clauseAttacks, clauseCivilians}
	default:
		r.Clauses = []string{clauseAttacks}
		if (f > 0 && p.chance(0.35)) || p.chance(0.1) {
			r.Clauses = append(r.Clauses, clauseCivilians)
		}
		if k.sub == "Air/drone strike" && p.version(inc.at) >= amendmentVersion {
			r.Clauses = append(r.Clauses, clauseDrones)
		}
	}
	r.Narrative = narrative(p.rng, inc.author, k, inc.pt, inc.site, origin, against, f, i)
	r.Sources = sources(p.rng, inc.author, inc.pt)
	return r
}

// truth is what the mediators find, when they agree.
func (p *planner) truth(inc *incident) map[string]answer {
	r := inc.report
	t := map[string]answer{truce.QuestionDuplicateOf: {answer: truce.AnswerNone}}
	occurred := truce.AnswerYes
	if x := p.rng.Float64(); inc.party != "" && x < 0.09 {
		occurred = truce.AnswerNo
	} else if x > 0.88 {
		occurred = truce.AnswerInconclusive
	}
	t[truce.QuestionOccurred] = answer{answer: occurred}
	switch occurred {
	case truce.AnswerNo:
		t[truce.QuestionOrigin] = answer{answer: truce.AnswerNotAttributable}
		t[truce.QuestionViolation] = answer{answer: truce.AnswerNo}
		return t
	case truce.AnswerInconclusive:
		t[truce.QuestionOrigin] = answer{answer: truce.AnswerInconclusive}
		t[truce.QuestionViolation] = answer{answer: truce.AnswerInconclusive}
		return t
	}
	var origin string
	x := p.rng.Float64()
	if accused := inc.accused(); accused != "" {
		switch {
		case x < 0.68:
			origin = accused
		case x < 0.88:
			origin = truce.AnswerNotAttributable
		default:
			origin = truce.AnswerInconclusive
		}
	} else {
		switch {
		case x < 0.5:
			origin = otherParty(r.Against)
		case x < 0.88:
			origin = truce.AnswerNotAttributable
		default:
			origin = truce.AnswerInconclusive
		}
	}
	t[truce.QuestionOrigin] = answer{answer: origin}
	yes := 0.85
	switch {
	case inc.kind.event == "Strategic developments":
		yes = 0.6
	case origin == truce.AnswerNotAttributable:
		yes = 0.55
	case origin == truce.AnswerInconclusive:
		yes = 0.3
	}
	v := answer{answer: truce.AnswerInconclusive}
	if x := p.rng.Float64(); x < yes {
		v = answer{answer: truce.AnswerYes, severity: truce.SeverityMinor}
		if *r.Fatalities > 0 || *r.Injured >= 4 || inc.kind.sub == "Air/drone strike" {
			v.severity = truce.SeveritySerious
		}
		if p.chance(0.12) { // judgement differs from the numbers
			v.severity = map[string]string{truce.SeveritySerious: truce.SeverityMinor, truce.SeverityMinor: truce.SeveritySerious}[v.severity]
		}
	} else if origin != truce.AnswerInconclusive && x < yes+(1-yes)/2 {
		v.answer = truce.AnswerNo
	}
	t[truce.QuestionViolation] = v
	return t
}

// planDuplicates adds, for a few party reports, a monitor's near-identical
// report of the same event a few hours later.
func (p *planner) planDuplicates() {
	var candidates []*incident
	for _, inc := range p.incidents {
		if inc.party != "" && inc.at.Before(p.end.Add(-8*24*time.Hour)) && inc.kind.event != "Strategic developments" {
			candidates = append(candidates, inc)
		}
	}
	n := min(p.scaled(fullDuplicates, 1), len(candidates))
	for _, j := range p.rng.Perm(len(candidates))[:n] {
		orig := candidates[j]
		orig.original = true
		at := orig.at.Add(p.between(2*time.Hour, 20*time.Hour))
		dup := &incident{at: at, author: p.monitor(at), site: orig.site, pt: orig.pt, kind: orig.kind, dupOf: orig}
		r := *orig.report
		r.Location = p.location(orig.pt, orig.report.Against)
		r.Sources = sources(p.rng, dup.author, orig.pt)
		r.Narrative = simulated + reporterLabel(dup.author) + " separately reports what appears to be the event the " +
			adjective(orig.party) + " liaison office reported: " + trimSimulated(orig.report.Narrative)
		dup.report = &r
		dup.truth = map[string]answer{}
		for q, a := range orig.truth {
			dup.truth[q] = a
		}
		dup.truth[truce.QuestionDuplicateOf] = answer{answer: orig.id}
		p.incidents = append(p.incidents, dup)
	}
	slices.SortStableFunc(p.incidents, func(a, b *incident) int { return a.at.Compare(b.at) })
}

func trimSimulated(s string) string {
	if len(s) > len(simulated) && s[:len(simulated)] == simulated {
		return s[len(simulated):]
	}
	return s
}

// assignScenarios decides what becomes of each incident, by quotas drawn
// in a seeded order, so that every status appears at any scale.
func (p *planner) assignScenarios() {
	var older []*incident
	for _, inc := range p.incidents {
		if inc.at.Add(replyWindow + 6*time.Hour).After(p.end) {
			inc.scenario = scRecent
			continue
		}
		inc.scenario = scDecided
		if inc.dupOf == nil && !inc.original {
			older = append(older, inc)
		}
	}
	order := p.rng.Perm(len(older))
	next := 0
	take := func(n int, sc scenario) {
		for ; n > 0 && next < len(order); n-- {
			older[order[next]].scenario = sc
			next++
		}
	}
	take(p.scaled(fullWithdrawn, 1), scWithdrawn)
	take(p.scaled(14, 2), scDisputed)
	take(p.scaled(4, 1), scDisputedResolved)
	take(p.scaled(2, 1), scDisputedChanged)
	take(p.scaled(2, 1), scDisputedThird)
	take(p.scaled(12, 1), scOpenNone)
	take(p.scaled(16, 1), scOpenOne)
	// A recent report withdrawn too, at full scale.
	if p.scale >= 1 {
		for i := len(p.incidents) - 1; i >= 0; i-- {
			if inc := p.incidents[i]; inc.scenario == scRecent && inc.dupOf == nil && !inc.original && inc.at.Before(p.end.Add(-2*24*time.Hour)) {
				inc.scenario = scWithdrawn
				break
			}
		}
	}
}

func (p *planner) twoMediators(t time.Time) (a, b string) {
	ms := membersOf(truce.RoleMediator, "", p.version(t))
	perm := p.rng.Perm(len(ms))
	return ms[perm[0]], ms[perm[1]]
}

func (p *planner) planFollowUps(inc *incident) {
	e := p.add(inc.at, inc.author, truce.TypeIncident, inc.report)
	inc.id = e.id
	if inc.dupOf != nil {
		inc.truth[truce.QuestionDuplicateOf] = answer{answer: inc.dupOf.id}
	}
	if inc.scenario == scWithdrawn {
		inc.withdraw = inc.at.Add(p.between(3*time.Hour, 40*time.Hour))
		if p.chance(0.6) {
			p.planEvidence(inc.id, inc, inc.at, inc.withdraw.Add(-30*time.Minute), 1)
		}
		p.add(inc.withdraw, inc.author, truce.TypeWithdraw, &truce.Withdraw{Subject: inc.id, Reason: withdrawReason(p.rng)})
		return
	}
	if p.chance(0.68) {
		p.planEvidence(inc.id, inc, inc.at, inc.at.Add(40*time.Hour), 1+p.rng.IntN(3))
	}
	p.planReplies(inc)
	p.planUncounted(inc)
	p.planVotes(inc)
}

func (p *planner) planReplies(inc *incident) {
	accused := inc.accused()
	if accused == "" {
		return
	}
	date := inc.report.OccurredAt[:10]
	replied := false
	if p.chance(0.52) {
		var contests []string
		switch x := p.rng.Float64(); {
		case x < 0.6:
			contests = []string{truce.QuestionOrigin}
		case x < 0.78:
			contests = []string{truce.QuestionOccurred, truce.QuestionOrigin}
		case x < 0.92:
			contests = []string{truce.QuestionViolation}
		}
		at := inc.at.Add(p.between(2*time.Hour, 20*time.Hour))
		author := pick(p.rng, membersOf(truce.RoleParty, accused, p.version(at)))
		p.add(at, author, truce.TypeReply, &truce.Reply{Subject: inc.id, Text: replyText(p.rng, accused, contests, inc.pt, date), Contests: contests})
		replied = true
		if p.chance(0.12) {
			p.planEvidence(inc.id, nil, at, at.Add(2*time.Hour), 1, author)
		}
		// Sometimes the other side answers too, which closes the window
		// early: every interested party has replied.
		if inc.scenario != scRecent && p.chance(0.1) {
			at2 := at.Add(p.between(time.Hour, 8*time.Hour))
			other := otherParty(accused)
			author := pick(p.rng, membersOf(truce.RoleParty, other, p.version(at2)))
			p.add(at2, author, truce.TypeReply, &truce.Reply{Subject: inc.id, Text: replyText(p.rng, other, nil, inc.pt, date), Contests: []string{}})
		}
	}
	late := 0.08
	if replied {
		late = 0.03
	}
	if inc.scenario != scRecent && p.chance(late) {
		at := inc.at.Add(p.between(replyWindow+6*time.Hour, replyWindow+80*time.Hour))
		author := pick(p.rng, membersOf(truce.RoleParty, accused, p.version(at)))
		p.add(at, author, truce.TypeReply, &truce.Reply{Subject: inc.id, Text: lateReplyText(p.rng, accused), Contests: []string{truce.QuestionOrigin}})
	}
}

// planUncounted plans votes that the rules do not count: monitors' and
// parties'. They come early, before any mediator votes, so that no
// question is decided before they land.
func (p *planner) planUncounted(inc *incident) {
	if p.chance(0.22) {
		at := inc.at.Add(p.between(2*time.Hour, earlyStatements))
		m := p.monitor(at)
		if m != inc.author {
			a := inc.truth[truce.QuestionOccurred]
			if p.chance(0.8) {
				a = answer{answer: truce.AnswerYes}
			}
			p.vote(at, m, inc, truce.QuestionOccurred, a)
		}
	}
	if inc.party != "" && p.chance(0.14) {
		at := inc.at.Add(p.between(time.Hour, earlyStatements))
		p.vote(at, pick(p.rng, membersOf(truce.RoleParty, inc.party, p.version(at))), inc, truce.QuestionOrigin, answer{answer: otherParty(inc.party)})
	}
	if accused := inc.accused(); accused != "" && p.chance(0.1) {
		at := inc.at.Add(p.between(time.Hour, earlyStatements))
		p.vote(at, pick(p.rng, membersOf(truce.RoleParty, accused, p.version(at))), inc, truce.QuestionOrigin, answer{answer: truce.AnswerNotAttributable})
	}
}

// alternative is a different answer to question than a (and than not,
// when given), as a dissenting mediator would give.
func alternative(r *rand.Rand, question string, a answer, not string) answer {
	var pool []string
	switch question {
	case truce.QuestionOrigin:
		pool = []string{partyAF, partyPK, truce.AnswerNotAttributable, truce.AnswerInconclusive}
	default:
		pool = []string{truce.AnswerYes, truce.AnswerNo, truce.AnswerInconclusive}
	}
	pool = slices.DeleteFunc(pool, func(x string) bool { return x == a.answer || x == not })
	// A dissent is most often the cautious answer.
	alt := pool[0]
	if slices.Contains(pool, truce.AnswerInconclusive) && r.IntN(3) > 0 {
		alt = truce.AnswerInconclusive
	} else if len(pool) > 1 {
		alt = pick(r, pool)
	}
	out := answer{answer: alt}
	if question == truce.QuestionViolation && alt == truce.AnswerYes {
		out.severity = pick(r, []string{truce.SeverityMinor, truce.SeveritySerious})
	}
	return out
}

func (p *planner) vote(at time.Time, member string, inc *incident, question string, a answer) {
	body := &truce.Assessment{Subject: inc.id, Question: question, Answer: a.answer, Severity: a.severity, Rationale: rationale(p.rng, question, a, inc)}
	p.add(at, member, truce.TypeAssessment, body)
}

// voteAll plans member's votes on every question, a few minutes apart,
// with answers from answers.
func (p *planner) voteAll(at time.Time, member string, inc *incident, answers map[string]answer) time.Time {
	for _, q := range truce.IncidentQuestions {
		p.vote(at, member, inc, q, answers[q])
		at = at.Add(p.between(time.Minute, 6*time.Minute))
	}
	return at
}

func (p *planner) planVotes(inc *incident) {
	switch inc.scenario {
	case scRecent:
		if p.chance(0.3) {
			a, _ := p.twoMediators(inc.at)
			at := inc.at.Add(p.between(6*time.Hour, 60*time.Hour))
			p.vote(at, a, inc, truce.QuestionOccurred, inc.truth[truce.QuestionOccurred])
		}
	case scDecided:
		tA := inc.at.Add(p.between(firstMediatorAt, 110*time.Hour))
		a, b := p.twoMediators(tA)
		tB := p.voteAll(tA, a, inc, inc.truth).Add(p.between(2*time.Hour, 60*time.Hour))
		p.voteAll(tB, b, inc, inc.truth)
	case scOpenOne:
		tA := inc.at.Add(p.between(firstMediatorAt, 150*time.Hour))
		a, _ := p.twoMediators(tA)
		p.voteAll(tA, a, inc, inc.truth)
	case scDisputed, scDisputedResolved, scDisputedChanged, scDisputedThird:
		tA := inc.at.Add(p.between(afterWindow, 120*time.Hour))
		a, b := p.twoMediators(tA)
		q := truce.QuestionOrigin
		if x := p.rng.Float64(); x < 0.25 {
			q = truce.QuestionViolation
		} else if x < 0.4 {
			q = truce.QuestionOccurred
		}
		alt := alternative(p.rng, q, inc.truth[q], "")
		bs := map[string]answer{}
		for k, v := range inc.truth {
			bs[k] = v
		}
		bs[q] = alt
		tB := p.voteAll(tA, a, inc, inc.truth).Add(p.between(2*time.Hour, 48*time.Hour))
		tC := p.voteAll(tB, b, inc, bs).Add(p.between(12*time.Hour, 96*time.Hour))
		switch inc.scenario {
		case scDisputedResolved:
			p.revote(tC, b, inc, q, inc.truth[q])
		case scDisputedChanged:
			p.revote(tC, b, inc, q, alternative(p.rng, q, inc.truth[q], alt.answer))
		case scDisputedThird:
			var c string
			for _, m := range membersOf(truce.RoleMediator, "", p.version(tC)) {
				if m != a && m != b {
					c = m
					break
				}
			}
			p.vote(tC, c, inc, q, alt)
		}
	}
}

// revote replaces member's earlier vote on a disputed question.
func (p *planner) revote(at time.Time, member string, inc *incident, question string, a answer) {
	body := &truce.Assessment{Subject: inc.id, Question: question, Answer: a.answer, Severity: a.severity,
		Rationale: simulated + "Revised after reviewing the evidence added since the first vote. " + trimSimulated(rationale(p.rng, question, a, inc))}
	p.add(at, member, truce.TypeAssessment, body)
}

func (p *planner) planActions() {
	n := p.scaled(fullActions, 3)
	for i := range n {
		at := p.start.Add(p.between(2*24*time.Hour, Days*24*time.Hour-time.Hour))
		if i == n-1 {
			at = p.end.Add(-p.between(3*time.Hour, 60*time.Hour)) // one still in its window
		}
		party := pick(p.rng, []string{partyAF, partyPK})
		author := pick(p.rng, membersOf(truce.RoleParty, party, p.version(at)))
		s := &p.sites[p.rng.IntN(len(p.sites))]
		pt := pick(p.rng, s.points[party])
		body := &truce.ActionReport{
			Clause:      clauseArmed,
			TakenAt:     at.Add(-p.between(6*time.Hour, 72*time.Hour)).Format(time.DateOnly),
			Description: actionText(p.rng, party, pt),
		}
		if p.chance(0.75) {
			loc := p.location(pt, party)
			body.Location = &loc
		}
		e := p.add(at, author, truce.TypeAction, body)
		act := &action{id: e.id, at: at, author: author, party: party}
		switch x := p.rng.Float64(); {
		case x < 0.55:
			act.truth = answer{answer: truce.AnswerYes}
		case x < 0.8:
			act.truth = answer{answer: truce.AnswerNo}
		default:
			act.truth = answer{answer: truce.AnswerInconclusive}
		}
		p.actions = append(p.actions, act)
		if p.chance(0.6) {
			p.planEvidence(act.id, nil, at, at.Add(24*time.Hour), 1+p.rng.IntN(2), author)
		}
		if p.chance(0.25) {
			t := at.Add(p.between(2*time.Hour, earlyStatements))
			p.add(t, p.monitor(t), truce.TypeAssessment, &truce.Assessment{Subject: act.id, Question: truce.QuestionVerified,
				Answer: act.truth.answer, Rationale: rationale(p.rng, truce.QuestionVerified, act.truth, nil)})
		}
		if at.Add(replyWindow + 6*time.Hour).After(p.end) {
			continue // still in its window
		}
		verify := func(t time.Time, m string, a answer) {
			p.add(t, m, truce.TypeAssessment, &truce.Assessment{Subject: act.id, Question: truce.QuestionVerified,
				Answer: a.answer, Rationale: rationale(p.rng, truce.QuestionVerified, a, nil)})
		}
		tA := at.Add(p.between(firstMediatorAt, 120*time.Hour))
		a, b := p.twoMediators(tA)
		tB := tA.Add(p.between(2*time.Hour, 72*time.Hour))
		switch x := p.rng.Float64(); {
		case x < 0.75:
			verify(tA, a, act.truth)
			verify(tB, b, act.truth)
		case x < 0.87:
			verify(tA.Add(afterWindow), a, act.truth)
			verify(tB.Add(afterWindow), b, alternative(p.rng, truce.QuestionVerified, act.truth, ""))
		default:
			verify(tA, a, act.truth)
		}
	}
}

func (p *planner) planDenials() {
	n := p.scaled(fullDenials, 2)
	for i := range n {
		at := p.start.Add(p.between(24*time.Hour, Days*24*time.Hour-time.Hour))
		party := []string{partyAF, partyPK}[i%2]
		author := p.monitor(at)
		if p.chance(0.2) {
			author = pick(p.rng, membersOf(truce.RoleMediator, "", p.version(at)))
		}
		s := &p.sites[p.rng.IntN(len(p.sites))]
		pt := pick(p.rng, s.points[party])
		body := &truce.AccessDenied{
			Party: party, Place: pt.place + ", " + pt.admin2 + ", " + pt.admin1,
			At:          at.Add(-p.between(time.Hour, 20*time.Hour)).Truncate(time.Minute).Format(time.RFC3339),
			Description: accessText(p.rng, author, party, pt.place),
		}
		// Often the visit was to look into an incident on that side.
		if p.chance(0.5) {
			for j := len(p.incidents) - 1; j >= 0; j-- {
				inc := p.incidents[j]
				if inc.at.Before(at.Add(-time.Hour)) && inc.at.After(at.Add(-6*24*time.Hour)) && inc.scenario != scWithdrawn && inc.report.Against == party {
					body.Subject = inc.id
					body.Place = inc.pt.place + ", " + inc.pt.admin2 + ", " + inc.pt.admin1
					break
				}
			}
		}
		p.add(at, author, truce.TypeAccessDenied, body)
	}
}
