//! Demo data: a small station network with three months of history, so a
//! newcomer sees something real in one command. Deterministic (fixed seed),
//! written in one transaction, and only into a database without users.
//!
//! The two companies' trucks drive every day and refuel when their tanks
//! run low, on cards funded by each month's approved allocation, so their
//! consumption sits near the baseline. The latest complete month holds one
//! planted anomaly per truck of 顺达物流 ([`Plant`]) — the only anomalies
//! the monthly review finds.

use anyhow::Context as _;
use chrono::{Duration, Months, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::Row;

use fuelcard::alliance::engine;
use fuelcard::alliance::offers::Event;
use fuelcard::auth::{Actor, Role, users};
use fuelcard::cards::customers::{self, CustomerKind, IdKind, NewCustomer};
use fuelcard::cards::products::{self, Price};
use fuelcard::cards::promotions::{self, Gift, NewPromotion, Rule, Tier};
use fuelcard::cards::recharge::{self, PaymentMethod, RechargeRequest};
use fuelcard::cards::sale::{self, Quantity, SaleRequest};
use fuelcard::cards::{self, Card, CardKind, CardNumber, NewCard, transfer};
use fuelcard::config::Keys;
use fuelcard::db::{Conn, Db};
use fuelcard::error::AppError;
use fuelcard::fleet::limits::Mode;
use fuelcard::fleet::vehicles::Vehicle;
use fuelcard::fleet::{allocation, usage};
use fuelcard::money::{Litres, Money};
use fuelcard::stations::{self, shifts};
use fuelcard::time::Clock;

/// Each demo cashier works one shift of this many hours a day, one after
/// the other (06–11, 11–16, 16–21).
const SHIFT_HOURS: i64 = 5;

/// The PIN of the demo companies' main cards: a counter moves their money
/// with it.
pub const MAIN_CARD_PIN: &str = "8888";

/// Days of history the demo writes.
const HISTORY_DAYS: i64 = 90;

/// The demo's prices: product, unit price and card discount per litre, in
/// fen.
const PRICES: [(&str, i64, i64); 4] = [
    ("92", 768, 20),
    ("95", 818, 25),
    ("98", 918, 30),
    ("0", 735, 15),
];

/// A demo truck refuels once its tank has room for this much (centilitres).
const REFUEL_AT_GAP_CL: i64 = 4_500;

/// What a truck of the demo fleet does wrong in the latest complete month
/// of the history, for the monthly review to find; the rest of its history
/// is clean. The README names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plant {
    /// On the 6th it takes 85 L into its 80 L tank.
    OverTank,
    /// On the 13th its driver types a reading 1,000 km low.
    OdometerSlip,
    /// On the 20th it refuels at 02:30, at the highway station.
    Night,
    /// All month its odometer reads 40 % short of the distance the fuel
    /// drove: the month's consumption is 40 % above the baseline.
    Thirsty,
}

impl Plant {
    /// The day of the month of a planted refuel.
    fn day(self) -> Option<u32> {
        match self {
            Plant::OverTank => Some(6),
            Plant::OdometerSlip => Some(13),
            Plant::Night => Some(20),
            Plant::Thirsty => None,
        }
    }
}

/// One truck of a demo fleet.
struct TruckSpec {
    plate: &'static str,
    /// The product it takes, of the two it may.
    product: &'static str,
    /// What it really burns, per mille of the baseline.
    burn_permille: i64,
    /// Its odometer when the history starts.
    odometer_km: i64,
    plant: Option<Plant>,
}

const fn spec(
    plate: &'static str,
    product: &'static str,
    burn_permille: i64,
    odometer_km: i64,
    plant: Option<Plant>,
) -> TruckSpec {
    TruckSpec {
        plate,
        product,
        burn_permille,
        odometer_km,
        plant,
    }
}

/// 顺达物流's trucks, one planted anomaly each.
const FLEET_A: [TruckSpec; 4] = [
    spec("浙A23456", "92", 1_010, 31_240, Some(Plant::OverTank)),
    spec("浙A34567", "92", 985, 48_760, Some(Plant::OdometerSlip)),
    spec("浙A45678", "92", 1_020, 22_410, Some(Plant::Night)),
    spec("浙A56789", "92", 995, 65_930, Some(Plant::Thirsty)),
];

/// 城建工程's trucks, without a fault.
const FLEET_B: [TruckSpec; 2] = [
    spec("浙B22222", "92", 975, 18_320, None),
    spec("浙B33333", "95", 1_005, 54_150, None),
];

type Logins = Vec<(String, String, String)>;

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("{err}")
}

/// Fills the database; returns the demo logins (empty when it had users).
/// The history ends the day before the clock's today, in the operator's zone.
pub async fn fill(db: &Db, tz: Tz, clock: Clock, keys: &Keys) -> anyhow::Result<Logins> {
    let mut tx = db.begin_write().await?;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if n > 0 {
        return Ok(Vec::new());
    }
    let logins = build(&mut tx, tz, clock.now_us(), keys).await?;
    tx.commit().await?;
    Ok(logins)
}

