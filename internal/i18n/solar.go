package i18n

import (
	"errors"
	"time"
)

// The Solar Hijri (Jalali) arithmetic below follows Kazimierz M. Borkowski,
// "The Persian calendar for 3000 years", Earth, Moon, and Planets 74 (1996)
// 223–230, in the integer form of the jalaali-js library
// (https://github.com/jalaali/jalaali-js, MIT), itself a port of Borkowski's
// Fortran: a 33-year leap cycle broken at the years in solarBreaks, which
// agrees with the astronomical (vernal-equinox-at-Tehran) calendar for
// Solar Hijri years -61 to 3177.
//
// Assumption, to be reviewed: modern Afghanistan uses the same year start
// (Nowruz, 1 Hamal = 1 Farvardin) and the same month lengths as Iran — six
// months of 31 days, five of 30, and a last month of 29 days (30 in a leap
// year). Only the month names differ; they come from the message files.

// ErrSolarRange is returned for a date outside the years (Solar Hijri -61 to
// 3177, about Gregorian 560 to 3798) for which the Solar Hijri leap-year
// table is known.
var ErrSolarRange = errors.New("date outside the Solar Hijri years -61 to 3177")

// solarBreaks returns the Solar Hijri years at which the 33-year leap
// cycle restarts (Borkowski 1996), as a fresh array: a function rather than
// a package variable, so that nothing can change the table.
func solarBreaks() [20]int {
	return [20]int{
		-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210,
		1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178,
	}
}

// div and mod are truncating integer division and remainder, as in
// jalaali-js (~~(a/b)); Go's / and % already truncate toward zero.
func div(a, b int) int { return a / b }
func mod(a, b int) int { return a % b }

// solarYear describes Solar Hijri year jy: leap is 0 in a leap year (1, 2
// or 3 otherwise: years since the last leap year), gy is the Gregorian year
// in which jy begins, and march is the day in March of that Gregorian year
// on which 1 Hamal (Farvardin) falls.
func solarYear(jy int) (leap, gy, march int, ok bool) {
	breaks := solarBreaks()
	if jy < breaks[0] || jy >= breaks[len(breaks)-1] {
		return 0, 0, 0, false
	}
	gy = jy + 621
	leapJ := -14
	jp := breaks[0]
	jump := 0
	for _, jm := range breaks[1:] {
		jump = jm - jp
		if jy < jm {
			break
		}
		leapJ += div(jump, 33)*8 + div(mod(jump, 33), 4)
		jp = jm
	}
	n := jy - jp
	// Leap years of the Solar Hijri calendar since the start of the cycle,
	// and of the Gregorian calendar, give the day of March of Nowruz.
	leapJ += div(n, 33)*8 + div(mod(n, 33)+3, 4)
	if mod(jump, 33) == 4 && jump-n == 4 {
		leapJ++
	}
	leapG := div(gy, 4) - div((div(gy, 100)+1)*3, 4) - 150
	march = 20 + leapJ - leapG
	if jump-n < 6 {
		// As in jalaali-js. (github.com/jalaali/go-jalaali v0.1.0 writes
		// n -= jump + …, which shifts the leap years in the last five years
		// before a break, e.g. 1205–1209 and 1630–1634.)
		n = n - jump + div(jump+4, 33)*33
	}
	leap = mod(mod(n+1, 33)-1, 4)
	if leap == -1 {
		leap = 4
	}
	return leap, gy, march, true
}

// gregorianToJDN returns the Julian Day Number of a proleptic Gregorian date.
func gregorianToJDN(gy, gm, gd int) int {
	d := div((gy+div(gm-8, 6)+100100)*1461, 4) +
		div(153*mod(gm+9, 12)+2, 5) +
		gd - 34840408
	return d - div(div(gy+100100+div(gm-8, 6), 100)*3, 4) + 752
}

