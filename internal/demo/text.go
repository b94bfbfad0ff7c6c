package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/truce-mechanism/truce"
)

// Every text the demo writes begins with simulated, so that nothing it
// makes can be quoted as a real report.
const simulated = "[Simulated] "

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func adjective(p string) string {
	if p == partyAF {
		return "Afghan"
	}
	return "Pakistani"
}

// reporterLabel names a member as a narrative's subject.
func reporterLabel(id string) string {
	switch {
	case strings.HasPrefix(id, "mon-"):
		return "Monitor team " + strings.TrimPrefix(id, "mon-")
	case strings.HasPrefix(id, "af-"):
		return "The Afghanistan liaison office"
	case strings.HasPrefix(id, "pk-"):
		return "The Pakistan liaison office"
	case strings.HasPrefix(id, "tr-"):
		return "The Türkiye mediation office"
	case strings.HasPrefix(id, "qa-"):
		return "The Qatar mediation office"
	}
	return id
}

func where(pt point) string {
	return fmt.Sprintf("%s (%s, %s)", pt.place, pt.admin2, pt.admin1)
}

func casualties(r *rand.Rand, f, i int) string {
	switch {
	case f == 0 && i == 0:
		return pick(r, []string{"No casualties were reported.", "No one was hurt, according to first accounts.", "Damage to a post, no casualties."})
	case f == 0:
		return fmt.Sprintf("%d injured, no deaths reported.", i)
	case i == 0:
		return fmt.Sprintf("%d killed.", f)
	}
	return fmt.Sprintf("%d killed and %d injured.", f, i)
}

func attribution(r *rand.Rand, author, origin, against string) string {
	switch {
	case origin == truce.OriginUnknown:
		return pick(r, []string{"Where the fire came from could not be established.", "The origin could not be established on the day."})
	case strings.HasPrefix(author, "af-") || strings.HasPrefix(author, "pk-"):
		return fmt.Sprintf("%s forces say it came from positions inside %s.", adjective(against), partyName(origin))
	}
	return fmt.Sprintf("Witnesses and the impact pattern point to positions across the border in %s.", partyName(origin))
}

// narrative writes an incident report's narrative.
func narrative(r *rand.Rand, author string, k kind, pt point, s *site, origin, against string, f, i int) string {
	who := reporterLabel(author)
	at := where(pt)
	var what string
	switch k.sub {
	case "Armed clash":
		what = fmt.Sprintf("%s reports an exchange of small-arms and mortar fire for about %d minutes between border posts near %s.", who, 10+r.IntN(80), at)
	case "Shelling/artillery/missile attack":
		what = fmt.Sprintf("%s reports that %d artillery or mortar rounds landed near %s, hitting %s.", who, 3+r.IntN(30), at,
			pick(r, []string{"farmland", "a village", "a border post", "the road to the crossing", "houses on the edge of the town"}))
	case "Air/drone strike":
		what = fmt.Sprintf("%s reports a drone strike on %s near %s.", who,
			pick(r, []string{"a house", "a vehicle", "a border post", "a compound", "a pickup truck on the main road"}), at)
	case "Remote explosive/landmine/IED":
		what = fmt.Sprintf("%s reports that a roadside bomb struck a %s patrol near %s.", who, adjective(against), at)
	case "Grenade":
		what = fmt.Sprintf("%s reports that a grenade was thrown at a %s checkpoint near %s.", who, adjective(against), at)
	case "Attack":
		what = fmt.Sprintf("%s reports that armed men fired on %s near %s.", who,
			pick(r, []string{"farmers in their fields", "a minibus of travellers", "people queuing at the crossing", "a family's car", "shepherds"}), at)
	case "Abduction/forced disappearance":
		what = fmt.Sprintf("%s reports that %d %s were abducted near %s and taken across the border.", who, 1+r.IntN(4),
			pick(r, []string{"truck drivers", "traders", "villagers", "labourers"}), at)
	case "Headquarters or base established":
		what = fmt.Sprintf("%s reports a new military post with heavy weapons about %d km from the border near %s, set up without the notice the agreement requires.", who, 1+r.IntN(8), at)
	case "Looting/property destruction":
		place := "the market"
		if s.crossing != "" {
			place = "the " + s.crossing
		}
		what = fmt.Sprintf("%s reports that shops and parked trucks at %s were set on fire during unrest near %s.", who, place, at)
	case "Disrupted weapons use":
		what = fmt.Sprintf("%s reports that %s near %s.", who, pick(r, []string{"a drone was brought down", "a roadside bomb was found and defused", "a rocket launcher aimed across the border was seized"}), at)
	default:
		what = fmt.Sprintf("%s reports troop reinforcements and armoured vehicles moved to within %d km of the border near %s without notice.", who, 2+r.IntN(8), at)
	}
	return simulated + what + " " + casualties(r, f, i) + " " + attribution(r, author, origin, against)
}

func sources(r *rand.Rand, author string, pt point) []string {
	var pool []string
	if strings.HasPrefix(author, "af-") || strings.HasPrefix(author, "pk-") {
		pool = []string{
			"border forces' incident log",
			"district hospital, " + pt.admin2,
			"local elders, by phone",
			"provincial police spokesperson",
			"district governor's office",
		}
	} else {
		pool = []string{
			"monitor team patrol log",
			"two eyewitnesses interviewed at the site",
			"crater and fragment analysis",
			"district hospital, " + pt.admin2,
			"commercial satellite imagery",
		}
	}
	n := 1 + r.IntN(3)
	out := make([]string, 0, n)
	for _, j := range r.Perm(len(pool))[:n] {
		out = append(out, simulated+pool[j])
	}
	return out
}

