//! The role × route matrix: every operation of the OpenAPI document is
//! called by anonymous and by every role — in its own scope and out of it —
//! with a valid request against fresh data of station S1, its district and
//! company X, and must answer what the policy table says. Allowed: a 2xx or
//! a business refusal, never an authorization refusal. Not allowed: 401
//! (anonymous), 403, or 404 `card_not_found` where a card is hidden, and
//! nothing written. An operation missing from the policy table, or one this
//! test cannot build a request for, fails the test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use fuelcard::auth::Role;
use fuelcard::auth::policy::{self, Scope};
use fuelcard::chip::{Desk, InProcessSlot};
use fuelcard_reader::card::SoftwareCard;
use fuelcard_reader::keys::{IssuerKeys, SoftwareKeyService, Stamp};
use fuelcard_reader::purse::{self, Purse};
use fuelcard_reader::transport::InProcess;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, MAIN_PIN, TestEnv, car, fixture, identity};

type Card = Arc<Mutex<InProcess<SoftwareCard>>>;

/// Who calls: a role, and whether the data called on is in their scope.
struct Persona {
    name: &'static str,
    role: Role,
    own: bool,
    token: String,
}

/// The shared data every request is built on: station S1 (district 东区),
/// company X with its main card, a vehicle and its fleet card, a plan and a
/// loan.
struct World {
    env: TestEnv,
    chip: Card,
    keys: IssuerKeys,
    cashier: String,
    manager: String,
    company: i64,
    main: String,
    fleet_card: String,
    plate: String,
    month: String,
    loan: i64,
    seq: AtomicU32,
}

/// One request.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    csv: Option<String>,
}

fn get(path: String) -> Call {
    Call {
        method: Method::GET,
        path,
        body: None,
        csv: None,
    }
}

fn post(path: String, body: Value) -> Call {
    Call {
        method: Method::POST,
        path,
        body: Some(body),
        csv: None,
    }
}

fn post_empty(path: String) -> Call {
    Call {
        method: Method::POST,
        path,
        body: None,
        csv: None,
    }
}

fn put(path: String, body: Value) -> Call {
    Call {
        method: Method::PUT,
        path,
        body: Some(body),
        csv: None,
    }
}

fn patch(path: String, body: Value) -> Call {
    Call {
        method: Method::PATCH,
        path,
        body: Some(body),
        csv: None,
    }
}

const CHIP_PIN: &str = "123456";
const CARD_PIN: &str = "2468";

/// Listings that show each caller what is in their scope: out of it, the
/// answer is an empty list rather than a refusal.
const FILTERED: &[&str] = &["search"];

