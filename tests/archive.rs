//! The customer archive: contacts shown whole to head office and masked at
//! the counter, the timeline of a customer's cards, recharges, fuel by
//! calendar month in the operator's zone and complaints, and the merging
//! of two records of the same person.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv};

/// An amount or a volume as the API writes it ("123.45"), in hundredths.
fn hundredths(v: &Value) -> i64 {
    let text = v.as_str().expect("a decimal string");
    let (whole, frac) = text.split_once('.').unwrap_or((text, "00"));
    whole.parse::<i64>().expect("digits") * 100 + frac.parse::<i64>().expect("digits")
}

/// Sells litres of 92 on a card; what the card was charged, in fen.
async fn sell(env: &TestEnv, cashier: &str, card: &str, litres: &str) -> i64 {
    let r = env
        .money(
            cashier,
            "/api/v1/sales",
            json!({"card_number": card, "product": "92", "litres": litres}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    hundredths(&r.1["charged"])
}

async fn recharge(env: &TestEnv, cashier: &str, card: &str, amount: &str) {
    let r = env
        .money(
            cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": amount, "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

fn kinds(timeline: &Value) -> Vec<String> {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().expect("a kind").to_string())
        .collect()
}

/// The fuel entry of a month.
fn fuel(timeline: &Value, month: &str) -> Value {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["kind"] == "fuel_month" && e["month"] == month)
        .cloned()
        .unwrap_or_else(|| panic!("no fuel for {month}: {timeline}"))
}

async fn archive_flow(backend: Backend) {
    // Half an hour before midnight, Beijing time, on the last of October.
    let settings = crate::support::settings_at("2026-10-31T23:00:00+08:00");
    let Some(env) = TestEnv::start_with(backend, settings).await else {
        return;
    };
    env.add_user("hq1", "hq", None, None).await;
    let cashier = env.login("cashier1").await;
    let person = env.new_person(&cashier, "张伟", "13800000001").await;
    let card = env
        .new_card(&cashier, json!({"kind": "personal", "customer_id": person}))
        .await;
    recharge(&env, &cashier, &card, "1000").await;
    let october = sell(&env, &cashier, &card, "20").await + sell(&env, &cashier, &card, "10").await;

    // The counter adds a contact; it sees the phone masked, HQ whole.
    let path = format!("/api/v1/customers/{person}/contacts");
    let r = env
        .request(
            reqwest::Method::POST,
            Some(&cashier),
            &path,
            Some(
                json!({"name": "李娜", "role": "配偶", "phone": "13900000002",
                        "birthday": "1985-03-08", "decision_maker": true}),
            ),
            Some("contact-1"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["phone"], "*******0002", "{}", r.1);
    assert_eq!(r.1["birthday"], "1985-03-08");
    let bad = env
        .post(
            &cashier,
            &path,
            json!({"name": "李娜", "birthday": "1985-02-30"}),
        )
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    assert_eq!(bad.1["field"], "birthday", "{}", bad.1);
    let hq = env.login("hq1").await;
    let r = env
        .request(
            reqwest::Method::PATCH,
            Some(&hq),
            &format!("/api/v1/customers/{person}/archive"),
            Some(
                // Consent to share is the customer's: their document, shown.
                json!({"consents": {"share_with_partners": true, "marketing": true},
                        "consent_evidence": {"identity": crate::support::identity()},
                        "preferred_station": "S1", "notes": "常加92号"}),
            ),
            None,
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env.get(&hq, &format!("/api/v1/customers/{person}")).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["contacts"][0]["phone"], "13900000002", "{}", r.1);
    assert_eq!(r.1["contacts"][0]["decision_maker"], true);
    assert_eq!(
        r.1["consents"],
        json!({"share_with_partners": true, "marketing": true})
    );
    assert_eq!(r.1["preferred_station"], "S1");
    assert_eq!(r.1["notes"], "常加92号");
    assert_eq!(r.1["merged_into"], Value::Null);

    // Just past midnight: November in Beijing, still October in UTC.
    let env = env.on_day("2026-11-01T00:30:00+08:00").await;
    let cashier = env.login("cashier1").await;
    let november = sell(&env, &cashier, &card, "15").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/complaints",
            json!({"customer_id": person, "channel": "counter", "category": "service",
                   "text": "开票太慢"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let complaint = r.1["id"].clone();
    recharge(&env, &cashier, &card, "500").await;

    let r = env
        .get(&cashier, &format!("/api/v1/customers/{person}/timeline"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let timeline = r.1;
    assert_eq!(
        kinds(&timeline),
        [
            "recharge",
            "complaint_received",
            "fuel_month",
            "consent_given",
            "fuel_month",
            "recharge",
            "card_opened"
        ],
        "{timeline}"
    );
    let entries = &timeline["entries"];
    assert_eq!(entries[0]["amount"], "500.00");
    assert_eq!(entries[0]["card"], json!(card));
    assert_eq!(entries[1]["id"], complaint);
    assert_eq!(entries[2]["month"], "2026-11");
    assert_eq!(entries[3]["detail"], "identity", "the customer's document");
    assert_eq!(entries[5]["amount"], "1000.00");
    let oct = fuel(&timeline, "2026-10");
    assert_eq!(oct["litres"], "30.00", "{oct}");
    assert_eq!(oct["count"], 2);
    assert_eq!(hundredths(&oct["amount"]), october, "{oct}");
    let nov = fuel(&timeline, "2026-11");
    assert_eq!(nov["litres"], "15.00", "{nov}");
    assert_eq!(nov["count"], 1);
    assert_eq!(hundredths(&nov["amount"]), november, "{nov}");
    // The counter reads the archive with personal data masked.
    assert_eq!(timeline["customer"]["phone"], "*******0001");
    assert_eq!(timeline["customer"]["contacts"][0]["phone"], "*******0002");
    // A page before the October fuel holds what came before it.
    let before = oct["at"].as_str().expect("a time").replace('+', "%2B");
    let r = env
        .get(
            &cashier,
            &format!("/api/v1/customers/{person}/timeline?before={before}"),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        kinds(&r.1),
        ["fuel_month", "recharge", "card_opened"],
        "{}",
        r.1
    );
    assert_eq!(
        r.1["entries"][0]["count"], 1,
        "the first October sale: {}",
        r.1
    );

    // A second record of the same person, opened by another counter visit
    // with its own card.
    let twin = env.new_person(&cashier, "张伟", "13800000001").await;
    let other = env.new_person(&cashier, "王芳", "13800000009").await;
    let twin_card = env
        .new_card(&cashier, json!({"kind": "personal", "customer_id": twin}))
        .await;
    recharge(&env, &cashier, &twin_card, "200").await;

    // Refusals write nothing: the counter may not merge; another person,
    // or the record itself, is not merged.
    let hq = env.login("hq1").await;
    let audit = env.count("audit_log").await;
    let merge = |id: i64| format!("/api/v1/customers/{id}/merge");
    let r = env
        .post(&cashier, &merge(person), json!({"other_id": twin}))
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let r = env
        .post(&hq, &merge(person), json!({"other_id": other}))
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], "not_the_same_customer", "{}", r.1);
    let r = env
        .post(&hq, &merge(person), json!({"other_id": person}))
        .await;
    assert_eq!(r.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.1);
    assert_eq!(env.count("audit_log").await, audit);
    assert_eq!(env.card(&twin_card).await["customer_id"], json!(twin));

    // HQ merges the twin: its card moves; the phone finds one customer.
    let r = env
        .post(&hq, &merge(person), json!({"other_id": twin}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["id"], json!(person));
    assert_eq!(env.card(&twin_card).await["customer_id"], json!(person));
    let r = env.get(&cashier, "/api/v1/cards?phone=13800000001").await;
    let holders: Vec<&Value> = r.1["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| &c["customer_id"])
        .collect();
    assert_eq!(holders, [&json!(person), &json!(person)], "{}", r.1);
    let r = env.get(&hq, &format!("/api/v1/customers/{twin}")).await;
    assert_eq!(r.1["merged_into"], json!(person), "{}", r.1);
    // A repeat answers the same and records nothing; the other way round,
    // the merged record is no longer one to merge into.
    let audit = env.count("audit_log").await;
    let r = env
        .post(&hq, &merge(person), json!({"other_id": twin}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(env.count("audit_log").await, audit);
    let r = env
        .post(&hq, &merge(twin), json!({"other_id": person}))
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], "illegal_transition", "{}", r.1);

    // A sale on the moved card joins the customer's November.
    let moved = sell(&env, &cashier, &twin_card, "5").await;
    let r = env
        .get(&hq, &format!("/api/v1/customers/{person}/timeline"))
        .await;
    let nov = fuel(&r.1, "2026-11");
    assert_eq!(nov["litres"], "20.00", "{nov}");
    assert_eq!(nov["count"], 2);
    assert_eq!(hundredths(&nov["amount"]), november + moved, "{nov}");
    assert_eq!(
        kinds(&r.1).iter().filter(|k| *k == "card_opened").count(),
        2
    );
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(customer_archive, archive_flow);
