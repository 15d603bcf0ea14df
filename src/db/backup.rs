//! Verified online backups of a station's SQLite database, and their
//! restore.
//!
//! A backup is `VACUUM INTO` a temporary file beside the target. SQLite
//! writes one consistent snapshot of the database into it from a read
//! transaction: under WAL the writer is never blocked, so sales go on
//! while it copies (and the WAL grows until the copy ends, when the
//! background checkpoint catches up). SQLite does not flush the file it
//! writes, so the copy is flushed as it grows and synced before it is
//! trusted. Then the copy is
//! opened read-only and checked — `PRAGMA integrity_check`, the ledger's
//! invariants ([`crate::ledger::check`]), and the PIN key's check value
//! against the key the copy's PINs were set up under — and only then
//! renamed into place. A copy that fails a check is deleted: a file at the
//! target name is always a backup that passed.
//!
//! The PIN key never enters the database, so it is never in a backup: a
//! backup without its key file restores a database whose every PIN is
//! wrong. Checking the key here catches a key file that is not the one the
//! backup needs while the right one can still be found.
//!
//! A restore verifies the backup the same way, refuses to replace a
//! database with newer records unless forced, and refuses a database a
//! server still has open. PostgreSQL has its own tools (`pg_dump`, or base
//! backups with WAL archiving, or a standby); these functions refuse it.
//!
//! `serve --backup-dir` takes backups on a schedule ([`spawn_schedule`]),
//! keeps the newest few, and shows the last good one's age in `/metrics`.
//! Either way the backup opens a connection of its own and runs in the
//! kernel's idle scheduling class, so that the sales keep their latency.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::Connection as _;

use crate::cards::pin::{self, PinKey};
use crate::db::Conn;
use crate::time::Clock;

/// What an operator of a PostgreSQL database is told instead.
const POSTGRES_HAS_ITS_OWN: &str = "backup and restore copy a SQLite database; a PostgreSQL \
    database is backed up with PostgreSQL's own tools: pg_dump (restored with pg_restore), or \
    base backups with WAL archiving, or a standby server";

/// The SQLite file a `--db` value names (a path, `sqlite://path` or
/// `sqlite:path`, with or without query parameters). A PostgreSQL URL is
/// refused with where its backups come from.
pub fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!("{POSTGRES_HAS_ITS_OWN}");
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        bail!("{url:?} names no database file");
    }
    Ok(PathBuf::from(path))
}

