//! Model-based property test: random sequences of counter operations run
//! against the real service and against a plain in-memory model of the
//! cards; after every step both agree on every card's principal and bonus,
//! and the ledger invariants hold. proptest shrinks a failing sequence to a
//! short one.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::support::{Backend, TestEnv};

#[derive(Debug, Clone)]
enum Op {
    Open,
    Recharge { card: usize, yuan: i64 },
    Sell { card: usize, litres: i64 },
    Hold { card: usize, yuan: i64 },
    Capture { hold: usize, percent: i64 },
    Void { hold: usize },
    LoseAndReplace { card: usize },
    Close { card: usize },
    Allocate { yuan: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Open),
        4 => (0..6usize, 1..2_000i64).prop_map(|(card, yuan)| Op::Recharge { card, yuan }),
        4 => (0..6usize, 1..80i64).prop_map(|(card, litres)| Op::Sell { card, litres }),
        2 => (0..6usize, 1..600i64).prop_map(|(card, yuan)| Op::Hold { card, yuan }),
        2 => (0..4usize, 0..=100i64).prop_map(|(hold, percent)| Op::Capture { hold, percent }),
        1 => (0..4usize).prop_map(|hold| Op::Void { hold }),
        1 => (0..6usize).prop_map(|card| Op::LoseAndReplace { card }),
        1 => (0..6usize).prop_map(|card| Op::Close { card }),
        2 => (1..1_500i64).prop_map(|yuan| Op::Allocate { yuan }),
    ]
}

#[derive(Debug, Clone)]
struct Card {
    number: String,
    principal: i64,
    bonus: i64,
    held: i64,
    usable: bool,
}

#[derive(Debug, Default)]
struct Model {
    cards: Vec<Card>,
    /// (hold id, card index, amount, open)
    holds: Vec<(i64, usize, i64, bool)>,
    /// The company's main card and its sub-card (indexes into `cards`).
    company: Option<(usize, usize)>,
}

/// 92# at 7.68 less 0.20/L, rounded half-up per amount, as the service does.
fn charge(litres: i64) -> i64 {
    let round = |x: i64| (x + 50) / 100;
    round(litres * 100 * 768) - round(litres * 100 * 20)
}

/// The promotion of the test: 10% on a recharge of 100.00 or more.
fn bonus(fen: i64) -> i64 {
    if fen >= 10_000 { (fen + 5) / 10 } else { 0 }
}

fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or("x");
    let (w, f) = s.split_once('.').unwrap_or((s, "0"));
    let sign = if w.starts_with('-') { -1 } else { 1 };
    sign * (w
        .trim_start_matches('-')
        .parse::<i64>()
        .unwrap_or(i64::MIN / 4)
        .abs()
        * 100
        + f.parse::<i64>().unwrap_or(0))
}

fn spend(c: &mut Card, amount: i64) {
    let b = amount.min(c.bonus);
    c.bonus -= b;
    c.principal -= amount - b;
}

