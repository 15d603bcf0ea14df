//! Nothing acknowledged is lost and nothing is applied twice when the
//! server is killed mid-load (`kill -9`) or the database restarts under it.
//!
//! Clients keep a journal of every money request they sent (its
//! Idempotency-Key and body) and what came back, if anything. After the
//! fault every request is sent again with the same key: an acknowledged one
//! must answer with the same record, an unanswered one is applied at most
//! once, and a third round changes nothing. Then the database must hold
//! exactly the acknowledged records, every card's balance must equal what
//! the answers add up to, and the ledger check must pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::Row;

use crate::support::cluster::Cluster;
use crate::support::{FreshDb, TestEnv, spawn_server};

/// Cards the load spreads over, each recharged with this much first.
const CARDS: usize = 12;
const OPENING: &str = "500.00";
const CLIENTS: usize = 8;

#[derive(Clone)]
struct Sent {
    key: String,
    path: String,
    body: Value,
    card: String,
    sale: bool,
}

/// One journal line: what was sent and the answer, if one came.
#[derive(Clone)]
struct Line {
    sent: Sent,
    answer: Option<(StatusCode, Value)>,
}

async fn send(
    client: &Client,
    base: &str,
    token: &str,
    sent: &Sent,
) -> Option<(StatusCode, Value)> {
    let resp = client
        .post(format!("{base}{}", sent.path))
        .bearer_auth(token)
        .header("Idempotency-Key", &sent.key)
        .json(&sent.body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let status = resp.status();
    let body = resp.json().await.ok()?;
    Some((status, body))
}

/// The n-th request of a client: mostly sales, every fourth a recharge.
fn request(cards: &[String], client: usize, n: usize) -> Sent {
    let card = cards[(client * 7 + n * 5) % cards.len()].clone();
    let key = uuid::Uuid::new_v4().to_string();
    if n % 4 == 3 {
        Sent {
            key,
            path: format!("/api/v1/cards/{card}/recharges"),
            body: json!({"amount": "40.00", "payment_method": "cash"}),
            card,
            sale: false,
        }
    } else {
        Sent {
            key,
            path: "/api/v1/sales".to_string(),
            body: json!({"card_number": card, "product": "95", "amount": "16.00"}),
            card,
            sale: true,
        }
    }
}

/// Clients sending money requests to whatever server `base` names until
/// `stop`; returns the journal.
async fn drive(
    env: &TestEnv,
    token: &str,
    cards: &[String],
    base: Arc<std::sync::Mutex<String>>,
    stop: Arc<AtomicBool>,
) -> Vec<Line> {
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = env.client.clone();
        let token = token.to_string();
        let cards = cards.to_vec();
        let base = base.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut journal = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let sent = request(&cards, c, n);
                n += 1;
                let url = base.lock().expect("base").clone();
                let answer = send(&client, &url, &token, &sent).await;
                if answer.is_none() {
                    // No server: don't spin.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                journal.push(Line { sent, answer });
            }
            journal
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all
}

fn is_success(answer: &Option<(StatusCode, Value)>) -> bool {
    matches!(answer, Some((s, _)) if s.is_success())
}

/// Sends every journal line again with its key; an acknowledged line must
/// come back with the same record. Returns the journal with final answers.
async fn retry_all(env: &TestEnv, base: &str, token: &str, journal: Vec<Line>) -> Vec<Line> {
    let mut out = Vec::new();
    for chunk in journal.chunks(32) {
        let mut tasks = Vec::new();
        for line in chunk.iter().cloned() {
            let client = env.client.clone();
            let base = base.to_string();
            let token = token.to_string();
            tasks.push(tokio::spawn(async move {
                let again = send(&client, &base, &token, &line.sent).await;
                (line, again)
            }));
        }
        for t in tasks {
            let (line, again) = t.await.expect("retry task");
            let (status, body) = again.expect("the restarted server answers");
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
            match &line.answer {
                Some((first, first_body)) if first.is_success() => {
                    assert_eq!(status, *first, "a replay answers as the first time: {body}");
                    assert_eq!(body["id"], first_body["id"], "the same record comes back");
                    out.push(line);
                }
                _ => {
                    assert!(
                        status.is_success()
                            || body["code"] == json!("insufficient_balance")
                            || status == StatusCode::SERVICE_UNAVAILABLE,
                        "{status} {body}"
                    );
                    out.push(Line {
                        sent: line.sent,
                        answer: Some((status, body)),
                    });
                }
            }
        }
    }
    out
}

/// The database holds exactly the acknowledged records, balances add up
/// and the ledger balances.
async fn assert_accounted(env: &TestEnv, cards: &[String], journal: &[Line]) {
    let mut sale_ids = BTreeSet::new();
    let mut recharge_ids = BTreeSet::new();
    let mut balance: BTreeMap<&str, Decimal> = cards
        .iter()
        .map(|c| {
            (
                c.as_str(),
                Decimal::from_str_exact(OPENING).expect("decimal"),
            )
        })
        .collect();
    for line in journal.iter().filter(|l| is_success(&l.answer)) {
        let Some((_, body)) = &line.answer else {
            continue;
        };
        let id = body["id"].as_i64().expect("an id");
        let entry = balance.get_mut(line.sent.card.as_str()).expect("a card");
        if line.sent.sale {
            assert!(sale_ids.insert(id), "sale {id} acknowledged twice");
            *entry -= Decimal::from_str_exact(body["charged"].as_str().expect("charged"))
                .expect("decimal");
        } else {
            assert!(recharge_ids.insert(id), "recharge {id} acknowledged twice");
            *entry +=
                Decimal::from_str_exact(body["amount"].as_str().expect("amount")).expect("decimal");
        }
    }
    let in_db = |table: &'static str| async move {
        sqlx::query(&format!("SELECT id FROM {table} ORDER BY id"))
            .fetch_all(env.db.pool())
            .await
            .expect("ids")
            .iter()
            .map(|r| r.try_get::<i64, _>("id").expect("id"))
            .collect::<BTreeSet<i64>>()
    };
    assert_eq!(in_db("sales").await, sale_ids, "sales in the database");
    let recharges = in_db("recharges").await;
    assert_eq!(
        recharges.len(),
        recharge_ids.len() + cards.len(),
        "recharges in the database: the opening ones and the acknowledged ones"
    );
    assert!(recharge_ids.is_subset(&recharges));
    for (card, expected) in balance {
        let shown = env.card(card).await["balance"].clone();
        assert_eq!(shown, json!(format!("{expected:.2}")), "card {card}");
    }
    env.assert_ledger_ok().await;
}

