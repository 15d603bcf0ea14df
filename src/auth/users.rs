//! User accounts with argon2id password hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sqlx::Row;

use super::{Actor, Role};
use crate::db::{self, Conn};
use crate::error::{AppError, AppResult, Code};

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub station_id: Option<i64>,
    pub company_id: Option<i64>,
    pub merchant: Option<&'a str>,
    pub district: Option<&'a str>,
}

fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("hashing a password", e))
}

type HashJob = Box<dyn FnOnce() + Send>;

/// Passwords waiting to be hashed at most; more at once are turned away.
const HASH_QUEUE: usize = 256;

/// The password hashers: half the cores (at least one) of threads of their
/// own, fed through a bounded queue. A flood of logins then waits for its
/// share of the machine instead of taking all of it from the sales, and
/// argon2's 19 MiB of working memory lives in these few threads only.
fn hashers() -> &'static std::sync::mpsc::SyncSender<HashJob> {
    static QUEUE: std::sync::OnceLock<std::sync::mpsc::SyncSender<HashJob>> =
        std::sync::OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<HashJob>(HASH_QUEUE);
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 0..(cores / 2).max(1) {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    crate::idle::lowest_priority("password hashing");
                    loop {
                        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = started {
                tracing::error!(%e, "cannot start a password hashing thread");
            }
        }
        queue
    })
}

/// Runs argon2 (tens of milliseconds of CPU by design) on the
/// [`hashers`], so a flood of logins does not stall the workers that serve
/// sales. A full queue is answered at once as too busy.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = answer.send(work());
    });
    hashers().try_send(job).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => AppError::new(
            Code::RateLimited,
            "too many logins at once; try again in a moment",
        )
        .with("retry_after_seconds", 1),
        std::sync::mpsc::TrySendError::Disconnected(_) => {
            AppError::internal("the password hashers", "stopped")
        }
    })?;
    answered
        .await
        .map_err(|e| AppError::internal("a password hash task", e))?
}

/// A password is at least 8 characters (and at most 1,000, so hashing it
/// is bounded).
pub fn check_password(password: &str) -> AppResult<()> {
    if (8..=1000).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "password",
            "password: 8 to 1000 characters",
        ))
    }
}

/// Checks the scope a role needs before creating the user: a cashier needs
/// a station, a fleet manager a company, a merchant a merchant.
pub fn validate(user: &NewUser<'_>) -> AppResult<()> {
    let name_ok = (3..=64).contains(&user.username.len())
        && user
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        return Err(AppError::invalid(
            "username",
            "username: 3–64 letters, digits, '.', '_' or '-'",
        ));
    }
    check_password(user.password)?;
    let missing = match user.role {
        Role::Cashier | Role::StationManager if user.station_id.is_none() => {
            Some(("a station", "station"))
        }
        Role::FleetManager if user.company_id.is_none() => Some(("a company", "company_id")),
        Role::Merchant if user.merchant.is_none() => Some(("a merchant", "merchant")),
        Role::DistrictManager if user.district.is_none() => Some(("a district", "district")),
        _ => None,
    };
    if let Some((what, field)) = missing {
        return Err(AppError::invalid(
            field,
            format!("a {} must be given {what}", user.role.as_str()),
        ));
    }
    Ok(())
}

pub async fn create(conn: &mut Conn, user: &NewUser<'_>, now: i64) -> AppResult<i64> {
    validate(user)?;
    let password = user.password.to_string();
    let hash = off_the_workers(move || hash_password(&password)).await?;
    let row = sqlx::query(
        "INSERT INTO users (username, password_hash, role, station_id, company_id, merchant, \
         district, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user.username)
    .bind(hash)
    .bind(user.role.as_str())
    .bind(user.station_id)
    .bind(user.company_id)
    .bind(user.merchant)
    .bind(user.district)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            AppError::new(
                Code::Duplicate,
                format!("user {} already exists", user.username),
            )
        } else {
            e.into()
        }
    })?;
    Ok(row.try_get("id")?)
}

