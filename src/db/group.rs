//! Group commit for SQLite.
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for
//! an fsync of the write-ahead log — on a station PC or a virtual disk that
//! fsync is most of a sale's time under the write lock. Requests that queue
//! for the writer therefore share one transaction: each runs inside its own
//! savepoint (a refused request rolls back to it and leaves the others
//! alone), and the transaction commits when nobody else is waiting, or when
//! the batch is full. No request answers before the commit that holds its
//! work has reached the disk, so an acknowledged sale still survives a power
//! cut; if that commit fails, every request in the batch answers
//! `database_unavailable` and its client retries with the same idempotency
//! key. PostgreSQL needs none of this: its backends already share WAL
//! flushes.
//!
//! A request that dies mid-work (a panic) drops its [`Slot`]: the batch
//! rolls back and the rest of it is told so. Handlers run to completion even
//! when their client disconnects (see `http::run_to_completion`), so a slot
//! is not dropped merely because a connection closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::{Conn, Tx};

/// The most requests one commit carries; bounds how long a request that
/// joined a batch early waits for the ones behind it.
const MAX_BATCH: usize = 64;

/// How long a finished request waits for its batch's commit before it
/// commits the batch itself. Only reached if the request that should have
/// committed vanished; normally a batch commits within milliseconds.
const STALL: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Group {
    inner: Arc<Inner>,
}

struct Inner {
    /// The single write connection's pool.
    pool: AnyPool,
    batch: Arc<Mutex<Batch>>,
    /// Requests queued for the batch lock: while any are, the holder leaves
    /// the transaction open for them instead of committing.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct Batch {
    /// The open transaction between requests, `None` when there is none.
    tx: Option<Tx>,
    /// Those whose work is in the open transaction, told whether it
    /// committed.
    members: Vec<oneshot::Sender<bool>>,
    /// Counts finished batches, so a waiting request knows whether its
    /// batch is still open.
    generation: u64,
}

impl Batch {
    async fn commit(&mut self, tx: Tx) {
        let size = self.members.len();
        let committed = tx.commit().await;
        if let Err(e) = &committed {
            tracing::error!(%e, size, "a group commit failed; its requests answer database_unavailable");
        }
        metrics::histogram!("sqlite_group_commit_size").record(size as f64);
        self.end(committed.is_ok());
    }

    fn end(&mut self, committed: bool) {
        for member in self.members.drain(..) {
            // A member that is gone no longer needs the answer.
            let _ = member.send(committed);
        }
        self.generation += 1;
    }
}

/// A request's place in the open transaction: it holds the write lock
/// from [`Group::enter`] until [`Slot::finish`].
pub struct Slot {
    guard: OwnedMutexGuard<Batch>,
    /// `Some` while the request works.
    tx: Option<Tx>,
    group: Group,
}

impl Group {
    pub fn new(pool: AnyPool) -> Group {
        Group {
            inner: Arc::new(Inner {
                pool,
                batch: Arc::new(Mutex::new(Batch::default())),
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// Waits for the writer, joins the open transaction (or begins one) and
    /// opens the request's savepoint.
    pub async fn enter(&self) -> Result<Slot, sqlx::Error> {
        let mut guard = {
            let _queued = Queued::new(&self.inner.waiting);
            self.inner.batch.clone().lock_owned().await
        };
        let mut tx = match guard.tx.take() {
            Some(tx) => tx,
            None => self.inner.pool.begin_with("BEGIN IMMEDIATE").await?,
        };
        if let Err(e) = sqlx::query("SAVEPOINT request").execute(&mut *tx).await {
            drop(tx);
            guard.end(false);
            return Err(e);
        }
        Ok(Slot {
            guard,
            tx: Some(tx),
            group: self.clone(),
        })
    }
}

impl Slot {
    /// The connection to do the request's work on.
    pub fn conn(&mut self) -> Result<&mut Conn, sqlx::Error> {
        match self.tx.as_mut() {
            Some(tx) => Ok(&mut **tx),
            None => Err(abandoned()),
        }
    }

    /// Keeps the request's work (`keep`) or rolls it back, hands the
    /// transaction on or commits it, and waits until the commit that holds
    /// this request has ended. `Err` means nothing of the request stayed.
    pub async fn finish(mut self, keep: bool) -> Result<(), sqlx::Error> {
        let Some(mut tx) = self.tx.take() else {
            return Err(abandoned());
        };
        let closed = async {
            if !keep {
                sqlx::query("ROLLBACK TO SAVEPOINT request")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("RELEASE SAVEPOINT request")
                .execute(&mut *tx)
                .await
        }
        .await;
        if let Err(e) = closed {
            drop(tx);
            self.guard.end(false);
            return Err(e);
        }
        let (member, outcome) = oneshot::channel();
        self.guard.members.push(member);
        let generation = self.guard.generation;
        let alone = self.group.inner.waiting.load(Ordering::Acquire) == 0;
        if alone || self.guard.members.len() >= MAX_BATCH {
            self.guard.commit(tx).await;
        } else {
            self.guard.tx = Some(tx);
        }
        let group = self.group.clone();
        drop(self);
        group.outcome(generation, outcome).await
    }
}

impl Group {
    async fn outcome(
        &self,
        generation: u64,
        mut outcome: oneshot::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        loop {
            match tokio::time::timeout(STALL, &mut outcome).await {
                Ok(Ok(true)) => return Ok(()),
                Ok(_) => return Err(abandoned()),
                Err(_) => {
                    let mut batch = self.inner.batch.lock().await;
                    if batch.generation == generation {
                        if let Some(tx) = batch.tx.take() {
                            tracing::warn!("a group commit stalled; committing it from a member");
                            batch.commit(tx).await;
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Slot {
    /// A slot dropped before [`Slot::finish`] (its request panicked): the
    /// transaction rolls back as `tx` drops, and the batch is told.
    fn drop(&mut self) {
        if self.tx.take().is_some() {
            self.guard.end(false);
        }
    }
}

/// The error a request sees when the transaction that held its work did not
/// commit; it maps to `database_unavailable`, so the client retries.
fn abandoned() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(
        "the shared transaction did not commit",
    ))
}

/// Counts a request as waiting for the batch lock while it exists.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Queued(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
