package channel

import (
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/store"
)

// MaxNameLen bounds a file name, in characters.
const MaxNameLen = 200

// MaxIDBytes bounds a platform id (a message, author or account id) that
// webcare stores. Ids are short on every platform; an e-mail Message-ID
// can be longer and is replaced by a hash of itself (see email).
const MaxIDBytes = 512

// MaxFileBytes is the largest file webcare keeps from a customer: the
// WhatsApp limit for media, above every picture limit of the platforms.
// Adapters stop downloading there rather than fetch what ingest refuses.
const MaxFileBytes = 16 << 20

// NewAttachment makes a file from outside ready to store: its name cut to
// a plain base name without control characters, its type sniffed from the
// bytes. The type the sender claims is never trusted: a "picture" that is
// really HTML must not be served as a picture.
func NewAttachment(name string, data []byte) store.Attachment {
	return store.Attachment{Name: CleanName(name), ContentType: Sniff(data), Data: data}
}

// Sniff names the type of the bytes, without parameters.
func Sniff(data []byte) string {
	t, _, err := mime.ParseMediaType(http.DetectContentType(data))
	if err != nil {
		return "application/octet-stream"
	}
	return t
}

// CleanName keeps what a person needs to recognise a file and nothing a
// path, a header or a terminal could trip over.
func CleanName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if r := []rune(name); len(r) > MaxNameLen {
		name = string(r[:MaxNameLen])
	}
	if name == "" || name == "/" {
		return "file"
	}
	return name
}
