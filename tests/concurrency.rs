//! Concurrent spends on one card never overdraw it: 50 sales of 100.00
//! against 1,000.00 give exactly 10 successes — in one server, and on
//! PostgreSQL from two server processes sharing the database.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, FreshDb, TestEnv, spawn_server, two_processes};

/// Fifty concurrent sales charging 100.00 each against a card holding
/// 1,000.00, spread over the given servers.
async fn fifty_sales(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    // A product without a card discount, so each sale charges exactly 100.00.
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let number = env.funded_card(&cashier, "1000").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let base = &bases[i % bases.len()];
        let client = env.client.clone();
        let token = cashier.clone();
        let body = json!({"card_number": number, "product": "95", "amount": "100.00"});
        let url = format!("{base}/api/v1/sales");
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
            let v: serde_json::Value = resp.json().await.expect("json");
            (status, v)
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        let (status, v) = t.await.expect("task");
        if status == StatusCode::CREATED {
            assert_eq!(v["charged"], json!("100.00"), "{v}");
            let balance = v["balance"].as_str().expect("balance");
            assert!(!balance.starts_with('-'), "balance went negative: {v}");
            ok += 1;
        } else {
            assert_eq!(v["code"], json!("insufficient_balance"), "{status} {v}");
            refused += 1;
        }
    }
    assert_eq!((ok, refused), (10, 40));
    assert_eq!(env.card(&number).await["balance"], json!("0.00"));
    assert_eq!(env.count("sales").await, 10);
}

crate::on_one_and_two_servers!(fifty_concurrent_sales, fifty_sales);

#[tokio::test]
async fn the_binary_serves_sqlite_by_default_path() {
    let fresh = FreshDb::create(Backend::Sqlite).await.expect("sqlite");
    let dir = tempfile::tempdir().expect("dir");
    let clock = crate::support::settings().clock;
    let (_child, base) = spawn_server(&fresh.url, &dir.path().join("k"), &clock).await;
    let resp = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Many clients on two server processes spend from one company's main card
/// and its sub-cards at once — allocations down, sweeps back up, sales on
/// the sub-cards: every answer is a success or `insufficient_balance` (a
/// deadlock is retried inside the service, never shown), nothing overdraws,
/// and the company's money is all accounted for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_company_cards_under_two_processes() {
    let Some(env) = TestEnv::start(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (_servers, bases) = two_processes(&env, &dir).await;
    let cashier = env.login("cashier1").await;
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let company = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "并发物流"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
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
            json!({"amount": "3000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(
            env.new_card(
                &cashier,
                json!({"kind": "company_sub", "parent_card": main, "parent_pin": crate::support::MAIN_PIN}),
            )
            .await,
        );
    }
    let mut tasks = Vec::new();
    for i in 0..80usize {
        let base = bases[i % 2].clone();
        let sub = subs[i % subs.len()].clone();
        let (path, body) = match i % 4 {
            0 | 1 => (
                "/api/v1/transfers",
                json!({"from_card": main, "to_card": sub, "amount": "400", "pin": crate::support::MAIN_PIN}),
            ),
            2 => (
                "/api/v1/sales",
                json!({"card_number": sub, "product": "95", "amount": "120.00"}),
            ),
            _ => (
                "/api/v1/transfers",
                json!({"from_card": sub, "to_card": main, "amount": "150", "pin": crate::support::MAIN_PIN}),
            ),
        };
        let client = env.client.clone();
        let token = cashier.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .request(Method::POST, format!("{base}{path}"))
                .bearer_auth(token)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&body)
                .send()
                .await
                .expect("answer");
            let status = resp.status();
            (
                status,
                resp.json::<serde_json::Value>().await.expect("json"),
            )
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, v) = t.await.expect("task");
        if status.is_success() {
            ok += 1;
        } else {
            assert_eq!(v["code"], json!("insufficient_balance"), "{status} {v}");
        }
    }
    assert!(ok > 0);
    env.assert_ledger_ok().await;
    // The company's money: what is on the cards plus what was sold.
    let mut on_cards = 0i64;
    for n in std::iter::once(&main).chain(subs.iter()) {
        let b = env.card(n).await["balance"]
            .as_str()
            .expect("balance")
            .replace('.', "")
            .parse::<i64>()
            .expect("fen");
        assert!(b >= 0);
        on_cards += b;
    }
    let sold = env.count("sales").await * 12_000;
    assert_eq!(on_cards + sold, 300_000);
    env.finish().await;
}

