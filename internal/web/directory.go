package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/store"
)

// secretSetting reports settings never shown after they were saved:
// secrets, passwords and tokens (except a verify token, which the admin
// pastes into the platform's console and the platform sends back anyway).
func secretSetting(k string) bool {
	return k != "verify_token" && (strings.HasSuffix(k, "_secret") || strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "password"))
}

// channelView hides secrets in a channel's settings: the fields its
// adapter marks secret, and anything named like a secret.
func (s *Server) channelView(c store.Channel) store.Channel {
	if len(c.Settings) > 0 {
		ad := s.adapters.Get(c.Kind)
		masked := make(map[string]string, len(c.Settings))
		for k, v := range c.Settings {
			f, _ := ad.Field(k)
			if (f.Secret || secretSetting(k)) && v != "" {
				v = "********"
			}
			masked[k] = v
		}
		c.Settings = masked
	}
	return c
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	chs, err := s.store.Channels(r.Context())
	if err != nil {
		return err
	}
	for i := range chs {
		chs[i] = s.channelView(chs[i])
	}
	return writeJSON(w, http.StatusOK, map[string]any{"channels": chs})
}

func (s *Server) showChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.store.Channel(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.channelView(c))
}

type channelInput struct {
	Kind        string  `json:"kind"`
	Name        *string `json:"name"`
	Locale      *string `json:"locale"`
	CallbackURL *string `json:"callback_url"`
	Disabled    *bool   `json:"disabled"`
	// Settings are the platform's fields (see the adapter); a key absent
	// keeps its value, "" clears it.
	Settings map[string]string `json:"settings"`
}

// channelSecrets are shown once, when made.
type channelSecrets struct {
	Channel        store.Channel `json:"channel"`
	Token          string        `json:"token,omitempty"`
	CallbackSecret string        `json:"callback_secret,omitempty"`
	IngestURL      string        `json:"ingest_url"`
	// HookURL is where the platform sends its webhooks, for the console.
	HookURL string `json:"webhook_url,omitempty"`
	// Generated are secrets webcare made for the platform's console.
	Generated map[string]string `json:"generated,omitempty"`
}

func (s *Server) applyChannel(c *store.Channel, in channelInput) error {
	if in.Name != nil {
		if err := checkText("name", *in.Name, 1, 100); err != nil {
			return err
		}
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Locale != nil {
		langs, err := checkLanguages([]string{*in.Locale})
		if *in.Locale != "" && err != nil {
			return err
		}
		if *in.Locale == "" {
			langs = []string{""}
		}
		c.Locale = langs[0]
	}
	if in.CallbackURL != nil {
		u := strings.TrimSpace(*in.CallbackURL)
		if u != "" {
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return errorf(http.StatusUnprocessableEntity, "callback_url must be an http(s) URL")
			}
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings["callback_url"] = u
	}
	if in.Disabled != nil {
		c.Disabled = *in.Disabled
	}
	if len(in.Settings) > 0 {
		ad := s.adapters.Get(c.Kind)
		// Pointing a channel at another server takes its secrets along
		// only if they are given again: otherwise whoever may edit
		// settings could send the stored token to a server of their own.
		for k, v := range in.Settings {
			if endpointSetting(k) && strings.TrimSpace(v) != c.Settings[k] {
				for _, f := range ad.Fields {
					if _, given := in.Settings[f.Key]; (f.Secret || secretSetting(f.Key)) && !f.Generated && !given {
						delete(c.Settings, f.Key)
					}
				}
			}
		}
		for k, v := range in.Settings {
			f, ok := ad.Field(k)
			if !ok {
				known := []string{}
				for _, f := range ad.Fields {
					known = append(known, f.Key)
				}
				return errorf(http.StatusUnprocessableEntity, "%s channels have no setting %q; they have: %s", c.Kind, k, strings.Join(known, ", "))
			}
			v = strings.TrimSpace(v)
			if err := checkText(f.Label, v, 0, 4096); err != nil {
				return err
			}
			if strings.HasSuffix(k, "api_base") || strings.HasSuffix(k, "_url") {
				if p, err := url.Parse(v); v != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
					return errorf(http.StatusUnprocessableEntity, "%s must be an http(s) URL", f.Label)
				}
			}
			if c.Settings == nil {
				c.Settings = map[string]string{}
			}
			if v == "" {
				delete(c.Settings, k)
			} else {
				c.Settings[k] = v
			}
		}
	}
	return nil
}

