//! The admission API (入群审核) and guarded mode.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/join-requests?status=&limit=` | join requests and their decisions, most recently changed first (`status`: `pending`, `held`, `approved`, `rejected`) |
//! | `POST /api/v1/join-requests/{id}/approve` `{"group","by"}` | approve a request (held, or left pending) |
//! | `POST /api/v1/join-requests/{id}/reject` `{"group","by","reason"?}` | reject it; `reason` is what the applicant sees |
//! | `GET /api/v1/groups/{connector}/{group}/guard` | the group's guarded mode (after a join wave), `guard: null` when none |
//! | `DELETE /api/v1/groups/{connector}/{group}/guard?by=` | end guarded mode now |
//!
//! `group` is `connector/group` (request ids are the platform's, unique within a group).
//! Bad input answers `400 invalid_request` with the `field`; an unknown request or a group
//! not guarded `404 not_found`; a request already approved or rejected `409 conflict`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use qunzhu_core::GroupKey;
use qunzhu_core::admission::JoinRequestStatus;
use qunzhu_engine::admission::AdmissionError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, invalid, limit, query};

pub(super) fn admission_error(error: AdmissionError) -> ApiError {
    match error {
        AdmissionError::Invalid { field, message } => invalid(field, message),
        AdmissionError::NotFound(what) => ApiError::not_found("not_found", format!("{what} does not exist")),
        AdmissionError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
        AdmissionError::Engine(error) => error.into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/join-requests?status=held&limit=`
pub async fn list(State(state): State<AppState>, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(JoinRequestStatus::from_name(name).ok_or_else(|| {
            invalid("status", format!("unknown status `{name}`; one of: pending, held, approved, rejected"))
        })?),
    };
    let requests = state.engine.store().join_requests(status, limit(q.limit)).await?;
    Ok(Json(json!({ "join_requests": requests })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    group: Option<String>,
    by: Option<String>,
    reason: Option<String>,
}

async fn decide(state: &AppState, id: &str, approve: bool, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let request: DecideBody = body(raw)?;
    let group = group_key(request.group.as_deref().unwrap_or_default().trim(), "group")?;
    let by = actor(request.by.as_deref())?;
    let (record, processed) = state
        .engine
        .decide_join_request(&group, id, approve, &by, request.reason.as_deref())
        .await
        .map_err(admission_error)?;
    Ok(Json(json!({ "join_request": record, "decided": { "actions": processed.actions, "tasks": processed.tasks } })))
}

/// `POST /api/v1/join-requests/{id}/approve` `{"group","by"}`
pub async fn approve(State(state): State<AppState>, Path(id): Path<String>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    decide(&state, &id, true, raw).await
}

/// `POST /api/v1/join-requests/{id}/reject` `{"group","by","reason"?}`
pub async fn reject(State(state): State<AppState>, Path(id): Path<String>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    decide(&state, &id, false, raw).await
}

/// `GET /api/v1/groups/{connector}/{group}/guard`
pub async fn get_guard(State(state): State<AppState>, Path((connector, group)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let guard = state.engine.active_guard(&GroupKey::new(connector, group)).await?;
    Ok(Json(json!({ "guarded": guard.is_some(), "guard": guard })))
}

#[derive(Debug, Deserialize)]
pub struct ByQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/groups/{connector}/{group}/guard?by=alice`
pub async fn end_guard(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<ByQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let by = actor(query(q)?.by.as_deref())?;
    let ended = state.engine.end_guard(&GroupKey::new(connector, group), &by).await.map_err(admission_error)?;
    Ok(Json(json!({ "ended": ended })))
}