/// A money request sent on its own task, answered as (status, body text).
fn send(
    env: &TestEnv,
    base: &str,
    token: &str,
    path: String,
    body: serde_json::Value,
) -> tokio::task::JoinHandle<(StatusCode, String)> {
    let request = env
        .client
        .request(Method::POST, format!("{base}{path}"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body);
    tokio::spawn(async move {
        let resp = request.send().await.expect("answer");
        (resp.status(), resp.text().await.expect("body"))
    })
}

/// A closure racing 50 recharges of 10.00, spread over the given servers:
/// every recharge either lands before the closure (and the closure refunds
/// it) or is refused because the card is closed; the card ends closed at
/// zero, and the ledger check — which holds a closed card to zero — passes.
async fn closure_races_recharges(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let mut recharges = Vec::new();
    for i in 0..50 {
        recharges.push(send(
            env,
            &bases[i % bases.len()],
            &cashier,
            format!("/api/v1/cards/{number}/recharges"),
            json!({"amount": "10.00", "payment_method": "cash"}),
        ));
        if i == 25 {
            tokio::task::yield_now().await;
        }
    }
    let closure = send(
        env,
        &bases[bases.len() - 1],
        &cashier,
        format!("/api/v1/cards/{number}/closure"),
        json!({"identity": crate::support::identity()}),
    );
    let mut landed = 0;
    for t in recharges {
        let (status, body) = t.await.expect("task");
        if status == StatusCode::CREATED {
            landed += 1;
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["code"], json!("card_closed"), "{status} {v}");
        }
    }
    let (status, closed) = closure.await.expect("task");
    let closed: serde_json::Value = serde_json::from_str(&closed).expect("json");
    assert_eq!(status, StatusCode::OK, "{closed}");
    let refunded = format!("{}.00", 100 + 10 * landed);
    assert_eq!(
        closed["refunded"],
        json!(refunded),
        "{landed} recharges landed before the closure: {closed}"
    );
    let card = env.card(&number).await;
    assert_eq!(card["status"], json!("closed"));
    assert_eq!(card["balance"], json!("0.00"), "{card}");
    eprintln!("{landed} of 50 recharges landed before the closure");
}

crate::on_one_and_two_servers!(a_closure_racing_recharges, closure_races_recharges);

/// A shift closed while its cashier books 40 cash recharges: each recharge
/// lands in the shift before it closes (and is in its expected cash) or in
/// the cashier's next shift — never in a shift already closed.
async fn shift_close_races_recharges(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    env.add_user("manager1", "station_manager", Some("S1"), None)
        .await;
    let manager = env.login("manager1").await;
    let card = env.funded_card(&cashier, "100").await;
    let shift = env.get(&cashier, "/api/v1/shifts/current").await.1["id"]
        .as_i64()
        .expect("the open shift");
    let mut recharges = Vec::new();
    for i in 0..40 {
        recharges.push(send(
            env,
            &bases[i % bases.len()],
            &cashier,
            format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "10.00", "payment_method": "cash"}),
        ));
    }
    let close = send(
        env,
        &bases[0],
        &manager,
        format!("/api/v1/shifts/{shift}/close"),
        json!({"counted_cash": "0", "counted_bank_card": "0", "counted_transfer": "0"}),
    );
    for t in recharges {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = close.await.expect("task");
    assert_eq!(status, StatusCode::OK, "{body}");
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT s.expected_cash_fen, \
           (SELECT COALESCE(CAST(SUM(r.amount_fen) AS BIGINT), 0) FROM recharges r \
              WHERE r.shift_id = s.id) AS booked_fen, \
           (SELECT COUNT(*) FROM recharges r WHERE r.shift_id = s.id) AS booked \
         FROM shifts s WHERE s.id = $1",
    )
    .bind(shift)
    .fetch_one(env.db.pool())
    .await
    .expect("the closed shift");
    let expected: i64 = row.try_get("expected_cash_fen").expect("expected");
    let booked: i64 = row.try_get("booked_fen").expect("booked");
    let in_closed: i64 = row.try_get("booked").expect("count");
    assert_eq!(
        expected, booked,
        "the closed shift expects {expected} fen but {booked} fen is booked in it"
    );
    assert_eq!(env.count("recharges").await, 41);
    eprintln!("{} of 40 recharges landed before the close", in_closed - 1);
}

