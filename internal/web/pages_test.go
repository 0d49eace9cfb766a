package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// form is a scenario posting an HTML form as an agent's browser would
// (htmx adds HX-Request).
func form(name, u, token string, v url.Values, status int) scenario {
	return scenario{name: name, method: "POST", url: u, token: token, body: v.Encode(), status: status, notProblem: true,
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}}
}

func TestInboxPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	agent := ts.Tokens[store.RoleAgent]
	hx := map[string]string{"HX-Request": "true"}
	first := ts.ingest(t, inbound{ID: "p-1", From: author{ID: "u1", Handle: "@anouk", Name: "Anouk <b>Dekker</b>"}, Text: "Waar is mijn koffer? <script>alert(1)</script> https://heron.example/track?id=1"})

	ts.run(t, []scenario{
		{name: "the inbox lists the conversation, escaped", method: "GET", url: "/inbox", token: agent, status: 200,
			contains: []string{"Anouk &lt;b&gt;Dekker&lt;/b&gt;", "Waar is mijn koffer? &lt;script&gt;", `id="row-` + itoa(first.ConversationID)},
			excludes: []string{"<script>alert", "<b>Dekker"}},
		{name: "the conversation shows the message with a safe link", method: "GET", url: "/conversations/" + itoa(first.ConversationID), token: agent, status: 200,
			contains: []string{`rel="noopener noreferrer nofollow"`, "&lt;script&gt;alert(1)&lt;/script&gt;", `id="composer"`},
			excludes: []string{"<script>alert"}},
		{name: "volunteers do not get a link into the contact base", method: "GET", url: "/conversations/" + itoa(first.ConversationID), token: ts.Tokens[store.RoleVolunteer], status: 200,
			contains: []string{`id="composer"`}, excludes: []string{`href="/contacts/`}},
		{name: "htmx gets the pane alone", method: "GET", url: "/conversations/" + itoa(first.ConversationID), token: agent,
			headers: map[string]string{"HX-Request": "true"}, status: 200, contains: []string{`id="conversation"`}, excludes: []string{"<html"}},
		{name: "unassigned queue", method: "GET", url: "/inbox/rows?queue=unassigned", token: agent, headers: hx, status: 200, contains: []string{"@anouk"}},
		{name: "mine is empty", method: "GET", url: "/inbox/rows?queue=mine", token: agent, headers: hx, status: 200, excludes: []string{"@anouk"}},
		{name: "a resolved filter hides it", method: "GET", url: "/inbox/rows?queue=all&status=resolved", token: agent, headers: hx, status: 200, excludes: []string{"@anouk"}},
		{name: "the rows URL in the history opens the whole inbox", method: "GET", url: "/inbox/rows?queue=mine", token: agent, status: 303},
		{name: "queue counts", method: "GET", url: "/inbox/queues", token: agent, status: 200, contains: []string{`data-count="1"`}},
		{name: "Dutch for a Dutch browser", method: "GET", url: "/inbox", token: agent, headers: map[string]string{"Accept-Language": "nl-NL,nl;q=0.9"}, status: 200,
			contains: []string{"Niet toegewezen", `lang="nl"`}},
	})

	c := itoa(first.ConversationID)
	t.Run("take, note with a mention, reply, resolve", func(t *testing.T) {
		r := ts.check(t, form("take", "/conversations/"+c+"/assign", agent, url.Values{"assignee": {"me"}}, 200))
		if !strings.Contains(string(r.Body), "Release") {
			t.Errorf("after taking, the pane offers no release: %s", r.Body)
		}
		ts.check(t, form("note", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"note"}, "body": {"@Sanne kun jij dit oppakken?"}}, 200))
		r = ts.check(t, form("reply", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"We zoeken het uit!"}, "seen": {"999999"}}, 200))
		for _, s := range []string{`<mark class="mention">@Sanne</mark>`, "We zoeken het uit!", "sending…"} {
			if !strings.Contains(string(r.Body), s) {
				t.Errorf("pane lacks %q", s)
			}
		}
		ts.check(t, form("resolve", "/conversations/"+c+"/status", agent, url.Values{"status": {"resolved"}}, 200))
		got, err := ts.Store.Conversation(context.Background(), first.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.StatusResolved || got.AssigneeID != ts.Agents[store.RoleAgent].ID {
			t.Errorf("status %s assignee %d", got.Status, got.AssigneeID)
		}
		ts.check(t, form("a reply to a resolved conversation is refused", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"hello?"}}, 409))
	})
}

