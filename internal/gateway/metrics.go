package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gateway's Prometheus series (docs/operating.md).
type metrics struct {
	requests         *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	healthy          *prometheus.GaugeVec
	breakerOpen      *prometheus.GaugeVec
	rateLimited      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercato_gateway_requests_total", Help: "Requests answered by the gateway, by owning service (none: no route) and status code.",
		}, []string{"service", "code"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mercato_gateway_upstream_duration_seconds", Help: "Time until a service's replica answered a forwarded request's headers.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"service"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mercato_gateway_upstream_healthy", Help: "1 when a replica passes its checks, 0 when ejected.",
		}, []string{"service", "upstream"}),
		breakerOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mercato_gateway_breaker_open", Help: "1 while a replica's circuit breaker is open.",
		}, []string{"service", "upstream"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercato_gateway_rate_limited_total", Help: "Requests refused with 429 by the gateway's rate limits, by scope (store or ip).",
		}, []string{"scope"}),
	}
	reg.MustRegister(m.requests, m.upstreamDuration, m.healthy, m.breakerOpen, m.rateLimited)
	// Both scopes exist at zero, so increase() sees the first refusal.
	for _, scope := range []string{"store", "ip"} {
		m.rateLimited.WithLabelValues(scope)
	}
	return m
}
