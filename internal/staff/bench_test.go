package staff

import (
	"fmt"
	"testing"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// BenchmarkCheckInOut measures the check-in path on SQLite: one check-in
// and one check-out per iteration by a staff member (each a transaction
// with its outbox event), serially and from parallel employees (the
// writes then share commits).
func BenchmarkCheckInOut(b *testing.B) {
	db := sqldbtest.Open(b, "", Migrations...)
	s, err := New(b.Context(), Config{}, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := tenantCtx(b, "default")
	const employees = 64
	for i := range employees {
		mustEmployee(b, s, ctx, fmt.Sprintf("E%d", i), fmt.Sprintf("acc-%d", i), auth.RoleStaff)
	}
	b.Run("serial", func(b *testing.B) {
		who := as(ctx, acct("acc-0"), auth.RoleStaff)
		for b.Loop() {
			if _, err := s.CheckIn(who, staffapi.CheckIn{Location: "door"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.CheckOut(who, staffapi.CheckIn{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		next := make(chan int, employees)
		for i := range employees {
			next <- i
		}
		b.RunParallel(func(pb *testing.PB) {
			who := as(ctx, fmt.Sprintf("acc-%d", <-next), auth.RoleStaff)
			for pb.Next() {
				if _, err := s.CheckIn(who, staffapi.CheckIn{}); err != nil {
					b.Error(err)
					return
				}
				if _, err := s.CheckOut(who, staffapi.CheckIn{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
