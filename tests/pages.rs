//! The counter pages: plain HTTP checks on both backends, and one run in a
//! real headless Chromium (Debian's `chromium` driven through
//! `chromium-driver`) that logs in, recharges and reads the receipt.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestEnv};

/// A client that keeps cookies and does not follow redirects, as a browser
/// session seen one step at a time.
fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(crate) use crate::support::{html_of, post_form};

/// A page session that keeps its cookie and sees each redirect, logged in
/// through the login form as `username` (password `<username>-password`).
pub(crate) async fn session(env: &TestEnv, username: &str) -> reqwest::Client {
    let password = format!("{username}-password");
    crate::support::page_session(&env.base, username, &password).await
}

/// Posts a page's form: the status, where it sends the browser, the page.
pub(crate) async fn submit(
    c: &reqwest::Client,
    env: &TestEnv,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    crate::support::page_submit(c, &env.base, path, form).await
}

/// Logs the browser in through the login form as `username` (password
/// `<username>-password`).
pub(crate) async fn log_in(
    b: &fantoccini::Client,
    env: &TestEnv,
    username: &str,
) -> Result<(), fantoccini::error::CmdError> {
    log_in_at(b, &env.base, username, &format!("{username}-password")).await
}

/// Logs the browser in through the login form at `base`, typing the
/// username and the password and pressing Enter.
pub(crate) async fn log_in_at(
    b: &fantoccini::Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&format!("{base}/login")).await?;
    b.find(Locator::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    b.find(Locator::Id("password"))
        .await?
        .send_keys(&format!("{password}\n"))
        .await?;
    Ok(())
}

/// A page's HTML, read in the session.
pub(crate) async fn page(c: &reqwest::Client, env: &TestEnv, path: &str) -> String {
    html_of(c, format!("{}{path}", env.base)).await
}

/// Where a form post sends the browser: a 303 and its location.
fn redirected_to(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

async fn pages_over_http(env: &TestEnv) {
    let c = browser_like();
    let r = c
        .get(format!("{}/cards/9100000000000018", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    let r = c
        .get(format!("{}/login", env.base))
        .send()
        .await
        .expect("answer");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("登录") && html.contains("name=\"password\""),
        "{html}"
    );
    let r = crate::pages::post_form(
        &c,
        format!("{}/login", env.base),
        &[("username", "cashier1"), ("password", "wrong")],
    )
    .await
    .expect("answer");
    assert!(r.text().await.expect("html").contains("用户名或密码错误"));
    logged_in(&c, env, "cashier1").await;

    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let page = html_of(&c, format!("{}/cards/{number}", env.base)).await;
    assert!(page.contains("¥100.00"), "{page}");
    // One confirm posted twice with the same key charges once.
    let form = [
        ("key", "page-key-1"),
        ("amount", "50.00"),
        ("method", "cash"),
    ];
    for _ in 0..2 {
        let r = crate::pages::post_form(&c, format!("{}/cards/{number}/recharge", env.base), &form)
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            r.headers()["location"]
                .to_str()
                .expect("location")
                .starts_with("/receipts/recharge/")
        );
    }
    assert_eq!(env.card(&number).await["balance"], json!("150.00"));
    // A refusal is shown on the card page, in Chinese by default.
    let r = crate::pages::post_form(
        &c,
        format!("{}/cards/{number}/sale", env.base),
        &[("key", "page-key-2"), ("product", "92"), ("litres", "500")],
    )
    .await
    .expect("answer");
    let html = r.text().await.expect("html");
    assert!(html.contains("余额不足"), "{html}");
    assert_eq!(env.card(&number).await["balance"], json!("150.00"));
    // The English switch holds for the following pages.
    c.get(format!("{}/lang/en", env.base))
        .send()
        .await
        .expect("answer");
    let page = c
        .get(format!("{}/cards/{number}", env.base))
        .send()
        .await
        .expect("answer");
    assert!(page.text().await.expect("html").contains("Balance"));
    // Logged in but not a counter role: a plain explanation, no card data.
    env.add_user("hq-pages", "hq", None, None).await;
    let hq = browser_like();
    let form = [("username", "hq-pages"), ("password", "hq-pages-password")];
    crate::pages::post_form(&hq, format!("{}/login", env.base), &form)
        .await
        .expect("answer");
    let r = hq
        .get(format!("{}/cards/{number}", env.base))
        .send()
        .await
        .expect("answer");
    let html = r.text().await.expect("html");
    assert!(
        html.contains("您的角色不能使用收银台") && !html.contains("150.00"),
        "{html}"
    );
    // The language switch goes back only to one of our own pages.
    let r = c
        .get(format!("{}/lang/zh", env.base))
        .header("referer", "http://x/\\evil.example/x")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.headers()["location"], "/");
    // A phone written with dashes is found as written; a lost card's status
    // stands out.
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达", "phone": "0571-8888-1234"}),
        )
        .await;
    let company = r.1["id"].as_i64().expect("id");
    let main = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    let r = c
        .get(format!("{}/search?q=0571-8888-1234", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        format!("/cards/{main}")
    );
    env.post(
        &cashier,
        &format!("/api/v1/cards/{main}/loss-report"),
        json!({}),
    )
    .await;
    let html = html_of(&c, format!("{}/cards/{main}", env.base)).await;
    assert!(html.contains("class=\"v status-lost\""), "{html}");
    // Two cards for one phone: the cashier picks by holder, kind, status
    // and balance, with a digit key each.
    let sub = env
        .new_card(
            &cashier,
            json!({"kind": "company_sub", "parent_card": main, "parent_pin": crate::support::MAIN_PIN}),
        )
        .await;
    let html = html_of(&c, format!("{}/search?q=0571-8888-1234", env.base)).await;
    for (key, number, kind, status) in [
        ("1", &main, "单位主卡", "已挂失"),
        ("2", &sub, "单位副卡", "正常"),
    ] {
        let row = html
            .split("<tr>")
            .find(|r| r.contains(number.as_str()))
            .unwrap_or_else(|| panic!("a row for {number}: {html}"));
        assert!(row.contains(&format!("accesskey=\"{key}\"")), "{row}");
        assert!(
            row.contains("顺达") && row.contains(kind) && row.contains(status),
            "{row}"
        );
        assert!(row.contains("0.00"), "{row}");
    }
}
on_both_backends!(counter_pages, pages_over_http);

