package i18n_test

import (
	"fmt"
	"time"

	"github.com/truce-mechanism/truce/internal/i18n"
)

func Example() {
	c, err := i18n.Load()
	if err != nil {
		panic(err)
	}
	when := time.Date(2025, time.November, 7, 14, 5, 0, 0, time.UTC)
	for _, tag := range []string{"en", "tr"} {
		l, _ := c.Locale(tag)
		fmt.Println(l.T("nav.incidents"), "|", l.TN("incidents.count", 1234), "|", l.SolarHijri(when))
		fmt.Println(l.T("reply.window_closes_at", "when", l.DateTime(when)))
	}
	// Output:
	// Incidents | 1,234 incidents | 16 Aqrab 1404
	// Reply window closes 7 November 2025, 14:05 UTC
	// Olaylar | 1.234 olay | 16 Akrep 1404
	// Yanıt süresi 7 Kasım 2025 14:05 UTC tarihinde sona eriyor
}
