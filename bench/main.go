// Command bench runs the same realistic CloudTrail-shaped events (about
// 1.5 KB each, unique event IDs, from historytest.Generator) through trail
// and through zap, zerolog and slog writing JSON lines to a buffered file
// (and zap into a gzip'd file), each contender in its own child process,
// interleaved over several repetitions, and writes RESULTS.md.
//
//	cd bench && go run . -n 300000 -reps 3
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	mrand "math/rand/v2"

	stdgzip "compress/gzip"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/history/historytest"
	"github.com/trailkit/trail/sink/filesink"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// result is what one child run measures.
type result struct {
	Name      string  `json:"name"`
	Mode      string  `json:"mode"`
	Producers int     `json:"producers"`
	Events    int     `json:"events"`
	Wall      float64 `json:"wall_s"` // first call to durable
	CPU       float64 `json:"cpu_s"`  // process CPU over the same span
	Allocs    float64 `json:"allocs_per_event"`
	Disk      int64   `json:"disk_bytes"`
	P99x      float64 `json:"p99_us"`
	P50x      float64 `json:"p50_us"`
	RSS       int64   `json:"peak_rss_kb"`
	HeapGC    int64   `json:"heap_after_gc"` // after the last Record, less the heap before the first (the harness's events)
	Dropped   uint64  `json:"history_dropped"`
}

func main() {
	child := flag.String("child", "", "run one contender (internal)")
	mode := flag.String("mode", "flat", "flat or steady (internal)")
	producers := flag.Int("producers", 1, "producer goroutines (internal)")
	n := flag.Int("n", 300_000, "events per flat-out run")
	big := flag.Int("big", 1_000_000, "events of the large run of trail (flatness)")
	huge := flag.Int("huge", 0, "events of a still larger run of trail (flatness; 0: none)")
	steady := flag.Duration("steady", 3*time.Second, "length of the 10k events/s runs")
	reps := flag.Int("reps", 3, "interleaved repetitions")
	out := flag.String("o", "RESULTS.md", "report file")
	flag.Parse()
	if *child != "" {
		res := runChild(*child, *mode, *producers, *n)
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	parent(*n, *big, *huge, *steady, *reps, *out)
}

var contenders = []string{"trail", "zerolog", "zap", "slog", "zap-gzip", "floor"}

func parent(n, big, huge int, steady time.Duration, reps int, out string) {
	self, err := os.Executable()
	check(err)
	all := map[string][]result{}
	run := func(key, name, mode string, producers, events int) {
		cmd := exec.Command(self, "-child", name, "-mode", mode, "-producers", fmt.Sprint(producers), "-n", fmt.Sprint(events))
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		check(err)
		var r result
		check(json.Unmarshal(b, &r))
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.RSS = ru.Maxrss
		}
		all[key] = append(all[key], r)
		fmt.Fprintf(os.Stderr, "%-22s %8.0f events/s  %6.2f µs CPU/event  p50 %7.2f µs  p99 %8.2f µs\n",
			key, float64(r.Events)/r.Wall, r.CPU/float64(r.Events)*1e6, r.P50x, r.P99x)
	}
	start := time.Now()
	load0 := loadavg()
	for rep := range reps {
		for i := range contenders {
			c := contenders[(i+rep)%len(contenders)]
			run(c, c, "flat", 1, n)
			if c != "floor" && c != "zap-gzip" {
				run(c+"/steady", c, "steady", 1, int(steady.Seconds()*10_000))
			}
			if c == "trail" || c == "zerolog" {
				run(c+"/2producers", c, "flat", 2, n)
			}
		}
	}
	run("trail/big", "trail", "flat", 1, big)
	if huge > 0 {
		run("trail/huge", "trail", "flat", 1, huge)
	}
	load1 := loadavg()
	writeReport(out, all, n, big, huge, steady, reps, load0, load1, time.Since(start))
}

