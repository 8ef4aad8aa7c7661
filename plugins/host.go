package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rayvens/rayvens/camel"
	"github.com/rayvens/rayvens/internal/lines"
	"github.com/rayvens/rayvens/plugins/internal/wire"
	"github.com/rayvens/rayvens/plugins/proto"
	"github.com/rayvens/rayvens/plugins/sdk"
)

// EnvPluginPath lists extra plugin directories, separated like PATH.
const EnvPluginPath = "RAYVENS_PLUGIN_PATH"

// Options configure a [Host].
type Options struct {
	// PluginDirs are searched for executables named rayvens-plugin-*, then
	// the directories of $RAYVENS_PLUGIN_PATH.
	PluginDirs []string
	// Builtin describes the connectors compiled into this program and
	// BuiltinCommand is how to start them as a plugin (for rayvens, the
	// binary itself with a hidden subcommand). Without a command there are
	// no built-in connectors.
	Builtin        sdk.Plugin
	BuiltinCommand []string
	// Log receives host and plugin log lines at LogLevel and above.
	// Defaults: os.Stderr, LevelWarn.
	Log      io.Writer
	LogLevel Level
	// MaxRestarts within RestartWindow before a plugin fails for good
	// (default 5 within 1 minute); RestartBackoff is the first delay before
	// a restart (default 100ms, growing exponentially with jitter up to 5s).
	MaxRestarts    int
	RestartWindow  time.Duration
	RestartBackoff time.Duration
	// StartTimeout bounds a plugin's handshake (default 10s).
	StartTimeout time.Duration
	// SinkRetryFor is how long a sink's batch that its plugin could not
	// write (not permanently) is sent again, with backoff, before its
	// events are reported as failed (default DefaultSinkRetryFor).
	SinkRetryFor time.Duration
}

// PluginInfo describes a plugin for `rayvens plugins`.
type PluginInfo struct {
	Name    string
	Version string
	Path    string // the executable, or "built-in"
	Kinds   []camel.Kind
	Err     error // the plugin could not be described
}

// served is a kind and the plugin process that serves it.
type served struct {
	kind camel.Kind
	proc *process
}

// Host finds, launches and supervises plugins for one run.
type Host struct {
	opts Options
	log  *logger

	lifeline, lifelineW *os.File

	isClosed atomic.Bool

	dirMu  sync.Mutex // guards runDir and the lifeline pipe
	runDir string

	// ctx is the parent of every instance's context; Close cancels it and
	// waits for the instances (see instances.go).
	ctx       context.Context
	cancel    context.CancelFunc
	instances instanceSet

	mu        sync.Mutex
	builtin   *process
	kinds     map[string]served // known kinds
	external  []string          // discovered plugin executables not yet described
	described map[string]*PluginInfo
	procs     map[string]*process // by executable path

	fatalOnce sync.Once
	failed    chan struct{} // closed when a plugin fails for good
	fatal     error
}

// NewHost prepares a host; it starts no process.
func NewHost(opts Options) (*Host, error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.MaxRestarts <= 0 {
		opts.MaxRestarts = 5
	}
	if opts.RestartWindow <= 0 {
		opts.RestartWindow = time.Minute
	}
	if opts.RestartBackoff <= 0 {
		opts.RestartBackoff = 100 * time.Millisecond
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.SinkRetryFor <= 0 {
		opts.SinkRetryFor = DefaultSinkRetryFor
	}
	h := &Host{
		opts:      opts,
		log:       &logger{out: lines.New(opts.Log), level: opts.LogLevel},
		kinds:     map[string]served{},
		described: map[string]*PluginInfo{},
		procs:     map[string]*process{},
		failed:    make(chan struct{}),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if len(opts.BuiltinCommand) > 0 {
		h.builtin = newProcess(h, opts.Builtin.Name, opts.BuiltinCommand)
		for _, k := range opts.Builtin.Kinds() {
			h.kinds[k.Name] = served{k, h.builtin}
		}
	}
	dirs := append([]string(nil), opts.PluginDirs...)
	for _, d := range opts.PluginDirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("plugin directory %s does not exist", d)
		}
	}
	if env := os.Getenv(EnvPluginPath); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	for _, d := range dirs {
		h.external = append(h.external, discover(d)...)
	}
	return h, nil
}

// discover lists the plugin executables in dir, sorted by name.
func discover(dir string) []string {
	// Absolute, so that a plugin in "." is not looked up in $PATH.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !isPluginBinary(path) {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			continue
		}
		out = append(out, path)
	}
	return out
}

// Kind returns the kind named name. Built-in kinds are known without
// starting anything; an unknown kind makes the host describe the external
// plugins not yet described, those whose name matches the kind first.
func (h *Host) Kind(ctx context.Context, name string) (camel.Kind, error) {
	sv, err := h.served(ctx, name)
	return sv.kind, err
}

