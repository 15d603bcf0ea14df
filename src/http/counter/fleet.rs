//! The fleet manager's monthly review page: a sortable table of vehicles, a
//! litres-per-vehicle bar chart and a 12-month trend per vehicle drawn as
//! server-side SVG, and the anomalies highlighted with a form to answer each.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Months;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::text::{tr, word};
use super::{Lang, Signed, error_box, page, render, t};
use crate::actions::App;
use crate::actions::fleet::{self as act, Acknowledgement};
use crate::auth::policy::{Action, Target, authorize};
use crate::cards::sale;
use crate::error::{AppError, AppResult, Code};
use crate::fleet::{allocation, review, vehicles};
use crate::money::Litres;

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

/// The twelve months ending with `month`, oldest first.
fn last_twelve(month: &str) -> AppResult<Vec<String>> {
    let start = allocation::parse_month(month)?;
    (0..12u32)
        .rev()
        .map(|back| {
            start
                .checked_sub_months(Months::new(back))
                .map(|d| d.format("%Y-%m").to_string())
                .ok_or_else(|| AppError::new(Code::ValidationFailed, "month out of range"))
        })
        .collect()
}

fn bar_chart(lang: Lang, lines: &[review::VehicleLine]) -> Markup {
    let max = lines
        .iter()
        .map(|l| l.litres.cl())
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 22;
    let height = row_h * lines.len().max(1) + 10;
    html! {
        svg #litres-chart width="100%" height=(height) viewBox={"0 0 600 " (height)} role="img" aria-label=(t(lang, "litres_per_vehicle")) {
            @for (i, l) in lines.iter().enumerate() {
                @let y = i * row_h + 5;
                @let width = l.litres.cl() * 440 / max;
                text.data x="0" y=(y + 15) font-size="13" { (l.plate) }
                rect x="100" y=(y + 3) width=(width) height="15" fill="#2e7d4f" {}
                text x=(104 + width) y=(y + 15) font-size="12" fill="#333" { (l.litres) " L" }
            }
        }
    }
}

fn sparkline(points: &[i64]) -> Markup {
    let max = points.iter().copied().max().unwrap_or(0).max(1);
    let step = 110 / (points.len().max(2) - 1);
    let coords: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{},{}", i * step, 28 - v * 26 / max))
        .collect();
    html! {
        svg.trend width="112" height="30" viewBox="0 0 112 30" {
            polyline points=(coords.join(" ")) fill="none" stroke="#12355b" stroke-width="1.5" {}
        }
    }
}

/// A product's name in the page's language, by stored name (a sale
/// receipt names its product by name) or by code (a vehicle lists codes),
/// from the products' codes and names.
fn product_word(
    lang: Lang,
    names: &[(String, String)],
    code: Option<&str>,
    name: Option<&str>,
) -> String {
    let found = names
        .iter()
        .find(|(c, n)| Some(c.as_str()) == code || Some(n.as_str()) == name);
    match found {
        Some((c, _)) if super::text::has(&format!("product-{c}")) => {
            word(lang, &format!("product-{c}"))
        }
        Some((_, n)) => n.clone(),
        None => name.or(code).unwrap_or_default().to_string(),
    }
}

