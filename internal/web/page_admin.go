package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/store"
)

// adminTab is one screen of the admin section and the permission it needs.
type adminTab struct {
	Key  string // agents, teams, channels, templates: the URL /admin/{Key}
	Perm auth.Permission
}

var adminTabs = []adminTab{
	{"agents", auth.ManageAgents},
	{"teams", auth.ManageTeams},
	{"channels", auth.ManageChannels},
	{"templates", auth.ManageTemplates},
}

// canAdmin reports whether a role may open any admin tab.
func canAdmin(role store.Role) bool { return len(tabsFor(role)) > 0 }

func tabsFor(role store.Role) []string {
	var out []string
	for _, t := range adminTabs {
		if auth.Can(role, t.Perm) {
			out = append(out, t.Key)
		}
	}
	return out
}

// adminChrome is what every admin screen shows around its content.
type adminChrome struct {
	chrome
	Tabs  []string // the tabs this role may open
	Tab   string
	Saved bool
	Error string
}

// adminChrome is the frame of one tab, with msg, if any, as a refusal.
func (s *Server) adminChrome(r *http.Request, tab, msg string) adminChrome {
	me := agentFrom(r.Context())
	title := "admin.tab." + tab
	return adminChrome{chrome: s.chrome(r, s.t(r, title), "admin"), Tabs: tabsFor(me.Role), Tab: tab,
		Saved: msg == "" && r.URL.Query().Has("saved"), Error: msg}
}

// showAdmin sends the agent to the first admin tab their role may use.
func (s *Server) showAdmin(w http.ResponseWriter, r *http.Request) error {
	tabs := tabsFor(agentFrom(r.Context()).Role)
	if len(tabs) == 0 {
		return errorf(http.StatusForbidden, "your role (%s) may not administer anything", agentFrom(r.Context()).Role)
	}
	http.Redirect(w, r, "/admin/"+tabs[0], http.StatusSeeOther)
	return nil
}

// refused answers a form the rules turned down. With htmx the message
// becomes a notice and the page stays as typed; a plain form gets its page
// again with the message, from again.
func (s *Server) refused(r *http.Request, err error, again func(status int, msg string) error) error {
	status, msg := s.classify(r, err)
	if status >= 500 || isHTMX(r) {
		return err
	}
	return again(status, msg)
}

// saved sends the browser back to an admin screen after a change that has
// nothing to show once; htmx follows the redirect and swaps the screen.
func saved(w http.ResponseWriter, r *http.Request, tab string) error {
	http.Redirect(w, r, "/admin/"+tab+"?saved=1", http.StatusSeeOther)
	return nil
}

// formIDs reads a list of ids, such as checked agents, from a form.
func formIDs(vs []string) ([]int64, error) {
	out := make([]int64, 0, len(vs))
	for _, v := range vs {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || id <= 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "%q is not an id", v)
		}
		out = append(out, id)
	}
	return out, nil
}

// formList is a repeated form field, never nil: no box ticked means none.
func formList(vs []string) []string {
	if vs == nil {
		return []string{}
	}
	return vs
}
