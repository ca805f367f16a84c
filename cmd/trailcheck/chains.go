package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/trailkit/trail/verify"
)

// chain is one digest chain found in a store: the digests of one trail for
// one (account, source region), under one prefix.
type chain struct {
	Prefix      string `json:"prefix,omitempty"`
	OrgID       string `json:"orgId,omitempty"`
	AccountID   string `json:"accountId"`
	Region      string `json:"region"`
	TrailName   string `json:"trailName"`
	HomeRegion  string `json:"homeRegion"`
	DigestFiles int    `json:"digestFiles"`
	newest      string // key of the newest digest
}

func (c chain) String() string {
	s := c.Region + " account " + c.AccountID
	if c.OrgID != "" {
		s += " (organization " + c.OrgID + ")"
	}
	return s
}

// where describes the chain's trail and prefix, for the prefix listing.
func (c chain) where() string {
	p := c.Prefix
	if p == "" {
		p = "(none)"
	}
	return fmt.Sprintf("prefix %s: trail %s (home region %s), region %s, account %s", p, c.TrailName, c.HomeRegion, c.Region, c.AccountID)
}

// digestKeyRE matches every CloudTrail digest key:
// [prefix/]AWSLogs/[o-org/]acct/CloudTrail-Digest/region/yyyy/mm/dd/acct_CloudTrail-Digest_region_trail_home_time.json.gz.
var digestKeyRE = regexp.MustCompile(`^(?:(.+)/)?AWSLogs/(?:(o-[a-z0-9]{10,32})/)?([0-9]{12})/CloudTrail-Digest/([a-z0-9-]+)/[0-9]+/[0-9]+/[0-9]+/([0-9]{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_[0-9]{8}T[0-9]{6}Z\.json\.gz$`)

// findChains lists every digest chain among the keys of st under list (a
// plain key prefix; "" for all), sorted by prefix, trail, org, account and
// region.
func findChains(ctx context.Context, st verify.Store, list string) ([]chain, error) {
	keys, err := st.List(ctx, list)
	if err != nil {
		return nil, err
	}
	byID := map[chain]*chain{}
	var out []*chain
	for _, k := range keys {
		m := digestKeyRE.FindStringSubmatch(k)
		if m == nil || m[3] != m[5] || m[4] != m[6] {
			continue
		}
		id := chain{Prefix: m[1], OrgID: m[2], AccountID: m[3], Region: m[4], TrailName: m[7], HomeRegion: m[8]}
		c := byID[id]
		if c == nil {
			c = &chain{Prefix: id.Prefix, OrgID: id.OrgID, AccountID: id.AccountID, Region: id.Region,
				TrailName: id.TrailName, HomeRegion: id.HomeRegion}
			byID[id] = c
			out = append(out, c)
		}
		c.DigestFiles++
		if k > c.newest {
			c.newest = k
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Prefix != b.Prefix {
			return a.Prefix < b.Prefix
		}
		if a.TrailName != b.TrailName {
			return a.TrailName < b.TrailName
		}
		if a.OrgID != b.OrgID {
			return a.OrgID < b.OrgID
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.Region < b.Region
	})
	res := make([]chain, len(out))
	for i, c := range out {
		res[i] = *c
	}
	return res, nil
}

// selectChains keeps the chains of the trail that the flags ask for.
func selectChains(all []chain, f *validateFlags, arn verify.TrailARN) []chain {
	var out []chain
	for _, c := range all {
		if c.TrailName != arn.Name || c.HomeRegion != arn.HomeRegion || c.Prefix != f.prefix {
			continue
		}
		if f.region != "" && c.Region != f.region {
			continue
		}
		if f.accountID != "" && c.AccountID != f.accountID {
			continue
		}
		if f.orgID != "" && c.OrgID != f.orgID {
			continue
		}
		if f.orgID == "" && f.accountID == "" && c.OrgID == "" && c.AccountID != arn.AccountID {
			continue
		}
		out = append(out, c)
	}
	return out
}

// noDigestsMessage says what the store holds when the trail has no digests
// there: the chains of every trail and prefix found.
func noDigestsMessage(all []chain, f *validateFlags, arn verify.TrailARN) string {
	var b strings.Builder
	p := f.prefix
	if p == "" {
		p = "(none)"
	}
	fmt.Fprintf(&b, "no digests of trail %s (home region %s) under prefix %s", arn.Name, arn.HomeRegion, p)
	if f.region != "" || f.accountID != "" {
		fmt.Fprintf(&b, " for region %q account %q", f.region, f.accountID)
	}
	if len(all) == 0 {
		b.WriteString("; no CloudTrail digests at all here (is this the bucket's directory?)")
		return b.String()
	}
	b.WriteString("; digests found:")
	for _, c := range all {
		fmt.Fprintf(&b, "\n  %s (%d digests)", c.where(), c.DigestFiles)
	}
	b.WriteString("\npass --prefix, --region, --account-id or --trail-arn to match one of them")
	return b.String()
}
