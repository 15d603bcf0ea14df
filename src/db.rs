//! Pools, migrations and the small layer that lets one query text serve
//! both backends.
//!
//! Every query goes through sqlx's `Any` driver: money is integer fen, times
//! are integer microseconds and flags are 0/1 integers, which is all `Any`
//! needs, and both SQLite and PostgreSQL accept `$1` placeholders. The places
//! where the dialects differ are named here and nowhere else: how a write
//! transaction begins, and which migration folder applies.
//!
//! A PostgreSQL URL may name several hosts, a primary and its standbys:
//! the pool then follows the one that accepts writes (`db/hosts.rs`).

use std::time::Duration;

use anyhow::Context as _;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor};

pub mod backup;
mod group;
mod hosts;

pub use group::{Group, Slot};

/// A transaction on either backend.
pub type Tx = sqlx::Transaction<'static, Any>;
/// A connection on either backend; store functions take this so the caller
/// owns the transaction.
pub type Conn = sqlx::AnyConnection;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// SQLite has one writer at a time. Write transactions queue for the
    /// single connection of this pool (a fair async queue) instead of
    /// polling SQLite's lock with busy-timeout sleeps, which under load
    /// wastes most of the time sleeping. `None` on PostgreSQL.
    write_pool: Option<AnyPool>,
    /// SQLite's group commit over `write_pool`; `None` on PostgreSQL.
    group: Option<Group>,
    backend: Backend,
}

/// Turns what an operator types (`fuelcard.db`, `sqlite://x.db`,
/// `postgres://…`) into a URL sqlx accepts. A SQLite file is created when
/// missing.
pub fn normalise_url(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url.to_string();
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.contains('?') {
        format!("sqlite://{path}")
    } else {
        format!("sqlite://{path}?mode=rwc")
    }
}

impl Db {
    /// Connects and configures the pool. SQLite gets WAL (readers never
    /// block the writer), `synchronous=FULL` (an acknowledged sale survives a
    /// power cut), a busy timeout and foreign keys; sqlx turns none of these
    /// on by itself through the `Any` driver. PostgreSQL with several hosts
    /// starts on the first that accepts writes and moves to another when
    /// that one goes away.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let url = normalise_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let target = match backend {
            Backend::Sqlite => hosts::Target {
                options: url
                    .parse()
                    .with_context(|| "the database URL is not valid".to_string())?,
                read_write: false,
                follower: None,
            },
            // One host or several (`host1,host2`): see `hosts`.
            Backend::Postgres => hosts::Target::find(&url).await?,
        };
        let read_write = target.read_write;
        let options = target.options;
        let pool_options = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size)
                // While the database is down, sqlx keeps retrying the
                // connection until this timeout: it is what a cashier waits
                // before hearing 503 `database_unavailable`, so it is short.
                .acquire_timeout(Duration::from_secs(3))
                // sqlx already pings every connection as it goes back to the
                // pool; a second ping as it comes out would add a round trip
                // to every request. One that died while idle fails its first
                // statement with an I/O error: 503, and the client retries.
                .test_before_acquire(false)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                                 PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                                 PRAGMA wal_autocheckpoint=0;",
                            )
                            .await?;
                        }
                        if read_write {
                            hosts::check_connection(conn).await?;
                        }
                        Ok(())
                    })
                })
        };
        let mut main_options = pool_options(max_connections);
        if let Some(follower) = &target.follower {
            main_options = follower.drop_old_connections(main_options);
        }
        let pool = main_options
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the {} database", backend.name()))?;
        if let Some(follower) = target.follower {
            follower.follow(pool.clone());
        }
        let write_pool = match backend {
            Backend::Sqlite => Some(
                pool_options(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .context("cannot open the SQLite database for writing")?,
            ),
            Backend::Postgres => None,
        };
        if backend == Backend::Sqlite {
            spawn_checkpointer(pool.clone());
        }
        Ok(Db {
            pool,
            group: write_pool.clone().map(Group::new),
            write_pool,
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads (and, on PostgreSQL, everything).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where request transactions share commits, on SQLite: see [`Group`].
    /// Work that talks to something outside the database between its
    /// statements (a card in a reader) uses [`Db::begin_write`] instead.
    pub fn group(&self) -> Option<&Group> {
        self.group.as_ref()
    }

    /// Whether the database answers (`SELECT 1`): the health check.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Closes every connection (the write pool too).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(w) = &self.write_pool {
            w.close().await;
        }
    }

    /// Applies the migrations of this backend; safe to run on every start.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            POSTGRES_MIGRATIONS
                .run(&self.pool)
                .await
                .context("migrating the database")?;
            return Ok(());
        }
        // SQLite's own recipe for rebuilding a table others refer to: the
        // migrating connection runs with foreign keys off (a migration runs
        // in a transaction, where the setting cannot change), and every
        // reference is checked once the migrations are done.
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let migrated = SQLITE_MIGRATIONS.run(&mut *conn).await;
        let dangling = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await?;
        migrated.context("migrating the database")?;
        if !dangling.is_empty() {
            anyhow::bail!(
                "after migrating, {} rows refer to rows that are not there",
                dangling.len()
            );
        }
        Ok(())
    }

    /// Begins a transaction that will write. On SQLite it takes the write
    /// lock up front (`BEGIN IMMEDIATE`): a deferred transaction that reads
    /// and then writes would fail with SQLITE_BUSY instead of waiting.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match &self.write_pool {
            Some(writer) => writer.begin_with("BEGIN IMMEDIATE").await,
            None => self.pool.begin().await,
        }
    }
}

