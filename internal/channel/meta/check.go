package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Checker is the admin's "test connection": it reads the Page's name (and
// the Instagram account's username) with the channel's token.
type Checker struct {
	Kind   string
	Client *http.Client
}

// Check calls GET /{account_id}?fields=name[,username] and says who
// webcare is connected as, or why not in plain words.
func (c *Checker) Check(ctx context.Context, ch store.Channel) (string, error) {
	acct, token := ch.Settings["account_id"], ch.Settings["access_token"]
	if acct == "" || token == "" {
		return "", errors.New("the channel needs both the account id and the access token")
	}
	fields := "name"
	if c.Kind == KindInstagram {
		fields = "name,username"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint(ch, acct)+"?fields="+fields, nil)
	if err != nil {
		return "", fmt.Errorf("the API base URL is not valid: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := c.Client
	if client == nil {
		client = channel.HTTPClient(nil)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("could not reach Meta: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ge := readGraphError(resp, time.Now())
		if ge.Code == 100 || ge.Code == 803 {
			return "", fmt.Errorf("Meta does not know account %s, or the token cannot see it: check the account id and that the token belongs to this %s (%v)", acct, pageOrAccount(c.Kind), ge)
		}
		return "", errors.New(outboxError(ge, c.Kind).Body)
	}
	var out struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(raw, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("Meta answered something unexpected: %s", channel.Excerpt(string(raw)))
	}
	if out.ID != acct {
		return "", fmt.Errorf("the token belongs to %s (%s), not to account %s", out.Name, out.ID, acct)
	}
	if c.Kind == KindInstagram && out.Username != "" {
		if out.Name != "" {
			return fmt.Sprintf("@%s (%s, Instagram account %s)", out.Username, out.Name, out.ID), nil
		}
		return fmt.Sprintf("@%s (Instagram account %s)", out.Username, out.ID), nil
	}
	return fmt.Sprintf("%s (Page %s)", out.Name, out.ID), nil
}
