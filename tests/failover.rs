//! A station network fails over to a synchronous standby with no
//! acknowledged sale lost.
//!
//! The test starts a PostgreSQL primary and a synchronous streaming standby
//! of its own (`initdb`, `pg_basebackup -R`, `pg_ctl`) and a `fuelcard
//! serve` process on both hosts
//! (`postgres://…@primary,standby/db?target_session_attrs=read-write`).
//! Sixteen clients sell, each sale with its Idempotency-Key and sent again
//! with that key on a 503 or a broken connection until it is answered.
//! Mid-load the primary's postmaster is killed (`kill -9`) and the standby
//! promoted; the service carries on without a restart. Afterwards every
//! answered sale replays the same answer, each card's balance is its opening
//! balance less the acknowledged sales, the database holds each of them once
//! and nothing else, the ledger check passes, and no answer was a 500.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fuelcard::db::Db;
use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::cluster::Cluster;
use crate::support::{FreshDb, TestEnv, settings, spawn_server};

const CLIENTS: usize = 16;
const CARDS: usize = 16;
/// Enough that no card runs dry: every sale must be acknowledged.
const OPENING: &str = "5000.00";
const SALE: &str = "2.00";
/// Load before the kill.
const BEFORE_KILL: Duration = Duration::from_secs(2);
/// Load after the first sale answered on the promoted standby.
const AFTER_FAILOVER: Duration = Duration::from_secs(2);
/// How long a client goes on sending one sale before the test fails.
const GIVE_UP: Duration = Duration::from_secs(40);
/// The pause before a sale is sent again. The service's `Retry-After` says
/// 1 s; a shorter pause measures the outage more finely.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One sale and its final answer.
struct Sale {
    key: String,
    card: String,
    body: Value,
    status: StatusCode,
    answer: Value,
    /// When the attempt that was answered was sent, and when it was answered.
    sent_at: Instant,
    answered_at: Instant,
}

/// What every client shares: when to stop, when the primary was killed,
/// and the outage as the clients saw it.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    killed_at: OnceLock<Instant>,
    /// The first sale answered whose attempt was sent after the kill.
    first_after_kill: Mutex<Option<Instant>>,
    unavailable: AtomicUsize,
    broken_connections: AtomicUsize,
}

