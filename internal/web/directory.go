package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) error {
	chs, err := s.store.Channels(r.Context())
	if err != nil {
		return err
	}
	for i := range chs {
		chs[i] = s.desk.Masked(chs[i])
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
	return writeJSON(w, http.StatusOK, s.desk.Masked(c))
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

// secrets shows a channel just made, or its new token, with the URLs to
// paste where messages come from; withHook adds the webhook URL for the
// platform's console (a rotated token changes nothing there).
func (s *Server) secrets(r *http.Request, made desk.NewChannel, withHook bool) channelSecrets {
	out := channelSecrets{Channel: s.desk.Masked(made.Channel), Token: made.Token, CallbackSecret: made.CallbackSecret,
		IngestURL: desk.IngestURL(s.publicURL(r), made.Channel.ID), Generated: made.Generated}
	if withHook {
		out.HookURL = s.desk.HookURL(s.publicURL(r), made.Channel)
	}
	return out
}

// createChannel makes a channel and shows its ingest token once.
func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) error {
	var in desk.ChannelInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	made, err := s.desk.AddChannel(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.secrets(r, made, true))
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in desk.ChannelInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.desk.UpdateChannel(r.Context(), actor(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.desk.Masked(c))
}

// rotateChannelToken replaces the ingest token; the old one stops working.
func (s *Server) rotateChannelToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	made, err := s.desk.RotateChannelToken(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.secrets(r, made, false))
}

// testChannel is "test connection": the adapter calls the platform with
// the channel's settings and says who webcare is connected as.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	res, err := s.desk.TestChannel(r.Context(), actor(r), id, s.publicURL(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": res.OK, "detail": res.Detail})
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

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	var in desk.AgentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.desk.AddAgent(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in desk.AgentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.desk.UpdateAgent(r.Context(), actor(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"teams": teams})
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in desk.TeamInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.desk.AddTeam(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in desk.TeamInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.desk.UpdateTeam(r.Context(), actor(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
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

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var t store.Template
	if err := decode(w, r, &t); err != nil {
		return err
	}
	t, err := s.desk.AddTemplate(r.Context(), actor(r), t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
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
	if t, err = s.desk.UpdateTemplate(r.Context(), actor(r), id, t); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.desk.DeleteTemplate(r.Context(), actor(r), id); err != nil {
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
	if err := desk.CheckText("name", in.Name, 1, 100); err != nil {
		return err
	}
	token, hash := auth.NewToken("wct_")
	t := store.APIToken{AgentID: agentFrom(r.Context()).ID, Name: strings.TrimSpace(in.Name), Hash: hash}
	if err := s.store.CreateAPIToken(r.Context(), &t, byAgent(r)); err != nil {
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
		if mine, err := s.ownsToken(r, me.ID, id); err != nil {
			return err
		} else if !mine {
			return errorf(http.StatusNotFound, "api token %d not found", id)
		}
	}
	if err := s.store.DeleteAPIToken(r.Context(), id, byAgent(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownsToken says whether the API token id is the agent's own.
func (s *Server) ownsToken(r *http.Request, agentID, id int64) (bool, error) {
	mine, err := s.store.APITokens(r.Context(), agentID)
	return slices.ContainsFunc(mine, func(t store.APIToken) bool { return t.ID == id }), err
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
