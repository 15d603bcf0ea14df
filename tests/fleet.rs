//! Fleet vehicles: each sale-time control refuses with its own code and
//! writes nothing; alert mode and one-off overrides let a sale through.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestEnv;

struct Fleet {
    company: i64,
    main: String,
    /// The company's fleet manager (`fleet-a`), who registers its vehicles.
    manager: String,
}

async fn fleet(env: &TestEnv, cashier: &str) -> Fleet {
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.18", "card_discount_per_litre": "0.25"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env
        .post(
            cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达物流"}),
        )
        .await;
    let company = r.1["id"].as_i64().expect("id");
    env.add_user("fleet-a", "fleet_manager", None, Some(company))
        .await;
    let manager = env.login("fleet-a").await;
    let main = env
        .new_card(
            cashier,
            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    let r = env
        .money(
            cashier,
            &format!("/api/v1/cards/{main}/recharges"),
            json!({"amount": "20000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    Fleet {
        company,
        main,
        manager,
    }
}

/// Registers a vehicle with `extra` settings and opens its funded card.
async fn vehicle(env: &TestEnv, cashier: &str, f: &Fleet, plate: &str, extra: Value) -> String {
    let mut body = json!({
        "plate": plate, "vehicle_type": "light_truck", "displacement": "2.8", "products": ["92"],
        "tank_capacity": "60", "baseline_l_per_100km": "11.5", "max_sale_litres": "50",
        "allowed_stations": ["S1"]
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let r = env
        .post(
            &f.manager,
            &format!("/api/v1/fleet/{}/vehicles", f.company),
            body,
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = env
        .new_card(
            cashier,
            json!({"kind": "fleet", "parent_card": f.main, "parent_pin": crate::support::MAIN_PIN, "plate": plate}),
        )
        .await;
    let r = env
        .money(
            cashier,
            "/api/v1/transfers",
            json!({"from_card": f.main, "to_card": card, "amount": "3000", "pin": crate::support::MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    card
}

fn sale(card: &str, plate: &str, product: &str, litres: &str, odometer: Option<i64>) -> Value {
    json!({"card_number": card, "product": product, "litres": litres, "plate": plate, "odometer": odometer})
}

async fn each_control_refuses(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let f = fleet(env, &cashier).await;
    let plate = "浙A12345";
    let card = vehicle(env, &cashier, &f, plate, json!({"max_day_litres": "70"})).await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "92", "30", Some(12_000)),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["alerts"], json!([]));

    let sales = env.count("sales").await;
    let transfers = env.count("transfers").await;
    let refusals = [
        (
            "wrong plate",
            sale(&card, "浙B99999", "92", "10", Some(12_100)),
            "plate_mismatch",
        ),
        (
            "wrong product",
            sale(&card, plate, "95", "10", Some(12_100)),
            "product_not_allowed",
        ),
        (
            "over the tank",
            sale(&card, plate, "92", "61", Some(12_100)),
            "over_tank_capacity",
        ),
        (
            "over the sale maximum",
            sale(&card, plate, "92", "55", Some(12_100)),
            "sale_limit_exceeded",
        ),
        (
            "just over the sale maximum",
            sale(&card, plate, "92", "50.01", Some(12_100)),
            "sale_limit_exceeded",
        ),
        (
            "over the day",
            sale(&card, plate, "92", "45", Some(12_100)),
            "daily_limit_exceeded",
        ),
        (
            "no odometer",
            sale(&card, plate, "92", "10", None),
            "odometer_required",
        ),
        (
            "odometer backwards",
            sale(&card, plate, "92", "10", Some(11_999)),
            "odometer_backwards",
        ),
    ];
    for (what, body, code) in refusals {
        let r = env.money(&cashier, "/api/v1/sales", body).await;
        assert!(r.0.is_client_error(), "{what}: {} {}", r.0, r.1);
        assert_eq!(r.1["code"], json!(code), "{what}: {}", r.1);
        assert!(r.1["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(env.count("sales").await, sales, "{what} wrote a sale");
        assert_eq!(
            env.count("transfers").await,
            transfers,
            "{what} moved money"
        );
    }
    // At a station the vehicle may not use.
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    let other = env.login("cashier2").await;
    let r = env
        .money(
            &other,
            "/api/v1/sales",
            sale(&card, plate, "92", "10", Some(12_100)),
        )
        .await;
    assert_eq!(r.1["code"], json!("station_not_allowed"), "{}", r.1);
    // Outside the allowed hours.
    let night = vehicle(
        env,
        &cashier,
        &f,
        "浙A22222",
        json!({"allowed_hours": env.closed_hours()}),
    )
    .await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&night, "浙A22222", "92", "10", Some(100)),
        )
        .await;
    assert_eq!(r.1["code"], json!("outside_allowed_hours"), "{}", r.1);
    assert_eq!(env.count("sales").await, sales);

    // The day's counter is exact: 30 + 40 = 70 L fits, 0.01 L more does not.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "92", "40", Some(12_100)),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "92", "0.01", Some(12_100)),
        )
        .await;
    assert_eq!(r.1["code"], json!("daily_limit_exceeded"), "{}", r.1);
}
on_both_backends!(fleet_limits, each_control_refuses);

async fn alerts_and_overrides(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let f = fleet(env, &cashier).await;
    let manager = f.manager.clone();
    let plate = "浙A33333";
    let card = vehicle(
        env,
        &cashier,
        &f,
        plate,
        json!({"controls": {"station": "alert"}}),
    )
    .await;
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    let other = env.login("cashier2").await;
    // Approve and alert: the sale goes through and says why it is flagged.
    let r = env
        .money(
            &other,
            "/api/v1/sales",
            sale(&card, plate, "92", "10", Some(500)),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["alerts"].as_array().map(Vec::len), Some(1), "{}", r.1);

    // A one-off override passes exactly one sale.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "95", "10", Some(600)),
        )
        .await;
    assert_eq!(r.1["code"], json!("product_not_allowed"));
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{}/vehicles/{plate}/overrides", f.company),
            json!({"control": "product", "reason": "92# sold out on the route"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "95", "10", Some(600)),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            sale(&card, plate, "95", "10", Some(700)),
        )
        .await;
    assert_eq!(r.1["code"], json!("product_not_allowed"), "{}", r.1);

    // The fleet manager sees the company's vehicles; another company's manager does not.
    let r = env
        .get(&manager, &format!("/api/v1/fleet/{}/vehicles", f.company))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1[0]["plate"], json!(plate));
    assert_eq!(r.1[0]["card_number"], json!(card));
    assert_eq!(r.1[0]["last_odometer_km"], json!(600));
    let other_co = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "城建"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    env.add_user("fleet-b", "fleet_manager", None, Some(other_co))
        .await;
    let outsider = env.login("fleet-b").await;
    let r = env
        .get(&outsider, &format!("/api/v1/fleet/{}/vehicles", f.company))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .post(
            &outsider,
            &format!("/api/v1/fleet/{}/vehicles/{plate}/overrides", f.company),
            json!({"control": "product", "reason": "x"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("not_your_company"), "{}", r.1);
    // One car, one card.
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "fleet", "parent_card": f.main, "parent_pin": crate::support::MAIN_PIN, "plate": plate}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
}
on_both_backends!(fleet_alerts_and_overrides, alerts_and_overrides);
