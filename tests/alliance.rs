//! The merchant alliance: the insurance campaign ("办卡送保险") and the
//! monthly car wash ("一月一次的免费洗车") run end to end — offers granted in
//! the events' own transactions, budgets never exceeded (also by 600
//! openings at three stations on two servers at once), vouchers redeemed
//! once and only by their merchant, the partner's list of consenting
//! grantees, the monthly settlement booked once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv};

/// The insurer M-INS at S1 and S2 and the car wash M-WASH at S1, each with
/// a user of its own.
async fn partners(env: &TestEnv) {
    for (code, name, category, stations) in [
        (
            "M-INS",
            "平安财险城东营业部",
            "insurance",
            json!(["S1", "S2"]),
        ),
        ("M-WASH", "洁车坊", "car_wash", json!(["S1"])),
    ] {
        let r = env
            .post(
                &env.admin,
                "/api/v1/merchants",
                json!({"code": code, "name": name, "category": category, "stations": stations,
                       "contact": "李经理 0571-88886666"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
    for (user, merchant) in [("insurer", "M-INS"), ("washer", "M-WASH")] {
        let r = env
            .post(
                &env.admin,
                "/api/v1/users",
                json!({"username": user, "password": format!("{user}-password"),
                       "role": "merchant", "merchant": merchant}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    }
}

/// 500 accident policies (here `budget` of them) for a card opened at S1
/// or S2; the insurer needs the customer's data.
fn insurance(budget: i64) -> Value {
    json!({
        "code": "INS-2026", "merchant": "M-INS", "name": "办卡送保险",
        "trigger": {"event": "card_opened", "card_kinds": ["personal"], "stations": ["S1", "S2"]},
        "benefit": {"kind": "voucher", "item": "驾乘人员意外险一份"},
        "unit_cost": "20.00", "funded_by": {"station_percent": 0, "merchant_percent": 100},
        "budget_count": budget, "per_customer": 1, "valid_days": 90, "needs_consent": true
    })
}

/// A new person with a resident ID, who consents to sharing their data
/// with partners or not.
async fn person(env: &TestEnv, token: &str, phone: &str, consent: bool) -> i64 {
    let r = env
        .post(
            token,
            "/api/v1/customers",
            json!({"kind": "person", "name": format!("客户{}", &phone[7..]), "phone": phone,
                   "id_number": format!("33010219800101{}", &phone[7..]),
                   "consents": {"share_with_partners": consent}}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["consents"]["share_with_partners"], json!(consent));
    r.1["id"].as_i64().expect("an id")
}

/// Opens a personal card for a customer under an Idempotency-Key.
async fn open_keyed(env: &TestEnv, token: &str, customer: i64, key: &str) -> (StatusCode, Value) {
    env.request(
        Method::POST,
        Some(token),
        "/api/v1/cards",
        Some(json!({"kind": "personal", "customer_id": customer})),
        Some(key),
    )
    .await
}

async fn insurance_campaign(env: &TestEnv) {
    partners(env).await;
    let r = env.post(&env.admin, "/api/v1/offers", insurance(3)).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["budget_left"], json!(3));
    let cashier = env.login("cashier1").await;
    // Four customers, the second without consent: three vouchers, then the
    // budget is spent and the fourth opening says so.
    let mut vouchers = Vec::new();
    for (i, consent) in [true, false, true, true].into_iter().enumerate() {
        let key = format!("open-{i}");
        let customer = person(env, &cashier, &format!("1390000000{i}"), consent).await;
        let r = open_keyed(env, &cashier, customer, &key).await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        if i < 3 {
            let b = &r.1["benefits"][0];
            assert_eq!(
                (&b["offer"], &b["kind"]),
                (&json!("INS-2026"), &json!("voucher"))
            );
            let code = b["voucher_code"].as_str().expect("a code").to_string();
            assert_eq!(code.replace('-', "").len(), 12, "{code}");
            vouchers.push((r.1["number"].as_str().expect("a number").to_string(), code));
            let consent_notice = r.1["notices"]
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n["code"] == "consent_missing"));
            assert_eq!(consent_notice, !consent, "{}", r.1);
        } else {
            assert_eq!(r.1.get("benefits"), None, "{}", r.1);
            assert_eq!(r.1["notices"][0]["code"], json!("budget_exhausted"));
        }
        // Replaying the opening answers the same and grants nothing more.
        let again = open_keyed(env, &cashier, customer, &key).await;
        assert_eq!(again, r);
    }
    assert_eq!(env.count("benefits").await, 3);
    let offer = env.get(&env.admin, "/api/v1/offers/INS-2026").await;
    assert_eq!(
        (
            &offer.1["granted"],
            &offer.1["budget_left"],
            &offer.1["granted_amount"]
        ),
        (&json!(3), &json!(0), &json!("60.00")),
        "{}",
        offer.1
    );
    // The card page shows the voucher.
    let (card, code) = &vouchers[0];
    let r = env
        .get(&cashier, &format!("/api/v1/cards/{card}/benefits"))
        .await;
    assert_eq!(r.1[0]["voucher_code"], json!(code), "{}", r.1);
    assert_eq!(r.1[0]["status"], json!("granted"));

    // The car wash cannot see, list or redeem the insurer's business.
    let washer = env.login("washer").await;
    let insurer = env.login("insurer").await;
    for path in [
        "/api/v1/offers/INS-2026",
        "/api/v1/offers/INS-2026/grantees.csv",
        "/api/v1/offers/INS-2026/effectiveness",
        "/api/v1/merchants/M-INS",
        "/api/v1/offers?merchant=M-INS",
    ] {
        // Another merchant's is not there, as an unknown code is not.
        let r = env.get(&washer, path).await;
        assert_eq!(r.0, StatusCode::NOT_FOUND, "{path}: {}", r.1);
    }
    let r = env
        .get(&washer, &format!("/api/v1/benefits?code={code}"))
        .await;
    assert_eq!(r.1["code"], json!("benefit_not_found"), "{}", r.1);
    let r = env
        .money(
            &washer,
            "/api/v1/redemptions",
            json!({"voucher_code": code}),
        )
        .await;
    assert_eq!(r.1["code"], json!("benefit_not_found"), "{}", r.1);

    // The partner's list: the two consenting grantees, and the export is
    // audited.
    let r = env
        .client
        .get(format!("{}/api/v1/offers/INS-2026/grantees.csv", env.base))
        .bearer_auth(&insurer)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "name,id_kind,id_number,phone,voucher_code,station,granted_on"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        text.contains("13900000000") && text.contains("13900000002"),
        "{text}"
    );
    assert!(!text.contains("13900000001"), "no consent: {text}");
    let audit = env.get(&env.admin, "/api/v1/audit?limit=50").await;
    assert!(
        audit.1.to_string().contains("grantees_export"),
        "{}",
        audit.1
    );

    // The insurer looks the customer up (masked) and redeems once.
    let r = env
        .get(
            &insurer,
            &format!("/api/v1/benefits?code={}", code.to_lowercase()),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["customer"]["phone_last4"], json!("0000"));
    assert_eq!(r.1["customer"]["card_last4"], json!(&card[12..]));
    assert!(!r.1.to_string().contains("13900000000"), "masked: {}", r.1);
    let r = env
        .money(
            &insurer,
            "/api/v1/redemptions",
            json!({"voucher_code": code}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(
        (&r.1["value"], &r.1["station_share"]),
        (&json!("20.00"), &json!("0.00"))
    );
    let r = env
        .money(
            &insurer,
            "/api/v1/redemptions",
            json!({"voucher_code": code}),
        )
        .await;
    assert_eq!(r.1["code"], json!("voucher_redeemed"), "{}", r.1);
    let r = env
        .get(&cashier, &format!("/api/v1/cards/{card}/benefits"))
        .await;
    assert_eq!(r.1[0]["status"], json!("redeemed"));
    let r = env
        .get(&env.admin, "/api/v1/offers/INS-2026/effectiveness")
        .await;
    assert_eq!(
        (
            &r.1["granted"],
            &r.1["redeemed"],
            &r.1["cards_opened"],
            &r.1["cost"]
        ),
        (&json!(3), &json!(1), &json!(3), &json!("20.00")),
        "{}",
        r.1
    );
    assert_eq!(r.1["redemption_rate"], json!("33.33"));
    assert_eq!(r.1["cost_per_new_card"], json!("6.67"));
}

crate::on_both_backends!(alliance_insurance_campaign, insurance_campaign);

/// One free car wash a month for a card recharged with at least 500.00,
/// funded by the station: the second wash in a month is refused, the next
/// month's is not; November is settled once, and a settled redemption can
/// no longer be reversed.
async fn car_wash(backend: Backend) {
    let Some(env) = TestEnv::start(backend).await else {
        return;
    };
    partners(&env).await;
    let r = env
        .post(
            &env.admin,
            "/api/v1/offers",
            json!({
                "code": "WASH", "merchant": "M-WASH", "name": "充值送每月洗车",
                "trigger": {"event": "recharge", "min_amount": "500"},
                "benefit": {"kind": "entitlement", "item": "普通洗车", "per_period": 1, "period": "month"},
                "unit_cost": "30.00", "funded_by": {"station_percent": 100, "merchant_percent": 0},
                "per_customer": 1
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let cashier = env.login("cashier1").await;
    let card = env.funded_card(&cashier, "499.99").await;
    assert_eq!(env.count("benefits").await, 0, "below the minimum");
    let r = env
        .money(
            &cashier,
            &format!("/api/v1/cards/{card}/recharges"),
            json!({"amount": "500", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["benefits"][0]["kind"], json!("entitlement"), "{}", r.1);
    let wash = json!({"card_number": card, "offer": "WASH"});
    let washer = env.login("washer").await;
    let r = env
        .money(&washer, "/api/v1/redemptions", wash.clone())
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    assert_eq!(r.1["left_this_period"], json!(0));
    let november = r.1["id"].as_i64().expect("an id");
    let r = env
        .money(&washer, "/api/v1/redemptions", wash.clone())
        .await;
    assert_eq!(
        r.1["code"],
        json!("entitlement_used_this_period"),
        "{}",
        r.1
    );
    // A cashier hands over gifts only.
    let r = env
        .money(&cashier, "/api/v1/redemptions", wash.clone())
        .await;
    assert_eq!(r.1["code"], json!("benefit_not_at_station"), "{}", r.1);
    let r = env
        .money(
            &env.admin,
            "/api/v1/merchants/M-WASH/settlements",
            json!({"month": "2026-11"}),
        )
        .await;
    assert_eq!(r.1["code"], json!("month_not_over"), "{}", r.1);

    // December: the wash is there again; November is settled.
    let env = env.on_day("2026-12-02T10:00:00+08:00").await;
    let washer = env.login("washer").await;
    let r = env
        .get(&washer, &format!("/api/v1/benefits?card={card}"))
        .await;
    assert_eq!(r.1["benefits"][0]["left_this_period"], json!(1), "{}", r.1);
    let r = env
        .money(&washer, "/api/v1/redemptions", wash.clone())
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let december = r.1["id"].as_i64().expect("an id");
    let mut settled = Vec::new();
    for _ in 0..2 {
        let r = env
            .money(
                &env.admin,
                "/api/v1/merchants/M-WASH/settlements",
                json!({"month": "2026-11"}),
            )
            .await;
        assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        settled.push(r.1);
    }
    assert_eq!(settled[0], settled[1], "settling again answers the same");
    let s = &settled[0];
    assert_eq!(
        (
            &s["status"],
            &s["redemptions"],
            &s["value"],
            &s["station_owes"],
            &s["merchant_owes"]
        ),
        (
            &json!("settled"),
            &json!(1),
            &json!("30.00"),
            &json!("30.00"),
            &json!("0.00")
        ),
        "{s}"
    );
    assert_eq!(
        env.count("operations WHERE kind = 'alliance_settlement'")
            .await,
        1,
        "booked once"
    );
    let r = env
        .get(&washer, "/api/v1/merchants/M-WASH/settlements/2026-11")
        .await;
    assert_eq!(&r.1, s, "the merchant reads its statement");
    let r = env
        .get(&washer, "/api/v1/merchants/M-INS/settlements/2026-11")
        .await;
    assert_eq!(r.1["code"], json!("merchant_not_found"), "{}", r.1);
    // November's wash is settled; December's can be reversed, once.
    let reverse = async |id: i64| {
        let path = format!("/api/v1/redemptions/{id}/reversal");
        env.post(&washer, &path, json!({})).await
    };
    let r = reverse(november).await;
    assert_eq!(r.1["code"], json!("settlement_closed"), "{}", r.1);
    let r = reverse(december).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = reverse(december).await;
    assert_eq!(r.1["code"], json!("redemption_reversed"), "{}", r.1);
    let r = env
        .money(&washer, "/api/v1/redemptions", wash.clone())
        .await;
    assert_eq!(
        r.0,
        StatusCode::CREATED,
        "the reversed use is back: {}",
        r.1
    );
    env.assert_ledger_ok().await;
    env.finish().await;
}

crate::with_each_backend!(alliance_car_wash, car_wash);

/// What one opening answered: whether it granted a voucher (its code) or
/// said the budget was spent, and whether its holder consented.
struct Opened {
    phone: String,
    consent: bool,
    voucher: Option<String>,
    exhausted: bool,
}

/// 600 card openings at S1, S2 and S3 at once, spread over `bases`,
/// against a budget of 500 policies: exactly 500 vouchers, 100 budget
/// notices; each voucher redeems once and only by the insurer; the
/// insurer's list holds exactly the consenting grantees.
async fn six_hundred_openings(env: &TestEnv, bases: &[String]) {
    use futures::StreamExt as _;
    partners(env).await;
    let r = env
        .post(
            &env.admin,
            "/api/v1/stations",
            json!({"code": "S3", "name": "高速站", "district": "东区"}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let mut offer = insurance(500);
    offer["trigger"]["stations"] = json!(["S1", "S2", "S3"]);
    let r = env.post(&env.admin, "/api/v1/offers", offer).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    env.add_user("cashier2", "cashier", Some("S2"), None).await;
    env.add_user("cashier3", "cashier", Some("S3"), None).await;
    let cashiers = [
        env.login("cashier1").await,
        env.login("cashier2").await,
        env.login("cashier3").await,
    ];
    let people: Vec<(i64, String, bool)> = futures::stream::iter(0..600)
        .map(|i| {
            let token = &cashiers[i % 3];
            async move {
                let phone = format!("1370000{i:04}");
                let consent = i % 3 != 1;
                (person(env, token, &phone, consent).await, phone, consent)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let opened: Vec<Opened> = futures::stream::iter(people.into_iter().enumerate())
        .map(|(i, (customer, phone, consent))| {
            let url = format!("{}/api/v1/cards", bases[i % bases.len()]);
            let request = env
                .client
                .post(url)
                .bearer_auth(&cashiers[i % 3])
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"kind": "personal", "customer_id": customer}));
            async move {
                let resp = request.send().await.expect("an answer");
                assert_eq!(resp.status(), StatusCode::CREATED);
                let v: Value = resp.json().await.expect("json");
                Opened {
                    phone,
                    consent,
                    voucher: v["benefits"][0]["voucher_code"].as_str().map(String::from),
                    exhausted: v["notices"]
                        .as_array()
                        .is_some_and(|n| n.iter().any(|n| n["code"] == "budget_exhausted")),
                }
            }
        })
        .buffer_unordered(48)
        .collect()
        .await;
    let granted: Vec<&Opened> = opened.iter().filter(|o| o.voucher.is_some()).collect();
    let exhausted = opened.iter().filter(|o| o.exhausted).count();
    assert_eq!((granted.len(), exhausted), (500, 100));
    assert!(opened.iter().all(|o| o.voucher.is_some() != o.exhausted));
    let codes: std::collections::HashSet<&str> = granted
        .iter()
        .filter_map(|o| o.voucher.as_deref())
        .collect();
    assert_eq!(codes.len(), 500, "every voucher has a code of its own");
    let r = env.get(&env.admin, "/api/v1/offers/INS-2026").await;
    assert_eq!(
        (&r.1["granted"], &r.1["budget_left"]),
        (&json!(500), &json!(0)),
        "{}",
        r.1
    );
    assert_eq!(env.count("benefits").await, 500);

    // The insurer's list: exactly the consenting grantees.
    let insurer = env.login("insurer").await;
    let text = env
        .client
        .get(format!("{}/api/v1/offers/INS-2026/grantees.csv", bases[0]))
        .bearer_auth(&insurer)
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("text");
    let listed: std::collections::BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).expect("a phone").to_string())
        .collect();
    let consenting: std::collections::BTreeSet<String> = granted
        .iter()
        .filter(|o| o.consent)
        .map(|o| o.phone.clone())
        .collect();
    assert_eq!(listed, consenting);
    assert_eq!(text.lines().count(), consenting.len() + 1, "one row each");

    // Every voucher redeems once, by the insurer only, also when the same
    // voucher is presented twice at once.
    let washer = env.login("washer").await;
    let answers: Vec<(String, StatusCode, Value)> = futures::stream::iter(
        codes
            .iter()
            .flat_map(|c| [(*c, &insurer), (*c, &insurer), (*c, &washer)])
            .enumerate(),
    )
    .map(|(i, (code, token))| {
        let request = env
            .client
            .post(format!("{}/api/v1/redemptions", bases[i % bases.len()]))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"voucher_code": code}));
        async move {
            let resp = request.send().await.expect("an answer");
            let status = resp.status();
            (code.to_string(), status, resp.json().await.expect("json"))
        }
    })
    .buffer_unordered(48)
    .collect()
    .await;
    let mut redeemed = std::collections::HashMap::new();
    for (code, status, v) in &answers {
        match v["code"].as_str() {
            None => {
                assert_eq!(*status, StatusCode::CREATED, "{v}");
                *redeemed.entry(code.clone()).or_insert(0) += 1;
            }
            Some(c) => assert!(c == "voucher_redeemed" || c == "benefit_not_found", "{v}"),
        }
    }
    assert_eq!(redeemed.len(), 500);
    assert!(redeemed.values().all(|n| *n == 1), "each voucher once");
    let refused_to_washer = answers
        .iter()
        .filter(|(_, _, v)| v["code"] == "benefit_not_found")
        .count();
    assert_eq!(refused_to_washer, 500, "the car wash redeems none");
    assert_eq!(env.count("redemptions").await, 500);
}

crate::on_one_and_two_servers!(alliance_budget_under_load, six_hundred_openings);
