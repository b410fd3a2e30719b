//! The schedules API (定时任务) and setting a group's announcement (群公告).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/schedules` | every schedule, by id |
//! | `POST /api/v1/schedules` `{"by", "paused"?, …definition}` | create one (201) |
//! | `GET /api/v1/schedules/{id}` | one schedule |
//! | `PUT /api/v1/schedules/{id}` `{"by", …definition}` | replace its definition; runs restart from now |
//! | `DELETE /api/v1/schedules/{id}?by=` | delete it |
//! | `POST /api/v1/schedules/{id}/pause` `{"by"}` | stop posting |
//! | `POST /api/v1/schedules/{id}/resume` `{"by"}` | post again from the next run (missed ones are not posted) |
//! | `GET /api/v1/schedules/{id}/preview?count=5` | the next runs in its timezone, and the groups it posts to |
//! | `POST /api/v1/groups/{connector}/{group}/announcement` `{"text","by"}` | set the announcement now (a staff task where the platform cannot) |
//!
//! A definition is `{"name", "when", "timezone"?, "target", "post", "missed"?,
//! "groups_per_minute"?}`:
//! - `when`: `{"type":"cron","cron":"0 8 * * *"}`, `{"type":"once","at":"2026-01-01T00:00"}`
//!   or `{"type":"holidays","holidays":["春节","中秋"],"time":"09:00"}`;
//! - `timezone`: IANA name; left out, the target's template's;
//! - `target`: `{"type":"groups","groups":["qq/123"]}`, `{"type":"template","template":"vip"}`
//!   or `{"type":"connector","connector":"qq"}`;
//! - `post`: `{"kind":"message"|"announcement","text":"{group} 早上好，今天是 {date} {weekday}"}`;
//! - `missed`: `skip` (default) or `catch_up_once`;
//! - `groups_per_minute`: the spread, 20 by default (0: all at once).
//!
//! `by` names who did it in the audit log (a bare name is recorded as `operator:<name>`); the
//! store writes a `schedule.<change>` audit row with every change. A bad definition answers
//! `400 invalid_schedule` with the first bad `field` (e.g. `when.cron`, with croner's message)
//! and every `problems` entry; an unknown schedule `404 not_found`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use qunzhu_core::GroupKey;
use qunzhu_core::schedule::{ScheduleDef, ScheduleId};
use qunzhu_engine::rules::schedule::manage::{ScheduleError, MAX_PREVIEW};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::ApiError;

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message).with_field(field)
}

fn object(body: Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>, ApiError> {
    let Json(value) = body.map_err(|r| ApiError::bad_request("invalid_json", r.body_text()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("invalid_request", "the body must be a JSON object")),
    }
}

/// Who acts, as the audit log records them: `by` is required.
fn actor(by: Option<&Value>) -> Result<String, ApiError> {
    match by.and_then(Value::as_str).map(str::trim) {
        Some(by) if !by.is_empty() => Ok(if by.contains(':') { by.to_owned() } else { format!("operator:{by}") }),
        _ => Err(invalid("invalid_request", "by", "`by` is required, e.g. \"operator:alice\"")),
    }
}

/// The definition in a body (without `by` and `paused`), a wrong type or unknown key
/// named by its path.
fn definition(map: Map<String, Value>) -> Result<ScheduleDef, ApiError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        if field == "." {
            ApiError::bad_request("invalid_schedule", message)
        } else {
            invalid("invalid_schedule", &field, message)
        }
    })
}

fn schedule_id(text: &str) -> Result<ScheduleId, ApiError> {
    text.parse().map(ScheduleId).map_err(|_| ApiError::not_found("not_found", format!("no schedule `{text}`")))
}

fn schedule_error(error: ScheduleError) -> ApiError {
    match error {
        ScheduleError::Invalid(problems) => {
            let mut error = ApiError::invalid_rulebook(&problems);
            error.status = StatusCode::BAD_REQUEST;
            error.code = "invalid_schedule";
            error.message = format!(
                "定时任务有 {} 处问题，未保存 (the schedule has {} problem(s); nothing was saved)",
                problems.len(),
                problems.len()
            );
            error.field = error.problems.first().map(|p| p.path.clone());
            error
        }
        ScheduleError::NotFound(id) => ApiError::not_found("not_found", format!("no schedule #{id}")),
        ScheduleError::Engine(error) => error.into(),
    }
}

