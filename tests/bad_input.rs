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

/// A refusal as a client sees it: the status, the problem+json content
/// type, and the document's members.
async fn problem(
    env: &TestEnv,
    method: Method,
    path: &str,
    token: &str,
    body: Option<(&str, Vec<u8>)>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = env
        .client
        .request(method, format!("{}{path}", env.base))
        .bearer_auth(token);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some((content_type, bytes)) = body {
        req = req.header("content-type", content_type).body(bytes);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.expect("a body");
    assert_eq!(
        content_type, "application/problem+json",
        "{path}: {status} {text}"
    );
    let v: Value = serde_json::from_str(&text).expect("a JSON problem");
    assert_eq!(v["status"], json!(status.as_u16()), "{path}: {v}");
    assert!(v["detail"].is_string() && v["title"].is_string(), "{v}");
    (status, v)
}

/// What schemathesis found driving every route with generated requests,
/// each answered now with a 4xx problem document, and nothing written.
async fn hostile_input_found_by_schemathesis(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let (company, manager, _main) = env.company(&cashier, "测试物流", "fleet1", "1000").await;
    let before = snapshot(env).await;

    // A route asked with a method it does not take: a problem, not an
    // empty 405.
    for (method, path) in [
        (Method::DELETE, "/api/v1/sales".to_string()),
        (Method::PUT, format!("/api/v1/cards/{number}")),
    ] {
        let r = problem(env, method, &path, &cashier, None, None).await;
        assert_eq!(r.0, StatusCode::METHOD_NOT_ALLOWED, "{path}: {}", r.1);
        assert_eq!(r.1["code"], json!("method_not_allowed"));
    }

    // A statement page so far out that its offset overflowed: a panic, 500.
    let r = problem(
        env,
        Method::GET,
        &format!("/api/v1/cards/{number}/transactions?page=9223372036854775807"),
        &cashier,
        None,
        None,
    )
    .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("validation_failed"));

    // Hours whose hour overflowed when turned into minutes: a panic, 500,
    // in the review's query and in a vehicle's allowed hours.
    let r = problem(
        env,
        Method::GET,
        &format!(
            "/api/v1/fleet/{company}/reports/monthly?month=2026-11&odd_hours=256366808:00-05:00"
        ),
        &manager,
        None,
        None,
    )
    .await;
    assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);
    let vehicle = json!({
        "plate": "浙A99999", "vehicle_type": "car", "displacement": "1.6", "products": ["92"],
        "tank_capacity": "50", "baseline_l_per_100km": "8", "allowed_hours": "256366808:00-06:00"
    });
    let r = problem(
        env,
        Method::POST,
        &format!("/api/v1/fleet/{company}/vehicles"),
        &manager,
        Some(("application/json", vehicle.to_string().into_bytes())),
        None,
    )
    .await;
    assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);

    // Path and query values of the wrong type were answered in plain text.
    for path in [
        "/api/v1/customers/abc".to_string(),
        "/api/v1/holds/99999999999999999999".to_string(),
        format!("/api/v1/cards/{number}/transactions?page=first"),
        format!("/api/v1/fleet/{company}/reports/monthly?month=2026-11&min_gap_minutes=x"),
    ] {
        let r = problem(env, Method::GET, &path, &cashier, None, None).await;
        assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.1);
        assert_eq!(r.1["code"], json!("validation_failed"), "{path}");
    }

    // A CSV upload that is not UTF-8 was answered in plain text; one sent
    // as JSON was read as CSV.
    let import = format!("/api/v1/fleet/{company}/vehicles/import");
    let r = problem(
        env,
        Method::POST,
        &import,
        &manager,
        Some(("text/csv", vec![0xff, 0xfe, b'a', b'\n'])),
        None,
    )
    .await;
    assert_eq!(r.1["code"], json!("invalid_csv"), "{}", r.1);
    let r = problem(
        env,
        Method::POST,
        &import,
        &manager,
        Some(("application/json", b"{}".to_vec())),
        None,
    )
    .await;
    assert_eq!(r.1["code"], json!("unsupported_media_type"), "{}", r.1);
    assert_eq!(snapshot(env).await, before);

    // A malformed PIN is refused as such, not counted as a wrong try.
    let pin_card = env
        .new_card(
            &cashier,
            json!({"kind": "personal", "customer_id": env.new_person(&cashier, "李四", "13900000009").await, "pin": "123456"}),
        )
        .await;
    let before_pin = snapshot(env).await;
    for _ in 0..4 {
        let sale = json!({"card_number": pin_card, "product": "92", "litres": "1", "pin": "12ab"});
        let r = problem(
            env,
            Method::POST,
            "/api/v1/sales",
            &cashier,
            Some(("application/json", sale.to_string().into_bytes())),
            Some(&uuid::Uuid::new_v4().to_string()),
        )
        .await;
        assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);
        assert_eq!(r.1["field"], json!("pin"), "{}", r.1);
    }
    assert_eq!(env.card(&pin_card).await["status"], json!("active"));
    assert_eq!(snapshot(env).await, before_pin);

    // A request that takes no body refused anything but nothing or `{}`
    // only by accident: `[1]` or `"x"` voided a hold.
    let before_hold = snapshot(env).await;
    let r = env
        .money(
            &cashier,
            "/api/v1/holds",
            json!({"card_number": number, "amount": "10"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let hold = r.1["id"].as_i64().expect("a hold id");
    let void = format!("/api/v1/holds/{hold}/void");
    for body in [&b"[1]"[..], b"\"x\"", b"{\"reason\": 1}", b"null"] {
        let r = problem(
            env,
            Method::POST,
            &void,
            &cashier,
            Some(("application/json", body.to_vec())),
            Some(&uuid::Uuid::new_v4().to_string()),
        )
        .await;
        assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);
    }
    let r = env.get(&cashier, &format!("/api/v1/holds/{hold}")).await;
    assert_eq!(r.1["status"], json!("active"), "{}", r.1);

    // An extra member named like a standard one replaced it: a voided hold
    // voided again answered `"status": "voided"` instead of 409.
    let r = env.money(&cashier, &void, json!({})).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = problem(
        env,
        Method::POST,
        &void,
        &cashier,
        Some(("application/json", b"{}".to_vec())),
        Some(&uuid::Uuid::new_v4().to_string()),
    )
    .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("hold_not_active"));
    assert_eq!(r.1["hold_status"], json!("voided"), "{}", r.1);

    // The codes the document lists are the codes answers carry: two were
    // listed under other names (`allocation_approved`, `internal`).
    let doc = env
        .request(Method::GET, None, "/api/openapi.json", None, None)
        .await
        .1;
    let listed: Vec<&str> = doc["components"]["schemas"]["Code"]["enum"]
        .as_array()
        .expect("the codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let answered: Vec<&str> = fuelcard::error::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(listed, answered);
    assert!(listed.contains(&"allocation_already_approved"));
    // Query parameters are documented as query parameters.
    let params = doc["paths"]["/api/v1/cards/{number}/transactions"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .clone();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "page" && p["in"] == "query" && p["required"] != json!(true)),
        "{params:?}"
    );

    // Of all this, only the hold was written: its row, and the keys of
    // its placing and its one void.
    let mut expected = before_hold;
    expected[7] += 1;
    expected[6] += 2;
    assert_eq!(snapshot(env).await, expected);
}
on_both_backends!(
    hostile_input_is_refused_as_documented,
    hostile_input_found_by_schemathesis
);

