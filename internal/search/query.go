package search

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/search/searchapi"
)

// priceRanges are the price facet's buckets, in minor units (a currency
// of two decimals reads them as 10, 25, 50 and 100); the last has no top.
var priceRanges = []struct {
	min, max int64 // max 0: no bound
	label    string
}{
	{0, 1000, "under 10"}, {1000, 2500, "10 to 25"}, {2500, 5000, "25 to 50"}, {5000, 10000, "50 to 100"}, {10000, 0, "100 and above"},
}

// ratingFloors are the rating facet's buckets: at least this average.
var ratingFloors = []int64{4, 3, 2, 1}

// maxWords bounds the words of a query that are matched (the rest are
// ignored): each word costs a few term queries.
const maxWords = 10

// pageCursor is the keyset of a search page: the sort values of the last
// hit, as bleve's SearchAfter takes them, and the sort they belong to.
type pageCursor struct {
	Sort  string   `json:"s"`
	After []string `json:"a"`
}

// Search runs a query over the tenant's index.
func (s *Service) Search(ctx context.Context, in searchapi.Query) (searchapi.Results, error) {
	out := searchapi.Results{Items: []searchapi.Hit{}, Facets: emptyFacets()}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return out, err
	}
	if in.Sort == "" {
		in.Sort = searchapi.SortRelevance
	}
	var errs []kit.FieldError
	if in.PriceMax != 0 && in.PriceMax <= in.PriceMin {
		errs = append(errs, kit.FieldError{Field: "query.price_max", Message: "must be above price_min, or 0", Value: in.PriceMax})
	}
	var after []string
	if in.Cursor != "" {
		var c pageCursor
		if err := kit.DecodeCursor(in.Cursor, &c); err != nil || c.Sort != in.Sort || len(c.After) != len(sortOrder(in.Sort, in.Q)) {
			return out, kit.ErrInvalidCursor
		}
		after = c.After
	}
	if len(errs) > 0 {
		return out, kit.Invalid(ErrInvalid, errs...)
	}
	idx, err := s.idx.get(tenant, false)
	if err != nil {
		return out, err
	}
	if idx == nil {
		return out, nil // nothing indexed for this store yet
	}
	size := s.cfg.Paging.Size(in.Limit)
	req := bleve.NewSearchRequestOptions(s.buildQuery(idx, in), size+1, 0, false)
	req.SortBy(sortOrder(in.Sort, in.Q))
	if after != nil {
		req.SetSearchAfter(after)
	}
	req.Fields = []string{fieldHit}
	req.IncludeLocations = true
	addFacets(req)
	res, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return out, fmt.Errorf("search: %w", err)
	}
	out.Total = int64(res.Total)
	hits := res.Hits
	if len(hits) > size {
		hits = hits[:size]
		out.NextCursor = kit.EncodeCursor(pageCursor{Sort: in.Sort, After: hits[len(hits)-1].DecodedSort})
	}
	for _, h := range hits {
		hit, err := toHit(h)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, hit)
	}
	out.Facets = toFacets(res.Facets)
	return out, nil
}

// sortOrder is bleve's sort for a sort name, always ending in the product
// ID (fieldKey) so that a page's last hit is a keyset. Relevance without
// words is newest first: every hit scores the same.
func sortOrder(name, q string) []string {
	switch name {
	case searchapi.SortPrice:
		return []string{fieldPrice, fieldKey}
	case searchapi.SortPriceDesc:
		return []string{"-" + fieldPrice, fieldKey}
	case searchapi.SortNewest:
		return []string{"-" + fieldCreated, fieldKey}
	case searchapi.SortRating:
		return []string{"-" + fieldRating, "-_score", fieldKey}
	}
	if strings.TrimSpace(q) == "" {
		return []string{"-" + fieldCreated, fieldKey}
	}
	return []string{"-_score", fieldKey}
}

