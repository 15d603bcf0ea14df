//! The fleet manager's monthly review page: a sortable table of vehicles, a
//! litres-per-vehicle bar chart and a 12-month trend per vehicle drawn as
//! server-side SVG, and the anomalies highlighted with a form to answer each.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Months;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::{Signed, error_box, page, w};
use crate::actions::App;
use crate::actions::fleet::Acknowledgement;
use crate::auth::policy::{Action, Target, authorize};
use crate::error::{AppError, AppResult, Code};
use crate::fleet::{allocation, review, usage, vehicles};
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

fn bar_chart(lines: &[review::VehicleLine]) -> Markup {
    let max = lines
        .iter()
        .map(|l| l.litres.cl())
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 22;
    let height = row_h * lines.len().max(1) + 10;
    html! {
        svg #litres-chart width="100%" height=(height) viewBox={"0 0 600 " (height)} role="img" aria-label="litres per vehicle" {
            @for (i, l) in lines.iter().enumerate() {
                @let y = i * row_h + 5;
                @let width = l.litres.cl() * 440 / max;
                text x="0" y=(y + 15) font-size="13" { (l.plate) }
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
        let mut conn = state.db.pool().acquire().await?;
        let r = review::monthly(&mut conn, company, &month, tz, &review::Thresholds::default()).await?;
        let fleet = vehicles::list(&mut conn, company).await?;
        let trend = usage::monthly_litres(&mut conn, company, &months).await?;
        let prev = months.get(10).cloned().unwrap_or_default();
        let next = allocation::parse_month(&month)?
            .checked_add_months(Months::new(1))
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_default();
        Ok(page(lang, w(lang, "月度用油分析", "Monthly fuel review"), Some(&s.actor), html! {
            h1 { (w(lang, "月度用油分析", "Monthly fuel review")) " " (month) }
            p.noprint {
                a href={"?month=" (prev)} { "← " (prev) } " · "
                a href={"?month=" (next)} { (next) " →" } " · "
                a href={"/api/v1/fleet/" (company) "/reports/monthly.csv?month=" (month)} { "CSV" }
            }
            div.panel.grid {
                div { div.k { (w(lang, "升数合计", "Total litres")) } div.big { (r.total_litres) } }
                div { div.k { (w(lang, "金额合计", "Total amount")) } div.big { "¥" (r.total_amount) } }
                div { div.k { (w(lang, "加油次数", "Refuels")) } div.big { (r.total_refuels) } }
                div { div.k { (w(lang, "异常", "Anomalies")) } div.big #anomaly-count { (r.anomalies.iter().filter(|a| !a.acknowledged).count()) } }
            }
            div.panel {
                h2 { (w(lang, "各车辆升数", "Litres per vehicle")) }
                (bar_chart(&r.vehicles))
            }
            div.panel {
                h2 { (w(lang, "车辆明细（点击表头排序）", "Vehicles (click a header to sort)")) }
                table.sortable #vehicles {
                    thead { tr {
                        th { (w(lang, "车牌", "Plate")) } th.num { (w(lang, "升", "Litres")) } th.num { (w(lang, "金额", "Amount")) }
                        th.num { (w(lang, "次数", "Refuels")) } th.num { (w(lang, "里程", "km")) } th.num { "L/100km" }
                        th.num { (w(lang, "较基准%", "vs baseline %")) } th.num { (w(lang, "额度使用%", "Allocation used %")) }
                        th { (w(lang, "近12个月", "12 months")) }
                    } }
                    tbody {
                        @for l in &r.vehicles {
                            @let id = fleet.iter().find(|v| v.plate == l.plate).map(|v| v.id).unwrap_or(0);
                            @let points: Vec<i64> = months.iter().map(|m| trend.get(&(id, m.clone())).map_or(0, |x: &Litres| x.cl())).collect();
                            tr {
                                td { (l.plate) }
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
                h2 { (w(lang, "异常", "Anomalies")) }
                @if r.anomalies.is_empty() { p { (w(lang, "无异常", "None")) } }
                @for a in &r.anomalies {
                    div class={ "anomaly " @if a.acknowledged { "done" } @else { "open" } } {
                        @if a.acknowledged { span { "✓ " } } @else { strong.error style="display:inline;padding:0 .3rem" { "!" } " " }
                        strong { (a.plate) } " · " (a.kind.as_str()) " · " (a.month) " · " (a.reason)
                        @if let Some(j) = &a.justification { " — " em { (j) } }
                        @if !a.acknowledged && a.kind != review::AnomalyKind::CashRefuel {
                            form.noprint method="post" action={"/fleet/" (company) "/review/ack?month=" (month)} style="margin:.3rem 0 .8rem" {
                                input type="hidden" name="sale_id" value=(a.sale_id);
                                input type="hidden" name="kind" value=(a.kind.as_str());
                                input name="justification" required placeholder=(w(lang, "说明", "Justification"));
                                " " button.primary type="submit" { (w(lang, "确认", "Acknowledge")) }
                            }
                        }
                    }
                }
            }
            script { (PreEscaped(SORT_JS)) }
        }))
    }
    .await;
    match shown {
        Ok(m) => m.into_response(),
        Err(e) => page(
            lang,
            w(lang, "月度用油分析", "Monthly fuel review"),
            Some(&s.actor),
            error_box(lang, &e),
        )
        .into_response(),
    }
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
                w(s.lang, "月度用油分析", "Monthly fuel review"),
                Some(&s.actor),
                error_box(s.lang, &e),
            ),
        )
            .into_response(),
    }
}
