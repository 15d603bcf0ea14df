//! The `fuelcard` command line: serve, migrate, demo, user, ledger, reader,
//! card, backup, restore.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};

use fuelcard::actions::App;
use fuelcard::actions::At;
use fuelcard::actions::users::NewUserBody;
use fuelcard::auth::{Actor, Role};
use fuelcard::cards::pin;
use fuelcard::config::{self, Settings};
use fuelcard::db::Db;
use fuelcard::http;
use fuelcard::time::Clock;

#[derive(Parser, Debug)]
#[command(
    name = "fuelcard",
    version,
    about = "Fuel-station IC card service: accounts, recharge, sales, ledger"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database: a SQLite file path or sqlite:// URL (default), or a
    /// postgres:// URL — several hosts in one URL
    /// (postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write)
    /// for a primary and its standby: the service uses the one that accepts
    /// writes and follows a promoted standby.
    #[arg(
        long = "db",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "fuelcard.db"
    )]
    pub url: String,
    /// Connections in the pool (default: 4 per CPU core, 4 to 32).
    #[arg(long, env = "FUELCARD_DB_CONNECTIONS")]
    pub connections: Option<u32>,
}

impl DbArgs {
    async fn open(&self) -> anyhow::Result<Db> {
        let size = self
            .connections
            .unwrap_or_else(fuelcard::db::default_pool_size);
        let db = Db::connect(&self.url, size).await?;
        db.migrate().await?;
        Ok(db)
    }
}

/// The operator's time zone and the clock, for every command whose answer
/// depends on the day or the hour.
#[derive(Args, Debug, Clone)]
pub struct TimeArgs {
    /// The operator's time zone, for business days and months.
    #[arg(long, env = "FUELCARD_TIME_ZONE", default_value = fuelcard::time::DEFAULT_TIME_ZONE)]
    pub time_zone: String,
    /// Start the clock at this instant instead of the system time, and let
    /// it run from there (training, demos, trying out monthly rules), e.g.
    /// 2026-12-01T09:00:00+08:00. Default: the system clock.
    #[arg(long, env = "FUELCARD_CLOCK", value_parser = Clock::parse)]
    pub clock: Option<Clock>,
}

