package search

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// access is the search service's authorization table. Every operation is
// public (a store's shoppers search it, the store found from the host), so
// no operation is guarded by a role.
var access = map[string][]auth.Role{}

// problems is the service's error table; the kit adds 422 invalid_cursor
// and validation_failed.
var problems = kit.Problems{}

var (
	ansInvalidCursor = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this search returned (with the same sort)"}
)

// Routes registers the public search and suggestions.
func (s *Service) Routes(api *web.API) {
	api.Tag("search", "Full-text search over the store's active products, with typo tolerance, facets, sorts, "+
		"highlights and suggestions as the visitor types. Built from the catalog's, inventory's and reviews' "+
		"events: a change is searchable within a second.")
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"search"}
		return web.Public(op)
	}
	huma.Register(api, web.Answers(pub(huma.Operation{
		OperationID: "search-products", Method: http.MethodGet, Path: "/api/v1/search", Summary: "Search products",
		Description: "Finds the store's active products whose title, description, SKUs or category match every word " +
			"of q (a word one or two letters off still matches; the last word also matches as the start of a title " +
			"word). Facets count the products found per category, price range (minor units), stock and rating; " +
			"pass a bucket's value back as its filter. Highlights are fragments of text with the matched words " +
			"marked, never markup. Pass next_cursor back as cursor, with the same q, filters and sort, for the next page.",
	}), ansInvalidCursor), s.search)
	huma.Register(api, pub(huma.Operation{
		OperationID: "search-suggestions", Method: http.MethodGet, Path: "/api/v1/search/suggestions", Summary: "Suggest products as the visitor types",
		Description: "Up to limit (default 8, at most 10) active products whose title words start as the words of q do: " +
			"the words before the last whole (or a letter off), the last as a prefix.",
	}), s.suggest)
}

func (s *Service) search(ctx context.Context, in *searchapi.Query) (*struct{ Body searchapi.Results }, error) {
	res, err := s.Search(ctx, *in)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body searchapi.Results }{Body: res}, nil
}

func (s *Service) suggest(ctx context.Context, in *struct {
	Q     string `query:"q" maxLength:"100" doc:"What the visitor typed so far."`
	Limit int    `query:"limit" doc:"How many suggestions; default 8, at most 10 (a larger limit is capped)."`
}) (*struct{ Body searchapi.Suggestions }, error) {
	res, err := s.Suggest(ctx, in.Q, web.PageSize(in.Limit, 8, searchapi.MaxSuggestions))
	if err != nil {
		return nil, problems.Map(err)
	}
	return &struct{ Body searchapi.Suggestions }{Body: res}, nil
}