func median(rs []result, f func(r result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func writeReport(out string, all map[string][]result, n, big, huge int, steady time.Duration, reps int, load0, load1 string, took time.Duration) {
	var b strings.Builder
	host, _ := os.Hostname()
	cpu := cpuModel()
	fmt.Fprintf(&b, "# trail vs zap, zerolog, slog\n\n")
	hugeFlag := ""
	if huge > 0 {
		hugeFlag = fmt.Sprintf(" -huge %d", huge)
	}
	fmt.Fprintf(&b, "Written by `go run .` in bench/ (command: `cd bench && go run . -n %d -big %d%s -steady %s -reps %d`).\n\n", n, big, hugeFlag, steady, reps)
	fmt.Fprintf(&b, "- machine: %s, %d CPUs (GOMAXPROCS %d), %s, %s; host %s\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, host)
	fmt.Fprintf(&b, "- load average (1, 5, 15 min) before: %s; after: %s. The 2 cores are shared with other jobs, so wall-clock figures (events/s, latencies) are noisy; CPU per event is the process's own CPU time and is the steadier figure.\n", load0, load1)
	fmt.Fprintf(&b, "- run took %s; every contender runs in its own child process, %d interleaved repetitions (order rotated), medians shown.\n", took.Round(time.Second), reps)
	fmt.Fprintf(&b, "- events: historytest.Generator management events, about 1.5 KB of JSON each, varied identities, resources and parameters: a pool of 20,000 distinct events, each recorded with a fresh unique event ID (the copy is made outside the timed call, so no run holds all its events in memory).\n")
	fmt.Fprintf(&b, "- trail: default config (one trail, filesink with fsync, signed digests, default in-memory history, gzip level %d); durable = Close returned. Loggers: JSON lines through a 256 KiB bufio.Writer to a file, durable = flush + fsync. zap-gzip: zap into compress/gzip (default level) into the file. floor: encode {\"Records\":[…]} + gzip level 1 + SHA-256 of the same records on every core, no I/O. Heap after GC: read after the last Record returned (the pipeline is still draining), less the heap before the first Record (the harness's event pool, IDs and latency samples).\n\n", trail.DefaultCompressionLevel)
	get := func(k string) []result { return all[k] }
	eps := func(r result) float64 { return float64(r.Events) / r.Wall }
	cpuEv := func(r result) float64 { return r.CPU / float64(r.Events) * 1e6 }
	ref := func(k string, f func(result) float64) float64 {
		if rs := get(k); len(rs) > 0 {
			return median(rs, f)
		}
		return 0
	}
	zl, zp := ref("zerolog", eps), ref("zap", eps)
	zlc, zpc := ref("zerolog", cpuEv), ref("zap", cpuEv)
	fmt.Fprintf(&b, "## Flat out, %d events, one producer\n\n", n)
	fmt.Fprintf(&b, "| contender | events/s until durable | ×zerolog | ×zap | CPU µs/event | ×zerolog | ×zap | caller p50 µs | caller p99 µs | allocs/event | bytes on disk | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range contenders {
		rs := get(c)
		if len(rs) == 0 {
			continue
		}
		e, cp := median(rs, eps), median(rs, cpuEv)
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.2f | %d | %.0f |\n", c, e, e/zl, e/zp, cp, cp/zlc, cp/zpc,
			median(rs, func(r result) float64 { return r.P50x }), median(rs, func(r result) float64 { return r.P99x }),
			median(rs, func(r result) float64 { return r.Allocs }), int64(median(rs, func(r result) float64 { return float64(r.Disk) })),
			median(rs, func(r result) float64 { return float64(r.RSS) })/1024)
	}
	fmt.Fprintf(&b, "\n## Steady 10,000 events/s for %s, one producer (caller latency)\n\n", steady)
	fmt.Fprintf(&b, "| contender | caller p50 µs | ×zerolog | caller p99 µs | CPU µs/event |\n|---|---:|---:|---:|---:|\n")
	zp50 := ref("zerolog/steady", func(r result) float64 { return r.P50x })
	for _, c := range contenders {
		rs := get(c + "/steady")
		if len(rs) == 0 {
			continue
		}
		p50 := median(rs, func(r result) float64 { return r.P50x })
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.1f | %.2f |\n", c, p50, p50/zp50, median(rs, func(r result) float64 { return r.P99x }), median(rs, cpuEv))
	}
	fmt.Fprintf(&b, "\n## Two producers vs one (flat out, %d events)\n\n| contender | 1 producer events/s | 2 producers events/s | ratio |\n|---|---:|---:|---:|\n", n)
	for _, c := range []string{"trail", "zerolog"} {
		one, two := ref(c, eps), ref(c+"/2producers", eps)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f |\n", c, one, two, two/one)
	}
	if rs := get("trail/big"); len(rs) > 0 {
		small := get("trail")
		runs := []struct {
			name string
			rs   []result
		}{{fmt.Sprint(n), small}, {fmt.Sprint(big), rs}}
		if h := get("trail/huge"); len(h) > 0 {
			runs = append(runs, struct {
				name string
				rs   []result
			}{fmt.Sprint(huge), h})
		}
		fmt.Fprintf(&b, "\n## Flatness: trail with %d to %s events (one run each above %d)\n\n| run | events/s | CPU µs/event | heap after GC MiB (less the harness's) | history events dropped |\n|---|---:|---:|---:|---:|\n", n, runs[len(runs)-1].name, n)
		for _, x := range runs {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.0f | %.0f |\n", x.name, median(x.rs, eps), median(x.rs, cpuEv),
				median(x.rs, func(r result) float64 { return float64(r.HeapGC) })/(1<<20), median(x.rs, func(r result) float64 { return float64(r.Dropped) }))
		}
	}
	fmt.Fprintf(&b, "\n## Raw runs\n\n```\n")
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, r := range all[k] {
			fmt.Fprintf(&b, "%-20s events=%d wall=%.2fs cpu=%.2fs p50=%.2fµs p99=%.1fµs allocs/ev=%.2f disk=%d rss=%dKiB heapGC=%d dropped=%d\n",
				k, r.Events, r.Wall, r.CPU, r.P50x, r.P99x, r.Allocs, r.Disk, r.RSS, r.HeapGC, r.Dropped)
		}
	}
	fmt.Fprintf(&b, "```\n")
	check(os.WriteFile(out, []byte(b.String()), 0o644))
	fmt.Fprint(os.Stderr, b.String())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], ", ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
		}
	}
	return runtime.GOARCH
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// eventSource yields n events: a pool of distinct generated events, each
// used with a fresh unique event ID. The IDs are made up front (36 bytes
// each) and the events are assembled as they are recorded, outside the
// timed call, so that millions of events need not be held in memory.
type eventSource struct {
	pool []trail.Event
	ids  []byte // n UUIDs of 36 bytes
}

