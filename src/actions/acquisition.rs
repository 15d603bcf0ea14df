//! Customer acquisition as staff work it: districts, prospects and their
//! visits, flyer batches, targets, and the tables read from them. Each
//! action asks the policy with the station or district the business
//! belongs to — a prospect's own station, read inside the transaction.

use super::{App, Done, Keyed, create, once};
use crate::acquisition::channels::{self, Conversion, FlyerBatch};
use crate::acquisition::periods::{Period, Span};
use crate::acquisition::prospects::{self, Filter, Prospect, ProspectInput, Visit, VisitInput};
use crate::acquisition::rankings::{self, Announcement, Place};
use crate::acquisition::targets::{self, Covering, TargetInput, Tracking};
use crate::acquisition::weekly::{self, WeeklyReport};
use crate::auth::Actor;
use crate::auth::policy::{Action, Target, authorize};
use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::Stage;
use crate::stations::districts::{self, District};
use crate::stations::{self, Station};

/// The business of one station, for the policy.
pub(super) fn of_station(s: &Station) -> Target {
    Target::station(s.id, &s.district)
}

/// The station a request names, or the caller's own.
pub(super) async fn station_named(
    conn: &mut Conn,
    actor: &Actor,
    code: Option<&str>,
) -> AppResult<Station> {
    match (code, actor.station_id) {
        (Some(code), _) => stations::find(conn, code).await,
        (None, Some(id)) => stations::get(conn, id).await,
        (None, None) => Err(AppError::new(
            Code::StationRequired,
            "name the station (you have none of your own)",
        )
        .with("field", "station")),
    }
}

/// A prospect read for an action, with the policy asked about its station.
async fn prospect_for(
    conn: &mut Conn,
    actor: &Actor,
    action: Action,
    id: i64,
    now: i64,
) -> AppResult<Prospect> {
    let p = prospects::get(conn, id, now).await?;
    authorize(actor, action, &Target::station(p.station_id, &p.district))?;
    Ok(p)
}

/// Every district, for whoever may read the network's reference data.
pub async fn districts(app: &App, actor: &Actor) -> AppResult<Vec<District>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    districts::list(&mut conn).await
}

/// Every station, for whoever may read the network's reference data.
pub async fn stations(app: &App, actor: &Actor) -> AppResult<Vec<Station>> {
    authorize(actor, Action::ReadReferenceData, &Target::network())?;
    let mut conn = app.db.pool().acquire().await?;
    stations::list(&mut conn).await
}

/// Adds a district (or names one a station brought in).
pub async fn add_district(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    code: &str,
    name: &str,
) -> AppResult<Done<District>> {
    authorize(actor, Action::ManageDistricts, &Target::network())?;
    districts::validate(code, name)?;
    let tz = app.settings.time_zone;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let d = districts::create(conn, code, name, at.now, tz).await?;
            at.audit(
                conn,
                "district_add",
                &d.code,
                serde_json::json!({ "name": d.name }),
            )
            .await?;
            Ok(d)
        })
    })
    .await
}

/// Adds a prospect at a station (the caller's own unless named), owned by
/// the caller: as the station's or district's development work
/// ([`Action::WorkProspects`]), or as a lead a counter noted for its
/// manager ([`Action::NoteLead`]).
pub async fn add_prospect(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    station: Option<&str>,
    input: &ProspectInput,
    by: Action,
) -> AppResult<Done<Prospect>> {
    if !matches!(by, Action::WorkProspects | Action::NoteLead) {
        return Err(AppError::new(
            Code::Forbidden,
            "prospects are added as work or as a lead",
        ));
    }
    crate::auth::policy::authorize_role(actor, by)?;
    let checked = input.validate()?;
    let checked = &checked;
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let s = station_named(conn, at.actor, station).await?;
            authorize(at.actor, by, &of_station(&s))?;
            let id = prospects::create(conn, s.id, at.actor.user_id, checked, at.now).await?;
            let what = if by == Action::NoteLead {
                "lead_note"
            } else {
                "prospect_add"
            };
            at.audit(
                conn,
                what,
                &id.to_string(),
                serde_json::json!({ "station": s.code, "name": checked.name }),
            )
            .await?;
            prospects::get(conn, id, at.now).await
        })
    })
    .await
}

