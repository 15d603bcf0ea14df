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
use fuelcard_reader::keys::{IssuerKeys, SoftwareKeyService, Stamp};
use fuelcard_reader::pcsc_reader::{Pcsc, PcscCard};
use fuelcard_reader::purse::{DEFAULT_AID, GreyFlag, PublicData, Purse, flows};
use fuelcard_reader::transport::{Applet, Power, Transport as _};
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

/// When the hand pulls the card: as a command with this INS arrives, before
/// the card acts on it, or after it has acted (its answer lost).
#[derive(Clone, Copy)]
enum Pull {
    Before(u8),
    After(u8),
}

const INITIALIZE: u8 = 0x50;
const CREDIT_FOR_LOAD: u8 = 0x52;
const GREY_LOCK: u8 = 0x7C;

/// The software card in the slot, with a hand that can pull it at a chosen
/// command, and that notes every command the card receives.
struct Hand {
    card: SoftwareCard,
    pull: Option<Pull>,
    /// INS and P1 of every command the card received, in order.
    seen: Vec<(u8, u8)>,
    /// Told when INITIALIZE FOR LOAD arrives; the card then answers only
    /// after a pause, so that another program's command sent meanwhile
    /// would reach it before CREDIT FOR LOAD.
    at_load_init: Option<std::sync::mpsc::Sender<()>>,
}

