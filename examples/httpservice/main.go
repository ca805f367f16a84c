// Command httpservice is a small REST service for orders whose every request
// is audited as a CloudTrail event with the trailhttp middleware:
//
//   - POST /orders, GET /orders, GET /orders/{id}, DELETE /orders/{id}
//     (bearer tokens alice-token, who may write, and bob-token, who may only
//     read);
//   - GET /audit/events: Recorder.LookupEvents over the recorder's default
//     in-memory event history, as JSON in AWS's shape, with paging
//     (MaxResults, NextToken), a time range (StartTime, EndTime) and one
//     lookup attribute (EventName=…, Username=…, ReadOnly=…,
//     ResourceName=…);
//   - /audit/: the audit console (package trailui): event history with
//     filters and paging, each event's JSON and log file, the trails and
//     their status; a browser signs in with basic authorization (user alice
//     or bob, the token as password);
//   - events are delivered to local disk (-dir) in CloudTrail's S3 layout,
//     with signed digest files (log file integrity validation) that
//     cmd/trailcheck verifies against <dir>/public-key.pem.
//
// See README.md for a session with curl.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/trailhttp"
	"github.com/trailkit/trail/trailui"
)

const (
	accountID   = "111122223333"
	region      = "us-east-1"
	trailName   = "orders-audit"
	bucket      = "orders-audit-bucket"
	eventSource = "orders.example.com"
)

// config is what main reads from flags.
type config struct {
	Addr         string
	Dir          string
	Interval     time.Duration // log file batch interval
	DigestPeriod time.Duration
	Key          *rsa.PrivateKey
	Logger       *slog.Logger
}

// service is the wired application.
type service struct {
	Handler http.Handler
	Rec     *trail.Recorder
}

// newService builds the recorder (one trail to disk with validation; event
// history in the recorder's default bounded in-memory store, as
// Config.History is nil) and the HTTP handler with the audit middleware.
func newService(cfg config) (*service, error) {
	rec, err := trail.New(trail.Config{
		AccountID: accountID,
		Region:    region,
		Overflow:  trail.Reject, // with FailClosed: answer 503 rather than wait
		Logger:    cfg.Logger,
		Trails: []trail.Trail{{
			Name:       trailName,
			Bucket:     bucket,
			Sinks:      []trail.Sink{filesink.New(cfg.Dir, filesink.Options{})},
			Validation: &trail.Validation{Signer: cfg.Key, Period: cfg.DigestPeriod},
			Interval:   cfg.Interval,
		}},
	})
	if err != nil {
		return nil, err
	}
	orders := &orderStore{orders: map[string]*Order{}}
	mux := http.NewServeMux()
	mux.Handle("POST /orders", authorized(true, "CreateOrder", orders.create))
	mux.Handle("GET /orders", authorized(false, "ListOrders", orders.list))
	mux.Handle("GET /orders/{id}", authorized(false, "GetOrder", orders.get))
	mux.Handle("DELETE /orders/{id}", authorized(true, "DeleteOrder", orders.delete))
	mux.Handle("GET /audit/events", authorized(false, "LookupEvents", lookupEvents(rec)))
	// The audit console: every known user may read it (bob too).
	console, err := trailui.New(rec, trailui.Options{
		Title: "Orders audit",
		Authorize: func(r *http.Request) error {
			if _, ok := caller(r); !ok {
				return trailui.ErrUnauthenticated
			}
			return nil
		},
		Challenge: `Basic realm="orders audit", charset="UTF-8"`,
	})
	if err != nil {
		_ = rec.Close(context.Background())
		return nil, err
	}
	mux.Handle("/audit/", console)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	h := trailhttp.Handler(rec, mux, trailhttp.Options{
		EventSource:       eventSource,
		EventName:         eventName,
		Identity:          identity,
		Resources:         resources,
		CaptureParameters: true,
		RequestIDHeader:   "X-Request-Id",
		FailClosed:        true, // no response without an audit event
		Skip:              skipAudit,
		OnError: func(r *http.Request, err error) {
			if cfg.Logger != nil {
				cfg.Logger.Warn("audit event rejected", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		},
	})
	return &service{Handler: h, Rec: rec}, nil
}

// skipAudit: health checks and the console's stylesheet and script are not
// audited (its pages are, as ViewAuditConsole).
func skipAudit(r *http.Request) bool {
	p := r.URL.Path
	return p == "/healthz" || p == "/audit/trailui.css" || p == "/audit/trailui.js"
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&cfg.Dir, "dir", "audit-out", "directory for log and digest files (S3 key layout)")
	flag.DurationVar(&cfg.Interval, "interval", time.Minute, "how long a log file collects events")
	flag.DurationVar(&cfg.DigestPeriod, "digest-period", time.Hour, "digest file period")
	keyFile := flag.String("key", "", "PEM RSA private key (PKCS#1 or PKCS#8) that signs digests; default: a new 2048-bit key")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, *keyFile); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, cfg config, keyFile string) error {
	key, err := loadKey(keyFile)
	if err != nil {
		return err
	}
	cfg.Key = key
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pubFile := filepath.Join(cfg.Dir, "public-key.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	svc, err := newService(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second}
	cfg.Logger.Info("serving", "addr", "http://"+ln.Addr().String(), "audit", cfg.Dir, "public-key", pubFile)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(err, ignoreClosed(srv.Shutdown(sctx)))
	// Close delivers the open batches and the final digest.
	err = errors.Join(err, svc.Rec.Close(sctx))
	st := svc.Rec.Stats()
	fmt.Printf("recorded %d events; delivered %d log files and %d digest files to %s\n",
		st.Recorded, st.FilesDelivered, st.DigestsDelivered, cfg.Dir)
	_ = filepath.WalkDir(cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json.gz") {
			rel, _ := filepath.Rel(cfg.Dir, path)
			fmt.Println("  " + filepath.ToSlash(rel))
		}
		return nil
	})
	return err
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// loadKey reads an RSA private key, or makes a new one when file is "".
func loadKey(file string) (*rsa.PrivateKey, error) {
	if file == "" {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	k, err := trail.ParseSigningKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return k, nil
}
