package review

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/review/reviewdb"
)

// Buyer is who asks to write, change or read their reviews: a signed-in
// customer (CustomerID, from their access token) or a guest with the order
// token from checkout (OrderToken). Either proves an order is theirs; a
// Buyer with neither proves nothing, and is answered as anyone who did not
// buy (ErrNotBuyer, ErrNotFound, nothing to list): the platform's 401 is
// for credentials that fail, not for a buyer's proof missing.
type Buyer struct {
	CustomerID string
	OrderToken string
}

// owns reports whether b bought order p: it is the customer's, or the token
// hashes to the order's token hash (compared in constant time).
func (b Buyer) owns(p reviewdb.Purchase) bool {
	if b.CustomerID != "" && p.CustomerID == b.CustomerID {
		return true
	}
	if b.OrderToken == "" || p.TokenHash == "" {
		return false
	}
	sum := sha256.Sum256([]byte(b.OrderToken))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(p.TokenHash)) == 1
}

// author is the key b's writes are counted under for the rate limit: the
// customer account, or the guest's order.
func (b Buyer) author(orderID string) string {
	if b.CustomerID != "" {
		return "customer:" + b.CustomerID
	}
	return "order:" + orderID
}

// Create writes b's review of one line of a delivered order. The review is
// published at once or pending, as the store's moderation says; a published
// one updates the product's rating in the same transaction.
func (s *Service) Create(ctx context.Context, b Buyer, in reviewapi.ReviewCreate) (reviewapi.Review, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Review{}, err
	}
	in.Title, in.AuthorName = strings.TrimSpace(in.Title), strings.TrimSpace(in.AuthorName)
	if err := s.checkContent(in.Rating, in.Title, in.Body, in.AuthorName, false); err != nil {
		return reviewapi.Review{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out reviewdb.Review
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries) error {
		p, err := q.GetPurchase(ctx, reviewdb.GetPurchaseParams{TenantID: tenant, OrderID: in.OrderID})
		if errors.Is(err, sql.ErrNoRows) || err == nil && !b.owns(p) {
			return ErrNotBuyer
		}
		if err != nil {
			return fmt.Errorf("load purchase %s: %w", in.OrderID, err)
		}
		line, err := q.GetPurchaseLine(ctx, reviewdb.GetPurchaseLineParams{TenantID: tenant, OrderID: in.OrderID, Sku: in.SKU})
		if errors.Is(err, sql.ErrNoRows) {
			return &kit.ValidationError{Err: ErrNotBuyer, Fields: []kit.FieldError{{Field: "sku", Message: "the order has no line with this SKU", Value: in.SKU}}}
		}
		if err != nil {
			return fmt.Errorf("load line %s of purchase %s: %w", in.SKU, in.OrderID, err)
		}
		if p.Status != "delivered" {
			return ErrNotDelivered
		}
		if err := s.countWrite(ctx, q, tenant, b.author(in.OrderID), now); err != nil {
			return err
		}
		status, err := s.newStatus(ctx, q, tenant, "")
		if err != nil {
			return err
		}
		out = reviewdb.Review{TenantID: tenant, ID: kit.NewID(), ProductID: line.ProductID, OrderID: in.OrderID, Sku: in.SKU,
			CustomerID: b.CustomerID, AuthorName: in.AuthorName, Rating: in.Rating, Title: in.Title, Body: in.Body,
			Status: string(status), CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)}
		if out.AuthorName == "" {
			out.AuthorName = shownName(p.BuyerName)
		}
		if status == reviewapi.StatusPublished {
			out.PublishedAt = sqldb.NullMicros(&now)
		}
		err = q.InsertReview(ctx, reviewdb.InsertReviewParams{TenantID: tenant, ID: out.ID, ProductID: out.ProductID,
			OrderID: out.OrderID, Sku: out.Sku, CustomerID: out.CustomerID, AuthorName: out.AuthorName, Rating: out.Rating,
			Title: out.Title, Body: out.Body, Status: out.Status, PublishedAt: out.PublishedAt,
			CreatedAt: out.CreatedAt, UpdatedAt: out.UpdatedAt})
		if sqldb.IsUniqueViolation(err) {
			return ErrAlreadyReviewed
		}
		if err != nil {
			return fmt.Errorf("insert review: %w", err)
		}
		return s.announce(ctx, tx, q, reviewdb.Review{}, out, now)
	})
	if err != nil {
		return reviewapi.Review{}, err
	}
	return ownView(out), nil
}

