// Command quickstart records a few hundred varied events through two trails
// into ./audit-out/audit-bucket (local disk, CloudTrail's S3 key layout), signs a chain of
// digest files for each trail and region, verifies what it wrote with package
// verify, and prints the result. The whole run takes about 12 seconds: the
// digest period is shortened to 3 seconds so that each chain holds several
// digests.
//
// The output folder can also be checked by the real AWS CLI verifier (see
// the README); the public key is ./audit-out/public-key.pem, beside the bucket.
package main

import (
	"context"
	crand "crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
	"github.com/trailkit/trail/verify"
)

const (
	account = "111122223333"
	home    = "us-east-1"
	bucket  = "audit-bucket"
)

func main() {
	out := flag.String("out", "audit-out", "output directory (removed and re-created)")
	n := flag.Int("events", 300, "number of events to record")
	span := flag.Duration("span", 10*time.Second, "time over which the events are recorded")
	period := flag.Duration("digest-period", 3*time.Second, "digest period (CloudTrail: 1h)")
	flag.Parse()
	if err := run(*out, *n, *span, *period); err != nil {
		log.Fatal(err)
	}
}

func run(out string, n int, span, period time.Duration) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		return err
	}
	pub := trail.PublicKeyInfo(&key.PublicKey)
	if err := os.WriteFile(filepath.Join(out, "public-key.pem"), pub.PEM(), 0o644); err != nil {
		return err
	}

	// The bucket's objects go to out/<bucket>, the public key beside it:
	// trailcheck and the AWS verifier harness take --dir out and find
	// out/<bucket>, and nothing but the trail's objects is in the bucket.
	bucketDir := filepath.Join(out, bucket)
	ctx := context.Background()
	disk := filesink.New(bucketDir, filesink.Options{})
	validation := &trail.Validation{Signer: key, Period: period}
	trails := []trail.Trail{
		{ // every management event of every region
			Name: "management", Bucket: bucket, MultiRegion: true,
			Interval: time.Second, Validation: validation, Sinks: []trail.Sink{disk},
		},
		{ // writes only, plus object-level events of one bucket, in the home region
			Name: "writes-and-objects", Bucket: bucket, Prefix: "objects",
			Management: trail.ReadWriteWriteOnly,
			Data:       []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::invoices/"}}},
			Interval:   time.Second, Validation: validation, Sinks: []trail.Sink{disk},
		},
	}
	start := time.Now().UTC().Truncate(time.Second)
	rec, err := trail.New(trail.Config{AccountID: account, Region: home, Trails: trails})
	if err != nil {
		return err
	}
	fmt.Printf("recording %d events over %s (digest period %s)...\n", n, span, period)
	pace := span / time.Duration(max(n, 1))
	for i := range n {
		if err := rec.Record(ctx, event(i)); err != nil {
			return fmt.Errorf("record event %d: %w", i, err)
		}
		time.Sleep(pace)
	}
	// The final digests end when Close runs, no earlier than closing.
	closing := time.Now().UTC().Truncate(time.Second)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rec.Close(cctx); err != nil {
		return err
	}
	end := time.Now().UTC().Add(time.Second).Truncate(time.Second)
	st := rec.Stats()
	fmt.Printf("recorded %d events (%d selected by no trail); delivered %d log files (%d bytes gzip'd) and %d digests to %s/\n\n",
		st.Recorded, st.Unselected, st.FilesDelivered, st.BytesDelivered, st.DigestsDelivered, bucketDir)

	if err := listFolders(bucketDir); err != nil {
		return err
	}

	// Verify every chain: one per trail and source region.
	keys := []verify.PublicKey{verify.NewPublicKey(&key.PublicKey)}
	store := verify.FSStore(os.DirFS(bucketDir))
	failed := false
	for _, t := range trails {
		regions := []string{home}
		if t.MultiRegion {
			regions = append(regions, "eu-west-1")
		}
		for _, region := range regions {
			arn := "arn:aws:cloudtrail:" + home + ":" + account + ":trail/" + t.Name
			rep, err := verify.Validate(ctx, store, verify.Options{
				Bucket: bucket, TrailARN: arn, Prefix: t.Prefix, Region: region,
				Start: start, End: end, ExpectedEnd: closing, PublicKeys: keys,
			})
			if err != nil {
				return fmt.Errorf("verify %s %s: %w", t.Name, region, err)
			}
			status := "all valid"
			if !rep.OK() {
				status, failed = fmt.Sprintf("%d PROBLEMS", len(rep.Findings)), true
			}
			fmt.Printf("%-20s %-10s %d/%d digests valid, %d/%d log files valid: %s\n", t.Name, region,
				rep.Digests.Valid, rep.Digests.Total, rep.Logs.Valid, rep.Logs.Total, status)
			for _, f := range rep.Findings {
				fmt.Printf("    %v\n", f)
			}
		}
	}
	fmt.Printf("\nCheck every chain of a trail with trailcheck:\n  go run ./cmd/trailcheck validate --dir %s \\\n"+
		"    --trail-arn arn:aws:cloudtrail:%s:%s:trail/management --public-key %s --start %s\n",
		out, home, account, filepath.Join(out, "public-key.pem"), start.Format(trail.TimeFormat))
	fmt.Printf("\nand with the AWS CLI verifier (apt-get install -y awscli), one region at a time:\n  internal/ctoracle/validate_logs.py --dir %s --bucket %s \\\n"+
		"    --trail-arn arn:aws:cloudtrail:%s:%s:trail/management --public-key %s \\\n    --start-time %s --end-time %s\n",
		out, bucket, home, account, filepath.Join(out, "public-key.pem"), start.Format(trail.TimeFormat), end.Format(trail.TimeFormat))
	if failed {
		return fmt.Errorf("verification found problems")
	}
	return nil
}

