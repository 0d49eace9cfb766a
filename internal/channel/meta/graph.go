package meta

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
)

// GraphError is the error object the Graph API answers with:
// {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}.
type GraphError struct {
	Message      string        `json:"message"`
	Type         string        `json:"type,omitempty"`
	Code         int           `json:"code"`
	Subcode      int           `json:"error_subcode,omitempty"`
	IsTransient  bool          `json:"is_transient,omitempty"`
	UserTitle    string        `json:"error_user_title,omitempty"`
	UserMessage  string        `json:"error_user_msg,omitempty"`
	FBTraceID    string        `json:"fbtrace_id,omitempty"`
	HTTPStatus   int           `json:"-"` // the answer's status
	RetryAfter   time.Duration `json:"-"` // from Retry-After or X-Business-Use-Case-Usage
	rawBody      string
	unparseable  bool
	retryAfterOK bool
}

// Error is Meta's code and message, as an admin would search for them.
func (e *GraphError) Error() string {
	if e.unparseable {
		return fmt.Sprintf("Meta answered %d: %s", e.HTTPStatus, e.rawBody)
	}
	return "Meta error " + e.codes() + ": " + e.Message
}

// codes is "190", "10/2018278": what an admin searches Meta's docs for.
func (e *GraphError) codes() string {
	s := fmt.Sprint(e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf("/%d", e.Subcode)
	}
	return s
}

// Rate-limit codes: application (4), user (17), Page (32), custom (613)
// and the business use case limits (80001 Pages, 80002 Instagram, 80006
// Messenger and the rest of the 800xx range).
func rateLimited(code int) bool {
	return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code < 80100)
}

// readGraphError reads a non-2xx answer.
func readGraphError(resp *http.Response, now time.Time) *GraphError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error *GraphError `json:"error"`
	}
	ge := &GraphError{}
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		ge = env.Error
	} else {
		ge.unparseable = true
		ge.rawBody = channel.Excerpt(string(raw))
	}
	ge.HTTPStatus = resp.StatusCode
	if d := apichannel.RetryAfter(resp.Header.Get("Retry-After"), now); d > 0 {
		ge.RetryAfter, ge.retryAfterOK = d, true
	} else if d := regainAccess(resp.Header); d > 0 {
		ge.RetryAfter, ge.retryAfterOK = d, true
	}
	return ge
}

// regainAccess reads estimated_time_to_regain_access (minutes) from the
// X-Business-Use-Case-Usage header, the longest wait of any entry.
func regainAccess(h http.Header) time.Duration {
	v := h.Get("X-Business-Use-Case-Usage")
	if v == "" {
		return 0
	}
	var usage map[string][]struct {
		Minutes int `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(v), &usage) != nil {
		return 0
	}
	longest := 0
	for _, list := range usage {
		for _, u := range list {
			longest = max(longest, u.Minutes)
		}
	}
	return time.Duration(min(longest, 24*60)) * time.Minute
}

// platformName is the platform as a customer and an agent call it.
func platformName(kind string) string {
	if kind == KindInstagram {
		return "Instagram"
	}
	return "Facebook"
}

// outboxError turns a Graph error into what the outbox needs: whether to
// retry, when, and for a final failure a sentence the agent understands,
// followed by Meta's code, message and trace id.
func outboxError(ge *GraphError, kind string) *outbox.Error {
	app := "Messenger"
	if kind == KindInstagram {
		app = "Instagram"
	}
	e := &outbox.Error{Status: ge.HTTPStatus, Err: ge}
	temporary := func(wait time.Duration) *outbox.Error {
		e.Body = ge.Error()
		if ge.retryAfterOK {
			e.RetryAfter = ge.RetryAfter
		} else {
			e.RetryAfter = wait
		}
		return e
	}
	permanent := func(plain string) *outbox.Error {
		e.Permanent = true
		if ge.unparseable {
			e.Body = plain + " (" + ge.Error() + ")"
			return e
		}
		trace := ""
		if ge.FBTraceID != "" {
			trace = "; fbtrace_id " + ge.FBTraceID
		}
		e.Body = plain + " (Meta code " + ge.codes() + ": " + ge.Message + trace + ")"
		return e
	}
	switch {
	case ge.unparseable:
		if ge.HTTPStatus == http.StatusTooManyRequests {
			return temporary(time.Minute)
		}
		if ge.HTTPStatus >= 500 || ge.HTTPStatus == http.StatusRequestTimeout {
			return temporary(0)
		}
		return permanent(fmt.Sprintf("Meta refused the reply with HTTP %d and no explanation.", ge.HTTPStatus))
	case rateLimited(ge.Code) || (ge.Code == 4 && ge.Subcode == 2018022):
		if ge.Code == 613 {
			return temporary(time.Minute) // per-second and per-thread send limits clear quickly
		}
		return temporary(5 * time.Minute) // hourly and daily counters
	case ge.Code == 1 || ge.Code == 2 || ge.Code == 1200 || ge.IsTransient:
		return temporary(0)
	case ge.Code == 190 || ge.Code == 102:
		return permanent("The access token has expired or was revoked: reconnect the channel in Admin → Channels with a new Page access token.")
	case ge.Code == 10 && (ge.Subcode == 2018278 || ge.Subcode == 2534022):
		return permanent("The customer's messaging window has closed: " + app + " allows a human-agent reply for 7 days after the customer's last message, and nothing after that until they write again. A private reply to a comment is possible only once, within 7 days of the comment.")
	case ge.Code == 551:
		return permanent("This person isn't available right now: they may have blocked the " + pageOrAccount(kind) + ", deactivated their account or turned off messages from businesses.")
	case ge.Code == 368:
		return permanent("Meta has temporarily blocked the " + pageOrAccount(kind) + " from doing this because of a policy violation; see the Page's Support Inbox / Account Status in Meta Business Suite.")
	case ge.Code == 10 || ge.Code == 200 || ge.Code == 230 || (ge.Code >= 200 && ge.Code < 300) || ge.Code == 3:
		return permanent("Meta says the app is not allowed to do this: check that the token has the permissions listed in the channel's setup guide (and, for replies after 24 hours, the Human Agent feature).")
	case ge.Code == 100 && ge.Subcode == 2018001:
		return permanent("Meta does not know this customer for the " + pageOrAccount(kind) + ": they may have deleted their account or never written to it.")
	case ge.Code == 100 && ge.Subcode == 33:
		return permanent("The comment or post to answer no longer exists or cannot be answered (deleted, hidden, or not visible to the " + pageOrAccount(kind) + ").")
	case ge.Code == 100:
		return permanent("Meta rejected the reply as invalid.")
	}
	if ge.HTTPStatus >= 500 {
		return temporary(0)
	}
	return permanent("Meta refused the reply.")
}

func pageOrAccount(kind string) string {
	if kind == KindInstagram {
		return "Instagram account"
	}
	return "Page"
}
