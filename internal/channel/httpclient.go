package channel

import (
	"net/http"
	"time"
)

// HTTPClient returns a copy of client (nil: one with a 20-second timeout)
// that never follows a redirect of a POST, and at most five of a GET. A
// redirected POST turns into a GET that can still answer 2xx: a reply
// would look sent while nothing was posted.
func HTTPClient(client *http.Client) *http.Client {
	c := http.Client{Timeout: 20 * time.Second}
	if client != nil {
		c = *client
	}
	inner := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].Method != http.MethodGet || len(via) >= 5 {
			return http.ErrUseLastResponse
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &c
}