/// Opens one connection to a SQLite file (`mode` `ro` or `rw`: never
/// creates one), waiting `busy_ms` for a lock. The path is
/// percent-encoded where sqlx would read it as part of the URL.
async fn open(path: &Path, mode: &str, busy_ms: u32) -> anyhow::Result<Conn> {
    sqlx::any::install_default_drivers();
    let text = path
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
    let encoded = text
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    let mut conn = Conn::connect(&format!("sqlite://{encoded}?mode={mode}"))
        .await
        .with_context(|| format!("opening the SQLite database {}", path.display()))?;
    sqlx::query(&format!("PRAGMA busy_timeout = {busy_ms}"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Opens a live SQLite database to back it up beside a running server:
/// read and write access, as a reader of a WAL database needs, but
/// nothing is written.
async fn open_live(path: &Path) -> anyhow::Result<Conn> {
    if !path.is_file() {
        bail!("there is no database at {}", path.display());
    }
    open(path, "rw", 10_000).await
}

/// Whether the copy's PINs can be checked with the key given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// The copy records the check value of the key given.
    Matches,
    /// The copy records no key (no server has started on it with PINs).
    NotRecorded,
}

/// What the checks of a copy found; every check passed, or there is no
/// `Verified`.
#[derive(Debug)]
pub struct Verified {
    /// The ledger check's counts (`PRAGMA integrity_check` answered `ok`
    /// and every invariant of the ledger held).
    pub accounts: i64,
    pub transfers: i64,
    pub key: KeyCheck,
    /// The copy's chip records were made under issuer keys, which live in a
    /// file of their own and must be kept with the backup too.
    pub issuer_keys: bool,
    /// The newest ledger transfer or audit record in the copy, in
    /// microseconds of the service's clock; `None` in an empty database.
    pub newest_record_us: Option<i64>,
    pub seconds: f64,
}

/// A backup written and verified.
#[derive(Debug)]
pub struct Report {
    pub path: PathBuf,
    pub bytes: u64,
    /// The copy (`VACUUM INTO` and its sync).
    pub copy_seconds: f64,
    pub checks: Verified,
}

/// A backup put in place of a database.
#[derive(Debug)]
pub struct Restored {
    pub from: PathBuf,
    pub to: PathBuf,
    pub bytes: u64,
    pub checks: Verified,
    /// The database the backup replaced, when there was one.
    pub replaced: Option<Replaced>,
}

/// The database a restore replaced.
#[derive(Debug)]
pub struct Replaced {
    /// Its newest record (`None`: it had none, or, forced, it could not
    /// be read).
    pub newest_record_us: Option<i64>,
}

/// The newest ledger transfer or audit record: every write the service
/// makes leaves an audit record in its transaction, and every movement of
/// money a transfer. Read by the newest ids, so it costs two index steps
/// however large the database.
async fn newest_record(conn: &mut Conn) -> anyhow::Result<Option<i64>> {
    let mut newest = None;
    for sql in [
        "SELECT created_at FROM transfers ORDER BY id DESC LIMIT 1",
        "SELECT created_at FROM audit_log ORDER BY id DESC LIMIT 1",
    ] {
        let at: Option<i64> = sqlx::query_scalar(sql).fetch_optional(&mut *conn).await?;
        newest = newest.max(at);
    }
    Ok(newest)
}

/// An instant of the service's clock for a message.
pub fn when(us: Option<i64>) -> String {
    us.and_then(chrono::DateTime::from_timestamp_micros)
        .map_or_else(
            || "no records".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

/// Runs the checks on a copy (opened read-only): SQLite's integrity check,
/// the ledger's invariants, and the PIN key's check value.
pub async fn verify(path: &Path, key: &PinKey) -> anyhow::Result<Verified> {
    let started = Instant::now();
    let mut conn = open(path, "ro", 10_000).await?;
    let outcome = checks(&mut conn, key).await;
    let _ = conn.close().await;
    let mut verified = outcome?;
    verified.seconds = started.elapsed().as_secs_f64();
    Ok(verified)
}

async fn checks(conn: &mut Conn, key: &PinKey) -> anyhow::Result<Verified> {
    let answers: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .context("running SQLite's integrity check")?;
    if answers != ["ok"] {
        bail!(
            "the copy fails SQLite's integrity check: {}",
            answers
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let ledger = crate::ledger::check::run(conn)
        .await
        .map_err(anyhow::Error::from)
        .context("running the ledger check")?;
    if let Some(first) = ledger.mismatches.first() {
        bail!(
            "the copy fails the ledger check: {} problems, the first: {}: {}",
            ledger.mismatches.len(),
            first.account,
            first.problem
        );
    }
    let key_check = match pin::recorded_check(conn)
        .await
        .map_err(anyhow::Error::from)?
    {
        Some(recorded) if recorded == key.check_value() => KeyCheck::Matches,
        Some(_) => bail!(
            "the PIN key given is not the key this database's card PINs were set up under \
             (its check value differs from the one the database records): with this key file \
             the backup would refuse every PIN; give the key file the server runs with \
             (--key-file) or set FUELCARD_PIN_KEY to its key"
        ),
        None => KeyCheck::NotRecorded,
    };
    let issuer_keys = sqlx::query("SELECT 1 AS one FROM key_checks WHERE name = 'issuer'")
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    Ok(Verified {
        accounts: ledger.accounts,
        transfers: ledger.transfers,
        key: key_check,
        issuer_keys,
        newest_record_us: newest_record(conn).await?,
        seconds: 0.0,
    })
}

/// The directory a file goes in, and its name. A relative directory is
/// spelled with a leading `./`, so that SQLite never reads a path as a
/// `file:` URI.
fn place(path: &Path) -> anyhow::Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} names no file", path.display()))?
        .to_string();
    let dir = path.parent().unwrap_or(Path::new(""));
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        Path::new(".").join(dir)
    };
    if !dir.is_dir() {
        bail!("the directory {} does not exist", dir.display());
    }
    Ok((dir, name))
}

/// Flushes a file to the disk.
async fn sync_file(path: &Path) -> anyhow::Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&path)?.sync_all())
        .await
        .context("syncing a file")?
        .context("syncing the copy to the disk")
}

