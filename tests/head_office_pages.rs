//! Head office's pages: its home, merchants, offers (created from the form
//! and ended early), the month's targets, credit lines and reminders, new
//! customers and customer archives — posted as a browser posts them, on
//! both backends, and checked against what the API reads back; other
//! roles are refused.
//! Then one run in a real headless Chromium on the demo network: head
//! office creates an offer from the keyboard.

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pages::{browser, page, session, start_driver, submit};
use crate::support::{Backend, Demo, TestEnv};
use crate::with_each_backend;

/// The part of a page from the element with `id` to the end of its table
/// (or the page).
fn part<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("id=\"{id}\"")).nth(1).unwrap_or("")
}

/// A recharge of `amount` at S1 by cashier1: the benefits it granted.
async fn recharge(env: &TestEnv, card: &str, amount: &str) -> Value {
    let cashier = env.login("cashier1").await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": amount, "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["benefits"].clone()
}

/// The merchant form: registered with its stations, listed; a refusal
/// keeps what was typed.
async fn merchants(env: &TestEnv, c: &reqwest::Client) {
    let (status, went, html) = submit(
        c,
        env,
        "/merchants",
        &[
            ("key", "m-1"),
            ("code", "M-HQ"),
            ("name", "城东洗车行"),
            ("category", "car_wash"),
            ("contact", "王经理"),
            ("stations", "S1"),
            ("stations", "S2"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(went.starts_with("/merchants?done=M-HQ"), "{went}");
    let m = env.get(&env.admin, "/api/v1/merchants/M-HQ").await;
    assert_eq!(m.0, StatusCode::OK, "{}", m.1);
    assert_eq!(m.1["stations"], json!(["S1", "S2"]), "{}", m.1);
    assert_eq!(m.1["category"], json!("car_wash"));
    let html = page(c, env, &went).await;
    let row = part(&html, "merchant-M-HQ");
    assert!(
        row.contains("城东洗车行") && row.contains("S1, S2") && row.contains("洗车"),
        "{row}"
    );
    // Filtered by words that match none.
    let html = page(c, env, "/merchants?q=nothing-like-it").await;
    assert!(html.contains("id=\"no-merchants\""), "{html}");
    // A code with a space: refused, everything typed kept, the field named.
    let (status, _, html) = submit(
        c,
        env,
        "/merchants",
        &[
            ("key", "m-2"),
            ("code", "M HQ"),
            ("name", "城西餐饮"),
            ("category", "restaurant"),
            ("stations", "S2"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"M HQ\"") && html.contains("value=\"城西餐饮\""),
        "{html}"
    );
    let code = part(&html, "m-code");
    assert!(
        code.split('>')
            .next()
            .unwrap_or("")
            .contains("aria-invalid"),
        "{code}"
    );
    assert!(html.contains("id=\"field-at-fault\""), "{html}");
    let stations = part(&html, "m-stations");
    assert!(
        stations.contains("value=\"S2\" checked"),
        "the ticked station stays ticked: {stations}"
    );
}

/// The offer form: a refusal keeps what was typed and names the field;
/// the offer saved reads back from the API as typed, a recharge grants it,
/// and once ended early nothing more is granted.
async fn offers(env: &TestEnv, c: &reqwest::Client) {
    let html = page(c, env, "/offers/new").await;
    assert!(
        html.contains("id=\"offer-form\"") && html.contains("value=\"M-HQ\""),
        "{html}"
    );
    let mut form = vec![
        ("key", "o-1"),
        ("code", "HQ-WASH"),
        ("merchant", "M-HQ"),
        ("name", "充值满500送洗车"),
        ("trigger.event", "recharge"),
        ("trigger.min_amount", "500"),
        ("trigger.card_kinds", "personal"),
        ("trigger.stations", "S1"),
        ("trigger.first_n", "100"),
        ("benefit.kind", "discount"),
        ("benefit.item", "普通洗车"),
        ("unit_cost", "30.00"),
        ("funded_by.station_percent", "60"),
        ("funded_by.merchant_percent", "40"),
        ("budget_count", "10"),
        ("budget_amount", "300.00"),
        ("per_customer", "2"),
        ("valid_days", "30"),
        ("needs_consent", "yes"),
    ];
    // A discount that is neither a percent nor an amount.
    let (status, _, html) = submit(c, env, "/offers", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"充值满500送洗车\"") && html.contains("value=\"普通洗车\""),
        "what was typed stays: {html}"
    );
    let percent = part(&html, "o-percent");
    assert!(
        percent
            .split('>')
            .next()
            .unwrap_or("")
            .contains("aria-invalid"),
        "{percent}"
    );
    assert!(part(&html, "field-at-fault").contains("折扣比例"), "{html}");
    assert!(
        part(&html, "o-card-kinds").contains("value=\"personal\" checked"),
        "{html}"
    );
    assert_eq!(env.count("offers").await, 0);
    // A voucher instead: saved.
    form.retain(|(k, _)| *k != "benefit.kind");
    form.push(("benefit.kind", "voucher"));
    form[0] = ("key", "o-2");
    let (status, went, html) = submit(c, env, "/offers", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(went.starts_with("/offers?done=HQ-WASH"), "{went}");
    let o = env.get(&env.admin, "/api/v1/offers/HQ-WASH").await.1;
    for (field, want) in [
        ("merchant", json!("M-HQ")),
        ("event", json!("recharge")),
        ("min_amount", json!("500.00")),
        ("card_kinds", json!(["personal"])),
        ("stations", json!(["S1"])),
        ("first_n", json!(100)),
        ("benefit", json!("voucher")),
        ("item", json!("普通洗车")),
        ("unit_cost", json!("30.00")),
        (
            "funded_by",
            json!({"station_percent": 60, "merchant_percent": 40}),
        ),
        ("budget_count", json!(10)),
        ("budget_amount", json!("300.00")),
        ("per_customer", json!(2)),
        ("valid_days", json!(30)),
        ("needs_consent", json!(true)),
        ("ends_at", Value::Null),
    ] {
        assert_eq!(o[field], want, "{field}: {o}");
    }
    let html = page(c, env, &went).await;
    let row = part(&html, "offer-HQ-WASH");
    assert!(
        row.contains("进行中") && row.contains("/offers/HQ-WASH/end"),
        "{row}"
    );
    assert!(
        row.contains("<td class=\"num\">0 / 10</td>"),
        "numbers right-aligned: {row}"
    );
    // A recharge of 500 at S1 grants it.
    let cashier = env.login("cashier1").await;
    let holder = env.new_person(&cashier, "李娜", "13900000011").await;
    let card = env
        .new_card(&cashier, json!({"kind": "personal", "customer_id": holder}))
        .await;
    let granted = recharge(env, &card, "500").await;
    assert_eq!(granted[0]["item"], json!("普通洗车"), "{granted}");
    // Ended early from its row: the next recharge grants nothing.
    let (status, went, html) = submit(c, env, "/offers/HQ-WASH/end", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(went.starts_with("/offers?ended=HQ-WASH"), "{went}");
    assert!(page(c, env, &went).await.contains("活动已提前结束"));
    let o = env.get(&env.admin, "/api/v1/offers/HQ-WASH").await.1;
    assert!(o["ends_at"].is_string(), "{o}");
    assert_eq!(o["granted"], json!(1), "{o}");
    let granted = recharge(env, &card, "600").await;
    assert!(
        granted.as_array().is_none_or(|g| g.is_empty()),
        "an ended offer grants nothing: {granted}"
    );
    let html = page(c, env, "/offers?status=ended").await;
    let row = part(&html, "offer-HQ-WASH");
    assert!(row.contains("已结束") && !row.contains("/end\""), "{row}");
    let html = page(c, env, "/offers?status=active").await;
    assert!(!html.contains("id=\"offer-HQ-WASH\""), "{html}");
    // Ending it again changes nothing.
    let (status, _, _) = submit(c, env, "/offers/HQ-WASH/end", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let again = env.get(&env.admin, "/api/v1/offers/HQ-WASH").await.1;
    assert_eq!(again["ends_at"], o["ends_at"]);
}

/// The month's targets for the district and a station: shown on the
/// tracking page; a bad amount is refused with every cell kept.
async fn targets(env: &TestEnv, c: &reqwest::Client) {
    let month = env.month();
    let r = c
        .get(format!("{}/targets", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()["location"],
        format!("/targets/{month}").as_str()
    );
    let path = format!("/targets/{month}");
    let html = page(c, env, &path).await;
    assert!(
        html.contains("name=\"d:东区:new_personal\"") && html.contains("name=\"s:S1:card_litres\""),
        "{html}"
    );
    let (status, _, html) = submit(
        c,
        env,
        &path,
        &[
            ("d:东区:new_personal", "20"),
            ("s:S1:new_personal", "8"),
            ("s:S1:first_recharge_amount", "abc"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let cell = part(&html, "target-s-S1");
    assert!(
        cell.contains("value=\"abc\"") && cell.contains("aria-invalid"),
        "{cell}"
    );
    assert!(
        part(&html, "target-d-东区").contains("value=\"20\""),
        "{html}"
    );
    let (status, went, html) = submit(
        c,
        env,
        &path,
        &[
            ("d:东区:new_personal", "20"),
            ("s:S1:new_personal", "8"),
            ("s:S1:card_litres", "20000"),
            ("s:S2:new_company", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(went, format!("{path}?saved=2"));
    let t = env
        .get(&env.admin, &format!("/api/v1/targets/{month}?station=S1"))
        .await
        .1;
    let line = t["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["station"] == json!("S1")))
        .unwrap_or_else(|| panic!("S1: {t}"));
    assert_eq!(line["target"]["new_personal"], json!(8), "{line}");
    let html = page(c, env, &format!("/acquisition?month={month}")).await;
    assert!(
        html.contains(" / 8</span>") && html.contains(" / 20</span>"),
        "the targets on the tracking page: {html}"
    );
    let html = page(c, env, &went).await;
    assert!(html.contains("id=\"saved\""), "{html}");
    assert!(part(&html, "target-s-S1").contains("value=\"8\""), "{html}");
}

/// A customer's archive from its page: changed, a contact added, a
/// refusal that keeps what was typed.
async fn archive(env: &TestEnv, c: &reqwest::Client, company: i64) {
    let html = page(c, env, &format!("/customers/{company}")).await;
    assert!(
        html.contains(&format!("href=\"/customers/{company}/archive\"")),
        "{html}"
    );
    let path = format!("/customers/{company}/archive");
    let html = page(c, env, &path).await;
    assert!(html.contains("id=\"archive-form\""), "{html}");
    let long = "9".repeat(40);
    let (status, _, html) = submit(
        c,
        env,
        &path,
        &[
            ("preferred_station", "S2"),
            ("registration_number", &long),
            ("notes", "每月25日对账"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains(&format!("value=\"{long}\"")) && html.contains("每月25日对账"),
        "{html}"
    );
    assert!(
        part(&html, "a-registration")
            .split('>')
            .next()
            .unwrap_or("")
            .contains("aria-invalid"),
        "{html}"
    );
    let (status, went, html) = submit(
        c,
        env,
        &path,
        &[
            ("preferred_station", "S2"),
            ("registration_number", "91330100MA27HQ001X"),
            ("notes", "每月25日对账"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(went, format!("/customers/{company}"));
    let (status, went, html) = submit(
        c,
        env,
        &format!("/customers/{company}/contacts"),
        &[
            ("key", "contact-1"),
            ("name", "赵会计"),
            ("role", "财务"),
            ("phone", "13700000001"),
            ("decision_maker", "yes"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(went.starts_with(&path), "{went}");
    let a = env
        .get(&env.admin, &format!("/api/v1/customers/{company}/timeline"))
        .await
        .1;
    let a = &a["customer"];
    assert_eq!(a["preferred_station"], json!("S2"), "{a}");
    assert_eq!(a["notes"], json!("每月25日对账"), "{a}");
    assert_eq!(a["registration_number"], json!("91330100MA27HQ001X"), "{a}");
    assert_eq!(a["contacts"][0]["name"], json!("赵会计"), "{a}");
    assert_eq!(a["contacts"][0]["decision_maker"], json!(true), "{a}");
}

/// The line form for a company without a line: refused with what was
/// typed, then set; the account page is where it leads.
async fn credit_line(env: &TestEnv, c: &reqwest::Client, company: i64) {
    let path = format!("/customers/{company}/credit-line");
    let html = page(c, env, &path).await;
    assert!(html.contains("id=\"no-line\""), "{html}");
    let (status, _, html) = submit(
        c,
        env,
        &path,
        &[
            ("limit", "3000.00"),
            ("statement_day", "40"),
            ("days_to_pay", "10"),
            ("grace_days", "5"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"3000.00\"") && html.contains("value=\"40\""),
        "{html}"
    );
    assert!(
        part(&html, "statement-day")
            .split('>')
            .next()
            .unwrap_or("")
            .contains("aria-invalid"),
        "{html}"
    );
    let (status, went, html) = submit(
        c,
        env,
        &path,
        &[
            ("limit", "3000.00"),
            ("statement_day", "25"),
            ("days_to_pay", "10"),
            ("grace_days", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(went, format!("/credit/{company}"));
    let line = env
        .get(
            &env.admin,
            &format!("/api/v1/customers/{company}/credit-line"),
        )
        .await
        .1;
    assert_eq!(line["limit"], json!("3000.00"), "{line}");
}

/// Whether the input with `id` is marked at fault.
fn marked(html: &str, id: &str) -> bool {
    part(html, id)
        .split('>')
        .next()
        .unwrap_or("")
        .contains("aria-invalid")
}

/// The new-customer form, as head office's administrator records one: a
/// refusal keeps what was typed and names the field (a phone that is no
/// phone; a consent to share without the document typed), and the
/// customer recorded is shown on their page and reads back from the API.
/// Head office's staff (`hq`) record no customers: the policy leaves that
/// to the administrator and the counters, so their home offers no form.
async fn new_customer(env: &TestEnv, hq: &reqwest::Client) {
    let home = page(hq, env, "/head-office").await;
    assert!(!home.contains("href=\"/customers/new\""), "{home}");
    let r = hq
        .get(format!("{}/customers/new", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let c = session(env, "admin").await;
    let home = page(&c, env, "/head-office").await;
    assert!(
        part(&home, "tasks").contains("href=\"/customers/new\"")
            && part(&home, "find-customer").contains("href=\"/customers/new\""),
        "{home}"
    );
    let html = page(&c, env, "/customers/new").await;
    assert!(html.contains("id=\"customer-form\""), "{html}");
    let before = env.count("customers").await;
    let mut form = vec![
        ("key", "cu-1"),
        ("kind", "company"),
        ("name", "城西建材有限公司"),
        ("phone", "电话待补"),
        ("id_kind", "business_licence"),
        ("id_number", ""),
        ("contact_name", "钱经理"),
        ("address", "杭州市西湖区文三路1号"),
        ("share_with_partners", "yes"),
        ("marketing", "yes"),
    ];
    let (status, _, html) = submit(&c, env, "/customers", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(marked(&html, "cu-phone"), "{html}");
    assert!(part(&html, "field-at-fault").contains("手机号"), "{html}");
    assert!(
        html.contains("value=\"城西建材有限公司\"")
            && html.contains("value=\"钱经理\"")
            && html.contains("value=\"杭州市西湖区文三路1号\""),
        "what was typed stays: {html}"
    );
    assert!(
        part(&html, "cu-id-kind").contains("value=\"business_licence\" selected"),
        "{html}"
    );
    assert!(
        part(&html, "cu-share")
            .split('>')
            .next()
            .unwrap_or("")
            .contains("checked"),
        "{html}"
    );
    // A consent to share with partners without the document typed.
    form[3] = ("phone", "0571-88886666");
    let (status, _, html) = submit(&c, env, "/customers", &form).await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(marked(&html, "cu-id-number"), "{html}");
    assert!(part(&html, "field-at-fault").contains("证件号码"), "{html}");
    assert!(html.contains("value=\"0571-88886666\""), "{html}");
    assert_eq!(env.count("customers").await, before);
    // Typed from the licence shown: recorded, and its page shown.
    form[5] = ("id_number", "91330100MA2CX0001K");
    let (status, went, html) = submit(&c, env, "/customers", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let id: i64 = went
        .strip_prefix("/customers/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to the customer's page: {went}"));
    let html = page(&c, env, &went).await;
    assert!(html.contains("城西建材有限公司"), "{html}");
    let a = env
        .get(&env.admin, &format!("/api/v1/customers/{id}"))
        .await;
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    for (field, want) in [
        ("kind", json!("company")),
        ("name", json!("城西建材有限公司")),
        ("phone", json!("0571-88886666")),
        ("id_kind", json!("business_licence")),
        ("id_number", json!("91330100MA2CX0001K")),
        ("contact_name", json!("钱经理")),
        (
            "consents",
            json!({"share_with_partners": true, "marketing": true}),
        ),
    ] {
        assert_eq!(a.1[field], want, "{field}: {}", a.1);
    }
    // The same form posted again under its key: the same customer.
    let (status, again, _) = submit(&c, env, "/customers", &form).await;
    assert_eq!((status, again), (StatusCode::SEE_OTHER, went));
    assert_eq!(env.count("customers").await, before + 1);
}

/// Other roles: none of head office's pages, and no button to press.
async fn others_refused(env: &TestEnv) {
    let c = session(env, "cashier1").await;
    for path in ["/head-office", "/merchants", "/offers", "/offers/new"] {
        let r = c
            .get(format!("{}{path}", env.base))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let month = env.month();
    for path in [format!("/targets/{month}"), "/credit/reminders".to_string()] {
        let r = c
            .get(format!("{}{path}", env.base))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let before = env.count("offers").await;
    let (status, _, _) = submit(&c, env, "/offers/HQ-WASH/end", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = submit(
        &c,
        env,
        "/offers",
        &[("code", "CASHIER"), ("merchant", "M-HQ"), ("name", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = submit(
        &c,
        env,
        &format!("/targets/{month}"),
        &[("s:S1:new_personal", "1")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(env.count("offers").await, before);
}

async fn head_office_pages(backend: Backend) {
    let Some(env) = TestEnv::start(backend).await else {
        return;
    };
    env.add_user("hq1", "hq", None, None).await;
    let c = session(&env, "hq1").await;
    let home = page(&c, &env, "/head-office").await;
    for link in [
        "href=\"/merchants\"",
        "href=\"/offers/new\"",
        "href=\"/offers\"",
        "href=\"/credit/reminders\"",
        "href=\"/targets/",
        "href=\"/acquisition?month=",
    ] {
        assert!(home.contains(link), "{link}: {home}");
    }
    merchants(&env, &c).await;
    offers(&env, &c).await;
    targets(&env, &c).await;
    let cashier = env.login("cashier1").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达物流"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let company = r.1["id"].as_i64().expect("an id");
    archive(&env, &c, company).await;
    credit_line(&env, &c, company).await;
    others_refused(&env).await;
    new_customer(&env, &c).await;

    // A sale on the company's line, then the statement issued on the 25th
    // and past due: the reminder is listed.
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let hq = env.login("hq1").await;
    let r = env
        .post(
            &hq,
            "/api/v1/cards",
            json!({"kind": "company_sub", "customer_id": company, "credit": true}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = r.1["number"].as_str().expect("a number").to_string();
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "95", "amount": "400.00"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let env = env.on_day("2026-12-10T10:00:00+08:00").await;
    let c = session(&env, "hq1").await;
    let html = page(&c, &env, "/credit/reminders").await;
    let list = part(&html, "reminders");
    assert!(
        list.contains("顺达物流") && list.contains("<td class=\"num\">400.00</td>"),
        "{html}"
    );
    assert!(
        list.contains(&format!("href=\"/customers/{company}/credit-line\"")),
        "{list}"
    );
    let html = page(&c, &env, "/credit/reminders?status=overdue").await;
    assert!(html.contains("id=\"no-reminders\""), "{html}");
    let html = page(&c, &env, "/credit/reminders?q=顺达").await;
    assert!(part(&html, "reminders").contains("顺达物流"), "{html}");
    // The company number leads to the account, or to its line.
    let r = c
        .get(format!(
            "{}/head-office/credit?id={company}&to=line",
            env.base
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()["location"],
        format!("/customers/{company}/credit-line").as_str()
    );
    env.assert_ledger_ok().await;
    env.finish().await;
}
with_each_backend!(head_office_pages_over_http, head_office_pages);

/// Head office logs in on the demo network and creates an offer from the
/// keyboard; the form is kept as a Chinese screenshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_head_office_creates_an_offer() {
    let Some(driver) = start_driver() else { return };
    let demo = Demo::start(Backend::Sqlite).await.expect("sqlite");
    let b = browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", demo.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("hq-office")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("hq-office-demo\n")
            .await?;
        b.wait().for_element(Locator::Css("header")).await?;
        b.goto(&format!("{}/head-office", demo.base)).await?;
        b.wait()
            .for_element(Locator::Css("#tasks a[href='/offers/new']"))
            .await?
            .click()
            .await?;
        // The code has the focus: typed straight in, then field by field.
        let code = b.wait().for_element(Locator::Id("o-code")).await?;
        let focused = b.active_element().await?;
        assert_eq!(focused.attr("id").await?.as_deref(), Some("o-code"));
        code.send_keys("HQ-TEA").await?;
        for (id, keys) in [
            ("o-name", "加油满300送茶饮"),
            ("o-min", "300"),
            ("o-item", "柠檬茶一杯"),
            ("o-unit-cost", "8.00"),
            ("o-station-percent", "\u{E003}\u{E003}50"),
            ("o-merchant-percent", "\u{E003}\u{E003}\u{E003}50"),
            ("o-budget-count", "200"),
            ("o-per-customer", "1"),
            ("o-valid-days", "30"),
        ] {
            b.find(Locator::Id(id)).await?.send_keys(keys).await?;
        }
        // A station ticked with the space bar.
        b.find(Locator::Css("#o-stations input[value='S001']"))
            .await?
            .send_keys(" ")
            .await?;
        let shot = b.keep_screenshot("fuelcard-offer-new.png").await?;
        let png = std::fs::read(&shot).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000);
        eprintln!("offer form screenshot: {}", shot.display());
        // Enter in the last field saves it.
        b.find(Locator::Id("o-valid-days"))
            .await?
            .send_keys("\n")
            .await?;
        let row = b
            .wait()
            .for_element(Locator::Id("offer-HQ-TEA"))
            .await?
            .text()
            .await?;
        assert!(
            row.contains("进行中") && row.contains("柠檬茶一杯"),
            "{row}"
        );
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    let hq = demo.login("hq-office").await;
    let o = demo.get(&hq, "/api/v1/offers/HQ-TEA").await;
    assert_eq!(o.0, StatusCode::OK, "{}", o.1);
    assert_eq!(o.1["stations"], json!(["S001"]), "{}", o.1);
    assert_eq!(o.1["min_amount"], json!("300.00"), "{}", o.1);
    assert_eq!(
        o.1["funded_by"],
        json!({"station_percent": 50, "merchant_percent": 50}),
        "{}",
        o.1
    );
    demo.finish().await;
}