// jdnToGregorian is the inverse of gregorianToJDN.
func jdnToGregorian(jdn int) (gy, gm, gd int) {
	j := 4*jdn + 139361631
	j += div(div(4*jdn+183187720, 146097)*3, 4)*4 - 3908
	i := div(mod(j, 1461), 4)*5 + 308
	gd = div(mod(i, 153), 5) + 1
	gm = mod(div(i, 153), 12) + 1
	gy = div(j, 1461) - 100100 + div(8-gm, 6)
	return gy, gm, gd
}

// solarToJDN returns the Julian Day Number of a Solar Hijri date.
func solarToJDN(jy, jm, jd int) (int, bool) {
	_, gy, march, ok := solarYear(jy)
	if !ok {
		return 0, false
	}
	return gregorianToJDN(gy, 3, march) + (jm-1)*31 - div(jm, 7)*(jm-7) + jd - 1, true
}

// jdnToSolar returns the Solar Hijri date of a Julian Day Number.
func jdnToSolar(jdn int) (jy, jm, jd int, ok bool) {
	gy, _, _ := jdnToGregorian(jdn)
	jy = gy - 621
	leap, _, march, ok := solarYear(jy)
	if !ok {
		return 0, 0, 0, false
	}
	k := jdn - gregorianToJDN(gy, 3, march)
	if k >= 0 {
		if k <= 185 {
			// The first six months have 31 days.
			return jy, 1 + div(k, 31), mod(k, 31) + 1, true
		}
		k -= 186
	} else {
		// Before Nowruz: the last months of the previous year.
		jy--
		if _, _, _, ok := solarYear(jy); !ok {
			return 0, 0, 0, false
		}
		k += 179
		if leap == 1 {
			k++
		}
	}
	return jy, 7 + div(k, 30), mod(k, 30) + 1, true
}

// ToSolarHijri returns the Solar Hijri date (year, month 1–12, day) of the
// calendar date of t in t's location. It returns ErrSolarRange for dates
// outside the years the leap-year table covers.
func ToSolarHijri(t time.Time) (year, month, day int, err error) {
	y, m, d := t.Date()
	jy, jm, jd, ok := jdnToSolar(gregorianToJDN(y, int(m), d))
	if !ok {
		return 0, 0, 0, ErrSolarRange
	}
	return jy, jm, jd, nil
}

// FromSolarHijri returns midnight UTC of the Gregorian day on which the
// Solar Hijri date year-month-day falls. It returns an error for a month or
// day that does not exist in that year, or ErrSolarRange for a year outside
// -61 to 3177.
func FromSolarHijri(year, month, day int) (time.Time, error) {
	n := SolarMonthDays(year, month)
	if n == 0 {
		if _, _, _, ok := solarYear(year); !ok {
			return time.Time{}, ErrSolarRange
		}
		return time.Time{}, errors.New("solar hijri month out of range 1 to 12")
	}
	if day < 1 || day > n {
		return time.Time{}, errors.New("solar hijri day out of range for its month")
	}
	jdn, _ := solarToJDN(year, month, day)
	gy, gm, gd := jdnToGregorian(jdn)
	return time.Date(gy, time.Month(gm), gd, 0, 0, 0, 0, time.UTC), nil
}

// SolarLeapYear reports whether Solar Hijri year has 366 days (its last
// month, Hut or Esfand, has 30 days). It is false for years outside -61 to
// 3177.
func SolarLeapYear(year int) bool {
	leap, _, _, ok := solarYear(year)
	return ok && leap == 0
}

// SolarMonthDays returns the number of days in month (1–12) of Solar Hijri
// year, or 0 if there is no such month.
func SolarMonthDays(year, month int) int {
	if _, _, _, ok := solarYear(year); !ok {
		return 0
	}
	switch {
	case month >= 1 && month <= 6:
		return 31
	case month >= 7 && month <= 11:
		return 30
	case month == 12 && SolarLeapYear(year):
		return 30
	case month == 12:
		return 29
	}
	return 0
}
