package mediaapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// UploadPath is the path of the upload operation.
const UploadPath = "/api/v1/admin/media"

// Upload is one file to upload.
type Upload struct {
	Kind      Kind
	ProductID string
	Alt       string
	// FileName is the name the file had on the uploader's disk; only
	// checked, never used to store the file.
	FileName string
	// Content is the file's bytes.
	Content io.Reader
}

// Client calls the media API. It is safe for concurrent use.
type Client struct {
	api *apiclient.Client
}

// NewClient returns a client of the media service at base.
func NewClient(base string, hc *http.Client) *Client {
	return &Client{api: apiclient.New("media", base, hc)}
}

// Upload sends u as multipart/form-data (POST /api/v1/admin/media) with
// the credentials of the context or the http.Client. A refusal is an
// *apiclient.Error with the answer's code and fields. Uploading the same
// bytes again is harmless: the service stores them once.
func (c *Client) Upload(ctx context.Context, u Upload) (Media, error) {
	body, ctype, err := EncodeUpload(u)
	if err != nil {
		return Media{}, err
	}
	var out Media
	err = c.api.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: UploadPath, RawBody: body, ContentType: ctype,
		Idempotent: true, Out: &out})
	return out, err
}

// EncodeUpload returns u as a multipart/form-data body and its content
// type: the fields kind, product_id and alt, then the part file.
func EncodeUpload(u Upload) (body []byte, contentType string, err error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range [][2]string{{"kind", string(u.Kind)}, {"product_id", u.ProductID}, {"alt", u.Alt}} {
		if f[1] == "" {
			continue
		}
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("encode upload: %w", err)
		}
	}
	h := make(textproto.MIMEHeader)
	name := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(u.FileName)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("encode upload: %w", err)
	}
	if u.Content != nil {
		if _, err := io.Copy(part, u.Content); err != nil {
			return nil, "", fmt.Errorf("encode upload: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("encode upload: %w", err)
	}
	return b.Bytes(), w.FormDataContentType(), nil
}