/// Copies SQLite's write-ahead log into the database file every half
/// second, from a reading connection. Left to the writer (SQLite's
/// automatic checkpoint), that copy and its fsync would fall on whichever
/// sale happened to commit the thousandth page, a stall of tens of
/// milliseconds in the tail latency; a passive checkpoint never blocks the
/// writer. Stops when the pool closes.
fn spawn_checkpointer(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(%e, "WAL checkpoint");
            }
        }
    });
}

/// The pool size when none is given: 4 connections per CPU core. More
/// connections than the cores can serve only make PostgreSQL's backends and
/// the service's tasks take turns: on 2 cores, 8 connections sold 900–970
/// sales/s where 16 sold 750–820, and halved the p99.
pub fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 4).unwrap_or(32).clamp(4, 32)
}

/// The backend a connection talks to, for the few statements written per
/// dialect.
pub fn backend_of(conn: &Conn) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The clause that locks the rows a read returns until the transaction
/// ends, for reads that a write decision rests on: on PostgreSQL (READ
/// COMMITTED) another transaction could change them between the read and
/// the write; SQLite's write transactions run one at a time already.
pub fn for_update(conn: &Conn) -> &'static str {
    match backend_of(conn) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// The clause that keeps the rows a read returns from changing until the
/// transaction ends while letting others read them too: a booking holds its
/// shift open this way, so that closing the shift waits for the booking.
pub fn for_share(conn: &Conn) -> &'static str {
    match backend_of(conn) {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    }
}

/// True when a database error means the statement lost a race and the
/// whole transaction can be retried unchanged (PostgreSQL serialisation
/// failure or deadlock; SQLite busy past its timeout).
pub fn is_retryable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("40001") | Some("40P01") | Some("5") | Some("517")
        ),
        _ => false,
    }
}

/// True when the database itself cannot be reached right now: the service
/// answers 503 and the client may retry with the same idempotency key.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    ) || matches!(err, sqlx::Error::Database(db) if db.code().as_deref().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
}

/// True for a unique-constraint violation on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("23505") | Some("2067") | Some("1555")
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_url;

    #[test]
    fn plain_paths_become_sqlite_urls_that_create_the_file() {
        assert_eq!(
            normalise_url("fuelcard.db"),
            "sqlite://fuelcard.db?mode=rwc"
        );
        assert_eq!(normalise_url("sqlite://x.db"), "sqlite://x.db?mode=rwc");
        assert_eq!(
            normalise_url("sqlite:x.db?mode=ro"),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(normalise_url("postgres://h/db"), "postgres://h/db");
    }
}