func replyText(r *rand.Rand, party string, contests []string, pt point, date string) string {
	p := partyName(party)
	if len(contests) == 0 {
		return simulated + pick(r, []string{
			p + " has opened an inquiry and will share its findings with the mediators.",
			p + " confirms the casualty figures given by the district hospital and adds photographs of the fragments.",
			p + " asks the monitors to visit the site with its liaison officer.",
		})
	}
	switch contests[0] {
	case truce.QuestionOccurred:
		return simulated + fmt.Sprintf("%s's border forces report no exchange of fire near %s on %s, and ask the monitors to visit the site.", p, pt.place, date)
	case truce.QuestionViolation:
		return simulated + fmt.Sprintf("%s says its units near %s returned fire only after their post was attacked, which it holds is self-defence, not a breach of the agreement.", p, pt.place)
	}
	return simulated + pick(r, []string{
		fmt.Sprintf("%s rejects the allegation: its units did not fire at the time stated, and the fire came from armed men it does not control.", p),
		fmt.Sprintf("%s denies that the fire came from its side of the border near %s; its posts there report no firing that day.", p, pt.place),
		fmt.Sprintf("%s rejects the attribution and asks for the fragments to be examined by the monitors.", p),
	})
}

func lateReplyText(r *rand.Rand, party string) string {
	return simulated + pick(r, []string{
		partyName(party) + " replies after the window closed: its inquiry found no unit of its own near the place at the time.",
		partyName(party) + " regrets its late reply and rejects the attribution.",
		partyName(party) + " adds, late, that the area was under the control of an armed group on that day.",
	})
}

func rationale(r *rand.Rand, question string, a answer, inc *incident) string {
	var s string
	switch question + "/" + a.answer {
	case "occurred/yes":
		s = pick(r, []string{
			"The site visit found fresh impact marks and spent casings; two witnesses describe the same events.",
			"Hospital records and the monitors' photographs match the report.",
			"Both parties' own logs record firing in the area at that time.",
		})
	case "occurred/no":
		s = pick(r, []string{
			"Monitors found no damage at the reported place, and the district hospital has no record of casualties that day.",
			"The reported place was visited two days later; nothing matches the account.",
		})
	case "occurred/inconclusive", "verified/inconclusive":
		s = pick(r, []string{
			"The site could not be reached in time, the accounts conflict, and no physical evidence is available.",
			"Too little evidence either way.",
		})
	case "origin/not_attributable":
		s = pick(r, []string{
			"The event is established, but nothing shows from which side of the border the fire came.",
			"An armed group with fighters on both sides of the border was active here; the fire cannot be attributed to either party.",
		})
	case "origin/inconclusive":
		s = "The evidence on the firing position is contradictory."
	case "violation/yes":
		s = fmt.Sprintf("As established, the act breaches %s; %s.", strings.Join(inc.report.Clauses, ", "),
			map[string]string{truce.SeveritySerious: "serious, given the casualties or the weapons used", truce.SeverityMinor: "minor: no one was hurt and the damage was small"}[a.severity])
	case "violation/no":
		s = "What happened does not breach the agreement's clauses as written."
	case "violation/inconclusive":
		s = "Without the facts or the origin established, a breach cannot be found."
	case "duplicate_of/none":
		s = "No earlier report describes this event."
	case "verified/yes":
		s = pick(r, []string{
			"Monitors saw the detainees' handover record and the seized weapons.",
			"The monitors visited the place and confirmed the operation with local elders.",
		})
	case "verified/no":
		s = "The place named was visited; there is no sign of the reported operation."
	default:
		switch question {
		case truce.QuestionOrigin:
			s = fmt.Sprintf("Crater orientation and witness accounts point to firing positions across the border in %s.", partyName(a.answer))
		case truce.QuestionDuplicateOf:
			s = "Same place, time and casualties as a report logged earlier: it is the same event."
		default:
			s = "Assessed on the evidence logged."
		}
	}
	return simulated + s
}

func actionText(r *rand.Rand, party string, pt point) string {
	n := 2 + r.IntN(14)
	return simulated + fmt.Sprintf(pick(r, []string{
		"%[1]s security forces detained %[2]d members of an armed group accused of attacks across the border, in %[3]s, and moved their families away from the border.",
		"%[1]s forces closed a compound used by an armed group near %[3]s; %[2]d rifles and a quantity of explosives were seized.",
		"%[1]s authorities relocated %[2]d fighters of an armed group and their families from %[3]s to a camp away from the border, as agreed with the mediators.",
		"%[1]s police arrested a commander of an armed group and %[2]d of his men in %[3]s and handed their files to the mediators.",
		"%[1]s forces dismantled a launching position used by an armed group near %[3]s and set up %[2]d new checkpoints.",
	}), adjective(party), n, where(pt))
}

func accessText(r *rand.Rand, author string, party string, place string) string {
	who := reporterLabel(author)
	return simulated + fmt.Sprintf(pick(r, []string{
		"%[1]s was stopped at a checkpoint outside %[2]s and told the area was closed for a military operation; it turned back after %[4]d hours.",
		"%[3]s commanders refused %[1]s's request to visit the site near %[2]s.",
		"%[1]s's visit to %[2]s was postponed three times by %[3]s liaison officers without a reason given.",
		"%[1]s was escorted away from %[2]s by %[3]s soldiers before it could inspect the impact site.",
	}), who, place, adjective(party), 2+r.IntN(6))
}

func withdrawReason(r *rand.Rand) string {
	return simulated + pick(r, []string{
		"Reported in error: the firing was a training exercise inside our own territory.",
		"Withdrawn: on checking, the casualties were from a road accident, not an attack.",
		"Withdrawn: the report repeats another of the same event.",
		"Withdrawn after our own inquiry found the source unreliable.",
	})
}
