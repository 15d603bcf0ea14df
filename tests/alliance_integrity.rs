//! The alliance's money on the demo network, tried as a new user would:
//! a discount is worth no more than its offer says however large the
//! purchase a merchant declares, and no number of redemptions — also 50 at
//! once from two server processes — takes more than the offer's money
//! budget; a closed card's benefits die with its refunded money (a
//! replacement card keeps them); only whoever delivered a benefit reverses
//! the delivery; another merchant's offer is answered as if it did not
//! exist.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Demo};

/// A car-wash discount of M002 (the demo's car wash), granted by a
/// recharge of 100.00 or more at any station and funded by the station.
fn wash_discount(code: &str, unit_cost: &str, max_value: Option<&str>, budget: &str) -> Value {
    let mut benefit = json!({"kind": "discount", "item": "精洗九折", "percent": 10});
    if let Some(max) = max_value {
        benefit["max_value"] = json!(max);
    }
    json!({
        "code": code, "merchant": "M002", "name": "充值享洗车九折",
        "trigger": {"event": "recharge", "min_amount": "100"},
        "benefit": benefit,
        "unit_cost": unit_cost, "funded_by": {"station_percent": 100, "merchant_percent": 0},
        "budget_amount": budget
    })
}

/// A gift of M002 handed over at a station's counter for a recharge of
/// 100.00 or more.
fn counter_gift(code: &str, budget_count: i64) -> Value {
    json!({
        "code": code, "merchant": "M002", "name": "充值送玻璃水",
        "trigger": {"event": "recharge", "min_amount": "100"},
        "benefit": {"kind": "gift", "item": "玻璃水一瓶"},
        "unit_cost": "10.00", "funded_by": {"station_percent": 50, "merchant_percent": 50},
        "budget_count": budget_count
    })
}

