//! How an action's writes run: one write transaction, retried when it lost
//! a database race, and for money under the request's idempotency key.
//!
//! The work is a closure over the transaction's connection that borrows
//! the action's owned request ([`Work`]), so a retry runs the same values
//! again without copying them.

use std::future::Future;
use std::pin::Pin;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::App;
use crate::auth::Actor;
use crate::cards::pin::PinKey;
use crate::db::{self, Conn, Db};
use crate::error::{AppError, AppResult, Code};
use crate::ledger::idempotency::{self, Claim};

/// How many times a transaction that lost a race is run again.
const ATTEMPTS: usize = 3;

/// A money request's Idempotency-Key with the fingerprint of the request it
/// was first used for (so a key reused for another request is refused).
#[derive(Clone, Debug)]
pub struct Keyed {
    pub key: String,
    pub hash: String,
}

impl Keyed {
    /// A key for a request described by `method`, `path` and `body`: the
    /// pages describe their form values, the API its exact body bytes. The
    /// fingerprint is keyed with the service's secret ([`PinKey::fingerprint`]).
    pub fn new(secret: &PinKey, key: &str, method: &str, path: &str, body: &[u8]) -> Keyed {
        Keyed {
            key: key.trim().to_string(),
            hash: secret.fingerprint(&[method.as_bytes(), path.as_bytes(), body]),
        }
    }
}

/// The answer to a money request: the same for its first run and for every
/// replay of its key. The API sends the stored body; a page reads `value`.
#[derive(Debug)]
pub struct Done<R> {
    pub status: StatusCode,
    pub value: R,
    body: String,
}

impl<R> IntoResponse for Done<R> {
    fn into_response(self) -> Response {
        json_response(self.status, self.body)
    }
}

impl<R: Serialize> Done<R> {
    /// The answer of a first run, with the body it is sent (and stored) as.
    fn new(status: StatusCode, value: R) -> AppResult<Done<R>> {
        let body = serde_json::to_string(&value)
            .map_err(|e| AppError::internal("encoding a response", e))?;
        Ok(Done {
            status,
            value,
            body,
        })
    }
}

impl<R: DeserializeOwned> Done<R> {
    /// An answer read back from where it was stored.
    pub(crate) fn stored(status: StatusCode, body: String) -> AppResult<Done<R>> {
        let value = serde_json::from_str(&body)
            .map_err(|e| AppError::internal("reading a stored answer", e))?;
        Ok(Done {
            status,
            value,
            body,
        })
    }
}

pub fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A unit of work run inside a write transaction. It borrows the action's
/// values (its owned request, who asks and when) for as long as the
/// transaction lasts, so a retry runs the same values again without
/// copying them.
pub type Work<'c, R> = Pin<Box<dyn Future<Output = AppResult<R>> + Send + 'c>>;

/// Who runs a unit of work and the instant of the request, handed to the
/// work with its connection.
pub struct At<'a> {
    pub actor: &'a Actor,
    pub now: i64,
}

impl<'a> At<'a> {
    /// The actor, at the instant the service's clock reads now.
    fn of(app: &App, actor: &'a Actor) -> At<'a> {
        At {
            actor,
            now: app.now(),
        }
    }

    /// Records in the audit log, in the work's transaction, that the actor
    /// did `action` to `subject` at the request's instant.
    pub async fn audit(
        &self,
        conn: &mut Conn,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> AppResult<()> {
        self.actor
            .audit(conn, self.now, action, subject, detail)
            .await
    }
}

/// Runs `work` in one write transaction under the request's idempotency key:
/// a replay answers the stored response and changes nothing; a failure rolls
/// everything back (the key included, so a corrected retry may succeed); a
/// transaction that lost a database race is retried, and so is one whose
/// commit went unanswered, since the key makes a second run a replay.
pub async fn idempotent<'a, R>(
    app: &App,
    actor: &'a Actor,
    key: &Keyed,
    status: StatusCode,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let at = At::of(app, actor);
    keyed_only_at(&app.db, at, key, status, work).await
}

/// [`idempotent`] on a database and at an instant given directly.
async fn keyed_only_at<'a, R>(
    db: &Db,
    at: At<'a>,
    key: &Keyed,
    status: StatusCode,
    mut work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    keyed_at(
        db,
        at,
        key,
        status,
        move |conn, at| {
            let done = work(conn, at);
            Box::pin(async move { Ok((done.await?, ())) })
        },
        |_, ()| Box::pin(async { Ok(()) }),
    )
    .await
}

