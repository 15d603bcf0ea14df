//! A company's fleet data belongs to the company: its fleet manager decides,
//! HQ reads. Station staff cannot read its reviews, plans, loans or
//! vehicles, nor let a vehicle past the company's controls, and another
//! company's fleet manager can touch nothing of it. Each refusal writes
//! nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestEnv};

async fn fleet_scope(env: &TestEnv) {
    let cashier = env.login("cashier1").await;
    env.add_user("manager1", "station_manager", Some("S1"), None)
        .await;
    env.add_user("hq-office", "hq", None, None).await;
    let station_manager = env.login("manager1").await;
    let hq = env.login("hq-office").await;
    let (company, manager, main) = env.company(&cashier, "顺达物流", "fleet-a", "5000").await;
    let (_, outsider, _) = env.company(&cashier, "城建工程", "fleet-b", "100").await;
    let plate = "浙A10001";
    let vehicle = json!({
        "plate": plate, "vehicle_type": "car", "displacement": "1.6", "products": ["92"],
        "tank_capacity": "50", "baseline_l_per_100km": "8"
    });
    env.fleet_vehicle(&cashier, &manager, company, &main, vehicle)
        .await;
    env.put_fixture_policy(&manager, company).await;
    let month = env.month();
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": month}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = env
        .post(
            &manager,
            &format!("/api/v1/fleet/{company}/loans"),
            json!({
                "plate": plate, "driver": "王师傅", "purpose": "送货", "route": "杭州—宁波",
                "starts_on": "2026-11-20", "ends_on": "2026-11-22"
            }),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let loan = r.1["id"].as_i64().expect("a loan id");

    let reads = [
        format!("/api/v1/fleet/{company}/reports/monthly?month={month}"),
        format!("/api/v1/fleet/{company}/allocations/{month}"),
        format!("/api/v1/fleet/{company}/loans/{loan}"),
        format!("/api/v1/fleet/{company}/vehicles"),
        format!("/api/v1/fleet/{company}/policy"),
    ];
    for path in &reads {
        let r = env.get(&manager, path).await;
        assert_eq!(
            r.0,
            StatusCode::OK,
            "the company's manager reads {path}: {}",
            r.1
        );
        let r = env.get(&hq, path).await;
        assert_eq!(r.0, StatusCode::OK, "HQ reads {path}: {}", r.1);
        for (who, token, code) in [
            ("a cashier", &cashier, "forbidden"),
            ("a station manager", &station_manager, "forbidden"),
            ("another company's manager", &outsider, "not_your_company"),
        ] {
            let r = env.get(token, path).await;
            assert_eq!(r.0, StatusCode::FORBIDDEN, "{who} reads {path}: {}", r.1);
            assert_eq!(r.1["code"], json!(code), "{who}: {}", r.1);
        }
    }

    let before = written(env).await;
    let override_path = format!("/api/v1/fleet/{company}/vehicles/{plate}/overrides");
    let override_body = json!({"control": "product", "reason": "92# sold out"});
    for (who, token, status) in [
        ("a station manager", &station_manager, StatusCode::FORBIDDEN),
        ("a cashier", &cashier, StatusCode::FORBIDDEN),
        ("HQ", &hq, StatusCode::FORBIDDEN),
        (
            "another company's manager",
            &outsider,
            StatusCode::FORBIDDEN,
        ),
    ] {
        let r = env.post(token, &override_path, override_body.clone()).await;
        assert_eq!(r.0, status, "{who} grants an override: {}", r.1);
    }
    let writes: [(String, Value); 3] = [
        (
            format!("/api/v1/fleet/{company}/allocations"),
            json!({"month": month}),
        ),
        (
            format!("/api/v1/fleet/{company}/loans"),
            json!({"plate": plate, "driver": "x", "purpose": "x", "route": "x",
                   "starts_on": "2026-11-20", "ends_on": "2026-11-21"}),
        ),
        (
            format!("/api/v1/fleet/{company}/loans/{loan}/approval"),
            json!({}),
        ),
    ];
    for (path, body) in &writes {
        for (who, token) in [
            ("a cashier", &cashier),
            ("another company's manager", &outsider),
        ] {
            let r = env.post(token, path, body.clone()).await;
            assert_eq!(r.0, StatusCode::FORBIDDEN, "{who} posts {path}: {}", r.1);
        }
        let r = env.post(&hq, path, body.clone()).await;
        assert_eq!(r.0, StatusCode::FORBIDDEN, "HQ posts {path}: {}", r.1);
    }
    assert_eq!(written(env).await, before, "a refused request wrote");

    // The company's own manager lets the sale through.
    let r = env.post(&manager, &override_path, override_body).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
}

on_both_backends!(fleet_data_belongs_to_the_company, fleet_scope);

/// What a refused fleet request must not have added to.
async fn written(env: &TestEnv) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "limit_overrides",
        "allocation_plans",
        "card_loans",
        "audit_log",
    ] {
        counts.push(env.count(table).await);
    }
    counts
}

