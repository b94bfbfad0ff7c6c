package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/api"
	"github.com/truce-mechanism/truce/internal/chart"
	"github.com/truce-mechanism/truce/internal/geomap"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store"
)

// statuses are the subjects' statuses, in the order the pages list them.
var statuses = []string{state.StatusAwaitingReply, state.StatusOpen, state.StatusDisputed, state.StatusDecided, state.StatusWithdrawn}

// logHealth is the log as the overview shows it.
type logHealth struct {
	api.LogInfo
	// Cosigned is the latest cosignature on the published checkpoint,
	// which dates it; zero when no witness cosigned it.
	Cosigned time.Time
	Age      time.Duration
	// Pending is how many sequenced entries wait for a checkpoint.
	Pending int
}

func (u *UI) logHealth(ctx context.Context) logHealth {
	h := logHealth{LogInfo: api.ReadLogInfo(ctx, u.cfg.Mechanism, u.cfg.Log, u.cfg.LogKey, u.cfg.Logger)}
	for _, w := range h.Witnesses {
		if w.Cosigned != nil && w.Cosigned.After(h.Cosigned) {
			h.Cosigned = *w.Cosigned
		}
	}
	if !h.Cosigned.IsZero() {
		h.Age = max(u.cfg.Now().Sub(h.Cosigned), 0)
	}
	if h.Sequenced > h.Size {
		h.Pending = int(h.Sequenced - h.Size)
	}
	return h
}

// statusCount is how many subjects have a status.
type statusCount struct {
	Status             string
	Incidents, Actions int
}

// finding is one decided question, for the overview's latest findings.
type finding struct {
	Kind, ID, Place string
	When            time.Time
	Question        string
	Answer          string
	Severity        string
	DecidedAt       uint64
	Dissent         int
	// Published is whether a witnessed checkpoint publishes the finding,
	// as the subject's page says; set per request, from the log.
	Published bool
}

// overviewCore is what the overview computes from every subject: the
// same in every language, so it is cached until the projection changes
// (see cache).
type overviewCore struct {
	Counts               []statusCount
	Incidents, Actions   int
	Compliance           *state.Compliance
	Findings             []finding
	AccessDenials        int
	ConfirmedViolations  int
	UnattributedViolated int
	// weeks counts incidents by the Monday of their week and status,
	// from first to last; last is no later than the log clock's week.
	weeks       map[time.Time]map[string]int
	first, last time.Time
	// Later is how many incidents are dated after the log clock's week,
	// which the chart leaves out rather than stretch to a far future.
	Later int
}

type overviewData struct {
	*overviewCore
	Chart    template.HTML
	Findings []finding
	Log      logHealth
}

// cache is a single value computed from the projection, kept until the
// projection applies another entry (its Progress changes) or a request
// asks for another key (the map's filter). A request that finds the
// value stale computes it again under the lock, so concurrent requests
// compute it once.
type cache[T any] struct {
	mu  sync.Mutex
	ok  bool
	at  uint64
	key string
	v   T
	// computed counts the computations, for the tests.
	computed int
}

// get is the value for the projection at next and key, computing it if
// the cached one is for another.
func (c *cache[T]) get(next uint64, key string, compute func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.at == next && c.key == key {
		return c.v, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.v, c.at, c.key, c.ok = v, next, key, true
	c.computed++
	return v, nil
}

// caches are the UI's cached values: the overview's tallies and the
// map's points, each of which reads every subject.
type caches struct {
	overview cache[*overviewCore]
	points   cache[[]mapPoint]
}

// progress is the projection's next log index, which keys the caches,
// and its clock. It is the store's own, not Mechanism.Next: the
// mechanism applies an entry to its state before the store saves it, so
// a value computed from the store under Next could be a stale one kept
// under the new index.
func (u *UI) progress(ctx context.Context) (uint64, time.Time, error) {
	next, clock, err := u.cfg.Store.Progress(ctx)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cannot read the projection's progress: %w", err)
	}
	if clock.IsZero() {
		clock = u.cfg.Now()
	}
	return next, clock, nil
}