async fn step(env: &TestEnv, token: &str, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let pick = |i: usize, m: &Model| (!m.cards.is_empty()).then(|| i % m.cards.len());
    match op {
        Op::Open => {
            let customer = env.new_person(token, "模型", "13700000000").await;
            let number = env
                .new_card(token, json!({"kind": "personal", "customer_id": customer}))
                .await;
            m.cards.push(Card {
                number,
                principal: 0,
                bonus: 0,
                held: 0,
                usable: true,
            });
        }
        Op::Recharge { card, yuan } => {
            let Some(i) = pick(*card, m) else {
                return Ok(());
            };
            if m.company.is_some_and(|(_, s)| s == i) {
                return Ok(());
            }
            let c = &mut m.cards[i];
            let r = env
                .money(
                    token,
                    &format!("/api/v1/cards/{}/recharges", c.number),
                    json!({"amount": format!("{yuan}"), "payment_method": "cash"}),
                )
                .await;
            if c.usable {
                prop_assert!(r.0.is_success(), "recharge: {}", r.1);
                c.principal += yuan * 100;
                c.bonus += bonus(yuan * 100);
            } else {
                prop_assert!(r.0.is_client_error(), "recharge on a dead card: {}", r.1);
            }
        }
        Op::Sell { card, litres } => {
            let Some(i) = pick(*card, m) else {
                return Ok(());
            };
            let is_main = m.company.is_some_and(|(main, _)| main == i);
            let c = &mut m.cards[i];
            let r = env.money(token, "/api/v1/sales", json!({"card_number": c.number, "product": "92", "litres": format!("{litres}")})).await;
            let amount = charge(*litres);
            if is_main {
                // A company main card holds funds and buys no fuel.
                prop_assert_eq!(&r.1["code"], &json!("main_card_not_for_fuel"), "{}", r.1);
            } else if c.usable && c.principal + c.bonus - c.held >= amount {
                prop_assert!(r.0.is_success(), "sale: {}", r.1);
                prop_assert_eq!(fen(&r.1["charged"]), amount);
                spend(c, amount);
            } else {
                prop_assert!(r.0.is_client_error(), "sale refused: {}", r.1);
            }
        }
        Op::Hold { card, yuan } => {
            let Some(i) = pick(*card, m) else {
                return Ok(());
            };
            let is_main = m.company.is_some_and(|(main, _)| main == i);
            let c = &mut m.cards[i];
            let r = env
                .money(
                    token,
                    "/api/v1/holds",
                    json!({"card_number": c.number, "amount": format!("{yuan}")}),
                )
                .await;
            if is_main {
                prop_assert_eq!(&r.1["code"], &json!("main_card_not_for_fuel"), "{}", r.1);
            } else if c.usable && c.principal + c.bonus - c.held >= yuan * 100 {
                prop_assert!(r.0.is_success(), "hold: {}", r.1);
                c.held += yuan * 100;
                m.holds
                    .push((r.1["id"].as_i64().unwrap_or(0), i, yuan * 100, true));
            } else {
                prop_assert!(r.0.is_client_error(), "hold refused: {}", r.1);
            }
        }
        Op::Capture { hold, percent } => {
            if m.holds.is_empty() {
                return Ok(());
            }
            let h = *hold % m.holds.len();
            let (id, i, amount, open) = m.holds[h];
            let take = (amount * percent / 100).max(1);
            let r = env
                .money(
                    token,
                    &format!("/api/v1/holds/{id}/capture"),
                    json!({"amount": Value::String(format!("{}.{:02}", take / 100, take % 100))}),
                )
                .await;
            if open {
                prop_assert!(r.0.is_success(), "capture: {}", r.1);
                let c = &mut m.cards[i];
                c.held -= amount;
                spend(c, take);
                m.holds[h].3 = false;
            } else {
                prop_assert!(r.0.is_client_error(), "second capture: {}", r.1);
            }
        }
        Op::Void { hold } => {
            if m.holds.is_empty() {
                return Ok(());
            }
            let h = *hold % m.holds.len();
            let (id, i, amount, open) = m.holds[h];
            let r = env
                .money(token, &format!("/api/v1/holds/{id}/void"), json!({}))
                .await;
            if open {
                prop_assert!(r.0.is_success(), "void: {}", r.1);
                m.cards[i].held -= amount;
                m.holds[h].3 = false;
            } else {
                prop_assert!(r.0.is_client_error(), "second void: {}", r.1);
            }
        }
        Op::LoseAndReplace { card } => {
            let Some(i) = pick(*card, m) else {
                return Ok(());
            };
            let c = m.cards[i].clone();
            if !c.usable || c.held > 0 || m.company.is_some_and(|(a, b)| a == i || b == i) {
                return Ok(());
            }
            let r = env
                .post(
                    token,
                    &format!("/api/v1/cards/{}/loss-report", c.number),
                    json!({}),
                )
                .await;
            prop_assert!(r.0.is_success(), "loss: {}", r.1);
            let r = env
                .money(
                    token,
                    &format!("/api/v1/cards/{}/replacement", c.number),
                    json!({"identity": crate::support::identity()}),
                )
                .await;
            prop_assert!(r.0.is_success(), "replacement: {}", r.1);
            let number = r.1["number"].as_str().unwrap_or("").to_string();
            m.cards[i] = Card {
                number,
                ..c.clone()
            };
            m.cards.push(Card {
                principal: 0,
                bonus: 0,
                held: 0,
                usable: false,
                ..c
            });
        }
        Op::Close { card } => {
            let Some(i) = pick(*card, m) else {
                return Ok(());
            };
            let c = &mut m.cards[i];
            if !c.usable || c.held > 0 || m.company.is_some_and(|(a, _)| a == i) {
                return Ok(());
            }
            let r = env
                .money(
                    token,
                    &format!("/api/v1/cards/{}/closure", c.number),
                    json!({"identity": crate::support::identity()}),
                )
                .await;
            prop_assert!(r.0.is_success(), "closure: {}", r.1);
            let (principal, bonus) = (c.principal, c.bonus);
            c.principal = 0;
            c.bonus = 0;
            c.usable = false;
            // A company sub-card's money goes back to its main card, whole:
            // no cash, nothing clawed back. Any other card is refunded.
            if let Some((main, _)) = m.company.filter(|(_, s)| *s == i) {
                prop_assert_eq!(&r.1["paid_by"], &json!("main_card"), "{}", r.1);
                prop_assert_eq!(fen(&r.1["refunded"]), 0);
                prop_assert_eq!(fen(&r.1["moved_to_main_card"]), principal + bonus);
                m.cards[main].principal += principal;
                m.cards[main].bonus += bonus;
            } else {
                prop_assert_eq!(fen(&r.1["refunded"]), principal);
                prop_assert_eq!(fen(&r.1["bonus_clawed_back"]), bonus);
            }
        }
        Op::Allocate { yuan } => {
            let (main, sub) = match m.company {
                Some(pair) => pair,
                None => {
                    let r = env
                        .post(
                            token,
                            "/api/v1/customers",
                            // The company's registered contact's ID.
                            json!({"kind": "company", "name": "模型公司",
                                   "id_number": crate::support::PERSON_ID}),
                        )
                        .await;
                    let company = r.1["id"].as_i64().unwrap_or(0);
                    let main = env
                        .new_card(
                            token,
                            json!({"kind": "company_main", "customer_id": company, "pin": crate::support::MAIN_PIN}),
                        )
                        .await;
                    let sub = env
                        .new_card(token, json!({"kind": "company_sub", "parent_card": main, "parent_pin": crate::support::MAIN_PIN}))
                        .await;
                    m.cards.push(Card {
                        number: main,
                        principal: 0,
                        bonus: 0,
                        held: 0,
                        usable: true,
                    });
                    m.cards.push(Card {
                        number: sub,
                        principal: 0,
                        bonus: 0,
                        held: 0,
                        usable: true,
                    });
                    let pair = (m.cards.len() - 2, m.cards.len() - 1);
                    m.company = Some(pair);
                    pair
                }
            };
            let (from, to) = (m.cards[main].number.clone(), m.cards[sub].number.clone());
            let r = env
                .money(
                    token,
                    "/api/v1/transfers",
                    json!({"from_card": from, "to_card": to, "amount": format!("{yuan}"), "pin": crate::support::MAIN_PIN}),
                )
                .await;
            let amount = yuan * 100;
            let a = m.cards[main].clone();
            if a.usable && m.cards[sub].usable && a.principal + a.bonus - a.held >= amount {
                prop_assert!(r.0.is_success(), "transfer: {}", r.1);
                let b = amount.min(a.bonus);
                spend(&mut m.cards[main], amount);
                m.cards[sub].bonus += b;
                m.cards[sub].principal += amount - b;
            } else {
                prop_assert!(r.0.is_client_error(), "transfer refused: {}", r.1);
            }
        }
    }
    Ok(())
}

