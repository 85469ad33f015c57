//! The audit log: one SQLite row per invocation in the home folder's
//! `audit.db` (WAL, every commit synced, schema versioned by
//! `user_version` and migrated on open). Concurrent appends share a commit
//! (`writer.rs`); each returns once its own record is durable. Records hold
//! hashes of input and output and names of capabilities, never values:
//! nothing a skill read or wrote (secrets included) reaches the log.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::outcome::Report;

mod writer;

use writer::Writer;

/// Each entry moves the schema one version up; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE invocations (
        invocation_id TEXT PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        bot TEXT NOT NULL,
        skill TEXT NOT NULL,
        version TEXT NOT NULL,
        tier TEXT NOT NULL,
        capabilities_used TEXT NOT NULL,
        capabilities_denied TEXT NOT NULL,
        input_sha256 TEXT NOT NULL,
        output_sha256 TEXT,
        fuel INTEGER NOT NULL,
        peak_memory_bytes INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        outcome TEXT NOT NULL
    );
    CREATE INDEX invocations_time ON invocations (time_ms);
    CREATE INDEX invocations_skill ON invocations (skill, time_ms);
    CREATE INDEX invocations_bot ON invocations (bot, time_ms);
",
    "
    ALTER TABLE invocations ADD COLUMN trace_id TEXT;
    CREATE INDEX invocations_trace ON invocations (trace_id) WHERE trace_id IS NOT NULL;
",
];

/// A WAL longer than this is checkpointed and truncated when the log is
/// closed (see `Drop`).
const WAL_TRUNCATE_AT: u64 = 1 << 20;

/// Host functions that need no grant: not capabilities, not audited.
const UNGATED: [&str; 2] = ["log", "get-context"];

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not open the audit log {path}: {source}; check the folder's permissions")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the audit log {path} has schema version {found}, newer than this cargo-skill knows ({known}): upgrade cargo-skill"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("the audit log {path}: the record was not written: {message}")]
    Write { path: PathBuf, message: String },
    #[error("the audit log {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// One invocation as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub invocation_id: String,
    /// Milliseconds since the Unix epoch, when the invocation ended.
    pub time_ms: i64,
    pub bot: String,
    pub skill: String,
    pub version: String,
    pub tier: String,
    pub capabilities_used: Vec<String>,
    pub capabilities_denied: Vec<String>,
    pub input_sha256: String,
    /// Of the `ok` output; none for errors.
    pub output_sha256: Option<String>,
    pub fuel: u64,
    pub peak_memory_bytes: u64,
    pub duration_us: u64,
    /// `ok` or the error kind.
    pub outcome: String,
    /// Ties the steps of one chain run together; none for a lone call.
    pub trace_id: Option<String>,
}

/// Who ran what, for a record.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub bot: &'a str,
    pub skill: &'a str,
    pub version: &'a str,
    pub input: &'a str,
    pub trace_id: Option<&'a str>,
}

impl AuditRecord {
    pub fn new(report: &Report, subject: Subject<'_>) -> AuditRecord {
        let calls = |allowed: bool| -> Vec<String> {
            report
                .metrics
                .host_calls
                .iter()
                .filter(|c| c.allowed == allowed && !UNGATED.contains(&c.function.as_str()))
                .map(|c| c.function.clone())
                .collect()
        };
        AuditRecord {
            invocation_id: report.invocation_id.clone(),
            time_ms: unix_ms(SystemTime::now()),
            bot: subject.bot.to_string(),
            skill: subject.skill.to_string(),
            version: subject.version.to_string(),
            tier: report.tier.as_str().to_string(),
            capabilities_used: calls(true),
            capabilities_denied: calls(false),
            input_sha256: sha256_hex(subject.input),
            output_sha256: report.result.as_ref().ok().map(|out| sha256_hex(out)),
            fuel: report.metrics.fuel_consumed,
            peak_memory_bytes: report.metrics.peak_memory_bytes,
            duration_us: report.metrics.duration.as_micros() as u64,
            outcome: match &report.result {
                Ok(_) => "ok".to_string(),
                Err(failure) => failure.kind.as_str().to_string(),
            },
            trace_id: subject.trace_id.map(str::to_string),
        }
    }

