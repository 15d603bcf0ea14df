//! What a backup costs the sales: `fuelcard backup` of a large SQLite
//! database while a counter's sales go on.
//!
//! A fresh SQLite database gets `--cards` cards: the first 200 opened and
//! funded as a counter does (the sales run on them), the rest written with
//! set-based SQL — a customer, a card account, the card, and its opening
//! recharge as a transfer from the station's bank-transfer account — so
//! that the ledger check holds on the whole. The server runs in this
//! process. Sales at a steady rate run first on the quiet server for
//! `--seconds`, then while `fuelcard backup` runs as a process of its own
//! against the same file, as an operator runs it. The benchmark prints the
//! sales' latency in both runs, and the backup's time, size, peak memory and
//! report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{BenchArgs, Op, Sample, Scratch, drive, drive_until, percentile, setup};
use fuelcard::db::Db;

/// The sales rate of both runs when `--rate` is not given, as in the login
/// flood: well under what SQLite sustains, so that latency measures the
/// service and not a queue.
const DEFAULT_RATE: u64 = 200;

/// Cards opened one by one through the service's own functions; the sales
/// run on these.
const SALE_CARDS: usize = 200;

pub async fn run(args: &BenchArgs, now: i64) -> anyhow::Result<()> {
    if args.db.is_some() {
        bail!(
            "--backup measures the backup of a SQLite database (a fresh file): leave out --db; \
             PostgreSQL is backed up with pg_dump"
        );
    }
    let scratch = Scratch::create(None, "backup").await?;
    measure(args, &scratch, now).await
}

/// The sale latencies of a run: how many succeeded, p50 and p99 in ms.
fn sale_latency<'a>(samples: impl Iterator<Item = &'a Sample>) -> (usize, f64, f64) {
    let mut ok: Vec<u64> = samples
        .filter(|s| s.ok && matches!(s.op, Op::Sale))
        .map(|s| s.micros)
        .collect();
    ok.sort_unstable();
    (ok.len(), percentile(&ok, 50.0), percentile(&ok, 99.0))
}

