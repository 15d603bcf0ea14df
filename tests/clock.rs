//! Stories whose answers depend on the hour, the day of the month or the
//! month, each run with the server's clock set to instants that break a
//! service reading the wrong clock or the wrong zone: 02:00 in Shanghai
//! (inside the default odd-hours window, and still the day before in UTC),
//! noon, the last minute of a month, and the allocation day (the 25th) at
//! 02:00 in December, when UTC is still on the 24th and the next month is
//! in the next year.

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestEnv, fixture, spawn_server};

/// Runs `$story` on both backends with the server's clock started at each
/// instant, as `$story::$instant::{sqlite, postgres}`.
macro_rules! at_instants {
    ($story:ident: $($instant:ident => $at:literal),+ $(,)?) => {
        mod $story {
            $(
                mod $instant {
                    async fn run(backend: $crate::support::Backend) {
                        let settings = $crate::support::settings_at($at);
                        if let Some(env) = $crate::support::TestEnv::start_with(backend, settings).await {
                            super::super::$story(&env).await;
                            env.assert_ledger_ok().await;
                            env.finish().await;
                        }
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn sqlite() {
                        run($crate::support::Backend::Sqlite).await;
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn postgres() {
                        run($crate::support::Backend::Postgres).await;
                    }
                }
            )+
        }
    };
}

at_instants!(fleet_review:
    two_am => "2026-11-18T02:00:00+08:00",
    noon => "2026-11-18T12:00:00+08:00",
    month_end => "2026-11-30T23:59:00+08:00",
    allocation_day_two_am => "2026-12-25T02:00:00+08:00",
);

at_instants!(day_end:
    two_am => "2026-11-18T02:00:00+08:00",
    noon => "2026-11-18T12:00:00+08:00",
    month_end => "2026-11-30T23:59:00+08:00",
    allocation_day_two_am => "2026-12-25T02:00:00+08:00",
);

at_instants!(allocation_day:
    two_am => "2026-11-18T02:00:00+08:00",
    month_end => "2026-11-30T23:59:00+08:00",
    the_25th => "2026-11-25T09:00:00+08:00",
    allocation_day_two_am => "2026-12-25T02:00:00+08:00",
);

fn zone() -> Tz {
    fuelcard::config::Settings::default().time_zone
}

/// The local time of an RFC 3339 instant the API answered.
fn local(text: &str) -> DateTime<Tz> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 time")
        .with_timezone(&zone())
}

fn month_of(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

fn next_month(day: NaiveDate) -> String {
    let first = day.with_day(1).expect("the first of the month");
    month_of(
        first
            .checked_add_months(chrono::Months::new(1))
            .expect("a next month"),
    )
}

/// A fleet vehicle refuelled now is in the review of the month the refuel
/// falls in locally, flagged `odd_hours` exactly when its local hour is in
/// the default window (23:00–05:00), and absent from the next month's totals.
async fn fleet_review(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "1000").await;
    let plate = "浙A10001";
    let vehicle = json!({
        "plate": plate, "vehicle_type": "car", "displacement": "1.6", "products": ["92"],
        "tank_capacity": "50", "baseline_l_per_100km": "8"
    });
    let card = env
        .fleet_vehicle(&cashier, &manager, company, &main, vehicle)
        .await;
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": card, "amount": "500", "pin": crate::support::MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let sale = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": "30", "plate": plate, "odometer": 1000}),
        )
        .await;
    assert_eq!(sale.0, StatusCode::CREATED, "{}", sale.1);
    let sold_at = local(sale.1["time"].as_str().expect("the sale's time"));
    let month = month_of(sold_at.date_naive());

    let review = env
        .get(
            &manager,
            &format!("/api/v1/fleet/{company}/reports/monthly?month={month}"),
        )
        .await;
    assert_eq!(review.0, StatusCode::OK, "{}", review.1);
    assert_eq!(review.1["total_refuels"], json!(1), "{}", review.1);
    assert_eq!(review.1["total_litres"], json!("30.00"));
    let kinds: Vec<&str> = review.1["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|a| a["kind"].as_str().expect("a kind"))
        .collect();
    let hour = sold_at.hour();
    let odd = !(5..23).contains(&hour);
    let expected: Vec<&str> = if odd { vec!["odd_hours"] } else { vec![] };
    assert_eq!(kinds, expected, "a refuel at {sold_at}: {}", review.1);

    let next = next_month(sold_at.date_naive());
    let later = env
        .get(
            &manager,
            &format!("/api/v1/fleet/{company}/reports/monthly?month={next}"),
        )
        .await;
    assert_eq!(later.0, StatusCode::OK, "{}", later.1);
    assert_eq!(later.1["total_refuels"], json!(0), "{}", later.1);
    assert_eq!(later.1["total_litres"], json!("0.00"));
}

