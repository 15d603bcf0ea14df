//! `fuelcard bench`: the real server on a fresh database, driven over HTTP
//! by concurrent clients with a counter's mix of requests, measured against
//! the database's own ceiling on the same machine.
//!
//! The ceiling is, for PostgreSQL, pgbench's built-in TPC-B-like script with
//! the same number of clients; for SQLite, bare debit transactions (`BEGIN
//! IMMEDIATE`, a conditional balance update, a history insert, commit) with
//! the same journal and synchronous settings the service uses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use fuelcard::actions::App;
use fuelcard::auth::{Actor, Role, users};
use fuelcard::cards::customers::{self, CustomerKind, NewCustomer};
use fuelcard::cards::products::{self, Price};
use fuelcard::cards::recharge::{self, PaymentMethod, RechargeRequest};
use fuelcard::cards::{self, CardKind, CardNumber, NewCard};
use fuelcard::config::{Keys, Settings};
use fuelcard::db::{Backend, Db};
use fuelcard::http;
use fuelcard::money::Money;
use fuelcard::stations;

mod acquisition;
mod backup;
mod flood;
mod review;

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A postgres:// URL of a server to benchmark on (a fresh database is
    /// created there and dropped after); default: a fresh SQLite file.
    #[arg(long = "db")]
    pub db: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds of load (and of the ceiling measurement).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Cards the clients spread over.
    #[arg(long, default_value_t = 200)]
    pub cards: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Sell on fleet cards of vehicles with every sale-time limit set
    /// (generous enough to pass), to measure what the checks cost.
    #[arg(long)]
    pub fleet: bool,
    /// Only sales (no recharges or statements), for comparing sale rates.
    #[arg(long)]
    pub sales_only: bool,
    /// Time the monthly fleet review instead of the HTTP load.
    #[arg(long)]
    pub review: bool,
    /// Vehicles of the review benchmark's company.
    #[arg(long, default_value_t = 2000)]
    pub vehicles: usize,
    /// Refuels in the review benchmark's month.
    #[arg(long, default_value_t = 60_000)]
    pub refuels: usize,
    /// Time the acquisition figures (tracking table, leaderboards,
    /// conversion) on a seeded station network instead of the HTTP load;
    /// needs `--db postgres://…`.
    #[arg(long)]
    pub acquisition: bool,
    /// Stations of the acquisition benchmark's network.
    #[arg(long, default_value_t = 500)]
    pub stations: usize,
    /// Cards of the acquisition benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    pub acq_cards: usize,
    /// Sales in the acquisition benchmark's month.
    #[arg(long, default_value_t = 10_000_000)]
    pub acq_sales: usize,
    /// Cap the request rate (requests per second over all clients), e.g. to
    /// measure latency at 80% of the peak; default: as fast as possible.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Time the sales (at `--rate`, default 200 a second) on a quiet server
    /// and during a flood of failed logins, instead of the HTTP load.
    #[arg(long)]
    pub login_flood: bool,
    /// Failed logins of the flood, each with a distinct random username.
    #[arg(long, default_value_t = 10_000)]
    pub logins: usize,
    /// Addresses the flood comes from (loopback addresses 127.1.x.y).
    #[arg(long, default_value_t = 16)]
    pub flood_addresses: usize,
    /// Logins a second the flood sends at most; default: as fast as the
    /// server answers them.
    #[arg(long)]
    pub flood_rate: Option<u64>,
    /// Time `fuelcard backup` of a SQLite database of `--cards` cards while
    /// sales run (at `--rate`, default 200 a second): the sales' latency
    /// quiet (for `--seconds`) and during the backup, the backup's time,
    /// size and checks, instead of the HTTP load.
    #[arg(long)]
    pub backup: bool,
}