func TestReplyCollision(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "c-1", From: author{ID: "u1", Name: "Lena"}, Text: "Hallo?"})
	c := itoa(conv.ConversationID)
	msgs, err := ts.Store.Messages(context.Background(), conv.ConversationID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := itoa(msgs[len(msgs)-1].ID)
	agent, super := ts.Tokens[store.RoleAgent], ts.Tokens[store.RoleSupervisor]

	// The supervisor answers first; the agent, who loaded the conversation
	// before that, is warned instead of sending a second answer.
	ts.check(t, form("supervisor replies", "/conversations/"+c+"/messages", super, url.Values{"kind": {"reply"}, "body": {"Hallo Lena, ik help je."}, "seen": {seen}}, 200))
	r := ts.check(t, form("agent is warned", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"Hoi Lena!"}, "seen": {seen}}, 409))
	if !strings.Contains(string(r.Body), "Test supervisor") || r.Header.Get("HX-Retarget") != "#composer-warning" {
		t.Errorf("warning %q, retarget %q", r.Body, r.Header.Get("HX-Retarget"))
	}
	if n := countOutbound(t, ts, conv.ConversationID); n != 1 {
		t.Fatalf("%d replies stored after the warning, want 1", n)
	}
	ts.check(t, form("agent sends anyway", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"Hoi Lena!"}, "seen": {seen}, "force": {"1"}}, 200))
	if n := countOutbound(t, ts, conv.ConversationID); n != 2 {
		t.Fatalf("%d replies stored, want 2", n)
	}

	// A colleague typing right now also warns.
	last := itoa(lastMessageID(t, ts, conv.ConversationID))
	ts.check(t, form("supervisor types", "/conversations/"+c+"/activity", super, url.Values{"state": {"typing"}}, 204))
	r = ts.check(t, form("agent is warned about typing", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"Nog iets?"}, "seen": {last}}, 409))
	if !strings.Contains(string(r.Body), "typing") {
		t.Errorf("warning %q does not mention typing", r.Body)
	}
	ts.check(t, form("supervisor leaves", "/conversations/"+c+"/activity", super, url.Values{"state": {"left"}}, 204))
	ts.check(t, form("then the reply goes", "/conversations/"+c+"/messages", agent, url.Values{"kind": {"reply"}, "body": {"Nog iets?"}, "seen": {last}}, 200))
}

func TestMoveToPrivateFromThePage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	pub := ts.ingest(t, inbound{ID: "pub-1", From: author{ID: "u9", Handle: "@boos", Name: "Boze Klant"}, Text: "@HeronAir waardeloos, mijn koffer is weg!", Language: "nl"})
	agent := ts.Tokens[store.RoleAgent]
	r := ts.check(t, form("move", "/conversations/"+itoa(pub.ConversationID)+"/private", agent, url.Values{}, 200))
	if !strings.Contains(string(r.Body), "Moved here from the public conversation") {
		t.Errorf("the private pane does not show its link: %s", r.Body)
	}
	public, err := ts.Store.Conversation(context.Background(), pub.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if public.LinkedID == 0 {
		t.Fatal("the public conversation is not linked")
	}
	if loc := r.Header.Get("HX-Push-Url"); loc != "/conversations/"+itoa(public.LinkedID) {
		t.Errorf("HX-Push-Url %q", loc)
	}
	// The customer's direct message lands in the linked private thread.
	dm := ts.ingest(t, inbound{ID: "dm-1", From: author{ID: "u9"}, Text: "Boekingscode HX7QZ2", Private: true})
	if dm.ConversationID != public.LinkedID {
		t.Errorf("direct message went to %d, want the linked %d", dm.ConversationID, public.LinkedID)
	}
	ts.check(t, form("a private conversation does not move again", "/conversations/"+itoa(public.LinkedID)+"/private", agent, url.Values{}, 409))
}

func TestSnoozeInTheAgentsZone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "s-1", From: author{ID: "u1"}, Text: "Later graag"})
	until := time.Now().Add(48 * time.Hour).In(mustZone(t, "Asia/Tokyo"))
	ts.check(t, form("snooze", "/conversations/"+itoa(conv.ConversationID)+"/status", ts.Tokens[store.RoleAgent],
		url.Values{"status": {"snoozed"}, "until": {until.Format("2006-01-02T15:04")}, "tz": {"Asia/Tokyo"}}, 200))
	got, err := ts.Store.Conversation(context.Background(), conv.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SnoozedUntil == nil || got.SnoozedUntil.Sub(until.Truncate(time.Minute)).Abs() > time.Second {
		t.Errorf("snoozed until %v, want %v", got.SnoozedUntil, until.Truncate(time.Minute))
	}
	ts.check(t, form("a time in the past", "/conversations/"+itoa(conv.ConversationID)+"/status", ts.Tokens[store.RoleAgent],
		url.Values{"status": {"snoozed"}, "until": {"2001-01-01T10:00"}, "tz": {"Europe/Amsterdam"}}, 422))
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.run(t, []scenario{
		{name: "the form", method: "GET", url: "/login?next=/inbox", status: 200, contains: []string{`name="password"`, `value="/inbox"`}},
		{name: "a page without a session goes to the login", method: "GET", url: "/inbox?queue=mine", status: 303},
		{name: "wrong password", method: "POST", url: "/login", body: "email=agent%40example.org&password=nope", status: 401, notProblem: true,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, contains: []string{"Wrong e-mail address or password."}},
	})
	r := ts.check(t, scenario{method: "POST", url: "/login", body: "email=agent%40example.org&password=" + url.QueryEscape(testPassword) + "&next=https://evil.example/",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 303})
	if loc := r.Header.Get("Location"); loc != "/inbox" {
		t.Errorf("redirect to %q: an outside next must not be followed", loc)
	}
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "webcare_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly {
		t.Fatalf("no HttpOnly session cookie: %v", r.Cookies())
	}
	ts.check(t, scenario{method: "GET", url: "/inbox", cookie: session, status: 200, contains: []string{"Test agent"}})
}

