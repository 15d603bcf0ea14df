//! A company's card money goes back to the company, never into a cashier's
//! hand. On the demo network as `fuelcard serve --demo` seeds it: a
//! counter closing a company sub-card with the company's (public)
//! registration document moves its balance to the company's main card and
//! pays no cash; a counter cannot close a main card at all; head office or
//! the company's own fleet manager closes it, once its sub-cards are
//! closed, and its balance is owed to the company for a bank transfer; a
//! personal card is still refunded in cash. The ledger check passes after
//! each.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::support::{Backend, Demo};

/// One demo company as the test sees it.
struct Company {
    id: i64,
    main: String,
    /// Its open sub-cards and fleet cards.
    subs: Vec<String>,
    document: Value,
}

/// What the stories ask of the demo network beyond requests.
impl Demo {
    /// A closure, under a fresh Idempotency-Key.
    async fn close(&self, token: &str, card: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            token,
            &format!("/api/v1/cards/{card}/closure"),
            Some(body),
        )
        .await
    }

    async fn read_card(&self, number: &str) -> Value {
        let r = self
            .get(&self.admin, &format!("/api/v1/cards/{number}"))
            .await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        r.1
    }

    /// An account's balance in fen, zero when it does not exist yet.
    async fn account(&self, name: &str) -> i64 {
        sqlx::query("SELECT balance_fen FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await
            .expect("an account")
            .map_or(0, |r| r.try_get("balance_fen").expect("a balance"))
    }

    async fn company(&self, name: &str) -> Company {
        let row = sqlx::query("SELECT id, id_kind, id_number FROM customers WHERE name = $1")
            .bind(name)
            .fetch_one(self.db.pool())
            .await
            .expect("the demo company");
        let id: i64 = row.try_get("id").expect("id");
        let document = json!({
            "document_kind": row.try_get::<String, _>("id_kind").expect("kind"),
            "document_number": row.try_get::<String, _>("id_number").expect("number"),
        });
        let cards = sqlx::query(
            "SELECT number, kind FROM cards WHERE customer_id = $1 AND status <> 'closed' \
             AND status <> 'replaced' ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await
        .expect("its cards");
        let mut main = None;
        let mut subs = Vec::new();
        for c in cards {
            let number: String = c.try_get("number").expect("number");
            match c.try_get::<String, _>("kind").expect("kind").as_str() {
                "company_main" => main = Some(number),
                _ => subs.push(number),
            }
        }
        Company {
            id,
            main: main.expect("a main card"),
            subs,
            document,
        }
    }

    /// What the counter and the station's books show: the station's cash
    /// account, the cashier's current shift, the day report.
    async fn books(&self, cashier: &str) -> (i64, Value, Value) {
        (
            self.account("cash:S002").await,
            self.get(cashier, "/api/v1/shifts/current").await.1,
            self.get(cashier, "/api/v1/stations/S002/day-report")
                .await
                .1,
        )
    }
}

/// Yuan text as fen.
fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not money: {v}"));
    let (y, f) = s.split_once('.').expect("two decimals");
    let sign = if y.starts_with('-') { -1 } else { 1 };
    sign * (y.trim_start_matches('-').parse::<i64>().expect("yuan") * 100
        + f.parse::<i64>().expect("fen"))
}

