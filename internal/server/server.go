// Package server opens a mechanism's data folder — its log, projection
// and evidence — into a running mechanism with its HTTP handler.
//
// The data folder:
//
//	mechanism.json  origin and log verifier key (public)
//	log.key         the log's signed-note private key (0600)
//	log/            the Tessera POSIX log: checkpoint, tile/, .state/
//	state.db        the SQLite projection (rebuilt by truce reindex)
//	evidence/       evidence files, by SHA-256
//	keys/           members' private keys (the demo only)
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/truce-mechanism/truce"
	"github.com/truce-mechanism/truce/internal/api"
	"github.com/truce-mechanism/truce/internal/evidence"
	"github.com/truce-mechanism/truce/internal/i18n"
	"github.com/truce-mechanism/truce/internal/ledger"
	"github.com/truce-mechanism/truce/internal/mechanism"
	"github.com/truce-mechanism/truce/internal/state"
	"github.com/truce-mechanism/truce/internal/store/sqlite"
	"github.com/truce-mechanism/truce/internal/web"
)

// Info is the public description of a mechanism, kept in mechanism.json.
type Info struct {
	// Origin is the log's origin line and the mechanism's name.
	Origin string `json:"origin"`
	// LogKey is the log's signed-note verifier key.
	LogKey string `json:"log_key"`
}

// ErrNoMechanism is returned by Open for a folder without a mechanism.
var ErrNoMechanism = errors.New("no mechanism in the data folder")

// Init makes a new mechanism in dir: a new log key and mechanism.json.
// It refuses a folder that already holds one.
func Init(dir, origin string) (*Info, error) {
	if origin == "" {
		return nil, errors.New("an origin is required, such as truce.example/istanbul-2025")
	}
	skey, _, err := ledger.GenerateKey(origin)
	if err != nil {
		return nil, err
	}
	return InitWithKey(dir, skey)
}

