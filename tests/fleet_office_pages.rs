//! The fleet office's pages on the demo network: a fleet manager logs in
//! through the form and does the month's work as a browser would — a
//! vehicle registered (after a refusal that keeps what was typed), found
//! by the filter, changed, exported and imported as CSV, one retired; next
//! month's plan drafted, a line changed and the plan approved; an early
//! top-up approved and one rejected; a card lent for a trip, handed out and
//! taken back; a cash refuel recorded; an override granted; the policy
//! saved; the monthly report and its CSV — over plain HTTP on both
//! backends, and the plan edited and approved with the keyboard in a
//! headless Chromium.

use chrono::Datelike;
use fantoccini::Locator;
use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::json;

use crate::pages::{browser, start_driver};
use crate::support::{Backend, Demo};
use crate::with_each_backend;

/// A page session logged in through the login form as a demo user.
async fn demo_session(demo: &Demo, username: &str) -> reqwest::Client {
    crate::support::page_session(&demo.base, username, &format!("{username}-demo")).await
}

/// Posts a page's form: the status, where it sends the browser, the page.
async fn submit(
    c: &reqwest::Client,
    demo: &Demo,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    crate::support::page_submit(c, &demo.base, path, form).await
}

async fn read(c: &reqwest::Client, demo: &Demo, path: &str) -> (StatusCode, String) {
    let r = c
        .get(format!("{}{path}", demo.base))
        .send()
        .await
        .expect("answer");
    (r.status(), r.text().await.expect("text"))
}

/// The company of the logged-in fleet manager: where `/` sends them.
/// The option chosen in a page's `select` of this id.
fn mode_chosen(html: &str, id: &str) -> String {
    let select = html
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .unwrap_or_default();
    select
        .split("<option ")
        .find(|o| o.contains("selected"))
        .and_then(|o| o.split("value=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or_default()
        .to_string()
}

async fn company_of(c: &reqwest::Client, demo: &Demo) -> i64 {
    let r = c
        .get(format!("{}/", demo.base))
        .send()
        .await
        .expect("answer");
    let to = r.headers()["location"].to_str().expect("location");
    to.strip_prefix("/fleet/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a fleet manager starts at their fleet: {to}"))
}

/// The table row of a page whose element id is `id`, up to its end.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    html.split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {id}: {html}"))
}

