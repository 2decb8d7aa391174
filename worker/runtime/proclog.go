package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
)

// readLines logs what the process writes to its stdout or stderr, a line at
// a time.
func (p *proc) readLines(r *os.File, stream string, level slog.Level) {
	defer p.readers.Done()
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if n := len(line); n > 0 {
			if line[n-1] == '\n' {
				n--
				if n > 0 && line[n-1] == '\r' {
					n--
				}
			}
			p.f.rt.log.Log(context.Background(), level, string(line[:n]), "function", p.f.name, "stream", stream, "pid", p.pid)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// logFrame logs what a function wrote to its console, with the request id
// of the invocation that wrote it.
func (p *proc) logFrame(body []byte) {
	log := p.f.rt.log
	var l struct {
		RequestID string `json:"r"`
		Stream    string `json:"s"`
		Text      string `json:"m"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		log.Warn("bad log frame from "+p.lang+" process", "function", p.f.name, "pid", p.pid, "err", err)
		return
	}
	attrs := []slog.Attr{slog.String("function", p.f.name), slog.String("stream", l.Stream)}
	if l.RequestID != "" {
		attrs = append(attrs, slog.String("request_id", l.RequestID))
	}
	log.LogAttrs(context.Background(), consoleLevel(l.Stream), l.Text, attrs...)
}

func consoleLevel(stream string) slog.Level {
	switch stream {
	case "error":
		return slog.LevelError
	case "warn":
		return slog.LevelWarn
	case "debug":
		return slog.LevelDebug
	default:
		return slog.LevelInfo
	}
}
