package tenant_test

import (
	"database/sql"
	"encoding/json"
	"io/fs"
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/tenant"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// TestNewStoresHaveTheDefaultColours: a signed-up store and a configured
// one start with the default colours, and announce them.
func TestNewStoresHaveTheDefaultColours(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		_, r := e.signup("colours", "")
		for _, id := range []string{r.Store.ID, "default"} {
			var st tenantapi.Store
			e.do(http.MethodGet, "/api/v1/admin/store", nil, admin(id)).decode(t, &st)
			if st.BrandColor != tenantapi.DefaultBrandColor || st.AccentColor != tenantapi.DefaultAccentColor {
				t.Errorf("store %s: colours %q %q, want the defaults", id, st.BrandColor, st.AccentColor)
			}
		}
		evs := e.events(tenantapi.SubjectTenantCreated)
		if len(evs) != 2 {
			t.Fatalf("tenant.created.v1 events: %d, want 2", len(evs))
		}
		for _, ev := range evs {
			var c tenantapi.TenantCreated
			if err := json.Unmarshal(ev.Data, &c); err != nil || c.Settings == nil ||
				c.Settings.BrandColor != tenantapi.DefaultBrandColor || c.Settings.AccentColor != tenantapi.DefaultAccentColor {
				t.Errorf("tenant.created.v1 of %s: %s (%v), want the default colours", ev.Tenant, ev.Data, err)
			}
		}
	}, tenant.Migrations...)
}

// TestMigrationColoursExistingStores: a store made before the colours
// existed has the defaults after the migration, on both engines.
func TestMigrationColoursExistingStores(t *testing.T) {
	all := tenant.Migrations[len(tenant.Migrations)-1]
	before := fstest.MapFS{}
	err := fs.WalkDir(all.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path >= "0004_" { // the colours' migration and every later one
			return err
		}
		b, err := fs.ReadFile(all.FS, path)
		before[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil || len(before) != 3 {
		t.Fatalf("migrations before the colours: %d files, %v", len(before), err)
	}
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := sqldb.AllTenants(t.Context())
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('old', 'Old Shop', 1, 1)`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(t.Context(), tenant.Migrations...); err != nil {
			t.Fatal(err)
		}
		var brand, accent string
		err = db.ReadTx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `SELECT brand_color, accent_color FROM tenants WHERE id = 'old'`).Scan(&brand, &accent)
		})
		if err != nil || brand != tenantapi.DefaultBrandColor || accent != tenantapi.DefaultAccentColor {
			t.Errorf("an existing store's colours: %q %q (%v), want the defaults", brand, accent, err)
		}
	}, outbox.Migrations, sqldb.Migrations{FS: before, Table: all.Table})
}
