//! Early top-ups, card lending and cash refuel exceptions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestEnv;

async fn requests_between_runs(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "5000").await;
    let plate = "浙A55555";
    let vehicle = json!({
        "plate": plate, "vehicle_type": "van", "displacement": "2.0", "products": ["92"],
        "tank_capacity": "70", "baseline_l_per_100km": "10"
    });
    let card = env
        .fleet_vehicle(&cashier, &manager, company, &main, vehicle)
        .await;

    // Early top-up: requested, approved once (a second approval moves nothing).
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/topups"),
            json!({"plate": plate, "amount": "300", "reason": "long delivery week"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let id = r.1["id"].as_i64().expect("id");
    let approval = format!("/api/v1/fleet/{company}/topups/{id}/approval");
    let r = env.money(&manager, &approval, json!({})).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], json!("approved"));
    let r = env.money(&manager, &approval, json!({})).await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
    assert_eq!(r.1["from"], json!("approved"), "{}", r.1);
    assert_eq!(env.card(&card).await["balance"], json!("300.00"));
    assert_eq!(env.card(&main).await["balance"], json!("4700.00"));
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/topups"),
            json!({"plate": plate, "amount": "100", "reason": "x"}),
        )
        .await;
    let other = r.1["id"].as_i64().expect("id");
    let r = env
        .money(
            &manager,
            &format!("/api/v1/fleet/{company}/topups/{other}/rejection"),
            json!({}),
        )
        .await;
    assert_eq!(r.1["status"], json!("rejected"), "{}", r.1);
    assert_eq!(env.card(&card).await["balance"], json!("300.00"));

    // Card lending: refuels while the card is out are tagged to the trip.
    let r = env
        .post(&manager, &format!("/api/v1/fleet/{company}/loans"), json!({
            "plate": plate, "driver": "王师傅", "purpose": "送货到宁波", "route": "杭州—宁波—杭州",
            "starts_on": "2026-11-20", "ends_on": "2026-11-22"
        }))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let loan = r.1["id"].as_i64().expect("id");
    let step = |s: &str| format!("/api/v1/fleet/{company}/loans/{loan}/{s}");
    let r = env
        .request(Method::POST, Some(&manager), &step("handout"), None, None)
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "not approved yet: {}", r.1);
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
    assert_eq!(r.1["from"], json!("requested"), "{}", r.1);
    for s in ["approval", "handout"] {
        let r = env
            .request(Method::POST, Some(&manager), &step(s), None, None)
            .await;
        assert_eq!(r.0, StatusCode::OK, "{s}: {}", r.1);
    }
    // While the card is out, a second approved loan cannot take it.
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/loans"),
            json!({
                "plate": plate, "driver": "李师傅", "purpose": "送货", "route": "杭州—绍兴",
                "starts_on": "2026-11-21", "ends_on": "2026-11-21"
            }),
        )
        .await;
    let second = r.1["id"].as_i64().expect("id");
    let second_step = |s: &str| format!("/api/v1/fleet/{company}/loans/{second}/{s}");
    let r = env
        .request(
            Method::POST,
            Some(&manager),
            &second_step("approval"),
            None,
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env
        .request(
            Method::POST,
            Some(&manager),
            &second_step("handout"),
            None,
            None,
        )
        .await;
    assert_eq!(r.1["code"], json!("card_lent_out"), "{}", r.1);
    let sale = env.money(&cashier, "/api/v1/sales", json!({"card_number": card, "product": "92", "litres": "20", "plate": plate, "odometer": 3000})).await;
    assert_eq!(sale.0, StatusCode::CREATED, "{}", sale.1);
    let r = env
        .request(Method::POST, Some(&manager), &step("return"), None, None)
        .await;
    assert_eq!(r.1["status"], json!("returned"), "{}", r.1);
    let after = env.money(&cashier, "/api/v1/sales", json!({"card_number": card, "product": "92", "litres": "10", "plate": plate, "odometer": 3200})).await;
    assert_eq!(after.0, StatusCode::CREATED, "{}", after.1);
    let r = env
        .get(&manager, &format!("/api/v1/fleet/{company}/loans/{loan}"))
        .await;
    let refuels = r.1["refuels"].as_array().expect("refuels");
    assert_eq!(refuels.len(), 1, "{}", r.1);
    assert_eq!(refuels[0]["sale_id"], sale.1["id"]);

    // A cash refuel by exception shows in the month's review with its reason.
    let r = env
        .post(&manager, &format!("/api/v1/fleet/{company}/cash-refuels"), json!({
            "plate": plate, "product": "92", "litres": "30", "amount": "230.40", "reason": "card reader down at a partner station"
        }))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let month = env.month();
    let r = env.get(&manager, &format!("/api/v1/fleet/{company}/reports/monthly?month={month}&min_gap_minutes=0&odd_hours=00:00-00:01")).await;
    let cash: Vec<_> = r.1["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .filter(|a| a["kind"] == json!("cash_refuel"))
        .collect();
    assert_eq!(cash.len(), 1, "{}", r.1);
    assert_eq!(
        cash[0]["justification"],
        json!("card reader down at a partner station")
    );
    // A cashier may not approve: a company's fleet business is its
    // manager's to decide.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/fleet/{company}/topups/{other}/approval"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("forbidden"), "{}", r.1);
}
on_both_backends!(fleet_requests, requests_between_runs);
