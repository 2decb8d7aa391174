// Package process is what every fngate binary does around serving:
// "version" prints the build information, settings that do not parse end it
// with exit status 2, its JSON log on stderr at the configured level becomes
// slog's default, the GC target is set (package gctune), and SIGINT or
// SIGTERM end the context it serves under.
package process

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fngate/fngate/shared/buildinfo"
	"github.com/fngate/fngate/shared/gctune"
)

// Parse reads a command's settings from args with parse. "version" alone
// prints the build information (package buildinfo) and exits 0; settings
// that do not parse end the process with exit status 2 after
// "<name>: <err>" on stderr.
func Parse[O any](name string, args []string, parse func([]string) (O, error)) O {
	if len(args) == 1 && args[0] == "version" {
		fmt.Println(buildinfo.Get())
		os.Exit(0)
	}
	o, err := parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	return o
}

// Start makes a JSON log on stderr at level slog's default, sets the GC
// target, and returns the log and a context that SIGINT or SIGTERM cancel.
func Start(level slog.Level) (*slog.Logger, context.Context, context.CancelFunc) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	return log, ctx, stop
}
