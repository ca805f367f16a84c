package trail

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// The compress stage: a pool of workers (up to GOMAXPROCS) that gzip log
// files and hash them, in parallel, off the batcher. The batcher hands each
// cut file to r.compressQ and, in cut order, to the chain stage, which waits
// for job.done before it uses the file.

// DefaultCompressionLevel is the gzip level of log files when
// Trail.CompressionLevel is zero. It was chosen from BenchmarkGzipLevels
// (files of 2,000 realistic records of about 1.5 KB, CPU time on the 2-core
// benchmark machine): level 1 compresses 513 MB/s at a ratio of 6.9, level
// 2 369 MB/s at 7.2, level 3 298 MB/s at 7.4, level 4 304 MB/s at 7.4,
// level 5 276 MB/s at 8.3, level 6 (gzip's usual default) 243 MB/s at 8.6.
// Compression is most of the pipeline's CPU, so the default takes twice
// the speed of level 6 for a quarter more bytes; storage-bound trails can
// set a higher level.
const DefaultCompressionLevel = 1

// fileJob is one cut log file on its way through the compress workers.
type fileJob struct {
	ts    *trailState
	f     *LogFile // Body and SHA256 are filled in by a worker
	level int      // gzip level, 0 for the default
	// spool mode: the log indexes of its first and last event
	first, last uint64
	spooled     bool
	insight     bool // an Insights file: no digest covers it
	waiters     []*receiptWait
	err         error
	done        chan struct{} // closed when Body and SHA256 (or err) are set
}

// compressWorkers is the number of compress workers.
func compressWorkers() int { return max(1, min(runtime.GOMAXPROCS(0), 16)) }

// compressor is one compress worker: it exits when the queue is closed.
func (r *Recorder) compressor() {
	defer r.compressWG.Done()
	for job := range r.compressQ {
		job.err = compressFile(job.f, job.level)
		close(job.done)
		r.progress.Add(1)
	}
}

// compressFile fills in f's SHA256 and Body from its JSON.
func compressFile(f *LogFile, level int) error {
	f.SHA256 = sha256.Sum256(f.JSON)
	gz, err := gzipLevel(f.JSON, level)
	if err != nil {
		return fmt.Errorf("trail: gzip log file %s: %w", f.Key, err)
	}
	f.Body = gz
	return nil
}

var gzipPools [gzip.BestCompression + 1]sync.Pool

// gzipBytes compresses body as a single gzip member at the default level.
func gzipBytes(body []byte) ([]byte, error) { return gzipLevel(body, 0) }

// gzipLevel compresses body as a single gzip member at the given level (0:
// DefaultCompressionLevel).
func gzipLevel(body []byte, level int) ([]byte, error) {
	if level == 0 {
		level = DefaultCompressionLevel
	}
	if level < gzip.BestSpeed || level > gzip.BestCompression {
		return nil, fmt.Errorf("gzip level %d out of range", level)
	}
	var out bytes.Buffer
	out.Grow(len(body)/6 + 64)
	zw, _ := gzipPools[level].Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(&out, level); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(&out)
	}
	defer gzipPools[level].Put(zw)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