/// The number at the end of a redirect to `prefix…`.
fn id_after(location: &str, prefix: &str) -> i64 {
    location
        .strip_prefix(prefix)
        .and_then(|rest| {
            rest.trim_start_matches('#')
                .trim_start_matches("topup-")
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("sent to {location}"))
}

const NEW_PLATE: &str = "浙A77777";

async fn the_fleet_office(backend: Backend) {
    let Some(demo) = Demo::start(backend).await else {
        return;
    };
    let c = demo_session(&demo, "fleet-a").await;
    let company = company_of(&c, &demo).await;
    let base = format!("/fleet/{company}");
    let api = demo.login("fleet-a").await;
    let month = demo
        .clock
        .now()
        .with_timezone(&crate::support::settings().time_zone)
        .format("%Y-%m")
        .to_string();
    let next = (demo
        .clock
        .now()
        .with_timezone(&crate::support::settings().time_zone)
        .date_naive()
        .with_day(1)
        .expect("a first day")
        + chrono::Months::new(1))
    .format("%Y-%m")
    .to_string();

    // Home: the month at a glance and every task.
    let (status, home) = read(&c, &demo, &base).await;
    assert_eq!(status, StatusCode::OK, "{home}");
    for link in [
        "/vehicles",
        "/allocations",
        "/topups",
        "/loans",
        "/cash-refuels",
        "/policy",
        "/reports/monthly",
        "/review",
    ] {
        assert!(
            home.contains(&format!("href=\"{base}{link}")),
            "{link}: {home}"
        );
    }
    assert!(home.contains("id=\"open-anomalies\""), "{home}");
    // The credit account is linked when the company has a line.
    let line = demo
        .get(&api, &format!("/api/v1/customers/{company}/credit-line"))
        .await;
    assert_eq!(
        home.contains(&format!("href=\"/credit/{company}\"")),
        line.0 == StatusCode::OK,
        "{}: {home}",
        line.1
    );

    // A vehicle: refused with a bad displacement, shown again as typed with
    // the field named; then registered and found by the filter.
    let vehicle = [
        ("key", "vehicle-1"),
        ("plate", NEW_PLATE),
        ("vehicle_type", "van"),
        ("displacement", "abc"),
        ("products", "92, 95"),
        ("tank_capacity", "60"),
        ("baseline_l_per_100km", "9.5"),
        ("department", "配送部"),
        ("default_driver", "王师傅"),
    ];
    let (status, _, html) = submit(&c, &demo, &format!("{base}/vehicles"), &vehicle).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains(&format!("value=\"{NEW_PLATE}\"")), "{html}");
    assert!(html.contains("value=\"abc\""), "{html}");
    assert!(html.contains("value=\"配送部\""), "{html}");
    let bad = html
        .split("id=\"add-displacement\"")
        .nth(1)
        .expect("the displacement field");
    assert!(
        bad.starts_with(' ') && bad[..300].contains("aria-invalid=\"true\""),
        "{bad}"
    );
    assert!(bad.contains("field-error"), "{html}");
    let mut good = vehicle;
    good[0] = ("key", "vehicle-2");
    good[3] = ("displacement", "2.0");
    let (status, to, html) = submit(&c, &demo, &format!("{base}/vehicles"), &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(to.starts_with(&format!("{base}/vehicles/")), "{to}");
    let (status, html) = read(&c, &demo, &to).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(NEW_PLATE) && html.contains("60.00"), "{html}");
    let (_, list) = read(&c, &demo, &format!("{base}/vehicles?q=77777")).await;
    assert!(list.contains(NEW_PLATE), "{list}");
    assert_eq!(
        list.matches("<tbody><tr>").count(),
        1,
        "one vehicle found: {list}"
    );
    let (_, vans) = read(
        &c,
        &demo,
        &format!("{base}/vehicles?type=heavy_truck&q=77777"),
    )
    .await;
    assert!(!vans.contains(&format!(">{NEW_PLATE}<")), "{vans}");

    // Export, then an import refused for its bad line (nothing written, the
    // text kept), then imported.
    let (status, csv) = read(&c, &demo, &format!("{base}/vehicles.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.starts_with("plate,vehicle_type"), "{csv}");
    assert!(csv.contains(NEW_PLATE), "{csv}");
    let header = csv.lines().next().expect("a header");
    let bad_file =
        format!("{header}\n浙A88881,car,1.6,92,50,7,,,,,,,,\n浙A88882,boat,1.6,92,50,7,,,,,,,,\n");
    let before = demo.count("vehicles").await;
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/vehicles/import"),
        &[("csv", bad_file.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let report = html
        .split("id=\"import-report\"")
        .nth(1)
        .expect("the per-row report");
    assert!(report.contains("<td class=\"num\">3</td>"), "{report}");
    assert!(html.contains("浙A88882,boat"), "the text is kept: {html}");
    assert_eq!(demo.count("vehicles").await, before, "nothing imported");
    let mut good_file = format!("{header}\n");
    for n in 0..20 {
        good_file.push_str(&format!("浙A880{n:02},car,1.6,92,50,7,,,,,,,,\n"));
    }
    let (status, to, html) = submit(
        &c,
        &demo,
        &format!("{base}/vehicles/import"),
        &[("csv", good_file.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(to.ends_with("imported=20"), "{to}");
    let (_, list) = read(&c, &demo, &format!("{base}/vehicles?q=88017")).await;
    assert!(list.contains("浙A88017"), "{list}");
    // Twenty a page: the first page full, the rest on the next.
    let (_, first) = read(&c, &demo, &format!("{base}/vehicles")).await;
    let rows = |html: &str| {
        html.split("<tbody>").nth(1).map_or(0, |b| {
            b.split("</tbody>")
                .next()
                .unwrap_or("")
                .matches("<tr>")
                .count()
        })
    };
    assert_eq!(rows(&first), 20, "{first}");
    assert!(first.contains("rel=\"next\""), "{first}");
    let (_, second) = read(&c, &demo, &format!("{base}/vehicles?page=2")).await;
    assert!(second.contains("rel=\"prev\""), "{second}");
    assert!((1..20).contains(&rows(&second)), "{second}");

    // A one-off override for the new vehicle's next refuel.
    let plate_path = format!(
        "{base}/vehicles/{}",
        form_urlencoded::byte_serialize(NEW_PLATE.as_bytes()).collect::<String>()
    );
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{plate_path}/overrides"),
        &[
            ("control", "sale_maximum"),
            ("reason", "长途"),
            ("valid_hours", "99"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"99\"") && html.contains("value=\"长途\""),
        "{html}"
    );
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{plate_path}/overrides"),
        &[
            ("control", "sale_maximum"),
            ("reason", "长途"),
            ("valid_hours", "24"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"override-granted\""), "{html}");

    // The vehicle changed on its page: refused as typed, then saved.
    let edit = [
        ("vehicle_type", "van"),
        ("displacement", "2.0"),
        ("products", "92"),
        ("tank_capacity", "abc"),
        ("baseline_l_per_100km", "9.5"),
        ("department", "运输部"),
        ("default_driver", "王师傅"),
        ("max_sale_litres", "80"),
        ("allowed_stations", "S001, S002"),
        ("mode_hours", "alert"),
        ("mode_sale_maximum", "decline"),
    ];
    let (status, _, html) = submit(&c, &demo, &plate_path, &edit).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"运输部\"") && html.contains("value=\"abc\""),
        "{html}"
    );
    // The control's choice is kept as typed, too.
    assert_eq!(mode_chosen(&html, "edit-mode_hours"), "alert", "{html}");
    let bad = html
        .split("id=\"edit-tank_capacity\"")
        .nth(1)
        .expect("the tank field");
    assert!(bad[..300].contains("aria-invalid=\"true\""), "{bad}");
    let mut edit = edit;
    edit[3] = ("tank_capacity", "65");
    let (status, to, html) = submit(&c, &demo, &plate_path, &edit).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(to, plate_path);
    let (_, html) = read(&c, &demo, &plate_path).await;
    assert!(
        html.contains("value=\"运输部\"") && html.contains("65.00"),
        "{html}"
    );
    // The hours control now lets a refuel through and flags it; the others
    // still refuse; the stations are the two typed.
    assert_eq!(mode_chosen(&html, "edit-mode_hours"), "alert", "{html}");
    assert_eq!(mode_chosen(&html, "edit-mode_sale_maximum"), "decline");
    assert_eq!(mode_chosen(&html, "edit-mode_plate"), "decline");
    assert!(html.contains("value=\"S001, S002\""), "{html}");
    let changed = demo
        .get(&api, &format!("/api/v1/fleet/{company}/vehicles"))
        .await
        .1;
    let changed = changed
        .as_array()
        .expect("vehicles")
        .iter()
        .find(|v| v["plate"] == json!(NEW_PLATE))
        .expect("the vehicle")
        .clone();
    assert_eq!(changed["department"], json!("运输部"), "{changed}");
    assert_eq!(changed["tank_capacity"], json!("65.00"), "{changed}");

    // Next month's plan: drafted, a line changed (after a refusal that keeps
    // what was typed), approved.
    let (status, to, _) = {
        let r = c
            .get(format!("{}{base}/allocations", demo.base))
            .send()
            .await
            .expect("answer");
        (
            r.status(),
            r.headers()["location"].to_str().unwrap_or("").to_string(),
            (),
        )
    };
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, format!("{base}/allocations/{next}"));
    let (_, html) = read(&c, &demo, &to).await;
    assert!(html.contains("id=\"draft-plan\""), "{html}");
    let (status, to, html) = submit(
        &c,
        &demo,
        &format!("{base}/allocations"),
        &[("month", &next)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(to, format!("{base}/allocations/{next}"));
    let line = format!(
        "{base}/allocations/{next}/lines/{}",
        form_urlencoded::byte_serialize(NEW_PLATE.as_bytes()).collect::<String>()
    );
    let (status, _, html) = submit(
        &c,
        &demo,
        &line,
        &[("amount", "12x"), ("reason", "新车首月")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"12x\"") && html.contains("value=\"新车首月\""),
        "{html}"
    );
    assert!(html.contains("field-error"), "{html}");
    let (status, _, html) =
        submit(&c, &demo, &line, &[("amount", "321.50"), ("reason", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("value=\"321.50\""), "{html}");
    assert!(html.contains("请检查：原因"), "the reason is named: {html}");
    let (status, _, html) = submit(
        &c,
        &demo,
        &line,
        &[("amount", "321.50"), ("reason", "新车首月")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = read(&c, &demo, &format!("{base}/allocations/{next}")).await;
    let r = html
        .split(&format!("data-plate=\"{NEW_PLATE}\""))
        .nth(1)
        .expect("the new vehicle's line");
    assert!(r.contains("<td class=\"num amount\">321.50</td>"), "{r}");
    let plan = demo
        .get(&api, &format!("/api/v1/fleet/{company}/allocations/{next}"))
        .await;
    let edited = plan.1["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["plate"] == json!(NEW_PLATE))
        .expect("the line")
        .clone();
    assert_eq!(edited["amount"], json!("321.50"), "{edited}");
    assert_eq!(edited["reason"], json!("新车首月"), "{edited}");
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/allocations/{next}/approval"),
        &[("key", "approve-next")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = read(&c, &demo, &format!("{base}/allocations/{next}")).await;
    assert!(html.contains("data-status=\"approved\""), "{html}");
    assert!(
        !html.contains("id=\"approve-plan\""),
        "approved once: {html}"
    );
    // A second approval of the same form is its first answer; a new one is refused.
    let (status, _, _) = submit(
        &c,
        &demo,
        &format!("{base}/allocations/{next}/approval"),
        &[("key", "approve-next")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/allocations/{next}/approval"),
        &[("key", "approve-again")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("class=\"error\""), "{html}");

    // Early top-ups for a vehicle with a card: one approved, one rejected.
    let fleet = demo
        .get(&api, &format!("/api/v1/fleet/{company}/vehicles"))
        .await
        .1;
    let carded: Vec<String> = fleet
        .as_array()
        .expect("vehicles")
        .iter()
        .filter(|v| v["card_number"].is_string())
        .map(|v| v["plate"].as_str().expect("plate").to_string())
        .collect();
    let (plate, plate2) = (&carded[0], &carded[1]);
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/topups"),
        &[
            ("key", "t1"),
            ("plate", plate),
            ("amount", "-5"),
            ("reason", "长途运输"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"-5\"") && html.contains("value=\"长途运输\""),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{plate}\" selected")),
        "{html}"
    );
    let (status, to, html) = submit(
        &c,
        &demo,
        &format!("{base}/topups"),
        &[
            ("key", "t2"),
            ("plate", plate),
            ("amount", "200"),
            ("reason", "长途运输"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let first = id_after(&to, &format!("{base}/topups"));
    let (_, _, _) = submit(
        &c,
        &demo,
        &format!("{base}/topups"),
        &[
            ("key", "t3"),
            ("plate", plate2),
            ("amount", "100"),
            ("reason", "临时任务"),
        ],
    )
    .await;
    let (_, html) = read(&c, &demo, &format!("{base}/topups")).await;
    assert!(
        row(&html, &format!("topup-{first}")).contains("200.00"),
        "{html}"
    );
    let second = first + 1;
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/topups/{first}/approval"),
        &[("key", "d1")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/topups/{second}/rejection"),
        &[("key", "d2")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = read(&c, &demo, &format!("{base}/topups")).await;
    assert!(
        row(&html, &format!("topup-{first}")).contains("已批准"),
        "{html}"
    );
    assert!(
        row(&html, &format!("topup-{second}")).contains("已驳回"),
        "{html}"
    );
    assert!(
        !row(&html, &format!("topup-{first}")).contains("<form"),
        "decided once"
    );

    // A card lent for a trip: asked (after a refusal), approved, handed
    // out, taken back.
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/loans"),
        &[
            ("key", "l1"),
            ("plate", plate),
            ("driver", "李师傅"),
            ("purpose", "送货"),
            ("route", "杭州—宁波"),
            ("starts_on", "2026-11-20"),
            ("ends_on", "2026-11-19"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"李师傅\"") && html.contains("value=\"杭州—宁波\""),
        "{html}"
    );
    let ends = html
        .split("id=\"loan-ends_on\"")
        .nth(1)
        .expect("the end date");
    assert!(ends[..300].contains("aria-invalid=\"true\""), "{ends}");
    let (status, to, html) = submit(
        &c,
        &demo,
        &format!("{base}/loans"),
        &[
            ("key", "l2"),
            ("plate", plate),
            ("driver", "李师傅"),
            ("purpose", "送货"),
            ("route", "杭州—宁波"),
            ("starts_on", "2026-11-20"),
            ("ends_on", "2026-11-22"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let loan = id_after(&to, &format!("{base}/loans/"));
    let cashier_api = demo.login("cashier1").await;
    let lent = fleet
        .as_array()
        .expect("vehicles")
        .iter()
        .find(|v| v["plate"] == json!(plate))
        .expect("the lent vehicle")
        .clone();
    for (step, after) in [
        ("approval", "approved"),
        ("handout", "handed_out"),
        ("return", "returned"),
    ] {
        if step == "return" {
            // A refuel on the trip, at the counter, before the card comes back.
            let odometer = lent["last_odometer_km"].as_i64().unwrap_or(0) + 150;
            let r = demo
                .post(
                    &cashier_api,
                    "/api/v1/sales",
                    json!({"card_number": lent["card_number"], "product": lent["products"][0],
                           "litres": "10", "plate": plate, "odometer": odometer}),
                )
                .await;
            assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
        }
        let (status, _, html) =
            submit(&c, &demo, &format!("{base}/loans/{loan}/{step}"), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{step}: {html}");
        let (_, html) = read(&c, &demo, &format!("{base}/loans/{loan}")).await;
        assert!(
            html.contains(&format!("data-status=\"{after}\"")),
            "{step}: {html}"
        );
    }
    let (_, html) = read(&c, &demo, &format!("{base}/loans/{loan}")).await;
    let refuels = html
        .split("id=\"loan-refuels\"")
        .nth(1)
        .expect("the trip's refuels");
    assert!(
        refuels.contains("<td class=\"num\">10.00</td>"),
        "{refuels}"
    );
    let (status, _, html) = submit(&c, &demo, &format!("{base}/loans/{loan}/approval"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    let (_, html) = read(&c, &demo, &format!("{base}/loans")).await;
    assert!(
        row(&html, &format!("loan-{loan}")).contains("已归还"),
        "{html}"
    );
    let api_loan = demo
        .get(&api, &format!("/api/v1/fleet/{company}/loans/{loan}"))
        .await;
    assert_eq!(api_loan.1["status"], json!("returned"), "{}", api_loan.1);

    // A cash refuel with plate and reason.
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!("{base}/cash-refuels"),
        &[
            ("plate", plate),
            ("product", "92"),
            ("litres", "x"),
            ("amount", "300"),
            ("reason", "卡损坏"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("value=\"x\"") && html.contains("value=\"卡损坏\""),
        "{html}"
    );
    let cash_before = demo.count("cash_refuels").await;
    let (status, to, html) = submit(
        &c,
        &demo,
        &format!("{base}/cash-refuels"),
        &[
            ("plate", plate),
            ("product", "92"),
            ("litres", "40"),
            ("amount", "300"),
            ("reason", "卡损坏"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(to.contains("recorded="), "{to}");
    assert_eq!(demo.count("cash_refuels").await, cash_before + 1);

    // The policy: shown as saved, refused with what was typed, saved.
    let (_, html) = read(&c, &demo, &format!("{base}/policy")).await;
    assert!(html.contains("value=\"800.00\""), "{html}");
    let policy = demo
        .get(&api, &format!("/api/v1/fleet/{company}/policy"))
        .await
        .1;
    let mut form: Vec<(String, String)> = vec![
        ("under_percent".into(), "70".into()),
        ("under_change_percent".into(), "-10".into()),
        ("over_percent".into(), "95".into()),
        ("over_change_percent".into(), "10".into()),
        ("floor".into(), "abc".into()),
        ("cap".into(), "6000.00".into()),
        ("unspent".into(), "sweep_back".into()),
        ("allocation_day".into(), "25".into()),
    ];
    for (i, b) in policy["base"].as_array().expect("base").iter().enumerate() {
        form.push((
            format!("base_type_{i}"),
            b["vehicle_type"].as_str().unwrap_or("").into(),
        ));
        form.push((
            format!("base_max_{i}"),
            b["max_displacement"].as_str().unwrap_or("").into(),
        ));
        form.push((
            format!("base_amount_{i}"),
            b["amount"].as_str().unwrap_or("").into(),
        ));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _, html) = submit(&c, &demo, &format!("{base}/policy"), &pairs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("value=\"abc\""), "{html}");
    form[4].1 = "450.00".into();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, to, html) = submit(&c, &demo, &format!("{base}/policy"), &pairs).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert!(to.ends_with("saved=1"), "{to}");
    let saved = demo
        .get(&api, &format!("/api/v1/fleet/{company}/policy"))
        .await
        .1;
    assert_eq!(saved["adjustment"]["floor"], json!("450.00"), "{saved}");
    assert_eq!(saved["base"], policy["base"], "{saved}");

    // An imported vehicle retired: marked on the list, refused a second
    // time, and left out of the next plan drafted.
    let retired = format!(
        "{base}/vehicles/{}",
        form_urlencoded::byte_serialize("浙A88000".as_bytes()).collect::<String>()
    );
    let (status, _, html) = submit(&c, &demo, &format!("{retired}/retirement"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let (_, html) = read(&c, &demo, &retired).await;
    assert!(html.contains("id=\"vehicle-retired\""), "{html}");
    assert!(!html.contains("id=\"edit-vehicle\""), "{html}");
    let (status, _, html) = submit(&c, &demo, &format!("{retired}/retirement"), &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("已停用"), "{html}");
    let (_, list) = read(&c, &demo, &format!("{base}/vehicles?q=88000")).await;
    assert!(list.contains("<td class=\"status\">已停用</td>"), "{list}");
    let after = (chrono::NaiveDate::parse_from_str(&format!("{next}-01"), "%Y-%m-%d")
        .expect("a month")
        + chrono::Months::new(1))
    .format("%Y-%m")
    .to_string();
    let (status, _, _) = submit(
        &c,
        &demo,
        &format!("{base}/allocations"),
        &[("month", &after)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = read(&c, &demo, &format!("{base}/allocations/{after}")).await;
    assert!(html.contains("data-plate=\"浙A88001\""), "{html}");
    assert!(!html.contains("data-plate=\"浙A88000\""), "{html}");

    // A retired vehicle's card is refused at the counter.
    let gone = fleet
        .as_array()
        .expect("vehicles")
        .iter()
        .find(|v| v["card_number"].is_string() && v["plate"] != json!(plate))
        .expect("another vehicle with a card")
        .clone();
    let gone_plate = gone["plate"].as_str().expect("plate");
    let (status, _, html) = submit(
        &c,
        &demo,
        &format!(
            "{base}/vehicles/{}/retirement",
            form_urlencoded::byte_serialize(gone_plate.as_bytes()).collect::<String>()
        ),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let r = demo
        .post(
            &cashier_api,
            "/api/v1/sales",
            json!({"card_number": gone["card_number"], "product": gone["products"][0],
                   "litres": "10", "plate": gone_plate,
                   "odometer": gone["last_odometer_km"].as_i64().unwrap_or(0) + 100}),
        )
        .await;
    assert_eq!(r.0, StatusCode::CONFLICT, "{}", r.1);
    assert_eq!(r.1["code"], json!("vehicle_retired"), "{}", r.1);

    // The monthly report and its CSV.
    let (status, html) = read(&c, &demo, &format!("{base}/reports/monthly?month={month}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(&format!("{base}/reports/monthly.csv?month={month}")),
        "{html}"
    );
    let (status, csv) = read(
        &c,
        &demo,
        &format!("{base}/reports/monthly.csv?month={month}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.lines().count() > 2, "{csv}");
    assert!(csv.contains(plate.as_str()), "{csv}");

    // Another company's office answers as the API does.
    let (status, html) = read(&c, &demo, "/fleet/999999").await;
    let api_status = demo.get(&api, "/api/v1/fleet/999999/vehicles").await.0;
    assert_eq!(status, api_status, "{html}");
    assert!(html.contains("class=\"error\""), "{html}");
    let (status, _, _) = submit(&c, &demo, "/fleet/999999/allocations", &[("month", &next)]).await;
    assert_eq!(status, api_status);

    // A cashier is offered no fleet decision.
    let cashier = demo_session(&demo, "cashier1").await;
    let (status, html) = read(&cashier, &demo, &format!("{base}/topups")).await;
    assert_ne!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("id=\"request-topup\""), "{html}");

    demo.finish().await;
}

with_each_backend!(fleet_office_pages, the_fleet_office);

/// The fleet manager logs in through the form, goes to next month's plan,
/// drafts it, changes a line and approves it with the keyboard alone; a
/// Chinese screenshot of the approved plan is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_fleet_allocation() {
    let Some(driver) = start_driver() else { return };
    let demo = Demo::start(Backend::Sqlite).await.expect("sqlite");
    let b = browser(&driver).await;
    let run = async {
        b.goto(&format!("{}/login", demo.base)).await?;
        b.find(Locator::Id("username"))
            .await?
            .send_keys("fleet-a")
            .await?;
        b.find(Locator::Id("password"))
            .await?
            .send_keys("fleet-a-demo\n")
            .await?;
        b.wait().for_element(Locator::Css("header form")).await?;
        let path = b.current_url().await?.path().to_string();
        let company: i64 = path
            .strip_prefix("/fleet/")
            .and_then(|r| r.split('/').next())
            .and_then(|id| id.parse().ok())
            .expect("the fleet's pages");
        b.goto(&format!("{}/fleet/{company}/allocations", demo.base))
            .await?;
        // Drafting: the button has the focus; Enter presses it.
        b.wait().for_element(Locator::Id("draft-plan")).await?;
        b.active_element()
            .await?
            .send_keys(&Key::Enter.to_string())
            .await?;
        b.wait().for_element(Locator::Id("plan-lines")).await?;
        // The first line: its amount typed over, Tab to the reason, Enter.
        let amount = b.find(Locator::Id("amount-0")).await?;
        amount.click().await?;
        amount.clear().await?;
        amount.send_keys("456.70").await?;
        b.active_element()
            .await?
            .send_keys(&Key::Tab.to_string())
            .await?;
        b.active_element()
            .await?
            .send_keys(&format!("司机换班{}", Key::Enter))
            .await?;
        b.wait()
            .for_element(Locator::XPath(
                "//tr[@id='line-0']/td[contains(@class,'amount') and text()='456.70']",
            ))
            .await?;
        // Approval from the keyboard: focus the button, Enter.
        b.find(Locator::Id("approve"))
            .await?
            .send_keys(&Key::Enter.to_string())
            .await?;
        b.wait()
            .for_element(Locator::Css("#plan-status[data-status=approved]"))
            .await?;
        assert!(b.find_all(Locator::Id("approve-plan")).await?.is_empty());
        let html = b.source().await?;
        assert!(html.contains("已审批"), "the page is Chinese");
        let shot = b.keep_screenshot("fuelcard-fleet-allocation.png").await?;
        assert!(
            std::fs::metadata(&shot)
                .map(|m| m.len() > 1000)
                .unwrap_or(false)
        );
        Ok::<_, fantoccini::error::CmdError>(())
    };
    let run = run.await;
    b.close_after(run).await;
    demo.finish().await;
}
