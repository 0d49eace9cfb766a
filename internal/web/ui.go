package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/i18n"
)

// The agent UI is server-rendered: html/template pages made live with htmx
// and the event stream. Templates and assets are embedded, parsed once at
// start-up, one template set per UI language so that `t` needs no locale.

//go:embed ui/templates/*.html
var templateFiles embed.FS

//go:embed ui/static
var staticFiles embed.FS

type ui struct {
	cat    *i18n.Catalogue
	pages  map[string]map[string]*template.Template // locale → page → set
	assets map[string]asset                         // name → content
}

type asset struct {
	body []byte
	hash string
	mime string
}

// pageNames are the templates that are whole pages; the others are shared
// layout and fragments, parsed into every page's set.
var pageNames = []string{"login", "inbox", "contact", "settings", "search", "supervisor", "error",
	"admin_agents", "admin_teams", "admin_channels", "admin_templates", "invite", "setup", "two_factor"}

func loadUI() (*ui, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	u := &ui{cat: cat, pages: map[string]map[string]*template.Template{}, assets: map[string]asset{}}
	err = fs.WalkDir(staticFiles, "ui/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		u.assets[path.Base(p)] = asset{body: body, hash: hex.EncodeToString(sum[:6]), mime: mimeOf(p)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	shared, err := fs.Glob(templateFiles, "ui/templates/_*.html")
	if err != nil {
		return nil, err
	}
	for _, loc := range cat.Locales() {
		u.pages[loc] = map[string]*template.Template{}
		base, err := template.New("").Funcs(u.funcs(loc)).ParseFS(templateFiles, shared...)
		if err != nil {
			return nil, err
		}
		for _, name := range pageNames {
			set, err := template.Must(base.Clone()).ParseFS(templateFiles, "ui/templates/"+name+".html")
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			u.pages[loc][name] = set
		}
	}
	return u, nil
}

func mimeOf(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "text/plain; charset=utf-8"
}

// render writes page (or, with fragment set, one of its named templates)
// in the locale loc. Rendering into a buffer first means a template error
// becomes a clean 500, not half a page.
func (u *ui) render(w http.ResponseWriter, status int, loc, page, fragment string, data any) error {
	set := u.pages[loc][page]
	if set == nil {
		set = u.pages[i18n.Fallback][page]
	}
	if set == nil {
		return fmt.Errorf("no page %q", page)
	}
	name := page
	if fragment != "" {
		name = fragment
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// serveStatic answers /static/{hash}/{name}. The hash in the URL changes
// with the content, so a browser may keep a file forever.
func (u *ui) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := u.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.mime)
	if r.PathValue("hash") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(a.body)
}

func (u *ui) funcs(loc string) template.FuncMap {
	return template.FuncMap{
		"t":        func(key string, args ...any) string { return u.cat.T(loc, key, args...) },
		"locale":   func() string { return loc },
		"asset":    func(name string) string { return "/static/" + u.assets[name].hash + "/" + name },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"ago":      func(t time.Time) string { return ago(u.cat, loc, time.Since(t)) },
		"since":    func(from time.Time, to *time.Time) string { return took(u.cat, loc, to.Sub(from)) },
		"initials": initials,
		"text":     richText,
		"kind":     func(kind string) string { return kindName(u.cat, loc, kind) },
		"status":   func(st any) string { return u.cat.T(loc, fmt.Sprint("status.", st)) },
		"lang":     func(code string) string { return langName(u.cat, loc, code) },
		"join":     strings.Join,
		"image":    channel.IsImage,
		"mb":       func(n int64) int64 { return n >> 20 },
		"kb":       func(n int64) int64 { return (n + 1023) >> 10 },
		"inc":      func(i int) int { return i + 1 },
		"hasID":    func(ids []int64, id int64) bool { return slices.Contains(ids, id) },
		"secret":   func(id, label, value string) secretField { return secretField{id, label, value} },
		"has": func(list []string, s string) bool {
			for _, v := range list {
				if v == s {
					return true
				}
			}
			return false
		},
	}
}

// secretField is a value shown once with a copy button (the "secret"
// template): an invite link, a channel token.
type secretField struct {
	ID, Label, Value string
}

func ago(cat *i18n.Catalogue, loc string, d time.Duration) string {
	switch {
	case d < time.Minute:
		return cat.T(loc, "ago.now")
	case d < time.Hour:
		return cat.T(loc, "ago.minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return cat.T(loc, "ago.hours", int(d.Hours()))
	default:
		return cat.T(loc, "ago.days", int(d.Hours()/24))
	}
}

// took says how long something took, in the largest whole unit: "12
// min", "3 h", "2 d"; under a minute, "1 min".
func took(cat *i18n.Catalogue, loc string, d time.Duration) string {
	switch {
	case d < time.Hour:
		return cat.T(loc, "took.minutes", max(1, int(d.Minutes())))
	case d < 48*time.Hour:
		return cat.T(loc, "took.hours", int(d.Hours()))
	default:
		return cat.T(loc, "took.days", int(d.Hours()/24))
	}
}

// kindName names a channel kind or an identity's platform. API channels
// keep their identities apart per channel (api:7); they are all "API".
func kindName(cat *i18n.Catalogue, loc, kind string) string {
	base, _, _ := strings.Cut(kind, ":")
	return cat.T(loc, "kind."+base)
}

func langName(cat *i18n.Catalogue, loc, code string) string {
	if code == "" {
		return cat.T(loc, "lang.unknown")
	}
	if name := cat.T(loc, "lang."+code); name != "lang."+code {
		return name
	}
	return strings.ToUpper(code)
}

func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		// The first letter or digit of each word: "@minjun" gives M.
		if i := strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(f[i:])
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

var (
	linkRE = regexp.MustCompile(`https?://[^\s<>"']+[^\s<>"'.,;:!?)\]]`)
)

// richText shows customer or agent text as HTML: everything escaped,
// http(s) links made clickable but never trusted (no referrer, no
// opener, no follow), and in notes @mentions marked.
func richText(body string, mentions bool) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range linkRE.FindAllStringIndex(body, -1) {
		b.WriteString(plain(body[last:m[0]], mentions))
		u := html.EscapeString(body[m[0]:m[1]])
		fmt.Fprintf(&b, `<a href="%s" rel="noopener noreferrer nofollow" target="_blank">%s</a>`, u, u)
		last = m[1]
	}
	b.WriteString(plain(body[last:], mentions))
	return template.HTML(b.String())
}

func plain(s string, mentions bool) string {
	s = html.EscapeString(s)
	if mentions {
		s = desk.MentionPattern.ReplaceAllString(s, `$1<mark class="mention">@$2</mark>`)
	}
	return s
}

// page is handle for the agent UI: it answers errors as people, not
// programs, read them. Without a session the browser goes to the login
// page; an htmx request gets a short text that the page shows as a
// notice; any other request gets an error page.
func (s *Server) page(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		err := h(sw, r)
		if err == nil {
			return
		}
		status, msg := s.classify(r, err)
		if !s.logFailure(r, sw, "page failed", status, err) {
			return
		}
		if status == http.StatusUnauthorized {
			login := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", login)
				w.WriteHeader(status)
				return
			}
			http.Redirect(w, r, login, http.StatusSeeOther)
			return
		}
		// The handler's context is gone with it: find the agent again, for
		// the error page's language and header.
		if me, err := s.authenticate(r); err == nil {
			r = r.WithContext(withAgent(r.Context(), me))
		}
		if isHTMX(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, msg)
			return
		}
		v := errorView{chrome: chrome{Title: http.StatusText(status)}, Status: status, Message: msg}
		if me := agentFrom(r.Context()); me.ID != 0 {
			v.chrome = s.chrome(r, http.StatusText(status), "")
		}
		if rerr := s.ui.render(w, status, s.locale(r), "error", "", v); rerr != nil {
			s.log.Error("error page failed", "err", rerr)
		}
	}
}

type errorView struct {
	chrome
	Status  int
	Message string
}

// locale is the UI language of a request: the agent's choice, else the
// browser's.
func (s *Server) locale(r *http.Request) string {
	if me := agentFrom(r.Context()); s.ui.cat.Has(me.Locale) {
		return me.Locale
	}
	return s.ui.cat.Match(r.Header.Get("Accept-Language"))
}

// t translates for the request's agent.
func (s *Server) t(r *http.Request, key string, args ...any) string {
	return s.ui.cat.T(s.locale(r), key, args...)
}
