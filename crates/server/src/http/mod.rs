//! The HTTP router: health, the bridge API, the operator API, the sandbox page.
//!
//! - [`bridge`] — `/api/v1/bridge/{id}/…`: events in, the action feed, result reports.
//! - [`admin`] — `/api/v1/tasks`, `/api/v1/audit`, `/api/v1/groups`, `/api/v1/rulebook…`.
//! - [`moderation`] — `/api/v1/violations…`, `/api/v1/blacklist…`, `/api/v1/corrections`,
//!   `/api/v1/moderate/check`.
//! - [`schedules`] — `/api/v1/schedules…` (scheduled posts, preview, pause/resume) and
//!   `/api/v1/groups/{connector}/{group}/announcement`.
//! - [`content`] — `/api/v1/content…` (the content library), `/api/v1/faq/stats`,
//!   `/api/v1/faq/test`.
//! - [`signups`], [`lotteries`] — `/api/v1/signups…` (接龙) and `/api/v1/lotteries…` (抽奖).
//! - [`admission`] — `/api/v1/join-requests…` (入群审核) and
//!   `/api/v1/groups/{connector}/{group}/guard` (guarded mode after a join wave).
//! - `referrals`, `counters` — `/api/v1/referrals…` (裂变: codes, campaigns, leaderboards,
//!   fraud flags), `/api/v1/milestones`, `/api/v1/counters…` (custom counters).
//! - [`channels`] — `/api/v1/channels…` (渠道活码, QR codes), `/api/v1/pools…`,
//!   `/api/v1/joins/counts` and the public landing route `/i/{code}`; [`members`] —
//!   `/api/v1/members…` (profiles, tags) and `/api/v1/groups/{connector}/{group}/churn`.
//! - `gate` — `/api/v1/groups/{connector}/{group}/gate…` (the newcomer gate, 入群验证).
//! - [`telegram`] — `/api/v1/telegram/{connector}/invite-links` (named invite links per channel).
//! - [`rulebook`] — `/api/v1/rulebook/schema`, `…/versions/{version}` (body, diff), TOML edits of
//!   one template or group binding (`…/templates/{name}`, `…/groups/{connector}/{group}`).
//! - [`sandbox`] — `/sandbox` and `/api/v1/sandbox/…` (the sandbox engineer's module).
//! - [`access`] — the one layer in front of every route: API tokens, session cookies, roles,
//!   CSRF (see its docs for what is public).
//! - [`openapi`] — `GET /api/openapi.json`: every `/api/v1` route and the error codes.
//! - [`error`] — [`ApiError`]: stable snake_case codes; internals logged, never sent.
//!
//! [`router`] takes an [`AppState`] and returns a plain `axum::Router`, so tests drive it
//! with `tower::ServiceExt::oneshot` and no socket.

pub mod access;
mod admission;
pub mod admin;
pub mod bridge;
pub mod content;
mod counters;
mod gate;
pub mod error;
mod input;
pub(crate) mod channels;
pub mod openapi;
mod lotteries;
pub(crate) mod insight;
pub(crate) mod members;
mod moderation;
pub(crate) mod points;
mod referrals;
pub(crate) mod care;
pub mod sandbox;
pub mod rulebook;
pub mod schedules;
mod signups;
pub mod telegram;
pub mod wecom;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::routing::{delete, get, post, put};
use qunzhu_connectors::HealthReport;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_core::ConnectorId;
use qunzhu_engine::Engine;
use serde_json::{Value, json};
use tokio::sync::watch;

pub use error::ApiError;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// Configured bridges by connector id (their tokens and capabilities).
    pub bridges: Arc<HashMap<ConnectorId, BridgeConfig>>,
    pub sandbox: Arc<SandboxConnector>,
    /// Set to `true` when the server begins shutting down, so long polls answer at once
    /// instead of holding up the graceful stop.
    pub stopping: Arc<watch::Sender<bool>>,
    /// Connectors with a live connection (OneBot), reported by `/healthz`.
    pub health: Arc<Vec<(ConnectorId, Arc<dyn HealthReport>)>>,
    /// Where invite links point (`<public_url>/i/<code>`): the config's `public_url`, else
    /// the listen address; unset, the request's `Host`.
    pub public_url: Option<Arc<str>>,
    /// The configured connectors' types by id (`bridge`, `onebot`, `telegram`…), for the
    /// dashboard's connectors page and platform filter.
    pub connector_kinds: Arc<Vec<(ConnectorId, &'static str)>>,
    /// Dashboard accounts, sessions, API tokens and the login limit.
    pub auth: Arc<crate::accounts::Auth>,
}

