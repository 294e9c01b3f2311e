package storefront

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// Reviews on the storefront: a product page shows the product's rating
// (stars as text and a histogram) and its published reviews with the
// store's replies; product cards show the average and count, read for a
// whole grid at once; a delivered order's page offers "Review this item"
// per line, a form of its own (reviewRoutes). Without the review service
// (Deps.Reviews nil, or it fails) the pages show no reviews and sell on.

// productReviewCount is how many reviews a product page shows.
const productReviewCount = 10

// reviewRoutes: the review form of an order line (to write, edit or delete
// the buyer's review) and the pages of a product's reviews.
func (s *Service) reviewRoutes(route routeFunc) {
	route("GET /orders/{id}/review", s.reviewForm)
	route("POST /orders/{id}/review", s.createReview)
	route("POST /orders/{id}/review/delete", s.deleteReview)
	route("GET /p/{slug}/reviews", s.kit.Shared(s.allReviews))
}

// reviewsPageSize is how many reviews a page of a product's reviews lists.
const reviewsPageSize = 20

// allReviewsData is the page of a product's reviews.
type allReviewsData struct {
	Product    catalogapi.Product
	Rating     *ratingView
	Reviews    []reviewView
	NextCursor string
}

// allReviews lists an active product's published reviews, a page at a
// time, newest first.
func (s *Service) allReviews(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return
	}
	p, err := s.deps.Catalog.Product(ctx, r.PathValue("slug"))
	if errors.Is(err, catalogapi.ErrNotFound) || err == nil && p.Status != catalogapi.StatusActive {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	l, err := s.deps.Reviews.ProductReviews(ctx, p.ID, r.URL.Query().Get("cursor"), reviewsPageSize)
	if apiclient.IsCode(err, "invalid_cursor") {
		s.kit.Redirect(w, r, "/p/"+url.PathEscape(p.Slug)+"/reviews", "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v := s.view(r, "Reviews of "+p.Title)
	d := allReviewsData{Product: p, NextCursor: l.NextCursor}
	if rl, err := s.deps.Reviews.Ratings(ctx, []string{p.ID}); err == nil && len(rl.Items) == 1 && rl.Items[0].Count > 0 {
		d.Rating = newRatingView(rl.Items[0], v.Lang())
	}
	for _, rv := range l.Items {
		d.Reviews = append(d.Reviews, reviewView{Review: rv, Stars: stars(rv.Rating)})
	}
	v.Data = d
	s.kit.Render(w, r, http.StatusOK, "reviews", v)
}

// ratingView is a product's rating as pages show it.
type ratingView struct {
	reviewapi.Rating
	// Average is the mean in the store's locale, one decimal ("4.3").
	Average string
	Bars    []ratingBar
}

// ratingBar is one row of the histogram: how many gave Stars.
type ratingBar struct {
	Stars        int
	Count, Total int64
}

// Stars is the average as five stars, rounded to whole stars: "★★★★☆".
func (r ratingView) Stars() string { return stars(int64(r.Rating.Average + 0.5)) }

// stars draws n of five stars.
func stars(n int64) string {
	n = max(0, min(5, n))
	return strings.Repeat("★", int(n)) + strings.Repeat("☆", 5-int(n))
}

// newRatingView prepares r for the page of locale lang.
func newRatingView(r reviewapi.Rating, lang string) *ratingView {
	p := message.NewPrinter(language.Make(lang))
	// Rounded half up here: the printer would round half to even (4.25 → 4.2).
	avg := math.Round(r.Average*10) / 10
	v := &ratingView{Rating: r, Average: p.Sprint(number.Decimal(avg, number.MaxFractionDigits(1), number.MinFractionDigits(1)))}
	for i := 4; i >= 0; i-- {
		v.Bars = append(v.Bars, ratingBar{Stars: i + 1, Count: r.Histogram[i], Total: r.Count})
	}
	return v
}

// reviewView is a published review as the product page shows it.
type reviewView struct {
	reviewapi.Review
	Stars string
}

// productReviews is the reviews part of a product page.
type productReviews struct {
	Rating  *ratingView
	Reviews []reviewView
	More    bool
}

// productReviews reads a product's rating and latest reviews; nil when
// the review service is not there or fails (logged).
func (s *Service) productReviews(ctx context.Context, productID, lang string) *productReviews {
	if s.deps.Reviews == nil {
		return nil
	}
	rl, err := s.deps.Reviews.Ratings(ctx, []string{productID})
	if err != nil || len(rl.Items) != 1 {
		s.log.WarnContext(ctx, "read rating", "product", productID, "err", err)
		return nil
	}
	out := &productReviews{Rating: newRatingView(rl.Items[0], lang)}
	if rl.Items[0].Count == 0 {
		return out
	}
	l, err := s.deps.Reviews.ProductReviews(ctx, productID, "", productReviewCount)
	if err != nil {
		s.log.WarnContext(ctx, "read reviews", "product", productID, "err", err)
		return out
	}
	for _, r := range l.Items {
		out.Reviews = append(out.Reviews, reviewView{Review: r, Stars: stars(r.Rating)})
	}
	out.More = l.NextCursor != ""
	return out
}

// rate sets the ratings of a grid's cards, read at once; the cards show
// none when the review service is not there or fails (logged).
func (s *Service) rate(ctx context.Context, cards []productCard, lang string) {
	if s.deps.Reviews == nil || len(cards) == 0 {
		return
	}
	ids := make([]string, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	rl, err := s.deps.Reviews.Ratings(ctx, ids)
	if err != nil || len(rl.Items) != len(cards) {
		s.log.WarnContext(ctx, "read ratings", "products", len(ids), "err", err)
		return
	}
	for i, r := range rl.Items {
		if r.Count > 0 {
			cards[i].Rating = newRatingView(r, lang)
		}
	}
}

// lineReview is a line of a delivered order as its page offers it for
// review: its review if written, else a link to the form.
type lineReview struct {
	SKU    string
	Review *reviewapi.Review
	Stars  string
	Status string
}

// orderReviews reads the lines of a delivered order the buyer reviewed or
// may review now (as the review service says: it learns of the delivery
// from the order's events), by SKU; nil when there is nothing to offer
// (not delivered, no review service, or it fails: logged).
func (s *Service) orderReviews(ctx context.Context, o orderapi.Order, token string) map[string]lineReview {
	if s.deps.Reviews == nil || o.Status != orderapi.StatusDelivered {
		return nil
	}
	l, err := s.deps.Reviews.OrderReviews(ctx, o.ID, token)
	if err != nil {
		s.log.WarnContext(ctx, "read order reviews", "order_id", o.ID, "err", err)
		return nil
	}
	out := map[string]lineReview{}
	for _, sku := range l.Reviewable {
		out[sku] = lineReview{SKU: sku}
	}
	for _, r := range l.Items {
		out[r.SKU] = lineReview{SKU: r.SKU, Review: &r, Stars: stars(r.Rating), Status: reviewStatusLabel(r.Status)}
	}
	return out
}

// reviewStatusLabel says where a buyer's review is.
func reviewStatusLabel(st reviewapi.Status) string {
	switch st {
	case reviewapi.StatusPending:
		return "Awaiting approval"
	case reviewapi.StatusPublished:
		return "Published"
	case reviewapi.StatusRejected:
		return "Not published"
	case reviewapi.StatusHidden:
		return "Hidden by the store"
	}
	return string(st)
}

// ratingOptions are the form's choice of stars.
var ratingOptions = []page.Option{
	{Value: "", Label: "Choose a rating"},
	{Value: "5", Label: "★★★★★ 5 – excellent"},
	{Value: "4", Label: "★★★★☆ 4 – good"},
	{Value: "3", Label: "★★★☆☆ 3 – fair"},
	{Value: "2", Label: "★★☆☆☆ 2 – poor"},
	{Value: "1", Label: "★☆☆☆☆ 1 – bad"},
}

// reviewData is the review form's page: a new review of the line, or the
// buyer's review of it to edit (Review set).
type reviewData struct {
	Order   orderView
	Line    orderapi.Line
	Token   string
	Ratings []page.Option
	Review  *reviewapi.Review
	Status  string
}

// reviewLine loads the order and the line of the review form's request,
// for its buyer: ok false when the answer was written (not found, not
// reviewable: back to the order's page with why).
func (s *Service) reviewLine(ctx context.Context, w http.ResponseWriter, r *http.Request, token, sku string) (orderapi.Order, orderapi.Line, bool) {
	id := r.PathValue("id")
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return orderapi.Order{}, orderapi.Line{}, false
	}
	o, ok := s.buyersOrder(ctx, w, r, token)
	if !ok {
		return orderapi.Order{}, orderapi.Line{}, false
	}
	for _, l := range o.Lines {
		if l.SKU == sku {
			if o.Status != orderapi.StatusDelivered {
				s.kit.Redirect(w, r, orderURL(id, token), "You can review this item once it has been delivered.")
				return orderapi.Order{}, orderapi.Line{}, false
			}
			return o, l, true
		}
	}
	s.kit.NotFound(w, r)
	return orderapi.Order{}, orderapi.Line{}, false
}

// lineReviewOf is the buyer's review of a line of order o, nil when none.
func (s *Service) lineReviewOf(ctx context.Context, o orderapi.Order, token, sku string) (*reviewapi.Review, error) {
	l, err := s.deps.Reviews.OrderReviews(ctx, o.ID, token)
	if err != nil {
		return nil, err
	}
	for _, rv := range l.Items {
		if rv.SKU == sku {
			return &rv, nil
		}
	}
	return nil, nil
}

// reviewForm shows the form reviewing one line of a delivered order
// (?sku=, and the guest's ?token=), filled with the buyer's review of it
// when there is one, to edit or delete.
func (s *Service) reviewForm(w http.ResponseWriter, r *http.Request) {
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	token := q.Get("token")
	o, line, ok := s.reviewLine(ctx, w, r, token, q.Get("sku"))
	if !ok {
		return
	}
	mine, err := s.lineReviewOf(ctx, o, token, line.SKU)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v := s.view(r, "Review "+line.Title)
	v.Form = page.EmptyForm(nil)
	if mine != nil {
		v.Form = page.EmptyForm(url.Values{"rating": {strconv.FormatInt(mine.Rating, 10)}, "title": {mine.Title},
			"body": {mine.Body}, "author_name": {mine.AuthorName}})
	}
	s.renderReview(w, r, v, o, line, token, mine, http.StatusOK)
}

// createReview sends the review form: a new review, or an edit of the
// buyer's (review_id). A refusal comes back to the form with what was
// typed and the fields marked; the form's Idempotency-Key makes a double
// click one review.
func (s *Service) createReview(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	token := form.Get("token")
	o, line, ok := s.reviewLine(ctx, w, r, token, form.Get("sku"))
	if !ok {
		return
	}
	var mine *reviewapi.Review
	reviewID := form.Get("review_id")
	if reviewID != "" {
		if mine, err = s.lineReviewOf(ctx, o, token, line.SKU); err != nil {
			s.kit.Fail(w, r, err)
			return
		}
		if mine == nil || mine.ID != reviewID {
			s.kit.Redirect(w, r, orderURL(o.ID, token), "That review is no longer there.")
			return
		}
	}
	in := reviewapi.ReviewCreate{OrderID: o.ID, SKU: line.SKU, Title: form.Get("title"), Body: form.Get("body"),
		AuthorName: form.Get("author_name")}
	if n, err := strconv.ParseInt(form.Get("rating"), 10, 64); err != nil || n < 1 || n > 5 {
		form.Fail("rating", "Choose a rating from 1 to 5 stars.")
	} else {
		in.Rating = n
	}
	if in.Title == "" {
		form.Fail("title", "Give your review a title.")
	}
	status := http.StatusUnprocessableEntity
	if !form.Invalid() {
		var rv reviewapi.Review
		flash := "Thank you for your review."
		if mine == nil {
			rv, err = s.deps.Reviews.Create(ctx, token, in, form.Key())
		} else {
			up := reviewapi.ReviewUpdate{Rating: &in.Rating, Title: &in.Title, Body: &in.Body}
			if in.AuthorName != "" {
				up.AuthorName = &in.AuthorName
			}
			rv, err = s.deps.Reviews.Update(ctx, token, mine.ID, up, form.Key())
			flash = "Your review is updated."
		}
		switch {
		case err == nil:
			if rv.Status == reviewapi.StatusPending {
				flash += " It will appear once the store has approved it."
			}
			s.kit.Redirect(w, r, orderURL(o.ID, token), flash)
			return
		case apiclient.IsCode(err, "already_reviewed"):
			s.kit.Redirect(w, r, orderURL(o.ID, token), "You have reviewed this item already.")
			return
		case apiclient.IsCode(err, "review_not_found"):
			s.kit.Redirect(w, r, orderURL(o.ID, token), "That review is no longer there.")
			return
		case apiclient.IsCode(err, "rate_limited"):
			form.Message = "You have written many reviews in a short time. Please try again later."
		case !form.Refused(err, map[string]string{"rating": "rating", "title": "title", "body": "body", "author_name": "author_name"}):
			s.kit.Fail(w, r, err)
			return
		}
		var ae *apiclient.Error
		if errors.As(err, &ae) {
			status = ae.Status
		}
	}
	v := s.view(r, "Review "+line.Title)
	v.Form = form
	s.renderReview(w, r, v, o, line, token, mine, status)
}

// deleteReview deletes the buyer's review of a line (review_id); one
// already gone is done too.
func (s *Service) deleteReview(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	token := form.Get("token")
	o, _, ok := s.reviewLine(ctx, w, r, token, form.Get("sku"))
	if !ok {
		return
	}
	err = s.deps.Reviews.Delete(ctx, token, form.Get("review_id"))
	if err != nil && !apiclient.IsCode(err, "review_not_found") {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, orderURL(o.ID, token), "Your review is deleted.")
}

func (s *Service) renderReview(w http.ResponseWriter, r *http.Request, v *page.View, o orderapi.Order, line orderapi.Line, token string, mine *reviewapi.Review, status int) {
	d := reviewData{Order: newOrderView(o), Line: line, Token: token, Ratings: ratingOptions, Review: mine}
	if mine != nil {
		d.Status = reviewStatusLabel(mine.Status)
	}
	v.Data = d
	s.kit.Render(w, r, status, "review", v)
}
