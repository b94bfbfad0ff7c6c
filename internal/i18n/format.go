package i18n

import (
	"strconv"
	"strings"
	"time"
)

// N formats n in the locale's digits and grouping: 1,234 in en and ur,
// 1.234 in tr, ۱٬۲۳۴ (Eastern Arabic-Indic digits, U+066C ARABIC THOUSANDS
// SEPARATOR) in ps and prs.
//
// Negative numbers carry the bidi marks of CLDR's minus sign, as x/text
// emits them: ps writes U+200E LEFT-TO-RIGHT MARK, "-", U+200E before the
// digits; prs writes U+200E then U+2212 MINUS SIGN; ur writes U+200E then
// "-"; en and tr a plain "-". The marks keep the sign on the left of the
// digits inside right-to-left text.
func (l *Locale) N(n int) string {
	return l.printer.Sprintf("%d", n)
}

// digits rewrites the ASCII digits of s in the locale's digits, without
// grouping, for years, days and times.
func (l *Locale) digits(s string) string {
	if l.zero == '0' || l.zero == 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return l.zero + (r - '0')
		}
		return r
	}, s)
}

// Date formats the calendar date of t in UTC, whatever t's location, in
// the Gregorian calendar: "7 November 2025", "7 Kasım 2025", "۷ نومبر
// ۲۰۲۵". The month names (month.gregorian.1 … 12) and the order
// (date.gregorian) come from the message files.
//
// Every date this package formats (Date, SolarHijri, DateTime) is the
// day in UTC, the zone of the log's clock, so that the two calendars and
// a page's datetime attributes always name the same day.
func (l *Locale) Date(t time.Time) string {
	y, m, d := t.UTC().Date()
	return l.T("date.gregorian",
		"day", l.digits(strconv.Itoa(d)),
		"month", l.T("month.gregorian."+strconv.Itoa(int(m))),
		"year", l.digits(strconv.Itoa(y)))
}

// SolarHijri formats the calendar date of t in UTC, like Date, in the Solar
// Hijri calendar, Afghanistan's official one: "16 Aqrab 1404" in English,
// "۱۶ عقرب ۱۴۰۴" in Dari. The month names (month.solar.1 … 12: the Afghan
// names Hamal … Hut, in Pashto Wray … Kab) and the order (date.solar) come
// from the message files. For a date outside the years the calendar's
// leap-year table covers (Gregorian years 560 to 3798), it returns Date(t).
func (l *Locale) SolarHijri(t time.Time) string {
	t = t.UTC()
	y, m, d, err := ToSolarHijri(t)
	if err != nil {
		return l.Date(t)
	}
	return l.T("date.solar",
		"day", l.digits(strconv.Itoa(d)),
		"month", l.T("month.solar."+strconv.Itoa(m)),
		"year", l.digits(strconv.Itoa(y)))
}

// DateTime formats t in UTC as the Gregorian date and the 24-hour time,
// "7 November 2025, 14:05 UTC", with the locale's digits; the layout is
// the message datetime.
func (l *Locale) DateTime(t time.Time) string {
	t = t.UTC()
	return l.T("datetime",
		"date", l.Date(t),
		"time", l.digits(t.Format("15:04")))
}
