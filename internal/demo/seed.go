package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// The demo login. It is printed on the console, so it is no secret: the
// demo runs on a throw-away database.
const (
	demoEmail    = "admin@heron.example"
	demoPassword = "heron-demo-2026"
)

// ErrNotEmpty means Seed was given a store that already holds agents or
// channels; demo data never goes into a real installation.
var ErrNotEmpty = errors.New("demo: the store is not empty")

// Seeded is what Seed made that the demo command and the simulator need.
type Seeded struct {
	Email    string // the admin's login
	Password string // the password of every demo agent
	Channels []SeededChannel
	Regulars []Regular
}

// SeededChannel is a channel with its ingest token in plain text; the store
// keeps only the hash.
type SeededChannel struct {
	Channel store.Channel
	Token   string
}

// Regular is a seeded customer the simulator can bring back, so that new
// messages land in a profile with history.
type Regular struct {
	ContactID   int64
	ChannelID   int64
	Kind        string // the channel's kind, which shapes message ids
	Platform    string // the identity namespace, as in store.Inbound
	ExternalID  string
	Handle      string
	Name        string
	Language    string
	Private     bool   // the last conversation was a DM, mail or chat
	LastReplyID string // platform id of the last reply Heron sent them, for reply_to
}

// Seed fills an empty store with Heron Airlines: teams, agents, channels with
// ingest tokens, templates and about thirty customers with a history going
// back a year before now, some of it still waiting for an answer. It
// returns ErrNotEmpty if the store already has agents or channels. Seed
// is deterministic apart from tokens and password salt, so the demo looks
// the same on every start.
func Seed(ctx context.Context, st store.Store, now time.Time) (Seeded, error) {
	if err := ensureEmpty(ctx, st); err != nil {
		return Seeded{}, err
	}
	r := rand.New(rand.NewPCG(2010, 415)) // the ash cloud: April 15th, 2010
	s := &seeder{st: st, now: now.UTC(), r: r, ids: idSource{r: r}}
	// One hash for everyone: argon2id costs ~90 ms, and the demo agents
	// share a password anyway.
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return Seeded{}, err
	}
	if err := s.teamsAndAgents(ctx, hash); err != nil {
		return Seeded{}, err
	}
	channels, err := s.channels(ctx)
	if err != nil {
		return Seeded{}, err
	}
	for _, t := range templates() {
		t.CreatedAt = s.now.Add(-400 * day)
		if err := st.CreateTemplate(ctx, &t, seedActor); err != nil {
			return Seeded{}, fmt.Errorf("demo: template %s: %w", t.Shortcut, err)
		}
		s.templates = append(s.templates, t)
	}
	if err := s.history(ctx); err != nil {
		return Seeded{}, err
	}
	return Seeded{Email: demoEmail, Password: demoPassword, Channels: channels, Regulars: s.regulars}, nil
}

// seedActor is who the audit trail says made the demo data.
var seedActor = store.Actor{Via: "system"}

func ensureEmpty(ctx context.Context, st store.Store) error {
	agents, err := st.Agents(ctx)
	if err != nil {
		return err
	}
	channels, err := st.Channels(ctx)
	if err != nil {
		return err
	}
	if len(agents) > 0 || len(channels) > 0 {
		return ErrNotEmpty
	}
	return nil
}

// agentSpec describes a demo agent; key is how stories name them.
type agentSpec struct {
	key      string
	agent    store.Agent
	teamKeys []string
}

// Team names.
const (
	teamNL     = "Webcare NL"
	teamIntl   = "Webcare International"
	teamCrisis = "Crisis volunteers"
)

func agentSpecs() []agentSpec {
	a := func(name, email string, role store.Role, presence store.Presence, capacity int, langs, skills []string) store.Agent {
		return store.Agent{Name: name, Email: email, Role: role, Presence: presence, Capacity: capacity, Languages: langs, Skills: skills}
	}
	return []agentSpec{
		{"femke", a("Femke de Wit", demoEmail, store.RoleAdmin, store.Online, 4, []string{"nl", "en"}, []string{"reporting", "crisis"}), []string{teamNL, teamCrisis}},
		{"ruben", a("Ruben Hoekstra", "ruben@heron.example", store.RoleSupervisor, store.Online, 6, []string{"nl", "en", "de"}, []string{"escalation", "crisis", "press"}), []string{teamNL, teamIntl, teamCrisis}},
		{"lotte", a("Lotte Bakker", "lotte@heron.example", store.RoleAgent, store.Online, 8, []string{"nl", "en"}, []string{"baggage", "rebooking", "slang"}), []string{teamNL}},
		{"jonas", a("Jonas Keller", "jonas@heron.example", store.RoleAgent, store.Online, 8, []string{"de", "en", "nl", "pl"}, []string{"rebooking", "refunds"}), []string{teamIntl}},
		{"ines", a("Inès Garnier", "ines@heron.example", store.RoleAgent, store.Away, 8, []string{"fr", "es", "it", "pt", "en"}, []string{"baggage", "complaints"}), []string{teamIntl}},
		{"yuki", a("Yuki Tanaka", "yuki@heron.example", store.RoleAgent, store.Offline, 6, []string{"ja", "ko", "zh", "en"}, []string{"asia", "special-assistance"}), []string{teamIntl}},
		// A colleague from HR, trained for crises (seed 002: 150+ volunteers in 2010).
		{"pieter", a("Pieter Smit", "pieter@heron.example", store.RoleVolunteer, store.Offline, 4, []string{"nl", "en"}, []string{"crisis"}), []string{teamCrisis}},
		// A purser who answers forwarded questions from her phone aboard.
		{"marloes", a("Marloes Visser", "marloes@heron.example", store.RoleField, store.Offline, 3, []string{"nl", "en", "fr"}, []string{"purser", "inflight"}), nil},
	}
}

