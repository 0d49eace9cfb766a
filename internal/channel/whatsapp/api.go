package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// API calls the Graph API for one adapter: media downloads (Fetcher) and
// the connection test (Checker). It is safe for concurrent use.
type API struct {
	Client *http.Client
}

var (
	_ channel.Fetcher = (*API)(nil)
	_ channel.Checker = (*API)(nil)
)

// errNotConfigured is returned when a channel lacks what the call needs.
var errNotConfigured = errors.New("the channel has no phone number ID or access token: fill them in under Admin → Channels")

// get does an authorised GET and returns the body of a 2xx answer, read up
// to limit bytes; more is an error.
func (a *API) get(ctx context.Context, ch store.Channel, target string, limit int64) ([]byte, http.Header, error) {
	token := ch.Settings[SettingAccessToken]
	if token == "" {
		return nil, nil, errNotConfigured
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		oe := classify(resp, body[:min(len(body), 4096)], timeNow())
		return nil, nil, fmt.Errorf("GET %s: %s", redact(target), oe.Body)
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("GET %s: more than %d bytes", redact(target), limit)
	}
	return body, resp.Header, nil
}

// Fetch downloads a customer's file by its media id: GET /{media-id} gives
// a short-lived URL, which is downloaded with the same token. Files over
// MaxMedia are refused.
func (a *API) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	if ref == "" || strings.ContainsAny(ref, "/?#") || len(ref) > maxID {
		return "", nil, fmt.Errorf("whatsapp: %q is not a media id", shorten(ref, 60))
	}
	info, _, err := a.get(ctx, ch, apiBase(ch.Settings)+"/"+url.PathEscape(ref), 64<<10)
	if err != nil {
		return "", nil, fmt.Errorf("whatsapp: media %s: %w", ref, err)
	}
	var m struct {
		URL      string          `json:"url"`
		MimeType string          `json:"mime_type"`
		FileSize json.RawMessage `json:"file_size"` // a number, or a string in older answers
	}
	if err := json.Unmarshal(info, &m); err != nil || m.URL == "" {
		return "", nil, fmt.Errorf("whatsapp: media %s: no url in the answer", ref)
	}
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", nil, fmt.Errorf("whatsapp: media %s: url is not http(s)", ref)
	}
	data, _, err := a.get(ctx, ch, m.URL, MaxMedia)
	if err != nil {
		return "", nil, fmt.Errorf("whatsapp: media %s: %w", ref, err)
	}
	return "media" + extension(m.MimeType), data, nil
}

// Check asks the Graph API who the channel's phone number is and returns
// its verified name and display number.
func (a *API) Check(ctx context.Context, ch store.Channel) (string, error) {
	id := ch.Settings[SettingAccount]
	if id == "" || ch.Settings[SettingAccessToken] == "" {
		return "", errNotConfigured
	}
	body, _, err := a.get(ctx, ch, apiBase(ch.Settings)+"/"+url.PathEscape(id)+"?fields=display_phone_number,verified_name", 64<<10)
	if err != nil {
		return "", fmt.Errorf("whatsapp: %w", err)
	}
	var p struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		VerifiedName       string `json:"verified_name"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return "", fmt.Errorf("whatsapp: phone number answer not understood: %w", err)
	}
	switch {
	case p.VerifiedName != "" && p.DisplayPhoneNumber != "":
		return p.VerifiedName + " (" + p.DisplayPhoneNumber + ")", nil
	case p.DisplayPhoneNumber != "":
		return p.DisplayPhoneNumber, nil
	}
	return "phone number " + id, nil
}

// redact drops the query of a URL for messages: a media URL's query is its
// key.
func redact(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i]
	}
	return target
}