// InitWithKey makes a new mechanism in dir with the given signed-note log
// key, whose name is the mechanism's origin. Tools that make reproducible
// mechanisms, such as the demo, derive the key themselves.
func InitWithKey(dir, skey string) (*Info, error) {
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("cannot use the log key: %w", err)
	}
	origin := signer.Name()
	vkey, err := ledger.VerifierKey(skey)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "mechanism.json")); err == nil {
		return nil, fmt.Errorf("%s already holds a mechanism", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create data folder: %w", err)
	}
	if err := writeFileSync(filepath.Join(dir, "log.key"), []byte(skey+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write log key: %w", err)
	}
	info := &Info{Origin: origin, LogKey: vkey}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFileSync(filepath.Join(dir, "mechanism.json"), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write mechanism.json: %w", err)
	}
	return info, nil
}

func writeFileSync(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadInfo reads a data folder's mechanism.json.
func ReadInfo(dir string) (*Info, error) {
	b, err := os.ReadFile(filepath.Join(dir, "mechanism.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %s (make one with truce init)", ErrNoMechanism, dir)
	} else if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", filepath.Join(dir, "mechanism.json"), err)
	}
	return &info, nil
}

// Config configures Open. Zero values are the defaults.
type Config struct {
	// Dir is the data folder.
	Dir string
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock for receive times; default time.Now.
	Now func() time.Time
	// BatchMaxAge and BatchMaxSize tune the log's batching (see ledger.Config).
	BatchMaxAge  time.Duration
	BatchMaxSize uint
	// Progress, when set, is told how far catching up has got.
	Progress func(done, total uint64)
	// CheckpointInterval and WitnessTimeout are the ledger's; zero for
	// its defaults.
	CheckpointInterval time.Duration
	WitnessTimeout     time.Duration
	// HTTPClient sends checkpoints to the charter's witnesses;
	// http.DefaultClient when nil.
	HTTPClient *http.Client
	// SecureCookies marks the web UI's session cookie Secure even on
	// plain HTTP requests: for a server behind a proxy that terminates
	// TLS (web.Config.SecureCookies).
	SecureCookies bool
}

// Server is a mechanism opened from its data folder.
type Server struct {
	Info      *Info
	Mechanism *mechanism.Mechanism
	Ledger    *ledger.Ledger
	Store     *sqlite.Store
	Evidence  *evidence.Store
	Registry  *prometheus.Registry
	handler   http.Handler
}

// Open opens the mechanism in cfg.Dir.
func Open(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	info, err := ReadInfo(cfg.Dir)
	if err != nil {
		return nil, err
	}
	skey, err := os.ReadFile(filepath.Join(cfg.Dir, "log.key"))
	if err != nil {
		return nil, fmt.Errorf("cannot read the log key: %w", err)
	}
	signer, err := ledger.NewSigner(string(trimNewline(skey)))
	if err != nil {
		return nil, fmt.Errorf("cannot use the log key: %w", err)
	}
	if signer.Name() != info.Origin {
		return nil, fmt.Errorf("the log key is for %q but mechanism.json says %q", signer.Name(), info.Origin)
	}
	s := &Server{Info: info, Registry: prometheus.NewRegistry()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			s.Close(context.WithoutCancel(ctx))
		}
	}()
	// The log is opened before the mechanism, which folds it; until the
	// fold is running, the witness policy of any checkpoint but the empty
	// one is unknown, and the ledger does not publish.
	witnesses := new(witnessBinding)
	s.Ledger, err = ledger.Open(ctx, ledger.Config{
		Dir: filepath.Join(cfg.Dir, "log"), Signer: signer, Logger: cfg.Logger,
		BatchMaxAge: cfg.BatchMaxAge, BatchMaxSize: cfg.BatchMaxSize,
		CheckpointInterval: cfg.CheckpointInterval,
		Witnesses:          witnesses, WitnessTimeout: cfg.WitnessTimeout, HTTPClient: cfg.HTTPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open the log: %w", err)
	}
	s.Store, err = sqlite.Open(ctx, filepath.Join(cfg.Dir, "state.db"))
	if err != nil {
		return nil, fmt.Errorf("cannot open the projection: %w", err)
	}
	s.Evidence, err = evidence.New(filepath.Join(cfg.Dir, "evidence"))
	if err != nil {
		return nil, err
	}
	s.Mechanism, err = mechanism.Open(ctx, mechanism.Config{
		Origin: info.Origin, Log: s.Ledger, Store: s.Store, Logger: cfg.Logger,
		Registerer: s.Registry, Now: cfg.Now, Progress: cfg.Progress,
	})
	if err != nil {
		return nil, err
	}
	witnesses.m.Store(s.Mechanism)
	catalog, err := i18n.Load()
	if err != nil {
		return nil, fmt.Errorf("cannot load the web UI's messages: %w", err)
	}
	ui := web.New(web.Config{
		Mechanism: s.Mechanism, Store: s.Store, Log: s.Ledger, LogKey: info.LogKey,
		Catalog: catalog, Logger: cfg.Logger, SecureCookies: cfg.SecureCookies,
	})
	s.handler = api.New(api.Config{
		Mechanism: s.Mechanism, Store: s.Store, Log: s.Ledger, Evidence: s.Evidence,
		LogKey: info.LogKey, Gatherer: s.Registry, Logger: cfg.Logger, Web: ui,
	})
	return s, nil
}

// witnessBinding gives the ledger the running mechanism's witness
// policy once there is a mechanism.
type witnessBinding struct {
	m atomic.Pointer[mechanism.Mechanism]
}

func (b *witnessBinding) Policy(size uint64) (*truce.WitnessPolicy, bool) {
	if m := b.m.Load(); m != nil {
		return m.WitnessPolicy(size)
	}
	if size > 0 {
		return nil, false
	}
	p, err := state.WitnessPolicy(nil, 0)
	return p, err == nil
}

func (b *witnessBinding) Policies(from, to uint64) ([]*truce.WitnessPolicy, bool) {
	if m := b.m.Load(); m != nil {
		return m.WitnessPolicies(from, to)
	}
	if to > 0 {
		return nil, false
	}
	ps, err := state.WitnessPolicies(nil, 0, 0)
	return ps, err == nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Handler is the mechanism's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the mechanism and closes the log and the store.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.Mechanism != nil {
		errs = append(errs, s.Mechanism.Close())
	}
	if s.Ledger != nil {
		errs = append(errs, s.Ledger.Close(ctx))
	}
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	return errors.Join(errs...)
}

// Serve serves h on addr until ctx is done, then shuts down gracefully.
func Serve(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
