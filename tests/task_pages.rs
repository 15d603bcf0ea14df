//! The last write actions that had no page, each done through its page
//! form on the demo network (`fuelcard serve --demo`), on both backends,
//! checked as a user would: one's own password changed (the new one logs
//! in, the old one no longer does); a card locked against ID documents
//! shown as such to the counter and unlocked by head office's button; two
//! records of one customer merged, the cards on the staying record; a card
//! opened on a company's credit line buying on it at the counter; prospects
//! imported from CSV onto the board. Each form is refused once, keeping
//! what was typed (never a password or a PIN) and naming the field; a role
//! that may not do it is not offered the form.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Demo, html_of, page_session, page_submit, post_form};

/// A page's HTML in a session.
async fn read(c: &Client, demo: &Demo, path: &str) -> String {
    html_of(c, format!("{}{path}", demo.base)).await
}

/// Whether the login form lets `username` in with `password`.
async fn logs_in(demo: &Demo, username: &str, password: &str) -> bool {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let r = post_form(
        &c,
        format!("{}/login", demo.base),
        &[("username", username), ("password", password)],
    )
    .await
    .expect("answer");
    r.status() == StatusCode::SEE_OTHER
}

/// The input `id`'s tag on a page.
fn input_tag<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_else(|| panic!("no input {id}: {html}"))
}