var (
	users   = []string{"alice", "bob", "carol"}
	regions = []string{"us-east-1", "eu-west-1"}
)

// event returns the i-th synthetic event: orders API calls (create, get,
// a denied delete) and S3 object writes, in two regions.
func event(i int) *trail.Event {
	user := users[i%len(users)]
	ev := &trail.Event{
		EventSource: "orders.example.com",
		AWSRegion:   regions[(i/4)%len(regions)],
		UserIdentity: trail.UserIdentity{
			Type: "IAMUser", UserName: user, AccountID: account,
			ARN: "arn:aws:iam::" + account + ":user/" + user, PrincipalID: "AIDAEXAMPLE" + strings.ToUpper(user),
		},
		SourceIPAddress: fmt.Sprintf("198.51.100.%d", 1+rand.N(250)),
		UserAgent:       "quickstart/1.0",
	}
	switch i % 4 {
	case 0:
		ev.EventName, ev.ReadOnly = "CreateOrder", trail.Bool(false)
		ev.RequestParameters = json.RawMessage(fmt.Sprintf(`{"orderId":"o-%d","amount":%d}`, i, 10+i))
	case 1:
		ev.EventName, ev.ReadOnly = "GetOrder", trail.Bool(true)
		ev.RequestParameters = json.RawMessage(fmt.Sprintf(`{"orderId":"o-%d"}`, i-1))
	case 2:
		ev.EventName, ev.ReadOnly = "DeleteOrder", trail.Bool(false)
		ev.ErrorCode, ev.ErrorMessage = "AccessDenied", "User: "+user+" is not authorized to perform: DeleteOrder"
	case 3:
		ev.EventSource, ev.EventName, ev.ReadOnly = "s3.amazonaws.com", "PutObject", trail.Bool(false)
		b := []string{"invoices", "scratch"}[i/4%2]
		ev.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: fmt.Sprintf("arn:aws:s3:::%s/2026/%d.pdf", b, i)}}
	}
	return ev
}

// listFolders prints each folder of the output with the number of log or
// digest files in it and the name of the newest one.
func listFolders(out string) error {
	type folder struct {
		n      int
		newest string
	}
	folders := map[string]*folder{}
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		rel, err := filepath.Rel(out, path)
		if err != nil {
			return err
		}
		dir, name := filepath.Split(rel)
		f := folders[dir]
		if f == nil {
			f = &folder{}
			folders[dir] = f
		}
		f.n++
		if name > f.newest {
			f.newest = name
		}
		return nil
	})
	if err != nil {
		return err
	}
	dirs := make([]string, 0, len(folders))
	for d := range folders {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	fmt.Println("what it wrote (folder, files, newest file):")
	for _, d := range dirs {
		fmt.Printf("  %s  %d files, e.g. %s\n", d, folders[d].n, folders[d].newest)
	}
	fmt.Println()
	return nil
}
