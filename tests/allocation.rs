//! The monthly allocation run on the fixture company: the drafted plan
//! matches the hand-computed table beside the fixture; approval funds each
//! vehicle once, all or nothing, and states a shortfall.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{TestEnv, fixture};

/// The server clock's month and the next, in the operator's time zone.
fn months(env: &TestEnv) -> (String, String) {
    let this = env.month();
    let start =
        chrono::NaiveDate::parse_from_str(&format!("{this}-01"), "%Y-%m-%d").expect("month");
    let next = start
        .checked_add_months(chrono::Months::new(1))
        .expect("next month");
    (this, next.format("%Y-%m").to_string())
}

async fn card_balance(env: &TestEnv, number: &str) -> String {
    env.card(number).await["balance"]
        .as_str()
        .expect("balance")
        .to_string()
}

async fn fixture_plan_and_funding(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/0/price",
            json!({"unit_price": "7.35", "card_discount_per_litre": "0.15"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let company = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达物流"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    env.add_user("fleet-sd", "fleet_manager", None, Some(company))
        .await;
    let manager = env.login("fleet-sd").await;
    let main = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{main}/recharges"),
            json!({"amount": "30000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    // Vehicles from the fixture CSV; a file with a bad row imports nothing.
    let bad = fixture("vehicles.csv").replace("浙A10004,suv,2.0", "浙A10004,tank,2.0");
    let r = env
        .request(
            Method::POST,
            Some(&manager),
            &format!("/api/v1/fleet/{company}/vehicles/import"),
            None,
            None,
        )
        .await;
    assert!(r.0.is_client_error(), "{}", r.1);
    let resp = env
        .client
        .post(format!(
            "{}/api/v1/fleet/{company}/vehicles/import",
            env.base
        ))
        .bearer_auth(&manager)
        .header("content-type", "text/csv")
        .body(bad)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], json!("invalid_csv"));
    assert_eq!(v["errors"][0]["line"], json!(5), "{v}");
    assert_eq!(env.count("vehicles").await, 0);
    let resp = env
        .client
        .post(format!(
            "{}/api/v1/fleet/{company}/vehicles/import",
            env.base
        ))
        .bearer_auth(&manager)
        .header("content-type", "text/csv")
        .body(fixture("vehicles.csv"))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let exported = env
        .client
        .get(format!("{}/api/v1/fleet/{company}/vehicles.csv", env.base))
        .bearer_auth(&manager)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert_eq!(exported.lines().count(), 13, "{exported}");
    assert!(
        exported.contains("浙A10009,heavy_truck,9.70,0,400.00,32.00,运输部,陈亮"),
        "{exported}"
    );

    // One fleet card per vehicle.
    let mut cards = std::collections::BTreeMap::new();
    for line in fixture("vehicles.csv").lines().skip(1) {
        let plate = line.split(',').next().expect("plate").to_string();
        let card = env
            .new_card(
                &cashier,
                json!({"kind": "fleet", "parent_card": main, "parent_pin": crate::support::MAIN_PIN, "plate": plate}),
            )
            .await;
        cards.insert(plate, card);
    }

    // The policy, from the fixture TOML, as JSON.
    env.put_fixture_policy(&manager, company).await;

    // This month: the base amounts, funded from the main card.
    let (this, next) = months(env);
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": this}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["total"], json!("25000.00"), "{}", r.1);
    let approval = format!("/api/v1/fleet/{company}/allocations/{this}/approval");
    let r = env.money(&manager, &approval, json!({})).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["funded"], json!("25000.00"));
    assert_eq!(card_balance(env, &main).await, "5000.00");
    assert_eq!(card_balance(env, &cards["浙A10010"]).await, "5000.00");

    // The month's refuels.
    let mut odometer = 1_000;
    for (plate, product, litres) in [
        ("浙A10001", "92", "20"),
        ("浙A10002", "92", "50"),
        ("浙A10002", "92", "50"),
        ("浙A10002", "92", "30"),
        ("浙A10003", "92", "60"),
        ("浙A10003", "92", "60"),
        ("浙A10003", "92", "10"),
        ("浙A10010", "0", "300"),
        ("浙A10010", "0", "300"),
        ("浙A10010", "0", "67"),
    ] {
        odometer += 500;
        let r = env
            .money(&cashier, "/api/v1/sales", json!({"card_number": cards[plate], "product": product, "litres": litres, "plate": plate, "odometer": odometer}))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{plate}: {}", r.1);
    }

    // Next month's draft equals the hand-computed table.
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": next}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let plan = r.1;
    let lines = plan["lines"].as_array().expect("lines");
    let expected = fixture("expected-plan.csv");
    let mut rows = 0;
    for row in expected.lines().skip(1) {
        let cols: Vec<&str> = row.split(',').collect();
        let line = lines
            .iter()
            .find(|l| l["plate"] == json!(cols[0]))
            .unwrap_or_else(|| panic!("{} not planned", cols[0]));
        assert_eq!(
            (
                line["base"].as_str(),
                line["adjustment"].as_str(),
                line["amount"].as_str()
            ),
            (Some(cols[3]), Some(cols[4]), Some(cols[5])),
            "{}: {}",
            cols[0],
            line
        );
        rows += 1;
    }
    assert_eq!(rows, lines.len());
    assert_eq!(plan["total"], json!("23880.00"));
    // Drafting again changes nothing.
    let again = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": next}),
        )
        .await;
    assert_eq!(again.1, plan);

    // Too little on the main card: refused, the shortfall stated, nothing moved.
    let approval = format!("/api/v1/fleet/{company}/allocations/{next}/approval");
    let transfers = env.count("transfers").await;
    let r = env.money(&manager, &approval, json!({})).await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("allocation_shortfall"));
    assert_eq!(r.1["shortfall"], json!("776.80"), "{}", r.1);
    assert_eq!(env.count("transfers").await, transfers);
    assert_eq!(card_balance(env, &main).await, "5000.00");
    let r = env
        .get(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations/{next}"),
        )
        .await;
    assert_eq!(r.1["status"], json!("draft"));

    // The manager edits a line, the company tops up, the plan is funded once.
    let r = env
        .put(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations/{next}/lines/浙A10001"),
            json!({"amount": "700.00", "reason": "shorter routes next month"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["total"], json!("23860.00"));
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{main}/recharges"),
            json!({"amount": "1000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let key = uuid::Uuid::new_v4().to_string();
    let first = env
        .request(
            Method::POST,
            Some(&manager),
            &approval,
            Some(json!({})),
            Some(&key),
        )
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(first.1["funded"], json!("23860.00"));
    assert_eq!(first.1["swept_back"], json!("18103.20"));
    let replay = env
        .request(
            Method::POST,
            Some(&manager),
            &approval,
            Some(json!({})),
            Some(&key),
        )
        .await;
    assert_eq!(replay.1, first.1);
    let r = env.money(&manager, &approval, json!({})).await;
    assert_eq!(r.1["code"], json!("allocation_already_approved"), "{}", r.1);
    // Each vehicle card holds exactly its allocation (unspent swept back).
    assert_eq!(card_balance(env, &cards["浙A10001"]).await, "700.00");
    assert_eq!(card_balance(env, &cards["浙A10010"]).await, "5500.00");
    assert_eq!(card_balance(env, &cards["浙A90002"]).await, "0.00");
    assert_eq!(card_balance(env, &main).await, "243.20");

    // This month's approved allocation caps what a vehicle spends: 浙A10001
    // has 800.00 and used 149.60; two more fills of 50 L (374.00 each) would
    // pass it, so the second is refused and nothing is written.
    let fill = |km: i64| json!({"card_number": cards["浙A10001"], "product": "92", "litres": "50", "plate": "浙A10001", "odometer": km});
    let r = env.money(&cashier, "/api/v1/sales", fill(20_000)).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let sales = env.count("sales").await;
    let r = env.money(&cashier, "/api/v1/sales", fill(20_400)).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("monthly_allocation_exceeded"));
    assert!(
        r.1["detail"].as_str().is_some_and(|d| d.contains("276.40")),
        "{}",
        r.1
    );
    assert_eq!(env.count("sales").await, sales);

    // Another company's manager sees nothing of this one.
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
    env.add_user("fleet-cj", "fleet_manager", None, Some(other))
        .await;
    let outsider = env.login("fleet-cj").await;
    for path in [
        format!("/api/v1/fleet/{company}/allocations/{next}"),
        format!("/api/v1/fleet/{company}/policy"),
        format!("/api/v1/fleet/{company}/vehicles.csv"),
    ] {
        let r = env.get(&outsider, &path).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{path}: {}", r.1);
        assert_eq!(r.1["code"], json!("not_your_company"), "{path}: {}", r.1);
    }
}
on_both_backends!(fixture_company_allocation, fixture_plan_and_funding);
