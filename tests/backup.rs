//! Backups of a live SQLite database: `fuelcard backup` taken every second
//! while 16 clients sell, the last one restored with `fuelcard restore`
//! into a fresh directory and served; the restore's refusals; a backup
//! under the wrong key file; the README tour's figures on a restored demo
//! network; and `serve --backup-dir`'s schedule, rotation and metrics.
//! SQLite only: PostgreSQL's backups are pg_dump's.
//!
//! What a backup must hold is judged from each sale's own times: a sale
//! acknowledged before the backup process started had committed before
//! its snapshot, so it is in the backup; a sale sent after the process
//! ended could not commit before the snapshot, so it is not. A sale in
//! between may be either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::support::{
    Backend, FreshDb, TestEnv, announced_address, clock_arg, hex_key, login, send, settings,
    spawn_demo_server, spawn_server, test_keys,
};

const CLIENTS: usize = 16;
const OPENING: &str = "50000.00";

/// `fuelcard` as an operator runs it: the PIN key comes from the key file
/// named, never from the test's environment.
fn fuelcard() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"));
    cmd.env_remove("FUELCARD_PIN_KEY")
        .env_remove("FUELCARD_KEY_FILE")
        .env_remove("DATABASE_URL")
        .kill_on_drop(true);
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A key file holding `hex` as the PIN key.
fn write_key_file(path: &Path, hex: &str) {
    std::fs::write(path, format!("pin_key = \"{hex}\"\n")).expect("write the key file");
}

/// One acknowledged sale: its id, card, charge, and when it was sent and
/// answered.
struct Sale {
    id: i64,
    card: String,
    charged: Decimal,
    sent: Instant,
    acked: Instant,
}

/// A backup taken by `fuelcard backup` and the times its process started
/// and ended.
struct Taken {
    path: PathBuf,
    began: Instant,
    ended: Instant,
}

/// Sales on `card` until `stop`, each under its own Idempotency-Key;
/// every one must be acknowledged.
async fn sell_until(
    client: Client,
    base: String,
    token: String,
    card: String,
    stop: Arc<AtomicBool>,
) -> Vec<Sale> {
    let mut sales = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let resp = client
            .post(format!("{base}/api/v1/sales"))
            .bearer_auth(&token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"card_number": card, "product": "92", "litres": "1.00"}))
            .send()
            .await
            .expect("the server answers");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        let acked = Instant::now();
        assert_eq!(status, StatusCode::CREATED, "a sale during backups: {body}");
        sales.push(Sale {
            id: body["id"].as_i64().expect("an id"),
            card: card.clone(),
            charged: body["charged"]
                .as_str()
                .and_then(|c| Decimal::from_str_exact(c).ok())
                .expect("charged"),
            sent,
            acked,
        });
    }
    sales
}

