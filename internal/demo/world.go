package demo

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"

	"github.com/truce-mechanism/truce"
)

// Origin is the demo mechanism's log origin.
const Origin = "demo.truce.example/istanbul-2025"

// The parties.
const (
	partyAF = "AF"
	partyPK = "PK"
)

func otherParty(p string) string {
	if p == partyAF {
		return partyPK
	}
	return partyAF
}

func partyName(p string) string {
	if p == partyAF {
		return "Afghanistan"
	}
	return "Pakistan"
}

// Clause ids.
const (
	clauseAttacks    = "cross-border-attacks"
	clauseArmed      = "armed-groups"
	clauseAccess     = "monitor-access"
	clauseCivilians  = "civilians-crossings"
	clauseMovements  = "military-movements"
	clauseDrones     = "border-drones" // added by the amendment
	amendmentVersion = 2
)

// member is a simulated member of the mechanism.
type member struct {
	id, name, role, party string
	// from is the charter version that adds the member.
	from int
}

// membersOf lists the ids of the members with role (and party, when not
// empty) in charter version version, in charter order.
func membersOf(role, party string, version int) []string {
	var ids []string
	for _, m := range roster() {
		if m.role == role && (party == "" || m.party == party) && m.from <= version {
			ids = append(ids, m.id)
		}
	}
	return ids
}

// signersOf lists the members who must co-sign a charter of version
// version: every party and mediator member.
func signersOf(version int) []string {
	return append(membersOf(truce.RoleParty, "", version), membersOf(truce.RoleMediator, "", version)...)
}

// roster is every simulated member, in charter order.
func roster() []member {
	return []member{
		{"af-1", "Afghanistan liaison officer 1 (simulated)", truce.RoleParty, partyAF, 1},
		{"af-2", "Afghanistan liaison officer 2 (simulated)", truce.RoleParty, partyAF, 1},
		{"pk-1", "Pakistan liaison officer 1 (simulated)", truce.RoleParty, partyPK, 1},
		{"pk-2", "Pakistan liaison officer 2 (simulated)", truce.RoleParty, partyPK, 1},
		{"tr-1", "Türkiye mediation delegate 1 (simulated)", truce.RoleMediator, "", 1},
		{"tr-2", "Türkiye mediation delegate 2 (simulated)", truce.RoleMediator, "", 1},
		{"qa-1", "Qatar mediation delegate 1 (simulated)", truce.RoleMediator, "", 1},
		{"qa-2", "Qatar mediation delegate 2 (simulated)", truce.RoleMediator, "", 1},
		{"mon-1", "Monitor team 1 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-2", "Monitor team 2 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-3", "Monitor team 3 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-4", "Monitor team 4 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-5", "Monitor team 5 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-6", "Monitor team 6 (simulated)", truce.RoleMonitor, "", 1},
		{"mon-7", "Monitor team 7, Kurram and Khost (simulated)", truce.RoleMonitor, "", amendmentVersion},
	}
}

// memberKey derives a member's key from the seed, so that the same seed
// always gives the same members.
func memberKey(seed int64, id string) ed25519.PrivateKey {
	h := sha256.New()
	h.Write([]byte("truce demo member key\x00"))
	binary.Write(h, binary.BigEndian, seed)
	h.Write([]byte(id))
	return ed25519.NewKeyFromSeed(h.Sum(nil))
}

// logKeySeed derives the log's signed-note key seed from the demo's seed.
func logKeySeed(seed int64) []byte {
	h := sha256.New()
	h.Write([]byte("truce demo log key\x00"))
	binary.Write(h, binary.BigEndian, seed)
	return h.Sum(nil)
}

func charterMembers(version int, keys map[string]ed25519.PrivateKey) []truce.Member {
	var out []truce.Member
	for _, m := range roster() {
		if m.from > version {
			continue
		}
		pub := keys[m.id].Public().(ed25519.PublicKey)
		out = append(out, truce.Member{ID: m.id, Name: m.name, Role: m.role, Party: m.party, Keys: []string{truce.EncodePublicKey(pub)}})
	}
	return out
}

