package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/ctoracle"
	"github.com/trailkit/trail/internal/miniotest"
	"github.com/trailkit/trail/sink/s3sink"
	"github.com/trailkit/trail/verify"
)

// The test binary doubles as the fleet instance: with FLEET_TEST_CHILD=1 it
// runs the command instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("FLEET_TEST_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := run(ctx, os.Args[1:], os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args   []string
		ok     bool
		bucket string
	}{
		{[]string{"-dir", "x"}, true, DefaultBucket},
		{[]string{"-s3-endpoint", "http://127.0.0.1:9000", "-bucket", "b-1"}, true, "b-1"},
		{[]string{}, false, ""},
		{[]string{"-dir", "x", "-s3-endpoint", "http://h"}, false, ""},
		{[]string{"-dir", "x", "-rate", "-1"}, false, ""},
		{[]string{"-dir", "x", "extra"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			s, err := parse(tt.args)
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "fleet", s.trailName)
			assert.Equal(t, tt.bucket, s.bucket)
		})
	}
}

// backend is where a fleet delivers: a folder or a MinIO bucket.
type backend struct {
	name     string
	dir      string // filesink
	endpoint string // MinIO
	bucket   string
	client   *s3.Client
}

func (b *backend) args() []string {
	if b.dir != "" {
		return []string{"-dir", b.dir}
	}
	return []string{"-s3-endpoint", b.endpoint, "-bucket", b.bucket}
}

func (b *backend) store(t *testing.T) verify.Store {
	if b.dir != "" {
		return verify.FSStore(os.DirFS(b.dir))
	}
	s, err := s3sink.New(b.client, b.bucket, s3sink.Options{})
	require.NoError(t, err)
	return s
}

// fleet runs instances of the command (this test binary) on one backend.
type fleet struct {
	t        testing.TB
	b        *backend
	key, pub string
	work     string
	start    time.Time
	mu       sync.Mutex
	procs    []*proc
}

type proc struct {
	name, acks string
	cmd        *exec.Cmd
	out        bytes.Buffer
	killed     bool
	done       chan error
}

const (
	period   = 2 * time.Second
	interval = 400 * time.Millisecond
	rate     = 40
)

func newFleet(t testing.TB, b *backend) *fleet {
	work := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	key := filepath.Join(work, "key.pem")
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600))
	pub := filepath.Join(work, "pub.pem")
	require.NoError(t, os.WriteFile(pub, trail.PublicKeyInfo(&k.PublicKey).PEM(), 0o644))
	f := &fleet{t: t, b: b, key: key, pub: pub, work: work, start: time.Now().UTC()}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range f.procs {
				t.Logf("instance %s (killed %v):\n%s", p.name, p.killed, p.out.String())
			}
		}
		for _, p := range f.procs {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	})
	return f
}