// docQuestions is the part of a subject's document the overview reads.
type docQuestions struct {
	Questions map[string]*state.Question `json:"questions"`
}

// chartWeeks is how many weeks the overview's chart shows at most.
const chartWeeks = 26

func (u *UI) overviewData(ctx context.Context, l *i18n.Locale) (*overviewData, error) {
	next, clock, err := u.progress(ctx)
	if err != nil {
		return nil, err
	}
	core, err := u.caches.overview.get(next, "", func() (*overviewCore, error) { return u.overviewCore(ctx, clock) })
	if err != nil {
		return nil, err
	}
	d := &overviewData{overviewCore: core, Log: u.logHealth(ctx)}
	// The cached findings are shared: each request marks its own copy.
	d.Findings = append([]finding(nil), core.Findings...)
	for i := range d.Findings {
		d.Findings[i].Published = d.Findings[i].DecidedAt < d.Log.Size && d.Log.Witnessed
	}
	if first, last := core.first, core.last; !first.IsZero() {
		var labels []string
		series := make([]chart.Series, len(statuses))
		for i, s := range statuses {
			series[i] = chart.Series{Label: l.T("status." + s), Class: "status-" + s}
		}
		for w := first; !w.After(last); w = w.AddDate(0, 0, 7) {
			labels = append(labels, dayMonth(l, w))
			for i, s := range statuses {
				series[i].Values = append(series[i].Values, core.weeks[w][s])
			}
		}
		var b bytes.Buffer
		err := chart.WeeklyBars(&b, series, chart.Options{
			Title: l.T("overview.chart.title"), XLabels: labels, YLabel: l.T("overview.chart.y"),
			RTL: l.Dir == "rtl", Number: l.N,
		})
		if err != nil {
			return nil, fmt.Errorf("cannot draw the chart: %w", err)
		}
		d.Chart = template.HTML(b.String())
	}
	return d, nil
}

