//! The whole chip story through the real PC/SC stack: the `fuelcard serve`
//! binary talks to pcscd, pcscd to the vpcd virtual reader, and a software
//! card sits in that reader exactly as a card in a CCID reader would.
//! Afterwards no key material may be found in the database, the server's
//! debug log or any API answer.
//!
//! Slot 0 (`Virtual PCD 00 00`, port 35963) belongs to these tests; the
//! reader crate's own tests use slot 1.

use std::process::Stdio;
use std::time::Duration;

use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::IssuerKeys;
use fuelcard_reader::pcsc_reader::Pcsc;
use fuelcard_reader::transport::{Applet, Power};
use fuelcard_reader::vpcd::VirtualCard;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv, contains, key_material};

const READER: &str = "Virtual PCD 00 00";
const PORT: u16 = 35963;
const WAIT: Duration = Duration::from_secs(10);

/// One test at a time in the slot.
static SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// pcscd with the virtual reader, or `None` after a loud message; under
/// `CI=true` its absence is a failure.
fn pcscd() -> Option<Pcsc> {
    let found = Pcsc::establish().and_then(|p| p.find_reader(READER).map(|_| p));
    match found {
        Ok(p) => Some(p),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true: pcscd with the virtual reader is required: {e}")
        }
        Err(e) => {
            crate::support::skipped(&format!(
                "chip test through PC/SC — no pcscd with vpcd ({e}); run reader/scripts/pcscd-up.sh"
            ));
            None
        }
    }
}

/// `fuelcard serve` on the test's database with the virtual reader and the
/// issuer key file, on the clock of the test's own server; its log (debug
/// level) goes to `log`.
async fn serve_with_reader(
    url: &str,
    dir: &std::path::Path,
    log: &std::path::Path,
    clock: &fuelcard::time::Clock,
) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fuelcard"))
        .args([
            "serve",
            "--db",
            url,
            "--listen",
            "127.0.0.1:0",
            "--reader",
            READER,
        ])
        .arg("--issuer-keys")
        .arg(dir.join("issuer-keys"))
        .arg("--key-file")
        .arg(dir.join("pin-key"))
        .arg("--clock")
        .arg(crate::support::clock_arg(clock))
        .env("FUELCARD_PIN_KEY", crate::support::hex_key())
        .env("RUST_LOG", "debug,fuelcard_reader=trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("a log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start fuelcard serve");
    let base = crate::support::announced_address(&mut child).await;
    (child, base)
}

/// The software card in the slot, with a hand that can pull it the moment
/// CREDIT FOR LOAD arrives (the card leaves without acting on it).
struct Hand {
    card: SoftwareCard,
    pull_at_credit: bool,
}

impl Applet for Hand {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power(&mut self, event: Power) {
        self.card.power(event);
    }
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        if self.pull_at_credit && command.get(1) == Some(&0x52) {
            self.pull_at_credit = false;
            // An empty answer: vpcd sees the card leave mid-command.
            return Vec::new();
        }
        self.card.process(command)
    }
}