async fn measure(args: &BenchArgs, scratch: &Scratch, now: i64) -> anyhow::Result<()> {
    let path = fuelcard::db::backup::sqlite_file(&scratch.url)?;
    let db = Db::connect(&scratch.url, fuelcard::db::default_pool_size()).await?;
    db.migrate().await?;
    let started = Instant::now();
    eprintln!("seeding {} cards on sqlite …", args.cards);
    let numbers = setup(&db, args.cards.min(SALE_CARDS), false, now).await?;
    if args.cards > SALE_CARDS {
        seed(&db, args.cards - SALE_CARDS, now).await?;
    }
    // As `fuelcard serve` does on its first start: the key's check value in
    // the database, the key in the key file beside it.
    let mut conn = db.pool().acquire().await?;
    fuelcard::cards::pin::record_check(&mut conn, &super::pin_key()?, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let key_file = path.with_file_name("fuelcard-keys.toml");
    std::fs::write(
        &key_file,
        format!("pin_key = \"{}\"\n", hex::encode(super::PIN_KEY)),
    )?;
    let db_bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "seeded in {:.0} s: {} MB",
        started.elapsed().as_secs_f64(),
        db_bytes / 1_000_000
    );

    let super::Served {
        base,
        client,
        token,
        server,
    } = super::serve(&db, args.clients).await?;
    let rate = args.rate.unwrap_or(DEFAULT_RATE);
    let paced = BenchArgs {
        sales_only: true,
        rate: Some(rate),
        ..args.clone()
    };
    let numbers = Arc::new(numbers);
    eprintln!("quiet: {rate} sales a second for {} s …", args.seconds);
    let quiet = drive(&paced, &client, &base, &token, numbers.clone()).await;

    eprintln!("the same sales while fuelcard backup runs …");
    let target = path.with_file_name("backup.db");
    let stop = Arc::new(AtomicBool::new(false));
    // Until the backup ends, however long it takes.
    let during = BenchArgs {
        seconds: 24 * 3600,
        ..paced.clone()
    };
    let began = Instant::now();
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("backup")
        .arg("--db")
        .arg(&path)
        .arg("--to")
        .arg(&target)
        .arg("--key-file")
        .arg(&key_file)
        .env_remove(fuelcard::config::PIN_KEY_ENV)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting fuelcard backup")?;
    // The backup's peak resident memory, read from the kernel while it
    // runs (Linux); the last reading before it exits is the peak.
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    if let Some(pid) = child.id() {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = peak_kib(pid) {
                    peak.store(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        });
    }
    let backup = async {
        let output = child.wait_with_output().await;
        let ended = Instant::now();
        stop.store(true, Ordering::Relaxed);
        (output, ended)
    };
    let (samples, (output, ended)) = tokio::join!(
        drive_until(&during, &client, &base, &token, numbers, stop.clone()),
        backup
    );
    server.abort();
    db.close().await;
    let output = output.context("waiting for fuelcard backup")?;
    if !output.status.success() {
        bail!(
            "fuelcard backup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wall = ended.duration_since(began).as_secs_f64();
    let backup_bytes = std::fs::metadata(&target)?.len();

    let (quiet_n, quiet_p50, quiet_p99) = sale_latency(quiet.iter());
    let (during_n, during_p50, during_p99) =
        sale_latency(samples.iter().filter(|s| s.at >= began && s.at <= ended));
    let ratio = if quiet_p99 > 0.0 {
        during_p99 / quiet_p99
    } else {
        0.0
    };
    println!(
        "backup under sales, sqlite: {} cards, database {} MB, {rate} sales a second from {} clients",
        args.cards,
        db_bytes / 1_000_000,
        args.clients
    );
    println!(
        "{:<26} {:>8} {:>9} {:>9}",
        "sales", "done", "p50 ms", "p99 ms"
    );
    println!(
        "{:<26} {quiet_n:>8} {quiet_p50:>9.2} {quiet_p99:>9.2}",
        format!("quiet ({} s)", args.seconds)
    );
    println!(
        "{:<26} {during_n:>8} {during_p50:>9.2} {during_p99:>9.2}",
        format!("during the backup ({wall:.1} s)")
    );
    println!("p99 during / quiet: {ratio:.2}");
    let peak_mib = peak.load(Ordering::Relaxed) / 1024;
    println!(
        "fuelcard backup: {wall:.1} s from start to exit, {} MB written, {peak_mib} MiB \
         resident at most; its report:",
        backup_bytes / 1_000_000
    );
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("  {line}");
    }
    if let Some(path) = &args.json {
        let v = json!({
            "cards": args.cards, "database_bytes": db_bytes, "backup_bytes": backup_bytes,
            "rate": rate, "clients": args.clients, "backup_seconds": wall,
            "backup_peak_mib": peak_mib,
            "quiet": {"sales": quiet_n, "p50_ms": quiet_p50, "p99_ms": quiet_p99},
            "during": {"sales": during_n, "p50_ms": during_p50, "p99_ms": during_p99},
            "p99_ratio": ratio,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Writes `n` more cards with set-based SQL, in one transaction: a person,
/// a card account holding 100.00 to 9,999.99, the card at the bench's
/// station, and its opening recharge — an operation and a transfer from
/// the station's bank-transfer account, whose balance pays for them all.
async fn seed(db: &Db, n: usize, now: i64) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    let station = scalar(&mut tx, "SELECT id FROM stations WHERE code = 'B1'").await?;
    let source = scalar(
        &mut tx,
        "SELECT id FROM accounts WHERE name = 'bank_transfer:B1'",
    )
    .await?;
    let source_balance = scalar(
        &mut tx,
        &format!("SELECT balance_fen FROM accounts WHERE id = {source}"),
    )
    .await?;
    let customers = scalar(&mut tx, "SELECT COALESCE(MAX(id), 0) FROM customers").await?;
    let accounts = scalar(&mut tx, "SELECT COALESCE(MAX(id), 0) FROM accounts").await?;
    let cards = scalar(&mut tx, "SELECT COALESCE(MAX(id), 0) FROM cards").await?;
    let operations = scalar(&mut tx, "SELECT COALESCE(MAX(id), 0) FROM operations").await?;
    let series =
        format!("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n}) ");
    let statements = [
        format!(
            "{series}INSERT INTO customers (kind, name, phone, created_at) \
             SELECT 'person', 'bulk ' || x, '139' || printf('%08d', x), {now} FROM g"
        ),
        format!(
            "{series}INSERT INTO accounts (kind, name, balance_fen, floor_fen, created_at) \
             SELECT 'card', 'card:B' || printf('%09d', x), 10000 + (x * 7919) % 990000, 0, {now} \
             FROM g"
        ),
        format!(
            "INSERT INTO cards (number, kind, status, customer_id, account_id, \
               issued_station_id, created_at) \
             SELECT substr(a.name, 6), 'personal', 'active', {customers} + a.id - {accounts}, \
               a.id, {station}, {now} \
             FROM accounts a WHERE a.id > {accounts} ORDER BY a.id"
        ),
        format!(
            "INSERT INTO operations (kind, card_id, station_id, created_at) \
             SELECT 'recharge', c.id, {station}, {now} FROM cards c WHERE c.id > {cards} \
             ORDER BY c.id"
        ),
        format!(
            "INSERT INTO transfers (operation_id, debit_account_id, credit_account_id, \
               amount_fen, bonus_fen, debit_balance_after_fen, credit_balance_after_fen, \
               created_at) \
             SELECT o.id, {source}, c.account_id, a.balance_fen, 0, \
               {source_balance} - SUM(a.balance_fen) OVER (ORDER BY o.id), a.balance_fen, {now} \
             FROM operations o JOIN cards c ON c.id = o.card_id \
             JOIN accounts a ON a.id = c.account_id WHERE o.id > {operations} ORDER BY o.id"
        ),
        format!(
            "UPDATE accounts SET balance_fen = balance_fen - \
               (SELECT SUM(amount_fen) FROM transfers WHERE operation_id > {operations}) \
             WHERE id = {source}"
        ),
    ];
    for sql in &statements {
        let t = Instant::now();
        sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seeding: {}", sql.chars().take(90).collect::<String>()))?;
        eprintln!(
            "  {:.1} s: {}",
            t.elapsed().as_secs_f64(),
            sql.chars().take(60).collect::<String>()
        );
    }
    tx.commit().await?;
    Ok(())
}

/// One number the seeding reads.
async fn scalar(tx: &mut fuelcard::db::Tx, sql: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(sql)
        .fetch_one(&mut **tx)
        .await
        .with_context(|| format!("seeding: {sql}"))
}

/// A process's peak resident set in KiB (Linux's `VmHWM`).
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