// Update changes b's own review. An edit goes through moderation again: it
// is pending in a store that approves reviews, and also when staff had
// rejected or hidden the review; otherwise it stays (or becomes) published.
func (s *Service) Update(ctx context.Context, b Buyer, id string, in reviewapi.ReviewUpdate) (reviewapi.Review, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Review{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out reviewdb.Review
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries) error {
		prev, err := s.ownReview(ctx, q, tenant, b, id)
		if err != nil {
			return err
		}
		next := prev
		if in.Rating != nil {
			next.Rating = *in.Rating
		}
		if in.Title != nil {
			next.Title = strings.TrimSpace(*in.Title)
		}
		if in.Body != nil {
			next.Body = *in.Body
		}
		if in.AuthorName != nil {
			next.AuthorName = strings.TrimSpace(*in.AuthorName)
		}
		if err := s.checkContent(next.Rating, next.Title, next.Body, next.AuthorName, true); err != nil {
			return err
		}
		if err := s.countWrite(ctx, q, tenant, b.author(prev.OrderID), now); err != nil {
			return err
		}
		status, err := s.newStatus(ctx, q, tenant, reviewapi.Status(prev.Status))
		if err != nil {
			return err
		}
		next.Status = string(status)
		next.UpdatedAt = sqldb.Micros(now)
		if status == reviewapi.StatusPublished {
			next.PublishedAt = sqldb.NullMicros(&now)
		}
		if err := writeReview(ctx, q, next); err != nil {
			return err
		}
		out = next
		return s.announce(ctx, tx, q, prev, next, now)
	})
	if err != nil {
		return reviewapi.Review{}, err
	}
	return ownView(out), nil
}

// Delete removes b's own review (and its place in the product's rating).
// The order line may then be reviewed again.
func (s *Service) Delete(ctx context.Context, b Buyer, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	return s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries) error {
		prev, err := s.ownReview(ctx, q, tenant, b, id)
		if err != nil {
			return err
		}
		if err := q.DeleteReview(ctx, reviewdb.DeleteReviewParams{TenantID: tenant, ID: id}); err != nil {
			return fmt.Errorf("delete review %s: %w", id, err)
		}
		gone := prev
		gone.Status = "" // in no set
		return s.announce(ctx, tx, q, prev, gone, now)
	})
}

// OrderReviews lists b's reviews of an order (which lines are reviewed,
// with what status and the reason staff gave) and the lines b may review
// now. An order that is not b's, or that the service has not heard of
// yet, has neither: the answer tells nobody whether it exists.
func (s *Service) OrderReviews(ctx context.Context, b Buyer, orderID string) (reviewapi.OrderReviews, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.OrderReviews{}, err
	}
	out := reviewapi.OrderReviews{Items: []reviewapi.Review{}, Reviewable: []string{}}
	err = s.store.Read(ctx, func(q *reviewdb.Queries) error {
		p, err := q.GetPurchase(ctx, reviewdb.GetPurchaseParams{TenantID: tenant, OrderID: orderID})
		if errors.Is(err, sql.ErrNoRows) || err == nil && !b.owns(p) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load purchase %s: %w", orderID, err)
		}
		rows, err := q.ListOrderReviews(ctx, reviewdb.ListOrderReviewsParams{TenantID: tenant, OrderID: orderID})
		if err != nil {
			return fmt.Errorf("list reviews of order %s: %w", orderID, err)
		}
		reviewed := map[string]bool{}
		for _, r := range rows {
			out.Items = append(out.Items, ownView(r))
			reviewed[r.Sku] = true
		}
		if p.Status != "delivered" {
			return nil
		}
		lines, err := q.ListPurchaseLines(ctx, reviewdb.ListPurchaseLinesParams{TenantID: tenant, OrderID: orderID})
		if err != nil {
			return fmt.Errorf("list lines of order %s: %w", orderID, err)
		}
		for _, l := range lines {
			if !reviewed[l.Sku] {
				out.Reviewable = append(out.Reviewable, l.Sku)
			}
		}
		return nil
	})
	if err != nil {
		return reviewapi.OrderReviews{}, err
	}
	return out, nil
}

// ownReview loads review id for a change by b, locked: ErrNotFound when
// there is none or it is not b's (no oracle of other buyers' reviews).
func (s *Service) ownReview(ctx context.Context, q *reviewdb.Queries, tenant string, b Buyer, id string) (reviewdb.Review, error) {
	r, err := q.LockReview(ctx, reviewdb.LockReviewParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return reviewdb.Review{}, ErrNotFound
	}
	if err != nil {
		return reviewdb.Review{}, fmt.Errorf("load review %s: %w", id, err)
	}
	if b.CustomerID != "" && r.CustomerID == b.CustomerID {
		return r, nil
	}
	p, err := q.GetPurchase(ctx, reviewdb.GetPurchaseParams{TenantID: tenant, OrderID: r.OrderID})
	if errors.Is(err, sql.ErrNoRows) || err == nil && !b.owns(p) {
		return reviewdb.Review{}, ErrNotFound
	}
	if err != nil {
		return reviewdb.Review{}, fmt.Errorf("load purchase %s: %w", r.OrderID, err)
	}
	return r, nil
}

