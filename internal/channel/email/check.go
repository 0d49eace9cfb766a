package email

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Checker logs in to the channel's IMAP and SMTP servers and says what
// worked. Servers left unset are reported as such, not as failures, since
// a channel fed by the SMTP listener needs no IMAP.
type Checker struct {
	Poller *Poller
	Sender *Sender
}

var _ channel.Checker = (*Checker)(nil)

// Check returns a line per server; the error lists what failed.
func (c *Checker) Check(ctx context.Context, ch store.Channel) (string, error) {
	var ok, failed []string
	if strings.TrimSpace(ch.Settings[SettingIMAPHost]) == "" {
		ok = append(ok, "IMAP: not set up (mail comes through webcare's SMTP listener)")
	} else if cl, srv, err := dialIMAP(ctx, ch, nil); err != nil {
		failed = append(failed, "IMAP: "+err.Error())
	} else {
		mb := mailboxName(ch)
		st, err := cl.Status(mb, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			failed = append(failed, fmt.Sprintf("IMAP: logged in as %s on %s, but folder %q: %v", srv.user, srv.addr(), mb, err))
		} else {
			n := uint32(0)
			if st.NumMessages != nil {
				n = *st.NumMessages
			}
			ok = append(ok, fmt.Sprintf("IMAP: logged in as %s on %s; folder %q has %d mails", srv.user, srv.addr(), mb, n))
		}
		_ = cl.Logout().Wait()
		cl.Close()
	}
	if strings.TrimSpace(ch.Settings[SettingSMTPHost]) == "" {
		failed = append(failed, "SMTP: smtp_host is not set, so replies cannot be sent")
	} else if srv, err := settingsServer(ch, "smtp"); err != nil {
		failed = append(failed, "SMTP: "+err.Error())
	} else if cl, err := dialSMTP(ctx, srv); err != nil {
		failed = append(failed, "SMTP: "+err.Error())
	} else {
		who := "without login"
		if srv.user != "" {
			who = "as " + srv.user
		}
		ok = append(ok, fmt.Sprintf("SMTP: connected to %s (%s) %s", srv.addr(), srv.mode, who))
		_ = cl.Quit()
		cl.Close()
	}
	out := strings.Join(ok, "\n")
	if len(failed) > 0 {
		return out, errors.New(strings.Join(failed, "\n"))
	}
	return out, nil
}