#[derive(Debug, Serialize)]
pub struct OpStats {
    pub requests: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub backend: &'static str,
    /// "mix" (80% sales, 10% recharges, 10% statements), "sales", or
    /// "fleet-sales" (every sale through the fleet limit checks).
    pub mode: &'static str,
    pub clients: usize,
    pub seconds: u64,
    pub cards: usize,
    pub total_rps: f64,
    pub ceiling: &'static str,
    pub ceiling_tps: f64,
    pub ratio: f64,
    pub ops: BTreeMap<&'static str, OpStats>,
}

/// A fresh database for one run, removed afterwards.
struct Scratch {
    url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    async fn create(db: Option<&str>, purpose: &str) -> anyhow::Result<Scratch> {
        let name = format!("fuelcard_{purpose}_{}", uuid::Uuid::new_v4().simple());
        match db {
            Some(url) if url.starts_with("postgres") => {
                let admin = Db::connect(url, 1).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(admin.pool())
                    .await
                    .context("creating the benchmark database")?;
                admin.close().await;
                Ok(Scratch {
                    url: replace_database(url, &name)?,
                    admin_url: Some(url.to_string()),
                    name,
                    _dir: None,
                })
            }
            Some(other) => {
                bail!("--db takes a postgres:// URL (SQLite uses a fresh file): {other}")
            }
            None => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(Scratch {
                    url,
                    admin_url: None,
                    name,
                    _dir: Some(dir),
                })
            }
        }
    }

    async fn drop_database(&self) {
        if let Some(admin) = &self.admin_url {
            if let Ok(db) = Db::connect(admin, 1).await {
                let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                if let Err(e) = sqlx::query(&sql).execute(db.pool()).await {
                    eprintln!("could not drop {}: {e}", self.name);
                }
                db.close().await;
            }
        }
    }
}

fn replace_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .context("the URL names no database")?;
    Ok(match query {
        Some(q) => format!("{}/{name}?{q}", &base[..cut]),
        None => format!("{}/{name}", &base[..cut]),
    })
}

/// The benchmark's PIN key: its cards' PINs guard nothing.
const PIN_KEY: [u8; 32] = [7; 32];

fn pin_key() -> anyhow::Result<fuelcard::cards::pin::PinKey> {
    fuelcard::cards::pin::PinKey::new(PIN_KEY.to_vec()).context("key")
}