/// Every user changes their own password from the link beside their name.
async fn own_password(demo: &Demo) {
    let base = &demo.base;
    let c = page_session(base, "cashier2", "cashier2-demo").await;
    let home = read(&c, demo, "/").await;
    assert!(home.contains("href=\"/me/password\""), "{home}");
    let form = read(&c, demo, "/me/password").await;
    assert!(form.contains("id=\"current_password\""), "{form}");

    // A wrong current password: refused, the field named, nothing echoed.
    let (status, _, html) = page_submit(
        &c,
        base,
        "/me/password",
        &[
            ("current_password", "not-my-password"),
            ("new_password", "fresh-secret-42"),
            ("new_password_again", "fresh-secret-42"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        input_tag(&html, "current_password").contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(
        !html.contains("not-my-password") && !html.contains("fresh-secret-42"),
        "no password is written back: {html}"
    );
    // The new one typed twice differently: that field is named.
    let (status, _, html) = page_submit(
        &c,
        base,
        "/me/password",
        &[
            ("current_password", "cashier2-demo"),
            ("new_password", "fresh-secret-42"),
            ("new_password_again", "fresh-secret-43"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        input_tag(&html, "new_password_again").contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(logs_in(demo, "cashier2", "cashier2-demo").await);

    let (status, location, _) = page_submit(
        &c,
        base,
        "/me/password",
        &[
            ("current_password", "cashier2-demo"),
            ("new_password", "fresh-secret-42"),
            ("new_password_again", "fresh-secret-42"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/me/password?changed=1");
    let done = read(&c, demo, &location).await;
    assert!(done.contains("id=\"password-changed\""), "{done}");
    assert!(
        !logs_in(demo, "cashier2", "cashier2-demo").await,
        "the old password no longer logs in"
    );
    assert!(logs_in(demo, "cashier2", "fresh-secret-42").await);
}

/// Ten wrong ID documents lock a card against documents; the counter sees
/// it, and head office's button on the card page lifts the lock.
async fn identity_lock(demo: &Demo) {
    let base = &demo.base;
    let cashier = demo.login("cashier1").await;
    let r = demo
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "person", "name": "韩梅梅", "phone": "13822220101",
                   "id_number": "330102199202023333"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let customer = r.1["id"].as_i64().expect("an id");
    let r = demo
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": customer, "pin": "4680"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let card = r.1["number"].as_str().expect("a number").to_string();
    let unlock = format!("/api/v1/cards/{card}/unlock");
    for pin in ["0000", "0001", "0002"] {
        let r = demo.post(&cashier, &unlock, json!({"pin": pin})).await;
        assert!(r.0.is_client_error(), "{}", r.1);
    }
    let mut compared = 0;
    let mut last = Value::Null;
    while compared < 10 {
        let wrong = format!("33010219920205{compared:04}");
        let r = demo
            .post(
                &cashier,
                &unlock,
                json!({"identity": {"document_kind": "resident_id", "document_number": wrong}}),
            )
            .await;
        if r.1["code"] == json!("rate_limited") {
            let wait = r.1["retry_after_seconds"].as_u64().unwrap_or(1);
            tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
            continue;
        }
        compared += 1;
        last = r.1;
    }
    assert_eq!(last["code"], json!("identity_locked"), "{last}");
    let r = demo.get(&cashier, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.1["identity_locked"], json!(true), "{}", r.1);

    // The counter is told, and offered no button.
    let counter = page_session(base, "cashier1", "cashier1-demo").await;
    let page = read(&counter, demo, &format!("/cards/{card}")).await;
    assert!(page.contains("id=\"identity-locked\""), "{page}");
    assert!(!page.contains("id=\"identity-unlock\""), "{page}");
    let (status, _, _) = page_submit(
        &counter,
        base,
        &format!("/cards/{card}/identity-unlock"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Head office sees the card, locked, and unlocks it.
    let hq = page_session(base, "hq-office", "hq-office-demo").await;
    let page = read(&hq, demo, &format!("/cards/{card}")).await;
    assert!(page.contains("id=\"identity-locked\""), "{page}");
    assert!(page.contains("id=\"identity-unlock\""), "{page}");
    let (status, location, _) =
        page_submit(&hq, base, &format!("/cards/{card}/identity-unlock"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/cards/{card}"));
    let page = read(&hq, demo, &location).await;
    assert!(page.contains("id=\"identity-open\""), "{page}");
    let r = demo.get(&cashier, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.1["identity_locked"], json!(false), "{}", r.1);
    let page = read(&counter, demo, &format!("/cards/{card}")).await;
    assert!(!page.contains("id=\"identity-locked\""), "{page}");
    // Again, on a card no longer locked: refused, on the card page.
    let (status, _, html) =
        page_submit(&hq, base, &format!("/cards/{card}/identity-unlock"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("class=\"error\""), "{html}");
    // The right document speaks for the holder again.
    let r = demo
        .post(
            &cashier,
            &unlock,
            json!({"identity": {"document_kind": "resident_id",
                                "document_number": "330102199202023333"}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
}

/// Head office merges a second record of one customer into the first.
async fn merge(demo: &Demo) {
    let base = &demo.base;
    let cashier = demo.login("cashier1").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = demo
            .post(
                &cashier,
                "/api/v1/customers",
                json!({"kind": "person", "name": "赵六", "phone": "13822220202"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        ids.push(r.1["id"].as_i64().expect("an id"));
    }
    let (stays, twin) = (ids[0], ids[1]);
    let r = demo
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": twin}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let twin_card = r.1["number"].as_str().expect("a number").to_string();

    let counter = page_session(base, "cashier1", "cashier1-demo").await;
    let page = read(&counter, demo, &format!("/customers/{stays}")).await;
    assert!(page.contains("<html"), "{page}");
    assert!(!page.contains("id=\"merge-form\""), "{page}");
    let (status, _, _) = page_submit(
        &counter,
        base,
        &format!("/customers/{stays}/merge"),
        &[("other_id", &twin.to_string()), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let hq = page_session(base, "hq-office", "hq-office-demo").await;
    let page = read(&hq, demo, &format!("/customers/{stays}")).await;
    assert!(page.contains("id=\"merge-form\""), "{page}");
    let twin_text = twin.to_string();
    // Without the tick: refused, the number kept, the tick named.
    let (status, _, html) = page_submit(
        &hq,
        base,
        &format!("/customers/{stays}/merge"),
        &[("other_id", twin_text.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        input_tag(&html, "merge-other").contains(&format!("value=\"{twin}\"")),
        "{html}"
    );
    assert!(html.contains("class=\"field-error\""), "{html}");
    let r = demo
        .get(&cashier, &format!("/api/v1/cards/{twin_card}"))
        .await;
    assert_eq!(r.1["customer_id"], json!(twin), "nothing moved: {}", r.1);

    let (status, location, _) = page_submit(
        &hq,
        base,
        &format!("/customers/{stays}/merge"),
        &[("other_id", twin_text.as_str()), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/customers/{stays}"));
    // The twin's card is the staying record's, on its card page too.
    let r = demo
        .get(&cashier, &format!("/api/v1/cards/{twin_card}"))
        .await;
    assert_eq!(r.1["customer_id"], json!(stays), "{}", r.1);
    let page = read(&counter, demo, &format!("/cards/{twin_card}")).await;
    assert!(
        page.contains(&format!("href=\"/customers/{stays}\"")),
        "{page}"
    );
    let page = read(&hq, demo, &format!("/customers/{twin}")).await;
    assert!(
        page.contains(&format!("href=\"/customers/{stays}\"")),
        "{page}"
    );
    assert!(!page.contains("id=\"merge-form\""), "merged: {page}");
}

/// The company's fleet manager opens a card on its credit line; a sale at
/// the counter charges the line.
async fn credit_card(demo: &Demo) {
    let base = &demo.base;
    let fleet = demo.login("fleet-a").await;
    let r = demo.get(&fleet, "/api/v1/me").await;
    let company = r.1["company_id"].as_i64().expect("the company");
    let hq = demo.login("hq-office").await;
    let r = demo
        .send(
            reqwest::Method::PUT,
            &hq,
            &format!("/api/v1/customers/{company}/credit-line"),
            Some(
                json!({"limit": "10000.00", "statement_day": 25, "days_to_pay": 10,
                        "grace_days": 5}),
            ),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    let counter = page_session(base, "cashier1", "cashier1-demo").await;
    let page = read(&counter, demo, &format!("/credit/{company}")).await;
    assert!(!page.contains("id=\"open-credit-card\""), "{page}");

    let office = page_session(base, "fleet-a", "fleet-a-demo").await;
    let page = read(&office, demo, &format!("/credit/{company}")).await;
    assert!(page.contains("id=\"open-credit-card\""), "{page}");
    assert!(page.contains("action=\"/cards\""), "{page}");
    // A fleet card without its vehicle: refused, the plate named, the
    // station kept, the PIN not.
    let company_text = company.to_string();
    let key = uuid::Uuid::new_v4().to_string();
    let (status, _, html) = page_submit(
        &office,
        base,
        "/cards",
        &[
            ("key", key.as_str()),
            ("customer_id", company_text.as_str()),
            ("kind", "fleet"),
            ("plate", ""),
            ("pin", "4826"),
            ("station", "S001"),
        ],
    )
    .await;
    assert!(status.is_client_error(), "{status}: {html}");
    assert!(
        input_tag(&html, "card-station").contains("value=\"S001\""),
        "{html}"
    );
    assert!(!html.contains("4826"), "no PIN is written back: {html}");
    assert!(
        html.split("id=\"card-plate\"")
            .nth(1)
            .is_some_and(|rest| rest
                .split("</div>")
                .next()
                .is_some_and(|d| d.contains("field-error"))),
        "the plate is named: {html}"
    );

    let key = uuid::Uuid::new_v4().to_string();
    let (status, location, _) = page_submit(
        &office,
        base,
        "/cards",
        &[
            ("key", key.as_str()),
            ("customer_id", company_text.as_str()),
            ("kind", "company_sub"),
            ("plate", ""),
            ("pin", "4826"),
            ("station", "S001"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let number = location
        .strip_prefix(&format!("/credit/{company}?opened="))
        .unwrap_or_else(|| panic!("sent to {location}"))
        .to_string();
    let page = read(&office, demo, &location).await;
    assert!(page.contains("id=\"card-opened\""), "{page}");
    assert!(page.contains(&number), "{page}");
    let r = demo.get(&hq, &format!("/api/v1/cards/{number}")).await;
    assert_eq!(r.1["credit"], json!(true), "{}", r.1);

    // The counter sells on it: the line is charged.
    let sale_key = uuid::Uuid::new_v4().to_string();
    let (status, location, html) = page_submit(
        &counter,
        base,
        &format!("/cards/{number}/sale"),
        &[
            ("key", sale_key.as_str()),
            ("product", "92"),
            ("litres", "10"),
            ("pin", "4826"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(location.contains("/receipts/sale/"), "{location}");
    let r = demo
        .get(&hq, &format!("/api/v1/customers/{company}/credit-line"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_ne!(r.1["available"], json!("10000.00"), "{}", r.1);
    let page = read(&office, demo, &format!("/credit/{company}")).await;
    assert!(!page.contains("id=\"line-used\">¥0.00"), "{page}");
}

/// A station manager imports prospects from CSV onto the board.
async fn import(demo: &Demo) {
    let base = &demo.base;
    let header = "kind,name,address,vehicles,est_monthly_litres,current_supplier,\
                  current_discount,contact_name,contact_role,contact_phone,channel";

    let counter = page_session(base, "cashier1", "cashier1-demo").await;
    let r = counter
        .get(format!("{base}/prospects/import"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.expect("html");
    assert!(!page.contains("id=\"import-prospects\""), "{page}");

    let manager = page_session(base, "manager1", "manager1-demo").await;
    let board = read(&manager, demo, "/prospects").await;
    assert!(board.contains("href=\"/prospects/import\""), "{board}");
    let form = read(&manager, demo, "/prospects/import").await;
    assert!(form.contains("id=\"import-csv\""), "{form}");
    assert!(form.contains("id=\"import-file\""), "{form}");

    // A bad row: nothing imported, each bad line named, the text kept.
    let bad = format!(
        "{header}\ncompany,宏达建材,城东路1号,12,,中石化,,,,,\nfleet,顺风快运,,many,,,,,,,\n"
    );
    let (status, _, html) =
        page_submit(&manager, base, "/prospects/import", &[("csv", &bad)]).await;
    assert!(status.is_client_error(), "{status}: {html}");
    let report = html
        .split("id=\"import-report\"")
        .nth(1)
        .and_then(|r| r.split("</table>").next())
        .unwrap_or_else(|| panic!("the per-row report: {html}"));
    assert!(report.contains(">3<"), "{report}");
    assert_eq!(report.matches("<tr>").count(), 2, "one bad row: {report}");
    assert!(
        !report.contains(">2<"),
        "the good row is not named: {report}"
    );
    assert!(html.contains("顺风快运,,many"), "the text is kept: {html}");
    let board = read(&manager, demo, "/prospects").await;
    assert!(!board.contains("宏达建材"), "nothing was imported: {board}");

    let good = format!(
        "{header}\ncompany,宏达建材,城东路1号,12,,中石化,,王经理,采购,13900000001,\n\
         fleet,顺风快运,,30,,,,,,,\n"
    );
    let (status, location, _) =
        page_submit(&manager, base, "/prospects/import", &[("csv", &good)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/prospects?imported=2"), "{location}");
    let board = read(&manager, demo, &location).await;
    assert!(board.contains("id=\"prospects-imported\""), "{board}");
    assert!(
        board.contains("宏达建材") && board.contains("顺风快运"),
        "{board}"
    );
}

async fn task_pages(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    own_password(&demo).await;
    merge(&demo).await;
    credit_card(&demo).await;
    import(&demo).await;
    identity_lock(&demo).await;
    demo.finish().await;
}

crate::with_each_backend!(task_pages_story, task_pages);