    /// RFC 3339 in UTC, to the millisecond.
    pub fn time(&self) -> String {
        let time = UNIX_EPOCH + Duration::from_millis(self.time_ms.max(0) as u64);
        humantime::format_rfc3339_millis(time).to_string()
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Which records to read back; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub skill: Option<String>,
    pub bot: Option<String>,
    pub since: Option<SystemTime>,
    pub outcome: Option<String>,
    /// One chain run's records, in the order its steps ran.
    pub trace: Option<String>,
    /// The newest this many, in time order.
    pub limit: Option<u32>,
}

#[derive(Debug)]
pub struct AuditLog {
    db: Arc<Db>,
    writer: Writer<AuditRecord>,
}

/// The database, shared with the writer thread.
#[derive(Debug)]
struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The write-ahead log, synced after each commit outside the write
    /// lock. It stays the same file while `conn` is open: SQLite deletes
    /// it only when its last connection closes.
    wal: OnceLock<File>,
    /// Where SQLite keeps it: beside the database file it resolved.
    wal_path: PathBuf,
    /// Why a sync failed. Linux reports a failed writeback once and then
    /// forgets it, and later WAL frames are only readable after the earlier
    /// ones: after one failure no later append can be called durable.
    sync_failed: OnceLock<String>,
}

/// Connections close without checkpointing (see `open`), so the WAL of a
/// home used by one-shot runs only grows: the next opener rebuilds its index
/// from the whole file (SQLite's recovery, which also forgets what was
/// checkpointed, so the WAL never restarts). The last writer to close a long
/// WAL checkpoints it and truncates it to nothing. It does not wait: while
/// another process reads or writes, the WAL is left for a later close.
impl Drop for AuditLog {
    fn drop(&mut self) {
        // No append is running. The writer thread (if any) ends before the
        // checkpoint; the writer's own drop, after this, finds it ended.
        self.writer.stop();
        if self.db.wal_len().is_none_or(|len| len <= WAL_TRUNCATE_AT) {
            return;
        }
        let conn = self.db.lock();
        if conn.busy_timeout(Duration::ZERO).is_ok() {
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

/// WAL is persistent: only the first opener of a new log switches to it.
/// The switch needs an exclusive lock and SQLite does not wait for it (no
/// busy handler), so processes opening a new log at once retry here.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < Duration::from_secs(30) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

impl AuditLog {
    /// Opens (creating and migrating as needed) the log at `path`. Several
    /// processes may hold it open and append at once.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let open_error = |source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_error)?;
        // WAL lets readers and one writer proceed together. NORMAL commits
        // without syncing (checkpoints still sync): `append` syncs the WAL
        // itself after the commit, outside the write lock, so other processes
        // write and readers read meanwhile. A returned record survives a crash of the
        // process or the machine, as with FULL.
        set_wal(&conn).map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        // A one-shot `cargo skill run` closes the log after one record; the
        // checkpoint SQLite runs on close would cost it four more fsyncs and
        // recreate the WAL (a folder fsync) next time. Committed records are
        // durable in the WAL already; writers checkpoint it as it grows.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(open_error)?;
        // SQLite follows a symbolic link to the database; its own full path
        // names the WAL.
        let mut wal_path = conn
            .path()
            .map_or_else(|| path.as_os_str().to_owned(), |p| p.into());
        wal_path.push("-wal");
        let db = Arc::new(Db {
            wal_path: wal_path.into(),
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            wal: OnceLock::new(),
            sync_failed: OnceLock::new(),
        });
        let writer = {
            let db = db.clone();
            Writer::new("skill-audit", move |records| {
                db.write(&records).map_err(|e| e.to_string())?;
                db.sync()
            })
        };
        let log = AuditLog { db, writer };
        log.migrate()?;
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.db.path
    }

    fn migrate(&self) -> Result<(), AuditError> {
        // Up to date is the common case: a read, no write transaction (whose
        // commit would cost an fsync on every open).
        if self.schema_version()? == MIGRATIONS.len() as u32 {
            return Ok(());
        }
        let mut conn = self.db.lock();
        // IMMEDIATE takes the write lock first, so two processes opening a
        // new log do not both migrate it.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.db.sql_error(e))?;
        let found: u32 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.db.sql_error(e))?;
        let known = MIGRATIONS.len() as u32;
        if found > known {
            return Err(AuditError::NewerSchema {
                path: self.db.path.clone(),
                found,
                known,
            });
        }
        for migration in &MIGRATIONS[found as usize..] {
            tx.execute_batch(migration)
                .map_err(|e| self.db.sql_error(e))?;
        }
        tx.pragma_update(None, "user_version", known)
            .map_err(|e| self.db.sql_error(e))?;
        tx.commit().map_err(|e| self.db.sql_error(e))?;
        drop(conn);
        self.db.sync().map_err(|message| AuditError::Write {
            path: self.db.path.clone(),
            message,
        })
    }

    /// Appends `record` durably: it returns once the record is committed,
    /// in one transaction with the records of concurrent appends, and the
    /// commit is synced to disk.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        self.writer
            .submit(record.clone())
            .map_err(|message| AuditError::Write {
                path: self.db.path.clone(),
                message,
            })
    }