// launch starts instance name; duration 0 runs it until stopped.
func (f *fleet) launch(name string, duration time.Duration, extra ...string) *proc {
	f.mu.Lock()
	seq := len(f.procs)
	f.mu.Unlock()
	p := &proc{name: name, acks: filepath.Join(f.work, fmt.Sprintf("%s-%d.acks", name, seq)), done: make(chan error, 1)}
	args := append(f.b.args(), "-instance", name, "-key", f.key, "-period", period.String(), "-interval", interval.String(),
		"-rate", fmt.Sprint(rate), "-duration", duration.String(), "-acks", p.acks)
	p.cmd = exec.Command(os.Args[0], append(args, extra...)...)
	p.cmd.Env = append(os.Environ(), "FLEET_TEST_CHILD=1")
	if f.b.client != nil {
		_, access, secret := minioEnv(f.t)
		p.cmd.Env = append(p.cmd.Env, "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	require.NoError(f.t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return p
}

func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if !p.killed {
			require.NoError(t, err, "instance %s:\n%s", p.name, p.out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("instance %s did not exit:\n%s", p.name, p.out.String())
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	if sig == syscall.SIGKILL {
		p.killed = true
	}
	require.NoError(t, p.cmd.Process.Signal(sig))
}

// pause waits d of real time (the instances run in real time).
func pause(d time.Duration) { <-time.After(d) }

// holder returns the instance that holds the digest writer lease.
func (f *fleet) holder(t *testing.T) string {
	key := trail.LeaseKey("", "", Account, Region, "fleet")
	var data []byte
	if f.b.dir != "" {
		var err error
		data, err = os.ReadFile(filepath.Join(f.b.dir, key))
		require.NoError(t, err)
	} else {
		s, err := s3sink.New(f.b.client, f.b.bucket, s3sink.Options{})
		require.NoError(t, err)
		data, _, err = s.ReadLease(context.Background(), key)
		require.NoError(t, err)
	}
	var l struct{ Holder string }
	require.NoError(t, json.Unmarshal(data, &l))
	return l.Holder
}

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process, real time")
	}
	backends := []struct {
		name string
		mk   func(t *testing.T) *backend
	}{
		{"filesink", func(t *testing.T) *backend {
			return &backend{name: "filesink", dir: t.TempDir(), bucket: DefaultBucket}
		}},
		{"minio", func(t *testing.T) *backend {
			endpoint, access, secret := minioEnv(t)
			c := s3.New(s3.Options{Region: Region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
			return &backend{name: "minio", endpoint: endpoint, bucket: newBucket(t, c), client: c}
		}},
	}
	scenarios := []struct {
		name string
		run  func(t *testing.T, f *fleet)
	}{
		{"three in the same second", func(t *testing.T, f *fleet) {
			ps := []*proc{f.launch("a", 4*time.Second), f.launch("b", 4*time.Second), f.launch("c", 4*time.Second)}
			for _, p := range ps {
				p.wait(t)
			}
		}},
		{"staggered", func(t *testing.T, f *fleet) {
			a := f.launch("a", 4500*time.Millisecond)
			pause(1300 * time.Millisecond)
			b := f.launch("b", 4500*time.Millisecond)
			pause(1700 * time.Millisecond)
			c := f.launch("c", 3*time.Second)
			a.wait(t)
			b.wait(t)
			c.wait(t)
		}},
		{"rolling deploy with overlap", func(t *testing.T, f *fleet) {
			v1 := f.launch("v1", 0)
			pause(3 * time.Second)
			v2 := f.launch("v2", 0)
			pause(1500 * time.Millisecond) // both run: overlap
			v1.signal(t, syscall.SIGTERM)
			v1.wait(t)
			pause(1500 * time.Millisecond)
			v3 := f.launch("v3", 0)
			pause(1200 * time.Millisecond)
			v2.signal(t, syscall.SIGTERM)
			v2.wait(t)
			pause(1500 * time.Millisecond)
			v3.signal(t, syscall.SIGTERM)
			v3.wait(t)
		}},
		{"SIGKILL of the digest writer mid-period, replaced", func(t *testing.T, f *fleet) {
			a := f.launch("a", 0, "-spool", filepath.Join(f.work, "spool-a"))
			b := f.launch("b", 0, "-spool", filepath.Join(f.work, "spool-b"))
			pause(1500 * time.Millisecond)
			// Mid-period: half a period after a boundary.
			pause(time.Until(time.Now().Truncate(period).Add(period + period/2)))
			writer := map[string]*proc{"a": a, "b": b}[f.holder(t)]
			require.NotNil(t, writer, "lease holder %q", f.holder(t))
			other := a
			if writer == a {
				other = b
			}
			writer.signal(t, syscall.SIGKILL)
			writer.wait(t)
			repl := f.launch(writer.name, 2500*time.Millisecond, "-spool", filepath.Join(f.work, "spool-"+writer.name)) // same name, same spool
			repl.wait(t)
			other.signal(t, syscall.SIGTERM)
			other.wait(t)
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel() // the two backends side by side
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					f := newFleet(t, be.mk(t))
					sc.run(t, f)
					f.check(t)
				})
			}
		})
	}
}

