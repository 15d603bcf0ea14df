//! Prospects (潜在客户 / 目标客户) and the development visits recorded
//! against them (the electronic ledger, 电子台帐): who they are, how much
//! they might buy, where they fuel now, who decides, and where each stands
//! in the pipeline. A prospect belongs to one station; its owner is the
//! member of staff who develops it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Conn;
use crate::error::{AppError, AppResult, Code};
use crate::lifecycle::{self, Stage, Status as _};
use crate::money::Litres;
use crate::text::{optional, required};

/// What kind of customer a prospect would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProspectKind {
    Person,
    Company,
    Fleet,
    Community,
    Other,
}

impl ProspectKind {
    const ALL: [ProspectKind; 5] = [
        ProspectKind::Person,
        ProspectKind::Company,
        ProspectKind::Fleet,
        ProspectKind::Community,
        ProspectKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProspectKind::Person => "person",
            ProspectKind::Company => "company",
            ProspectKind::Fleet => "fleet",
            ProspectKind::Community => "community",
            ProspectKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ProspectKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A person to talk to at the prospect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schema(example = "李经理")]
    pub name: String,
    /// Their role ("车队长", "采购").
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The one who decides where the vehicles fuel.
    #[serde(default)]
    pub decision_maker: bool,
}

/// A prospect as a request describes it (the station is the caller's).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProspectInput {
    pub kind: ProspectKind,
    #[schema(example = "顺丰速运城东营业部")]
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    /// How many vehicles they run.
    #[serde(default)]
    pub vehicles: Option<u32>,
    /// Litres a month they might buy, at most two decimals.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "3000")]
    pub est_monthly_litres: Option<String>,
    /// Where they fuel now.
    #[serde(default)]
    pub current_supplier: Option<String>,
    /// The discount they get there ("每升优惠0.30元").
    #[serde(default)]
    pub current_discount: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// How the station came to know them (a survey, a referral, …).
    #[serde(default)]
    pub channel: Option<String>,
}

/// A prospect checked whole: every text within its bounds.
#[derive(Debug, Clone)]
pub struct NewProspect {
    pub kind: ProspectKind,
    pub name: String,
    pub address: Option<String>,
    pub vehicles: Option<u32>,
    pub est_monthly_litres: Option<Litres>,
    pub current_supplier: Option<String>,
    pub current_discount: Option<String>,
    pub contacts: Vec<Contact>,
    pub channel: Option<String>,
}

