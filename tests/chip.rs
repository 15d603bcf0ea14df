//! The card's chip at the counter, with a software card in the service's
//! process: personalise, load, fuel under grey lock, settle torn loads and
//! grey cards on the next read, upload pump purchases with their TAC — the
//! chip and the host agreeing after every step, on both backends.

use std::sync::{Arc, Mutex};

use fuelcard::chip::{Desk, Slot};
use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::{IssuerKeys, SoftwareKeyService, Stamp};
use fuelcard_reader::purse::{self, Purse};
use fuelcard_reader::transport::{InProcess, Transport, TransportError};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv};

type Card = Arc<Mutex<InProcess<SoftwareCard>>>;

/// When the test pulls the card: right before the card sees a command with
/// this INS, or right after it has processed it (its answer lost).
#[derive(Clone, Copy)]
enum Pull {
    Before(u8),
    After(u8),
}

/// The counter's slot with a hand that can pull the card at a chosen
/// command, as a customer does.
struct Hand {
    card: Card,
    pull: Mutex<Option<Pull>>,
}

/// The card, as the desk transmits to it through the hand.
struct Held<'a> {
    card: &'a mut InProcess<SoftwareCard>,
    pull: &'a Mutex<Option<Pull>>,
}

impl Transport for Held<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let ins = command.get(1).copied();
        let plan = *self.pull.lock().expect("plan");
        match plan {
            Some(Pull::Before(i)) if Some(i) == ins => {
                *self.pull.lock().expect("plan") = None;
                self.card.remove();
                Err(TransportError::CardRemoved)
            }
            Some(Pull::After(i)) if Some(i) == ins => {
                *self.pull.lock().expect("plan") = None;
                self.card.tear_after(1);
                self.card.transmit(command)
            }
            _ => self.card.transmit(command),
        }
    }
}

impl Slot for Hand {
    fn hold(&self, work: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError> {
        let mut card = self.card.lock().expect("card");
        if !card.is_present() {
            return Err(TransportError::NoCard);
        }
        work(&mut Held {
            card: &mut card,
            pull: &self.pull,
        });
        Ok(())
    }
}

struct Rig {
    env: TestEnv,
    card: Card,
    hand: Arc<Hand>,
    keys: IssuerKeys,
}

/// The slot as the desk sees it, shared with the test's hand.
struct SharedHand(Arc<Hand>);

impl Slot for SharedHand {
    fn hold(&self, work: &mut dyn FnMut(&mut dyn Transport)) -> Result<(), TransportError> {
        self.0.hold(work)
    }
}

async fn rig(backend: Backend) -> Option<Rig> {
    let keys = IssuerKeys::generate();
    let card: Card = Arc::new(Mutex::new(InProcess::new(SoftwareCard::blank_in_memory())));
    let hand = Arc::new(Hand {
        card: card.clone(),
        pull: Mutex::new(None),
    });
    let desk = Desk {
        slot: Box::new(SharedHand(hand.clone())),
        keys: Arc::new(SoftwareKeyService::new(keys.clone())),
        terminal: [0x01, 0, 0, 0, 0, 0x01],
        aid: purse::DEFAULT_AID.to_vec(),
    };
    let env = TestEnv::start_with_chip(backend, Arc::new(desk)).await?;
    Some(Rig {
        env,
        card,
        hand,
        keys,
    })
}

impl Rig {
    fn pull_at(&self, p: Pull) {
        *self.hand.pull.lock().expect("plan") = Some(p);
    }

    fn reinsert(&self) {
        self.card.lock().expect("card").insert();
    }

    fn remove(&self) {
        self.card.lock().expect("card").remove();
    }