/// Flushes the copy to the disk over and over while SQLite writes it
/// (until dropped). SQLite does not flush the file `VACUUM INTO` writes,
/// and a copy flushed only at its end sends hundreds of megabytes to the
/// disk at once, with every sale's own flush queued behind them: a 400 MB
/// copy held sales up to 160 ms. Flushed as it grows, each flush is small.
/// A flush that fails is left to the final one to report.
async fn flush_while_written(path: &Path) -> std::convert::Infallible {
    let mut file = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if file.is_none() {
            file = std::fs::File::open(path).ok().map(std::sync::Arc::new);
        }
        if let Some(file) = &file {
            let file = file.clone();
            let _ = tokio::task::spawn_blocking(move || file.sync_data()).await;
        }
    }
}

/// Renames `from` to `to` in `dir` and flushes the directory, so the new
/// name survives a power cut.
fn put_in_place(from: &Path, to: &Path, dir: &Path) -> anyhow::Result<()> {
    std::fs::rename(from, to).with_context(|| format!("renaming the copy to {}", to.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing the directory {}", dir.display()))
}

/// Backs up the SQLite database at `database` to `to`, while a server
/// may be selling on it: a consistent copy written beside `to` under a
/// temporary name, synced, checked ([`verify`], with `key`, the PIN key the
/// service runs with) and renamed to `to` (replacing a file there) only
/// once every check passed. On any failure the copy is deleted and `to` is
/// left as it was. The work runs in the idle scheduling class
/// ([`in_background`]).
pub async fn backup(database: &Path, to: &Path, key: &PinKey) -> anyhow::Result<Report> {
    let (database, to, key) = (database.to_path_buf(), to.to_path_buf(), key.clone());
    in_background(async move {
        let mut conn = open_live(&database).await?;
        let report = copy_and_check(&mut conn, &to, &key).await;
        let _ = conn.close().await;
        report
    })
    .await
}

/// Runs a backup on a thread of its own in the kernel's idle scheduling
/// class, with a runtime of its own. The threads it starts inherit the
/// class — SQLite's connection thread above all, where the copy and the
/// checks run — so the backup runs on CPU time the service does not want,
/// and a sale's thread that wakes takes the core from it at once: on two
/// cores, with sales at 200 a second, checking a million cards at normal
/// priority raised the sales' p99 2.2-fold, in the idle class 1.3-fold.
/// The class still gets a sliver of a saturated CPU, so the backup ends,
/// if slowly, rather than hold its read transaction (and the write-ahead
/// log growing behind it) for ever.
async fn in_background<T: Send + 'static>(
    work: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("fuelcard-backup".into())
        .spawn(move || {
            crate::idle::lowest_priority("the backup");
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(work));
            let _ = answer.send(outcome);
        })
        .context("starting the backup's thread")?;
    answered.await.context("the backup's thread stopped")?
}

/// [`backup`]'s work on its connection.
async fn copy_and_check(conn: &mut Conn, to: &Path, key: &PinKey) -> anyhow::Result<Report> {
    let (dir, name) = place(to)?;
    let source: String =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&mut *conn)
            .await?;
    if to.exists() && std::fs::canonicalize(to)? == std::fs::canonicalize(&source)? {
        bail!(
            "{} is the database itself: back it up to another file",
            to.display()
        );
    }
    let temp = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
    let temp_text = temp
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", temp.display()))?
        .to_string();
    let outcome = async {
        let started = Instant::now();
        let copying = sqlx::query("VACUUM INTO $1")
            .bind(&temp_text)
            .execute(&mut *conn);
        tokio::select! {
            copied = copying => copied.context("copying the database (VACUUM INTO)")?,
            never = flush_while_written(&temp) => match never {},
        };
        sync_file(&temp).await?;
        let copy_seconds = started.elapsed().as_secs_f64();
        let checks = verify(&temp, key).await?;
        let bytes = std::fs::metadata(&temp)?.len();
        put_in_place(&temp, to, &dir)?;
        Ok(Report {
            path: to.to_path_buf(),
            bytes,
            copy_seconds,
            checks,
        })
    }
    .await;
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    outcome
}

