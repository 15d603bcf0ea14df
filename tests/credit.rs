//! Credit customers (挂账): a company's cards buy on its credit line, never
//! past the limit however many sales race for it — on one server and on
//! two server processes sharing PostgreSQL; each month closes into a
//! frozen statement whose closing balance is the ledger's; once a
//! statement is unpaid past its due date and grace days the company's cards
//! are refused until a payment clears it; and only head office sets lines.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv, car};

/// A company on credit with its fleet manager (`manager`): the line
/// (10,000.00, statement day 25, 10 days to pay, 5 of grace) given by head
/// office (`hq`). Returns the company's id and the manager's token.
async fn company_on_credit(env: &TestEnv, hq: &str, name: &str, manager: &str) -> (i64, String) {
    let cashier = env.login("cashier1").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": name}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let company = r.1["id"].as_i64().expect("an id");
    env.add_user(manager, "fleet_manager", None, Some(company))
        .await;
    let r = env
        .put(
            hq,
            &format!("/api/v1/customers/{company}/credit-line"),
            json!({"limit": "10000.00", "statement_day": 25, "days_to_pay": 10, "grace_days": 5}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["available"], json!("10000.00"), "{}", r.1);
    assert_eq!(r.1["open_month"], json!("2026-11"), "{}", r.1);
    (company, env.login(manager).await)
}

/// A card on the company's line, opened by its fleet manager.
async fn credit_card(env: &TestEnv, manager: &str, company: i64, body: Value) -> String {
    let mut body = body;
    body["customer_id"] = json!(company);
    body["credit"] = json!(true);
    let r = env.post(manager, "/api/v1/cards", body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["credit"], json!(true), "{}", r.1);
    r.1["number"].as_str().expect("a number").to_string()
}

/// The fleet's truck, on 95#.
fn truck_95() -> Value {
    let mut v = car("浙A10001");
    v["products"] = json!(["95"]);
    v
}

/// 95# at 8.00 with no card discount: a sale of 200.00 charges 200.00.
async fn exact_price(env: &TestEnv) {
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
}

/// A sale of `amount` of 95# on a card; a fleet card's names its vehicle
/// and odometer reading.
async fn sale(
    env: &TestEnv,
    cashier: &str,
    card: &str,
    amount: &str,
    vehicle: Option<(&str, i64)>,
) -> (StatusCode, Value) {
    env.money(
        cashier,
        "/api/v1/sales",
        json!({"card_number": card, "product": "95", "amount": amount,
               "plate": vehicle.map(|v| v.0), "odometer": vehicle.map(|v| v.1)}),
    )
    .await
}

/// Sixty sales of 200.00 at once on a 10,000.00 line, over two cards and
/// the given servers: exactly fifty go through, the rest are refused with
/// `credit_limit_reached`, and the line ends at −10,000.00, never below.
async fn sixty_sales_on_a_line(env: &TestEnv, bases: &[String]) {
    env.add_user("hq1", "hq", None, None).await;
    let hq = env.login("hq1").await;
    exact_price(env).await;
    let (company, manager) = company_on_credit(env, &hq, "顺达物流", "fleet-a").await;
    let cards = [
        credit_card(env, &manager, company, json!({"kind": "company_sub"})).await,
        credit_card(env, &manager, company, json!({"kind": "company_sub"})).await,
    ];
    let cashier = env.login("cashier1").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let url = format!("{}/api/v1/sales", bases[i % bases.len()]);
        let body = json!({"card_number": cards[i % 2], "product": "95", "amount": "200.00"});
        let (client, token) = (env.client.clone(), cashier.clone());
        tasks.push(tokio::spawn(async move {
            let resp = client
                .request(Method::POST, url)
                .bearer_auth(token)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&body)
                .send()
                .await
                .expect("answer");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }));
    }
    let (mut sold, mut refused) = (0, 0);
    for t in tasks {
        let (status, v) = t.await.expect("task");
        if status == StatusCode::CREATED {
            assert_eq!(v["charged"], json!("200.00"), "{v}");
            let left = v["balance"].as_str().expect("what the line has left");
            assert!(!left.starts_with('-'), "the line went past its limit: {v}");
            sold += 1;
        } else {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert_eq!(v["code"], json!("credit_limit_reached"), "{v}");
            refused += 1;
        }
    }
    assert_eq!((sold, refused), (50, 10));
    let line = env
        .get(
            &manager,
            &format!("/api/v1/customers/{company}/credit-line"),
        )
        .await;
    assert_eq!(line.0, StatusCode::OK, "{}", line.1);
    assert_eq!(line.1["balance"], json!("-10000.00"), "{}", line.1);
    assert_eq!(line.1["available"], json!("0.00"), "{}", line.1);
    assert_eq!(env.count("sales").await, 50);
    // The cards hold nothing of their own.
    for card in &cards {
        assert_eq!(env.card(card).await["balance"], json!("0.00"));
    }
    let s = env
        .get(
            &manager,
            &format!("/api/v1/customers/{company}/statements/2026-11"),
        )
        .await;
    assert_eq!(s.0, StatusCode::OK, "{}", s.1);
    assert_eq!(s.1["state"], json!("open"), "{}", s.1);
    assert_eq!(s.1["closing_balance"], json!("-10000.00"));
    assert_eq!(s.1["sales_total"], json!("10000.00"));
    assert_eq!(s.1["sales"].as_array().map(Vec::len), Some(50));
    let by_card: Vec<i64> = s.1["by_card"]
        .as_array()
        .expect("by card")
        .iter()
        .map(|c| c["sales"].as_i64().expect("a count"))
        .collect();
    assert_eq!(by_card.iter().sum::<i64>(), 50, "{}", s.1);
}

