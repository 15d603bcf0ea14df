//! The counter story: price, promotion, card, recharge, sale, statement.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestEnv;

async fn recharge_then_sell(env: &TestEnv) {
    let r = env
        .post(
            &env.admin,
            "/api/v1/promotions",
            json!({
                "name": "充值满千送2%", "kind": "recharge_bonus",
                "tiers": [{"min_amount": "1000", "bonus_percent": "2"}],
                "campaign_code": "FLYER-1"
            }),
        )
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

    let preview = env
        .get(
            &cashier,
            &format!("/api/v1/cards/{number}/recharge-preview?amount=1000.00"),
        )
        .await;
    assert_eq!(preview.1["bonus"], json!("20.00"), "{}", preview.1);

    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{number}/recharges"),
            json!({"amount": "1000.00", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["amount"], json!("1000.00"));
    assert_eq!(r.1["bonus"], json!("20.00"));
    assert_eq!(r.1["balance"], json!("1020.00"));
    assert_eq!(r.1["campaign_code"], json!("FLYER-1"));
    assert_eq!(r.1["receipt"]["station"], json!("S1"));
    let card = env.card(&number).await;
    assert_eq!(card["balance"], json!("1020.00"));
    assert_eq!(card["principal_balance"], json!("1000.00"));
    assert_eq!(card["bonus_balance"], json!("20.00"));

    let r = env
        .money(&cashier, "/api/v1/sales", json!({"card_number": number, "product": "92", "litres": "30.00", "plate": "浙A12345", "odometer": 12000}))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["litres"], json!("30.00"));
    assert_eq!(r.1["unit_price"], json!("7.68"));
    assert_eq!(r.1["amount"], json!("230.40"));
    assert_eq!(r.1["discount"], json!("6.00"));
    assert_eq!(r.1["charged"], json!("224.40"));
    assert_eq!(r.1["balance"], json!("795.60"));
    // Bonus money is spent first.
    assert_eq!(r.1["bonus_used"], json!("20.00"));

    let st = env
        .get(&cashier, &format!("/api/v1/cards/{number}/transactions"))
        .await;
    assert_eq!(st.0, StatusCode::OK, "{}", st.1);
    let items = st.1["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{}", st.1);
    assert_eq!(items[0]["kind"], json!("sale"));
    assert_eq!(items[0]["amount"], json!("-224.40"));
    assert_eq!(items[0]["balance_after"], json!("795.60"));
    assert_eq!(items[1]["kind"], json!("recharge"));
    assert_eq!(items[1]["amount"], json!("1020.00"));
    assert_eq!(items[1]["balance_after"], json!("1020.00"));
}
on_both_backends!(recharge_then_sell_matches_the_counter, recharge_then_sell);

async fn sale_by_amount_fixes_the_gross(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "500").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "amount": "200"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["amount"], json!("200.00"));
    assert_eq!(r.1["litres"], json!("26.04"));
    assert_eq!(r.1["discount"], json!("5.21"));
    assert_eq!(r.1["charged"], json!("194.79"));
    assert_eq!(r.1["balance"], json!("305.21"));
}
on_both_backends!(sale_by_amount, sale_by_amount_fixes_the_gross);

async fn price_in_force_applies(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "500").await;
    // A future price does not apply yet; a new price from now does.
    let r = env
        .put(&env.admin, "/api/v1/products/92/price", json!({"unit_price": "9.99", "card_discount_per_litre": "0", "effective_from": "2999-01-01T00:00:00Z"}))
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "10"}),
        )
        .await;
    assert_eq!(r.1["unit_price"], json!("7.68"), "{}", r.1);
    let r = env
        .put(
            &env.admin,
            "/api/v1/products/92/price",
            json!({"unit_price": "8.00", "card_discount_per_litre": "0.10"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "92", "litres": "10"}),
        )
        .await;
    assert_eq!(r.1["unit_price"], json!("8.00"), "{}", r.1);
    assert_eq!(r.1["charged"], json!("79.00"), "{}", r.1);
    // No price for 98# yet.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": number, "product": "98", "litres": "10"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT);
    assert_eq!(r.1["code"], json!("price_not_set"));
}
on_both_backends!(price_in_force, price_in_force_applies);

async fn promotion_budget_and_tiers(env: &TestEnv) {
    let r = env
        .post(&env.admin, "/api/v1/promotions", json!({
            "name": "限量赠送", "kind": "recharge_bonus",
            "tiers": [{"min_amount": "500", "bonus_percent": "2"}, {"min_amount": "1000", "bonus_percent": "5"}],
            "card_kinds": ["personal"], "budget": "60.00", "campaign_code": "STAND",
            "gifts": [{"min_amount": "1000", "item": "机油一瓶"}]
        }))
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let cashier = env.login("cashier1").await;
    let customer = env.new_person(&cashier, "李娜", "13800000002").await;
    let card = env
        .new_card(
            &cashier,
            json!({"kind": "personal", "customer_id": customer}),
        )
        .await;
    // Highest tier only: 1000 → 5% = 50.00, and the gift.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "1000", "payment_method": "bank_card"}),
        )
        .await;
    assert_eq!(r.1["bonus"], json!("50.00"), "{}", r.1);
    assert_eq!(r.1["gift"], json!("机油一瓶"));
    // 10.00 of budget left: a 20.00 bonus does not fit; the recharge still succeeds.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "1000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["bonus"], json!("0.00"), "{}", r.1);
    assert!(
        r.1["notice"].as_str().unwrap_or("").contains("budget"),
        "{}",
        r.1
    );
    assert_eq!(r.1["balance"], json!("2050.00"));
    // Anonymous cards are not in this promotion.
    let anon = env.new_card(&cashier, json!({"kind": "anonymous"})).await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{anon}/recharges"),
            json!({"amount": "500", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.1["bonus"], json!("0.00"), "{}", r.1);
}
on_both_backends!(promotion_budget, promotion_budget_and_tiers);

