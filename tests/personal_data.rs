//! Personal data: phones and ID document numbers are shown whole only to
//! the admin, HQ and a company's own fleet manager; everyone else sees the
//! last four characters. The counter finds a customer by exact card number
//! or phone, never by paging through customer ids.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestEnv;

async fn personal_data(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "person", "name": "张伟", "phone": "13800000001",
                   "id_number": "33010219800101123X"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["phone"], json!("*******0001"), "{}", r.1);
    assert_eq!(r.1["id_number"], json!("**************123X"), "{}", r.1);
    let person = r.1["id"].as_i64().expect("an id");
    let card = env
        .new_card(&cashier, json!({"kind": "personal", "customer_id": person}))
        .await;

    // The cashier cannot page through customers by id, nor list a
    // customer's cards by id…
    for id in [person, person + 1] {
        let r = env.get(&cashier, &format!("/api/v1/customers/{id}")).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
        assert_eq!(r.1["code"], json!("forbidden"), "{}", r.1);
    }
    let r = env
        .get(&cashier, &format!("/api/v1/cards?customer_id={person}"))
        .await;
    assert_eq!(r.1["items"], json!([]), "{}", r.1);

    // …but finds the card by the exact phone or number, with the phone masked.
    let r = env.get(&cashier, "/api/v1/cards?phone=13800000001").await;
    assert_eq!(r.1["items"][0]["number"], json!(card), "{}", r.1);
    assert_eq!(r.1["items"][0]["holder_phone"], json!("*******0001"));
    let r = env.get(&cashier, "/api/v1/cards?phone=1380000000").await;
    assert_eq!(
        r.1["items"],
        json!([]),
        "a partial phone finds nothing: {}",
        r.1
    );
    let r = env.get(&cashier, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.1["holder_phone"], json!("*******0001"), "{}", r.1);

    // The admin sees it whole.
    let r = env
        .get(&env.admin, &format!("/api/v1/customers/{person}"))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["phone"], json!("13800000001"));
    assert_eq!(r.1["id_number"], json!("33010219800101123X"));
    let r = env.get(&env.admin, &format!("/api/v1/cards/{card}")).await;
    assert_eq!(r.1["holder_phone"], json!("13800000001"), "{}", r.1);
}

on_both_backends!(personal_data_is_masked_and_not_listed, personal_data);