async fn agree(env: &TestEnv, m: &Model) -> Result<(), TestCaseError> {
    for c in &m.cards {
        let v = env.card(&c.number).await;
        prop_assert_eq!(
            fen(&v["principal_balance"]),
            c.principal,
            "principal of {}",
            c.number
        );
        prop_assert_eq!(fen(&v["bonus_balance"]), c.bonus, "bonus of {}", c.number);
        prop_assert_eq!(fen(&v["held"]), c.held, "held on {}", c.number);
    }
    let r = env.get(&env.admin, "/api/v1/ledger/check").await;
    prop_assert_eq!(&r.1["ok"], &json!(true), "ledger check: {}", r.1);
    Ok(())
}

fn run_model(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if backend == Backend::Postgres && crate::support::postgres_admin_url().is_none() {
        return;
    }
    let mut runner = TestRunner::new(Config {
        cases: 12,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 5..40), |ops| {
        runtime.block_on(async {
            let env = TestEnv::start(backend).await.expect("a database");
            let r = env
                .post(&env.admin, "/api/v1/promotions", json!({"name": "模型", "kind": "recharge_bonus", "tiers": [{"min_amount": "100", "bonus_percent": "10"}]}))
                .await;
            prop_assert!(r.0.is_success(), "{}", r.1);
            let token = env.login("cashier1").await;
            let mut m = Model::default();
            let mut outcome = Ok(());
            for op in &ops {
                outcome = step(&env, &token, &mut m, op).await;
                if outcome.is_ok() {
                    outcome = agree(&env, &m).await;
                }
                if outcome.is_err() {
                    break;
                }
            }
            env.finish().await;
            outcome
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn model_agrees_with_the_service_sqlite() {
    run_model(Backend::Sqlite);
}

#[test]
fn model_agrees_with_the_service_postgres() {
    run_model(Backend::Postgres);
}