crate::on_one_and_two_servers!(a_shift_close_racing_recharges, shift_close_races_recharges);

/// Sixty sales with wrong PINs on one card, the right PIN among them, from
/// twelve cashiers at twelve counters at once (so that no counter's own
/// guessing limit cuts in), spread over the given servers: the card counts
/// exactly three wrong tries (beyond those a right PIN reset before them)
/// and is locked; exactly one answer locks it; nothing sells after the lock.
async fn sixty_wrong_pins(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    let number = env
        .pin_card(&cashier, "13600000001", "246810", "1000")
        .await;
    let mut counters = Vec::new();
    for i in 0..12u8 {
        let name = format!("pin-cashier{i}");
        env.add_user(&name, "cashier", Some("S1"), None).await;
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 1, i + 1]))
            .build()
            .expect("a client");
        counters.push((client, env.login(&name).await));
    }
    let mut sales = Vec::new();
    for i in 0..60 {
        let pin = if i == 30 {
            "246810".to_string()
        } else {
            format!("{:06}", 100_000 + i)
        };
        let (client, token) = &counters[i % counters.len()];
        let request = client
            .post(format!("{}/api/v1/sales", bases[i % bases.len()]))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"card_number": number, "product": "92", "litres": "1", "pin": pin}));
        sales.push(tokio::spawn(async move {
            let resp = request.send().await.expect("answer");
            (resp.status(), resp.text().await.expect("body"))
        }));
    }
    let (mut sold, mut wrong, mut locking, mut locked) = (0, 0, 0, 0);
    for t in sales {
        let (status, body) = t.await.expect("task");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        match (status, v["code"].as_str()) {
            (StatusCode::CREATED, _) => sold += 1,
            (_, Some("wrong_pin")) => wrong += 1,
            (_, Some("pin_locked")) if v["tries_left"] == json!(0) => locking += 1,
            (_, Some("pin_locked")) => locked += 1,
            _ => panic!("{status} {v}"),
        }
    }
    eprintln!("{sold} sold, {wrong} wrong, {locking} locking, {locked} refused as locked");
    assert_eq!(locking, 1, "one try locks the card");
    assert!(sold <= 1);
    // Two wrong tries before the lock, and at most the two the right PIN
    // forgave if it came in between (its sale may still find the card
    // locked by then, and is refused).
    assert!((2..=4).contains(&wrong), "{wrong}");
    assert_eq!(sold + wrong + locking + locked, 60);
    let card = env.card(&number).await;
    assert_eq!(card["status"], json!("locked"), "{card}");
    let failures: i64 = sqlx::query_scalar("SELECT pin_failures FROM cards WHERE number = $1")
        .bind(&number)
        .fetch_one(env.db.pool())
        .await
        .expect("the card");
    assert_eq!(failures, 3, "exactly three counted tries");
    assert_eq!(
        env.count("sales").await,
        sold,
        "nothing sold after the lock"
    );
}

crate::on_one_and_two_servers!(sixty_concurrent_wrong_pins, sixty_wrong_pins);

/// A fleet manager's plan approved while the same manager (in another
/// window, on another server) edits its lines: every edit lands before
/// the approval and is funded, or is refused as too late — each vehicle
/// card ends holding exactly its line of the approved plan.
async fn plan_edits_race_approval(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "100000").await;
    env.put_fixture_policy(&manager, company).await;
    let mut cards = Vec::new();
    for i in 0..8 {
        let plate = format!("浙A3{i:04}");
        let card = env
            .fleet_vehicle(
                &cashier,
                &manager,
                company,
                &main,
                crate::support::car(&plate),
            )
            .await;
        cards.push((plate, card));
    }
    let month = "2030-01";
    let plans = format!("/api/v1/fleet/{company}/allocations");
    let r = env.post(&manager, &plans, json!({"month": month})).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let mut edits = Vec::new();
    for (i, (plate, _)) in cards.iter().enumerate() {
        let amount = format!("{}.00", 500 + 10 * i);
        let url = format!("{}{plans}/{month}/lines/{plate}", bases[i % bases.len()]);
        let request = env
            .client
            .put(url)
            .bearer_auth(&manager)
            .json(&json!({"amount": amount, "reason": "shorter routes"}));
        edits.push(tokio::spawn(async move {
            let resp = request.send().await.expect("answer");
            (resp.status(), resp.text().await.expect("body"))
        }));
        if i == 3 {
            tokio::task::yield_now().await;
        }
    }
    let approval = send(
        env,
        &bases[bases.len() - 1],
        &manager,
        format!("{plans}/{month}/approval"),
        json!({}),
    );
    let mut late = 0;
    for t in edits {
        let (status, body) = t.await.expect("task");
        if status != StatusCode::OK {
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(
                v["code"],
                json!("allocation_already_approved"),
                "{status} {v}"
            );
            late += 1;
        }
    }
    let (status, body) = approval.await.expect("task");
    assert_eq!(status, StatusCode::OK, "{body}");
    eprintln!("{late} of 8 edits came after the approval");
    let plan = env.get(&manager, &format!("{plans}/{month}")).await.1;
    assert_eq!(plan["status"], json!("approved"));
    for line in plan["lines"].as_array().expect("lines") {
        let card = line["card_number"].as_str().expect("a card");
        assert_eq!(
            env.card(card).await["balance"],
            line["amount"],
            "the card holds what its line says: {line}"
        );
    }
}

