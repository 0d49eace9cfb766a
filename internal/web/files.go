package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
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

// checkFiles turns an agent's files into attachments the channel accepts,
// or says in the agent's words why not.
func (s *Server) checkFiles(r *http.Request, kind string, names []string, data [][]byte) ([]store.Attachment, error) {
	if len(data) == 0 {
		return nil, nil
	}
	rule := s.adapters.Get(kind).Files
	if !rule.Allowed() {
		return nil, errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.notallowed", s.t(r, "kind."+kind)))
	}
	if len(data) > rule.MaxFiles {
		return nil, errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.toomany", rule.MaxFiles))
	}
	out := make([]store.Attachment, 0, len(data))
	for i, d := range data {
		a := channel.NewAttachment(names[i], d)
		switch {
		case len(d) == 0:
			return nil, errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.empty", a.Name))
		case int64(len(d)) > rule.MaxBytes:
			return nil, errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.toobig", a.Name, rule.MaxBytes>>20))
		case !rule.Accepts(a.ContentType):
			return nil, errorf(http.StatusUnprocessableEntity, "%s", s.t(r, "files.type", a.Name, a.ContentType))
		}
		out = append(out, a)
	}
	return out, nil
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