impl Applet for Hand {
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power(&mut self, event: Power) {
        self.card.power(event);
    }
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let (ins, p1) = (command.get(1).copied(), command.get(2).copied());
        if let (Some(ins), Some(p1)) = (ins, p1) {
            self.seen.push((ins, p1));
        }
        match self.pull {
            // An empty answer: vpcd sees the card leave mid-command.
            Some(Pull::Before(i)) if Some(i) == ins => {
                self.pull = None;
                return Vec::new();
            }
            Some(Pull::After(i)) if Some(i) == ins => {
                self.pull = None;
                self.card.process(command);
                return Vec::new();
            }
            _ => {}
        }
        if (ins, p1) == (Some(INITIALIZE), Some(0x00))
            && let Some(told) = self.at_load_init.take()
        {
            let _ = told.send(());
            std::thread::sleep(Duration::from_millis(500));
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
            pull: None,
            seen: Vec::new(),
            at_load_init: None,
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

impl Counter {
    /// A cashier's POST, with an idempotency key when given.
    async fn post(&self, path: &str, body: Value, key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .env
            .client
            .request(Method::POST, format!("{}{path}", self.base))
            .bearer_auth(&self.cashier)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let v: Value = resp.json().await.expect("json");
        (status, v)
    }

    /// Writes the chip (PIN 123456) and loads `amount` onto it.
    async fn written_and_loaded(&self, amount: &str) {
        let n = &self.number;
        let r = self
            .post(
                "/api/v1/chip/personalise",
                json!({"card_number": n, "pin": "123456"}),
                None,
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let key = uuid::Uuid::new_v4().to_string();
        let r = self
            .post(
                "/api/v1/chip/loads",
                json!({"card_number": n, "amount": amount}),
                Some(&key),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }

    /// The card the hand pulled goes back into the reader.
    fn put_back(&mut self) {
        self.pcsc
            .wait_for_removal(READER, WAIT)
            .expect("pcscd sees the card gone");
        self.card.remove().expect("the card is out");
        self.card.insert().expect("the card goes back in");
        self.pcsc
            .wait_for_card(READER, WAIT)
            .expect("pcscd sees the card back");
    }

    /// Reads the card at the counter; chip and host must agree.
    async fn read_agreeing(&self) -> Value {
        let v = self
            .post(
                "/api/v1/chip/read",
                json!({"card_number": self.number}),
                None,
            )
            .await;
        assert_eq!(v.0, StatusCode::OK, "{}", v.1);
        assert_eq!(v.1["agree"], json!(true), "{}", v.1);
        v.1
    }

    /// The card's grey status asked by another terminal, not the service.
    fn grey_flag(&self) -> GreyFlag {
        self.at_terminal(|purse| purse.grey_status().expect("GET GREY STATUS").flag)
    }

    /// Another terminal works the card through PC/SC, holding it alone,
    /// with the application selected.
    fn at_terminal<R>(&self, work: impl FnOnce(&mut Purse<'_>) -> R) -> R {
        let mut card = PcscCard::connect(READER).expect("connect");
        let mut tx = card.transaction().expect("the card to ourselves");
        let mut purse = Purse::new(&mut tx);
        purse.select(&DEFAULT_AID).expect("select");
        work(&mut purse)
    }

    /// A pump (terminal 0A0B0C0D0E0F, its counter at `ttc`) works the card
    /// with its PIN verified, under the issuer's keys.
    fn at_pump<R>(
        &self,
        ttc: u32,
        work: impl FnOnce(&mut Purse<'_>, &SoftwareKeyService, &PublicData, &flows::Terminal) -> R,
    ) -> R {
        let keys = SoftwareKeyService::new(self.issuer.clone());
        self.at_terminal(|purse| {
            let public = purse.read_public().expect("public");
            purse.verify_pin("123456").expect("pin");
            let at = flows::Terminal {
                id: [0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F],
                ttc,
                stamp: Stamp::new(2026, 11, 23, 10, 15, 0).expect("stamp"),
            };
            work(purse, &keys, &public, &at)
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
    let n = c.number.clone();
    let r = c
        .post(
            "/api/v1/chip/personalise",
            json!({"card_number": n, "pin": "123456"}),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    c.card.applet().pull = Some(Pull::Before(CREDIT_FOR_LOAD));
    let key = uuid::Uuid::new_v4().to_string();
    let load = json!({"card_number": n, "amount": "100.00"});
    let r = c.post("/api/v1/chip/loads", load.clone(), Some(&key)).await;
    assert_eq!(r.1["code"], json!("chip_pending"), "{}", r.1);
    c.put_back();
    let v = c.read_agreeing().await;
    assert_eq!(v["settled"][0]["outcome"], json!("reversed"), "{v}");
    assert_eq!(v["chip_balance"], json!("0.00"));
    assert_eq!(v["host_balance"], json!("500.00"));
    assert_eq!(c.card.applet().card.balance_fen(), 0);
    let r = c.post("/api/v1/chip/loads", load, Some(&key)).await;
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

/// A fill the host refuses (an unknown product, a wrong PIN) leaves the
/// card as it was: another terminal finds it unlocked.
async fn refused_fill_leaves_the_card_unlocked(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(c) = Counter::open(backend).await else {
        return;
    };
    c.written_and_loaded("100.00").await;
    let n = &c.number;
    for (body, code) in [
        (
            json!({"card_number": n, "pin": "123456", "product": "no-such-fuel"}),
            "product_not_found",
        ),
        (
            json!({"card_number": n, "pin": "999999", "product": "92"}),
            "wrong_pin",
        ),
    ] {
        let r = c.post("/api/v1/chip/fills", body, None).await;
        assert_eq!(r.1["code"], json!(code), "{}", r.1);
        assert_eq!(c.grey_flag(), GreyFlag::Clear, "after {code}");
    }
    let v = c.read_agreeing().await;
    assert_eq!(v["grey"], json!("clear"), "{v}");
    assert_eq!(v["chip_balance"], json!("100.00"));
    c.env.assert_ledger_ok().await;
    c.env.finish().await;
}

/// A card pulled as GREY LOCK reaches it: the counter was told the fill
/// failed, so no pump ran. Locked by then, the next read releases it with
/// a zero debit; not locked, the fill is voided. Either way the card loads
/// again and chip and host agree. A lock the host has no fill for (made by
/// another terminal) is released the same way.
async fn torn_grey_lock_settles_at_the_next_read(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(mut c) = Counter::open(backend).await else {
        return;
    };
    c.written_and_loaded("100.00").await;
    let fill = json!({"card_number": c.number, "pin": "123456", "product": "92"});

    // The card takes the lock; its answer is lost.
    c.card.applet().pull = Some(Pull::After(GREY_LOCK));
    let r = c.post("/api/v1/chip/fills", fill.clone(), None).await;
    assert_eq!(r.1["code"], json!("chip_pending"), "{}", r.1);
    c.put_back();
    assert_eq!(c.grey_flag(), GreyFlag::Locked, "the card did lock");
    let v = c.read_agreeing().await;
    assert_eq!(
        (
            &v["settled"][0]["kind"],
            &v["settled"][0]["outcome"],
            &v["settled"][0]["amount"]
        ),
        (&json!("fill"), &json!("settled"), &json!("0.00")),
        "{v}"
    );
    assert_eq!(v["grey"], json!("clear"), "{v}");
    assert_eq!(v["chip_balance"], json!("100.00"));
    assert_eq!(c.grey_flag(), GreyFlag::Clear);

    // The card is pulled before GREY LOCK reaches it: nothing was locked.
    c.card.applet().pull = Some(Pull::Before(GREY_LOCK));
    let r = c.post("/api/v1/chip/fills", fill, None).await;
    assert_eq!(r.1["code"], json!("chip_pending"), "{}", r.1);
    c.put_back();
    let v = c.read_agreeing().await;
    assert_eq!(v["settled"][0]["outcome"], json!("voided"), "{v}");
    assert_eq!(v["chip_balance"], json!("100.00"));

    // Another terminal locks the card; the host has no fill for it.
    c.at_pump(41, |purse, keys, public, at| {
        flows::grey_lock(purse, keys, public, at).expect("locked elsewhere");
    });
    let v = c.read_agreeing().await;
    assert_eq!(
        (&v["settled"][0]["kind"], &v["settled"][0]["outcome"]),
        (&json!("lock"), &json!("released")),
        "{v}"
    );
    assert_eq!(c.grey_flag(), GreyFlag::Clear);

    let key = uuid::Uuid::new_v4().to_string();
    let r = c
        .post(
            "/api/v1/chip/loads",
            json!({"card_number": c.number, "amount": "50.00"}),
            Some(&key),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "the card loads again: {}", r.1);
    assert_eq!(r.1["chip_balance"], json!("150.00"));
    assert_eq!(c.card.applet().card.balance_fen(), 15_000);
    c.env.assert_ledger_ok().await;
    c.card.remove().expect("pull the card");
    c.env.finish().await;
}

/// One genuine pump purchase uploaded under two offline counters (the TAC
/// does not sign the counter) posts once, and the duplicate answers with
/// the first posting, whatever amount it claims.
async fn one_pump_purchase_posts_once(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(c) = Counter::open(backend).await else {
        return;
    };
    c.written_and_loaded("444.50").await;
    let receipt = c.at_pump(257, |purse, keys, public, at| {
        flows::purchase(purse, keys, public, 1234, at).expect("a pump purchase")
    });
    let k = receipt.context;
    let record = |offline_ttc: u16, amount: &str| {
        json!({
            "card_number": c.number,
            "terminal": "0A0B0C0D0E0F",
            "terminal_ttc": k.terminal_ttc,
            "offline_ttc": offline_ttc,
            "amount": amount,
            "txn_type": k.txn_type,
            "time": "20261123101500",
            "tac": hex::encode_upper(receipt.tac),
        })
    };
    let r = c
        .env
        .request(
            Method::PUT,
            Some(&c.env.admin),
            "/api/v1/stations/S1/terminals/0A0B0C0D0E0F",
            None,
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "the pump is S1's: {}", r.1);
    let first = c
        .post(
            "/api/v1/chip/purchases",
            record(k.offline_ttc, "12.34"),
            None,
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    for (offline_ttc, amount) in [(k.offline_ttc + 7, "12.34"), (10, "99.00")] {
        let again = c
            .post("/api/v1/chip/purchases", record(offline_ttc, amount), None)
            .await;
        assert_eq!(again.0, StatusCode::OK, "{}", again.1);
        assert_eq!(
            (&again.1["status"], &again.1["id"], &again.1["amount"]),
            (&json!("duplicate"), &first.1["id"], &json!("12.34")),
            "the first posting"
        );
    }
    let v = c.read_agreeing().await;
    assert_eq!(v["chip_balance"], json!("432.16"), "{v}");
    c.env.assert_ledger_ok().await;
    c.env.finish().await;
}

/// Another PC/SC program sends the card a SELECT while the service's load
/// is between INITIALIZE FOR LOAD and CREDIT FOR LOAD. The service holds
/// the card in a PC/SC transaction, so the SELECT waits and the load
/// completes: the card sees CREDIT right after INITIALIZE.
async fn a_second_program_cannot_break_a_load(backend: Backend) {
    let _slot = SLOT.lock().await;
    let Some(c) = Counter::open(backend).await else {
        return;
    };
    let n = c.number.clone();
    let r = c
        .post(
            "/api/v1/chip/personalise",
            json!({"card_number": n, "pin": "123456"}),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let (told, at_init) = std::sync::mpsc::channel();
    c.card.applet().at_load_init = Some(told);
    let other = std::thread::spawn(move || {
        at_init
            .recv_timeout(WAIT)
            .expect("the load reaches INITIALIZE");
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00];
        select.push(0x00);
        PcscCard::connect(READER).and_then(|mut card| Ok(card.transmit(&select)?))
    });
    let key = uuid::Uuid::new_v4().to_string();
    let r = c
        .post(
            "/api/v1/chip/loads",
            json!({"card_number": n, "amount": "100.00"}),
            Some(&key),
        )
        .await;
    let other = other.join().expect("the other program ends");
    assert_eq!(
        r.0,
        StatusCode::CREATED,
        "{} (the other program: {other:?})",
        r.1
    );
    let seen = c.card.applet().seen.clone();
    let init = seen
        .iter()
        .position(|s| *s == (INITIALIZE, 0x00))
        .expect("INITIALIZE FOR LOAD reached the card");
    assert_eq!(
        seen.get(init + 1).map(|s| s.0),
        Some(CREDIT_FOR_LOAD),
        "nothing between INITIALIZE and CREDIT: {seen:02X?}"
    );
    assert_eq!(c.card.applet().card.balance_fen(), 10_000);
    c.env.assert_ledger_ok().await;
    c.env.finish().await;
}

crate::with_each_backend!(
    chip_refused_fill_through_pcsc,
    refused_fill_leaves_the_card_unlocked
);

crate::with_each_backend!(
    chip_torn_grey_lock_through_pcsc,
    torn_grey_lock_settles_at_the_next_read
);

crate::with_each_backend!(
    chip_pump_upload_once_through_pcsc,
    one_pump_purchase_posts_once
);

crate::with_each_backend!(
    chip_exclusive_load_through_pcsc,
    a_second_program_cannot_break_a_load
);

crate::with_each_backend!(chip_torn_load_through_pcsc, torn_load_through_pcsc);

crate::with_each_backend!(chip_through_pcsc, through_pcsc);
