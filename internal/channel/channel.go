// Package channel holds what is true of each kind of channel, whatever the
// adapter: how long a reply may be and whether it may carry files. The
// adapters themselves live in the sub-packages.
package channel

// TextLimit is the longest reply, in characters (Unicode code points), a
// channel kind accepts; 0 means no limit worth showing. The figures are the
// platforms' documented limits for one message or post.
func TextLimit(kind string) int {
	switch kind {
	case "x":
		return 280 // a post; X counts most characters once
	case "mastodon":
		return 500 // the default of mastodon.social and most servers
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
var Kinds = []string{"x", "facebook", "instagram", "whatsapp", "telegram", "mastodon", "email", "webchat", "api"}