func countOutbound(t *testing.T, ts *testServer, conv int64) int {
	t.Helper()
	msgs, err := ts.Store.Messages(context.Background(), conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Direction == store.DirOutbound {
			n++
		}
	}
	return n
}

func lastMessageID(t *testing.T, ts *testServer, conv int64) int64 {
	t.Helper()
	msgs, err := ts.Store.Messages(context.Background(), conv, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return msgs[len(msgs)-1].ID
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s unknown here: %v", name, err)
	}
	return loc
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSearchPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.ingest(t, inbound{ID: "s-1", From: author{ID: "u1", Handle: "@fawaka", Name: "Fawaka Fan"}, Text: "Mag ik een Twix <b>meenemen</b> aan boord?"})
	ts.runParallel(t, []scenario{
		{name: "a word from a message, escaped and marked", method: "GET", url: "/search?q=twix", token: ts.Tokens[store.RoleAgent], status: 200,
			contains: []string{"<mark>Twix</mark>", "&lt;b&gt;meenemen&lt;/b&gt;", "Fawaka Fan"}, excludes: []string{"<b>meenemen"}},
		{name: "a handle finds the contact", method: "GET", url: "/search?q=fawak", token: ts.Tokens[store.RoleAgent], status: 200,
			contains: []string{"@fawaka", `href="/contacts/`}},
		{name: "volunteers find messages, not the contact base", method: "GET", url: "/search?q=fawaka", token: ts.Tokens[store.RoleVolunteer], status: 200,
			excludes: []string{`href="/contacts/`}},
		{name: "field staff find nothing that was not handed to them", method: "GET", url: "/search?q=twix", token: ts.Tokens[store.RoleField], status: 200,
			excludes: []string{"Fawaka Fan"}},
		{name: "search syntax is just text", method: "GET", url: "/search?q=" + url.QueryEscape(`"twix" OR NEAR(* -`), token: ts.Tokens[store.RoleAgent], status: 200},
		{name: "htmx gets the results alone", method: "GET", url: "/search?q=twix", token: ts.Tokens[store.RoleAgent],
			headers: map[string]string{"HX-Request": "true", "HX-Target": "results"}, status: 200, contains: []string{"<mark>Twix</mark>"}, excludes: []string{"<html"}},
	})
}

func TestSupervisorPage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a := ts.ingest(t, inbound{ID: "q-1", From: author{ID: "u1", Name: "Wachtende Klant"}, Text: "Hallo?"})
	b := ts.ingest(t, inbound{ID: "q-2", From: author{ID: "u2", Name: "Tweede Klant"}, Text: "Hoi?"})
	super := ts.Tokens[store.RoleSupervisor]
	ts.check(t, scenario{method: "GET", url: "/supervisor", token: super, status: 200,
		contains: []string{"Wachtende Klant", "Tweede Klant", `data-assignee="` + itoa(ts.Agent2.ID) + `"`, `<td class="num">2</td>`}})
	ts.check(t, scenario{method: "GET", url: "/supervisor", token: ts.Tokens[store.RoleAgent], status: 403, notProblem: true})

	v := url.Values{"assignee": {itoa(ts.Agent2.ID)}, "conversation_ids": {itoa(a.ConversationID), itoa(b.ConversationID)}}
	ts.check(t, form("bulk assign", "/supervisor/assign", super, v, 200))
	for _, id := range []int64{a.ConversationID, b.ConversationID} {
		c, err := ts.Store.Conversation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.AssigneeID != ts.Agent2.ID {
			t.Errorf("conversation %d assigned to %d, want %d", id, c.AssigneeID, ts.Agent2.ID)
		}
	}
	v.Set("conversation_ids", "999999")
	ts.check(t, form("an unknown conversation changes nothing", "/supervisor/assign", super, v, 422))
}

func TestNoteMentionsReachTheColleague(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	conv := ts.ingest(t, inbound{ID: "m-1", From: author{ID: "u1"}, Text: "Waar blijft mijn terugbetaling?"})
	events, cancel, _ := ts.Bus.Subscribe(context.Background(), 0)
	defer cancel()
	ts.check(t, form("note", "/conversations/"+itoa(conv.ConversationID)+"/messages", ts.Tokens[store.RoleAgent],
		url.Values{"kind": {"note"}, "body": {"@second kun jij dit oppakken? cc @nobody, @gone"}}, 200))
	for {
		select {
		case e := <-events:
			if e.Type != "message.created" {
				continue
			}
			want := fmt.Sprintf(`{"mentions":[%d],"by":"Test agent"}`, ts.Agent2.ID)
			if e.Detail != want {
				t.Errorf("detail %s, want %s (a disabled agent is not mentioned)", e.Detail, want)
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatal("no message.created event")
		}
	}
}
