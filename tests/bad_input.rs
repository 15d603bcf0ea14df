//! Bad input gets a 4xx problem document with a stable code and writes
//! nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestEnv;

/// The card number with one digit changed, as a cashier might mistype it.
fn mistype(number: &str) -> String {
    let mut digits: Vec<u8> = number.bytes().collect();
    digits[7] = b'0' + (digits[7] - b'0' + 1) % 10;
    String::from_utf8(digits).expect("digits")
}

async fn snapshot(env: &TestEnv) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "transfers",
        "operations",
        "sales",
        "recharges",
        "cards",
        "customers",
        "idempotency_keys",
        "holds",
    ] {
        out.push(env.count(t).await);
    }
    out
}

async fn refused_and_nothing_written(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let before = snapshot(env).await;
    let recharge = format!("/api/v1/cards/{number}/recharges");
    let cases: Vec<(&str, String, Value, &str)> = vec![
        (
            "negative",
            recharge.clone(),
            json!({"amount": "-5.00", "payment_method": "cash"}),
            "invalid_amount",
        ),
        (
            "zero",
            recharge.clone(),
            json!({"amount": "0.00", "payment_method": "cash"}),
            "invalid_amount",
        ),
        (
            "three decimals",
            recharge.clone(),
            json!({"amount": "10.005", "payment_method": "cash"}),
            "invalid_amount",
        ),
        (
            "a number, not a string",
            recharge.clone(),
            json!({"amount": 10, "payment_method": "cash"}),
            "validation_failed",
        ),
        (
            "unknown method",
            recharge.clone(),
            json!({"amount": "10", "payment_method": "bitcoin"}),
            "validation_failed",
        ),
        (
            "unknown field",
            recharge.clone(),
            json!({"amount": "10", "payment_method": "cash", "bonus": "999"}),
            "validation_failed",
        ),
        (
            "unknown card",
            "/api/v1/cards/9100000000000018/recharges".into(),
            json!({"amount": "10", "payment_method": "cash"}),
            "card_not_found",
        ),
        (
            "mistyped card",
            format!("/api/v1/cards/{}/recharges", mistype(&number)),
            json!({"amount": "10", "payment_method": "cash"}),
            "invalid_card_number",
        ),
        (
            "unknown product",
            "/api/v1/sales".into(),
            json!({"card_number": number, "product": "93", "litres": "10"}),
            "product_not_found",
        ),
        (
            "litres and amount",
            "/api/v1/sales".into(),
            json!({"card_number": number, "product": "92", "litres": "10", "amount": "10"}),
            "validation_failed",
        ),
        (
            "three-decimal litres",
            "/api/v1/sales".into(),
            json!({"card_number": number, "product": "92", "litres": "1.234"}),
            "invalid_litres",
        ),
        (
            "negative litres",
            "/api/v1/sales".into(),
            json!({"card_number": number, "product": "92", "litres": "-1"}),
            "invalid_litres",
        ),
        (
            "too much",
            "/api/v1/sales".into(),
            json!({"card_number": number, "product": "92", "litres": "100"}),
            "insufficient_balance",
        ),
        (
            "negative transfer",
            "/api/v1/transfers".into(),
            json!({"from_card": number, "to_card": number, "amount": "-1"}),
            "invalid_amount",
        ),
    ];
    for (what, path, body, code) in cases {
        let r = env.money(&cashier, &path, body).await;
        assert!(r.0.is_client_error(), "{what}: {} {}", r.0, r.1);
        assert_eq!(r.1["code"], json!(code), "{what}: {}", r.1);
        assert!(r.1["detail"].is_string(), "{what}: {}", r.1);
        assert_eq!(snapshot(env).await, before, "{what} wrote something");
    }

    // Malformed JSON.
    let resp = env
        .client
        .post(format!("{}/api/v1/sales", env.base))
        .bearer_auth(&cashier)
        .header("Idempotency-Key", "k-malformed")
        .header("content-type", "application/json")
        .body("{\"card_number\": ")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], json!("invalid_json"));

    // An oversized body.
    let huge = format!(
        "{{\"name\": \"{}\", \"kind\": \"person\"}}",
        "x".repeat(200_000)
    );
    let resp = env
        .client
        .post(format!("{}/api/v1/customers", env.base))
        .bearer_auth(&cashier)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], json!("body_too_large"));

    // A wrong content type.
    let resp = env
        .client
        .post(format!("{}/api/v1/customers", env.base))
        .bearer_auth(&cashier)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Unknown routes and methods are problem documents too.
    let r = env
        .request(
            Method::GET,
            Some(&cashier),
            "/api/v1/nothing-here",
            None,
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
    assert_eq!(r.1["code"], json!("not_found"));

    // A bad price and a bad promotion.
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/92/price",
            json!({"unit_price": "7.68", "card_discount_per_litre": "8.00"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/93/price",
            json!({"unit_price": "7.68", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("product_not_found"));
    let r = env.post(&env.admin, "/api/v1/promotions", json!({"name": "x", "kind": "recharge_bonus", "tiers": [{"min_amount": "100", "bonus_percent": "150"}]})).await;
    assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);

    assert_eq!(snapshot(env).await, before);
    assert_eq!(env.card(&number).await["balance"], json!("100.00"));

    // The OpenAPI document and the health check answer.
    let r = env
        .request(Method::GET, None, "/api/openapi.json", None, None)
        .await;
    assert_eq!(r.0, StatusCode::OK);
    assert!(r.1["paths"]["/api/v1/sales"]["post"].is_object());
    let metrics = env
        .client
        .get(format!("{}/metrics", env.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}
on_both_backends!(bad_input_writes_nothing, refused_and_nothing_written);
