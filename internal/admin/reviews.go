package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// The Reviews section: the store's reviews by status (pending first), a
// review's page where staff approve, reject or hide it with a reason and
// reply to it, and whether reviews need approval. The roles are the
// review service's access table's (internal/review/http.go): everyone
// reads, support moderates nothing, owners and managers set moderation.
var (
	reviewModerators = []string{"owner", "manager", "staff"}
	reviewManagers   = []string{"owner", "manager"}
)

func (s *Service) reviewRoutes(route routeFunc) {
	route("GET /admin/reviews", s.reviews)
	route("POST /admin/reviews/settings", s.saveReviewSettings)
	route("GET /admin/reviews/{id}", s.review)
	route("POST /admin/reviews/{id}/{action}", s.moderateReview)
}

// reviewStatuses are the list's tabs, in order.
var reviewStatuses = []page.Option{
	{Value: "pending", Label: "Pending"},
	{Value: "published", Label: "Published"},
	{Value: "hidden", Label: "Hidden"},
	{Value: "rejected", Label: "Rejected"},
}

// reviewsPage is the data of the review list.
type reviewsPage struct {
	Status   string
	Statuses []page.Option
	Reviews  []reviewapi.Review
	Next     string
	// Titles are the reviewed products' titles, by product ID (none for a
	// product the catalog did not answer for).
	Titles map[string]string
	CanSet bool
	// Moderations are the settings form's choices.
	Moderations []page.Option
}

// Stars draws a rating as five stars.
func (reviewsPage) Stars(n int64) string { return reviewStars(n) }

func reviewStars(n int64) string {
	n = max(0, min(5, n))
	return strings.Repeat("★", int(n)) + strings.Repeat("☆", 5-int(n))
}

// moderationOptions are the choices of the settings form.
var moderationOptions = []page.Option{
	{Value: string(reviewapi.ModerationPublish), Label: "Publish reviews at once"},
	{Value: string(reviewapi.ModerationApprove), Label: "Publish reviews once staff approve them"},
}

// reviews lists the store's reviews of one status.
func (s *Service) reviews(w http.ResponseWriter, r *http.Request) {
	s.renderReviews(w, r, nil, http.StatusOK)
}