func (h *Host) served(ctx context.Context, name string) (served, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sv, ok := h.kinds[name]; ok {
		return sv, nil
	}
	sort.SliceStable(h.external, func(i, j int) bool {
		return matches(h.external[i], name) && !matches(h.external[j], name)
	})
	for len(h.external) > 0 {
		path := h.external[0]
		h.external = h.external[1:]
		info := h.describeLocked(ctx, path)
		if info.Err != nil {
			return served{}, info.Err
		}
		if sv, ok := h.kinds[name]; ok {
			return sv, nil
		}
	}
	names := make([]string, 0, len(h.kinds))
	for k := range h.kinds {
		names = append(names, k)
	}
	return served{}, &camel.UnknownKindError{Kind: name, Suggestion: camel.Closest(name, names)}
}

// matches reports whether plugin path is named after kind:
// rayvens-plugin-dice serves dice-source, most likely.
func matches(path, kind string) bool {
	base := strings.TrimPrefix(filepath.Base(path), "rayvens-plugin-")
	return strings.HasPrefix(kind, base+"-") || kind == base
}

// describeLocked starts the plugin at path and records its kinds.
func (h *Host) describeLocked(ctx context.Context, path string) *PluginInfo {
	if info := h.described[path]; info != nil {
		return info
	}
	name := strings.TrimPrefix(filepath.Base(path), "rayvens-plugin-")
	proc := newProcess(h, name, []string{path})
	info := &PluginInfo{Name: name, Path: path}
	h.described[path] = info
	conn, _, err := proc.connect(ctx)
	if err != nil {
		info.Err = err
		return info
	}
	resp, err := conn.Describe(ctx, &proto.DescribeRequest{})
	if err != nil {
		proc.kill()
		info.Err = fmt.Errorf("plugin %s could not describe its kinds: %w", path, err)
		return info
	}
	if resp.GetPlugin() != "" {
		info.Name = resp.GetPlugin()
		proc.name = info.Name
	}
	info.Version = resp.GetVersion()
	h.procs[path] = proc
	for _, pk := range resp.GetKinds() {
		k := wire.KindFromProto(pk)
		if err := k.Check(); err != nil {
			h.log.log(LevelWarn, "host", fmt.Sprintf("plugin %s declares a broken kind; ignoring it: %v", path, err))
			continue
		}
		info.Kinds = append(info.Kinds, k)
		if prev, ok := h.kinds[k.Name]; ok {
			h.log.log(LevelWarn, "host", fmt.Sprintf("kind %s of plugin %s is already served by %s; ignoring it", k.Name, path, prev.proc.path()))
			continue
		}
		h.kinds[k.Name] = served{k, proc}
	}
	return info
}

// Plugins describes every plugin: the built-in one and every external one
// found (starting each to ask for its kinds).
func (h *Host) Plugins(ctx context.Context) []PluginInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []PluginInfo
	if h.builtin != nil {
		out = append(out, PluginInfo{Name: h.opts.Builtin.Name, Version: h.opts.Builtin.Version, Path: "built-in", Kinds: h.opts.Builtin.Kinds()})
	}
	for _, path := range h.external {
		h.describeLocked(ctx, path)
	}
	h.external = nil
	paths := make([]string, 0, len(h.described))
	for p := range h.described {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		out = append(out, *h.described[p])
	}
	return out
}

// open validates config for kind and returns what an instance needs: the
// process that serves it, and the kind and config to open there. A kind
// that stands for another (camel.Kind.Rewrite) is rewritten into it, and
// its errors start with both names: `generic-source: kafka-source: ...`.
func (h *Host) open(ctx context.Context, kind string, dir camel.Direction, config map[string]any) (*process, string, *structpb.Struct, error) {
	sv, cfg, err := h.validate(ctx, kind, dir, config)
	if err != nil {
		return nil, "", nil, err
	}
	if sv.kind.Rewrite != nil {
		target, params, err := sv.kind.Resolve(cfg, func(name string) (camel.Kind, error) {
			other, err := h.served(ctx, name)
			return other.kind, err
		})
		if err != nil {
			return nil, "", nil, err
		}
		if sv, err = h.served(ctx, target.Name); err != nil {
			return nil, "", nil, err
		}
		kind, cfg = target.Name, params
	}
	st, err := structpb.NewStruct(cfg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", kind, err)
	}
	return sv.proc, kind, st, nil
}

// validate finds kind and validates config for it, as given.
func (h *Host) validate(ctx context.Context, kind string, dir camel.Direction, config map[string]any) (served, map[string]any, error) {
	sv, err := h.served(ctx, kind)
	if err != nil {
		return served{}, nil, err
	}
	if err := sv.kind.Is(dir); err != nil {
		return served{}, nil, err
	}
	cfg, err := sv.kind.Validate(config)
	if err != nil {
		return served{}, nil, err
	}
	return sv, cfg, nil
}

// Check validates config for a kind of the given direction without opening
// an instance.
func (h *Host) Check(ctx context.Context, kind string, dir camel.Direction, config map[string]any) error {
	_, _, _, err := h.open(ctx, kind, dir, config)
	return err
}

// RunDir returns the host's private 0700 directory, made on first use:
// Close removes it, and after a run killed with its plugins, the next
// host does (see runDirName). What must not outlive the run goes there.
func (h *Host) RunDir() (string, error) {
	dir, _, err := h.runDirectory()
	return dir, err
}

