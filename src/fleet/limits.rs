//! Sale-time limits for fleet vehicles, as pure rules.
//!
//! Every control has its own refusal code and a message a cashier can read
//! out. Each can be set by the fleet manager to decline the sale or to let it
//! through and raise an alert; a one-off override lets one sale pass one
//! control. The counters the daily and monthly checks need are read before,
//! so the check is constant-time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Code;
use crate::money::{Litres, Money};

/// The controls a fleet manager can set.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    Plate,
    Product,
    SaleMaximum,
    DailyMaximum,
    MonthlyAllocation,
    Hours,
    Station,
    Odometer,
    TankCapacity,
}

impl Control {
    pub const ALL: [Control; 9] = [
        Control::Plate,
        Control::Product,
        Control::SaleMaximum,
        Control::DailyMaximum,
        Control::MonthlyAllocation,
        Control::Hours,
        Control::Station,
        Control::Odometer,
        Control::TankCapacity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Control::Plate => "plate",
            Control::Product => "product",
            Control::SaleMaximum => "sale_maximum",
            Control::DailyMaximum => "daily_maximum",
            Control::MonthlyAllocation => "monthly_allocation",
            Control::Hours => "hours",
            Control::Station => "station",
            Control::Odometer => "odometer",
            Control::TankCapacity => "tank_capacity",
        }
    }

    pub fn parse(text: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// What a breached control does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Decline,
    Alert,
}

/// Allowed local hours, `start..end` in minutes after midnight; a window
/// that wraps midnight (22:00–06:00) is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub start_min: u32,
    pub end_min: u32,
}

impl std::fmt::Display for Hours {
    /// As it is written and parsed: `"06:00-22:00"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = (self.start_min, self.end_min);
        write!(f, "{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
    }
}

impl Hours {
    /// Parses `"06:00-22:00"`.
    pub fn parse(text: &str) -> Option<Hours> {
        let (a, b) = text.trim().split_once('-')?;
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            // `then`, not `then_some`: the sum must not be computed for an
            // hour too large to multiply.
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then(|| h * 60 + m)
        };
        let (start_min, end_min) = (minutes(a)?, minutes(b)?);
        (start_min != end_min).then_some(Hours { start_min, end_min })
    }

    pub fn contains(self, minute_of_day: u32) -> bool {
        if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start_min || minute_of_day < self.end_min
        }
    }

    pub fn text(self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

/// A vehicle's rules, as the fleet manager set them.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub plate: String,
    pub products: Vec<String>,
    pub tank: Litres,
    pub max_sale_litres: Option<Litres>,
    pub max_sale_amount: Option<Money>,
    pub max_day_litres: Option<Litres>,
    pub max_day_amount: Option<Money>,
    pub hours: Option<Hours>,
    pub stations: Option<Vec<String>>,
    pub modes: BTreeMap<Control, Mode>,
    pub last_odometer_km: Option<i64>,
}

/// The vehicle's running usage before this sale.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub day_litres: Litres,
    pub day_amount: Money,
    pub month_amount: Money,
    /// The month's approved allocation; `None`: limited by the balance alone.
    pub month_allocation: Option<Money>,
}

/// The sale being checked.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub plate: Option<&'a str>,
    pub product: &'a str,
    pub litres: Litres,
    pub charged: Money,
    pub station: &'a str,
    pub minute_of_day: u32,
    pub odometer_km: Option<i64>,
}

/// One breached control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    pub control: Control,
    #[serde(skip)]
    pub code: Code,
    pub message: String,
}

fn breach(control: Control, code: Code, message: String) -> Breach {
    Breach {
        control,
        code,
        message,
    }
}