async fn add_offer(demo: &Demo, hq: &str, offer: Value) {
    let r = demo.post(hq, "/api/v1/offers", offer).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

/// A new anonymous card opened at the cashier's counter and recharged
/// with `amount` in cash; its number and the voucher of the offer `code`
/// the recharge earned.
async fn recharged_card(demo: &Demo, cashier: &str, amount: &str, code: &str) -> (String, String) {
    let r = demo
        .post(cashier, "/api/v1/cards", json!({"kind": "anonymous"}))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let number = r.1["number"].as_str().expect("a card number").to_string();
    let r = demo
        .post(
            cashier,
            &format!("/api/v1/cards/{number}/recharges"),
            json!({"amount": amount, "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let voucher = r.1["benefits"]
        .as_array()
        .expect("benefits")
        .iter()
        .find(|b| b["offer"] == json!(code))
        .unwrap_or_else(|| panic!("the recharge earned {code}: {}", r.1))["voucher_code"]
        .as_str()
        .expect("a voucher code")
        .to_string();
    (number, voucher)
}

async fn offer(demo: &Demo, token: &str, code: &str) -> Value {
    let r = demo.get(token, &format!("/api/v1/offers/{code}")).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

/// M002's statement of the demo clock's month as it stands.
async fn wash_month(demo: &Demo) -> Value {
    let month = crate::support::settings()
        .clock
        .now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m")
        .to_string();
    let r = demo
        .get(
            &demo.admin,
            &format!("/api/v1/merchants/M002/settlements/{month}"),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

fn money(v: &Value) -> rust_decimal::Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an amount: {v}"))
}

async fn discount_bounded(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let hq = demo.login("hq-office").await;
    let cashier = demo.login("cashier1").await;
    let washer = demo.login("carwash").await;
    let before = wash_month(&demo).await;

    // A percentage discount without a ceiling and without a unit cost is
    // refused: nothing would bound it.
    let r = demo
        .post(
            &hq,
            "/api/v1/offers",
            wash_discount("WASH-FREE", "0", None, "100"),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["field"], json!("benefit.max_value"), "{}", r.1);

    // The reported case: 10 % off, unit cost 5.00, budget 100.00.
    add_offer(&demo, &hq, wash_discount("WASH-10", "5.00", None, "100.00")).await;
    assert_eq!(
        offer(&demo, &hq, "WASH-10").await["max_value"],
        json!("5.00")
    );
    let (_, voucher) = recharged_card(&demo, &cashier, "200.00", "WASH-10").await;
    let redeem =
        |purchase: &str| json!({"voucher_code": voucher.clone(), "purchase_amount": purchase});
    let r = demo
        .post(&washer, "/api/v1/redemptions", redeem("10000000.00"))
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("purchase_above_limit"), "{}", r.1);
    assert_eq!(offer(&demo, &hq, "WASH-10").await["redeemed"], json!(0));
    // A large purchase within the limit is worth the ceiling, no more.
    let r = demo
        .post(&washer, "/api/v1/redemptions", redeem("9000.00"))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["value"], json!("5.00"), "{}", r.1);
    assert_eq!(r.1["station_share"], json!("5.00"), "{}", r.1);

    // A ceiling above the unit cost: the money budget (12.00) is what the
    // deliveries are worth, not what the grants cost — two deliveries of
    // 5.00 fit, the third is refused and changes nothing.
    add_offer(
        &demo,
        &hq,
        wash_discount("WASH-EDGE", "1.00", Some("5.00"), "12.00"),
    )
    .await;
    let mut vouchers = Vec::new();
    for _ in 0..3 {
        vouchers.push(
            recharged_card(&demo, &cashier, "100.00", "WASH-EDGE")
                .await
                .1,
        );
    }
    for (i, v) in vouchers.iter().enumerate() {
        let r = demo
            .post(
                &washer,
                "/api/v1/redemptions",
                json!({"voucher_code": v, "purchase_amount": "80.00"}),
            )
            .await;
        if i < 2 {
            assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
            assert_eq!(r.1["value"], json!("5.00"));
        } else {
            assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
            assert_eq!(r.1["code"], json!("offer_budget_exhausted"), "{}", r.1);
        }
    }
    let edge = offer(&demo, &hq, "WASH-EDGE").await;
    assert_eq!(edge["redeemed"], json!(2));
    assert_eq!(edge["redeemed_amount"], json!("10.00"));
    // The refused voucher is still there to deliver once money allows.
    let r = demo
        .get(&washer, &format!("/api/v1/benefits?code={}", vouchers[2]))
        .await;
    assert_eq!(r.1["benefits"][0]["status"], json!("granted"), "{}", r.1);

    // The month's settlement owes what the deliveries were worth: 15.00
    // more than before, within the two budgets.
    let after = wash_month(&demo).await;
    let owed = money(&after["station_owes"]) - money(&before["station_owes"]);
    assert_eq!(owed, rust_decimal::Decimal::new(1500, 2), "{after}");
    demo.finish().await;
}

crate::with_each_backend!(a_discount_is_worth_no_more_than_its_offer, discount_bounded);

/// 50 redemptions of 10.00 each against a money budget of 100.00, sent at
/// once (on PostgreSQL from two server processes): exactly ten go through.
async fn budget_edge(backend: Backend) {
    let Some(mut demo) = Demo::start(backend).await else {
        return;
    };
    let hq = demo.login("hq-office").await;
    let cashier = demo.login("cashier1").await;
    let washer = demo.login("carwash").await;
    add_offer(
        &demo,
        &hq,
        wash_discount("WASH-RUSH", "1.00", Some("10.00"), "100.00"),
    )
    .await;
    let mut vouchers = Vec::new();
    for _ in 0..50 {
        vouchers.push(
            recharged_card(&demo, &cashier, "100.00", "WASH-RUSH")
                .await
                .1,
        );
    }
    let mut bases = vec![demo.base.clone()];
    if backend == Backend::Postgres {
        bases.push(demo.second_server().await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, v) in vouchers.into_iter().enumerate() {
        let (client, base, token) = (
            demo.client.clone(),
            bases[i % bases.len()].clone(),
            washer.clone(),
        );
        tasks.spawn(async move {
            let key = uuid::Uuid::new_v4().to_string();
            crate::support::send(
                &client,
                &base,
                Method::POST,
                Some(&token),
                "/api/v1/redemptions",
                Some(json!({"voucher_code": v, "purchase_amount": "100.00"})),
                Some(&key),
            )
            .await
        });
    }
    let (mut through, mut refused) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.expect("a redemption");
        match status {
            StatusCode::CREATED => through += 1,
            StatusCode::CONFLICT if body["code"] == json!("offer_budget_exhausted") => refused += 1,
            other => panic!("a redemption answered {other}: {body}"),
        }
    }
    assert_eq!((through, refused), (10, 40));
    let rush = offer(&demo, &hq, "WASH-RUSH").await;
    assert_eq!(rush["redeemed"], json!(10));
    assert_eq!(rush["redeemed_amount"], json!("100.00"));
    demo.finish().await;
}

crate::with_each_backend!(no_rush_passes_the_money_budget, budget_edge);

async fn benefits_die(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let hq = demo.login("hq-office").await;
    let cashier = demo.login("cashier1").await;
    add_offer(&demo, &hq, counter_gift("GIFT-VOID", 3)).await;

    // Recharged 100.00, gift earned, card closed and the 100.00 paid back.
    let (card, voucher) = recharged_card(&demo, &cashier, "100.00", "GIFT-VOID").await;
    assert_eq!(
        offer(&demo, &hq, "GIFT-VOID").await["budget_left"],
        json!(2)
    );
    let r = demo
        .post(
            &cashier,
            &format!("/api/v1/cards/{card}/closure"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["refunded"], json!("100.00"), "{}", r.1);
    // The gift is void and not handed over; its budget is back.
    let r = demo
        .post(
            &cashier,
            "/api/v1/redemptions",
            json!({"voucher_code": voucher}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("benefit_void"), "{}", r.1);
    let r = demo
        .get(&cashier, &format!("/api/v1/cards/{card}/benefits"))
        .await;
    assert_eq!(r.1[0]["status"], json!("void"), "{}", r.1);
    let gift = offer(&demo, &hq, "GIFT-VOID").await;
    assert_eq!(gift["budget_left"], json!(3), "{gift}");
    assert_eq!(gift["granted"], json!(0), "{gift}");

    // A replacement card keeps the benefits: the money moved with them.
    let r = demo
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "person", "name": "周敏", "phone": "13955550101",
                   "id_kind": "resident_id", "id_number": "330102199001011234"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let customer = r.1["id"].clone();
    let r = demo
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": customer, "pin": "246810"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let personal = r.1["number"].as_str().expect("a number").to_string();
    let r = demo
        .post(
            &cashier,
            &format!("/api/v1/cards/{personal}/recharges"),
            json!({"amount": "100.00", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let kept = r.1["benefits"][0]["voucher_code"].clone();
    let r = demo
        .post(
            &cashier,
            &format!("/api/v1/cards/{personal}/loss-report"),
            json!({}),
        )
        .await;
    assert!(r.0.is_success(), "{}", r.1);
    let r = demo
        .post(
            &cashier,
            &format!("/api/v1/cards/{personal}/replacement"),
            json!({"pin": "246810"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let new = r.1["number"].as_str().expect("the new card").to_string();
    let r = demo
        .get(&cashier, &format!("/api/v1/cards/{new}/benefits"))
        .await;
    assert_eq!(r.1[0]["voucher_code"], kept, "{}", r.1);
    assert_eq!(r.1[0]["status"], json!("granted"), "{}", r.1);
    let r = demo
        .post(
            &cashier,
            "/api/v1/redemptions",
            json!({"voucher_code": kept}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    demo.finish().await;
}

crate::with_each_backend!(benefits_die_with_their_money, benefits_die);

async fn reversal_by_deliverer(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let hq = demo.login("hq-office").await;
    let cashier1 = demo.login("cashier1").await;
    let cashier3 = demo.login("cashier3").await;
    let washer = demo.login("carwash").await;
    add_offer(&demo, &hq, counter_gift("GIFT-BACK", 10)).await;
    let reverse = async |token: &str, id: &Value| {
        demo.post(
            token,
            &format!("/api/v1/redemptions/{id}/reversal"),
            json!({}),
        )
        .await
    };

    // Handed over at S001's counter: the merchant and another station's
    // counter find nothing to reverse; S001 does.
    let (_, voucher) = recharged_card(&demo, &cashier1, "100.00", "GIFT-BACK").await;
    let r = demo
        .post(
            &cashier1,
            "/api/v1/redemptions",
            json!({"voucher_code": voucher}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let at_counter = r.1["id"].clone();
    for token in [&washer, &cashier3] {
        let r = reverse(token, &at_counter).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND, "{}", r.1);
        assert_eq!(r.1["code"], json!("redemption_not_found"), "{}", r.1);
    }
    let r = demo
        .get(&washer, &format!("/api/v1/benefits?code={voucher}"))
        .await;
    assert_eq!(r.1["benefits"][0]["status"], json!("redeemed"), "{}", r.1);
    let r = reverse(&cashier1, &at_counter).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    // Delivered at the merchant: the counter finds nothing; the merchant
    // and head office may reverse it.
    let r = demo
        .post(
            &washer,
            "/api/v1/redemptions",
            json!({"voucher_code": voucher}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let at_merchant = r.1["id"].clone();
    let r = reverse(&cashier1, &at_merchant).await;
    assert_eq!(r.0, StatusCode::NOT_FOUND, "{}", r.1);
    let r = reverse(&hq, &at_merchant).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    demo.finish().await;
}

crate::with_each_backend!(only_who_delivered_reverses, reversal_by_deliverer);

async fn offers_unprobed(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let insurer = demo.login("insurer").await;
    // Its own offer answers; the car wash's is answered as an unknown
    // code is, word for word but for the code itself.
    let r = demo.get(&insurer, "/api/v1/offers/INS-2026").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    for (theirs, unknown) in [
        ("/api/v1/offers/WASH-MONTHLY", "/api/v1/offers/WASH-NOSUCH"),
        (
            "/api/v1/offers/WASH-MONTHLY/effectiveness",
            "/api/v1/offers/WASH-NOSUCH/effectiveness",
        ),
        (
            "/api/v1/offers/WASH-MONTHLY/grantees.csv",
            "/api/v1/offers/WASH-NOSUCH/grantees.csv",
        ),
        ("/api/v1/merchants/M002", "/api/v1/merchants/M999"),
        (
            "/api/v1/merchants/M002/effectiveness",
            "/api/v1/merchants/M999/effectiveness",
        ),
        (
            "/api/v1/offers?merchant=M002",
            "/api/v1/offers?merchant=M999",
        ),
    ] {
        let a = demo.get(&insurer, theirs).await;
        let b = demo.get(&insurer, unknown).await;
        assert_eq!(a.0, StatusCode::NOT_FOUND, "{theirs}: {}", a.1);
        assert_eq!(a.0, b.0, "{theirs} / {unknown}");
        assert_eq!(a.1["code"], b.1["code"], "{theirs}: {} / {}", a.1, b.1);
        let hide =
            |v: &Value, code: &str| v["detail"].as_str().unwrap_or_default().replace(code, "…");
        assert_eq!(
            hide(
                &a.1,
                if theirs.contains("M002") {
                    "M002"
                } else {
                    "WASH-MONTHLY"
                }
            ),
            hide(
                &b.1,
                if unknown.contains("M999") {
                    "M999"
                } else {
                    "WASH-NOSUCH"
                }
            ),
        );
    }
    demo.finish().await;
}

crate::with_each_backend!(another_merchants_offer_is_not_there, offers_unprobed);
