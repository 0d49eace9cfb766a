package channel

import "testing"

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"voucher.pdf":               "voucher.pdf",
		"../../etc/passwd":          "passwd",
		`C:\Users\anna\bagage.png`:  "bagage.png",
		"evil\r\nSet-Cookie: x.png": "evilSet-Cookie: x.png",
		`quote".pdf`:                "quote.pdf",
		"":                          "file",
		"...":                       "file",
		"/":                         "file",
		"foto van de koffer 😢.jpg":  "foto van de koffer 😢.jpg",
		"<img src=x onerror=1>.png": "<img src=x onerror=1>.png", // escaped where shown, not mangled here
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSniffTrustsBytesNotClaims(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png"},
		{[]byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "image/jpeg"},
		{[]byte("%PDF-1.7\n"), "application/pdf"},
		{[]byte("<html><script>alert(1)</script>"), "text/html"},
		{[]byte{0, 1, 2, 3}, "application/octet-stream"},
	} {
		if got := Sniff(tc.data); got != tc.want {
			t.Errorf("Sniff(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}
