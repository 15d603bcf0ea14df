//! A cashier's shift and the station's day: opening the shift, reading it,
//! closing it with what was counted (交班), and the day-end report — shared
//! by the API and the counter's pages.

use chrono::NaiveDate;

use super::{App, once};
use crate::auth::policy::{Action, Target, authorize, authorize_role};
use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult};
use crate::money::Money;
use crate::stations::{self, report, shifts};

/// Opens the caller's shift at the station (their own when unnamed), or
/// returns the one already open.
pub async fn open(app: &App, actor: &Actor, station: Option<&str>) -> AppResult<shifts::Shift> {
    authorize_role(actor, Action::WorkShift)?;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let station = stations::for_counter(conn, at.actor, station).await?;
            let id = shifts::ensure_open(conn, station.id, at.actor.user_id, at.now).await?;
            at.audit(conn, "shift_open", &id.to_string(), serde_json::json!({}))
                .await?;
            shifts::get(conn, id).await
        })
    })
    .await
}

/// The caller's open shift at the station, if there is one.
pub async fn current(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
) -> AppResult<Option<shifts::Shift>> {
    authorize_role(actor, Action::WorkShift)?;
    let mut conn = app.db.pool().acquire().await?;
    let station = stations::for_counter(&mut conn, actor, station).await?;
    shifts::current(&mut conn, station.id, actor.user_id).await
}

/// What a cashier counted in the till at the shift's end.
pub struct Counted {
    pub cash: Money,
    pub bank_card: Money,
    pub transfer: Money,
}

/// 交班: closes the shift with what was counted; the shift answers with its
/// expected amounts and the difference. A cashier closes only their own.
pub async fn close(
    app: &App,
    actor: &Actor,
    id: i64,
    counted: Counted,
) -> AppResult<shifts::Shift> {
    authorize_role(actor, Action::CloseShift)?;
    let counted = shifts::Totals {
        cash: counted.cash,
        bank_card: counted.bank_card,
        transfer: counted.transfer,
    };
    let own_only = (actor.role == Role::Cashier).then_some(actor.user_id);
    let counted = &counted;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let station = shifts::get(conn, id).await?.station_id;
            authorize(at.actor, Action::CloseShift, &Target::at_station(station))?;
            let s = shifts::close(conn, id, own_only, counted, at.now).await?;
            at.audit(
                conn,
                "shift_close",
                &id.to_string(),
                serde_json::json!({"difference": s.difference}),
            )
            .await?;
            Ok(s)
        })
    })
    .await
}

/// A day `YYYY-MM-DD` as a request names it; today in the operator's zone
/// when absent.
pub fn day_of(app: &App, date: Option<&str>) -> AppResult<NaiveDate> {
    match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("date", "date: YYYY-MM-DD")),
        None => Ok(app.settings.clock.today(app.settings.time_zone)),
    }
}

/// The station's day-end report: the day's shifts summed.
pub async fn day_report(
    app: &App,
    actor: &Actor,
    code: &str,
    date: Option<&str>,
) -> AppResult<report::DayReport> {
    let tz = app.settings.time_zone;
    let date = day_of(app, date)?;
    let mut conn = app.db.pool().acquire().await?;
    let station = stations::find(&mut conn, code).await?;
    authorize(
        actor,
        Action::ReadDayReport,
        &Target::station(station.id, &station.district),
    )?;
    report::day(&mut conn, code, date, tz).await
}