// endpointSetting reports settings that say which server webcare talks to
// with the channel's secrets.
func endpointSetting(k string) bool {
	return k == "api_base" || k == "cdn_base" || strings.HasSuffix(k, "_host") || strings.HasSuffix(k, "_port")
}

// hookURL is where a channel's platform sends webhooks; "" for platforms
// that do not push.
func (s *Server) hookURL(r *http.Request, c store.Channel) string {
	if s.adapters.Get(c.Kind).Webhook == nil {
		return ""
	}
	return s.publicURL(r) + "/hooks/" + itoa(c.ID)
}

// ingestURL is where a platform, or any system, posts a channel's messages.
func (s *Server) ingestURL(r *http.Request, id int64) string {
	return s.publicURL(r) + "/api/v1/channels/" + itoa(id) + "/messages"
}

// createChannel makes a channel and shows its ingest token once.
func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	var in channelInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	made, err := s.addChannel(r, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, made)
}

// addChannel checks and stores a new channel, for the API and the admin
// page alike; the secrets it answers are never shown again.
func (s *Server) addChannel(r *http.Request, in channelInput) (channelSecrets, error) {
	if !s.adapters.Has(in.Kind) {
		return channelSecrets{}, errorf(http.StatusUnprocessableEntity, "kind must be one of %s", strings.Join(s.adapters.Kinds(), ", "))
	}
	if in.Name == nil {
		return channelSecrets{}, errorf(http.StatusUnprocessableEntity, "name is required")
	}
	c := store.Channel{Kind: in.Kind}
	if err := s.applyChannel(&c, in); err != nil {
		return channelSecrets{}, err
	}
	token, hash := auth.NewToken("wch_")
	secret, _ := auth.NewToken("whs_")
	c.TokenHash = hash
	if c.Settings == nil {
		c.Settings = map[string]string{}
	}
	c.Settings["callback_secret"] = secret
	generated := map[string]string{}
	for _, f := range s.adapters.Get(c.Kind).Fields {
		if f.Generated && c.Settings[f.Key] == "" {
			// Letters, digits, - and _: what every platform accepts.
			v, _ := auth.NewToken("")
			c.Settings[f.Key] = v
			generated[f.Key] = v
		}
		if f.Default != "" && c.Settings[f.Key] == "" {
			c.Settings[f.Key] = f.Default
		}
	}
	if err := s.store.CreateChannel(r.Context(), &c, actor(r)); err != nil {
		return channelSecrets{}, err
	}
	return channelSecrets{Channel: s.channelView(c), Token: token, CallbackSecret: secret, IngestURL: s.ingestURL(r, c.ID),
		HookURL: s.hookURL(r, c), Generated: generated}, nil
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in channelInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.changeChannel(r, id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.channelView(c))
}

// changeChannel checks and applies a change to a channel, for the API and
// the admin page alike.
func (s *Server) changeChannel(r *http.Request, id int64, in channelInput) (store.Channel, error) {
	c, err := s.store.Channel(r.Context(), id)
	if err != nil {
		return c, err
	}
	if in.Kind != "" && in.Kind != c.Kind {
		return c, errorf(http.StatusUnprocessableEntity, "a channel's kind cannot change; make a new channel")
	}
	if err := s.applyChannel(&c, in); err != nil {
		return c, err
	}
	if err := s.store.UpdateChannel(r.Context(), &c, actor(r)); err != nil {
		return c, err
	}
	s.channelChanged(r, id)
	return c, nil
}

// channelChanged makes every instance forget its cached copy of a channel:
// this one at once, the others through the bus.
func (s *Server) channelChanged(r *http.Request, id int64) {
	s.pipeline.ForgetChannel(id)
	s.publish(r, bus.Event{Type: bus.ChannelUpdated, ChannelID: id})
}