// checkContent refuses a review's fields field by field. The title, body
// and name are plain text: HTML is kept as typed (pages escape it).
func (s *Service) checkContent(rating int64, title, body, name string, nameRequired bool) error {
	var fields []kit.FieldError
	if rating < 1 || rating > 5 {
		fields = append(fields, kit.FieldError{Field: "rating", Message: "must be an integer from 1 to 5", Value: rating})
	}
	if err := text.Line(title, reviewapi.MaxTitle, true); err != nil {
		fields = append(fields, kit.FieldError{Field: "title", Message: err.Error(), Value: title})
	}
	if err := text.Lines(body, s.cfg.MaxBody, false); err != nil {
		fields = append(fields, kit.FieldError{Field: "body", Message: err.Error()})
	}
	if err := text.Line(name, reviewapi.MaxAuthorName, nameRequired); err != nil {
		fields = append(fields, kit.FieldError{Field: "author_name", Message: err.Error(), Value: name})
	}
	return kit.Invalid(ErrInvalid, fields...)
}

// countWrite records one write of author, or refuses it with
// ErrRateLimited when the author wrote WriteLimit times in the window.
// Writes older than the window are dropped as the author writes again.
// The author's row is locked first, so two writes of one author at once
// are counted one after the other and the limit holds under concurrency.
func (s *Service) countWrite(ctx context.Context, q *reviewdb.Queries, tenant, author string, now time.Time) error {
	if err := q.LockAuthor(ctx, reviewdb.LockAuthorParams{TenantID: tenant, Author: author, At: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("lock review author: %w", err)
	}
	since := sqldb.Micros(now.Add(-s.cfg.WriteWindow))
	if err := q.PruneWrites(ctx, reviewdb.PruneWritesParams{TenantID: tenant, Author: author, Since: since}); err != nil {
		return fmt.Errorf("prune review writes: %w", err)
	}
	n, err := q.CountWrites(ctx, reviewdb.CountWritesParams{TenantID: tenant, Author: author, Since: since})
	if err != nil {
		return fmt.Errorf("count review writes: %w", err)
	}
	if n >= int64(s.cfg.WriteLimit) {
		oldest, err := q.OldestWrite(ctx, reviewdb.OldestWriteParams{TenantID: tenant, Author: author, Since: since})
		if err != nil {
			return fmt.Errorf("read review writes: %w", err)
		}
		// The next write is allowed once the oldest in the window leaves it.
		return &RateLimitedError{RetryAfter: sqldb.FromMicros(oldest).Add(s.cfg.WriteWindow).Sub(now)}
	}
	if err := q.InsertWrite(ctx, reviewdb.InsertWriteParams{TenantID: tenant, Author: author, At: sqldb.Micros(now), ID: kit.NewID()}); err != nil {
		return fmt.Errorf("record review write: %w", err)
	}
	return nil
}

// RateLimitedError refuses a write of an author who wrote WriteLimit
// reviews in the window; it matches ErrRateLimited. RetryAfter is when the
// next write is allowed.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%v (retry in %s)", ErrRateLimited, e.RetryAfter.Round(time.Second))
}
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, at least 1,
// for the Retry-After header.
func (e *RateLimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// shownName is the name a review shows when its author gives none: the
// first word of the order's shipping name and the initial of its last,
// "Ada L." for "Ada Lovelace"; "Customer" when there is none.
func shownName(full string) string {
	words := strings.Fields(full)
	switch len(words) {
	case 0:
		return "Customer"
	case 1:
		return truncate(words[0], reviewapi.MaxAuthorName)
	}
	last := []rune(words[len(words)-1])
	return truncate(words[0], reviewapi.MaxAuthorName-3) + " " + string(last[0]) + "."
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// writeReview writes r over its row.
func writeReview(ctx context.Context, q *reviewdb.Queries, r reviewdb.Review) error {
	err := q.UpdateReview(ctx, reviewdb.UpdateReviewParams{AuthorName: r.AuthorName, Rating: r.Rating, Title: r.Title,
		Body: r.Body, Status: r.Status, Reason: r.Reason, ModeratedBy: r.ModeratedBy, ModeratedAt: r.ModeratedAt,
		Reply: r.Reply, RepliedAt: r.RepliedAt, PublishedAt: r.PublishedAt, UpdatedAt: r.UpdatedAt,
		TenantID: r.TenantID, ID: r.ID})
	if err != nil {
		return fmt.Errorf("update review %s: %w", r.ID, err)
	}
	return nil
}

// ownView is a review as its author and staff see it.
func ownView(r reviewdb.Review) reviewapi.Review {
	v := publicView(r)
	v.OrderID, v.Reason = r.OrderID, r.Reason
	return v
}

// publicView is a review as the storefront shows it: no order, no
// moderation reason.
func publicView(r reviewdb.Review) reviewapi.Review {
	return reviewapi.Review{ID: r.ID, ProductID: r.ProductID, SKU: r.Sku, AuthorName: r.AuthorName, Rating: r.Rating,
		Title: r.Title, Body: r.Body, Status: reviewapi.Status(r.Status), Reply: r.Reply,
		RepliedAt: sqldb.FromNullMicros(r.RepliedAt), PublishedAt: sqldb.FromNullMicros(r.PublishedAt),
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
}