impl AppState {
    pub fn new(
        engine: Engine,
        bridges: impl IntoIterator<Item = BridgeConfig>,
        sandbox: Arc<SandboxConnector>,
    ) -> Self {
        let bridges = bridges.into_iter().map(|b| (b.connector_id(), b)).collect();
        let auth = Arc::new(crate::accounts::Auth::new(engine.store().clone(), engine.clock().clone()));
        Self {
            auth,
            engine,
            bridges: Arc::new(bridges),
            sandbox,
            stopping: Arc::new(watch::channel(false).0),
            health: Arc::new(Vec::new()),
            public_url: None,
            connector_kinds: Arc::new(Vec::new()),
        }
    }

    /// Sets the base of invite links (trailing `/` dropped).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(Arc::from(url.trim().trim_end_matches('/')));
        self
    }

    /// Adds connectors whose connection state `/healthz` reports.
    pub fn with_health(mut self, reports: Vec<(ConnectorId, Arc<dyn HealthReport>)>) -> Self {
        self.health = Arc::new(reports);
        self
    }

    /// Records the configured connectors' types.
    pub fn with_connector_kinds(mut self, kinds: Vec<(ConnectorId, &'static str)>) -> Self {
        self.connector_kinds = Arc::new(kinds);
        self
    }

    /// Each live connection's state, as `/healthz` reports it.
    pub fn connector_health(&self) -> serde_json::Map<String, Value> {
        self.health.iter().map(|(id, report)| (id.to_string(), report.health())).collect()
    }

    /// Tells waiting long polls to answer now (called when shutdown begins).
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
        self.sandbox.begin_shutdown();
    }
}

impl FromRef<AppState> for sandbox::SandboxState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            engine: state.engine.clone(),
            sandbox: state.sandbox.clone(),
        }
    }
}

/// Largest content-library request: a 2 MiB inline image, base64-encoded, with room to spare.
const CONTENT_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The whole HTTP surface, behind the [`access`] layer.
pub fn router(state: AppState) -> Router {
    protect(state.clone(), routes(state))
}

/// Puts `app` (the routes of [`routes`] plus any merged later, e.g. connectors' webhooks)
/// behind the [`access`] layer.
pub fn protect(state: AppState, app: Router) -> Router {
    app.layer(axum::middleware::from_fn_with_state(state, access::guard))
}