/// Imports prospects from CSV for one station: the file is checked whole
/// before anything is written. Returns how many were added.
pub async fn import_prospects(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    csv: &str,
) -> AppResult<usize> {
    let rows = prospects::parse_csv(csv).map_err(crate::csv_io::rejected)?;
    let rows = &rows;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let s = station_named(conn, at.actor, station).await?;
            authorize(at.actor, Action::WorkProspects, &of_station(&s))?;
            for p in rows {
                prospects::create(conn, s.id, at.actor.user_id, p, at.now).await?;
            }
            at.audit(
                conn,
                "prospect_import",
                &s.code,
                serde_json::json!({ "rows": rows.len() }),
            )
            .await?;
            Ok(rows.len())
        })
    })
    .await
}

/// The prospects a caller may see that the filter picks: a station's, a
/// district's, or (HQ, admin) the whole network's.
pub async fn list_prospects(
    app: &App,
    actor: &Actor,
    station: Option<&str>,
    district: Option<&str>,
    stage: Option<Stage>,
    overdue: bool,
) -> AppResult<Vec<Prospect>> {
    let mut conn = app.db.pool().acquire().await?;
    let covering = covering(&mut conn, actor, Action::ReadProspects, station, district).await?;
    let filter = Filter {
        station: match covering {
            Covering::Station(id) => Some(id),
            _ => None,
        },
        district: match covering {
            Covering::District(d) => Some(d),
            _ => None,
        },
        stage,
        overdue,
    };
    prospects::list(&mut conn, &filter, app.now()).await
}

/// One prospect and its visits.
pub async fn get_prospect(app: &App, actor: &Actor, id: i64) -> AppResult<(Prospect, Vec<Visit>)> {
    let mut conn = app.db.pool().acquire().await?;
    let p = prospect_for(&mut conn, actor, Action::ReadProspects, id, app.now()).await?;
    let v = prospects::visits(&mut conn, id).await?;
    Ok((p, v))
}

/// Moves a prospect along the pipeline (winning names the customer: see
/// [`win_prospect`]).
pub async fn set_stage(
    app: &App,
    actor: &Actor,
    id: i64,
    stage: Stage,
    reason: Option<&str>,
) -> AppResult<Prospect> {
    if stage == Stage::Won {
        return Err(AppError::invalid(
            "stage",
            "a prospect is won with the customer it became: POST /prospects/{id}/win",
        ));
    }
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let p = prospect_for(conn, at.actor, Action::WorkProspects, id, at.now).await?;
            prospects::set_stage(conn, &p, stage, reason, at.now).await?;
            at.audit(
                conn,
                "prospect_stage",
                &id.to_string(),
                serde_json::json!({ "from": p.stage, "to": stage, "reason": reason }),
            )
            .await?;
            prospects::get(conn, id, at.now).await
        })
    })
    .await
}

/// Records a development visit.
pub async fn add_visit(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    id: i64,
    visit: &VisitInput,
) -> AppResult<Done<Visit>> {
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let p = prospect_for(conn, at.actor, Action::WorkProspects, id, at.now).await?;
            let v = prospects::add_visit(conn, &p, at.actor, visit, at.now).await?;
            at.audit(
                conn,
                "prospect_visit",
                &id.to_string(),
                serde_json::json!({ "visit": v.id }),
            )
            .await?;
            Ok(v)
        })
    })
    .await
}

/// Wins a prospect as the customer it became.
pub async fn win_prospect(
    app: &App,
    actor: &Actor,
    id: i64,
    customer_id: i64,
) -> AppResult<Prospect> {
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let p = prospect_for(conn, at.actor, Action::WorkProspects, id, at.now).await?;
            prospects::win(conn, &p, customer_id, at.now).await?;
            at.audit(
                conn,
                "prospect_won",
                &id.to_string(),
                serde_json::json!({ "customer": customer_id }),
            )
            .await?;
            prospects::get(conn, id, at.now).await
        })
    })
    .await
}

