package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// DeadLetter is a dead-lettered event as the admin API shows it.
type DeadLetter struct {
	ID       string          `json:"id" doc:"Event (message) ID."`
	Subject  string          `json:"subject" doc:"Event type."`
	Group    string          `json:"group" doc:"Consumer group that gave up on it."`
	Error    string          `json:"error" doc:"The last handler error."`
	Attempts int             `json:"attempts" doc:"Deliveries tried."`
	FailedAt time.Time       `json:"failed_at"`
	Event    json.RawMessage `json:"event,omitempty" doc:"The event as delivered, when it is JSON."`
	Raw      string          `json:"raw,omitempty" doc:"The payload as text, when it is not JSON."`
}

type deadLettersIn struct {
	Group string `query:"group" required:"true" minLength:"1" maxLength:"100" doc:"Consumer group, e.g. search-catalog."`
	Limit int    `query:"limit" minimum:"1" doc:"Page size: default 100; larger than the maximum (500) is capped."`
}

type deadLettersOut struct {
	Body struct {
		Items []DeadLetter `json:"items"`
	}
}

type replayIn struct {
	Body struct {
		Group string   `json:"group" minLength:"1" maxLength:"100"`
		IDs   []string `json:"ids,omitempty" maxItems:"500" doc:"Events to replay; all of the group's (of this store) when empty."`
	}
}

type replayOut struct {
	Body struct {
		Replayed int `json:"replayed"`
	}
}

// tenantOf tells which store a dead letter belongs to: the bus header set by
// the outbox relay, else the envelope's tenant field.
func tenantOf(d bus.DeadLetter) string {
	if t := d.Header["tenant"]; t != "" {
		return t
	}
	var e struct {
		Tenant string `json:"tenant"`
	}
	_ = json.Unmarshal(d.Data, &e)
	return e.Tenant
}

// deadLettersOf lists up to limit of group's dead letters that belong to ctx's tenant.
func deadLettersOf(ctx context.Context, b bus.Bus, group string, limit int) ([]bus.DeadLetter, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	all, err := b.DeadLetters(ctx, group, 10_000)
	if err != nil {
		return nil, err
	}
	var out []bus.DeadLetter
	for _, d := range all {
		if tenantOf(d) == tenant && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// groupRule is what a consumer group's name must be, for the API's users
// (bus.ValidateGroup's rule).
const groupRule = "must be letters, digits, '_' or '-', not empty"

// registerDeadLetters adds the admin endpoints that list and replay the
// dead-lettered events of a consumer group, limited to the caller's store;
// owners and managers only.
func registerDeadLetters(api *web.API, b bus.Bus) {
	api.Tag("operations", "Running the store's event flow: events a consumer gave up on (dead letters), "+
		"and delivering them again once the cause is fixed.")
	huma.Register(api, web.Roles(huma.Operation{
		OperationID: "list-dead-letters",
		Method:      http.MethodGet,
		Path:        "/api/v1/admin/dead-letters",
		Summary:     "List events a consumer group gave up on",
		Description: "The store's events that the consumer group (e.g. search-catalog) failed to handle after its " +
			"retries, oldest first, with the last error and the number of attempts. Other stores' events are " +
			"never shown.",
		Tags: []string{"operations"},
	}, auth.RoleOwner, auth.RoleManager), func(ctx context.Context, in *deadLettersIn) (*deadLettersOut, error) {
		if err := (bus.Subscription{Group: in.Group, Subjects: []string{">"}}).Validate(); err != nil {
			return nil, web.Error(http.StatusUnprocessableEntity, "validation_failed", "invalid group name", web.Field("query.group", groupRule, in.Group))
		}
		dls, err := deadLettersOf(ctx, b, in.Group, web.PageSize(in.Limit, 100, 500))
		if err != nil {
			return nil, err
		}
		out := &deadLettersOut{}
		out.Body.Items = make([]DeadLetter, 0, len(dls))
		for _, d := range dls {
			item := DeadLetter{ID: d.ID, Subject: d.Subject, Group: d.Group, Error: d.Error, Attempts: d.Attempts, FailedAt: d.FailedAt}
			if json.Valid(d.Data) {
				item.Event = d.Data
			} else {
				item.Raw = string(d.Data)
			}
			out.Body.Items = append(out.Body.Items, item)
		}
		return out, nil
	})

	huma.Register(api, web.Answers(web.Roles(huma.Operation{
		OperationID: "replay-dead-letters",
		Method:      http.MethodPost,
		Path:        "/api/v1/admin/dead-letters/replay",
		Summary:     "Deliver dead-lettered events to their consumer group again",
		Description: "Delivers the given dead letters of the store (by default all of the group's) to the " +
			"consumer group again, and answers how many were. Consumers handle each event once, so replaying " +
			"one that was handled meanwhile has no second effect.",
		Tags: []string{"operations"},
	}, auth.RoleOwner, auth.RoleManager), web.Answer{Status: http.StatusNotFound, Code: "dead_letter_not_found",
		When: "an ID is not a dead letter of this group and store"}), func(ctx context.Context, in *replayIn) (*replayOut, error) {
		if err := (bus.Subscription{Group: in.Body.Group, Subjects: []string{">"}}).Validate(); err != nil {
			return nil, web.Error(http.StatusUnprocessableEntity, "validation_failed", "invalid group name", web.Field("body.group", groupRule, in.Body.Group))
		}
		mine, err := deadLettersOf(ctx, b, in.Body.Group, 10_000)
		if err != nil {
			return nil, err
		}
		// Only this store's letters may be replayed from its admin API.
		allowed := make(map[string]bool, len(mine))
		for _, d := range mine {
			allowed[d.ID] = true
		}
		ids := in.Body.IDs
		if len(ids) == 0 {
			for id := range allowed {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			if !allowed[id] {
				return nil, web.Error(http.StatusNotFound, "dead_letter_not_found", "no dead letter "+id+" in this group for this store")
			}
		}
		out := &replayOut{}
		if len(ids) == 0 {
			return out, nil
		}
		n, err := b.Replay(ctx, in.Body.Group, ids...)
		if err != nil {
			return nil, err
		}
		out.Body.Replayed = n
		return out, nil
	})
}