impl ProspectInput {
    pub fn validate(&self) -> AppResult<NewProspect> {
        if self.contacts.len() > 20 {
            return Err(AppError::invalid("contacts", "contacts: at most 20"));
        }
        let contacts = self
            .contacts
            .iter()
            .map(|c| {
                Ok(Contact {
                    name: required("contacts.name", &c.name, 50)?,
                    role: optional("contacts.role", c.role.as_deref(), 50)?,
                    phone: optional("contacts.phone", c.phone.as_deref(), 30)?,
                    decision_maker: c.decision_maker,
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        let est_monthly_litres = match self.est_monthly_litres.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(Litres::parse_positive(t).map_err(|e| {
                AppError::new(
                    Code::InvalidLitres,
                    format!("est_monthly_litres {t:?}: {e}"),
                )
                .with("field", "est_monthly_litres")
            })?),
        };
        Ok(NewProspect {
            kind: self.kind,
            name: required("name", &self.name, 100)?,
            address: optional("address", self.address.as_deref(), 200)?,
            vehicles: self.vehicles,
            est_monthly_litres,
            current_supplier: optional("current_supplier", self.current_supplier.as_deref(), 100)?,
            current_discount: optional("current_discount", self.current_discount.as_deref(), 100)?,
            contacts,
            channel: optional("channel", self.channel.as_deref(), 40)?,
        })
    }
}

/// A prospect as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prospect {
    pub id: i64,
    /// The station's code.
    pub station: String,
    #[serde(skip)]
    pub station_id: i64,
    /// The station's district.
    pub district: String,
    pub kind: ProspectKind,
    pub name: String,
    pub address: Option<String>,
    pub vehicles: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub est_monthly_litres: Option<Litres>,
    pub current_supplier: Option<String>,
    pub current_discount: Option<String>,
    pub contacts: Vec<Contact>,
    pub channel: Option<String>,
    pub stage: Stage,
    pub lost_reason: Option<String>,
    /// The customer it became, once won.
    pub customer_id: Option<i64>,
    /// The username of the staff member developing it.
    pub owner: Option<String>,
    pub next_step: Option<String>,
    /// When the next step is due (RFC 3339).
    pub next_at: Option<String>,
    /// The next step is past due and the prospect is still open.
    pub overdue: bool,
}

const COLUMNS: &str = "p.id, s.code AS station, p.station_id, s.district, p.kind, p.name, \
    p.address, p.vehicles, p.est_monthly_litres_cl, p.current_supplier, p.current_discount, \
    p.contacts, p.channel, p.stage, p.lost_reason, p.customer_id, u.username AS owner, \
    p.next_step, p.next_at";

const FROM: &str = "prospects p JOIN stations s ON s.id = p.station_id \
    LEFT JOIN users u ON u.id = p.owner_id";

fn from_row(row: &sqlx::any::AnyRow, now: i64) -> AppResult<Prospect> {
    let kind: String = row.try_get("kind")?;
    let stage = Stage::stored(&row.try_get::<String, _>("stage")?)?;
    let contacts: String = row.try_get("contacts")?;
    let next_at: Option<i64> = row.try_get("next_at")?;
    Ok(Prospect {
        id: row.try_get("id")?,
        station: row.try_get("station")?,
        station_id: row.try_get("station_id")?,
        district: row.try_get("district")?,
        kind: ProspectKind::parse(&kind)
            .ok_or_else(|| AppError::internal("reading a prospect", format!("kind {kind:?}")))?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        vehicles: row.try_get("vehicles")?,
        est_monthly_litres: row
            .try_get::<Option<i64>, _>("est_monthly_litres_cl")?
            .map(Litres::from_cl),
        current_supplier: row.try_get("current_supplier")?,
        current_discount: row.try_get("current_discount")?,
        contacts: serde_json::from_str(&contacts)
            .map_err(|e| AppError::internal("reading a prospect's contacts", e))?,
        channel: row.try_get("channel")?,
        stage,
        lost_reason: row.try_get("lost_reason")?,
        customer_id: row.try_get("customer_id")?,
        owner: row.try_get("owner")?,
        next_step: row.try_get("next_step")?,
        next_at: next_at.map(crate::time::format_us),
        overdue: is_overdue(stage, next_at, now),
    })
}

/// A next step is overdue when its time has passed and the prospect is
/// still being developed.
pub fn is_overdue(stage: Stage, next_at: Option<i64>, now: i64) -> bool {
    !matches!(stage, Stage::Won | Stage::Lost) && next_at.is_some_and(|t| t < now)
}

/// Adds a prospect at a station, owned by `owner`.
pub async fn create(
    conn: &mut Conn,
    station_id: i64,
    owner: i64,
    p: &NewProspect,
    now: i64,
) -> AppResult<i64> {
    let contacts = serde_json::to_string(&p.contacts)
        .map_err(|e| AppError::internal("writing a prospect's contacts", e))?;
    let row = sqlx::query(
        "INSERT INTO prospects (station_id, owner_id, kind, name, address, vehicles, \
         est_monthly_litres_cl, current_supplier, current_discount, contacts, channel, stage, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'surveyed', $12, $12) RETURNING id",
    )
    .bind(station_id)
    .bind(owner)
    .bind(p.kind.as_str())
    .bind(&p.name)
    .bind(p.address.as_deref())
    .bind(p.vehicles.map(i64::from))
    .bind(p.est_monthly_litres.map(Litres::cl))
    .bind(p.current_supplier.as_deref())
    .bind(p.current_discount.as_deref())
    .bind(contacts)
    .bind(p.channel.as_deref())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

pub async fn get(conn: &mut Conn, id: i64, now: i64) -> AppResult<Prospect> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::new(Code::ProspectNotFound, format!("no prospect {id}")))?;
    from_row(&row, now)
}

/// The most prospects one listing shows: a board, not an export of the
/// network's whole ledger.
pub const LIST_LIMIT: usize = 1000;

/// Which prospects a listing shows.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub station: Option<i64>,
    pub district: Option<&'a str>,
    pub stage: Option<Stage>,
    /// Only those whose next step is past due.
    pub overdue: bool,
}

/// The prospects a filter picks, the ones with the earliest next step
/// first (overdue ones lead), at most [`LIST_LIMIT`].
pub async fn list(conn: &mut Conn, f: &Filter<'_>, now: i64) -> AppResult<Vec<Prospect>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE ($1 IS NULL OR p.station_id = $1) AND ($2 IS NULL OR s.district = $2) \
           AND ($3 IS NULL OR p.stage = $3) \
           AND ($4 = 0 OR (p.next_at < $5 AND p.stage NOT IN ('won', 'lost'))) \
         ORDER BY CASE WHEN p.next_at IS NULL THEN 1 ELSE 0 END, p.next_at, p.id \
         LIMIT {LIST_LIMIT}"
    ))
    .bind(f.station)
    .bind(f.district)
    .bind(f.stage.map(Stage::as_str))
    .bind(i64::from(f.overdue))
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| from_row(r, now)).collect()
}

