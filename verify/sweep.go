package verify

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Entry is one object of a [TreeLister] listing.
type Entry struct {
	// Key is the object's key.
	Key string
	// Type holds the type bits of its file mode (0 for a regular file;
	// fs.ModeSymlink, fs.ModeNamedPipe, fs.ModeDevice, …).
	Type fs.FileMode
}

// TreeLister is an optional interface of a [Store] that can list every
// object under a prefix whatever its type, including metadata sidecars,
// temporary files, symbolic links and special files, without following or
// opening any of them. [FSStore] implements it. Validate uses it to report
// every object under the trail's prefix that is not a valid, covered log
// file or digest; for a Store without it, List is used (S3 has regular
// objects only).
type TreeLister interface {
	ListTree(ctx context.Context, prefix string) ([]Entry, error)
}

// objectRe splits a key below the trail's prefix into the parts of
// CloudTrail's layout: org, account, folder kind, region, date folders, name.
var objectRe = regexp.MustCompile(`^AWSLogs/(?:(o-[a-z0-9]{10,32})/)?([0-9]{12})/(CloudTrail|CloudTrail-Digest|CloudTrail-Insight)/([a-z0-9]+(?:-[a-z0-9]+)*)/([0-9]{4})/([0-9]{2})/([0-9]{2})/([^/]+)$`)

// leaseRe matches the lease object of a fleet's digest writer
// (trail.LeaseKey): AWSLogs/[org/]account/CloudTrail-Lease/region/trail.json.
var leaseRe = regexp.MustCompile(`^AWSLogs/(?:o-[a-z0-9]{10,32}/)?[0-9]{12}/CloudTrail-Lease/[a-z0-9]+(?:-[a-z0-9]+)*/[A-Za-z0-9._-]+\.json$`)

// probeRe matches the object s3sink's start-up check writes to prove it may
// write (s3sink.Options.Check): AWSLogs/[[org/]account/]trail-write-probe.
var probeRe = regexp.MustCompile(`^AWSLogs/(?:(?:o-[a-z0-9]{10,32}/)?[0-9]{12}/)?trail-write-probe$`)

// nameRes match a base name of each folder kind: account, region, time.
var nameRes = map[string]*regexp.Regexp{
	"CloudTrail":         regexp.MustCompile(`^([0-9]{12})_CloudTrail_([a-z0-9-]+)_([0-9]{8})T[0-9]{4}Z_[A-Za-z0-9]{16}\.json\.gz$`),
	"CloudTrail-Insight": regexp.MustCompile(`^([0-9]{12})_CloudTrail-Insight_([a-z0-9-]+)_([0-9]{8})T[0-9]{4}Z_[A-Za-z0-9]{16}\.json\.gz$`),
	"CloudTrail-Digest":  regexp.MustCompile(`^([0-9]{12})_CloudTrail-Digest_([a-z0-9-]+)_[A-Za-z0-9._-]+_[a-z0-9-]+_([0-9]{8})T[0-9]{6}Z\.json\.gz$`),
}

// sinkFiles are the bookkeeping files sinks keep at the root of a bucket
// directory (filesink's lock file), not objects of any trail.
var sinkFiles = map[string]bool{".trail.lock": true}

// coverSlack is how far before the end of the newest digest's coverage a
// log file may be named and still belong to the next digest: names have
// minute precision and delivery may lag the name.
const coverSlack = 2 * time.Minute