// rotateChannelToken replaces the ingest token; the old one stops working.
func (s *Server) rotateChannelToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	made, err := s.newChannelToken(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, made)
}

// newChannelToken gives a channel a new ingest token, shown this once.
func (s *Server) newChannelToken(r *http.Request, id int64) (channelSecrets, error) {
	c, err := s.store.Channel(r.Context(), id)
	if err != nil {
		return channelSecrets{}, err
	}
	token, hash := auth.NewToken("wch_")
	c.TokenHash = hash
	if err := s.store.UpdateChannel(r.Context(), &c, actor(r)); err != nil {
		return channelSecrets{}, err
	}
	s.channelChanged(r, id)
	return channelSecrets{Channel: s.channelView(c), Token: token, IngestURL: s.ingestURL(r, c.ID)}, nil
}

// testChannel is "test connection": the adapter calls the platform with
// the channel's settings and says who webcare is connected as.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ok, detail, err := s.checkChannel(r, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": ok, "detail": detail})
}

// checkChannel runs a channel's connection check; ok false with the
// platform's answer in detail when it failed. With connect, it first
// registers the webhook where the platform's API does that.
func (s *Server) checkChannel(r *http.Request, id int64) (ok bool, detail string, err error) {
	c, err := s.store.Channel(r.Context(), id)
	if err != nil {
		return false, "", err
	}
	ad := s.adapters.Get(c.Kind)
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	var notes []string
	if ad.Connect != nil {
		learned, err := ad.Connect(ctx, c, s.hookURL(r, c))
		if err != nil {
			return false, "registering the webhook failed: " + err.Error(), nil
		}
		notes = append(notes, "webhook registered at "+s.hookURL(r, c))
		if len(learned) > 0 {
			// Read again: an edit made while the platform answered stays.
			fresh, err := s.store.Channel(r.Context(), id)
			if err != nil {
				return false, "", err
			}
			if fresh.Settings == nil {
				fresh.Settings = map[string]string{}
			}
			for k, v := range learned {
				fresh.Settings[k] = v
			}
			if err := s.store.UpdateChannel(r.Context(), &fresh, actor(r)); err != nil {
				return false, "", err
			}
			s.channelChanged(r, id)
			c = fresh
		}
	}
	if ad.Checker == nil {
		if len(notes) == 0 {
			return false, c.Kind + " channels have no connection check", nil
		}
		return true, strings.Join(notes, "; "), nil
	}
	who, err := ad.Checker.Check(ctx, c)
	if err != nil {
		return false, err.Error(), nil
	}
	return true, strings.Join(append([]string{who}, notes...), "; "), nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

func (s *Server) showAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

type agentInput struct {
	Email     *string     `json:"email"`
	Name      *string     `json:"name"`
	Role      *store.Role `json:"role"`
	Languages *[]string   `json:"languages"`
	Skills    *[]string   `json:"skills"`
	Capacity  *int        `json:"capacity"`
	TeamIDs   *[]int64    `json:"team_ids"`
	Disabled  *bool       `json:"disabled"`
	Password  *string     `json:"password"`
}

func (s *Server) applyAgent(r *http.Request, a *store.Agent, in agentInput) error {
	if in.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*in.Email))
		if !validEmail(e) {
			return errorf(http.StatusUnprocessableEntity, "email %q is not a valid address", *in.Email)
		}
		a.Email = e
	}
	if in.Name != nil {
		if err := checkText("name", *in.Name, 1, 200); err != nil {
			return err
		}
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.Role != nil {
		if !in.Role.Valid() {
			return errorf(http.StatusUnprocessableEntity, "role must be admin, supervisor, agent, volunteer or field")
		}
		a.Role = *in.Role
	}
	if in.Languages != nil {
		langs, err := checkLanguages(*in.Languages)
		if err != nil {
			return err
		}
		a.Languages = langs
	}
	if in.Skills != nil {
		skills, err := checkList("skills", *in.Skills, 50, 50)
		if err != nil {
			return err
		}
		a.Skills = skills
	}
	if in.Capacity != nil {
		if *in.Capacity < 0 || *in.Capacity > 1000 {
			return errorf(http.StatusUnprocessableEntity, "capacity must be between 0 and 1000 conversations")
		}
		a.Capacity = *in.Capacity
	}
	if in.TeamIDs != nil {
		for _, t := range *in.TeamIDs {
			if _, err := s.store.Team(r.Context(), t); errors.Is(err, store.ErrNotFound) {
				return errorf(http.StatusUnprocessableEntity, "team %d does not exist", t)
			} else if err != nil {
				return err
			}
		}
		a.TeamIDs = *in.TeamIDs
	}
	if in.Disabled != nil {
		a.Disabled = *in.Disabled
	}
	if in.Password != nil {
		hash, err := auth.HashPassword(*in.Password)
		if err != nil {
			return &Error{Status: http.StatusUnprocessableEntity, Msg: err.Error()}
		}
		a.PasswordHash = hash
	}
	return nil
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	var in agentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.addAgent(r, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

// addAgent checks and stores a new agent, for the API and the admin page
// alike.
func (s *Server) addAgent(r *http.Request, in agentInput) (store.Agent, error) {
	if in.Email == nil || in.Name == nil {
		return store.Agent{}, errorf(http.StatusUnprocessableEntity, "email and name are required")
	}
	a := store.Agent{Role: store.RoleAgent, Capacity: 10}
	if err := s.applyAgent(r, &a, in); err != nil {
		return a, err
	}
	err := s.store.CreateAgent(r.Context(), &a, actor(r))
	return a, err
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in agentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.changeAgent(r, id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// changeAgent checks and applies a change to an agent, for the API and the
// admin page alike. An admin may not lock themselves out.
func (s *Server) changeAgent(r *http.Request, id int64, in agentInput) (store.Agent, error) {
	a, err := s.store.Agent(r.Context(), id)
	if err != nil {
		return a, err
	}
	if err := s.applyAgent(r, &a, in); err != nil {
		return a, err
	}
	if me := agentFrom(r.Context()); a.ID == me.ID && (a.Disabled || a.Role != store.RoleAdmin) {
		return a, errorf(http.StatusConflict, "you cannot disable yourself or give up your own admin role; ask another admin")
	}
	err = s.store.UpdateAgent(r.Context(), &a, actor(r))
	return a, err
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"teams": teams})
}

type teamInput struct {
	Name     *string  `json:"name"`
	AgentIDs *[]int64 `json:"agent_ids"`
}

func (s *Server) applyTeam(r *http.Request, t *store.Team, in teamInput) error {
	if in.Name != nil {
		if err := checkText("name", *in.Name, 1, 100); err != nil {
			return err
		}
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.AgentIDs != nil {
		for _, id := range *in.AgentIDs {
			if _, err := s.store.Agent(r.Context(), id); errors.Is(err, store.ErrNotFound) {
				return errorf(http.StatusUnprocessableEntity, "agent %d does not exist", id)
			} else if err != nil {
				return err
			}
		}
		t.AgentIDs = *in.AgentIDs
	}
	return nil
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in teamInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.addTeam(r, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

// addTeam checks and stores a new team, for the API and the admin page.
func (s *Server) addTeam(r *http.Request, in teamInput) (store.Team, error) {
	var t store.Team
	if in.Name == nil {
		return t, errorf(http.StatusUnprocessableEntity, "name is required")
	}
	if err := s.applyTeam(r, &t, in); err != nil {
		return t, err
	}
	err := s.store.CreateTeam(r.Context(), &t, actor(r))
	return t, err
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in teamInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.changeTeam(r, id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// changeTeam checks and applies a change to a team, for the API and the
// admin page alike.
func (s *Server) changeTeam(r *http.Request, id int64, in teamInput) (store.Team, error) {
	t, err := s.store.Team(r.Context(), id)
	if err != nil {
		return t, err
	}
	if err := s.applyTeam(r, &t, in); err != nil {
		return t, err
	}
	err = s.store.UpdateTeam(r.Context(), &t, actor(r))
	return t, err
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.Templates(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"templates": ts})
}

func (s *Server) showTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.store.Template(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

var shortcutPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func checkTemplate(t *store.Template) error {
	t.Name, t.Shortcut = strings.TrimSpace(t.Name), strings.ToLower(strings.TrimSpace(t.Shortcut))
	if err := checkText("name", t.Name, 1, 100); err != nil {
		return err
	}
	if !shortcutPattern.MatchString(t.Shortcut) {
		return errorf(http.StatusUnprocessableEntity, "shortcut must be 1–32 lowercase letters, digits, - or _")
	}
	if len(t.Variants) == 0 || len(t.Variants) > 50 {
		return errorf(http.StatusUnprocessableEntity, "a template needs 1 to 50 variants")
	}
	seen := map[string]bool{}
	for i := range t.Variants {
		v := &t.Variants[i]
		langs, err := checkLanguages([]string{v.Language})
		if err != nil {
			return err
		}
		v.Language, v.Tone = langs[0], strings.ToLower(strings.TrimSpace(v.Tone))
		if err := checkText("tone", v.Tone, 0, 30); err != nil {
			return err
		}
		if err := checkText("body", v.Body, 1, 5000); err != nil {
			return err
		}
		if key := v.Language + "/" + v.Tone; seen[key] {
			return errorf(http.StatusUnprocessableEntity, "two variants for language %s and tone %q", v.Language, v.Tone)
		} else {
			seen[key] = true
		}
	}
	return nil
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var t store.Template
	if err := decode(w, r, &t); err != nil {
		return err
	}
	if err := s.addTemplate(r, &t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

// addTemplate checks and stores a new template, for the API and the admin
// page alike.
func (s *Server) addTemplate(r *http.Request, t *store.Template) error {
	t.ID, t.CreatedAt = 0, time.Time{} // the server decides these, not the client
	if err := checkTemplate(t); err != nil {
		return err
	}
	return s.store.CreateTemplate(r.Context(), t, actor(r))
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var t store.Template
	if err := decode(w, r, &t); err != nil {
		return err
	}
	if t, err = s.changeTemplate(r, id, t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// changeTemplate checks and stores a template's new content, for the API
// and the admin page alike, and answers what is stored: created_at is not
// the client's to send.
func (s *Server) changeTemplate(r *http.Request, id int64, t store.Template) (store.Template, error) {
	t.ID = id
	if err := checkTemplate(&t); err != nil {
		return t, err
	}
	if err := s.store.UpdateTemplate(r.Context(), &t, actor(r)); err != nil {
		return t, err
	}
	return s.store.Template(r.Context(), id)
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteTemplate(r.Context(), id, actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTokens shows the agent's own API tokens; an admin sees everyone's.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	me := agentFrom(r.Context())
	owner := me.ID
	if auth.Can(me.Role, auth.ManageAllAPITokens) && r.URL.Query().Get("all") == "1" {
		owner = 0
	}
	ts, err := s.store.APITokens(r.Context(), owner)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

type tokenInput struct {
	Name string `json:"name"`
}

// createToken makes an API token acting as the agent; it is shown once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in tokenInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := checkText("name", in.Name, 1, 100); err != nil {
		return err
	}
	token, hash := auth.NewToken("wct_")
	t := store.APIToken{AgentID: agentFrom(r.Context()).ID, Name: strings.TrimSpace(in.Name), Hash: hash}
	if err := s.store.CreateAPIToken(r.Context(), &t, actor(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"token": token, "api_token": t})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	me := agentFrom(r.Context())
	if !auth.Can(me.Role, auth.ManageAllAPITokens) {
		mine, err := s.store.APITokens(r.Context(), me.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(mine, func(t store.APIToken) bool { return t.ID == id }) {
			return errorf(http.StatusNotFound, "api token %d not found", id)
		}
	}
	if err := s.store.DeleteAPIToken(r.Context(), id, actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	entries, err := s.store.Audits(r.Context(), r.URL.Query().Get("subject"), before, 100)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}