/// A company main card's PIN, as the benchmark's cards store it.
fn main_card_pin() -> anyhow::Result<(String, String)> {
    fuelcard::cards::pin::protect(&pin_key()?, "8888").map_err(|err| anyhow::anyhow!("{err}"))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.seconds == 0 || args.cards == 0 {
        bail!("--clients, --seconds and --cards must be positive");
    }
    // The benchmark's server runs on the system clock (`Settings::default`);
    // its set-up is written at the same instant.
    let now = fuelcard::time::Clock::system().now_us();
    if args.review {
        return review::run(&args, now).await;
    }
    if args.acquisition {
        return acquisition::run(&args, now).await;
    }
    if args.login_flood {
        return flood::run(&args, now).await;
    }
    if args.backup {
        return backup::run(&args, now).await;
    }
    let scratch = Scratch::create(args.db.as_deref(), "bench").await?;
    let outcome = bench(&args, &scratch, now).await;
    scratch.drop_database().await;
    let results = outcome?;
    print(&results);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn bench(args: &BenchArgs, scratch: &Scratch, now: i64) -> anyhow::Result<Results> {
    // The server as deployed: the pool `fuelcard serve` would have.
    let db = Db::connect(&scratch.url, fuelcard::db::default_pool_size()).await?;
    db.migrate().await?;
    eprintln!(
        "setting up {} cards on {} …",
        args.cards,
        db.backend().name()
    );
    let numbers = setup(&db, args.cards, args.fleet, now).await?;
    let served = serve(&db, args.clients).await?;
    eprintln!(
        "driving {} with {} clients for {} s …",
        served.base, args.clients, args.seconds
    );
    let samples = drive(
        args,
        &served.client,
        &served.base,
        &served.token,
        Arc::new(numbers),
    )
    .await;
    served.server.abort();
    let backend = db.backend();
    db.close().await;
    eprintln!("measuring the {} ceiling …", backend.name());
    let (ceiling, ceiling_tps) = match backend {
        Backend::Sqlite => (
            "sqlite bare debit transactions",
            sqlite_ceiling(args, now).await?,
        ),
        Backend::Postgres => ("pgbench tpcb-like", pgbench_ceiling(args, &scratch.url)?),
    };
    Ok(summarise(args, backend, samples, ceiling, ceiling_tps))
}

/// The service on a free local port, as `fuelcard serve` runs it (each
/// request with its peer address), and a client of `clients` connections
/// logged in as the bench's cashier.
struct Served {
    base: String,
    client: reqwest::Client,
    token: String,
    server: tokio::task::JoinHandle<()>,
}

async fn serve(db: &Db, clients: usize) -> anyhow::Result<Served> {
    let state = App {
        db: db.clone(),
        keys: Arc::new(Keys { pin: pin_key()? }),
        settings: Arc::new(Settings::default()),
        chip: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .build()?;
    let token = login(&client, &base).await?;
    Ok(Served {
        base,
        client,
        token,
        server,
    })
}

/// A customer known by name only, as the bench's customers are.
async fn named_customer(
    tx: &mut fuelcard::db::Tx,
    kind: CustomerKind,
    name: String,
    now: i64,
) -> anyhow::Result<customers::Customer> {
    customers::create(
        tx,
        &NewCustomer {
            kind,
            name,
            phone: None,
            id_number: None,
            id_kind: None,
            contact_name: None,
            address: None,
            consents: None,
        },
        now,
    )
    .await
    .map_err(|err| anyhow::anyhow!("{err}"))
}

/// A company and its main card (PIN [`main_card_pin`]), opened at
/// `station_id`.
async fn company_with_main_card(
    tx: &mut fuelcard::db::Tx,
    name: &str,
    station_id: Option<i64>,
    now: i64,
) -> anyhow::Result<(customers::Customer, cards::Card)> {
    let company = named_customer(tx, CustomerKind::Company, name.into(), now).await?;
    let main = cards::open(
        tx,
        &NewCard {
            kind: CardKind::CompanyMain,
            customer_id: Some(company.id),
            parent: None,
            plate: None,
            pin: Some(main_card_pin()?),
            station_id,
        },
        now,
    )
    .await
    .map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok((company, main))
}

/// Recharges `card` with `amount` paid by bank transfer.
async fn fund(
    tx: &mut fuelcard::db::Tx,
    actor: &Actor,
    card: &cards::Card,
    amount: Money,
    now: i64,
) -> anyhow::Result<()> {
    let number = CardNumber::parse(&card.number).map_err(|err| anyhow::anyhow!("{err}"))?;
    let request = RechargeRequest {
        number: &number,
        amount,
        method: PaymentMethod::Transfer,
        campaign_code: None,
        station: None,
    };
    recharge::recharge(tx, actor, request, now)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(())
}

/// A station, 92# priced, a cashier, and `n` cards holding plenty: personal
/// cards, or fleet cards of vehicles with every limit set.
async fn setup(db: &Db, n: usize, fleet: bool, now: i64) -> anyhow::Result<Vec<String>> {
    let e = |err: fuelcard::error::AppError| anyhow::anyhow!("{err}");
    let mut tx = db.begin_write().await?;
    let station = stations::create(
        &mut tx,
        "B1",
        "压测站",
        "bench",
        now,
        Settings::default().time_zone,
    )
    .await
    .map_err(e)?;
    let password = "bench-password";
    let cashier_id = users::create(
        &mut tx,
        &users::NewUser {
            username: "bench-cashier",
            password,
            role: Role::Cashier,
            station_id: Some(station.id),
            company_id: None,
            merchant: None,
            district: None,
        },
        now,
    )
    .await
    .map_err(e)?;
    let product = products::find(&mut tx, "92").await.map_err(e)?;
    let price = Price {
        unit_price: Money::from_fen(768),
        card_discount_per_litre: Money::from_fen(20),
        effective_from: 0,
    };
    products::set_price(&mut tx, &product, price, cashier_id, now)
        .await
        .map_err(e)?;
    let actor = Actor {
        user_id: cashier_id,
        username: "bench-cashier".into(),
        role: Role::Cashier,
        station_id: Some(station.id),
        company_id: None,
        merchant: None,
        district: None,
        address: None,
    };
    if fleet {
        let numbers = setup_fleet(&mut tx, &actor, n, now).await?;
        tx.commit().await?;
        return Ok(numbers);
    }
    let mut numbers = Vec::with_capacity(n);
    for i in 0..n {
        let c = named_customer(&mut tx, CustomerKind::Person, format!("bench {i}"), now).await?;
        let card = cards::open(
            &mut tx,
            &NewCard {
                kind: CardKind::Personal,
                customer_id: Some(c.id),
                parent: None,
                plate: None,
                pin: None,
                station_id: Some(station.id),
            },
            now,
        )
        .await
        .map_err(e)?;
        fund(&mut tx, &actor, &card, Money::from_fen(100_000_000), now).await?;
        numbers.push(card.number);
    }
    tx.commit().await?;
    Ok(numbers)
}

/// A company, its main card, and `n` vehicles with fleet cards: plate,
/// product, per-sale, daily, hours and station limits all set.
async fn setup_fleet(
    tx: &mut fuelcard::db::Tx,
    actor: &Actor,
    n: usize,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let e = |err: fuelcard::error::AppError| anyhow::anyhow!("{err}");
    let (company, main) = company_with_main_card(tx, "bench fleet", actor.station_id, now).await?;
    let per_card = 100_000_000i64;
    let whole = Money::from_fen(per_card * i64::try_from(n).unwrap_or(1));
    fund(tx, actor, &main, whole, now).await?;
    let mut numbers = Vec::with_capacity(n);
    for i in 0..n {
        let plate = format!("B{i:05}");
        let input = fuelcard::fleet::vehicles::VehicleInput {
            plate: plate.clone(),
            vehicle_type: "light_truck".into(),
            displacement: "2.8".into(),
            products: vec!["92".into()],
            tank_capacity: "100".into(),
            baseline_l_per_100km: "12".into(),
            department: None,
            default_driver: None,
            max_sale_litres: Some("100".into()),
            max_sale_amount: Some("1000".into()),
            max_day_litres: Some("100000".into()),
            max_day_amount: Some("1000000".into()),
            allowed_hours: Some("00:00-24:00".into()),
            allowed_stations: Some(vec!["B1".into()]),
            // Concurrent clients may send one vehicle's readings out of order.
            controls: [("odometer".to_string(), fuelcard::fleet::limits::Mode::Alert)].into(),
        };
        let v = input.validate().map_err(e)?;
        fuelcard::fleet::vehicles::create(tx, company.id, &v, now)
            .await
            .map_err(e)?;
        let card = cards::open(
            tx,
            &NewCard {
                kind: CardKind::Fleet,
                customer_id: None,
                parent: Some(&main),
                plate: Some(&plate),
                pin: None,
                station_id: actor.station_id,
            },
            now,
        )
        .await
        .map_err(e)?;
        fuelcard::cards::transfer::transfer(
            tx,
            actor,
            &main,
            &card,
            Money::from_fen(per_card),
            now,
        )
        .await
        .map_err(e)?;
        numbers.push(card.number);
    }
    Ok(numbers)
}

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let v: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "bench-cashier", "password": "bench-password"}))
        .send()
        .await?
        .json()
        .await?;
    v["token"]
        .as_str()
        .map(String::from)
        .context("login failed")
}