impl World {
    fn next(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    async fn send(&self, token: Option<&str>, call: &Call) -> (StatusCode, Value) {
        let env = &self.env;
        let mut req = env
            .client
            .request(call.method.clone(), format!("{}{}", env.base, call.path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if call.method != Method::GET {
            req = req.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        }
        if let Some(b) = &call.body {
            req = req.json(b);
        }
        if let Some(csv) = &call.csv {
            req = req.header("content-type", "text/csv").body(csv.clone());
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let text = resp.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Runs a set-up request as the one who may, and returns its answer.
    async fn setup(&self, token: &str, call: Call) -> Value {
        let r = self.send(Some(token), &call).await;
        assert!(r.0.is_success(), "set-up {}: {} {}", call.path, r.0, r.1);
        r.1
    }

    /// A personal card opened and funded with 500.00 at S1.
    async fn card(&self) -> String {
        self.env.funded_card(&self.cashier, "500").await
    }

    /// A funded card with a PIN, locked as three wrong PINs lock it.
    async fn locked_card(&self) -> String {
        let n = self.next();
        let card = self
            .env
            .pin_card(&self.cashier, &format!("1340000{n:04}"), CARD_PIN, "100")
            .await;
        // Three wrong PINs lock it; typed here straight into the database,
        // since the matrix locks more cards than one user may try wrong
        // PINs on within the guessing limit.
        sqlx::query("UPDATE cards SET pin_failures = 3, status = 'locked' WHERE number = $1")
            .bind(&card)
            .execute(self.env.db.pool())
            .await
            .expect("lock");
        assert_eq!(self.env.card(&card).await["status"], json!("locked"));
        card
    }

    /// A fresh chip in the reader, written for a host card with 500.00.
    async fn chip_card(&self) -> String {
        *self.chip.lock().expect("chip") = InProcess::new(SoftwareCard::blank_in_memory());
        let number = self.card().await;
        self.setup(
            &self.cashier,
            post(
                "/api/v1/chip/personalise".into(),
                json!({"card_number": number, "pin": CHIP_PIN}),
            ),
        )
        .await;
        number
    }

    /// A chip with 100.00 loaded on it.
    async fn loaded_chip(&self) -> String {
        let number = self.chip_card().await;
        self.setup(
            &self.cashier,
            post(
                "/api/v1/chip/loads".into(),
                json!({"card_number": number, "amount": "100.00"}),
            ),
        )
        .await;
        number
    }

    async fn hold(&self) -> i64 {
        let card = self.card().await;
        let r = self
            .setup(
                &self.cashier,
                post(
                    "/api/v1/holds".into(),
                    json!({"card_number": card, "amount": "100"}),
                ),
            )
            .await;
        r["id"].as_i64().expect("a hold id")
    }

    fn fleet(&self, rest: &str) -> String {
        format!("/api/v1/fleet/{}{rest}", self.company)
    }

    /// A month of its own, drafted for company X.
    async fn drafted_month(&self) -> String {
        let n = self.next();
        let month = format!("{}-{:02}", 2031 + n / 12, 1 + n % 12);
        self.setup(
            &self.manager,
            post(self.fleet("/allocations"), json!({"month": month})),
        )
        .await;
        month
    }

    fn loan_body(&self) -> Value {
        json!({
            "plate": self.plate, "driver": "王师傅", "purpose": "送货", "route": "杭州—宁波",
            "starts_on": "2026-11-20", "ends_on": "2026-11-22"
        })
    }

    /// 东区's weekly report of a week of its own, drafted as the service
    /// drafts it on that week's Sunday.
    async fn drafted_week(&self, n: u32) -> i64 {
        use sqlx::Row;
        let sunday = chrono::NaiveDate::from_ymd_opt(2027, 1, 3).expect("a Sunday")
            + chrono::Days::new(7 * u64::from(n));
        let tz = chrono_tz::Asia::Shanghai;
        let (noon, _) = fuelcard::time::day_span(sunday, tz).expect("a day");
        let mut tx = self.env.db.begin_write().await.expect("a transaction");
        fuelcard::acquisition::weekly::draft_due(&mut tx, noon, tz)
            .await
            .expect("drafted");
        tx.commit().await.expect("commit");
        let week = fuelcard::acquisition::periods::Period::week_of(sunday).label;
        sqlx::query("SELECT id FROM weekly_reports WHERE district = '东区' AND week = $1")
            .bind(week)
            .fetch_one(self.env.db.pool())
            .await
            .expect("the draft")
            .try_get("id")
            .expect("an id")
    }

    /// A voucher of merchant M001's offer, granted by opening a new card.
    async fn voucher(&self) -> String {
        let card = self.card().await;
        let r = self
            .setup(&self.cashier, get(format!("/api/v1/cards/{card}/benefits")))
            .await;
        r[0]["voucher_code"]
            .as_str()
            .expect("a voucher code")
            .to_string()
    }

    /// A redemption of M001, fresh.
    async fn redemption(&self) -> i64 {
        let code = self.voucher().await;
        let r = self
            .setup(
                &self.env.admin,
                post("/api/v1/redemptions".into(), json!({"voucher_code": code})),
            )
            .await;
        r["id"].as_i64().expect("a redemption id")
    }

    /// A prospect of station S1, new.
    async fn prospect(&self) -> i64 {
        let r = self
            .setup(
                &self.env.admin,
                post(
                    "/api/v1/prospects".into(),
                    json!({"station": "S1", "kind": "company", "name": "城建工程"}),
                ),
            )
            .await;
        r["id"].as_i64().expect("a prospect id")
    }

    /// A fresh complaint at S1, moved by the admin through the stages
    /// named (`assign`, `answer`, `follow-up`) before the call.
    async fn complaint(&self, stages: &[(&str, Value)]) -> i64 {
        let r = self
            .setup(
                &self.env.admin,
                post(
                    "/api/v1/complaints".into(),
                    json!({"station": "S1", "channel": "counter", "category": "service",
                           "text": "收银员态度不好"}),
                ),
            )
            .await;
        let id = r["id"].as_i64().expect("a complaint id");
        for (stage, body) in stages {
            self.setup(
                &self.env.admin,
                post(format!("/api/v1/complaints/{id}/{stage}"), body.clone()),
            )
            .await;
        }
        id
    }

    /// A customer of S1 who has not refuelled since their card was opened
    /// 60 days ago: on S1's call-back list.
    async fn dormant_customer(&self) -> i64 {
        let n = self.next();
        let customer = self
            .env
            .new_person(&self.cashier, "沉睡客户", &format!("1370000{n:04}"))
            .await;
        self.env
            .new_card(
                &self.cashier,
                json!({"kind": "personal", "customer_id": customer}),
            )
            .await;
        sqlx::query(
            "UPDATE card_openings SET opened_at = opened_at - 5184000000000 \
             WHERE card_id IN (SELECT id FROM cards WHERE customer_id = $1)",
        )
        .bind(customer)
        .execute(self.env.db.pool())
        .await
        .expect("the card opened 60 days ago");
        customer
    }

    /// A valid request for the operation, on fresh data where the
    /// operation changes what it acts on.
    async fn call_for(&self, op: &str) -> Call {
        let n = self.next();
        match op {
            "me" => get("/api/v1/me".into()),
            // Everyone may; the admin's own password is the one the
            // request knows, kept as it is.
            "change_password" => post(
                "/api/v1/me/password".into(),
                json!({"current_password": "admin-password", "new_password": "admin-password"}),
            ),
            "deactivate_user" => {
                let name = format!("leaver{n}");
                self.setup(
                    &self.env.admin,
                    post(
                        "/api/v1/users".into(),
                        json!({"username": name, "password": "a-long-password",
                               "role": "cashier", "station": "S1"}),
                    ),
                )
                .await;
                post(format!("/api/v1/users/{name}/deactivation"), json!({}))
            }
            "list_users" => get("/api/v1/users?role=cashier&station=S1".into()),
            "reset_password" => {
                let name = format!("forgetful{n}");
                self.setup(
                    &self.env.admin,
                    post(
                        "/api/v1/users".into(),
                        json!({"username": name, "password": "a-long-password",
                               "role": "cashier", "station": "S1"}),
                    ),
                )
                .await;
                post(
                    format!("/api/v1/users/{name}/password"),
                    json!({"new_password": "another-long-password"}),
                )
            }
            "add_user" => post(
                "/api/v1/users".into(),
                json!({"username": format!("user{n}"), "password": "a-long-password",
                       "role": "cashier", "station": "S1"}),
            ),
            "add_station" => post(
                "/api/v1/stations".into(),
                json!({"code": format!("N{n}"), "name": "新站", "district": "东区"}),
            ),
            "list_stations" => get("/api/v1/stations".into()),
            "day_report" => get("/api/v1/stations/S1/day-report".into()),
            "list_products" => get("/api/v1/products".into()),
            "set_price" => put(
                "/api/v1/products/92/price".into(),
                json!({"unit_price": "7.68", "card_discount_per_litre": "0.20"}),
            ),
            "add_promotion" => post(
                "/api/v1/promotions".into(),
                json!({"name": format!("充值送{n}"), "kind": "recharge_bonus",
                       "tiers": [{"min_amount": "100000", "bonus_percent": "1"}]}),
            ),
            "list_promotions" => get("/api/v1/promotions".into()),
            "audit_log" => get("/api/v1/audit".into()),
            "check" => get("/api/v1/ledger/check".into()),
            "add_customer" => post(
                "/api/v1/customers".into(),
                json!({"kind": "person", "name": "李四", "phone": format!("1370000{n:04}")}),
            ),
            "get_customer" => get(format!("/api/v1/customers/{}", self.company)),
            "open_card" => {
                let person = self
                    .env
                    .new_person(&self.cashier, "王五", &format!("1360000{n:04}"))
                    .await;
                post(
                    "/api/v1/cards".into(),
                    json!({"kind": "personal", "customer_id": person}),
                )
            }
            "get_card" => get(format!("/api/v1/cards/{}", self.fleet_card)),
            "search" => get(format!("/api/v1/cards?customer_id={}", self.company)),
            "statement" => get(format!("/api/v1/cards/{}/transactions", self.fleet_card)),
            "recharge_preview" => get(format!(
                "/api/v1/cards/{}/recharge-preview?amount=1000.00",
                self.card().await
            )),
            "recharge" => post(
                format!("/api/v1/cards/{}/recharges", self.card().await),
                json!({"amount": "100", "payment_method": "cash"}),
            ),
            "loss_report" => post_empty(format!("/api/v1/cards/{}/loss-report", self.card().await)),
            "unlock" => post(
                format!("/api/v1/cards/{}/unlock", self.locked_card().await),
                json!({"identity": identity()}),
            ),
            "identity_unlock" => {
                let card = self.card().await;
                sqlx::query(
                    "UPDATE cards SET identity_failures = 10, identity_locked_at = 1 \
                     WHERE number = $1",
                )
                .bind(&card)
                .execute(self.env.db.pool())
                .await
                .expect("the card locked against documents");
                post_empty(format!("/api/v1/cards/{card}/identity-unlock"))
            }
            "replacement" => {
                let card = self.card().await;
                self.setup(
                    &self.cashier,
                    post_empty(format!("/api/v1/cards/{card}/loss-report")),
                )
                .await;
                post(
                    format!("/api/v1/cards/{card}/replacement"),
                    json!({"identity": identity()}),
                )
            }
            "conversion" => {
                let r = self
                    .setup(
                        &self.cashier,
                        post("/api/v1/cards".into(), json!({"kind": "anonymous"})),
                    )
                    .await;
                let card = r["number"].as_str().expect("a number").to_string();
                post(
                    format!("/api/v1/cards/{card}/conversion"),
                    json!({"customer": {"kind": "person", "name": "刘洋",
                                        "phone": format!("1350000{n:04}")}}),
                )
            }
            "closure" => post(
                format!("/api/v1/cards/{}/closure", self.card().await),
                json!({"identity": identity()}),
            ),
            "sell" => post(
                "/api/v1/sales".into(),
                json!({"card_number": self.card().await, "product": "92", "litres": "10"}),
            ),
            "transfer" => post(
                "/api/v1/transfers".into(),
                json!({"from_card": self.main, "to_card": self.fleet_card, "amount": "1.00",
                       "pin": MAIN_PIN}),
            ),
            "place_hold" => post(
                "/api/v1/holds".into(),
                json!({"card_number": self.card().await, "amount": "100"}),
            ),
            "get_hold" => get(format!("/api/v1/holds/{}", self.hold().await)),
            "capture_hold" => post(
                format!("/api/v1/holds/{}/capture", self.hold().await),
                json!({"amount": "60"}),
            ),
            "void_hold" => post(
                format!("/api/v1/holds/{}/void", self.hold().await),
                json!({}),
            ),
            "open_shift" => post_empty("/api/v1/shifts".into()),
            "current_shift" => get("/api/v1/shifts/current".into()),
            "close_shift" => {
                let r = self
                    .setup(&self.cashier, post_empty("/api/v1/shifts".into()))
                    .await;
                let id = r["id"].as_i64().expect("a shift id");
                post(
                    format!("/api/v1/shifts/{id}/close"),
                    json!({"counted_cash": "0", "counted_bank_card": "0", "counted_transfer": "0"}),
                )
            }
            "read_card" => post(
                "/api/v1/chip/read".into(),
                json!({"card_number": self.chip_card().await}),
            ),
            "personalise" => {
                *self.chip.lock().expect("chip") = InProcess::new(SoftwareCard::blank_in_memory());
                post(
                    "/api/v1/chip/personalise".into(),
                    json!({"card_number": self.card().await, "pin": CHIP_PIN}),
                )
            }
            "load" => post(
                "/api/v1/chip/loads".into(),
                json!({"card_number": self.chip_card().await, "amount": "50.00"}),
            ),
            "start_fill" => post(
                "/api/v1/chip/fills".into(),
                json!({"card_number": self.loaded_chip().await, "pin": CHIP_PIN, "product": "92"}),
            ),
            "finish_fill" => {
                let number = self.loaded_chip().await;
                let r = self
                    .setup(
                        &self.cashier,
                        post(
                            "/api/v1/chip/fills".into(),
                            json!({"card_number": number, "pin": CHIP_PIN, "product": "92"}),
                        ),
                    )
                    .await;
                let id = r["id"].as_i64().expect("a fill id");
                post(
                    format!("/api/v1/chip/fills/{id}/finish"),
                    json!({"amount": "30.00"}),
                )
            }
            "register_terminal" => Call {
                method: Method::PUT,
                path: format!("/api/v1/stations/S1/terminals/0300000{n:05}"),
                body: None,
                csv: None,
            },
            "upload_purchase" => {
                let number = self.loaded_chip().await;
                post(
                    "/api/v1/chip/purchases".into(),
                    self.pump_purchase(&number, n),
                )
            }
            "add_vehicle" => post(self.fleet("/vehicles"), car(&format!("浙M{n:05}"))),
            "list_vehicles" => get(self.fleet("/vehicles")),
            "update_vehicle" | "retire_vehicle" => {
                // A vehicle of its own for each call: a retired one stays retired.
                let plate = format!("浙P{n:05}");
                let r = self
                    .env
                    .post(&self.env.admin, &self.fleet("/vehicles"), car(&plate))
                    .await;
                assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
                if op == "update_vehicle" {
                    put(self.fleet(&format!("/vehicles/{plate}")), car(&plate))
                } else {
                    post(
                        self.fleet(&format!("/vehicles/{plate}/retirement")),
                        json!({}),
                    )
                }
            }
            "export_vehicles" => get(self.fleet("/vehicles.csv")),
            "import_vehicles" => {
                let header = fixture("vehicles.csv")
                    .lines()
                    .next()
                    .expect("a header")
                    .to_string();
                Call {
                    method: Method::POST,
                    path: self.fleet("/vehicles/import"),
                    body: None,
                    csv: Some(format!(
                        "{header}\n浙N{n:05},car,1.5,92,50,7.0,行政部,王强,,,,,,\n"
                    )),
                }
            }
            "grant_override" => post(
                self.fleet(&format!("/vehicles/{}/overrides", self.plate)),
                json!({"control": "product", "reason": "92# sold out"}),
            ),
            "put_policy" => {
                let policy: toml::Value = toml::from_str(&fixture("policy.toml")).expect("toml");
                put(
                    self.fleet("/policy"),
                    serde_json::to_value(policy).expect("json"),
                )
            }
            "get_policy" => get(self.fleet("/policy")),
            "draft_plan" => post(
                self.fleet("/allocations"),
                json!({"month": format!("2030-{:02}", 1 + n % 12)}),
            ),
            "get_plan" => get(self.fleet(&format!("/allocations/{}", self.month))),
            "edit_line" => {
                let month = self.drafted_month().await;
                put(
                    self.fleet(&format!("/allocations/{month}/lines/{}", self.plate)),
                    json!({"amount": "700.00", "reason": "shorter routes"}),
                )
            }
            "approve_plan" => {
                let month = self.drafted_month().await;
                post(
                    self.fleet(&format!("/allocations/{month}/approval")),
                    json!({}),
                )
            }
            "monthly_review" => get(self.fleet(&format!("/reports/monthly?month={}", self.month))),
            "monthly_review_csv" => {
                get(self.fleet(&format!("/reports/monthly.csv?month={}", self.month)))
            }
            "acknowledge" => {
                let sale = self
                    .setup(
                        &self.cashier,
                        post(
                            "/api/v1/sales".into(),
                            json!({"card_number": self.fleet_card, "product": "92",
                                   "litres": "1", "plate": self.plate, "odometer": 1000 + n}),
                        ),
                    )
                    .await;
                post(
                    self.fleet("/anomalies/ack"),
                    json!({"sale_id": sale["id"], "kind": "over_tank_capacity",
                           "justification": "auxiliary tank fitted"}),
                )
            }
            "request_topup" => post(
                self.fleet("/topups"),
                json!({"plate": self.plate, "amount": "10", "reason": "long week"}),
            ),
            "decide_topup" => {
                let r = self
                    .setup(
                        &self.manager,
                        post(
                            self.fleet("/topups"),
                            json!({"plate": self.plate, "amount": "10", "reason": "long week"}),
                        ),
                    )
                    .await;
                let id = r["id"].as_i64().expect("a top-up id");
                post(self.fleet(&format!("/topups/{id}/approval")), json!({}))
            }
            "request_loan" => post(self.fleet("/loans"), self.loan_body()),
            "get_loan" => get(self.fleet(&format!("/loans/{}", self.loan))),
            "loan_step" => {
                let r = self
                    .setup(&self.manager, post(self.fleet("/loans"), self.loan_body()))
                    .await;
                let id = r["id"].as_i64().expect("a loan id");
                post_empty(self.fleet(&format!("/loans/{id}/rejection")))
            }
            "record_cash" => post(
                self.fleet("/cash-refuels"),
                json!({"plate": self.plate, "product": "92", "litres": "30", "amount": "230.40",
                       "reason": "card reader down at a partner station"}),
            ),
            "add_district" => post(
                "/api/v1/districts".into(),
                json!({"code": format!("D{n}"), "name": "新片区"}),
            ),
            "list_districts" => get("/api/v1/districts".into()),
            "add_prospect" => post(
                "/api/v1/prospects".into(),
                json!({"station": "S1", "kind": "fleet", "name": format!("顺达物流{n}"),
                       "est_monthly_litres": "3000",
                       "contacts": [{"name": "李经理", "decision_maker": true}]}),
            ),
            "note_lead" => post(
                "/api/v1/prospects/leads".into(),
                json!({"station": "S1", "kind": "person", "name": format!("加油客户{n}"),
                       "contacts": [{"name": "王先生", "phone": "13900000000", "decision_maker": true}]}),
            ),
            "list_prospects" => get("/api/v1/prospects?station=S1".into()),
            "get_prospect" => {
                let id = self.prospect().await;
                get(format!("/api/v1/prospects/{id}"))
            }
            "prospect_stage" => {
                let id = self.prospect().await;
                post(
                    format!("/api/v1/prospects/{id}/stage"),
                    json!({"stage": "planned"}),
                )
            }
            "add_visit" => {
                let id = self.prospect().await;
                post(
                    format!("/api/v1/prospects/{id}/visits"),
                    json!({"outcome": "见到车队长", "next_step": "送试用卡",
                           "next_at": "2026-12-01T09:00:00+08:00"}),
                )
            }
            "win_prospect" => {
                let id = self.prospect().await;
                post(
                    format!("/api/v1/prospects/{id}/win"),
                    json!({"customer_id": self.company}),
                )
            }
            "import_prospects" => Call {
                method: Method::POST,
                path: "/api/v1/prospects/import?station=S1".into(),
                body: None,
                csv: Some(format!(
                    "kind,name,address,vehicles,est_monthly_litres,current_supplier,\
                     current_discount,contact_name,contact_role,contact_phone,channel\n\
                     company,城东建材{n},,8,2000,,,,,,扫街\n"
                )),
            },
            "add_complaint" => post(
                "/api/v1/complaints".into(),
                json!({"station": "S1", "channel": "phone", "category": "quantity",
                       "text": format!("加油少了{n}升")}),
            ),
            "list_complaints" => get("/api/v1/complaints?station=S1".into()),
            "complaint_counts" => get(format!(
                "/api/v1/complaints/counts?month={}&station=S1",
                self.month
            )),
            "get_complaint" => {
                let id = self.complaint(&[]).await;
                get(format!("/api/v1/complaints/{id}"))
            }
            "assign_complaint" => {
                let id = self.complaint(&[]).await;
                post(
                    format!("/api/v1/complaints/{id}/assign"),
                    json!({"assignee": "manager-s1"}),
                )
            }
            "answer_complaint" => {
                let id = self
                    .complaint(&[("assign", json!({"assignee": "manager-s1"}))])
                    .await;
                post(
                    format!("/api/v1/complaints/{id}/answer"),
                    json!({"answer": "已向顾客道歉"}),
                )
            }
            "follow_up_complaint" => {
                let id = self
                    .complaint(&[
                        ("assign", json!({"assignee": "manager-s1"})),
                        ("answer", json!({"answer": "已向顾客道歉"})),
                    ])
                    .await;
                post(
                    format!("/api/v1/complaints/{id}/follow-up"),
                    json!({"satisfied": true}),
                )
            }
            "close_complaint" => {
                let id = self
                    .complaint(&[
                        ("assign", json!({"assignee": "manager-s1"})),
                        ("answer", json!({"answer": "已向顾客道歉"})),
                        ("follow-up", json!({"satisfied": true})),
                    ])
                    .await;
                post(format!("/api/v1/complaints/{id}/close"), json!({}))
            }
            "add_contact" => post(
                format!("/api/v1/customers/{}/contacts", self.company),
                json!({"name": "赵敏", "role": "财务", "phone": "13911112222",
                       "decision_maker": true}),
            ),
            "change_archive" => patch(
                format!("/api/v1/customers/{}/archive", self.company),
                json!({"consents": {"share_with_partners": false, "marketing": true},
                       "preferred_station": "S1", "notes": "月底对账"}),
            ),
            "customer_timeline" => get(format!("/api/v1/customers/{}/timeline", self.company)),
            "merge_customers" => {
                let phone = format!("1350000{n:04}");
                let keep = self.env.new_person(&self.cashier, "孙七", &phone).await;
                let other = self.env.new_person(&self.cashier, "孙七", &phone).await;
                post(
                    format!("/api/v1/customers/{keep}/merge"),
                    json!({"other_id": other}),
                )
            }
            "log_contact" => {
                let customer = self.dormant_customer().await;
                post(
                    format!("/api/v1/customers/{customer}/care"),
                    json!({"kind": "call", "purpose": "thanks", "outcome": "reached",
                           "next_step": "下周送洗车券"}),
                )
            }
            "customer_care" => get(format!("/api/v1/customers/{}/care", self.company)),
            "care_customers" => get("/api/v1/care?station=S1".into()),
            "visit_plan" => get("/api/v1/visits?station=S1".into()),
            "birthdays" => get("/api/v1/birthdays?station=S1&days=60".into()),
            "plan_visit" => {
                let customer = self.dormant_customer().await;
                post(
                    "/api/v1/visits".into(),
                    json!({"customer_id": customer, "planned_for": self.days_ahead(10)}),
                )
            }
            "cancel_visit" => {
                let customer = self.dormant_customer().await;
                let r = self
                    .setup(
                        &self.env.admin,
                        post(
                            "/api/v1/visits".into(),
                            json!({"customer_id": customer, "planned_for": self.days_ahead(10)}),
                        ),
                    )
                    .await;
                let id = r["id"].as_i64().expect("a visit id");
                post(format!("/api/v1/visits/{id}/cancellation"), json!({}))
            }
            "callbacks" => get("/api/v1/callbacks?station=S1".into()),
            "record_call" => {
                let customer = self.dormant_customer().await;
                post(
                    format!("/api/v1/callbacks/{customer}/calls"),
                    json!({"outcome": "will_return", "notes": "下周来加油"}),
                )
            }
            "add_flyers" => post(
                "/api/v1/acquisition/flyers".into(),
                json!({"code": format!("FLY{n}"), "station": "S1", "handed_out": 600}),
            ),
            "put_targets" => put(
                format!("/api/v1/targets/{}", self.month),
                json!({"targets": [{"station": "S1", "new_personal": 5, "card_litres": "20000"}]}),
            ),
            "get_targets" => get(format!("/api/v1/targets/{}?station=S1", self.month)),
            "acquisition_channels" => get(format!(
                "/api/v1/acquisition/channels?month={}&station=S1",
                self.month
            )),
            "leaderboard" => get(format!(
                "/api/v1/leaderboard?period={}&by=staff",
                self.month
            )),
            "wins" => get("/api/v1/wins".into()),
            "weekly_report" => get("/api/v1/reports/weekly?district=东区".into()),
            "submit_weekly_report" => {
                let id = self.drafted_week(n).await;
                post(
                    format!("/api/v1/reports/weekly/{id}/submission"),
                    json!({"notes": "本周走访三家车队"}),
                )
            }
            "add_merchant" => post(
                "/api/v1/merchants".into(),
                json!({"code": format!("MN{n}"), "name": "洗车行", "category": "car_wash",
                       "stations": ["S1"]}),
            ),
            "list_merchants" => get("/api/v1/merchants".into()),
            "get_merchant" => get("/api/v1/merchants/M001".into()),
            "add_offer" => post(
                "/api/v1/offers".into(),
                json!({"code": format!("OF{n}"), "merchant": "M001", "name": "新春洗车",
                       "trigger": {"event": "recharge", "min_amount": "1000",
                                   "starts_at": "2099-01-01T00:00:00+08:00"},
                       "benefit": {"kind": "entitlement", "item": "洗车"},
                       "unit_cost": "25", "funded_by": {"station_percent": 50, "merchant_percent": 50},
                       "budget_amount": "5000"}),
            ),
            "list_offers" => get("/api/v1/offers?merchant=M001".into()),
            "get_offer" => get("/api/v1/offers/MX".into()),
            "end_offer" => {
                // A fresh offer to end: MX keeps granting the matrix's vouchers.
                let code = format!("OE{n}");
                self.setup(
                    &self.env.admin,
                    post(
                        "/api/v1/offers".into(),
                        json!({"code": code, "merchant": "M001", "name": "限时洗车",
                               "trigger": {"event": "recharge",
                                           "starts_at": "2099-01-01T00:00:00+08:00"},
                               "benefit": {"kind": "gift", "item": "洗车券"},
                               "unit_cost": "10", "funded_by": {"station_percent": 100, "merchant_percent": 0}}),
                    ),
                )
                .await;
                post(format!("/api/v1/offers/{code}/end"), json!({}))
            }
            "offer_effectiveness" => get("/api/v1/offers/MX/effectiveness".into()),
            "merchant_effectiveness" => get("/api/v1/merchants/M001/effectiveness".into()),
            "grantees_csv" => get("/api/v1/offers/MX/grantees.csv".into()),
            "card_benefits" => get(format!("/api/v1/cards/{}/benefits", self.fleet_card)),
            "find_benefits" => get(format!("/api/v1/benefits?code={}", self.voucher().await)),
            "redeem" => post(
                "/api/v1/redemptions".into(),
                json!({"voucher_code": self.voucher().await}),
            ),
            "reverse_redemption" => post(
                format!("/api/v1/redemptions/{}/reversal", self.redemption().await),
                json!({}),
            ),
            "list_redemptions" => get("/api/v1/redemptions?merchant=M001".into()),
            "settle_merchant" => post(
                "/api/v1/merchants/M001/settlements".into(),
                json!({"month": "2026-10"}),
            ),
            "get_settlement" => get("/api/v1/merchants/M001/settlements/2026-11".into()),
            "settlement_csv" => get("/api/v1/merchants/M001/settlements.csv?month=2026-11".into()),
            "put_credit_line" => put(self.credit_line(), self.line_terms()),
            "get_credit_line" => get(self.on_credit().await),
            "credit_statement" => {
                self.on_credit().await;
                get(format!(
                    "/api/v1/customers/{}/statements/{}",
                    self.company, self.month
                ))
            }
            "credit_statement_csv" => {
                self.on_credit().await;
                get(format!(
                    "/api/v1/customers/{}/statements/{}.csv",
                    self.company, self.month
                ))
            }
            "book_payment" => {
                self.on_credit().await;
                post(
                    format!("/api/v1/customers/{}/payments", self.company),
                    json!({"amount": "1.00", "method": "transfer"}),
                )
            }
            "credit_reminders" => get("/api/v1/credit/reminders".into()),
            other => panic!("the matrix has no request for operation {other}: add one"),
        }
    }

    /// The local date `days` after the server's today, YYYY-MM-DD.
    fn days_ahead(&self, days: u64) -> String {
        let today =
            chrono::NaiveDate::parse_from_str(&self.env.local_now().0, "%Y-%m-%d").expect("today");
        (today + chrono::Days::new(days))
            .format("%Y-%m-%d")
            .to_string()
    }

    fn credit_line(&self) -> String {
        format!("/api/v1/customers/{}/credit-line", self.company)
    }

    fn line_terms(&self) -> Value {
        json!({"limit": "10000.00", "statement_day": 25, "days_to_pay": 10, "grace_days": 5})
    }

    /// Company X on credit (head office sets the line); the line's path.
    async fn on_credit(&self) -> String {
        self.setup(&self.env.admin, put(self.credit_line(), self.line_terms()))
            .await;
        self.credit_line()
    }

    /// A genuine offline purchase of 25.00 the chip made at a pump, as the
    /// pump uploads it.
    fn pump_purchase(&self, number: &str, n: u32) -> Value {
        let mut card = self.chip.lock().expect("chip");
        let keys = SoftwareKeyService::new(self.keys.clone());
        let mut purse = Purse::new(&mut *card);
        purse.select(&purse::DEFAULT_AID).expect("select");
        let public = purse.read_public().expect("public");
        purse.verify_pin(CHIP_PIN).expect("pin");
        let at = purse::flows::Terminal {
            id: [0x02, 0, 0, 0, 0, 0x07],
            ttc: n,
            stamp: Stamp::new(2026, 11, 18, 9, 15, 0).expect("stamp"),
        };
        let receipt =
            purse::flows::purchase(&mut purse, &keys, &public, 2500, &at).expect("purchase");
        let c = receipt.context;
        json!({
            "card_number": number,
            "terminal": hex::encode_upper(c.terminal),
            "terminal_ttc": c.terminal_ttc,
            "offline_ttc": c.offline_ttc,
            "amount": "25.00",
            "txn_type": c.txn_type,
            "time": "20261118091500",
            "tac": hex::encode_upper(receipt.tac),
        })
    }

    /// How many rows the business tables hold: a refused request must not
    /// change it.
    async fn written(&self) -> Vec<i64> {
        use sqlx::Row;
        const TABLES: &[&str] = &[
            "audit_log",
            "customers",
            "users",
            "stations",
            "cards",
            "operations",
            "transfers",
            "holds",
            "shifts",
            "promotions",
            "product_prices",
            "vehicles",
            "allocation_plans",
            "limit_overrides",
            "anomaly_acks",
            "topup_requests",
            "card_loans",
            "cash_refuels",
            "chip_loads",
            "chip_fills",
            "chip_purchases",
            "districts",
            "prospects",
            "prospect_visits",
            "flyer_batches",
            "card_openings",
            "targets",
            "weekly_reports",
            "merchants",
            "merchant_stations",
            "offers",
            "offer_holders",
            "benefits",
            "redemptions",
            "settlements",
            "credit_lines",
            "credit_statements",
            "credit_payments",
            "complaints",
            "callback_calls",
            "customer_contacts",
            "customer_consents",
            "care_contacts",
            "planned_visits",
        ];
        let counts: Vec<String> = TABLES
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {t}) AS {t}"))
            .collect();
        let row = sqlx::query(&format!("SELECT {}", counts.join(", ")))
            .fetch_one(self.env.db.pool())
            .await
            .expect("counts");
        TABLES
            .iter()
            .map(|t| row.try_get::<i64, _>(*t).expect("a count"))
            .collect()
    }
}

/// The answers that hide what is another's: a card or customer out of
/// scope, another merchant — itself, its offers, benefits and redemptions.
const HIDDEN: &[&str] = &[
    "card_not_found",
    "customer_not_found",
    "benefit_not_found",
    "redemption_not_found",
    "merchant_not_found",
    "offer_not_found",
];

/// Codes that say "not yours" rather than anything about the business.
const AUTHORIZATION_CODES: &[&str] = &[
    "unauthorized",
    "forbidden",
    "outside_your_station",
    "not_your_company",
    "company_consent_required",
];

fn allowed(scope: Scope, own: bool) -> bool {
    match scope {
        Scope::All | Scope::CompanyPin => true,
        Scope::Station | Scope::District | Scope::Company | Scope::Merchant => own,
        Scope::Never => false,
    }
}

async fn world(backend: Backend) -> Option<(World, Vec<Persona>)> {
    let keys = IssuerKeys::generate();
    let chip: Card = Arc::new(Mutex::new(InProcess::new(SoftwareCard::blank_in_memory())));
    let desk = Desk {
        slot: Box::new(InProcessSlot(chip.clone())),
        keys: Arc::new(SoftwareKeyService::new(keys.clone())),
        terminal: [0x01, 0, 0, 0, 0, 0x01],
        aid: purse::DEFAULT_AID.to_vec(),
    };
    let env = TestEnv::start_with_chip(backend, Arc::new(desk)).await?;
    let r = env
        .post(
            &env.admin,
            "/api/v1/stations",
            json!({"code": "S3", "name": "河西站", "district": "西区"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let cashier = env.login("cashier1").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-x", "100000").await;
    // Company Y, whose manager is the other company's.
    env.company(&cashier, "城建工程", "fleet-y", "100").await;
    for (username, role, station, district) in [
        ("hq1", "hq", None, None),
        ("district-east", "district_manager", None, Some("东区")),
        ("district-west", "district_manager", None, Some("西区")),
        ("manager-s1", "station_manager", Some("S1"), None),
        ("manager-s3", "station_manager", Some("S3"), None),
        ("cashier-s3", "cashier", Some("S3"), None),
    ] {
        let r = env
            .post(
                &env.admin,
                "/api/v1/users",
                json!({"username": username, "password": format!("{username}-password"),
                       "role": role, "station": station, "district": district}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    for (merchant, user) in [("M001", "merchant1"), ("M002", "merchant2")] {
        let r = env
            .post(
                &env.admin,
                "/api/v1/merchants",
                json!({"code": merchant, "name": "合作商户", "category": "insurance",
                       "stations": ["S1"]}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let r = env
            .post(
                &env.admin,
                "/api/v1/users",
                json!({"username": user, "password": format!("{user}-password"),
                       "role": "merchant", "merchant": merchant}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    // M001's voucher for every card opened: the matrix's vouchers.
    let r = env
        .post(
            &env.admin,
            "/api/v1/offers",
            json!({"code": "MX", "merchant": "M001", "name": "办卡送保险",
                   "trigger": {"event": "card_opened"},
                   "benefit": {"kind": "voucher", "item": "意外险"},
                   "unit_cost": "20", "funded_by": {"station_percent": 0, "merchant_percent": 100},
                   "valid_days": 90, "needs_consent": true}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let plate = "浙A10001".to_string();
    let fleet_card = env
        .fleet_vehicle(&cashier, &manager, company, &main, car(&plate))
        .await;
    env.put_fixture_policy(&manager, company).await;
    let r = env
        .money(
            &manager,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": fleet_card, "amount": "5000"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let month = env.month();
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": month}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let w = World {
        chip,
        keys,
        cashier,
        manager,
        company,
        main,
        fleet_card,
        plate,
        month,
        loan: 0,
        seq: AtomicU32::new(1),
        env,
    };
    let loan = w
        .setup(&w.manager, post(w.fleet("/loans"), w.loan_body()))
        .await;
    let w = World {
        loan: loan["id"].as_i64().expect("a loan id"),
        ..w
    };
    w.drafted_week(0).await;
    let r = w
        .send(
            Some(&w.env.admin),
            &Call {
                method: Method::PUT,
                path: "/api/v1/stations/S1/terminals/020000000007".into(),
                body: None,
                csv: None,
            },
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "the matrix's pump is S1's: {}", r.1);
    let mut tx = w.env.db.begin_write().await.expect("a transaction");
    fuelcard::acquisition::weekly::draft_due(
        &mut tx,
        w.env.clock.now_us(),
        chrono_tz::Asia::Shanghai,
    )
    .await
    .expect("this week's reports drafted");
    tx.commit().await.expect("commit");
    let mut personas = Vec::new();
    for (name, username, role, own) in [
        ("admin", "admin", Role::Admin, true),
        ("hq", "hq1", Role::Hq, true),
        (
            "district manager (own)",
            "district-east",
            Role::DistrictManager,
            true,
        ),
        (
            "district manager (other)",
            "district-west",
            Role::DistrictManager,
            false,
        ),
        (
            "station manager (own)",
            "manager-s1",
            Role::StationManager,
            true,
        ),
        (
            "station manager (other)",
            "manager-s3",
            Role::StationManager,
            false,
        ),
        ("cashier (own)", "cashier1", Role::Cashier, true),
        ("cashier (other)", "cashier-s3", Role::Cashier, false),
        ("fleet manager (own)", "fleet-x", Role::FleetManager, true),
        (
            "fleet manager (other)",
            "fleet-y",
            Role::FleetManager,
            false,
        ),
        ("merchant (own)", "merchant1", Role::Merchant, true),
        ("merchant (other)", "merchant2", Role::Merchant, false),
    ] {
        let token = if username == "admin" {
            w.env.admin.clone()
        } else {
            w.env.login(username).await
        };
        personas.push(Persona {
            name,
            role,
            own,
            token,
        });
    }
    Some((w, personas))
}

/// The operations of the served OpenAPI document: (method, path, id).
async fn operations(w: &World) -> Vec<(String, String, String)> {
    let r = w.send(None, &get("/api/openapi.json".into())).await;
    assert_eq!(r.0, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in r.1["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("an item") {
            let id = op["operationId"].as_str().expect("an operation id");
            ops.push((method.to_uppercase(), path.clone(), id.to_string()));
        }
    }
    ops
}

async fn matrix(backend: Backend) {
    let Some((w, personas)) = world(backend).await else {
        return;
    };
    let mut failures = Vec::new();
    let mut succeeded: Vec<String> = Vec::new();
    let ops = operations(&w).await;
    assert!(
        ops.len() > 50,
        "the document lists {} operations",
        ops.len()
    );
    for (method, path, op) in &ops {
        if policy::PUBLIC_OPERATIONS.contains(&op.as_str()) {
            continue;
        }
        let Some(rule) = policy::rule_of_operation(op) else {
            failures.push(format!(
                "{method} {path} ({op}) is missing from the policy table"
            ));
            continue;
        };
        let call = w.call_for(op).await;
        assert_eq!(
            call.method.as_str(),
            method,
            "the matrix's request for {op} uses another method"
        );
        let before = w.written().await;
        let r = w.send(None, &call).await;
        if r.0 != StatusCode::UNAUTHORIZED || w.written().await != before {
            failures.push(format!("{op} anonymous: {} {}", r.0, r.1));
        }
        for p in &personas {
            let call = w.call_for(op).await;
            let token = &p.token;
            let before = w.written().await;
            let (status, body) = w.send(Some(token), &call).await;
            let code = body["code"].as_str().unwrap_or_default();
            let scope = rule.scope(p.role);
            if allowed(scope, p.own) {
                let business = status.is_client_error()
                    && status != StatusCode::UNAUTHORIZED
                    && !AUTHORIZATION_CODES.contains(&code);
                if status.is_success() {
                    succeeded.push(op.clone());
                } else if !business {
                    failures.push(format!(
                        "{op} by {} ({}) should be allowed: {status} {body}",
                        p.name,
                        scope.label()
                    ));
                }
            } else if FILTERED.contains(&op.as_str()) && scope != Scope::Never {
                if status != StatusCode::OK || body["items"] != json!([]) {
                    failures.push(format!(
                        "{op} by {} ({}) should list nothing: {status} {body}",
                        p.name,
                        scope.label()
                    ));
                }
            } else {
                let refused = status == StatusCode::FORBIDDEN
                    || (status == StatusCode::NOT_FOUND && HIDDEN.contains(&code));
                if !refused {
                    failures.push(format!(
                        "{op} by {} ({}) should be refused: {status} {body}",
                        p.name,
                        scope.label()
                    ));
                } else if w.written().await != before {
                    failures.push(format!("{op} by {} was refused but wrote", p.name));
                }
            }
        }
    }
    for (_, _, op) in &ops {
        if !policy::PUBLIC_OPERATIONS.contains(&op.as_str()) && !succeeded.contains(op) {
            failures.push(format!(
                "{op}: no one it allows got a 2xx — the matrix's request is not valid"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    w.env.assert_ledger_ok().await;
    w.env.finish().await;
}

crate::with_each_backend!(role_by_route_matrix, matrix);
