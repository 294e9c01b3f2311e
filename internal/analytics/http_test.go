package analytics

import (
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

func TestAccessTableIsDocumented(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	s := newTestService(t, db, time.Now())
	webtest.CheckDocumentedRoles(t, webtest.New(t, s.Routes).URL, access)
}
