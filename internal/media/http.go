package media

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the media service's authorization table: the staff roles that
// may call each operation, by huma OperationID; the platform enforces it
// (web.Roles), and the admin and service tokens may call them all, a secret
// API key what a manager may. Product pictures and the logo are the
// catalog's and the store's look: owners and managers upload them, staff
// may read what was uploaded. The files themselves are public (/media/).
var access = map[string][]auth.Role{
	"admin-upload-media": {auth.RoleOwner, auth.RoleManager},
	"admin-get-media":    {auth.RoleOwner, auth.RoleManager, auth.RoleStaff},
}

// problems is the service's error table.
var problems = kit.Problems{
	{Err: ErrNotMultipart, Status: http.StatusUnsupportedMediaType, Code: "not_multipart", Detail: "send the upload as multipart/form-data"},
	{Err: ErrFileName, Status: http.StatusUnprocessableEntity, Code: "invalid_file_name", Detail: "the file name must be a plain name: no path, no control characters"},
	{Err: ErrNoFile, Status: http.StatusUnprocessableEntity, Code: "no_file", Detail: "the upload has no part named file"},
	{Err: ErrFileTooLarge, Status: http.StatusRequestEntityTooLarge, Code: "file_too_large", Detail: "the file is larger than the store accepts"},
	{Err: ErrUnsupportedType, Status: http.StatusUnsupportedMediaType, Code: "unsupported_image_type", Detail: "the file is not a PNG, JPEG or GIF image (judged by its bytes, not its name)"},
	{Err: ErrCorruptImage, Status: http.StatusUnprocessableEntity, Code: "corrupt_image", Detail: "the image does not decode: it is truncated or damaged"},
	{Err: ErrTooManyPixels, Status: http.StatusUnprocessableEntity, Code: "image_too_large", Detail: "the image has more pixels than the store accepts"},
	{Err: ErrUnknownProduct, Status: http.StatusUnprocessableEntity, Code: "unknown_product", Detail: "the product_id names no product of this store"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "media_not_found", Detail: "no upload of this store has that hash"},
	{Err: ErrUnavailable, Status: http.StatusServiceUnavailable, Code: "catalog_unavailable", Detail: "the catalog is not answering; retry shortly"},
}

// The problems of an upload, for the document.
var uploadAnswers = []web.Answer{
	{Status: http.StatusUnsupportedMediaType, Code: "not_multipart", When: "the body is not multipart/form-data"},
	{Status: http.StatusUnsupportedMediaType, Code: "unsupported_image_type", When: "the file's bytes are not a PNG, JPEG or GIF image, whatever its name says"},
	{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large", When: "the file is over -media.max-upload (10 MiB by default)"},
	{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", When: "the body is over -media.max-upload and room for the other fields; refused as it streams in"},
	{Status: http.StatusUnprocessableEntity, Code: "image_too_large", When: "the image's header says it has more than -media.max-pixels pixels (25 million by default) or more than 20,000 on a side; refused before any pixel is decoded"},
	{Status: http.StatusUnprocessableEntity, Code: "corrupt_image", When: "the image is truncated or damaged"},
	{Status: http.StatusUnprocessableEntity, Code: "invalid_file_name", When: "the file name has a path (/ or \\), control characters, or more than 255 bytes"},
	{Status: http.StatusUnprocessableEntity, Code: "no_file", When: "there is no part named file"},
	{Status: http.StatusUnprocessableEntity, Code: "unknown_product", When: "product_id names no product of this store"},
	{Status: http.StatusServiceUnavailable, Code: "catalog_unavailable", When: "the catalog did not answer whether the product exists"},
}

// uploadInput is an upload: the multipart body, read by the handler.
type uploadInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

// mediaOutput is one upload's answer.
type mediaOutput struct {
	Status int
	Body   mediaapi.Media
}

type getInput struct {
	Hash string `path:"hash" minLength:"64" maxLength:"64" pattern:"^[0-9a-f]{64}$" doc:"The SHA-256 of the stored file."`
}

// Routes registers the upload and metadata operations under
// /api/v1/admin/media and, beside the API, the files under /media/.
func (s *Service) Routes(api *web.API) {
	api.Tag("media admin", "Uploads of product pictures and the store's logo. The type is judged by the bytes; "+
		"images are re-encoded without metadata (EXIF, GPS), resized, and stored under the SHA-256 of the stored "+
		"bytes, served at /media/{hash} and /media/{hash}/{size} (160, 320, 640) with a year's immutable caching.")
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"media admin"}
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	maxBody := s.cfg.MaxUpload + multipartOverhead
	api.LimitBody(http.MethodPost, mediaapi.UploadPath, maxBody)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-upload-media", Method: http.MethodPost, Path: mediaapi.UploadPath,
		Summary: "Upload an image",
		Description: "Takes a multipart/form-data body with the image as the part file, kind (product_image or " +
			"logo), product_id for a product image, and alt. The image is checked, cleaned and stored, then announced " +
			"(media.uploaded.v1): the catalog adds a product image to its product, the store takes a logo as its " +
			"logo. The same bytes uploaded again are stored once (200 with the first upload's ID, announced again); " +
			"new ones answer 201. Safe to retry without an Idempotency-Key. Nothing is stored when the upload is " +
			"refused.",
		DefaultStatus: http.StatusCreated,
		MaxBodyBytes:  maxBody,
		// The body is multipart: ReadForm parses and checks it.
		SkipValidateBody: true,
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"multipart/form-data": {Schema: &huma.Schema{
				Type:     "object",
				Required: []string{"file", "kind"},
				Properties: map[string]*huma.Schema{
					"file":       {Type: "string", Format: "binary", Description: "The image: PNG, JPEG or GIF."},
					"kind":       {Type: "string", Enum: []any{"product_image", "logo"}, Description: "What the image is for."},
					"product_id": {Type: "string", MaxLength: ptr(100), Description: "The product of a product_image."},
					"alt":        {Type: "string", MaxLength: ptr(mediaapi.MaxAlt), Description: "Alternative text for screen readers."},
				},
			}},
		}},
	}), uploadAnswers...), s.upload)
	huma.Register(api, web.Answers(adm(huma.Operation{
		OperationID: "admin-get-media", Method: http.MethodGet, Path: "/api/v1/admin/media/{hash}",
		Summary:     "Get an upload",
		Description: "The store's upload with this hash: its size, type and variants.",
	}), web.Answer{Status: http.StatusNotFound, Code: "media_not_found", When: "no upload of this store has that hash"}), s.get)

	api.Handle("GET "+mediaapi.PathPrefix+"{hash}", http.HandlerFunc(s.serveFile))
	api.Handle("GET "+mediaapi.PathPrefix+"{hash}/{size}", http.HandlerFunc(s.serveFile))
}

func ptr[T any](v T) *T { return &v }

func (s *Service) upload(ctx context.Context, in *uploadInput) (*mediaOutput, error) {
	u, err := ReadForm(bytes.NewReader(in.RawBody), in.ContentType, s.cfg.MaxUpload)
	if err != nil {
		return nil, problems.Map(err)
	}
	m, created, err := s.Store(ctx, u)
	if err != nil {
		return nil, problems.Map(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &mediaOutput{Status: status, Body: m}, nil
}

func (s *Service) get(ctx context.Context, in *getInput) (*mediaOutput, error) {
	m, err := s.Media(ctx, in.Hash)
	if err != nil {
		return nil, problems.Map(err)
	}
	return &mediaOutput{Status: http.StatusOK, Body: m}, nil
}
