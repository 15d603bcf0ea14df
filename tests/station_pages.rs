//! The station's pages on the demo network: the counter opens a company's
//! main card and its fleet card (vehicle and channel) through the form,
//! moves money between them, notes a lead and closes the shift with its day
//! report; the station manager sees the lead, the targets and completion;
//! the district manager registers a flyer batch and sets the month's
//! targets. Refusals keep what was typed; another station's business is
//! refused. Then the same in a real Chromium, keyboard first.

use reqwest::StatusCode;
use serde_json::json;

use crate::pages::html_of;
use crate::support::{Backend, Demo};
use crate::with_each_backend;

/// A page session logged in through the login form as a demo user.
async fn page_session(demo: &Demo, username: &str) -> reqwest::Client {
    crate::support::page_session(&demo.base, username, &format!("{username}-demo")).await
}

/// Posts a page's form: the status, where it sends the browser, the page.
async fn submit(
    c: &reqwest::Client,
    demo: &Demo,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    crate::support::page_submit(c, &demo.base, path, form).await
}

async fn read(c: &reqwest::Client, demo: &Demo, path: &str) -> String {
    html_of(c, format!("{}{path}", demo.base)).await
}

/// The text between `id="{id}"`'s tag end and the next `<`.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} on the page: {html}"));
    let rest = &html[at..];
    let rest = &rest[rest.find('>').expect("tag end") + 1..];
    rest[..rest.find('<').unwrap_or(rest.len())]
        .trim()
        .to_string()
}

fn month_of(demo: &Demo) -> String {
    demo.clock
        .now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m")
        .to_string()
}

/// The card a form post opened, from where it sends the browser.
fn opened_card(status: StatusCode, location: &str, html: &str) -> String {
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    location
        .trim_start_matches("/cards/")
        .split('?')
        .next()
        .expect("a number")
        .to_string()
}

