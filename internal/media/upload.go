package media

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/media/mediadb"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Upload is one upload as the form carried it.
type Upload struct {
	Kind      mediaapi.Kind
	ProductID string
	Alt       string
	FileName  string
	Data      []byte
}

// multipartOverhead is what a multipart body may add around its file.
const multipartOverhead = mediaapi.MultipartOverhead

// ReadForm reads a multipart/form-data upload body (contentType is the
// request's Content-Type): the fields kind, product_id and alt and one
// part file, of at most maxFile bytes. The file name is checked, never
// used. Unknown parts are refused.
func ReadForm(body io.Reader, contentType string, maxFile int64) (Upload, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return Upload{}, &kit.ValidationError{Err: ErrNotMultipart, Fields: []kit.FieldError{
			{Field: "header.Content-Type", Message: "must be multipart/form-data with a boundary", Value: contentType}}}
	}
	r := multipart.NewReader(body, params["boundary"])
	var u Upload
	var fields []kit.FieldError
	seen := map[string]bool{}
	for {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Upload{}, &kit.ValidationError{Err: ErrInvalid, Detail: "the multipart body does not parse",
				Fields: []kit.FieldError{{Field: "body.file", Message: "malformed multipart body (a part or its headers)"}}}
		}
		name := p.FormName()
		if seen[name] {
			return Upload{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "body." + clip(name, 40), Message: "must be sent once"})
		}
		seen[name] = true
		switch name {
		case "file":
			fe, ok := checkFileName(p.Header.Get("Content-Disposition"))
			if !ok {
				return Upload{}, &kit.ValidationError{Err: ErrFileName, Fields: []kit.FieldError{fe}}
			}
			u.FileName, _ = fe.Value.(string)
			data, err := io.ReadAll(io.LimitReader(p, maxFile+1))
			if err != nil {
				return Upload{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "body.file", Message: "the file part does not read"})
			}
			if int64(len(data)) > maxFile {
				return Upload{}, fileError(ErrFileTooLarge, fmt.Sprintf("must be at most %d bytes", maxFile), nil)
			}
			u.Data = data
		case "kind", "product_id", "alt":
			v, err := io.ReadAll(io.LimitReader(p, 4<<10))
			if err != nil {
				return Upload{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "body." + name, Message: "does not read"})
			}
			s := string(v)
			switch name {
			case "kind":
				u.Kind = mediaapi.Kind(strings.TrimSpace(s))
			case "product_id":
				u.ProductID = strings.TrimSpace(s)
			case "alt":
				u.Alt = strings.TrimSpace(s)
			}
		default:
			fields = append(fields, kit.FieldError{Field: "body." + clip(name, 40), Message: "unknown field: send file, kind, product_id and alt"})
		}
	}
	if len(fields) > 0 {
		return Upload{}, kit.Invalid(ErrInvalid, fields...)
	}
	return u, nil
}

// checkFileName checks the file name of a part's Content-Disposition: a
// plain name, no path (no / or \, not . or ..), no control characters, at
// most MaxFileName bytes. It returns the name in Value, or the field error.
func checkFileName(disposition string) (kit.FieldError, bool) {
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return kit.FieldError{Field: "body.file", Message: "the part's Content-Disposition does not parse"}, false
	}
	name := params["filename"]
	bad := func(msg string) (kit.FieldError, bool) {
		return kit.FieldError{Field: "body.file", Message: msg, Value: clip(name, 100)}, false
	}
	switch {
	case len(name) > mediaapi.MaxFileName:
		return bad(fmt.Sprintf("the file name must have at most %d bytes", mediaapi.MaxFileName))
	case !utf8.ValidString(name):
		return bad("the file name must be UTF-8")
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return bad("the file name must be a plain name, without a path")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("the file name must not contain control characters")
	}
	return kit.FieldError{Field: "body.file", Value: name}, true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// check refuses an upload whose fields are wrong, naming each.
func (u Upload) check() error {
	var fields []kit.FieldError
	switch u.Kind {
	case mediaapi.KindProductImage:
		if u.ProductID == "" {
			fields = append(fields, kit.FieldError{Field: "body.product_id", Message: "is required for a product_image"})
		} else if len(u.ProductID) > 100 {
			fields = append(fields, kit.FieldError{Field: "body.product_id", Message: "must have at most 100 characters", Value: clip(u.ProductID, 100)})
		}
	case mediaapi.KindLogo:
		if u.ProductID != "" {
			fields = append(fields, kit.FieldError{Field: "body.product_id", Message: "must be absent for a logo", Value: clip(u.ProductID, 100)})
		}
	case "":
		fields = append(fields, kit.FieldError{Field: "body.kind", Message: "is required: product_image or logo"})
	default:
		fields = append(fields, kit.FieldError{Field: "body.kind", Message: "must be product_image or logo", Value: clip(string(u.Kind), 40)})
	}
	switch {
	case !utf8.ValidString(u.Alt) || strings.IndexFunc(u.Alt, unicode.IsControl) >= 0:
		fields = append(fields, kit.FieldError{Field: "body.alt", Message: "must be UTF-8 text without control characters"})
	case utf8.RuneCountInString(u.Alt) > mediaapi.MaxAlt:
		fields = append(fields, kit.FieldError{Field: "body.alt", Message: fmt.Sprintf("must have at most %d characters", mediaapi.MaxAlt)})
	}
	if err := kit.Invalid(ErrInvalid, fields...); err != nil {
		return err
	}
	if len(u.Data) == 0 {
		return fileError(ErrNoFile, "is required: the image, as the part named file", nil)
	}
	return nil
}

