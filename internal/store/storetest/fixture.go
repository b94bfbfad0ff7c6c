package storetest

import (
	"time"

	"github.com/truce-mechanism/truce/internal/store"
)

// fixture is a small hand-written log of three batches, whose subjects the
// filter tests know by heart:
//
//	index  id     kind      party  origin   against  place/admin1/country             event type                  status          when
//	1      inc-a  incident  AF     PK       AF       Spin Boldak/Kandahar/Afghanistan Battles                     withdrawn       t0-48h
//	2      inc-b  incident         AF       PK       Chaman/Balochistan/Pakistan      Explosions/Remote violence  awaiting_reply  t0-24h
//	3      act-c  action    PK                                                        c1                          awaiting_reply  t0-12h
//	7      inc-d  incident  PK     AF       PK       Ürgün/Paktika/Afghanistan        Battles                     awaiting_reply  t0
//	11     inc-e  incident         unknown  AF       Torkham/Nangarhar/Afghanistan    Violence against civilians  open            t0+1h
//	13     act-f  action    AF                       Torkham/Nangarhar/Afghanistan    c2                          awaiting_reply  1969-12-31T23:59:59.999999Z
//	14     act-g  action    PK                                                        c1                          disputed        zero
//
// inc-a is created in the first batch and replaced in the second and third.
func fixture() []*store.Batch {
	t0 := time.Date(2025, 11, 7, 10, 0, 0, 123456000, time.UTC)
	// Kabul's zone: a store must give the same instant back in UTC.
	kabul := time.FixedZone("AFT", 4*3600+1800)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 1500 * time.Millisecond) }
	accepted := func(i uint64, id, typ, author, subject string) store.Verdict {
		return store.Verdict{Index: i, Received: at(int(i)), ID: id, Type: typ, Author: author, Subject: subject, Accepted: true}
	}
	incA := store.Subject{
		ID: "inc-a", Kind: store.KindIncident, Index: 1, Received: at(1), Author: "m-af-1", Party: "AF",
		When: t0.Add(-48 * time.Hour), Place: "Spin Boldak", Admin1: "Kandahar", Country: "Afghanistan",
		EventType: "Battles", AllegedOrigin: "PK", Against: "AF", Status: "awaiting_reply",
		Doc: []byte(`{"id":"inc-a","status":"awaiting_reply"}`),
	}
	incA2 := incA
	incA2.Status = "open"
	incA2.Doc = []byte(`{"id":"inc-a","status":"open","votes":1}`)
	incA3 := incA2
	incA3.Status = "withdrawn"
	incA3.Doc = []byte(`{"id":"inc-a","status":"withdrawn","votes":1}`)
	return []*store.Batch{
		{
			Next:  5,
			Clock: at(4),
			Verdicts: []store.Verdict{
				accepted(0, "charter-1", "charter", "m-af-1", ""),
				accepted(1, "inc-a", "incident.report", "m-af-1", ""),
				accepted(2, "inc-b", "incident.report", "m-tr-1", ""),
				accepted(3, "act-c", "action.report", "m-pk-1", ""),
				{Index: 4, Received: at(4), Reason: "malformed envelope"},
			},
			Subjects: []store.Subject{
				incA,
				{
					ID: "inc-b", Kind: store.KindIncident, Index: 2, Received: at(2), Author: "m-tr-1",
					When: t0.Add(-24 * time.Hour).In(kabul), Place: "Chaman", Admin1: "Balochistan", Country: "Pakistan",
					EventType: "Explosions/Remote violence", AllegedOrigin: "AF", Against: "PK", Status: "awaiting_reply",
					Doc: []byte(`{"id":"inc-b"}`),
				},
				{
					ID: "act-c", Kind: store.KindAction, Index: 3, Received: at(3), Author: "m-pk-1", Party: "PK",
					When: t0.Add(-12 * time.Hour), EventType: "c1", Status: "awaiting_reply",
					Doc: []byte(`{"id":"act-c"}`),
				},
			},
			Charters: []store.Charter{{Version: 1, Index: 0, Doc: []byte(`{"title":"Istanbul 2025","version":1}`)}},
			Documents: map[string][]byte{
				"compliance": []byte(`{"AF":{},"PK":{}}`),
			},
		},
		{
			Next:  10,
			Clock: at(9).In(kabul),
			Verdicts: []store.Verdict{
				accepted(5, "rep-1", "reply", "m-pk-1", "inc-a"),
				accepted(6, "den-1", "access.denied", "mon-1", "inc-b"),
				accepted(7, "inc-d", "incident.report", "m-pk-1", ""),
				accepted(8, "as-1", "assessment", "m-tr-1", "inc-a"),
				{Index: 9, Received: at(9), ID: "as-2", Type: "assessment", Author: "m-xx-9", Subject: "inc-a", Reason: "author is not a member"},
			},
			Subjects: []store.Subject{
				{
					ID: "inc-d", Kind: store.KindIncident, Index: 7, Received: at(7), Author: "m-pk-1", Party: "PK",
					When: t0, Place: "Ürgün", Admin1: "Paktika", Country: "Afghanistan",
					EventType: "Battles", AllegedOrigin: "AF", Against: "PK", Status: "awaiting_reply",
					Doc: []byte(`{"id":"inc-d"}`),
				},
				incA2,
			},
			AccessDenials: []store.AccessDenial{{
				Index: 6, ID: "den-1", Author: "mon-1", Party: "PK", Subject: "inc-b", Place: "Chaman",
				At: "2025-11-07T09:00:00Z", Doc: []byte(`{"id":"den-1"}`),
			}},
		},
		{
			Next:  15,
			Clock: at(14),
			Verdicts: []store.Verdict{
				accepted(10, "charter-2", "charter.amend", "m-af-1", ""),
				accepted(11, "inc-e", "incident.report", "mon-1", ""),
				accepted(12, "wd-1", "withdraw", "m-af-1", "inc-a"),
				accepted(13, "act-f", "action.report", "m-af-1", ""),
				accepted(14, "act-g", "action.report", "m-pk-1", ""),
			},
			Subjects: []store.Subject{
				{
					ID: "inc-e", Kind: store.KindIncident, Index: 11, Received: at(11), Author: "mon-1",
					When: t0.Add(time.Hour), Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan",
					EventType: "Violence against civilians", AllegedOrigin: "unknown", Against: "AF", Status: "open",
					Doc: []byte(`{"id":"inc-e"}`),
				},
				incA3,
				{
					ID: "act-f", Kind: store.KindAction, Index: 13, Received: at(13), Author: "m-af-1", Party: "AF",
					When:  time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
					Place: "Torkham", Admin1: "Nangarhar", Country: "Afghanistan",
					EventType: "c2", Status: "awaiting_reply", Doc: []byte(`{"id":"act-f"}`),
				},
				{
					ID: "act-g", Kind: store.KindAction, Index: 14, Received: at(14), Author: "m-pk-1", Party: "PK",
					EventType: "c1", Status: "disputed", Doc: []byte(`{"id":"act-g"}`),
				},
			},
			Charters: []store.Charter{{Version: 2, Index: 10, Doc: []byte(`{"title":"Istanbul 2025","version":2}`)}},
			Documents: map[string][]byte{
				"compliance": []byte(`{"AF":{"c2":{"verified":0}},"PK":{}}`),
				"tallies":    []byte(`{"access_denied":{"PK":1}}`),
			},
		},
	}
}

// fixtureT0 is the fixture's reference time.
func fixtureT0() time.Time { return time.Date(2025, 11, 7, 10, 0, 0, 123456000, time.UTC) }
