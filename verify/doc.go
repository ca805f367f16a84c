// Package verify validates CloudTrail log files and digest files offline,
// the way `aws cloudtrail validate-logs` does, plus the checks it does not
// make.
//
// The bucket is read through a [Store]: [FSStore] serves an fs.FS whose root
// is the bucket (paths are S3 keys) with each object's S3 metadata in a
// "<key>.metadata.json" sidecar; an S3 implementation needs only List and
// Get. [Validate] walks the trail's digest chain from the newest digest to
// the oldest, verifies each digest's RSA signature (RSASSA-PKCS1-v1_5,
// SHA-256, over "<digestEndTime>\n<bucket>/<key>\n<sha256 hex of the
// uncompressed digest>\n<previousDigestSignature or null>") and the SHA-256 of
// every log file the valid digests list. It reports, as [IntegrityError]
// values of distinct [Kind]s, both what validate-logs reports (same
// conditions and message text) and what it misses: previous-digest hash and
// signature mismatches, chain restarts, missing newest digests, consecutive
// deleted digests, log files no digest lists, event times outside the range
// a digest claims, data appended after the gzip member, and malformed
// fields.
//
// The package uses the standard library only.
package verify
