//! A company's money moves only on the company's word: its fleet manager's
//! decision, or at a counter the main card's PIN. Each way staff could move
//! it without that word is refused with its own code and writes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{MAIN_PIN, TestEnv};

/// What a refused request must leave as it was: every card, every ledger
/// transfer, every sale, the cards' balances.
async fn snapshot(env: &TestEnv, cards: &[&str]) -> Vec<Value> {
    let mut seen = vec![
        json!(env.count("cards").await),
        json!(env.count("transfers").await),
        json!(env.count("sales").await),
    ];
    for number in cards {
        seen.push(env.card(number).await["balance"].clone());
    }
    seen
}

async fn company_funds(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "5000").await;
    let sub = env
        .new_card(
            &cashier,
            json!({"kind": "company_sub", "parent_card": main, "parent_pin": MAIN_PIN}),
        )
        .await;
    let (_, other_manager, _) = env.company(&cashier, "城建工程", "fleet-b", "100").await;
    let before = snapshot(env, &[&main, &sub]).await;

    // A main card without a PIN would let any counter move the company's money.
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "company_main", "customer_id": company}),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["field"], json!("pin"), "{}", r.1);

    // Opening a card under the main card without its PIN, or with a wrong one.
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "company_sub", "parent_card": main}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("company_consent_required"), "{}", r.1);
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "fleet", "parent_card": main, "parent_pin": "0000", "plate": "浙A99999"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("wrong_pin"), "{}", r.1);

    // Moving the main card's money to a sub-card without the PIN.
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": sub, "amount": "4000"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("company_consent_required"), "{}", r.1);

    // Another company's fleet manager may not move it either.
    let r = env
        .money(
            &other_manager,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": sub, "amount": "4000"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("not_your_company"), "{}", r.1);

    // The main card is a funds card: no fuel on it, even with its PIN, and
    // no fuelling hold either.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": main, "product": "92", "litres": "30", "pin": MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("main_card_not_for_fuel"), "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/holds",
            json!({"card_number": main, "amount": "300", "pin": MAIN_PIN}),
        )
        .await;
    assert_eq!(r.1["code"], json!("main_card_not_for_fuel"), "{}", r.1);

    assert_eq!(snapshot(env, &[&main, &sub]).await, before);
    // The wrong parent PIN counted as a try on the main card.
    let failures: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT pin_failures FROM cards WHERE number = $1")
            .bind(&main)
            .fetch_one(env.db.pool())
            .await
            .expect("the main card"),
        "pin_failures",
    )
    .expect("pin_failures");
    assert_eq!(failures, 1);

    // On the company's word the money moves: its fleet manager without a
    // PIN, a counter with the main card's PIN.
    let r = env
        .money(
            &manager,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": sub, "amount": "1000"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": sub, "to_card": main, "amount": "400", "pin": MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(env.card(&sub).await["balance"], json!("600.00"));
}

on_both_backends!(company_funds_move_on_the_company_word, company_funds);

/// At the counter a vehicle is registered only with its fleet card and on
/// the company's word (the main card's PIN): without it, or with the wrong
/// one, neither the card nor the vehicle is written. With it the company's
/// fleet manager finds the vehicle on the fleet list, bound to the card.
async fn vehicle_at_the_counter(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "安顺客运", "fleet-v", "800").await;
    let open = |pin: Option<&str>, plate: &str, vehicle_plate: &str| {
        let mut body = json!({
            "kind": "fleet", "parent_card": main, "plate": plate,
            "vehicle": crate::support::car(vehicle_plate),
        });
        if let Some(pin) = pin {
            body["parent_pin"] = json!(pin);
        }
        body
    };
    let counts = || async { (env.count("cards").await, env.count("vehicles").await) };
    let before = counts().await;
    for (body, code) in [
        (
            open(None, "浙B10001", "浙B10001"),
            "company_consent_required",
        ),
        (open(Some("0000"), "浙B10001", "浙B10001"), "wrong_pin"),
        (
            open(Some(MAIN_PIN), "浙B10001", "浙B20002"),
            "validation_failed",
        ),
    ] {
        let r = env.post(&cashier, "/api/v1/cards", body).await;
        assert_eq!(r.1["code"], json!(code), "{}", r.1);
        assert_eq!(counts().await, before);
    }
    // A vehicle with a card that is not a fleet card is refused too.
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "company_sub", "parent_card": main, "parent_pin": MAIN_PIN,
                   "vehicle": crate::support::car("浙B10001")}),
        )
        .await;
    assert_eq!(r.1["field"], json!("vehicle"), "{}", r.1);
    assert_eq!(counts().await, before);

    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            open(Some(MAIN_PIN), "浙B 10001", "浙B10001"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = r.1["number"].as_str().expect("a number").to_string();
    let vehicles = env
        .get(&manager, &format!("/api/v1/fleet/{company}/vehicles"))
        .await;
    let listed = vehicles
        .1
        .as_array()
        .and_then(|a| a.iter().find(|v| v["plate"] == json!("浙B10001")))
        .cloned()
        .unwrap_or_else(|| panic!("the vehicle on the fleet list: {}", vehicles.1));
    assert_eq!(listed["card_number"], json!(card), "{listed}");

    // One car, one card: its sale names the plate, however it is spaced.
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": card, "amount": "100", "pin": MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let sales = env.count("sales").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": "5", "odometer": 1000}),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("plate_required"), "{}", r.1);
    assert_eq!(env.count("sales").await, sales);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": "5", "plate": "浙b 10001", "odometer": 1000}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}
on_both_backends!(counter_vehicle, vehicle_at_the_counter);
