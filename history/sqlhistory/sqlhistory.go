// Package sqlhistory is a trail.HistoryStore over database/sql, with two
// dialects: SQLite (modernc.org/sqlite, pure Go: the embedded, durable
// store of one machine) and PostgreSQL (pgx's stdlib driver: one history
// shared by many service instances).
//
// The package imports no driver; import the one you use:
//
//	import _ "modernc.org/sqlite"              // driver "sqlite"
//	import _ "github.com/jackc/pgx/v5/stdlib"  // driver "pgx"
//
//	store, err := sqlhistory.Open(ctx, "file:/var/lib/app/history.db", sqlhistory.Options{Dialect: sqlhistory.SQLite})
//	store, err := sqlhistory.Open(ctx, "postgres://app@db/app", sqlhistory.Options{Dialect: sqlhistory.PostgreSQL})
//	rec, err := trail.New(trail.Config{…, History: store})
//
// # Schema
//
// Open and New create the tables (named with Options.TablePrefix, "trail_"
// by default) or migrate them to the current version, in one transaction
// (PostgreSQL: under an advisory lock, so instances may start together).
// Events are stored in blocks rather than one row each, so that an Append
// writes a few large rows and index entries per block, not seven index
// entries per event:
//
//   - trail_blocks: one row per block of up to 512 events of one Append
//     (sorted by event time, so that a block covers a short time range):
//     id, min_time and max_time (Unix seconds), n, head and data. head
//     (S2-compressed) lists every event's time, ID and lookup attributes
//     (event name and source, username, access key ID, read-only flag,
//     category, error code, resource types and ARNs) and where its record
//     lies in data; data holds the compact JSON records, zstd-compressed in
//     segments of 256. Indexed by (max_time) and (min_time).
//   - trail_postings: one row per distinct (attribute, value) per block,
//     for every lookup attribute but EventId, with the time range of the
//     block's events that have the value. The key (epoch, attribute,
//     value, max_time, block_id) starts with the block's epoch (its id / 16),
//     so that an Append's postings go to the few pages of the newest epoch
//     instead of all over the table (which made the cost of an Append grow
//     with the store).
//   - trail_epochs: the time range of each epoch's blocks.
//   - trail_ids and trail_new_ids: event_id → block_id, for idempotency
//     and EventId lookups. On SQLite, Append looks new IDs up in trail_ids
//     and inserts them into the small trail_new_ids, which is moved into
//     trail_ids (in key order) every 64 blocks: event IDs are random, and
//     inserting every batch's IDs into one large B-tree dirties a page per
//     ID, so that the Append rate fell as the store grew. PostgreSQL
//     inserts into trail_ids directly.
//   - trail_meta: the schema version and the key of the page tokens, shared
//     by every instance using the database.
//
// Append de-duplicates the batch, inserts its new event IDs with INSERT …
// ON CONFLICT DO NOTHING (idempotent by event ID, the first copy wins), and
// writes blocks of the new events with their postings, in one transaction;
// the blocks are encoded and compressed while the IDs are inserted.
//
// Lookup takes the candidate blocks of the query newest first (from the
// postings of its most selective attribute, epoch by epoch; from trail_ids
// for an EventId; else from trail_blocks), decodes and filters their heads,
// keeps the best page, and stops once the next candidate's newest event is
// older than the page's last one (blocks may overlap in time: appends are
// not in event-time order). Only the segments that hold the page's events
// are decompressed and decoded. Prune deletes the blocks whose events are
// all older than the cut, rewrites the blocks that straddle it without the
// older events, and deletes their postings and IDs.
//
// Version 1 (one row per event in trail_events, with trail_resources) is
// migrated when a store opens it: the events are moved into blocks, a
// thousand at a time in event-time order, and both old tables are dropped,
// in the migration's transaction. Version 2 stored every posting value as
// it is (escaped when PostgreSQL text cannot hold it): PostgreSQL refused
// an event with a value over its B-tree row limit (about 2.7 KB). Version
// 3 stores values over 2,048 bytes as their SHA-256 and a prefix (lookups
// compare the full value in the block heads), and opening a version 2
// database rewrites its postings that differ.
//
// # Performance
//
// Measured by BenchmarkAppend and BenchmarkLookup (sqlhistory_bench_test.go:
// batches of 1,000 synthetic events of about 1.5 KB of JSON, 2-core x86-64,
// shared):
//
//	                                     SQLite (modernc, WAL)  PostgreSQL 15 (loopback, fsync off)
//	sustained Append, 100,000 events     ~57,000 events/s       ~52,000 events/s
//	sustained Append, 300,000 events     ~45,000 events/s
//	50 newest, frequent EventName        2.5 ms                 3.5 ms   (200,000 events stored)
//	50 newest, rare EventName            12 ms                  17 ms
//	50 newest, Username / ResourceType   4.7 / 2.2 ms           6.3 / 2.6 ms
//
// Version 1 (a row per event, seven indexes) appended about 14,000 events/s
// on SQLite and 15,000-21,000 on PostgreSQL, and found the 50 newest in
// 1-2 ms on both. Lookups now decode block heads (about 500 events each)
// instead of reading 50 rows: a value spread thinly over many blocks (the
// rare EventName) costs the most. The Append rate of SQLite still declines
// slowly as the store grows (merging trail_new_ids rewrites the pages of
// trail_ids, and a lookup seeks every epoch of the time range); far larger
// stores would want tiered merges and compaction of old epochs.
package sqlhistory

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/trailkit/trail"
)