// checkTree lists everything under the trail's prefix and reports each
// object that is not a valid, covered log file or digest: stray objects,
// symlinks and special files (findings), log files newer than the coverage
// and leftover temporary files (notices). Objects in the layout of another
// account, region or trail are left to their own validation.
func (v *validator) checkTree(ctx context.Context) error {
	base := ""
	if v.opt.Prefix != "" {
		base = v.opt.Prefix + "/"
	}
	var entries []Entry
	if tl, ok := v.st.(TreeLister); ok {
		var err error
		if entries, err = tl.ListTree(ctx, base); err != nil {
			return fmt.Errorf("verify: list the trail's objects: %w", err)
		}
	} else {
		keys, err := v.st.List(ctx, base)
		if err != nil {
			return fmt.Errorf("verify: list the trail's objects: %w", err)
		}
		for _, k := range keys {
			entries = append(entries, Entry{Key: k})
		}
	}
	reported := map[string]bool{}
	for _, f := range v.rep.Findings {
		reported[f.Key] = true
	}
	for _, f := range v.extras {
		reported[f.Key] = true
	}
	listed := map[string]bool{}
	for _, ld := range v.walk {
		if ld.d != nil {
			for _, lf := range ld.d.LogFiles {
				listed[lf.S3Object] = true
			}
		}
	}
	exists := make(map[string]bool, len(entries))
	for _, e := range entries {
		exists[e.Key] = true
	}
	var covered time.Time
	if v.rep.Covered != nil {
		covered = v.rep.Covered.End
	}
	logDir, digestDir := v.lay.LogDir(), v.lay.DigestDir()
	logRe := v.lay.logNameRegexp()
	add := func(kind Kind, e Entry, detail string) {
		if v.opt.PrefixChecked && (kind == KindStrayObject || kind == KindNotRegular || kind == KindTempFile) {
			return
		}
		f := &IntegrityError{Kind: kind, Bucket: v.opt.Bucket, Key: e.Key, Detail: detail,
			Log: strings.HasPrefix(e.Key, logDir)}
		if kind.Notice() {
			v.rep.Notices = append(v.rep.Notices, f)
			return
		}
		v.extras = append(v.extras, f)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Base(e.Key)
		rest := strings.TrimPrefix(e.Key, base)
		switch {
		case e.Type&fs.ModeSymlink != 0:
			add(KindNotRegular, e, symlinkDetail(e.Key, base))
			continue
		case e.Type&fs.ModeType != 0:
			add(KindNotRegular, e, fmt.Sprintf("special file (%s) where an object must be (not opened)", e.Type.Type()))
			continue
		case strings.HasPrefix(name, ".tmp-"):
			add(KindTempFile, e, "temporary file of a sink (an incomplete write of a crashed run), not an object of the trail")
			continue
		case base == "" && sinkFiles[e.Key]:
			continue
		case strings.HasSuffix(e.Key, MetadataSuffix):
			if !exists[strings.TrimSuffix(e.Key, MetadataSuffix)] {
				add(KindStrayObject, e, "metadata sidecar without its object")
			}
			continue
		case reported[e.Key]:
			continue
		}
		if leaseRe.MatchString(rest) {
			continue // a fleet's digest writer lease (trail.LeaseKey)
		}
		if probeRe.MatchString(rest) {
			continue // s3sink's write probe
		}
		m := objectRe.FindStringSubmatch(rest)
		if m == nil {
			if otherPrefix(rest) {
				continue // a valid object of a trail with a longer prefix
			}
			if folderRe.MatchString(rest) || strings.HasPrefix(base, e.Key+"/") {
				add(KindStrayObject, e, "file where a folder of the trail's layout must be")
				continue
			}
			add(KindStrayObject, e, "object where the trail's layout has none")
			continue
		}
		org := m[1]
		if why := layoutMismatch(m); why != "" {
			add(KindStrayObject, e, why)
			continue
		}
		if org != v.opt.OrgID && org != "" {
			continue // another organization's files
		}
		switch {
		case strings.HasPrefix(e.Key, logDir):
			if listed[e.Key] {
				continue
			}
			t, ok := v.lay.logKeyTime(logRe, e.Key)
			if !ok || t.Before(v.start) || !t.Before(v.end) {
				continue // outside the window
			}
			// Under RequireEnd every file named before End's minute must be
			// listed (Options.RequireEnd); else files named near or after
			// the end of the coverage are notices.
			due := v.opt.RequireEnd && !t.Add(time.Minute).After(v.end)
			if !due && (covered.IsZero() || !t.Before(covered.Add(-coverSlack))) {
				add(KindNotYetCovered, e, fmt.Sprintf("log file named %s, newer than the digests' coverage (to %s): no digest lists it yet",
					display(t), displayOr(covered, "nothing")))
				continue
			}
			detail := "log file is listed by no digest"
			if due && (covered.IsZero() || !t.Before(covered.Add(-coverSlack))) {
				detail = fmt.Sprintf("log file named %s, before --end %s, is listed by no digest (forged, or the digest that lists it is missing)",
					display(t), display(v.end))
			}
			v.extras = append(v.extras, &IntegrityError{Kind: KindLogNotInDigest, Log: true, Bucket: v.opt.Bucket, Key: e.Key, Start: t,
				Detail: detail})
		case strings.HasPrefix(e.Key, digestDir):
			// The trail's own digests: the walk and the fleet checks judge them.
		}
	}
	return nil
}