/// Registers a batch of flyers handed out at a station.
pub async fn add_flyers(
    app: &App,
    actor: &Actor,
    key: Option<&Keyed>,
    batch: &FlyerBatch,
) -> AppResult<Done<serde_json::Value>> {
    create(app, actor, key, |conn, at| {
        Box::pin(async move {
            let s = station_named(conn, at.actor, batch.station.as_deref()).await?;
            authorize(at.actor, Action::WorkProspects, &of_station(&s))?;
            channels::add_flyers(conn, &batch.code, s.id, batch.handed_out, at.now).await?;
            at.audit(
                conn,
                "flyers_add",
                &batch.code,
                serde_json::json!({ "station": s.code, "handed_out": batch.handed_out }),
            )
            .await?;
            Ok(serde_json::json!({
                "code": batch.code.trim(), "station": s.code, "handed_out": batch.handed_out
            }))
        })
    })
    .await
}

/// Sets a month's targets, each for a station (HQ, or its district's
/// manager) or a district (HQ). All or none are set.
pub async fn put_targets(
    app: &App,
    actor: &Actor,
    month: &str,
    lines: &[TargetInput],
) -> AppResult<usize> {
    let month = &month_of(app, month)?.0;
    if lines.is_empty() || lines.len() > 1000 {
        return Err(AppError::invalid("targets", "targets: 1 to 1000 lines"));
    }
    let goals = lines
        .iter()
        .map(|l| l.goal())
        .collect::<AppResult<Vec<_>>>()?;
    let goals = &goals;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            for (line, goal) in lines.iter().zip(goals) {
                let scope = match (line.station.as_deref(), line.district.as_deref()) {
                    (Some(code), None) => {
                        let s = stations::find(conn, code).await?;
                        authorize(at.actor, Action::SetTargets, &of_station(&s))?;
                        targets::Scope::Station(s)
                    }
                    (None, Some(code)) => {
                        let d = districts::find(conn, code).await?;
                        authorize(at.actor, Action::SetTargets, &Target::network())?;
                        targets::Scope::District(d.code)
                    }
                    _ => {
                        return Err(AppError::invalid(
                            "targets",
                            "each target names a station or a district, not both",
                        ));
                    }
                };
                targets::set(conn, month, &scope, goal, at.actor.user_id, at.now).await?;
            }
            at.audit(
                conn,
                "targets_set",
                month,
                serde_json::json!({ "lines": lines.len() }),
            )
            .await?;
            Ok(lines.len())
        })
    })
    .await
}

/// What part of the network a reading covers, asked of the policy: a
/// station, a district, or (named nothing) the whole network.
pub(super) async fn covering<'a>(
    conn: &mut Conn,
    actor: &Actor,
    action: Action,
    station: Option<&str>,
    district: Option<&'a str>,
) -> AppResult<Covering<'a>> {
    match (station, district) {
        (Some(code), _) => {
            let s = stations::find(conn, code).await?;
            authorize(actor, action, &of_station(&s))?;
            Ok(Covering::Station(s.id))
        }
        (None, Some(d)) => {
            districts::find(conn, d).await?;
            authorize(actor, action, &Target::district(d))?;
            Ok(Covering::District(d))
        }
        (None, None) => {
            authorize(actor, action, &Target::network())?;
            Ok(Covering::All)
        }
    }
}

/// A month `YYYY-MM` and its span in the operator's zone.
pub(super) fn month_of(app: &App, name: &str) -> AppResult<(String, Span)> {
    let p = Period::parse(name)?;
    if p.label.contains(['W', 'Q']) {
        return Err(AppError::invalid(
            "month",
            format!("month {name:?}: YYYY-MM"),
        ));
    }
    let span = p.span(app.settings.time_zone, app.settings.activation_days)?;
    Ok((p.label, span))
}

/// The tracking table of a month.
pub async fn tracking(
    app: &App,
    actor: &Actor,
    month: &str,
    station: Option<&str>,
    district: Option<&str>,
) -> AppResult<Tracking> {
    let (month, span) = month_of(app, month)?;
    let quarter = Period::quarter_before(span.first);
    let reading = targets::Reading {
        month: &month,
        span,
        last_quarter: (
            quarter.label.clone(),
            quarter.span(app.settings.time_zone, app.settings.activation_days)?,
        ),
        now: app.now(),
    };
    let mut conn = app.db.pool().acquire().await?;
    let covering = covering(&mut conn, actor, Action::ReadTargets, station, district).await?;
    targets::tracking(&mut conn, &reading, covering).await
}