// overviewCore reads every subject for the overview, with the chart
// ending no later than the week of clock, the log's.
func (u *UI) overviewCore(ctx context.Context, clock time.Time) (*overviewCore, error) {
	d := &overviewCore{}
	counts := map[string]*statusCount{}
	for _, s := range statuses {
		counts[s] = &statusCount{Status: s}
	}
	weeks := map[time.Time]map[string]int{}
	var first, last time.Time
	end := weekOf(clock)
	err := u.cfg.Store.AllSubjects(ctx, func(row *store.Subject) error {
		c := counts[row.Status]
		if c == nil {
			return nil
		}
		if row.Kind == store.KindAction {
			c.Actions++
			d.Actions++
		} else {
			c.Incidents++
			d.Incidents++
			switch w := weekOf(row.When); {
			case row.When.IsZero():
			case w.After(end):
				d.Later++
			default:
				if weeks[w] == nil {
					weeks[w] = map[string]int{}
				}
				weeks[w][row.Status]++
				if first.IsZero() || w.Before(first) {
					first = w
				}
				if w.After(last) {
					last = w
				}
			}
		}
		var doc docQuestions
		if err := json.Unmarshal(row.Doc, &doc); err != nil {
			return fmt.Errorf("cannot read subject %s: %w", row.ID, err)
		}
		for name, q := range doc.Questions {
			if q.Status != state.StatusDecided || q.DecidedAt == nil {
				continue
			}
			f := finding{Kind: row.Kind, ID: row.ID, Place: row.Place, When: row.When, Question: name,
				Answer: q.Answer, Severity: q.Severity, DecidedAt: *q.DecidedAt}
			for _, v := range q.Votes {
				if v.Dissent {
					f.Dissent++
				}
			}
			d.Findings = append(d.Findings, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		d.Counts = append(d.Counts, *counts[s])
	}
	sort.Slice(d.Findings, func(i, j int) bool {
		a, b := d.Findings[i], d.Findings[j]
		if a.DecidedAt != b.DecidedAt {
			return a.DecidedAt > b.DecidedAt
		}
		return questionOrder(a.Question) < questionOrder(b.Question)
	})
	d.Findings = d.Findings[:min(len(d.Findings), 10)]
	if d.Compliance, err = u.complianceData(ctx); err != nil {
		return nil, err
	}
	for _, p := range d.Compliance.Parties {
		d.AccessDenials += p.AccessDenials
		d.ConfirmedViolations += p.Violations
	}
	for _, t := range d.Compliance.Unattributed {
		d.UnattributedViolated += t.Violations
	}
	if !first.IsZero() {
		if n := int(last.Sub(first)/(7*24*time.Hour)) + 1; n > chartWeeks {
			first = last.AddDate(0, 0, -7*(chartWeeks-1))
		}
	}
	d.weeks, d.first, d.last = weeks, first, last
	return d, nil
}

// dayMonth is a short date for the chart's axis, the day and month in
// the locale's order (its date.gregorian message without the year).
func dayMonth(l *i18n.Locale, t time.Time) string {
	s := l.T("date.gregorian", "day", l.N(t.Day()), "month", l.T(fmt.Sprintf("month.gregorian.%d", int(t.Month()))), "year", "")
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(s), ",."))
}

// weekOf is the Monday, 00:00 UTC, that begins t's week.
func weekOf(t time.Time) time.Time {
	t = t.UTC().Truncate(24 * time.Hour)
	return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}

func questionOrder(q string) int {
	for i, name := range append(truce.IncidentQuestions, truce.ActionQuestions...) {
		if name == q {
			return i
		}
	}
	return 99
}

// complianceData is the compliance tally the fold keeps.
func (u *UI) complianceData(ctx context.Context) (*state.Compliance, error) {
	doc, err := u.cfg.Store.Document(ctx, "compliance")
	if errors.Is(err, store.ErrNotFound) {
		var c *state.Compliance
		u.cfg.Mechanism.Read(func(st *state.State) { c = st.Compliance() })
		return c, nil
	} else if err != nil {
		return nil, err
	}
	c := new(state.Compliance)
	if err := json.Unmarshal(doc, c); err != nil {
		return nil, fmt.Errorf("cannot read the compliance tally: %w", err)
	}
	return c, nil
}

// filterForm is a list's filter as the form shows it, echoed back.
type filterForm struct {
	From, To, Place, Type, Party, Status string
}

func formOf(q url.Values) filterForm {
	return filterForm{From: q.Get("from"), To: q.Get("to"), Place: q.Get("place"), Type: q.Get("type"),
		Party: q.Get("party"), Status: q.Get("status")}
}

// values is the filter as query parameters, without paging.
func (f filterForm) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "place": f.Place, "type": f.Type, "party": f.Party, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type listData struct {
	Kind string
	Form filterForm
	// Error is why the filter was refused, in English (the API's words).
	Error string
	Items []store.Subject
	// Next and First are the next page's and the first page's URL, or
	// empty.
	Next, First string
	// Types are the choices for the type filter: ACLED's event types, or
	// the charter's clauses for actions.
	Types    []string
	Statuses []string
	// MapURL is the map with the same filter.
	MapURL string
}

// pageSize is how many subjects a list page shows.
const pageSize = 25

func (u *UI) listData(ctx context.Context, kind, path string, q url.Values, c *state.Charter) (*listData, error) {
	d := &listData{Kind: kind, Form: formOf(q), Statuses: statuses}
	if kind == store.KindIncident {
		d.Types = truce.ACLEDEventTypeOrder
	} else if c != nil {
		for _, cl := range c.Clauses {
			d.Types = append(d.Types, cl.ID)
		}
	}
	mq := d.Form.values()
	d.MapURL = "/map"
	if len(mq) > 0 {
		d.MapURL += "?" + mq.Encode()
	}
	f, err := api.ParseFilter(q)
	if err != nil {
		d.Error = err.Error()
		return d, errBadFilter
	}
	if f.Limit == 0 {
		f.Limit = pageSize
	}
	rows, next, err := u.cfg.Store.Subjects(ctx, kind, f)
	if errors.Is(err, store.ErrBadCursor) {
		d.Error = fmt.Sprintf("cursor %q is not one this page gave", f.Cursor)
		return d, errBadFilter
	} else if err != nil {
		return nil, err
	}
	d.Items = rows
	base := d.Form.values()
	if lim := q.Get("limit"); lim != "" {
		base.Set("limit", lim)
	}
	if next != "" {
		nq := url.Values{}
		for k, v := range base {
			nq[k] = v
		}
		nq.Set("cursor", next)
		d.Next = path + "?" + nq.Encode()
	}
	if f.Cursor != "" {
		d.First = path
		if len(base) > 0 {
			d.First += "?" + base.Encode()
		}
	}
	return d, nil
}

var errBadFilter = errors.New("bad filter")

// mapLimit is the most incidents the map draws.
const mapLimit = 5000

type mapData struct {
	Kind     string
	Form     filterForm
	Error    string
	Map      template.HTML
	Count    int
	Types    []string
	Statuses []string
	ListURL  string
	// Attribution names the boundary data's source.
	Attribution string
}

// mapPoint is an incident as the map draws it, before it is put in
// the reader's language.
type mapPoint struct {
	id, status, place, eventType string
	when                         time.Time
	lat, lon                     float64
}

// mapPoints are the first mapLimit incidents that f selects and the map
// can draw: those with a location inside its box.
func (u *UI) mapPoints(ctx context.Context, f store.Filter) ([]mapPoint, error) {
	f.Limit = 1000
	var points []mapPoint
	for {
		rows, next, err := u.cfg.Store.Subjects(ctx, store.KindIncident, f)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			var doc docLocation
			if err := json.Unmarshal(row.Doc, &doc); err != nil {
				return nil, fmt.Errorf("cannot read subject %s: %w", row.ID, err)
			}
			loc := doc.Statement.Body.Location
			if loc == nil || loc.Lat == nil || loc.Lon == nil {
				continue
			}
			p := mapPoint{id: row.ID, status: row.Status, place: loc.Place, eventType: row.EventType, when: row.When, lat: *loc.Lat, lon: *loc.Lon}
			if !(geomap.Point{Lat: p.lat, Lon: p.lon, Href: subjectURL(store.KindIncident, p.id)}).Drawn() {
				continue
			}
			if points = append(points, p); len(points) == mapLimit {
				return points, nil
			}
		}
		if next == "" {
			return points, nil
		}
		f.Cursor = next
	}
}

