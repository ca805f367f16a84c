package main

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFleetThroughput runs 1 and 3 instances flat out (-rate 0) on one
// filesink folder with validation on and reports the aggregate events/s:
//
//	go test -run '^$' -bench FleetThroughput -benchtime 1x ./examples/fleet
func BenchmarkFleetThroughput(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			var total, secs float64
			for range b.N {
				f := newFleetB(b)
				const d = 4 * time.Second
				var ps []*proc
				for i := range n {
					ps = append(ps, f.launchB(b, fmt.Sprintf("i%d", i), d))
				}
				for _, p := range ps {
					if err := <-p.done; err != nil {
						b.Fatalf("%s: %v\n%s", p.name, err, p.out.String())
					}
					m := regexp.MustCompile(`(\d+) events recorded`).FindStringSubmatch(p.out.String())
					if m == nil {
						b.Fatalf("%s: no count:\n%s", p.name, p.out.String())
					}
					c, _ := strconv.Atoi(m[1])
					total += float64(c)
				}
				secs += d.Seconds()
			}
			b.ReportMetric(total/secs, "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func newFleetB(b *testing.B) *fleet {
	return newFleet(b, &backend{name: "filesink", dir: b.TempDir(), bucket: DefaultBucket})
}

// launchB starts an instance recording flat out.
func (f *fleet) launchB(b *testing.B, name string, d time.Duration) *proc {
	return f.launch(name, d, "-rate", "0")
}