/// One attempt: the status, the `Retry-After` header and the body; `None`
/// when the connection broke or timed out.
async fn send(
    client: &Client,
    base: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> Option<(StatusCode, Option<String>, Value)> {
    let resp = client
        .post(format!("{base}/api/v1/sales"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.json().await.ok()?;
    Some((status, retry_after, body))
}

/// Sends one sale until it is answered with anything but a 503; every 503
/// must be `database_unavailable` with a `Retry-After`, and nothing may be a
/// 500.
async fn sell(client: &Client, base: &str, token: &str, card: String, shared: &Shared) -> Sale {
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"card_number": card, "product": "95", "amount": SALE});
    let began = Instant::now();
    loop {
        assert!(
            began.elapsed() < GIVE_UP,
            "a sale went unanswered for {GIVE_UP:?}"
        );
        let sent_at = Instant::now();
        match send(client, base, token, &key, &body).await {
            Some((StatusCode::SERVICE_UNAVAILABLE, retry_after, problem)) => {
                assert_eq!(problem["code"], json!("database_unavailable"), "{problem}");
                assert!(retry_after.is_some(), "a 503 says when to retry");
                shared.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Some((status, _, answer)) => {
                assert_ne!(
                    status,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the service answered 500: {answer}"
                );
                let answered_at = Instant::now();
                if status.is_success() && shared.killed_at.get().is_some_and(|k| sent_at > *k) {
                    let mut first = shared.first_after_kill.lock().expect("lock");
                    first.get_or_insert(answered_at);
                }
                return Sale {
                    key,
                    card,
                    body,
                    status,
                    answer,
                    sent_at,
                    answered_at,
                };
            }
            None => {
                shared.broken_connections.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// A client selling on the cards in turn until told to stop; its sales.
async fn client_loop(
    client: Client,
    base: String,
    token: String,
    cards: Vec<String>,
    n: usize,
    shared: Arc<Shared>,
) -> Vec<Sale> {
    let mut sales = Vec::new();
    let mut i = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        let card = cards[(n * 7 + i * 5) % cards.len()].clone();
        sales.push(sell(&client, &base, &token, card, &shared).await);
        i += 1;
    }
    sales
}

/// The service connects only to the host that accepts writes: listed
/// after the standby, the primary is the one kept; the standby alone with
/// `target_session_attrs=read-write` is refused (each new connection is
/// asked `pg_is_in_recovery()`).
async fn assert_only_the_primary_is_kept(primary: &Cluster, standby: &Cluster) {
    let standby_first = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres",
        standby.port, primary.port
    );
    let db = Db::connect(&standby_first, 2)
        .await
        .expect("connect past the standby");
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(db.pool())
        .await
        .expect("ask");
    assert!(!in_recovery, "the pool reaches the primary");
    db.close().await;
    let standby_only = format!("{}?target_session_attrs=read-write", standby.url());
    let refused = Db::connect(&standby_only, 1).await;
    assert!(refused.is_err(), "a standby alone is not written to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_killed_mid_load_standby_promoted() {
    let Some(primary) = Cluster::primary("failover test", "standby1") else {
        return;
    };
    let standby = primary.standby("standby1");
    primary.wait_for_sync_standby("standby1").await;
    let hosts = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        primary.port, standby.port
    );
    assert_only_the_primary_is_kept(&primary, &standby).await;
    // The test's own server and connection follow the failover too.
    let env = TestEnv::start_fresh(FreshDb::create_on(&hosts).await, settings()).await;
    let (cashier, cards) = env.cards_for_sales(CARDS, OPENING).await;
    let dir = tempfile::tempdir().expect("dir");
    let (mut server, base) = spawn_server(&env.fresh.url, &dir.path().join("k"), &env.clock).await;

    let shared = Arc::new(Shared::default());
    let client = Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client_loop(
                client.clone(),
                base.clone(),
                cashier.clone(),
                cards.clone(),
                n,
                shared.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(BEFORE_KILL).await;
    let killed_at = Instant::now();
    shared.killed_at.set(killed_at).expect("killed once");
    // The cluster tools wait for their processes: off the async workers.
    tokio::task::block_in_place(|| {
        primary.kill_postmaster();
        standby.promote();
    });
    let promoted_after = killed_at.elapsed();
    let back = async {
        loop {
            if let Some(at) = *shared.first_after_kill.lock().expect("lock") {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let first_after_kill = tokio::time::timeout(Duration::from_secs(30), back)
        .await
        .expect("a sale is answered on the promoted standby within 30 s");
    tokio::time::sleep(AFTER_FAILOVER).await;
    shared.stop.store(true, Ordering::Relaxed);
    let mut sales = Vec::new();
    for c in clients {
        sales.extend(c.await.expect("a client"));
    }
    assert!(
        server.try_wait().expect("the server's state").is_none(),
        "the service carried on without a restart"
    );

    for s in &sales {
        assert_eq!(s.status, StatusCode::CREATED, "{}", s.answer);
    }
    let before: Vec<&Sale> = sales.iter().filter(|s| s.answered_at < killed_at).collect();
    let after = sales.iter().filter(|s| s.sent_at > killed_at).count();
    assert!(before.len() > 50, "the load ran before the kill");
    assert!(after > 50, "the load ran on the standby");
    let unavailable = shared.unavailable.load(Ordering::Relaxed);
    let unavailability = first_after_kill - killed_at;

    // Every answered sale replays its answer, on both services.
    for chunk in sales.chunks(32) {
        let replays = chunk.iter().flat_map(|s| {
            [base.as_str(), env.base.as_str()].map(|b| {
                let client = client.clone();
                let cashier = cashier.clone();
                async move {
                    let again = send(&client, b, &cashier, &s.key, &s.body).await;
                    (s, again)
                }
            })
        });
        for (s, again) in futures::future::join_all(replays).await {
            let (status, _, answer) = again.expect("the replay is answered");
            assert_eq!(
                status, s.status,
                "a replay answers as the first time: {answer}"
            );
            assert_eq!(answer, s.answer, "a replay answers as the first time");
        }
    }

    // Each sale is in the database once, and nothing else is.
    let mut acknowledged = BTreeSet::new();
    let mut balance: BTreeMap<&str, Decimal> = cards
        .iter()
        .map(|c| {
            (
                c.as_str(),
                Decimal::from_str_exact(OPENING).expect("decimal"),
            )
        })
        .collect();
    for s in &sales {
        let id = s.answer["id"].as_i64().expect("a sale id");
        assert!(acknowledged.insert(id), "sale {id} acknowledged twice");
        let charged = s.answer["charged"].as_str().expect("charged");
        *balance.get_mut(s.card.as_str()).expect("a card") -=
            Decimal::from_str_exact(charged).expect("decimal");
    }
    let in_db: BTreeSet<i64> = sqlx::query_scalar("SELECT id FROM sales")
        .fetch_all(env.db.pool())
        .await
        .expect("the sales")
        .into_iter()
        .collect();
    let before_ids: BTreeSet<i64> = before
        .iter()
        .map(|s| s.answer["id"].as_i64().expect("id"))
        .collect();
    assert!(
        before_ids.is_subset(&in_db),
        "every sale acknowledged before the kill is on the standby"
    );
    assert_eq!(
        in_db, acknowledged,
        "the database holds the acknowledged sales, once each"
    );
    for (card, expected) in balance {
        let shown = env.card(card).await["balance"].clone();
        assert_eq!(shown, json!(format!("{expected:.2}")), "card {card}");
    }
    env.assert_ledger_ok().await;

    eprintln!(
        "failover: {} sales acknowledged before the kill, {} of them kept; {} sales in all, {after} sent after the kill; \
         standby promoted {:.2} s after the kill; first sale answered on it {:.2} s after the kill; \
         {unavailable} answers 503 database_unavailable, {} broken connections, no 500",
        before.len(),
        before_ids.intersection(&in_db).count(),
        sales.len(),
        promoted_after.as_secs_f64(),
        unavailability.as_secs_f64(),
        shared.broken_connections.load(Ordering::Relaxed),
    );
    let _ = server.kill().await;
    env.finish().await;
}