/// True when SQLite answered that another connection holds the lock.
fn is_locked(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.code().is_some_and(|c| c.parse::<i64>().is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6)))
}

/// The newest record of the database at `path`, read with an exclusive
/// lock that also proves no server has it open: a server's connections
/// keep a shared lock on a WAL database for as long as they are open.
/// Closing the connection folds its write-ahead log into the file. A
/// database that cannot be read (not a fuelcard database, or damaged) is
/// an error, or with `force` counts as having no records.
async fn newest_of_idle(path: &Path, force: bool) -> anyhow::Result<Option<i64>> {
    let mut conn = open(path, "rw", 0).await?;
    let read = async {
        sqlx::query("PRAGMA locking_mode = EXCLUSIVE")
            .execute(&mut conn)
            .await?;
        sqlx::query("SELECT COUNT(*) FROM sqlite_master")
            .fetch_one(&mut conn)
            .await?;
        newest_record(&mut conn).await
    }
    .await;
    let _ = conn.close().await;
    match read {
        Ok(newest) => Ok(newest),
        Err(e) if e.downcast_ref::<sqlx::Error>().is_some_and(is_locked) => bail!(
            "{} is in use (a running fuelcard serve, or another tool, has it open): stop the \
             server first, then restore",
            path.display()
        ),
        Err(_) if force => Ok(None),
        Err(e) => Err(e.context(format!(
            "cannot read the newest record of {}, so cannot tell whether the backup is older; \
             add --force to replace it anyway",
            path.display()
        ))),
    }
}

/// Puts the backup `from` in place of the SQLite database `to`. The backup
/// is copied beside `to` under a temporary name, synced and verified
/// ([`verify`]; `key` is the key the restored service will run with). A
/// database already at `to` must not be open anywhere (stop the server
/// first), and is replaced only if its newest record is not newer than the
/// backup's, or with `force`. The copy is then renamed over `to`.
pub async fn restore(
    from: &Path,
    to: &Path,
    key: &PinKey,
    force: bool,
) -> anyhow::Result<Restored> {
    if !from.is_file() {
        bail!("there is no backup at {}", from.display());
    }
    if sidecar(from, "-wal").exists() {
        bail!(
            "{} has a write-ahead log beside it: it is a live database, not a backup; take a \
             backup of it with fuelcard backup",
            from.display()
        );
    }
    if to.exists() && std::fs::canonicalize(from)? == std::fs::canonicalize(to)? {
        bail!("{} is the database itself", from.display());
    }
    let (dir, name) = place(to)?;
    let temp = dir.join(format!(
        ".{name}.{}.restoring",
        uuid::Uuid::new_v4().simple()
    ));
    let outcome = async {
        let bytes = tokio::fs::copy(from, &temp)
            .await
            .with_context(|| format!("copying {} beside {}", from.display(), to.display()))?;
        sync_file(&temp).await?;
        let checks = verify(&temp, key)
            .await
            .with_context(|| format!("the backup {} fails its checks", from.display()))?;
        let replaced = if to.exists() {
            let newest = newest_of_idle(to, force).await?;
            if newest > checks.newest_record_us && !force {
                bail!(
                    "{} has records up to {}, newer than the backup's newest, {}: restoring \
                     would lose everything after it; add --force to restore anyway (back the \
                     database up first)",
                    to.display(),
                    when(newest),
                    when(checks.newest_record_us)
                );
            }
            Some(Replaced {
                newest_record_us: newest,
            })
        } else {
            None
        };
        // Closing the last connection removed the log of a readable
        // database; one here now means something opened it since, or,
        // forced, it belongs to the database being replaced.
        let wal = sidecar(to, "-wal");
        if wal.exists() && !force {
            bail!(
                "{} is in use (its write-ahead log is there): stop the server first",
                to.display()
            );
        }
        for stale in [wal, sidecar(to, "-shm")] {
            if stale.exists() {
                std::fs::remove_file(&stale)
                    .with_context(|| format!("removing the stale {}", stale.display()))?;
            }
        }
        put_in_place(&temp, to, &dir)?;
        Ok(Restored {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            bytes,
            checks,
            replaced,
        })
    }
    .await;
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    outcome
}

