//! Test support: a real server on a fresh database of either backend,
//! driven over HTTP.
//!
//! SQLite tests use a temporary file; PostgreSQL tests create a uniquely
//! named database on the server in `TEST_DATABASE_URL` and drop it after.
//! Without that variable a PostgreSQL test says loudly that it skipped —
//! unless `CI=true`, where a missing server is a failure.
//!
//! Every server a test starts runs on a set clock ([`TEST_CLOCK`] unless the
//! test picks its instant), so no test depends on the hour, the day of the
//! month or the weekday it happens to run at.

#![allow(dead_code)]

use std::sync::Arc;

use fuelcard::actions::App;
use fuelcard::config::{Keys, Settings};
use fuelcard::db::Db;
use fuelcard::http;
use fuelcard::time::Clock;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

pub mod cluster;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one test body on a backend, naming it in the output.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(env) =
                    $crate::support::TestEnv::start($crate::support::Backend::Sqlite).await
                {
                    super::$body(&env).await;
                    env.assert_ledger_ok().await;
                    env.finish().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(env) =
                    $crate::support::TestEnv::start($crate::support::Backend::Postgres).await
                {
                    super::$body(&env).await;
                    env.assert_ledger_ok().await;
                    env.finish().await;
                }
            }
        }
    };
}

/// Runs a test body that takes the servers to spread its requests over:
/// on one server on SQLite and on PostgreSQL, and on two `fuelcard serve`
/// processes sharing one PostgreSQL database (as `$name::sqlite`,
/// `$name::postgres` and `$name::postgres_two_processes`). The ledger is
/// checked after each.
#[macro_export]
macro_rules! on_one_and_two_servers {
    ($name:ident, $body:ident) => {
        mod $name {
            use $crate::support::{Backend, TestEnv};

            async fn one_server(backend: Backend) {
                if let Some(env) = TestEnv::start(backend).await {
                    super::$body(&env, std::slice::from_ref(&env.base)).await;
                    env.assert_ledger_ok().await;
                    env.finish().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                one_server(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                one_server(Backend::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_two_processes() {
                let Some(env) = TestEnv::start(Backend::Postgres).await else {
                    return;
                };
                let dir = tempfile::tempdir().expect("a dir");
                let (_servers, bases) = $crate::support::two_processes(&env, &dir).await;
                super::$body(&env, &bases).await;
                env.assert_ledger_ok().await;
                env.finish().await;
            }
        }
    };
}

/// Runs a test body that sets up its own environment (it takes the
/// backend) on SQLite and on PostgreSQL, as `$name::sqlite` and
/// `$name::postgres`.
#[macro_export]
macro_rules! with_each_backend {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::support::Backend::Postgres).await;
            }
        }
    };
}

pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL").or_else(|_| std::env::var("DATABASE_URL")) {
        Ok(url) if url.starts_with("postgres") => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL half must run in CI"
                );
            }
            skipped("PostgreSQL test — set TEST_DATABASE_URL to run it");
            None
        }
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = base.rfind('/').expect("a postgres URL has a path");
    let mut out = format!("{}/{}", &base[..cut], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fresh database of one backend, with its URL.
pub struct FreshDb {
    pub backend: Backend,
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl FreshDb {
    pub async fn create(backend: Backend) -> Option<FreshDb> {
        let name = format!("fuelcard_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(FreshDb {
                    backend,
                    url,
                    admin_url: None,
                    name,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => Some(FreshDb::create_on(&postgres_admin_url()?).await),
        }
    }

    /// A fresh database on the PostgreSQL server that `admin` reaches.
    pub async fn create_on(admin: &str) -> FreshDb {
        let name = format!("fuelcard_test_{}", uuid::Uuid::new_v4().simple());
        let db = Db::connect(admin, 1)
            .await
            .expect("connect to the PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(db.pool())
            .await
            .expect("create a test database");
        db.close().await;
        FreshDb {
            backend: Backend::Postgres,
            url: with_database(admin, &name),
            admin_url: Some(admin.to_string()),
            name,
            _dir: None,
        }
    }

    pub async fn drop_database(&self) {
        if let Some(admin) = &self.admin_url {
            if let Ok(db) = Db::connect(admin, 1).await {
                let _ = sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(db.pool())
                .await;
                db.close().await;
            }
        }
    }
}

/// A running server on a fresh database, with an admin logged in.
pub struct TestEnv {
    pub fresh: FreshDb,
    pub db: Db,
    /// The server's clock.
    pub clock: Clock,
    pub base: String,
    pub client: Client,
    pub admin: String,
    server: tokio::task::JoinHandle<()>,
}

/// The PIN every test opens a company main card with: a counter moves the
/// company's money with it.
pub const MAIN_PIN: &str = "8888";

/// The resident ID number every test person is recorded with.
pub const PERSON_ID: &str = "330102198001011234";

/// The holder's ID document as a counter checks it: the word for closing,
/// replacing or unlocking a test person's card.
pub fn identity() -> Value {
    json!({"document_kind": "resident_id", "document_number": PERSON_ID})
}

/// A car of the fleet tests: 1.6 L, 92# only, a 50 L tank, 8 L/100 km.
pub fn car(plate: &str) -> Value {
    json!({
        "plate": plate, "vehicle_type": "car", "displacement": "1.6", "products": ["92"],
        "tank_capacity": "50", "baseline_l_per_100km": "8"
    })
}

/// A file of the fleet fixtures (`fixtures/fleet/`).
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/fixtures/fleet/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("a fixture file")
}

/// The instant a test server's clock starts at unless the test sets one: a
/// Wednesday morning in the middle of a month in Shanghai, far from
/// midnight, the month's end, the allocation day and the odd-hours window.
pub const TEST_CLOCK: &str = "2026-11-18T10:00:00+08:00";

/// The default settings with the clock started at `instant` (RFC 3339).
pub fn settings_at(instant: &str) -> Settings {
    Settings {
        clock: Clock::parse(instant).expect("an RFC 3339 instant"),
        ..Settings::default()
    }
}

/// The default settings on the test clock.
pub fn settings() -> Settings {
    settings_at(TEST_CLOCK)
}

pub fn test_keys() -> Keys {
    Keys {
        pin: fuelcard::cards::pin::PinKey::new(TEST_PIN_KEY.to_vec()).expect("a key"),
    }
}

impl TestEnv {
    pub async fn start(backend: Backend) -> Option<TestEnv> {
        Self::start_with(backend, settings()).await
    }

    pub async fn start_with(backend: Backend, settings: Settings) -> Option<TestEnv> {
        let fresh = FreshDb::create(backend).await?;
        Some(Self::start_fresh(fresh, settings).await)
    }

    /// A server on a database already created.
    pub async fn start_fresh(fresh: FreshDb, settings: Settings) -> TestEnv {
        Self::start_full(fresh, settings, None).await
    }

    /// A server with a card reader desk (a software card in process, or a
    /// PC/SC reader).
    pub async fn start_with_chip(
        backend: Backend,
        chip: Arc<fuelcard::chip::Desk>,
    ) -> Option<TestEnv> {
        let fresh = FreshDb::create(backend).await?;
        Some(Self::start_full(fresh, settings(), Some(chip)).await)
    }

    pub async fn start_full(
        fresh: FreshDb,
        settings: Settings,
        chip: Option<Arc<fuelcard::chip::Desk>>,
    ) -> TestEnv {
        eprintln!("backend: {:?} ({})", fresh.backend, fresh.url);
        let env = Self::serve(fresh, settings, chip, true).await;
        env.setup_network().await;
        env
    }

    /// The same network on another day: this server stops and another
    /// starts on the same database with its clock reading `instant` now.
    /// Sessions are the new server's: log in again.
    pub async fn on_day(self, instant: &str) -> TestEnv {
        self.server.abort();
        self.db.close().await;
        Self::serve(self.fresh, settings_at(instant), None, false).await
    }

    /// A server on the database, migrated, with the admin (seeded first on
    /// a new database) logged in.
    async fn serve(
        fresh: FreshDb,
        settings: Settings,
        chip: Option<Arc<fuelcard::chip::Desk>>,
        new: bool,
    ) -> TestEnv {
        let db = Db::connect(&fresh.url, 16).await.expect("connect");
        db.migrate().await.expect("migrate");
        let clock = settings.clock;
        if new {
            seed_admin(&db, clock.now_us()).await;
        }
        let state = App {
            db: db.clone(),
            keys: Arc::new(test_keys()),
            settings: Arc::new(settings),
            chip,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router =
            http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let client = Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let base = format!("http://{addr}");
        let admin = login(&client, &base, "admin", "admin-password").await;
        TestEnv {
            fresh,
            db,
            clock,
            base,
            client,
            admin,
            server,
        }
    }

    /// Two stations, 92# at 7.68 with 0.20/L off, and a cashier at S1.
    async fn setup_network(&self) {
        for (code, name) in [("S1", "城东站"), ("S2", "城西站")] {
            let r = self
                .post(
                    &self.admin,
                    "/api/v1/stations",
                    json!({"code": code, "name": name, "district": "东区"}),
                )
                .await;
            assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        }
        let r = self
            .put(
                &self.admin,
                "/api/v1/products/92/price",
                json!({"unit_price": "7.68", "card_discount_per_litre": "0.20"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        self.add_user("cashier1", "cashier", Some("S1"), None).await;
    }

    pub async fn add_user(
        &self,
        username: &str,
        role: &str,
        station: Option<&str>,
        company: Option<i64>,
    ) {
        let r = self
            .post(&self.admin, "/api/v1/users", json!({"username": username, "password": format!("{username}-password"), "role": role, "station": station, "company_id": company}))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }

    /// A user of a district (a district manager).
    pub async fn add_user_in(&self, username: &str, role: &str, district: &str) {
        let r = self
            .post(&self.admin, "/api/v1/users", json!({"username": username, "password": format!("{username}-password"), "role": role, "district": district}))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }

    pub async fn login(&self, username: &str) -> String {
        login(
            &self.client,
            &self.base,
            username,
            &format!("{username}-password"),
        )
        .await
    }

    pub async fn request(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        send(&self.client, &self.base, method, token, path, body, key).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, Some(token), path, None, None)
            .await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, Some(token), path, Some(body), None)
            .await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PUT, Some(token), path, Some(body), None)
            .await
    }

    /// A money request with a fresh Idempotency-Key.
    pub async fn money(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let key = uuid::Uuid::new_v4().to_string();
        self.request(Method::POST, Some(token), path, Some(body), Some(&key))
            .await
    }

    /// A person with a phone and the resident ID [`PERSON_ID`].
    pub async fn new_person(&self, token: &str, name: &str, phone: &str) -> i64 {
        let r = self
            .post(
                token,
                "/api/v1/customers",
                json!({"kind": "person", "name": name, "phone": phone, "id_number": PERSON_ID}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        r.1["id"].as_i64().expect("an id")
    }

    pub async fn new_card(&self, token: &str, body: Value) -> String {
        let r = self.post(token, "/api/v1/cards", body).await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        r.1["number"].as_str().expect("a number").to_string()
    }

    /// A personal card with `amount` recharged in cash at S1 (no promotion).
    pub async fn funded_card(&self, token: &str, amount: &str) -> String {
        self.personal_card(token, "13900000000", None, amount).await
    }

    /// For a load of sales: `count` cards each recharged with `opening`, 95
    /// at 8.00 a litre with no card discount (so a sale's amount is what
    /// the card loses), and a cashier's token.
    pub async fn cards_for_sales(&self, count: usize, opening: &str) -> (String, Vec<String>) {
        let cashier = self.login("cashier1").await;
        let r = self
            .put(
                &self.admin,
                "/api/v1/products/95/price",
                json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        let mut cards = Vec::with_capacity(count);
        for _ in 0..count {
            cards.push(self.funded_card(&cashier, opening).await);
        }
        (cashier, cards)
    }

    /// A personal card of a new person with a PIN, recharged in cash with
    /// `amount` at S1.
    pub async fn pin_card(&self, token: &str, phone: &str, pin: &str, amount: &str) -> String {
        self.personal_card(token, phone, Some(pin), amount).await
    }

    async fn personal_card(
        &self,
        token: &str,
        phone: &str,
        pin: Option<&str>,
        amount: &str,
    ) -> String {
        let holder = self.new_person(token, "测试", phone).await;
        let number = self
            .new_card(
                token,
                json!({"kind": "personal", "customer_id": holder, "pin": pin}),
            )
            .await;
        let r = self
            .money(
                token,
                &format!("/api/v1/cards/{number}/recharges"),
                json!({"amount": amount, "payment_method": "cash"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        number
    }

    /// Locks a card with a PIN the way a guesser does: three sales with
    /// wrong PINs.
    pub async fn lock_with_wrong_pins(&self, token: &str, card: &str) {
        for pin in ["0000", "0001", "0002"] {
            let r = self
                .money(
                    token,
                    "/api/v1/sales",
                    json!({"card_number": card, "product": "92", "litres": "1", "pin": pin}),
                )
                .await;
            assert!(r.0.is_client_error(), "{}", r.1);
        }
        assert_eq!(self.card(card).await["status"], json!("locked"));
    }

    /// A company customer with its fleet manager (`manager`, password
    /// `<manager>-password`) and a main card recharged with `funds` yuan by
    /// transfer: (company id, manager token, main card number).
    pub async fn company(
        &self,
        cashier: &str,
        name: &str,
        manager: &str,
        funds: &str,
    ) -> (i64, String, String) {
        let r = self
            .post(
                cashier,
                "/api/v1/customers",
                json!({"kind": "company", "name": name}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let company = r.1["id"].as_i64().expect("id");
        self.add_user(manager, "fleet_manager", None, Some(company))
            .await;
        let token = self.login(manager).await;
        let main = self
            .new_card(
                cashier,
                json!({"kind": "company_main", "customer_id": company, "pin": MAIN_PIN}),
            )
            .await;
        let r = self
            .money(
                cashier,
                &format!("/api/v1/cards/{main}/recharges"),
                json!({"amount": funds, "payment_method": "transfer"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        (company, token, main)
    }

    /// Registers `vehicle` (the vehicle body, its plate included) for the
    /// company as its fleet manager and opens its fleet card under `main`
    /// at the counter; returns the card number.
    pub async fn fleet_vehicle(
        &self,
        cashier: &str,
        manager: &str,
        company: i64,
        main: &str,
        vehicle: Value,
    ) -> String {
        let r = self
            .post(
                manager,
                &format!("/api/v1/fleet/{company}/vehicles"),
                vehicle.clone(),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        self.new_card(
            cashier,
            json!({"kind": "fleet", "parent_card": main, "parent_pin": MAIN_PIN, "plate": vehicle["plate"]}),
        )
        .await
    }

    /// Puts the fixture company's allocation policy
    /// (`fixtures/fleet/policy.toml`) on `company`, as its fleet manager.
    pub async fn put_fixture_policy(&self, manager: &str, company: i64) {
        let policy: toml::Value = toml::from_str(&fixture("policy.toml")).expect("toml");
        let r = self
            .put(
                manager,
                &format!("/api/v1/fleet/{company}/policy"),
                serde_json::to_value(policy).expect("json"),
            )
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    }

    pub async fn card(&self, number: &str) -> Value {
        let r = self
            .get(&self.admin, &format!("/api/v1/cards/{number}"))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        r.1
    }

    /// Counts rows of a table, to prove a refused request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        count_rows(&self.db, table).await
    }

    pub async fn assert_ledger_ok(&self) {
        let r = self.get(&self.admin, "/api/v1/ledger/check").await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(r.1["ok"], json!(true), "ledger check: {}", r.1);
        assert_eq!(r.1["total_balance"], json!("0.00"));
    }

    pub async fn finish(self) {
        self.server.abort();
        self.db.close().await;
        self.fresh.drop_database().await;
    }
}

async fn seed_admin(db: &Db, now: i64) {
    let mut tx = db.begin_write().await.expect("tx");
    fuelcard::auth::users::create(
        &mut tx,
        &fuelcard::auth::users::NewUser {
            username: "admin",
            password: "admin-password",
            role: fuelcard::auth::Role::Admin,
            station_id: None,
            company_id: None,
            merchant: None,
            district: None,
        },
        now,
    )
    .await
    .expect("seed admin");
    tx.commit().await.expect("commit");
}

/// The rows of a table.
pub async fn count_rows(db: &Db, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await
        .expect("count")
        .try_get("n")
        .expect("n")
}

/// One request to the server at `base`: its status and its body as JSON
/// (a body that is not JSON as a string).
pub async fn send(
    client: &Client,
    base: &str,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let text = resp.text().await.expect("a body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// The demo network as `fuelcard serve --demo` seeds it, served by its own
/// process on a fresh database: what a new user tries things on. Its
/// logins are the demo's (`cashier1` / `cashier1-demo` …); `db` is the
/// test's own connection, to read what the API does not show.
pub struct Demo {
    pub fresh: FreshDb,
    pub db: Db,
    pub clock: Clock,
    pub base: String,
    pub client: Client,
    pub admin: String,
    pub dir: tempfile::TempDir,
    children: Vec<tokio::process::Child>,
}

impl Demo {
    /// The demo network on a backend; `None` (said loudly) without a
    /// PostgreSQL server outside CI.
    pub async fn start(backend: Backend) -> Option<Demo> {
        let fresh = FreshDb::create(backend).await?;
        let dir = tempfile::tempdir().expect("a dir");
        let clock = settings().clock;
        let (child, base) = spawn_demo_server(&fresh.url, &dir.path().join("k"), &clock).await;
        let db = Db::connect(&fresh.url, 2).await.expect("connect");
        let client = Client::new();
        let admin = login(&client, &base, "admin", "admin-demo").await;
        Some(Demo {
            fresh,
            db,
            clock,
            base,
            client,
            admin,
            dir,
            children: vec![child],
        })
    }

    /// A second `fuelcard serve --demo` process on the same database and
    /// key file (the demo is seeded once: the second finds it there); its
    /// address.
    pub async fn second_server(&mut self) -> String {
        let (child, base) =
            spawn_demo_server(&self.fresh.url, &self.dir.path().join("k"), &self.clock).await;
        self.children.push(child);
        base
    }

    /// A demo user's token (the password is the demo's).
    pub async fn login(&self, username: &str) -> String {
        login(
            &self.client,
            &self.base,
            username,
            &format!("{username}-demo"),
        )
        .await
    }

    /// One request; every request but a read carries a fresh
    /// Idempotency-Key, as a till does.
    pub async fn send(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let key = (method != Method::GET).then(|| uuid::Uuid::new_v4().to_string());
        send(
            &self.client,
            &self.base,
            method,
            Some(token),
            path,
            body,
            key.as_deref(),
        )
        .await
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, token, path, Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, token, path, Some(body)).await
    }

    /// Counts rows of a table, to prove a refused request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        count_rows(&self.db, table).await
    }

    /// The ledger check passes: every transfer balances, no account below
    /// its floor, the books sum to zero.
    pub async fn assert_ledger_ok(&self) {
        let r = self.get(&self.admin, "/api/v1/ledger/check").await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(r.1["ok"], json!(true), "ledger check: {}", r.1);
        assert_eq!(r.1["total_balance"], json!("0.00"), "{}", r.1);
    }

    /// Checks the ledger, stops the servers and drops the database.
    pub async fn finish(mut self) {
        self.assert_ledger_ok().await;
        for child in &mut self.children {
            let _ = child.kill().await;
        }
        self.db.close().await;
        self.fresh.drop_database().await;
    }
}

pub async fn login(client: &Client, base: &str, username: &str, password: &str) -> String {
    let resp = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login answers");
    assert_eq!(resp.status(), StatusCode::OK, "login as {username}");
    let v: Value = resp.json().await.expect("json");
    v["token"].as_str().expect("a token").to_string()
}

impl TestEnv {
    /// The server clock's local day, month and minute of the day now.
    pub fn local_now(&self) -> (String, String, u32) {
        let tz = Settings::default().time_zone;
        fuelcard::fleet::local_periods(self.clock.now_us(), tz)
    }

    /// The server clock's month now, `YYYY-MM`.
    pub fn month(&self) -> String {
        self.local_now().1
    }

    /// An hour window that does not contain the server's local time now,
    /// so a test's refuels are never "at odd hours" or inside an allowed
    /// window by chance.
    pub fn closed_hours(&self) -> String {
        let start = (self.local_now().2 / 60 + 2) % 24;
        format!("{:02}:00-{:02}:00", start, (start + 1) % 24)
    }
}

/// Starts `fuelcard serve` as its own process on a database and returns its
/// base URL once it prints that it listens.
/// Its clock starts where `clock` reads now, so it and the test's own
/// server agree on the time.
pub async fn spawn_server(
    url: &str,
    key_file: &std::path::Path,
    clock: &Clock,
) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
        .args([
            "serve",
            "--db",
            url,
            "--listen",
            "127.0.0.1:0",
            "--key-file",
        ])
        .arg(key_file)
        .arg("--clock")
        .arg(clock_arg(clock))
        .env("FUELCARD_PIN_KEY", hex_key())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start fuelcard serve");
    let base = announced_address(&mut child).await;
    (child, base)
}

/// Starts `fuelcard serve --demo` as its own process on a fresh database
/// (the demo network, its key file at `key_file`, its clock where `clock`
/// reads now) and returns its base URL once it listens.
pub async fn spawn_demo_server(
    url: &str,
    key_file: &std::path::Path,
    clock: &Clock,
) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
        .args(["serve", "--demo", "--db", url, "--listen", "127.0.0.1:0"])
        .arg("--key-file")
        .arg(key_file)
        .arg("--clock")
        .arg(clock_arg(clock))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the demo server");
    let base = announced_address(&mut child).await;
    (child, base)
}

/// The base URL a just-started `fuelcard serve` prints on its standard
/// output ("listening on …"), waited for up to a minute.
pub async fn announced_address(child: &mut tokio::process::Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server starts within a minute")
            .expect("read")
            .expect("the server printed its address");
        if let Some(rest) = line.split("listening on ").nth(1) {
            return rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_string();
        }
    }
}

/// The `--clock` argument that starts a server's clock where `clock` reads now.
pub fn clock_arg(clock: &Clock) -> String {
    clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The PIN key of every server a test starts, in process or as its own
/// process, so that a PIN set through one is checked by the others.
const TEST_PIN_KEY: &[u8] = b"test-pin-key-0123456789abcdef";

/// [`TEST_PIN_KEY`] as `FUELCARD_PIN_KEY` takes it.
pub fn hex_key() -> String {
    TEST_PIN_KEY.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything the database holds, as bytes: the SQLite file with its WAL,
/// or `pg_dump` of the PostgreSQL database.
pub async fn dump_database(env: &TestEnv) -> Vec<u8> {
    match env.fresh.backend {
        Backend::Sqlite => {
            let path = env
                .fresh
                .url
                .strip_prefix("sqlite://")
                .expect("a sqlite URL")
                .to_string();
            let mut bytes = std::fs::read(&path).expect("the database file");
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", &env.fresh.url])
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

/// Every issuer key and card key (and each 8-byte half), as raw bytes and
/// as hex in both cases, to search a dump or a log for.
pub fn key_material(
    issuer: &fuelcard_reader::keys::IssuerKeys,
    card: &fuelcard_reader::keys::CardKeys,
) -> Vec<(String, Vec<u8>)> {
    let mut keys: Vec<(String, Vec<u8>)> = issuer
        .to_key_file()
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(name, hex)| (format!("issuer {name} key"), hex::decode(hex).expect("hex")))
        .collect();
    for (name, k) in [
        ("card load key", card.dlk),
        ("card purchase key", card.dpk),
        ("card TAC key", card.dtk),
        ("card PIN-unblock key", card.dpuk),
    ] {
        keys.push((name.to_string(), k.to_vec()));
    }
    let mut out = Vec::new();
    for (name, k) in keys {
        for part in [&k[..], &k[..8], &k[8..]] {
            out.push((name.clone(), part.to_vec()));
            out.push((name.clone(), hex::encode_upper(part).into_bytes()));
            out.push((name.clone(), hex::encode(part).into_bytes()));
        }
    }
    out
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Says loudly that a test skipped: written to the process's standard error
/// directly, past the test harness's capture, so it shows even when the
/// test passes.
pub fn skipped(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {why} ***\n");
}

/// Two `fuelcard serve` processes on the test's database: the children
/// (the servers stop when they are dropped) and their addresses.
pub async fn two_processes(
    env: &TestEnv,
    dir: &tempfile::TempDir,
) -> ([tokio::process::Child; 2], Vec<String>) {
    let key = dir.path().join("k");
    let (a, base_a) = spawn_server(&env.fresh.url, &key, &env.clock).await;
    let (b, base_b) = spawn_server(&env.fresh.url, &key, &env.clock).await;
    ([a, b], vec![base_a, base_b])
}

/// Posts a page form as a browser does: with the page's form token, read
/// from the login page (the first page a client reads also sets the
/// token's cookie).
pub async fn post_form<K: AsRef<str>, V: AsRef<str>>(
    c: &reqwest::Client,
    url: String,
    form: &[(K, V)],
) -> reqwest::Result<reqwest::Response> {
    let origin: String = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let page = html_of(c, format!("{origin}/login")).await;
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's form token")
        .to_string();
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        body.append_pair(k.as_ref(), v.as_ref());
    }
    body.append_pair("csrf", &token);
    c.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
        .send()
        .await
}

/// The text of a page (or a download).
pub async fn html_of(c: &reqwest::Client, url: String) -> String {
    c.get(url)
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("html")
}

/// A page session at `base` that keeps its cookie and sees each redirect,
/// logged in through the login form.
pub async fn page_session(base: &str, username: &str, password: &str) -> Client {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let r = post_form(
        &c,
        format!("{base}/login"),
        &[("username", username), ("password", password)],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{username} logs in");
    c
}

/// Posts a page's form at `base`: the status, where it sends the browser,
/// the page.
pub async fn page_submit(
    c: &Client,
    base: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let r = post_form(c, format!("{base}{path}"), form)
        .await
        .expect("answer");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location, r.text().await.expect("html"))
}
