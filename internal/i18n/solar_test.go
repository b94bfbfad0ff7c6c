package i18n

import (
	"errors"
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// solarCases are dates known in both calendars, from Iranian calendars and
// from Afghan history as Afghans date it.
var solarCases = []struct {
	name    string
	greg    time.Time
	y, m, d int
}{
	{"Nowruz 1300", date(1921, time.March, 21), 1300, 1, 1},
	{"independence day 28 Asad 1400", date(2021, time.August, 19), 1400, 5, 28},
	{"coup of 26 Saratan 1352", date(1973, time.July, 17), 1352, 4, 26},
	{"Saur revolution 7 Saur 1357", date(1978, time.April, 27), 1357, 2, 7},
	{"22 Bahman 1357", date(1979, time.February, 11), 1357, 11, 22},
	{"Nowruz 1358", date(1979, time.March, 21), 1358, 1, 1},
	{"8 Saur 1371", date(1992, time.April, 28), 1371, 2, 8},
	{"Nowruz 1375", date(1996, time.March, 20), 1375, 1, 1},
	{"Nowruz 1399", date(2020, time.March, 20), 1399, 1, 1},
	{"Nowruz 1400", date(2021, time.March, 21), 1400, 1, 1},
	{"Nowruz 1403", date(2024, time.March, 20), 1403, 1, 1},
	{"1 Jadi 1403", date(2024, time.December, 21), 1403, 10, 1},
	{"last day of leap 1403", date(2025, time.March, 20), 1403, 12, 30},
	{"Nowruz 1404", date(2025, time.March, 21), 1404, 1, 1},
	{"last day of Sunbula 1404", date(2025, time.September, 22), 1404, 6, 31},
	{"1 Mizan 1404", date(2025, time.September, 23), 1404, 7, 1},
	{"16 Aqrab 1404", date(2025, time.November, 7), 1404, 8, 16},
	{"last day of 1404", date(2026, time.March, 20), 1404, 12, 29},
	{"Nowruz 1405", date(2026, time.March, 21), 1405, 1, 1},
	{"10 Qaws 1405", date(2026, time.December, 1), 1405, 9, 10},
}

func TestToSolarHijri(t *testing.T) {
	for _, tc := range solarCases {
		t.Run(tc.name, func(t *testing.T) {
			y, m, d, err := ToSolarHijri(tc.greg)
			if err != nil {
				t.Fatal(err)
			}
			if y != tc.y || m != tc.m || d != tc.d {
				t.Errorf("ToSolarHijri(%s) = %d-%02d-%02d, want %d-%02d-%02d", tc.greg.Format(time.DateOnly), y, m, d, tc.y, tc.m, tc.d)
			}
			g, err := FromSolarHijri(tc.y, tc.m, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if !g.Equal(tc.greg) {
				t.Errorf("FromSolarHijri(%d, %d, %d) = %s, want %s", tc.y, tc.m, tc.d, g.Format(time.DateOnly), tc.greg.Format(time.DateOnly))
			}
		})
	}
}

func TestToSolarHijriUsesLocation(t *testing.T) {
	// 20:00 UTC on 20 March 2025 is already 21 March, Nowruz 1404, in Kabul.
	kabul := time.FixedZone("AFT", 4*3600+1800)
	tm := time.Date(2025, time.March, 20, 20, 0, 0, 0, time.UTC)
	if y, m, d, _ := ToSolarHijri(tm); y != 1403 || m != 12 || d != 30 {
		t.Errorf("in UTC got %d-%d-%d, want 1403-12-30", y, m, d)
	}
	if y, m, d, _ := ToSolarHijri(tm.In(kabul)); y != 1404 || m != 1 || d != 1 {
		t.Errorf("in Kabul got %d-%d-%d, want 1404-1-1", y, m, d)
	}
}

func TestSolarLeapYear(t *testing.T) {
	leap := map[int]bool{1370: true, 1375: true, 1379: true, 1383: true, 1387: true, 1391: true,
		1395: true, 1399: true, 1403: true, 1408: true, 1412: true}
	for y := 1370; y <= 1412; y++ {
		if got, want := SolarLeapYear(y), leap[y]; got != want {
			t.Errorf("SolarLeapYear(%d) = %v, want %v", y, got, want)
		}
		want := 29
		if leap[y] {
			want = 30
		}
		if got := SolarMonthDays(y, 12); got != want {
			t.Errorf("SolarMonthDays(%d, 12) = %d, want %d", y, got, want)
		}
	}
}

func TestSolarMonthDays(t *testing.T) {
	for m, want := range []int{0, 31, 31, 31, 31, 31, 31, 30, 30, 30, 30, 30, 29, 0} {
		if got := SolarMonthDays(1404, m); got != want {
			t.Errorf("SolarMonthDays(1404, %d) = %d, want %d", m, got, want)
		}
	}
}

func TestFromSolarHijriErrors(t *testing.T) {
	tests := []struct {
		y, m, d int
		range_  bool
	}{
		{1404, 12, 30, false}, // 1404 is not a leap year
		{1404, 7, 31, false},
		{1404, 0, 1, false},
		{1404, 13, 1, false},
		{1404, 1, 0, false},
		{3178, 1, 1, true},
		{-62, 1, 1, true},
	}
	for _, tc := range tests {
		_, err := FromSolarHijri(tc.y, tc.m, tc.d)
		if err == nil {
			t.Errorf("FromSolarHijri(%d, %d, %d): got no error", tc.y, tc.m, tc.d)
			continue
		}
		if got := errors.Is(err, ErrSolarRange); got != tc.range_ {
			t.Errorf("FromSolarHijri(%d, %d, %d) = %v: errors.Is(ErrSolarRange) = %v, want %v", tc.y, tc.m, tc.d, err, got, tc.range_)
		}
	}
	if _, _, _, err := ToSolarHijri(date(4000, time.January, 1)); !errors.Is(err, ErrSolarRange) {
		t.Errorf("ToSolarHijri(4000-01-01): got %v, want ErrSolarRange", err)
	}
}

// TestSolarRoundTrip walks every day from 1950 to 2100: each converts to a
// Solar Hijri date and back to itself, each day is the one after the day
// before in the Solar Hijri calendar too (so months have the lengths
// SolarMonthDays gives), and every Nowruz falls between 19 and 22 March.
func TestSolarRoundTrip(t *testing.T) {
	end := date(2101, time.January, 1)
	py, pm, pd, err := ToSolarHijri(date(1949, time.December, 31))
	if err != nil {
		t.Fatal(err)
	}
	for g := date(1950, time.January, 1); g.Before(end); g = g.AddDate(0, 0, 1) {
		y, m, d, err := ToSolarHijri(g)
		if err != nil {
			t.Fatalf("ToSolarHijri(%s): %v", g.Format(time.DateOnly), err)
		}
		back, err := FromSolarHijri(y, m, d)
		if err != nil {
			t.Fatalf("FromSolarHijri(%d, %d, %d) from %s: %v", y, m, d, g.Format(time.DateOnly), err)
		}
		if !back.Equal(g) {
			t.Fatalf("%s -> %d-%02d-%02d -> %s", g.Format(time.DateOnly), y, m, d, back.Format(time.DateOnly))
		}
		var wy, wm, wd int
		switch {
		case pd < SolarMonthDays(py, pm):
			wy, wm, wd = py, pm, pd+1
		case pm < 12:
			wy, wm, wd = py, pm+1, 1
		default:
			wy, wm, wd = py+1, 1, 1
		}
		if y != wy || m != wm || d != wd {
			t.Fatalf("%s is %d-%02d-%02d, want %d-%02d-%02d, the day after %d-%02d-%02d", g.Format(time.DateOnly), y, m, d, wy, wm, wd, py, pm, pd)
		}
		if m == 1 && d == 1 && (g.Month() != time.March || g.Day() < 19 || g.Day() > 22) {
			t.Errorf("Nowruz %d falls on %s, want 19-22 March", y, g.Format(time.DateOnly))
		}
		py, pm, pd = y, m, d
	}
}

func TestJDN(t *testing.T) {
	// The Julian Day Number of 1 January 2000 is 2451545; the Unix epoch's
	// is 2440588. The day count must agree with Go's calendar everywhere.
	if got := gregorianToJDN(2000, 1, 1); got != 2451545 {
		t.Errorf("gregorianToJDN(2000, 1, 1) = %d, want 2451545", got)
	}
	for g := date(1900, time.January, 1); g.Year() < 2200; g = g.AddDate(0, 0, 7) {
		want := int(g.Unix()/86400) + 2440588
		if got := gregorianToJDN(g.Year(), int(g.Month()), g.Day()); got != want {
			t.Fatalf("gregorianToJDN(%s) = %d, want %d", g.Format(time.DateOnly), got, want)
		}
		if y, m, d := jdnToGregorian(want); y != g.Year() || m != int(g.Month()) || d != g.Day() {
			t.Fatalf("jdnToGregorian(%d) = %d-%d-%d, want %s", want, y, m, d, g.Format(time.DateOnly))
		}
	}
}
