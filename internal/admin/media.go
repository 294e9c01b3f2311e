package admin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/web"
)

// uploadPath takes the image upload forms (product pictures, the logo): one
// fixed path, so that the platform lets its bodies be as large as an upload
// may be (web.API.LimitBody).
const uploadPath = "/admin/media/upload"

// uploaders are the roles the media service lets upload
// (admin-upload-media).
var uploaders = managerRoles

// mediaRoutes mounts the upload form's target. Without the media service
// there is none, and the pages show no upload forms.
func (s *Service) mediaRoutes(api *web.API, route routeFunc) {
	if s.deps.Media == nil {
		return
	}
	// Twice the upload limit: a file somewhat over it is still read and
	// refused on its field; a body larger still is refused by the platform.
	api.LimitBody(http.MethodPost, uploadPath, 2*s.cfg.MaxUpload+mediaapi.MultipartOverhead)
	route("POST "+uploadPath, s.uploadMedia)
}

// adminImage is a product picture as the editor lists it.
type adminImage struct {
	URL, Alt      string
	Width, Height int
}

// adminImages lists p's pictures, an upload's drawn from its smallest
// variant.
func adminImages(p *catalogapi.Product) []adminImage {
	if p == nil {
		return nil
	}
	out := make([]adminImage, len(p.Images))
	for i, img := range p.Images {
		u := img.URL
		if h := mediaapi.HashOf(u); h != "" {
			u = mediaapi.VariantURL(h, mediaapi.SizeSmall)
		}
		out[i] = adminImage{URL: u, Alt: img.Alt, Width: img.Width, Height: img.Height}
	}
	return out
}

// uploadFields maps the media API's field locations to the form's.
var uploadFields = map[string]string{"file": "file", "alt": "alt", "product_id": "file", "kind": "file",
	"header.Content-Type": "file"}

// uploadMedia takes an upload form (multipart, no JavaScript needed): a
// product picture (kind product_image, product_id) or the store's logo
// (kind logo). It sends the file to the media service as the signed-in
// member; a refusal is shown on the form's fields, on the page the form
// was on.
func (s *Service) uploadMedia(w http.ResponseWriter, r *http.Request) {
	ctx, who, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f, u := s.readUpload(w, r)
	var back string
	switch u.Kind {
	case mediaapi.KindProductImage:
		back = "/admin/products/" + url.PathEscape(u.ProductID)
	case mediaapi.KindLogo:
		back = "/admin/settings"
	default:
		s.kit.NotFound(w, r)
		return
	}
	if !f.Invalid() {
		u.Content = bytes.NewReader(f.file)
		_, err := s.deps.Media.Upload(ctx, u)
		if err == nil {
			flash := "Image uploaded: it shows in the shop in a moment."
			if u.Kind == mediaapi.KindLogo {
				flash = "Logo uploaded: it shows in the shop within 10 seconds."
			}
			s.kit.Redirect(w, r, back, flash)
			return
		}
		if !f.Refused(err, uploadFields) {
			s.kit.Fail(w, r, err)
			return
		}
		if len(f.Errors) > 0 {
			f.Message = ""
		}
	}
	if u.Kind == mediaapi.KindLogo {
		s.renderSettingsWith(ctx, w, r, who, http.StatusUnprocessableEntity, nil, nil, f.Form)
		return
	}
	prod, err := s.deps.Catalog.AdminProduct(ctx, u.ProductID)
	if errors.Is(err, catalogapi.ErrNotFound) || apiclient.IsStatus(err, http.StatusUnprocessableEntity) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderProductWith(w, r, ctx, http.StatusUnprocessableEntity, &prod, page.EmptyForm(productValues(&prod)),
		len(prod.Variants)+spareRows, optionCols(len(prod.Options)), f.Form)
}

// uploadForm is an upload form as read: its fields, and the file apart.
type uploadForm struct {
	*page.Form
	file []byte
}

// readUpload reads the multipart upload form as it streams in: the short
// fields, and the file up to the upload limit; a file over it, a missing
// one or a body that does not parse marks the file field.
func (s *Service) readUpload(w http.ResponseWriter, r *http.Request) (uploadForm, mediaapi.Upload) {
	f := uploadForm{Form: page.EmptyForm(nil)}
	var u mediaapi.Upload
	tooLarge := func() {
		f.Fail("file", fmt.Sprintf("The file is larger than %s: choose a smaller image.", megabytes(s.cfg.MaxUpload)))
	}
	// Up to the platform's limit for this path: a file over the upload
	// limit is read on (not kept) so that the fields after it are too.
	r.Body = http.MaxBytesReader(w, r.Body, 2*s.cfg.MaxUpload+mediaapi.MultipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		f.Fail("file", "The form did not arrive whole: choose the image and send it again.")
		q := r.URL.Query()
		u.Kind, u.ProductID = mediaapi.Kind(q.Get("kind")), q.Get("product_id")
		return f, u
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge()
			break
		}
		if err != nil {
			f.Fail("file", "The form did not arrive whole: choose the image and send it again.")
			break
		}
		switch name := part.FormName(); name {
		case "file":
			_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			u.FileName = params["filename"]
			data, err := io.ReadAll(io.LimitReader(part, s.cfg.MaxUpload+1))
			if err == nil && int64(len(data)) > s.cfg.MaxUpload {
				data, err = nil, nil
				tooLarge()
				_, err = io.Copy(io.Discard, part)
			}
			switch {
			case errors.As(err, &mbe):
				tooLarge()
			case err != nil:
				f.Fail("file", "The form did not arrive whole: choose the image and send it again.")
			}
			f.file = data
		case "kind", "product_id", "alt", "idempotency_key":
			v, _ := io.ReadAll(io.LimitReader(part, 4<<10))
			f.Values.Set(name, string(v))
		}
	}
	u.Kind, u.ProductID, u.Alt = mediaapi.Kind(f.Get("kind")), f.Get("product_id"), f.Get("alt")
	if u.Kind == "" {
		q := r.URL.Query()
		u.Kind, u.ProductID = mediaapi.Kind(q.Get("kind")), q.Get("product_id")
	}
	if !f.Invalid() && len(f.file) == 0 {
		f.Fail("file", "Choose an image (PNG, JPEG or GIF) to upload.")
	}
	return f, u
}

// megabytes says n bytes in whole megabytes (MB, 2^20 bytes), or in KB below one.
func megabytes(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n>>20, 10) + " MB"
}

// canUpload reports whether the page's visitor may upload images and the
// media service is there to take them.
func (s *Service) canUpload(v *page.View) bool { return s.deps.Media != nil && v.Can(uploaders...) }
