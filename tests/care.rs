//! Customer care on the demo network (`fuelcard serve --demo`), on both
//! backends: a customer of S001 who refuelled last week gets a thank-you
//! call, logged once under its key and shown on their timeline; another
//! station's manager may not log against them; a key customer's visit
//! planned one day ahead is refused with `visit_too_soon` and plans
//! nothing, three days ahead it is planned, and an ordinary customer's
//! visit one day ahead is; the visit logged for it completes it, and a
//! planned visit is called off once. The station manager logs a call and
//! plans a visit from the pages, a refusal keeping what was typed; the
//! birthdays coming are listed for the station's own staff.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Demo, page_session, page_submit};

/// The server's local today, moved on `days`, YYYY-MM-DD.
fn day(demo: &Demo, days: i64) -> String {
    let tz = fuelcard::config::Settings::default().time_zone;
    let today = fuelcard::time::local_date(demo.clock.now_us(), tz);
    (today + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Gives the customer `level` as their latest grade, as the monthly
/// grading would have.
async fn grade(demo: &Demo, customer: i64, level: &str) {
    let month = day(demo, 0)[..7].to_string();
    for (sql, bind_level) in [
        ("DELETE FROM customer_grades WHERE customer_id = $1", false),
        (
            "INSERT INTO customer_grades (customer_id, month, level, litres_cl, recharge_fen) \
             VALUES ($1, $2, $3, 0, 0)",
            true,
        ),
    ] {
        let mut q = sqlx::query(sql).bind(customer);
        if bind_level {
            q = q.bind(&month).bind(level);
        }
        q.execute(demo.db.pool()).await.expect("a grade");
    }
}

fn rows(list: &Value) -> &Vec<Value> {
    list.as_array().expect("a list")
}

async fn care_story(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let manager = demo.login("manager1").await;
    let r = demo
        .post(
            &demo.admin,
            "/api/v1/users",
            json!({"username": "manager2", "password": "manager2-demo",
                   "role": "station_manager", "station": "S002"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let other = demo.login("manager2").await;

    // S001's customers, with their stage and last refuel: one of them
    // refuelled within the last week.
    let r = demo.get(&manager, "/api/v1/care").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let week_ago = fuelcard::time::format_us(demo.clock.now_us() - 7 * 86_400_000_000);
    let customers = rows(&r.1).clone();
    assert!(customers.iter().all(|c| c["station"] == json!("S001")));
    let people: Vec<i64> = customers
        .iter()
        .filter(|c| c["kind"] == json!("person"))
        .map(|c| c["customer_id"].as_i64().expect("an id"))
        .collect();
    let active = customers
        .iter()
        .find(|c| {
            c["kind"] == json!("person")
                && c["last_refuel_at"]
                    .as_str()
                    .is_some_and(|at| at >= week_ago.as_str())
        })
        .unwrap_or_else(|| panic!("a customer of S001 active last week: {customers:?}"));
    let active = active["customer_id"].as_i64().expect("an id");
    assert!(people.len() >= 3, "S001's people: {people:?}");
    let (key_customer, ordinary) = {
        let others: Vec<i64> = people.iter().copied().filter(|p| *p != active).collect();
        (others[0], others[1])
    };

    // A thank-you call, logged once under its key.
    let path = format!("/api/v1/customers/{active}/care");
    let call = json!({"kind": "call", "purpose": "thanks", "outcome": "satisfied",
                      "notes": "感谢上周来加油", "next_step": "月底送洗车券",
                      "next_step_on": day(&demo, 5)});
    let before = demo.count("care_contacts").await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(
            crate::support::send(
                &demo.client,
                &demo.base,
                Method::POST,
                Some(&manager),
                &path,
                Some(call.clone()),
                Some("thanks-call-1"),
            )
            .await,
        );
    }
    assert_eq!(answers[0].0, StatusCode::CREATED, "{}", answers[0].1);
    assert_eq!(answers[0], answers[1], "a replay answers the first answer");
    let logged = &answers[0].1;
    assert_eq!(logged["purpose"], json!("thanks"));
    assert_eq!(logged["kind"], json!("call"));
    assert_eq!(logged["by"], json!("manager1"));
    assert_eq!(logged["station"], json!("S001"));
    assert_eq!(demo.count("care_contacts").await, before + 1);

    // On the timeline, and in the customer's care.
    let r = demo
        .get(&manager, &format!("/api/v1/customers/{active}/timeline"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let on_timeline = rows(&r.1["entries"])
        .iter()
        .any(|e| e["kind"] == json!("care_call") && e["detail"] == json!("thanks"));
    assert!(on_timeline, "the call on the timeline: {}", r.1["entries"]);
    let r = demo.get(&manager, &path).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["station"], json!("S001"));
    assert_eq!(r.1["contacts"][0]["next_step"], json!("月底送洗车券"));

    // Another station's manager may not log against S001's customer.
    let r = demo.post(&other, &path, call.clone()).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("outside_your_station"));
    let r = demo.get(&other, "/api/v1/visits?station=S001").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(demo.count("care_contacts").await, before + 1);

    // A key customer's visit one day ahead: refused, nothing planned.
    grade(&demo, key_customer, "key").await;
    grade(&demo, ordinary, "ordinary").await;
    let (planned, audited) = (
        demo.count("planned_visits").await,
        demo.count("audit_log").await,
    );
    let visit = |customer: i64, days: i64| {
        json!({"customer_id": customer, "planned_for": day(&demo, days),
               "purpose": "key_customer", "notes": "带新的车队优惠方案"})
    };
    let r = demo
        .post(&manager, "/api/v1/visits", visit(key_customer, 1))
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(r.1["code"], json!("visit_too_soon"));
    assert_eq!(r.1["earliest"], json!(day(&demo, 3)));
    assert_eq!(demo.count("planned_visits").await, planned);
    assert_eq!(demo.count("audit_log").await, audited, "nothing audited");
    // Three days ahead it is planned; an ordinary customer's one day ahead.
    let r = demo
        .post(&manager, "/api/v1/visits", visit(key_customer, 3))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["status"], json!("planned"));
    assert_eq!(r.1["level"], json!("key"));
    let key_visit = r.1["id"].as_i64().expect("an id");
    let r = demo
        .post(&manager, "/api/v1/visits", visit(ordinary, 1))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let ordinary_visit = r.1["id"].as_i64().expect("an id");
    // Another station's manager plans no visit to S001's customer.
    let r = demo
        .post(&other, "/api/v1/visits", visit(ordinary, 5))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);

    // The visit logged for the key customer's plan completes it.
    let r = demo
        .post(
            &manager,
            &format!("/api/v1/customers/{key_customer}/care"),
            json!({"kind": "visit", "purpose": "key_customer", "outcome": "reached",
                   "visit_id": key_visit}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["visit_id"], json!(key_visit));
    let r = demo.get(&manager, "/api/v1/visits").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let status = |plan: &Value, id: i64| {
        rows(&plan["visits"])
            .iter()
            .find(|v| v["id"] == json!(id))
            .map(|v| v["status"].clone())
    };
    assert_eq!(status(&r.1, key_visit), Some(json!("done")), "{}", r.1);
    assert_eq!(status(&r.1, ordinary_visit), Some(json!("planned")));
    // A call completes no visit.
    let r = demo
        .post(
            &manager,
            &format!("/api/v1/customers/{ordinary}/care"),
            json!({"kind": "call", "purpose": "key_customer", "outcome": "reached",
                   "visit_id": ordinary_visit}),
        )
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    // Called off once.
    let cancel = format!("/api/v1/visits/{ordinary_visit}/cancellation");
    let r = demo.post(&other, &cancel, json!({})).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = demo.post(&manager, &cancel, json!({})).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], json!("cancelled"));
    let r = demo.post(&manager, &cancel, json!({})).await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("illegal_transition"));

    // A birthday in two days, of a contact of an S001 customer.
    let born = format!("1980{}", &day(&demo, 2)[4..]);
    let r = demo
        .post(
            &manager,
            &format!("/api/v1/customers/{ordinary}/contacts"),
            json!({"name": "刘芳", "role": "本人", "birthday": born}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = demo.get(&manager, "/api/v1/birthdays?days=7").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let coming = rows(&r.1)
        .iter()
        .find(|o| o["customer_id"] == json!(ordinary))
        .unwrap_or_else(|| panic!("the birthday coming: {}", r.1));
    assert_eq!(coming["in_days"], json!(2));
    assert_eq!(coming["kind"], json!("birthday"));
    let r = demo.get(&other, "/api/v1/birthdays?station=S001").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);

    // Every write audited.
    let r = demo.get(&demo.admin, "/api/v1/audit?limit=500").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    for action in ["care_contact_log", "visit_plan", "visit_cancel"] {
        assert!(
            rows(&r.1).iter().any(|a| a["action"] == json!(action)),
            "{action} audited"
        );
    }

    // The pages: the station manager logs a call from the care page and
    // plans a visit from the plan, a refusal keeping what was typed.
    let c = page_session(&demo.base, "manager1", "manager1-demo").await;
    let home = crate::support::html_of(&c, format!("{}/", demo.base)).await;
    assert!(
        home.contains("href=\"/care\"") && home.contains("href=\"/visits\""),
        "{home}"
    );
    let care = crate::support::html_of(&c, format!("{}/care", demo.base)).await;
    assert!(care.contains(&format!("id=\"care-{active}\"")), "{care}");
    let picked =
        crate::support::html_of(&c, format!("{}/care?customer={ordinary}", demo.base)).await;
    assert!(picked.contains("id=\"care-form\""), "{picked}");
    let form_path = format!("/customers/{ordinary}/care");
    let (status, _, html) = page_submit(
        &c,
        &demo.base,
        &form_path,
        &[
            ("key", "page-call-0"),
            ("kind", "call"),
            ("purpose", "festival"),
            ("outcome", "reached"),
            ("notes", "中秋问候"),
            ("next_step_on", &day(&demo, -1)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("field-error") && html.contains("中秋问候"),
        "{html}"
    );
    let logged = demo.count("care_contacts").await;
    let (status, location, _) = page_submit(
        &c,
        &demo.base,
        &form_path,
        &[
            ("key", "page-call-1"),
            ("kind", "call"),
            ("purpose", "festival"),
            ("outcome", "reached"),
            ("notes", "中秋问候"),
            ("next_step", ""),
            ("next_step_on", ""),
            ("visit_id", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        location.starts_with(&format!("/care?customer={ordinary}")),
        "{location}"
    );
    assert_eq!(demo.count("care_contacts").await, logged + 1);
    let page = crate::support::html_of(&c, format!("{}/customers/{ordinary}", demo.base)).await;
    assert!(
        page.contains("id=\"care\"") && page.contains("中秋问候"),
        "the call on the customer's page: {page}"
    );
    let (status, _, html) = page_submit(
        &c,
        &demo.base,
        "/visits",
        &[
            ("key", "page-visit-0"),
            ("customer_id", &key_customer.to_string()),
            ("planned_for", &day(&demo, 1)),
            ("purpose", "key_customer"),
            ("notes", "带礼品"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("field-error") && html.contains(&day(&demo, 1)) && html.contains("带礼品"),
        "{html}"
    );
    let (status, location, _) = page_submit(
        &c,
        &demo.base,
        "/visits",
        &[
            ("key", "page-visit-1"),
            ("customer_id", &key_customer.to_string()),
            ("planned_for", &day(&demo, 4)),
            ("purpose", "key_customer"),
            ("notes", "带礼品"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/visits#visit-"), "{location}");
    let plan = crate::support::html_of(&c, format!("{}/visits", demo.base)).await;
    assert!(
        plan.contains(location.trim_start_matches("/visits#")),
        "{plan}"
    );
    demo.finish().await;
}

crate::with_each_backend!(care_log_and_visit_plan, care_story);