crate::on_one_and_two_servers!(plan_edits_racing_approval, plan_edits_race_approval);

/// Decisions racing each other: a top-up approved and rejected at once is
/// decided once (and funded at most once); two approved loans of one
/// vehicle handed out at once lend the card out once.
async fn decisions_race(env: &TestEnv, bases: &[String]) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "100000").await;
    let plate = "浙A40001";
    let card = env
        .fleet_vehicle(
            &cashier,
            &manager,
            company,
            &main,
            crate::support::car(plate),
        )
        .await;
    let fleet = format!("/api/v1/fleet/{company}");
    for round in 0..10 {
        let r = env
            .post(
                &manager,
                &format!("{fleet}/topups"),
                json!({"plate": plate, "amount": "10", "reason": "long week"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let id = r.1["id"].as_i64().expect("an id");
        let decisions: Vec<_> = ["approval", "rejection", "approval"]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                send(
                    env,
                    &bases[(round + i) % bases.len()],
                    &manager,
                    format!("{fleet}/topups/{id}/{d}"),
                    json!({}),
                )
            })
            .collect();
        let mut decided = 0;
        for t in decisions {
            let (status, body) = t.await.expect("task");
            if status.is_success() {
                decided += 1;
            } else {
                assert!(body.contains("illegal_transition"), "{status} {body}");
            }
        }
        assert_eq!(decided, 1, "one decision stands");
        let loans_path = format!("{fleet}/loans");
        let loans: Vec<i64> = futures::future::join_all((0..2).map(|_| {
            env.post(
                &manager,
                &loans_path,
                json!({"plate": plate, "driver": "王师傅", "purpose": "送货",
                       "route": "杭州—宁波", "starts_on": "2026-11-20", "ends_on": "2026-11-22"}),
            )
        }))
        .await
        .into_iter()
        .map(|r| r.1["id"].as_i64().expect("a loan"))
        .collect();
        for loan in &loans {
            let r = env
                .post(
                    &manager,
                    &format!("{fleet}/loans/{loan}/approval"),
                    json!({}),
                )
                .await;
            assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        }
        let handouts: Vec<_> = loans
            .iter()
            .enumerate()
            .map(|(i, loan)| {
                send(
                    env,
                    &bases[i % bases.len()],
                    &manager,
                    format!("{fleet}/loans/{loan}/handout"),
                    json!({}),
                )
            })
            .collect();
        let mut out = Vec::new();
        for (t, loan) in handouts.into_iter().zip(&loans) {
            let (status, body) = t.await.expect("task");
            if status.is_success() {
                out.push(*loan);
            } else {
                assert!(body.contains("card_lent_out"), "{status} {body}");
            }
        }
        assert_eq!(out.len(), 1, "round {round}: the card is lent out once");
        let r = env
            .post(
                &manager,
                &format!("{fleet}/loans/{}/return", out[0]),
                json!({}),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    }
    let topups: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM topup_requests WHERE status = 'approved'")
            .fetch_one(env.db.pool())
            .await
            .expect("count");
    let funded = env.count("operations WHERE kind = 'early_topup'").await;
    assert_eq!(funded, topups, "each approved top-up funded once");
    assert_eq!(
        env.card(&card).await["balance"],
        json!(format!("{}.00", 10 * topups))
    );
}

crate::on_one_and_two_servers!(racing_decisions, decisions_race);
