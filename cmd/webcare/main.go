// Command webcare is the social customer service hub: one binary that
// serves the API, runs the demo, manages users and measures itself.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "webcare:", err)
		os.Exit(1)
	}
}

// env is what a subcommand gets from the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name, usage string
	run         func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", serve},
		{"demo", "run the server on a fresh database with a simulated airline's traffic", runDemo},
		{"user", "add, list, set-password, disable agents", user},
		{"channel", "add, list channels, rotate a channel's token", channelCmd},
		{"search", "find messages, contacts and handles", search},
		{"queues", "open and waiting work per queue, and every agent's load", queues},
		{"resolve-idle", "close conversations idle for a while (default: pending for a week)", resolveIdle},
		{"migrate", "bring the database schema up to date", migrate},
		{"bench", "measure: bench ingest", runBench},
		{"eval", "measure: eval understand FILE… (what webcare reads in messages, against labels)", evalCmd},
		{"understand", "understand train: fit the message model to the labelled corpus", understandCmd},
		{"config", "print the effective settings, secrets masked", printConfig},
		{"version", "print the version", version},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: webcare <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\n`webcare <command> -h` lists a command's flags; settings also come from WEBCARE_* variables.")
}
