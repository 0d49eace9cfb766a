package whatsapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel/apichannel"
	"github.com/webcare/webcare/internal/outbox"
)

// graphError is the error object of a Graph API answer:
// {"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}.
type graphError struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// Error codes of the Cloud API and the Graph API it is built on, as
// documented in "Error codes" of the WhatsApp Cloud API.
const (
	codeAuthException   = 0      // could not authenticate the app user
	codeUnknown         = 1      // API unknown: possibly a server error
	codeService         = 2      // temporary: downtime or overload
	codeTooManyCalls    = 4      // application request limit reached
	codePermission      = 10     // permission denied
	codeInvalidParam    = 100    // invalid parameter
	codeTokenExpired    = 190    // access token expired or invalidated
	codePolicy          = 368    // temporarily blocked for policy violations
	codeWABARateLimit   = 80007  // WhatsApp Business Account rate limit
	codeThroughput      = 130429 // Cloud API throughput reached
	codeExperiment      = 130472 // recipient is part of an experiment
	codeGeneric         = 131000 // something went wrong
	codeParamMissing    = 131008 // required parameter missing
	codeParamInvalid    = 131009 // parameter value not valid
	codeUndeliverable   = 131026 // message undeliverable
	codeNotAllowed      = 131030 // recipient not in the test number's allowed list
	codeAccountLocked   = 131031 // business account locked
	codeSpamRateLimit   = 131048 // spam rate limit hit
	codeEcosystem       = 131049 // Meta chose not to deliver
	codeReEngagement    = 131047 // more than 24 hours since the customer last wrote
	codeUnsupportedType = 131051 // unsupported message type
	codeMediaDownload   = 131052 // media download error
	codeMediaUpload     = 131053 // media upload error
	codePairRateLimit   = 131056 // too many messages to the same customer
	codeMaintenance     = 131057 // account in maintenance (throughput upgrade)
)

// windowClosed is the plain-words reason for a closed customer window.
const windowClosed = "The customer's 24-hour window has closed: WhatsApp only lets a business send an approved template message now, and webcare does not send templates. The conversation opens again when the customer writes."

// plain says in words an agent understands what a code means and what to
// do; "" for codes without a known story.
func plain(code int) string {
	switch code {
	case codeReEngagement:
		return windowClosed
	case codeUndeliverable:
		return "WhatsApp could not deliver this message: the number may not be on WhatsApp, may have blocked the business, or may use an outdated WhatsApp."
	case codeUnsupportedType:
		return "WhatsApp does not accept this kind of message: send text, a JPEG or PNG picture, or a PDF."
	case codeTokenExpired, codeAuthException:
		return "The access token has expired or was revoked: reconnect the channel in Admin → Channels with a new token."
	case codePermission:
		return "The access token lacks the whatsapp_business_messaging permission: give it in Business Settings → System users and reconnect the channel in Admin → Channels."
	case codeInvalidParam, codeParamMissing, codeParamInvalid:
		return "WhatsApp refused the message as invalid."
	case codeNotAllowed:
		return "This test number may only message numbers on its allowed list: add the customer's number under API Setup in the App Dashboard, or connect a production number."
	case codeAccountLocked, codePolicy:
		return "Meta has restricted the WhatsApp Business Account: check Business Support Home and WhatsApp Manager."
	case codeSpamRateLimit:
		return "WhatsApp is limiting this number because too many of its messages were blocked or reported as spam: check the quality rating in WhatsApp Manager."
	case codeEcosystem, codeExperiment:
		return "WhatsApp chose not to deliver this message to the customer."
	case codeMediaDownload, codeMediaUpload:
		return "WhatsApp could not take the attached file: check its type and size."
	case codeThroughput, codeWABARateLimit, codeTooManyCalls:
		return "WhatsApp's rate limit was reached; webcare will try again."
	case codePairRateLimit:
		return "Too many messages to this customer in a short time; webcare will try again."
	case codeGeneric, codeUnknown, codeService, codeMaintenance:
		return "WhatsApp had a temporary problem."
	}
	return ""
}

// describe is the text an agent sees for a failed reply: plain words, then
// the platform's code and title.
func describe(code int, title, details string) string {
	s := plain(code)
	if s == "" {
		s = "WhatsApp refused the message."
		if d := strings.TrimSpace(details); d != "" {
			s = "WhatsApp refused the message: " + shorten(d, 200)
		}
	}
	tag := fmt.Sprintf("WhatsApp error %d", code)
	if t := strings.TrimSpace(title); t != "" {
		tag += ": " + shorten(t, 120)
	}
	return s + " (" + tag + ")"
}

// classify turns an answer that was not 2xx into an outbox error: how the
// outbox should retry, and what the agent reads when it gives up.
func classify(resp *http.Response, body []byte, now time.Time) *outbox.Error {
	e := &outbox.Error{Status: resp.StatusCode}
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || ge.Error == nil {
		e.Body = "WhatsApp answered " + resp.Status + ": " + shorten(strings.TrimSpace(string(body)), 300)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			e.RetryAfter = retryAfter(resp.Header, now, 0)
		case resp.StatusCode == http.StatusUnauthorized:
			e.Permanent = true
			e.Body = plain(codeTokenExpired) + " (HTTP " + resp.Status + ")"
		case resp.StatusCode == http.StatusRequestTimeout:
		default:
			e.Permanent = true
		}
		return e
	}
	g := ge.Error
	e.Body = describe(g.Code, g.Message, g.ErrorData.Details)
	switch g.Code {
	case codeThroughput:
		e.RetryAfter = retryAfter(resp.Header, now, 2*time.Second)
	case codePairRateLimit:
		e.RetryAfter = retryAfter(resp.Header, now, 6*time.Second) // one message per 6 s to one customer
	case codeWABARateLimit, codeTooManyCalls:
		e.RetryAfter = retryAfter(resp.Header, now, time.Minute)
	case codeGeneric, codeUnknown, codeService, codeMaintenance:
		e.RetryAfter = retryAfter(resp.Header, now, 0)
	default:
		if resp.StatusCode >= 500 {
			e.RetryAfter = retryAfter(resp.Header, now, 0)
			break
		}
		// 131047, 131026, 131051, 190, 0, 100 and the other documented
		// codes: sending the same message again gives the same answer.
		e.Permanent = true
	}
	return e
}

// retryAfter is how long to wait: Retry-After if Meta sent one, else the
// estimated_time_to_regain_access (minutes) of X-Business-Use-Case-Usage,
// else fallback.
func retryAfter(h http.Header, now time.Time, fallback time.Duration) time.Duration {
	if d := apichannel.RetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var usage map[string][]struct {
			Minutes int `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &usage) == nil {
			longest := 0
			for _, list := range usage {
				for _, u := range list {
					longest = max(longest, u.Minutes)
				}
			}
			if longest > 0 {
				return time.Duration(min(longest, 24*60)) * time.Minute
			}
		}
	}
	return fallback
}
