package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/webcare/webcare/internal/config"
	"github.com/webcare/webcare/internal/store/storecopy"
)

func migrate(ctx context.Context, e env, args []string) error {
	fs, finish := flags("migrate", e)
	from := fs.String("from-sqlite", "", "copy this embedded database file into the empty PostgreSQL database --database-url names")
	cfg, err := parse(fs, finish, args)
	if err != nil {
		return err
	}
	if *from != "" {
		return migrateFromSQLite(ctx, e, cfg, *from)
	}
	st, err := openStore(ctx, cfg) // opening applies what is missing
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: schema version %d, up to date\n", cfg.Database(), v)
	return nil
}

// migrateFromSQLite moves a team from the embedded database to PostgreSQL:
// the schema, then every row, then the counts side by side.
func migrateFromSQLite(ctx context.Context, e env, cfg config.Config, path string) error {
	if cfg.DatabaseURL == "" {
		return errors.New("--from-sqlite copies into PostgreSQL: name the target with --database-url or WEBCARE_DATABASE_URL")
	}
	fmt.Fprintf(e.stdout, "copying %s into %s (stop the servers on %s first: what they write later is not copied)\n", path, cfg.Database(), path)
	counts, err := storecopy.FromSQLite(ctx, path, cfg.DatabaseURL, storecopy.Options{
		ProgressEvery: 50000,
		Progress: func(table string, rows int64, done bool) {
			if done {
				fmt.Fprintf(e.stdout, "  %-18s %d rows\n", table, rows)
			} else {
				fmt.Fprintf(e.stdout, "  %-18s %d rows…\n", table, rows)
			}
		},
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSQLITE\tPOSTGRESQL")
	var total int64
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Table, c.Source, c.Target)
		total += c.Target
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "done: %d rows in %d tables copied, every count matches; start webcare with this WEBCARE_DATABASE_URL\n", total, len(counts))
	return nil
}