async fn build(conn: &mut Conn, tz: Tz, now: i64, keys: &Keys) -> anyhow::Result<Logins> {
    let start_us = now - (HISTORY_DAYS + 30) * 86_400_000_000;
    let network = [
        ("S001", "城东加油站", "东区"),
        ("S002", "城西加油站", "西区"),
        ("S003", "高速服务区加油站", "东区"),
    ];
    let mut stations_list = Vec::new();
    for (code, name, district) in network {
        stations_list.push(
            stations::create(conn, code, name, district, now, tz)
                .await
                .map_err(e)?,
        );
    }
    promotions::create(
        conn,
        NewPromotion {
            name: "冬季充值赠送".into(),
            rule: Rule {
                tiers: vec![
                    Tier {
                        min_amount_fen: 100_000,
                        bonus_percent: 2.into(),
                    },
                    Tier {
                        min_amount_fen: 500_000,
                        bonus_percent: 3.into(),
                    },
                ],
                card_kinds: Some(vec![
                    CardKind::Personal,
                    CardKind::CompanyMain,
                    CardKind::Anonymous,
                ]),
                gifts: vec![Gift {
                    min_amount_fen: 200_000,
                    item: "洗车券 car-wash voucher".into(),
                }],
                starts_at: Some(start_us),
                ends_at: None,
            },
            budget: Some(Money::from_fen(5_000_000)),
            campaign_code: Some("WINTER2026".into()),
        },
        now,
    )
    .await
    .map_err(e)?;

    let company_a = customers::create(conn, &company("顺达物流有限公司", "0571-8888-1234"), now)
        .await
        .map_err(e)?;
    let company_b = customers::create(conn, &company("城建工程有限公司", "0571-8666-4321"), now)
        .await
        .map_err(e)?;

    let mut logins = Vec::new();
    let mut add = async |conn: &mut Conn,
                         username: &str,
                         role: Role,
                         station: Option<i64>,
                         company: Option<i64>,
                         district: Option<&str>|
           -> anyhow::Result<Actor> {
        let password = format!("{username}-demo");
        let id = users::create(
            conn,
            &users::NewUser {
                username,
                password: &password,
                role,
                station_id: station,
                company_id: company,
                merchant: None,
                district,
            },
            now,
        )
        .await
        .map_err(e)?;
        logins.push((username.to_string(), password, role.as_str().to_string()));
        Ok(Actor {
            user_id: id,
            username: username.to_string(),
            role,
            station_id: station,
            company_id: company,
            merchant: None,
            district: district.map(String::from),
            address: None,
        })
    };
    let admin = add(conn, "admin", Role::Admin, None, None, None).await?;
    add(conn, "hq-office", Role::Hq, None, None, None).await?;
    for (code, price, discount) in PRICES {
        let product = products::find(conn, code).await.map_err(e)?;
        products::set_price(
            conn,
            &product,
            Price {
                unit_price: Money::from_fen(price),
                card_discount_per_litre: Money::from_fen(discount),
                effective_from: start_us,
            },
            admin.user_id,
            now,
        )
        .await
        .map_err(e)?;
    }

    add(
        conn,
        "district-east",
        Role::DistrictManager,
        None,
        None,
        Some("东区"),
    )
    .await?;
    add(
        conn,
        "manager1",
        Role::StationManager,
        Some(stations_list[0].id),
        None,
        None,
    )
    .await?;
    let mut cashiers = Vec::new();
    for (i, s) in stations_list.iter().enumerate() {
        cashiers.push(
            add(
                conn,
                &format!("cashier{}", i + 1),
                Role::Cashier,
                Some(s.id),
                None,
                None,
            )
            .await?,
        );
    }
    let fleet_a = add(
        conn,
        "fleet-a",
        Role::FleetManager,
        None,
        Some(company_a.id),
        None,
    )
    .await?;
    let fleet_b = add(
        conn,
        "fleet-b",
        Role::FleetManager,
        None,
        Some(company_b.id),
        None,
    )
    .await?;

    // Cards: personal holders, two companies with main and sub-cards, anonymous cards.
    let people = [
        ("张伟", "13800000001"),
        ("李娜", "13800000002"),
        ("王芳", "13800000003"),
        ("刘洋", "13800000004"),
        ("陈静", "13800000005"),
        ("杨磊", "13800000006"),
    ];
    let mut spenders: Vec<Card> = Vec::new();
    let mut personal = Vec::new();
    for (name, phone) in people {
        let c = customers::create(conn, &person(name, phone), now)
            .await
            .map_err(e)?;
        let card = open(conn, CardKind::Personal, Some(c.id), None, None, now).await?;
        personal.push(card.clone());
        spenders.push(card);
    }
    // Two companies, each with a main card, a staff sub-card and its
    // vehicles' fleet cards. The trucks have a road of their own, so the
    // counters' business does not move their refuels.
    let mut road = StdRng::seed_from_u64(20_261_001);
    let mut companies = Vec::new();
    let mut trucks = Vec::new();
    for (company, manager, fleet, recharge, lenient) in [
        (&company_a, &fleet_a, &FLEET_A[..], 1_200_000, true),
        (&company_b, &fleet_b, &FLEET_B[..], 700_000, false),
    ] {
        let main = cards::open(
            conn,
            &NewCard {
                kind: CardKind::CompanyMain,
                customer_id: Some(company.id),
                parent: None,
                plate: None,
                pin: Some(fuelcard::cards::pin::protect(&keys.pin, MAIN_CARD_PIN).map_err(e)?),
                station_id: None,
            },
            now,
        )
        .await
        .map_err(e)?;
        let sub = open(conn, CardKind::CompanySub, None, Some(&main), None, now).await?;
        spenders.push(sub.clone());
        for spec in fleet {
            let vehicle = demo_vehicle(conn, company.id, spec.plate, lenient, now).await?;
            let card = open(
                conn,
                CardKind::Fleet,
                None,
                Some(&main),
                Some(spec.plate),
                now,
            )
            .await?;
            let tank_cl = road.gen_range(4_000..=8_000);
            trucks.push(Truck::new(vehicle, card, spec, tank_cl));
        }
        companies.push(Company {
            id: company.id,
            main,
            sub,
            manager: manager.clone(),
            recharge_fen: recharge,
        });
    }
    let policy: fuelcard::fleet::policy::Policy =
        toml::from_str(include_str!("../../../fixtures/fleet/policy.toml"))
            .context("the fixture policy")?;
    for company in [&company_a, &company_b] {
        allocation::save_policy(conn, company.id, &policy, admin.user_id, now)
            .await
            .map_err(e)?;
    }
    let mut anonymous = Vec::new();
    for _ in 0..3 {
        let card = open(conn, CardKind::Anonymous, None, None, None, now).await?;
        anonymous.push(card.clone());
        spenders.push(card);
    }

    // History: each day each station's cashier works a shift, and the
    // fleets' trucks drive and refuel.
    let mut rng = StdRng::seed_from_u64(20_261_123);
    let today = fuelcard::time::local_date(now, tz);
    let planted = planted_month(today);
    let products_by_weight = ["92", "92", "92", "95", "95", "98", "0"];
    for day_back in (1..=HISTORY_DAYS).rev() {
        let day = today - Duration::days(day_back);
        if day.day0() == 0 || day_back == HISTORY_DAYS {
            for company in &companies {
                fund_fleet(conn, &cashiers[0], company, day, tz, &mut road).await?;
            }
        }
        let in_planted = day.with_day(1) == Some(planted);
        let fills = fills_of_the_day(&trucks, day, in_planted, tz, &mut road);
        for (turn, cashier) in cashiers.iter().enumerate() {
            let mut events: Vec<i64> = Vec::new();
            // Month start: recharge personal and anonymous cards.
            if day.day0() == 0 || day_back == HISTORY_DAYS {
                for card in personal
                    .iter()
                    .chain(anonymous.iter())
                    .filter(|c| c.id % 3 == cashier.user_id % 3)
                {
                    let amount = [50_000, 100_000, 200_000, 500_000][rng.gen_range(0..4)];
                    events.push(recharge_op(conn, cashier, card, amount, &mut rng, now).await?);
                }
            }
            let station = &stations_list[turn];
            for fill in fills.iter().filter(|f| f.turn == turn) {
                refuel(
                    conn,
                    cashier,
                    station,
                    &mut trucks[fill.truck],
                    fill,
                    in_planted,
                    tz,
                )
                .await?;
                if fill.plant == Some(Plant::Night) {
                    // The highway station's night cashier: a shift of its own.
                    let open = local_instant(tz, day, 2, 0);
                    close_shift(conn, cashier, open, open + 3_600_000_000, &[], &mut rng).await?;
                }
            }
            for _ in 0..rng.gen_range(2..6) {
                let card = &spenders[rng.gen_range(0..spenders.len())];
                let product = products_by_weight[rng.gen_range(0..products_by_weight.len())];
                let litres = Litres::from_cl(rng.gen_range(1500..6000));
                let number =
                    CardNumber::parse(&card.number).map_err(|err| anyhow::anyhow!("{err}"))?;
                // A sale refused (the card ran dry) leaves nothing behind.
                let mut attempt = sqlx::Connection::begin(&mut *conn).await?;
                let sold = sale::sell(
                    &mut attempt,
                    cashier,
                    &SaleRequest {
                        number: &number,
                        product,
                        quantity: Quantity::Litres(litres),
                        station,
                        plate: None,
                        odometer: None,
                    },
                    tz,
                    now,
                )
                .await;
                let Ok((s, closing)) = sold else {
                    attempt.rollback().await?;
                    continue;
                };
                closing.post(&mut attempt).await.map_err(e)?;
                attempt.commit().await?;
                let op: i64 = sqlx::query("SELECT operation_id FROM sales WHERE id = $1")
                    .bind(s.id)
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get("operation_id")?;
                events.push(op);
            }
            let open = local_instant(tz, day, shift_start(turn), 0);
            close_shift(
                conn,
                cashier,
                open,
                open + SHIFT_HOURS * 3_600_000_000,
                &events,
                &mut rng,
            )
            .await?;
        }
        for truck in &mut trucks {
            truck.drive(road.gen_range(40..=75), road.gen_range(960..=1_040));
        }
    }
    recount_acquisition(conn, tz, start_us).await?;
    let merchants = partners(conn, tz, now, &mut logins).await?;
    this_months_customers(conn, &cashiers, tz, now).await?;
    redeemed_today(conn, &merchants, tz, now).await?;
    this_months_targets(conn, &stations_list, admin.user_id, tz, now).await?;
    Ok(logins)
}