async fn the_station_at_work(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let month = month_of(&demo);

    // The district manager lands on the acquisition page, with the tasks.
    let district = page_session(&demo, "district-east").await;
    let html = read(&district, &demo, "/acquisition").await;
    assert!(
        html.contains("href=\"/targets\"") && html.contains("href=\"/acquisition/flyers\""),
        "{html}"
    );
    // A flyer batch registered; one for a station outside the district is
    // refused with what was typed.
    let (status, location, html) = submit(
        &district,
        &demo,
        "/acquisition/flyers",
        &[
            ("key", "fl-1"),
            ("code", "FLY-EAST-1"),
            ("station", "S001"),
            ("handed_out", "500"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(location.starts_with("/acquisition/flyers"), "{location}");
    let (status, _, html) = submit(
        &district,
        &demo,
        "/acquisition/flyers",
        &[
            ("key", "fl-2"),
            ("code", "FLY-WEST-9"),
            ("station", "S002"),
            ("handed_out", "300"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(
        html.contains("value=\"FLY-WEST-9\"") && html.contains("value=\"300\""),
        "{html}"
    );
    assert!(html.contains("field-error"), "{html}");

    // The counter: its tasks under the search.
    let counter = page_session(&demo, "cashier1").await;
    let html = read(&counter, &demo, "/").await;
    for link in [
        "/cards/new",
        "/transfers",
        "/shifts/current",
        "/prospects/leads",
        "/complaints",
    ] {
        assert!(html.contains(&format!("href=\"{link}")), "{link}: {html}");
    }
    assert!(
        !html.contains("href=\"/targets"),
        "a cashier sets no targets: {html}"
    );
    // A company's main card, brought by the flyer, then topped up.
    let (status, location, html) = submit(
        &counter,
        &demo,
        "/cards/new",
        &[
            ("key", "card-main"),
            ("kind", "company_main"),
            ("name", "恒通货运有限公司"),
            ("phone", "0571-8111-2222"),
            ("pin", "2468"),
            ("channel", "flyer"),
            ("channel_ref", "FLY-EAST-1"),
        ],
    )
    .await;
    let main = opened_card(status, &location, &html);
    let (status, _, html) = submit(
        &counter,
        &demo,
        &format!("/cards/{main}/recharge"),
        &[
            ("key", "rc-main"),
            ("amount", "2000.00"),
            ("method", "transfer"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    // A fleet card under it with its vehicle; first with a wrong main card
    // PIN: refused, the form as typed.
    let fleet_form = |pin: &'static str, key: &'static str| {
        vec![
            ("key", key),
            ("kind", "fleet"),
            ("parent_card", "MAIN"),
            ("parent_pin", pin),
            ("plate", "浙A7F123"),
            ("vehicle_type", "light_truck"),
            ("displacement", "2.8"),
            ("tank_capacity", "80"),
            ("baseline_l_per_100km", "12"),
            ("products", "0"),
            ("default_driver", "赵师傅"),
            ("channel", "flyer"),
            ("channel_ref", "FLY-EAST-1"),
        ]
    };
    let with_main = |form: Vec<(&'static str, &'static str)>| -> Vec<(&'static str, String)> {
        form.into_iter()
            .map(|(k, v)| {
                (
                    k,
                    if v == "MAIN" {
                        main.clone()
                    } else {
                        v.to_string()
                    },
                )
            })
            .collect()
    };
    let form = with_main(fleet_form("0000", "card-fleet-1"));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, html) = submit(&counter, &demo, "/cards/new", &pairs).await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"浙A7F123\"")
            && html.contains("value=\"2.8\"")
            && html.contains("value=\"赵师傅\"")
            && html.contains(&format!("value=\"{main}\"")),
        "the form as typed: {html}"
    );
    assert!(html.contains("field-error"), "{html}");
    assert!(
        !html.contains("value=\"0000\""),
        "a PIN is never shown again"
    );
    let form = with_main(fleet_form("2468", "card-fleet-2"));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, html) = submit(&counter, &demo, "/cards/new", &pairs).await;
    let fleet = opened_card(status, &location, &html);
    let card = demo
        .get(&demo.admin, &format!("/api/v1/cards/{fleet}"))
        .await;
    assert_eq!(card.1["kind"], json!("fleet"), "{}", card.1);
    assert_eq!(card.1["plate"], json!("浙A7F123"), "{}", card.1);
    let html = read(&counter, &demo, &format!("/cards/{fleet}")).await;
    assert!(html.contains("浙A7F123"), "{html}");

    // Money moved from the main card to the fleet card on the main's PIN.
    let before = demo
        .get(&demo.admin, &format!("/api/v1/cards/{main}"))
        .await;
    let before: f64 = before.1["balance"]
        .as_str()
        .expect("balance")
        .parse()
        .expect("a number");
    let (status, _, html) = submit(
        &counter,
        &demo,
        "/transfers",
        &[
            ("key", "tr-1"),
            ("from_card", &main),
            ("to_card", &fleet),
            ("amount", "300.00"),
            ("pin", "1111"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"300.00\"") && html.contains("field-error"),
        "{html}"
    );
    let (status, _, html) = submit(
        &counter,
        &demo,
        "/transfers",
        &[
            ("key", "tr-2"),
            ("from_card", &main),
            ("to_card", &fleet),
            ("amount", "300.00"),
            ("pin", "2468"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(text_of(&html, "moved"), "¥300.00");
    let card = demo
        .get(&demo.admin, &format!("/api/v1/cards/{fleet}"))
        .await;
    assert_eq!(card.1["balance"], json!("300.00"), "{}", card.1);
    let card = demo
        .get(&demo.admin, &format!("/api/v1/cards/{main}"))
        .await;
    let after: f64 = card.1["balance"]
        .as_str()
        .expect("balance")
        .parse()
        .expect("a number");
    assert!((before - after - 300.0).abs() < 0.001, "{}", card.1);

    // A lead for the station manager; a refused one keeps what was typed.
    let (status, _, html) = submit(
        &counter,
        &demo,
        "/prospects/leads",
        &[
            ("key", "lead-1"),
            ("kind", "fleet"),
            ("name", "顺丰城东"),
            ("vehicles", "many"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"顺丰城东\"") && html.contains("value=\"many\""),
        "{html}"
    );
    let (status, location, html) = submit(
        &counter,
        &demo,
        "/prospects/leads",
        &[
            ("key", "lead-2"),
            ("kind", "fleet"),
            ("name", "顺丰城东"),
            ("contact_name", "钱经理"),
            ("contact_phone", "13900000077"),
            ("vehicles", "12"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location, "/prospects/leads?noted=1");

    // The shift: opened if need be, a bad count refused as typed, then
    // closed with the counted cash against the expected.
    let html = read(&counter, &demo, "/shifts/current").await;
    if html.contains("id=\"open-shift\"") {
        let (status, _, html) = submit(&counter, &demo, "/shifts", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    }
    let html = read(&counter, &demo, "/shifts/current").await;
    let close = html
        .split("action=\"/shifts/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("a close form: {html}"))
        .to_string();
    let expected_cash = text_of(&html, "expected-cash");
    let (status, _, html) = submit(
        &counter,
        &demo,
        &format!("/shifts/{close}"),
        &[
            ("counted_cash", "12x"),
            ("counted_bank_card", "0"),
            ("counted_transfer", "0"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"12x\"") && html.contains("field-error"),
        "{html}"
    );
    let (status, _, html) = submit(
        &counter,
        &demo,
        &format!("/shifts/{close}"),
        &[
            ("counted_cash", &expected_cash),
            ("counted_bank_card", "0"),
            ("counted_transfer", "2000.00"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"shift-closed\""), "{html}");
    assert_eq!(text_of(&html, "counted-cash"), expected_cash);
    assert!(!text_of(&html, "expected-transfer").is_empty(), "{html}");
    assert!(html.contains("id=\"difference\""), "{html}");
    let report = html
        .split("href=\"/stations/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the day report's link")
        .replace("&amp;", "&");
    let html = read(&counter, &demo, &format!("/stations/{report}")).await;
    assert!(
        html.contains("id=\"day-shifts\"") && html.contains("S001"),
        "{html}"
    );
    // Another station's day report is not the counter's.
    let r = counter
        .get(format!("{}/stations/S002/day-report", demo.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The station manager: the lead on the prospect board, the month's
    // targets and completion from the first login, the day report by date.
    let manager = page_session(&demo, "manager1").await;
    let html = read(&manager, &demo, "/acquisition/prospects").await;
    assert!(html.contains("顺丰城东"), "{html}");
    let html = read(&manager, &demo, "/acquisition").await;
    let row = html
        .split("<tr")
        .find(|r| r.contains("<td>S001</td>"))
        .unwrap_or_else(|| panic!("S001's line: {html}"));
    assert!(
        row.contains(" / 6") && row.contains('%'),
        "targets and completion: {row}"
    );
    let html = read(&manager, &demo, "/").await;
    assert!(
        html.contains("/stations/S001/day-report") && html.contains("href=\"/complaints\""),
        "{html}"
    );
    let html = read(&manager, &demo, "/stations/S001/day-report?date=2000-01-01").await;
    assert!(html.contains("id=\"day-totals\""), "{html}");

    // The district manager sets the month's targets; a wrong figure is
    // refused and kept.
    let html = read(&district, &demo, &format!("/targets/{month}")).await;
    assert!(
        html.contains("name=\"new_personal:S001\"") && html.contains("name=\"new_personal:S003\"")
    );
    assert!(
        !html.contains("name=\"new_personal:S002\""),
        "西区 is not theirs: {html}"
    );
    let path = format!("/targets/{month}");
    let (status, _, html) = submit(
        &district,
        &demo,
        &path,
        &[
            ("new_personal:S001", "10"),
            ("first_recharge_amount:S003", "lots"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        html.contains("value=\"lots\"") && html.contains("value=\"10\""),
        "{html}"
    );
    assert!(html.contains("field-error"), "{html}");
    let (status, location, html) = submit(
        &district,
        &demo,
        &path,
        &[
            ("new_personal:S001", "10"),
            ("new_company:S001", "2"),
            ("first_recharge_amount:S001", "20000.00"),
            ("card_litres:S001", "30000"),
            ("new_personal:S003", "5"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let html = read(&district, &demo, &location).await;
    assert!(html.contains("id=\"targets-saved\""), "{html}");
    let t = demo
        .get(
            &demo.admin,
            &format!("/api/v1/targets/{month}?station=S001"),
        )
        .await;
    let line = &t.1["lines"][0];
    assert_eq!(line["target"]["new_personal"], json!(10), "{}", t.1);
    assert_eq!(
        line["target"]["first_recharge_amount"],
        json!("20000.00"),
        "{}",
        t.1
    );
    // The flyer batch with what it brought: the company won through it.
    let html = read(&district, &demo, "/acquisition/flyers").await;
    let row = html
        .split("<tr")
        .find(|r| r.contains("data-batch=\"FLY-EAST-1\""))
        .unwrap_or_else(|| panic!("the batch: {html}"));
    assert!(row.contains(">500<") && row.contains(">1<"), "{row}");
    // Overdue next steps by station, and the list filtered.
    let html = read(&district, &demo, "/prospects?overdue=1").await;
    assert!(html.contains("id=\"overdue-by-station\""), "{html}");
    let html = read(&district, &demo, "/prospects?stage=surveyed&station=S001").await;
    assert!(html.contains("顺丰城东"), "{html}");
    // A cashier may not set targets, nor see the district's list.
    let r = counter
        .get(format!("{}/targets/{month}", demo.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    demo.assert_ledger_ok().await;
    demo.finish().await;
}

with_each_backend!(the_station_at_work_on_its_pages, the_station_at_work);

/// The lead's API: a cashier notes one at their own station, never at
/// another's; a fleet manager not at all.
async fn leads_over_the_api(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let cashier = demo.login("cashier1").await;
    let lead = json!({"kind": "person", "name": "加油老客户", "contacts": [{"name": "孙先生", "decision_maker": true}]});
    let r = demo
        .post(&cashier, "/api/v1/prospects/leads", lead.clone())
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["station"], json!("S001"), "{}", r.1);
    let mut other = lead.clone();
    other["station"] = json!("S002");
    let r = demo.post(&cashier, "/api/v1/prospects/leads", other).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = demo.post(&cashier, "/api/v1/prospects", lead.clone()).await;
    assert_eq!(
        r.0,
        StatusCode::FORBIDDEN,
        "a cashier develops no prospects: {}",
        r.1
    );
    let fleet = demo.login("fleet-a").await;
    let r = demo.post(&fleet, "/api/v1/prospects/leads", lead).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    demo.finish().await;
}

with_each_backend!(a_lead_at_the_counter, leads_over_the_api);

/// Opening a fleet card at the counter, keyboard first, in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_fleet_card_at_the_counter() {
    use fantoccini::{Locator, key::Key};
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let demo = Demo::start(Backend::Sqlite).await.expect("sqlite");
    let cashier = demo.login("cashier1").await;
    let r = demo
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "长运车队"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let company = r.1["id"].as_i64().expect("id");
    let r = demo
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "company_main", "customer_id": company, "pin": "1357"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let main = r.1["number"].as_str().expect("number").to_string();
    let b = crate::pages::browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", demo.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("cashier1")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("cashier1-demo\n")
            .await?;
        b.wait().for_element(Locator::Id("counter-tasks")).await?;
        b.goto(&format!("{}/cards/new", demo.base)).await?;
        // The kind's select has the focus: typing picks the fleet card.
        let kind = b.wait().for_element(Locator::Id("kind")).await?;
        kind.select_by_value("fleet").await?;
        assert!(b.find(Locator::Id("plate")).await?.is_displayed().await?);
        b.find(Locator::Id("parent_card"))
            .await?
            .send_keys(&main)
            .await?;
        b.active_element()
            .await?
            .send_keys(&Key::Tab.to_string())
            .await?;
        b.active_element().await?.send_keys("1357").await?;
        b.find(Locator::Id("plate"))
            .await?
            .send_keys("浙A9K888")
            .await?;
        b.find(Locator::Id("vehicle_type"))
            .await?
            .select_by_value("van")
            .await?;
        b.find(Locator::Id("displacement"))
            .await?
            .send_keys("2.0")
            .await?;
        b.find(Locator::Id("tank_capacity"))
            .await?
            .send_keys("70")
            .await?;
        b.find(Locator::Id("baseline"))
            .await?
            .send_keys("10")
            .await?;
        b.find(Locator::Id("driver"))
            .await?
            .send_keys("钱师傅")
            .await?;
        b.find(Locator::Css("input[name=products][value='92']"))
            .await?
            .send_keys(" ")
            .await?;
        b.find(Locator::Id("channel_kind"))
            .await?
            .select_by_value("flyer")
            .await?;
        b.find(Locator::Id("channel_ref"))
            .await?
            .send_keys("DEMO-FLY-1")
            .await?;
        b.keep_screenshot("fuelcard-card-new-fleet.png").await?;
        b.find(Locator::Id("channel_ref"))
            .await?
            .send_keys("\n")
            .await?;
        let balance = b.wait().for_element(Locator::Id("balance")).await?;
        assert!(balance.text().await?.contains("¥0.00"));
        let page = b.source().await?;
        assert!(
            page.contains("浙A9K888") && page.contains("车队卡"),
            "{page}"
        );
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    demo.finish().await;
}

/// The district manager sets the month's targets from the keyboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_district_targets() {
    use fantoccini::Locator;
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let demo = Demo::start(Backend::Sqlite).await.expect("sqlite");
    let b = crate::pages::browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", demo.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("district-east")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("district-east-demo\n")
            .await?;
        b.wait()
            .for_element(Locator::Id("targets-link"))
            .await?
            .click()
            .await?;
        // The first figure has the focus.
        let first = b
            .wait()
            .for_element(Locator::Id("new_personal:S001"))
            .await?;
        first.clear().await?;
        b.active_element().await?.send_keys("12").await?;
        let litres = b.find(Locator::Id("card_litres:S003")).await?;
        litres.clear().await?;
        litres.send_keys("18000").await?;
        b.keep_screenshot("fuelcard-targets.png").await?;
        litres.send_keys("\n").await?;
        let saved = b.wait().for_element(Locator::Id("targets-saved")).await?;
        assert!(saved.text().await?.contains('2'), "{}", saved.text().await?);
        let row = b
            .find(Locator::XPath(
                "//table[@id='tracking']//tr[td[1][text()='S001']]",
            ))
            .await?;
        let text = row.text().await?;
        assert!(text.contains("/ 12"), "{text}");
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    demo.finish().await;
}