/// What an anomaly is about, in the page's language, from the refuel it
/// names, the vehicle and its month: the review's own reason is the API's
/// English. A cash refuel's reason is its justification, shown beside it.
/// `refuel` is the sale the anomaly names, read with the review.
fn anomaly_detail(
    refuel: Option<&sale::SaleReceipt>,
    lang: Lang,
    tz: chrono_tz::Tz,
    a: &review::Anomaly,
    lines: &[review::VehicleLine],
    fleet: &[vehicles::Vehicle],
    names: &[(String, String)],
) -> AppResult<Option<String>> {
    use review::AnomalyKind as K;
    let vehicle = fleet.iter().find(|v| v.plate == a.plate);
    let text = match a.kind {
        K::CashRefuel => return Ok(None),
        K::ConsumptionFarFromBaseline => {
            let Some(line) = lines.iter().find(|l| l.plate == a.plate) else {
                return Ok(None);
            };
            tr(
                lang,
                "anomaly-detail-consumption_far_from_baseline",
                &[
                    ("used", line.l_per_100km.clone().unwrap_or_default().into()),
                    ("baseline", line.baseline_l_per_100km.to_string().into()),
                    (
                        "deviation",
                        line.vs_baseline_percent.clone().unwrap_or_default().into(),
                    ),
                ],
            )
        }
        kind => {
            let sale = refuel.ok_or_else(|| {
                AppError::new(Code::Internal, "the refuel of an anomaly was not read")
            })?;
            let litres = sale.litres.to_string();
            match (kind, vehicle) {
                (K::OverTankCapacity, Some(v)) => tr(
                    lang,
                    "anomaly-detail-over_tank_capacity",
                    &[
                        ("litres", litres.into()),
                        ("tank", v.tank_capacity.to_string().into()),
                    ],
                ),
                (K::OdometerBackwards, _) => tr(
                    lang,
                    "anomaly-detail-odometer_backwards",
                    &[("odometer", sale.odometer.unwrap_or_default().into())],
                ),
                (K::WrongProduct, Some(v)) => {
                    let allowed: Vec<String> = v
                        .products
                        .iter()
                        .map(|code| product_word(lang, names, Some(code), None))
                        .collect();
                    tr(
                        lang,
                        "anomaly-detail-wrong_product",
                        &[
                            (
                                "product",
                                product_word(lang, names, None, Some(&sale.product)).into(),
                            ),
                            ("allowed", allowed.join(t(lang, "list_separator")).into()),
                        ],
                    )
                }
                _ => tr(
                    lang,
                    "anomaly-detail-refuel",
                    &[
                        ("litres", litres.into()),
                        ("time", crate::time::format_local(sale.at_us, tz).into()),
                    ],
                ),
            }
        }
    };
    Ok(Some(text))
}

/// Clicking a column header sorts the table by it (numbers as numbers).
const SORT_JS: &str = r#"
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.style.cursor='pointer';
  th.addEventListener('click', function(){
    var body=th.closest('table').tBodies[0], rows=[].slice.call(body.rows);
    var asc=th.dataset.asc!=='1'; th.dataset.asc=asc?'1':'0';
    rows.sort(function(a,b){
      var x=a.cells[col].dataset.v||a.cells[col].textContent, y=b.cells[col].dataset.v||b.cells[col].textContent;
      var nx=parseFloat(x), ny=parseFloat(y);
      var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
      return asc?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});
  });
});
"#;