/// The channels' conversion in a month.
pub async fn conversion(
    app: &App,
    actor: &Actor,
    month: &str,
    station: Option<&str>,
    district: Option<&str>,
) -> AppResult<Conversion> {
    let (month, span) = month_of(app, month)?;
    let mut conn = app.db.pool().acquire().await?;
    let covering = covering(&mut conn, actor, Action::ReadTargets, station, district).await?;
    channels::conversion(&mut conn, &month, &span, covering).await
}

/// The board a caller asked for: stations or staff over a period.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Leaderboard {
    pub period: String,
    /// `station` or `staff`.
    pub by: String,
    /// How places are decided, in words.
    pub rule: String,
    pub places: Vec<Place>,
}

/// Who a leaderboard ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    Station,
    Staff,
}

/// The leaderboard (英雄榜) over a week, a month or a quarter.
pub async fn leaderboard(
    app: &App,
    actor: &Actor,
    period: &str,
    by: RankBy,
) -> AppResult<Leaderboard> {
    authorize(actor, Action::ReadLeaderboard, &Target::network())?;
    let p = Period::parse(period)?;
    let span = p.span(app.settings.time_zone, app.settings.activation_days)?;
    let mut conn = app.db.pool().acquire().await?;
    let places = match by {
        RankBy::Station => rankings::stations(&mut conn, &span).await?,
        RankBy::Staff => rankings::staff(&mut conn, &span).await?,
    };
    Ok(Leaderboard {
        period: p.label,
        by: match by {
            RankBy::Station => "station",
            RankBy::Staff => "staff",
        }
        .into(),
        rule: rankings::RULE.into(),
        places,
    })
}

/// The wins since an instant (RFC 3339; the last 30 days when absent).
pub async fn wins(app: &App, actor: &Actor, since: Option<&str>) -> AppResult<Vec<Announcement>> {
    authorize(actor, Action::ReadLeaderboard, &Target::network())?;
    let since = match since {
        Some(t) => crate::time::parse_rfc3339(t)
            .ok_or_else(|| AppError::invalid("since", "since: an RFC 3339 time"))?,
        None => app.now().saturating_sub(30 * 86_400_000_000),
    };
    let mut conn = app.db.pool().acquire().await?;
    rankings::wins(&mut conn, since).await
}

/// A district's weekly report for a week (`YYYY-Www`; the latest week
/// drafted when absent).
pub async fn weekly_report(
    app: &App,
    actor: &Actor,
    district: &str,
    week: Option<&str>,
) -> AppResult<WeeklyReport> {
    let tz = app.settings.time_zone;
    let week = match week {
        Some(w) => {
            let p = Period::parse(w)?;
            if !p.label.contains('W') {
                return Err(AppError::invalid("week", format!("week {w:?}: YYYY-Www")));
            }
            p.label
        }
        None => weekly::latest_sunday_week(crate::time::local_date(app.now(), tz)).label,
    };
    let mut conn = app.db.pool().acquire().await?;
    districts::find(&mut conn, district).await?;
    authorize(actor, Action::ReadWeeklyReport, &Target::district(district))?;
    let stored = weekly::find(&mut conn, district, &week).await?;
    weekly::report(&mut conn, stored, tz, app.settings.activation_days).await
}

/// Submits a weekly report with the manager's notes; its figures are kept
/// as they stand.
pub async fn submit_weekly(
    app: &App,
    actor: &Actor,
    id: i64,
    notes: &str,
) -> AppResult<WeeklyReport> {
    let tz = app.settings.time_zone;
    let days = app.settings.activation_days;
    once(app, actor, |conn, at| {
        Box::pin(async move {
            let stored = weekly::get(conn, id).await?;
            authorize(
                at.actor,
                Action::SubmitWeeklyReport,
                &Target::district(&stored.district),
            )?;
            let span = Period::parse(&stored.week)?.span(tz, days)?;
            let stations = weekly::figures(conn, &stored.district, &span).await?;
            weekly::submit(conn, &stored, &stations, notes, at.actor.user_id, at.now).await?;
            at.audit(
                conn,
                "weekly_report_submitted",
                &format!("{} {}", stored.district, stored.week),
                serde_json::json!({ "report": id }),
            )
            .await?;
            let stored = weekly::get(conn, id).await?;
            weekly::report(conn, stored, tz, days).await
        })
    })
    .await
}