/// chromedriver on a free port, stopped when dropped.
pub(crate) struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_driver() -> Option<Driver> {
    let missing = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .any(|p| !std::path::Path::new(p).exists());
    if missing {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but chromium or chromedriver is missing: the test command installs them"
            );
        }
        crate::support::skipped("browser test — install chromium and chromium-driver");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some(Driver { child, port })
}

/// Headless Chromium with a fresh profile, removed when the browser closes.
pub(crate) struct Browser {
    client: fantoccini::Client,
    _profile: tempfile::TempDir,
}

impl std::ops::Deref for Browser {
    type Target = fantoccini::Client;

    fn deref(&self) -> &fantoccini::Client {
        &self.client
    }
}

impl Browser {
    /// Ends the session (the profile folder goes with the browser), then
    /// fails the test if its run in the browser did.
    pub(crate) async fn close_after(self, run: Result<(), fantoccini::error::CmdError>) {
        let _ = self.client.close().await;
        run.expect("the browser run");
    }

    /// Keeps a screenshot of the page for people to look at, under
    /// `target/tmp`.
    pub(crate) async fn keep_screenshot(
        &self,
        name: &str,
    ) -> Result<std::path::PathBuf, fantoccini::error::CmdError> {
        let png = self.client.screenshot().await?;
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, &png).expect("write the screenshot");
        Ok(path)
    }
}

