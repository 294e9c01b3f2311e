package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/review/reviewdb"
)

// announce writes, in the transaction of a change of a review from prev to
// next (next.Status empty: deleted; prev.ID empty: created), what the change
// means to others: the product's new rating when its published set changed
// (a review entered or left it, or a published one's rating changed), and
// review.published.v1 when next is visible with new content.
func (s *Service) announce(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries, prev, next reviewdb.Review, now time.Time) error {
	pub := string(reviewapi.StatusPublished)
	was, is := prev.ID != "" && prev.Status == pub, next.Status == pub
	if was != is || is && prev.Rating != next.Rating {
		if err := rerate(ctx, tx, q, next.TenantID, next.ProductID, now); err != nil {
			return err
		}
	}
	changed := prev.Rating != next.Rating || prev.Title != next.Title || prev.Body != next.Body || prev.AuthorName != next.AuthorName
	if is && (!was || changed) {
		at := now
		if t := sqldb.FromNullMicros(next.PublishedAt); t != nil {
			at = *t
		}
		err := outbox.AddEvent(ctx, tx, reviewapi.Source, reviewapi.SubjectPublished, now, reviewapi.Published{
			ID: next.ID, ProductID: next.ProductID, Rating: next.Rating, Title: next.Title, Body: next.Body,
			AuthorName: next.AuthorName, PublishedAt: at})
		if err != nil {
			return fmt.Errorf("announce review %s: %w", next.ID, err)
		}
	}
	return nil
}

// rerate recomputes a product's rating from its published reviews and
// announces it whole, numbered, as review.rating_changed.v1. BumpRating
// comes first: it locks the product's row (PostgreSQL), so the counts read
// after it include every change committed before this one.
func rerate(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries, tenant, productID string, now time.Time) error {
	version, err := q.BumpRating(ctx, reviewdb.BumpRatingParams{TenantID: tenant, ProductID: productID, UpdatedAt: sqldb.Micros(now)})
	if err != nil {
		return fmt.Errorf("number rating of product %s: %w", productID, err)
	}
	rows, err := q.CountPublished(ctx, reviewdb.CountPublishedParams{TenantID: tenant, ProductID: productID})
	if err != nil {
		return fmt.Errorf("count reviews of product %s: %w", productID, err)
	}
	r := reviewapi.RatingChanged{ProductID: productID, Version: version}
	var sum int64
	for _, row := range rows {
		if row.Rating < 1 || row.Rating > 5 {
			continue // the CHECK constraint keeps this from happening
		}
		r.Histogram[row.Rating-1] = row.N
		r.Count += row.N
		sum += row.Rating * row.N
	}
	r.Average = average(sum, r.Count)
	h := r.Histogram
	err = q.SetRating(ctx, reviewdb.SetRatingParams{ReviewCount: r.Count, RatingSum: sum, Stars1: h[0], Stars2: h[1],
		Stars3: h[2], Stars4: h[3], Stars5: h[4], TenantID: tenant, ProductID: productID})
	if err != nil {
		return fmt.Errorf("save rating of product %s: %w", productID, err)
	}
	if err := outbox.AddEvent(ctx, tx, reviewapi.Source, reviewapi.SubjectRatingChanged, now, r); err != nil {
		return fmt.Errorf("announce rating of product %s: %w", productID, err)
	}
	return nil
}

// Rating returns a product's rating (count 0 for a product without
// published reviews, or unknown).
func (s *Service) Rating(ctx context.Context, productID string) (reviewapi.Rating, error) {
	l, err := s.Ratings(ctx, []string{productID})
	if err != nil {
		return reviewapi.Rating{}, err
	}
	return l[0], nil
}

// Ratings returns the ratings of several products in one read (a listing's
// cards), in the order given.
func (s *Service) Ratings(ctx context.Context, productIDs []string) ([]reviewapi.Rating, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return nil, err
	}
	if len(productIDs) > maxRatingsPerLookup {
		return nil, kit.Invalid(ErrInvalid, kit.FieldError{Field: "query.product_id",
			Message: fmt.Sprintf("at most %d products at once", maxRatingsPerLookup), Value: len(productIDs)})
	}
	out := make([]reviewapi.Rating, len(productIDs))
	err = s.store.Read(ctx, func(q *reviewdb.Queries) error {
		for i, id := range productIDs {
			out[i] = reviewapi.Rating{ProductID: id}
			r, err := q.GetRating(ctx, reviewdb.GetRatingParams{TenantID: tenant, ProductID: id})
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("load rating of product %s: %w", id, err)
			}
			out[i].Count, out[i].Average = r.ReviewCount, average(r.RatingSum, r.ReviewCount)
			out[i].Histogram = [5]int64{r.Stars1, r.Stars2, r.Stars3, r.Stars4, r.Stars5}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ProductReviews lists a product's published reviews, newest first.
func (s *Service) ProductReviews(ctx context.Context, productID, cursor string, limit int) (reviewapi.ReviewList, error) {
	return s.list(ctx, productID, reviewapi.StatusPublished, cursor, limit, publicView)
}

// AdminReviews lists the store's reviews of one status, newest first.
func (s *Service) AdminReviews(ctx context.Context, status reviewapi.Status, cursor string, limit int) (reviewapi.ReviewList, error) {
	return s.list(ctx, "", status, cursor, limit, ownView)
}

// list pages reviews of status (of productID, or of the whole store when
// it is empty), each shown by view.
func (s *Service) list(ctx context.Context, productID string, status reviewapi.Status, cursor string, limit int, view func(reviewdb.Review) reviewapi.Review) (reviewapi.ReviewList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.ReviewList{}, err
	}
	after := kit.Cursor{At: math.MaxInt64}
	if cursor != "" {
		if after, err = kit.ParseCursor(cursor); err != nil {
			return reviewapi.ReviewList{}, err
		}
	}
	size := s.cfg.Paging.Size(limit)
	rows, err := kit.ReadOne(ctx, s.store, func(q *reviewdb.Queries) ([]reviewdb.Review, error) {
		if productID == "" {
			return q.ListReviews(ctx, reviewdb.ListReviewsParams{TenantID: tenant, Status: string(status),
				AfterAt: after.At, AfterID: after.ID, MaxRows: int32(size + 1)})
		}
		return q.ListProductReviews(ctx, reviewdb.ListProductReviewsParams{TenantID: tenant, ProductID: productID,
			Status: string(status), AfterAt: after.At, AfterID: after.ID, MaxRows: int32(size + 1)})
	})
	if err != nil {
		return reviewapi.ReviewList{}, fmt.Errorf("list reviews: %w", err)
	}
	out := reviewapi.ReviewList{Items: make([]reviewapi.Review, 0, min(len(rows), size))}
	for i, r := range rows {
		if i == size {
			out.NextCursor = kit.Cursor{At: rows[i-1].CreatedAt, ID: rows[i-1].ID}.String()
			break
		}
		out.Items = append(out.Items, view(r))
	}
	return out, nil
}
