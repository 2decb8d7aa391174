// Package process is what every fngate binary does around serving: settings
// that do not parse end it with exit status 2, its JSON log on stderr at the
// configured level becomes slog's default, the GC target is set (package
// gctune), and SIGINT or SIGTERM end the context it serves under.
package process

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fngate/fngate/shared/gctune"
)

// ExitOnUsage ends the process with exit status 2 after "<name>: <err>" on
// stderr, when err (from reading its settings) is not nil.
func ExitOnUsage(name string, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
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
