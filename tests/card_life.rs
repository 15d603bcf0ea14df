//! Loss, replacement, conversion, closure, PIN lock and unlock.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestEnv, identity};

async fn lost_card_is_blacklisted_and_replaced(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "800").await;
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{number}/loss-report"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], json!("lost"));
    let sales = env.count("sales").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "5"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("card_blacklisted"));
    assert_eq!(env.count("sales").await, sales);
    // Also refused at another station.
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    let other = env.login("cashier2").await;
    let r = env
        .money(
            &other,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "5"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("card_blacklisted"));

    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/replacement"),
            json!({"identity": identity()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let new_number = r.1["number"].as_str().expect("new number").to_string();
    assert_ne!(new_number, number);
    assert_eq!(env.card(&new_number).await["balance"], json!("800.00"));
    assert_eq!(env.card(&number).await["balance"], json!("0.00"));
    assert_eq!(env.card(&number).await["status"], json!("replaced"));
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "5"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("card_blacklisted"));
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": new_number, "product": "92", "litres": "5"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Replacing twice is refused.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/replacement"),
            json!({"identity": identity()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
    assert_eq!(r.1["from"], json!("replaced"), "{}", r.1);
    // So is reporting a replaced card lost.
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{number}/loss-report"),
            json!({}),
        )
        .await;
    assert_eq!(r.1["code"], json!("illegal_transition"), "{}", r.1);
}
on_both_backends!(loss_and_replacement, lost_card_is_blacklisted_and_replaced);

async fn replacement_waits(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "100").await;
    env.post(
        &cashier,
        &format!("/api/v1/cards/{number}/loss-report"),
        json!({}),
    )
    .await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/replacement"),
            json!({"identity": identity()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("replacement_waiting"));
    assert!(r.1["ready_at"].is_string());
    assert_eq!(env.card(&number).await["status"], json!("lost"));
}

mod replacement_waiting_period {
    use super::*;
    use crate::support::Backend;
    use fuelcard::config::Settings;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let settings = Settings {
            replacement_wait_hours: 24,
            ..crate::support::settings()
        };
        let env = TestEnv::start_with(Backend::Sqlite, settings)
            .await
            .expect("sqlite");
        replacement_waits(&env).await;
        env.finish().await;
    }
}

