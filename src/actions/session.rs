//! Sessions: logging in, logging out and finding the user of a session's
//! token — shared by the API and the pages (a password change is
//! [`super::users::change_password`]).
//!
//! A login is guarded before it touches a password: a place among the few
//! logins worked on at once ([`throttle::login_slot`]), then the guessing
//! limits ([`throttle`]), read first without writing and then taken and
//! committed on their own. The password is compared (a deliberately slow
//! hash) while no database connection is held, so a flood of logins never
//! keeps the connections the sales need.

use std::net::IpAddr;

use super::App;
use crate::auth::{Actor, sessions, throttle, users};
use crate::error::{AppError, AppResult, Code};

/// The longest token a session may have; anything longer is refused
/// without a look in the database.
const MAX_TOKEN_LEN: usize = 128;

/// Checks a password and opens a session: the user and the session's
/// token. The guess is counted ([`throttle::take`]) and committed before
/// the password is compared; a success gives it back.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    address: Option<IpAddr>,
) -> AppResult<(Actor, String)> {
    let now = app.now();
    let _slot = throttle::login_slot()?;
    let counters = throttle::login(username, address);
    let mut conn = app.db.pool().acquire().await?;
    throttle::waiting(&mut conn, &counters, now).await?;
    drop(conn);
    let mut tx = app.db.begin_write().await?;
    throttle::take(&mut tx, &counters, now).await?;
    tx.commit().await?;
    // The hashing holds no connection: `authenticate` reads the user on
    // the pool and gives the connection back before it compares.
    let actor = users::authenticate(app.db.pool(), username.trim(), password).await?;
    let mut tx = app.db.begin_write().await?;
    throttle::succeeded(&mut tx, &counters).await?;
    let token = sessions::create(&mut tx, actor.user_id, now, app.settings.sessions).await?;
    actor
        .audit(
            &mut tx,
            now,
            "login",
            &actor.username,
            serde_json::json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok((actor, token))
}

/// Ends the session of `token`, if one was sent (logging out twice is no
/// error).
pub async fn logout(app: &App, token: Option<&str>) -> AppResult<()> {
    if let Some(token) = token {
        let mut conn = app.db.pool().acquire().await?;
        sessions::end(&mut conn, token).await?;
    }
    Ok(())
}

/// The user of a live session's token (its last use written down, at most
/// once a minute); refused `unauthorized` when the token is not valid or
/// its session has ended.
pub async fn actor_of_token(app: &App, token: &str) -> AppResult<Actor> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AppError::new(Code::Unauthorized, "the token is not valid"));
    }
    let mut conn = app.db.pool().acquire().await?;
    sessions::lookup(&mut conn, token, app.now(), app.settings.sessions)
        .await?
        .ok_or_else(|| AppError::new(Code::Unauthorized, "the session has expired; log in again"))
}
