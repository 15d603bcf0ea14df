//! Replays answer the first response and change nothing; a key reused for
//! another request is refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestEnv;

async fn replay_returns_the_first_answer(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "1000").await;
    let body = json!({"card_number": number, "product": "92", "litres": "10"});
    let key = "7b1c1f0e-0000-4000-8000-000000000001";
    let first = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/sales",
            Some(body.clone()),
            Some(key),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let sales = env.count("sales").await;
    let transfers = env.count("transfers").await;
    for _ in 0..3 {
        let again = env
            .request(
                Method::POST,
                Some(&cashier),
                "/api/v1/sales",
                Some(body.clone()),
                Some(key),
            )
            .await;
        assert_eq!(again.0, StatusCode::CREATED);
        assert_eq!(
            again.1, first.1,
            "a replay answers exactly the first response"
        );
    }
    assert_eq!(env.count("sales").await, sales);
    assert_eq!(env.count("transfers").await, transfers);
    assert_eq!(env.card(&number).await["balance"], json!("925.20"));

    // The same key with another body is refused and changes nothing.
    let other = json!({"card_number": number, "product": "92", "litres": "11"});
    let r = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/sales",
            Some(other),
            Some(key),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("idempotency_key_reused"));
    assert_eq!(env.count("sales").await, sales);

    // A money request without a key is refused before anything happens.
    let r = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/sales",
            Some(body),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::BAD_REQUEST);
    assert_eq!(r.1["code"], json!("idempotency_key_missing"));

    // Concurrent duplicates of one recharge apply it once.
    let rkey = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/v1/cards/{number}/recharges");
    let recharge = json!({"amount": "100", "payment_method": "cash"});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(env.request(
            Method::POST,
            Some(&cashier),
            &path,
            Some(recharge.clone()),
            Some(&rkey),
        ));
    }
    let results = futures::future::join_all(tasks).await;
    let ok: Vec<_> = results
        .iter()
        .filter(|r| r.0 == StatusCode::CREATED)
        .collect();
    assert!(!ok.is_empty(), "{results:?}");
    for r in &ok {
        assert_eq!(r.1, ok[0].1);
    }
    assert_eq!(env.card(&number).await["balance"], json!("1025.20"));
}
on_both_backends!(replay, replay_returns_the_first_answer);

/// A replay answers first: a sale replayed after its card was locked by
/// three wrong PINs still answers the sale's first 201, word for word, and
/// books nothing more.
async fn replay_answers_before_the_card_is_checked_again(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let card = env.pin_card(&cashier, "13800000021", "4321", "500").await;
    let sale = json!({"card_number": card, "product": "92", "litres": "10", "pin": "4321"});
    let key = uuid::Uuid::new_v4().to_string();
    let first = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/sales",
            Some(sale.clone()),
            Some(&key),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    env.lock_with_wrong_pins(&cashier, &card).await;
    let sales = env.count("sales").await;
    let again = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/sales",
            Some(sale),
            Some(&key),
        )
        .await;
    assert_eq!(again, first, "the replay answers the first answer");
    assert_eq!(env.count("sales").await, sales);
}
on_both_backends!(
    replay_answers_first,
    replay_answers_before_the_card_is_checked_again
);

