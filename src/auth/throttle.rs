//! Guessing limits: failed logins, wrong PINs and wrong ID documents, counted in the database
//! so that every server process of a network shares them and a restart
//! forgets nothing.
//!
//! Each guess is counted against several keys — a login against the
//! username from this address, the username from anywhere and the address;
//! a PIN against the user and the address — and each key earns a growing
//! wait ([`delay_after`]): the first few guesses are free, then the wait
//! doubles up to a quarter of an hour. A try is taken *before* the password
//! or PIN is compared, by one conditional update per key that lets a try
//! through only when its wait is over, so a burst of concurrent guesses
//! cannot slip past the count; a success gives the try back. The username
//! from anywhere has a threshold far above the per-address one, so that a
//! flood from one address (stopped by its own keys) does not lock the user
//! out from another address.
//!
//! The counts live in a table, not in memory: however many distinct names
//! are tried, the server's memory does not grow. Keys are length-limited,
//! and quiet keys are purged by the service's sweep.

use std::net::IpAddr;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};

/// A key is forgotten after this long without a guess.
pub const QUIET_US: i64 = 15 * 60 * 1_000_000;
/// The longest wait between guesses.
pub const MAX_DELAY_US: i64 = 15 * 60 * 1_000_000;
/// Keys are cut to this many bytes (on a character boundary).
const MAX_KEY: usize = 200;

/// One counter a guess is taken against: its key and how many guesses
/// are free before the waits begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub free: i64,
}

impl Counter {
    fn new(kind: &str, subject: &str, free: i64) -> Counter {
        let mut key = format!("{kind}:{subject}");
        if key.len() > MAX_KEY {
            let mut end = MAX_KEY;
            while !key.is_char_boundary(end) {
                end -= 1;
            }
            key.truncate(end);
        }
        Counter { key, free }
    }
}

/// The counters of a login attempt: the username from this address (5
/// free), the address whatever the username (20 free), and the username
/// from anywhere (100 free).
pub fn login(username: &str, address: Option<IpAddr>) -> Vec<Counter> {
    let name = username.trim().to_lowercase();
    let mut counters = vec![Counter::new("login-user", &name, 100)];
    if let Some(a) = address {
        counters.push(Counter::new("login-from", &format!("{name}@{a}"), 5));
        counters.push(Counter::new("login-address", &a.to_string(), 20));
    }
    counters
}

/// The counters of a PIN typed at a counter: the user (10 free, across all
/// cards: each card also locks itself after three) and the address.
pub fn pin(user_id: i64, address: Option<IpAddr>) -> Vec<Counter> {
    let mut counters = vec![Counter::new("pin-user", &user_id.to_string(), 10)];
    if let Some(a) = address {
        counters.push(Counter::new("pin-address", &a.to_string(), 20));
    }
    counters
}

/// What an ID document is compared against: the card whose holder it is
/// said to be, or (consent to share with partners) the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Card(i64),
    Customer(i64),
}

/// How many ID documents are compared for one card or customer before the
/// waits begin. The guess that uses the last free one is itself compared
/// and earns the first wait, so [`IDENTITY_COMPARED`] documents are
/// compared before a wait.
const IDENTITY_FREE: i64 = IDENTITY_COMPARED - 1;

/// At most this many identity documents are compared before a wait.
pub const IDENTITY_COMPARED: i64 = 5;

/// The counters of an ID document checked at a counter, taken like a PIN's:
/// the card (or customer) it is checked for (five compared before a wait),
/// the user (10 free, across all holders) and the address (20 free). A
/// document number is far easier to come by than a PIN, so the counter that
/// checks it must not be able to try one document after another.
pub fn identity(holder: Holder, user_id: i64, address: Option<IpAddr>) -> Vec<Counter> {
    let subject = match holder {
        Holder::Card(id) => format!("card:{id}"),
        Holder::Customer(id) => format!("customer:{id}"),
    };
    let mut counters = vec![
        Counter::new("identity-holder", &subject, IDENTITY_FREE),
        Counter::new("identity-user", &user_id.to_string(), 10),
    ];
    if let Some(a) = address {
        counters.push(Counter::new("identity-address", &a.to_string(), 20));
    }
    counters
}

