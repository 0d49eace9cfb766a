package telegram

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Webhook verifies and parses the Updates Telegram POSTs to
// /hooks/{channel id}.
type Webhook struct{}

var _ channel.Webhook = (*Webhook)(nil)

// Update is the part of the Bot API's Update object webcare reads. Exactly
// one of the optional fields is set in a real update.
type Update struct {
	UpdateID      int64          `json:"update_id"`
	Message       *Message       `json:"message,omitempty"`
	EditedMessage *Message       `json:"edited_message,omitempty"`
	ChannelPost   *Message       `json:"channel_post,omitempty"`
	CallbackQuery *CallbackQuery `json:"callback_query,omitempty"`
}

// Message is the part of the Bot API's Message object webcare reads.
type Message struct {
	MessageID       int64           `json:"message_id"`
	From            *User           `json:"from,omitempty"`
	Date            int64           `json:"date"`
	EditDate        int64           `json:"edit_date,omitempty"`
	Chat            Chat            `json:"chat"`
	ReplyToMessage  *Replied        `json:"reply_to_message,omitempty"`
	Text            string          `json:"text,omitempty"`
	Entities        []Entity        `json:"entities,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	CaptionEntities []Entity        `json:"caption_entities,omitempty"`
	Photo           []PhotoSize     `json:"photo,omitempty"`
	Document        *Document       `json:"document,omitempty"`
	Voice           *Media          `json:"voice,omitempty"`
	Audio           *Media          `json:"audio,omitempty"`
	Video           *Media          `json:"video,omitempty"`
	VideoNote       *Media          `json:"video_note,omitempty"`
	Animation       *Media          `json:"animation,omitempty"`
	Sticker         *Sticker        `json:"sticker,omitempty"`
	Location        *Location       `json:"location,omitempty"`
	Venue           *Venue          `json:"venue,omitempty"`
	Contact         *Contact        `json:"contact,omitempty"`
	Poll            *Poll           `json:"poll,omitempty"`
	Dice            *Dice           `json:"dice,omitempty"`
	Story           json.RawMessage `json:"story,omitempty"`
}

// Replied is the message a message answers; only who wrote it and its id
// matter, so the rest is skipped rather than decoded.
type Replied struct {
	MessageID int64 `json:"message_id"`
	From      *struct {
		ID int64 `json:"id"`
	} `json:"from,omitempty"`
}

// User is a Telegram user or bot.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// Chat is where a message was sent: "private", "group", "supergroup" or
// "channel". Group ids are negative and may need more than 32 bits.
type Chat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
}

// Entity marks a span of a text or caption; offsets count UTF-16 units.
type Entity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	User   *User  `json:"user,omitempty"` // for text_mention
}

// PhotoSize is one size of a photo; a photo comes as several sizes.
type PhotoSize struct {
	FileID   string `json:"file_id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileSize int64  `json:"file_size,omitempty"`
}

// Document is a general file.
type Document struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	FileSize int64  `json:"file_size,omitempty"`
}

// Media is what voice notes, audio, video, video notes and animations share.
type Media struct {
	FileID   string `json:"file_id"`
	Duration int64  `json:"duration,omitempty"`
	FileName string `json:"file_name,omitempty"`
	Title    string `json:"title,omitempty"`
	FileSize int64  `json:"file_size,omitempty"`
}

// Sticker is a sticker; webcare keeps only its emoji.
type Sticker struct {
	Emoji string `json:"emoji,omitempty"`
}

// Location is a point on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Venue is a named place.
type Venue struct {
	Location Location `json:"location"`
	Title    string   `json:"title"`
	Address  string   `json:"address"`
}

// Contact is a shared phone contact.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
}

// Poll is a poll; webcare keeps its question.
type Poll struct {
	Question string `json:"question"`
}

// Dice is an animated dice throw.
type Dice struct {
	Emoji string `json:"emoji"`
	Value int    `json:"value"`
}