func (s *seeder) teamsAndAgents(ctx context.Context, passwordHash string) error {
	s.teams = map[string]int64{}
	for _, name := range []string{teamNL, teamIntl, teamCrisis} {
		t := store.Team{Name: name, CreatedAt: s.now.Add(-400 * day)}
		if err := s.st.CreateTeam(ctx, &t, seedActor); err != nil {
			return fmt.Errorf("demo: team %s: %w", name, err)
		}
		s.teams[name] = t.ID
	}
	s.agents = map[string]store.Agent{}
	for _, spec := range agentSpecs() {
		a := spec.agent
		a.PasswordHash = passwordHash
		a.CreatedAt = s.now.Add(-400 * day)
		for _, k := range spec.teamKeys {
			a.TeamIDs = append(a.TeamIDs, s.teams[k])
		}
		if err := s.st.CreateAgent(ctx, &a, seedActor); err != nil {
			return fmt.Errorf("demo: agent %s: %w", a.Email, err)
		}
		s.agents[spec.key] = a
		s.agentKeys = append(s.agentKeys, spec.key)
	}
	return nil
}

// channelSpecs are Heron's accounts, one per kind of channel webcare knows.
// Locale is the language most customers of the channel write in; the X and
// Instagram accounts are international.
func channelSpecs() []store.Channel {
	return []store.Channel{
		{Kind: "x", Name: "@HeronAir on X", Settings: map[string]string{"handle": "@HeronAir"}},
		{Kind: "facebook", Name: "Heron Airlines on Facebook", Locale: "nl", Settings: map[string]string{"page": "Heron Airlines"}},
		{Kind: "instagram", Name: "@heronair on Instagram", Settings: map[string]string{"handle": "@heronair"}},
		{Kind: "whatsapp", Name: "WhatsApp +31 6 1234 0000", Locale: "nl", Settings: map[string]string{"phone": "+31 6 1234 0000"}},
		{Kind: "telegram", Name: "@HeronAirBot on Telegram", Locale: "en", Settings: map[string]string{"bot": "@HeronAirBot"}},
		{Kind: "mastodon", Name: "@HeronAir@mastodon.example", Locale: "en", Settings: map[string]string{"handle": "@HeronAir@mastodon.example"}},
		{Kind: "bluesky", Name: "@heronair.bsky.example on Bluesky", Locale: "en", Settings: map[string]string{"handle": "heronair.bsky.example"}},
		{Kind: "email", Name: "care@heron.example", Locale: "nl", Settings: map[string]string{"address": "care@heron.example"}},
		{Kind: "webchat", Name: "Chat on heron.example", Locale: "nl", Settings: map[string]string{"site": "https://heron.example"}},
		{Kind: "api", Name: "Booking system", Locale: "nl", Settings: map[string]string{"source": "Manage my booking contact form"}},
	}
}

func (s *seeder) channels(ctx context.Context) ([]SeededChannel, error) {
	s.byKind = map[string]store.Channel{}
	var out []SeededChannel
	for _, c := range channelSpecs() {
		token, hash := auth.NewToken("wch_")
		c.TokenHash = hash
		c.CreatedAt = s.now.Add(-400 * day)
		if err := s.st.CreateChannel(ctx, &c, seedActor); err != nil {
			return nil, fmt.Errorf("demo: channel %s: %w", c.Name, err)
		}
		s.byKind[c.Kind] = c
		out = append(out, SeededChannel{Channel: c, Token: token})
	}
	return out, nil
}

// platformOf is the identity namespace of a channel's customers. A customer
// id on X means the same person on every X channel; an API feed's ids mean
// something only within that feed, so its namespace carries the channel id
// (the "api:7" of store.Inbound).
func platformOf(c store.Channel) string {
	if c.Kind == "api" {
		return fmt.Sprintf("api:%d", c.ID)
	}
	return c.Kind
}

// speakers lists the keys of agents who answer customers in lang (not
// volunteers or field staff, who join only in a crisis or on request).
func (s *seeder) speakers(lang string) []string {
	var keys []string
	for _, k := range s.agentKeys {
		a := s.agents[k]
		if (a.Role == store.RoleAgent || a.Role == store.RoleSupervisor) && slices.Contains(a.Languages, lang) {
			keys = append(keys, k)
		}
	}
	return keys
}

// teamFor is the queue a conversation in lang goes to.
func (s *seeder) teamFor(lang string) int64 {
	if lang == "nl" {
		return s.teams[teamNL]
	}
	return s.teams[teamIntl]
}
