// Command production is the recorder configuration the README's
// "Production setup" section explains: a durable spool, a signal-aware
// Close, warnings on the default logger, and a fail-closed route that
// waits for delivery.
//
//	go run ./examples/production -out audit-out -spool audit-spool
//
// It serves http://127.0.0.1:8080 until SIGINT or SIGTERM, then closes the
// recorder, delivering what is pending.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/trailhttp"
)

func main() {
	out := flag.String("out", "audit-out", "directory of the log files")
	spool := flag.String("spool", "audit-spool", "directory of the durable spool")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	// SIGTERM (what an orchestrator sends) and SIGINT end ctx; Close then
	// delivers what is pending. Without this, the process dies at SIGTERM
	// and only the spool keeps the batches for the next start.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, ln, *out, *spool); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, ln net.Listener, out, spool string) error {
	rec, err := trail.New(trail.Config{
		AccountID: "111122223333", Region: "us-east-1",
		// Record returns nil only once the event is fsynced to the spool:
		// it survives kill -9 and power loss, and the next start delivers it.
		Spool:    &trail.Spool{Dir: spool, Sync: trail.SyncGroupCommit},
		Overflow: trail.Reject,                                  // a full spool answers at once (fail-closed routes get 503)
		Logger:   slog.New(slog.NewJSONHandler(os.Stderr, nil)), // nil would mean slog.Default()
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket",
			Sinks: []trail.Sink{filesink.New(out, filesink.Options{})}}},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, r.PathValue("id")) })
	srv := &http.Server{Handler: trailhttp.Handler(rec, mux, trailhttp.Options{
		EventSource: "orders.example.com",
		FailClosed:  true, // no response without its accepted (durable) event
		// Writes answer only once their event is stored by every sink.
		WaitDelivered: func(r *http.Request) bool { return r.Method != http.MethodGet },
	})}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Bound Close: what it cannot deliver in time stays in the spool, and
	// its error says so.
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rec.Close(closeCtx)
}