// docLocation is the part of a subject's document the map reads.
type docLocation struct {
	Statement struct {
		Body struct {
			Location *truce.Location `json:"location"`
		} `json:"body"`
	} `json:"statement"`
}

func (u *UI) mapData(ctx context.Context, q url.Values, l *i18n.Locale, c *state.Charter) (*mapData, error) {
	d := &mapData{Kind: store.KindIncident, Form: formOf(q), Types: truce.ACLEDEventTypeOrder, Statuses: statuses, Attribution: geomap.Attribution, ListURL: "/incidents"}
	if v := d.Form.values(); len(v) > 0 {
		d.ListURL += "?" + v.Encode()
	}
	f, err := api.ParseFilter(q)
	if err != nil {
		d.Error = err.Error()
		return d, errBadFilter
	}
	f.Cursor, f.Limit = "", 0
	next, _, err := u.progress(ctx)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%s|%q|%q|%q|%q", f.From.UTC().Format(time.RFC3339Nano), f.To.UTC().Format(time.RFC3339Nano), f.Place, f.EventType, f.Party, f.Status)
	found, err := u.caches.points.get(next, key, func() ([]mapPoint, error) { return u.mapPoints(ctx, f) })
	if err != nil {
		return nil, err
	}
	points := make([]geomap.Point, len(found))
	for i, p := range found {
		points[i] = geomap.Point{
			Lat: p.lat, Lon: p.lon, Class: "status-" + p.status, Href: subjectURL(store.KindIncident, p.id),
			Title: fmt.Sprintf("%s, %s: %s (%s)", p.place, l.Date(p.when), p.eventType, l.T("status."+p.status)),
		}
	}
	d.Count = len(points)
	labels := map[string]string{}
	if c != nil {
		for _, p := range c.Parties {
			labels[p.ID] = p.Name
			if key := "party." + strings.ToLower(p.ID); l.T(key) != key {
				labels[p.ID] = l.T(key)
			}
		}
	}
	var b bytes.Buffer
	if err := geomap.Render(&b, points, geomap.Options{Labels: labels, Title: l.T("map.svg.title"), RTL: l.Dir == "rtl"}); err != nil {
		return nil, fmt.Errorf("cannot draw the map: %w", err)
	}
	d.Map = template.HTML(b.String())
	return d, nil
}

