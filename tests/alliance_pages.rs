//! The merchant alliance's pages: the partner merchant's desk (redeem by
//! voucher code and by card, today's redemptions, the month's statement),
//! head office's overview (budgets and effectiveness as the API counts
//! them, grantees, settlement) and a customer's benefits on the card page
//! and the receipts — over plain HTTP on both backends, and in a real
//! headless Chromium.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pages::{log_in, page, session, submit};
use crate::support::{Backend, TestEnv};

/// The partner the tests redeem at (an insurance voucher for a new card,
/// a monthly car wash for a recharge of 500) and another whose offer the
/// first never sees.
struct Alliance {
    /// 王芳's card: consented, recharged with 500.00.
    card: String,
    /// Its insurance voucher, as printed.
    voucher: String,
}

async fn created(env: &TestEnv, path: &str, body: Value) -> Value {
    let r = env.post(&env.admin, path, body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{path}: {}", r.1);
    r.1
}

/// A person who consents to sharing their data with partners or not.
async fn person(env: &TestEnv, token: &str, name: &str, phone: &str, consent: bool) -> i64 {
    let r = env
        .post(
            token,
            "/api/v1/customers",
            json!({"kind": "person", "name": name, "phone": phone,
                   "id_number": format!("33010219800101{}", &phone[7..]),
                   "consents": {"share_with_partners": consent}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1["id"].as_i64().expect("an id")
}

/// Merchants, offers and the merchant's user; then 王芳 opens a card
/// (granted the voucher) and recharges 500 (granted the car wash).
async fn alliance(env: &TestEnv) -> Alliance {
    for (code, name, category, stations) in [
        ("M-CARE", "安心车服", "car_wash", json!(["S1"])),
        (
            "M-INS",
            "平安财险城东营业部",
            "insurance",
            json!(["S1", "S2"]),
        ),
    ] {
        created(
            env,
            "/api/v1/merchants",
            json!({"code": code, "name": name, "category": category, "stations": stations}),
        )
        .await;
    }
    created(
        env,
        "/api/v1/users",
        json!({"username": "carer", "password": "carer-password", "role": "merchant",
               "merchant": "M-CARE"}),
    )
    .await;
    for offer in [
        json!({
            "code": "INS-CARE", "merchant": "M-CARE", "name": "办卡送保险",
            "trigger": {"event": "card_opened", "card_kinds": ["personal"]},
            "benefit": {"kind": "voucher", "item": "驾乘人员意外险一份"},
            "unit_cost": "20.00", "funded_by": {"station_percent": 0, "merchant_percent": 100},
            "budget_count": 2, "per_customer": 1, "valid_days": 90, "needs_consent": true
        }),
        json!({
            "code": "WASH", "merchant": "M-CARE", "name": "充值送每月洗车",
            "trigger": {"event": "recharge", "min_amount": "500"},
            "benefit": {"kind": "entitlement", "item": "普通洗车", "per_period": 1, "period": "month"},
            "unit_cost": "30.00", "funded_by": {"station_percent": 100, "merchant_percent": 0},
            "per_customer": 1
        }),
        json!({
            "code": "INS-SALE", "merchant": "M-INS", "name": "加油满千送车险折扣",
            "trigger": {"event": "sale", "min_amount": "1000"},
            "benefit": {"kind": "discount", "item": "车险九折", "percent": 10,
                        "max_value": "500.00"},
            "unit_cost": "0", "funded_by": {"station_percent": 0, "merchant_percent": 100}
        }),
    ] {
        created(env, "/api/v1/offers", offer).await;
    }
    let cashier = env.login("cashier1").await;
    let holder = person(env, &cashier, "王芳", "13900000001", true).await;
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": holder}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = r.1["number"].as_str().expect("a number").to_string();
    let voucher = r.1["benefits"][0]["voucher_code"]
        .as_str()
        .expect("the voucher")
        .to_string();
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "500", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.1["benefits"][0]["item"], json!("普通洗车"), "{}", r.1);
    Alliance { card, voucher }
}

/// The voucher code of a card's benefit of `offer`, as the API prints it.
async fn code_of(env: &TestEnv, card: &str, offer: &str) -> String {
    let token = env.login("cashier1").await;
    let r = env
        .get(&token, &format!("/api/v1/cards/{card}/benefits"))
        .await;
    r.1.as_array()
        .and_then(|list| list.iter().find(|b| b["offer"] == json!(offer)))
        .and_then(|b| b["voucher_code"].as_str())
        .unwrap_or_else(|| panic!("{offer} on {card}: {}", r.1))
        .to_string()
}

/// A new card from the counter's form, for a new holder who consents or
/// not; answers where the form sends the cashier.
async fn opened_on_the_page(
    c: &reqwest::Client,
    env: &TestEnv,
    name: &str,
    phone: &str,
    consent: bool,
) -> String {
    let id = format!("33010219800101{}", &phone[7..]);
    let key = uuid::Uuid::new_v4().to_string();
    let mut form = vec![
        ("key", key.as_str()),
        ("kind", "personal"),
        ("name", name),
        ("phone", phone),
        ("id_kind", "resident_id"),
        ("id_number", id.as_str()),
        ("pin", ""),
    ];
    if consent {
        form.push(("share_with_partners", "yes"));
    }
    let (status, location, _) = submit(c, env, "/cards/new", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    location
}

/// The counter shows what an opening and a recharge earned, and what they
/// could not, in the cashier's words.
async fn counter_shows_benefits(env: &TestEnv) -> String {
    let c = session(env, "cashier1").await;
    // 李强 does not consent: granted, with the notice.
    let went = opened_on_the_page(&c, env, "李强", "13900000002", false).await;
    assert!(
        went.starts_with("/cards/") && went.contains("opened=1"),
        "{went}"
    );
    let card = went[7..23].to_string();
    let html = page(&c, env, &went).await;
    let voucher = code_of(env, &card, "INS-CARE").await;
    let earned = html.split("id=\"earned\"").nth(1).expect("what it earned");
    assert!(
        earned.contains(&voucher) && earned.contains("驾乘人员意外险一份"),
        "{earned}"
    );
    assert!(
        earned.contains("办卡送保险") && earned.contains("客户未同意向合作商户提供资料"),
        "{earned}"
    );
    assert!(!html.contains("consent_missing"), "no raw codes: {html}");
    // The budget of two is spent: the third opening says so.
    let went = opened_on_the_page(&c, env, "赵敏", "13900000003", true).await;
    let html = page(&c, env, &went).await;
    assert!(html.contains("活动预算已用完，本次未发放"), "{html}");
    assert!(!html.contains("budget_exhausted"), "no raw codes: {html}");
    // 李强's recharge of 600 earns the car wash, printed on the receipt.
    let (status, went, _) = submit(
        &c,
        env,
        &format!("/cards/{card}/recharge"),
        &[
            ("key", "alliance-recharge-1"),
            ("amount", "600.00"),
            ("method", "cash"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let receipt = page(&c, env, &went).await;
    let wash = code_of(env, &card, "WASH").await;
    assert!(
        receipt.contains("普通洗车") && receipt.contains(&wash) && receipt.contains("安心车服"),
        "{receipt}"
    );
    // The card page lists both, with their codes and status.
    let html = page(&c, env, &format!("/cards/{card}")).await;
    let list = html.split("id=\"benefits\"").nth(1).expect("the benefits");
    for code in [&voucher, &wash] {
        let row = list
            .split("<tr>")
            .find(|r| r.contains(code.as_str()))
            .unwrap_or_else(|| panic!("{code}: {list}"));
        assert!(row.contains("待核销"), "{row}");
    }
    card
}

/// The merchant's desk over HTTP: lands there, looks up (masked), redeems
/// once under a key, is told a voucher is redeemed already, redeems by
/// card, reverses, reads the month's statement.
async fn merchant_desk(env: &TestEnv, a: &Alliance, other_card: &str) {
    let c = session(env, "carer").await;
    let r = c
        .get(format!("{}/", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.headers()["location"], "/merchant");
    let html = page(&c, env, "/merchant").await;
    assert!(
        html.contains("安心车服") && html.contains("value=\"WASH\""),
        "{html}"
    );
    assert!(
        !html.contains("INS-SALE"),
        "another merchant's offer: {html}"
    );
    let html = page(
        &c,
        env,
        &format!("/merchant?voucher_code={}", a.voucher.to_lowercase()),
    )
    .await;
    assert!(
        html.contains("王芳") && html.contains("0001") && html.contains(&a.card[12..]),
        "{html}"
    );
    assert!(
        !html.contains("13900000001") && !html.contains(&a.card),
        "masked: {html}"
    );
    let redeem = |key: &'static str, code: String| {
        let c = c.clone();
        async move {
            submit(
                &c,
                env,
                "/merchant/redemptions",
                &[("key", key), ("voucher_code", code.as_str())],
            )
            .await
        }
    };
    for _ in 0..2 {
        let (status, _, html) = redeem("desk-1", a.voucher.clone()).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("核销成功") && html.contains("王芳"), "{html}");
    }
    assert_eq!(
        env.count("redemptions").await,
        1,
        "a double click redeems once"
    );
    let (status, _, html) = redeem("desk-2", a.voucher.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("此券已核销"), "{html}");
    // The same refusal in English, never as its code.
    page(&c, env, "/lang/en").await;
    let (_, _, html) = redeem("desk-2", a.voucher.clone()).await;
    assert!(
        html.contains("This voucher has been redeemed already") && !html.contains("此券已核销"),
        "{html}"
    );
    assert!(!html.contains("voucher_redeemed"), "{html}");
    page(&c, env, "/lang/zh").await;
    let (status, _, html) = submit(
        &c,
        env,
        "/merchant/redemptions",
        &[
            ("key", "desk-3"),
            ("card_number", other_card),
            ("offer", "WASH"),
            ("purchase_amount", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("核销成功") && html.contains("普通洗车"),
        "{html}"
    );
    // Today's two, the wash reversed from its row.
    let token = env.login("carer").await;
    let today = env.get(&token, "/api/v1/redemptions").await.1;
    let wash = today
        .as_array()
        .and_then(|l| l.iter().find(|r| r["offer"] == json!("WASH")))
        .and_then(|r| r["id"].as_i64())
        .expect("the wash");
    let (status, location, _) = submit(
        &c,
        env,
        &format!("/merchant/redemptions/{wash}/reversal"),
        &[],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/merchant")
    );
    let html = page(&c, env, "/merchant").await;
    let table = html.split("id=\"redemptions\"").nth(1).expect("today's");
    assert!(
        table.contains("驾乘人员意外险一份")
            && table.contains("普通洗车")
            && table.contains("已撤销"),
        "{table}"
    );
    // The month's statement: what stands, as the API states it, and its CSV.
    let month = env.month();
    let api = env
        .get(
            &token,
            &format!("/api/v1/merchants/M-CARE/settlements/{month}"),
        )
        .await
        .1;
    assert_eq!(
        (&api["redemptions"], &api["value"]),
        (&json!(1), &json!("20.00"))
    );
    let html = page(&c, env, &format!("/merchant/settlements/{month}")).await;
    assert!(html.contains("未结算") && html.contains("¥20.00"), "{html}");
    let csv = format!("/api/v1/merchants/M-CARE/settlements.csv?month={month}");
    assert!(html.contains(&csv), "{html}");
    let text = page(&c, env, &csv).await;
    assert!(text.starts_with("offer,station,delivered"), "{text}");
}

/// Head office's page: the figures, the grantees, the settlement (once, and
/// only for a month that is over); a cashier is refused it.
async fn head_office(env: &TestEnv) {
    let c = session(env, "admin").await;
    let html = page(&c, env, "/alliance").await;
    let offer = env.get(&env.admin, "/api/v1/offers/INS-CARE").await.1;
    let row = html
        .split("id=\"offers\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .and_then(|t| t.split("<tr>").find(|r| r.contains("INS-CARE")))
        .unwrap_or_else(|| panic!("INS-CARE: {html}"));
    let granted = format!("{} / {}", offer["granted"], offer["budget_count"]);
    assert!(row.contains(&granted), "{granted}: {row}");
    assert!(
        row.contains(offer["granted_amount"].as_str().expect("an amount")),
        "{row}"
    );
    assert!(row.contains("grantees.csv"), "{row}");
    let text = page(&c, env, "/alliance/offers/INS-CARE/grantees.csv").await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "王芳 consented, 李强 did not: {text}");
    assert!(
        text.contains("13900000001") && !text.contains("13900000002"),
        "{text}"
    );
    // This month is not over: no button, and a settle posted anyway is
    // refused in the user's words.
    let month = env.month();
    let html = page(&c, env, &format!("/alliance?merchant=M-CARE&month={month}")).await;
    assert!(
        !html.contains("id=\"settle\"") && html.contains("月份结束后方可结算"),
        "{html}"
    );
    let (status, _, html) = submit(
        &c,
        env,
        "/alliance/settlements",
        &[
            ("key", "settle-0"),
            ("merchant", "M-CARE"),
            ("month", &month),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("该月尚未结束"), "{html}");
    // Last month is over: settled once, however often the button is pressed.
    let html = page(&c, env, "/alliance?merchant=M-CARE&month=2026-10").await;
    assert!(html.contains("id=\"settle\""), "{html}");
    for _ in 0..2 {
        let (status, location, _) = submit(
            &c,
            env,
            "/alliance/settlements",
            &[
                ("key", "settle-1"),
                ("merchant", "M-CARE"),
                ("month", "2026-10"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            location,
            "/alliance?merchant=M-CARE&month=2026-10#settlement"
        );
    }
    assert_eq!(env.count("settlements").await, 1);
    let html = page(&c, env, "/alliance?merchant=M-CARE&month=2026-10").await;
    assert!(
        html.contains("已结算") && !html.contains("id=\"settle\""),
        "{html}"
    );
    let cashier = session(env, "cashier1").await;
    let r = cashier
        .get(format!("{}/alliance", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.expect("html").contains("商户联盟由总部管理"));
}

async fn alliance_pages_over_http(env: &TestEnv) {
    let a = alliance(env).await;
    let other = counter_shows_benefits(env).await;
    merchant_desk(env, &a, &other).await;
    head_office(env).await;
}

crate::on_both_backends!(alliance_pages, alliance_pages_over_http);

/// One row of a page's table as its reader sees it: each column's heading
/// with the row's text under it.
async fn row_of(
    b: &fantoccini::Client,
    table: &str,
    first: &str,
) -> Result<HashMap<String, String>, fantoccini::error::CmdError> {
    use fantoccini::Locator;
    let heads = b
        .find_all(Locator::Css(&format!("#{table} thead th")))
        .await?;
    let row = b
        .find(Locator::XPath(&format!(
            "//table[@id='{table}']//tr[td[1][starts-with(normalize-space(), '{first}')]]"
        )))
        .await?;
    let cells = row.find_all(Locator::Css("td")).await?;
    let mut out = HashMap::new();
    for (h, c) in heads.iter().zip(&cells) {
        out.insert(h.text().await?, c.text().await?);
    }
    Ok(out)
}

/// The result panel once it says `text`.
async fn result_saying(
    b: &fantoccini::Client,
    text: &str,
) -> Result<String, fantoccini::error::CmdError> {
    use fantoccini::Locator;
    b.wait()
        .for_element(Locator::XPath(&format!(
            "//section[@id='result'][contains(., '{text}')]"
        )))
        .await?
        .text()
        .await
}

/// In Chromium: the merchant redeems the voucher by its code (and is told
/// when it is redeemed already) and the car wash by card; head office reads
/// the offer's budget and effectiveness as the API counts them and the
/// month's statement; the cashier sees the voucher on the card page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_alliance_pages() {
    use fantoccini::Locator;
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let env = TestEnv::start(Backend::Sqlite).await.expect("sqlite");
    let a = alliance(&env).await;
    let cashier = env.login("cashier1").await;
    let holder = person(&env, &cashier, "李强", "13900000002", false).await;
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": holder}),
        )
        .await;
    assert_eq!(
        r.1["notices"][0]["code"],
        json!("consent_missing"),
        "{}",
        r.1
    );
    env.add_user("hq1", "hq", None, None).await;

    let b = crate::pages::browser(&driver).await;
    let run = async {
        // (a) The merchant's desk.
        log_in(&b, &env, "carer").await?;
        b.wait()
            .for_element(Locator::Id("voucher"))
            .await?
            .send_keys(&format!("{}\n", a.voucher))
            .await?;
        let result = result_saying(&b, "核销成功").await?;
        assert_eq!(b.current_url().await?.path(), "/merchant/redemptions");
        assert!(
            result.contains("王芳") && result.contains("0001") && result.contains(&a.card[12..]),
            "{result}"
        );
        assert!(!result.contains("13900000001"), "masked: {result}");
        b.find(Locator::Id("voucher"))
            .await?
            .send_keys(&format!("{}\n", a.voucher))
            .await?;
        let result = result_saying(&b, "此券已核销").await?;
        assert!(!result.contains("核销成功"), "{result}");
        b.find(Locator::Id("card"))
            .await?
            .send_keys(&a.card)
            .await?;
        b.find(Locator::Id("offer"))
            .await?
            .select_by_value("WASH")
            .await?;
        b.find(Locator::Id("card")).await?.send_keys("\n").await?;
        let result = result_saying(&b, "普通洗车").await?;
        assert!(
            result.contains("核销成功") && result.contains("王芳"),
            "{result}"
        );
        assert_eq!(b.find(Locator::Id("uses-left")).await?.text().await?, "0");
        let today = b.find(Locator::Id("redemptions")).await?.text().await?;
        assert!(
            today.contains("驾乘人员意外险一份") && today.contains("普通洗车"),
            "{today}"
        );
        assert_eq!(
            b.find_all(Locator::Css("#redemptions tbody tr"))
                .await?
                .len(),
            2
        );
        b.keep_screenshot("fuelcard-merchant.png").await?;
        b.find(Locator::Css("header form button"))
            .await?
            .click()
            .await?;

        // (b) Head office: the offer's figures as the API counts them.
        log_in(&b, &env, "hq1").await?;
        b.wait()
            .for_element(Locator::Css("header a[href='/alliance']"))
            .await?
            .click()
            .await?;
        b.wait().for_element(Locator::Id("offers")).await?;
        let offer = env.get(&env.admin, "/api/v1/offers/INS-CARE").await.1;
        let row = row_of(&b, "offers", "INS-CARE").await?;
        assert_eq!(
            row["已发放 / 预算"],
            format!("{} / {}", offer["granted"], offer["budget_count"]),
            "{row:?}"
        );
        assert_eq!(row["剩余预算"], offer["budget_left"].to_string(), "{row:?}");
        assert_eq!(
            row["已发放金额"],
            offer["granted_amount"].as_str().unwrap_or_default()
        );
        assert_eq!(row["已核销"], offer["redeemed"].to_string());
        assert_eq!(
            (&offer["granted"], &offer["budget_left"]),
            (&json!(2), &json!(0)),
            "{offer}"
        );
        let e = env
            .get(&env.admin, "/api/v1/offers/INS-CARE/effectiveness")
            .await
            .1;
        let row = row_of(&b, "effectiveness", "INS-CARE").await?;
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), String::from);
        for (heading, field) in [
            ("带来开卡", "cards_opened"),
            ("带来充值", "recharge_amount"),
            ("成本", "cost"),
            ("每张新卡成本", "cost_per_new_card"),
        ] {
            assert_eq!(row[heading], text(&e[field]), "{heading}: {row:?} {e}");
        }
        assert_eq!(row["核销率"], format!("{}%", text(&e["redemption_rate"])));
        assert_eq!(
            (&e["redemption_rate"], &e["cost_per_new_card"]),
            (&json!("50.00"), &json!("10.00")),
            "{e}"
        );
        // The settlement: this month's statement, not yet to settle.
        let month = env.month();
        b.find(Locator::Id("smerchant"))
            .await?
            .select_by_value("M-CARE")
            .await?;
        b.find(Locator::Id("smonth"))
            .await?
            .select_by_value(&month)
            .await?;
        b.find(Locator::Css("#settlement form button"))
            .await?
            .click()
            .await?;
        b.wait()
            .for_element(Locator::XPath(&format!(
                "//section[@id='statement'][contains(., '{month}')]"
            )))
            .await?;
        let s = env
            .get(
                &env.admin,
                &format!("/api/v1/merchants/M-CARE/settlements/{month}"),
            )
            .await
            .1;
        let total = row_of(&b, "statement-lines", "合计").await?;
        assert_eq!(total["核销次数"], s["redemptions"].to_string(), "{total:?}");
        assert_eq!(total["价值"], text(&s["value"]), "{total:?}");
        assert_eq!(total["油站应付商户"], text(&s["station_owes"]), "{total:?}");
        assert_eq!(s["redemptions"], json!(2), "{s}");
        assert!(b.find_all(Locator::Id("settle")).await?.is_empty());
        b.keep_screenshot("fuelcard-alliance.png").await?;
        b.find(Locator::Css("header form button"))
            .await?
            .click()
            .await?;

        // (c) The cashier sees the voucher, redeemed, on the card page.
        log_in(&b, &env, "cashier1").await?;
        b.wait()
            .for_element(Locator::Id("q"))
            .await?
            .send_keys(&format!("{}\n", a.card))
            .await?;
        b.wait().for_element(Locator::Id("benefits")).await?;
        let row = row_of(&b, "benefit-list", "兑换券").await?;
        assert_eq!(row["券码"], a.voucher, "{row:?}");
        assert_eq!(row["状态"], "已核销", "{row:?}");
        assert!(row["商户"].contains("安心车服"), "{row:?}");
        let wash = row_of(&b, "benefit-list", "每月权益").await?;
        assert_eq!(wash["本月剩余次数"], "0", "{wash:?}");
        b.execute(
            "document.getElementById('benefits').scrollIntoView()",
            Vec::new(),
        )
        .await?;
        b.keep_screenshot("fuelcard-card-benefits.png").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    env.finish().await;
}
