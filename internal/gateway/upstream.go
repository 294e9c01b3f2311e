package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// replica is one process of a service behind the gateway.
type replica struct {
	service string
	base    *url.URL
	// healthy is false once an active check failed twice in a row or a
	// request could not connect (passive ejection); the next passing
	// check brings it back.
	healthy  atomic.Bool
	fails    atomic.Int32 // consecutive failed checks
	inflight atomic.Int64
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// name is the replica's label in metrics and logs: its host:port.
func (r *replica) name() string { return r.base.Host }

// usable reports whether the replica may take a request now.
func (r *replica) usable() bool {
	return r.healthy.Load() && r.breaker.State() != gobreaker.StateOpen
}

// pool is the replicas of one service and the transport that reaches
// them.
type pool struct {
	service   string
	replicas  []*replica
	transport *http.Transport
	next      atomic.Uint64
	m         *metrics
	log       *slog.Logger
}

// errNoReplica is answered 503 when every replica of a service is down or
// its breaker open.
var errNoReplica = errors.New("gateway: no replica of the service can take the request")

func newPool(service string, bases []*url.URL, cfg Config, m *metrics, log *slog.Logger) *pool {
	p := &pool{service: service, m: m, log: log}
	p.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.timeout(service),
		ExpectContinueTimeout: time.Second,
		// Bodies pass through as the client sent them: the service
		// compresses what it compresses.
		DisableCompression: true,
	}
	for _, b := range bases {
		r := &replica{service: service, base: b}
		r.healthy.Store(true)
		r.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        service + "@" + b.Host,
			MaxRequests: 1,
			Interval:    0,
			Timeout:     cfg.BreakerCooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(cfg.BreakerFailures) },
			OnStateChange: func(_ string, from, to gobreaker.State) {
				log.Warn("circuit breaker", "service", service, "upstream", b.Host, "from", from.String(), "to", to.String())
				m.breakerOpen.WithLabelValues(service, b.Host).Set(boolGauge(to == gobreaker.StateOpen))
			},
		})
		m.healthy.WithLabelValues(service, b.Host).Set(1)
		m.breakerOpen.WithLabelValues(service, b.Host).Set(0)
		p.replicas = append(p.replicas, r)
	}
	return p
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pick chooses the replica for a request: the usable one with the fewest
// requests in flight, ties broken in turn, skipping those in tried. When
// none is usable it takes one whose breaker lets a request through even
// if its last check failed (a request may find it back before the next
// check), and otherwise none.
func (p *pool) pick(tried map[*replica]bool) *replica {
	start := p.next.Add(1)
	n := uint64(len(p.replicas))
	var best *replica
	for i := range n {
		r := p.replicas[(start+i)%n]
		if tried[r] || !r.usable() {
			continue
		}
		if best == nil || r.inflight.Load() < best.inflight.Load() {
			best = r
		}
	}
	if best != nil {
		return best
	}
	for i := range n {
		r := p.replicas[(start+i)%n]
		if !tried[r] && r.breaker.State() != gobreaker.StateOpen {
			return r
		}
	}
	return nil
}

// healthy reports whether at least one replica passes its checks.
func (p *pool) healthy() bool {
	for _, r := range p.replicas {
		if r.usable() {
			return true
		}
	}
	return false
}

// setHealthy records a replica's health, logging and counting changes.
func (p *pool) setHealthy(r *replica, ok bool, why string) {
	if r.healthy.Swap(ok) != ok {
		if ok {
			p.log.Info("upstream healthy", "service", p.service, "upstream", r.name())
		} else {
			p.log.Warn("upstream ejected", "service", p.service, "upstream", r.name(), "reason", why)
		}
	}
	p.m.healthy.WithLabelValues(p.service, r.name()).Set(boolGauge(ok))
}

// check asks every replica's /readyz once.
func (p *pool) check(ctx context.Context, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, r := range p.replicas {
		wg.Go(func() {
			err := p.probe(ctx, r, timeout)
			switch {
			case err == nil:
				r.fails.Store(0)
				p.setHealthy(r, true, "")
			case ctx.Err() != nil:
			default:
				// Two failed checks in a row eject it: one slow answer
				// during a pause is not an outage.
				if r.fails.Add(1) >= 2 {
					p.setHealthy(r, false, err.Error())
				}
			}
		})
	}
	wg.Wait()
}

func (p *pool) probe(ctx context.Context, r *replica, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base.String()+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz answered %d", resp.StatusCode)
	}
	return nil
}

// watch checks the pool's replicas every interval until ctx is done.
func (p *pool) watch(ctx context.Context, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.check(ctx, timeout)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
