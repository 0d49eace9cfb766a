package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	"github.com/webcare/webcare/internal/app"
	"github.com/webcare/webcare/internal/config"
)

// flags makes a command's flag set with the shared settings on it.
func flags(name string, e env) (*flag.FlagSet, func() (config.Config, error)) {
	fs := flag.NewFlagSet("webcare "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs, config.Register(fs, e.getenv)
}

func parse(fs *flag.FlagSet, finish func() (config.Config, error), args []string) (config.Config, error) {
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return finish()
}

func serve(ctx context.Context, e env, args []string) error {
	fs, finish := flags("serve", e)
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	log := cfg.Logger(e.stderr)
	a, err := app.Open(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	if err := a.EnsureSetup(ctx); err != nil {
		a.Close()
		return err
	}
	return a.Serve(ctx, nil)
}

func printConfig(ctx context.Context, e env, args []string) error {
	fs, finish := flags("config", e)
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	cfg.Print(e.stdout)
	return nil
}

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = ""

func version(ctx context.Context, e env, args []string) error {
	v := Version
	if v == "" {
		v = "dev"
		if info, ok := debug.ReadBuildInfo(); ok {
			if info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " (" + s.Value[:12] + ")"
				}
			}
		}
	}
	fmt.Fprintln(e.stdout, "webcare", v)
	return nil
}
