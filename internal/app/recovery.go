package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/web"
)

// observeBus wraps the connected bus so every delivery is counted
// (mercato_events_handled_total, mercato_event_handle_lag_seconds,
// mercato_dead_letters_total) and registers the outbox gauges; both work
// alike on every adapter.
func (p *Platform) observeBus() {
	p.rawBus = p.Bus
	m := &eventMetrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercato_events_handled_total",
			Help: "Event deliveries handled by this process's consumer groups, by outcome: ok, retry (to be delivered again) or dead_letter.",
		}, []string{"group", "outcome"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mercato_event_handle_lag_seconds",
			Help:    "Time from an event's creation to its handling (ok or dead-lettered) by a consumer group.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"group"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mercato_dead_letters_total",
			Help: "Events a consumer group gave up on and moved to its dead-letter store.",
		}, []string{"group"}),
		now: time.Now,
	}
	p.Registry.MustRegister(m.handled, m.lag, m.dead, outboxCollector{p})
	p.Bus = bus.Observe(p.Bus, m)
}

// busWarnings lists what the bus adapter says an operator should know (an
// old server, a stream kept in memory).
func (p *Platform) busWarnings() []string {
	if w, ok := p.rawBus.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}

// eventMetrics is the bus.Observer behind the consumer metrics.
type eventMetrics struct {
	handled *prometheus.CounterVec
	lag     *prometheus.HistogramVec
	dead    *prometheus.CounterVec
	now     func() time.Time
}

// Subscribed makes the group's dead-letter counter exist at zero, so that
// increase() sees its first dead letter.
func (e *eventMetrics) Subscribed(group string) { e.dead.WithLabelValues(group) }

func (e *eventMetrics) Handled(group string, m bus.Message, o bus.Outcome) {
	e.handled.WithLabelValues(group, string(o)).Inc()
	if o == bus.OutcomeDeadLetter {
		e.dead.WithLabelValues(group).Inc()
	}
	if o == bus.OutcomeRetry {
		return
	}
	// The event's time is in its envelope; a message that is no Mercato
	// event has no lag to tell.
	var env struct {
		Time time.Time `json:"time"`
	}
	if json.Unmarshal(m.Data, &env) == nil && !env.Time.IsZero() {
		e.lag.WithLabelValues(group).Observe(max(0, e.now().Sub(env.Time).Seconds()))
	}
}

// outboxCollector reads every relay's outbox when scraped.
type outboxCollector struct{ p *Platform }

var (
	outboxUnpublished = prometheus.NewDesc("mercato_outbox_unpublished",
		"Outbox rows not yet published to the bus.", []string{"service"}, nil)
	outboxOldestAge = prometheus.NewDesc("mercato_outbox_oldest_unpublished_age_seconds",
		"How long the oldest unpublished outbox row has waited; 0 when none waits.", []string{"service"}, nil)
	outboxPublishErrors = prometheus.NewDesc("mercato_outbox_publish_errors_total",
		"Failed publishes of outbox rows to the bus by this process.", []string{"service"}, nil)
)

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxUnpublished
	ch <- outboxOldestAge
	ch <- outboxPublishErrors
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, r := range c.p.Relays() {
		h, err := r.Health(ctx)
		ch <- prometheus.MustNewConstMetric(outboxPublishErrors, prometheus.CounterValue, float64(h.PublishErrors), r.Name())
		if err != nil {
			// No gauge rather than a wrong one; the scrape goes on.
			c.p.log.Warn("read outbox for metrics", "db", r.Name(), "err", err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(outboxUnpublished, prometheus.GaugeValue, float64(h.Unpublished), r.Name())
		ch <- prometheus.MustNewConstMetric(outboxOldestAge, prometheus.GaugeValue, h.OldestAge.Seconds(), r.Name())
	}
}

// Ready is the process's readiness: every database answers, and every
// outbox publishes (see -outbox.ready-max-age). An outbox that cannot
// publish makes the process unready with its reason, and ready again by
// itself once publishing works.
func (p *Platform) Ready(ctx context.Context) error {
	if err := p.Ping(ctx); err != nil {
		return err
	}
	for _, r := range p.Relays() {
		reason, err := r.Ready(ctx, p.Config.OutboxReadyMaxAge)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", r.Name(), err)
		}
		if reason != "" {
			return &web.NotReadyError{Reason: reason}
		}
	}
	return nil
}