/// Like [`idempotent`], with a `last_step` that runs after the answer is
/// stored, just before the commit: the place for the write that locks a row
/// every request shares (a station's sales account), so that lock is held
/// for that one statement and the commit only.
pub async fn idempotent_then<'a, R, T>(
    app: &App,
    actor: &'a Actor,
    key: &Keyed,
    status: StatusCode,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, (R, T)> + Send,
    last_step: impl for<'c> Fn(&'c mut Conn, T) -> Work<'c, ()> + Send + Sync,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'a,
    T: Send + 'a,
{
    let at = At::of(app, actor);
    keyed_at(&app.db, at, key, status, work, last_step).await
}

/// [`idempotent_then`] on a database and at an instant given directly.
async fn keyed_at<'a, R, T>(
    db: &Db,
    at: At<'a>,
    key: &Keyed,
    status: StatusCode,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, (R, T)> + Send,
    last_step: impl for<'c> Fn(&'c mut Conn, T) -> Work<'c, ()> + Send + Sync,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'a,
    T: Send + 'a,
{
    if key.key.is_empty() || key.key.len() > idempotency::MAX_KEY_LEN {
        return Err(AppError::new(
            Code::IdempotencyKeyMissing,
            "money moves need an idempotency key of 1 to 128 characters",
        ));
    }
    let mut state = (Answer { key, status }, at, work, last_step);
    in_write_transaction(
        db,
        Unanswered::Retry,
        &mut state,
        |conn, (keyed, at, work, last_step)| Box::pin(keyed.run(conn, at, work, last_step)),
    )
    .await
}

/// What a keyed request answers, and under which key it is stored.
struct Answer<'k> {
    key: &'k Keyed,
    status: StatusCode,
}

impl Answer<'_> {
    /// Claims the key, runs the work and stores its answer, on one
    /// connection inside its transaction.
    async fn run<'a, R, T, F, L>(
        &self,
        conn: &mut Conn,
        at: &At<'a>,
        work: &mut F,
        last_step: &L,
    ) -> AppResult<Done<R>>
    where
        R: Serialize + DeserializeOwned,
        F: for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, (R, T)>,
        L: for<'c> Fn(&'c mut Conn, T) -> Work<'c, ()>,
    {
        let (key, user) = (&self.key.key, at.actor.user_id);
        if let Claim::Replay { status, body } =
            idempotency::claim(conn, key, user, &self.key.hash, at.now).await?
        {
            return Done::stored(status, body);
        }
        let (value, then) = work(conn, at).await?;
        let done = Done::new(self.status, value)?;
        idempotency::complete(conn, key, self.status, &done.body).await?;
        last_step(conn, then).await?;
        Ok(done)
    }
}

/// The stored answer of a completed earlier request under `key` by `user`,
/// if there is one: the money request is answered with it before its body
/// is even parsed. The run itself decides again under the key's claim.
pub async fn replayed(app: &App, key: &Keyed, user: i64) -> AppResult<Option<Response>> {
    let mut conn = app.db.pool().acquire().await?;
    Ok(
        match idempotency::earlier(&mut conn, &key.key, user, &key.hash).await? {
            Some(Claim::Replay { status, body }) => Some(json_response(status, body)),
            _ => None,
        },
    )
}

/// Runs `work` that creates a record: under the request's key when it sent
/// one (as [`idempotent`]: a retry gets the first answer, not a second
/// record), else [`once`].
pub async fn create<'a, R>(
    app: &App,
    actor: &'a Actor,
    key: Option<&Keyed>,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let at = At::of(app, actor);
    create_at(&app.db, at, key, work).await
}

