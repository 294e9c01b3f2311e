package identityapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// StaffPath is the collection of staff accounts in the admin API; a staff
// account is at StaffPath/{id}.
const StaffPath = "/api/v1/admin/staff"

// Staff returns the staff account with id in the store in ctx, or
// ErrNotFound (also for another store's account). Other services check
// the staff account IDs they keep with it.
func (c *Client) Staff(ctx context.Context, id string) (Staff, error) {
	var out Staff
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: StaffPath + "/" + url.PathEscape(id), Out: &out})
	if err != nil {
		return Staff{}, mapError(err)
	}
	return out, nil
}
