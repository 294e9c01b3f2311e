package identity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// TestImportCustomer: an import creates an account without a password
// that nobody can sign in to until the reset link sets one; the same
// import twice changes nothing; a dry run changes nothing.
func TestImportCustomer(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		in := identityapi.CustomerImport{Email: "Ada@Example.com", Name: "Ada Lovelace", Phone: new("+44 20 7946 0000"), Invite: true}
		dry := in
		dry.DryRun = true
		if out, err := s.ImportCustomer(ctx, dry); err != nil || out.Outcome != "created" {
			t.Fatalf("dry run: %+v, %v", out, err)
		}
		var n int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM customers", &n); err != nil || n != 0 {
			t.Fatalf("the dry run made %d customers (%v)", n, err)
		}
		out, err := s.ImportCustomer(ctx, in)
		if err != nil || out.Outcome != "created" || out.Customer.Email != "ada@example.com" {
			t.Fatalf("import: %+v, %v", out, err)
		}
		// No password: no password signs in, not even the empty one.
		for _, pw := range []string{"", "correct horse battery"} {
			if _, err := s.Login(ctx, "ada@example.com", pw, ""); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("login to an imported account with %q: %v", pw, err)
			}
		}
		for _, again := range []identityapi.CustomerImport{in, dry} {
			if out, err := s.ImportCustomer(ctx, again); err != nil || out.Outcome != "unchanged" {
				t.Fatalf("second import: %+v, %v", out, err)
			}
		}
		var resets int
		if err := queryRow(ctx, db, "SELECT COUNT(*) FROM outbox WHERE subject = '"+identityapi.SubjectPasswordResetRequested+"'", &resets); err != nil || resets != 1 {
			t.Fatalf("%d reset events (%v), want 1: the invitation goes once", resets, err)
		}
		var data string
		if err := queryRow(ctx, db, "SELECT envelope FROM outbox WHERE subject = '"+identityapi.SubjectPasswordResetRequested+"'", &data); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmPasswordReset(ctx, identityapi.PasswordResetConfirm{Token: eventField(t, data, "token"), NewPassword: goodPW}); err != nil {
			t.Fatalf("set the password with the invitation: %v", err)
		}
		if _, err := s.Login(ctx, "ada@example.com", goodPW, ""); err != nil {
			t.Fatalf("login after setting the password: %v", err)
		}
		in.Name = "Ada King"
		if out, err := s.ImportCustomer(ctx, in); err != nil || out.Outcome != "updated" || out.Customer.Name != "Ada King" {
			t.Fatalf("changed import: %+v, %v", out, err)
		}
		if _, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "not an email", Name: "X"}); !errors.Is(err, ErrInvalidEmail) {
			t.Fatalf("bad email: %v", err)
		}
	}, Migrations...)
}

// TestCustomerListMasks: staff below manager see customers masked.
func TestCustomerListMasks(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		for _, e := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
			if _, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: e, Name: "Ada Lovelace", Phone: new("+44 20 7946 0000")}); err != nil {
				t.Fatal(err)
			}
		}
		l, err := s.Customers(ctx, "", 2, false)
		if err != nil || len(l.Items) != 2 || l.NextCursor == "" || !l.Masked {
			t.Fatalf("page 1: %+v, %v", l, err)
		}
		c := l.Items[0]
		if c.Email != "a***@example.com" || c.Name != "A** L*******" || c.Phone != "****00" {
			t.Errorf("masked: %+v", c)
		}
		l, err = s.Customers(ctx, l.NextCursor, 2, true)
		if err != nil || len(l.Items) != 1 || l.NextCursor != "" || l.Masked || l.Items[0].Email != "cy@example.com" {
			t.Fatalf("page 2: %+v, %v", l, err)
		}
		for p, want := range map[auth.Principal]bool{
			{Kind: auth.KindStaff, Role: auth.RoleOwner}: true, {Kind: auth.KindStaff, Role: auth.RoleManager}: true,
			{Kind: auth.KindAdmin}: true, {Kind: auth.KindStaff, Role: auth.RoleStaff}: false,
			{Kind: auth.KindStaff, Role: auth.RoleSupport}: false, {Kind: auth.KindAPIKey, Role: auth.RoleSecret}: false,
		} {
			if MaySeePersonalData(p) != want {
				t.Errorf("MaySeePersonalData(%+v) = %v", p, !want)
			}
		}
		if strings.Contains(maskEmail("x@y.z"), "x@") {
			t.Error("maskEmail keeps the local part")
		}
	}, Migrations...)
}

// TestExportAudit: an export is recorded with who ran it, newest first.
func TestExportAudit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, clk := newTestService(t, db)
		ctx := tctx(t, "default")
		if _, err := s.RecordExport(ctx, identityapi.ExportRecord{Kind: "orders", Rows: 1, Via: "cli"}); err == nil {
			t.Fatal("an export with nobody behind it was recorded")
		}
		staff := auth.WithPrincipal(ctx, auth.Principal{Tenant: "default", Subject: "s-1", Kind: auth.KindStaff, Role: auth.RoleSupport})
		for i, kind := range []string{"orders", "customers", "products"} {
			clk.add(time.Second)
			if _, err := s.RecordExport(staff, identityapi.ExportRecord{Kind: kind, Rows: int64(i), Masked: kind != "products", Via: "admin"}); err != nil {
				t.Fatal(err)
			}
		}
		l, err := s.Exports(ctx, "")
		if err != nil || len(l.Items) != 3 || l.NextCursor != "" {
			t.Fatalf("log: %+v, %v", l, err)
		}
		first := l.Items[0]
		if first.Kind != "products" || first.Rows != 2 || first.Masked || first.ActorID != "s-1" || first.ActorKind != "staff" ||
			first.ActorRole != "support" || first.Via != "admin" || l.Items[2].Kind != "orders" || !l.Items[2].Masked {
			t.Errorf("log: %+v", l.Items)
		}
		if other, err := s.Exports(tctx(t, "other"), ""); err != nil || len(other.Items) != 0 {
			t.Errorf("another store sees %d entries (%v)", len(other.Items), err)
		}
	}, Migrations...)
}