/// The sale ids in a SQLite database file, read on one connection that
/// is closed before this returns (a pool may still be closing one in the
/// background, and a restore would find the database in use).
async fn sale_ids(path: &Path) -> BTreeSet<i64> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("open the restored database");
    let ids = sqlx::query("SELECT id FROM sales")
        .fetch_all(&mut conn)
        .await
        .expect("sale ids")
        .iter()
        .map(|r| r.try_get::<i64, _>("id").expect("id"))
        .collect();
    conn.close().await.expect("close");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_under_sales_are_restored_and_served() {
    let env = TestEnv::start(Backend::Sqlite)
        .await
        .expect("a SQLite server");
    let live = env
        .fresh
        .url
        .strip_prefix("sqlite://")
        .map(PathBuf::from)
        .expect("a SQLite URL");
    // What `fuelcard serve` records on its first start: the check value of
    // the key the PINs are set up under.
    let mut conn = env.db.pool().acquire().await.expect("a connection");
    fuelcard::cards::pin::record_check(&mut conn, &test_keys().pin, env.clock.now_us())
        .await
        .expect("record the key check");
    drop(conn);
    let cashier = env.login("cashier1").await;
    let mut cards = Vec::new();
    for _ in 0..CLIENTS {
        cards.push(env.funded_card(&cashier, OPENING).await);
    }
    let dir = tempfile::tempdir().expect("a dir");
    let keys = dir.path().join("keys.toml");
    write_key_file(&keys, &hex_key());
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).expect("a backup dir");

    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = cards
        .iter()
        .map(|card| {
            tokio::spawn(sell_until(
                env.client.clone(),
                env.base.clone(),
                cashier.clone(),
                card.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut taken = Vec::new();
    for i in 0..6 {
        let next = Instant::now() + Duration::from_secs(1);
        let path = backups.join(format!("station-{i}.db"));
        let began = Instant::now();
        let out = fuelcard()
            .arg("backup")
            .arg("--db")
            .arg(&live)
            .arg("--to")
            .arg(&path)
            .arg("--key-file")
            .arg(&keys)
            .output()
            .await
            .expect("run fuelcard backup");
        let ended = Instant::now();
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        assert!(
            stdout.contains("integrity ok, ledger ok") && stdout.contains("the PIN key matches"),
            "the backup reports its checks: {stdout}"
        );
        assert!(
            stdout.contains(&format!("keep a copy of the key file {}", keys.display())),
            "the backup names the key file to keep with it: {stdout}"
        );
        taken.push(Taken { path, began, ended });
        tokio::time::sleep_until(next.into()).await;
    }
    // Sales go on after the last backup, so some are sent after its end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sales = Vec::new();
    for task in load {
        sales.extend(task.await.expect("a client"));
    }
    let leftovers: Vec<_> = std::fs::read_dir(&backups)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("station-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The last backup, restored into a fresh directory beside its key file.
    let last = taken.last().expect("backups were taken");
    let fresh = tempfile::tempdir().expect("a dir");
    let restored = fresh.path().join("fuelcard.db");
    std::fs::copy(&keys, fresh.path().join("fuelcard-keys.toml")).expect("restore the key file");
    let out = fuelcard()
        .arg("restore")
        .arg("--from")
        .arg(&last.path)
        .arg("--db")
        .arg(&restored)
        .output()
        .await
        .expect("run fuelcard restore");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let in_backup = sale_ids(&restored).await;

    let before: Vec<&Sale> = sales.iter().filter(|s| s.acked < last.began).collect();
    let after: Vec<&Sale> = sales.iter().filter(|s| s.sent > last.ended).collect();
    eprintln!(
        "{} sales during {} backups; the last backup holds {}: {} acknowledged before it \
         began, {} sent after it ended",
        sales.len(),
        taken.len(),
        in_backup.len(),
        before.len(),
        after.len()
    );
    assert!(
        !before.is_empty() && !after.is_empty(),
        "sales on both sides"
    );
    for s in &before {
        assert!(
            in_backup.contains(&s.id),
            "sale {} was acknowledged before the backup began but is not in it",
            s.id
        );
    }
    for s in &after {
        assert!(
            !in_backup.contains(&s.id),
            "sale {} was sent after the backup ended but is in it",
            s.id
        );
    }
    let known: BTreeSet<i64> = sales.iter().map(|s| s.id).collect();
    assert!(
        in_backup.is_subset(&known),
        "the backup holds unknown sales"
    );

    // Served: the ledger balances and each card holds its opening less the
    // sales the backup holds.
    let (mut server, base) = spawn_server(
        &format!("sqlite://{}", restored.display()),
        &fresh.path().join("fuelcard-keys.toml"),
        &env.clock,
    )
    .await;
    let client = Client::new();
    let admin = login(&client, &base, "admin", "admin-password").await;
    let check = client
        .get(format!("{base}/api/v1/ledger/check"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("answers");
    let report: Value = check.json().await.expect("json");
    assert_eq!(report["ok"], json!(true), "the restored ledger: {report}");
    let mut expected: BTreeMap<&str, Decimal> = cards
        .iter()
        .map(|c| {
            (
                c.as_str(),
                Decimal::from_str_exact(OPENING).expect("decimal"),
            )
        })
        .collect();
    for s in sales.iter().filter(|s| in_backup.contains(&s.id)) {
        *expected.get_mut(s.card.as_str()).expect("a card") -= s.charged;
    }
    for (card, balance) in expected {
        let shown: Value = client
            .get(format!("{base}/api/v1/cards/{card}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        assert_eq!(
            shown["balance"],
            json!(format!("{balance:.2}")),
            "card {card}"
        );
    }

    // Not while a server has the database open.
    let out = fuelcard()
        .arg("restore")
        .arg("--from")
        .arg(&taken[0].path)
        .arg("--db")
        .arg(&restored)
        .arg("--force")
        .output()
        .await
        .expect("run fuelcard restore");
    assert!(!out.status.success(), "a restore under a running server");
    assert!(
        text(&out.stderr).contains("in use"),
        "{}",
        text(&out.stderr)
    );
    server.kill().await.expect("stop the server");

    // An older backup over the newer database: refused, then forced.
    let out = fuelcard()
        .arg("restore")
        .arg("--from")
        .arg(&taken[0].path)
        .arg("--db")
        .arg(&restored)
        .output()
        .await
        .expect("run fuelcard restore");
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "an older backup over a newer database"
    );
    assert!(
        stderr.contains("newer than the backup's newest") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        sale_ids(&restored).await,
        in_backup,
        "the refusal changed nothing"
    );
    let out = fuelcard()
        .arg("restore")
        .arg("--from")
        .arg(&taken[0].path)
        .arg("--db")
        .arg(&restored)
        .arg("--force")
        .output()
        .await
        .expect("run fuelcard restore");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = sale_ids(&restored).await;
    assert!(
        first.len() < in_backup.len() && first.is_subset(&in_backup),
        "the first backup is in place: {} sales",
        first.len()
    );

    // A backup checked against another key is refused, and leaves nothing.
    let wrong = dir.path().join("wrong-keys.toml");
    write_key_file(&wrong, &"ab".repeat(32));
    let refused = backups.join("wrong.db");
    let out = fuelcard()
        .arg("backup")
        .arg("--db")
        .arg(&live)
        .arg("--to")
        .arg(&refused)
        .arg("--key-file")
        .arg(&wrong)
        .output()
        .await
        .expect("run fuelcard backup");
    assert!(!out.status.success(), "a backup under the wrong key");
    assert!(
        text(&out.stderr).contains("not the key this database's card PINs were set up under"),
        "{}",
        text(&out.stderr)
    );
    assert!(!refused.exists(), "the refused backup was not written");
    let names = std::fs::read_dir(&backups).expect("list").count();
    assert_eq!(names, taken.len(), "no temporary file is left");

    env.finish().await;
}

/// The README's tour on the demo network, backed up while the demo server
/// runs, restored with its key file into a fresh directory and served:
/// the card answers the tour's figures, and its PIN still opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_answers_the_tours_figures() {
    let fresh = FreshDb::create(Backend::Sqlite)
        .await
        .expect("a SQLite file");
    let dir = tempfile::tempdir().expect("a dir");
    let key = dir.path().join("k");
    let clock = settings().clock;
    let (demo, base) = spawn_demo_server(&fresh.url, &key, &clock).await;
    let client = Client::new();
    let cashier = login(&client, &base, "cashier1", "cashier1-demo").await;
    // A cashier's POST, with an Idempotency-Key as a till sends.
    let call = async |base: &str, token: &str, path: &str, body: Value| {
        let key = uuid::Uuid::new_v4().to_string();
        send(
            &client,
            base,
            Method::POST,
            Some(token),
            path,
            Some(body),
            Some(&key),
        )
        .await
    };
    let r = call(
        &base,
        &cashier,
        "/api/v1/customers",
        json!({"kind": "person", "name": "王芳", "phone": "13912345678"}),
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = call(
        &base,
        &cashier,
        "/api/v1/cards",
        json!({"kind": "personal", "customer_id": r.1["id"], "pin": "123456"}),
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = r.1["number"].as_str().expect("a number").to_string();
    let r = call(
        &base,
        &cashier,
        &format!("/api/v1/cards/{card}/recharges"),
        json!({"amount": "1000.00", "payment_method": "cash"}),
    )
    .await;
    assert_eq!(r.1["balance"], json!("1020.00"), "{}", r.1);
    let sale = json!({"card_number": card, "product": "92", "litres": "30.00", "pin": "123456"});
    let r = call(&base, &cashier, "/api/v1/sales", sale.clone()).await;
    assert_eq!(
        [
            &r.1["amount"],
            &r.1["discount"],
            &r.1["charged"],
            &r.1["balance"]
        ],
        [
            &json!("230.40"),
            &json!("6.00"),
            &json!("224.40"),
            &json!("795.60")
        ],
        "{}",
        r.1
    );

    let live = fresh.url.strip_prefix("sqlite://").expect("a SQLite URL");
    let backup = dir.path().join("tour.db");
    let out = fuelcard()
        .arg("backup")
        .args(["--db", live])
        .arg("--to")
        .arg(&backup)
        .arg("--key-file")
        .arg(&key)
        .output()
        .await
        .expect("run fuelcard backup");
    assert!(out.status.success(), "{}", text(&out.stderr));
    drop(demo);

    let elsewhere = tempfile::tempdir().expect("a dir");
    let restored = elsewhere.path().join("fuelcard.db");
    std::fs::copy(&key, elsewhere.path().join("fuelcard-keys.toml")).expect("the key file");
    let out = fuelcard()
        .arg("restore")
        .arg("--from")
        .arg(&backup)
        .arg("--db")
        .arg(&restored)
        .output()
        .await
        .expect("run fuelcard restore");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut served = fuelcard()
        .arg("serve")
        .arg("--db")
        .arg(&restored)
        .args(["--listen", "127.0.0.1:0", "--clock", &clock_arg(&clock)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve the restored database");
    let base = announced_address(&mut served).await;
    let cashier = login(&client, &base, "cashier1", "cashier1-demo").await;
    let shown = send(
        &client,
        &base,
        Method::GET,
        Some(&cashier),
        &format!("/api/v1/cards/{card}"),
        None,
        None,
    )
    .await;
    assert_eq!(shown.1["balance"], json!("795.60"), "{}", shown.1);
    let statement = send(
        &client,
        &base,
        Method::GET,
        Some(&cashier),
        &format!("/api/v1/cards/{card}/transactions"),
        None,
        None,
    )
    .await;
    let lines: Vec<Value> = statement.1["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| json!([i["kind"], i["amount"], i["balance_after"]]))
        .collect();
    assert_eq!(
        lines,
        [
            json!(["sale", "-224.40", "795.60"]),
            json!(["recharge", "1020.00", "1020.00"])
        ],
        "{}",
        statement.1
    );
    // The key file restored with it still checks the card's PIN.
    let wrong = json!({"card_number": card, "product": "92", "litres": "1.00", "pin": "654321"});
    let r = call(&base, &cashier, "/api/v1/sales", wrong).await;
    assert!(r.0.is_client_error(), "a wrong PIN: {}", r.1);
    let r = call(&base, &cashier, "/api/v1/sales", sale).await;
    assert_eq!(r.0, StatusCode::CREATED, "the right PIN: {}", r.1);
    assert_eq!(r.1["balance"], json!("571.20"), "{}", r.1);
    let admin = login(&client, &base, "admin", "admin-demo").await;
    let check = send(
        &client,
        &base,
        Method::GET,
        Some(&admin),
        "/api/v1/ledger/check",
        None,
        None,
    )
    .await;
    assert_eq!(check.1["ok"], json!(true), "{}", check.1);
    served.kill().await.expect("stop the server");
}

/// PostgreSQL is pointed to its own tools.
#[tokio::test]
async fn postgres_is_pointed_to_pg_dump() {
    let out = fuelcard()
        .args([
            "backup",
            "--db",
            "postgres://postgres@127.0.0.1/x",
            "--to",
            "x.db",
        ])
        .output()
        .await
        .expect("run fuelcard backup");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("pg_dump"),
        "{}",
        text(&out.stderr)
    );
}

/// The value of a metric in Prometheus text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// `serve --backup-every 1s --backup-keep 2`: backups are taken, the
/// oldest deleted, the last good one's age shown; when the directory
/// becomes unusable, the failures are logged as errors and counted while
/// the age grows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_rotate_and_show_their_age() {
    let dir = tempfile::tempdir().expect("a dir");
    let backups = dir.path().join("backups");
    let mut child = fuelcard()
        .arg("serve")
        .arg("--db")
        .arg(dir.path().join("station.db"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--backup-every",
            "1s",
            "--backup-keep",
            "2",
        ])
        .arg("--backup-dir")
        .arg(&backups)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start fuelcard serve");
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr");
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let base = announced_address(&mut child).await;
    let client = Client::new();
    let metrics = async || {
        client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("text")
    };
    let taken = || {
        log.lock()
            .expect("log")
            .matches("backup taken and verified")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while taken() < 4 {
        assert!(
            Instant::now() < deadline,
            "no backups: {}",
            log.lock().expect("log")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept: Vec<String> = std::fs::read_dir(&backups)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("fuelcard-") && n.ends_with("Z.db"))
        .collect();
    assert_eq!(kept.len(), 2, "two kept after {} taken: {kept:?}", taken());
    let text = metrics().await;
    let age = metric(&text, "fuelcard_backup_age_seconds").expect("the age is shown");
    assert!((0.0..3.0).contains(&age), "age {age}");
    assert!(metric(&text, "fuelcard_backup_last_success_timestamp_seconds").is_some());
    assert_eq!(metric(&text, "fuelcard_backup_failures_total"), Some(0.0));

    // The directory becomes a file: every backup now fails.
    std::fs::remove_dir_all(&backups).expect("remove the backups");
    std::fs::write(&backups, "not a directory").expect("a file in its place");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = metrics().await;
        let failures = metric(&text, "fuelcard_backup_failures_total").unwrap_or(0.0);
        let age = metric(&text, "fuelcard_backup_age_seconds").unwrap_or(0.0);
        if failures >= 2.0 && age >= 2.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "failures {failures}, age {age}: {}",
            log.lock().expect("log")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        log.lock()
            .expect("log")
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("the scheduled backup failed")),
        "the failure is logged as an error: {}",
        log.lock().expect("log")
    );
    child.kill().await.expect("stop the server");
    reader.abort();
}
