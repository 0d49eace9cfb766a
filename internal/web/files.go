package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/channel"
)

// fileJSON is a file in a JSON body: the API channel's inbound messages and
// the reply endpoint. The type is sniffed from the bytes, never taken from
// the sender.
type fileJSON struct {
	Name string `json:"name"`
	Data []byte `json:"data"` // base64
}

// maxIngestBody bounds an API channel message with its files: one file of
// channel.MaxFileBytes in base64, and the text.
const maxIngestBody = channel.MaxFileBytes*4/3 + 2*maxBody

// replyBodyLimit bounds a reply request on a channel: its files in base64
// plus the text.
func replyBodyLimit(rule channel.FileRule) int64 {
	return int64(rule.MaxFiles)*rule.MaxBytes*4/3 + maxBody
}

// serveAttachment sends a file to an agent who may see its conversation.
// Images the channel rules accept are shown inline; everything else is a
// download. Either way the browser may not sniff, script or frame it.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := s.store.Attachment(ctx, id)
	if err != nil {
		return err
	}
	m, err := s.store.Message(ctx, a.MessageID)
	if err != nil {
		return err
	}
	c, err := s.store.Conversation(ctx, m.ConversationID)
	if err != nil {
		return err
	}
	if me := agentFrom(ctx); !auth.Can(me.Role, auth.ReadConversations) && c.AssigneeID != me.ID {
		return errorf(http.StatusNotFound, "attachment %d not found", id)
	}
	h := w.Header()
	disposition := "attachment"
	contentType := "application/octet-stream"
	if channel.IsImage(a.ContentType) || a.ContentType == "application/pdf" {
		contentType = a.ContentType
	}
	if channel.IsImage(a.ContentType) {
		disposition = "inline"
	}
	name := a.Name
	if !utf8.ValidString(name) {
		name = "file"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", fmt.Sprintf("%q", a.SHA256))
	_, err = w.Write(a.Data)
	return err
}