// Store checks, cleans and stores an upload for the tenant in ctx and
// announces it (media.uploaded.v1). The same bytes uploaded again by the
// store are stored once and keep their ID; created says whether they were
// new to the store. Nothing is stored when anything is refused.
func (s *Service) Store(ctx context.Context, u Upload) (_ mediaapi.Media, created bool, _ error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return mediaapi.Media{}, false, err
	}
	if err := u.check(); err != nil {
		return mediaapi.Media{}, false, err
	}
	if u.Kind == mediaapi.KindProductImage && s.products != nil {
		if _, err := s.products.AdminProduct(ctx, u.ProductID); err != nil {
			if errors.Is(err, catalogapi.ErrNotFound) {
				return mediaapi.Media{}, false, &kit.ValidationError{Err: ErrUnknownProduct, Fields: []kit.FieldError{
					{Field: "body.product_id", Message: "no such product in this store", Value: u.ProductID}}}
			}
			if _, refused := apiclient.Refused(err); refused {
				return mediaapi.Media{}, false, kit.Upstream(err)
			}
			return mediaapi.Media{}, false, fmt.Errorf("check product %s: %w: %w", u.ProductID, ErrUnavailable, err)
		}
	}
	select {
	case s.cleaning <- struct{}{}:
	case <-ctx.Done():
		return mediaapi.Media{}, false, ctx.Err()
	}
	c, err := clean(u.Data, s.cfg.MaxPixels)
	<-s.cleaning
	if err != nil {
		return mediaapi.Media{}, false, err
	}
	if err := s.put(ctx, c); err != nil {
		return mediaapi.Media{}, false, err
	}
	now := s.now()
	var m mediaapi.Media
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *mediadb.Queries) error {
		variants, err := json.Marshal(variantsOf(c))
		if err != nil {
			return fmt.Errorf("encode variants: %w", err)
		}
		n, err := q.InsertMedia(ctx, mediadb.InsertMediaParams{
			TenantID: tenant, ID: kit.NewID(), Hash: c.hash, ContentType: c.contentType,
			Width: int64(c.width), Height: int64(c.height), Bytes: int64(len(c.data)),
			Variants: string(variants), FileName: u.FileName, CreatedAt: sqldb.Micros(now),
		})
		if err != nil {
			return fmt.Errorf("insert media %s: %w", c.hash, err)
		}
		created = n == 1
		row, err := q.GetMediaByHash(ctx, mediadb.GetMediaByHashParams{TenantID: tenant, Hash: c.hash})
		if err != nil {
			return fmt.Errorf("load media %s: %w", c.hash, err)
		}
		if m, err = toMedia(row); err != nil {
			return err
		}
		m.Kind, m.ProductID, m.Alt = u.Kind, u.ProductID, u.Alt
		return outbox.AddEvent(ctx, tx, mediaapi.Source, mediaapi.SubjectUploaded, now,
			mediaapi.Uploaded{Media: m, UploadedAt: sqldb.FromMicros(sqldb.Micros(now))})
	})
	if err != nil {
		return mediaapi.Media{}, false, fmt.Errorf("store upload %s: %w", c.hash, err)
	}
	s.log.InfoContext(ctx, "media stored", "tenant", tenant, "media_id", m.ID, "hash", m.Hash, "kind", string(m.Kind), "created", created)
	return m, created, nil
}

// Media returns the store's media with hash.
func (s *Service) Media(ctx context.Context, hash string) (mediaapi.Media, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return mediaapi.Media{}, err
	}
	return kit.ReadOne(ctx, s.store, func(q *mediadb.Queries) (mediaapi.Media, error) {
		row, err := q.GetMediaByHash(ctx, mediadb.GetMediaByHashParams{TenantID: tenant, Hash: hash})
		if errors.Is(err, sql.ErrNoRows) {
			return mediaapi.Media{}, ErrNotFound
		}
		if err != nil {
			return mediaapi.Media{}, fmt.Errorf("load media %s: %w", hash, err)
		}
		return toMedia(row)
	})
}

// storedVariant is a variant as the variants column keeps it.
type storedVariant struct {
	Size        int    `json:"size"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
}

func variantsOf(c cleaned) []storedVariant {
	out := make([]storedVariant, len(c.variants))
	for i, v := range c.variants {
		out[i] = storedVariant{Size: v.size, Width: v.width, Height: v.height, ContentType: v.contentType}
	}
	return out
}

func toMedia(r mediadb.Medium) (mediaapi.Media, error) {
	var vs []storedVariant
	if err := json.Unmarshal([]byte(r.Variants), &vs); err != nil {
		return mediaapi.Media{}, fmt.Errorf("decode variants of %s: %w", r.Hash, err)
	}
	m := mediaapi.Media{ID: r.ID, Hash: r.Hash, URL: mediaapi.URL(r.Hash), ContentType: r.ContentType,
		Width: int(r.Width), Height: int(r.Height), Bytes: r.Bytes, CreatedAt: sqldb.FromMicros(r.CreatedAt),
		Variants: make([]mediaapi.Variant, len(vs))}
	for i, v := range vs {
		m.Variants[i] = mediaapi.Variant{Size: v.Size, Width: v.Width, Height: v.Height, ContentType: v.ContentType,
			URL: mediaapi.VariantURL(r.Hash, v.Size)}
	}
	return m, nil
}