// buildQuery is the words' query and the filters, all required.
func (s *Service) buildQuery(idx bleve.Index, in searchapi.Query) query.Query {
	must := []query.Query{wordsQuery(idx, in.Q)}
	if in.Category != "" {
		// The facet's key is "id|name": match the ID's prefix.
		p := bleve.NewPrefixQuery(in.Category + "|")
		p.SetField(fieldCategoryKey)
		must = append(must, p)
	}
	if in.PriceMin > 0 || in.PriceMax > 0 {
		lo, incl := float64(in.PriceMin), true
		var hi *float64
		if in.PriceMax > 0 {
			v := float64(in.PriceMax)
			hi = &v
		}
		excl := false
		r := bleve.NewNumericRangeInclusiveQuery(&lo, hi, &incl, &excl)
		r.SetField(fieldPrice)
		must = append(must, r)
	}
	if in.InStock {
		t := bleve.NewTermQuery("yes")
		t.SetField(fieldInStock)
		must = append(must, t)
	}
	if in.Rating > 0 {
		lo, incl := float64(in.Rating), true
		r := bleve.NewNumericRangeInclusiveQuery(&lo, nil, &incl, nil)
		r.SetField(fieldRating)
		must = append(must, r)
	}
	if len(must) == 1 {
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// wordsQuery matches every word of q (whitespace-separated) somewhere:
// in the title (weighted most), the category, the description, or as a
// whole SKU. Each word matches stemmed ("mugs" finds "mug"), misspelt
// (fuzzy: one edit from 4 letters on, two from 8) and, for the last word,
// as the start of a title word (as the visitor types). No words: every
// product.
func wordsQuery(idx bleve.Index, q string) query.Query {
	chunks := strings.Fields(q)
	if len(chunks) == 0 {
		return bleve.NewMatchAllQuery()
	}
	if len(chunks) > maxWords {
		chunks = chunks[:maxWords]
	}
	words := idx.Mapping().AnalyzerNamed(wordsAnalyzer)
	stem := idx.Mapping().AnalyzerNamed(en.AnalyzerName)
	var all []query.Query
	for i, chunk := range chunks {
		last := i == len(chunks)-1
		lower := strings.ToLower(chunk)
		either := []query.Query{termQ(fieldSKU, lower, 6)}
		if last {
			either = append(either, prefixQ(fieldSKU, lower, 2))
		}
		var parts []query.Query
		toks := words.Analyze([]byte(chunk))
		for j, tok := range toks {
			w := string(tok.Term)
			var alt []query.Query
			if last && j == len(toks)-1 {
				alt = append(alt, prefixQ(fieldTitleWords, w, 1.5))
			}
			for _, st := range stem.Analyze(tok.Term) {
				term := string(st.Term)
				for _, f := range []struct {
					name  string
					boost float64
				}{{fieldTitle, 3}, {fieldCategory, 2}, {fieldDescription, 1}} {
					alt = append(alt, termQ(f.name, term, 2*f.boost))
					if fz := fuzziness(w); fz > 0 {
						fq := bleve.NewFuzzyQuery(term)
						fq.SetField(f.name)
						fq.SetFuzziness(fz)
						fq.SetBoost(f.boost)
						alt = append(alt, fq)
					}
				}
			}
			if len(alt) == 0 {
				continue // a stop word ("the"), not being typed
			}
			parts = append(parts, bleve.NewDisjunctionQuery(alt...))
		}
		if len(parts) == 1 {
			either = append(either, parts[0])
		} else if len(parts) > 1 {
			either = append(either, bleve.NewConjunctionQuery(parts...))
		}
		all = append(all, bleve.NewDisjunctionQuery(either...))
	}
	if len(all) == 1 {
		return all[0]
	}
	return bleve.NewConjunctionQuery(all...)
}

// fuzziness is the edits a word may be off by: none below 4 letters (too
// many short words are one letter apart), 1 below 8, then 2.
func fuzziness(w string) int {
	switch n := utf8.RuneCountInString(w); {
	case n < 4:
		return 0
	case n < 8:
		return 1
	default:
		return 2
	}
}

func termQ(field, term string, boost float64) query.Query {
	t := bleve.NewTermQuery(term)
	t.SetField(field)
	t.SetBoost(boost)
	return t
}

func prefixQ(field, prefix string, boost float64) query.Query {
	p := bleve.NewPrefixQuery(prefix)
	p.SetField(field)
	p.SetBoost(boost)
	return p
}

// addFacets asks for the four facets.
func addFacets(req *bleve.SearchRequest) {
	req.AddFacet("category", bleve.NewFacetRequest(fieldCategoryKey, 50))
	req.AddFacet("in_stock", bleve.NewFacetRequest(fieldInStock, 2))
	req.AddFacet("price", bleve.NewFacetRequest(fieldPriceBucket, len(priceRanges)))
	req.AddFacet("rating", bleve.NewFacetRequest(fieldRatingFloor, 6))
}

// priceBucket is the value of the price range an amount falls in.
func priceBucket(amount int64) string {
	for _, r := range priceRanges {
		if amount >= r.min && (r.max == 0 || amount < r.max) {
			return priceValue(r.min, r.max)
		}
	}
	return priceValue(priceRanges[0].min, priceRanges[0].max) // below the first: a negative price, which the catalog refuses
}

// priceValue is a price bucket's filter value, "min-max" ("min-" with no
// top).
func priceValue(lo, hi int64) string {
	if hi == 0 {
		return strconv.FormatInt(lo, 10) + "-"
	}
	return strconv.FormatInt(lo, 10) + "-" + strconv.FormatInt(hi, 10)
}

func emptyFacets() searchapi.Facets {
	return searchapi.Facets{Category: []searchapi.Bucket{}, Price: []searchapi.Bucket{}, InStock: []searchapi.Bucket{}, Rating: []searchapi.Bucket{}}
}

// toFacets turns bleve's facet results into buckets: categories by count
// (then name), price ranges and rating floors in their fixed order, each
// only when it counts something.
func toFacets(fr bsearch.FacetResults) searchapi.Facets {
	out := emptyFacets()
	if f := fr["category"]; f != nil {
		for _, t := range f.Terms.Terms() {
			id, name, _ := strings.Cut(t.Term, "|")
			out.Category = append(out.Category, searchapi.Bucket{Value: id, Label: name, Count: int64(t.Count)})
		}
		sort.SliceStable(out.Category, func(i, j int) bool {
			a, b := out.Category[i], out.Category[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			return a.Label < b.Label
		})
	}
	if f := fr["in_stock"]; f != nil {
		for _, t := range f.Terms.Terms() {
			if t.Term == "yes" {
				out.InStock = append(out.InStock, searchapi.Bucket{Value: "true", Label: "in stock", Count: int64(t.Count)})
			}
		}
	}
	if f := fr["price"]; f != nil {
		counts := map[string]int{}
		for _, t := range f.Terms.Terms() {
			counts[t.Term] = t.Count
		}
		for _, r := range priceRanges {
			if n := counts[priceValue(r.min, r.max)]; n > 0 {
				out.Price = append(out.Price, searchapi.Bucket{Value: priceValue(r.min, r.max), Label: r.label, Count: int64(n)})
			}
		}
	}
	if f := fr["rating"]; f != nil {
		// Each document counts under its whole stars; "n and up" adds the
		// counts from n to 5.
		counts := map[int64]int{}
		for _, t := range f.Terms.Terms() {
			if n, err := strconv.ParseInt(t.Term, 10, 64); err == nil {
				counts[n] = t.Count
			}
		}
		for _, floor := range ratingFloors {
			v := strconv.FormatInt(floor, 10)
			n := 0
			for stars := floor; stars <= 5; stars++ {
				n += counts[stars]
			}
			if n > 0 {
				label := v + " stars and up"
				if floor == 1 {
					label = "1 star and up"
				}
				out.Rating = append(out.Rating, searchapi.Bucket{Value: v, Label: label, Count: int64(n)})
			}
		}
	}
	return out
}

// toHit decodes a hit's stored document and cuts its highlights from the
// term locations bleve found.
func toHit(h *bsearch.DocumentMatch) (searchapi.Hit, error) {
	raw, _ := h.Fields[fieldHit].(string)
	var st storedHit
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return searchapi.Hit{}, fmt.Errorf("decode hit %s: %w", h.ID, err)
	}
	hit := st.Hit
	hit.TitleHighlight = fragments(hit.Title, spans(h.Locations, fieldTitle, fieldTitleWords), 0)
	hit.DescriptionHighlight = fragments(st.Description, spans(h.Locations, fieldDescription), descriptionPassage)
	return hit, nil
}

// descriptionPassage is about how many bytes of a description a hit shows.
const descriptionPassage = 200

// span is a matched byte range of a field's text.
type span struct{ start, end int }

// spans collects the matched ranges of the fields, sorted and merged.
func spans(locs bsearch.FieldTermLocationMap, fields ...string) []span {
	var out []span
	for _, f := range fields {
		for _, ls := range locs[f] {
			for _, l := range ls {
				out = append(out, span{int(l.Start), int(l.End)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	var merged []span
	for _, s := range out {
		if n := len(merged); n > 0 && s.start <= merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// fragments cuts text into plain and matched fragments. With a passage
// length, only about that many bytes are kept, from a word boundary before
// the first match (or the start), ending at a word boundary with "…".
func fragments(text string, matches []span, passage int) []searchapi.Fragment {
	from, to := 0, len(text)
	if passage > 0 && len(text) > passage {
		if len(matches) > 0 && matches[0].start > passage/2 {
			from = wordStart(text, matches[0].start-passage/4)
		}
		to = wordEnd(text, min(from+passage, len(text)))
	}
	out := []searchapi.Fragment{}
	pos := from
	if from > 0 {
		out = append(out, searchapi.Fragment{Text: "…"})
	}
	for _, m := range matches {
		if m.end <= from || m.start >= to || m.start < pos || m.end > len(text) {
			continue
		}
		if m.start > pos {
			out = appendText(out, text[pos:m.start])
		}
		out = append(out, searchapi.Fragment{Text: text[m.start:m.end], Match: true})
		pos = m.end
	}
	if pos < to {
		out = appendText(out, text[pos:to])
	}
	if to < len(text) {
		out = appendText(out, "…")
	}
	return out
}

// appendText adds plain text, joined to a plain fragment before it.
func appendText(out []searchapi.Fragment, s string) []searchapi.Fragment {
	if n := len(out); n > 0 && !out[n-1].Match {
		out[n-1].Text += s
		return out
	}
	return append(out, searchapi.Fragment{Text: s})
}

// wordStart moves i back to the start of its word (never inside a UTF-8
// sequence).
func wordStart(text string, i int) int {
	i = max(i, 0)
	for i > 0 && text[i-1] != ' ' && text[i-1] != '\n' {
		i--
	}
	return i
}

// wordEnd moves i forward to the end of its word.
func wordEnd(text string, i int) int {
	for i < len(text) && text[i] != ' ' && text[i] != '\n' {
		i++
	}
	return i
}

// Suggest returns up to limit products whose title words start as the
// query's words do: the words before the last whole (or one edit off), the
// last as a prefix. Best match first.
func (s *Service) Suggest(ctx context.Context, q string, limit int) (searchapi.Suggestions, error) {
	out := searchapi.Suggestions{Items: []searchapi.Suggestion{}}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return out, err
	}
	if strings.TrimSpace(q) == "" {
		return out, nil
	}
	idx, err := s.idx.get(tenant, false)
	if err != nil || idx == nil {
		return out, err
	}
	words := idx.Mapping().AnalyzerNamed(wordsAnalyzer).Analyze([]byte(q))
	if len(words) > maxWords {
		words = words[:maxWords]
	}
	var must []query.Query
	for i, w := range words {
		term := string(w.Term)
		if i == len(words)-1 {
			must = append(must, prefixQ(fieldTitleWords, term, 1))
			continue
		}
		alt := []query.Query{termQ(fieldTitleWords, term, 2)}
		if fz := fuzziness(term); fz > 0 {
			fq := bleve.NewFuzzyQuery(term)
			fq.SetField(fieldTitleWords)
			fq.SetFuzziness(fz)
			alt = append(alt, fq)
		}
		must = append(must, bleve.NewDisjunctionQuery(alt...))
	}
	if len(must) == 0 {
		return out, nil
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(must...), limit, 0, false)
	req.SortBy([]string{"-_score", fieldKey})
	req.Fields = []string{fieldHit}
	res, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return out, fmt.Errorf("suggest: %w", err)
	}
	for _, h := range res.Hits {
		hit, err := toHit(h)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, searchapi.Suggestion{ID: hit.ID, Slug: hit.Slug, Title: hit.Title})
	}
	return out, nil
}
