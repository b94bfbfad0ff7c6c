package mechanism

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/state"
)

type metrics struct {
	statements *prometheus.CounterVec
	append     prometheus.Histogram
	size       prometheus.Gauge
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "truce_statements_total",
			Help: "Statements by outcome: accepted or rejected by the fold (logged), or refused on receipt (never logged), by reason.",
		}, []string{"outcome", "reason"}),
		append: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "truce_log_append_seconds",
			Help:    "Time from handing an entry to the log until it is durably sequenced.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "truce_log_entries",
			Help: "Entries applied to the state: the log's size as the fold has seen it.",
		}),
	}
	if r != nil {
		r.MustRegister(m.statements, m.append, m.size)
	}
	return m
}

// reason is a short label for the kind of a refusal or rejection.
func reason(err error) string {
	var size *truce.SizeError
	switch {
	case errors.As(err, &size):
		return "too_large"
	case errors.Is(err, truce.ErrMalformed):
		return "malformed"
	case errors.Is(err, state.ErrSignature):
		return "signature"
	case errors.Is(err, state.ErrForbidden):
		return "forbidden"
	case errors.Is(err, state.ErrConflict):
		return "conflict"
	case errors.Is(err, state.ErrUnknownSubject):
		return "unknown_subject"
	}
	return "other"
}

func (m *metrics) refused(err error) {
	m.statements.WithLabelValues("refused", reason(err)).Inc()
}

func (m *metrics) folded(v state.Verdict) {
	if v.Accepted {
		m.statements.WithLabelValues("accepted", "").Inc()
		return
	}
	m.statements.WithLabelValues("rejected", reason(v.Err)).Inc()
}