impl TimeArgs {
    fn time_zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown time zone {:?}", self.time_zone))
    }

    fn clock(&self) -> Clock {
        self.clock.unwrap_or_else(Clock::system)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (API under /api/v1, counter pages under /).
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DbArgs),
    /// Fill an empty database with a demo station network and print the logins.
    Demo {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        time: TimeArgs,
        /// The key file holding the PIN key (created when missing). Default:
        /// beside the SQLite file, or ./fuelcard-keys.toml.
        #[arg(long, env = "FUELCARD_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Ledger tools.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Draft a company's fleet allocation plan for a month and print it.
    Allocate {
        #[command(flatten)]
        db: DbArgs,
        /// The company (customer id).
        #[arg(long)]
        company: i64,
        /// YYYY-MM; default: next month.
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        time: TimeArgs,
    },
    /// Print who may do what: the policy table, as the README shows it.
    Policy,
    /// Load-test the HTTP API on a fresh database and compare with the
    /// database's own ceiling.
    Bench(crate::bench::BenchArgs),
    /// Card readers (PC/SC): list them, watch cards come and go, read a
    /// card, or serve a software card in the virtual reader.
    #[command(subcommand)]
    Reader(crate::reader_cli::ReaderCommand),
    /// Card tools that work through a reader.
    #[command(subcommand)]
    Card(crate::reader_cli::CardCommand),
    /// Copy a live SQLite database to a file while sales go on, and check
    /// the copy (integrity, ledger, PIN key) before it counts. The PIN key
    /// file is not in the copy: back it up too.
    Backup(BackupArgs),
    /// Put a backup in place of the SQLite database, after checking it;
    /// stop the server first. A database with newer records is replaced
    /// only with --force.
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The SQLite database to copy: a file path or sqlite:// URL. A server
    /// may be selling on it meanwhile.
    #[arg(
        long = "db",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "fuelcard.db"
    )]
    pub db: String,
    /// The file to write. The copy is written beside it under a temporary
    /// name and renamed to it only once every check passed, so a file here
    /// is replaced by a verified backup or not at all.
    #[arg(long)]
    pub to: PathBuf,
    /// The key file the server runs with, to check the copy's PINs against
    /// (never created here). Default: beside the SQLite file.
    #[arg(long, alias = "keys", env = "FUELCARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore (a file `fuelcard backup` wrote).
    #[arg(long)]
    pub from: PathBuf,
    /// The SQLite database to put it in place of: a file path or sqlite://
    /// URL. No server may have it open.
    #[arg(
        long = "db",
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "fuelcard.db"
    )]
    pub db: String,
    /// The key file the restored service will run with (put back first
    /// from where it was kept with the backups); the backup's PINs are
    /// checked against it. Default: beside the SQLite file.
    #[arg(long, alias = "keys", env = "FUELCARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Replace the database even if it holds records newer than the
    /// backup's newest (they are lost).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "FUELCARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Fill an empty database with demo data first.
    #[arg(long)]
    pub demo: bool,
    /// The key file holding the PIN key (created when missing). Default:
    /// beside the SQLite file, or ./fuelcard-keys.toml.
    #[arg(long, env = "FUELCARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    #[command(flatten)]
    pub time: TimeArgs,
    /// Hours after a loss report before a replacement card gets the balance.
    #[arg(long, env = "FUELCARD_REPLACEMENT_WAIT_HOURS", default_value_t = 0)]
    pub replacement_wait_hours: i64,
    /// Minutes a fuelling hold lives unless captured or voided.
    #[arg(long, env = "FUELCARD_HOLD_MINUTES", default_value_t = 30)]
    pub hold_minutes: i64,
    /// A token `/metrics` then requires (`Authorization: Bearer …`); without
    /// one, the metrics are open to whoever reaches the listen address.
    #[arg(long, env = "FUELCARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Days an answered Idempotency-Key replays its answer before it is
    /// purged (a retry after that is a new request).
    #[arg(long, env = "FUELCARD_REPLAY_DAYS", default_value_t = 7)]
    pub replay_days: i64,
    /// Days after opening within which a new card customer must refuel to
    /// count towards the acquisition targets.
    #[arg(long, env = "FUELCARD_ACTIVATION_DAYS", default_value_t = 30)]
    pub activation_days: i64,
    /// Hours within which a merchant may reverse a redemption it made by
    /// mistake (never once the month is settled).
    #[arg(long, env = "FUELCARD_REVERSAL_HOURS", default_value_t = 24)]
    pub reversal_hours: i64,
    /// The largest purchase, in yuan, a merchant may declare for one
    /// redemption of a discount.
    #[arg(
        long,
        env = "FUELCARD_MAX_REDEMPTION_PURCHASE",
        default_value = "10000.00"
    )]
    pub max_redemption_purchase: String,
    /// Hours to assign a complaint once received.
    #[arg(long, env = "FUELCARD_COMPLAINT_ASSIGN_HOURS", default_value_t = 4)]
    pub complaint_assign_hours: i64,
    /// Hours to answer a complaint, counted from receipt.
    #[arg(long, env = "FUELCARD_COMPLAINT_ANSWER_HOURS", default_value_t = 24)]
    pub complaint_answer_hours: i64,
    /// Days to close a complaint (followed up), counted from receipt.
    #[arg(long, env = "FUELCARD_COMPLAINT_CLOSE_DAYS", default_value_t = 7)]
    pub complaint_close_days: i64,
    /// Days without a refuel after which a customer is dormant (on the
    /// call-back list).
    #[arg(long, env = "FUELCARD_DORMANT_DAYS", default_value_t = 45)]
    pub dormant_days: i64,
    /// Days without a refuel after which a customer counts as lost.
    #[arg(long, env = "FUELCARD_LOST_DAYS", default_value_t = 120)]
    pub lost_days: i64,
    /// Monthly card litres that reach gold, key, potential key and
    /// ordinary (an average over the three months before; below: marginal).
    #[arg(long, env = "FUELCARD_GRADE_LITRES", value_delimiter = ',', num_args = 4, default_values_t = [3000, 1000, 300, 50])]
    pub grade_litres: Vec<i64>,
    /// Monthly recharges (yuan) that reach the same levels; either measure
    /// is enough.
    #[arg(long, env = "FUELCARD_GRADE_RECHARGE", value_delimiter = ',', num_args = 4, default_values_t = [20000, 7000, 2000, 300])]
    pub grade_recharge: Vec<i64>,
    /// Hours a login lasts at most (one long shift by default).
    #[arg(long, env = "FUELCARD_SESSION_HOURS", default_value_t = fuelcard::auth::sessions::SESSION_HOURS)]
    pub session_hours: i64,
    /// Minutes a login lasts unused: a counter left logged in ends by itself.
    #[arg(long, env = "FUELCARD_SESSION_IDLE_MINUTES", default_value_t = fuelcard::auth::sessions::IDLE_MINUTES)]
    pub session_idle_minutes: i64,
    /// Serve HTTPS with this certificate chain (PEM, the server's own
    /// certificate first, e.g. fullchain.pem); needs --tls-key. Without
    /// both, plain HTTP.
    #[arg(long, env = "FUELCARD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM, unencrypted) of --tls-cert.
    #[arg(long, env = "FUELCARD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub chip: ChipArgs,
    /// Back the SQLite database up into this directory on a schedule (the
    /// first at start), each backup checked before it counts; the last good
    /// one's age is in /metrics. The PIN key file is not in the backups:
    /// keep a copy of it. Default: no scheduled backups.
    #[arg(long, env = "FUELCARD_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Time between scheduled backups: a whole number and s, m, h or d
    /// (e.g. 30m, 1h).
    #[arg(long, env = "FUELCARD_BACKUP_EVERY", default_value = "1h", value_parser = fuelcard::db::backup::parse_every)]
    pub backup_every: std::time::Duration,
    /// Scheduled backups kept in --backup-dir; the oldest beyond these are
    /// deleted after each good backup.
    #[arg(long, env = "FUELCARD_BACKUP_KEEP", default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..))]
    pub backup_keep: u32,
}

