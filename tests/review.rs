//! The monthly vehicle fuel review flags exactly the planted anomalies and
//! its totals equal the refuel log.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestEnv;

async fn planted(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.18", "card_discount_per_litre": "0.25"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "10000").await;
    let mut cards = std::collections::BTreeMap::new();
    for plate in ["浙A00001", "浙A00002", "浙A00003", "浙A00004"] {
        // Alert mode lets the planted refuels through, as a lenient manager would.
        let vehicle = json!({
            "plate": plate, "vehicle_type": "car", "displacement": "1.6", "products": ["92"],
            "tank_capacity": "50", "baseline_l_per_100km": "8",
            "controls": {"tank_capacity": "alert", "odometer": "alert", "product": "alert"}
        });
        let card = env
            .fleet_vehicle(&cashier, &manager, company, &main, vehicle)
            .await;
        env.money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": card, "amount": "1000", "pin": crate::support::MAIN_PIN}),
        )
        .await;
        cards.insert(plate, card);
    }
    let mut sold: Vec<Value> = Vec::new();
    for (plate, product, litres, km) in [
        ("浙A00001", "92", "30", 1_000),
        ("浙A00002", "92", "55", 1_000),
        ("浙A00003", "92", "20", 5_000),
        ("浙A00003", "92", "20", 4_000),
        ("浙A00004", "95", "10", 2_000),
    ] {
        let r = env
            .money(&cashier, "/api/v1/sales", json!({"card_number": cards[plate], "product": product, "litres": litres, "plate": plate, "odometer": km}))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{plate}: {}", r.1);
        sold.push(r.1);
    }
    let month = env.month();
    let path = format!(
        "/api/v1/fleet/{company}/reports/monthly?month={month}&odd_hours={}",
        env.closed_hours()
    );
    let r = env.get(&manager, &path).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let review = r.1;

    // Totals equal the refuel log.
    let cents = |v: &Value| -> i64 {
        let s = v.as_str().expect("decimal text");
        let (w, f) = s.split_once('.').expect("two decimals");
        w.parse::<i64>().expect("whole") * 100 + f.parse::<i64>().expect("fraction")
    };
    let litres: i64 = sold.iter().map(|s| cents(&s["litres"])).sum();
    let charged: i64 = sold.iter().map(|s| cents(&s["charged"])).sum();
    assert_eq!(cents(&review["total_litres"]), litres);
    assert_eq!(cents(&review["total_amount"]), charged);
    assert_eq!(review["total_refuels"], json!(5));
    let v3 = review["vehicles"]
        .as_array()
        .expect("vehicles")
        .iter()
        .find(|v| v["plate"] == json!("浙A00003"))
        .expect("v3")
        .clone();
    assert_eq!(v3["refuels"], json!(2));
    assert_eq!(v3["litres"], json!("40.00"));

    // Exactly the planted anomalies.
    let mut found: Vec<(String, String)> = review["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|a| {
            (
                a["plate"].as_str().expect("plate").to_string(),
                a["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    found.sort();
    let expected: Vec<(String, String)> = [
        ("浙A00002", "over_tank_capacity"),
        ("浙A00003", "odometer_backwards"),
        ("浙A00003", "too_close"),
        ("浙A00004", "wrong_product"),
    ]
    .iter()
    .map(|(p, k)| (p.to_string(), k.to_string()))
    .collect();
    assert_eq!(found, expected, "{}", review["anomalies"]);
    let over = review["anomalies"]
        .as_array()
        .expect("a")
        .iter()
        .find(|a| a["kind"] == json!("over_tank_capacity"))
        .expect("over")
        .clone();
    assert_eq!(over["sale_id"], sold[1]["id"]);
    assert!(
        over["reason"].as_str().expect("reason").contains("55.00 L"),
        "{over}"
    );

    // The manager answers one; it shows as acknowledged with the justification.
    let r = env
        .post(&manager, &format!("/api/v1/fleet/{company}/anomalies/ack"), json!({"sale_id": over["sale_id"], "kind": "over_tank_capacity", "justification": "auxiliary tank fitted"}))
        .await;
    assert_eq!(r.0, StatusCode::NO_CONTENT, "{}", r.1);
    let r = env.get(&manager, &path).await;
    let acked = r.1["anomalies"]
        .as_array()
        .expect("a")
        .iter()
        .find(|a| a["kind"] == json!("over_tank_capacity"))
        .expect("over")
        .clone();
    assert_eq!(acked["acknowledged"], json!(true));
    assert_eq!(acked["justification"], json!("auxiliary tank fitted"));

    // CSV download.
    let csv = env
        .client
        .get(format!(
            "{}/api/v1/fleet/{company}/reports/monthly.csv?month={month}",
            env.base
        ))
        .bearer_auth(&manager)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("浙A00003,,40.00,")),
        "{csv}"
    );

    // Nothing for another company's manager.
    let other = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "城建"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    env.add_user("fleet-b", "fleet_manager", None, Some(other))
        .await;
    let outsider = env.login("fleet-b").await;
    let r = env.get(&outsider, &path).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
}
on_both_backends!(monthly_review_flags_planted_anomalies, planted);