    pub fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
        let conn = self.db.lock();
        let mut statement = conn
            .prepare(
                // Rows are appended in the order calls end (a chain's
                // steps one after another), which time_ms alone cannot
                // tell apart within a millisecond.
                "SELECT invocation_id, time_ms, bot, skill, version, tier,
                        capabilities_used, capabilities_denied, input_sha256,
                        output_sha256, fuel, peak_memory_bytes, duration_us,
                        outcome, trace_id FROM (
                    SELECT rowid AS seq, * FROM invocations
                    WHERE (?1 IS NULL OR skill = ?1) AND (?2 IS NULL OR bot = ?2)
                      AND (?3 IS NULL OR time_ms >= ?3) AND (?4 IS NULL OR outcome = ?4)
                      AND (?6 IS NULL OR trace_id = ?6)
                    ORDER BY time_ms DESC, rowid DESC LIMIT ?5
                 ) ORDER BY time_ms, seq",
            )
            .map_err(|e| self.db.sql_error(e))?;
        let list = |text: String| serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
        let rows = statement
            .query_map(
                params![
                    query.skill,
                    query.bot,
                    query.since.map(unix_ms),
                    query.outcome,
                    query.limit.map_or(-1, i64::from),
                    query.trace,
                ],
                |row| {
                    Ok(AuditRecord {
                        invocation_id: row.get(0)?,
                        time_ms: row.get(1)?,
                        bot: row.get(2)?,
                        skill: row.get(3)?,
                        version: row.get(4)?,
                        tier: row.get(5)?,
                        capabilities_used: list(row.get(6)?),
                        capabilities_denied: list(row.get(7)?),
                        input_sha256: row.get(8)?,
                        output_sha256: row.get(9)?,
                        fuel: row.get::<_, i64>(10)? as u64,
                        peak_memory_bytes: row.get::<_, i64>(11)? as u64,
                        duration_us: row.get::<_, i64>(12)? as u64,
                        outcome: row.get(13)?,
                        trace_id: row.get(14)?,
                    })
                },
            )
            .map_err(|e| self.db.sql_error(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.db.sql_error(e))
    }

    /// SQLite's own consistency check; `Err` names what is damaged.
    pub fn check_integrity(&self) -> Result<(), String> {
        let result: Result<String, _> =
            self.db
                .lock()
                .pragma_query_value(None, "integrity_check", |row| row.get(0));
        match result {
            Ok(ok) if ok == "ok" => Ok(()),
            Ok(problem) => Err(problem),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The schema version on disk (for `doctor` and tests).
    pub fn schema_version(&self) -> Result<u32, AuditError> {
        self.db
            .lock()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(|e| self.db.sql_error(e))
    }
}

impl Db {
    fn sql_error(&self, source: rusqlite::Error) -> AuditError {
        AuditError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, records: &[AuditRecord]) -> rusqlite::Result<()> {
        let json = |list: &[String]| serde_json::to_string(list).expect("strings serialize");
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO invocations (invocation_id, time_ms, bot, skill, version, tier,
                    capabilities_used, capabilities_denied, input_sha256, output_sha256,
                    fuel, peak_memory_bytes, duration_us, outcome, trace_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            for record in records {
                insert.execute(params![
                    record.invocation_id,
                    record.time_ms,
                    record.bot,
                    record.skill,
                    record.version,
                    record.tier,
                    json(&record.capabilities_used),
                    json(&record.capabilities_denied),
                    record.input_sha256,
                    record.output_sha256,
                    record.fuel as i64,
                    record.peak_memory_bytes as i64,
                    record.duration_us as i64,
                    record.outcome,
                    record.trace_id,
                ])?;
            }
        }
        tx.commit()
    }

    /// Makes every commit so far durable: the WAL's bytes and size (an
    /// fsync on any descriptor of a file flushes all of its written pages).
    fn sync(&self) -> Result<(), String> {
        if let Some(why) = self.sync_failed.get() {
            return Err(format!(
                "an earlier sync of the WAL failed ({why}); records since may not be durable: check the disk, then restart the process"
            ));
        }
        let wal = match self.wal.get() {
            Some(wal) => wal,
            None => {
                let wal = File::open(&self.wal_path).map_err(|e| {
                    format!(
                        "opening the WAL {} to sync it: {e}; check that this user may read it",
                        self.wal_path.display()
                    )
                })?;
                self.wal.get_or_init(|| wal)
            }
        };
        wal.sync_data().map_err(|e| {
            let why = format!("syncing the WAL to disk: {e}");
            self.sync_failed.get_or_init(|| why.clone());
            why
        })
    }

    /// The WAL's length, if it was opened by a sync.
    fn wal_len(&self) -> Option<u64> {
        Some(self.wal.get()?.metadata().ok()?.len())
    }
}
