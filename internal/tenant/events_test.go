package tenant_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant"
)

// TestMediaLogo: a logo uploaded to the media service becomes its store's
// logo (its small variant), once however often it is delivered; product
// images and other stores' logos leave the store alone.
func TestMediaLogo(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ensure(t.Context(), "acme", "Acme", nil); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		event := func(tenant string, m mediaapi.Media) outbox.Envelope {
			at = at.Add(time.Second)
			e, err := outbox.NewEvent(tenancy.WithID(t.Context(), tenant), mediaapi.Source, mediaapi.SubjectUploaded, at, mediaapi.Uploaded{Media: m, UploadedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		hash := strings.Repeat("9f", 32)
		logo := event("default", mediaapi.Media{Hash: hash, URL: mediaapi.URL(hash), Kind: mediaapi.KindLogo})
		other := strings.Repeat("a0", 32)
		for _, e := range []outbox.Envelope{
			logo, logo, // redelivered
			event("default", mediaapi.Media{Hash: other, URL: mediaapi.URL(other), Kind: mediaapi.KindProductImage, ProductID: "p-1"}),
		} {
			if err := s.HandleMediaEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.Store(tenancy.WithID(t.Context(), "default"))
		if err != nil {
			t.Fatal(err)
		}
		if want := mediaapi.VariantURL(hash, mediaapi.SizeSmall); st.Settings.Logo != want {
			t.Errorf("logo = %q, want %q", st.Settings.Logo, want)
		}
		acme, err := s.Store(tenancy.WithID(t.Context(), "acme"))
		if err != nil || acme.Settings.Logo != "" {
			t.Errorf("acme's logo = %q (%v), want none", acme.Settings.Logo, err)
		}

		// Two logos uploaded one after the other, delivered the other way
		// round: the later upload stays the logo.
		first, second := strings.Repeat("b1", 32), strings.Repeat("b2", 32)
		older := event("acme", mediaapi.Media{Hash: first, URL: mediaapi.URL(first), Kind: mediaapi.KindLogo})
		newer := event("acme", mediaapi.Media{Hash: second, URL: mediaapi.URL(second), Kind: mediaapi.KindLogo})
		for _, e := range []outbox.Envelope{newer, older} {
			if err := s.HandleMediaEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
		acme, err = s.Store(tenancy.WithID(t.Context(), "acme"))
		if want := mediaapi.VariantURL(second, mediaapi.SizeSmall); err != nil || acme.Settings.Logo != want {
			t.Errorf("after a late older upload acme's logo = %q (%v), want the newer %q", acme.Settings.Logo, err, want)
		}
	}, tenant.Migrations...)
}