// Dialect is the SQL flavour of a database.
type Dialect int

// Dialects.
const (
	// SQLite, through modernc.org/sqlite (driver name "sqlite").
	SQLite Dialect = iota + 1
	// PostgreSQL, through github.com/jackc/pgx/v5/stdlib (driver name
	// "pgx"), version 12 or later.
	PostgreSQL
)

// String returns "sqlite" or "postgresql".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// DriverName is the database/sql driver Open uses: "sqlite" or "pgx".
func (d Dialect) DriverName() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "pgx"
	}
	return ""
}

// Options configure a Store.
type Options struct {
	// Dialect of the database. Required.
	Dialect Dialect
	// TablePrefix names the tables: <prefix>blocks, <prefix>postings,
	// <prefix>epochs, <prefix>ids, <prefix>new_ids and <prefix>meta, and on
	// PostgreSQL the sequence <prefix>block_ids (default "trail_").
	// Lower-case letters, digits and '_', starting with a letter or '_'.
	TablePrefix string
}

// Errors.
var (
	// ErrSchemaTooNew is returned by New for a database whose schema a later
	// version of this package wrote.
	ErrSchemaTooNew = errors.New("sqlhistory: schema version is newer than this package")
	// ErrInvalidOptions is wrapped by New and Open for bad Options.
	ErrInvalidOptions = errors.New("sqlhistory: invalid options")
)

var prefixRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// Store is a HistoryStore over a SQL database. It is safe for concurrent use,
// also by several processes sharing the database.
type Store struct {
	db     *sql.DB
	d      Dialect
	p      string // table prefix
	tokens *trail.PageTokens
	own    bool // Close closes db

	migratingFrom int // the schema version migrateTo found (for convertV2)
}

// Open opens the database named by dsn with the dialect's driver (which the
// program must import), prepares the schema and returns the store; Close
// closes the database. For SQLite, dsn is a file name or a "file:" URI;
// Open adds write-ahead logging, synchronous=NORMAL, a busy timeout and
// immediate transactions unless the DSN sets them.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Dialect == SQLite {
		dsn = sqliteDSN(dsn)
	}
	if opts.Dialect.DriverName() == "" {
		return nil, fmt.Errorf("%w: unknown dialect %v", ErrInvalidOptions, opts.Dialect)
	}
	db, err := sql.Open(opts.Dialect.DriverName(), dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlhistory: open: %w", err)
	}
	s, err := New(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

func sqliteDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	add := func(key, param string) {
		if strings.Contains(dsn, key) {
			return
		}
		if strings.Contains(dsn, "?") {
			dsn += "&" + param
		} else {
			dsn += "?" + param
		}
	}
	add("journal_mode", "_pragma=journal_mode(WAL)")
	add("synchronous", "_pragma=synchronous(NORMAL)")
	add("busy_timeout", "_pragma=busy_timeout(30000)")
	add("cache_size", "_pragma=cache_size(-65536)")
	add("mmap_size", "_pragma=mmap_size(1073741824)")
	add("temp_store", "_pragma=temp_store(MEMORY)")
	add("wal_autocheckpoint", "_pragma=wal_autocheckpoint(16384)")
	add("_txlock", "_txlock=immediate")
	return dsn
}

