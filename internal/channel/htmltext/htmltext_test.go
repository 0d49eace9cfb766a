package htmltext

import "testing"

func TestString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"mastodon status",
			`<p><span class="h-card"><a href="https://social.example/@heron" class="u-url mention">@<span>heron</span></a></span> my bag is lost &amp; I fly tomorrow</p><p>KL1234 <a href="https://example.com/very/long/path/x" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.com/very/long</span><span class="invisible">/path/x</span></a></p>`,
			"@heron my bag is lost & I fly tomorrow\n\nKL1234 example.com/very/long"},
		{"line breaks", "one<br>two<br/>three", "one\ntwo\nthree"},
		{"scripts and styles dropped", "<style>p{color:red}</style><p>hi</p><script>alert(1)</script>", "hi"},
		{"entities", "caf&eacute; &lt;b&gt; &#128512;", "café <b> 😀"},
		{"link text differs", `see <a href="https://heron.example/rebook">this page</a>.`, "see this page (https://heron.example/rebook)."},
		{"javascript link not written", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "• one\n• two"},
		{"blockquote", "<p>yes</p><blockquote><p>did you get it?</p></blockquote>", "yes\n\n> did you get it?"},
		{"hidden", `<div style="display: none">tracking</div><p>real</p>`, "real"},
		{"whitespace collapsed", "<p>  a \n\t b  </p>\n\n<p>c</p>", "a b\n\nc"},
		{"image alt", `<img src="x.png" alt="boarding pass">`, "[boarding pass]"},
		{"broken html", "<p>unclosed <b>bold <i>text", "unclosed bold text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<a href='https://x'>y</a>", "<blockquote><li>x", "&amp;&#0;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if len(out) > 4*len(s)+64 {
			t.Fatalf("output %d bytes from %d bytes of input", len(out), len(s))
		}
	})
}
