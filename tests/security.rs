//! Roles and scopes on every route.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestEnv;

async fn roles_and_scopes(env: &TestEnv) {
    // No token: 401 as problem+json.
    let resp = env
        .client
        .get(format!("{}/api/v1/cards/9100000000000000", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let r = env
        .request(
            Method::POST,
            Some("not-a-token"),
            "/api/v1/customers",
            Some(json!({"kind": "person", "name": "x"})),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);

    // A cashier cannot add users, set prices or check the ledger.
    let cashier = env.login("cashier1").await;
    let users = env.count("users").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/users",
            json!({"username": "mallory", "password": "password123", "role": "admin"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("forbidden"));
    assert_eq!(env.count("users").await, users);
    let r = env
        .put(
            &cashier,
            "/api/v1/products/92/price",
            json!({"unit_price": "1.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let r = env.get(&cashier, "/api/v1/ledger/check").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    // A cashier cannot book at another station.
    let number = env.funded_card(&cashier, "100").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "1", "station": "S2"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);

    // Fleet managers see only their own company's cards.
    let a = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "A 公司"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    let b = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "B 公司"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    let card_a = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": a, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    let card_b = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": b, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    env.add_user("fleet-a", "fleet_manager", None, Some(a))
        .await;
    let fleet_a = env.login("fleet-a").await;
    let r = env.get(&fleet_a, &format!("/api/v1/cards/{card_a}")).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env.get(&fleet_a, &format!("/api/v1/cards/{card_b}")).await;
    assert_eq!(r.0, StatusCode::NOT_FOUND, "{}", r.1);
    let r = env
        .get(&fleet_a, &format!("/api/v1/cards/{card_b}/transactions"))
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND);
    let r = env.get(&fleet_a, &format!("/api/v1/customers/{b}")).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    assert_eq!(r.1["code"], json!("not_your_company"), "{}", r.1);
    let r = env
        .get(&fleet_a, &format!("/api/v1/cards?customer_id={b}"))
        .await;
    assert_eq!(r.1["items"], json!([]), "{}", r.1);
    // …and cannot work the counter.
    let r = env
        .money(
            &fleet_a,
            &format!("/api/v1/cards/{card_a}/recharges"),
            json!({"amount": "10", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);

    // Every write is audited with who did it.
    let r = env.get(&env.admin, "/api/v1/audit?limit=500").await;
    let entries = r.1.as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == json!("recharge") && e["user"] == json!("cashier1")),
        "{}",
        r.1
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == json!("user_add") && e["user"] == json!("admin"))
    );
    // Passwords are argon2id hashes.
    use sqlx::Row;
    let hash: String = sqlx::query("SELECT password_hash FROM users WHERE username = 'cashier1'")
        .fetch_one(env.db.pool())
        .await
        .expect("row")
        .try_get("password_hash")
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // Wrong password: 401 with a clear code.
    let r = env
        .request(
            Method::POST,
            None,
            "/api/v1/auth/login",
            Some(json!({"username": "cashier1", "password": "nope"})),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
    assert_eq!(r.1["code"], json!("invalid_credentials"));
}
on_both_backends!(roles, roles_and_scopes);

/// A client at its own loopback address, so that tests can come from
/// several addresses.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .expect("a client")
}

async fn login_from(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> (StatusCode, serde_json::Value) {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("an answer");
    (r.status(), r.json().await.expect("json"))
}

async fn guessing_is_throttled(env: &TestEnv) {
    // Logins: five wrong passwords from one address are free, the sixth
    // earns a wait of a second, and then even the right password waits —
    // on this server and on another process sharing the database.
    let here = client_from([127, 0, 0, 1]);
    for _ in 0..6 {
        let r = login_from(&here, &env.base, "cashier1", "guess").await;
        assert_eq!(r.1["code"], json!("invalid_credentials"), "{}", r.1);
    }
    let dir = tempfile::tempdir().expect("a dir");
    let (_other, other) =
        crate::support::spawn_server(&env.fresh.url, &dir.path().join("k"), &env.clock).await;
    for base in [&env.base, &other] {
        let r = login_from(&here, base, "cashier1", "cashier1-password").await;
        assert_eq!(r.0, StatusCode::TOO_MANY_REQUESTS, "{}", r.1);
        assert_eq!(r.1["code"], json!("rate_limited"));
        assert_eq!(r.1["retry_after_seconds"], json!(1));
    }
    // Another address is not held up by this one's guesses.
    let there = client_from([127, 0, 0, 2]);
    let r = login_from(&there, &env.base, "cashier1", "cashier1-password").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    // A flood of guesses at the admin from one address is cut short there,
    // and the admin still logs in from elsewhere.
    let mut limited = 0;
    for _ in 0..40 {
        let r = login_from(&here, &env.base, "admin", "guess").await;
        if r.1["code"] == json!("rate_limited") {
            limited += 1;
        }
    }
    assert!(limited >= 30, "{limited} of 40 guesses were held up");
    let r = login_from(&there, &env.base, "admin", "admin-password").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    // When the wait is over the right password works from here too.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = login_from(&here, &env.base, "cashier1", "cashier1-password").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    // PINs: three wrong tries lock one card; ten across cards are free for
    // one user, the eleventh earns a wait.
    env.add_user("cashier9", "cashier", Some("S1"), None).await;
    let cashier = env.login("cashier9").await;
    let mut tries = 0;
    let mut cards = Vec::new();
    for i in 0..4 {
        let customer = env
            .new_person(&cashier, "持卡人", &format!("1390000000{i}"))
            .await;
        cards.push(
            env.new_card(
                &cashier,
                json!({"kind": "personal", "customer_id": customer, "pin": "246810"}),
            )
            .await,
        );
    }
    'outer: for card in &cards {
        for _ in 0..3 {
            let r = env
                .money(
                    &cashier,
                    "/api/v1/sales",
                    json!({"card_number": card, "product": "92", "litres": "1", "pin": "000000"}),
                )
                .await;
            tries += 1;
            if tries > 11 {
                assert_eq!(r.0, StatusCode::TOO_MANY_REQUESTS, "{}", r.1);
                break 'outer;
            }
            assert!(
                matches!(r.1["code"].as_str(), Some("wrong_pin" | "pin_locked")),
                "{}",
                r.1
            );
        }
    }
    assert_eq!(tries, 12);
    // The right PIN gives its try back and leaves no counter of its own:
    // a sale refused after it (the card holds nothing) wrote nothing.
    env.add_user("cashier8", "cashier", Some("S1"), None).await;
    let other = env.login("cashier8").await;
    let customer = env.new_person(&other, "持卡人", "13900000099").await;
    let empty = env
        .new_card(
            &other,
            json!({"kind": "personal", "customer_id": customer, "pin": "246810"}),
        )
        .await;
    let r = env
        .money(
            &other,
            "/api/v1/sales",
            json!({"card_number": empty, "product": "92", "litres": "1", "pin": "246810"}),
        )
        .await;
    assert_eq!(r.1["code"], "insufficient_balance", "{}", r.1);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guesses WHERE key LIKE 'pin-user:%'")
        .fetch_one(env.db.pool())
        .await
        .expect("the users' counts");
    assert_eq!(rows, 1, "only cashier9's count is kept");
    let counted: i64 = sqlx::query_scalar("SELECT tries FROM guesses WHERE key LIKE 'pin-user:%'")
        .fetch_one(env.db.pool())
        .await
        .expect("the user's count");
    assert_eq!(counted, 11, "counted in the database");
}
on_both_backends!(throttled_guessing, guessing_is_throttled);

/// Runs `fuelcard user add` on the test's database with the password on
/// standard input, as an operator would.
async fn console_user_add(env: &TestEnv, args: &[&str], password: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
        .args(["user", "add", "--db", &env.fresh.url])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start fuelcard user add");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .expect("write the password");
    drop(stdin);
    child.wait_with_output().await.expect("user add finishes")
}

/// The console adds staff through the same action and policy as the API:
/// the same scope checks refuse a wrong company, and the audit log records
/// the addition without a user.
async fn console_adds_staff(env: &TestEnv) {
    let out = console_user_add(
        env,
        &[
            "--username",
            "desk7",
            "--role",
            "cashier",
            "--station",
            "S1",
        ],
        "desk7-password",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("user desk7 (cashier) added"));
    let token = env.login("desk7").await;
    let me = env.get(&token, "/api/v1/me").await;
    assert_eq!(me.1["role"], json!("cashier"), "{}", me.1);
    let audit = env.get(&env.admin, "/api/v1/audit").await;
    let entry = audit
        .1
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|e| e["subject"] == json!("desk7") && e["action"] == json!("user_add"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("an audit entry adding desk7: {}", audit.1));
    assert_eq!(entry["user"], json!(null), "{entry}");

    // A fleet manager whose company is a person: refused, nothing written.
    let cashier = env.login("cashier1").await;
    let person = env.new_person(&cashier, "个人", "13900000077").await;
    let users = env.count("users").await;
    let out = console_user_add(
        env,
        &[
            "--username",
            "fleet7",
            "--role",
            "fleet_manager",
            "--company",
            &person.to_string(),
        ],
        "fleet7-password",
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("company_id must name a company customer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.count("users").await, users);
}
on_both_backends!(console_staff, console_adds_staff);

/// `fuelcard serve` on the test's database with the given PIN key (hex, or
/// none) and a key file that does not exist: how it ends, when it refuses.
async fn serve_refused(env: &TestEnv, pin_key: Option<String>) -> String {
    let dir = tempfile::tempdir().expect("a dir");
    let missing = dir.path().join("no-keys.toml");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"));
    cmd.args([
        "serve",
        "--db",
        &env.fresh.url,
        "--listen",
        "127.0.0.1:0",
        "--key-file",
    ])
    .arg(&missing)
    .env_remove("FUELCARD_PIN_KEY")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    if let Some(k) = pin_key {
        cmd.env("FUELCARD_PIN_KEY", k);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the server gives up within a minute instead of serving")
        .expect("run fuelcard serve");
    assert!(!out.status.success(), "the server must refuse to start");
    assert!(
        !missing.exists(),
        "no new key file is made for a database with PINs"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Keys cannot silently change: the first server records the PIN key's
/// check value; a server with another key, or with its key file gone,
/// refuses to start and says what to do, instead of refusing every PIN.
async fn keys_cannot_silently_change(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let card = env.pin_card(&cashier, "13900000088", "135790", "50").await;
    let dir = tempfile::tempdir().expect("a dir");
    let keys = dir.path().join("keys.toml");
    let (first, _) = crate::support::spawn_server(&env.fresh.url, &keys, &env.clock).await;
    drop(first);
    let other = "00112233445566778899aabbccddeeff".to_string();
    let said = serve_refused(env, Some(other)).await;
    assert!(
        said.contains("is not the key this database's card PINs were set up under"),
        "{said}"
    );
    let said = serve_refused(env, None).await;
    assert!(
        said.contains("key file") && said.contains("is missing"),
        "{said}"
    );
    // The right key still serves, and the PIN still works.
    let (_again, base) = crate::support::spawn_server(&env.fresh.url, &keys, &env.clock).await;
    let token = crate::support::login(&env.client, &base, "cashier1", "cashier1-password").await;
    let r = env
        .client
        .post(format!("{base}/api/v1/sales"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "after-restart")
        .json(&json!({"card_number": card, "product": "92", "litres": "1", "pin": "135790"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::CREATED);
}
on_both_backends!(key_checks, keys_cannot_silently_change);

/// The issuer keys cannot silently change either: the first server with a
/// reader records their check value; one started with other keys refuses
/// and says so, and the right keys still serve.
async fn issuer_keys_cannot_silently_change(env: &TestEnv) {
    let dir = tempfile::tempdir().expect("a dir");
    let issuer = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            fuelcard_reader::keys::IssuerKeys::generate().to_key_file(),
        )
        .expect("a key file");
        path
    };
    let (first, other) = (issuer("issuer-a"), issuer("issuer-b"));
    let serve = |keys: &std::path::Path| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"));
        cmd.args(["serve", "--db", &env.fresh.url, "--listen", "127.0.0.1:0"])
            .args(["--reader", "Virtual PCD 00 00", "--issuer-keys"])
            .arg(keys)
            .arg("--key-file")
            .arg(dir.path().join("pin-key"))
            .env("FUELCARD_PIN_KEY", crate::support::hex_key())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd
    };
    let mut started = serve(&first).spawn().expect("start");
    crate::support::announced_address(&mut started).await;
    drop(started);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), serve(&other).output())
        .await
        .expect("the server gives up instead of serving")
        .expect("run fuelcard serve");
    assert!(!out.status.success(), "other issuer keys must be refused");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("are not the keys this database's chip records were made under"),
        "{said}"
    );
    let mut again = serve(&first).spawn().expect("start");
    crate::support::announced_address(&mut again).await;
}
on_both_backends!(issuer_key_checks, issuer_keys_cannot_silently_change);

/// `--help` names the environment variables but never prints their values:
/// a database URL carries its password.
#[test]
fn help_keeps_secrets() {
    for command in [&["serve", "--help"][..], &["user", "add", "--help"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
            .args(command)
            .env(
                "DATABASE_URL",
                "postgres://fuelcard:s3cret-pass@db.example/fuelcard",
            )
            .output()
            .expect("run fuelcard --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("DATABASE_URL"), "{text}");
        assert!(
            !text.contains("s3cret-pass"),
            "{command:?} prints the password: {text}"
        );
    }
}

/// With a metrics token set, `/metrics` answers only its bearer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_behind_a_token() {
    let settings = fuelcard::config::Settings {
        metrics_token: Some("metrics-7f3a".into()),
        ..crate::support::settings()
    };
    let env = TestEnv::start_with(crate::support::Backend::Sqlite, settings)
        .await
        .expect("sqlite");
    let get = |token: Option<&str>| {
        let mut req = env.client.get(format!("{}/metrics", env.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for token in [None, Some("metrics-7f3b"), Some(env.admin.as_str())] {
        let r = get(token).await.expect("answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
    let r = get(Some("metrics-7f3a")).await.expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .expect("text")
            .contains("http_requests_total")
    );
    env.finish().await;
}

/// A user changes their own password: the wrong current one is refused
/// and changes nothing; the right one changes it, ends their other
/// sessions and keeps this one; the old password no longer logs in.
async fn password_change(env: &TestEnv) {
    let here = env.login("cashier1").await;
    let elsewhere = env.login("cashier1").await;
    let r = env
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "not-my-password", "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("wrong_password"));
    assert_eq!(env.get(&elsewhere, "/api/v1/me").await.0, StatusCode::OK);
    let r = env
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "cashier1-password", "new_password": "short"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);
    let r = env
        .post(
            &here,
            "/api/v1/me/password",
            json!({"current_password": "cashier1-password", "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::NO_CONTENT, "{}", r.1);
    assert_eq!(env.get(&here, "/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(
        env.get(&elsewhere, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let old = env
        .post(
            "",
            "/api/v1/auth/login",
            json!({"username": "cashier1", "password": "cashier1-password"}),
        )
        .await;
    assert_eq!(old.1["code"], json!("invalid_credentials"), "{}", old.1);
    crate::support::login(&env.client, &env.base, "cashier1", "a-new-password").await;
}
on_both_backends!(own_password_change, password_change);

/// An administrator deactivates a user: their sessions end at once and
/// they cannot log in again; an administrator cannot deactivate
/// themselves, and nobody else may deactivate anyone.
async fn deactivation(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    env.add_user("cashier9", "cashier", Some("S1"), None).await;
    let r = env
        .post(&cashier, "/api/v1/users/cashier9/deactivation", json!({}))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .post(&env.admin, "/api/v1/users/cashier1/deactivation", json!({}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1, json!({"username": "cashier1", "active": false}));
    assert_eq!(
        env.get(&cashier, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let again = env
        .post(
            "",
            "/api/v1/auth/login",
            json!({"username": "cashier1", "password": "cashier1-password"}),
        )
        .await;
    assert_eq!(again.1["code"], json!("invalid_credentials"), "{}", again.1);
    let r = env
        .post(&env.admin, "/api/v1/users/cashier1/deactivation", json!({}))
        .await;
    assert_eq!(r.1["code"], json!("user_not_found"), "{}", r.1);
    let r = env
        .post(&env.admin, "/api/v1/users/admin/deactivation", json!({}))
        .await;
    assert_eq!(r.1["code"], json!("validation_failed"), "{}", r.1);
    assert_eq!(env.get(&env.admin, "/api/v1/me").await.0, StatusCode::OK);
}
on_both_backends!(user_deactivation, deactivation);

/// Sessions end by themselves: unused for the idle time (here 5 minutes),
/// or at their absolute end (here 2 hours), whichever comes first; a
/// session in use is kept alive by its use.
async fn sessions_expire(backend: crate::support::Backend) {
    let settings = fuelcard::config::Settings {
        sessions: fuelcard::auth::sessions::Lifetime {
            hours: 2,
            idle_minutes: 5,
        },
        ..crate::support::settings()
    };
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    let login = env
        .post(
            "",
            "/api/v1/auth/login",
            json!({"username": "cashier1", "password": "cashier1-password"}),
        )
        .await;
    assert_eq!(login.1["expires_in_seconds"], json!(7200));
    let token = login.1["token"].as_str().expect("a token").to_string();
    // Looks back `minutes` in the session's history: its login and last
    // use moved that far into the past.
    let age = async |column: &str, minutes: i64| {
        sqlx::query(&format!(
            "UPDATE sessions SET {column} = {column} - $1 WHERE user_id = \
             (SELECT id FROM users WHERE username = 'cashier1')"
        ))
        .bind(minutes * 60_000_000)
        .execute(env.db.pool())
        .await
        .expect("aged");
    };
    age("last_seen_at", 4).await;
    assert_eq!(env.get(&token, "/api/v1/me").await.0, StatusCode::OK);
    age("last_seen_at", 4).await;
    assert_eq!(
        env.get(&token, "/api/v1/me").await.0,
        StatusCode::OK,
        "the use four minutes ago kept it alive"
    );
    age("last_seen_at", 6).await;
    let r = env.get(&token, "/api/v1/me").await;
    assert_eq!(
        r.0,
        StatusCode::UNAUTHORIZED,
        "idle for six minutes: {}",
        r.1
    );
    let token = env.login("cashier1").await;
    age("expires_at", 121).await;
    assert_eq!(
        env.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED,
        "past its absolute end, however much in use"
    );
    env.finish().await;
}
crate::with_each_backend!(sessions_end_by_themselves, sessions_expire);