/// A plate is unique within its company, not across companies: a vehicle
/// sold on can be registered by the company that bought it, and a company
/// cannot register one plate twice. A database made before the rule
/// upgrades with its vehicles and what refers to them intact.
async fn plates_per_company(backend: Backend) {
    use sqlx::Row;
    let Some(fresh) = crate::support::FreshDb::create(backend).await else {
        return;
    };
    // The schema as it was, with a vehicle and its usage on file.
    let db = fuelcard::db::Db::connect(&fresh.url, 2)
        .await
        .expect("connect");
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let before = tempfile::tempdir().expect("a dir");
    let source = format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&source).expect("the migrations") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name < "0015" {
            std::fs::copy(&path, before.path().join(name)).expect("a copy");
        }
    }
    sqlx::migrate::Migrator::new(before.path())
        .await
        .expect("the old migrations")
        .run(db.pool())
        .await
        .expect("the old schema");
    for sql in [
        "INSERT INTO customers (kind, name, created_at) VALUES ('company', '甲', 0)",
        "INSERT INTO customers (kind, name, created_at) VALUES ('company', '乙', 0)",
        "INSERT INTO vehicles (company_id, plate, vehicle_type, displacement_ml, products, \
           tank_capacity_cl, baseline_cl_per_100km, created_at) \
         VALUES (1, '浙A12345', 'car', 1600, '[\"92\"]', 5000, 800, 0)",
        "INSERT INTO vehicle_usage (vehicle_id, period, litres_cl) VALUES (1, '2026-11', 3000)",
    ] {
        sqlx::query(sql).execute(db.pool()).await.expect(sql);
    }
    db.migrate().await.expect("the upgrade keeps every vehicle");
    let usage: i64 = sqlx::query(
        "SELECT u.litres_cl FROM vehicle_usage u JOIN vehicles v ON v.id = u.vehicle_id \
         WHERE v.plate = '浙A12345'",
    )
    .fetch_one(db.pool())
    .await
    .expect("the usage still refers to its vehicle")
    .try_get("litres_cl")
    .expect("litres");
    assert_eq!(usage, 3000);
    db.close().await;

    let env = TestEnv::start_fresh(fresh, crate::support::settings()).await;
    let (bought, _, _) = env
        .company(&env.login("cashier1").await, "丙物流", "fleet-c", "100")
        .await;
    let r = env
        .post(
            &env.admin,
            &format!("/api/v1/fleet/{bought}/vehicles"),
            crate::support::car("浙A12345"),
        )
        .await;
    assert_eq!(r.0, StatusCode::CREATED, "another company's plate: {}", r.1);
    let r = env
        .post(
            &env.admin,
            &format!("/api/v1/fleet/{bought}/vehicles"),
            crate::support::car("浙A12345"),
        )
        .await;
    assert_eq!(
        r.1["code"],
        json!("duplicate"),
        "twice in one company: {}",
        r.1
    );
    env.finish().await;
}
crate::with_each_backend!(plates_unique_per_company, plates_per_company);