func clauses(version int) []truce.Clause {
	cs := []truce.Clause{
		{ID: clauseAttacks,
			Text:        "[Simulated] Neither party shall carry out, support or permit attacks across the border, by ground forces, artillery, rockets, drones or aircraft.",
			Consequence: "[Simulated] A confirmed serious violation is referred to the guarantors (Türkiye and Qatar), who may impose the penalties set out in the annex, starting with a public finding against the violating party."},
		{ID: clauseArmed,
			Text:        "[Simulated] Each party shall take verifiable action against armed groups that operate from its territory against the other party, and report each action to the mechanism.",
			Consequence: "[Simulated] Actions the mediators cannot verify do not count towards compliance; repeated failure is referred to the guarantors."},
		{ID: clauseAccess,
			Text:        "[Simulated] Each party shall give the mechanism's monitors and mediators access to border areas within 24 hours of a request.",
			Consequence: "[Simulated] Each denial of access is recorded against the denying party and reported to the guarantors every week."},
		{ID: clauseCivilians,
			Text:        "[Simulated] The parties shall protect civilians and keep the border crossings (Torkham, Chaman–Spin Boldak, Ghulam Khan, Angoor Adda, Kharlachi) open to civilian and trade traffic.",
			Consequence: "[Simulated] Harm to civilians confirmed by the mechanism is referred to the guarantors, who may require compensation."},
		{ID: clauseMovements,
			Text:        "[Simulated] Each party shall notify the mechanism 48 hours before moving troops or heavy weapons within 10 km of the border, or building new posts there.",
			Consequence: "[Simulated] Unnotified movements confirmed by the mechanism are published with the party named."},
	}
	if version >= amendmentVersion {
		cs = append(cs, truce.Clause{ID: clauseDrones,
			Text:        "[Simulated] Added by amendment 2: no armed or surveillance drone may fly within 20 km of the border without notice to the mechanism.",
			Consequence: "[Simulated] A confirmed drone violation is referred to the guarantors at once."})
	}
	return cs
}

func rules() truce.Rules {
	return truce.Rules{
		ReplyWindow: "72h",
		Verification: truce.Verification{
			Roles: []string{truce.RoleMediator}, Quorum: 2,
			Agreement: truce.AgreementUnanimous, CountInterested: false,
		},
	}
}

func genesisCharter(keys map[string]ed25519.PrivateKey, witnesses []truce.Witness) *truce.Charter {
	return &truce.Charter{
		Witnesses:     witnesses,
		WitnessPolicy: json.RawMessage(witnessPolicy),
		Title:         "SIMULATED — Afghanistan–Pakistan ceasefire monitoring and verification mechanism (Istanbul talks, 2025): a demonstration with invented data",
		Parties:       []truce.Party{{ID: partyAF, Name: "Afghanistan"}, {ID: partyPK, Name: "Pakistan"}},
		Members:       charterMembers(1, keys),
		Clauses:       clauses(1),
		Rules:         rules(),
		Languages:     []string{"en", "ps", "prs", "ur", "tr"},
	}
}

func amendment(keys map[string]ed25519.PrivateKey) *truce.CharterAmend {
	return &truce.CharterAmend{
		Version: amendmentVersion,
		Members: charterMembers(amendmentVersion, keys),
		Clauses: clauses(amendmentVersion),
		Rules:   rules(),
	}
}

// point is a place on one side of the border.
type point struct {
	place, admin1, admin2 string
	lat, lon              float64
}

// site is a stretch of the border with places on both sides. Coordinates
// are approximate, and each point is kept a few kilometres inside its
// country so that jitter never carries it across the border.
type site struct {
	name string
	// weight is how often incidents happen here; flare how often during
	// a flare-up.
	weight, flare float64
	// points by party: the places in that party's territory.
	points map[string][]point
	// crossing is the border crossing, if the site has one.
	crossing string
}