/// Moves a prospect along the pipeline; `lost` needs the reason.
pub async fn set_stage(
    conn: &mut Conn,
    p: &Prospect,
    to: Stage,
    reason: Option<&str>,
    now: i64,
) -> AppResult<()> {
    lifecycle::ensure_move(p.id, p.stage, to)?;
    let reason = match to {
        Stage::Lost => Some(
            optional("reason", reason, 200)?
                .ok_or_else(|| AppError::invalid("reason", "a lost prospect needs its reason"))?,
        ),
        _ => None,
    };
    let done = sqlx::query(
        "UPDATE prospects SET stage = $1, lost_reason = $2, updated_at = $3 \
         WHERE id = $4 AND stage = $5",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(now)
    .bind(p.id)
    .bind(p.stage.as_str())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        let now_is = get(conn, p.id, now).await?.stage;
        return Err(lifecycle::illegal(p.id, now_is, to));
    }
    Ok(())
}

/// A development visit as a request gives it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    /// When the visit happened (RFC 3339); now when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<String>,
    #[schema(example = "见到车队长，愿意试用两张卡")]
    pub outcome: String,
    #[serde(default)]
    pub next_step: Option<String>,
    /// When the next step is due (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_at: Option<String>,
}

/// A development visit as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: i64,
    pub prospect_id: i64,
    /// RFC 3339.
    pub at: String,
    /// The username of who visited.
    pub by: String,
    pub outcome: String,
    pub next_step: Option<String>,
    pub next_at: Option<String>,
}

fn instant(field: &str, text: Option<&str>) -> AppResult<Option<i64>> {
    text.map(|t| {
        crate::time::parse_rfc3339(t)
            .ok_or_else(|| AppError::invalid(field, format!("{field}: an RFC 3339 time")))
    })
    .transpose()
}

/// Records a visit; the prospect's next step becomes the visit's, and a
/// prospect not yet contacted is contacted now.
pub async fn add_visit(
    conn: &mut Conn,
    p: &Prospect,
    by: &crate::auth::Actor,
    v: &VisitInput,
    now: i64,
) -> AppResult<Visit> {
    let at = instant("at", v.at.as_deref())?.unwrap_or(now);
    let next_at = instant("next_at", v.next_at.as_deref())?;
    let outcome = required("outcome", &v.outcome, 500)?;
    let next_step = optional("next_step", v.next_step.as_deref(), 200)?;
    if matches!(p.stage, Stage::Won | Stage::Lost) {
        return Err(AppError::new(
            Code::IllegalTransition,
            format!("prospect {} is {}: no more visits", p.id, p.stage.as_str()),
        ));
    }
    let row = sqlx::query(
        "INSERT INTO prospect_visits (prospect_id, user_id, visited_at, outcome, next_step, \
         next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(p.id)
    .bind(by.user_id)
    .bind(at)
    .bind(&outcome)
    .bind(next_step.as_deref())
    .bind(next_at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = row.try_get("id")?;
    sqlx::query(
        "UPDATE prospects SET next_step = $1, next_at = $2, updated_at = $3, \
         stage = CASE WHEN stage IN ('surveyed', 'planned') THEN 'contacted' ELSE stage END \
         WHERE id = $4",
    )
    .bind(next_step.as_deref())
    .bind(next_at)
    .bind(now)
    .bind(p.id)
    .execute(&mut *conn)
    .await?;
    Ok(Visit {
        id,
        prospect_id: p.id,
        at: crate::time::format_us(at),
        by: by.username.clone(),
        outcome,
        next_step,
        next_at: next_at.map(crate::time::format_us),
    })
}

/// A prospect's visits, the latest first.
pub async fn visits(conn: &mut Conn, prospect_id: i64) -> AppResult<Vec<Visit>> {
    let rows = sqlx::query(
        "SELECT v.id, v.prospect_id, v.visited_at, u.username, v.outcome, v.next_step, v.next_at \
         FROM prospect_visits v LEFT JOIN users u ON u.id = v.user_id \
         WHERE v.prospect_id = $1 ORDER BY v.visited_at DESC, v.id DESC",
    )
    .bind(prospect_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Visit {
                id: r.try_get("id")?,
                prospect_id: r.try_get("prospect_id")?,
                at: crate::time::format_us(r.try_get("visited_at")?),
                by: r
                    .try_get::<Option<String>, _>("username")?
                    .unwrap_or_default(),
                outcome: r.try_get("outcome")?,
                next_step: r.try_get("next_step")?,
                next_at: r
                    .try_get::<Option<i64>, _>("next_at")?
                    .map(crate::time::format_us),
            })
        })
        .collect()
}

