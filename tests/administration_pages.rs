//! The administrator's pages on the demo network: every form posted as a
//! browser posts it (logged in through the login form, with the page's
//! token), and what an administrator then checks — the new user logs in
//! with their role, a reset password works and the old one does not, a
//! deactivated user cannot log in, a price is in force from its date, the
//! audit log's filters find the writes — on SQLite and PostgreSQL; a
//! refusal keeps what was typed (never the password); no other role opens
//! the pages. And once in a headless Chromium: a cashier added with the
//! keyboard, the page kept as a Chinese screenshot.

use fantoccini::Locator;
use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Backend, Demo, page_session, page_submit};
use crate::with_each_backend;

/// The HTML of a page in a session.
async fn read(c: &reqwest::Client, demo: &Demo, path: &str) -> (StatusCode, String) {
    let r = c
        .get(format!("{}{path}", demo.base))
        .send()
        .await
        .expect("answer");
    let status = r.status();
    (status, r.text().await.expect("html"))
}

/// What the API's login answers a username and password.
async fn api_login(demo: &Demo, username: &str, password: &str) -> (StatusCode, Value) {
    let r = demo
        .client
        .post(format!("{}/api/v1/auth/login", demo.base))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("answer");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// What the page login form answers: a 303 to the home page, or the login
/// page again.
async fn form_login(demo: &Demo, username: &str, password: &str) -> StatusCode {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    crate::support::post_form(
        &c,
        format!("{}/login", demo.base),
        &[("username", username), ("password", password)],
    )
    .await
    .expect("answer")
    .status()
}

fn done(status: StatusCode, location: &str, html: &str, to: &str) {
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(location.starts_with(to), "sent to {location}");
}

/// The price of product 92 in force at an instant, read from the store.
async fn price_92_at(demo: &Demo, at: i64) -> String {
    let mut conn = demo.db.pool().acquire().await.expect("a connection");
    let p = fuelcard::cards::products::find(&mut conn, "92")
        .await
        .expect("92");
    fuelcard::cards::products::price_at(&mut conn, p.id, at)
        .await
        .expect("read")
        .expect("a price")
        .unit_price
        .to_string()
}

async fn administration(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let base = demo.base.clone();
    let admin = page_session(&base, "admin", "admin-demo").await;
    let submit = |path: &'static str, form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let base = base.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            page_submit(&admin, &base, path, &form).await
        }
    };

    // The home lists every task.
    let (status, home) = read(&admin, &demo, "/administration").await;
    assert_eq!(status, StatusCode::OK, "{home}");
    for link in ["/users", "/stations", "/products", "/promotions", "/audit"] {
        assert!(home.contains(&format!("href=\"{link}\"")), "{link}: {home}");
    }

    // A user refused: what was typed stays, the password does not, the
    // refusal names the field.
    let (status, _, html) = submit(
        "/users",
        vec![
            ("key", uuid::Uuid::new_v4().to_string()),
            ("username", "x!".into()),
            ("password", "typed-secret-1".into()),
            ("role", "cashier".into()),
            ("station", "S001".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("请检查：用户名"), "{html}");
    assert!(html.contains("value=\"x!\""), "{html}");
    assert!(
        html.contains("<option value=\"cashier\" selected>")
            && html.contains("value=\"S001\" selected>"),
        "{html}"
    );
    assert!(
        !html.contains("typed-secret-1"),
        "the password is not echoed"
    );
    // A cashier without a station is refused at the station field.
    let (status, _, html) = submit(
        "/users",
        vec![
            ("key", uuid::Uuid::new_v4().to_string()),
            ("username", "cashier9".into()),
            ("password", "cashier9-pass".into()),
            ("role", "cashier".into()),
            ("station", "".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("请检查：油站"), "{html}");

    // Added: the new cashier logs in with their role and station.
    let (status, location, html) = submit(
        "/users",
        vec![
            ("key", uuid::Uuid::new_v4().to_string()),
            ("username", "cashier9".into()),
            ("password", "cashier9-pass".into()),
            ("role", "cashier".into()),
            ("station", "S001".into()),
            ("district", "东区".into()),
        ],
    )
    .await;
    done(status, &location, &html, "/users?done=user_added");
    let (status, me) = api_login(&demo, "cashier9", "cashier9-pass").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let token = me["token"].as_str().expect("a token").to_string();
    let (_, me) = demo.get(&token, "/api/v1/me").await;
    assert_eq!(me["role"], "cashier", "{me}");
    assert!(
        me["district"].is_null(),
        "only the scope the role needs: {me}"
    );
    let cashier9 = page_session(&base, "cashier9", "cashier9-pass").await;
    let (status, _) = read(&cashier9, &demo, "/").await;
    assert_eq!(status, StatusCode::OK);

    // The list pages and filters by role and station.
    let (_, list) = read(&admin, &demo, "/users?role=cashier&station=S001").await;
    assert!(list.contains("id=\"user-cashier9\""), "{list}");
    assert!(!list.contains("id=\"user-admin\""), "{list}");
    let (_, list) = read(&admin, &demo, "/users?station=S002").await;
    assert!(!list.contains("id=\"user-cashier9\""), "{list}");

    // A password reset: refused short (nothing echoed), then done; the new
    // one works, the old one does not, the user's sessions ended.
    let (status, _, html) = submit(
        "/users/cashier9/password",
        vec![("new_password", "short".into())],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("请检查：新密码"), "{html}");
    assert!(!html.contains("value=\"short\""), "{html}");
    let (status, location, html) = submit(
        "/users/cashier9/password",
        vec![("new_password", "cashier9-new-pass".into())],
    )
    .await;
    done(status, &location, &html, "/users?done=password_reset");
    assert_eq!(
        api_login(&demo, "cashier9", "cashier9-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        form_login(&demo, "cashier9", "cashier9-new-pass").await,
        StatusCode::SEE_OTHER
    );
    let (status, _) = demo.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the API session ended");
    let r = cashier9
        .get(format!("{base}/"))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/login"),
        "the page session ended"
    );

    // Deactivated: no more logins; the row says so.
    let (status, location, html) = submit("/users/cashier9/deactivation", vec![]).await;
    done(status, &location, &html, "/users?done=user_deactivated");
    assert_ne!(
        form_login(&demo, "cashier9", "cashier9-new-pass").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api_login(&demo, "cashier9", "cashier9-new-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, list) = read(&admin, &demo, "/users?role=cashier").await;
    assert!(list.contains("已停用"), "{list}");

    // Stations and districts.
    let (status, _, html) = submit(
        "/stations",
        vec![
            ("code", "bad code!".into()),
            ("name", "城南加油站".into()),
            ("district", "东区".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"城南加油站\"") && html.contains("value=\"bad code!\""),
        "{html}"
    );
    let (status, location, html) = submit(
        "/stations",
        vec![
            ("code", "S009".into()),
            ("name", "城南加油站".into()),
            ("district", "东区".into()),
        ],
    )
    .await;
    done(status, &location, &html, "/stations?done=station_added");
    let (status, location, html) = submit(
        "/districts",
        vec![
            ("key", uuid::Uuid::new_v4().to_string()),
            ("code", "北区".into()),
            ("name", "北区片区".into()),
        ],
    )
    .await;
    done(status, &location, &html, "/stations?done=district_added");
    let (_, page) = read(&admin, &demo, "/stations").await;
    assert!(
        page.contains("id=\"station-S009\"") && page.contains("北区片区"),
        "{page}"
    );
    let (_, stations) = demo.get(&demo.admin, "/api/v1/stations").await;
    assert!(stations.to_string().contains("S009"), "{stations}");

    // A pump terminal at the new station.
    let (status, _, html) =
        submit("/stations/S009/terminals", vec![("terminal", "XYZ".into())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"XYZ\"") && html.contains("请检查：终端号"),
        "{html}"
    );
    let (status, location, html) = submit(
        "/stations/S009/terminals",
        vec![("terminal", "0a0b0c0d0e0f".into())],
    )
    .await;
    done(status, &location, &html, "/stations/S009/terminals?done=");
    let (_, page) = read(&admin, &demo, "/stations/S009/terminals").await;
    assert!(page.contains("id=\"terminal-0A0B0C0D0E0F\""), "{page}");

    // A price from tomorrow: today's stays in force until then.
    let tz = fuelcard::config::Settings::default().time_zone;
    let today = demo.clock.today(tz);
    let tomorrow = today.succ_opt().expect("tomorrow");
    let (start_tomorrow, _) = fuelcard::time::day_span(tomorrow, tz).expect("a day");
    let before = price_92_at(&demo, demo.clock.now_us()).await;
    let (status, _, html) = submit(
        "/products/92/price",
        vec![
            ("unit_price", "abc".into()),
            ("card_discount_per_litre", "0.30".into()),
            ("effective_date", tomorrow.to_string()),
            ("effective_time", "00:00".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"abc\"") && html.contains("class=\"field-error\""),
        "{html}"
    );
    let (status, location, html) = submit(
        "/products/92/price",
        vec![
            ("unit_price", "8.10".into()),
            ("card_discount_per_litre", "0.30".into()),
            ("effective_date", tomorrow.to_string()),
            ("effective_time", "00:00".into()),
        ],
    )
    .await;
    done(status, &location, &html, "/products?done=price_set");
    assert_eq!(price_92_at(&demo, demo.clock.now_us()).await, before);
    assert_eq!(price_92_at(&demo, start_tomorrow - 1).await, before);
    assert_eq!(price_92_at(&demo, start_tomorrow).await, "8.10");
    let (_, products) = demo.get(&demo.admin, "/api/v1/products").await;
    assert!(
        !products.to_string().contains("8.10"),
        "not in force today: {products}"
    );
    let (_, page) = read(&admin, &demo, "/products").await;
    assert!(page.contains("待执行") && page.contains("执行中"), "{page}");

    // A promotion: refused, kept; then added and listed.
    let (status, _, html) = submit(
        "/promotions",
        vec![
            ("name", "冬季充值送".into()),
            ("min_amount", "1000".into()),
            ("bonus_percent", "200".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"冬季充值送\"") && html.contains("请检查：赠送比例"),
        "{html}"
    );
    let (status, location, html) = submit(
        "/promotions",
        vec![
            ("name", "冬季充值送".into()),
            ("min_amount", "1000".into()),
            ("bonus_percent", "3".into()),
            ("personal", "yes".into()),
        ],
    )
    .await;
    done(status, &location, &html, "/promotions?done=promotion_added");
    let (_, page) = read(&admin, &demo, "/promotions").await;
    assert!(page.contains("冬季充值送") && page.contains("3%"), "{page}");
    let (_, promotions) = demo.get(&demo.admin, "/api/v1/promotions").await;
    assert!(
        promotions.to_string().contains("冬季充值送"),
        "{promotions}"
    );

    // The audit log finds each write by who, what, subject and day.
    let (_, log) = read(
        &admin,
        &demo,
        "/audit?user=admin&action=user_add&subject=cashier9",
    )
    .await;
    assert_eq!(log.matches("data-action=\"user_add\"").count(), 1, "{log}");
    assert!(!log.contains("data-action=\"price_set\""), "{log}");
    let (_, log) = read(&admin, &demo, "/audit?action=password_reset").await;
    assert!(
        log.contains("cashier9") && log.contains("重置密码"),
        "{log}"
    );
    let day = today.to_string();
    let (_, log) = read(
        &admin,
        &demo,
        &format!("/audit?action=price_set&subject=92&from={day}&to={day}"),
    )
    .await;
    assert!(log.contains("data-action=\"price_set\""), "{log}");
    let yesterday = today.pred_opt().expect("yesterday").to_string();
    let (_, log) = read(
        &admin,
        &demo,
        &format!("/audit?action=price_set&subject=92&from={yesterday}&to={yesterday}"),
    )
    .await;
    assert!(!log.contains("data-action=\"price_set\""), "{log}");
    for (action, subject) in [
        ("user_deactivate", "cashier9"),
        ("station_add", "S009"),
        ("district_add", "北区"),
        ("terminal_register", "0a0b0c0d0e0f"),
        ("promotion_add", "冬季充值送"),
    ] {
        let (_, log) = read(
            &admin,
            &demo,
            &format!(
                "/audit?action={action}&subject={}",
                form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>()
            ),
        )
        .await;
        assert!(
            log.contains(&format!("data-action=\"{action}\"")),
            "{action}: {log}"
        );
    }
    let csv = crate::support::html_of(&admin, format!("{base}/audit.csv?user=admin")).await;
    assert!(
        csv.starts_with("id,time,local_time,user,action,subject,detail"),
        "{csv}"
    );
    assert!(csv.contains(",admin,user_add,cashier9,"), "{csv}");
    let (_, api) = demo
        .get(
            &demo.admin,
            "/api/v1/audit?action=password_reset&subject=cashier9",
        )
        .await;
    assert_eq!(api.as_array().map(Vec::len), Some(1), "{api}");

    // No other role opens the pages or posts their forms.
    let users_before = demo.count("users").await;
    for who in ["cashier1", "hq-office"] {
        let c = page_session(&base, who, &format!("{who}-demo")).await;
        for path in [
            "/administration",
            "/users",
            "/stations",
            "/products",
            "/audit",
        ] {
            let (status, _) = read(&c, &demo, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {path}");
        }
        let (status, _, _) = page_submit(
            &c,
            &base,
            "/users",
            &[
                ("key", "k"),
                ("username", "intruder"),
                ("password", "intruder-pass"),
                ("role", "admin"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        let home = read(&c, &demo, "/").await.1;
        assert!(!home.contains("href=\"/administration\""), "{home}");
    }
    assert_eq!(demo.count("users").await, users_before);
    demo.finish().await;
}

with_each_backend!(administration_pages, administration);

/// The administrator logs in through the form and adds a cashier with the
/// keyboard only; the list shows them, in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_admin_adds_a_cashier() {
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let demo = Demo::start(Backend::Sqlite).await.expect("sqlite");
    let b = crate::pages::browser(&driver).await;
    let run = async {
        crate::pages::log_in_at(&b, &demo.base, "admin", "admin-demo").await?;
        b.wait().for_element(Locator::Css("header")).await?;
        b.goto(&format!("{}/users", demo.base)).await?;
        // The username field has the focus.
        let focused = b.active_element().await?.attr("id").await?;
        assert_eq!(focused.as_deref(), Some("username"));
        let down = Key::Down.to_string();
        b.active_element()
            .await?
            .send_keys(&format!("cashier8{}", Key::Tab))
            .await?;
        b.active_element()
            .await?
            .send_keys(&format!("cashier8-pass{}", Key::Tab))
            .await?;
        // Role: administrator, head office, district manager, station
        // manager, cashier.
        b.active_element().await?.send_keys(&down.repeat(4)).await?;
        b.active_element()
            .await?
            .send_keys(&Key::Tab.to_string())
            .await?;
        let on = b.active_element().await?.attr("id").await?;
        assert_eq!(on.as_deref(), Some("station"));
        b.active_element().await?.send_keys(&down).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys(&Key::Enter.to_string())
            .await?;
        let done = b
            .wait()
            .for_element(Locator::Id("done"))
            .await?
            .text()
            .await?;
        assert!(done.contains("cashier8"), "{done}");
        let row = b.find(Locator::Id("user-cashier8")).await?.text().await?;
        assert!(row.contains("收银员") && row.contains("S001"), "{row}");
        b.execute(
            "document.getElementById('user-cashier8').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await?;
        let shot = b.keep_screenshot("fuelcard-users.png").await?;
        let png = std::fs::read(&shot).expect("the screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000);
        eprintln!("users screenshot: {}", shot.display());
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    let (status, _) = api_login(&demo, "cashier8", "cashier8-pass").await;
    assert_eq!(status, StatusCode::OK);
    demo.finish().await;
}