/// [`create`] on a database and at an instant given directly, for the
/// console, which runs without the service.
pub async fn create_at<'a, R>(
    db: &Db,
    at: At<'a>,
    key: Option<&Keyed>,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<Done<R>>
where
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let status = StatusCode::CREATED;
    match key {
        Some(key) => keyed_only_at(db, at, key, status, work).await,
        None => Done::new(status, once_at(db, at, work).await?),
    }
}

/// Runs `work` in one write transaction without an idempotency key (writes
/// that move no money: opening a card, a price, a loss report). It is run
/// again only when the database refused it before the commit; a commit
/// whose outcome is unknown is not repeated blindly, it is answered as an
/// outage for the caller to look before trying again.
pub async fn once<'a, R>(
    app: &App,
    actor: &'a Actor,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<R> {
    let at = At::of(app, actor);
    once_at(&app.db, at, work).await
}

/// [`once`] on a database and at an instant given directly, for the
/// console, which runs without the service.
pub async fn once_at<'a, R>(
    db: &Db,
    at: At<'a>,
    work: impl for<'c> FnMut(&'c mut Conn, &'c At<'a>) -> Work<'c, R> + Send,
) -> AppResult<R> {
    let mut state = (at, work);
    in_write_transaction(db, Unanswered::Refuse, &mut state, |conn, (at, work)| {
        work(conn, at)
    })
    .await
}

/// What is done when a commit goes unanswered: the write may or may not
/// have landed.
#[derive(Clone, Copy)]
enum Unanswered {
    /// Run again: the idempotency key makes a second run a replay.
    Retry,
    /// Answered as an outage, for the caller to look before repeating it.
    Refuse,
}

/// Runs `attempt` on `state` in one write transaction (in the group
/// commit's slot when the database has one), and again after a short pause
/// when the database refused it or its commit as a lost race or an outage.
async fn in_write_transaction<S, R>(
    db: &Db,
    unanswered: Unanswered,
    state: &mut S,
    attempt: impl for<'c> Fn(&'c mut Conn, &'c mut S) -> Work<'c, R>,
) -> AppResult<R> {
    if let Some(group) = db.group() {
        let mut slot = group.enter().await?;
        let result = match slot.conn() {
            Ok(conn) => attempt(conn, state).await,
            Err(e) => Err(e.into()),
        };
        slot.finish(result.is_ok()).await?;
        return result;
    }
    let mut last = None;
    for n in 0..ATTEMPTS {
        pause(n).await;
        let mut tx = db.begin_write().await?;
        match attempt(&mut tx, state).await {
            Ok(result) => match (tx.commit().await, unanswered) {
                (Ok(()), _) => return Ok(result),
                (Err(e), Unanswered::Retry) => last = Some(retry_or_fail(AppError::from(e))?),
                (Err(e), Unanswered::Refuse) if db::is_retryable(&e) => {
                    last = Some(AppError::from(e))
                }
                (Err(e), Unanswered::Refuse) => return Err(unknown_outcome(e)),
            },
            Err(e) => last = Some(retry_or_fail(e)?),
        }
    }
    Err(gave_up(last))
}

/// A short, growing pause before each repeated attempt.
async fn pause(attempt: usize) {
    if attempt > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
    }
}

/// Keeps an outage or a lost race for another attempt; any other refusal
/// is the answer.
fn retry_or_fail(e: AppError) -> AppResult<AppError> {
    if e.code == Code::DatabaseUnavailable {
        Ok(e)
    } else {
        Err(e)
    }
}

fn gave_up(last: Option<AppError>) -> AppError {
    last.unwrap_or_else(|| AppError::new(Code::DatabaseUnavailable, "retry later"))
}

/// A commit that failed without the database saying it rolled back: the
/// write may or may not have landed.
fn unknown_outcome(e: sqlx::Error) -> AppError {
    tracing::warn!(%e, "commit outcome unknown");
    AppError::new(
        Code::DatabaseUnavailable,
        "the database did not confirm the change; look whether it was made before repeating it",
    )
}
