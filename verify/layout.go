package verify

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// TrailARN is a parsed trail ARN, arn:<partition>:cloudtrail:<home region>:<account>:trail/<name>.
type TrailARN struct {
	// Partition is "aws", "aws-cn", "aws-us-gov", ...
	Partition string
	// HomeRegion is the region the trail was created in.
	HomeRegion string
	// AccountID is the 12-digit account owning the trail.
	AccountID string
	// Name is the trail's name (text after the last "/").
	Name string
}

// String returns the ARN text.
func (a TrailARN) String() string {
	return "arn:" + a.Partition + ":cloudtrail:" + a.HomeRegion + ":" + a.AccountID + ":trail/" + a.Name
}

var accountRe = regexp.MustCompile(`^[0-9]{12}$`)

// ParseTrailARN parses a trail ARN the way validate-logs does (home region =
// 4th field, account = 5th, name = text after the last "/"), but strictly:
// the account must be 12 digits and the resource must start with "trail/".
func ParseTrailARN(s string) (TrailARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "cloudtrail" ||
		parts[3] == "" || !accountRe.MatchString(parts[4]) || !strings.HasPrefix(parts[5], "trail/") {
		return TrailARN{}, fmt.Errorf("%w: invalid trail ARN provided: %q", ErrInvalidOptions, s)
	}
	name := s[strings.LastIndex(s, "/")+1:]
	if name == "" {
		return TrailARN{}, fmt.Errorf("%w: invalid trail ARN provided (empty name): %q", ErrInvalidOptions, s)
	}
	return TrailARN{Partition: parts[1], HomeRegion: parts[3], AccountID: parts[4], Name: name}, nil
}

// Layout says where a trail's log and digest files for one (account, source
// region) live in the bucket (spec 2.2 and 3.1).
type Layout struct {
	// Prefix is the S3 key prefix ("" = none); joined with a single "/".
	Prefix string
	// OrgID is the organization id ("o-...") of an organization trail, else "".
	OrgID string
	// AccountID is the account whose files these are.
	AccountID string
	// Region is the source region (where the events happened).
	Region string
	// HomeRegion is the trail's home region (from its ARN).
	HomeRegion string
	// TrailName is the trail's name (from its ARN).
	TrailName string
}

// DigestTimeFormat is the layout of the timestamp in digest file names.
const DigestTimeFormat = "20060102T150405Z"

// LogTimeFormat is the layout of the timestamp in log file names.
const LogTimeFormat = "20060102T1504Z"

// JSONTimeFormat is the layout of times inside digests and records.
const JSONTimeFormat = "2006-01-02T15:04:05Z"

func (l Layout) base() string {
	b := "AWSLogs/"
	if l.OrgID != "" {
		b += l.OrgID + "/"
	}
	b += l.AccountID + "/"
	if l.Prefix != "" {
		b = l.Prefix + "/" + b
	}
	return b
}

// DigestDir returns the folder holding the digests, with trailing "/":
// [<prefix>/]AWSLogs/[<org>/]<acct>/CloudTrail-Digest/<region>/.
func (l Layout) DigestDir() string { return l.base() + "CloudTrail-Digest/" + l.Region + "/" }

// LogDir returns the folder holding the log files, with trailing "/":
// [<prefix>/]AWSLogs/[<org>/]<acct>/CloudTrail/<region>/.
func (l Layout) LogDir() string { return l.base() + "CloudTrail/" + l.Region + "/" }

// LogDayDir returns the log folder of the UTC day of t, with trailing "/".
func (l Layout) LogDayDir(t time.Time) string { return l.LogDir() + t.UTC().Format("2006/01/02") + "/" }

// DigestKey returns the key of the digest whose digestEndTime is end.
func (l Layout) DigestKey(end time.Time) string {
	end = end.UTC()
	return l.DigestDir() + end.Format("2006/01/02") + "/" + l.AccountID + "_CloudTrail-Digest_" +
		l.Region + "_" + l.TrailName + "_" + l.HomeRegion + "_" + end.Format(DigestTimeFormat) + ".json.gz"
}

// LogKey returns the key of a log file delivered at t with the given
// 16-character unique string.
func (l Layout) LogKey(t time.Time, unique string) string {
	t = t.UTC()
	return l.LogDayDir(t) + l.AccountID + "_CloudTrail_" + l.Region + "_" + t.Format(LogTimeFormat) + "_" + unique + ".json.gz"
}

// digestKeyRegexp is validate-logs' filter for the trail's digest keys.
func (l Layout) digestKeyRegexp() *regexp.Regexp {
	q := regexp.QuoteMeta
	s := "AWSLogs/"
	if l.OrgID != "" {
		s += q(l.OrgID) + "/"
	}
	s += q(l.AccountID) + `/CloudTrail\-Digest/` + q(l.Region) + `/\d+/\d+/\d+/` + q(l.AccountID) +
		`_CloudTrail\-Digest_` + q(l.Region) + "_" + q(l.TrailName) + "_" + q(l.HomeRegion) + `_.+\.json\.gz`
	if l.Prefix != "" {
		s = q(l.Prefix) + "/" + s
	}
	return regexp.MustCompile("^" + s + "$")
}

// logNameRegexp matches a log file's base name for this account and region.
func (l Layout) logNameRegexp() *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(l.AccountID+"_CloudTrail_"+l.Region+"_") +
		`([0-9]{8}T[0-9]{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)
}

// digestKeyDate is validate-logs' extract_digest_key_date: key[-24:-8].
func digestKeyDate(key string) string {
	if len(key) < 24 {
		return ""
	}
	return key[len(key)-24 : len(key)-8]
}

func parseDigestKeyDate(key string) (time.Time, bool) {
	t, err := time.Parse(DigestTimeFormat, digestKeyDate(key))
	return t, err == nil
}

// logKeyTime parses the delivery minute from a log key's base name.
func (l Layout) logKeyTime(re *regexp.Regexp, key string) (time.Time, bool) {
	m := re.FindStringSubmatch(path.Base(key))
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(LogTimeFormat, m[1])
	return t, err == nil
}