/// This month's targets, as head office and the district managers set
/// them: each station's and each district's, so the tracking table shows
/// completion from the first login.
async fn this_months_targets(
    conn: &mut Conn,
    stations_list: &[stations::Station],
    by: i64,
    tz: Tz,
    now: i64,
) -> anyhow::Result<()> {
    use fuelcard::acquisition::targets::{self, Goal, Scope};
    let month = fuelcard::time::local_date(now, tz)
        .format("%Y-%m")
        .to_string();
    let goal = |personal: i64, company: i64, recharge_yuan: i64, litres: i64| Goal {
        new_personal: Some(personal),
        new_company: Some(company),
        first_recharge_amount: Some(Money::from_fen(recharge_yuan * 100)),
        card_litres: Some(Litres::from_cl(litres * 100)),
    };
    let per_station = [
        (6, 1, 8_000, 12_000),
        (4, 1, 5_000, 9_000),
        (3, 1, 4_000, 15_000),
    ];
    let mut districts: std::collections::BTreeMap<String, (i64, i64, i64, i64)> =
        Default::default();
    for (station, (p, c, r, l)) in stations_list.iter().zip(per_station) {
        let scope = Scope::Station(station.clone());
        targets::set(conn, &month, &scope, &goal(p, c, r, l), by, now)
            .await
            .map_err(e)?;
        let sum = districts.entry(station.district.clone()).or_default();
        *sum = (sum.0 + p, sum.1 + c, sum.2 + r, sum.3 + l);
    }
    for (district, (p, c, r, l)) in districts {
        targets::set(
            conn,
            &month,
            &Scope::District(district),
            &goal(p, c, r, l),
            by,
            now,
        )
        .await
        .map_err(e)?;
    }
    Ok(())
}