crate::on_one_and_two_servers!(sixty_concurrent_sales_on_credit, sixty_sales_on_a_line);

async fn statement(env: &TestEnv, token: &str, company: i64, month: &str) -> Value {
    let r = env
        .get(
            token,
            &format!("/api/v1/customers/{company}/statements/{month}"),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

/// A month on credit: sales by card and vehicle, the statement issued on
/// the statement day and frozen, reminders, the refusal once overdue past
/// the grace days, and the payment that clears it.
async fn a_month_on_credit(backend: Backend) {
    let Some(env) = TestEnv::start(backend).await else {
        return;
    };
    env.add_user("hq1", "hq", None, None).await;
    let hq = env.login("hq1").await;
    exact_price(&env).await;
    let (company, manager) = company_on_credit(&env, &hq, "顺达物流", "fleet-a").await;
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/vehicles"),
            truck_95(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let truck = credit_card(
        &env,
        &manager,
        company,
        json!({"kind": "fleet", "plate": "浙A10001"}),
    )
    .await;
    let staff = credit_card(&env, &hq, company, json!({"kind": "company_sub"})).await;
    let cashier = env.login("cashier1").await;
    for (card, amount, plate) in [
        (&truck, "200.00", Some(("浙A10001", 10_000))),
        (&truck, "200.00", Some(("浙A10001", 10_300))),
        (&staff, "100.00", None),
    ] {
        let r = sale(&env, &cashier, card, amount, plate).await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    // A credit card holds no money: nothing is recharged onto it.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{staff}/recharges"),
            json!({"amount": "100", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("credit_card_no_balance"), "{}", r.1);

    // 2026-12-10: the November statement closed on the 25th and was due on
    // the 5th; within the 5 days of grace the cards still buy.
    let env = env.on_day("2026-12-10T10:00:00+08:00").await;
    let (hq, manager, cashier) = (
        env.login("hq1").await,
        env.login("fleet-a").await,
        env.login("cashier1").await,
    );
    let nov = statement(&env, &manager, company, "2026-11").await;
    assert_eq!(nov["state"], json!("issued"), "{nov}");
    assert_eq!(nov["opening_balance"], json!("0.00"));
    assert_eq!(nov["sales_total"], json!("500.00"));
    assert_eq!(nov["closing_balance"], json!("-500.00"));
    assert_eq!(nov["period_to"], json!("2026-11-24T16:00:00Z"));
    assert_eq!(nov["due"]["amount"], json!("500.00"));
    assert_eq!(nov["due"]["due_on"], json!("2026-12-05"));
    assert_eq!(nov["due"]["standing"], json!("grace"));
    assert_eq!(
        nov["by_card"],
        json!([
            {"card_number": truck, "plate": "浙A10001", "sales": 2, "litres": "50.00", "amount": "400.00"},
            {"card_number": staff, "plate": null, "sales": 1, "litres": "12.50", "amount": "100.00"},
        ])
    );
    let line = env
        .get(
            &manager,
            &format!("/api/v1/customers/{company}/credit-line"),
        )
        .await;
    assert_eq!(
        line.1["balance"], nov["closing_balance"],
        "the ledger's balance"
    );
    let reminders = env.get(&hq, "/api/v1/credit/reminders").await;
    assert_eq!(reminders.0, StatusCode::OK, "{}", reminders.1);
    assert_eq!(reminders.1["items"][0]["standing"], json!("grace"));
    assert_eq!(reminders.1["items"][0]["outstanding"], json!("500.00"));
    let r = sale(&env, &cashier, &truck, "200.00", Some(("浙A10001", 10_600))).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Issued means frozen: the sale is December's.
    assert_eq!(statement(&env, &manager, company, "2026-11").await, nov);
    let dec = statement(&env, &manager, company, "2026-12").await;
    assert_eq!(dec["state"], json!("open"));
    assert_eq!(dec["opening_balance"], json!("-500.00"));
    assert_eq!(dec["closing_balance"], json!("-700.00"));
    let csv = env
        .client
        .get(format!(
            "{}/api/v1/customers/{company}/statements/2026-11.csv",
            env.base
        ))
        .bearer_auth(&manager)
        .send()
        .await
        .expect("an answer");
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.expect("text");
    assert!(
        text.starts_with("line,time,card,plate,product,station_or_method,litres,amount"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("sale,2026-11-18T"))
            .count(),
        3
    );
    assert!(
        text.contains(&format!("Z,{truck},浙A10001,95,S1,25.00,-200.00")),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("closing,2026-11-24T16:00:00Z,,,,,,-500.00"),
        "{text}"
    );

    // 2026-12-11: past the grace days, the company's cards are refused.
    let env = env.on_day("2026-12-11T10:00:00+08:00").await;
    let (hq, manager, cashier) = (
        env.login("hq1").await,
        env.login("fleet-a").await,
        env.login("cashier1").await,
    );
    let sales_before = env.count("sales").await;
    let r = sale(&env, &cashier, &staff, "100.00", None).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("credit_overdue"), "{}", r.1);
    assert_eq!(env.count("sales").await, sales_before);
    let reminders = env.get(&hq, "/api/v1/credit/reminders").await;
    assert_eq!(reminders.1["items"][0]["standing"], json!("overdue"));
    // Part of it does not clear it; a replay of the same key books nothing twice.
    let pay =
        |amount: &str| json!({"amount": amount, "method": "transfer", "reference": "BOC-1211"});
    let path = format!("/api/v1/customers/{company}/payments");
    let first = env
        .request(
            Method::POST,
            Some(&hq),
            &path,
            Some(pay("300.00")),
            Some("pay-1"),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert_eq!(first.1["overdue_month"], json!("2026-11"), "{}", first.1);
    assert_eq!(first.1["settled"], json!([]));
    let replay = env
        .request(
            Method::POST,
            Some(&hq),
            &path,
            Some(pay("300.00")),
            Some("pay-1"),
        )
        .await;
    assert_eq!(replay, first);
    assert_eq!(env.count("credit_payments").await, 1);
    let r = sale(&env, &cashier, &staff, "100.00", None).await;
    assert_eq!(r.1["code"], json!("credit_overdue"), "{}", r.1);
    let second = env.money(&hq, &path, pay("200.00")).await;
    assert_eq!(second.0, StatusCode::CREATED, "{}", second.1);
    assert_eq!(second.1["settled"], json!(["2026-11"]), "{}", second.1);
    assert_eq!(second.1["overdue_month"], json!(null));
    assert_eq!(second.1["balance"], json!("-200.00"));
    let r = sale(&env, &cashier, &staff, "100.00", None).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["balance"], json!("9700.00"), "what the line has left");
    let nov = statement(&env, &manager, company, "2026-11").await;
    assert_eq!(nov["due"]["paid"], json!("500.00"));
    assert_eq!(nov["due"]["standing"], json!(null));
    let dec = statement(&env, &manager, company, "2026-12").await;
    assert_eq!(dec["payments_total"], json!("500.00"));
    assert_eq!(dec["closing_balance"], json!("-300.00"));
    // The line is never cut below what is owed.
    let r = env
        .put(
            &hq,
            &format!("/api/v1/customers/{company}/credit-line"),
            json!({"limit": "100.00", "statement_day": 25, "days_to_pay": 10, "grace_days": 5}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("credit_limit_below_debt"), "{}", r.1);
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(a_month_on_credit_story, a_month_on_credit);

/// Only head office sets a line; a company's statements are its own.
async fn credit_scope(env: &TestEnv) {
    env.add_user("hq1", "hq", None, None).await;
    let hq = env.login("hq1").await;
    let (company, manager) = company_on_credit(env, &hq, "顺达物流", "fleet-a").await;
    let (other, other_manager) = company_on_credit(env, &hq, "城建工程", "fleet-b").await;
    let cashier = env.login("cashier1").await;
    let line =
        json!({"limit": "50000.00", "statement_day": 25, "days_to_pay": 10, "grace_days": 5});
    let path = format!("/api/v1/customers/{company}/credit-line");
    for token in [&cashier, &manager] {
        let r = env.put(token, &path, line.clone()).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    }
    assert_eq!(env.get(&hq, &path).await.1["limit"], json!("10000.00"));
    let statement = format!("/api/v1/customers/{company}/statements/2026-11");
    for token in [&other_manager, &cashier] {
        let r = env.get(token, &statement).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    }
    assert_eq!(env.get(&manager, &statement).await.0, StatusCode::OK);
    // A company's cards on credit are opened by head office or its own
    // manager; never by a counter, nor by another company's manager.
    let cards = env.count("cards").await;
    for token in [&cashier, &other_manager] {
        let r = env
            .post(
                token,
                "/api/v1/cards",
                json!({"kind": "company_sub", "customer_id": company, "credit": true}),
            )
            .await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    }
    assert_eq!(env.count("cards").await, cards);
    // Payments are head office's.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/customers/{other}/payments"),
            json!({"amount": "10.00", "method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(env.count("credit_payments").await, 0);
}

crate::on_both_backends!(credit_is_head_office_business, credit_scope);
