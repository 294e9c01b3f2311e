package staff

import (
	"context"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

// SeedDemo gives the demo store (the tenant in ctx) a small team, a day of
// shifts starting tomorrow, and a welcome announcement, through the same
// operations as the API. Employees are left unlinked: the identity
// service's staff accounts link them. It does nothing when the store has
// employees already, and returns how many items it created.
func (s *Service) SeedDemo(ctx context.Context) (int, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return 0, err
	}
	have, err := s.Employees(ctx, EmployeeQuery{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("seed demo: %w", err)
	}
	if len(have.Items) > 0 {
		return 0, nil
	}
	team := []staffapi.EmployeeCreate{
		{Name: "Ada Owner", Email: "ada@example.com", Role: auth.RoleOwner},
		{Name: "Max Manager", Email: "max@example.com", Role: auth.RoleManager},
		{Name: "Sam Barista", Email: "sam@example.com", Role: auth.RoleStaff},
		{Name: "Kim Support", Email: "kim@example.com", Role: auth.RoleSupport},
	}
	n := 0
	day := s.now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for i, in := range team {
		e, err := s.CreateEmployee(ctx, in)
		if err != nil {
			return n, fmt.Errorf("seed demo employee %s: %w", in.Name, err)
		}
		n++
		start := day.Add(time.Duration(8+i%2*6) * time.Hour)
		if _, err := s.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: e.ID, StartsAt: start, EndsAt: start.Add(8 * time.Hour)}); err != nil {
			return n, fmt.Errorf("seed demo shift: %w", err)
		}
		n++
	}
	if _, err := s.PublishAnnouncement(ctx, staffapi.AnnouncementCreate{
		Title: "Welcome to Mercato", Body: "Check in with your staff account when your shift starts.", Audience: staffapi.AudienceAll,
	}); err != nil {
		return n, fmt.Errorf("seed demo announcement: %w", err)
	}
	s.log.InfoContext(ctx, "demo staff seeded", "tenant", tenant, "items", n+1)
	return n + 1, nil
}
