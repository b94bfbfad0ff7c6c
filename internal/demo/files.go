package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/truce-mechanism/truce"
)

// file is a synthetic evidence file: small, deterministic, and marked
// simulated in its content as well as in its record.
type file struct {
	sha256    string
	data      []byte
	mediaType string
}

// evidenceKind is a kind of synthetic evidence file.
type evidenceKind struct {
	name, mediaType, label, description string
}

func incidentEvidence(inc *incident) []evidenceKind {
	ks := []evidenceKind{
		{"sketch-map.svg", "image/svg+xml", "Sketch map", "Sketch map of the site near %s (stands in for a photograph)"},
		{"field-note.txt", "text/plain", "Field note", "Field note from the visit to the site near %s"},
		{"witness-statement.txt", "text/plain", "Witness statement", "Statement of a witness near %s, name withheld"},
	}
	if inc != nil && *inc.report.Fatalities+*inc.report.Injured > 0 {
		ks = append(ks, evidenceKind{"casualty-list.txt", "text/plain", "Casualty list", "District hospital casualty list for the event near %s"})
	}
	return ks
}

func otherEvidence() []evidenceKind {
	return []evidenceKind{
		{"seizure-inventory.txt", "text/plain", "Inventory", "Inventory of weapons and material seized (%s)"},
		{"handover-record.txt", "text/plain", "Handover record", "Record of detainees handed over (%s)"},
		{"duty-log-extract.txt", "text/plain", "Duty log extract", "Extract of the border post's duty log for the day (%s)"},
		{"sketch-map.svg", "image/svg+xml", "Sketch map", "Sketch map of the place (%s), standing in for a photograph"},
	}
}

// planEvidence plans n evidence records on subject, received between
// from and to, with their files. inc, when not nil, is the incident the
// files describe; author, when given, adds them, else the reporter or a
// monitor does.
func (p *planner) planEvidence(subject string, inc *incident, from, to time.Time, n int, author ...string) {
	kinds := otherEvidence()
	place := "the place reported"
	if inc != nil {
		kinds = incidentEvidence(inc)
		place = inc.pt.place
	}
	for _, j := range p.rng.Perm(len(kinds))[:min(n, len(kinds))] {
		k := kinds[j]
		at := from.Add(p.between(10*time.Minute, max(to.Sub(from), 11*time.Minute)))
		who := ""
		switch {
		case len(author) > 0:
			who = author[0]
		case inc != nil && p.chance(0.6):
			who = inc.author
		default:
			who = p.monitor(at)
		}
		captured := at.Add(-p.between(5*time.Minute, 3*time.Hour)).Truncate(time.Second)
		var data []byte
		if k.mediaType == "image/svg+xml" {
			data = p.sketch(subject, place, who, captured)
		} else {
			data = p.note(k.label, subject, place, who, captured, inc)
		}
		sum := sha256.Sum256(data)
		f := &file{sha256: hex.EncodeToString(sum[:]), data: data, mediaType: k.mediaType}
		e := p.add(at, who, truce.TypeEvidence, &truce.EvidenceAdd{
			Subject: subject, SHA256: f.sha256, Size: int64(len(data)), MediaType: k.mediaType,
			Name: k.name, CapturedAt: captured.Format(time.RFC3339),
			Description: simulated + fmt.Sprintf(k.description, place),
		})
		if e != nil {
			p.files = append(p.files, f)
		}
	}
}

func (p *planner) note(label, subject, place, author string, captured time.Time, inc *incident) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SIMULATED EVIDENCE FILE: invented by truce demo (seed %d). It records nothing real.\n\n", p.seed)
	fmt.Fprintf(&b, "%s\nSubject:  %s\nPlace:    %s\nCaptured: %s\nBy:       %s (simulated)\n\n", label, subject, place, captured.Format(time.RFC3339), reporterLabel(author))
	switch label {
	case "Casualty list":
		for i := range *inc.report.Fatalities {
			fmt.Fprintf(&b, "%2d. deceased, adult, %s\n", i+1, pick(p.rng, []string{"shrapnel wounds", "gunshot wounds", "blast injuries"}))
		}
		for i := range *inc.report.Injured {
			fmt.Fprintf(&b, "%2d. injured, %s, %s\n", i+1, pick(p.rng, []string{"adult", "child", "adult", "elderly"}), pick(p.rng, []string{"treated and discharged", "admitted", "referred to the provincial hospital"}))
		}
	case "Witness statement":
		fmt.Fprintf(&b, "The witness, a %s, says they heard %s and saw %s.\n", pick(p.rng, []string{"shopkeeper", "farmer", "driver", "teacher"}),
			pick(p.rng, []string{"several explosions", "long bursts of gunfire", "a drone overhead", "a loud blast"}),
			pick(p.rng, []string{"smoke rising near the border posts", "people running from the market", "damage to two houses", "a burning vehicle"}))
	case "Field note":
		fmt.Fprintf(&b, "Team reached the site %d hours after the report. Observed: %s. Photographs taken: %d.\n", 1+p.rng.IntN(30),
			pick(p.rng, []string{"fresh impact craters", "spent cartridge cases", "shell fragments", "burned vehicles", "no visible damage"}), p.rng.IntN(25))
	default:
		fmt.Fprintf(&b, "Items listed: %d. Countersigned by the liaison officer on duty.\n", 1+p.rng.IntN(20))
	}
	return []byte(b.String())
}

func (p *planner) sketch(subject, place, author string, captured time.Time) []byte {
	x, y := 60+p.rng.IntN(280), 60+p.rng.IntN(140)
	bend := 150 + p.rng.IntN(100)
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="260" viewBox="0 0 400 260">` + "\n")
	b.WriteString(`<rect width="400" height="260" fill="#f4f1e8"/>` + "\n")
	fmt.Fprintf(&b, `<path d="M 200 0 C %d 90, %d 170, 205 260" stroke="#777" stroke-width="3" stroke-dasharray="8 6" fill="none"/>`+"\n", bend, 400-bend)
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="9" fill="#b03a2e"/>`+"\n", x, y)
	b.WriteString(`<text x="12" y="26" font-family="sans-serif" font-size="16" font-weight="bold" fill="#b03a2e">SIMULATED: a sketch, not a photograph</text>` + "\n")
	fmt.Fprintf(&b, `<text x="12" y="226" font-family="sans-serif" font-size="12">%s, %s</text>`+"\n", html.EscapeString(place), captured.Format(time.RFC3339))
	fmt.Fprintf(&b, `<text x="12" y="246" font-family="sans-serif" font-size="10">%s (simulated), subject %s</text>`+"\n", html.EscapeString(reporterLabel(author)), subject)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