// CallbackQuery is a press on an inline keyboard button.
type CallbackQuery struct {
	ID      string   `json:"id"`
	From    *User    `json:"from"`
	Message *Message `json:"message,omitempty"`
	Data    string   `json:"data,omitempty"`
}

// Verify compares the X-Telegram-Bot-Api-Secret-Token header with the
// channel's webhook secret in constant time.
func (w *Webhook) Verify(ch store.Channel, h http.Header, _ []byte) error {
	return w.VerifyHeader(ch, h)
}

// VerifyHeader is the whole check: Telegram's secret is a header, so a
// delivery without it is refused before its body is read.
func (*Webhook) VerifyHeader(ch store.Channel, h http.Header) error {
	got := h.Get(SecretHeader)
	if got == "" {
		return fmt.Errorf("%w: no %s header", channel.ErrUnsigned, SecretHeader)
	}
	want := ch.Settings[SettingSecret]
	if want == "" {
		return fmt.Errorf("%w: the channel has no webhook secret configured", channel.ErrBadSignature)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s does not match the channel's webhook secret", channel.ErrBadSignature, SecretHeader)
	}
	return nil
}

// Parse reads one Update. New messages and button presses become messages;
// edits become new messages that say so; channel posts, messages from
// bots (including webcare's own bot), group messages not addressed to the
// bot, service messages and update types webcare has no use for are
// skipped without error.
//
// Telegram re-delivers an update (same update_id, same content) until the
// webhook answers 2xx. Every message's PlatformID is derived from the
// update alone — "<chat_id>:<message_id>" for a new message, which is the
// one message that update_id carries; "<chat_id>:<message_id>:edit:<update_id>"
// for an edit; "callback:<callback id>" for a button — so a re-delivery
// gives the same PlatformID and ingest stores it once.
func (*Webhook) Parse(ch store.Channel, body []byte) (channel.Batch, error) {
	var u Update
	if err := json.Unmarshal(body, &u); err != nil {
		return channel.Batch{}, fmt.Errorf("%w: %v", channel.ErrPayload, err)
	}
	if u.UpdateID <= 0 {
		return channel.Batch{}, fmt.Errorf("%w: no update_id", channel.ErrPayload)
	}
	bot := bot{id: BotID(ch.Settings), username: strings.TrimPrefix(strings.TrimSpace(ch.Settings[SettingBotUsername]), "@")}
	var (
		m   channel.Message
		ok  bool
		err error
	)
	switch {
	case u.Message != nil:
		m, ok, err = bot.message(u.Message, false, u.UpdateID)
	case u.EditedMessage != nil:
		m, ok, err = bot.message(u.EditedMessage, true, u.UpdateID)
	case u.CallbackQuery != nil:
		m, ok, err = bot.callback(u.CallbackQuery)
	default:
		// channel_post, edited_channel_post and every other update type:
		// webcare serves conversations with customers, not channel feeds.
		return channel.Batch{}, nil
	}
	if err != nil {
		return channel.Batch{}, fmt.Errorf("%w: update %d: %v", channel.ErrPayload, u.UpdateID, err)
	}
	if !ok {
		return channel.Batch{}, nil
	}
	m.ChannelID = ch.ID
	return channel.Batch{Messages: []channel.Message{m}}, nil
}

type bot struct {
	id       int64
	username string
}

// PlatformID is the platform id of a message: its chat and its id there.
func PlatformID(chatID, messageID int64) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(messageID, 10)
}

// SplitPlatformID reads "<chat_id>:<message_id>" (and the longer ids of
// edits, which start the same way).
func SplitPlatformID(id string) (chatID, messageID int64, ok bool) {
	c, rest, found := strings.Cut(id, ":")
	if !found {
		return 0, 0, false
	}
	m, _, _ := strings.Cut(rest, ":")
	chatID, err1 := strconv.ParseInt(c, 10, 64)
	messageID, err2 := strconv.ParseInt(m, 10, 64)
	if err1 != nil || err2 != nil || chatID == 0 || messageID <= 0 {
		return 0, 0, false
	}
	return chatID, messageID, true
}

