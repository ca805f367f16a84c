package trail_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/trailkit/trail"
	"github.com/trailkit/trail/internal/ids"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/verify"
)

// The crash test re-executes the test binary as a child that records
// events through a spool into a filesink until it is killed with SIGKILL;
// every event ID whose Record returned nil is appended to an ack file
// first. After the rounds, a last recorder on the same spool closes
// cleanly, and the output must hold every acknowledged event exactly once,
// every log file must be listed in a digest, and the digest chain must be
// accepted by verify and by the AWS CLI's validate-logs.

const crashEnv = "TRAIL_CRASH_CHILD"

type crashDirs struct{ spool, out, acks, keyPEM string }

func crashConfig(t testing.TB, d crashDirs) trail.Config {
	pem, err := os.ReadFile(d.keyPEM)
	require.NoError(t, err)
	key, err := trail.ParseSigningKeyPEM(pem)
	require.NoError(t, err)
	return trail.Config{AccountID: testAccount, Region: testRegion, History: trail.NoHistory,
		Spool: &trail.Spool{Dir: d.spool, SegmentBytes: 1 << 20},
		Trails: []trail.Trail{{Name: "main", Bucket: "audit-bucket", Interval: 150 * time.Millisecond, MaxRecords: 2000,
			Sinks:      []trail.Sink{filesink.New(d.out, filesink.Options{})},
			Validation: &trail.Validation{Signer: key, Period: time.Second}}}}
}

// TestSpoolCrashChild is the child's body; it does nothing unless run by
// TestSpoolCrash.
func TestSpoolCrashChild(t *testing.T) {
	mode := os.Getenv(crashEnv)
	if mode == "" {
		t.Skip("child of TestSpoolCrash")
	}
	d := crashDirs{os.Getenv("CRASH_SPOOL"), os.Getenv("CRASH_OUT"), os.Getenv("CRASH_ACKS"), os.Getenv("CRASH_KEY")}
	rec, err := trail.New(crashConfig(t, d))
	require.NoError(t, err)
	acks, err := os.OpenFile(d.acks, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	fmt.Println("ready")
	producers, pace := 64, time.Duration(0)
	if mode == "paced" {
		producers, pace = 1, time.Millisecond
	}
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			src := ids.NewSource()
			var id [36]byte
			for {
				src.PutUUID(&id)
				if err := rec.Record(context.Background(), &trail.Event{EventSource: "orders.example.com",
					EventName: "CreateOrder", EventID: string(id[:])}); err != nil {
					fmt.Fprintln(os.Stderr, "Record:", err)
					os.Exit(3)
				}
				acks.Write(append(id[:], '\n')) // one write: a kill never splits it
				if pace > 0 {
					time.Sleep(pace)
				}
			}
		})
	}
	wg.Wait()
}

func TestSpoolCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary for many rounds")
	}
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	script := oracle(t)
	for _, mode := range []string{"full", "paced"} {
		t.Run(mode, func(t *testing.T) {
			tmp := t.TempDir()
			d := crashDirs{filepath.Join(tmp, "spool"), filepath.Join(tmp, "out"), filepath.Join(tmp, "acks"), filepath.Join(tmp, "key.pem")}
			key := signingKey(t)
			require.NoError(t, os.WriteFile(d.keyPEM, pemPrivate(t, key), 0o600))
			pubPEM := filepath.Join(tmp, "pub.pem")
			require.NoError(t, os.WriteFile(pubPEM, trail.PublicKeyInfo(&key.PublicKey).PEM(), 0o644))
			start := time.Now().UTC().Add(-time.Second)
			const rounds = 20
			for round := range rounds {
				crashRound(t, d, mode, time.Duration(80+rand.IntN(320))*time.Millisecond, round)
			}
			rec, err := trail.New(crashConfig(t, d))
			require.NoError(t, err)
			require.NoError(t, rec.Close(context.Background()))
			end := time.Now().UTC().Add(time.Second)

			// A kill during a filesink write leaves its temporary file; the
			// filesink removes stale ones when it starts (issue 14). Until
			// it does, the test removes them, so that they are not taken
			// for tampering, and says so.
			if n := removeStaleTemps(t, d.out); n > 0 {
				t.Logf("removed %d stale filesink temporary files", n)
			}
			acked := readLines(t, d.acks)
			logs, digests := readOutput(t, d.out)
			t.Logf("%s: %d rounds, %d acknowledged events, %d log files, %d digests", mode, rounds, len(acked), len(logs), len(digests))
			seen := map[string]string{} // event ID -> key
			for key, recs := range logs {
				for _, id := range recs {
					prev, dup := seen[id]
					require.Falsef(t, dup, "event %s in two files: %s and %s", id, prev, key)
					seen[id] = key
				}
			}
			for _, id := range acked {
				_, ok := seen[id]
				require.Truef(t, ok, "acknowledged event %s is in no delivered file", id)
			}
			listed := map[string]bool{}
			for _, d := range digests {
				for _, f := range d.LogFiles {
					listed[f.S3Object] = true
				}
			}
			for key := range logs {
				require.Truef(t, listed[key], "log file %s is in no digest", key)
			}
			pub, err := verify.ParsePublicKeyPEM(trail.PublicKeyInfo(&key.PublicKey).PEM())
			require.NoError(t, err)
			arn := "arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/main"
			rep, err := verify.Validate(context.Background(), verify.FSStore(os.DirFS(d.out)), verify.Options{
				Bucket: "audit-bucket", TrailARN: arn, Start: start, End: end,
				PublicKeys: []verify.PublicKey{verify.NewPublicKey(pub)}})
			require.NoError(t, err)
			require.Truef(t, rep.OK(), "verify findings: %v", rep.Findings)
			require.Equal(t, len(logs), rep.Logs.Valid)
			out, code := runOracle(t, script, pubPEM, oracleRun{dir: d.out, trailARN: arn, account: testAccount,
				start: start, end: end, minDigests: 2, failOnGap: true})
			require.Equalf(t, 0, code, "verifier output:\n%s", out)
			require.NotContains(t, out, "INVALID")
			t.Log(lastLines(out, 3))
		})
	}
}

// crashRound runs the child until it is ready, lets it record for run,
// and kills it.
func crashRound(t *testing.T, d crashDirs, mode string, run time.Duration, round int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode, "CRASH_SPOOL="+d.spool, "CRASH_OUT="+d.out,
		"CRASH_ACKS="+d.acks, "CRASH_KEY="+d.keyPEM)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: child not ready: %s", round, stderr.String())
	}
	time.Sleep(run) // real time on purpose: the child runs on the wall clock
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended before the kill (%v): %s", round, err, stderr.String())
	}
}

func pemPrivate(t *testing.T, key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func removeStaleTemps(t *testing.T, dir string) int {
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasPrefix(e.Name(), ".tmp-") {
			n++
			return os.Remove(path)
		}
		return err
	}))
	return n
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) == 36 {
			out = append(out, l)
		}
	}
	return out
}

// readOutput returns the event IDs of every log file (by key) and every
// digest of a filesink directory.
func readOutput(t *testing.T, dir string) (map[string][]string, []*verify.Digest) {
	t.Helper()
	logs := map[string][]string{}
	var digests []*verify.Digest
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		key, _ := filepath.Rel(dir, path)
		key = filepath.ToSlash(key)
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoErrorf(t, err, "file %s", key)
		plain, err := io.ReadAll(zr)
		require.NoErrorf(t, err, "file %s", key)
		if strings.Contains(key, "/CloudTrail-Digest/") {
			d, err := verify.ParseDigest(plain)
			require.NoErrorf(t, err, "digest %s", key)
			digests = append(digests, d)
			return nil
		}
		var body struct {
			Records []struct {
				EventID string `json:"eventID"`
			}
		}
		require.NoErrorf(t, json.Unmarshal(plain, &body), "log file %s", key)
		for _, r := range body.Records {
			logs[key] = append(logs[key], r.EventID)
		}
		return nil
	})
	require.NoError(t, err)
	return logs, digests
}