/// Headless Chromium through the driver, with a fresh profile.
pub(crate) async fn browser(driver: &Driver) -> Browser {
    let profile = tempfile::Builder::new()
        .prefix("fuelcard-chromium-")
        .tempdir()
        .expect("a profile folder");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1200,900", format!("--user-data-dir={}", profile.path().display())]
        }
    });
    let caps: fantoccini::wd::Capabilities = caps.as_object().expect("object").clone();
    let webdriver = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => {
                return Browser {
                    client,
                    _profile: profile,
                };
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("chromedriver does not answer on {webdriver}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recharge_shows_the_new_balance_on_the_receipt() {
    let Some(driver) = start_driver() else { return };
    let env = TestEnv::start(Backend::Sqlite).await.expect("sqlite");
    let r = env
        .post(&env.admin, "/api/v1/promotions", json!({"name": "满千送2%", "kind": "recharge_bonus", "tiers": [{"min_amount": "1000", "bonus_percent": "2"}]}))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let cashier = env.login("cashier1").await;
    let customer = env.new_person(&cashier, "张伟", "13800000001").await;
    let number = env
        .new_card(
            &cashier,
            json!({"kind": "personal", "customer_id": customer}),
        )
        .await;

    let b = browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/", env.base)).await?;
        assert!(b.current_url().await?.path().ends_with("/login"));
        b.find(Locator::Id("username"))
            .await?
            .send_keys("cashier1")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("cashier1-password\n")
            .await?;
        b.wait()
            .for_element(Locator::Id("q"))
            .await?
            .send_keys(&format!("{number}\n"))
            .await?;
        b.wait()
            .for_element(Locator::Id("amount"))
            .await?
            .send_keys("1000.00")
            .await?;
        b.find(Locator::Css("form[action$='/recharge'] button"))
            .await?
            .click()
            .await?;
        let bonus = b
            .wait()
            .for_element(Locator::Id("preview-bonus"))
            .await?
            .text()
            .await?;
        assert_eq!(bonus, "¥20.00");
        b.find(Locator::Id("confirm")).await?.click().await?;
        let balance = b
            .wait()
            .for_element(Locator::Id("receipt-balance"))
            .await?
            .text()
            .await?;
        assert_eq!(balance, "¥1020.00");
        let receipt = b.find(Locator::Id("receipt")).await?.text().await?;
        assert!(
            receipt.contains("¥20.00"),
            "the bonus is on the receipt: {receipt}"
        );
        let shot = b.keep_screenshot("fuelcard-receipt.png").await?;
        let png = std::fs::read(&shot).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000);
        eprintln!("receipt screenshot: {}", shot.display());
        // Back on the card page, a sale beyond the balance is refused in
        // the page's language, the litres typed kept in their field.
        b.goto(&format!("{}/cards/{number}", env.base)).await?;
        b.wait().for_element(Locator::Id("litres")).await?;
        b.keep_screenshot("fuelcard-card.png").await?;
        b.find(Locator::Id("litres"))
            .await?
            .send_keys("500\n")
            .await?;
        let refusal = b
            .wait()
            .for_element(Locator::Css(".error"))
            .await?
            .text()
            .await?;
        assert!(refusal.contains("余额不足"), "{refusal}");
        let kept = b.find(Locator::Id("litres")).await?.prop("value").await?;
        assert_eq!(kept.as_deref(), Some("500"));
        b.keep_screenshot("fuelcard-sale-refused.png").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    assert_eq!(env.card(&number).await["balance"], json!("1020.00"));
    env.finish().await;
}

/// A fleet manager logs in, lands on the monthly review, sees the planted
/// anomaly highlighted and the charts, and acknowledges it from the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_fleet_review() {
    let Some(driver) = start_driver() else { return };
    let env = TestEnv::start(Backend::Sqlite).await.expect("sqlite");
    let cashier = env.login("cashier1").await;
    let company = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达物流"}),
        )
        .await
        .1["id"]
        .as_i64()
        .expect("id");
    env.add_user("fleet-a", "fleet_manager", None, Some(company))
        .await;
    let main = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    env.money(
        &cashier,
        &format!("/api/v1/cards/{main}/recharges"),
        json!({"amount": "2000", "payment_method": "transfer"}),
    )
    .await;
    for (plate, tank) in [("浙A00001", "50"), ("浙A00002", "40")] {
        let r = env
            .post(&env.admin, &format!("/api/v1/fleet/{company}/vehicles"), json!({
                "plate": plate, "vehicle_type": "car", "displacement": "1.6", "products": ["92"], "tank_capacity": tank,
                "baseline_l_per_100km": "8", "controls": {"tank_capacity": "alert"}
            }))
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        let card = env
            .new_card(
                &cashier,
                json!({"kind": "fleet", "parent_card": main, "parent_pin": crate::support::MAIN_PIN, "plate": plate}),
            )
            .await;
        env.money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": card, "amount": "800", "pin": crate::support::MAIN_PIN}),
        )
        .await;
        let r = env.money(&cashier, "/api/v1/sales", json!({"card_number": card, "product": "92", "litres": "45", "plate": plate, "odometer": 1000})).await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    let b = browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", env.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("fleet-a")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("fleet-a-password\n")
            .await?;
        // The fleet office's home links the review.
        b.wait()
            .for_element(Locator::Id("review-link"))
            .await?
            .click()
            .await?;
        b.wait().for_element(Locator::Id("vehicles")).await?;
        assert!(
            b.current_url()
                .await?
                .path()
                .ends_with(&format!("/fleet/{company}/review"))
        );
        b.find(Locator::Css("#litres-chart rect")).await?;
        let open = b.find_all(Locator::Css(".anomaly.open")).await?;
        assert_eq!(
            open.len(),
            1,
            "only 浙A00002 (45 L into a 40 L tank) is flagged"
        );
        assert!(open[0].text().await?.contains("浙A00002"));
        b.find(Locator::Css(".anomaly.open input[name=justification]"))
            .await?
            .send_keys("auxiliary tank\n")
            .await?;
        b.wait().for_element(Locator::Css(".anomaly.done")).await?;
        assert!(b.find_all(Locator::Css(".anomaly.open")).await?.is_empty());
        assert_eq!(
            b.find(Locator::Id("anomaly-count")).await?.text().await?,
            "0"
        );
        // Sorting by litres puts the larger first on a second click.
        let th = b.find(Locator::Css("#vehicles th:nth-child(2)")).await?;
        th.click().await?;
        th.click().await?;
        let first = b
            .find(Locator::Css("#vehicles tbody tr td"))
            .await?
            .text()
            .await?;
        assert!(first == "浙A00001" || first == "浙A00002");
        b.keep_screenshot("fuelcard-review.png").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    env.finish().await;
}

