//! Customer levels, lifecycle and the call-back list over four months of a
//! fixture (`fixtures/crm/`): the levels the service grades on the first
//! of November and of December, and the lifecycle on 1 December, equal the
//! table worked out by hand beside the fixture; the dormant customers are
//! on the station's call-back list, calls are recorded, and a refuel takes
//! a customer off it.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv, settings_at};
use fuelcard::crm::grading::{Level, Rules, Rung};

/// A table of the fixture (`fixtures/crm/`).
fn rows(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = format!("{}/fixtures/crm/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("a fixture file");
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("a fixture table")
}

/// The fixture's thresholds (its README): litres and yuan a month.
fn rules() -> Rules {
    let rung = |level, litres: i64, yuan: i64| Rung {
        level,
        litres_cl: litres * 100,
        recharge_fen: yuan * 100,
    };
    Rules {
        rungs: [
            rung(Level::Gold, 200, 5000),
            rung(Level::Key, 100, 2000),
            rung(Level::PotentialKey, 40, 800),
            rung(Level::Ordinary, 10, 200),
        ],
        ..Rules::default()
    }
}

/// Grades as the service does at `instant` (the first minute of a month).
async fn grade_at(env: &TestEnv, instant: &str) {
    let settings = fuelcard::config::Settings {
        grading: rules(),
        ..settings_at(instant)
    };
    fuelcard::actions::jobs::grade_customers(&env.db, &settings).await;
}

async fn level_of(env: &TestEnv, customer: i64, month: &str) -> String {
    sqlx::query_scalar::<_, String>(
        "SELECT level FROM customer_grades WHERE customer_id = $1 AND month = $2",
    )
    .bind(customer)
    .bind(month)
    .fetch_optional(env.db.pool())
    .await
    .expect("a grade read")
    .unwrap_or_default()
}

fn callback_ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| c["customer_id"].as_i64().expect("a customer"))
        .collect()
}

