package trail

// layout.go is the one place that builds object keys: log files, digest
// files, and the prefixes under which the recorder looks for them. Every
// other file asks these functions for keys.

import (
	"time"
)

// LogFileKey returns the S3 key CloudTrail gives a log file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail/region/YYYY/MM/DD/account_CloudTrail_region_YYYYMMDDTHHmmZ_unique.json.gz
//
// t is the delivery time (UTC is used); unique is the 16-character suffix.
func LogFileKey(prefix, orgID, account, region string, t time.Time, unique string) string {
	return logKey("CloudTrail", prefix, orgID, account, region, t, unique)
}

// InsightFileKey returns the S3 key CloudTrail gives a log file of Insights
// events, in the CloudTrail-Insight folder beside CloudTrail's:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail-Insight/region/YYYY/MM/DD/account_CloudTrail-Insight_region_YYYYMMDDTHHmmZ_unique.json.gz
func InsightFileKey(prefix, orgID, account, region string, t time.Time, unique string) string {
	return logKey("CloudTrail-Insight", prefix, orgID, account, region, t, unique)
}

// logKey builds the key of a log file in folder (CloudTrail or
// CloudTrail-Insight).
func logKey(folder, prefix, orgID, account, region string, t time.Time, unique string) string {
	t = t.UTC()
	b := make([]byte, 0, 168)
	b = appendKeyBase(b, prefix, orgID, account)
	b = append(b, folder...)
	b = append(b, '/')
	b = append(b, region...)
	b = append(b, '/')
	b = t.AppendFormat(b, "2006/01/02/")
	b = append(b, account...)
	b = append(b, '_')
	b = append(b, folder...)
	b = append(b, '_')
	b = append(b, region...)
	b = append(b, '_')
	b = t.AppendFormat(b, "20060102T1504Z")
	b = append(b, '_')
	b = append(b, unique...)
	b = append(b, ".json.gz"...)
	return string(b)
}

// appendKeyBase appends "[prefix/]AWSLogs/[orgID/]account/".
func appendKeyBase(b []byte, prefix, orgID, account string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, '/')
	}
	b = append(b, "AWSLogs/"...)
	if orgID != "" {
		b = append(b, orgID...)
		b = append(b, '/')
	}
	b = append(b, account...)
	return append(b, '/')
}

// DigestKey returns the S3 key of a digest file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail-Digest/region/YYYY/MM/DD/account_CloudTrail-Digest_region_trail_home_YYYYMMDDTHHMMSSZ.json.gz
//
// end is the digest's end time (UTC is used).
func DigestKey(prefix, orgID, account, region, trailName, homeRegion string, end time.Time) string {
	end = end.UTC()
	b := make([]byte, 0, 200)
	b = appendKeyBase(b, prefix, orgID, account)
	b = append(b, "CloudTrail-Digest/"...)
	b = append(b, region...)
	b = append(b, '/')
	b = end.AppendFormat(b, "2006/01/02/")
	b = append(b, account...)
	b = append(b, "_CloudTrail-Digest_"...)
	b = append(b, region...)
	b = append(b, '_')
	b = append(b, trailName...)
	b = append(b, '_')
	b = append(b, homeRegion...)
	b = append(b, '_')
	b = end.AppendFormat(b, digestStampLayout)
	b = append(b, ".json.gz"...)
	return string(b)
}

// digestStampLayout is the time stamp in a digest file name.
const digestStampLayout = "20060102T150405Z"

// digestDir returns the directory of a chain's digests:
// "[prefix/]AWSLogs/[orgID/]account/CloudTrail-Digest/region/".
func digestDir(prefix, orgID, account, region string) string {
	b := make([]byte, 0, 120)
	b = appendKeyBase(b, prefix, orgID, account)
	b = append(b, "CloudTrail-Digest/"...)
	b = append(b, region...)
	return string(append(b, '/'))
}

// digestNamePrefix returns what the file names of a chain's digests start
// with, before the time stamp.
func digestNamePrefix(account, region, trailName, homeRegion string) string {
	return account + "_CloudTrail-Digest_" + region + "_" + trailName + "_" + homeRegion + "_"
}