// check makes the acceptance checks over what the fleet delivered.
func (f *fleet) check(t *testing.T) {
	ctx := context.Background()
	end := time.Now().UTC().Add(2 * time.Second)
	mem := loadStore(t, f.b.store(t))
	logs, digests := mem.keys("AWSLogs/"+Account+"/CloudTrail/"), mem.keys("AWSLogs/"+Account+"/CloudTrail-Digest/")
	require.NotEmpty(t, logs)
	require.NotEmpty(t, digests)

	// Every acknowledged event is in a delivered file (a killed instance's
	// too: its spool made them durable and its replacement delivered them).
	delivered := map[string]bool{}
	for _, k := range logs {
		for _, id := range eventIDs(t, mem.objects[k]) {
			delivered[id] = true
		}
	}
	acked, missing := 0, 0
	for _, p := range f.procs {
		for _, id := range readLines(t, p.acks) {
			acked++
			if !delivered[id] {
				missing++
			}
		}
	}
	assert.Positive(t, acked)
	assert.Zero(t, missing, "acknowledged events in no delivered file")

	// Every delivered log file in exactly one digest; no fork; one chain.
	listed := map[string]int{}
	prevs := map[string]int{}
	var newest time.Time
	for _, k := range digests {
		d, err := verify.ParseDigest(gunzip(t, mem.objects[k]))
		require.NoError(t, err)
		if e, err := time.Parse(trail.TimeFormat, d.DigestEndTime); err == nil && e.After(newest) {
			newest = e
		}
		for _, lf := range d.LogFiles {
			listed[lf.S3Object]++
		}
		if d.PreviousDigestS3Object != nil {
			prevs[*d.PreviousDigestS3Object]++
		}
	}
	for _, k := range logs {
		assert.Equal(t, 1, listed[k], "log file %s is listed by %d digests", k, listed[k])
	}
	for p, n := range prevs {
		assert.Equal(t, 1, n, "fork: %d digests follow %s", n, p)
	}

	opt := verify.Options{Bucket: f.b.bucket, TrailARN: "arn:aws:cloudtrail:" + Region + ":" + Account + ":trail/fleet",
		Start: f.start.Add(-time.Minute), End: end, PublicKeys: []verify.PublicKey{publicKey(t, f.pub)},
		ExpectedEnd: newest} // the chain must reach the last digest the fleet wrote
	rep, err := verify.Validate(ctx, mem, opt)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
	assert.Equal(t, len(logs), rep.Logs.Valid)
	assert.Equal(t, len(digests), rep.Digests.Valid)

	// The real AWS verifier: every delivered log file valid, no gap.
	script := ctoracle.Script(t)
	args := []string{"--bucket", f.b.bucket, "--trail-arn", opt.TrailARN, "--public-key", f.pub,
		"--start-time", f.start.Add(-time.Minute).Format(trail.TimeFormat), "--end-time", end.Format(trail.TimeFormat),
		"--min-digests", fmt.Sprint(len(digests)), "--fail-on-gap"}
	if f.b.dir != "" {
		args = append(args, "--dir", f.b.dir)
	} else {
		args = append(args, "--s3-endpoint", f.b.endpoint)
	}
	out, err := exec.Command(script, args...).CombinedOutput()
	require.NoError(t, err, "validate-logs:\n%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("%d/%d log files valid", len(logs), len(logs)))
	assert.Contains(t, string(out), fmt.Sprintf("%d/%d digest files valid", len(digests), len(digests)))
	assert.NotContains(t, string(out), "INVALID")

	// trailcheck reports no problem.
	tc := []string{"validate", "--public-key", f.pub, "--trail-arn", opt.TrailARN,
		"--start", opt.Start.Format(trail.TimeFormat), "--end", end.Format(trail.TimeFormat),
		"--expected-end", newest.Format(trail.TimeFormat)}
	if f.b.dir != "" {
		tc = append(tc, "--dir", f.b.dir, "--bucket", f.b.bucket)
	} else {
		tc = append(tc, "--s3-bucket", f.b.bucket, "--endpoint", f.b.endpoint)
	}
	cmd := exec.Command(trailcheck(t), tc...)
	if f.b.client != nil {
		_, access, secret := minioEnv(t)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+access, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_REGION="+Region)
	}
	tcOut, err := cmd.CombinedOutput()
	require.NoError(t, err, "trailcheck:\n%s", tcOut)

	// Deleting any one log file or digest is reported.
	for _, k := range append(append([]string(nil), logs...), digests...) {
		rep, err := verify.Validate(ctx, mem.without(k), opt)
		require.NoError(t, err)
		assert.False(t, rep.OK(), "deleting %s went unnoticed", k)
	}
	t.Logf("%d instances, %d acknowledged events, %d log files, %d digests; validate-logs: %s", len(f.procs), acked, len(logs), len(digests),
		strings.Join(regexp.MustCompile(`\d+/\d+ (digest|log) files valid`).FindAllString(string(out), -1), ", "))
}

var trailcheckOnce struct {
	sync.Once
	path string
	err  error
}

// trailcheck builds cmd/trailcheck once per test binary.
func trailcheck(t *testing.T) string {
	trailcheckOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trailcheck-")
		if err != nil {
			trailcheckOnce.err = err
			return
		}
		trailcheckOnce.path = filepath.Join(dir, "trailcheck")
		out, err := exec.Command("go", "build", "-o", trailcheckOnce.path, "github.com/trailkit/trail/cmd/trailcheck").CombinedOutput()
		if err != nil {
			trailcheckOnce.err = fmt.Errorf("go build trailcheck: %v\n%s", err, out)
		}
	})
	require.NoError(t, trailcheckOnce.err)
	return trailcheckOnce.path
}