func (b bot) message(msg *Message, edited bool, updateID int64) (channel.Message, bool, error) {
	if msg.MessageID <= 0 || msg.Chat.ID == 0 {
		return channel.Message{}, false, fmt.Errorf("message without message_id or chat.id")
	}
	var private bool
	switch msg.Chat.Type {
	case "private":
		private = true
	case "group", "supergroup":
	case "channel":
		return channel.Message{}, false, nil
	default:
		return channel.Message{}, false, fmt.Errorf("chat.type %q", msg.Chat.Type)
	}
	if msg.From == nil || msg.From.ID == 0 {
		return channel.Message{}, false, nil // a channel or anonymous sender: no customer to answer
	}
	if msg.From.IsBot || (b.id != 0 && msg.From.ID == b.id) {
		return channel.Message{}, false, nil
	}
	if !private && !b.addressed(msg) {
		return channel.Message{}, false, nil
	}
	m := channel.Message{
		PlatformID: PlatformID(msg.Chat.ID, msg.MessageID),
		From:       author(msg.From),
		Private:    private,
	}
	if msg.Date > 0 {
		m.SentAt = time.Unix(msg.Date, 0).UTC()
	}
	if msg.ReplyToMessage != nil && msg.ReplyToMessage.MessageID > 0 {
		m.ReplyTo = PlatformID(msg.Chat.ID, msg.ReplyToMessage.MessageID)
	}
	text, files := content(msg)
	if text == "" && len(files) == 0 {
		return channel.Message{}, false, nil // a service message: someone joined, a title changed
	}
	m.Files = files
	m.Text = text
	if edited {
		// An edit is kept beside the original rather than replacing it:
		// the agent sees what changed, and a reply may already answer the
		// first version. Its id names the update, so each edit is stored
		// once however often Telegram re-delivers it.
		m.PlatformID += ":edit:" + strconv.FormatInt(updateID, 10)
		m.ReplyTo = PlatformID(msg.Chat.ID, msg.MessageID)
		m.Text = "(edited) " + text
		if msg.EditDate > 0 {
			m.SentAt = time.Unix(msg.EditDate, 0).UTC()
		}
	}
	return m, true, nil
}

// callback turns a button press into a message carrying the button's
// data: the customer chose something, and the agent should see what.
func (b bot) callback(q *CallbackQuery) (channel.Message, bool, error) {
	if q.ID == "" || q.From == nil || q.From.ID == 0 {
		return channel.Message{}, false, fmt.Errorf("callback_query without id or from")
	}
	if q.From.IsBot || q.Data == "" {
		return channel.Message{}, false, nil // games and bots: nothing for an agent
	}
	m := channel.Message{
		PlatformID: "callback:" + q.ID,
		From:       author(q.From),
		Text:       "[button] " + q.Data,
		Private:    true,
	}
	if msg := q.Message; msg != nil && msg.Chat.ID != 0 && msg.MessageID > 0 {
		m.ReplyTo = PlatformID(msg.Chat.ID, msg.MessageID)
		m.Private = msg.Chat.Type == "private"
	}
	return m, true, nil
}

// addressed reports whether a group message is meant for the bot: a reply
// to one of its messages, an @mention of its username, a mention of its
// user, or a /command@its_username.
func (b bot) addressed(msg *Message) bool {
	if r := msg.ReplyToMessage; r != nil && r.From != nil && b.id != 0 && r.From.ID == b.id {
		return true
	}
	text, entities := msg.Text, msg.Entities
	if text == "" {
		text, entities = msg.Caption, msg.CaptionEntities
	}
	var units []uint16
	for _, e := range entities {
		switch e.Type {
		case "text_mention":
			if e.User != nil && b.id != 0 && e.User.ID == b.id {
				return true
			}
		case "mention", "bot_command":
			if b.username == "" {
				continue
			}
			if units == nil {
				units = utf16.Encode([]rune(text))
			}
			if e.Offset < 0 || e.Length <= 0 || e.Offset > len(units) || e.Length > len(units)-e.Offset {
				continue
			}
			s := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
			if e.Type == "bot_command" {
				_, s, _ = strings.Cut(s, "@")
			} else {
				s = strings.TrimPrefix(s, "@")
			}
			if strings.EqualFold(s, b.username) {
				return true
			}
		}
	}
	return false
}