// New prepares the schema in db and returns a store using it. The caller
// keeps ownership of db (Close does not close it). For SQLite, db should use
// WAL mode, a busy timeout and immediate transactions (see Open).
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if opts.Dialect != SQLite && opts.Dialect != PostgreSQL {
		return nil, fmt.Errorf("%w: unknown dialect %v", ErrInvalidOptions, opts.Dialect)
	}
	if opts.TablePrefix == "" {
		opts.TablePrefix = "trail_"
	}
	if !prefixRE.MatchString(opts.TablePrefix) {
		return nil, fmt.Errorf("%w: TablePrefix %q: want lower-case letters, digits and '_'", ErrInvalidOptions, opts.TablePrefix)
	}
	s := &Store{db: db, d: opts.Dialect, p: opts.TablePrefix}
	key, err := s.migrate(ctx)
	if err != nil {
		return nil, err
	}
	s.tokens = trail.NewPageTokens(key)
	return s, nil
}

// DB returns the database.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if s.own {
		return s.db.Close()
	}
	return nil
}

// ph returns the n-th (1-based) placeholder. Queries use their arguments in
// order, so SQLite gets plain '?' (modernc binds numbered ones in quadratic
// time).
func (s *Store) ph(n int) string {
	if s.d == PostgreSQL {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// migration is one schema version: statements ("pg:" or "sqlite:" first
// limits one to a dialect), then an optional conversion in Go, then more
// statements.
type migration struct {
	stmts   []string
	convert func(s *Store, ctx context.Context, tx *sql.Tx) error
	after   []string
}

// The schema, version by version. {p} is the table prefix; {bool},
// {bigint}, {blob}, {text}, {idpk} and {without_rowid} the dialect's types
// and clauses.
var migrations = []migration{
	1: {stmts: []string{
		`CREATE TABLE {p}events (
			event_id {text} NOT NULL PRIMARY KEY,
			event_time {bigint} NOT NULL,
			event_name {text} NOT NULL,
			event_source {text} NOT NULL,
			username {text} NOT NULL,
			access_key_id {text} NOT NULL,
			read_only {bool} NOT NULL,
			event_category {text} NOT NULL,
			error_code {text} NOT NULL,
			record TEXT NOT NULL)`,
		`CREATE INDEX {p}events_time ON {p}events (event_time, event_id)`,
		`CREATE INDEX {p}events_name ON {p}events (event_name, event_time, event_id)`,
		`CREATE INDEX {p}events_source ON {p}events (event_source, event_time, event_id)`,
		`CREATE INDEX {p}events_username ON {p}events (username, event_time, event_id)`,
		`CREATE INDEX {p}events_access_key ON {p}events (access_key_id, event_time, event_id)`,
		`CREATE INDEX {p}events_read_only ON {p}events (read_only, event_time, event_id)`,
		`CREATE INDEX {p}events_error ON {p}events (error_code, event_time, event_id) WHERE error_code <> ''`,
		`CREATE TABLE {p}resources (
			kind SMALLINT NOT NULL,
			value {text} NOT NULL,
			event_time {bigint} NOT NULL,
			event_id {text} NOT NULL,
			PRIMARY KEY (kind, value, event_time, event_id)){without_rowid}`,
	}},
	2: {
		stmts: []string{
			`CREATE TABLE {p}blocks (
				id {idpk},
				min_time {bigint} NOT NULL,
				max_time {bigint} NOT NULL,
				n INTEGER NOT NULL,
				head {blob} NOT NULL,
				data {blob} NOT NULL)`,
			`CREATE INDEX {p}blocks_max ON {p}blocks (max_time, id, min_time)`,
			`CREATE INDEX {p}blocks_min ON {p}blocks (min_time)`,
			`pg:CREATE SEQUENCE {p}block_ids`,
			`CREATE TABLE {p}epochs (
				epoch {bigint} NOT NULL PRIMARY KEY,
				min_time {bigint} NOT NULL,
				max_time {bigint} NOT NULL)`,
			`CREATE TABLE {p}postings (
				epoch {bigint} NOT NULL,
				attr SMALLINT NOT NULL,
				value {text} NOT NULL,
				max_time {bigint} NOT NULL,
				block_id {bigint} NOT NULL,
				min_time {bigint} NOT NULL,
				PRIMARY KEY (epoch, attr, value, max_time, block_id)){without_rowid}`,
			`CREATE TABLE {p}ids (
				event_id {text} NOT NULL PRIMARY KEY,
				block_id {bigint} NOT NULL){without_rowid}`,
			`CREATE TABLE {p}new_ids (
				event_id {text} NOT NULL PRIMARY KEY,
				block_id {bigint} NOT NULL){without_rowid}`,
		},
		convert: (*Store).convertV1,
		after: []string{
			`DROP TABLE {p}resources`,
			`DROP TABLE {p}events`,
		},
	},
	// 3: posting values in bounded form (postingValue): values longer than
	// maxPostingValue bytes as a hash and a prefix, which PostgreSQL's
	// B-tree rows hold; raw values starting with hashedValue escaped.
	3: {convert: (*Store).convertV2},
}

// convertV2 rewrites the postings whose stored form changed in version 3:
// those longer than maxPostingValue bytes and those starting with
// hashedValue (version 2 stored both raw).
func (s *Store) convertV2(ctx context.Context, tx *sql.Tx) error {
	if s.migratingFrom < 2 {
		return nil // the blocks were written in this migration, in the current form
	}
	// length counts characters: at most 4 bytes each.
	rows, err := tx.QueryContext(ctx, s.sql(`SELECT epoch, attr, value, max_time, block_id FROM {p}postings
		WHERE length(value) > `+s.ph(1)+` OR substr(value, 1, 1) = `+s.ph(2)), maxPostingValue/4, hashedValue)
	if err != nil {
		return err
	}
	type row struct {
		epoch, maxT, block int64
		attr               int16
		old, new           string
	}
	var change []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.epoch, &r.attr, &r.old, &r.maxT, &r.block); err != nil {
			rows.Close()
			return err
		}
		v, ok := valueOfV2(r.old)
		if !ok {
			continue
		}
		if r.new = postingValue(v); r.new != r.old {
			change = append(change, r)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	q := s.sql(`UPDATE {p}postings SET value = ` + s.ph(1) + ` WHERE epoch = ` + s.ph(2) + ` AND attr = ` + s.ph(3) +
		` AND value = ` + s.ph(4) + ` AND max_time = ` + s.ph(5) + ` AND block_id = ` + s.ph(6))
	for _, r := range change {
		if _, err := tx.ExecContext(ctx, q, r.new, r.epoch, r.attr, r.old, r.maxT, r.block); err != nil {
			return err
		}
	}
	return nil
}

// convertV1 moves the events of the version 1 tables into blocks, a
// thousand at a time in event time order.
func (s *Store) convertV1(ctx context.Context, tx *sql.Tx) error {
	var (
		lastT  int64 = math.MinInt64
		lastID string
	)
	for {
		rows, err := tx.QueryContext(ctx, s.sql(`SELECT event_time, event_id, record FROM {p}events
			WHERE event_time > `+s.ph(1)+` OR event_time = `+s.ph(2)+` AND event_id > `+s.ph(3)+`
			ORDER BY event_time, event_id LIMIT 1000`), lastT, lastT, lastID)
		if err != nil {
			return err
		}
		var batch []*trail.Event
		for rows.Next() {
			var rec []byte
			if err := rows.Scan(&lastT, &lastID, &rec); err != nil {
				rows.Close()
				return err
			}
			ev := new(trail.Event)
			if err := json.Unmarshal(rec, ev); err != nil {
				rows.Close()
				return fmt.Errorf("event %s: %w", lastID, err)
			}
			batch = append(batch, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := s.appendTx(ctx, tx, batch); err != nil {
			return err
		}
	}
}

func (s *Store) sql(q string) string {
	r := strings.NewReplacer("{p}", s.p, "{text}", "TEXT", "{bigint}", "BIGINT", "{bool}", "BOOLEAN", "{blob}", "BLOB",
		"{without_rowid}", " WITHOUT ROWID", "{idpk}", "INTEGER PRIMARY KEY", "{least}", "min", "{greatest}", "max")
	if s.d == PostgreSQL {
		r = strings.NewReplacer("{p}", s.p, "{text}", `TEXT COLLATE "C"`, "{bigint}", "BIGINT", "{bool}", "BOOLEAN",
			"{blob}", "BYTEA", "{without_rowid}", "", "{idpk}", "BIGINT PRIMARY KEY", "{least}", "LEAST", "{greatest}", "GREATEST")
	}
	return r.Replace(q)
}

// exec runs a migration statement, unless it is for the other dialect.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, stmt string) error {
	if rest, ok := strings.CutPrefix(stmt, "pg:"); ok {
		if s.d != PostgreSQL {
			return nil
		}
		stmt = rest
	} else if rest, ok := strings.CutPrefix(stmt, "sqlite:"); ok {
		if s.d != SQLite {
			return nil
		}
		stmt = rest
	}
	_, err := tx.ExecContext(ctx, s.sql(stmt))
	return err
}

// migrate creates or upgrades the schema and returns the page-token key.
func (s *Store) migrate(ctx context.Context) ([]byte, error) {
	return s.migrateTo(ctx, len(migrations)-1)
}

// migrateTo creates or upgrades the schema to version target (the tests
// make older versions) and returns the page-token key.
func (s *Store) migrateTo(ctx context.Context, target int) ([]byte, error) {
	fail := func(err error) ([]byte, error) { return nil, fmt.Errorf("sqlhistory: preparing the schema: %w", err) }
	if _, err := s.db.ExecContext(ctx, s.sql(`CREATE TABLE IF NOT EXISTS {p}meta (name TEXT PRIMARY KEY, value {blob} NOT NULL)`)); err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if s.d == PostgreSQL {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "trail-history:"+s.p); err != nil {
			return fail(err)
		}
	}
	version := 0
	var v []byte
	switch err := tx.QueryRowContext(ctx, s.sql(`SELECT value FROM {p}meta WHERE name = 'schema_version'`)).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fail(err)
	default:
		if version, err = strconv.Atoi(string(v)); err != nil {
			return fail(fmt.Errorf("bad schema_version %q", v))
		}
	}
	s.migratingFrom = version
	if version > len(migrations)-1 {
		return nil, fmt.Errorf("%w: database has version %d, this package knows %d", ErrSchemaTooNew, version, len(migrations)-1)
	}
	for ver := version + 1; ver <= target; ver++ {
		m := &migrations[ver]
		for _, stmt := range m.stmts {
			if err := s.exec(ctx, tx, stmt); err != nil {
				return fail(fmt.Errorf("version %d: %w", ver, err))
			}
		}
		if m.convert != nil {
			if err := m.convert(s, ctx, tx); err != nil {
				return fail(fmt.Errorf("version %d: %w", ver, err))
			}
		}
		for _, stmt := range m.after {
			if err := s.exec(ctx, tx, stmt); err != nil {
				return fail(fmt.Errorf("version %d: %w", ver, err))
			}
		}
	}
	if version < target {
		if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM {p}meta WHERE name = 'schema_version'`)); err != nil {
			return fail(err)
		}
		if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}meta (name, value) VALUES ('schema_version', `+s.ph(1)+`)`),
			[]byte(strconv.Itoa(target))); err != nil {
			return fail(err)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO {p}meta (name, value) VALUES ('page_token_key', `+s.ph(1)+`) ON CONFLICT (name) DO NOTHING`), key); err != nil {
		return fail(err)
	}
	if err := tx.QueryRowContext(ctx, s.sql(`SELECT value FROM {p}meta WHERE name = 'page_token_key'`)).Scan(&key); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return key, nil
}