/// Every control the sale breaches, in a fixed order.
pub fn breaches(rules: &Rules, usage: &Usage, f: &Facts<'_>) -> Vec<Breach> {
    let mut out = Vec::new();
    // One car, one card: the plate is checked on every sale, so a sale
    // that names none breaches the plate control too.
    match f.plate {
        Some(plate) if super::vehicles::normalise_plate(plate) != rules.plate => out.push(breach(
            Control::Plate,
            Code::PlateMismatch,
            format!("this card belongs to vehicle {}, not {plate}", rules.plate),
        )),
        Some(_) => {}
        None => out.push(breach(
            Control::Plate,
            Code::PlateRequired,
            format!(
                "a fleet card's sale names the vehicle's plate ({})",
                rules.plate
            ),
        )),
    }
    if !rules.products.is_empty() && !rules.products.iter().any(|p| p == f.product) {
        out.push(breach(
            Control::Product,
            Code::ProductNotAllowed,
            format!(
                "vehicle {} takes {} only, not {}",
                rules.plate,
                rules.products.join(", "),
                f.product
            ),
        ));
    }
    if f.litres > rules.tank {
        out.push(breach(
            Control::TankCapacity,
            Code::OverTankCapacity,
            format!(
                "{} L is more than the {} L tank of {}",
                f.litres, rules.tank, rules.plate
            ),
        ));
    }
    let over_sale_litres = rules.max_sale_litres.is_some_and(|m| f.litres > m);
    let over_sale_amount = rules.max_sale_amount.is_some_and(|m| f.charged > m);
    if over_sale_litres || over_sale_amount {
        out.push(breach(
            Control::SaleMaximum,
            Code::SaleLimitExceeded,
            "above the per-sale maximum for this vehicle".into(),
        ));
    }
    let day_litres = Litres::from_cl(usage.day_litres.cl() + f.litres.cl());
    let day_amount = Money::from_fen(usage.day_amount.fen() + f.charged.fen());
    if rules.max_day_litres.is_some_and(|m| day_litres > m)
        || rules.max_day_amount.is_some_and(|m| day_amount > m)
    {
        out.push(breach(
            Control::DailyMaximum,
            Code::DailyLimitExceeded,
            "above today's maximum for this vehicle".into(),
        ));
    }
    if let Some(allocation) = usage.month_allocation {
        let month = Money::from_fen(usage.month_amount.fen() + f.charged.fen());
        if month > allocation {
            let left = Money::from_fen((allocation.fen() - usage.month_amount.fen()).max(0));
            out.push(breach(
                Control::MonthlyAllocation,
                Code::MonthlyAllocationExceeded,
                format!("only {left} of this month's allocation of {allocation} is left"),
            ));
        }
    }
    if let Some(h) = rules.hours {
        if !h.contains(f.minute_of_day) {
            out.push(breach(
                Control::Hours,
                Code::OutsideAllowedHours,
                format!("this vehicle may fuel only {}", h.text()),
            ));
        }
    }
    if let Some(stations) = &rules.stations {
        if !stations.iter().any(|s| s == f.station) {
            out.push(breach(
                Control::Station,
                Code::StationNotAllowed,
                format!("this vehicle may not fuel at station {}", f.station),
            ));
        }
    }
    match (f.odometer_km, rules.last_odometer_km) {
        (None, _) => out.push(breach(
            Control::Odometer,
            Code::OdometerRequired,
            "a fleet refuel needs the odometer reading".into(),
        )),
        (Some(now), Some(last)) if now < last => out.push(breach(
            Control::Odometer,
            Code::OdometerBackwards,
            format!("odometer {now} km is below the last reading {last} km"),
        )),
        _ => {}
    }
    out
}

