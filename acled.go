package truce

// ACLED's event types and their sub-event types, as its codebook names
// them. Incident reports use this vocabulary so that truce's data can be
// read next to ACLED's own.
//
// SPEC: ACLED Codebook, "Event types and sub-event types".
var ACLEDEventTypes = map[string][]string{
	"Battles": {
		"Armed clash",
		"Government regains territory",
		"Non-state actor overtakes territory",
	},
	"Explosions/Remote violence": {
		"Chemical weapon",
		"Air/drone strike",
		"Suicide bomb",
		"Shelling/artillery/missile attack",
		"Remote explosive/landmine/IED",
		"Grenade",
	},
	"Violence against civilians": {
		"Sexual violence",
		"Attack",
		"Abduction/forced disappearance",
	},
	"Protests": {
		"Peaceful protest",
		"Protest with intervention",
		"Excessive force against protesters",
	},
	"Riots": {
		"Violent demonstration",
		"Mob violence",
	},
	"Strategic developments": {
		"Agreement",
		"Arrests",
		"Change to group/activity",
		"Disrupted weapons use",
		"Headquarters or base established",
		"Looting/property destruction",
		"Non-violent transfer of territory",
		"Other",
	},
}

// ACLEDEventTypeOrder is the order in which ACLED's codebook lists its
// event types.
var ACLEDEventTypeOrder = []string{"Battles", "Explosions/Remote violence", "Violence against civilians", "Protests", "Riots", "Strategic developments"}

func validSubEvent(eventType, sub string) (typeOK, subOK bool) {
	subs, ok := ACLEDEventTypes[eventType]
	if !ok {
		return false, false
	}
	for _, s := range subs {
		if s == sub {
			return true, true
		}
	}
	return true, false
}
