//! The service's own timed work: the minute's sweep, the month's grading of
//! the customers and the drafting of the fleets' allocation plans.
//!
//! Nobody asks for these: a timer in [`crate::http`] and the server's
//! start-up do. They are a machine's face of the action layer, kept here
//! with the other actions so that the faces hold no database work of their
//! own. Each runs its writes in one write transaction and logs what it did;
//! a failure is logged (or handed to the timer to log) and the next run
//! tries again, since each is safe to repeat.

use chrono_tz::Tz;

use crate::config::Settings;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::time::Clock;

/// The sweep of every minute, at `now`: releases expired holds, so a
/// reservation never outlives its time even on a card nobody touches;
/// purges expired sessions, quiet guessing counters and the idempotency
/// keys past the replay window; drafts the districts' weekly reports when
/// a Sunday has come, and grades the customers when a month has.
pub async fn sweep(db: &Db, now: i64, settings: &Settings) -> AppResult<()> {
    let (replay_days, tz) = (settings.replay_days, settings.time_zone);
    let mut tx = db.begin_write().await?;
    let accounts = crate::ledger::holds::accounts_with_expired(&mut tx, 500, now).await?;
    for account in accounts {
        crate::ledger::holds::release_expired(&mut tx, account, now).await?;
    }
    let sessions = crate::auth::sessions::purge(&mut tx, now, settings.sessions).await?;
    crate::auth::throttle::purge(&mut tx, now).await?;
    let window = replay_days.saturating_mul(86_400_000_000);
    let keys = crate::ledger::idempotency::purge(&mut tx, now.saturating_sub(window)).await?;
    let drafted = crate::acquisition::weekly::draft_due(&mut tx, now, tz).await?;
    let graded = crate::crm::grading::grade_due(&mut tx, now, tz, &settings.grading).await?;
    tx.commit().await?;
    if drafted > 0 {
        tracing::info!(drafted, "drafted the districts' weekly reports");
    }
    if let Some(customers) = graded {
        tracing::info!(customers, "graded the customers for the month");
    }
    if sessions + keys > 0 {
        tracing::info!(
            sessions,
            keys,
            "purged expired sessions and idempotency keys"
        );
    }
    Ok(())
}

/// Grades the customers for the clock's month if nobody has yet (the
/// server does it before it listens; the sweep on each month's first
/// minute). A failure is logged: the sweep tries again.
pub async fn grade_customers(db: &Db, settings: &Settings) {
    let now = settings.clock.now_us();
    let run = async {
        let mut tx = db.begin_write().await?;
        let graded =
            crate::crm::grading::grade_due(&mut tx, now, settings.time_zone, &settings.grading)
                .await?;
        tx.commit().await?;
        Ok::<_, AppError>(graded)
    };
    match run.await {
        Ok(Some(customers)) => tracing::info!(customers, "graded the customers for the month"),
        Ok(None) => {}
        Err(e) => tracing::warn!(%e, "grading the customers failed"),
    }
}

/// Drafts next month's fleet allocation plans for the companies whose
/// allocation day is the clock's today (in the operator's time zone).
/// Drafting is idempotent, so running this again the same day changes
/// nothing. A failure is logged: the next run tries again.
pub async fn draft_due_plans(db: &Db, tz: Tz, clock: Clock) {
    let now = clock.now_us();
    let today = crate::time::local_date(now, tz);
    let run = async {
        let mut tx = db.begin_write().await?;
        let drafted = crate::fleet::allocation::draft_due(&mut tx, now, tz).await?;
        tx.commit().await?;
        Ok::<_, AppError>(drafted)
    };
    match run.await {
        Ok(d) if !d.is_empty() => {
            tracing::info!(companies = ?d, %today, "drafted next month's allocation plans")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(%e, "drafting allocation plans failed"),
    }
}
