//! A company's allocation policy (按月分配), as data the fleet manager edits
//! or loads from a file, and the pure rule that turns it into a plan line.
//!
//! A line starts from the base amount for the vehicle's type and
//! displacement band. If the vehicle used less than `under_percent` of last
//! month's allocation, the base changes by `under_change_percent` (e.g.
//! −10%); above `over_percent`, by `over_change_percent` (e.g. +10%). The
//! result is kept between `floor` and `cap`. A private car in official use
//! (私车公用) gets its fixed quota until the arrangement ends, then nothing.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, Code};
use crate::money::{Litres, Money};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseRule {
    pub vehicle_type: String,
    /// Upper end of the displacement band in litres (inclusive); absent: any.
    pub max_displacement: Option<String>,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// Percents are decimal text like the amounts: "70", "-10", "7.5".
    pub under_percent: String,
    pub under_change_percent: String,
    pub over_percent: String,
    pub over_change_percent: String,
    pub floor: String,
    pub cap: String,
}

/// The adjustment's percents, parsed.
struct Percents {
    under: Decimal,
    under_change: Decimal,
    over: Decimal,
    over_change: Decimal,
}

impl Adjustment {
    fn percents(&self) -> AppResult<Percents> {
        let p = |field: &str, text: &str| -> AppResult<Decimal> {
            let d: Decimal = text
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{field} {text:?}: a decimal percent")))?;
            if d.scale() > 2 {
                return Err(invalid(format!("{field} {text:?}: at most two decimals")));
            }
            Ok(d)
        };
        Ok(Percents {
            under: p("under_percent", &self.under_percent)?,
            under_change: p("under_change_percent", &self.under_change_percent)?,
            over: p("over_percent", &self.over_percent)?,
            over_change: p("over_change_percent", &self.over_change_percent)?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivateQuota {
    pub plate: String,
    pub amount: String,
    /// Last day of the arrangement, YYYY-MM-DD.
    pub until: String,
}

/// What happens to a vehicle card's unspent balance when the next month is
/// funded.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unspent {
    /// It stays on the card; the allocation is added on top.
    CarryOver,
    /// It goes back to the main card before the allocation is paid.
    SweepBack,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub base: Vec<BaseRule>,
    pub adjustment: Adjustment,
    #[serde(default)]
    pub private_quotas: Vec<PrivateQuota>,
    pub unspent: Unspent,
    /// Day of the month the next month's plan is drafted (default 25).
    #[serde(default = "default_day")]
    pub allocation_day: u32,
}

fn default_day() -> u32 {
    25
}

fn invalid(what: impl std::fmt::Display) -> AppError {
    AppError::new(Code::ValidationFailed, format!("allocation policy: {what}"))
}

fn amount(field: &str, text: &str) -> AppResult<Money> {
    Money::parse(text).map_err(|e| invalid(format!("{field} {text:?}: {e}")))
}

impl Policy {
    /// Checks every amount, band and date once, when the policy is saved.
    pub fn validate(&self) -> AppResult<()> {
        if self.base.is_empty() {
            return Err(invalid("at least one base rule"));
        }
        for rule in &self.base {
            amount("base.amount", &rule.amount)?;
            if let Some(d) = &rule.max_displacement {
                Litres::parse_positive(d)
                    .map_err(|e| invalid(format!("max_displacement {d:?}: {e}")))?;
            }
        }
        let a = &self.adjustment;
        let floor = amount("floor", &a.floor)?;
        let cap = amount("cap", &a.cap)?;
        if floor > cap {
            return Err(invalid("floor above cap"));
        }
        let p = a.percents()?;
        let pct_ok = |p: Decimal| (Decimal::ZERO..=Decimal::new(1000, 0)).contains(&p);
        let change_ok = |p: Decimal| (Decimal::new(-100, 0)..=Decimal::new(1000, 0)).contains(&p);
        if !pct_ok(p.under) || !pct_ok(p.over) || p.under > p.over {
            return Err(invalid("under_percent ≤ over_percent, both 0–1000"));
        }
        if !change_ok(p.under_change) || !change_ok(p.over_change) {
            return Err(invalid("changes between -100 and 1000 percent"));
        }
        for q in &self.private_quotas {
            amount("private_quotas.amount", &q.amount)?;
            chrono::NaiveDate::parse_from_str(&q.until, "%Y-%m-%d")
                .map_err(|_| invalid(format!("until {:?}: YYYY-MM-DD", q.until)))?;
        }
        if !(1..=28).contains(&self.allocation_day) {
            return Err(invalid("allocation_day: 1 to 28"));
        }
        Ok(())
    }

    /// The base amount for a vehicle: the narrowest band of its type that
    /// holds its displacement.
    fn base_for(&self, vehicle_type: &str, displacement: Litres) -> Option<Money> {
        let mut bands: Vec<(Option<Litres>, Money)> = self
            .base
            .iter()
            .filter(|r| r.vehicle_type == vehicle_type)
            .filter_map(|r| {
                let max = match &r.max_displacement {
                    Some(d) => Some(Litres::parse_positive(d).ok()?),
                    None => None,
                };
                Some((max, Money::parse(&r.amount).ok()?))
            })
            .collect();
        bands.sort_by_key(|(max, _)| max.map_or(i64::MAX, Litres::cl));
        bands
            .into_iter()
            .find(|(max, _)| max.is_none_or(|m| displacement <= m))
            .map(|(_, amount)| amount)
    }
}

/// A plan line before the manager edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub base: Money,
    pub adjustment: Money,
    pub amount: Money,
    pub reason: String,
}

/// What the rule needs to know about one vehicle.
pub struct VehicleFacts<'a> {
    pub plate: &'a str,
    pub vehicle_type: &'a str,
    pub displacement: Litres,
    pub has_card: bool,
    pub last_allocation: Option<Money>,
    pub last_used: Money,
}

fn percent_of(part: Money, whole: Money) -> Decimal {
    Decimal::new(part.fen(), 0) * Decimal::ONE_HUNDRED / Decimal::new(whole.fen(), 0)
}

fn scale(base: Money, percent: Decimal) -> Money {
    let fen = (Decimal::new(base.fen(), 0) * percent / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(0);
    Money::from_fen(fen)
}

/// The plan line for one vehicle for `month_start` (the first day of the
/// month being planned). The policy has been validated.
pub fn plan_line(policy: &Policy, v: &VehicleFacts<'_>, month_start: chrono::NaiveDate) -> Line {
    let zero = |reason: String| Line {
        base: Money::ZERO,
        adjustment: Money::ZERO,
        amount: Money::ZERO,
        reason,
    };
    if !v.has_card {
        return zero("no fleet card: nothing can be funded".into());
    }
    if let Some(q) = policy.private_quotas.iter().find(|q| q.plate == v.plate) {
        let until = chrono::NaiveDate::parse_from_str(&q.until, "%Y-%m-%d").unwrap_or(month_start);
        if until < month_start {
            return zero(format!(
                "private car in official use: the arrangement ended {}",
                q.until
            ));
        }
        let quota = Money::parse(&q.amount).unwrap_or(Money::ZERO);
        return Line {
            base: quota,
            adjustment: Money::ZERO,
            amount: quota,
            reason: format!("private car in official use: fixed quota until {}", q.until),
        };
    }
    let Some(base) = policy.base_for(v.vehicle_type, v.displacement) else {
        return zero(format!(
            "no base amount for a {} of {} L",
            v.vehicle_type, v.displacement
        ));
    };
    let a = &policy.adjustment;
    let Ok(p) = a.percents() else {
        return zero("the policy's percents are not valid".into());
    };
    let (change, mut reason) = match v.last_allocation.filter(|l| l.is_positive()) {
        None => (
            Money::ZERO,
            "base amount (no allocation last month)".to_string(),
        ),
        Some(last) => {
            let used = percent_of(v.last_used, last).round_dp(1);
            if used < p.under {
                (
                    scale(base, p.under_change),
                    format!(
                        "used {used}% of last month's {last} (under {}%): {}%",
                        p.under, p.under_change
                    ),
                )
            } else if used > p.over {
                (
                    scale(base, p.over_change),
                    format!(
                        "used {used}% of last month's {last} (over {}%): +{}%",
                        p.over, p.over_change
                    ),
                )
            } else {
                (
                    Money::ZERO,
                    format!("used {used}% of last month's {last}: no change"),
                )
            }
        }
    };
    let floor = Money::parse(&a.floor).unwrap_or(Money::ZERO);
    let cap = Money::parse(&a.cap).unwrap_or(Money::from_fen(i64::MAX / 4));
    let raw = Money::from_fen(base.fen() + change.fen());
    let amount = raw.max(floor).min(cap);
    if amount != raw {
        reason.push_str(if amount == floor {
            "; raised to the floor"
        } else {
            "; limited to the cap"
        });
    }
    Line {
        base,
        adjustment: Money::from_fen(amount.fen() - base.fen()),
        amount,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let text = r#"
            unspent = "sweep_back"
            [[base]]
            vehicle_type = "car"
            max_displacement = "1.6"
            amount = "800.00"
            [[base]]
            vehicle_type = "car"
            amount = "1000.00"
            [adjustment]
            under_percent = "70"
            under_change_percent = "-10"
            over_percent = "95"
            over_change_percent = "10"
            floor = "500.00"
            cap = "1050.00"
            [[private_quotas]]
            plate = "浙A99999"
            amount = "600.00"
            until = "2026-12-31"
        "#;
        let p: Policy = toml::from_str(text).unwrap();
        p.validate().unwrap();
        p
    }

    fn facts<'a>(displacement: i64, last: Option<i64>, used: i64) -> VehicleFacts<'a> {
        VehicleFacts {
            plate: "浙A00001",
            vehicle_type: "car",
            displacement: Litres::from_cl(displacement),
            has_card: true,
            last_allocation: last.map(Money::from_fen),
            last_used: Money::from_fen(used),
        }
    }

    fn month(m: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, m, 1).unwrap()
    }

    #[test]
    fn bands_adjustments_floor_and_cap() {
        let p = policy();
        let l = plan_line(&p, &facts(160, None, 0), month(12));
        assert_eq!((l.base.fen(), l.amount.fen()), (80_000, 80_000));
        let l = plan_line(&p, &facts(200, None, 0), month(12));
        assert_eq!(l.base.fen(), 100_000);
        // 50% used → −10% of 800 = 720.
        let l = plan_line(&p, &facts(160, Some(80_000), 40_000), month(12));
        assert_eq!(
            (l.adjustment.fen(), l.amount.fen()),
            (-8_000, 72_000),
            "{}",
            l.reason
        );
        // 99% used → +10% of 1000 = 1100, capped at 1050.
        let l = plan_line(&p, &facts(200, Some(100_000), 99_000), month(12));
        assert_eq!(l.amount.fen(), 105_000);
        assert!(l.reason.contains("cap"), "{}", l.reason);
        // 80% used → no change.
        let l = plan_line(&p, &facts(160, Some(80_000), 64_000), month(12));
        assert_eq!(l.amount.fen(), 80_000);
    }

    #[test]
    fn private_quota_stops_when_the_arrangement_ends() {
        let p = policy();
        let mut f = facts(160, None, 0);
        f.plate = "浙A99999";
        assert_eq!(plan_line(&p, &f, month(12)).amount.fen(), 60_000);
        let next_year = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(plan_line(&p, &f, next_year).amount, Money::ZERO);
    }

    #[test]
    fn a_bad_policy_is_refused() {
        let mut p = policy();
        p.adjustment.floor = "2000".into();
        assert!(p.validate().is_err());
        let mut p = policy();
        p.base[0].amount = "8.001".into();
        assert!(p.validate().is_err());
    }
}
