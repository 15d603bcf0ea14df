//! The login flood: what failed logins pouring in do to the sales.
//!
//! Sales run at a fixed rate first on a quiet server, then while a flood of
//! failed logins with distinct random usernames arrives from a number of
//! addresses (loopback addresses stand in for the attacker's machines).
//! The guessing limits refuse most of them before any password is hashed;
//! the rest are hashed off the async workers, on threads the kernel runs
//! only when nothing else wants the CPU. The
//! benchmark prints the sales' latency in both runs, how the flood's logins
//! were answered and how long they took, and the server's memory (resident
//! set) before and after: the counts live in the database, so memory does
//! not grow with the number of names tried.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use rand::Rng as _;
use serde_json::json;

use super::{BenchArgs, Op, Scratch, drive, percentile, setup};
use fuelcard::db::Db;

/// The sales rate of both runs, when `--rate` is not given: well under
/// what either backend sustains, so that latency measures the service and
/// not a queue.
const DEFAULT_RATE: u64 = 200;

pub async fn run(args: &BenchArgs, now: i64) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.db.as_deref(), "flood").await?;
    let outcome = flood(args, &scratch, now).await;
    scratch.drop_database().await;
    outcome
}

/// This process's resident set in KiB (Linux), the server being in it.
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn flood(args: &BenchArgs, scratch: &Scratch, now: i64) -> anyhow::Result<()> {
    let db = Db::connect(&scratch.url, fuelcard::db::default_pool_size()).await?;
    db.migrate().await?;
    let numbers = setup(&db, args.cards, false, now).await?;
    let super::Served {
        base,
        client,
        token,
        server,
    } = super::serve(&db, args.clients).await?;
    let paced = BenchArgs {
        sales_only: true,
        rate: Some(args.rate.unwrap_or(DEFAULT_RATE)),
        ..args.clone()
    };
    let numbers = Arc::new(numbers);
    eprintln!(
        "quiet: {} sales a second for {} s on {} …",
        paced.rate.unwrap_or(DEFAULT_RATE),
        args.seconds,
        db.backend().name()
    );
    let quiet = drive(&paced, &client, &base, &token, numbers.clone()).await;
    let memory_before = resident_kib();
    eprintln!(
        "flood: {} failed logins from {} addresses, with the same sales …",
        args.logins, args.flood_addresses
    );
    let started = Instant::now();
    // The attacker's machine is not the server's: the flood runs on a
    // runtime of its own, on a thread of its own, so its clients do not
    // delay the sales' clients in the same scheduler (they still share the
    // machine's cores with the server).
    let (flood, logins_n, addresses, clients, rate) = (
        base.clone(),
        args.logins,
        args.flood_addresses,
        args.clients,
        args.flood_rate,
    );
    let attack = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(logins(flood, logins_n, addresses, clients, rate)))
    });
    let during = drive(&paced, &client, &base, &token, numbers).await;
    let answers = tokio::task::spawn_blocking(move || attack.join())
        .await
        .context("the flood")?
        .map_err(|_| anyhow::anyhow!("the flood's thread panicked"))??;
    let flood_seconds = started.elapsed().as_secs_f64();
    let memory_after = resident_kib();
    let guesses: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guesses")
        .fetch_one(db.pool())
        .await?;
    server.abort();
    db.close().await;

    let p99 = |samples: &[super::Sample]| {
        let mut ok: Vec<u64> = samples
            .iter()
            .filter(|s| s.ok && matches!(s.op, Op::Sale))
            .map(|s| s.micros)
            .collect();
        ok.sort_unstable();
        (ok.len(), percentile(&ok, 50.0), percentile(&ok, 99.0))
    };
    let (quiet_n, quiet_p50, quiet_p99) = p99(&quiet);
    let (flood_n, flood_p50, flood_p99) = p99(&during);
    println!(
        "{:<22} {:>8} {:>9} {:>9}",
        "sales", "done", "p50 ms", "p99 ms"
    );
    println!(
        "{:<22} {quiet_n:>8} {quiet_p50:>9.2} {quiet_p99:>9.2}",
        "quiet"
    );
    println!(
        "{:<22} {flood_n:>8} {flood_p50:>9.2} {flood_p99:>9.2}",
        "during the flood"
    );
    println!(
        "p99 during / quiet: {:.2}",
        if quiet_p99 > 0.0 {
            flood_p99 / quiet_p99
        } else {
            0.0
        }
    );
    println!(
        "{} failed logins in {flood_seconds:.1} s: {}",
        args.logins,
        answers
            .iter()
            .map(|(code, n)| format!("{n} {code}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let kib = |m: Option<u64>| m.map_or("n/a".to_string(), |k| format!("{} MiB", k / 1024));
    println!(
        "resident memory: {} before, {} after; {guesses} guess counters in the database",
        kib(memory_before),
        kib(memory_after)
    );
    Ok(())
}

/// Sends `total` logins with distinct random usernames and a wrong
/// password, from `addresses` loopback addresses in turn, `concurrent` at a
/// time and at most `rate` a second; returns how many got each answer code.
async fn logins(
    base: String,
    total: usize,
    addresses: usize,
    concurrent: usize,
    rate: Option<u64>,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let pace = rate
        .map(|r| std::time::Duration::from_secs_f64(concurrent.max(1) as f64 / r.max(1) as f64));
    let clients: Vec<reqwest::Client> = (0..addresses.max(1))
        .map(|i| {
            let (b, c) = ((i / 250) as u8, (i % 250) as u8 + 1);
            reqwest::Client::builder()
                .local_address(IpAddr::from([127, 1, b, c]))
                .build()
        })
        .collect::<Result<_, _>>()?;
    let clients = Arc::new(clients);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrent.max(1) {
        let (clients, next, base) = (clients.clone(), next.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            let mut due = Instant::now();
            loop {
                if let Some(p) = pace {
                    tokio::time::sleep_until(due.into()).await;
                    due += p;
                }
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return counts;
                }
                let name: String = rand::thread_rng()
                    .sample_iter(rand::distributions::Alphanumeric)
                    .take(16)
                    .map(char::from)
                    .collect();
                let answer = clients[i % clients.len()]
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": name, "password": "not-the-password"}))
                    .send()
                    .await;
                let code = match answer {
                    Ok(r) => r
                        .json::<serde_json::Value>()
                        .await
                        .ok()
                        .and_then(|v| v["code"].as_str().map(String::from))
                        .unwrap_or_else(|| "other".into()),
                    Err(_) => "no answer".into(),
                };
                *counts.entry(code).or_default() += 1;
            }
        }));
    }
    let mut all = BTreeMap::new();
    for t in tasks {
        for (code, n) in t.await? {
            *all.entry(code).or_default() += n;
        }
    }
    Ok(all)
}
