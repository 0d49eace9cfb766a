package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/bus"
	"github.com/webcare/webcare/internal/bus/natsbus"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/store"
	"github.com/webcare/webcare/internal/store/sqlite"
)

// runCLI runs a webcare command in-process and returns its output.
func runCLI(t *testing.T, vars map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	getenv := func(k string) string { return vars[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db}

	out, err := runCLI(t, env, "", "user", "add", "--admin", "--email", "Anna@Heron.example", "--name", "Anna de Vries", "--languages", "nl, EN")
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("a generated password must be shown once:\n%s", out)
	}
	generated := m[1]

	if out, err := runCLI(t, env, "", "user", "add", "--email", "anna@heron.example"); err == nil {
		t.Fatalf("a second agent with the same e-mail (other case) must be refused:\n%s", out)
	}
	if _, err := runCLI(t, env, "", "user", "add", "--email", "not-an-address"); err == nil {
		t.Fatal("an invalid e-mail must be refused")
	}
	if _, err := runCLI(t, env, "", "user", "add", "--email", "x@heron.example", "--role", "pilot"); err == nil {
		t.Fatal("an unknown role must be refused")
	}
	if out, err := runCLI(t, env, "correct horse battery\n", "user", "add", "--email", "sam@heron.example", "--role", "volunteer", "--password-stdin"); err != nil || strings.Contains(out, "password:") {
		t.Fatalf("user add with --password-stdin: %v\n%s", err, out)
	}

	out, err = runCLI(t, env, "", "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"anna@heron.example", "Anna de Vries", "admin", "nl,en", "sam@heron.example", "volunteer"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}

	if out, err := runCLI(t, map[string]string{"WEBCARE_DB": db, "WEBCARE_PASSWORD": "a brand new password"}, "", "user", "set-password", "--email", "anna@heron.example"); err != nil {
		t.Fatalf("set-password: %v\n%s", err, out)
	}
	if _, err := runCLI(t, env, "", "user", "disable", "--email", "sam@heron.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, env, "", "user", "disable", "--email", "nobody@heron.example"); err == nil {
		t.Fatal("disabling an unknown agent must fail")
	}

	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	anna, err := st.AgentByEmail(context.Background(), "anna@heron.example")
	if err != nil {
		t.Fatal(err)
	}
	if auth.CheckPassword(anna.PasswordHash, "a brand new password") != nil || auth.CheckPassword(anna.PasswordHash, generated) == nil {
		t.Error("set-password did not replace the password")
	}
	sam, err := st.AgentByEmail(context.Background(), "sam@heron.example")
	if err != nil {
		t.Fatal(err)
	}
	if !sam.Disabled || auth.CheckPassword(sam.PasswordHash, "correct horse battery") != nil {
		t.Errorf("sam: disabled=%t, password from stdin not kept", sam.Disabled)
	}
}

func TestChannelCommands(t *testing.T) {
	env := map[string]string{"WEBCARE_DB": filepath.Join(t.TempDir(), "cli.db")}
	out, err := runCLI(t, env, "", "channel", "add", "--kind", "api", "--name", "Booking system", "--callback-url", "https://booking.example/replies")
	if err != nil {
		t.Fatalf("channel add: %v\n%s", err, out)
	}
	for _, want := range []string{"(id 1)", "http://127.0.0.1:8080/api/v1/channels/1/messages", "ingest token:    wch_", "callback secret: whs_"} {
		if !strings.Contains(out, want) {
			t.Errorf("channel add output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"channel", "add", "--kind", "myspace", "--name", "x"},
		{"channel", "add", "--kind", "api"},
		{"channel", "add", "--kind", "api", "--name", "x", "--callback-url", "ftp://x"},
		{"channel", "rotate-token", "--id", "99"},
		{"channel", "frobnicate"},
	} {
		if out, err := runCLI(t, env, "", args...); err == nil {
			t.Errorf("%v must fail:\n%s", args, out)
		}
	}
	out, err = runCLI(t, env, "", "channel", "rotate-token", "--id", "1")
	if err != nil || !strings.Contains(out, "wch_") {
		t.Fatalf("rotate-token: %v\n%s", err, out)
	}
	out, err = runCLI(t, env, "", "channel", "list")
	if err != nil || !strings.Contains(out, "Booking system") || strings.Contains(out, "wch_") {
		t.Fatalf("channel list must name the channel and never show a token: %v\n%s", err, out)
	}
}

func TestConfigMasksSecrets(t *testing.T) {
	out, err := runCLI(t, map[string]string{"WEBCARE_ADDR": "0.0.0.0:9000"}, "", "config", "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0.0.0.0:9000", "http://localhost:9000", "debug", "webcare.db"} {
		if !strings.Contains(out, want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"config", "--addr", "nonsense"},
		{"config", "--log-level", "loud"},
		{"config", "--database-url", "mysql://x@y/z"},
		{"frobnicate"},
	} {
		if out, err := runCLI(t, nil, "", args...); err == nil {
			t.Errorf("%v must fail:\n%s", args, out)
		}
	}
	out, err = runCLI(t, nil, "", "config", "--database-url", "postgres://anna:s3cret@db.example/webcare")
	if err != nil || strings.Contains(out, "s3cret") || !strings.Contains(out, "db.example/webcare") {
		t.Errorf("config with a PostgreSQL URL must name the database and mask the password: %v\n%s", err, out)
	}
	if out, err := runCLI(t, map[string]string{"WEBCARE_SESSION_TTL": "forever"}, "", "config"); err == nil {
		t.Errorf("a bad WEBCARE_SESSION_TTL must fail:\n%s", out)
	}
}

func TestMigrateReportsVersion(t *testing.T) {
	// The newest version is the number of migration files.
	files, err := filepath.Glob(filepath.Join("..", "..", "internal", "store", "sqlite", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	out, err := runCLI(t, map[string]string{"WEBCARE_DB": filepath.Join(t.TempDir(), "m.db")}, "", "migrate")
	if err != nil || !strings.Contains(out, fmt.Sprintf("schema version %d,", len(files))) {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
}

func TestSearchAndQueuesCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db}
	ctx := context.Background()
	st, err := openStore(ctx, config.Config{DatabasePath: db})
	if err != nil {
		t.Fatal(err)
	}
	ch := store.Channel{Kind: "x", Name: "X"}
	if err := st.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := st.Ingest(ctx, []store.Inbound{{ChannelID: ch.ID, PlatformID: "1", Platform: "x", ExternalID: "u1", Handle: "@fawaka",
		Name: "Fawaka\nFan", Body: "Mag mijn Twix\nmee aan boord?", SentAt: now, ReceivedAt: now}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, err := runCLI(t, env, "", "search", "twix")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Mag mijn Twix mee aan boord?") {
		t.Errorf("search does not show the message on one line:\n%s", out)
	}
	out, err = runCLI(t, env, "", "search", "--limit", "5", "fawa")
	if err != nil || !strings.Contains(out, "x:@fawaka") || !strings.Contains(out, "Fawaka Fan") {
		t.Errorf("search by handle: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "search"); err == nil {
		t.Errorf("search without words must fail:\n%s", out)
	}
	out, err = runCLI(t, env, "", "queues")
	if err != nil {
		t.Fatalf("queues: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`unassigned\s+1\s+1\s`).MatchString(out) {
		t.Errorf("queues does not count the waiting conversation:\n%s", out)
	}
}

func TestResolveIdleCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db}
	ctx := context.Background()
	st, err := openStore(ctx, config.Config{DatabasePath: db})
	if err != nil {
		t.Fatal(err)
	}
	ch := store.Channel{Kind: "x", Name: "X"}
	if err := st.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	old, recent := time.Now().Add(-30*24*time.Hour), time.Now().Add(-time.Hour)
	res, err := st.Ingest(ctx, []store.Inbound{
		{ChannelID: ch.ID, PlatformID: "1", Platform: "x", ExternalID: "u1", Body: "old", SentAt: old, ReceivedAt: old},
		{ChannelID: ch.ID, PlatformID: "2", Platform: "x", ExternalID: "u2", Body: "recent", SentAt: recent, ReceivedAt: recent},
	})
	if err != nil {
		t.Fatal(err)
	}
	pending := store.StatusPending
	for _, r := range res {
		if _, err := st.UpdateConversation(ctx, r.ConversationID, store.ConversationChange{Status: &pending}, store.Actor{Via: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	for _, bad := range [][]string{{"resolve-idle", "--status", "resolved"}, {"resolve-idle", "--idle", "5m"}} {
		if out, err := runCLI(t, env, "", bad...); err == nil {
			t.Errorf("%v must fail:\n%s", bad, out)
		}
	}
	out, err := runCLI(t, env, "", "resolve-idle")
	if err != nil || !strings.Contains(out, "resolved 1 conversations") {
		t.Fatalf("resolve-idle: %v\n%s", err, out)
	}
	st, err = openStore(ctx, config.Config{DatabasePath: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, want := range []store.Status{store.StatusResolved, store.StatusPending} {
		c, err := st.Conversation(ctx, res[i].ConversationID)
		if err != nil || c.Status != want {
			t.Errorf("conversation %d: %s (%v), want %s", i, c.Status, err, want)
		}
	}
}

func TestChannelSettingsFromTheCommandLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db, "WEBCARE_BASE_URL": "https://care.example"}
	out, err := runCLI(t, env, "EAAG-secret-from-stdin\n", "channel", "add", "--kind", "whatsapp", "--name", "WhatsApp NL",
		"--set", "account_id=106540352242922", "--set", "access_token=-")
	if err != nil {
		t.Fatalf("channel add: %v\n%s", err, out)
	}
	for _, want := range []string{"webhook URL:     https://care.example/hooks/1", "verify_token:", "account_id", "106540352242922", "access_token", "set"} {
		if !strings.Contains(out, want) {
			t.Errorf("channel add output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "EAAG-secret-from-stdin") {
		t.Errorf("the secret is printed back:\n%s", out)
	}
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.Channel(t.Context(), 1)
	st.Close()
	if err != nil || ch.Settings["access_token"] != "EAAG-secret-from-stdin" || ch.Settings["verify_token"] == "" {
		t.Fatalf("stored settings %v, %v", ch.Settings, err)
	}
	if out, err := runCLI(t, env, "", "channel", "set", "--id", "1", "--set", "acces_token=x"); err == nil || !strings.Contains(out+err.Error(), "access_token") {
		t.Errorf("a misspelt setting: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "channel", "set", "--id", "1", "--set", "app_secret=-"); err == nil {
		t.Errorf("key=- without input must fail:\n%s", out)
	}
	// Pointing the channel at another server drops its secrets, as on the
	// admin screen, and says so.
	out, err = runCLI(t, env, "", "channel", "set", "--id", "1", "--set", "api_base=https://graph.other.example")
	if err != nil || !strings.Contains(out, "cleared with the new server address: access_token") {
		t.Fatalf("a new api_base: %v\n%s", err, out)
	}
}

// TestCommandsTellRunningServers: with NATS, what a command changes is
// announced to every server's pages at once, as a change made in the UI
// is: the conversations resolve-idle closed, a channel's new settings and
// a new token (so every instance drops its cached copy).
func TestCommandsTellRunningServers(t *testing.T) {
	natsURL := os.Getenv("WEBCARE_TEST_NATS_URL")
	if natsURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("WEBCARE_TEST_NATS_URL must be set under CI=true")
		}
		t.Skip("WEBCARE_TEST_NATS_URL not set: announcing over NATS needs a server with JetStream")
	}
	prefix := "wccli" + strings.ToLower(nuid.Next())
	stream := strings.ToUpper(prefix) + "_EVENTS" // as app.OpenBus names it
	t.Cleanup(func() {
		if nc, err := nats.Connect(natsURL); err == nil {
			defer nc.Close()
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			js.DeleteStream(ctx, stream)
		}
	})
	// A running server's view of the bus.
	server, err := natsbus.Open(t.Context(), natsURL, natsbus.Options{Prefix: prefix, Stream: stream, Name: "webcare-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	events, cancel, _ := server.Subscribe(t.Context(), 0)
	defer cancel()
	expect := func(what string, match func(bus.Event) bool) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if match(e) {
					return
				}
			case <-timeout:
				t.Fatalf("the running server heard nothing of %s", what)
			}
		}
	}

	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db, "WEBCARE_NATS_URL": natsURL, "WEBCARE_NATS_PREFIX": prefix}
	ctx := context.Background()
	st, err := openStore(ctx, config.Config{DatabasePath: db})
	if err != nil {
		t.Fatal(err)
	}
	ch := store.Channel{Kind: "x", Name: "X"}
	if err := st.CreateChannel(ctx, &ch, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	res, err := st.Ingest(ctx, []store.Inbound{{ChannelID: ch.ID, PlatformID: "1", Platform: "x", ExternalID: "u1", Body: "old", SentAt: old, ReceivedAt: old}})
	if err != nil {
		t.Fatal(err)
	}
	pending := store.StatusPending
	if _, err := st.UpdateConversation(ctx, res[0].ConversationID, store.ConversationChange{Status: &pending}, store.Actor{Via: "test"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	if out, err := runCLI(t, env, "", "resolve-idle"); err != nil || !strings.Contains(out, "resolved 1 conversations") {
		t.Fatalf("resolve-idle: %v\n%s", err, out)
	}
	expect("the resolved conversation", func(e bus.Event) bool {
		return e.Type == bus.ConversationUpdated && e.ConversationID == res[0].ConversationID
	})
	if out, err := runCLI(t, env, "", "channel", "set", "--id", fmt.Sprint(ch.ID), "--set", "api_base=https://api.x.example"); err != nil || !strings.Contains(out, "running servers were told") {
		t.Fatalf("channel set: %v\n%s", err, out)
	}
	expect("the channel's new settings", func(e bus.Event) bool { return e.Type == bus.ChannelUpdated && e.ChannelID == ch.ID })
	if out, err := runCLI(t, env, "", "channel", "rotate-token", "--id", fmt.Sprint(ch.ID)); err != nil {
		t.Fatalf("channel rotate-token: %v\n%s", err, out)
	}
	expect("the channel's new token", func(e bus.Event) bool { return e.Type == bus.ChannelUpdated && e.ChannelID == ch.ID })
}

// TestCommandsWorkWhileNATSIsDown: a command that changes something still
// does it when NATS does not answer (a password reset during an outage),
// and says the servers were not told.
func TestCommandsWorkWhileNATSIsDown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db, "WEBCARE_NATS_URL": "nats://127.0.0.1:1", "WEBCARE_PASSWORD": "a long enough password"}
	if out, err := runCLI(t, env, "", "user", "add", "--admin", "--email", "lead@heron.example"); err != nil || !strings.Contains(out, "added lead") {
		t.Fatalf("user add without NATS: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "user", "set-password", "--email", "lead@heron.example"); err != nil {
		t.Fatalf("set-password without NATS: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "channel", "add", "--kind", "api", "--name", "Feed"); err != nil {
		t.Fatalf("channel add without NATS: %v\n%s", err, out)
	}
	out, err := runCLI(t, env, "", "channel", "rotate-token", "--id", "1")
	if err != nil || strings.Contains(out, "were told") || !strings.Contains(out, "within 10 seconds") || !strings.Contains(out, "will not hear") {
		t.Fatalf("rotate-token without NATS must work and say the servers were not told: %v\n%s", err, out)
	}
}

// TestEveryDocumentedSettingIsTaken: the Bluesky image CDN that the docs
// describe can be set like every other setting.
func TestEveryDocumentedSettingIsTaken(t *testing.T) {
	env := map[string]string{"WEBCARE_DB": filepath.Join(t.TempDir(), "cli.db")}
	out, err := runCLI(t, env, "", "channel", "add", "--kind", "bluesky", "--name", "Bluesky", "--set", "cdn_base=https://cdn.example")
	if err != nil || !strings.Contains(out, "https://cdn.example") {
		t.Fatalf("channel add --set cdn_base: %v\n%s", err, out)
	}
}

// TestLinksUseTheServersBaseURL: a command run without --base-url prints
// links with the address the server runs with (it leaves it in the
// store); with neither it says its links are a guess, and will not
// register a guessed webhook with a platform.
func TestLinksUseTheServersBaseURL(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db}
	out, err := runCLI(t, env, "", "channel", "add", "--kind", "telegram", "--name", "Bot", "--set", "access_token=123:abc")
	if err != nil || !strings.Contains(out, "http://127.0.0.1:8080/hooks/1") || !strings.Contains(out, "a guess") {
		t.Fatalf("without a base URL anywhere: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "channel", "test", "--id", "1"); err == nil || !strings.Contains(err.Error(), "only a guess") {
		t.Errorf("a guessed webhook registered: %v\n%s", err, out)
	}
	st, err := openStore(t.Context(), config.Config{DatabasePath: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(t.Context(), app.BaseURLKey, "https://care.heron.example"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, err = runCLI(t, env, "", "channel", "list")
	if err != nil || !strings.Contains(out, "https://care.heron.example/api/v1/channels/1/messages") || strings.Contains(out, "a guess") {
		t.Errorf("with the server's base URL in the store: %v\n%s", err, out)
	}
}

// TestTwoFactorCommands: an operator requires two-factor of roles and
// resets an agent's who lost their phone, from the command line.
func TestTwoFactorCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"WEBCARE_DB": db, "WEBCARE_PASSWORD": "a long enough password"}
	if out, err := runCLI(t, env, "", "user", "add", "--email", "lead@heron.example", "--role", "supervisor"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "user", "require-two-factor", "--roles", "supervisor, admin"); err != nil || !strings.Contains(out, "admin, supervisor") {
		t.Fatalf("require-two-factor: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "user", "require-two-factor", "--roles", "pilot"); err == nil {
		t.Fatalf("an unknown role must be refused:\n%s", out)
	}
	if out, err := runCLI(t, env, "", "user", "reset-two-factor", "--email", "lead@heron.example"); err == nil || !strings.Contains(err.Error(), "no two-factor") {
		t.Fatalf("resetting what is not on: %v\n%s", err, out)
	}

	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AgentByEmail(context.Background(), "lead@heron.example")
	if err == nil {
		err = st.SetTwoFactor(context.Background(), a.ID, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", [][]byte{[]byte("h")}, store.Actor{Via: "test"})
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := runCLI(t, env, "", "user", "list"); !regexp.MustCompile(`lead@heron\.example.*\bon\b`).MatchString(out) {
		t.Errorf("user list does not show two-factor on:\n%s", out)
	}
	if out, err := runCLI(t, env, "", "user", "reset-two-factor", "--email", "lead@heron.example"); err != nil || !strings.Contains(out, "two-factor of lead@heron.example is off") {
		t.Fatalf("reset-two-factor: %v\n%s", err, out)
	}
	if out, err := runCLI(t, env, "", "user", "require-two-factor", "--roles", "none"); err != nil || !strings.Contains(out, "required of no role") {
		t.Fatalf("require-two-factor none: %v\n%s", err, out)
	}
}