// TestGetCustomerMasks: one customer by ID follows the list's rule: masked
// unless the caller may see personal data (owner, manager, admin token).
func TestGetCustomerMasks(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		out, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "ada@example.com", Name: "Ada Lovelace", Phone: new("+44 20 7946 0000")})
		if err != nil {
			t.Fatal(err)
		}
		for p, unmasked := range map[auth.Principal]bool{
			{Tenant: "default", Subject: "o", Kind: auth.KindStaff, Role: auth.RoleOwner}:   true,
			{Tenant: "default", Subject: "m", Kind: auth.KindStaff, Role: auth.RoleManager}: true,
			{Tenant: "default", Subject: "admin", Kind: auth.KindAdmin}:                     true,
			{Tenant: "default", Subject: "s", Kind: auth.KindStaff, Role: auth.RoleStaff}:   false,
			{Tenant: "default", Subject: "h", Kind: auth.KindStaff, Role: auth.RoleSupport}: false,
			{Tenant: "default", Subject: "k", Kind: auth.KindAPIKey, Role: auth.RoleSecret}: false,
		} {
			got, err := s.getCustomerOp(auth.WithPrincipal(ctx, p), &idPath{ID: out.Customer.ID})
			if err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
			c := got.Body
			if unmasked && (c.Email != "ada@example.com" || c.Name != "Ada Lovelace" || c.Phone != "+44 20 7946 0000") {
				t.Errorf("%s/%s sees %+v, want it unmasked", p.Kind, p.Role, c)
			}
			if !unmasked && (c.Email != "a***@example.com" || c.Name != "A** L*******" || c.Phone != "****00") {
				t.Errorf("%s/%s sees %+v, want it masked", p.Kind, p.Role, c)
			}
		}
	}, Migrations...)
}

// TestImportCustomerKeepsPhone: an import without a phone (a file with no
// phone column) keeps the account's phone and is unchanged; an empty one
// clears it.
func TestImportCustomerKeepsPhone(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		if _, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "ada@example.com", Name: "Ada", Phone: new("+44 20 7946 0000")}); err != nil {
			t.Fatal(err)
		}
		for _, dry := range []bool{true, false} {
			out, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "ada@example.com", Name: "Ada", DryRun: dry})
			if err != nil || out.Outcome != "unchanged" || out.Customer.Phone != "+44 20 7946 0000" {
				t.Fatalf("no phone (dry run %v): %+v, %v", dry, out, err)
			}
		}
		out, err := s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "ada@example.com", Name: "Ada King"})
		if err != nil || out.Outcome != "updated" || out.Customer.Phone != "+44 20 7946 0000" || out.Customer.Name != "Ada King" {
			t.Fatalf("new name, no phone: %+v, %v", out, err)
		}
		out, err = s.ImportCustomer(ctx, identityapi.CustomerImport{Email: "ada@example.com", Name: "Ada King", Phone: new("")})
		if err != nil || out.Outcome != "updated" || out.Customer.Phone != "" {
			t.Fatalf("empty phone: %+v, %v", out, err)
		}
	}, Migrations...)
}

// TestFinishExport: an export recorded in progress is finished with its
// rows once, by the principal that started it only.
func TestFinishExport(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db)
		ctx := tctx(t, "default")
		staff := auth.WithPrincipal(ctx, auth.Principal{Tenant: "default", Subject: "s-1", Kind: auth.KindStaff, Role: auth.RoleSupport})
		other := auth.WithPrincipal(ctx, auth.Principal{Tenant: "default", Subject: "s-2", Kind: auth.KindStaff, Role: auth.RoleOwner})
		e, err := s.RecordExport(staff, identityapi.ExportRecord{Kind: "orders", Rows: 9, Masked: true, Via: "cli", InProgress: true})
		if err != nil || !e.InProgress || e.Rows != 0 {
			t.Fatalf("record in progress: %+v, %v", e, err)
		}
		l, err := s.Exports(ctx, "")
		if err != nil || len(l.Items) != 1 || !l.Items[0].InProgress {
			t.Fatalf("log while in progress: %+v, %v", l, err)
		}
		if _, err := s.FinishExport(other, e.ID, 5); !errors.Is(err, ErrExportNotFound) {
			t.Fatalf("another's finish: %v", err)
		}
		f, err := s.FinishExport(staff, e.ID, 5)
		if err != nil || f.InProgress || f.Rows != 5 || f.Kind != "orders" || f.ActorID != "s-1" {
			t.Fatalf("finish: %+v, %v", f, err)
		}
		if _, err := s.FinishExport(staff, e.ID, 7); !errors.Is(err, ErrExportNotFound) {
			t.Fatalf("second finish: %v", err)
		}
		if _, err := s.FinishExport(staff, "nope", 7); !errors.Is(err, ErrExportNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		l, err = s.Exports(ctx, "")
		if err != nil || len(l.Items) != 1 || l.Items[0].InProgress || l.Items[0].Rows != 5 {
			t.Fatalf("log after: %+v, %v", l, err)
		}
	}, Migrations...)
}
