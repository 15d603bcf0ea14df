//! The review's one carry-over rule, over four months on the set clock: an
//! anomaly not yet acknowledged, from any earlier month, is listed in every
//! later review (with its own month) until the manager acknowledges it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, MAIN_PIN, TestEnv};

/// The anomalies a review lists: (month, plate, kind, sale id).
async fn listed(
    env: &TestEnv,
    manager: &str,
    company: i64,
    month: &str,
) -> Vec<(String, String, String, i64)> {
    let path = format!("/api/v1/fleet/{company}/reports/monthly?month={month}");
    let r = env.get(manager, &path).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let text = |a: &Value, k: &str| a[k].as_str().expect("text").to_string();
    r.1["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|a| {
            (
                text(a, "month"),
                text(a, "plate"),
                text(a, "kind"),
                a["sale_id"].as_i64().expect("a sale"),
            )
        })
        .collect()
}

/// A fleet refuel at the counter; returns the sale's id.
async fn refuel(
    env: &TestEnv,
    cashier: &str,
    card: &str,
    plate: &str,
    litres: &str,
    km: i64,
) -> i64 {
    let r = env
        .money(
            cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": litres, "plate": plate, "odometer": km}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{plate}: {}", r.1);
    r.1["id"].as_i64().expect("a sale id")
}

fn row(month: &str, plate: &str, kind: &str, sale: i64) -> (String, String, String, i64) {
    (month.into(), plate.into(), kind.into(), sale)
}

async fn four_months(backend: Backend) {
    let Some(env) = TestEnv::start(backend).await else {
        return;
    };
    // November 2026 (the test clock): one truck over its tank.
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "5000").await;
    let mut cards = Vec::new();
    for plate in ["浙A00001", "浙A00002"] {
        // Alert mode lets the refuels through, for the review to question.
        let mut vehicle = crate::support::car(plate);
        vehicle["controls"] = json!({"tank_capacity": "alert", "odometer": "alert"});
        let card = env
            .fleet_vehicle(&cashier, &manager, company, &main, vehicle)
            .await;
        let r = env
            .money(
                &cashier,
                "/api/v1/transfers",
                json!({"from_card": main, "to_card": card, "amount": "2000", "pin": MAIN_PIN}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        cards.push(card);
    }
    let over = refuel(&env, &cashier, &cards[0], "浙A00001", "55", 10_000).await;
    refuel(&env, &cashier, &cards[1], "浙A00002", "30", 20_000).await;
    let nov_over = row("2026-11", "浙A00001", "over_tank_capacity", over);
    assert_eq!(
        listed(&env, &manager, company, "2026-11").await,
        vec![nov_over.clone()]
    );

    // December: the other truck's first refuel of the month reads below
    // November's; November's anomaly, unanswered, is carried over.
    let env = env.on_day("2026-12-15T10:00:00+08:00").await;
    let (cashier, manager) = (env.login("cashier1").await, env.login("fleet-a").await);
    let back = refuel(&env, &cashier, &cards[1], "浙A00002", "30", 19_000).await;
    let dec_back = row("2026-12", "浙A00002", "odometer_backwards", back);
    assert_eq!(
        listed(&env, &manager, company, "2026-12").await,
        vec![dec_back.clone(), nov_over.clone()]
    );

    // January: both carried over, as their own months found them; once the
    // manager answers November's, it leaves January's list and stays in
    // November's review, acknowledged.
    let env = env.on_day("2027-01-14T10:00:00+08:00").await;
    let manager = env.login("fleet-a").await;
    assert_eq!(
        listed(&env, &manager, company, "2027-01").await,
        vec![nov_over.clone(), dec_back.clone()]
    );
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/anomalies/ack"),
            json!({"sale_id": over, "kind": "over_tank_capacity", "justification": "auxiliary tank fitted"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::NO_CONTENT, "{}", r.1);
    assert_eq!(
        listed(&env, &manager, company, "2027-01").await,
        vec![dec_back.clone()]
    );
    let r = env
        .get(
            &manager,
            &format!("/api/v1/fleet/{company}/reports/monthly?month=2026-11"),
        )
        .await;
    assert_eq!(r.1["anomalies"][0]["acknowledged"], json!(true), "{}", r.1);
    assert_eq!(
        r.1["anomalies"][0]["justification"],
        json!("auxiliary tank fitted")
    );

    // February, and a review half a year on: December's is still carried,
    // November's no more.
    let env = env.on_day("2027-02-10T10:00:00+08:00").await;
    let manager = env.login("fleet-a").await;
    for month in ["2027-02", "2027-06"] {
        assert_eq!(
            listed(&env, &manager, company, month).await,
            vec![dec_back.clone()],
            "{month}"
        );
    }
    env.assert_ledger_ok().await;
    env.finish().await;
}
crate::with_each_backend!(carry_over_until_acknowledged, four_months);