func author(u *User) channel.Author {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	return channel.Author{ExternalID: strconv.FormatInt(u.ID, 10), Handle: u.Username, Name: name}
}

// content is a message's text (or caption) and files; what webcare does
// not fetch (voice, video, stickers, places) becomes a short note so the
// agent knows something came.
func content(msg *Message) (string, []channel.File) {
	text := msg.Text
	if text == "" {
		text = msg.Caption
	}
	var (
		files []channel.File
		note  string
	)
	switch {
	case len(msg.Photo) > 0:
		if p, ok := largest(msg.Photo); ok {
			files = append(files, channel.File{Name: "photo.jpg", Ref: p.FileID})
		} else {
			note = "[photo too large to download]"
		}
	case msg.Document != nil && msg.Document.FileID != "":
		d := msg.Document
		if d.FileSize > DownloadLimit {
			note = fmt.Sprintf("[file %q of %s: too large to download]", d.FileName, megabytes(d.FileSize))
		} else {
			files = append(files, channel.File{Name: d.FileName, Ref: d.FileID})
		}
	case msg.Voice != nil:
		note = "[voice message" + duration(msg.Voice.Duration) + "]"
	case msg.Audio != nil:
		note = "[audio" + duration(msg.Audio.Duration) + titled(msg.Audio.Title) + "]"
	case msg.VideoNote != nil:
		note = "[video message" + duration(msg.VideoNote.Duration) + "]"
	case msg.Video != nil:
		note = "[video" + duration(msg.Video.Duration) + "]"
	case msg.Animation != nil:
		note = "[GIF]"
	case msg.Sticker != nil:
		note = strings.TrimSpace("[sticker " + msg.Sticker.Emoji + "]")
		note = strings.Replace(note, " ]", "]", 1)
	case msg.Venue != nil:
		note = fmt.Sprintf("[place: %s, %s (%.5f, %.5f)]", msg.Venue.Title, msg.Venue.Address, msg.Venue.Location.Latitude, msg.Venue.Location.Longitude)
	case msg.Location != nil:
		note = fmt.Sprintf("[location: %.5f, %.5f]", msg.Location.Latitude, msg.Location.Longitude)
	case msg.Contact != nil:
		note = fmt.Sprintf("[contact: %s, %s]", strings.TrimSpace(msg.Contact.FirstName+" "+msg.Contact.LastName), msg.Contact.PhoneNumber)
	case msg.Poll != nil:
		note = "[poll: " + msg.Poll.Question + "]"
	case msg.Dice != nil:
		note = fmt.Sprintf("[dice %s: %d]", msg.Dice.Emoji, msg.Dice.Value)
	case len(msg.Story) > 0 && string(msg.Story) != "null":
		note = "[story]"
	}
	switch {
	case note == "":
	case text == "":
		text = note
	default:
		text = note + "\n" + text
	}
	return text, files
}

// largest is the biggest size of a photo that a bot may still download.
func largest(sizes []PhotoSize) (PhotoSize, bool) {
	var best PhotoSize
	found := false
	for _, p := range sizes {
		if p.FileID == "" || p.FileSize > DownloadLimit {
			continue
		}
		if !found || p.Width*p.Height > best.Width*best.Height || (p.Width*p.Height == best.Width*best.Height && p.FileSize > best.FileSize) {
			best, found = p, true
		}
	}
	return best, found
}

func duration(s int64) string {
	if s <= 0 {
		return ""
	}
	return fmt.Sprintf(", %d:%02d", s/60, s%60)
}

func titled(t string) string {
	if t == "" {
		return ""
	}
	return ": " + t
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
