//! The acquisition figures at network scale: by default 500 stations in 50
//! districts, a million cards (a tenth of them opened this month), ten
//! million sales this month, seeded with set-based SQL into a fresh
//! PostgreSQL database; then the tracking table, the leaderboards and the
//! channel conversion read a few times each, as the service reads them.

use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::json;

use super::{BenchArgs, Scratch};
use fuelcard::acquisition::periods::Period;
use fuelcard::acquisition::{channels, rankings, targets};
use fuelcard::db::Db;

/// `fuelcard bench --acquisition --db postgres://…`.
pub async fn run(args: &BenchArgs, now: i64) -> anyhow::Result<()> {
    match args.db.as_deref() {
        Some(url) if url.starts_with("postgres") => {}
        _ => bail!("--acquisition measures a station network: give --db postgres://…"),
    }
    if args.stations < 10 || args.acq_cards < 10 || args.acq_sales < 10 {
        bail!("--stations, --acq-cards and --acq-sales: at least 10 each");
    }
    let scratch = Scratch::create(args.db.as_deref(), "acquisition").await?;
    let outcome = measure(args, &scratch, now).await;
    scratch.drop_database().await;
    let timings = outcome?;
    println!(
        "acquisition, postgres: {} stations, {} cards, {} sales this month",
        args.stations, args.acq_cards, args.acq_sales
    );
    for (what, runs) in &timings {
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {what:<34} median {:>7.1} ms, max {:>7.1} ms ({} runs)",
            sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
            sorted.last().copied().unwrap_or(0.0),
            sorted.len()
        );
    }
    if let Some(path) = &args.json {
        let v = json!({
            "stations": args.stations, "cards": args.acq_cards, "sales": args.acq_sales,
            "runs_ms": timings.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

async fn measure(
    args: &BenchArgs,
    scratch: &Scratch,
    now: i64,
) -> anyhow::Result<Vec<(&'static str, Vec<f64>)>> {
    let e = |err: fuelcard::error::AppError| anyhow::anyhow!("{err}");
    let db = Db::connect(&scratch.url, 4).await?;
    db.migrate().await?;
    let tz = chrono_tz::Asia::Shanghai;
    let month = Period::week_of(fuelcard::time::local_date(now, tz));
    let month = Period::parse(&month.first.format("%Y-%m").to_string()).map_err(e)?;
    let span = month.span(tz, 30).map_err(e)?;
    let quarter_label = format!(
        "{}-Q{}",
        month.first.format("%Y"),
        (chrono::Datelike::month(&month.first) - 1) / 3 + 1
    );
    let quarter = Period::parse(&quarter_label)
        .map_err(e)?
        .span(tz, 30)
        .map_err(e)?;
    let last = Period::quarter_before(month.first);
    let reading = targets::Reading {
        month: &month.label,
        span,
        last_quarter: (last.label.clone(), last.span(tz, 30).map_err(e)?),
        now,
    };
    let started = Instant::now();
    seed(&db, args, span.from, span.to).await?;
    eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    let mut conn = db.pool().acquire().await?;
    let mut timings: Vec<(&'static str, Vec<f64>)> = Vec::new();
    for (what, run) in [
        ("tracking table, whole network", 0),
        ("tracking table, one district", 1),
        ("leaderboard, stations, month", 2),
        ("leaderboard, staff, month", 3),
        ("leaderboard, stations, quarter", 4),
        ("channel conversion, month", 5),
    ] {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let rows = match run {
                0 => targets::tracking(&mut conn, &reading, targets::Covering::All)
                    .await
                    .map(|t| t.lines.len()),
                1 => targets::tracking(&mut conn, &reading, targets::Covering::District("D1"))
                    .await
                    .map(|t| t.lines.len()),
                2 => rankings::stations(&mut conn, &span).await.map(|p| p.len()),
                3 => rankings::staff(&mut conn, &span).await.map(|p| p.len()),
                4 => rankings::stations(&mut conn, &quarter)
                    .await
                    .map(|p| p.len()),
                _ => channels::conversion(&mut conn, &month.label, &span, targets::Covering::All)
                    .await
                    .map(|c| c.channels.len()),
            }
            .map_err(e)?;
            runs.push(t.elapsed().as_secs_f64() * 1000.0);
            if rows == 0 {
                bail!("{what}: no rows");
            }
        }
        timings.push((what, runs));
    }
    drop(conn);
    db.close().await;
    Ok(timings)
}

/// Seeds the network with set-based SQL: stations in districts of ten, two
/// cashiers a station, cards opened over the year before `to` (a tenth
/// this month, most of those activated), and sales spread over the month.
async fn seed(db: &Db, args: &BenchArgs, from: i64, to: i64) -> anyhow::Result<()> {
    let month_us = to - from;
    let year_us = 365 * 86_400_000_000_i64;
    let statements = [
        format!(
            "INSERT INTO stations (code, name, district, created_at) \
             SELECT 'A' || g, '站' || g, 'D' || ((g - 1) / 10 + 1), 0 \
             FROM generate_series(1, {n}) g",
            n = args.stations
        ),
        "INSERT INTO districts (code, name, created_at) \
         SELECT DISTINCT district, district, 0 FROM stations ON CONFLICT DO NOTHING"
            .to_string(),
        "INSERT INTO users (username, password_hash, role, station_id, created_at) \
         SELECT 'cashier' || s.id || '-' || k, 'x', 'cashier', s.id, 0 \
         FROM stations s CROSS JOIN generate_series(1, 2) k"
            .to_string(),
        "INSERT INTO shifts (station_id, cashier_id, opened_at) \
         SELECT u.station_id, MIN(u.id), 0 FROM users u WHERE u.role = 'cashier' \
         GROUP BY u.station_id"
            .to_string(),
        format!(
            "INSERT INTO accounts (kind, name, floor_fen, created_at) \
             SELECT 'card', 'card:B' || g, 0, 0 FROM generate_series(1, {n}) g",
            n = args.acq_cards
        ),
        format!(
            "INSERT INTO cards (number, kind, status, account_id, issued_station_id, created_at) \
             SELECT 'B' || g, 'anonymous', 'active', a.id, 1 + (g % {s}), 0 \
             FROM generate_series(1, {n}) g JOIN accounts a ON a.name = 'card:B' || g",
            n = args.acq_cards,
            s = args.stations
        ),
        // A tenth opened this month, the rest over the year before; two in
        // three of this month's refuel within a day to forty days.
        format!(
            "INSERT INTO card_openings (card_id, user_id, station_id, customer_kind, channel, \
               channel_ref, opened_at, first_sale_at, first_recharge_fen, last_sale_at) \
             SELECT c.id, u.id, c.issued_station_id, \
               CASE WHEN c.id % 50 = 0 THEN 'company' ELSE 'person' END, \
               (ARRAY['flyer','stand','referral','in_station','partner','visit'])[1 + c.id % 6], \
               CASE WHEN c.id % 6 = 0 THEN 'FLY-' || (c.id % 40) END, \
               o.at, \
               CASE WHEN c.id % 3 <> 0 THEN o.at + (c.id % 40) * 86400000000 END, \
               10000 * (1 + c.id % 50), \
               CASE WHEN c.id % 3 <> 0 THEN o.at + (c.id % 90) * 86400000000 END \
             FROM cards c \
             JOIN users u ON u.station_id = c.issued_station_id AND u.username LIKE '%-1' \
             CROSS JOIN LATERAL (SELECT CASE WHEN c.id % 10 = 0 \
               THEN {from} + (c.id * 7919) % {month_us} \
               ELSE {from} - (c.id * 7919) % {year_us} END AS at) o",
        ),
        format!(
            "INSERT INTO operations (kind, card_id, station_id, shift_id, created_at) \
             SELECT 'sale', 1 + g % {cards}, 1 + g % {s}, 1 + g % {s}, \
               {from} + (g * 104729) % {month_us} \
             FROM generate_series(1, {n}::bigint) g",
            n = args.acq_sales,
            cards = args.acq_cards,
            s = args.stations
        ),
        "INSERT INTO sales (operation_id, card_id, product_id, station_id, shift_id, litres_cl, \
           unit_price_fen, amount_fen, discount_fen, charged_fen, bonus_used_fen, created_at) \
         SELECT o.id, o.card_id, (SELECT MIN(id) FROM products), o.station_id, o.shift_id, \
           1000 + o.id % 4000, 768, 7680, 0, 7680, 0, o.created_at \
         FROM operations o WHERE o.kind = 'sale'"
            .to_string(),
        "INSERT INTO station_days (station_id, day, card_litres_cl) \
         SELECT station_id, \
           to_char(to_timestamp(created_at / 1000000.0) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), \
           SUM(litres_cl) FROM sales GROUP BY 1, 2"
            .to_string(),
        "ANALYZE".to_string(),
    ];
    for sql in &statements {
        let t = Instant::now();
        sqlx::query(sql)
            .execute(db.pool())
            .await
            .with_context(|| format!("seeding: {}", sql.chars().take(60).collect::<String>()))?;
        eprintln!(
            "  {:.1} s: {}",
            t.elapsed().as_secs_f64(),
            sql.chars().take(50).collect::<String>()
        );
    }
    Ok(())
}