fn actor_from_row(row: &sqlx::any::AnyRow) -> AppResult<Actor> {
    let role: String = row.try_get("role")?;
    Ok(Actor {
        user_id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(&role)
            .ok_or_else(|| AppError::internal("user role", format!("unknown role {role}")))?,
        station_id: row.try_get("station_id")?,
        company_id: row.try_get("company_id")?,
        merchant: row.try_get("merchant")?,
        district: row.try_get("district")?,
        address: None,
    })
}

pub const ACTOR_COLUMNS: &str = "u.id, u.username, u.role, u.station_id, u.company_id, \
                                 u.merchant, u.district";

pub(crate) fn actor_of(row: &sqlx::any::AnyRow) -> AppResult<Actor> {
    actor_from_row(row)
}

/// Verifies a password. The same error for an unknown user and a wrong
/// password, and a hash computed either way, so neither is revealed. The
/// user is read on a connection given back before hashing, so logins
/// waiting for argon2 hold none of the connections the sales need.
pub async fn authenticate(
    pool: &sqlx::AnyPool,
    username: &str,
    password: &str,
) -> AppResult<Actor> {
    let row = sqlx::query(&format!(
        "SELECT {ACTOR_COLUMNS}, u.password_hash FROM users u \
         WHERE u.username = $1 AND u.active = 1"
    ))
    .bind(username)
    .fetch_optional(pool)
    .await?;
    let denied = || AppError::new(Code::InvalidCredentials, "wrong username or password");
    let password = password.to_string();
    let Some(row) = row else {
        off_the_workers(move || hash_password(&password)).await?;
        return Err(denied());
    };
    let stored: String = row.try_get("password_hash")?;
    let matches = off_the_workers(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| AppError::internal("stored password hash", e))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?;
    if !matches {
        return Err(denied());
    }
    actor_from_row(&row)
}

/// Sets a user's password (already checked by the caller).
pub async fn set_password(conn: &mut Conn, user_id: i64, password: &str) -> AppResult<()> {
    check_password(password)?;
    let password = password.to_string();
    let hash = off_the_workers(move || hash_password(&password)).await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deactivates a user: they can no longer log in, and their sessions end
/// (the caller's transaction deletes them). Returns the user's id, or
/// `None` when there is no active user of that name.
pub async fn deactivate(conn: &mut Conn, username: &str) -> AppResult<Option<i64>> {
    let row =
        sqlx::query("UPDATE users SET active = 0 WHERE username = $1 AND active = 1 RETURNING id")
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    super::sessions::end_all(conn, id, None).await?;
    Ok(Some(id))
}

/// A user as the administrator's list shows them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Listed {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// The station's code, for station staff.
    pub station: Option<String>,
    pub company_id: Option<i64>,
    pub merchant: Option<String>,
    pub district: Option<String>,
    pub active: bool,
}

/// The users of a role and a station (each when given), by username: at
/// most `limit` from `offset`.
pub async fn list(
    conn: &mut Conn,
    role: Option<Role>,
    station: Option<&str>,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<Listed>> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.role, s.code AS station, u.company_id, u.merchant, \
         u.district, u.active FROM users u LEFT JOIN stations s ON s.id = u.station_id \
         WHERE ($1 IS NULL OR u.role = $1) AND ($2 IS NULL OR s.code = $2) \
         ORDER BY u.username LIMIT $3 OFFSET $4",
    )
    .bind(role.map(Role::as_str))
    .bind(station)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get("role")?;
            let active: i64 = r.try_get("active")?;
            Ok(Listed {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                role: Role::parse(&role).ok_or_else(|| {
                    AppError::internal("user role", format!("unknown role {role}"))
                })?,
                station: r.try_get("station")?,
                company_id: r.try_get("company_id")?,
                merchant: r.try_get("merchant")?,
                district: r.try_get("district")?,
                active: active != 0,
            })
        })
        .collect()
}

/// The id of the active user of that name, if any.
pub async fn active_id(conn: &mut Conn, username: &str) -> AppResult<Option<i64>> {
    let row = sqlx::query("SELECT id FROM users WHERE username = $1 AND active = 1")
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("id").map_err(Into::into)).transpose()
}