#[derive(Clone, Copy)]
enum Op {
    Sale,
    Recharge,
    Statement,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sale => "sale",
            Op::Recharge => "recharge",
            Op::Statement => "statement",
        }
    }
}

struct Sample {
    op: Op,
    /// When the request was sent.
    at: Instant,
    micros: u64,
    ok: bool,
}

async fn drive(
    args: &BenchArgs,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    numbers: Arc<Vec<String>>,
) -> Vec<Sample> {
    let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
    drive_until(args, client, base, token, numbers, never).await
}

/// [`drive`] that also stops early, once `stop` is set.
async fn drive_until(
    args: &BenchArgs,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    numbers: Arc<Vec<String>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    // With a rate cap each client sends its own share of the rate, with
    // random (exponential) gaps and a random start, as independent pumps
    // and counters do; clients in lockstep would arrive in bursts and
    // measure their own queue instead of the service.
    let pace = args.rate.map(|r| {
        let per_client = (r as f64 / args.clients as f64).max(0.001);
        Duration::from_secs_f64(1.0 / per_client)
    });
    let odometer = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let mut tasks = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let client = client.clone();
        let base = base.to_string();
        let token = token.to_string();
        let numbers = numbers.clone();
        let odometer = odometer.clone();
        let stop = stop.clone();
        let (fleet, sales_only) = (args.fleet, args.sales_only || args.fleet);
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut out = Vec::new();
            let gap = |rng: &mut rand::rngs::StdRng, mean: Duration| {
                mean.mul_f64(-(1.0 - rng.gen_range(0.0..1.0f64)).ln())
            };
            let mut next = Instant::now() + pace.map(|p| gap(&mut rng, p)).unwrap_or_default();
            while Instant::now() < deadline && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(p) = pace {
                    tokio::time::sleep_until(next.into()).await;
                    next += gap(&mut rng, p);
                }
                let index = rng.gen_range(0..numbers.len());
                let number = &numbers[index];
                let roll = if sales_only { 0 } else { rng.gen_range(0..100) };
                let op = if roll < 80 { Op::Sale } else if roll < 90 { Op::Recharge } else { Op::Statement };
                let litres = format!("{}.{:02}", rng.gen_range(5..60), rng.gen_range(0..100));
                let sale = if fleet {
                    let km = odometer.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    json!({"card_number": number, "product": "92", "litres": litres, "plate": format!("B{index:05}"), "odometer": km})
                } else {
                    json!({"card_number": number, "product": "92", "litres": litres})
                };
                let key = uuid::Uuid::new_v4().to_string();
                let req = match op {
                    Op::Sale => client
                        .post(format!("{base}/api/v1/sales"))
                        .header("Idempotency-Key", key)
                        .json(&sale),
                    Op::Recharge => client
                        .post(format!("{base}/api/v1/cards/{number}/recharges"))
                        .header("Idempotency-Key", key)
                        .json(&json!({"amount": format!("{}.00", rng.gen_range(100..2000)), "payment_method": "cash"})),
                    Op::Statement => client.get(format!("{base}/api/v1/cards/{number}/transactions?per_page=20")),
                };
                let started = Instant::now();
                let ok = match req.bearer_auth(&token).send().await {
                    Ok(resp) => {
                        let success = resp.status().is_success();
                        let _ = resp.bytes().await;
                        success
                    }
                    Err(_) => false,
                };
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                out.push(Sample { op, at: started, micros, ok });
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(samples) = t.await {
            all.extend(samples);
        }
    }
    all
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn summarise(
    args: &BenchArgs,
    backend: Backend,
    samples: Vec<Sample>,
    ceiling: &'static str,
    ceiling_tps: f64,
) -> Results {
    let secs = args.seconds as f64;
    let mut ops = BTreeMap::new();
    let mut total_ok = 0usize;
    for op in [Op::Sale, Op::Recharge, Op::Statement] {
        let mine: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.op.name() == op.name())
            .collect();
        let mut ok: Vec<u64> = mine.iter().filter(|s| s.ok).map(|s| s.micros).collect();
        ok.sort_unstable();
        total_ok += ok.len();
        ops.insert(
            op.name(),
            OpStats {
                requests: mine.len(),
                rps: ok.len() as f64 / secs,
                p50_ms: percentile(&ok, 50.0),
                p95_ms: percentile(&ok, 95.0),
                p99_ms: percentile(&ok, 99.0),
                errors: mine.len() - ok.len(),
            },
        );
    }
    let sale_rps = ops.get("sale").map_or(0.0, |s| s.rps);
    Results {
        backend: backend.name(),
        mode: if args.fleet {
            "fleet-sales"
        } else if args.sales_only {
            "sales"
        } else {
            "mix"
        },
        clients: args.clients,
        seconds: args.seconds,
        cards: args.cards,
        total_rps: total_ok as f64 / secs,
        ceiling,
        ceiling_tps,
        ratio: if ceiling_tps > 0.0 {
            sale_rps / ceiling_tps
        } else {
            0.0
        },
        ops,
    }
}