// questionView is one question of a subject, with whether its finding
// is published.
type questionView struct {
	Name string
	*state.Question
	Published bool
	Dissent   int
}

type subjectData struct {
	Kind      string
	Subject   *state.Subject
	Status    string
	Statement *truce.Statement
	Incident  *truce.IncidentReport
	Action    *truce.ActionReport
	Questions []questionView
	Log       api.LogInfo
	// WindowOpen is set while the reply window is open.
	WindowOpen bool
	// Window is the reply window's state in words: "open", "due" (its
	// deadline has passed but no entry logged since has closed it: the
	// next one will), "early" (every interested party replied before the
	// deadline) or "closed" (at the deadline).
	Window string
	// ClosedAt is when an early window closed: the last reply's time.
	ClosedAt time.Time
}

func (u *UI) subjectData(ctx context.Context, kind, id string) (*subjectData, error) {
	row, err := u.cfg.Store.Subject(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	sub := new(state.Subject)
	if err := json.Unmarshal(row.Doc, sub); err != nil {
		return nil, fmt.Errorf("cannot read subject %s: %w", id, err)
	}
	st, body, err := truce.ParseStatement(sub.Statement)
	if err != nil {
		return nil, fmt.Errorf("cannot read the report of %s: %w", id, err)
	}
	d := &subjectData{Kind: kind, Subject: sub, Status: row.Status, Statement: st, WindowOpen: sub.WindowClosedAt == nil}
	switch {
	case sub.WindowClosedAt == nil && u.cfg.Now().After(sub.Deadline):
		d.Window = "due"
	case sub.WindowClosedAt == nil:
		d.Window = "open"
	default:
		d.Window = "closed"
		for _, r := range sub.Replies {
			if r.Index == *sub.WindowClosedAt && !r.Late {
				d.Window, d.ClosedAt = "early", r.Received
			}
		}
	}
	d.Incident, _ = body.(*truce.IncidentReport)
	d.Action, _ = body.(*truce.ActionReport)
	d.Log = api.ReadLogInfo(ctx, u.cfg.Mechanism, u.cfg.Log, u.cfg.LogKey, u.cfg.Logger)
	names := truce.IncidentQuestions
	if kind == store.KindAction {
		names = truce.ActionQuestions
	}
	for _, name := range names {
		q := sub.Questions[name]
		if q == nil {
			continue
		}
		v := questionView{Name: name, Question: q}
		v.Published = q.DecidedAt != nil && *q.DecidedAt < d.Log.Size && d.Log.Witnessed
		for _, vote := range q.Votes {
			if vote.Dissent {
				v.Dissent++
			}
		}
		d.Questions = append(d.Questions, v)
	}
	return d, nil
}

type charterData struct {
	History []*state.Charter
	Policy  string
}

func (u *UI) charterData(ctx context.Context) (*charterData, error) {
	rows, err := u.cfg.Store.Charters(ctx)
	if err != nil {
		return nil, err
	}
	d := &charterData{}
	for _, row := range rows {
		c := new(state.Charter)
		if err := json.Unmarshal(row.Doc, c); err != nil {
			return nil, fmt.Errorf("cannot read charter version %d: %w", row.Version, err)
		}
		d.History = append(d.History, c)
	}
	if n := len(d.History); n > 0 {
		c := d.History[n-1]
		if p, err := truce.NewWitnessPolicy(c.Witnesses, c.WitnessPolicy); err == nil {
			d.Policy = p.String()
		}
	}
	return d, nil
}