/// `GET /api/v1/schedules`
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let schedules = state.engine.store().list_schedules().await?;
    Ok(Json(json!({ "schedules": schedules })))
}

/// `POST /api/v1/schedules` `{"by", "paused"?, …definition}`
pub async fn create(State(state): State<AppState>, body: Result<Json<Value>, JsonRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut map = object(body)?;
    let by = actor(map.remove("by").as_ref())?;
    let paused = match map.remove("paused") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(paused)) => paused,
        Some(_) => return Err(invalid("invalid_schedule", "paused", "`paused` is true or false")),
    };
    let def = definition(map)?;
    let schedule = state.engine.create_schedule(def, paused, &by).await.map_err(schedule_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "schedule": schedule }))))
}

/// `GET /api/v1/schedules/{id}`
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = schedule_id(&id)?;
    let schedule = state.engine.store().get_schedule(id).await?.ok_or_else(|| schedule_error(ScheduleError::NotFound(id)))?;
    Ok(Json(json!({ "schedule": schedule })))
}

/// `PUT /api/v1/schedules/{id}` `{"by", …definition}`
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = schedule_id(&id)?;
    let mut map = object(body)?;
    let by = actor(map.remove("by").as_ref())?;
    if map.contains_key("paused") {
        return Err(invalid("invalid_schedule", "paused", "pause and resume with POST …/pause and …/resume"));
    }
    let def = definition(map)?;
    let schedule = state.engine.update_schedule(id, def, &by).await.map_err(schedule_error)?;
    Ok(Json(json!({ "schedule": schedule })))
}

#[derive(Debug, Deserialize)]
pub struct ByQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/schedules/{id}?by=`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ByQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = schedule_id(&id)?;
    let Query(q) = q.map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))?;
    let by = actor(q.by.map(Value::String).as_ref())?;
    let schedule = state.engine.delete_schedule(id, &by).await.map_err(schedule_error)?;
    Ok(Json(json!({ "deleted": schedule })))
}

/// `POST /api/v1/schedules/{id}/pause` `{"by"}`
pub async fn pause(state: State<AppState>, id: Path<String>, body: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    set_paused(state, id, body, true).await
}

/// `POST /api/v1/schedules/{id}/resume` `{"by"}`
pub async fn resume(state: State<AppState>, id: Path<String>, body: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    set_paused(state, id, body, false).await
}

async fn set_paused(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
    paused: bool,
) -> Result<Json<Value>, ApiError> {
    let id = schedule_id(&id)?;
    let map = object(body)?;
    let by = actor(map.get("by"))?;
    if let Some(key) = map.keys().find(|k| *k != "by") {
        return Err(invalid("invalid_request", key, format!("unknown field `{key}`; only `by` is expected")));
    }
    let schedule = if paused { state.engine.pause_schedule(id, &by).await } else { state.engine.resume_schedule(id, &by).await }
        .map_err(schedule_error)?;
    Ok(Json(json!({ "schedule": schedule })))
}

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    count: Option<usize>,
}

/// `GET /api/v1/schedules/{id}/preview?count=5`
pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<PreviewQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = schedule_id(&id)?;
    let Query(q) = q.map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))?;
    let count = q.count.unwrap_or(5);
    if count == 0 || count > MAX_PREVIEW {
        return Err(invalid("invalid_query", "count", format!("`count` is 1 to {MAX_PREVIEW}")));
    }
    let preview = state.engine.preview_schedule(id, count).await.map_err(schedule_error)?;
    Ok(Json(json!(preview)))
}

/// `POST /api/v1/groups/{connector}/{group}/announcement` `{"text","by"}`
pub async fn set_announcement(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let map = object(body)?;
    let by = actor(map.get("by"))?;
    if let Some(key) = map.keys().find(|k| *k != "by" && *k != "text") {
        return Err(invalid("invalid_request", key, format!("unknown field `{key}`; expected `text` and `by`")));
    }
    let text = map.get("text").and_then(Value::as_str).unwrap_or_default();
    let key = GroupKey::new(connector, group);
    let processed = state.engine.set_announcement(&key, text, &by).await.map_err(|error| match error {
        ScheduleError::Invalid(problems) => {
            let message = problems.first().map_or_else(String::new, |p| p.message.clone());
            invalid("invalid_request", "text", message)
        }
        other => schedule_error(other),
    })?;
    Ok(Json(json!({ "actions": processed.actions, "tasks": processed.tasks })))
}
