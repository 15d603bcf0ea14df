//! Three integrity holes, each an attack told as a story on the demo
//! network (`fuelcard serve --demo`) on both backends:
//!
//! - consent to share data with partners is the customer's own act: a
//!   cashier cannot give it for them, the insurer's list holds only grants
//!   made with consent, and a withdrawal takes the customer off it at once;
//! - ID documents are guessed like PINs: five compared before a wait, and a
//!   card locked against documents after ten wrong in a row until head
//!   office unlocks it;
//! - a district manager reaches a customer exactly as they reach the
//!   customer's cards: opened or used at a station of their district.
//!
//! After each story the ledger still checks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::support::{Backend, Demo};

/// What the stories ask of the demo network beyond requests.
impl Demo {
    /// A person recorded at a counter with their resident ID `id_number`.
    async fn person(&self, cashier: &str, name: &str, phone: &str, id_number: &str) -> i64 {
        let r = self
            .post(
                cashier,
                "/api/v1/customers",
                json!({"kind": "person", "name": name, "phone": phone, "id_number": id_number}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        r.1["id"].as_i64().expect("an id")
    }

    /// A personal card of `customer` opened at the cashier's own station.
    async fn personal_card(&self, cashier: &str, customer: i64, pin: &str) -> String {
        let r = self
            .post(
                cashier,
                "/api/v1/cards",
                json!({"kind": "personal", "customer_id": customer, "pin": pin}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        r.1["number"].as_str().expect("a number").to_string()
    }

    async fn scalar(&self, sql: &str, id: i64) -> i64 {
        sqlx::query(sql)
            .bind(id)
            .fetch_one(self.db.pool())
            .await
            .expect("a row")
            .try_get(0)
            .expect("a number")
    }

    async fn grantees(&self, insurer: &str) -> String {
        let resp = self
            .client
            .get(format!("{}/api/v1/offers/INS-2026/grantees.csv", self.base))
            .bearer_auth(insurer)
            .send()
            .await
            .expect("the server answers");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.expect("a list")
    }

    async fn audited(&self, admin: &str, action: &str, subject: &str) -> bool {
        let r = self.get(admin, "/api/v1/audit?limit=500").await;
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        let items = r.1.as_array().cloned().unwrap_or_default();
        items
            .iter()
            .any(|i| i["action"] == json!(action) && i["subject"] == json!(subject))
    }
}

// ----------------------------------------------------------------- consent

/// (2) A cashier at S003 flips the consent of a customer whose card is at
/// S001, without the customer: refused, nothing changed, and the
/// insurer's list holds no grant made without consent. The customer's PIN
/// gives it (on the timeline, in the audit); a withdrawal takes them off
/// the list at once.
async fn consent_is_the_customers(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let (cashier1, cashier3) = (demo.login("cashier1").await, demo.login("cashier3").await);
    let (insurer, admin) = (demo.login("insurer").await, demo.login("admin").await);
    let customer = demo
        .person(&cashier1, "赵雷", "13811110001", "330102199001011111")
        .await;
    let card = demo.personal_card(&cashier1, customer, "2580").await;
    // Opening the card at S001 granted the insurer's voucher, without consent.
    let grants = "SELECT COUNT(*) FROM benefits WHERE customer_id = $1 AND consent = 0";
    assert_eq!(
        demo.scalar(grants, customer).await,
        1,
        "a grant without consent"
    );
    let archive = format!("/api/v1/customers/{customer}/archive");
    let consents = "SELECT COUNT(*) FROM customer_consents WHERE customer_id = $1";

    // The attack: another station's cashier gives the consent themselves.
    let r = demo
        .patch(
            &cashier3,
            &archive,
            json!({"consents": {"share_with_partners": true, "marketing": false}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    assert_eq!(r.1["code"], json!("consent_evidence_required"), "{}", r.1);
    let shares = "SELECT share_with_partners FROM customers WHERE id = $1";
    assert_eq!(demo.scalar(shares, customer).await, 0, "nothing changed");
    assert_eq!(demo.scalar(consents, customer).await, 0);
    // A card of someone else, or a wrong PIN, is no evidence either.
    let other = demo
        .person(&cashier1, "钱多", "13811110002", "330102199001012222")
        .await;
    let others = demo.personal_card(&cashier1, other, "1357").await;
    for (number, pin, code) in [
        (&others, "1357", "consent_evidence_required"),
        (&card, "0000", "wrong_pin"),
    ] {
        let r = demo
            .patch(
                &cashier3,
                &archive,
                json!({"consents": {"share_with_partners": true, "marketing": false},
                       "consent_evidence": {"card_number": number, "pin": pin}}),
            )
            .await;
        assert_eq!(r.1["code"], json!(code), "{}", r.1);
        assert_eq!(demo.scalar(shares, customer).await, 0, "nothing changed");
    }
    // The list holds only grants made with consent: the demo's consenting
    // customers, never this one.
    let list = demo.grantees(&insurer).await;
    assert!(!list.contains("赵雷"), "{list}");
    let consented: i64 = sqlx::query(
        "SELECT COUNT(*) FROM benefits b JOIN offers o ON o.id = b.offer_id \
         WHERE o.code = 'INS-2026' AND b.consent = 1",
    )
    .fetch_one(demo.db.pool())
    .await
    .expect("a count")
    .try_get(0)
    .expect("a number");
    assert_eq!(list.lines().count() as i64, consented + 1, "{list}");

    // The customer is there and types their PIN: consent given.
    let r = demo
        .patch(
            &cashier3,
            &archive,
            json!({"consents": {"share_with_partners": true, "marketing": false},
                   "consent_evidence": {"card_number": card, "pin": "2580"}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["consents"]["share_with_partners"], json!(true));
    assert!(demo.grantees(&insurer).await.contains("赵雷"));
    let r = demo
        .get(&cashier3, &format!("/api/v1/customers/{customer}/timeline"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let entries = r.1["entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| e["kind"] == json!("consent_given")
            && e["detail"] == json!("pin")
            && e["card"] == json!(card)),
        "{entries:?}"
    );
    assert!(
        demo.audited(&admin, "customer_consent_given", &customer.to_string())
            .await
    );

    // Withdrawn on the customer's word: off the list at once.
    let r = demo
        .patch(
            &cashier1,
            &archive,
            json!({"consents": {"share_with_partners": false, "marketing": false}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert!(!demo.grantees(&insurer).await.contains("赵雷"));
    assert_eq!(demo.scalar(consents, customer).await, 2);
    assert!(
        demo.audited(&admin, "customer_consent_withdrawn", &customer.to_string())
            .await
    );
    // A new customer consents only with their document's number typed.
    let r = demo
        .post(
            &cashier1,
            "/api/v1/customers",
            json!({"kind": "person", "name": "孙七", "phone": "13811110003",
                   "consents": {"share_with_partners": true}}),
        )
        .await;
    assert_eq!(r.1["code"], json!("consent_evidence_required"), "{}", r.1);
    demo.finish().await;
}

crate::with_each_backend!(consent, consent_is_the_customers);

// ---------------------------------------------------------------- identity

/// (4) Twelve wrong documents in a row on one card: five compared, then a
/// wait; ten wrong lock the card against documents, the right one
/// included, until head office unlocks it.
async fn documents_are_guessed_like_pins(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let cashier = demo.login("cashier1").await;
    let right = "330102199202023333";
    let customer = demo.person(&cashier, "李雷", "13822220001", right).await;
    let card = demo.personal_card(&cashier, customer, "4680").await;
    let unlock = format!("/api/v1/cards/{card}/unlock");
    // Three wrong PINs lock the card: the holder must show their document.
    for pin in ["0000", "0001", "0002"] {
        let r = demo.post(&cashier, &unlock, json!({"pin": pin})).await;
        assert!(r.0.is_client_error(), "{}", r.1);
    }
    let document =
        |n: &str| json!({"identity": {"document_kind": "resident_id", "document_number": n}});
    let failures = "SELECT identity_failures FROM cards WHERE number = $1";
    let failures_of = async || -> i64 {
        sqlx::query(failures)
            .bind(&card)
            .fetch_one(demo.db.pool())
            .await
            .expect("the card")
            .try_get(0)
            .expect("a count")
    };
    for i in 1..=5 {
        let wrong = format!("33010219920202{i:04}");
        let r = demo.post(&cashier, &unlock, document(&wrong)).await;
        assert_eq!(r.1["code"], json!("identity_mismatch"), "try {i}: {}", r.1);
    }
    let r = demo
        .post(&cashier, &unlock, document("330102199202029999"))
        .await;
    assert_eq!(r.0, StatusCode::TOO_MANY_REQUESTS, "{}", r.1);
    assert_eq!(r.1["code"], json!("rate_limited"), "{}", r.1);
    assert_eq!(failures_of().await, 5, "the sixth was not compared");
    // The waits run out; the wrong documents go on, up to the lock.
    let mut compared = 5;
    let mut last = Value::Null;
    while compared < 10 {
        let wrong = format!("33010219920203{compared:04}");
        let r = demo.post(&cashier, &unlock, document(&wrong)).await;
        if r.1["code"] == json!("rate_limited") {
            let wait = r.1["retry_after_seconds"].as_u64().unwrap_or(1);
            tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
            continue;
        }
        compared += 1;
        last = r.1;
    }
    assert_eq!(last["code"], json!("identity_locked"), "{last}");
    assert_eq!(failures_of().await, 10);
    // The eleventh and twelfth, and even the right one, are not compared.
    for n in ["330102199202040011", "330102199202040012", right] {
        let r = demo.post(&cashier, &unlock, document(n)).await;
        assert_eq!(r.1["code"], json!("identity_locked"), "{}", r.1);
    }
    assert_eq!(failures_of().await, 10);
    // Only head office lifts the lock.
    let identity_unlock = format!("/api/v1/cards/{card}/identity-unlock");
    let r = demo
        .send(Method::POST, &cashier, &identity_unlock, None)
        .await;
    assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
    let hq = demo.login("hq-office").await;
    let r = demo.send(Method::POST, &hq, &identity_unlock, None).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let admin = demo.login("admin").await;
    assert!(demo.audited(&admin, "card_identity_unlock", &card).await);
    let r = demo.post(&cashier, &unlock, document(right)).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], json!("active"));
    assert_eq!(failures_of().await, 0, "a right document starts again");
    demo.finish().await;
}

crate::with_each_backend!(identity_limits, documents_are_guessed_like_pins);

// ------------------------------------------------------------------ scope

/// (8) The east district's manager reads a customer exactly as they read
/// the customer's cards: not one whose only card is at S002 (west), but
/// one whose card was used at S001.
async fn customer_scope_is_card_scope(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let west = demo.login("cashier2").await;
    let east = demo.login("cashier1").await;
    let manager = demo.login("district-east").await;
    let customer = demo
        .person(&west, "周八", "13833330001", "330102199303034444")
        .await;
    let card = demo.personal_card(&west, customer, "1470").await;
    let timeline = format!("/api/v1/customers/{customer}/timeline");
    let r = demo.get(&manager, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.0, StatusCode::NOT_FOUND, "the card is hidden: {}", r.1);
    let r = demo.get(&manager, &timeline).await;
    assert_eq!(
        r.0,
        StatusCode::NOT_FOUND,
        "and so is its customer: {}",
        r.1
    );
    assert_eq!(r.1["code"], json!("customer_not_found"), "{}", r.1);
    // A customer id that does not exist answers the same.
    let r = demo
        .get(&manager, "/api/v1/customers/999999/timeline")
        .await;
    assert_eq!(r.0, StatusCode::NOT_FOUND, "{}", r.1);

    // Used at S001 (east): the card and its customer are in reach.
    let r = demo
        .post(
            &east,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "100", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = demo.get(&manager, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = demo.get(&manager, &timeline).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    // Personal data stays masked for a district manager.
    let shown = r.1["customer"]["id_number"].as_str().unwrap_or_default();
    assert!(shown.starts_with('*') && shown.ends_with("4444"), "{shown}");
    demo.finish().await;
}

crate::with_each_backend!(district_scope, customer_scope_is_card_scope);