// memStore is a snapshot of a bucket, for validating it many times.
type memStore struct {
	objects map[string][]byte
	meta    map[string]map[string]string
	hidden  string
}

func loadStore(t *testing.T, st verify.Store) *memStore {
	ctx := context.Background()
	keys, err := st.List(ctx, "AWSLogs/")
	require.NoError(t, err)
	m := &memStore{objects: map[string][]byte{}, meta: map[string]map[string]string{}}
	for _, k := range keys {
		body, meta, err := st.Get(ctx, k)
		require.NoError(t, err)
		m.objects[k], m.meta[k] = body, meta
	}
	return m
}

func (m *memStore) keys(prefix string) []string {
	var out []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, ".json.gz") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (m *memStore) without(key string) *memStore {
	return &memStore{objects: m.objects, meta: m.meta, hidden: key}
}

func (m *memStore) List(_ context.Context, prefix string) ([]string, error) {
	var out []string
	for k := range m.objects {
		if k != m.hidden && strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *memStore) Get(_ context.Context, key string) ([]byte, map[string]string, error) {
	b, ok := m.objects[key]
	if !ok || key == m.hidden {
		return nil, nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return b, m.meta[key], nil
}

func gunzip(t *testing.T, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

func eventIDs(t *testing.T, gz []byte) []string {
	var doc struct {
		Records []struct {
			EventID string `json:"eventID"`
		}
	}
	require.NoError(t, json.Unmarshal(gunzip(t, gz), &doc))
	out := make([]string, 0, len(doc.Records))
	for _, r := range doc.Records {
		out = append(out, r.EventID)
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func publicKey(t *testing.T, path string) verify.PublicKey {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pub, err := verify.ParsePublicKeyPEM(b)
	require.NoError(t, err)
	return verify.NewPublicKey(pub)
}

// minioEnv returns the MinIO server .ci/minio.sh started, or skips (fails
// under CI=true).
func minioEnv(t testing.TB) (endpoint, access, secret string) {
	t.Helper()
	s := miniotest.Require(t, "./examples/fleet/")
	return s.Endpoint, s.AccessKey, s.SecretKey
}

var bucketSeq atomic.Int64

func newBucket(t *testing.T, c *s3.Client) string {

	name := fmt.Sprintf("fleet-%d-%d", time.Now().UnixNano()%1e9, bucketSeq.Add(1))
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	return name
}
