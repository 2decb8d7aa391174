package runtime

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// spawn starts a process for slot i of run rn of f.
func (f *function) spawn(rn *run, i int) (p *proc, err error) {
	cfg := f.rt.cfg
	fc, _, err := readConfig(f.dir)
	if err != nil {
		return nil, err
	}
	lang, err := detect(f.dir)
	if err != nil {
		return nil, &configError{err}
	}
	f.mu.Lock()
	f.lang = lang
	f.mu.Unlock()
	var files []*os.File // closed on failure
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		files = append(files, r, w)
		return r, w
	}
	cmdIn, toNode := pipe()
	fromNode, cmdOut := pipe()
	stdout, outW := pipe()
	stderr, errW := pipe()
	if err != nil {
		closeAll(files)
		return nil, err
	}
	// The bootstrap's own settings are arguments, which it takes out of
	// process.argv before the function loads: the environment is the
	// function's alone.
	cmd := lang.Command(cfg, f.name, f.dir)
	cmd.Dir = f.dir
	cmd.Env = functionEnv(cfg.Environ, cfg.PassEnv, lang.EnvPrefix(), f.home, fc.Env)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{cmdIn, cmdOut} // fd 3 and fd 4
	cmd.SysProcAttr = sysProcAttr(f.uid)
	gen := f.gen.Load()
	err = cmd.Start()
	closeAll([]*os.File{cmdIn, cmdOut, outW, errW}) // the child's ends
	if err != nil {
		closeAll([]*os.File{toNode, fromNode, stdout, stderr})
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	if h := cfg.hooks; h != nil && h.spawned != nil {
		h.spawned(f.name, cmd.Process.Pid)
	}
	p = &proc{
		f: f, run: rn, lang: lang.Name(), cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), gen: gen,
		toNode: toNode, fromNode: fromNode, stdout: stdout, stderr: stderr,
		out: newOutbox(), calls: newCallTable(), streams: newCallTable(), probe: newProbeState(),
		writerDone: make(chan struct{}), exited: make(chan struct{}), dead: make(chan struct{}),
	}
	p.onReady = func() {
		f.mu.Lock()
		rn.slots[i].failing = false
		f.notify()
		f.mu.Unlock()
		rn.settle(i)
		rn.cold.Do(func() { f.rt.coldStarted(f, lang.Name(), time.Since(rn.started)) })
	}
	loadTimeout := cfg.loadTimeout()
	p.loadTimer = time.AfterFunc(loadTimeout, func() {
		if !p.ready.Load() {
			p.kill(RestartLoadTimeout, fmt.Sprintf("function did not load within %s", loadTimeout))
		}
	})
	f.rt.log.Debug(lang.Name()+" process started", "function", f.name, "pid", p.pid)
	p.readers.Add(3)
	go p.readFrames()
	go p.readLines(stdout, "stdout", slog.LevelInfo)
	go p.readLines(stderr, "stderr", slog.LevelWarn)
	go p.writeLoop()
	go p.wait()
	return p, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}