/// A counter: the `fuelcard serve` binary with the virtual reader, a blank
/// software card in it, and a cashier's card with 500.00 on its account.
struct Counter {
    env: TestEnv,
    pcsc: Pcsc,
    _server: tokio::process::Child,
    base: String,
    cashier: String,
    number: String,
    card: VirtualCard<Hand>,
    issuer: IssuerKeys,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Counter {
    async fn open(backend: Backend) -> Option<Counter> {
        let pcsc = pcscd()?;
        let env = TestEnv::start(backend).await?;
        let dir = tempfile::tempdir().expect("dir");
        let issuer = IssuerKeys::generate();
        std::fs::write(dir.path().join("issuer-keys"), issuer.to_key_file()).expect("key file");
        let log = dir.path().join("server.log");
        let (server, base) = serve_with_reader(&env.fresh.url, dir.path(), &log, &env.clock).await;
        pcsc.wait_for_removal(READER, WAIT)
            .expect("the slot is empty");
        let hand = Hand {
            card: SoftwareCard::blank_in_memory(),
            pull_at_credit: false,
        };
        let mut card = VirtualCard::new(hand, PORT);
        card.insert().expect("vpcd takes the card");
        pcsc.wait_for_card(READER, WAIT)
            .expect("pcscd reports the card");
        let readers = pcsc.readers().expect("readers");
        assert!(readers.iter().any(|r| r == READER), "{readers:?}");
        let cashier =
            crate::support::login(&env.client, &base, "cashier1", "cashier1-password").await;
        let number = env.funded_card(&cashier, "500").await;
        Some(Counter {
            env,
            pcsc,
            _server: server,
            base,
            cashier,
            number,
            card,
            issuer,
            log,
            _dir: dir,
        })
    }
}

async fn through_pcsc(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(mut counter) = Counter::open(backend).await else {
        return;
    };
    let Counter {
        env,
        base,
        cashier,
        number,
        card,
        issuer,
        log,
        ..
    } = &mut counter;
    let mut answers = Vec::new();
    let mut call = async |path: &str, body: Value, key: Option<&str>| -> (StatusCode, Value) {
        let mut req = env
            .client
            .request(Method::POST, format!("{base}{path}"))
            .bearer_auth(&cashier)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        answers.extend_from_slice(text.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    };

    let r = call(
        "/api/v1/chip/personalise",
        json!({"card_number": number, "pin": "123456"}),
        None,
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = call("/api/v1/chip/read", json!({}), None).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        r.1["card_number"],
        json!(number),
        "the reader reads the card"
    );
    assert_eq!(r.1["holder"], json!("测试"));

    let key = uuid::Uuid::new_v4().to_string();
    let r = call(
        "/api/v1/chip/loads",
        json!({"card_number": number, "amount": "100.00"}),
        Some(&key),
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["chip_balance"], json!("100.00"));

    let wrong = call(
        "/api/v1/chip/fills",
        json!({"card_number": number, "pin": "999999", "product": "92"}),
        None,
    )
    .await;
    assert_eq!(wrong.1["code"], json!("wrong_pin"), "{}", wrong.1);
    let fill = call(
        "/api/v1/chip/fills",
        json!({"card_number": number, "pin": "123456", "product": "92"}),
        None,
    )
    .await;
    assert_eq!(fill.0, StatusCode::CREATED, "{}", fill.1);
    let id = fill.1["id"].as_i64().expect("fill id");
    let done = call(
        &format!("/api/v1/chip/fills/{id}/finish"),
        json!({"amount": "30.00"}),
        None,
    )
    .await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    assert_eq!(done.1["status"], json!("settled"), "{}", done.1);

    let view = call("/api/v1/chip/read", json!({"card_number": number}), None).await;
    assert_eq!(view.1["chip_balance"], json!("70.00"), "{}", view.1);
    assert_eq!(view.1["host_chip_balance"], json!("70.00"));
    assert_eq!(view.1["agree"], json!(true));
    assert_eq!(view.1["grey"], json!("clear"));
    assert_eq!(
        card.applet().card.balance_fen(),
        7000,
        "the card itself holds 70.00"
    );
    env.assert_ledger_ok().await;

    // No key material in the database, the server's debug log or the API.
    let asn8: [u8; 8] = hex::decode(&number)
        .expect("digits")
        .try_into()
        .expect("8 bytes");
    let card_keys = issuer.card_keys(asn8);
    let dump = crate::support::dump_database(env).await;
    let server_log = std::fs::read(&log).expect("the log");
    assert!(!server_log.is_empty(), "the server logged at debug level");
    for (what, k) in key_material(issuer, &card_keys) {
        assert!(!contains(&dump, &k), "{what} in the database");
        assert!(!contains(&server_log, &k), "{what} in the server log");
        assert!(!contains(&answers, &k), "{what} in an API answer");
    }
    card.remove().expect("pull the card");
    counter.env.finish().await;
}

/// A load torn through the real stack: the card leaves the reader when
/// CREDIT FOR LOAD arrives. The service answers `chip_pending`; once the
/// card is back, reading it undoes the load on the host, so chip and host
/// agree and the 100.00 exists once — still on the card's account.
async fn torn_load_through_pcsc(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(mut c) = Counter::open(backend).await else {
        return;
    };
    let post = async |c: &Counter, path: &str, body: Value, key: Option<&str>| {
        let mut req = c
            .env
            .client
            .request(Method::POST, format!("{}{path}", c.base))
            .bearer_auth(&c.cashier)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let v: Value = resp.json().await.expect("json");
        (status, v)
    };
    let n = c.number.clone();
    let r = post(
        &c,
        "/api/v1/chip/personalise",
        json!({"card_number": n, "pin": "123456"}),
        None,
    )
    .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    c.card.applet().pull_at_credit = true;
    let key = uuid::Uuid::new_v4().to_string();
    let r = post(
        &c,
        "/api/v1/chip/loads",
        json!({"card_number": n, "amount": "100.00"}),
        Some(&key),
    )
    .await;
    assert_eq!(r.1["code"], json!("chip_pending"), "{}", r.1);
    c.pcsc
        .wait_for_removal(READER, WAIT)
        .expect("pcscd sees the card gone");
    c.card.remove().expect("the card is out");
    c.card.insert().expect("the card goes back in");
    c.pcsc
        .wait_for_card(READER, WAIT)
        .expect("pcscd sees the card back");
    let v = post(&c, "/api/v1/chip/read", json!({"card_number": n}), None).await;
    assert_eq!(v.0, StatusCode::OK, "{}", v.1);
    assert_eq!(v.1["settled"][0]["outcome"], json!("reversed"), "{}", v.1);
    assert_eq!(v.1["chip_balance"], json!("0.00"));
    assert_eq!(v.1["agree"], json!(true));
    assert_eq!(v.1["host_balance"], json!("500.00"));
    assert_eq!(c.card.applet().card.balance_fen(), 0);
    let r = post(
        &c,
        "/api/v1/chip/loads",
        json!({"card_number": n, "amount": "100.00"}),
        Some(&key),
    )
    .await;
    assert_eq!(
        r.0,
        StatusCode::CREATED,
        "the same request, retried, now loads: {}",
        r.1
    );
    assert_eq!(c.card.applet().card.balance_fen(), 10_000);
    c.env.assert_ledger_ok().await;
    c.card.remove().expect("pull the card");
    c.env.finish().await;
}

crate::with_each_backend!(chip_torn_load_through_pcsc, torn_load_through_pcsc);

crate::with_each_backend!(chip_through_pcsc, through_pcsc);
