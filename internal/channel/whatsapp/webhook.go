package whatsapp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/channel/meta"
	"github.com/webcare/webcare/internal/store"
)

// Webhook receives the Cloud API's webhooks for a channel: Meta's
// verification GET, then signed POSTs of the messages field.
type Webhook struct{}

var (
	_ channel.Webhook    = (*Webhook)(nil)
	_ channel.Challenger = (*Webhook)(nil)
)

// maxID bounds every id a payload carries; longer ones are not Meta's.
const maxID = 512

// Challenge answers the GET Meta sends when the callback URL is saved in
// the App Dashboard, with the channel's verify token.
func (*Webhook) Challenge(ch store.Channel, q url.Values) (string, []byte, error) {
	return meta.Challenge(ch.Settings[SettingVerifyToken], q)
}

// Verify checks X-Hub-Signature-256 under the channel's app secret.
func (*Webhook) Verify(ch store.Channel, h http.Header, body []byte) error {
	return meta.VerifySignature(ch.Settings[SettingAppSecret], h, body)
}

// VerifyHeader refuses an unsigned delivery before its body is read.
func (*Webhook) VerifyHeader(ch store.Channel, h http.Header) error {
	return meta.VerifySignatureHeader(ch.Settings[SettingAppSecret], h)
}

// The payload, as documented in the WhatsApp Cloud API's webhook reference
// ("messages" field of the whatsapp_business_account object). Only what
// webcare uses is decoded.
type (
	payload struct {
		Object string  `json:"object"`
		Entry  []entry `json:"entry"`
	}
	entry struct {
		ID      string   `json:"id"` // the WhatsApp Business Account id
		Changes []change `json:"changes"`
	}
	change struct {
		Field string `json:"field"`
		Value value  `json:"value"`
	}
	value struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []contact `json:"contacts"`
		Messages []message `json:"messages"`
		Statuses []status  `json:"statuses"`
	}
	contact struct {
		WaID    string `json:"wa_id"`
		UserID  string `json:"user_id"` // business-scoped user id (BSUID), 2026 on
		Profile struct {
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"profile"`
	}
	message struct {
		ID         string `json:"id"`
		From       string `json:"from"`         // the customer's phone number; may be absent for users with a username
		FromUserID string `json:"from_user_id"` // BSUID
		Timestamp  string `json:"timestamp"`    // Unix seconds
		Type       string `json:"type"`
		Context    *struct {
			ID string `json:"id"`
		} `json:"context"`
		Text *struct {
			Body string `json:"body"`
		} `json:"text"`
		Image       *media       `json:"image"`
		Video       *media       `json:"video"`
		Audio       *media       `json:"audio"`
		Document    *media       `json:"document"`
		Sticker     *media       `json:"sticker"`
		Location    *location    `json:"location"`
		Contacts    []card       `json:"contacts"`
		Interactive *interactive `json:"interactive"`
		Button      *struct {
			Text    string `json:"text"`
			Payload string `json:"payload"`
		} `json:"button"`
		Reaction *struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		} `json:"reaction"`
		System *struct {
			Body string `json:"body"`
		} `json:"system"`
		Order *struct {
			Text         string            `json:"text"`
			ProductItems []json.RawMessage `json:"product_items"`
		} `json:"order"`
		Unsupported *struct {
			Type string `json:"type"`
		} `json:"unsupported"`
		Errors []apiError `json:"errors"`
	}
	media struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
		Voice    bool   `json:"voice"`
	}
	location struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		URL       string  `json:"url"`
	}
	card struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
		Emails []struct {
			Email string `json:"email"`
		} `json:"emails"`
	}
	interactive struct {
		Type        string  `json:"type"`
		ButtonReply *choice `json:"button_reply"`
		ListReply   *choice `json:"list_reply"`
		NfmReply    *struct {
			Body string `json:"body"`
			Name string `json:"name"`
		} `json:"nfm_reply"`
	}
	choice struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	status struct {
		ID          string     `json:"id"`
		Status      string     `json:"status"`
		Timestamp   string     `json:"timestamp"`
		RecipientID string     `json:"recipient_id"`
		Errors      []apiError `json:"errors"`
	}
	// apiError is an entry of errors[] in webhooks; the error object of API
	// answers has the same code, message and error_data.
	apiError struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	}
)

// Parse turns a messages webhook into customers' messages and the delivery
// states of webcare's replies. A message or status that cannot be read is
// skipped and named in Batch.Skipped; the rest of the delivery is kept. Changes of other fields (template status,
// account updates, coexistence echoes of messages the business sent from
// the WhatsApp Business app) carry nothing for the inbox and are skipped.
func (*Webhook) Parse(ch store.Channel, body []byte) (channel.Batch, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return channel.Batch{}, fmt.Errorf("%w: %v", channel.ErrPayload, err)
	}
	if p.Object != "whatsapp_business_account" {
		return channel.Batch{}, fmt.Errorf("%w: object is %q, not whatsapp_business_account", channel.ErrPayload, shorten(p.Object, 40))
	}
	var b channel.Batch
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" {
				continue
			}
			parseValue(ch, &c.Value, &b)
		}
	}
	return b, nil
}

func parseValue(ch store.Channel, v *value, b *channel.Batch) {
	account := v.Metadata.PhoneNumberID
	if len(account) > maxID {
		b.Skip("phone_number_id of %d bytes", len(account))
		return
	}
	for i := range v.Messages {
		m := &v.Messages[i]
		if m.ID == "" || len(m.ID) > maxID {
			b.Skip("message %d has no usable id", i)
			continue
		}
		from := m.From
		if from == "" {
			from = m.FromUserID
		}
		if from == "" || len(from) > maxID {
			b.Skip("message %s has no usable sender", shorten(m.ID, 40))
			continue
		}
		if v.Metadata.DisplayPhoneNumber != "" && digits(from) == digits(v.Metadata.DisplayPhoneNumber) {
			continue // the business's own number: not a customer
		}
		at, err := unixTime(m.Timestamp)
		if err != nil {
			at = time.Time{} // ingest takes the time it arrived; the words matter more
		}
		text, files, replyTo, keep := content(m)
		if !keep {
			continue
		}
		if m.Context != nil && m.Context.ID != "" && replyTo == "" {
			replyTo = m.Context.ID
		}
		if len(replyTo) > maxID {
			replyTo = "" // kept as a message of its own
		}
		b.Messages = append(b.Messages, channel.Message{
			ChannelID:  ch.ID,
			PlatformID: m.ID,
			From:       author(from, m, v.Contacts),
			Text:       text,
			ReplyTo:    replyTo,
			Private:    true,
			SentAt:     at,
			Files:      files,
			Account:    account,
		})
	}
	for i := range v.Statuses {
		s := &v.Statuses[i]
		if s.ID == "" || len(s.ID) > maxID {
			b.Skip("status %d has no usable id", i)
			continue
		}
		at, err := unixTime(s.Timestamp)
		if err != nil {
			b.Skip("status of %s: %v", shorten(s.ID, 40), err)
			continue
		}
		st := channel.Status{PlatformID: s.ID, At: at, Account: account}
		switch s.Status {
		case "delivered":
			st.State = store.Delivered
		case "read", "played": // played: a voice message was listened to, so it was seen
			st.State = store.Read
		case "failed":
			st.State = store.Failed
			st.Error = "WhatsApp could not deliver this message."
			if len(s.Errors) > 0 {
				e := s.Errors[0]
				st.Error = describe(e.Code, firstOf(e.Title, e.Message), e.ErrorData.Details)
			}
		default:
			// "sent" is what Send's answer already said; other states
			// (deleted, warning) have no place in a reply's delivery.
			continue
		}
		b.Statuses = append(b.Statuses, st)
	}
}

// author names the customer: their phone number (wa_id) as the identity,
// or, for a user who hides it behind a username, the business-scoped user
// id; the profile name from contacts[].
func author(from string, m *message, contacts []contact) channel.Author {
	a := channel.Author{ExternalID: from}
	for i := range contacts {
		c := &contacts[i]
		if (c.WaID != "" && (c.WaID == m.From || c.WaID == from)) || (c.UserID != "" && (c.UserID == m.FromUserID || c.UserID == from)) || len(contacts) == 1 {
			a.Name = c.Profile.Name
			if c.Profile.Username != "" {
				a.Handle = "@" + strings.TrimPrefix(c.Profile.Username, "@")
			}
			break
		}
	}
	if a.Handle == "" && m.From != "" && isDigits(m.From) {
		a.Handle = "+" + m.From
	}
	return a
}

// content is what a message of each documented type says, in words an
// agent reads, and the files to fetch. keep is false for events that are
// not something the customer said (a reaction taken back, the "welcome"
// request of a first chat).
func content(m *message) (text string, files []channel.File, replyTo string, keep bool) {
	switch m.Type {
	case "text":
		if m.Text != nil {
			text = m.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		md := mediaOf(m)
		if md == nil || md.ID == "" {
			return note(article(m.Type) + " that WhatsApp did not pass on"), nil, "", true
		}
		text = md.Caption
		files = []channel.File{{Name: mediaName(m.Type, md), Ref: md.ID}}
	case "location":
		if l := m.Location; l != nil {
			text = locationText(l)
		} else {
			text = "Shared a location."
		}
	case "contacts":
		text = contactsText(m.Contacts)
	case "interactive":
		text = interactiveText(m.Interactive)
	case "button":
		if m.Button != nil {
			text = firstOf(m.Button.Text, m.Button.Payload)
		}
	case "reaction":
		// Kept as a short message: a 👍 or 😡 on an agent's reply is the
		// customer's answer to it. An empty emoji means the reaction was
		// taken back: nothing to show.
		if m.Reaction == nil || strings.TrimSpace(m.Reaction.Emoji) == "" {
			return "", nil, "", false
		}
		return "Reacted " + m.Reaction.Emoji + " to a message.", nil, m.Reaction.MessageID, true
	case "system":
		if m.System != nil {
			text = m.System.Body
		}
	case "order":
		if o := m.Order; o != nil {
			text = fmt.Sprintf("Sent an order of %d item(s) from the catalogue.", len(o.ProductItems))
			if o.Text != "" {
				text += "\n" + o.Text
			}
		}
	case "request_welcome":
		return "", nil, "", false
	case "unsupported", "unknown":
		kind := ""
		if m.Unsupported != nil {
			kind = m.Unsupported.Type
		}
		return unsupportedNote(kind, m.Errors), nil, "", true
	default:
		return unsupportedNote(m.Type, m.Errors), nil, "", true
	}
	if strings.TrimSpace(text) == "" && len(files) == 0 {
		text = unsupportedNote(m.Type, m.Errors)
	}
	return text, files, "", true
}

func mediaOf(m *message) *media {
	switch m.Type {
	case "image":
		return m.Image
	case "video":
		return m.Video
	case "audio":
		return m.Audio
	case "document":
		return m.Document
	case "sticker":
		return m.Sticker
	}
	return nil
}

// mediaName is the file name to show: the customer's own for documents,
// otherwise a plain word with the extension of the media's type.
func mediaName(kind string, md *media) string {
	if kind == "document" && strings.TrimSpace(md.Filename) != "" {
		return md.Filename
	}
	base := map[string]string{"image": "photo", "video": "video", "audio": "audio", "sticker": "sticker", "document": "document"}[kind]
	if kind == "audio" && md.Voice {
		base = "voice message"
	}
	return base + extension(md.MimeType)
}

// extension knows the types the Cloud API documents as supported media.
func extension(mimeType string) string {
	t, _, _ := strings.Cut(mimeType, ";")
	switch strings.TrimSpace(strings.ToLower(t)) {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "video/mp4":
		return ".mp4"
	case "video/3gpp", "video/3gp":
		return ".3gp"
	case "audio/ogg":
		return ".ogg"
	case "audio/mpeg":
		return ".mp3"
	case "audio/mp4":
		return ".m4a"
	case "audio/aac":
		return ".aac"
	case "audio/amr":
		return ".amr"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	}
	return ""
}

func locationText(l *location) string {
	var s strings.Builder
	s.WriteString("Shared a location")
	if place := strings.TrimSpace(strings.Join(nonEmpty(l.Name, l.Address), ", ")); place != "" {
		s.WriteString(": " + place)
	}
	fmt.Fprintf(&s, " (%s, %s)\nhttps://www.openstreetmap.org/?mlat=%[1]s&mlon=%[2]s",
		strconv.FormatFloat(l.Latitude, 'f', -1, 64), strconv.FormatFloat(l.Longitude, 'f', -1, 64))
	if l.URL != "" {
		s.WriteString("\n" + l.URL)
	}
	return s.String()
}

func contactsText(cards []card) string {
	if len(cards) == 0 {
		return "Shared a contact."
	}
	lines := make([]string, 0, len(cards))
	for _, c := range cards {
		parts := nonEmpty(c.Name.FormattedName)
		for _, p := range c.Phones {
			parts = append(parts, nonEmpty(p.Phone)...)
		}
		for _, e := range c.Emails {
			parts = append(parts, nonEmpty(e.Email)...)
		}
		if len(parts) == 0 {
			parts = []string{"(no details)"}
		}
		lines = append(lines, "Shared a contact: "+strings.Join(parts, ", "))
	}
	return strings.Join(lines, "\n")
}

// interactiveText is what the customer tapped: the title of the button or
// list row is what they said.
func interactiveText(in *interactive) string {
	if in == nil {
		return ""
	}
	switch {
	case in.ButtonReply != nil:
		return in.ButtonReply.Title
	case in.ListReply != nil:
		if in.ListReply.Description != "" {
			return in.ListReply.Title + " — " + in.ListReply.Description
		}
		return in.ListReply.Title
	case in.NfmReply != nil:
		return firstOf(in.NfmReply.Body, "Sent a form.")
	}
	return ""
}

// unsupportedNote stands in for a message WhatsApp does not pass on (a
// poll, a view-once photo): the customer wrote something, and the agent
// should know to ask for it another way rather than see nothing.
func unsupportedNote(kind string, errs []apiError) string {
	what := "a kind of message"
	if k := strings.TrimSpace(kind); k != "" && k != "unsupported" && k != "unknown" {
		what = "a " + shorten(k, 40) + " message"
	}
	s := "The customer sent " + what + " that WhatsApp does not pass on to webcare; ask them to send it as text or a photo."
	if len(errs) > 0 && errs[0].Code != 0 {
		s += fmt.Sprintf(" (WhatsApp error %d)", errs[0].Code)
	}
	return "[" + s + "]"
}

// article puts "a" or "an" before a media type's name.
func article(kind string) string {
	if kind == "image" || kind == "audio" {
		return "an " + kind
	}
	return "a " + kind
}

func note(what string) string {
	return "[The customer sent " + what + ".]"
}

// unixTime reads the payload's Unix seconds; empty means unknown (the
// receiving side uses the time of arrival).
func unixTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 253402300799 { // up to the year 9999
		return time.Time{}, fmt.Errorf("timestamp %q is not Unix seconds", shorten(s, 40))
	}
	return time.Unix(n, 0).UTC(), nil
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func nonEmpty(ss ...string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// shorten cuts s to n bytes for error messages, on a character boundary.
func shorten(s string, n int) string {
	if c := channel.Clip(s, n); len(c) < len(s) {
		return c + "…"
	}
	return s
}