/// SQLite's file beside a database (`-wal`, `-shm`).
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads a `--backup-every` value: a whole number and a unit, `s`, `m`,
/// `h` or `d` (`30s`, `15m`, `1h`, `1d`); at least a second.
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: give a unit, s, m, h or d (e.g. 1h)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: a whole number and a unit, e.g. 30m or 1h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    match n.checked_mul(seconds) {
        Some(0) => Err("backups need at least a second between them".into()),
        Some(s) => Ok(Duration::from_secs(s)),
        None => Err(format!("{text:?} is too long")),
    }
}

/// What the scheduled backups' files are called: `fuelcard-` and the
/// instant the backup began (UTC, to the millisecond, on the service's
/// clock), so that names sort as times and rotation can tell its own
/// files from anything else in the directory.
const PREFIX: &str = "fuelcard-";
const SUFFIX: &str = "Z.db";
const STAMP: &str = "%Y%m%dT%H%M%S%.3f";

/// The file name of a scheduled backup begun at `now_us`.
pub fn file_name(now_us: i64) -> String {
    let at = chrono::DateTime::from_timestamp_micros(now_us).unwrap_or_default();
    format!("{PREFIX}{}{SUFFIX}", at.format(STAMP))
}

/// When the scheduled backup of this name began; `None` for any other file.
fn taken_at(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, STAMP).ok()?;
    Some(at.and_utc().timestamp_micros())
}

/// The scheduled backups to delete so that the newest `keep` remain,
/// oldest first; other files are never named.
pub fn to_delete(names: &[String], keep: usize) -> Vec<String> {
    let mut ours: Vec<(i64, &String)> = names
        .iter()
        .filter_map(|n| taken_at(n).map(|at| (at, n)))
        .collect();
    ours.sort();
    let surplus = ours.len().saturating_sub(keep);
    ours.into_iter()
        .take(surplus)
        .map(|(_, n)| n.clone())
        .collect()
}

/// The names of the files in a directory.
fn names_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Where and how often `serve` backs up, and how many it keeps.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The SQLite file backed up.
    pub database: PathBuf,
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

/// When the last good scheduled backup began (service clock, µs);
/// `i64::MIN` before there is one. One per process, as the metrics are.
static LAST_SUCCESS_US: AtomicI64 = AtomicI64::new(i64::MIN);

fn record_success(began_us: i64) {
    LAST_SUCCESS_US.store(began_us, Ordering::Relaxed);
    metrics::gauge!("fuelcard_backup_last_success_timestamp_seconds").set(began_us as f64 / 1e6);
}

/// Sets `fuelcard_backup_age_seconds`, the time since the last good
/// scheduled backup began, as `/metrics` is read; nothing before there is
/// one (the failures counter then tells why).
pub fn publish_age(now_us: i64) {
    let last = LAST_SUCCESS_US.load(Ordering::Relaxed);
    if last != i64::MIN {
        metrics::gauge!("fuelcard_backup_age_seconds")
            .set(now_us.saturating_sub(last) as f64 / 1e6);
    }
}