func sites() []site {
	return []site{
		{name: "Torkham", weight: 0.20, flare: 0.12, crossing: "Torkham crossing", points: map[string][]point{
			partyAF: {
				{"Torkham (Afghan side)", "Nangarhar", "Momand Dara", 34.1150, 71.0500},
				{"Ghani Khel", "Nangarhar", "Shinwar", 34.1900, 70.7800},
			},
			partyPK: {
				{"Landi Kotal", "Khyber Pakhtunkhwa", "Khyber", 34.0990, 71.1410},
				{"Michni checkpost, near Torkham", "Khyber Pakhtunkhwa", "Khyber", 34.1000, 71.1200},
			},
		}},
		{name: "Chaman–Spin Boldak", weight: 0.20, flare: 0.34, crossing: "Chaman–Spin Boldak crossing (Friendship Gate)", points: map[string][]point{
			partyAF: {
				{"Spin Boldak", "Kandahar", "Spin Boldak", 31.0050, 66.3960},
				{"Wesh, near the Friendship Gate", "Kandahar", "Spin Boldak", 30.9900, 66.4050},
			},
			partyPK: {
				{"Chaman", "Balochistan", "Killa Abdullah", 30.9210, 66.4600},
				{"Chaman bypass, near the Friendship Gate", "Balochistan", "Killa Abdullah", 30.9300, 66.4520},
			},
		}},
		{name: "Kurram", weight: 0.18, flare: 0.24, crossing: "Kharlachi crossing", points: map[string][]point{
			partyAF: {
				{"Ali Khel", "Paktia", "Zazi (Jaji)", 33.9300, 69.7300},
				{"Dand Aw Patan", "Paktia", "Dand Aw Patan", 33.8200, 69.8900},
			},
			partyPK: {
				{"Parachinar", "Khyber Pakhtunkhwa", "Kurram", 33.8990, 70.1000},
				{"Sadda", "Khyber Pakhtunkhwa", "Kurram", 33.7030, 70.3280},
			},
		}},
		{name: "Bajaur", weight: 0.14, flare: 0.10, points: map[string][]point{
			partyAF: {
				{"Asadabad", "Kunar", "Asadabad", 34.8730, 71.1470},
				{"Sarkano", "Kunar", "Sarkano", 34.7800, 71.1600},
			},
			partyPK: {
				{"Khar", "Khyber Pakhtunkhwa", "Bajaur", 34.7300, 71.5240},
				{"Inayat Kili", "Khyber Pakhtunkhwa", "Bajaur", 34.7450, 71.4700},
			},
		}},
		{name: "Angoor Adda", weight: 0.12, flare: 0.08, crossing: "Angoor Adda crossing", points: map[string][]point{
			partyAF: {
				{"Barmal", "Paktika", "Barmal", 32.5700, 69.1200},
				{"Shkin", "Paktika", "Barmal", 32.4500, 69.2200},
			},
			partyPK: {
				{"Wana", "Khyber Pakhtunkhwa", "South Waziristan", 32.2990, 69.5730},
				{"Near Angoor Adda", "Khyber Pakhtunkhwa", "South Waziristan", 32.3300, 69.4300},
			},
		}},
		{name: "Khost–Ghulam Khan", weight: 0.16, flare: 0.12, crossing: "Ghulam Khan crossing", points: map[string][]point{
			partyAF: {
				{"Khost", "Khost", "Khost (Matun)", 33.3400, 69.9200},
				{"Tani", "Khost", "Tani", 33.2300, 69.8000},
			},
			partyPK: {
				{"Miranshah", "Khyber Pakhtunkhwa", "North Waziristan", 33.0000, 70.0700},
				{"Near Ghulam Khan", "Khyber Pakhtunkhwa", "North Waziristan", 33.0700, 70.1000},
			},
		}},
	}
}
