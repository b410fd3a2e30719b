//! The custom counter API: counts kept outside chat (orders, sign-ups on a website…) that
//! milestones (里程碑) celebrate.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v1/counters/{name}/increment` `{"group","amount"?,"idempotency_key"?,"by"?}` | add `amount` (default 1) to the group's counter; the `growth` rule celebrates a threshold it crosses |
//! | `GET /api/v1/counters?group=` | counters with their values |
//!
//! An increment is an operator command through the engine, so the celebration is decided
//! and committed like any other. With `idempotency_key`, a repeated request changes nothing
//! and answers `duplicate: true` with the current value.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, query, required};
use super::referrals::growth_error;
use super::signups::decided;

/// The routes of this module.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/counters", get(list)).route("/api/v1/counters/{name}/increment", post(increment))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncrementBody {
    group: Option<String>,
    amount: Option<i64>,
    idempotency_key: Option<String>,
    by: Option<String>,
}

/// `POST /api/v1/counters/{name}/increment`
pub async fn increment(
    State(state): State<AppState>,
    Path(name): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: IncrementBody = body(raw)?;
    let group = group_key(required(request.group.as_deref(), "group", "\"qq/123456\"")?, "group")?;
    let by = match request.by.as_deref() {
        Some(by) => actor(Some(by))?,
        None => "operator:api".to_owned(),
    };
    let done = state
        .engine
        .increment_counter(&group, &name, request.amount.unwrap_or(1), request.idempotency_key.as_deref(), &by)
        .await
        .map_err(growth_error)?;
    Ok(Json(json!({
        "group": group.to_string(),
        "name": name,
        "value": done.value,
        "duplicate": done.duplicate,
        "decided": decided(&done.processed),
    })))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    group: Option<String>,
}

/// `GET /api/v1/counters?group=`
pub async fn list(State(state): State<AppState>, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = q.group.as_deref().filter(|g| !g.is_empty()).map(|g| group_key(g, "group")).transpose()?;
    Ok(Json(json!({ "counters": state.engine.store().list_counters(group.as_ref()).await? })))
}
