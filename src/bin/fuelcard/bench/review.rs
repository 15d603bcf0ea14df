//! The monthly fleet review timed on a large company: many vehicles and
//! refuels seeded straight into a fresh database, then the review run a few
//! times.

use std::time::Instant;

use anyhow::{Context as _, bail};
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::{BenchArgs, Scratch};
use fuelcard::auth::{Role, users};
use fuelcard::cards::products;
use fuelcard::db::Db;
use fuelcard::stations;

/// `fuelcard bench --review`: the monthly fuel review of one company with
/// many vehicles and refuels, timed on a fresh database.
pub async fn run(args: &BenchArgs, now: i64) -> anyhow::Result<()> {
    let scratch = Scratch::create(args.db.as_deref(), "review").await?;
    let outcome = review_on(args, &scratch, now).await;
    scratch.drop_database().await;
    let (backend, times) = outcome?;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    println!(
        "monthly review, {backend}: {} vehicles, {} refuels; {} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        args.vehicles,
        args.refuels,
        times.len(),
        sorted.first().copied().unwrap_or(0.0),
        median,
        sorted.last().copied().unwrap_or(0.0)
    );
    if let Some(path) = &args.json {
        let v = json!({"backend": backend, "vehicles": args.vehicles, "refuels": args.refuels, "runs_ms": times, "median_ms": median});
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

async fn review_on(
    args: &BenchArgs,
    scratch: &Scratch,
    now: i64,
) -> anyhow::Result<(&'static str, Vec<f64>)> {
    let e = |err: fuelcard::error::AppError| anyhow::anyhow!("{err}");
    let db = Db::connect(&scratch.url, 4).await?;
    db.migrate().await?;
    let tz = chrono_tz::Asia::Shanghai;
    let month = fuelcard::fleet::allocation::month_after(fuelcard::time::local_date(now, tz));
    eprintln!(
        "seeding {} vehicles and {} refuels for {month} …",
        args.vehicles, args.refuels
    );
    let mut tx = db.begin_write().await?;
    let station = stations::create(&mut tx, "R1", "review", "bench", now, tz)
        .await
        .map_err(e)?;
    let user = users::create(
        &mut tx,
        &users::NewUser {
            username: "review-bench",
            password: "review-bench",
            role: Role::Admin,
            station_id: None,
            company_id: None,
            merchant: None,
            district: None,
        },
        now,
    )
    .await
    .map_err(e)?;
    let shift = fuelcard::stations::shifts::ensure_open(&mut tx, station.id, user, now)
        .await
        .map_err(e)?;
    let product = products::find(&mut tx, "0").await.map_err(e)?;
    let (company, main) = super::company_with_main_card(&mut tx, "review fleet", None, now).await?;
    let op = fuelcard::ledger::record_operation(
        &mut tx,
        fuelcard::ledger::Operation {
            at: now,
            kind: "bench_seed",
            card_id: None,
            station_id: None,
            shift_id: None,
            user_id: Some(user),
            detail: json!({}),
        },
    )
    .await
    .map_err(e)?;
    let mut vehicle_ids = Vec::with_capacity(args.vehicles);
    for i in 0..args.vehicles {
        let input = fuelcard::fleet::vehicles::VehicleInput {
            plate: format!("R{i:05}"),
            vehicle_type: "light_truck".into(),
            displacement: "2.8".into(),
            products: vec!["0".into()],
            tank_capacity: "100".into(),
            baseline_l_per_100km: "12".into(),
            department: None,
            default_driver: None,
            max_sale_litres: None,
            max_sale_amount: None,
            max_day_litres: None,
            max_day_amount: None,
            allowed_hours: None,
            allowed_stations: None,
            controls: Default::default(),
        };
        let v = fuelcard::fleet::vehicles::create(
            &mut tx,
            company.id,
            &input.validate().map_err(e)?,
            now,
        )
        .await
        .map_err(e)?;
        vehicle_ids.push(v.id);
    }
    let start = fuelcard::fleet::allocation::parse_month(&month).map_err(e)?;
    let (from, _) = fuelcard::time::day_span(start, tz).context("month")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let per_vehicle = args.refuels / args.vehicles.max(1);
    let mut rows: Vec<[i64; 6]> = Vec::with_capacity(args.refuels);
    for (i, vid) in vehicle_ids.iter().enumerate() {
        let mut km = 10_000 + i64::try_from(i).unwrap_or(0);
        for k in 0..per_vehicle {
            km += rng.gen_range(150..400);
            let at = from
                + i64::try_from(k).unwrap_or(0) * 86_400_000_000
                + rng.gen_range(6..20) * 3_600_000_000;
            let litres_cl = rng.gen_range(2_000..9_000);
            let charged = litres_cl * 720 / 100;
            rows.push([*vid, at, litres_cl, charged, km, 0]);
        }
    }
    for chunk in rows.chunks(250) {
        let mut sql = String::from(
            "INSERT INTO sales (operation_id, card_id, product_id, station_id, shift_id, litres_cl, unit_price_fen, \
             amount_fen, discount_fen, charged_fen, bonus_used_fen, odometer_km, vehicle_id, created_at) VALUES ",
        );
        for (n, _) in chunk.iter().enumerate() {
            let b = n * 6;
            if n > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({op}, {card}, {product}, {station}, {shift}, ${}, 735, ${}, 0, ${}, 0, ${}, ${}, ${})",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6,
                op = op.id, card = main.id, product = product.id, station = station.id, shift = shift
            ));
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r[2])
                .bind(r[3])
                .bind(r[3])
                .bind(r[4])
                .bind(r[0])
                .bind(r[1]);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let backend = db.backend().name();
    let mut times = Vec::new();
    let thresholds = fuelcard::fleet::review::Thresholds::default();
    for _ in 0..5 {
        let mut conn = db.pool().acquire().await?;
        let started = Instant::now();
        let r = fuelcard::fleet::review::monthly(&mut conn, company.id, &month, tz, &thresholds)
            .await
            .map_err(e)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if r.total_refuels != i64::try_from(rows.len()).unwrap_or(0) {
            bail!(
                "the review counted {} refuels, {} were seeded",
                r.total_refuels,
                rows.len()
            );
        }
    }
    db.close().await;
    Ok((backend, times))
}
