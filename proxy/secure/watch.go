package secure

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// reloadDebounce lets a burst of file events (an editor's write, chmod and
// rename) settle into one reload.
const reloadDebounce = 100 * time.Millisecond

// WatchFile reloads path with ReloadFile whenever a value arrives on hup
// (SIGHUP in `meshbench proxy`) or the file changes on disk, until ctx is
// done. The file's directory is watched with fsnotify, so an editor's or a
// config manager's atomic rename counts as a change; bursts of events are
// debounced. Each outcome is logged: a refused file leaves the running
// configuration serving, and the next change is tried again. When the
// directory cannot be watched, that is logged and only hup reloads.
//
// The watch is in place when WatchFile returns; the loop runs in a
// goroutine, and the returned function waits for it to end after ctx is
// done.
func (sp *Proxy) WatchFile(ctx context.Context, path string, hup <-chan os.Signal) (wait func()) {
	log := sp.sec.log
	var (
		w      *fsnotify.Watcher
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	abs, err := filepath.Abs(path)
	if err == nil {
		if w, err = fsnotify.NewWatcher(); err == nil {
			if err = w.Add(filepath.Dir(abs)); err == nil {
				events, errs = w.Events, w.Errors
			} else {
				w.Close()
				w = nil
			}
		}
	}
	if err != nil {
		log.Warn("cannot watch the config file; only SIGHUP reloads it", "file", path, "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		sp.watchLoop(ctx, path, abs, hup, events, errs)
	}()
	return func() { <-done }
}

func (sp *Proxy) watchLoop(ctx context.Context, path, abs string, hup <-chan os.Signal, events <-chan fsnotify.Event, errs <-chan error) {
	log := sp.sec.log
	reload := func(why string) {
		if err := sp.ReloadFile(path); err != nil {
			log.Error("config reload refused; the previous configuration keeps serving", "trigger", why, "file", path, "err", err)
			return
		}
		log.Info("config reloaded", "trigger", why, "file", path)
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("signal")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create) != 0 {
				debounce.Reset(reloadDebounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warn("config watch", "file", path, "err", err)
		case <-debounce.C:
			reload("file")
		}
	}
}