/// Creation requests take an Idempotency-Key too: a retry of a customer,
/// a card, a vehicle, a user, a top-up or a loan request gets the first
/// answer and makes no second record; the key with another body is
/// refused. Without a key each request creates its own record.
async fn creation_keys(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "恒通物流", "fleet-k", "900").await;
    let plate = "浙C30003";
    let card = env
        .new_card(
            &cashier,
            json!({"kind": "fleet", "parent_card": main, "parent_pin": crate::support::MAIN_PIN, "plate": plate}),
        )
        .await;
    let cases: Vec<(&str, &str, String, Value, &str)> = vec![
        (
            "customers",
            &cashier,
            "/api/v1/customers".into(),
            json!({"kind": "person", "name": "王五", "phone": "13700000001"}),
            "customers",
        ),
        (
            "cards",
            &cashier,
            "/api/v1/cards".into(),
            json!({"kind": "anonymous"}),
            "cards",
        ),
        (
            "users",
            &env.admin,
            "/api/v1/users".into(),
            json!({"username": "keyed-cashier", "password": "keyed-password", "role": "cashier", "station": "S1"}),
            "users",
        ),
        (
            "vehicles",
            &manager,
            format!("/api/v1/fleet/{company}/vehicles"),
            crate::support::car(plate),
            "vehicles",
        ),
        (
            "topups",
            &manager,
            format!("/api/v1/fleet/{company}/topups"),
            json!({"plate": plate, "amount": "100", "reason": "long haul"}),
            "topup_requests",
        ),
        (
            "loans",
            &manager,
            format!("/api/v1/fleet/{company}/loans"),
            json!({"plate": plate, "driver": "赵六", "purpose": "trip", "route": "杭州-宁波",
                "starts_on": "2026-11-20", "ends_on": "2026-11-22"}),
            "card_loans",
        ),
    ];
    for (what, token, path, body, table) in cases {
        let before = env.count(table).await;
        let key = format!("create-{what}");
        let first = env
            .request(
                Method::POST,
                Some(token),
                &path,
                Some(body.clone()),
                Some(&key),
            )
            .await;
        assert_eq!(first.0, StatusCode::CREATED, "{what}: {}", first.1);
        let again = env
            .request(
                Method::POST,
                Some(token),
                &path,
                Some(body.clone()),
                Some(&key),
            )
            .await;
        assert_eq!(again.0, StatusCode::CREATED, "{what}: {}", again.1);
        assert_eq!(
            again.1, first.1,
            "{what}: the retry answers the first answer"
        );
        assert_eq!(env.count(table).await, before + 1, "{what}: one record");
        let mut other = body.clone();
        other["extra_field_to_differ"] = json!(1);
        let reused = env
            .request(Method::POST, Some(token), &path, Some(other), Some(&key))
            .await;
        assert_eq!(
            reused.1["code"],
            json!("idempotency_key_reused"),
            "{what}: {}",
            reused.1
        );
        assert_eq!(
            env.count(table).await,
            before + 1,
            "{what}: still one record"
        );
    }
    // A key that is sent must be a key: an empty one is refused, not
    // taken for no key.
    let before = env.count("customers").await;
    let r = env
        .request(
            Method::POST,
            Some(&cashier),
            "/api/v1/customers",
            Some(json!({"kind": "person", "name": "钱八"})),
            Some(" "),
        )
        .await;
    assert_eq!(r.1["code"], json!("idempotency_key_missing"), "{}", r.1);
    assert_eq!(env.count("customers").await, before);

    // Without a key, two requests are two customers.
    for _ in 0..2 {
        let r = env
            .post(
                &cashier,
                "/api/v1/customers",
                json!({"kind": "person", "name": "李四"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    assert_eq!(env.count("customers").await, before + 2);
    assert_eq!(env.card(&card).await["plate"], json!(plate));
}
on_both_backends!(creation_requests_take_a_key, creation_keys);

/// Answered keys replay within the replay window (7 days by default) and
/// are purged after it; expired sessions are purged too. A server whose
/// clock stands past them sweeps them as soon as it starts. (Its own
/// environment: the purge ends the test server's admin session as well.)
async fn old_keys_and_sessions_are_purged(backend: crate::support::Backend) {
    use sqlx::Row;
    let Some(owned) = TestEnv::start(backend).await else {
        return;
    };
    let env = &owned;
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let r = env
        .request(
            Method::POST,
            Some(&cashier),
            &format!("/api/v1/cards/{number}/recharges"),
            Some(json!({"amount": "10", "payment_method": "cash"})),
            Some("purge-me"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let stored = || async {
        sqlx::query("SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = 'purge-me'")
            .fetch_one(env.db.pool())
            .await
            .expect("count")
            .try_get::<i64, _>("n")
            .expect("n")
    };
    let dir = tempfile::tempdir().expect("a dir");
    let keys = dir.path().join("keys.toml");
    let after = |days: i64| {
        let at = env.clock.now() + chrono::Duration::days(days);
        fuelcard::time::Clock::parse(&at.to_rfc3339()).expect("an instant")
    };
    let sessions = env.count("sessions").await;
    assert!(sessions > 0);
    // Three days on: the sessions (12 hours) are gone, the key is kept.
    let (three, _) = crate::support::spawn_server(&env.fresh.url, &keys, &after(3)).await;
    let mut waited = 0;
    while env.count("sessions").await > 0 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        env.count("sessions").await,
        0,
        "expired sessions are purged"
    );
    assert_eq!(stored().await, 1, "a key inside the window is kept");
    drop(three);
    // Eight days on: the key is gone, so a retry would be a new request.
    let (eight, _) = crate::support::spawn_server(&env.fresh.url, &keys, &after(8)).await;
    let mut waited = 0;
    while stored().await > 0 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(stored().await, 0, "a key past the window is purged");
    let admin = env.login("admin").await;
    let card = env.get(&admin, &format!("/api/v1/cards/{number}")).await;
    assert_eq!(card.1["balance"], json!("110.00"), "{}", card.1);
    let check = env.get(&admin, "/api/v1/ledger/check").await;
    assert_eq!(check.1["ok"], json!(true), "{}", check.1);
    drop(eight);
    owned.finish().await;
}
crate::with_each_backend!(
    old_keys_and_sessions_purged,
    old_keys_and_sessions_are_purged
);
