//! Complaints taken to closure, on the days they happen: recorded at the
//! counter, assigned, answered, followed up — reopened when the customer
//! is not satisfied — and closed; the time limits that flag the ones left
//! lying; the month's counts with the hours each stage took; whose
//! complaints each member of staff sees and works, head office's
//! included; and the board with its report as head office sees it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv};

async fn record(env: &TestEnv, token: &str, body: Value) -> Value {
    let r = env.post(token, "/api/v1/complaints", body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    r.1
}

async fn step(
    env: &TestEnv,
    token: &str,
    id: i64,
    stage: &str,
    body: Value,
) -> (StatusCode, Value) {
    env.post(token, &format!("/api/v1/complaints/{id}/{stage}"), body)
        .await
}

/// Whole hours from a complaint's receipt to one of its due times.
fn hours_after(c: &Value, due: &str) -> i64 {
    let at = |name: &str| {
        chrono::DateTime::parse_from_rfc3339(c[name].as_str().expect("a time")).expect("RFC 3339")
    };
    (at(due) - at("received_at")).num_hours()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_i64().expect("an id"))
        .collect()
}

async fn complaints_to_closure(backend: Backend) {
    let settings = crate::support::settings_at("2026-11-02T10:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    let r = env
        .post(
            &env.admin,
            "/api/v1/stations",
            json!({"code": "S3", "name": "河西站", "district": "西区"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    env.add_user("manager-s1", "station_manager", Some("S1"), None)
        .await;
    env.add_user("manager-s3", "station_manager", Some("S3"), None)
        .await;
    env.add_user("cashier-s3", "cashier", Some("S3"), None)
        .await;
    env.add_user("hq1", "hq", None, None).await;
    let cashier = env.login("cashier1").await;
    let customer = env.new_person(&cashier, "张伟", "13800000001").await;

    // Received at the counter, at the cashier's own station.
    let short = record(
        &env,
        &cashier,
        json!({"customer_id": customer, "channel": "counter", "category": "quantity",
               "text": "加油机跳枪，\n少加了2升"}),
    )
    .await;
    let id = short["id"].as_i64().expect("an id");
    assert_eq!(short["station"], "S1");
    assert_eq!(short["status"], "received");
    assert_eq!(short["received_by"], "cashier1");
    assert_eq!(hours_after(&short, "answer_due"), 24);
    assert_eq!(hours_after(&short, "close_due"), 7 * 24);
    assert_eq!(short["overdue"], Value::Null);

    // Refusals write nothing: text with a control character, an unknown
    // category, a customer that does not exist.
    let before = env.count("complaints").await;
    for (body, code) in [
        (
            json!({"channel": "phone", "category": "service", "text": "bad\u{1b}[31m"}),
            "validation_failed",
        ),
        (
            json!({"channel": "phone", "category": "weather", "text": "雨太大"}),
            "validation_failed",
        ),
        (
            json!({"customer_id": 99999, "channel": "phone", "category": "service", "text": "态度差"}),
            "customer_not_found",
        ),
    ] {
        let r = env.post(&cashier, "/api/v1/complaints", body).await;
        assert_eq!(r.1["code"], code, "{}", r.1);
    }
    assert_eq!(env.count("complaints").await, before);

    // The counter records; the station manager takes it on.
    let manager = env.login("manager-s1").await;
    let r = step(
        &env,
        &cashier,
        id,
        "assign",
        json!({"assignee": "cashier1"}),
    )
    .await;
    assert_eq!(
        r.0,
        StatusCode::FORBIDDEN,
        "a cashier assigns nothing: {}",
        r.1
    );
    let r = step(
        &env,
        &manager,
        id,
        "assign",
        json!({"assignee": "cashier-s3"}),
    )
    .await;
    assert_eq!(
        r.1["field"], "assignee",
        "S3's cashier is not at S1: {}",
        r.1
    );
    let r = step(&env, &manager, id, "close", json!({})).await;
    assert_eq!(r.1["code"], "follow_up_required", "{}", r.1);
    let r = step(
        &env,
        &manager,
        id,
        "assign",
        json!({"assignee": "manager-s1"}),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "assigned");
    assert_eq!(r.1["assignee"], "manager-s1");
    let r = step(&env, &manager, id, "follow-up", json!({"satisfied": true})).await;
    assert_eq!(
        r.1["code"], "illegal_transition",
        "not answered yet: {}",
        r.1
    );
    let r = step(
        &env,
        &manager,
        id,
        "answer",
        json!({"answer": "已校验加油机，补加2升并致歉"}),
    )
    .await;
    assert_eq!(r.1["status"], "answered", "{}", r.1);
    assert_eq!(r.1["answered_by"], "manager-s1");
    let r = step(&env, &manager, id, "close", json!({})).await;
    assert_eq!(
        r.1["code"], "follow_up_required",
        "closing needs the customer's word: {}",
        r.1
    );
    let r = step(
        &env,
        &manager,
        id,
        "assign",
        json!({"assignee": "cashier1"}),
    )
    .await;
    assert_eq!(r.1["code"], "illegal_transition", "answered: {}", r.1);

    // Not satisfied: reopened, back to its assignee; it cannot close.
    let r = step(
        &env,
        &manager,
        id,
        "follow-up",
        json!({"satisfied": false, "notes": "顾客仍觉得少了"}),
    )
    .await;
    assert_eq!(r.1["status"], "assigned", "{}", r.1);
    assert_eq!(r.1["assignee"], "manager-s1");
    assert_eq!(r.1["satisfied"], false);
    assert_eq!(r.1["reopened"], 1);
    let r = step(&env, &manager, id, "close", json!({})).await;
    assert_eq!(r.1["code"], "follow_up_required", "reopened: {}", r.1);
    let r = step(&env, &manager, id, "follow-up", json!({"satisfied": true})).await;
    assert_eq!(
        r.1["code"], "illegal_transition",
        "answer it first: {}",
        r.1
    );
    let r = env
        .get(
            &env.admin,
            &format!("/api/v1/audit?action=complaint_follow_up&subject={id}"),
        )
        .await;
    assert_eq!(
        r.1[0]["detail"]["answer"], "已校验加油机，补加2升并致歉",
        "the answer judged is kept: {}",
        r.1
    );
    assert_eq!(r.1[0]["detail"]["notes"], "顾客仍觉得少了");

    // Two more: one assigned and then left; one at S3.
    let left = record(
        &env,
        &cashier,
        json!({"channel": "phone", "category": "service", "text": "收银员态度不好"}),
    )
    .await["id"]
        .as_i64()
        .expect("an id");
    let r = step(
        &env,
        &manager,
        left,
        "assign",
        json!({"assignee": "cashier1"}),
    )
    .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let s3_cashier = env.login("cashier-s3").await;
    let elsewhere = record(
        &env,
        &s3_cashier,
        json!({"channel": "counter", "category": "facilities", "text": "洗手间没有纸"}),
    )
    .await["id"]
        .as_i64()
        .expect("an id");

    // Scope: each station's staff see their own station's complaints.
    let r = env.get(&cashier, "/api/v1/complaints").await;
    assert_eq!(ids(&r.1), vec![id, left], "open, oldest first: {}", r.1);
    let r = env.get(&s3_cashier, "/api/v1/complaints").await;
    assert_eq!(ids(&r.1), vec![elsewhere], "{}", r.1);
    let r = env.get(&s3_cashier, "/api/v1/complaints?station=S1").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .get(&s3_cashier, &format!("/api/v1/complaints/{id}"))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let other_manager = env.login("manager-s3").await;
    let r = step(
        &env,
        &other_manager,
        left,
        "answer",
        json!({"answer": "抱歉"}),
    )
    .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let hq = env.login("hq1").await;
    let r = env.get(&hq, "/api/v1/complaints").await;
    assert_eq!(ids(&r.1).len(), 3, "HQ reads the network: {}", r.1);

    // Head office receives one from the hotline, naming the station, and
    // its senior manager takes it to closure in person.
    let r = env
        .post(
            &hq,
            "/api/v1/complaints",
            json!({"channel": "hotline", "category": "price", "text": "挂牌价与结算价不符"}),
        )
        .await;
    assert_eq!(r.1["code"], "station_required", "{}", r.1);
    let by_hq = record(
        &env,
        &hq,
        json!({"station": "S3", "channel": "hotline", "category": "price",
               "text": "挂牌价与结算价不符"}),
    )
    .await;
    assert_eq!(by_hq["station"], "S3");
    assert_eq!(by_hq["received_by"], "hq1");
    let by_hq = by_hq["id"].as_i64().expect("an id");
    for (stage, body, status) in [
        ("assign", json!({"assignee": "hq1"}), "assigned"),
        ("answer", json!({"answer": "已核实，退还差价"}), "answered"),
        ("follow-up", json!({"satisfied": true}), "followed_up"),
        ("close", json!({}), "closed"),
    ] {
        let r = step(&env, &hq, by_hq, stage, body).await;
        assert_eq!(r.1["status"], status, "{stage}: {}", r.1);
    }
    let r = env.get(&manager, "/api/v1/complaints?overdue=true").await;
    assert_eq!(ids(&r.1), Vec::<i64>::new(), "nothing late yet: {}", r.1);

    // A day and a bit later: the assigned one has missed its answer, and
    // the reopened one too (its limits count from receipt); S3's, never
    // assigned, its assignment.
    let env = env.on_day("2026-11-03T12:00:00+08:00").await;
    let manager = env.login("manager-s1").await;
    let r = env.get(&manager, "/api/v1/complaints?overdue=true").await;
    assert_eq!(ids(&r.1), vec![id, left], "{}", r.1);
    assert_eq!(r.1[0]["overdue"], "answer");
    assert_eq!(r.1[1]["overdue"], "answer");

    // The reopened one answered again; satisfied now, it closes.
    for (stage, body, status) in [
        ("answer", json!({"answer": "复核计量，另补1升"}), "answered"),
        (
            "follow-up",
            json!({"satisfied": true, "notes": "满意"}),
            "followed_up",
        ),
        ("close", json!({}), "closed"),
    ] {
        let r = step(&env, &manager, id, stage, body).await;
        assert_eq!(r.1["status"], status, "{stage}: {}", r.1);
    }
    let r = step(&env, &manager, id, "close", json!({})).await;
    assert_eq!(r.1["code"], "illegal_transition", "closed once: {}", r.1);
    let hq = env.login("hq1").await;
    let r = env
        .get(&hq, "/api/v1/complaints?overdue=true&district=西区")
        .await;
    assert_eq!(ids(&r.1), vec![elsewhere], "{}", r.1);
    assert_eq!(r.1[0]["overdue"], "assign");

    // Answered late, it is no longer overdue until its closing is.
    let r = step(
        &env,
        &manager,
        left,
        "answer",
        json!({"answer": "已批评教育"}),
    )
    .await;
    assert_eq!(r.1["overdue"], Value::Null, "{}", r.1);
    let env = env.on_day("2026-11-10T09:00:00+08:00").await;
    let manager = env.login("manager-s1").await;
    let r = env.get(&manager, "/api/v1/complaints?overdue=true").await;
    assert_eq!(ids(&r.1), vec![left], "{}", r.1);
    assert_eq!(r.1[0]["overdue"], "close");

    // The month's counts at S1: the reopened one closed in time, its
    // answer 26 hours after its assignment (through the reopening); the
    // other overdue, answered and no further.
    let r = env
        .get(&manager, "/api/v1/complaints/counts?month=2026-11")
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let took = |h: f64| json!({"complaints": 1, "median": h, "max": h});
    assert_eq!(
        r.1["counts"],
        json!([
            {"station": "S1", "category": "quantity", "received": 1, "closed": 1,
             "closed_in_time": 1, "unsatisfied": 0, "reopened": 1, "overdue": 0,
             "to_assign": took(0.0), "to_answer": took(26.0),
             "to_follow_up": took(0.0), "to_close": took(0.0)},
            {"station": "S1", "category": "service", "received": 1, "closed": 0,
             "closed_in_time": 0, "unsatisfied": 0, "reopened": 0, "overdue": 1,
             "to_assign": took(0.0), "to_answer": took(26.0),
             "to_follow_up": null, "to_close": null},
        ]),
        "{}",
        r.1
    );
    let r = env
        .get(
            &manager,
            "/api/v1/complaints/counts?month=2026-11&station=S3",
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(complaint_flow, complaints_to_closure);

/// Head office's board: the network's complaints, the month's counts with
/// a reopened complaint and the hours each stage took, and their CSV.
async fn head_office_board(backend: Backend) {
    let settings = crate::support::settings_at("2026-11-02T10:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    env.add_user("hq1", "hq", None, None).await;
    let hq = env.login("hq1").await;
    let id = record(
        &env,
        &hq,
        json!({"station": "S1", "channel": "letter", "category": "invoice",
               "text": "发票抬头开错"}),
    )
    .await["id"]
        .as_i64()
        .expect("an id");
    for (stage, body) in [
        ("assign", json!({"assignee": "hq1"})),
        ("answer", json!({"answer": "已重开发票"})),
        ("follow-up", json!({"satisfied": false})),
    ] {
        let r = step(&env, &hq, id, stage, body).await;
        assert_eq!(r.0, StatusCode::OK, "{stage}: {}", r.1);
    }
    let env = env.on_day("2026-11-02T13:30:00+08:00").await;
    let hq = env.login("hq1").await;
    let r = step(&env, &hq, id, "answer", json!({"answer": "已寄出新发票"})).await;
    assert_eq!(r.1["status"], "answered", "{}", r.1);

    let c = crate::pages::session(&env, "hq1").await;
    let html = crate::pages::page(&c, &env, "/complaints?month=2026-11").await;
    assert!(html.contains(&format!("id=\"complaint-{id}\"")), "{html}");
    let report = html
        .split("id=\"stage-hours\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no report: {html}"));
    assert!(
        report.contains("<td class=\"num\">3.5</td>"),
        "assignment to the last answer, 3.5 hours: {report}"
    );
    let counts = html
        .split("id=\"counts\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no counts: {html}"));
    assert!(counts.contains("发票"), "{counts}");
    let csv = crate::support::html_of(
        &c,
        format!("{}/complaints/report.csv?month=2026-11", env.base),
    )
    .await;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("station,category,received,closed")),
        "{csv}"
    );
    assert_eq!(
        lines.next(),
        Some("S1,invoice,1,0,0,1,1,0,0,0,3.5,3.5,,,,"),
        "{csv}"
    );
    env.finish().await;
}

crate::with_each_backend!(complaint_board_at_head_office, head_office_board);
