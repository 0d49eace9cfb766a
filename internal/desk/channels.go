package desk

import (
	"context"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// ChannelInput adds or changes a channel; nil fields stay.
type ChannelInput struct {
	Kind        string  `json:"kind"`
	Name        *string `json:"name"`
	Locale      *string `json:"locale"`
	CallbackURL *string `json:"callback_url"`
	Disabled    *bool   `json:"disabled"`
	// Settings are the platform's fields (see the adapter); a key absent
	// keeps its value, "" clears it.
	Settings map[string]string `json:"settings"`
}

// NewChannel is a channel with the secrets made for it, shown this once.
type NewChannel struct {
	Channel        store.Channel
	Token          string // the ingest token
	CallbackSecret string // signs replies posted to an api channel's callback; "" after a rotation
	// Generated are secrets webcare made for the platform's console.
	Generated map[string]string
}

// SecretSetting reports settings never shown after they were saved:
// secrets, passwords and tokens (except a verify token, which the admin
// pastes into the platform's console and the platform sends back anyway).
func SecretSetting(k string) bool {
	return k != "verify_token" && (strings.HasSuffix(k, "_secret") || strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "password"))
}

// Hidden reports whether a channel setting of kind is never shown again
// once saved: the fields its adapter marks secret, and anything named
// like a secret.
func (d *Desk) Hidden(kind, key string) bool {
	f, _ := d.adapters.Get(kind).Field(key)
	return f.Secret || SecretSetting(key)
}

// Masked is the channel as anyone but the store may see it: secrets set
// are "********".
func (d *Desk) Masked(c store.Channel) store.Channel {
	if len(c.Settings) > 0 {
		masked := make(map[string]string, len(c.Settings))
		for k, v := range c.Settings {
			if v != "" && d.Hidden(c.Kind, k) {
				v = "********"
			}
			masked[k] = v
		}
		c.Settings = masked
	}
	return c
}