/// Logs the page client in.
async fn logged_in(c: &reqwest::Client, env: &TestEnv, username: &str) {
    let r = crate::pages::post_form(
        c,
        format!("{}/login", env.base),
        &[
            ("username", username),
            ("password", &format!("{username}-password")),
        ],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// A lost card is replaced from its page on the holder's ID document; the
/// confirm posted twice goes to the one new card. Without the document the
/// page says, in the cashier's language, that the holder must confirm.
async fn replacement_on_the_page(env: &TestEnv) {
    let c = browser_like();
    logged_in(&c, env, "cashier1").await;
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let r = crate::pages::post_form(
        &c,
        format!("{}/cards/{number}/loss-report", env.base),
        &[("confirm", "yes")],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let replace = async |form: Vec<(&'static str, String)>| {
        crate::pages::post_form(
            &c,
            format!("{}/cards/{number}/replacement", env.base),
            &form,
        )
        .await
    };
    let html = replace(vec![("key", "page-replace-0".into())])
        .await
        .expect("answer")
        .text()
        .await
        .expect("html");
    assert!(html.contains("需持卡人确认"), "{html}");
    assert_eq!(env.card(&number).await["status"], json!("lost"));
    let mut went_to = Vec::new();
    for _ in 0..2 {
        let r = replace(vec![
            ("key", "page-replace-1".into()),
            ("document_kind", "resident_id".into()),
            ("document_number", crate::support::PERSON_ID.into()),
        ])
        .await
        .expect("answer");
        went_to.push(redirected_to(&r));
    }
    assert_eq!(went_to[0], went_to[1], "a double click makes one new card");
    let new_number = went_to[0].trim_start_matches("/cards/").to_string();
    assert_ne!(new_number, number);
    assert_eq!(env.card(&new_number).await["balance"], json!("100.00"));
    assert_eq!(env.card(&number).await["status"], json!("replaced"));
}
on_both_backends!(replacement_page, replacement_on_the_page);

/// A page action the policy refuses answers as the API does for the same
/// request: the same status, the code's own words in the user's language
/// (the API's English detail stays in the API), and nothing written. HQ
/// reads a company's review but does not decide on it; another company's
/// manager does neither.
async fn page_refusals_match_the_api(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let (company, _, _) = env.company(&cashier, "甲运输公司", "fleet_a", "500").await;
    env.company(&cashier, "乙运输公司", "fleet_b", "500").await;
    env.add_user("hq1", "hq", None, None).await;
    let acks = env.count("anomaly_acks").await;
    let form = [
        ("sale_id", "1"),
        ("kind", "odd_hours"),
        ("justification", "night shift"),
    ];
    for (user, code, words) in [
        ("hq1", "forbidden", "您的角色不能做此操作"),
        ("fleet_b", "not_your_company", "不属于本单位"),
    ] {
        let token = env.login(user).await;
        let api = env
            .post(
                &token,
                &format!("/api/v1/fleet/{company}/anomalies/ack"),
                json!({"sale_id": 1, "kind": "odd_hours", "justification": "night shift"}),
            )
            .await;
        assert_eq!(api.1["code"], json!(code), "{}", api.1);
        let detail = api.1["detail"].as_str().expect("a detail");
        let c = browser_like();
        logged_in(&c, env, user).await;
        let r = crate::pages::post_form(
            &c,
            format!("{}/fleet/{company}/review/ack", env.base),
            &form,
        )
        .await
        .expect("answer");
        assert_eq!(r.status(), api.0, "{user}");
        let html = r.text().await.expect("html");
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(
            html.contains(words) && !html.contains(detail),
            "{user}: {words} and not {detail} in {html}"
        );
    }
    assert_eq!(env.count("anomaly_acks").await, acks);
}
on_both_backends!(page_refusals, page_refusals_match_the_api);

/// The new-card form carries a key made when it was shown: posting it twice
/// (a double click, a refresh) opens one card and goes to it both times.
async fn new_card_form_opens_once(env: &TestEnv) {
    let c = browser_like();
    logged_in(&c, env, "cashier1").await;
    let form = html_of(&c, format!("{}/cards/new", env.base)).await;
    let key = form
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a key in the form: {form}"))
        .to_string();
    let cards = env.count("cards").await;
    let mut went_to = Vec::new();
    for _ in 0..2 {
        let r = crate::pages::post_form(
            &c,
            format!("{}/cards/new", env.base),
            &[
                ("key", key.as_str()),
                ("kind", "personal"),
                ("name", "周七"),
                ("phone", "13600000001"),
                ("id_kind", "resident_id"),
                ("id_number", crate::support::PERSON_ID),
                ("pin", ""),
            ],
        )
        .await
        .expect("answer");
        went_to.push(redirected_to(&r));
    }
    assert_eq!(went_to[0], went_to[1]);
    assert_eq!(env.count("cards").await, cards + 1);
}
on_both_backends!(new_card_page_once, new_card_form_opens_once);

/// A refused sale or recharge shows the card again with what the cashier
/// typed (never the PIN) and the refusal beside the field it is about.
async fn refused_forms_keep_their_values(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let card = env.pin_card(&cashier, "13900000077", "2468", "500").await;
    let c = browser_like();
    logged_in(&c, env, "cashier1").await;
    let r = crate::pages::post_form(
        &c,
        format!("{}/cards/{card}/sale", env.base),
        &[
            ("key", "keep-1"),
            ("product", "92"),
            ("litres", "31.50"),
            ("amount", ""),
            ("pin", "1111"),
            ("plate", "浙A77777"),
            ("odometer", "12345"),
        ],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.expect("html");
    for kept in [
        "name=\"litres\" inputmode=\"decimal\" value=\"31.50\"",
        "value=\"浙A77777\"",
        "value=\"12345\"",
        "value=\"92\" selected",
    ] {
        assert!(html.contains(kept), "{kept} kept: {html}");
    }
    assert!(
        !html.contains("value=\"1111\""),
        "the PIN is not shown again"
    );
    let pin_field = html.split("id=\"pin\"").nth(1).expect("the PIN field");
    assert!(
        pin_field
            .split("</div>")
            .next()
            .is_some_and(|f| f.contains("field-error")),
        "the refusal beside the PIN: {pin_field}"
    );
    let r = c
        .get(format!(
            "{}/cards/{card}/recharge?amount=100.005&method=bank_card",
            env.base
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.expect("html");
    assert!(html.contains("value=\"100.005\""), "{html}");
    assert!(html.contains("value=\"bank_card\" selected"), "{html}");
    let amount_field = html.split("id=\"amount\"").nth(1).expect("the amount");
    assert!(
        amount_field
            .split("</div>")
            .next()
            .is_some_and(|f| f.contains("field-error")),
        "{amount_field}"
    );
}
on_both_backends!(refused_forms, refused_forms_keep_their_values);

/// A form posted from another site changes nothing, although the browser
/// sends the session cookie with it: without the page's token it is
/// refused, and so is one whose Origin names another site; the login form
/// is protected too. The same form from the page itself goes through.
async fn cross_site_forms(env: &TestEnv) {
    let c = browser_like();
    logged_in(&c, env, "cashier1").await;
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    let url = format!("{}/cards/{number}/recharge", env.base);
    let form = [
        ("key", "forged-1"),
        ("amount", "50.00"),
        ("method", "cash"),
        ("confirm", "yes"),
    ];
    let writes = env.count("operations").await;
    let forged = c.post(&url).form(&form).send().await.expect("an answer");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no token");
    let token = html_of(&c, format!("{}/cards/{number}", env.base)).await;
    let token = token
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page's token")
        .to_string();
    let mut with_token = form.to_vec();
    with_token.push(("csrf", token.as_str()));
    let r = c
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&with_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "another site's Origin");
    let r = c
        .post(&url)
        .header("origin", "http://another.example")
        .header("sec-fetch-site", "cross-site")
        .form(&with_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-site fetch");
    let stranger = browser_like();
    let r = stranger
        .post(format!("{}/login", env.base))
        .form(&[("username", "cashier1"), ("password", "cashier1-password")])
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a login from nowhere");
    assert_eq!(env.count("operations").await, writes, "nothing written");
    assert_eq!(env.card(&number).await["balance"], json!("100.00"));
    let r = c
        .post(&url)
        .header("origin", env.base.as_str())
        .form(&with_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the page's own form");
    assert_eq!(env.card(&number).await["balance"], json!("150.00"));
}
on_both_backends!(cross_site_forms_change_nothing, cross_site_forms);