/// Load on a separate server process, `kill -9` mid-run, restart on the
/// same database, retry everything.
async fn killed_mid_load(env: &TestEnv) {
    let (cashier, cards) = env.cards_for_sales(CARDS, OPENING).await;
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("key");
    let (mut first, base) = spawn_server(&env.fresh.url, &key_file, &env.clock).await;
    let target = Arc::new(std::sync::Mutex::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let target = target.clone();
        let cards = cards.clone();
        let cashier = cashier.clone();
        async move { drive(env, &cashier, &cards, target, stop).await }
    };
    let fault = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        first.start_kill().expect("kill -9 the server");
        first.wait().await.expect("the server is gone");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
    };
    let (journal, ()) = tokio::join!(load, fault);
    let acknowledged = journal.iter().filter(|l| is_success(&l.answer)).count();
    let unanswered = journal.iter().filter(|l| l.answer.is_none()).count();
    eprintln!(
        "before the kill: {} requests sent, {acknowledged} acknowledged, {unanswered} without an answer",
        journal.len()
    );
    assert!(acknowledged > 20, "the load ran before the kill");
    assert!(unanswered > 0, "the kill cut requests off");
    for line in &journal {
        if let Some((status, body)) = &line.answer {
            assert!(
                status.is_success() || body["code"] == json!("insufficient_balance"),
                "{status} {body}"
            );
        }
    }

    let (_second, base) = spawn_server(&env.fresh.url, &key_file, &env.clock).await;
    let journal = retry_all(env, &base, &cashier, journal).await;
    let journal = retry_all(env, &base, &cashier, journal).await;
    assert_accounted(env, &cards, &journal).await;
}
crate::on_both_backends!(kill_9_mid_load, killed_mid_load);

/// The database server restarts under load: meanwhile the service answers
/// 503 `database_unavailable` (never 500), it reconnects by itself, and
/// retries with the same keys leave every acknowledged request applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_under_load() {
    let Some(cluster) = Cluster::create("database restart test") else {
        return;
    };
    let fresh = FreshDb::create_on(&cluster.url()).await;
    let env = TestEnv::start_fresh(fresh, crate::support::settings()).await;
    let (cashier, cards) = env.cards_for_sales(CARDS, OPENING).await;
    let target = Arc::new(std::sync::Mutex::new(env.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = drive(&env, &cashier, &cards, target, stop.clone());
    let fault = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.crash();
        // Longer than the service's wait for a connection.
        tokio::time::sleep(Duration::from_secs(5)).await;
        cluster.start();
        // The service must come back by itself: a read answers again.
        let path = format!("/api/v1/cards/{}", cards[0]);
        let back = async {
            while env.get(&env.admin, &path).await.0 != StatusCode::OK {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), back)
            .await
            .expect("the service answers again within 30 s of the restart");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        stop.store(true, Ordering::Relaxed);
    };
    let (journal, ()) = tokio::join!(load, fault);
    let mut unavailable = 0;
    for line in &journal {
        if let Some((status, body)) = &line.answer {
            if *status == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(body["code"], json!("database_unavailable"), "{body}");
                unavailable += 1;
            } else {
                assert!(
                    status.is_success() || body["code"] == json!("insufficient_balance"),
                    "{status} {body}"
                );
            }
        }
    }
    let acknowledged = journal.iter().filter(|l| is_success(&l.answer)).count();
    eprintln!(
        "database restart: {} requests, {acknowledged} acknowledged, {unavailable} answered 503",
        journal.len()
    );
    assert!(unavailable > 0, "the outage was seen as 503");
    let journal = retry_all(&env, &env.base, &cashier, journal).await;
    let journal = retry_all(&env, &env.base, &cashier, journal).await;
    assert_accounted(&env, &cards, &journal).await;
    env.finish().await;
}
