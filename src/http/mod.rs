//! HTTP: the JSON API under `/api/v1`, the counter pages under `/`, health,
//! metrics and the OpenAPI document.

pub mod api;
pub mod counter;
pub mod csrf;
pub mod extract;
pub mod openapi;
pub mod tls;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::actions::{App, jobs};
use crate::db::Db;
use crate::error::{AppError, Code};
use crate::time::Clock;

/// The largest request body accepted; every API body is far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The process-wide Prometheus recorder (one per process, however many
/// servers a test starts).
fn metrics_handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Installs the process's Prometheus recorder now, for work that records
/// metrics before the router is built (the scheduled backups, which take
/// their first backup at start).
pub fn install_metrics() {
    let _ = metrics_handle();
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "path" => path)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// Runs each request on a task of its own, so a handler always runs to its
/// end even if the client hangs up halfway: a money movement is either
/// answered or rolled back by the handler itself, never abandoned between
/// two statements (which SQLite's shared commit relies on, see
/// `db::Group`). The client that went away retries with its idempotency
/// key and is answered from the stored response.
async fn run_to_completion(req: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let handled = tokio::spawn(next.run(req).in_current_span()).await;
    match handled {
        Ok(resp) => resp,
        // Handed on so the panic layer answers it as for any handler.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => {
            AppError::new(Code::DatabaseUnavailable, "the service is shutting down").into_response()
        }
    }
}

async fn healthz(State(state): State<App>) -> Response {
    match state.db.ping().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(_) => {
            AppError::new(Code::DatabaseUnavailable, "the database does not answer").into_response()
        }
    }
}

/// The Prometheus text; with a metrics token set, only for its bearer.
async fn metrics_text(State(state): State<App>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.settings.metrics_token {
        let offered = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same: bool = subtle::ConstantTimeEq::ct_eq(offered.as_bytes(), token.as_bytes()).into();
        if !same {
            return AppError::new(
                Code::Unauthorized,
                "the metrics need the metrics token (Authorization: Bearer …)",
            )
            .into_response();
        }
    }
    crate::db::backup::publish_age(state.settings.clock.now_us());
    match metrics_handle() {
        Some(h) => h.render().into_response(),
        None => (StatusCode::OK, "").into_response(),
    }
}

async fn not_found() -> AppError {
    AppError::new(Code::NotFound, "no such route")
}

/// A route asked with a method it does not take: a problem document like
/// every other refusal, not an empty 405.
async fn method_not_allowed() -> AppError {
    AppError::new(
        Code::MethodNotAllowed,
        "this route does not take that method",
    )
}

/// A panic in a handler is answered as a problem document, never a dropped
/// connection; the transaction it held was rolled back when it unwound.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    AppError::new(Code::Internal, "internal error; nothing was changed").into_response()
}

/// What `Strict-Transport-Security` tells a browser that reached the
/// service over HTTPS: for a year, never try this host over plain HTTP,
/// so a session cookie cannot be lured onto an unencrypted connection.
pub const HSTS: &str = "max-age=31536000";

pub fn router(state: App) -> Router {
    let _ = metrics_handle();
    let request_id = HeaderName::from_static("x-request-id");
    let tls = state.settings.tls;
    let router = Router::new()
        .nest(
            "/api/v1",
            api::routes().method_not_allowed_fallback(method_not_allowed),
        )
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .merge(counter::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state);
    // Outermost, so that every answer carries it, refusals and panics too.
    // Only over TLS: sent over plain HTTP a browser ignores it anyway.
    if tls {
        router.layer(SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static(HSTS),
        ))
    } else {
        router
    }
}

/// Every minute, in the background, the sweep ([`jobs::sweep`]): releases
/// expired holds, so a reservation never outlives its time even on a card
/// nobody touches; purges expired sessions and the idempotency keys past
/// the replay window; drafts the districts' weekly reports when a Sunday has
/// come, and grades the customers when a month has.
pub fn spawn_sweeper(db: Db, settings: std::sync::Arc<crate::config::Settings>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = jobs::sweep(&db, settings.clock.now_us(), &settings).await {
                tracing::warn!(%e, "the background sweep failed");
            }
        }
    });
}

/// Runs [`jobs::draft_due_plans`] every hour from an hour after start (the
/// server runs it once itself before it listens).
pub fn spawn_allocation_scheduler(db: Db, tz: chrono_tz::Tz, clock: Clock) {
    tokio::spawn(async move {
        let hour = Duration::from_secs(3600);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
        loop {
            tick.tick().await;
            jobs::draft_due_plans(&db, tz, clock).await;
        }
    });
}

/// Serves plain HTTP until interrupted (ctrl-c), then finishes the
/// requests under way.
pub async fn serve(listener: tokio::net::TcpListener, state: App) -> anyhow::Result<()> {
    let app = start(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await?;
    Ok(())
}

/// Serves HTTPS with `tls` as [`serve`] serves HTTP: the same routes, peer
/// addresses and graceful shutdown.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    state: App,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt as _;
    let app = start(state);
    // axum gives the peer address (`ConnectInfo<SocketAddr>`) to its own
    // TCP listener and to any listener wrapped by `tap_io`; the tap itself
    // does nothing.
    let listener = tls::TlsListener::new(listener, tls).tap_io(|_| {});
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await?;
    Ok(())
}

/// Starts the background work and makes the service, with each request's
/// peer address for the guessing limits.
fn start(
    state: App,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, std::net::SocketAddr> {
    spawn_sweeper(state.db.clone(), state.settings.clone());
    spawn_allocation_scheduler(
        state.db.clone(),
        state.settings.time_zone,
        state.settings.clock,
    );
    router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()
}

/// The graceful shutdown's signal.
async fn stopped() {
    let _ = tokio::signal::ctrl_c().await;
}
