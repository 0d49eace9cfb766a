package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// inboundMessage is what an integration posts to the API channel.
type inboundMessage struct {
	ID   string `json:"id"`
	From struct {
		ID       string `json:"id"`
		Handle   string `json:"handle"`
		Name     string `json:"name"`
		Platform string `json:"platform"`
	} `json:"from"`
	Text     string    `json:"text"`
	ReplyTo  string    `json:"reply_to"`
	Private  bool      `json:"private"`
	Language string    `json:"language"`
	Subject  string    `json:"subject"`
	SentAt   time.Time `json:"sent_at"`
	// Attachments are files in base64; their types are sniffed.
	Attachments []fileJSON `json:"attachments"`
}

type ingestAnswer struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	ContactID      int64 `json:"contact_id"`
	Duplicate      bool  `json:"duplicate"`
}

// receiveMessage is the API channel: any system posts customer messages
// with the channel's token. It answers only after the message is committed,
// so a 2xx means it is safe on disk; a re-delivery answers 200 with the same
// ids and changes nothing.
func (s *Server) receiveMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ch, err := s.pipeline.Channel(r.Context(), id) // cached: every webhook needs it
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "channel %d does not exist", id)
	}
	if err != nil {
		return err
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || len(ch.TokenHash) == 0 || subtle.ConstantTimeCompare(auth.HashToken(strings.TrimSpace(token)), ch.TokenHash) != 1 {
		return errorf(http.StatusUnauthorized, "send the channel's ingest token as Authorization: Bearer <token>")
	}
	if ch.Disabled {
		return errorf(http.StatusConflict, "channel %d is disabled", id)
	}
	if !s.admit() {
		return ingest.ErrBusy // before the body is read: shedding must be cheap
	}
	defer s.ingesting.Add(-1)
	var in inboundMessage
	if err := decodeLimit(w, r, &in, maxIngestBody); err != nil {
		return err
	}
	if in.Language != "" && ingest.Language(in.Language) == "" {
		return errorf(http.StatusUnprocessableEntity, "language %q is not a language tag like en or pt-BR", channel.Clip(in.Language, 40))
	}
	msg := channel.Message{
		ChannelID: id, PlatformID: in.ID, Text: in.Text, ReplyTo: in.ReplyTo, Private: in.Private,
		Language: in.Language, Subject: in.Subject, SentAt: in.SentAt,
		From: channel.Author{Platform: in.From.Platform, ExternalID: in.From.ID, Handle: in.From.Handle, Name: in.From.Name},
	}
	for _, f := range in.Attachments {
		msg.Files = append(msg.Files, channel.File{Name: f.Name, Data: f.Data})
	}
	res, err := s.pipeline.Ingest(r.Context(), msg)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return writeJSON(w, status, ingestAnswer{MessageID: res.MessageID, ConversationID: res.ConversationID, ContactID: res.ContactID, Duplicate: res.Duplicate})
}