/// The alliance: an insurer giving 500 accident policies to customers who
/// open a card at S001 or S003 this month ("办卡送保险"), and a car wash
/// giving one free wash a month to a card recharged with 500.00 or more,
/// each with a user of its own.
async fn partners(
    conn: &mut Conn,
    tz: Tz,
    now: i64,
    logins: &mut Logins,
) -> anyhow::Result<[i64; 2]> {
    use fuelcard::alliance::{merchants, offers};
    let mut users = [0; 2];
    for (i, (code, name, category, stations, username)) in [
        (
            "M001",
            "平安财险城东营业部",
            "insurance",
            ["S001", "S003"],
            "insurer",
        ),
        (
            "M002",
            "洁车坊汽车美容",
            "car_wash",
            ["S001", "S002"],
            "carwash",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let input = merchants::MerchantInput {
            code: code.into(),
            name: name.into(),
            category: category.into(),
            address: Some("杭州市上城区".into()),
            contact: Some("0571-8777-0000".into()),
            stations: stations.iter().map(|s| s.to_string()).collect(),
        };
        merchants::create(conn, &input, now).await.map_err(e)?;
        let password = format!("{username}-demo");
        users[i] = users::create(
            conn,
            &users::NewUser {
                username,
                password: &password,
                role: Role::Merchant,
                station_id: None,
                company_id: None,
                merchant: Some(code),
                district: None,
            },
            now,
        )
        .await
        .map_err(e)?;
        logins.push((
            username.to_string(),
            password,
            Role::Merchant.as_str().to_string(),
        ));
    }
    let today = fuelcard::time::local_date(now, tz);
    let month_start = fuelcard::time::day_span(today.with_day(1).unwrap_or(today), tz)
        .map(|(start, _)| fuelcard::time::format_us(start));
    let offers: [serde_json::Value; 2] = [
        serde_json::json!({
            "code": "INS-2026", "merchant": "M001", "name": "办卡送保险",
            "trigger": {"event": "card_opened", "card_kinds": ["personal"],
                        "stations": ["S001", "S003"], "starts_at": month_start},
            "benefit": {"kind": "voucher", "item": "驾乘人员意外险一份"},
            "unit_cost": "20.00", "funded_by": {"station_percent": 0, "merchant_percent": 100},
            "budget_count": 500, "per_customer": 1, "valid_days": 90, "needs_consent": true
        }),
        serde_json::json!({
            "code": "WASH-MONTHLY", "merchant": "M002", "name": "充值满500元每月免费洗车",
            "trigger": {"event": "recharge", "min_amount": "500"},
            "benefit": {"kind": "entitlement", "item": "普通洗车一次", "per_period": 1},
            "unit_cost": "30.00", "funded_by": {"station_percent": 60, "merchant_percent": 40},
            "per_customer": 1, "budget_amount": "30000"
        }),
    ];
    for offer in offers {
        let input: offers::OfferInput = serde_json::from_value(offer)?;
        offers::create(conn, &input, None, now).await.map_err(e)?;
    }
    Ok(users)
}

/// The insurer registered this month's first voucher and the car wash
/// washed one car today.
async fn redeemed_today(
    conn: &mut Conn,
    [insurer, washer]: &[i64; 2],
    tz: Tz,
    now: i64,
) -> anyhow::Result<()> {
    use fuelcard::alliance::redemptions::{self, Lookup};
    for (user, offer) in [(insurer, "INS-2026"), (washer, "WASH-MONTHLY")] {
        let code: Option<String> = sqlx::query(
            "SELECT b.voucher_code FROM benefits b JOIN offers o ON o.id = b.offer_id \
             WHERE o.code = $1 ORDER BY b.id LIMIT 1",
        )
        .bind(offer)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("voucher_code"))
        .transpose()?;
        let Some(code) = code else { continue };
        let held = redemptions::find(conn, &Lookup::Code(code))
            .await
            .map_err(e)?;
        let max_purchase = fuelcard::config::Settings::default().max_redemption_purchase;
        redemptions::redeem(conn, &held, *user, None, None, max_purchase, now, tz)
            .await
            .map_err(e)?;
    }
    Ok(())
}