/// The station's day report for today (its default date) is the local day
/// the shift ran: it holds the recharge, the sale and the closed shift's
/// count; the local day before holds none of them.
async fn day_end(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let card = env.funded_card(&cashier, "1000").await;
    let sale = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": "30"}),
        )
        .await;
    assert_eq!(sale.0, StatusCode::CREATED, "{}", sale.1);
    let day = local(sale.1["time"].as_str().expect("the sale's time")).date_naive();
    let shift = env.get(&cashier, "/api/v1/shifts/current").await;
    assert_eq!(shift.0, StatusCode::OK, "{}", shift.1);
    let id = shift.1["id"].as_i64().expect("a shift id");
    let closed = env
        .post(
            &cashier,
            &format!("/api/v1/shifts/{id}/close"),
            json!({"counted_cash": "1000.00", "counted_bank_card": "0", "counted_transfer": "0"}),
        )
        .await;
    assert_eq!(closed.0, StatusCode::OK, "{}", closed.1);
    assert_eq!(closed.1["difference"], json!("0.00"), "{}", closed.1);

    let report = env.get(&cashier, "/api/v1/stations/S1/day-report").await;
    assert_eq!(report.0, StatusCode::OK, "{}", report.1);
    assert_eq!(report.1["date"], json!(day.to_string()), "{}", report.1);
    let shifts = report.1["shifts"].as_array().expect("shifts");
    assert_eq!(shifts.len(), 1, "{}", report.1);
    assert_eq!(shifts[0]["id"], json!(id));
    assert_eq!(report.1["expected"]["cash"], json!("1000.00"));
    assert_eq!(report.1["counted_difference"], json!("0.00"));
    assert_eq!(report.1["recharges"], json!(1));
    let products: &Vec<Value> = report.1["products"].as_array().expect("products");
    assert_eq!(products.len(), 1, "{}", report.1);
    assert_eq!(products[0]["litres"], json!("30.00"));

    let before = day.pred_opt().expect("a day before");
    let earlier = env
        .get(
            &cashier,
            &format!("/api/v1/stations/S1/day-report?date={before}"),
        )
        .await;
    assert_eq!(earlier.0, StatusCode::OK, "{}", earlier.1);
    assert_eq!(earlier.1["shifts"], json!([]), "{}", earlier.1);
    assert_eq!(earlier.1["products"], json!([]));
    assert_eq!(earlier.1["recharges"], json!(0));
}

/// A server started on a company's allocation day (the 25th, local) drafts
/// next month's plan before it answers; started on any other day it drafts
/// none.
async fn allocation_day(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, _) = env.company(&cashier, "顺达物流", "fleet-a", "1000").await;
    let policy: toml::Value = toml::from_str(&fixture("policy.toml")).expect("toml");
    assert_eq!(policy["allocation_day"].as_integer(), Some(25));
    env.put_fixture_policy(&manager, company).await;

    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, _) = spawn_server(&env.fresh.url, &dir.path().join("k"), &env.clock).await;
    let (today, _, _) = env.local_now();
    let today = NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("a date");
    let month = next_month(today);
    let plan = env
        .get(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations/{month}"),
        )
        .await;
    if today.day() == 25 {
        assert_eq!(plan.0, StatusCode::OK, "on {today}: {}", plan.1);
        assert_eq!(plan.1["month"], json!(month));
        assert_eq!(plan.1["status"], json!("draft"));
    } else {
        assert_eq!(plan.0, StatusCode::NOT_FOUND, "on {today}: {}", plan.1);
    }
}
