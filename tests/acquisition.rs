//! Customer acquisition across a month, each step on the day it happens
//! (the server's clock set to that day): prospects developed at S1, cards
//! opened through a flyer, a stand, a referral and a development visit,
//! refuels inside and outside the 30-day activation window, and the
//! tracking table and channel conversion read from what happened — never
//! typed in. Then who may read and set what.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, MAIN_PIN, TestEnv};

/// Opens a card through `channel` and recharges `amount` in `method`.
async fn opened(env: &TestEnv, cashier: &str, body: Value, amount: &str, method: &str) -> String {
    let number = env.new_card(cashier, body).await;
    let r = env
        .money(
            cashier,
            &format!("/api/v1/cards/{number}/recharges"),
            json!({"amount": amount, "payment_method": method}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    number
}

/// A sub-card under a company's main card, with 1000.00 moved onto it on
/// the company's word: what its vehicles refuel with.
async fn funded_sub_card(env: &TestEnv, cashier: &str, main: &str) -> String {
    let sub = env
        .new_card(
            cashier,
            json!({"kind": "company_sub", "parent_card": main, "parent_pin": MAIN_PIN}),
        )
        .await;
    let r = env
        .money(
            cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": sub, "amount": "1000", "pin": MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    sub
}

async fn sell(env: &TestEnv, cashier: &str, card: &str, litres: &str) {
    let r = env
        .money(
            cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": litres}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

/// 西区 with its station S3 beside 东区 (S1, S2), a station manager at S1
/// and a district manager for each district.
async fn two_districts(env: &TestEnv) {
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
    env.add_user_in("district-east", "district_manager", "东区")
        .await;
    env.add_user_in("district-west", "district_manager", "西区")
        .await;
}

async fn a_month_of_acquisition(backend: Backend) {
    let settings = crate::support::settings_at("2026-11-03T10:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    // The organisation: 东区 (S1, S2) is named; 西区 comes with S3.
    let r = env
        .post(
            &env.admin,
            "/api/v1/districts",
            json!({"code": "东区", "name": "东区片区"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["name"], json!("东区片区"));
    two_districts(&env).await;
    let r = env.get(&env.admin, "/api/v1/districts").await;
    assert_eq!(
        r.1.as_array().map(|d| d.len()),
        Some(2),
        "东区 and 西区: {}",
        r.1
    );
    let manager = env.login("manager-s1").await;
    let cashier = env.login("cashier1").await;

    // A prospect surveyed, visited, due again on the 5th.
    let r = env
        .post(
            &manager,
            "/api/v1/prospects",
            json!({"kind": "company", "name": "城建工程", "vehicles": 12,
                   "est_monthly_litres": "3000", "current_supplier": "中石化城东站",
                   "contacts": [{"name": "李经理", "role": "车队长", "decision_maker": true}]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(
        (&r.1["station"], &r.1["stage"], &r.1["owner"]),
        (&json!("S1"), &json!("surveyed"), &json!("manager-s1"))
    );
    let prospect = r.1["id"].as_i64().expect("an id");
    let r = env
        .post(
            &manager,
            &format!("/api/v1/prospects/{prospect}/visits"),
            json!({"outcome": "见到车队长，愿意试用", "next_step": "送开卡资料",
                   "next_at": "2026-11-05T09:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A file with a bad row is refused whole.
    let head = "kind,name,address,vehicles,est_monthly_litres,current_supplier,current_discount,contact_name,contact_role,contact_phone,channel\n";
    let before = env.count("prospects").await;
    let bad = format!("{head}person,王先生,,,,,,,,,扫街\nship,渔业公司,,,,,,,,,\n");
    let r = csv(&env, &manager, &bad).await;
    assert_eq!(r.1["code"], json!("invalid_csv"), "{}", r.1);
    assert_eq!(r.1["errors"][0]["line"], json!(3), "{}", r.1);
    assert_eq!(env.count("prospects").await, before, "nothing imported");
    let good = format!("{head}person,王先生,,,,,,,,,扫街\ncommunity,阳光小区,,,,,,物业张,,,扫街\n");
    let r = csv(&env, &manager, &good).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["imported"], json!(2));

    // Flyers handed out, and four new customers through four channels.
    let r = env
        .post(
            &manager,
            "/api/v1/acquisition/flyers",
            json!({"code": "FLY-A", "handed_out": 600}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let person = |phone: &str| {
        let env = &env;
        let cashier = &cashier;
        let phone = phone.to_string();
        async move { env.new_person(cashier, "客户", &phone).await }
    };
    let flyer = json!({"kind": "personal", "customer_id": person("13900000001").await,
                       "channel": {"kind": "flyer", "ref": "FLY-A"}});
    let p1 = opened(&env, &cashier, flyer, "500", "cash").await;
    let stand = json!({"kind": "personal", "customer_id": person("13900000002").await,
                       "channel": {"kind": "stand"}});
    opened(&env, &cashier, stand, "300", "cash").await;
    let referral = json!({"kind": "personal", "customer_id": person("13900000003").await,
                          "channel": {"kind": "referral", "ref": p1}});
    let p3 = opened(&env, &cashier, referral, "200", "cash").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "城建工程", "contact_name": "李经理"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let company = r.1["id"].as_i64().expect("a company");
    let main = json!({"kind": "company_main", "customer_id": company, "pin": MAIN_PIN,
                      "channel": {"kind": "visit", "ref": prospect.to_string()}});
    let main = opened(&env, &cashier, main, "10000", "transfer").await;
    let sub = funded_sub_card(&env, &cashier, &main).await;
    // A sub-card brings no new customer; a referral names a card on file.
    let r = env
        .post(
            &cashier,
            "/api/v1/cards",
            json!({"kind": "personal", "customer_id": person("13900000009").await,
                   "channel": {"kind": "referral", "ref": "9100000000000018"}}),
        )
        .await;
    assert_eq!(r.1["code"], json!("card_not_found"), "{}", r.1);

    // The 5th: the flyer customer refuels.
    let env = env.on_day("2026-11-05T18:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    sell(&env, &cashier, &p1, "40").await;
    // The 10th: the company refuels on its sub-card; the visit's next step
    // is overdue, and the prospect is won.
    let env = env.on_day("2026-11-10T09:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    let manager = env.login("manager-s1").await;
    sell(&env, &cashier, &sub, "60").await;
    let r = env
        .get(&manager, "/api/v1/prospects?station=S1&overdue=true")
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let overdue: Vec<&Value> = r.1.as_array().expect("a list").iter().collect();
    assert_eq!(overdue.len(), 1, "{}", r.1);
    assert_eq!(
        (
            &overdue[0]["id"],
            &overdue[0]["stage"],
            &overdue[0]["overdue"]
        ),
        (&json!(prospect), &json!("contacted"), &json!(true))
    );
    let r = env
        .post(
            &manager,
            &format!("/api/v1/prospects/{prospect}/win"),
            json!({"customer_id": company}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        (&r.1["stage"], &r.1["customer_id"], &r.1["overdue"]),
        (&json!("won"), &json!(company), &json!(false))
    );
    let r = env
        .post(
            &manager,
            &format!("/api/v1/prospects/{prospect}/stage"),
            json!({"stage": "lost", "reason": "价格"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
    // Targets for November: S1's by its district manager, the district's by HQ.
    let east = env.login("district-east").await;
    let r = env
        .put(
            &east,
            "/api/v1/targets/2026-11",
            json!({"targets": [{"station": "S1", "new_personal": 4, "new_company": 1,
                                "first_recharge_amount": "20000", "card_litres": "400"}]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env
        .put(
            &env.admin,
            "/api/v1/targets/2026-11",
            json!({"targets": [{"district": "东区", "new_personal": 10, "card_litres": "1000"}]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);

    // December 4th, 11:00: the referred customer refuels 31 days and an
    // hour after opening — outside the window; a December sale is not
    // November's litres.
    let env = env.on_day("2026-12-04T11:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    sell(&env, &cashier, &p3, "10").await;

    let east = env.login("district-east").await;
    let r = env
        .get(&east, "/api/v1/targets/2026-11?district=东区")
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let lines = r.1["lines"].as_array().expect("lines");
    let line = |station: Option<&str>| {
        lines
            .iter()
            .find(|l| l["station"] == json!(station))
            .unwrap_or_else(|| panic!("a line for {station:?}: {}", r.1))
    };
    let s1 = line(Some("S1"));
    // Counted: the flyer customer and the company; not the stand customer
    // (never refuelled) nor the referral (refuelled on day 31).
    assert_eq!(
        s1["actual"],
        json!({"new_personal": 1, "new_company": 1,
               "first_recharge_amount": "10500.00", "card_litres": "100.00"}),
        "{s1}"
    );
    assert_eq!(
        s1["completion"],
        json!({"new_personal": "25.0", "new_company": "100.0",
               "first_recharge_amount": "52.5", "card_litres": "25.0"}),
        "{s1}"
    );
    let district = line(None);
    assert_eq!(district["district"], json!("东区"));
    assert_eq!(district["actual"], s1["actual"], "S2 did nothing");
    assert_eq!(
        district["completion"],
        json!({"new_personal": "10.0", "new_company": null,
               "first_recharge_amount": null, "card_litres": "10.0"})
    );
    assert_eq!(line(Some("S2"))["actual"]["new_personal"], json!(0));
    assert_eq!(lines.len(), 3, "东区 and its two stations: {}", r.1);

    let r = env
        .get(
            &east,
            "/api/v1/acquisition/channels?month=2026-11&station=S1",
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let channels: Vec<(String, i64, i64)> = r.1["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap_or("").to_string(),
                c["opened"].as_i64().unwrap_or(-1),
                c["activated"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        channels,
        vec![
            ("flyer".into(), 1, 1),
            ("referral".into(), 1, 0),
            ("stand".into(), 1, 0),
            ("visit".into(), 1, 1),
        ]
    );
    assert_eq!(
        r.1["flyers"],
        json!([{"batch": "FLY-A", "station": "S1", "handed_out": 600, "opened": 1, "activated": 1}])
    );

    // The leaderboard agrees with the tracking table; ties go by the rule.
    let r = env
        .get(&east, "/api/v1/leaderboard?period=2026-11&by=station")
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let board: Vec<(i64, String, i64, String)> = r.1["places"]
        .as_array()
        .expect("places")
        .iter()
        .map(|p| {
            (
                p["rank"].as_i64().unwrap_or(0),
                p["who"].as_str().unwrap_or("").to_string(),
                p["new_customers"].as_i64().unwrap_or(-1),
                p["first_recharge_amount"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        board,
        vec![
            (1, "S1".into(), 2, "10500.00".into()),
            (2, "S2".into(), 0, "0.00".into()),
            (3, "S3".into(), 0, "0.00".into()),
        ]
    );
    assert!(
        r.1["rule"]
            .as_str()
            .is_some_and(|t| t.contains("first-recharge"))
    );
    let r = env
        .get(&east, "/api/v1/leaderboard?period=2026-W45&by=staff")
        .await;
    assert_eq!(r.1["places"][0]["who"], json!("cashier1"), "{}", r.1);
    assert_eq!(r.1["places"][0]["new_customers"], json!(2), "{}", r.1);
    // One win: the company (a first recharge of 500 is below the bar).
    let r = env
        .get(&cashier, "/api/v1/wins?since=2026-11-01T00:00:00%2B08:00")
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let mut wins = r.1.clone();
    let at = wins[0]["at"].take();
    assert!(
        at.as_str().is_some_and(|t| t.starts_with("2026-11-03T02:")),
        "opened on the 3rd at 10:00 in Shanghai: {at}"
    );
    assert_eq!(
        wins,
        json!([{"at": null, "station": "S1", "station_name": "城东站",
                "district": "东区", "staff": "cashier1", "kind": "company",
                "amount_band": "10000–19999"}])
    );

    // Scope: a station manager reads their own station only; a district
    // manager their district; neither sets what is not theirs.
    let manager = env.login("manager-s1").await;
    let west = env.login("district-west").await;
    for (token, path) in [
        (&manager, "/api/v1/targets/2026-11?station=S2"),
        (&manager, "/api/v1/targets/2026-11?district=东区"),
        (&west, "/api/v1/targets/2026-11?district=东区"),
        (&west, "/api/v1/prospects?station=S1"),
        (
            &west,
            "/api/v1/acquisition/channels?month=2026-11&district=东区",
        ),
        (&manager, "/api/v1/prospects?station=S2"),
    ] {
        let r = env.get(token, path).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{path}: {}", r.1);
    }
    let r = env
        .get(&manager, &format!("/api/v1/prospects/{prospect}"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["visits"][0]["by"], json!("manager-s1"));
    let r = env
        .get(&west, &format!("/api/v1/prospects/{prospect}"))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let targets = env.count("targets").await;
    for (token, body) in [
        (
            &west,
            json!({"targets": [{"station": "S1", "new_personal": 99}]}),
        ),
        (
            &east,
            json!({"targets": [{"station": "S3", "new_personal": 99}]}),
        ),
        (
            &east,
            json!({"targets": [{"district": "东区", "new_personal": 99}]}),
        ),
        (
            &manager,
            json!({"targets": [{"station": "S1", "new_personal": 99}]}),
        ),
        // One line out of scope refuses the whole request.
        (
            &east,
            json!({"targets": [{"station": "S1", "new_personal": 99},
                                   {"station": "S3", "new_personal": 99}]}),
        ),
    ] {
        let r = env.put(token, "/api/v1/targets/2026-11", body).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    }
    assert_eq!(env.count("targets").await, targets, "nothing written");
    let r = env.get(&east, "/api/v1/targets/2026-11?station=S1").await;
    assert_eq!(r.1["lines"][0]["target"]["new_personal"], json!(4));
    env.assert_ledger_ok().await;
    env.finish().await;
}

async fn csv(env: &TestEnv, token: &str, text: &str) -> (StatusCode, Value) {
    let resp = env
        .client
        .post(format!("{}/api/v1/prospects/import", env.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(text.to_string())
        .send()
        .await
        .expect("the server answers");
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}

/// The week of Monday 23 to Sunday 29 November 2026 (2026-W48) at S1: the
/// service drafts 东区's report on the Sunday by itself (its clock at
/// 23:59); on Monday the report shows that week's sums, not Monday's; the
/// district manager submits it and it is frozen.
async fn the_sunday_report(backend: Backend) {
    let settings = crate::support::settings_at("2026-11-25T10:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    two_districts(&env).await;
    // Wednesday: a new customer who refuels at once, a prospect visited.
    let cashier = env.login("cashier1").await;
    let manager = env.login("manager-s1").await;
    let holder = env.new_person(&cashier, "客户", "13900000001").await;
    let card = opened(
        &env,
        &cashier,
        json!({"kind": "personal", "customer_id": holder}),
        "800",
        "cash",
    )
    .await;
    sell(&env, &cashier, &card, "20").await;
    let r = env
        .post(
            &manager,
            "/api/v1/prospects",
            json!({"kind": "fleet", "name": "顺达物流"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let prospect = r.1["id"].as_i64().expect("an id");
    let r = env
        .post(
            &manager,
            &format!("/api/v1/prospects/{prospect}/visits"),
            json!({"outcome": "约了下周再谈"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Saturday: more fuel and a second recharge.
    let env = env.on_day("2026-11-28T15:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    sell(&env, &cashier, &card, "10").await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "200", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let w48 = "weekly_reports WHERE week = '2026-W48'";
    assert_eq!(
        env.count("weekly_reports").await,
        2,
        "each district's due report (2026-W47) drafted as it was added"
    );
    assert_eq!(env.count(w48).await, 0, "not before Sunday");

    // Sunday 23:59: the service itself drafts the week's reports.
    let dir = tempfile::tempdir().expect("a dir");
    let sunday = fuelcard::time::Clock::parse("2026-11-29T23:59:00+08:00").expect("an instant");
    let (service, _) =
        crate::support::spawn_server(&env.fresh.url, &dir.path().join("k"), &sunday).await;
    let mut waited = 0;
    while env.count(w48).await < 2 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(env.count(w48).await, 2, "东区 and 西区 drafted");
    drop(service);

    // Monday: fuel sold today is next week's.
    let env = env.on_day("2026-11-30T09:00:00+08:00").await;
    let cashier = env.login("cashier1").await;
    sell(&env, &cashier, &card, "5").await;
    let east = env.login("district-east").await;
    let r = env.get(&east, "/api/v1/reports/weekly?district=东区").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        (&r.1["week"], &r.1["status"]),
        (&json!("2026-W48"), &json!("draft"))
    );
    let s1 = json!({"station": "S1", "name": "城东站", "new_customers": 1,
                    "first_recharge_amount": "800.00", "recharge_amount": "1000.00",
                    "card_litres": "30.00", "visits": 1, "new_prospects": 1});
    let s2 = json!({"station": "S2", "name": "城西站", "new_customers": 0,
                    "first_recharge_amount": "0.00", "recharge_amount": "0.00",
                    "card_litres": "0.00", "visits": 0, "new_prospects": 0});
    assert_eq!(r.1["stations"], json!([s1, s2]), "{}", r.1);
    let id = r.1["id"].as_i64().expect("an id");
    let west = env.login("district-west").await;
    let r = env.get(&west, "/api/v1/reports/weekly?district=东区").await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let submit = format!("/api/v1/reports/weekly/{id}/submission");
    let r = env.post(&west, &submit, json!({"notes": "x"})).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .post(
            &east,
            &submit,
            json!({"notes": "城东站本周新开一户，走访顺达物流"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        (&r.1["status"], &r.1["submitted_by"], &r.1["stations"]),
        (
            &json!("submitted"),
            &json!("district-east"),
            &json!([s1, s2])
        )
    );
    let r = env.post(&east, &submit, json!({"notes": "again"})).await;
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
    let r = env
        .get(&east, "/api/v1/reports/weekly?district=东区&week=2026-W48")
        .await;
    assert_eq!(r.1["notes"], json!("城东站本周新开一户，走访顺达物流"));
    assert_eq!(r.1["stations"], json!([s1, s2]), "frozen");
    let r = env
        .get(&east, "/api/v1/reports/weekly?district=东区&week=2026-W49")
        .await;
    assert_eq!(r.1["code"], json!("report_not_drafted"), "{}", r.1);
    env.assert_ledger_ok().await;
    env.finish().await;
}

/// The rows of a fixture file of `fixtures/acquisition`, by column name.
fn rows(name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let path = format!("{}/fixtures/acquisition/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::Reader::from_path(&path).expect("a fixture file");
    let header = reader.headers().expect("a header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A fixture cell as JSON: a number where the column holds counts, text
/// for decimals, null when empty.
fn cell(v: &str, count: bool) -> Value {
    match (v, count) {
        ("", _) => Value::Null,
        (v, true) => json!(v.parse::<i64>().expect("a count")),
        (v, false) => json!(v),
    }
}

/// November 2026 of the fixture network (`fixtures/acquisition`), each
/// opening and refuel since August replayed at its own minute through the
/// API; the tracking table (with the third quarter's retention) must equal
/// the hand-computed one, and the leaderboard and flyer conversion must
/// agree with it.
async fn the_fixture_month(backend: Backend) {
    let settings = crate::support::settings_at("2026-08-15T09:00:00+08:00");
    let Some(mut env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    let mut cashiers = std::collections::BTreeMap::new();
    for s in rows("stations.csv") {
        if !["S1", "S2"].contains(&s["station"].as_str()) {
            let r = env
                .post(
                    &env.admin,
                    "/api/v1/stations",
                    json!({"code": s["station"], "name": s["name"], "district": s["district"]}),
                )
                .await;
            assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        }
        if s["cashier"] != "cashier1" {
            env.add_user(&s["cashier"], "cashier", Some(&s["station"]), None)
                .await;
        }
        cashiers.insert(s["station"].clone(), s["cashier"].clone());
    }
    for f in rows("flyers.csv") {
        let r = env
            .post(
                &env.admin,
                "/api/v1/acquisition/flyers",
                json!({"code": f["code"], "station": f["station"],
                       "handed_out": f["handed_out"].parse::<u32>().expect("a count")}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    let r = env
        .post(
            &env.admin,
            "/api/v1/prospects",
            json!({"station": "S1", "kind": "company", "name": "城建工程"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let prospect = r.1["id"].as_i64().expect("an id").to_string();

    // Every event at its own minute, in order.
    let mut events: Vec<(String, bool, std::collections::BTreeMap<String, String>)> =
        rows("openings.csv")
            .into_iter()
            .map(|o| (o["at"].clone(), true, o))
            .chain(
                rows("refuels.csv")
                    .into_iter()
                    .map(|r| (r["at"].clone(), false, r)),
            )
            .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    // A card's label → the number a refuel uses (a company's sub-card).
    let mut cards: std::collections::BTreeMap<String, String> = Default::default();
    let mut phone = 13_900_000_100_u64;
    for (at, opening, e) in events {
        env = env.on_day(&at).await;
        let cashier = env.login(&cashiers[&e["station"]]).await;
        let station = &e["station"];
        if !opening {
            let r = env
                .money(
                    &cashier,
                    "/api/v1/sales",
                    json!({"card_number": cards[&e["card"]], "product": "92",
                           "litres": e["litres"], "station": station}),
                )
                .await;
            assert_eq!(r.0, StatusCode::CREATED, "{at} {}: {}", e["card"], r.1);
            continue;
        }
        let reference = match (e["channel"].as_str(), e["ref"].as_str()) {
            (_, "") => None,
            ("referral", card) => Some(cards[card].clone()),
            ("visit", _) => Some(prospect.clone()),
            (_, r) => Some(r.to_string()),
        };
        let channel = json!({"kind": e["channel"], "ref": reference});
        let company = e["kind"] == "company";
        phone += 1;
        let customer = if company {
            let r = env
                .post(
                    &cashier,
                    "/api/v1/customers",
                    json!({"kind": "company", "name": format!("单位{}", e["card"])}),
                )
                .await;
            r.1["id"].as_i64().expect("a company")
        } else {
            env.new_person(&cashier, "客户", &phone.to_string()).await
        };
        let body = if company {
            json!({"kind": "company_main", "customer_id": customer, "pin": MAIN_PIN,
                   "channel": channel})
        } else {
            json!({"kind": "personal", "customer_id": customer, "channel": channel})
        };
        let method = if company { "transfer" } else { "cash" };
        let number = opened(&env, &cashier, body, &e["recharge"], method).await;
        let spends = if company {
            funded_sub_card(&env, &cashier, &number).await
        } else {
            number
        };
        cards.insert(e["card"].clone(), spends);
    }

    let env = env.on_day("2026-12-15T10:00:00+08:00").await;
    let lines: Vec<Value> = rows("targets.csv")
        .iter()
        .map(|t| {
            json!({
                t["scope"].as_str(): t["code"],
                "new_personal": cell(&t["new_personal"], true),
                "new_company": cell(&t["new_company"], true),
                "first_recharge_amount": cell(&t["first_recharge_amount"], false),
                "card_litres": cell(&t["card_litres"], false),
            })
        })
        .collect();
    let r = env
        .put(
            &env.admin,
            "/api/v1/targets/2026-11",
            json!({"targets": lines}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env.get(&env.admin, "/api/v1/targets/2026-11").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let got: Vec<Value> = r.1["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            json!({
                "line": l["station"].as_str().unwrap_or(l["district"].as_str().unwrap_or("")),
                "actual": l["actual"],
                "completion": l["completion"],
                "retention": l["retention"],
            })
        })
        .collect();
    let expected: Vec<Value> = rows("expected-2026-11.csv")
        .iter()
        .map(|x| {
            json!({
                "line": x["line"],
                "actual": {
                    "new_personal": cell(&x["new_personal"], true),
                    "new_company": cell(&x["new_company"], true),
                    "first_recharge_amount": x["first_recharge_amount"],
                    "card_litres": x["card_litres"],
                },
                "completion": {
                    "new_personal": cell(&x["completion_new_personal"], false),
                    "new_company": cell(&x["completion_new_company"], false),
                    "first_recharge_amount": cell(&x["completion_first_recharge_amount"], false),
                    "card_litres": cell(&x["completion_card_litres"], false),
                },
                "retention": {
                    "new_customers": cell(&x["retention_new_customers"], true),
                    "still_active": cell(&x["retention_still_active"], true),
                },
            })
        })
        .collect();
    assert_eq!(got, expected, "the tracking table of 2026-11");
    assert_eq!(r.1["retention_quarter"], json!("2026-Q3"));

    // The leaderboard reads the same figures, ranked by the written rule.
    let r = env
        .get(&env.admin, "/api/v1/leaderboard?period=2026-11")
        .await;
    let board: Vec<(String, Value, Value)> = r.1["places"]
        .as_array()
        .expect("places")
        .iter()
        .map(|p| {
            (
                p["who"].as_str().unwrap_or("").to_string(),
                p["new_customers"].clone(),
                p["first_recharge_amount"].clone(),
            )
        })
        .collect();
    let from_table = |station: &str| {
        let x = expected
            .iter()
            .find(|x| x["line"] == json!(station))
            .expect("a line");
        let a = &x["actual"];
        (
            station.to_string(),
            json!(a["new_personal"].as_i64().unwrap_or(0) + a["new_company"].as_i64().unwrap_or(0)),
            a["first_recharge_amount"].clone(),
        )
    };
    assert_eq!(
        board,
        vec![
            from_table("S1"),
            from_table("S4"),
            from_table("S3"),
            from_table("S2")
        ]
    );
    let r = env
        .get(&env.admin, "/api/v1/acquisition/channels?month=2026-11")
        .await;
    assert_eq!(
        r.1["flyers"],
        json!([
            {"batch": "FLY-E1", "station": "S1", "handed_out": 600, "opened": 2, "activated": 1},
            {"batch": "FLY-W1", "station": "S3", "handed_out": 400, "opened": 1, "activated": 1},
        ])
    );
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(acquisition_month, a_month_of_acquisition);

crate::with_each_backend!(acquisition_fixture_month, the_fixture_month);

crate::with_each_backend!(acquisition_sunday_report, the_sunday_report);

/// A station manager's acquisition pages in a real headless Chromium: the
/// wins on the counter's home page, the tracking table with its bar, the
/// leaderboard, and a prospect added on the board and visited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_acquisition_pages() {
    use fantoccini::Locator;
    let Some(driver) = crate::pages::start_driver() else {
        return;
    };
    let env = TestEnv::start(Backend::Sqlite).await.expect("sqlite");
    env.add_user("manager-s1", "station_manager", Some("S1"), None)
        .await;
    let cashier = env.login("cashier1").await;
    let holder = env.new_person(&cashier, "客户", "13900000001").await;
    let card = opened(
        &env,
        &cashier,
        json!({"kind": "personal", "customer_id": holder, "channel": {"kind": "stand"}}),
        "1200",
        "cash",
    )
    .await;
    sell(&env, &cashier, &card, "30").await;
    let month = env.month();
    let r = env
        .put(
            &env.admin,
            &format!("/api/v1/targets/{month}"),
            json!({"targets": [{"station": "S1", "new_personal": 2}]}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let b = crate::pages::browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", env.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("manager-s1")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("manager-s1-password\n")
            .await?;
        // The counter's home page carries the wins: a first recharge of 1200.
        let wins = b.wait().for_element(Locator::Css("#wins li")).await?;
        let text = wins.text().await?;
        assert!(
            text.contains("城东站") && text.contains("1000–1999"),
            "{text}"
        );
        b.find(Locator::Css("header a[href='/acquisition']"))
            .await?
            .click()
            .await?;
        let row = b
            .wait()
            .for_element(Locator::XPath(
                "//table[@id='tracking']//tr[td[1][text()='S1']]",
            ))
            .await?;
        let cells = row.find_all(Locator::Css("td")).await?;
        let personal = cells[1].text().await?;
        assert!(
            personal.contains("1 / 2") && personal.contains("50.0%"),
            "{personal}"
        );
        let width = cells[1]
            .find(Locator::Css(".bar span"))
            .await?
            .attr("style")
            .await?;
        assert_eq!(width.as_deref(), Some("width:50%"));
        let first = b
            .find(Locator::Css("#leaderboard tbody tr td:nth-child(2)"))
            .await?
            .text()
            .await?;
        assert!(first.starts_with("S1"), "{first}");
        // A prospect added on the board, then visited.
        b.find(Locator::Id("prospects-link")).await?.click().await?;
        b.wait().for_element(Locator::Id("new-prospect")).await?;
        b.find(Locator::Id("pname"))
            .await?
            .send_keys("顺达物流")
            .await?;
        b.find(Locator::Id("contact"))
            .await?
            .send_keys("李经理")
            .await?;
        b.find(Locator::Css("#new-prospect button[type=submit]"))
            .await?
            .click()
            .await?;
        b.wait().for_element(Locator::Id("visit")).await?;
        assert_eq!(b.find(Locator::Id("stage")).await?.text().await?, "已摸底");
        b.find(Locator::Id("outcome"))
            .await?
            .send_keys("见到车队长")
            .await?;
        b.find(Locator::Id("next_step"))
            .await?
            .send_keys("送开卡资料\n")
            .await?;
        b.wait()
            .for_element(Locator::XPath(
                "//table[@id='visits']//td[text()='见到车队长']",
            ))
            .await?;
        assert_eq!(b.find(Locator::Id("stage")).await?.text().await?, "已接触");
        b.goto(&format!("{}/acquisition/prospects", env.base))
            .await?;
        let card = b
            .wait()
            .for_element(Locator::Css("section[data-stage=contacted] .prospect"))
            .await?;
        assert!(card.text().await?.contains("顺达物流"));
        b.keep_screenshot("fuelcard-acquisition.png").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    env.finish().await;
}

/// The pages over HTTP: a district manager's view of their district, the
/// tracking table as CSV, the weekly report submitted from its page; a
/// cashier is refused the manager's page with the policy's status.
async fn acquisition_pages_over_http(env: &TestEnv) {
    env.add_user_in("district-east", "district_manager", "东区")
        .await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let login = |who: &'static str| {
        let c = c.clone();
        let base = env.base.clone();
        async move {
            let password = format!("{who}-password");
            let form = [("username", who), ("password", password.as_str())];
            let r = crate::pages::post_form(&c, format!("{base}/login"), &form)
                .await
                .expect("answer");
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
    };
    login("district-east").await;
    // A district manager's home is the acquisition page.
    let r = c
        .get(format!("{}/", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.headers()["location"], "/acquisition");
    let html = crate::pages::html_of(&c, format!("{}/acquisition", env.base)).await;
    assert!(
        html.contains("东区") && html.contains("S1") && html.contains("S2"),
        "{html}"
    );
    let text = crate::pages::html_of(&c, format!("{}/acquisition/tracking.csv", env.base)).await;
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("district,station,new_personal"))
    );
    assert_eq!(lines.count(), 3, "东区 and its two stations: {text}");
    // The week's report, drafted as the service drafts it on Sunday.
    let mut tx = env.db.begin_write().await.expect("a transaction");
    fuelcard::acquisition::weekly::draft_due(
        &mut tx,
        env.clock.now_us(),
        chrono_tz::Asia::Shanghai,
    )
    .await
    .expect("drafted");
    tx.commit().await.expect("commit");
    let html = crate::pages::html_of(&c, format!("{}/acquisition/weekly", env.base)).await;
    assert!(html.contains("id=\"submit\""), "a draft to submit: {html}");
    let id = {
        use sqlx::Row;
        sqlx::query("SELECT id FROM weekly_reports WHERE district = '东区'")
            .fetch_one(env.db.pool())
            .await
            .expect("the draft")
            .try_get::<i64, _>("id")
            .expect("an id")
    };
    let r = crate::pages::post_form(
        &c,
        format!("{}/acquisition/weekly/{id}/submission", env.base),
        &[("notes", "本周无新客户")],
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    let html = crate::pages::html_of(&c, format!("{}{location}", env.base)).await;
    assert!(
        html.contains("已提交") && html.contains("本周无新客户"),
        "{html}"
    );
    let text = crate::pages::html_of(&c, format!("{}/acquisition/weekly.csv", env.base)).await;
    assert!(text.starts_with("station,name,new_customers"), "{text}");
    assert_eq!(text.lines().count(), 3, "S1 and S2: {text}");
    // A cashier works the counter, not the manager's page.
    login("cashier1").await;
    let r = c
        .get(format!("{}/acquisition", env.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

crate::on_both_backends!(acquisition_pages, acquisition_pages_over_http);