/// Text is text: a NUL byte or a terminal escape code in a name, a phone
/// search, a station or a path parameter is refused with `validation_failed`
/// naming the field — on PostgreSQL as on SQLite — and nothing is stored;
/// a line break stays allowed in a free-text reason.
async fn control_characters_are_refused(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let before = (snapshot(env).await, env.count("stations").await);
    let json_body = |v: Value| Some(("application/json", v.to_string().into_bytes()));
    for (method, path, token, body, field) in [
        (
            Method::POST,
            "/api/v1/customers",
            &cashier,
            json_body(json!({"kind": "person", "name": "张\u{0}伟"})),
            "name",
        ),
        (
            Method::POST,
            "/api/v1/customers",
            &cashier,
            json_body(json!({"kind": "person", "name": "\u{1b}[31m红\u{1b}[0m"})),
            "name",
        ),
        (
            Method::POST,
            "/api/v1/customers",
            &cashier,
            json_body(json!({"kind": "company", "name": "公司", "address": "杭州\u{0}"})),
            "address",
        ),
        (
            Method::POST,
            "/api/v1/stations",
            &env.admin,
            json_body(json!({"code": "S9", "name": "站\u{7f}", "district": "东区"})),
            "name",
        ),
        (
            Method::GET,
            "/api/v1/cards?phone=138%000",
            &cashier,
            None,
            "phone",
        ),
        (
            Method::GET,
            "/api/v1/stations/S%001/day-report",
            &cashier,
            None,
            "code",
        ),
    ] {
        let (status, v) = problem(env, method, path, token, body, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["code"], json!("validation_failed"), "{path}: {v}");
        assert_eq!(v["field"], json!(field), "{path}: {v}");
    }
    assert_eq!((snapshot(env).await, env.count("stations").await), before);
    // A reason is free text: its line break is kept.
    let (company, manager, main) = env.company(&cashier, "换行物流", "fleet-nl", "1000").await;
    let plate = "浙A20001";
    env.fleet_vehicle(
        &cashier,
        &manager,
        company,
        &main,
        crate::support::car(plate),
    )
    .await;
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/topups"),
            json!({"plate": plate, "amount": "10", "reason": "第一周\n第二周"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["reason"], json!("第一周\n第二周"));
}
on_both_backends!(text_is_text, control_characters_are_refused);
