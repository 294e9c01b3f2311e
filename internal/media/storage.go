package media

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"gocloud.dev/blob"
	// The blob stores -media.storage may name.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
)

// openBucket opens the blob store of a storage URL and checks it answers.
func openBucket(ctx context.Context, storage string) (*blob.Bucket, error) {
	b, err := blob.OpenBucket(ctx, storage)
	if err != nil {
		return nil, fmt.Errorf("media: open storage %s: %w", redact(storage), err)
	}
	if _, err := b.Exists(ctx, "ping"); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("media: storage %s is not answering: %w", redact(storage), err)
	}
	return b, nil
}

// redact returns a storage URL without its user information, for errors
// and logs.
func redact(storage string) string {
	u, err := url.Parse(storage)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// The blob keys of an image: the cleaned file is hash, its variant of
// size n hash-n, both under a folder named by the hash's first two digits
// (256 folders: no directory of a file store grows past what its file
// system lists quickly).
func originalKey(hash string) string { return hash[:2] + "/" + hash }

func variantKey(hash string, size int) string {
	return hash[:2] + "/" + hash + "-" + strconv.Itoa(size)
}

// put stores c's variants, then c itself, unless c is stored already: the
// original is written last, so its presence means every variant is there.
// Same key, same bytes: a concurrent upload of the same file writes the
// same content.
func (s *Service) put(ctx context.Context, c cleaned) error {
	ok, err := s.bucket.Exists(ctx, originalKey(c.hash))
	if err != nil {
		return fmt.Errorf("look up %s: %w", c.hash, err)
	}
	if ok {
		return nil
	}
	for _, v := range c.variants {
		if err := s.write(ctx, variantKey(c.hash, v.size), v.contentType, v.data); err != nil {
			return err
		}
	}
	return s.write(ctx, originalKey(c.hash), c.contentType, c.data)
}

func (s *Service) write(ctx context.Context, key, contentType string, data []byte) error {
	opts := &blob.WriterOptions{ContentType: contentType, CacheControl: cacheControl}
	if err := s.bucket.WriteAll(ctx, key, data, opts); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}
