//! Station staff act at their own station only: a cashier or station
//! manager of another station cannot read, capture or void a station's
//! hold, read its receipts or close its shifts. Each refusal says
//! `outside_your_station` and changes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestEnv;

async fn station_scope(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    env.add_user("manager2", "station_manager", Some("S2"), None)
        .await;
    let other = env.login("cashier2").await;
    let other_manager = env.login("manager2").await;

    // Station S1's business: a recharge, a sale, a hold and the open shift.
    let card = env.funded_card(&cashier, "1000").await;
    let sale = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": "10"}),
        )
        .await;
    assert_eq!(sale.0, StatusCode::CREATED, "{}", sale.1);
    let hold = env
        .money(
            &cashier,
            "/api/v1/holds",
            json!({"card_number": card, "amount": "300"}),
        )
        .await;
    assert_eq!(hold.0, StatusCode::CREATED, "{}", hold.1);
    let hold = hold.1["id"].as_i64().expect("a hold id");
    let shift = env.get(&cashier, "/api/v1/shifts/current").await;
    let shift = shift.1["id"].as_i64().expect("a shift id");
    let balance = env.card(&card).await["balance"].clone();
    let transfers = env.count("transfers").await;

    let refused = |r: (StatusCode, serde_json::Value)| {
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
        assert_eq!(r.1["code"], json!("outside_your_station"), "{}", r.1);
    };
    refused(env.get(&other, &format!("/api/v1/holds/{hold}")).await);
    refused(
        env.money(
            &other,
            &format!("/api/v1/holds/{hold}/capture"),
            json!({"amount": "300"}),
        )
        .await,
    );
    refused(
        env.money(&other, &format!("/api/v1/holds/{hold}/void"), json!({}))
            .await,
    );
    let count = json!({"counted_cash": "0", "counted_bank_card": "0", "counted_transfer": "0"});
    refused(
        env.post(
            &other_manager,
            &format!("/api/v1/shifts/{shift}/close"),
            count.clone(),
        )
        .await,
    );
    let sale_id = sale.1["id"].as_i64().expect("a sale id");
    for (token, path) in [
        (&other, format!("/receipts/sale/{sale_id}")),
        (&other_manager, format!("/receipts/sale/{sale_id}")),
    ] {
        let resp = env
            .client
            .get(format!("{}{path}", env.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("an answer");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let page = resp.text().await.expect("a page");
        assert!(!page.contains(&card), "the receipt leaked the card: {page}");
    }

    // Nothing moved: the hold is still active on S1, the shift still open.
    let r = env.get(&cashier, &format!("/api/v1/holds/{hold}")).await;
    assert_eq!(r.1["status"], json!("active"), "{}", r.1);
    assert_eq!(env.card(&card).await["balance"], balance);
    assert_eq!(env.count("transfers").await, transfers);
    let r = env.get(&cashier, "/api/v1/shifts/current").await;
    assert_eq!(r.1["id"], json!(shift), "{}", r.1);

    // The station's own staff may: its cashier reads the receipt and voids
    // the hold.
    let resp = env
        .client
        .get(format!("{}/receipts/sale/{sale_id}", env.base))
        .bearer_auth(&cashier)
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), StatusCode::OK);
    let r = env
        .money(&cashier, &format!("/api/v1/holds/{hold}/void"), json!({}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
}

on_both_backends!(station_staff_act_at_their_own_station, station_scope);

/// A district manager reads the cards issued in their district only; a card
/// issued elsewhere is "not found" to them, as to anyone it does not
/// concern.
async fn district_scope(env: &TestEnv) {
    let r = env
        .post(
            &env.admin,
            "/api/v1/stations",
            json!({"code": "S3", "name": "城北站", "district": "西区"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    env.add_user("cashier3", "cashier", Some("S3"), None).await;
    let r = env
        .post(
            &env.admin,
            "/api/v1/users",
            json!({
                "username": "east", "password": "east-password", "role": "district_manager",
                "district": "东区"
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let ours = env.funded_card(&env.login("cashier1").await, "100").await;
    let theirs = env.funded_card(&env.login("cashier3").await, "100").await;
    let manager = env.login("east").await;
    let r = env.get(&manager, &format!("/api/v1/cards/{ours}")).await;
    assert_eq!(r.0, StatusCode::OK, "a card of the district: {}", r.1);
    for path in [
        format!("/api/v1/cards/{theirs}"),
        format!("/api/v1/cards/{theirs}/transactions"),
    ] {
        let r = env.get(&manager, &path).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND, "{path}: {}", r.1);
        assert_eq!(r.1["code"], json!("card_not_found"), "{}", r.1);
    }
}

on_both_backends!(district_managers_read_their_district, district_scope);

/// A card is issued and replaced at a station that exists: a station code
/// that does not resolve is refused, not dropped, and nothing is written.
async fn issuing_station_resolves(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let cards = env.count("cards").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "anonymous", "station": "S404"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND, "{}", r.1);
    assert_eq!(r.1["code"], json!("station_not_found"), "{}", r.1);
    assert_eq!(env.count("cards").await, cards);

    let number = env.funded_card(&cashier, "30").await;
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{number}/loss-report"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let cards = env.count("cards").await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/replacement"),
            json!({"station": "S404", "identity": crate::support::identity()}),
        )
        .await;
    assert_eq!(r.1["code"], json!("station_not_found"), "{}", r.1);
    assert_eq!(env.count("cards").await, cards);
    assert_eq!(env.card(&number).await["status"], json!("lost"));
}
on_both_backends!(issuing_station_must_resolve, issuing_station_resolves);
