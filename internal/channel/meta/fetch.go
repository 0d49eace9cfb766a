package meta

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Fetcher downloads the media a payload points at (File.Ref): Messenger and
// Instagram attachment URLs are signed CDN links that need no token, so
// none is sent. Only http(s) URLs, at most MaxMedia bytes.
type Fetcher struct {
	Client *http.Client
}

// Fetch downloads ref. The name is the URL's file name, or one made from
// the type the server claims; ingest sniffs the real type from the bytes.
func (f *Fetcher) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", nil, fmt.Errorf("meta: attachment URL %q is not http(s)", channel.Excerpt(ref))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, fmt.Errorf("meta: attachment: %w", err)
	}
	client := f.Client
	if client == nil {
		client = channel.HTTPClient(nil)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("meta: attachment: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("meta: attachment: %s answered %d (signed CDN links expire; Meta keeps them for a few days)", u.Host, resp.StatusCode)
	}
	if resp.ContentLength > MaxMedia {
		return "", nil, fmt.Errorf("meta: attachment of %d bytes is over the %d MiB limit", resp.ContentLength, MaxMedia>>20)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMedia+1))
	if err != nil {
		return "", nil, fmt.Errorf("meta: attachment: %w", err)
	}
	if len(data) > MaxMedia {
		return "", nil, fmt.Errorf("meta: attachment is over the %d MiB limit", MaxMedia>>20)
	}
	name := path.Base(u.Path)
	if path.Ext(name) == "" {
		name = "attachment"
		if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
			if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
				name += exts[0]
			}
		}
	}
	return channel.CleanName(name), data, nil
}