async fn company_funds_and_shift(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let r = env
        .post(
            &cashier,
            "/api/v1/customers",
            json!({"kind": "company", "name": "顺达物流", "phone": "057188881234"}),
        )
        .await;
    let company = r.1["id"].as_i64().expect("id");
    let main = env
        .new_card(
            &cashier,
            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
        )
        .await;
    let sub = env
        .new_card(
            &cashier,
            json!({"kind": "company_sub", "parent_card": main, "parent_pin": crate::support::MAIN_PIN}),
        )
        .await;
    let fleet = env
        .new_card(
            &cashier,
            json!({"kind": "fleet", "parent_card": main, "parent_pin": crate::support::MAIN_PIN, "plate": "浙A00001"}),
        )
        .await;
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{main}/recharges"),
            json!({"amount": "3000", "payment_method": "transfer"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // Sub-cards are funded from the main card, not recharged.
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{sub}/recharges"),
            json!({"amount": "100", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("invalid_transfer"), "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": sub, "amount": "1000", "pin": crate::support::MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": main, "to_card": fleet, "amount": "500", "pin": crate::support::MAIN_PIN}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    // A sub-card spends its own balance; the main card is untouched.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": sub, "product": "92", "litres": "10"}),
        )
        .await;
    assert_eq!(r.1["balance"], json!("925.20"), "{}", r.1);
    assert_eq!(env.card(&main).await["balance"], json!("1500.00"));
    // One car, one card.
    let r = env
        .money(
            &cashier,
            "/api/v1/sales",
            json!({"card_number": fleet, "product": "92", "litres": "10", "plate": "浙B99999"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("plate_mismatch"), "{}", r.1);
    // Not between unrelated cards.
    let other = env.funded_card(&cashier, "100").await;
    let r = env
        .money(
            &cashier,
            "/api/v1/transfers",
            json!({"from_card": other, "to_card": sub, "amount": "10", "pin": crate::support::MAIN_PIN}),
        )
        .await;
    assert_eq!(r.1["code"], json!("invalid_transfer"), "{}", r.1);

    // The shift holds the cash, bank-card and transfer totals.
    let r = env.get(&cashier, "/api/v1/shifts/current").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["expected"]["transfer"], json!("3000.00"), "{}", r.1);
    assert_eq!(r.1["expected"]["cash"], json!("100.00"), "{}", r.1);
    let id = r.1["id"].as_i64().expect("id");
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/shifts/{id}/close"),
            json!({"counted_cash": "90.00", "counted_bank_card": "0", "counted_transfer": "3000"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["difference"], json!("-10.00"), "{}", r.1);
    let r = env
        .post(
            &cashier,
            &format!("/api/v1/shifts/{id}/close"),
            json!({"counted_cash": "90.00", "counted_bank_card": "0", "counted_transfer": "3000"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("shift_not_open"), "{}", r.1);
    let r = env.get(&cashier, "/api/v1/stations/S1/day-report").await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["expected"]["transfer"], json!("3000.00"), "{}", r.1);
    assert_eq!(r.1["counted_difference"], json!("-10.00"), "{}", r.1);
    assert_eq!(r.1["products"][0]["litres"], json!("10.00"), "{}", r.1);
}
on_both_backends!(company_cards_and_shift, company_funds_and_shift);

async fn holds_reserve_and_resolve_once(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    let number = env.funded_card(&cashier, "5000").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let r = env
            .money(
                &cashier,
                "/api/v1/holds",
                json!({"card_number": number, "amount": "1000"}),
            )
            .await;
        if i < 5 {
            assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
            ids.push(r.1["id"].as_i64().expect("id"));
        } else {
            // Six 1,000 holds on 5,000: the sixth is refused.
            assert_eq!(r.1["code"], json!("insufficient_balance"), "{}", r.1);
        }
    }
    assert_eq!(env.card(&number).await["balance"], json!("0.00"));
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/holds/{}/capture", ids[0]),
            json!({"amount": "1200"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("capture_exceeds_hold"), "{}", r.1);
    // Capture and void race: exactly one wins.
    let capture = format!("/api/v1/holds/{}/capture", ids[0]);
    let void = format!("/api/v1/holds/{}/void", ids[0]);
    let (a, b) = tokio::join!(
        env.money(&cashier, &capture, json!({"amount": "800"})),
        env.money(&cashier, &void, json!({})),
    );
    let wins = [a.0, b.0].iter().filter(|s| s.is_success()).count();
    assert_eq!(wins, 1, "{a:?} {b:?}");
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/holds/{}/void", ids[1]),
            json!({}),
        )
        .await;
    assert_eq!(r.1["status"], json!("voided"), "{}", r.1);
    let card = env.card(&number).await;
    let expected = if a.0.is_success() {
        "1200.00"
    } else {
        "2000.00"
    };
    assert_eq!(card["balance"], json!(expected), "{card}");
}
on_both_backends!(holds, holds_reserve_and_resolve_once);