// layoutMismatch returns why an objectRe match is not a file of its
// folder, or "".
func layoutMismatch(m []string) string {
	acct, kind, region, date := m[2], m[3], m[4], m[5]+m[6]+m[7]
	nm := nameRes[kind].FindStringSubmatch(m[8])
	if nm == nil || nm[1] != acct || nm[2] != region || nm[3] != date {
		return "object whose name is not a " + kind + " file name of its folder (account, region and date)"
	}
	return ""
}

// otherPrefix reports whether key is a valid object in the layout of a
// trail whose prefix is longer (<more>/AWSLogs/...): another trail's file,
// checked with that trail's --prefix.
func otherPrefix(key string) bool {
	for i := 0; ; {
		j := strings.Index(key[i:], "/AWSLogs/")
		if j < 0 {
			return false
		}
		i += j + 1
		if m := objectRe.FindStringSubmatch(key[i:]); m != nil && layoutMismatch(m) == "" {
			return true
		}
	}
}

func displayOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return display(t)
}

// ListTree implements [TreeLister]: every entry under prefix with its type,
// from directory listings only (nothing is followed or opened). Folders
// that are symlinks are reported as entries, not entered.
func (s *fsStore) ListTree(ctx context.Context, prefix string) ([]Entry, error) {
	var out []Entry
	err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable folder: its entry was listed by its parent
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() {
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		// Under prefix, or on the way to it where a folder must be (a
		// symlinked prefix folder is reported, not entered).
		if strings.HasPrefix(p, prefix) || strings.HasPrefix(prefix, p+"/") {
			out = append(out, Entry{Key: p, Type: d.Type()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list tree %q: %w", prefix, err)
	}
	return out, nil
}

// symlinkDetail describes a symbolic link at key: where the trail's layout
// has a folder (the prefix, AWSLogs/, an account, a CloudTrail* folder, a
// region or a date folder) or an object.
func symlinkDetail(key, base string) string {
	if strings.HasPrefix(base, key+"/") {
		return "symbolic link where the prefix folder must be (not followed)"
	}
	rest := strings.TrimPrefix(key, base)
	if folderRe.MatchString(rest) {
		return "symbolic link where a folder of the trail's layout must be (not followed)"
	}
	return "symbolic link where an object must be (not followed)"
}

// folderRe matches the folders of CloudTrail's layout below a prefix:
// AWSLogs, [org,] account, CloudTrail*, region, year, month, day.
var folderRe = regexp.MustCompile(`^AWSLogs(?:/o-[a-z0-9]{10,32})?(?:/[0-9]{12}(?:/CloudTrail[A-Za-z-]*(?:/[a-z0-9-]+(?:/[0-9]{4}(?:/[0-9]{2}(?:/[0-9]{2})?)?)?)?)?)?$`)

// Obstructions returns, in key order, what can hide a trail's objects
// under prefix (a key prefix such as "team/" or ""), of a Store that is a
// [TreeLister]: the symbolic links and special files there and where the
// folders leading to it must be ([KindNotRegular]), and the files where
// the trail's layout has a folder (prefix, AWSLogs, account, CloudTrail*,
// region, year, month, day: [KindStrayObject]). Nothing is followed or
// opened. Other Stores (S3) hold regular objects only and have no
// folders: nil. trailcheck uses it to name what hides a trail's digests
// (a CloudTrail-Digest folder replaced by a symlink, say) when it finds
// none.
func Obstructions(ctx context.Context, st Store, bucket, prefix string) ([]*IntegrityError, error) {
	tl, ok := st.(TreeLister)
	if !ok {
		return nil, nil
	}
	entries, err := tl.ListTree(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("verify: list the trail's objects: %w", err)
	}
	var out []*IntegrityError
	for _, e := range entries {
		switch {
		case e.Type&fs.ModeSymlink != 0:
			out = append(out, &IntegrityError{Kind: KindNotRegular, Bucket: bucket, Key: e.Key, Detail: symlinkDetail(e.Key, prefix)})
		case e.Type&fs.ModeType != 0:
			out = append(out, &IntegrityError{Kind: KindNotRegular, Bucket: bucket, Key: e.Key,
				Detail: fmt.Sprintf("special file (%s) where an object must be (not opened)", e.Type.Type())})
		case folderRe.MatchString(strings.TrimPrefix(e.Key, prefix)) || strings.HasPrefix(prefix, e.Key+"/"):
			out = append(out, &IntegrityError{Kind: KindStrayObject, Bucket: bucket, Key: e.Key,
				Detail: "file where a folder of the trail's layout must be"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
