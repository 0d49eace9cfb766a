package main

import (
	"context"
	"errors"
)

func demo(ctx context.Context, e env, args []string) error { return errors.New("demo: being written") }
