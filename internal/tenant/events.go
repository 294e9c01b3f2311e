package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// MediaGroup is the consumer group making uploaded logos the stores'.
const MediaGroup = "tenant-media"

// subscribe starts the consumer of the media service's uploads: a logo
// uploaded becomes its store's logo. Without a bus (tests) nothing is
// subscribed; HandleMediaEvent takes the events.
func (s *Service) subscribe(ctx context.Context) error {
	if s.bus == nil || s.consumers.Len() > 0 {
		return nil
	}
	// The consumer outlives Start's context: Run stops it.
	c, err := outbox.Consume(context.WithoutCancel(ctx), s.bus, s.st.DB(),
		bus.Subscription{Group: MediaGroup, Subjects: []string{mediaapi.SubjectUploaded}}, s.now, s.applyMediaEvent)
	if err != nil {
		return fmt.Errorf("tenant: subscribe to media uploads: %w", err)
	}
	s.consumers.Add(c)
	return nil
}

// Run waits for ctx, then stops the consumers.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.consumers.Stop()
	return nil
}

// HandleMediaEvent applies one media event exactly once (inbox dedupe
// under MediaGroup), as the bus consumer does.
func (s *Service) HandleMediaEvent(ctx context.Context, e outbox.Envelope) error {
	_, err := outbox.Handle(ctx, s.st.DB(), MediaGroup, e, s.now(), func(ctx context.Context, tx *sql.Tx) error {
		return s.applyMediaEvent(ctx, tx, e)
	})
	return err
}

// applyMediaEvent makes an uploaded logo its store's logo (its smallest
// variant, which is what the pages show), in the inbox's transaction, and
// announces the change (tenant.updated.v1) as a settings update does,
// unless the store took a logo uploaded later already (events may come
// out of order). Product images are not the tenant service's.
func (s *Service) applyMediaEvent(ctx context.Context, tx *sql.Tx, e outbox.Envelope) error {
	if e.Type != mediaapi.SubjectUploaded {
		return nil
	}
	var up mediaapi.Uploaded
	if err := json.Unmarshal(e.Data, &up); err != nil {
		return bus.Permanent(fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err))
	}
	if up.Media.Kind != mediaapi.KindLogo {
		return nil
	}
	hash := mediaapi.HashOf(up.Media.URL)
	if hash == "" {
		return bus.Permanent(fmt.Errorf("decode %s %s: no media URL", e.Type, e.ID))
	}
	id, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	q := tenantdb.New(tx) // the inbox's transaction, which outbox.Handle began
	at := up.UploadedAt
	if at.IsZero() {
		at = e.Time
	}
	n, err := q.ClaimLogoUpload(ctx, tenantdb.ClaimLogoUploadParams{TenantID: id, UploadedAt: sqldb.Micros(at)})
	if err != nil {
		return fmt.Errorf("record logo upload of %s: %w", id, err)
	}
	if n == 0 {
		s.log.InfoContext(ctx, "older logo upload ignored", "tenant", id, "event_id", e.ID)
		return nil // a newer logo was taken already
	}
	logo := mediaapi.VariantURL(hash, mediaapi.SizeSmall)
	// A conflict (an admin saving the settings at the same moment) rolls
	// the claim back too and has the event delivered again, onto the new
	// row.
	_, err = s.updateSettings(ctx, tx, q, id, tenantapi.StoreUpdate{Logo: &logo})
	return err
}
