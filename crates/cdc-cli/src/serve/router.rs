//! The routes and their handlers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use cdc::core::secret::Secret;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use super::{Live, STATUS_TIMEOUT, auth, health, metrics};
use crate::run::{report, status_file};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The run.
    pub live: Arc<Live>,
    /// The bearer token, when one is required.
    pub token: Option<Arc<Secret>>,
    /// Renders the Prometheus text.
    pub prometheus: PrometheusHandle,
}

/// Every route, behind the token check.
pub fn router(state: AppState) -> Router {
    let token = state.token.clone();
    Router::new()
        .route("/metrics", get(scrape))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/status", get(status))
        .with_state(state)
        .layer(middleware::from_fn_with_state(token, auth::require))
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({"live": true}))
}

async fn ready(State(s): State<AppState>) -> Response {
    let body = match (s.live.sources.get(), s.live.stopping.load(Ordering::SeqCst)) {
        (_, true) => health::not_serving("stopping"),
        (None, false) => health::not_serving("starting: the sources are connecting"),
        (Some(sources), false) => {
            let mut statuses = Vec::with_capacity(sources.len());
            for r in sources.iter() {
                statuses.push(report::source_status(r, STATUS_TIMEOUT).await);
            }
            let (ok, body) = health::readiness(&statuses);
            if ok {
                return Json(body).into_response();
            }
            body
        }
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

async fn status(State(s): State<AppState>) -> Json<serde_json::Value> {
    let live = &s.live;
    let file = match live.sources.get() {
        Some(sources) => {
            let addr = live.addr.to_string();
            let running = !live.stopping.load(Ordering::SeqCst);
            Some(report::collect(&live.cfg, sources, running, Some(&addr), STATUS_TIMEOUT).await)
        }
        None => None,
    };
    Json(status_file::document(
        &live.cfg,
        file.as_ref(),
        &live.status_path,
    ))
}

async fn scrape(State(s): State<AppState>) -> Response {
    if let Some(sources) = s.live.sources.get() {
        for r in sources.iter() {
            let st = report::source_status(r, STATUS_TIMEOUT).await;
            metrics::scrape::source(&st, &r.stats().snapshot_rows());
        }
    }
    s.prometheus.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.prometheus.render(),
    )
        .into_response()
}