func (s *Service) renderReviews(w http.ResponseWriter, r *http.Request, form *page.Form, status int) {
	pf, ok := s.begin(w, r, "Reviews")
	if !ok {
		return
	}
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	st := q.Get("status")
	if st == "" {
		st = "pending"
	}
	known := false
	for _, o := range reviewStatuses {
		known = known || o.Value == st
	}
	if !known {
		s.kit.NotFound(w, r)
		return
	}
	l, err := s.deps.Reviews.AdminReviews(pf.ctx, reviewapi.Status(st), q.Get("cursor"), 0)
	if apiclient.IsCode(err, "invalid_cursor") {
		s.kit.Redirect(w, r, "/admin/reviews?status="+url.QueryEscape(st), "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := reviewsPage{Status: st, Statuses: reviewStatuses, Reviews: l.Items, Next: l.NextCursor,
		Titles: s.productTitles(pf.ctx, l.Items), CanSet: pf.view.Can(reviewManagers...), Moderations: moderationOptions}
	if form == nil {
		form = page.EmptyForm(nil)
		if d.CanSet {
			set, err := s.deps.Reviews.Settings(pf.ctx)
			if err != nil {
				s.kit.Fail(w, r, err)
				return
			}
			form.Values.Set("moderation", string(set.Moderation))
		}
	}
	pf.view.Form = form
	pf.view.Data = d
	s.kit.Render(w, r, status, "reviews", pf.view)
}

// productTitles reads the titles of the reviewed products, once each; a
// product the catalog does not answer for (archived and gone, the catalog
// down) shows by its SKU alone.
func (s *Service) productTitles(ctx context.Context, reviews []reviewapi.Review) map[string]string {
	titles := map[string]string{}
	for _, rv := range reviews {
		if _, seen := titles[rv.ProductID]; seen || s.deps.Catalog == nil {
			continue
		}
		titles[rv.ProductID] = ""
		p, err := s.deps.Catalog.AdminProduct(ctx, rv.ProductID)
		if err != nil {
			s.log.WarnContext(ctx, "read reviewed product", "product", rv.ProductID, "err", err)
			continue
		}
		titles[rv.ProductID] = p.Title
	}
	return titles
}

// saveReviewSettings sets whether reviews need approval.
func (s *Service) saveReviewSettings(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Reviews")
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return
	}
	if !pf.view.Can(reviewManagers...) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	_, err := s.deps.Reviews.PutSettings(pf.ctx, reviewapi.Settings{Moderation: reviewapi.Moderation(form.Get("moderation"))})
	if err == nil {
		s.kit.Redirect(w, r, "/admin/reviews", "Review settings saved.")
		return
	}
	if !form.Refused(err, nil) {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderReviews(w, r, form, http.StatusUnprocessableEntity)
}

// reviewPage is the data of one review's page.
type reviewPage struct {
	Review      reviewapi.Review
	CanModerate bool
}

// Stars draws a rating as five stars.
func (reviewPage) Stars(n int64) string { return reviewStars(n) }

// StatusLabel names the review's status.
func (p reviewPage) StatusLabel() string {
	for _, o := range reviewStatuses {
		if o.Value == string(p.Review.Status) {
			return o.Label
		}
	}
	return string(p.Review.Status)
}

// review shows one review with its moderation and reply forms.
func (s *Service) review(w http.ResponseWriter, r *http.Request) {
	s.renderReview(w, r, page.EmptyForm(nil), http.StatusOK)
}

func (s *Service) renderReview(w http.ResponseWriter, r *http.Request, form *page.Form, status int) {
	pf, ok := s.begin(w, r, "Review")
	if !ok {
		return
	}
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return
	}
	rv, err := s.deps.Reviews.AdminReview(pf.ctx, r.PathValue("id"))
	if apiclient.IsCode(err, "review_not_found") {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !form.Has("reply") {
		form.Values.Set("reply", rv.Reply)
	}
	pf.view.Title = "Review: " + rv.Title
	pf.view.Form = form
	pf.view.Data = reviewPage{Review: rv, CanModerate: pf.view.Can(reviewModerators...)}
	s.kit.Render(w, r, status, "review", pf.view)
}

// moderateReview approves, rejects or hides a review (with the reason
// typed) or saves the store's reply, then shows the review again.
func (s *Service) moderateReview(w http.ResponseWriter, r *http.Request) {
	pf, ok := s.begin(w, r, "Review")
	if !ok {
		return
	}
	form := page.ParseForm(w, r)
	if s.deps.Reviews == nil {
		s.kit.NotFound(w, r)
		return
	}
	if !pf.view.Can(reviewModerators...) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	id := r.PathValue("id")
	var (
		err   error
		flash string
	)
	switch r.PathValue("action") {
	case "approve":
		_, err = s.deps.Reviews.Approve(pf.ctx, id, "")
		flash = "The review is published."
	case "reject", "hide":
		reason := form.Get("reason")
		if reason == "" {
			form.Fail("reason", "Say why: the reason is kept and shown to the review's author.")
			s.renderReview(w, r, form, http.StatusUnprocessableEntity)
			return
		}
		if r.PathValue("action") == "reject" {
			_, err = s.deps.Reviews.Reject(pf.ctx, id, reason)
			flash = "The review is rejected."
		} else {
			_, err = s.deps.Reviews.Hide(pf.ctx, id, reason)
			flash = "The review is hidden."
		}
	case "reply":
		_, err = s.deps.Reviews.Reply(pf.ctx, id, form.Get("reply"))
		flash = "Your reply is saved."
		if form.Get("reply") == "" {
			flash = "Your reply is removed."
		}
	default:
		s.kit.NotFound(w, r)
		return
	}
	switch {
	case err == nil:
		s.kit.Redirect(w, r, "/admin/reviews/"+url.PathEscape(id), flash)
		return
	case apiclient.IsCode(err, "review_not_found"):
		s.kit.NotFound(w, r)
		return
	case !form.Refused(err, map[string]string{"reason": "reason", "body": "reply"}):
		s.kit.Fail(w, r, err)
		return
	}
	status := http.StatusUnprocessableEntity
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		status = ae.Status
	}
	s.renderReview(w, r, form, status)
}