/// The card reader at this counter. Without `--reader` the chip routes
/// answer 503 `reader_not_configured`.
#[derive(clap::Args, Debug)]
pub struct ChipArgs {
    /// The PC/SC reader (its name or a prefix, e.g. "Virtual PCD 00 00").
    #[arg(long, env = "FUELCARD_READER")]
    pub reader: Option<String>,
    /// The issuer key file (load, purchase, tac, pin_unlock keys; never in
    /// the database). Default: the FUELCARD_ISSUER_KEYS variable.
    #[arg(long)]
    pub issuer_keys: Option<PathBuf>,
    /// This counter's terminal ID, 12 hex digits.
    #[arg(long, env = "FUELCARD_TERMINAL", default_value = "000000000001")]
    pub terminal: String,
}

impl ChipArgs {
    /// The reader desk, when a reader is named.
    /// The counter's desk, and its issuer keys' check value.
    pub fn desk(&self) -> anyhow::Result<Option<(Arc<fuelcard::chip::Desk>, String)>> {
        use fuelcard_reader::keys::{IssuerKeys, SoftwareKeyService};
        let Some(reader) = &self.reader else {
            return Ok(None);
        };
        let keys = match &self.issuer_keys {
            Some(path) => IssuerKeys::from_file(path),
            None => IssuerKeys::from_env(),
        }
        .context("the issuer keys (--issuer-keys FILE or FUELCARD_ISSUER_KEYS)")?;
        let terminal = hex::decode(&self.terminal)
            .ok()
            .and_then(|b| <[u8; 6]>::try_from(b).ok())
            .context("--terminal: 12 hexadecimal digits")?;
        let check = keys.check_value();
        let desk = fuelcard::chip::Desk {
            slot: Box::new(fuelcard::chip::PcscSlot::new(reader.clone())),
            keys: Arc::new(SoftwareKeyService::new(keys)),
            terminal,
            aid: fuelcard_reader::purse::DEFAULT_AID.to_vec(),
        };
        Ok(Some((Arc::new(desk), check)))
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        /// admin, hq, district_manager, station_manager, cashier, fleet_manager, merchant
        #[arg(long)]
        role: String,
        /// Station code (cashier, station manager).
        #[arg(long)]
        station: Option<String>,
        /// Company customer id (fleet manager).
        #[arg(long)]
        company: Option<i64>,
        /// Merchant name (merchant).
        #[arg(long)]
        merchant: Option<String>,
        /// District name (district manager).
        #[arg(long)]
        district: Option<String>,
        /// Read the password from stdin (the only way; kept for clarity in scripts).
        #[arg(long, default_value_t = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check the ledger invariants; exits non-zero when one fails.
    Check(DbArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(db) => {
            db.open().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo { db, time, key_file } => {
            let url = db.url.clone();
            let db = db.open().await?;
            let keys = keys_for(&db, key_file, &url).await?;
            print_demo(crate::demo::fill(&db, time.time_zone()?, time.clock(), &keys).await?);
            Ok(())
        }
        Command::User(UserCommand::Add {
            db,
            username,
            role,
            station,
            company,
            merchant,
            district,
            password_stdin: _,
        }) => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let db = db.open().await?;
            let new = NewUserBody {
                username,
                password: password.to_string(),
                role,
                station,
                company_id: company,
                merchant,
                district,
            };
            let console = Actor::console();
            let at = At {
                actor: &console,
                now: Clock::system().now_us(),
            };
            let id = fuelcard::actions::users::add(&db, at, None, &new)
                .await
                .map_err(anyhow::Error::from)?
                .value
                .id;
            let username = new.username;
            println!("user {username} ({}) added with id {id}", role.as_str());
            Ok(())
        }
        Command::Policy => {
            print!("{}", fuelcard::auth::policy::markdown());
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Reader(command) => crate::reader_cli::run_reader(command).await,
        Command::Card(command) => crate::reader_cli::run_card(command).await,
        Command::Allocate {
            db,
            company,
            month,
            time,
        } => {
            let db = db.open().await?;
            let now = time.clock().now_us();
            let tz = time.time_zone()?;
            let month = month.unwrap_or_else(|| {
                fuelcard::fleet::allocation::month_after(fuelcard::time::local_date(now, tz))
            });
            let console = Actor::console();
            let at = At {
                actor: &console,
                now,
            };
            let plan = fuelcard::actions::fleet::draft_plan(&db, at, company, &month)
                .await
                .map_err(anyhow::Error::from)?;
            println!(
                "allocation plan for company {company}, {month} ({}):",
                fuelcard::lifecycle::Status::as_str(plan.status)
            );
            println!(
                "{:<12} {:>10} {:>11} {:>10}  reason",
                "plate", "base", "adjustment", "amount"
            );
            for l in &plan.lines {
                println!(
                    "{:<12} {:>10} {:>11} {:>10}  {}",
                    l.plate, l.base, l.adjustment, l.amount, l.reason
                );
            }
            println!("total {}", plan.total);
            Ok(())
        }
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(args).await,
        Command::Ledger(LedgerCommand::Check(db)) => {
            let db = db.open().await?;
            let mut conn = db.pool().acquire().await?;
            let report = fuelcard::ledger::check::run(&mut conn)
                .await
                .map_err(anyhow::Error::from)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.ok {
                bail!("the ledger check failed");
            }
            Ok(())
        }
    }
}

/// The PIN key for checking a backup, from the key file or the
/// environment (never made up: a new key would check nothing), and how to
/// name where it came from.
fn backup_key(key_file: Option<PathBuf>, db_url: &str) -> anyhow::Result<(config::Keys, String)> {
    let path = key_file.unwrap_or_else(|| config::default_key_file(db_url));
    let keys = config::load_keys(&path, false)?;
    let source = if std::env::var(config::PIN_KEY_ENV).is_ok() {
        format!("the PIN key in {}", config::PIN_KEY_ENV)
    } else {
        format!("the key file {}", path.display())
    };
    Ok((keys, source))
}

/// What a copy's checks found, for the operator.
fn print_checks(checks: &fuelcard::db::backup::Verified) {
    use fuelcard::db::backup::{KeyCheck, when};
    println!(
        "  checked in {:.1} s: integrity ok, ledger ok ({} accounts, {} transfers), {}",
        checks.seconds,
        checks.accounts,
        checks.transfers,
        match checks.key {
            KeyCheck::Matches => "the PIN key matches the check value the database records",
            KeyCheck::NotRecorded => "no PIN key recorded yet (no PINs to check)",
        }
    );
    println!(
        "  newest record (ledger or audit): {}",
        when(checks.newest_record_us)
    );
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let path = fuelcard::db::backup::sqlite_file(&args.db)?;
    let (keys, key_source) = backup_key(args.key_file, &args.db)?;
    let report = fuelcard::db::backup::backup(&path, &args.to, &keys.pin)
        .await
        .with_context(|| {
            format!(
                "backing up {} to {}: no backup was written",
                path.display(),
                args.to.display()
            )
        })?;
    println!(
        "backup of {} written to {} ({} bytes)",
        path.display(),
        report.path.display(),
        report.bytes
    );
    println!(
        "  copied in {:.1} s (VACUUM INTO: one consistent snapshot; sales went on)",
        report.copy_seconds
    );
    print_checks(&report.checks);
    println!(
        "the PIN key is not in the backup: keep a copy of {key_source} with it, stored apart \
         from it; without the key every card PIN of a restored database is lost"
    );
    if report.checks.issuer_keys {
        println!(
            "this database's chip records were made under issuer keys: keep a copy of the \
             issuer key file (--issuer-keys) too"
        );
    }
    Ok(())
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let to = fuelcard::db::backup::sqlite_file(&args.db)?;
    let (keys, key_source) = backup_key(args.key_file, &args.db)?;
    let restored = fuelcard::db::backup::restore(&args.from, &to, &keys.pin, args.force)
        .await
        .with_context(|| {
            format!(
                "restoring {} to {}: nothing was changed",
                args.from.display(),
                to.display()
            )
        })?;
    println!(
        "restored {} to {} ({} bytes)",
        restored.from.display(),
        restored.to.display(),
        restored.bytes
    );
    print_checks(&restored.checks);
    match &restored.replaced {
        Some(old) => println!(
            "  it replaced a database whose newest record was {}",
            fuelcard::db::backup::when(old.newest_record_us)
        ),
        None => println!("  there was no database there before"),
    }
    println!(
        "serve it with {key_source}: fuelcard serve --db {}",
        restored.to.display()
    );
    Ok(())
}

fn print_demo(logins: Vec<(String, String, String)>) {
    if logins.is_empty() {
        println!("the database already has users: demo data not added");
        return;
    }
    println!("demo data added. logins (username / password / role):");
    for (u, p, r) in logins {
        println!("  {u:<12} {p:<16} {r}");
    }
    println!(
        "the companies' main cards have the PIN {}: a counter moves their money with it",
        crate::demo::MAIN_CARD_PIN
    );
}

/// The PIN key from the key file given, or the default one for this database.
/// The keys this database's records are made under: a new key is made only
/// for a database without PINs, and a key whose check value differs from
/// the one the database recorded refuses to start the service.
async fn keys_for(
    db: &Db,
    key_file: Option<PathBuf>,
    db_url: &str,
) -> anyhow::Result<config::Keys> {
    let mut conn = db.pool().acquire().await?;
    let recorded = pin::recorded_check(&mut conn).await?;
    let fresh = recorded.is_none() && !pin::verifiers_exist(&mut conn).await?;
    let path = key_file.unwrap_or_else(|| config::default_key_file(db_url));
    let keys = config::load_keys(&path, fresh)?;
    match recorded {
        Some(check) if check != keys.pin.check_value() => bail!(
            "the PIN key ({}) is not the key this database's card PINs were set up under: \
             start with that key (the original key file or {}); with this one every PIN \
             would be wrong",
            if std::env::var(config::PIN_KEY_ENV).is_ok() {
                config::PIN_KEY_ENV.to_string()
            } else {
                path.display().to_string()
            },
            config::PIN_KEY_ENV
        ),
        Some(_) => {}
        None => pin::record_check(&mut conn, &keys.pin, Clock::system().now_us()).await?,
    }
    Ok(keys)
}

/// The counter's desk, once its issuer keys are the database's.
async fn desk_for(db: &Db, chip: &ChipArgs) -> anyhow::Result<Option<Arc<fuelcard::chip::Desk>>> {
    let Some((desk, check)) = chip.desk()? else {
        return Ok(None);
    };
    let mut conn = db.pool().acquire().await?;
    let now = Clock::system().now_us();
    let same = fuelcard::chip::issuer_keys_match(&mut conn, &check, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !same {
        bail!(
            "the issuer keys (check value {check}) are not the keys this database's chip \
             records were made under: start with those keys (the original --issuer-keys file \
             or FUELCARD_ISSUER_KEYS); with these every card would fail its MAC and TAC checks"
        );
    }
    Ok(Some(desk))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Read before anything else, so a wrong file stops the start at once
    // and touches no database. clap has made sure both are given or none.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::server_config(cert, key)?),
        _ => None,
    };
    let db = args.db.open().await?;
    let keys = keys_for(&db, args.key_file.clone(), &args.db.url).await?;
    let time_zone = args.time.time_zone()?;
    let clock = args.time.clock();
    if args.replacement_wait_hours < 0 || !(1..=1440).contains(&args.hold_minutes) {
        bail!("--replacement-wait-hours must be ≥ 0 and --hold-minutes 1 to 1440");
    }
    if !(1..=3650).contains(&args.replay_days) {
        bail!("--replay-days must be 1 to 3650");
    }
    if !(1..=366).contains(&args.activation_days) {
        bail!("--activation-days must be 1 to 366");
    }
    if !(1..=720).contains(&args.reversal_hours) {
        bail!("--reversal-hours must be 1 to 720");
    }
    let max_redemption_purchase =
        fuelcard::money::Money::parse_positive(&args.max_redemption_purchase)
            .map_err(|e| anyhow::anyhow!("--max-redemption-purchase: {e}"))?;
    if !(1..=168).contains(&args.session_hours) || !(5..=1440).contains(&args.session_idle_minutes)
    {
        bail!("--session-hours must be 1 to 168 and --session-idle-minutes 5 to 1440");
    }
    let complaints = fuelcard::crm::complaints::Limits {
        assign_hours: args.complaint_assign_hours,
        answer_hours: args.complaint_answer_hours,
        close_days: args.complaint_close_days,
    };
    if !(1..=720).contains(&complaints.assign_hours)
        || complaints.answer_hours < complaints.assign_hours
        || complaints.answer_hours > 720
        || !(1..=365).contains(&complaints.close_days)
        || complaints.close_days * 24 < complaints.answer_hours
    {
        bail!(
            "--complaint-assign-hours ≤ --complaint-answer-hours (1 to 720) ≤ 24 × --complaint-close-days (1 to 365)"
        );
    }
    let grading = grading_rules(&args)?;
    if args.demo {
        print_demo(crate::demo::fill(&db, time_zone, clock, &keys).await?);
    }
    let state = App {
        db: db.clone(),
        keys: Arc::new(keys),
        settings: Arc::new(Settings {
            time_zone,
            replacement_wait_hours: args.replacement_wait_hours,
            hold_minutes: args.hold_minutes,
            clock,
            metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
            replay_days: args.replay_days,
            activation_days: args.activation_days,
            reversal_hours: args.reversal_hours,
            max_redemption_purchase,
            sessions: fuelcard::auth::sessions::Lifetime {
                hours: args.session_hours,
                idle_minutes: args.session_idle_minutes,
            },
            tls: tls.is_some(),
            complaints,
            grading,
        }),
        chip: desk_for(&db, &args.chip).await?,
    };
    if let Some(dir) = &args.backup_dir {
        http::install_metrics();
        let schedule = fuelcard::db::backup::Schedule {
            database: fuelcard::db::backup::sqlite_file(&args.db.url).context("--backup-dir")?,
            dir: dir.clone(),
            every: args.backup_every,
            keep: usize::try_from(args.backup_keep).unwrap_or(usize::MAX),
        };
        fuelcard::db::backup::spawn_schedule(state.keys.pin.clone(), schedule, clock)?;
    }
    // A server started on the allocation day drafts the plans before it
    // answers anyone, so the fleet managers find them at once; likewise the
    // month's customer grades.
    fuelcard::actions::jobs::draft_due_plans(&db, time_zone, clock).await;
    fuelcard::actions::jobs::grade_customers(&db, &state.settings).await;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "fuelcard listening on {scheme}://{addr} ({} database)",
        db.backend().name()
    );
    tracing::info!(%addr, scheme, backend = db.backend().name(), "listening");
    match tls {
        Some(tls) => http::serve_tls(listener, tls, state).await,
        None => http::serve(listener, state).await,
    }
}

/// The grading rules from the command line: each ladder from the top rung
/// down, the lifecycle's days in order.
fn grading_rules(args: &ServeArgs) -> anyhow::Result<fuelcard::crm::grading::Rules> {
    use fuelcard::crm::grading::{Level, Rules, Rung};
    let descending = |v: &[i64]| v.len() == 4 && v.windows(2).all(|w| w[0] > w[1]) && v[3] > 0;
    if !descending(&args.grade_litres) || !descending(&args.grade_recharge) {
        bail!(
            "--grade-litres and --grade-recharge take four falling amounts, e.g. 3000,1000,300,50"
        );
    }
    if !(1..=365).contains(&args.dormant_days)
        || !(args.dormant_days + 1..=730).contains(&args.lost_days)
    {
        bail!("--dormant-days must be 1 to 365 and --lost-days more, up to 730");
    }
    let levels = [
        Level::Gold,
        Level::Key,
        Level::PotentialKey,
        Level::Ordinary,
    ];
    let rung = |i: usize| Rung {
        level: levels[i],
        litres_cl: args.grade_litres[i] * 100,
        recharge_fen: args.grade_recharge[i] * 100,
    };
    Ok(Rules {
        rungs: [rung(0), rung(1), rung(2), rung(3)],
        dormant_days: args.dormant_days,
        lost_days: args.lost_days,
        ..Rules::default()
    })
}