/// The acquisition figures recounted the same way: each demo card taken as
/// opened at the start of the history, at the station of its first
/// business, through a channel in turn; its first and latest sale and first
/// recharge read from where the moved sales and recharges now stand; and
/// each station's card litres per local day.
async fn recount_acquisition(conn: &mut Conn, tz: Tz, opened_at: i64) -> anyhow::Result<()> {
    let rows = sqlx::query("SELECT station_id, created_at, litres_cl FROM sales")
        .fetch_all(&mut *conn)
        .await?;
    let mut days: std::collections::BTreeMap<(i64, NaiveDate), i64> = Default::default();
    for r in rows {
        let day = fuelcard::time::local_date(r.try_get("created_at")?, tz);
        *days.entry((r.try_get("station_id")?, day)).or_default() +=
            r.try_get::<i64, _>("litres_cl")?;
    }
    sqlx::query("DELETE FROM station_days")
        .execute(&mut *conn)
        .await?;
    for ((station, day), cl) in days {
        stations::days::add_card_litres(conn, station, day, Litres::from_cl(cl))
            .await
            .map_err(e)?;
    }
    for sql in [
        "INSERT INTO card_openings (card_id, station_id, customer_kind, channel, channel_ref, \
           opened_at) \
         SELECT c.id, (SELECT o.station_id FROM operations o WHERE o.card_id = c.id \
                       ORDER BY o.created_at LIMIT 1), \
           CASE WHEN c.kind IN ('personal', 'anonymous') THEN 'person' \
                WHEN c.kind = 'company_main' THEN 'company' END, \
           CASE c.id % 3 WHEN 0 THEN 'flyer' WHEN 1 THEN 'stand' ELSE 'in_station' END, \
           CASE WHEN c.id % 3 = 0 THEN 'DEMO-FLY-1' END, $1 \
         FROM cards c",
        "UPDATE card_openings SET \
           first_sale_at = (SELECT MIN(s.created_at) FROM sales s JOIN cards k ON k.id = s.card_id \
             WHERE k.id = card_openings.card_id OR k.parent_card_id = card_openings.card_id), \
           last_sale_at = (SELECT MAX(s.created_at) FROM sales s JOIN cards k ON k.id = s.card_id \
             WHERE k.id = card_openings.card_id OR k.parent_card_id = card_openings.card_id), \
           first_recharge_fen = (SELECT r.amount_fen FROM recharges r \
             WHERE r.card_id = card_openings.card_id ORDER BY r.created_at, r.id LIMIT 1) \
         WHERE opened_at = $1",
    ] {
        sqlx::query(sql).bind(opened_at).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Three customers won this month at the first station — through a flyer,
/// a referral and a stand — each with a first recharge and a first refuel
/// today, so the acquisition pages and the wins have this month's news.
async fn this_months_customers(
    conn: &mut Conn,
    cashiers: &[Actor],
    tz: Tz,
    now: i64,
) -> anyhow::Result<()> {
    use fuelcard::cards::openings::{self, Channel, ChannelKind};
    let Some(cashier) = cashiers.first() else {
        return Ok(());
    };
    let station = stations::for_counter(conn, cashier, None)
        .await
        .map_err(e)?;
    sqlx::query(
        "INSERT INTO flyer_batches (code, station_id, handed_out, created_at) \
         VALUES ('DEMO-FLY-1', $1, 600, $2)",
    )
    .bind(station.id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let mut referrer: Option<String> = None;
    for (name, phone, kind, amount, consent) in [
        ("孙丽", "13800000011", ChannelKind::Flyer, 120_000, true),
        ("周强", "13800000012", ChannelKind::Referral, 60_000, false),
        ("吴敏", "13800000013", ChannelKind::Stand, 300_000, true),
    ] {
        let new = NewCustomer {
            consents: Some(customers::Consents {
                share_with_partners: consent,
                ..Default::default()
            }),
            ..person(name, phone)
        };
        let holder = customers::create(conn, &new, now).await.map_err(e)?;
        let card = open(conn, CardKind::Personal, Some(holder.id), None, None, now).await?;
        let reference = match kind {
            ChannelKind::Flyer => Some("DEMO-FLY-1".to_string()),
            ChannelKind::Referral => referrer.clone(),
            _ => None,
        };
        let channel = Channel { kind, reference }.validate().map_err(e)?;
        openings::record(
            conn,
            &card,
            cashier.user_id,
            Some(station.id),
            &channel,
            None,
            now,
        )
        .await
        .map_err(e)?;
        let opened = happened(Event::CardOpened, &card, &station, None, card.id);
        engine::on_event(conn, &opened, now, tz).await.map_err(e)?;
        let mut rng = StdRng::seed_from_u64(u64::try_from(card.id).unwrap_or(0));
        let op = recharge_op(conn, cashier, &card, amount, &mut rng, now).await?;
        let recharge: i64 = sqlx::query("SELECT id FROM recharges WHERE operation_id = $1")
            .bind(op)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
        let paid = Some(Money::from_fen(amount));
        let recharged = happened(Event::Recharge, &card, &station, paid, recharge);
        engine::on_event(conn, &recharged, now, tz)
            .await
            .map_err(e)?;
        let number = CardNumber::parse(&card.number).map_err(|err| anyhow::anyhow!("{err}"))?;
        let (_, closing) = sale::sell(
            conn,
            cashier,
            &SaleRequest {
                number: &number,
                product: "92",
                quantity: Quantity::Litres(Litres::from_cl(3_500)),
                station: &station,
                plate: None,
                odometer: None,
            },
            tz,
            now,
        )
        .await
        .map_err(e)?;
        closing.post(conn).await.map_err(e)?;
        referrer.get_or_insert(card.number.clone());
    }
    Ok(())
}

use chrono::Datelike as _;

/// A demo event at a station, named as the counter's actions name it.
fn happened<'a>(
    event: Event,
    card: &'a Card,
    station: &'a stations::Station,
    amount: Option<Money>,
    id: i64,
) -> engine::Happened<'a> {
    engine::Happened {
        event,
        card,
        station: Some((station.id, station.code.as_str())),
        amount,
        key: format!("{}:{id}", event.as_str()),
    }
}

async fn recharge_op(
    conn: &mut Conn,
    cashier: &Actor,
    card: &Card,
    amount_fen: i64,
    rng: &mut StdRng,
    now: i64,
) -> anyhow::Result<i64> {
    let number = CardNumber::parse(&card.number).map_err(|err| anyhow::anyhow!("{err}"))?;
    let method = [
        PaymentMethod::Cash,
        PaymentMethod::BankCard,
        PaymentMethod::Transfer,
    ][rng.gen_range(0..3)];
    let r = recharge::recharge(
        conn,
        cashier,
        RechargeRequest {
            number: &number,
            amount: Money::from_fen(amount_fen),
            method,
            campaign_code: None,
            station: None,
        },
        now,
    )
    .await
    .map_err(e)?;
    let op: i64 = sqlx::query("SELECT operation_id FROM recharges WHERE id = $1")
        .bind(r.id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("operation_id")?;
    Ok(op)
}

/// The local wall-clock instant `hour:minute` of `day`.
fn local_instant(tz: Tz, day: NaiveDate, hour: u32, minute: u32) -> i64 {
    tz.from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .unwrap_or_default()
}

/// The local hour a cashier's shift starts: turn 0 at 06:00, then 11:00
/// and 16:00.
fn shift_start(turn: usize) -> u32 {
    6 + u32::try_from(SHIFT_HOURS).unwrap_or(5) * u32::try_from(turn).unwrap_or(0)
}

/// Moves the shift's events (written now) into the shift `[open, close)`,
/// spread over it in the order they happened, and closes the shift with a
/// count equal to what was expected. Business already written at its own
/// instant in the shift (the fleets' refuels) stays where it is.
async fn close_shift(
    conn: &mut Conn,
    cashier: &Actor,
    open: i64,
    close: i64,
    events: &[i64],
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let Some(station_id) = cashier.station_id else {
        return Ok(());
    };
    let shift_id = shifts::ensure_open(conn, station_id, cashier.user_id, open)
        .await
        .map_err(e)?;
    let slot = (close - open) / 1_000_000 / (i64::try_from(events.len()).unwrap_or(1) + 1);
    let mut at = open;
    for op in events {
        at += rng.gen_range(slot / 2..slot.max(2)) * 1_000_000;
        for table in ["operations", "transfers", "sales", "recharges"] {
            let column = if table == "operations" {
                "id"
            } else {
                "operation_id"
            };
            sqlx::query(&format!(
                "UPDATE {table} SET created_at = $1 WHERE {column} = $2"
            ))
            .bind(at)
            .bind(op)
            .execute(&mut *conn)
            .await?;
        }
    }
    let (expected, _, _) = shifts::expected(conn, shift_id).await.map_err(e)?;
    shifts::close(conn, shift_id, Some(cashier.user_id), &expected, close)
        .await
        .map_err(e)?;
    // The shift was opened when its first business was written; it moves
    // to its start with it.
    sqlx::query("UPDATE shifts SET opened_at = $1 WHERE id = $2")
        .bind(open)
        .bind(shift_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A light truck of the demo fleet, taking 92# or 95#. A lenient company
/// lets a sale over the tank, over the per-sale maximum or with an odometer
/// reading below the last one through with an alert, for the monthly review
/// to question; the other declines them.
async fn demo_vehicle(
    conn: &mut Conn,
    company_id: i64,
    plate: &str,
    lenient: bool,
    now: i64,
) -> anyhow::Result<Vehicle> {
    let controls = if lenient {
        ["tank_capacity", "sale_maximum", "odometer"]
            .into_iter()
            .map(|c| (c.to_string(), Mode::Alert))
            .collect()
    } else {
        Default::default()
    };
    let input = fuelcard::fleet::vehicles::VehicleInput {
        plate: plate.into(),
        vehicle_type: "light_truck".into(),
        displacement: "2.8".into(),
        products: vec!["92".into(), "95".into()],
        tank_capacity: "80".into(),
        baseline_l_per_100km: "11.5".into(),
        department: Some("运输部".into()),
        default_driver: None,
        max_sale_litres: Some("80".into()),
        max_sale_amount: None,
        max_day_litres: None,
        max_day_amount: None,
        allowed_hours: None,
        allowed_stations: None,
        controls,
    };
    let v = input.validate().map_err(e)?;
    fuelcard::fleet::vehicles::create(conn, company_id, &v, now)
        .await
        .map_err(e)
}

/// A demo company's month-start business: its main card, the staff
/// sub-card it funds, its fleet manager and what it pays in each month.
struct Company {
    id: i64,
    main: Card,
    sub: Card,
    manager: Actor,
    recharge_fen: i64,
}

/// A company's month begins: it pays its main card at the first station's
/// counter, the main card funds the staff sub-card, and the fleet manager
/// drafts and approves the month's allocation plan, which funds every
/// vehicle card (its unspent rest swept back first).
async fn fund_fleet(
    conn: &mut Conn,
    cashier: &Actor,
    company: &Company,
    day: NaiveDate,
    tz: Tz,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let at = local_instant(tz, day, 6, 5);
    recharge_op(conn, cashier, &company.main, company.recharge_fen, rng, at).await?;
    let sub_funded = at + 5 * 60_000_000;
    transfer::transfer(
        conn,
        cashier,
        &company.main,
        &company.sub,
        Money::from_fen(150_000),
        sub_funded,
    )
    .await
    .map_err(e)?;
    let month = day.format("%Y-%m").to_string();
    let approved = at + 25 * 60_000_000;
    allocation::draft(conn, company.id, &month, approved)
        .await
        .map_err(e)?;
    allocation::approve(conn, &company.manager, company.id, &month, approved)
        .await
        .map_err(e)?;
    Ok(())
}

/// The first day of the latest complete month before `today`: the month
/// the demo plants its anomalies in.
fn planted_month(today: NaiveDate) -> NaiveDate {
    today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(1)))
        .unwrap_or(today)
}

/// A demo truck on the road: the reading its driver gives at the pump, the
/// distance it drove since its last fill and what its tank holds.
struct Truck {
    vehicle: Vehicle,
    card: Card,
    product: &'static str,
    burn_permille: i64,
    plant: Option<Plant>,
    odometer_km: i64,
    km_since_fill: i64,
    tank_cl: i64,
}

impl Truck {
    fn new(vehicle: Vehicle, card: Card, spec: &TruckSpec, tank_cl: i64) -> Truck {
        Truck {
            tank_cl,
            vehicle,
            card,
            product: spec.product,
            burn_permille: spec.burn_permille,
            plant: spec.plant,
            odometer_km: spec.odometer_km,
            km_since_fill: 0,
        }
    }

    /// Centilitres burned over `km`, on a day when the truck burns
    /// `day_permille` of its usual.
    fn burn_cl(&self, km: i64, day_permille: i64) -> i64 {
        km * self.vehicle.baseline_l_per_100km.cl() * self.burn_permille * day_permille
            / 100_000_000
    }

    /// Drives a day's distance, or as far as the tank allows with 5 L kept
    /// in reserve.
    fn drive(&mut self, km: i64, day_permille: i64) {
        let per_100km = self.burn_cl(100, day_permille).max(1);
        let km = km.min((self.tank_cl - 500).max(0) * 100 / per_100km);
        self.tank_cl -= self.burn_cl(km, day_permille);
        self.km_since_fill += km;
    }

    /// What a fill-up takes now.
    fn gap_cl(&self) -> i64 {
        self.vehicle.tank_capacity.cl() - self.tank_cl
    }
}

/// A refuel the day brings: which truck, at which cashier's counter (by
/// turn), when, and whether it is a planted one.
struct Fill {
    truck: usize,
    turn: usize,
    at: i64,
    plant: Option<Plant>,
}

/// The refuels of `day`, in time order: each truck once its tank has room
/// for 45 L, at a counter and minute drawn from `road`, and the latest
/// complete month's planted refuels on their days.
fn fills_of_the_day(
    trucks: &[Truck],
    day: NaiveDate,
    in_planted: bool,
    tz: Tz,
    road: &mut StdRng,
) -> Vec<Fill> {
    let mut fills = Vec::new();
    for (truck, t) in trucks.iter().enumerate() {
        let plant = t.plant.filter(|p| in_planted && p.day() == Some(day.day()));
        let (turn, at) = match plant {
            Some(Plant::Night) => (2, local_instant(tz, day, 2, 30)),
            Some(Plant::OverTank) => (1, local_instant(tz, day, 13, 40)),
            Some(Plant::OdometerSlip) => (0, local_instant(tz, day, 9, 15)),
            _ if t.gap_cl() >= REFUEL_AT_GAP_CL => {
                let turn = road.gen_range(0..3);
                let minutes = road.gen_range(40..=280);
                let open = local_instant(tz, day, shift_start(turn), 0);
                (turn, open + minutes * 60_000_000)
            }
            _ => continue,
        };
        fills.push(Fill {
            truck,
            turn,
            at,
            plant,
        });
    }
    fills.sort_by_key(|f| f.at);
    fills
}

/// A truck refuels at a counter at its instant: a fill-up, or the planted
/// refuel. A fill-up the month's allocation cannot pay for waits (the truck
/// drives on its reserve). The odometer and the tank move only once the
/// sale is made; a refused sale is the demo's error, never a quiet gap in
/// the history.
async fn refuel(
    conn: &mut Conn,
    cashier: &Actor,
    station: &stations::Station,
    truck: &mut Truck,
    fill: &Fill,
    in_planted: bool,
    tz: Tz,
) -> anyhow::Result<()> {
    let gap = truck.gap_cl();
    let (litres, km) = if fill.plant == Some(Plant::OverTank) {
        // What did not fit in the tank drove a trip nobody logged.
        let litres = truck.vehicle.tank_capacity.cl() + 500;
        let unlogged = (litres - gap) * 100 / truck.burn_cl(100, 1_000).max(1);
        (Litres::from_cl(litres), truck.km_since_fill + unlogged)
    } else {
        (Litres::from_cl(gap), truck.km_since_fill)
    };
    if fill.plant.is_none() && !allocation_covers(conn, truck, litres, fill.at, tz).await? {
        return Ok(());
    }
    let odometer = if in_planted && truck.plant == Some(Plant::Thirsty) {
        truck.odometer_km + km * 100 / 140
    } else {
        truck.odometer_km + km
    };
    let reported = if fill.plant == Some(Plant::OdometerSlip) {
        odometer - 1_000
    } else {
        odometer
    };
    let number = CardNumber::parse(&truck.card.number).map_err(|err| anyhow::anyhow!("{err}"))?;
    let (_, closing) = sale::sell(
        conn,
        cashier,
        &SaleRequest {
            number: &number,
            product: truck.product,
            quantity: Quantity::Litres(litres),
            station,
            plate: Some(&truck.vehicle.plate),
            odometer: Some(reported),
        },
        tz,
        fill.at,
    )
    .await
    .map_err(|err| {
        anyhow::anyhow!(
            "the demo refuel of {} at {}: {err}",
            truck.vehicle.plate,
            fuelcard::time::format_local(fill.at, tz)
        )
    })?;
    closing.post(conn).await.map_err(e)?;
    truck.odometer_km = odometer;
    truck.km_since_fill = 0;
    truck.tank_cl = truck.vehicle.tank_capacity.cl();
    Ok(())
}

/// Whether what is left of the truck's allocation for the month of `at`
/// pays for `litres` of its product (a month without one: the balance
/// alone limits, as at the counter).
async fn allocation_covers(
    conn: &mut Conn,
    truck: &Truck,
    litres: Litres,
    at: i64,
    tz: Tz,
) -> anyhow::Result<bool> {
    let (day, month, _) = fuelcard::fleet::local_periods(at, tz);
    let read = usage::read(conn, truck.vehicle.id, &day, &month, at)
        .await
        .map_err(e)?;
    let Some(allocation) = read.usage.month_allocation else {
        return Ok(true);
    };
    let price = PRICES
        .iter()
        .find(|(code, _, _)| *code == truck.product)
        .and_then(|(_, unit, off)| {
            sale::price(
                Quantity::Litres(litres),
                Money::from_fen(*unit),
                Money::from_fen(*off),
            )
        })
        .context("a demo price")?;
    Ok(read.usage.month_amount.fen() + price.charged.fen() <= allocation.fen())
}

async fn open(
    conn: &mut Conn,
    kind: CardKind,
    customer_id: Option<i64>,
    parent: Option<&Card>,
    plate: Option<&str>,
    now: i64,
) -> anyhow::Result<Card> {
    cards::open(
        conn,
        &NewCard {
            kind,
            customer_id,
            parent,
            plate,
            pin: None,
            station_id: None,
        },
        now,
    )
    .await
    .map_err(e)
}

/// A demo person, with a resident ID made from the phone so that the
/// counter can check it when a PIN is forgotten.
fn person(name: &str, phone: &str) -> NewCustomer {
    NewCustomer {
        kind: CustomerKind::Person,
        name: name.into(),
        phone: Some(phone.into()),
        id_number: Some(format!("3301021985{}", tail(phone))),
        id_kind: Some(IdKind::ResidentId),
        contact_name: None,
        address: None,
        consents: None,
    }
}

/// A demo company, registered with its business licence number.
fn company(name: &str, phone: &str) -> NewCustomer {
    NewCustomer {
        kind: CustomerKind::Company,
        name: name.into(),
        phone: Some(phone.into()),
        id_number: Some(format!("91330100MA{}", tail(phone))),
        id_kind: Some(IdKind::BusinessLicence),
        contact_name: Some("车队管理员".into()),
        address: None,
        consents: None,
    }
}

/// The last eight characters of a phone number.
fn tail(phone: &str) -> String {
    let skip = phone.chars().count().saturating_sub(8);
    phone.chars().skip(skip).collect()
}
