// Package channel holds what is true of each kind of channel, whatever the
// adapter: how long a reply may be and whether it may carry files. The
// adapters themselves live in the sub-packages.
package channel

import "slices"

// TextLimit is the longest reply, in characters (Unicode code points), a
// channel kind accepts; 0 means no limit worth showing. The figures are the
// platforms' documented limits for one message or post.
func TextLimit(kind string) int {
	switch kind {
	case "x":
		return 280 // a post; X counts most characters once
	case "mastodon":
		return 500 // the default of mastodon.social and most servers
	case "bluesky":
		return 300 // graphemes per post
	case "instagram":
		return 1000 // Instagram messaging API: text up to 1000 bytes of UTF-8
	case "facebook":
		return 2000 // Messenger Send API text
	case "whatsapp", "telegram":
		return 4096
	}
	return 0
}

// Kinds lists the platforms a channel can be on, in the order the UI shows
// them. Messages for every kind can be fed in through the channel's ingest
// endpoint; replies go out through the sender registered for the kind.
var Kinds = []string{"x", "facebook", "instagram", "whatsapp", "telegram", "mastodon", "bluesky", "email", "webchat", "api"}

// FileRule says which files a reply on a channel kind may carry. A zero
// rule allows none.
type FileRule struct {
	MaxFiles int
	MaxBytes int64    // per file
	Types    []string // MIME types, as sniffed from the bytes
}

// Allowed reports whether the rule lets any file through.
func (r FileRule) Allowed() bool { return r.MaxFiles > 0 }

// Accepts reports whether a file of this sniffed type may go.
func (r FileRule) Accepts(contentType string) bool { return slices.Contains(r.Types, contentType) }

var (
	images        = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}
	imagesAndPDFs = append(slices.Clone(images), "application/pdf")
)

// Files is the rule for replies on a channel kind: the platforms'
// documented media limits, rounded down to what every account gets, and
// the types a browser can show safely.
func Files(kind string) FileRule {
	switch kind {
	case "x":
		return FileRule{MaxFiles: 4, MaxBytes: 5 << 20, Types: images} // 4 images of 5 MB per post
	case "mastodon":
		return FileRule{MaxFiles: 4, MaxBytes: 8 << 20, Types: images} // 4 media; 8 MB is the common image limit
	case "instagram":
		return FileRule{MaxFiles: 1, MaxBytes: 8 << 20, Types: images} // one image per message
	case "whatsapp":
		return FileRule{MaxFiles: 1, MaxBytes: 5 << 20, Types: imagesAndPDFs} // Cloud API: images 5 MB, one medium per message
	case "facebook":
		return FileRule{MaxFiles: 1, MaxBytes: 25 << 20, Types: imagesAndPDFs} // Send API: one attachment, 25 MB
	case "telegram":
		return FileRule{MaxFiles: 1, MaxBytes: 10 << 20, Types: imagesAndPDFs} // Bot API: photos 10 MB
	case "email", "webchat", "api":
		return FileRule{MaxFiles: 5, MaxBytes: 10 << 20, Types: imagesAndPDFs}
	}
	return FileRule{}
}

// IsImage reports whether a type is shown inline in the agent's thread;
// any other file is offered as a download.
func IsImage(contentType string) bool { return slices.Contains(images, contentType) }