async fn four_months(backend: Backend) {
    let Some(mut env) =
        TestEnv::start_with(backend, settings_at("2026-08-01T09:00:00+08:00")).await
    else {
        return;
    };
    let mut customers: BTreeMap<String, (i64, String)> = BTreeMap::new();
    let mut phone = 13_900_000_200_u64;
    let mut graded = Vec::new();
    for e in rows("events.csv") {
        let at = &e["at"];
        for (month, first) in [
            ("2026-11", "2026-11-01T00:01:00+08:00"),
            ("2026-12", "2026-12-01T00:01:00+08:00"),
        ] {
            if at.as_str() > first && !graded.contains(&month) {
                grade_at(&env, first).await;
                graded.push(month);
            }
        }
        env = env.on_day(at).await;
        let cashier = env.login("cashier1").await;
        let who = e["customer"].clone();
        match e["event"].as_str() {
            "open" => {
                phone += 1;
                let id = env
                    .new_person(&cashier, &format!("客户{who}"), &phone.to_string())
                    .await;
                let card = env
                    .new_card(&cashier, json!({"kind": "personal", "customer_id": id}))
                    .await;
                customers.insert(who, (id, card));
            }
            "recharge" => {
                let r = env
                    .money(
                        &cashier,
                        &format!("/api/v1/cards/{}/recharges", customers[&who].1),
                        json!({"amount": e["amount"], "payment_method": "cash"}),
                    )
                    .await;
                assert_eq!(r.0, StatusCode::CREATED, "{at} {who}: {}", r.1);
            }
            "refuel" => {
                let r = env
                    .money(
                        &cashier,
                        "/api/v1/sales",
                        json!({"card_number": customers[&who].1, "product": "92",
                               "litres": e["amount"]}),
                    )
                    .await;
                assert_eq!(r.0, StatusCode::CREATED, "{at} {who}: {}", r.1);
            }
            other => panic!("no event {other:?}"),
        }
    }
    grade_at(&env, "2026-12-01T00:01:00+08:00").await;
    // Graded once a month: a second run changes nothing.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customer_grades")
        .fetch_one(env.db.pool())
        .await
        .expect("count");
    grade_at(&env, "2026-12-01T08:00:00+08:00").await;
    assert_eq!(env.count("customer_grades").await, before);

    let env = env.on_day("2026-12-01T11:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    let list = env.get(&cashier, "/api/v1/callbacks").await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
    let mut on_list = Vec::new();
    for want in rows("expected.csv") {
        let (id, _) = &customers[&want["customer"]];
        let who = &want["customer"];
        assert_eq!(
            level_of(&env, *id, "2026-11").await,
            want["level_2026_11"],
            "{who} in November"
        );
        let r = env
            .get(&env.admin, &format!("/api/v1/customers/{id}"))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(
            r.1["level"],
            want["level_2026_12"].as_str(),
            "{who}: {}",
            r.1
        );
        assert_eq!(
            r.1["lifecycle"],
            want["lifecycle_2026_12_01"].as_str(),
            "{who}: {}",
            r.1
        );
        if want["on_callback_list"] == "yes" {
            on_list.push(*id);
        }
    }
    // Each change of level is on the customer's timeline, in its month.
    for (who, changes) in [
        ("A", vec![("2026-12", "gold"), ("2026-11", "key")]),
        ("B", vec![("2026-11", "key")]),
        ("F", vec![("2026-12", "marginal"), ("2026-11", "ordinary")]),
    ] {
        let id = customers[who].0;
        let r = env
            .get(&cashier, &format!("/api/v1/customers/{id}/timeline"))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        let seen: Vec<(String, String)> = r.1["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["kind"] == "level_changed")
            .map(|e| (e["month"].to_string(), e["detail"].to_string()))
            .collect();
        let want: Vec<(String, String)> = changes
            .iter()
            .map(|(m, l)| (json!(m).to_string(), json!(l).to_string()))
            .collect();
        assert_eq!(seen, want, "{who}");
    }
    // The longest quiet first: F (since 10 August), then C (16 October).
    assert_eq!(
        callback_ids(&list.1),
        on_list.iter().rev().copied().collect::<Vec<_>>()
    );
    let f = &list.1[0];
    assert_eq!(f["usual_monthly_litres"], "13.33", "{f}");
    assert_eq!(f["quiet_days"], 113);
    assert_eq!(f["staff"], "cashier1");
    assert_eq!(f["station"], "S1");
    assert!(
        f["phone"].as_str().is_some_and(|p| p.starts_with("****")),
        "masked for a cashier: {f}"
    );
    let c = &list.1[1];
    assert_eq!(c["usual_monthly_litres"], "50.00", "{c}");
    assert_eq!(c["quiet_days"], 46);

    // A call is recorded on the entry; a lost customer is past calling.
    let (c_id, c_card) = customers["C"].clone();
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/callbacks/{c_id}/calls"),
            json!({"outcome": "will_return", "notes": "说下周来"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["calls"][0]["outcome"], "will_return");
    assert_eq!(r.1["calls"][0]["by"], "cashier1");
    let b = customers["B"].0;
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/callbacks/{b}/calls"),
            json!({"outcome": "no_answer"}),
        )
        .await;
    assert_eq!(r.1["code"], "not_on_callback_list", "{}", r.1);
    assert_eq!(env.count("callback_calls").await, 1);

    // Another station's cashier sees none of S1's list.
    env.add_user("cashier-s2", "cashier", Some("S2"), None)
        .await;
    let other = env.login("cashier-s2").await;
    let r = env.get(&other, "/api/v1/callbacks").await;
    assert_eq!(callback_ids(&r.1), Vec::<i64>::new(), "{}", r.1);
    let r = env.get(&other, "/api/v1/callbacks?station=S1").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .post(
            &other,
            &format!("/api/v1/callbacks/{c_id}/calls"),
            json!({"outcome": "reached"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);

    // C comes back: one refuel takes them off the list.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": c_card, "product": "92", "litres": "30"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env.get(&cashier, "/api/v1/callbacks").await;
    assert_eq!(callback_ids(&r.1), vec![customers["F"].0], "{}", r.1);
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(grading_four_months, four_months);
