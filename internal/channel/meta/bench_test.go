package meta_test

import (
	"testing"

	"github.com/webcare/webcare/internal/channel/meta"
)

// BenchmarkVerifyParse measures the receiving side of a typical delivery:
// signature check and parse of one DM or one comment, and of a larger
// feed delivery with six changes.
func BenchmarkVerifyParse(b *testing.B) {
	for _, bc := range []struct {
		name, kind, file, account string
	}{
		{"messenger-dm", meta.KindFacebook, "fb_message_text.json", "682498302938465"},
		{"page-comment", meta.KindFacebook, "fb_comment.json", "448242228374517"},
		{"instagram-comment", meta.KindInstagram, "ig_comment.json", "17841474524784050"},
		{"feed-6-changes", meta.KindFacebook, "fb_feed.json", "448242228374517"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := fixture(b, bc.file)
			h := signed(body)
			ch := chFor(bc.kind, bc.account)
			w := &meta.Webhook{Kind: bc.kind}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Verify(ch, h, body); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Parse(ch, body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
		})
	}
}