/// The company's monthly review; a refusal (another company's, a role that
/// reads no fleet) at its status, in the page frame.
pub async fn review_page(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> Response {
    let now = state.now();
    let lang = s.lang;
    let tz = state.settings.time_zone;
    let shown: AppResult<Markup> = async {
        authorize(&s.actor, Action::ReadFleet, &Target::company(company))?;
        let month = match q.month {
            Some(m) => m,
            None => crate::fleet::local_periods(now, tz).1,
        };
        let months = last_twelve(&month)?;
        let sheet = act::review_sheet(&state, &s.actor, company, &month, &months).await?;
        let act::ReviewSheet { review: r, fleet, trend, products: names, refuels } = sheet;
        let mut details = Vec::with_capacity(r.anomalies.len());
        for (a, refuel) in r.anomalies.iter().zip(&refuels) {
            details.push(anomaly_detail(refuel.as_ref(), lang, tz, a, &r.vehicles, &fleet, &names)?);
        }
        let prev = months.get(10).cloned().unwrap_or_default();
        let next = allocation::parse_month(&month)?
            .checked_add_months(Months::new(1))
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_default();
        Ok(html! {
            h1 { (t(lang, "fuel_review")) " " (month) }
            p.noprint {
                a href={"?month=" (prev)} { "← " (prev) } " · "
                a href={"?month=" (next)} { (next) " →" } " · "
                a href={"/api/v1/fleet/" (company) "/reports/monthly.csv?month=" (month)} { "CSV" }
            }
            div.panel.grid {
                div { div.k { (t(lang, "total_litres")) } div.big { (r.total_litres) } }
                div { div.k { (t(lang, "total_amount")) } div.big { "¥" (r.total_amount) } }
                div { div.k { (t(lang, "refuels")) } div.big { (r.total_refuels) } }
                div { div.k { (t(lang, "anomalies")) } div.big #anomaly-count { (r.anomalies.iter().filter(|a| !a.acknowledged).count()) } }
            }
            div.panel {
                h2 { (t(lang, "litres_per_vehicle")) }
                (bar_chart(lang, &r.vehicles))
            }
            div.panel {
                h2 { (t(lang, "vehicles_sortable")) }
                table.sortable #vehicles {
                    thead { tr {
                        th { (t(lang, "plate")) } th.num { (t(lang, "litres")) } th.num { (t(lang, "amount")) }
                        th.num { (t(lang, "refuels")) } th.num { (t(lang, "distance_km")) } th.num { (t(lang, "l_per_100km")) }
                        th.num { (t(lang, "vs_baseline")) } th.num { (t(lang, "allocation_used")) }
                        th { (t(lang, "twelve_months")) }
                    } }
                    tbody {
                        @for l in &r.vehicles {
                            @let id = fleet.iter().find(|v| v.plate == l.plate).map(|v| v.id).unwrap_or(0);
                            @let points: Vec<i64> = months.iter().map(|m| trend.get(&(id, m.clone())).map_or(0, |x: &Litres| x.cl())).collect();
                            tr {
                                td.data { (l.plate) }
                                td.num data-v=(l.litres.cl()) { (l.litres) }
                                td.num data-v=(l.amount.fen()) { (l.amount) }
                                td.num { (l.refuels) }
                                td.num { (l.distance_km.map(|d| d.to_string()).unwrap_or_default()) }
                                td.num { (l.l_per_100km.clone().unwrap_or_default()) }
                                td.num { (l.vs_baseline_percent.clone().unwrap_or_default()) }
                                td.num { (l.allocation_used_percent.clone().unwrap_or_default()) }
                                td { (sparkline(&points)) }
                            }
                        }
                    }
                }
            }
            div.panel {
                h2 { (t(lang, "anomalies")) }
                p.k { (t(lang, "carried_over_rule")) }
                @if r.anomalies.is_empty() { p { (t(lang, "no_anomalies")) } }
                @for (a, detail) in r.anomalies.iter().zip(&details) {
                    div class={ "anomaly " @if a.acknowledged { "done" } @else { "open" } } {
                        @if a.acknowledged { span { "✓ " } } @else { strong.error style="display:inline;padding:0 .3rem" { "!" } " " }
                        strong.data { (a.plate) } " · " span.kind { (word(lang, &format!("anomaly-{}", a.kind.as_str()))) } " · " (a.month)
                        @if let Some(d) = detail { " · " (d) }
                        @if let Some(j) = &a.justification { " — " em.data { (j) } }
                        @if !a.acknowledged && a.kind != review::AnomalyKind::CashRefuel {
                            form.noprint method="post" action={"/fleet/" (company) "/review/ack?month=" (month)} style="margin:.3rem 0 .8rem" {
                                input type="hidden" name="sale_id" value=(a.sale_id);
                                input type="hidden" name="kind" value=(a.kind.as_str());
                                input name="justification" required placeholder=(t(lang, "justification"));
                                " " button.primary type="submit" { (t(lang, "acknowledge")) }
                            }
                        }
                    }
                }
            }
            script { (PreEscaped(SORT_JS)) }
        })
    }
    .await;
    render(lang, &s.actor, t(lang, "fuel_review"), shown)
}

#[derive(Deserialize)]
pub struct AckForm {
    sale_id: i64,
    kind: String,
    justification: String,
}

pub async fn ack(
    State(state): State<App>,
    s: Signed,
    Path(company): Path<i64>,
    Query(q): Query<MonthQuery>,
    Form(f): Form<AckForm>,
) -> Response {
    let ack = Acknowledgement {
        sale_id: f.sale_id,
        kind: f.kind,
        justification: f.justification,
    };
    let done = crate::actions::fleet::acknowledge(&state, &s.actor, company, &ack).await;
    match done {
        Ok(()) => Redirect::to(&format!(
            "/fleet/{company}/review?month={}",
            q.month.unwrap_or_default()
        ))
        .into_response(),
        Err(e) => (
            e.code.status(),
            page(
                s.lang,
                t(s.lang, "fuel_review"),
                Some(&s.actor),
                error_box(s.lang, &e),
            ),
        )
            .into_response(),
    }
}