/// Backs up the database every `schedule.every` (the first at once) into
/// `schedule.dir`, named by [`file_name`], then deletes the oldest of its
/// own files beyond `schedule.keep`. A failure is logged as an error and
/// counted in `fuelcard_backup_failures_total`, and the age of the last
/// good backup keeps growing in `/metrics`. The newest backup already in
/// the directory counts as the last good one at start, so the age is right
/// across restarts. The directory is made when missing.
pub fn spawn_schedule(key: PinKey, schedule: Schedule, clock: Clock) -> anyhow::Result<()> {
    std::fs::create_dir_all(&schedule.dir)
        .with_context(|| format!("--backup-dir: creating {}", schedule.dir.display()))?;
    if let Some(newest) = names_in(&schedule.dir)?
        .iter()
        .filter_map(|n| taken_at(n))
        .max()
    {
        record_success(newest);
    }
    metrics::counter!("fuelcard_backup_failures_total").increment(0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(schedule.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let began = clock.now_us();
            let to = schedule.dir.join(file_name(began));
            match backup(&schedule.database, &to, &key).await {
                Ok(report) => {
                    record_success(began);
                    metrics::gauge!("fuelcard_backup_duration_seconds")
                        .set(report.copy_seconds + report.checks.seconds);
                    tracing::info!(
                        path = %report.path.display(),
                        bytes = report.bytes,
                        seconds = report.copy_seconds + report.checks.seconds,
                        "backup taken and verified"
                    );
                    rotate(&schedule);
                }
                Err(e) => {
                    metrics::counter!("fuelcard_backup_failures_total").increment(1);
                    tracing::error!(
                        error = format!("{e:#}"),
                        to = %to.display(),
                        "the scheduled backup failed; the last good one stands"
                    );
                }
            }
        }
    });
    Ok(())
}

/// Deletes the scheduled backups beyond the newest `keep`.
fn rotate(schedule: &Schedule) {
    let names = match names_in(&schedule.dir) {
        Ok(names) => names,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "cannot list the backups to rotate"
            );
            return;
        }
    };
    for name in to_delete(&names, schedule.keep) {
        let path = schedule.dir.join(&name);
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::error!(%e, path = %path.display(), "cannot delete an old backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_every("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_every("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_every("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_every("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_every(" 2d "), Ok(Duration::from_secs(172_800)));
        for wrong in ["", "1", "h", "1.5h", "1 h", "-1h", "1w", "0s", "1hm"] {
            assert!(parse_every(wrong).is_err(), "{wrong:?} accepted");
        }
        assert!(parse_every("99999999999999999999d").is_err());
    }

    #[test]
    fn names_sort_as_times_and_read_back() {
        let us = 1_794_967_200_123_456; // 2026-11-18T02:00:00.123456Z
        let name = file_name(us);
        assert_eq!(name, "fuelcard-20261118T020000.123Z.db");
        assert_eq!(taken_at(&name), Some(us - 456));
        assert!(file_name(us) < file_name(us + 1_000));
        assert_eq!(taken_at("fuelcard.db"), None);
        assert_eq!(taken_at("fuelcard-20261118T020000.123Z.db.partial"), None);
        assert_eq!(taken_at("fuelcard-notatime.123Z.db"), None);
    }

    #[test]
    fn rotation_keeps_the_newest_and_touches_nothing_else() {
        let names: Vec<String> = [
            "fuelcard-20261118T030000.000Z.db",
            "notes.txt",
            "fuelcard-20261118T010000.000Z.db",
            ".fuelcard-20261118T040000.000Z.db.0123.partial",
            "fuelcard-20261118T020000.000Z.db",
            "fuelcard.db",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            to_delete(&names, 1),
            [
                "fuelcard-20261118T010000.000Z.db",
                "fuelcard-20261118T020000.000Z.db"
            ]
        );
        assert_eq!(to_delete(&names, 2), ["fuelcard-20261118T010000.000Z.db"]);
        assert!(to_delete(&names, 3).is_empty());
        assert!(to_delete(&names, 48).is_empty());
    }

    #[test]
    fn database_urls_name_their_file() {
        assert_eq!(
            sqlite_file("fuelcard.db").ok(),
            Some(PathBuf::from("fuelcard.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/fc.db?mode=rwc").ok(),
            Some(PathBuf::from("/var/lib/fc.db"))
        );
        assert_eq!(sqlite_file("sqlite:x.db").ok(), Some(PathBuf::from("x.db")));
        let refused = sqlite_file("postgres://h/db").expect_err("refused");
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
    }
}