async fn three_wrong_pins_lock(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let customer = env.new_person(&cashier, "王芳", "13800000003").await;
    let number = env
        .new_card(
            &cashier,
            json!({"kind": "personal", "customer_id": customer, "pin": "123456"}),
        )
        .await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/recharges"),
            json!({"amount": "500", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let sale = |pin: Option<&str>| json!({"card_number": number, "product": "92", "litres": "5", "pin": pin});
    let r = env.money(&cashier, "/api/v1/sales", sale(None)).await;
    assert_eq!(r.1["code"], json!("pin_required"), "{}", r.1);
    let r = env
        .money(&cashier, "/api/v1/sales", sale(Some("000000")))
        .await;
    assert_eq!(r.1["code"], json!("wrong_pin"));
    assert_eq!(r.1["tries_left"], json!(2));
    let r = env
        .money(&cashier, "/api/v1/sales", sale(Some("111111")))
        .await;
    assert_eq!(r.1["tries_left"], json!(1));
    let r = env
        .money(&cashier, "/api/v1/sales", sale(Some("222222")))
        .await;
    assert_eq!(r.1["code"], json!("pin_locked"), "{}", r.1);
    // Even the right PIN is refused now.
    let r = env
        .money(&cashier, "/api/v1/sales", sale(Some("123456")))
        .await;
    assert_eq!(r.1["code"], json!("pin_locked"), "{}", r.1);
    assert_eq!(env.card(&number).await["status"], json!("locked"));
    assert_eq!(env.count("sales").await, 0);

    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{number}/unlock"),
            json!({"identity": identity()}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], json!("active"));
    let r = env
        .money(&cashier, "/api/v1/sales", sale(Some("123456")))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // No PIN in the database, in any form a search would find.
    use sqlx::Row;
    let row = sqlx::query("SELECT pin_verifier FROM cards WHERE number = $1")
        .bind(&number)
        .fetch_one(env.db.pool())
        .await
        .expect("row");
    let verifier: String = row.try_get("pin_verifier").expect("verifier");
    assert!(!verifier.contains("123456"));
    assert_eq!(verifier.len(), 64);
}
on_both_backends!(pin_lock, three_wrong_pins_lock);

async fn convert_and_close(env: &TestEnv) {
    let r = env
        .post(&env.admin, "/api/v1/promotions", json!({"name": "送", "kind": "recharge_bonus", "tiers": [{"min_amount": "100", "bonus_percent": "10"}]}))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let cashier = env.login("cashier1").await;
    let anon = env.new_card(&cashier, json!({"kind": "anonymous"})).await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{anon}/recharges"),
            json!({"amount": "200", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.1["balance"], json!("220.00"), "{}", r.1);
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{anon}/conversion"),
            json!({"customer": {"kind": "person", "name": "刘洋", "phone": "13800000004",
                                "id_number": "E12345678", "id_kind": "passport"}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["kind"], json!("personal"));
    assert_eq!(r.1["holder_name"], json!("刘洋"));
    assert_eq!(r.1["balance"], json!("220.00"));
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{anon}/conversion"),
            json!({"customer_id": 1}),
        )
        .await;
    assert_eq!(r.1["code"], json!("card_not_anonymous"), "{}", r.1);
    let r = env.get(&cashier, "/api/v1/cards?phone=13800000004").await;
    assert_eq!(r.1["items"][0]["number"], json!(anon), "{}", r.1);

    // Spend 14.96, all of it from the 20.00 bonus (bonus first), then close:
    // principal 200.00 refunded in cash, the unspent bonus 5.04 clawed back.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": anon, "product": "92", "litres": "2"}),
        )
        .await;
    assert_eq!(r.1["charged"], json!("14.96"), "{}", r.1);
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{anon}/closure"),
            json!({"identity": {"document_kind": "passport", "document_number": "e12345678"}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["refunded"], json!("200.00"));
    assert_eq!(r.1["bonus_clawed_back"], json!("5.04"));
    let card = env.card(&anon).await;
    assert_eq!(card["status"], json!("closed"));
    assert_eq!(card["balance"], json!("0.00"));
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{anon}/recharges"),
            json!({"amount": "10", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("card_closed"), "{}", r.1);
    // The refund leaves the cash drawer: the shift expects 200 − 200.
    let r = env.get(&cashier, "/api/v1/shifts/current").await;
    assert_eq!(r.1["expected"]["cash"], json!("0.00"), "{}", r.1);
}
on_both_backends!(conversion_and_closure, convert_and_close);

/// The newest audit entry of `action` on `subject`.
async fn audited(env: &TestEnv, action: &str, subject: &str) -> serde_json::Value {
    let r = env.get(&env.admin, "/api/v1/audit?limit=50").await;
    r.1.as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == json!(action) && e["subject"] == json!(subject))
        .unwrap_or_else(|| panic!("no {action} of {subject} in {}", r.1))["detail"]
        .clone()
}

/// Closing, replacing, converting and unlocking a card pay out, move or
/// free its money: each needs the card's PIN or the holder's ID document
/// as recorded. Without either, or with another document, each is refused
/// with its own code and writes nothing; with one, the audit log says
/// which check was made.
async fn card_life_needs_the_holder(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let card = env.pin_card(&cashier, "13800000011", "1357", "300").await;
    let anon = env
        .new_card(&cashier, json!({"kind": "anonymous", "pin": "2468"}))
        .await;
    let snapshot = || async {
        (
            env.count("audit_log").await,
            env.count("operations").await,
            env.count("cards").await,
            env.count("customers").await,
            env.card(&card).await,
            env.card(&anon).await,
        )
    };
    let before = snapshot().await;
    let other_document =
        json!({"document_kind": "resident_id", "document_number": "110101199001011111"});
    let other_kind =
        json!({"document_kind": "passport", "document_number": crate::support::PERSON_ID});
    let closure = format!("/api/v1/cards/{card}/closure");
    let replacement = format!("/api/v1/cards/{card}/replacement");
    let unlock = format!("/api/v1/cards/{card}/unlock");
    let conversion = format!("/api/v1/cards/{anon}/conversion");
    let new_holder = json!({"kind": "person", "name": "周强", "phone": "13800000012"});
    for (path, body, code) in [
        (&closure, json!({}), "holder_check_required"),
        (&replacement, json!({}), "holder_check_required"),
        (
            &conversion,
            json!({"customer": new_holder}),
            "holder_check_required",
        ),
        (
            &closure,
            json!({"identity": other_document}),
            "identity_mismatch",
        ),
        (
            &replacement,
            json!({"identity": other_kind}),
            "identity_mismatch",
        ),
        (
            &conversion,
            json!({"customer": new_holder, "identity": identity()}),
            "identity_mismatch",
        ),
    ] {
        let r = env.money(&cashier, path, body.clone()).await;
        assert_eq!(r.1["code"], json!(code), "{path} {body}: {}", r.1);
        assert_eq!(snapshot().await, before, "{path} {body} wrote");
    }

    // Unlocking needs the holder too, and a locked card's PIN is no word.
    env.lock_with_wrong_pins(&cashier, &card).await;
    let locked = (env.count("audit_log").await, env.card(&card).await);
    for (body, code) in [
        (json!({}), "holder_check_required"),
        (json!({"pin": "1357"}), "pin_locked"),
        (json!({"identity": other_document}), "identity_mismatch"),
    ] {
        let r = env.post(&cashier, &unlock, body.clone()).await;
        assert_eq!(r.1["code"], json!(code), "unlock {body}: {}", r.1);
        assert_eq!(
            (env.count("audit_log").await, env.card(&card).await),
            locked,
            "unlock {body} wrote"
        );
    }
    let r = env
        .post(&cashier, &unlock, json!({"identity": identity()}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let detail = audited(env, "unlock", &card).await;
    assert_eq!(
        detail["holder_check"],
        json!("identity checked"),
        "{detail}"
    );
    assert_eq!(detail["document_kind"], json!("resident_id"), "{detail}");

    // The anonymous card converts on its PIN; the holder's document, typed
    // with spaces and in lower case, replaces the lost personal card; the
    // new card closes on the PIN that carried over.
    let r = env
        .post(
            &cashier,
            &conversion,
            json!({"customer": new_holder, "pin": "2468"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(
        audited(env, "conversion", &anon).await["holder_check"],
        json!("pin")
    );
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/cards/{card}/loss-report"),
            json!({}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let spaced = crate::support::PERSON_ID.replace("0101", " 0101 ");
    let r = env
        .money(
            &cashier,
            &replacement,
            json!({"identity": {"document_kind": "resident_id", "document_number": spaced}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let new_card = r.1["number"].as_str().expect("a number").to_string();
    assert_eq!(
        audited(env, "replacement", &card).await["holder_check"],
        json!("identity checked")
    );
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{new_card}/closure"),
            json!({"pin": "1357"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["refunded"], json!("300.00"));
    assert_eq!(
        audited(env, "closure", &new_card).await["holder_check"],
        json!("pin")
    );
}
on_both_backends!(
    card_life_needs_the_holder_or_the_pin,
    card_life_needs_the_holder
);
