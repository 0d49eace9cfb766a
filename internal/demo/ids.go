package demo

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// xEpoch is where X's snowflake ids start counting (2010-11-04).
const xEpoch = 1288834974657

// idSource makes message ids in the shape each platform gives them, so that
// the demo inbox looks real and dedupe works on realistic keys. Every id
// mixes a sequence with randomness, so one source never repeats itself and
// two sources (the seed, the simulator, the pretend platforms) practically
// never collide. It is not safe for concurrent use.
type idSource struct {
	r   *rand.Rand
	seq uint64
}

// message returns a new id for a message on a platform of the given channel
// kind, written at at. domain is the sender's mail domain, for e-mail.
func (g *idSource) message(kind string, private bool, at time.Time, domain string) string {
	g.seq++
	switch kind {
	case "x":
		// A snowflake: milliseconds since the epoch, a worker, a sequence.
		ms := uint64(max(at.UnixMilli()-xEpoch, 0))
		return strconv.FormatUint(ms<<22|uint64(g.r.IntN(1024))<<12|g.seq&0xfff, 10)
	case "mastodon":
		// Mastodon's ids are milliseconds shifted left 16, plus a sequence.
		ms := uint64(max(at.UnixMilli(), 0))
		return strconv.FormatUint(ms<<16|(g.seq&0xff)<<8|uint64(g.r.IntN(256)), 10)
	case "bluesky":
		// A post's at:// URI; its record key is a TID (time-ordered).
		return fmt.Sprintf("at://did:plc:%s/app.bsky.feed.post/3l%011x", base32ish(g.r, 24), uint64(at.UnixMicro())&0xfffffffffff)
	case "facebook":
		if private {
			return "m_" + g.b64(base64.RawURLEncoding, 30)
		}
		// A comment: the page post's id and the comment's.
		return fmt.Sprintf("%d_%d", 100_000_000_000_000+g.r.Int64N(900_000_000_000_000), 1_000_000_000_000_000+g.r.Int64N(9_000_000_000_000_000))
	case "instagram":
		if private {
			return "aWdfZAG1faXRlbTox" + g.b64(base64.RawURLEncoding, 36)
		}
		return strconv.FormatInt(17_800_000_000_000_000+g.r.Int64N(200_000_000_000_000), 10)
	case "whatsapp":
		return "wamid.HBgL" + g.b64(base64.StdEncoding, 36)
	case "telegram":
		// Telegram numbers messages per chat; seconds plus the sequence keep
		// ours unique across chats and demo runs.
		return strconv.FormatInt(at.Unix()%100_000_000*1_000_000+int64(g.seq%1000)*1000+int64(g.r.IntN(1000)), 10)
	case "email":
		if domain == "" {
			domain = "mail.example"
		}
		return fmt.Sprintf("<%016x.%d@%s>", g.r.Uint64(), at.Unix(), domain)
	case "webchat":
		a, b := g.r.Uint64(), g.r.Uint64()
		return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
	case "api":
		return fmt.Sprintf("HNB-%s-%08x", at.UTC().Format("20060102"), g.r.Uint32())
	default:
		return fmt.Sprintf("%s-%016x", kind, g.r.Uint64())
	}
}

// b64 is n random bytes in the given encoding.
func (g *idSource) b64(enc *base64.Encoding, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return enc.EncodeToString(b)
}