// runDirectory returns the host's private 0700 directory, made on first
// use. Its name records its owner (see runDirName); before making it, the
// host removes the run directories of owners that are gone.
func (h *Host) runDirectory() (string, *os.File, error) {
	h.dirMu.Lock()
	defer h.dirMu.Unlock()
	if h.runDir == "" {
		base := socketBase()
		h.removeStaleRunDirs(base)
		pid := os.Getpid()
		start, _ := processStart(pid)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("rayvens-run-%d-%d-", pid, start))
		if err != nil {
			return "", nil, err
		}
		r, w, err := os.Pipe()
		if err != nil {
			_ = os.Remove(dir)
			return "", nil, err
		}
		h.runDir, h.lifeline, h.lifelineW = dir, r, w
	}
	return h.runDir, h.lifeline, nil
}

// socketBase is where run directories go: the temporary directory, unless
// its path is so long that plugin socket paths inside it would pass the
// kernel's limit for Unix socket names (104 bytes on macOS, 108 on Linux),
// as with the long per-user TMPDIR of macOS; then /tmp.
func socketBase() string {
	const maxSocketPath = 104
	// rayvens-run-PPPPPPP-SSSSSSSSSSS-NNNNNNNNNN/plugin-NNNNNNNNNN/pluginNNNNNNNNNN
	const suffix = 1 + 42 + 1 + 17 + 1 + 16
	if base := os.TempDir(); len(base)+suffix <= maxSocketPath {
		return base
	}
	return "/tmp"
}

// runDirName matches a run directory's name: rayvens-run-<pid>-<start>-<n>,
// with the pid of the host that made it and that process's start time (0
// where the system does not tell it), so that a later host can tell that
// the owner is gone even once its pid is reused.
//
// The owner is in the name, not in a file inside: a plugin whose host dies
// removes the run directory when it is empty (see the SDK's lifeline), and
// a file would keep it. A host and its plugins killed together (SIGKILL to
// the process group, the OOM killer) remove nothing; the next host does.
var runDirName = regexp.MustCompile(`^rayvens-run-([0-9]+)-([0-9]+)-[0-9]+$`)

// removeStaleRunDirs removes the run directories in base that belong to
// this user and whose owner process is gone. It never fails a run: what it
// cannot read or remove stays.
func (h *Host) removeStaleRunDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := runDirName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() { // IsDir is false for a symbolic link
			continue
		}
		pid, err1 := strconv.Atoi(m[1])
		start, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil || !ownerGone(pid, start) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		if fi, err := os.Lstat(dir); err != nil || !ownedByMe(fi) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			h.log.log(LevelDebug, "host", "cannot remove a stale run directory", "dir", dir, "error", err.Error())
			continue
		}
		h.log.log(LevelDebug, "host", "removed the run directory of a run that was killed", "dir", dir)
	}
}

// ownerGone reports whether no process pid started at start (0: at any
// time) exists. On a doubt the owner is taken to be alive.
func ownerGone(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true // Windows looks the process up here
	}
	defer p.Release()
	if err := p.Signal(syscall.Signal(0)); errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
		return true
	}
	now, ok := processStart(pid)
	return start != 0 && ok && now != start // the pid was reused
}

// processStart returns when process pid started, in clock ticks since boot
// (field 22 of /proc/PID/stat); false where there is no /proc.
func processStart(pid int) (uint64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, and
	// field 22 is the 20th after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return start, err == nil
}

// ownedByMe reports whether fi belongs to the current user. Where the
// owner is not known (fileOwner), nothing is ours to remove.
func ownedByMe(fi os.FileInfo) bool {
	uid, ok := fileOwner(fi)
	return ok && uid == os.Getuid()
}

func (h *Host) closed() bool { return h.isClosed.Load() }

func (h *Host) fail(err error) {
	h.log.log(LevelError, "host", err.Error())
	h.fatalOnce.Do(func() {
		h.fatal = err
		close(h.failed)
	})
}

// Failed is closed when a plugin fails for good (it crashed more than
// Options.MaxRestarts times within Options.RestartWindow); the run using
// the host should then stop with [Host.Err].
func (h *Host) Failed() <-chan struct{} { return h.failed }

// Err returns why the host failed, once Failed is closed; nil before.
func (h *Host) Err() error {
	select {
	case <-h.failed:
		return h.fatal
	default:
		return nil
	}
}

// Close ends every instance opened through the host (a sink's events not
// yet acknowledged fail; a source stops), waits for them, stops every
// plugin process and removes the run directory. Close sinks first to let
// them finish their work.
func (h *Host) Close() error {
	h.isClosed.Store(true)
	h.cancel()
	h.instances.wait()
	procs := h.processes()
	h.dirMu.Lock()
	dir, r, w := h.runDir, h.lifeline, h.lifelineW
	h.dirMu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.kill()
		}()
	}
	wg.Wait()
	if w != nil {
		_ = w.Close()
		_ = r.Close()
	}
	if dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}
