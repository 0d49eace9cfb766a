package web

import (
	"net/http"
	"strings"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/poll"
	"github.com/webcare/webcare/internal/store"
)

type adminChannelsView struct {
	adminChrome
	Channels  []channelRow
	Kinds     []string
	Languages []string
	Secrets   *channelSecrets // just made: shown this once
	Rotated   bool            // Secrets is a new token, not a new channel
	New       channelForm     // what was typed into a refused create form
	Tested    int64           // the channel whose connection was just checked
	Test      testResult
}

type channelRow struct {
	store.Channel
	IngestURL, CallbackURL, HookURL string
	Fields                          []fieldRow
	CanTest                         bool
	Test                            *testResult // the check just run on this channel
	Poll                            *poll.Status
	Polled                          bool // the platform is polled, not pushing
	// Open shows the settings unfolded: a channel that lacks a required
	// setting, or was just tested; the rest stay folded, so that ten
	// channels are not one very tall page.
	Open bool
}

// fieldRow is one platform setting on the admin screen; a secret's value
// is never put back into the page, only whether it is set.
type fieldRow struct {
	channel.Field
	Value  string
	Set    bool
	Hidden bool // a secret: typed, never shown
}

type testResult struct {
	OK     bool
	Detail string
}

type channelForm struct {
	Kind, Name, Locale, CallbackURL string
}

func (s *Server) showAdminChannels(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminChannels(w, r, http.StatusOK, adminChannelsView{New: channelForm{Kind: "api"}})
}

func (s *Server) renderAdminChannels(w http.ResponseWriter, r *http.Request, status int, v adminChannelsView) error {
	v.adminChrome = s.adminChrome(r, "channels", v.Error)
	v.Kinds, v.Languages = s.adapters.Kinds(), inboxLanguages
	chs, err := s.store.Channels(r.Context())
	if err != nil {
		return err
	}
	for _, c := range chs {
		row := s.channelRow(r, c)
		if c.ID == v.Tested {
			row.Test, row.Open = &v.Test, true
		}
		v.Channels = append(v.Channels, row)
	}
	return s.ui.render(w, status, s.locale(r), "admin_channels", "", v)
}

// channelRow is what the admin screen shows of a channel: how to connect
// it, its settings (secrets only as set or not), and its checks.
func (s *Server) channelRow(r *http.Request, c store.Channel) channelRow {
	ad := s.adapters.Get(c.Kind)
	row := channelRow{Channel: s.desk.Masked(c), IngestURL: desk.IngestURL(s.publicURL(r), c.ID), CallbackURL: c.Settings["callback_url"],
		HookURL: s.desk.HookURL(s.publicURL(r), c), CanTest: ad.Checker != nil || ad.Connect != nil, Polled: ad.Poller != nil}
	if st, ok := s.pollStatus(c.ID); ok && row.Polled {
		row.Poll = &st
	}
	for _, f := range ad.Fields {
		fr := fieldRow{Field: f, Set: c.Settings[f.Key] != "", Hidden: s.desk.Hidden(c.Kind, f.Key)}
		if !fr.Hidden {
			fr.Value = c.Settings[f.Key]
		}
		row.Fields = append(row.Fields, fr)
		row.Open = row.Open || (f.Required && !fr.Set && !c.Disabled)
	}
	return row
}

func (s *Server) pollStatus(id int64) (poll.Status, bool) {
	if s.polls == nil {
		return poll.Status{}, false
	}
	return s.polls(id)
}

// saveChannelSettingsFromForm saves a channel's platform settings. A secret
// left empty keeps its value: the form never holds it.
func (s *Server) saveChannelSettingsFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	c, err := s.store.Channel(r.Context(), id)
	if err != nil {
		return err
	}
	in := desk.ChannelInput{Settings: map[string]string{}}
	for _, f := range s.adapters.Get(c.Kind).Fields {
		v, sent := r.PostForm[f.Key]
		if !sent || f.Generated {
			continue
		}
		if s.desk.Hidden(c.Kind, f.Key) && strings.TrimSpace(v[0]) == "" {
			continue
		}
		in.Settings[f.Key] = v[0]
	}
	if _, err := s.desk.UpdateChannel(r.Context(), actor(r), id, in); err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminChannels(w, r, status, adminChannelsView{adminChrome: adminChrome{Error: msg}, New: channelForm{Kind: "api"}})
		})
	}
	return saved(w, r, "channels")
}

// testChannelFromForm runs "test connection" and shows the answer in the
// channel's row.
func (s *Server) testChannelFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	res, err := s.desk.TestChannel(r.Context(), actor(r), id, s.publicURL(r))
	if err != nil {
		return err
	}
	if isHTMX(r) {
		return s.ui.render(w, http.StatusOK, s.locale(r), "admin_channels", "channel-test", testResult(res))
	}
	return s.renderAdminChannels(w, r, http.StatusOK, adminChannelsView{New: channelForm{Kind: "api"}, Tested: id, Test: testResult(res)})
}

// addChannelFromForm makes a channel and shows its token once.
func (s *Server) addChannelFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	typed := channelForm{Kind: f.Get("kind"), Name: f.Get("name"), Locale: f.Get("locale"), CallbackURL: f.Get("callback_url")}
	in := desk.ChannelInput{Kind: typed.Kind, Name: &typed.Name, Locale: &typed.Locale}
	if typed.CallbackURL != "" {
		in.CallbackURL = &typed.CallbackURL
	}
	made, err := s.desk.AddChannel(r.Context(), actor(r), in)
	if err != nil {
		return s.refused(r, err, func(status int, msg string) error {
			return s.renderAdminChannels(w, r, status, adminChannelsView{adminChrome: adminChrome{Error: msg}, New: typed})
		})
	}
	shown := s.secrets(r, made, true)
	return s.renderAdminChannels(w, r, http.StatusCreated, adminChannelsView{Secrets: &shown, New: channelForm{Kind: "api"}})
}

// rotateTokenFromForm gives a channel a new token, shown once; the old one
// stops working at once.
func (s *Server) rotateTokenFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	made, err := s.desk.RotateChannelToken(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	shown := s.secrets(r, made, false)
	return s.renderAdminChannels(w, r, http.StatusOK, adminChannelsView{Secrets: &shown, Rotated: true, New: channelForm{Kind: "api"}})
}

// editChannelFromForm disables or enables a channel.
func (s *Server) editChannelFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	off := r.PostForm.Get("disabled") == "true"
	if _, err := s.desk.UpdateChannel(r.Context(), actor(r), id, desk.ChannelInput{Disabled: &off}); err != nil {
		return err
	}
	return saved(w, r, "channels")
}