fn print(r: &Results) {
    println!(
        "backend {}  mode {}  clients {}  seconds {}  cards {}",
        r.backend, r.mode, r.clients, r.seconds, r.cards
    );
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "op", "requests", "rps", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    for (name, s) in &r.ops {
        println!(
            "{name:<10} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            s.requests, s.rps, s.p50_ms, s.p95_ms, s.p99_ms, s.errors
        );
    }
    println!("all requests: {:.1}/s", r.total_rps);
    println!(
        "ceiling ({}): {:.1} tps; sales reach {:.0}% of it",
        r.ceiling,
        r.ceiling_tps,
        r.ratio * 100.0
    );
}

/// Bare debit transactions on a fresh SQLite file with the service's
/// settings, from as many tasks as the benchmark has clients.
async fn sqlite_ceiling(args: &BenchArgs, now: i64) -> anyhow::Result<f64> {
    let scratch = Scratch::create(None, "ceiling").await?;
    let pool_size = u32::try_from(args.clients.clamp(4, 32)).unwrap_or(16);
    let db = Db::connect(&scratch.url, pool_size).await?;
    sqlx::query("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance_fen INTEGER NOT NULL) STRICT")
        .execute(db.pool())
        .await?;
    sqlx::query("CREATE TABLE hist (id INTEGER PRIMARY KEY, acct_id INTEGER NOT NULL, amount_fen INTEGER NOT NULL, at INTEGER NOT NULL) STRICT")
        .execute(db.pool())
        .await?;
    let accounts = i64::try_from(args.cards).unwrap_or(200);
    for id in 0..accounts {
        sqlx::query("INSERT INTO acct (id, balance_fen) VALUES ($1, 1000000000000)")
            .bind(id)
            .execute(db.pool())
            .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1000 + c as u64);
            let mut n = 0u64;
            while Instant::now() < deadline {
                let id = rng.gen_range(0..accounts);
                let work = async {
                    let mut tx = db.begin_write().await?;
                    sqlx::query("UPDATE acct SET balance_fen = balance_fen - $1 WHERE id = $2 AND balance_fen >= $1")
                        .bind(100i64)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO hist (acct_id, amount_fen, at) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(100i64)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                };
                if work.await.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0u64;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    db.close().await;
    Ok(total as f64 / args.seconds as f64)
}

/// pgbench's TPC-B-like script on the benchmark database, same clients.
fn pgbench_ceiling(args: &BenchArgs, url: &str) -> anyhow::Result<f64> {
    let init = std::process::Command::new("pgbench")
        .args(["-i", "-s", "1", "-q", url])
        .output()
        .context("running pgbench (Debian: postgresql-contrib / postgresql-client)")?;
    if !init.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    let clients = args.clients.to_string();
    let threads = args.clients.min(2).to_string();
    let seconds = args.seconds.to_string();
    let out = std::process::Command::new("pgbench")
        .args([
            "-b",
            "tpcb-like",
            "-c",
            &clients,
            "-j",
            &threads,
            "-T",
            &seconds,
            url,
        ])
        .output()?;
    if !out.status.success() {
        bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no tps line in pgbench's output")
}

#[cfg(test)]
mod tests {
    use super::{percentile, replace_database};

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 51.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://u@h:5432/test", "x").unwrap(),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/test?sslmode=disable", "x").unwrap(),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