/// Every route, without the [`access`] layer (see [`router`]).
pub fn routes(state: AppState) -> Router {
    let bridge_routes = Router::new()
        .route("/api/v1/bridge/{id}/events", post(bridge::post_events))
        .route("/api/v1/bridge/{id}/actions", get(bridge::get_actions))
        .route(
            "/api/v1/bridge/{id}/actions/{action_id}/result",
            post(bridge::post_result),
        )
        .layer(DefaultBodyLimit::max(bridge::MAX_EVENTS_BODY_BYTES));
    let admin_routes = Router::new()
        .route("/api/v1/tasks", get(admin::list_tasks))
        .route("/api/v1/tasks/{id}/status", post(admin::set_task_status))
        .route("/api/v1/tasks/{id}/assign", post(admin::assign_task))
        .route("/api/v1/audit", get(admin::list_audit))
        .route("/api/v1/groups", get(admin::list_groups))
        .route(
            "/api/v1/rulebook",
            get(admin::get_rulebook).put(admin::put_rulebook),
        )
        .route("/api/v1/rulebook/versions", get(admin::list_versions))
        .route("/api/v1/rulebook/rollback/{version}", post(admin::rollback));
    let moderation_routes = Router::new()
        .route("/api/v1/violations", get(moderation::list_violations))
        .route("/api/v1/violations/{id}", get(moderation::get_violation))
        .route(
            "/api/v1/violations/{id}/undo",
            post(moderation::undo_violation),
        )
        .route(
            "/api/v1/violations/{id}/false-positive",
            post(moderation::false_positive),
        )
        .route(
            "/api/v1/blacklist",
            get(moderation::list_blacklist).post(moderation::add_to_blacklist),
        )
        .route(
            "/api/v1/blacklist/{connector}/{member}",
            delete(moderation::remove_from_blacklist),
        )
        .route("/api/v1/corrections", post(moderation::add_correction))
        .route("/api/v1/moderate/check", post(moderation::check));
    let schedule_routes = Router::new()
        .route("/api/v1/schedules", get(schedules::list).post(schedules::create))
        .route(
            "/api/v1/schedules/{id}",
            get(schedules::get).put(schedules::update).delete(schedules::delete),
        )
        .route("/api/v1/schedules/{id}/pause", post(schedules::pause))
        .route("/api/v1/schedules/{id}/resume", post(schedules::resume))
        .route("/api/v1/schedules/{id}/preview", get(schedules::preview))
        .route(
            "/api/v1/groups/{connector}/{group}/announcement",
            post(schedules::set_announcement),
        );
    let points_routes = Router::new()
        .route("/api/v1/points/{connector}/leaderboard", get(points::leaderboard))
        .route("/api/v1/points/{connector}/{member}", get(points::member_points).post(points::grant))
        .route("/api/v1/check-ins/{connector}/{group}", get(points::check_ins))
        .route("/api/v1/shop/items", get(points::items))
        .route("/api/v1/shop/items/{id}", put(points::put_item))
        .route("/api/v1/shop/redeem", post(points::redeem_for))
        .route("/api/v1/shop/redemptions", get(points::redemptions))
        .route("/api/v1/shop/redemptions/{id}/fulfil", post(points::fulfil))
        .route("/api/v1/shop/redemptions/{id}/cancel", post(points::cancel));
    let content_routes = Router::new()
        .route("/api/v1/content", get(content::list).post(content::create))
        .route(
            "/api/v1/content/{id}",
            get(content::get)
                .put(content::update)
                .delete(content::delete),
        )
        .route("/api/v1/faq/stats", get(content::faq_stats))
        .route("/api/v1/faq/test", post(content::faq_test))
        .layer(DefaultBodyLimit::max(CONTENT_BODY_BYTES));
    let giveaway_routes = Router::new()
        .route("/api/v1/signups", get(signups::list).post(signups::start))
        .route("/api/v1/signups/{id}", get(signups::get))
        .route("/api/v1/signups/{id}/close", post(signups::close))
        .route("/api/v1/signups/{id}/entries.csv", get(signups::csv))
        .route("/api/v1/lotteries", get(lotteries::list).post(lotteries::create))
        .route("/api/v1/lotteries/{id}", get(lotteries::get))
        .route("/api/v1/lotteries/{id}/draw", post(lotteries::draw))
        .route("/api/v1/lotteries/{id}/verify", get(lotteries::verify));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi::openapi))
        .merge(bridge_routes)
        .merge(admin_routes)
        .merge(moderation_routes)
        .merge(schedule_routes)
        .merge(points_routes)
        .merge(content_routes)
        .merge(giveaway_routes)
        .merge(
            Router::new()
                .route("/api/v1/join-requests", get(admission::list))
                .route("/api/v1/join-requests/{id}/approve", post(admission::approve))
                .route("/api/v1/join-requests/{id}/reject", post(admission::reject))
                .route("/api/v1/groups/{connector}/{group}/guard", get(admission::get_guard).delete(admission::end_guard)),
        )
        .merge(referrals::routes().merge(counters::routes()))
        .merge(channels::routes())
        .merge(members::routes())
        .merge(gate::routes())
        .merge(insight::routes())
        .merge(care::routes())
        .merge(rulebook::routes())
        .merge(sandbox::router::<AppState>())
        .merge(crate::dash::routes())
        .fallback(not_found)
        .with_state(state)
}

/// `GET /healthz`: the process is up (200, `status: ok`) whatever its platform connections
/// do; each live connection's state is in `connectors`.
async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "connectors": state.connector_health()}))
}

async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint")
}

#[cfg(test)]
mod tests;