/// Wins a prospect: it becomes `customer_id`, and the cards that customer
/// opened through no other visit are credited to it.
pub async fn win(conn: &mut Conn, p: &Prospect, customer_id: i64, now: i64) -> AppResult<()> {
    crate::cards::customers::get(conn, customer_id).await?;
    lifecycle::ensure_move(p.id, p.stage, Stage::Won)?;
    let done = sqlx::query(
        "UPDATE prospects SET stage = 'won', customer_id = $1, updated_at = $2 \
         WHERE id = $3 AND stage = $4",
    )
    .bind(customer_id)
    .bind(now)
    .bind(p.id)
    .bind(p.stage.as_str())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        let now_is = get(conn, p.id, now).await?.stage;
        return Err(lifecycle::illegal(p.id, now_is, Stage::Won));
    }
    sqlx::query(
        "UPDATE card_openings SET prospect_id = $1 \
         WHERE prospect_id IS NULL AND card_id IN (SELECT id FROM cards WHERE customer_id = $2)",
    )
    .bind(p.id)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The columns of a prospect import, in order.
pub const CSV_HEADER: [&str; 11] = [
    "kind",
    "name",
    "address",
    "vehicles",
    "est_monthly_litres",
    "current_supplier",
    "current_discount",
    "contact_name",
    "contact_role",
    "contact_phone",
    "channel",
];

/// Reads a prospect import whole: every row checked, bad ones named by
/// line, nothing kept unless all are good.
pub fn parse_csv(text: &str) -> Result<Vec<NewProspect>, Vec<crate::csv_io::RowError>> {
    use crate::csv_io::{cell, optional as opt};
    crate::csv_io::rows(text, &CSV_HEADER, |_, r| {
        let kind = cell(r, 0);
        let kind = ProspectKind::parse(&kind).ok_or_else(|| {
            AppError::new(
                Code::ValidationFailed,
                format!("kind {kind:?}: person, company, fleet, community or other"),
            )
        })?;
        let vehicles = opt(r, 3)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    AppError::new(Code::ValidationFailed, format!("vehicles {v:?}: a count"))
                })
            })
            .transpose()?;
        let contacts = match opt(r, 7) {
            Some(name) => vec![Contact {
                name,
                role: opt(r, 8),
                phone: opt(r, 9),
                decision_maker: true,
            }],
            None => Vec::new(),
        };
        ProspectInput {
            kind,
            name: cell(r, 1),
            address: opt(r, 2),
            vehicles,
            est_monthly_litres: opt(r, 4),
            current_supplier: opt(r, 5),
            current_discount: opt(r, 6),
            contacts,
            channel: opt(r, 10),
        }
        .validate()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "kind,name,address,vehicles,est_monthly_litres,current_supplier,current_discount,contact_name,contact_role,contact_phone,channel\n";

    #[test]
    fn an_import_is_checked_whole_and_names_bad_lines() {
        let good = format!(
            "{HEAD}fleet,顺达物流,城东路1号,12,3000,中石化,每升0.30,李经理,车队长,13800000000,扫街\n"
        );
        let p = parse_csv(&good).unwrap();
        assert_eq!(p[0].kind, ProspectKind::Fleet);
        assert_eq!(p[0].est_monthly_litres, Some(Litres::from_cl(300_000)));
        assert!(p[0].contacts[0].decision_maker);
        let bad = format!(
            "{HEAD}fleet,顺达物流,,,,,,,,,\nship,x,,,,,,,,,\nperson,,,,,,,,,,\nperson,王,,-1,,,,,,,\n"
        );
        let lines: Vec<u64> = parse_csv(&bad)
            .unwrap_err()
            .iter()
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, vec![3, 4, 5]);
    }

    #[test]
    fn only_an_open_prospect_is_overdue() {
        assert!(is_overdue(Stage::Contacted, Some(10), 11));
        assert!(!is_overdue(Stage::Contacted, Some(12), 11));
        assert!(!is_overdue(Stage::Won, Some(10), 11));
        assert!(!is_overdue(Stage::Planned, None, 11));
    }
}
