//! The demo network's fleets, seeded the way `fuelcard serve --demo` seeds
//! them: the latest complete month's review flags exactly the anomalies the
//! README names, every other truck runs near its baseline, and each
//! vehicle's allocation is approved and partly used.

use chrono::{Datelike as _, Months};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row as _;

use crate::support::{Backend, FreshDb};

/// The planted anomalies as the README names them: plate, kind and day of
/// the latest complete month (none: the month as a whole).
const PLANTED: [(&str, &str, Option<u32>); 4] = [
    ("浙A23456", "over_tank_capacity", Some(6)),
    ("浙A34567", "odometer_backwards", Some(13)),
    ("浙A45678", "odd_hours", Some(20)),
    ("浙A56789", "consumption_far_from_baseline", None),
];

async fn review(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    company: i64,
    month: &str,
) -> Value {
    let r = client
        .get(format!(
            "{base}/api/v1/fleet/{company}/reports/monthly?month={month}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("a review")
}

async fn planted_month(backend: Backend) {
    let Some(fresh) = FreshDb::create(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a dir");
    let clock = crate::support::settings().clock;
    let tz = crate::support::settings().time_zone;
    let (server, base) =
        crate::support::spawn_demo_server(&fresh.url, &dir.path().join("k"), &clock).await;
    let db = fuelcard::db::Db::connect(&fresh.url, 1)
        .await
        .expect("connect");
    let company = async |name: &str| -> i64 {
        sqlx::query("SELECT id FROM customers WHERE name = $1")
            .bind(name)
            .fetch_one(db.pool())
            .await
            .expect("the demo company")
            .try_get("id")
            .expect("an id")
    };
    let (a, b) = (
        company("顺达物流有限公司").await,
        company("城建工程有限公司").await,
    );
    let client = reqwest::Client::new();
    let fleet_a = crate::support::login(&client, &base, "fleet-a", "fleet-a-demo").await;
    let fleet_b = crate::support::login(&client, &base, "fleet-b", "fleet-b-demo").await;
    let today = fuelcard::time::local_date(clock.now_us(), tz);
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(1)))
        .expect("last month");
    let month = first.format("%Y-%m").to_string();

    // Exactly the planted anomalies, on their days, none answered yet.
    let r = review(&client, &base, &fleet_a, a, &month).await;
    let mut found = Vec::new();
    for x in r["anomalies"].as_array().expect("anomalies") {
        assert_eq!(x["month"], Value::from(month.clone()), "{x}");
        assert_eq!(x["acknowledged"], Value::Bool(false), "{x}");
        let at: i64 = sqlx::query("SELECT created_at FROM sales WHERE id = $1")
            .bind(x["sale_id"].as_i64().expect("a sale"))
            .fetch_one(db.pool())
            .await
            .expect("the refuel")
            .try_get("created_at")
            .expect("its time");
        // A consumption anomaly is the month's, shown on its last refuel.
        let kind = x["kind"].as_str().expect("a kind");
        let day = fuelcard::time::local_date(at, tz);
        let when = if kind == "consumption_far_from_baseline" {
            day.format("%Y-%m")
        } else {
            day.format("%Y-%m-%d")
        };
        found.push((
            x["plate"].as_str().expect("a plate").to_string(),
            kind.to_string(),
            when.to_string(),
        ));
    }
    found.sort();
    let expected: Vec<(String, String, String)> = PLANTED
        .iter()
        .map(|(plate, kind, day)| {
            let when = match day {
                Some(d) => first
                    .with_day(*d)
                    .expect("a day")
                    .format("%Y-%m-%d")
                    .to_string(),
                None => month.clone(),
            };
            (plate.to_string(), kind.to_string(), when)
        })
        .collect();
    assert_eq!(found, expected, "{}", r["anomalies"]);

    // The rest is believable: consumption near the baseline (the thirsty
    // truck 40 % above it) and each allocation approved and partly used.
    let r_b = review(&client, &base, &fleet_b, b, &month).await;
    assert_eq!(r_b["anomalies"], serde_json::json!([]), "{r_b}");
    let lines: Vec<Value> = [&r, &r_b]
        .iter()
        .flat_map(|r| r["vehicles"].as_array().expect("vehicles").clone())
        .collect();
    assert_eq!(lines.len(), 6);
    let number = |l: &Value, k: &str| -> f64 {
        l[k].as_str()
            .unwrap_or_else(|| panic!("{k} of {l}"))
            .parse()
            .expect("a number")
    };
    for l in &lines {
        let deviation = number(l, "vs_baseline_percent");
        if l["plate"] == "浙A56789" {
            assert!((35.0..=45.0).contains(&deviation), "{l}");
        } else {
            assert!(deviation.abs() <= 15.0, "{l}");
        }
        let used = number(l, "allocation_used_percent");
        assert!(used > 0.0 && used <= 100.0, "{l}");
        assert!(number(l, "allocation") > 0.0, "{l}");
    }

    // This month's review so far adds nothing: the four, carried over.
    let now = review(
        &client,
        &base,
        &fleet_a,
        a,
        &today.format("%Y-%m").to_string(),
    )
    .await;
    let carried: Vec<(&str, &str)> = now["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|x| {
            assert_eq!(x["month"], Value::from(month.clone()), "{x}");
            (
                x["plate"].as_str().expect("a plate"),
                x["kind"].as_str().expect("a kind"),
            )
        })
        .collect();
    let planted: Vec<(&str, &str)> = PLANTED.iter().map(|(p, k, _)| (*p, *k)).collect();
    assert_eq!(carried, planted, "{}", now["anomalies"]);

    // And the README names them.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    for (plate, kind, _) in PLANTED {
        assert!(
            readme.contains(plate) && readme.contains(&format!("`{kind}`")),
            "the README names {plate}'s {kind}"
        );
    }
    db.close().await;
    drop(server);
    fresh.drop_database().await;
}
crate::with_each_backend!(demo_review_flags_the_planted_anomalies, planted_month);