/// cashier2 at S002 closes a 顺达物流 sub-card on the company's
/// registration document: its whole balance moves to the main card, and
/// no cash leaves the counter — the cash account, the shift and the day
/// report are as they were.
async fn sub_card_back_to_the_main_card(backend: Backend) {
    let Some(net) = Demo::start(backend).await else {
        return;
    };
    let cashier = net.login("cashier2").await;
    let a = net.company("顺达物流有限公司").await;
    // The sub-card with the most money on it.
    let mut subs = Vec::new();
    for n in &a.subs {
        subs.push((fen(&net.read_card(n).await["balance"]), n.clone()));
    }
    subs.sort();
    let (balance, sub) = subs.last().cloned().expect("a sub-card");
    assert!(balance > 0, "the demo's sub-cards hold money: {subs:?}");
    let before_sub = net.read_card(&sub).await;
    let before_main = net.read_card(&a.main).await;
    let books = net.books(&cashier).await;

    let r = net
        .close(&cashier, &sub, json!({"identity": a.document}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["refunded"], json!("0.00"), "{}", r.1);
    assert_eq!(r.1["bonus_clawed_back"], json!("0.00"), "{}", r.1);
    assert_eq!(r.1["paid_by"], json!("main_card"), "{}", r.1);
    assert_eq!(r.1["to_main_card"], json!(a.main), "{}", r.1);
    assert_eq!(fen(&r.1["moved_to_main_card"]), balance, "{}", r.1);
    assert_eq!(r.1["moved_bonus"], before_sub["bonus_balance"], "{}", r.1);
    assert_eq!(r.1["payable"], json!("0.00"), "{}", r.1);

    let after_main = net.read_card(&a.main).await;
    assert_eq!(
        fen(&after_main["balance"]) - fen(&before_main["balance"]),
        balance,
        "the main card grew by the sub-card's balance: {before_main} → {after_main}"
    );
    assert_eq!(
        fen(&after_main["bonus_balance"]) - fen(&before_main["bonus_balance"]),
        fen(&before_sub["bonus_balance"]),
        "the bonus stays the company's"
    );
    let closed = net.read_card(&sub).await;
    assert_eq!(closed["status"], json!("closed"));
    assert_eq!(closed["balance"], json!("0.00"));
    assert_eq!(net.books(&cashier).await, books, "no cash left the counter");
    net.assert_ledger_ok().await;
    net.finish().await;
}
crate::with_each_backend!(
    a_sub_card_closes_to_its_main_card,
    sub_card_back_to_the_main_card
);

/// A counter cannot close a main card, with the company's document or its
/// PIN, and head office cannot either while sub-cards are open; nothing
/// changes. Once they are closed, head office closes 顺达物流's main card and
/// the company's own fleet manager 城建工程's (another company's fleet
/// manager cannot): each balance is owed to its company for a bank
/// transfer, the bonus clawed back, no cash paid out.
async fn main_card_by_head_office(backend: Backend) {
    let Some(net) = Demo::start(backend).await else {
        return;
    };
    let cashier = net.login("cashier2").await;
    let hq = net.login("hq-office").await;
    let fleet_a = net.login("fleet-a").await;
    let fleet_b = net.login("fleet-b").await;
    let a = net.company("顺达物流有限公司").await;
    let b = net.company("城建工程有限公司").await;
    let snapshot = async || {
        (
            net.count("operations").await,
            net.count("transfers").await,
            net.count("audit_log").await,
            net.read_card(&a.main).await,
            net.books(&cashier).await,
        )
    };

    let before = snapshot().await;
    for body in [
        json!({"identity": a.document}),
        json!({"pin": "8888"}),
        json!({}),
    ] {
        let r = net.close(&cashier, &a.main, body.clone()).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{body}: {}", r.1);
        assert_eq!(
            r.1["code"],
            json!("company_closure_head_office"),
            "{body}: {}",
            r.1
        );
        assert_eq!(snapshot().await, before, "{body}: a refused closure wrote");
    }
    let r = net.close(&hq, &a.main, json!({})).await;
    assert_eq!(
        r.1["code"],
        json!("invalid_transfer"),
        "sub-cards first: {}",
        r.1
    );
    let r = net.close(&fleet_b, &a.main, json!({})).await;
    assert!(
        r.0 == StatusCode::NOT_FOUND || r.1["code"] == json!("not_your_company"),
        "another company's fleet manager: {}",
        r.1
    );
    assert_eq!(snapshot().await, before, "a refused closure wrote");

    let cash = net.account("cash:S002").await;
    for company in [&a, &b] {
        for sub in &company.subs {
            let r = net
                .close(&cashier, sub, json!({"identity": company.document}))
                .await;
            assert_eq!(r.0, StatusCode::OK, "{sub}: {}", r.1);
            assert_eq!(r.1["paid_by"], json!("main_card"), "{}", r.1);
        }
    }
    assert_eq!(
        net.account("cash:S002").await,
        cash,
        "sub-cards pay no cash"
    );

    for (company, who) in [(&a, &hq), (&b, &fleet_b)] {
        let main = net.read_card(&company.main).await;
        let (principal, bonus) = (fen(&main["principal_balance"]), fen(&main["bonus_balance"]));
        assert!(principal > 0, "{main}");
        let payable = format!("payable:company:{}", company.id);
        if std::ptr::eq(who, &fleet_b) {
            let r = net.close(&fleet_a, &company.main, json!({})).await;
            assert!(
                r.0 == StatusCode::NOT_FOUND || r.1["code"] == json!("not_your_company"),
                "fleet-a closing 城建工程's main card: {}",
                r.1
            );
        }
        let r = net.close(who, &company.main, json!({})).await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert_eq!(r.1["paid_by"], json!("bank_transfer"), "{}", r.1);
        assert_eq!(r.1["refunded"], json!("0.00"), "{}", r.1);
        assert_eq!(fen(&r.1["payable"]), principal, "{}", r.1);
        assert_eq!(fen(&r.1["bonus_clawed_back"]), bonus, "{}", r.1);
        assert_eq!(net.account(&payable).await, principal);
        let closed = net.read_card(&company.main).await;
        assert_eq!(closed["status"], json!("closed"));
        assert_eq!(closed["balance"], json!("0.00"));
        let decided: String =
            sqlx::query("SELECT detail FROM audit_log WHERE action = 'closure' AND subject = $1")
                .bind(&company.main)
                .fetch_one(net.db.pool())
                .await
                .expect("the audit record")
                .try_get("detail")
                .expect("its detail");
        let decided: Value = serde_json::from_str(&decided).expect("json");
        let role = if std::ptr::eq(who, &hq) {
            "hq"
        } else {
            "fleet_manager"
        };
        assert_eq!(decided["decided_by"], json!(role), "{decided}");
        net.assert_ledger_ok().await;
    }
    assert_eq!(
        net.account("cash:S002").await,
        cash,
        "no cash for a company"
    );
    let r = net.get(&net.admin, "/api/v1/ledger/check").await;
    assert!(fen(&r.1["company_payables"]) > 0, "{}", r.1);
    net.finish().await;
}
crate::with_each_backend!(
    a_main_card_is_closed_by_head_office,
    main_card_by_head_office
);

/// A personal card is refunded in cash at the counter, as before: the cash
/// leaves the station's drawer.
async fn personal_card_cash(backend: Backend) {
    let Some(net) = Demo::start(backend).await else {
        return;
    };
    let cashier = net.login("cashier2").await;
    let row = sqlx::query(
        "SELECT c.number, u.id_number FROM cards c JOIN customers u ON u.id = c.customer_id \
         JOIN accounts a ON a.id = c.account_id \
         WHERE c.kind = 'personal' AND c.status = 'active' AND a.balance_fen > a.bonus_fen \
         AND a.held_fen = 0 ORDER BY c.id LIMIT 1",
    )
    .fetch_one(net.db.pool())
    .await
    .expect("a demo personal card with money");
    let number: String = row.try_get("number").expect("number");
    let document: String = row.try_get("id_number").expect("a document");
    let card = net.read_card(&number).await;
    let cash = net.account("cash:S002").await;
    let r = net
        .close(
            &cashier,
            &number,
            json!({"identity": {"document_kind": "resident_id", "document_number": document}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["paid_by"], json!("cash"), "{}", r.1);
    assert_eq!(r.1["refunded"], card["principal_balance"], "{}", r.1);
    assert_eq!(r.1["bonus_clawed_back"], card["bonus_balance"], "{}", r.1);
    assert_eq!(r.1["moved_to_main_card"], json!("0.00"), "{}", r.1);
    assert_eq!(r.1["payable"], json!("0.00"), "{}", r.1);
    assert_eq!(
        net.account("cash:S002").await - cash,
        fen(&card["principal_balance"]),
        "the refund left the drawer"
    );
    net.finish().await;
}
crate::with_each_backend!(a_personal_card_is_refunded_in_cash, personal_card_cash);

/// The counter page says where the money went, in the cashier's language:
/// a main card's page shows why the counter cannot close it (and a posted
/// closure is refused in words), a sub-card's closure shows its balance
/// moved to the main card and no cash paid out.
async fn closure_on_the_page(backend: Backend) {
    let Some(net) = Demo::start(backend).await else {
        return;
    };
    let a = net.company("顺达物流有限公司").await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let r = crate::pages::post_form(
        &c,
        format!("{}/login", net.base),
        &[("username", "cashier2"), ("password", "cashier2-demo")],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = crate::pages::html_of(&c, format!("{}/cards/{}", net.base, a.main)).await;
    assert!(html.contains("closure-head-office"), "{html}");
    assert!(html.contains("单位主卡由总部"), "{html}");
    assert!(
        !html.contains(&format!("/cards/{}/closure", a.main)),
        "no form: {html}"
    );
    let main_before = net.read_card(&a.main).await;
    let r = crate::pages::post_form(
        &c,
        format!("{}/cards/{}/closure", net.base, a.main),
        &[("key", "page-close-main"), ("confirm", "yes")],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.expect("html");
    assert!(html.contains("单位主卡销户须由总部"), "{html}");
    assert_eq!(net.read_card(&a.main).await, main_before, "nothing changed");

    let document = a.document["document_number"].as_str().expect("a number");
    let close = async |sub: &str, key: &str| {
        let r = crate::pages::post_form(
            &c,
            format!("{}/cards/{sub}/closure", net.base),
            &[
                ("key", key),
                ("confirm", "yes"),
                ("document_kind", "business_licence"),
                ("document_number", document),
            ],
        )
        .await
        .expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.expect("html")
    };
    let sub = &a.subs[0];
    let moved = net.read_card(sub).await["balance"].clone();
    let html = close(sub, "page-close-sub-0").await;
    assert!(html.contains("已转回单位主卡"), "{html}");
    assert!(html.contains(&a.main), "{html}");
    assert!(
        html.contains(&format!("¥{}", moved.as_str().expect("text"))),
        "{html}"
    );
    assert!(html.contains("不付现金"), "{html}");

    let r = c
        .get(format!("{}/lang/en", net.base))
        .send()
        .await
        .expect("answer");
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = close(&a.subs[1], "page-close-sub-1").await;
    assert!(
        html.contains("Moved to the company&#39;s main card")
            || html.contains("Moved to the company's main card"),
        "{html}"
    );
    assert!(html.contains("No cash is paid out"), "{html}");
    net.finish().await;
}
crate::with_each_backend!(
    the_counter_page_shows_where_the_money_went,
    closure_on_the_page
);