/// Forgets the guesses counted against a card's or customer's documents:
/// head office, unlocking the card, starts it again from nothing (the
/// user's and the address's counts stay).
pub async fn forget_holder(conn: &mut Conn, holder: Holder) -> AppResult<()> {
    for c in identity(holder, 0, None).iter().take(1) {
        sqlx::query("DELETE FROM guesses WHERE key = $1")
            .bind(&c.key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The wait after the `n`-th guess of a key that allows `free` guesses:
/// none after the free ones, then one second, doubling up to the maximum.
pub fn delay_after(n: i64, free: i64) -> i64 {
    if n <= free {
        return 0;
    }
    let doublings = u32::try_from(n - free - 1).unwrap_or(u32::MAX).min(20);
    (1_000_000_i64 << doublings).min(MAX_DELAY_US)
}

/// The SQL expression of the next guess's moment after the guess being
/// counted (`tries + 1`, at `$2`), following [`delay_after`], so the wait
/// is set in the same statement that takes the guess. A free guess leaves
/// the moment where it was, so that guesses racing it with an instant a
/// little older are not held up by it.
fn next_at_sql(free: i64) -> String {
    let mut sql = format!("CASE WHEN tries + 1 <= {free} THEN next_at");
    let mut n = free + 1;
    loop {
        let d = delay_after(n, free);
        if d >= MAX_DELAY_US {
            sql.push_str(&format!(" ELSE $2 + {MAX_DELAY_US} END"));
            return sql;
        }
        sql.push_str(&format!(" WHEN tries + 1 = {n} THEN $2 + {d}"));
        n += 1;
    }
}

/// How many logins are worked on at once, whoever sends them; the rest are
/// turned away at once with `rate_limited`, before they touch the database.
/// However fast a flood arrives, it then holds a few of the database's
/// connections and never the ones the sales need.
const LOGINS_AT_ONCE: usize = 4;

/// A place among the logins worked on at once, held while one is.
pub fn login_slot() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LOGINS_AT_ONCE);
    SLOTS.try_acquire().map_err(|_| {
        AppError::new(
            Code::RateLimited,
            "too many logins at once; try again in a moment",
        )
        .with("retry_after_seconds", 1)
    })
}

/// Whether some counter still makes the guess wait, read without writing:
/// a flood of guesses that are held up anyway costs one read each, not a
/// write transaction that the sales would queue behind. [`take`] decides
/// under its conditional update either way.
pub async fn waiting(conn: &mut Conn, counters: &[Counter], now: i64) -> AppResult<()> {
    for c in counters {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT next_at FROM guesses WHERE key = $1 AND last_at > $2")
                .bind(&c.key)
                .bind(now - QUIET_US)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(next) = next.filter(|n| *n > now) {
            return Err(held_up(next, now));
        }
    }
    Ok(())
}

fn held_up(next: i64, now: i64) -> AppError {
    let seconds = ((next - now) / 1_000_000).max(1);
    AppError::new(
        Code::RateLimited,
        format!("too many failed attempts; try again in {seconds} seconds"),
    )
    .with("retry_after_seconds", seconds)
}

/// Takes a guess against every counter before the check runs; refused with
/// `rate_limited` (and how long to wait) when any counter's wait is not
/// over. Runs in the caller's transaction, which commits the count whatever
/// the check then says.
pub async fn take(conn: &mut Conn, counters: &[Counter], now: i64) -> AppResult<()> {
    for c in counters {
        sqlx::query(
            "INSERT INTO guesses (key, tries, next_at, last_at) VALUES ($1, 0, 0, $2) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&c.key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        // A key quiet for long enough starts again from nothing.
        sqlx::query("UPDATE guesses SET tries = 0, next_at = 0 WHERE key = $1 AND last_at <= $2")
            .bind(&c.key)
            .bind(now - QUIET_US)
            .execute(&mut *conn)
            .await?;
        let taken = sqlx::query(&format!(
            "UPDATE guesses SET next_at = {}, tries = tries + 1, last_at = $2 \
             WHERE key = $1 AND next_at <= $2 RETURNING tries",
            next_at_sql(c.free)
        ))
        .bind(&c.key)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if taken.is_none() {
            let next: i64 = sqlx::query_scalar("SELECT next_at FROM guesses WHERE key = $1")
                .bind(&c.key)
                .fetch_one(&mut *conn)
                .await?;
            return Err(held_up(next, now));
        }
    }
    Ok(())
}

/// A success gives its try back and clears the waits it earned: the
/// counters start again from what they were before it. A counter left with
/// no tries is removed, so a right password or PIN with no wrong one
/// before it leaves no row behind (a refusal that follows it, such as a
/// balance too low, then has written nothing).
pub async fn succeeded(conn: &mut Conn, counters: &[Counter]) -> AppResult<()> {
    for c in counters {
        sqlx::query("DELETE FROM guesses WHERE key = $1 AND tries <= 1")
            .bind(&c.key)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE guesses SET tries = tries - 1, next_at = 0 WHERE key = $1")
            .bind(&c.key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Forgets the keys quiet for longer than [`QUIET_US`].
pub async fn purge(conn: &mut Conn, now: i64) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM guesses WHERE last_at <= $1")
        .bind(now - QUIET_US)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_guesses() {
        assert_eq!(delay_after(1, 5), 0);
        assert_eq!(delay_after(5, 5), 0);
        assert_eq!(delay_after(6, 5), 1_000_000);
        assert_eq!(delay_after(7, 5), 2_000_000);
        assert_eq!(delay_after(15, 5), 512_000_000);
        assert_eq!(delay_after(16, 5), MAX_DELAY_US);
        assert_eq!(delay_after(1_000, 5), MAX_DELAY_US);
    }

    #[test]
    fn the_sql_waits_are_the_rule_s() {
        let sql = next_at_sql(5);
        assert!(
            sql.starts_with(
                "CASE WHEN tries + 1 <= 5 THEN next_at WHEN tries + 1 = 6 THEN $2 + 1000000 "
            ),
            "{sql}"
        );
        assert!(
            sql.contains("WHEN tries + 1 = 15 THEN $2 + 512000000"),
            "{sql}"
        );
        assert!(
            sql.ends_with(&format!("ELSE $2 + {MAX_DELAY_US} END")),
            "{sql}"
        );
    }

    #[test]
    fn five_documents_are_compared_before_a_wait() {
        let counters = identity(Holder::Card(7), 3, None);
        let holder = &counters[0];
        assert_eq!(holder.key, "identity-holder:card:7");
        let compared = (1..=20)
            .take_while(|n| *n == 1 || delay_after(n - 1, holder.free) == 0)
            .count();
        assert_eq!(compared as i64, IDENTITY_COMPARED);
        assert_ne!(
            identity(Holder::Customer(7), 3, None)[0].key,
            holder.key,
            "a customer's counter is not a card's"
        );
    }

    #[test]
    fn keys_are_bounded() {
        let long = "名".repeat(500);
        for c in login(
            &long,
            Some("10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))),
        ) {
            assert!(c.key.len() <= MAX_KEY, "{}", c.key.len());
        }
    }
}