/// Splits breaches into the refusal (the first declining control not
/// overridden) and the alerts to record with the sale.
pub fn decide(
    rules: &Rules,
    found: Vec<Breach>,
    overridden: &[Control],
) -> (Option<Breach>, Vec<Breach>) {
    let mut alerts = Vec::new();
    for b in found {
        let mode = rules.modes.get(&b.control).copied().unwrap_or_default();
        if overridden.contains(&b.control) || mode == Mode::Alert {
            alerts.push(b);
        } else {
            return (Some(b), alerts);
        }
    }
    (None, alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            plate: "浙A12345".into(),
            products: vec!["92".into(), "95".into()],
            tank: Litres::from_cl(6000),
            max_sale_litres: Some(Litres::from_cl(5000)),
            max_sale_amount: None,
            max_day_litres: Some(Litres::from_cl(8000)),
            max_day_amount: None,
            hours: Hours::parse("06:00-22:00"),
            stations: Some(vec!["S1".into(), "S2".into()]),
            modes: BTreeMap::new(),
            last_odometer_km: Some(12_000),
        }
    }

    fn facts() -> Facts<'static> {
        Facts {
            plate: Some("浙A12345"),
            product: "92",
            litres: Litres::from_cl(4000),
            charged: Money::from_fen(30_000),
            station: "S1",
            minute_of_day: 9 * 60,
            odometer_km: Some(12_400),
        }
    }

    fn codes(r: &Rules, u: &Usage, f: &Facts<'_>) -> Vec<Code> {
        breaches(r, u, f).into_iter().map(|b| b.code).collect()
    }

    #[test]
    fn a_clean_sale_passes() {
        assert!(codes(&rules(), &Usage::default(), &facts()).is_empty());
    }

    #[test]
    fn each_control_has_its_code() {
        let r = rules();
        let u = Usage::default();
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    plate: Some("浙B1"),
                    ..facts()
                }
            ),
            vec![Code::PlateMismatch]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    plate: None,
                    ..facts()
                }
            ),
            vec![Code::PlateRequired]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    product: "0",
                    ..facts()
                }
            ),
            vec![Code::ProductNotAllowed]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    litres: Litres::from_cl(6100),
                    ..facts()
                }
            ),
            vec![Code::OverTankCapacity, Code::SaleLimitExceeded]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    litres: Litres::from_cl(5500),
                    ..facts()
                }
            ),
            vec![Code::SaleLimitExceeded]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    minute_of_day: 23 * 60,
                    ..facts()
                }
            ),
            vec![Code::OutsideAllowedHours]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    station: "S9",
                    ..facts()
                }
            ),
            vec![Code::StationNotAllowed]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    odometer_km: None,
                    ..facts()
                }
            ),
            vec![Code::OdometerRequired]
        );
        assert_eq!(
            codes(
                &r,
                &u,
                &Facts {
                    odometer_km: Some(11_999),
                    ..facts()
                }
            ),
            vec![Code::OdometerBackwards]
        );
        let day = Usage {
            day_litres: Litres::from_cl(4500),
            ..u
        };
        assert_eq!(codes(&r, &day, &facts()), vec![Code::DailyLimitExceeded]);
        let month = Usage {
            month_amount: Money::from_fen(90_000),
            month_allocation: Some(Money::from_fen(100_000)),
            ..u
        };
        assert_eq!(
            codes(&r, &month, &facts()),
            vec![Code::MonthlyAllocationExceeded]
        );
        // No approved allocation: the balance alone limits.
        let none = Usage {
            month_amount: Money::from_fen(9_000_000),
            ..u
        };
        assert!(codes(&r, &none, &facts()).is_empty());
    }

    #[test]
    fn alert_mode_and_overrides_let_the_sale_through() {
        let mut r = rules();
        let found = breaches(
            &r,
            &Usage::default(),
            &Facts {
                station: "S9",
                minute_of_day: 23 * 60,
                ..facts()
            },
        );
        let (refused, alerts) = decide(&r, found.clone(), &[]);
        assert_eq!(refused.map(|b| b.control), Some(Control::Hours));
        assert!(alerts.is_empty());
        r.modes.insert(Control::Hours, Mode::Alert);
        let (refused, alerts) = decide(&r, found.clone(), &[]);
        assert_eq!(refused.map(|b| b.control), Some(Control::Station));
        assert_eq!(alerts.len(), 1);
        let (refused, alerts) = decide(&r, found, &[Control::Station]);
        assert!(refused.is_none());
        assert_eq!(alerts.len(), 2);
    }

    #[test]
    fn hours_parse_and_wrap() {
        let night = Hours::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(60));
        assert!(!night.contains(12 * 60));
        assert!(Hours::parse("25:00-06:00").is_none());
        assert!(Hours::parse("06:00-06:00").is_none());
        assert!(Hours::parse("256366808:00-05:00").is_none());
        assert_eq!(Hours::parse("6:00-22:30").unwrap().text(), "06:00-22:30");
    }
}