func events(n int) *eventSource {
	gen := historytest.NewGenerator(7, time.Now().Add(-2*time.Hour), time.Millisecond)
	const pool = 20_000
	src := &eventSource{pool: make([]trail.Event, min(n, pool)), ids: make([]byte, 36*n)}
	for i := range src.pool {
		src.pool[i] = gen.Next()
	}
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	rng := mrand.NewChaCha8(seed)
	var b [16]byte
	for i := range n {
		_, _ = rng.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		hex.Encode(src.ids[i*36:], b[0:4])
		src.ids[i*36+8] = '-'
		hex.Encode(src.ids[i*36+9:], b[4:6])
		src.ids[i*36+13] = '-'
		hex.Encode(src.ids[i*36+14:], b[6:8])
		src.ids[i*36+18] = '-'
		hex.Encode(src.ids[i*36+19:], b[8:10])
		src.ids[i*36+23] = '-'
		hex.Encode(src.ids[i*36+24:], b[10:16])
	}
	return src
}

// at sets *e to event i.
func (s *eventSource) at(i int, e *trail.Event) {
	*e = s.pool[i%len(s.pool)]
	e.EventID = unsafe.String(&s.ids[i*36], 36)
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// runChild runs one contender over n events and measures it.
func runChild(name, mode string, producers, n int) result {
	evs := events(n)
	dir, err := os.MkdirTemp("", "trail-bench-")
	check(err)
	defer os.RemoveAll(dir)
	var record func(e *trail.Event)
	var durable func()
	var dropped func() uint64
	switch name {
	case "trail":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		check(err)
		rec, err := trail.New(trail.Config{AccountID: "111122223333", Region: "us-east-1", Trails: []trail.Trail{{
			Name: "bench", Bucket: "audit-bucket", MultiRegion: true,
			Sinks:      []trail.Sink{filesink.New(dir, filesink.Options{})},
			Validation: &trail.Validation{Signer: key},
		}}})
		check(err)
		ctx := context.Background()
		record = func(e *trail.Event) {
			if err := rec.Record(ctx, e); err != nil {
				check(err)
			}
		}
		durable = func() { check(rec.Close(ctx)) }
		dropped = func() uint64 { return rec.Stats().HistoryDropped }
	case "zerolog":
		fs := newFileSink(filepath.Join(dir, "log.json"))
		var mu sync.Mutex // zerolog writes each event with one Write; the file sink is not safe for concurrent use
		l := zerolog.New(lockedWriter{&mu, fs})
		record = func(e *trail.Event) { zerologRecord(&l, e) }
		durable = func() { check(fs.Sync()); check(fs.f.Close()) }
	case "zap", "zap-gzip":
		fs := newFileSink(filepath.Join(dir, "log.json"))
		var ws zapcore.WriteSyncer = fs
		var gz *stdgzip.Writer
		if name == "zap-gzip" {
			gz = stdgzip.NewWriter(fs)
			ws = zapcore.AddSync(gz)
		}
		enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{LineEnding: "\n", EncodeTime: zapcore.RFC3339TimeEncoder})
		l := zap.New(zapcore.NewCore(enc, zapcore.Lock(ws), zap.InfoLevel))
		record = func(e *trail.Event) { zapRecord(l, e) }
		durable = func() {
			if gz != nil {
				check(gz.Close())
			}
			check(fs.Sync())
			check(fs.f.Close())
		}
	case "slog":
		fs := newFileSink(filepath.Join(dir, "log.json"))
		var mu sync.Mutex
		h := slog.NewJSONHandler(lockedWriter{&mu, fs}, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		}})
		l := slog.New(h)
		record = func(e *trail.Event) { slogRecord(l, e) }
		durable = func() { check(fs.Sync()); check(fs.f.Close()) }
	case "floor":
		return floor(evs, n)
	default:
		check(fmt.Errorf("unknown contender %q", name))
	}
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	per := n / producers
	lat := make([][]int64, producers) // the harness's, like evs: before ms0
	for p := range lat {
		lat[p] = make([]int64, 0, per)
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, t0 := cpuNow(), time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		first := p * per
		wg.Go(func() {
			start := time.Now()
			var ev trail.Event
			for i := range per {
				evs.at(first+i, &ev)
				if mode == "steady" {
					due := start.Add(time.Duration(i) * 100 * time.Microsecond)
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				s := time.Now()
				record(&ev)
				lat[p] = append(lat[p], int64(time.Since(s)))
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	var heap runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&heap)
	runtime.KeepAlive(evs) // alive through the heap reading, as at ms0
	if p := os.Getenv("BENCH_HEAPPROFILE"); p != "" {
		f, err := os.Create(p)
		check(err)
		check(pprof.WriteHeapProfile(f))
		check(f.Close())
	}
	var d uint64
	if dropped != nil {
		d = dropped()
	}
	durable()
	wall, cpu := time.Since(t0), cpuNow()-cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(f float64) float64 { return float64(all[int(f*float64(len(all)-1))]) / 1e3 }
	return result{Name: name, Mode: mode, Producers: producers, Events: per * producers, Wall: wall.Seconds(), CPU: cpu.Seconds(),
		Allocs: float64(ms1.Mallocs-ms0.Mallocs) / float64(per*producers), Disk: dirSize(dir), P50x: q(0.50), P99x: q(0.99),
		HeapGC: int64(heap.HeapAlloc) - int64(ms0.HeapAlloc), Dropped: d}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *fileSink
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// floor encodes the records as trail's log files do, gzips (level 1) and
// hashes them, on every core, without I/O: the machine's floor.
func floor(evs *eventSource, n int) result {
	w := runtime.GOMAXPROCS(0)
	cpu0, t0 := cpuNow(), time.Now()
	var wg sync.WaitGroup
	per := n / w
	for k := range w {
		wg.Go(func() {
			var ev trail.Event
			body := make([]byte, 0, 4<<20)
			zw, _ := gzip.NewWriterLevel(nil, trail.DefaultCompressionLevel)
			flush := func() {
				body = append(body, ']', '}')
				_ = sha256.Sum256(body)
				zw.Reset(discard{})
				_, _ = zw.Write(body)
				_ = zw.Close()
				body = body[:0]
			}
			for i := range per {
				evs.at(k*per+i, &ev)
				if len(body) == 0 {
					body = append(body, `{"Records":[`...)
				} else {
					body = append(body, ',')
				}
				body = ev.AppendJSON(body)
				if (i+1)%2000 == 0 {
					flush()
				}
			}
			if len(body) > 0 {
				flush()
			}
		})
	}
	wg.Wait()
	return result{Name: "floor", Mode: "flat", Producers: w, Events: per * w, Wall: time.Since(t0).Seconds(), CPU: (cpuNow() - cpu0).Seconds()}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var (
	_ = bufio.NewWriter
	_ = cmp.Compare[int]
)