// AddChannel checks and stores a new channel and makes its secrets: the
// ingest token, the callback secret and whatever the platform's console
// needs from webcare (a verify token).
func (d *Desk) AddChannel(ctx context.Context, a Actor, in ChannelInput) (NewChannel, error) {
	if err := a.require(auth.ManageChannels); err != nil {
		return NewChannel{}, err
	}
	if !d.adapters.Has(in.Kind) {
		return NewChannel{}, invalid("kind must be one of %s", strings.Join(d.adapters.Kinds(), ", "))
	}
	if in.Name == nil {
		return NewChannel{}, invalid("name is required")
	}
	c := store.Channel{Kind: in.Kind}
	if err := d.applyChannel(&c, in); err != nil {
		return NewChannel{}, err
	}
	token, hash := auth.NewToken("wch_")
	secret, _ := auth.NewToken("whs_")
	c.TokenHash = hash
	if c.Settings == nil {
		c.Settings = map[string]string{}
	}
	c.Settings["callback_secret"] = secret
	generated := map[string]string{}
	for _, f := range d.adapters.Get(c.Kind).Fields {
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
	if err := d.store.CreateChannel(ctx, &c, a.record()); err != nil {
		return NewChannel{}, err
	}
	return NewChannel{Channel: c, Token: token, CallbackSecret: secret, Generated: generated}, nil
}

// UpdateChannel checks and applies a change to a channel; every instance
// drops its cached copy at once.
func (d *Desk) UpdateChannel(ctx context.Context, a Actor, id int64, in ChannelInput) (store.Channel, error) {
	if err := a.require(auth.ManageChannels); err != nil {
		return store.Channel{}, err
	}
	c, err := d.store.Channel(ctx, id)
	if err != nil {
		return c, err
	}
	if in.Kind != "" && in.Kind != c.Kind {
		return c, invalid("a channel's kind cannot change; make a new channel")
	}
	if err := d.applyChannel(&c, in); err != nil {
		return c, err
	}
	if err := d.store.UpdateChannel(ctx, &c, a.record()); err != nil {
		return c, err
	}
	d.channelChanged(ctx, id)
	return c, nil
}

func (d *Desk) applyChannel(c *store.Channel, in ChannelInput) error {
	if in.Name != nil {
		if err := CheckText("name", *in.Name, 1, 100); err != nil {
			return err
		}
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Locale != nil {
		c.Locale = ""
		if strings.TrimSpace(*in.Locale) != "" {
			langs, err := CheckLanguages([]string{*in.Locale})
			if err != nil {
				return err
			}
			c.Locale = langs[0]
		}
	}
	if in.CallbackURL != nil {
		u := strings.TrimSpace(*in.CallbackURL)
		if u != "" && !httpURL(u) {
			return invalid("callback_url must be an http(s) URL")
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings["callback_url"] = u
	}
	if in.Disabled != nil {
		c.Disabled = *in.Disabled
	}
	if len(in.Settings) == 0 {
		return nil
	}
	ad := d.adapters.Get(c.Kind)
	// Pointing a channel at another server takes its secrets along only
	// if they are given again: otherwise whoever may edit settings could
	// send the stored token to a server of their own.
	for k, v := range in.Settings {
		if endpointSetting(k) && strings.TrimSpace(v) != c.Settings[k] {
			for _, f := range ad.Fields {
				if _, given := in.Settings[f.Key]; (f.Secret || SecretSetting(f.Key)) && !f.Generated && !given {
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
			return invalid("%s channels have no setting %q; they have: %s", c.Kind, k, strings.Join(known, ", "))
		}
		v = strings.TrimSpace(v)
		if err := CheckText(f.Label, v, 0, 4096); err != nil {
			return err
		}
		if (strings.HasSuffix(k, "api_base") || strings.HasSuffix(k, "_url")) && v != "" && !httpURL(v) {
			return invalid("%s must be an http(s) URL", f.Label)
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
	return nil
}

func httpURL(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// endpointSetting reports settings that say which server webcare talks to
// with the channel's secrets.
func endpointSetting(k string) bool {
	return k == "api_base" || k == "cdn_base" || strings.HasSuffix(k, "_host") || strings.HasSuffix(k, "_port")
}

// RotateChannelToken gives a channel a new ingest token, shown this once;
// the old one stops working on every instance at once.
func (d *Desk) RotateChannelToken(ctx context.Context, a Actor, id int64) (NewChannel, error) {
	if err := a.require(auth.ManageChannels); err != nil {
		return NewChannel{}, err
	}
	c, err := d.store.Channel(ctx, id)
	if err != nil {
		return NewChannel{}, err
	}
	token, hash := auth.NewToken("wch_")
	c.TokenHash = hash
	if err := d.store.UpdateChannel(ctx, &c, a.record()); err != nil {
		return NewChannel{}, err
	}
	d.channelChanged(ctx, id)
	return NewChannel{Channel: c, Token: token}, nil
}

// HookURL is where a channel's platform sends webhooks, below base (the
// public URL of webcare); "" for platforms that do not push.
func (d *Desk) HookURL(base string, c store.Channel) string {
	if d.adapters.Get(c.Kind).Webhook == nil {
		return ""
	}
	return base + "/hooks/" + strconv.FormatInt(c.ID, 10)
}

// IngestURL is where a platform, or any system, posts a channel's
// messages, below base.
func IngestURL(base string, id int64) string {
	return base + "/api/v1/channels/" + strconv.FormatInt(id, 10) + "/messages"
}

// ChannelTest is what "test connection" found.
type ChannelTest struct {
	OK     bool
	Detail string // who webcare is connected as, or the platform's answer
}

// TestChannel is "test connection": where the platform's API registers
// webhooks, it registers base's hook URL first (keeping what it learned,
// such as the bot's id, and announcing the change); then the adapter calls
// the platform with the channel's settings. A platform that refuses is
// OK false with its answer, not an error.
func (d *Desk) TestChannel(ctx context.Context, a Actor, id int64, base string) (ChannelTest, error) {
	if err := a.require(auth.ManageChannels); err != nil {
		return ChannelTest{}, err
	}
	c, err := d.store.Channel(ctx, id)
	if err != nil {
		return ChannelTest{}, err
	}
	ad := d.adapters.Get(c.Kind)
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var notes []string
	if ad.Connect != nil {
		hook := d.HookURL(base, c)
		learned, err := ad.Connect(pctx, c, hook)
		if err != nil {
			return ChannelTest{Detail: "registering the webhook failed: " + err.Error()}, nil
		}
		notes = append(notes, "webhook registered at "+hook)
		if len(learned) > 0 {
			// Read again: an edit made while the platform answered stays.
			fresh, err := d.store.Channel(ctx, id)
			if err != nil {
				return ChannelTest{}, err
			}
			if fresh.Settings == nil {
				fresh.Settings = map[string]string{}
			}
			maps.Copy(fresh.Settings, learned)
			if err := d.store.UpdateChannel(ctx, &fresh, a.record()); err != nil {
				return ChannelTest{}, err
			}
			d.channelChanged(ctx, id)
			c = fresh
		}
	}
	if ad.Checker == nil {
		if len(notes) == 0 {
			return ChannelTest{Detail: c.Kind + " channels have no connection check"}, nil
		}
		return ChannelTest{OK: true, Detail: strings.Join(notes, "; ")}, nil
	}
	who, err := ad.Checker.Check(pctx, c)
	if err != nil {
		return ChannelTest{Detail: err.Error()}, nil
	}
	return ChannelTest{OK: true, Detail: strings.Join(append([]string{who}, notes...), "; ")}, nil
}
