// Command quickstart records a few hundred varied events through two trails
// into ./audit-out (local disk, CloudTrail's S3 key layout) and prints what it
// wrote.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trailkit/trail"
	"github.com/trailkit/trail/sink/filesink"
)

func main() {
	out := flag.String("out", "audit-out", "output directory")
	n := flag.Int("events", 300, "number of events to record")
	flag.Parse()
	if err := run(*out, *n); err != nil {
		log.Fatal(err)
	}
}

func run(out string, n int) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	ctx := context.Background()
	disk := filesink.New(out, nil)
	rec, err := trail.New(trail.Config{
		AccountID: "111122223333",
		Region:    "us-east-1",
		Trails: []trail.Trail{
			{ // every management event of every region
				Name: "management", Bucket: "audit-bucket", MultiRegion: true,
				Sinks: []trail.Sink{disk},
			},
			{ // writes only, plus object-level events of one bucket
				Name: "writes-and-objects", Bucket: "audit-bucket", Prefix: "objects",
				Management: trail.ReadWriteWriteOnly,
				Data:       []trail.DataResource{{Type: trail.ResourceS3Object, Values: []string{"arn:aws:s3:::invoices/"}}},
				Sinks:      []trail.Sink{disk},
			},
		},
	})
	if err != nil {
		return err
	}
	users := []string{"alice", "bob", "carol"}
	regions := []string{"us-east-1", "eu-west-1"}
	for i := range n {
		user := users[i%len(users)]
		ev := &trail.Event{
			EventSource: "orders.example.com",
			AWSRegion:   regions[(i/4)%len(regions)],
			UserIdentity: trail.UserIdentity{
				Type: "IAMUser", UserName: user, AccountID: "111122223333",
				ARN: "arn:aws:iam::111122223333:user/" + user, PrincipalID: "AIDAEXAMPLE" + strings.ToUpper(user),
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
			bucket := []string{"invoices", "scratch"}[i/4%2]
			ev.Resources = []trail.Resource{{Type: trail.ResourceS3Object, ARN: fmt.Sprintf("arn:aws:s3:::%s/2026/%d.pdf", bucket, i)}}
		}
		if err := rec.Record(ctx, ev); err != nil {
			return fmt.Errorf("record event %d: %w", i, err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rec.Close(cctx); err != nil {
		return err
	}
	st := rec.Stats()
	fmt.Printf("recorded %d events (%d selected by no trail), delivered %d files (%d bytes gzip'd)\n\n",
		st.Recorded, st.Unselected, st.FilesDelivered, st.BytesDelivered)
	return filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		records, err := countRecords(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		fmt.Printf("%4d records  %s\n", records, rel)
		return nil
	})
}

func countRecords(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, err
	}
	var body struct{ Records []json.RawMessage }
	if err := json.NewDecoder(zr).Decode(&body); err != nil {
		return 0, err
	}
	return len(body.Records), nil
}
