//! The customer-relationship and credit pages: a complaint recorded at the
//! counter and taken through assignment, answer, follow-up and closing on
//! the board, flagged when a stage's time limit passes; a dormant
//! customer's call recorded on the call-back list; the customer's page
//! with their lifecycle and timeline; and a company's credit account after
//! a credit sale, with its statement, its CSV and head office's payment —
//! over plain HTTP on both backends, and in a headless Chromium.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pages::{log_in, page, session, submit};
use crate::support::{Backend, TestEnv};

/// The table row of a page whose element id is `id`, up to its end.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {id}: {html}"))
}

/// The number after `#complaint-` in where a recorded complaint sends the
/// browser.
fn complaint_id(location: &str) -> i64 {
    location
        .strip_prefix("/complaints#complaint-")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("sent to {location}"))
}

/// A complaint as the API reads it.
async fn complaint(env: &TestEnv, id: i64) -> Value {
    let r = env
        .get(&env.admin, &format!("/api/v1/complaints/{id}"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    r.1
}

/// On the days they happen: the counter records two complaints (one twice,
/// under one key; one refused first and shown again as typed); the
/// station manager takes the first through to closing from its row's
/// forms; the next day the other is flagged for its missed assignment;
/// seven weeks on the customer who never refuelled is on the call-back
/// list, their call recorded once; their page shows them dormant with the
/// complaint on their timeline.
async fn complaints_and_callbacks(backend: Backend) {
    let settings = crate::support::settings_at("2026-11-02T10:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    env.add_user("manager-s1", "station_manager", Some("S1"), None)
        .await;
    let cashier = env.login("cashier1").await;
    let customer = env.new_person(&cashier, "张伟", "13800000001").await;
    let card = env
        .new_card(
            &cashier,
            json!({"kind": "personal", "customer_id": customer}),
        )
        .await;
    let customer_text = customer.to_string();

    // The counter records a complaint: a refusal keeps what was typed.
    let counter = session(&env, "cashier1").await;
    let home = page(&counter, &env, "/").await;
    assert!(
        home.contains("href=\"/complaints\"") && home.contains("href=\"/callbacks\""),
        "{home}"
    );
    let (status, _, html) = submit(
        &counter,
        &env,
        "/complaints",
        &[
            ("key", "complaint-0"),
            ("channel", "phone"),
            ("category", "price"),
            ("customer_id", &customer_text),
            ("text", "   "),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("请检查：投诉内容"), "{html}");
    assert!(
        html.contains(&format!("value=\"{customer}\""))
            && html.contains("<option value=\"price\" selected>"),
        "typed values kept: {html}"
    );
    let form = [
        ("key", "complaint-1"),
        ("channel", "counter"),
        ("category", "quantity"),
        ("customer_id", customer_text.as_str()),
        ("text", "加油机跳枪，少加了2升"),
    ];
    let (status, location, _) = submit(&counter, &env, "/complaints", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let first = complaint_id(&location);
    let (_, again, _) = submit(&counter, &env, "/complaints", &form).await;
    assert_eq!(again, location, "a double click records once");
    assert_eq!(env.count("complaints").await, 1);
    let (_, location, _) = submit(
        &counter,
        &env,
        "/complaints",
        &[
            ("key", "complaint-2"),
            ("channel", "hotline"),
            ("category", "service"),
            ("customer_id", ""),
            ("text", "收银员态度差"),
        ],
    )
    .await;
    let second = complaint_id(&location);
    let board = page(&counter, &env, "/complaints").await;
    let r = row(&board, &format!("complaint-{first}"));
    assert!(
        r.contains("加油数量") && r.contains("已受理") && r.contains("柜台"),
        "{r}"
    );
    assert!(
        !board.contains("/move\""),
        "a cashier records but does not work complaints: {board}"
    );

    // The station manager: assign (a mistyped name refused and kept),
    // answer, follow up — the customer not satisfied, so it is reopened
    // and answered again — and close, each from the complaint's row.
    let manager = session(&env, "manager-s1").await;
    let step = |form: Vec<(&'static str, &'static str)>| {
        let manager = manager.clone();
        let env = &env;
        async move { submit(&manager, env, &format!("/complaints/{first}/move"), &form).await }
    };
    let (status, _, html) = step(vec![("step", "assign"), ("assignee", "nobody")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(html.contains("value=\"nobody\""), "{html}");
    assert!(!html.contains("user_not_found"), "no raw codes: {html}");
    for (form, shown) in [
        (
            vec![("step", "assign"), ("assignee", "cashier1")],
            &["已分派"][..],
        ),
        (
            vec![("step", "answer"), ("answer", "已核实，退还差价")],
            &["已答复"],
        ),
        (
            vec![
                ("step", "follow_up"),
                ("satisfied", "no"),
                ("notes", "客户仍有意见"),
            ],
            &["已分派", "不满意", "客户仍有意见", "name=\"answer\""],
        ),
        (
            vec![("step", "answer"), ("answer", "再次核实，已补开发票")],
            &["已答复"],
        ),
        (
            vec![("step", "follow_up"), ("satisfied", "yes")],
            &["已回访"],
        ),
        (vec![("step", "close")], &["已结案"]),
    ] {
        let (status, location, html) = step(form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(location, format!("/complaints#complaint-{first}"));
        let board = page(&manager, &env, "/complaints").await;
        let r = row(&board, &format!("complaint-{first}"));
        for shown in shown {
            assert!(r.contains(shown), "{shown}: {r}");
        }
    }
    let c = complaint(&env, first).await;
    assert_eq!(
        (&c["status"], &c["assignee"], &c["satisfied"], &c["answer"]),
        (
            &json!("closed"),
            &json!("cashier1"),
            &json!(true),
            &json!("再次核实，已补开发票")
        ),
        "{c}"
    );
    let board = page(&manager, &env, "/complaints").await;
    let r = row(&board, &format!("complaint-{first}"));
    assert!(
        r.contains("满意") && !r.contains("不满意") && !r.contains("<form"),
        "{r}"
    );
    let r = row(&board, &format!("complaint-{second}"));
    assert!(!r.contains("逾期"), "not late yet: {r}");
    // Closed twice: refused in the manager's words.
    let (status, _, html) = step(vec![("step", "close")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("class=\"error\""), "{html}");

    // The next day: the second complaint missed its assignment.
    let env = env.on_day("2026-11-03T12:00:00+08:00").await;
    let manager = session(&env, "manager-s1").await;
    let board = page(&manager, &env, "/complaints").await;
    let r = row(&board, &format!("complaint-{second}"));
    assert!(
        r.contains("逾期未分派") && board.contains("class=\"overdue\""),
        "{r}"
    );
    assert_eq!(
        complaint(&env, second).await["overdue"],
        json!("assign"),
        "the page flags what the API does"
    );
    let counts = board.split("id=\"counts\"").nth(1).expect("the counts");
    let quantity = counts
        .split("<tr>")
        .find(|r| r.contains("加油数量"))
        .unwrap_or_else(|| panic!("{counts}"));
    assert!(
        quantity.contains("<td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">0</td>"),
        "received, closed, in time, unsatisfied, reopened, overdue: {quantity}"
    );

    // Seven weeks after the card was opened, never used: a call-back.
    let env = env.on_day("2026-12-20T12:00:00+08:00").await;
    let counter = session(&env, "cashier1").await;
    let list = page(&counter, &env, "/callbacks").await;
    let r = row(&list, &format!("callback-{customer}"));
    assert!(
        r.contains("张伟") && r.contains("从未加油") && r.contains("cashier1"),
        "{r}"
    );
    assert!(
        r.contains("<td class=\"num\">48</td>"),
        "48 quiet days: {r}"
    );
    assert!(!r.contains("13800000001"), "the phone masked: {r}");
    let call = [
        ("key", "call-1"),
        ("outcome", "will_return"),
        ("notes", "说下周来"),
    ];
    let path = format!("/callbacks/{customer}/calls");
    for _ in 0..2 {
        let (status, location, _) = submit(&counter, &env, &path, &call).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, format!("/callbacks#callback-{customer}"));
    }
    assert_eq!(env.count("callback_calls").await, 1, "recorded once");
    let list = page(&counter, &env, "/callbacks").await;
    let r = row(&list, &format!("callback-{customer}"));
    assert!(
        r.contains("表示会回来加油") && r.contains("说下周来"),
        "{r}"
    );

    // The customer's page, from their card's page.
    let card_page = page(&counter, &env, &format!("/cards/{card}")).await;
    assert!(
        card_page.contains(&format!("href=\"/customers/{customer}\"")),
        "{card_page}"
    );
    let html = page(&counter, &env, &format!("/customers/{customer}")).await;
    assert!(html.contains("张伟"), "{html}");
    let lifecycle = html.split("id=\"lifecycle\"").nth(1).expect("lifecycle");
    assert!(lifecycle.starts_with(">沉睡<"), "{lifecycle}");
    let timeline = html.split("id=\"timeline\"").nth(1).expect("the timeline");
    for shown in ["开卡", "投诉受理", "投诉结案", card.as_str()] {
        assert!(timeline.contains(shown), "{shown}: {timeline}");
    }
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(crm_pages, complaints_and_callbacks);

/// A company on credit (10,000.00, statement day 25, 10 days to pay, 5 of
/// grace), given by head office on its account page; a card on the line,
/// opened by its fleet manager. Returns the company and the card.
async fn company_on_credit(env: &TestEnv, hq: &reqwest::Client) -> (i64, String) {
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/95/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
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
    let account = format!("/credit/{company}");
    let html = page(hq, env, &account).await;
    assert!(
        html.contains("id=\"no-line\"") && html.contains("id=\"set-line\""),
        "{html}"
    );
    let line = format!("{account}/line");
    let (status, _, html) = submit(
        hq,
        env,
        &line,
        &[
            ("limit", "十万"),
            ("statement_day", "25"),
            ("days_to_pay", "10"),
            ("grace_days", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("value=\"十万\""), "typed values kept: {html}");
    let (status, location, _) = submit(
        hq,
        env,
        &line,
        &[
            ("limit", "10000.00"),
            ("statement_day", "25"),
            ("days_to_pay", "10"),
            ("grace_days", "5"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, account.as_str())
    );
    env.add_user("fleet-a", "fleet_manager", None, Some(company))
        .await;
    let manager = env.login("fleet-a").await;
    let r = env
        .post(
            &manager,
            "/api/v1/cards",
            json!({"kind": "company_sub", "customer_id": company, "credit": true}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    (
        company,
        r.1["number"].as_str().expect("a number").to_string(),
    )
}

/// Head office reads a company's account after a credit sale: the line's
/// used and left, the open month's statement with the sale by card, its
/// printable page and CSV; books a payment once however often the form is
/// sent; the fleet manager reads the account but books nothing; a cashier
/// is refused it.
async fn credit_pages_over_http(env: &TestEnv) {
    env.add_user("hq1", "hq", None, None).await;
    let hq = session(env, "hq1").await;
    let home = page(&hq, env, "/credit").await;
    assert!(home.contains("href=\"/credit\""), "HQ's nav: {home}");
    let (company, card) = company_on_credit(env, &hq).await;
    let cashier = env.login("cashier1").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "95", "amount": "200.00"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    let account = format!("/credit/{company}");
    let html = page(&hq, env, &account).await;
    let grid = html.split("id=\"line\"").nth(1).expect("the line");
    for (id, value) in [
        ("line-limit", "¥10000.00"),
        ("line-used", "¥200.00"),
        ("line-left", "¥9800.00"),
    ] {
        assert!(
            grid.contains(&format!("id=\"{id}\">{value}<")),
            "{id} {value}: {grid}"
        );
    }
    let month = env.month();
    let statement = html
        .split("id=\"statement\"")
        .nth(1)
        .expect("the statement");
    assert!(
        statement.contains(&month) && statement.contains("本期未出账"),
        "{statement}"
    );
    let by_card = statement.split("id=\"by-card\"").nth(1).expect("by card");
    let r = by_card
        .split("<tr>")
        .find(|r| r.contains(&card))
        .unwrap_or_else(|| panic!("{card}: {by_card}"));
    assert!(r.contains("200.00") && r.contains("25.00"), "{r}");
    let print = format!("{account}/statements/{month}");
    assert!(html.contains(&format!("href=\"{print}\"")), "{html}");
    let printable = page(&hq, env, &print).await;
    assert!(
        printable.contains("挂账对账单")
            && printable.contains(&card)
            && printable.contains("@media print"),
        "{printable}"
    );
    let csv = page(&hq, env, &format!("{print}/csv")).await;
    assert!(
        csv.starts_with("line,") && csv.contains(&card) && csv.contains("200.00"),
        "{csv}"
    );

    // A payment of 150.00, the form sent twice: booked once.
    let pay = format!("{account}/payments");
    let form = [
        ("key", "pay-1"),
        ("amount", "150.00"),
        ("method", "transfer"),
        ("reference", "BOC-20261118-01"),
    ];
    for _ in 0..2 {
        let (status, location, html) = submit(&hq, env, &pay, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(location, account);
    }
    let (status, _, html) = submit(
        &hq,
        env,
        &pay,
        &[("key", "pay-2"), ("amount", "-5"), ("method", "cash")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("value=\"-5\""), "{html}");
    let line = env
        .get(
            &env.admin,
            &format!("/api/v1/customers/{company}/credit-line"),
        )
        .await
        .1;
    assert_eq!(line["balance"], json!("-50.00"), "{line}");
    let html = page(&hq, env, &account).await;
    assert!(html.contains("id=\"line-used\">¥50.00<"), "{html}");
    let payments = html
        .split("id=\"statement-payments\"")
        .nth(1)
        .expect("the payments");
    assert!(
        payments.contains("150.00")
            && payments.contains("BOC-20261118-01")
            && payments.contains("转账"),
        "{payments}"
    );

    // The company's fleet manager reads its account and books nothing.
    let fleet = session(env, "fleet-a").await;
    let r = fleet
        .get(format!("{}/credit", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()["location"].to_str().ok(),
        Some(account.as_str())
    );
    let html = page(&fleet, env, &account).await;
    assert!(
        html.contains("id=\"line-used\">¥50.00<")
            && !html.contains("id=\"pay\"")
            && !html.contains("id=\"set-line\""),
        "{html}"
    );
    let counter = session(env, "cashier1").await;
    let r = counter
        .get(format!("{}{account}", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

crate::on_both_backends!(credit_pages, credit_pages_over_http);

/// In Chromium: the cashier records a complaint from the board's form; the
/// station manager assigns, answers, follows up and closes it by clicking;
/// head office books a payment on a company's credit account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_crm_and_credit_pages() {
    use fantoccini::Locator;
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let env = TestEnv::start(Backend::Sqlite).await.expect("sqlite");
    env.add_user("manager-s1", "station_manager", Some("S1"), None)
        .await;
    env.add_user("hq1", "hq", None, None).await;
    let hq = session(&env, "hq1").await;
    let (company, card) = company_on_credit(&env, &hq).await;
    let cashier = env.login("cashier1").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "95", "amount": "400.00"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);

    let b = crate::pages::browser(&driver).await;
    let run = async {
        // (a) The counter records a complaint.
        log_in(&b, &env, "cashier1").await?;
        b.wait()
            .for_element(Locator::Css("header a[href='/complaints']"))
            .await?
            .click()
            .await?;
        b.wait().for_element(Locator::Id("ctext")).await?;
        b.find(Locator::Id("ccategory"))
            .await?
            .select_by_value("fuel_quality")
            .await?;
        b.find(Locator::Id("ctext"))
            .await?
            .send_keys("加完油车辆抖动")
            .await?;
        b.find(Locator::Css("#new-complaint button[type='submit']"))
            .await?
            .click()
            .await?;
        let row = b
            .wait()
            .for_element(Locator::Css("#complaints tbody tr"))
            .await?;
        let text = row.text().await?;
        assert!(
            text.contains("油品质量") && text.contains("已受理") && text.contains("加完油车辆抖动"),
            "{text}"
        );
        let id = row.attr("id").await?.unwrap_or_default();
        b.find(Locator::Css("header form button"))
            .await?
            .click()
            .await?;

        // (b) The station manager works it to closing.
        log_in(&b, &env, "manager-s1").await?;
        b.wait()
            .for_element(Locator::Css("header a[href='/complaints']"))
            .await?
            .click()
            .await?;
        let field = |what: &str| format!("#{id} [name='{what}']");
        let submit = format!("#{id} form.step button[type='submit']");
        b.wait()
            .for_element(Locator::Css(&field("assignee")))
            .await?
            .send_keys("cashier1")
            .await?;
        b.find(Locator::Css(&submit)).await?.click().await?;
        b.wait()
            .for_element(Locator::Css(&field("answer")))
            .await?
            .send_keys("已检测油品，合格")
            .await?;
        b.find(Locator::Css(&submit)).await?.click().await?;
        b.wait()
            .for_element(Locator::Css(&field("satisfied")))
            .await?
            .select_by_value("yes")
            .await?;
        b.find(Locator::Css(&submit)).await?.click().await?;
        b.wait()
            .for_element(Locator::XPath(&format!(
                "//tr[@id='{id}']//button[contains(., '结案')]"
            )))
            .await?
            .click()
            .await?;
        let row = b
            .wait()
            .for_element(Locator::XPath(&format!(
                "//tr[@id='{id}'][contains(., '已结案')]"
            )))
            .await?;
        let text = row.text().await?;
        assert!(
            text.contains("已检测油品，合格") && text.contains("满意") && text.contains("cashier1"),
            "{text}"
        );
        b.keep_screenshot("fuelcard-complaints.png").await?;
        b.find(Locator::Css("header form button"))
            .await?
            .click()
            .await?;

        // (c) Head office books a payment on the credit account.
        log_in(&b, &env, "hq1").await?;
        b.wait()
            .for_element(Locator::Css("header a[href='/credit']"))
            .await?
            .click()
            .await?;
        b.wait()
            .for_element(Locator::Id("customer"))
            .await?
            .send_keys(&format!("{company}\n"))
            .await?;
        assert_eq!(
            b.wait()
                .for_element(Locator::Id("line-used"))
                .await?
                .text()
                .await?,
            "¥400.00"
        );
        b.find(Locator::Id("pay-amount"))
            .await?
            .send_keys("400.00")
            .await?;
        b.find(Locator::Id("pay-reference"))
            .await?
            .send_keys("BOC-0001")
            .await?;
        b.find(Locator::Css("#pay button[type='submit']"))
            .await?
            .click()
            .await?;
        b.wait()
            .for_element(Locator::XPath(
                "//*[@id='line-used'][normalize-space()='¥0.00']",
            ))
            .await?;
        let payments = b
            .find(Locator::Id("statement-payments"))
            .await?
            .text()
            .await?;
        assert!(
            payments.contains("400.00") && payments.contains("BOC-0001"),
            "{payments}"
        );
        b.keep_screenshot("fuelcard-credit-account.png").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    env.finish().await;
}
