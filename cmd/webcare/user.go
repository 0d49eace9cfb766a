package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/auth"
	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/desk"
	"github.com/webcare/webcare/internal/store"
)

// cli is who acts from the command line: webcare itself, as an admin may.
var cli = desk.System("cli")

// openStore opens the database the configuration names, as the server does.
func openStore(ctx context.Context, cfg config.Config) (app.Store, error) {
	return app.OpenStore(ctx, cfg)
}

// subcommand dispatches "webcare user add …" and the like.
func subcommand(ctx context.Context, e env, group string, args []string, subs map[string]func(context.Context, env, []string) error) error {
	if len(args) == 0 || subs[args[0]] == nil {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("usage: webcare %s <%s> [flags]", group, strings.Join(names, "|"))
	}
	return subs[args[0]](ctx, e, args[1:])
}

func user(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "user", args, map[string]func(context.Context, env, []string) error{
		"add": userAdd, "list": userList, "set-password": userSetPassword, "disable": userDisable,
		"reset-two-factor": userResetTwoFactor, "require-two-factor": userRequireTwoFactor,
	})
}

// password takes the password from --password-stdin, WEBCARE_PASSWORD, or
// makes one up and shows it once.
func password(e env, fromStdin bool) (pw string, generated bool, err error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", false, errors.New("no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	if pw := e.getenv("WEBCARE_PASSWORD"); pw != "" {
		return pw, false, nil
	}
	token, _ := auth.NewToken("")
	return token[:20], true, nil
}

func userAdd(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user add", e)
	email := fs.String("email", "", "e-mail address, the login (required)")
	name := fs.String("name", "", "full name (default: the part of the e-mail before @)")
	role := fs.String("role", "agent", "admin, supervisor, agent, volunteer or field")
	admin := fs.Bool("admin", false, "same as --role admin")
	languages := fs.String("languages", "", "languages spoken, comma-separated (nl,en,de)")
	capacity := fs.Int("capacity", 10, "conversations at once")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input (else WEBCARE_PASSWORD, else one is generated)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	in := desk.AgentInput{Email: email, Name: name, Role: (*store.Role)(role), Capacity: capacity}
	if *admin {
		*role = string(store.RoleAdmin)
	}
	if strings.TrimSpace(*name) == "" {
		*name, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(*email)), "@")
	}
	langs := []string{}
	for _, l := range strings.Split(*languages, ",") {
		if l = strings.TrimSpace(l); l != "" {
			langs = append(langs, l)
		}
	}
	in.Languages = &langs
	pw, generated, err := password(e, *stdin)
	if err != nil {
		return err
	}
	in.Password = &pw
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		a, err := t.Desk.AddAgent(ctx, cli, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "added %s <%s> as %s (id %d)\n", a.Name, a.Email, a.Role, a.ID)
		if generated {
			fmt.Fprintf(e.stdout, "password: %s\n(shown once; change it with `webcare user set-password`)\n", pw)
		}
		return nil
	})
}

func userList(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user list", e)
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	agents, err := st.Agents(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tLANGUAGES\tPRESENCE\tTWO-FACTOR\tSTATE")
	for _, a := range agents {
		state := "active"
		if a.Disabled {
			state = "disabled"
		}
		twoFactor := "off"
		if a.TwoFactor {
			twoFactor = "on"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, a.Name, a.Role, strings.Join(a.Languages, ","), a.Presence, twoFactor, state)
	}
	return tw.Flush()
}

// changeUser applies in to the agent with the e-mail address, as an admin
// would.
func changeUser(ctx context.Context, t *app.Tools, email string, in desk.AgentInput) (store.Agent, error) {
	if email == "" {
		return store.Agent{}, errors.New("--email is required")
	}
	a, err := t.Store.AgentByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("no agent with e-mail %s", email)
	}
	if err != nil {
		return a, err
	}
	return t.Desk.UpdateAgent(ctx, cli, a.ID, in)
}

func userSetPassword(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user set-password", e)
	email := fs.String("email", "", "the agent's e-mail address (required)")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input (else WEBCARE_PASSWORD, else one is generated)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	pw, generated, err := password(e, *stdin)
	if err != nil {
		return err
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		a, err := changeUser(ctx, t, *email, desk.AgentInput{Password: &pw})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password changed for %s\n", a.Email)
		if generated {
			fmt.Fprintf(e.stdout, "password: %s\n(shown once)\n", pw)
		}
		return nil
	})
}

func userDisable(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user disable", e)
	email := fs.String("email", "", "the agent's e-mail address (required)")
	enable := fs.Bool("enable", false, "enable the agent again instead")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	off := !*enable
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		a, err := changeUser(ctx, t, *email, desk.AgentInput{Disabled: &off})
		if err != nil {
			return err
		}
		if a.Disabled {
			fmt.Fprintf(e.stdout, "disabled %s; their sessions are ended\n", a.Email)
		} else {
			fmt.Fprintf(e.stdout, "enabled %s\n", a.Email)
		}
		return nil
	})
}

// userResetTwoFactor turns off an agent's two-factor: for someone who lost
// their phone and their recovery codes.
func userResetTwoFactor(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user reset-two-factor", e)
	email := fs.String("email", "", "the agent's e-mail address (required)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		a, err := t.Store.AgentByEmail(ctx, *email)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no agent with e-mail %s", *email)
		}
		if err != nil {
			return err
		}
		if _, err := t.Desk.ResetTwoFactor(ctx, cli, a.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "two-factor of %s is off and their recovery codes are spent; if their role requires it, they set it up again at their next login\n", a.Email)
		return nil
	})
}

// userRequireTwoFactor sets the roles that must sign in with two-factor.
func userRequireTwoFactor(ctx context.Context, e env, args []string) error {
	fs, finish := flags("user require-two-factor", e)
	list := fs.String("roles", "", "comma-separated roles that must use two-factor (admin,supervisor), or none (required)")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *list == "" {
		return errors.New("--roles is required: e.g. --roles admin,supervisor, or --roles none")
	}
	roles := []store.Role{}
	if *list != "none" {
		for _, r := range strings.Split(*list, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, store.Role(r))
			}
		}
	}
	return withTools(ctx, e, cfg, func(t *app.Tools) error {
		if err := t.Desk.SetTwoFactorRoles(ctx, cli, roles); err != nil {
			return err
		}
		now, err := t.Desk.TwoFactorRoles(ctx)
		if err != nil {
			return err
		}
		if len(now) == 0 {
			fmt.Fprintln(e.stdout, "two-factor is required of no role")
			return nil
		}
		names := make([]string, len(now))
		for i, r := range now {
			names[i] = string(r)
		}
		fmt.Fprintf(e.stdout, "two-factor is required of: %s (at their next password login)\n", strings.Join(names, ", "))
		return nil
	})
}
