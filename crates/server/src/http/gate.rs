//! The newcomer gate API (入群验证).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/groups/{connector}/{group}/gate?limit=` | newcomers waiting at the gate (muted until they answer), soonest deadline first |
//! | `POST /api/v1/groups/{connector}/{group}/gate/{member}/pass` `{"by"}` | let a waiting (or timed-out) member through: unmuted, confirmed in the group, marked passed |
//!
//! A member without a gate in the group answers `404 not_found`; one who already passed
//! `409 conflict`; a missing `by` `400 invalid_request`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_core::{GroupKey, MemberId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admission::admission_error;
use super::error::ApiError;
use super::input::{actor, body, limit, query};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups/{connector}/{group}/gate", get(list))
        .route("/api/v1/groups/{connector}/{group}/gate/{member}/pass", post(pass))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/groups/{connector}/{group}/gate?limit=`
async fn list(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let pending = state.engine.gate_pending(&GroupKey::new(connector, group), limit(q.limit)).await?;
    Ok(Json(json!({ "pending": pending })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassBody {
    by: Option<String>,
}

/// `POST /api/v1/groups/{connector}/{group}/gate/{member}/pass` `{"by"}`
async fn pass(
    State(state): State<AppState>,
    Path((connector, group, member)): Path<(String, String, String)>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: PassBody = body(raw)?;
    let by = actor(request.by.as_deref())?;
    let (entry, processed) = state
        .engine
        .pass_gate(&GroupKey::new(connector, group), &MemberId::new(member), &by)
        .await
        .map_err(admission_error)?;
    Ok(Json(json!({ "gate": entry, "decided": { "actions": processed.actions, "tasks": processed.tasks } })))
}