    /// A host card with 500.00 and its chip written, PIN 123456.
    async fn issued(&self, cashier: &str) -> String {
        let number = self.env.funded_card(cashier, "500").await;
        let r = self
            .env
            .post(
                cashier,
                "/api/v1/chip/personalise",
                json!({"card_number": number, "pin": "123456"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        assert_eq!(r.1["chip_balance"], json!("0.00"));
        number
    }

    async fn read(&self, cashier: &str, number: &str) -> Value {
        let r = self
            .env
            .post(cashier, "/api/v1/chip/read", json!({"card_number": number}))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        r.1
    }

    async fn load(
        &self,
        cashier: &str,
        number: &str,
        amount: &str,
        key: &str,
    ) -> (StatusCode, Value) {
        self.env
            .request(
                Method::POST,
                Some(cashier),
                "/api/v1/chip/loads",
                Some(json!({"card_number": number, "amount": amount})),
                Some(key),
            )
            .await
    }

    async fn assert_agree(&self, cashier: &str, number: &str, chip: &str, host: &str) {
        let v = self.read(cashier, number).await;
        assert_eq!(v["chip_balance"], json!(chip), "{v}");
        assert_eq!(v["host_chip_balance"], json!(chip), "{v}");
        assert_eq!(v["agree"], json!(true), "{v}");
        assert_eq!(v["host_balance"], json!(host), "{v}");
        let software = self.card.lock().expect("card").applet().balance_fen();
        assert_eq!(format!("{:.2}", f64::from(software) / 100.0), chip);
    }
}

async fn load_and_fuel(backend: Backend) {
    let Some(rig) = rig(backend).await else {
        return;
    };
    let env = &rig.env;
    let cashier = env.login("cashier1").await;
    let number = rig.issued(&cashier).await;

    let key = uuid::Uuid::new_v4().to_string();
    let r = rig.load(&cashier, &number, "100.00", &key).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["chip_balance"], json!("100.00"));
    assert_eq!(r.1["host_balance"], json!("400.00"));
    let again = rig.load(&cashier, &number, "100.00", &key).await;
    assert_eq!(
        again, r,
        "a replayed load answers the same and loads nothing"
    );
    rig.assert_agree(&cashier, &number, "100.00", "400.00")
        .await;

    // A fill the host refuses leaves the card as it was: not grey-locked
    // (its balance would be frozen with no fill to finish it), and no PIN
    // try spent.
    for (token, body, code) in [
        (
            &cashier,
            json!({"card_number": number, "pin": "123456", "product": "99"}),
            "product_not_found",
        ),
        (
            &env.admin,
            json!({"card_number": number, "pin": "123456", "product": "92"}),
            "station_required",
        ),
    ] {
        let r = env.post(token, "/api/v1/chip/fills", body).await;
        assert_eq!(r.1["code"], json!(code), "{}", r.1);
        let v = rig.read(&cashier, &number).await;
        assert_eq!(v["grey"], json!("clear"), "after {code}: {v}");
    }

    // Wrong PIN: the chip counts the tries.
    let wrong = env
        .post(
            &cashier,
            "/api/v1/chip/fills",
            json!({"card_number": number, "pin": "000000", "product": "92"}),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED, "{}", wrong.1);
    assert_eq!(wrong.1["code"], json!("wrong_pin"));
    assert_eq!(wrong.1["tries_left"], json!(2));

    assert_eq!(new_customers(env).await, 0, "opened, never refuelled");
    let fill = env
        .post(
            &cashier,
            "/api/v1/chip/fills",
            json!({"card_number": number, "pin": "123456", "product": "92"}),
        )
        .await;
    assert_eq!(fill.0, StatusCode::CREATED, "{}", fill.1);
    assert_eq!(fill.1["locked"], json!("100.00"));
    let id = fill.1["id"].as_i64().expect("fill id");
    let grey = rig.read(&cashier, &number).await;
    assert_eq!(grey["grey"], json!("locked"));

    let done = env
        .post(
            &cashier,
            &format!("/api/v1/chip/fills/{id}/finish"),
            json!({"amount": "30.00"}),
        )
        .await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    assert_eq!(done.1["status"], json!("settled"));
    assert_eq!(done.1["chip_balance"], json!("70.00"));
    let twice = env
        .post(
            &cashier,
            &format!("/api/v1/chip/fills/{id}/finish"),
            json!({"amount": "30.00"}),
        )
        .await;
    assert_eq!(twice.1["code"], json!("chip_fill_settled"), "{}", twice.1);
    assert_eq!(
        new_customers(env).await,
        1,
        "a settled fill is a refuel: the new customer counts"
    );
    rig.assert_agree(&cashier, &number, "70.00", "400.00").await;
    let chip = chip_day(env, &cashier).await;
    assert_eq!(chip["fills"], json!(1), "{chip}");
    assert_eq!(chip["fills_amount"], json!("30.00"), "{chip}");
    assert_eq!(chip["grey"], json!(0), "{chip}");
    env.assert_ledger_ok().await;
    assert_no_keys_in_database(&rig, &number).await;
    rig.env.finish().await;
}

async fn torn_loads(backend: Backend) {
    let Some(rig) = rig(backend).await else {
        return;
    };
    let env = &rig.env;
    let cashier = env.login("cashier1").await;
    let number = rig.issued(&cashier).await;

    // Pulled after INITIALIZE FOR LOAD, before CREDIT: nothing reached the
    // chip, so the next read undoes the load on the host.
    rig.pull_at(Pull::Before(0x52));
    let key = uuid::Uuid::new_v4().to_string();
    let r = rig.load(&cashier, &number, "100.00", &key).await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("chip_pending"));
    assert_eq!(
        env.card(&number).await["balance"],
        json!("400.00"),
        "held meanwhile"
    );
    rig.reinsert();
    let v = rig.read(&cashier, &number).await;
    assert_eq!(v["settled"][0]["outcome"], json!("reversed"), "{v}");
    rig.assert_agree(&cashier, &number, "0.00", "500.00").await;
    // The key is free again: the same request now loads.
    let r = rig.load(&cashier, &number, "100.00", &key).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    // Pulled after the card credited, its TAC lost: the next read finds
    // the card's proof and completes the load, once.
    rig.pull_at(Pull::After(0x52));
    let key = uuid::Uuid::new_v4().to_string();
    let r = rig.load(&cashier, &number, "50.00", &key).await;
    assert_eq!(r.1["code"], json!("chip_pending"), "{}", r.1);
    rig.reinsert();
    let v = rig.read(&cashier, &number).await;
    assert_eq!(v["settled"][0]["outcome"], json!("loaded"), "{v}");
    rig.assert_agree(&cashier, &number, "150.00", "350.00")
        .await;
    let v = rig.read(&cashier, &number).await;
    assert_eq!(v["settled"], json!([]), "settled once");
    let replay = rig.load(&cashier, &number, "50.00", &key).await;
    assert_eq!(
        replay.0,
        StatusCode::CREATED,
        "the first answer, kept for the key"
    );
    rig.assert_agree(&cashier, &number, "150.00", "350.00")
        .await;

    // A card refusing MAC2 (another issuer's keys on the host) credits
    // nothing and the host holds nothing.
    env.assert_ledger_ok().await;
    rig.env.finish().await;
}

async fn grey_card_settles_at_another_station(backend: Backend) {
    let Some(rig) = rig(backend).await else {
        return;
    };
    let env = &rig.env;
    let cashier = env.login("cashier1").await;
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    let other = env.login("cashier2").await;
    let number = rig.issued(&cashier).await;
    let r = rig
        .load(
            &cashier,
            &number,
            "100.00",
            &uuid::Uuid::new_v4().to_string(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let fill = env
        .post(
            &cashier,
            "/api/v1/chip/fills",
            json!({"card_number": number, "pin": "123456", "product": "92"}),
        )
        .await;
    let id = fill.1["id"].as_i64().expect("fill id");
    // The customer drives off with the card mid-fill: a grey card.
    rig.remove();
    let done = env
        .post(
            &cashier,
            &format!("/api/v1/chip/fills/{id}/finish"),
            json!({"amount": "42.50"}),
        )
        .await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    assert_eq!(done.1["status"], json!("fuelled"));
    let chip = chip_day(env, &cashier).await;
    assert_eq!(
        (
            chip["grey"].clone(),
            chip["grey_amount"].clone(),
            chip["fills"].clone()
        ),
        (json!(1), json!("42.50"), json!(0)),
        "the day report shows the grey card awaiting settlement: {chip}"
    );
    // Next day, another station reads the card: the fill settles there.
    rig.reinsert();
    let v = rig.read(&other, &number).await;
    assert_eq!(v["settled"][0]["kind"], json!("fill"), "{v}");
    assert_eq!(v["settled"][0]["amount"], json!("42.50"));
    rig.assert_agree(&other, &number, "57.50", "400.00").await;
    let v = rig.read(&cashier, &number).await;
    assert_eq!(v["settled"], json!([]), "settled exactly once");
    let sales = fuelcard_sales(env, "S1").await;
    assert_eq!(sales, 4250, "booked to the station where the fuel was sold");
    let chip = chip_day(env, &cashier).await;
    assert_eq!(
        (
            chip["grey"].clone(),
            chip["fills"].clone(),
            chip["fills_amount"].clone()
        ),
        (json!(0), json!(1), json!("42.50")),
        "in the report of the station that sold the fuel: {chip}"
    );
    rig.env.finish().await;
}

/// The chip part of today's day-end report of the cashier's station S1.
/// The new personal customers S1 counts this month (activated ones).
async fn new_customers(env: &TestEnv) -> i64 {
    let r = env
        .get(
            &env.admin,
            &format!("/api/v1/targets/{}?station=S1", env.month()),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["lines"][0]["actual"]["new_personal"]
        .as_i64()
        .expect("a count")
}

async fn chip_day(env: &TestEnv, cashier: &str) -> Value {
    let r = env.get(cashier, "/api/v1/stations/S1/day-report").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1["chip"].clone()
}

async fn fuelcard_sales(env: &TestEnv, station: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT balance_fen FROM accounts WHERE name = $1")
        .bind(format!("sales:{station}"))
        .fetch_one(env.db.pool())
        .await
        .expect("sales account")
        .try_get::<i64, _>("balance_fen")
        .expect("balance")
        .abs()
}

async fn pump_uploads(backend: Backend) {
    let Some(rig) = rig(backend).await else {
        return;
    };
    let env = &rig.env;
    let cashier = env.login("cashier1").await;
    let number = rig.issued(&cashier).await;
    let r = rig
        .load(
            &cashier,
            &number,
            "100.00",
            &uuid::Uuid::new_v4().to_string(),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A pump takes 25.00 from the chip offline, with its own terminal.
    let receipt = {
        let mut card = rig.card.lock().expect("card");
        let keys = SoftwareKeyService::new(rig.keys.clone());
        let mut purse = Purse::new(&mut *card);
        purse.select(&purse::DEFAULT_AID).expect("select");
        let public = purse.read_public().expect("public");
        purse.verify_pin("123456").expect("pin");
        let at = purse::flows::Terminal {
            id: [0x02, 0, 0, 0, 0, 0x07],
            ttc: 9,
            stamp: Stamp::new(2026, 11, 23, 10, 15, 0).expect("stamp"),
        };
        purse::flows::purchase(&mut purse, &keys, &public, 2500, &at).expect("purchase")
    };
    let c = receipt.context;
    let record = |tac: [u8; 4]| {
        json!({
            "card_number": number,
            "terminal": hex::encode_upper(c.terminal),
            "terminal_ttc": c.terminal_ttc,
            "offline_ttc": c.offline_ttc,
            "amount": "25.00",
            "txn_type": c.txn_type,
            "time": "20261123101500",
            "tac": hex::encode_upper(tac),
        })
    };
    // The pump's terminal must be registered at its station first.
    let r = env
        .post(&cashier, "/api/v1/chip/purchases", record(receipt.tac))
        .await;
    assert_eq!(r.1["code"], json!("terminal_unknown"), "{}", r.1);
    let r = env
        .request(
            Method::PUT,
            Some(&env.admin),
            "/api/v1/stations/S1/terminals/020000000007",
            None,
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    // Another station's cashier does not upload S1's pump.
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    let other = env.login("cashier2").await;
    let r = env
        .post(&other, "/api/v1/chip/purchases", record(receipt.tac))
        .await;
    assert_eq!(r.1["code"], json!("outside_your_station"), "{}", r.1);
    let mut forged = receipt.tac;
    forged[0] ^= 0x01;
    let bad = env
        .post(&cashier, "/api/v1/chip/purchases", record(forged))
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    assert_eq!(bad.1["code"], json!("chip_mac_invalid"));
    assert_eq!(new_customers(env).await, 0, "opened, never refuelled");
    let ok = env
        .post(&cashier, "/api/v1/chip/purchases", record(receipt.tac))
        .await;
    assert_eq!(ok.0, StatusCode::CREATED, "{}", ok.1);
    assert_eq!(
        new_customers(env).await,
        1,
        "a pump purchase is a refuel: the new customer counts"
    );
    let dup = env
        .post(&cashier, "/api/v1/chip/purchases", record(receipt.tac))
        .await;
    assert_eq!(dup.0, StatusCode::OK, "{}", dup.1);
    assert_eq!(dup.1["status"], json!("duplicate"));
    assert_eq!(dup.1["id"], ok.1["id"]);
    let rejected = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM chip_purchases WHERE status = 'rejected'")
            .fetch_one(env.db.pool())
            .await
            .expect("count")
            .try_get::<i64, _>("n")
            .expect("n")
    };
    assert_eq!(rejected, 1, "the forged record is kept, flagged");
    let chip = chip_day(env, &cashier).await;
    assert_eq!(
        (
            chip["uploads"].clone(),
            chip["uploads_amount"].clone(),
            chip["uploads_rejected"].clone()
        ),
        (json!(1), json!("25.00"), json!(1)),
        "{chip}"
    );
    rig.assert_agree(&cashier, &number, "75.00", "400.00").await;
    env.assert_ledger_ok().await;
    rig.env.finish().await;
}

/// No issuer or card key, in any spelling, anywhere in the database.
async fn assert_no_keys_in_database(rig: &Rig, number: &str) {
    let dump = crate::support::dump_database(&rig.env).await;
    assert!(
        crate::support::contains(&dump, number.as_bytes()),
        "the dump holds the card, so the search is real"
    );
    let asn8: [u8; 8] = hex::decode(number)
        .expect("a card number is 16 digits")
        .try_into()
        .expect("8 bytes");
    let card_keys = rig.keys.card_keys(asn8);
    for (what, key) in crate::support::key_material(&rig.keys, &card_keys) {
        assert!(
            !crate::support::contains(&dump, &key),
            "{what} found in the database"
        );
    }
}

crate::with_each_backend!(chip_story, load_and_fuel);

crate::with_each_backend!(chip_torn_loads, torn_loads);

crate::with_each_backend!(chip_grey_card, grey_card_settles_at_another_station);

crate::with_each_backend!(chip_uploads, pump_uploads);

/// A cashier in a real browser reads the card from its page, sees the
/// chip's balance beside the host's, and loads 100.00 onto the chip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_reads_the_card_and_loads_the_chip() {
    use fantoccini::Locator;
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let rig = rig(Backend::Sqlite).await.expect("sqlite");
    let cashier = rig.env.login("cashier1").await;
    let number = rig.issued(&cashier).await;
    let b = crate::pages::browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", rig.env.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("cashier1")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("cashier1-password\n")
            .await?;
        b.wait().for_element(Locator::Id("q")).await?;
        b.goto(&format!("{}/cards/{number}", rig.env.base)).await?;
        b.wait()
            .for_element(Locator::Id("read-card"))
            .await?
            .click()
            .await?;
        let chip = b
            .wait()
            .for_element(Locator::Id("chip-balance"))
            .await?
            .text()
            .await?;
        assert_eq!(chip, "¥0.00");
        let host = b.find(Locator::Id("host-balance")).await?.text().await?;
        assert_eq!(host, "¥500.00");
        b.find(Locator::Id("amount"))
            .await?
            .send_keys("100.00")
            .await?;
        b.find(Locator::Css("form[action$='/chip/load'] button"))
            .await?
            .click()
            .await?;
        b.wait()
            .for_element(Locator::XPath(
                "//div[@id='chip-balance' and text()='¥100.00']",
            ))
            .await?;
        let host = b.find(Locator::Id("host-balance")).await?.text().await?;
        assert_eq!(host, "¥400.00");
        let agree = b.find(Locator::Id("agree")).await?.text().await?;
        assert_eq!(agree, "芯片与主机一致");
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    assert_eq!(
        rig.card.lock().expect("card").applet().balance_fen(),
        10_000
    );
    rig.env.finish().await;
}

/// A card written with another issuer's keys: its MAC1 does not verify, so
/// the load is refused before anything is held or written.
async fn foreign_card(backend: Backend) {
    let Some(rig) = rig(backend).await else {
        return;
    };
    let env = &rig.env;
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "500").await;
    {
        let mut card = rig.card.lock().expect("card");
        let other = SoftwareKeyService::new(IssuerKeys::generate());
        let p = purse::flows::Personalisation {
            aid: purse::DEFAULT_AID.to_vec(),
            card_number: number.clone(),
            holder: purse::data::Holder::new(1, false, "外来卡", "", 0).expect("holder"),
            issuer_id: [0x99; 8],
            app_type: 1,
            app_version: 1,
            start_date: [0x20, 0x26, 0x01, 0x01],
            expiry_date: [0x20, 0x36, 0x01, 0x01],
            key_version: 1,
        };
        purse::flows::personalise(&mut *card, &other, &p, "123456").expect("personalise");
    }
    let holds = env.count("holds").await;
    let r = rig
        .load(
            &cashier,
            &number,
            "100.00",
            &uuid::Uuid::new_v4().to_string(),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("chip_mac_invalid"));
    assert_eq!(env.count("chip_loads").await, 0);
    assert_eq!(env.count("holds").await, holds);
    assert_eq!(env.card(&number).await["balance"], json!("500.00"));
    assert_eq!(rig.card.lock().expect("card").applet().balance_fen(), 0);
    rig.env.finish().await;
}

crate::with_each_backend!(chip_foreign_card, foreign_card);
