package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/webcare/webcare/internal/understand"
)

// understandCmd trains the message model from the labelled corpus.
func understandCmd(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "understand", args, map[string]func(context.Context, env, []string) error{
		"train": understandTrain,
	})
}

// readCorpora reads labelled files, or every *.jsonl in a directory.
func readCorpora(paths []string) ([]understand.Example, error) {
	var out []understand.Example
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, _ = filepath.Glob(filepath.Join(p, "*.jsonl"))
			slices.Sort(files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			ex, err := understand.ReadCorpus(bytes.NewReader(b), f)
			if err != nil {
				return nil, err
			}
			out = append(out, ex...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no labelled messages in " + fmt.Sprint(paths))
	}
	return out, nil
}

// understandTrain fits the model on the corpus's training part (never the
// held-out quarter) and writes it where the binary embeds it from.
func understandTrain(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("webcare understand train", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "internal/understand/model.bin.gz", "where to write the model")
	all := fs.Bool("all", false, "train on the held-out part too (only to ship a model measured before on the held-out part)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"data/understand"}
	}
	examples, err := readCorpora(paths)
	if err != nil {
		return err
	}
	var train []understand.Example
	for _, ex := range examples {
		if *all || !understand.HeldOut(ex) {
			train = append(train, ex)
		}
	}
	lex, err := understand.DefaultLexicon()
	if err != nil {
		return err
	}
	m := understand.Train(train, lex, understand.TrainOptions{})
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "trained on %d of %d messages (%d held out): %d features, %d bytes → %s\n",
		len(train), len(examples), len(examples)-len(train), len(m.Features), buf.Len(), *out)
	return nil
}

// evalCmd measures what webcare reads against labelled files.
func evalCmd(ctx context.Context, e env, args []string) error {
	return subcommand(ctx, e, "eval", args, map[string]func(context.Context, env, []string) error{
		"understand": evalUnderstand,
	})
}

func evalUnderstand(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("webcare eval understand", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print one JSON object with the scores")
	heldOut := fs.Bool("held-out", false, "only the held-out part of the files (for the repo's corpus)")
	misses := fs.Int("misses", 20, "how many wrong answers to show (without --json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: webcare eval understand [--json] [--held-out] FILE…")
	}
	examples, err := readCorpora(fs.Args())
	if err != nil {
		return err
	}
	if *heldOut {
		examples = slices.DeleteFunc(examples, func(ex understand.Example) bool { return !understand.HeldOut(ex) })
	}
	a, err := understand.New(nil)
	if err != nil {
		return err
	}
	r := understand.Evaluate(a, examples)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(r)
	}
	r.Write(e.stdout, *misses)
	return nil
}
