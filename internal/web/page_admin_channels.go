package web

import (
	"net/http"

	"github.com/webcare/webcare/internal/channel"
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
}

type channelRow struct {
	store.Channel
	IngestURL, CallbackURL string
}

type channelForm struct {
	Kind, Name, Locale, CallbackURL string
}

func (s *Server) showAdminChannels(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminChannels(w, r, http.StatusOK, adminChannelsView{New: channelForm{Kind: "api"}})
}

func (s *Server) renderAdminChannels(w http.ResponseWriter, r *http.Request, status int, v adminChannelsView) error {
	v.adminChrome = s.adminChrome(r, "channels", v.Error)
	v.Kinds, v.Languages = channel.Kinds, inboxLanguages
	chs, err := s.store.Channels(r.Context())
	if err != nil {
		return err
	}
	for _, c := range chs {
		// Only the callback URL of the settings is shown: the rest are
		// secrets, never shown after they were made.
		v.Channels = append(v.Channels, channelRow{Channel: channelView(c), IngestURL: s.ingestURL(r, c.ID), CallbackURL: c.Settings["callback_url"]})
	}
	return s.ui.render(w, status, s.locale(r), "admin_channels", "", v)
}

// addChannelFromForm makes a channel and shows its token once.
func (s *Server) addChannelFromForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	typed := channelForm{Kind: f.Get("kind"), Name: f.Get("name"), Locale: f.Get("locale"), CallbackURL: f.Get("callback_url")}
	in := channelInput{Kind: typed.Kind, Name: &typed.Name, Locale: &typed.Locale}
	if typed.CallbackURL != "" {
		in.CallbackURL = &typed.CallbackURL
	}
	made, err := s.addChannel(r, in)
	if err != nil {
		return refused(r, err, func(status int, msg string) error {
			return s.renderAdminChannels(w, r, status, adminChannelsView{adminChrome: adminChrome{Error: msg}, New: typed})
		})
	}
	return s.renderAdminChannels(w, r, http.StatusCreated, adminChannelsView{Secrets: &made, New: channelForm{Kind: "api"}})
}

// rotateTokenFromForm gives a channel a new token, shown once; the old one
// stops working at once.
func (s *Server) rotateTokenFromForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	made, err := s.newChannelToken(r, id)
	if err != nil {
		return err
	}
	return s.renderAdminChannels(w, r, http.StatusOK, adminChannelsView{Secrets: &made, Rotated: true, New: channelForm{Kind: "api"}})
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
	if _, err := s.changeChannel(r, id, channelInput{Disabled: &off}); err != nil {
		return err
	}
	return saved(w, r, "channels")
}
