//! The moderation API: violations (explain, undo, mark a false positive), the community
//! blacklist, classifier corrections, and a dry check of any text.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/violations?group=&status=&limit=` | violations, newest first, with their checks |
//! | `GET /api/v1/violations/{id}` | one violation |
//! | `POST /api/v1/violations/{id}/undo` `{"by"}` | reverse its penalty (unmute, unban) |
//! | `POST /api/v1/violations/{id}/false-positive` `{"by"}` | undo, and the classifier learns the text is fine |
//! | `GET /api/v1/blacklist?limit=` | the blacklist, newest first |
//! | `POST /api/v1/blacklist` `{"connector","member","name"?,"reason","by"}` | blacklist, banning them where they are |
//! | `DELETE /api/v1/blacklist/{connector}/{member}?by=` | lift it (unban) |
//! | `POST /api/v1/corrections` `{"text","spam","by"}` | teach the classifier |
//! | `POST /api/v1/moderate/check` `{"text","group"?}` | the verdict a text would get, acting on nothing |
//!
//! `by` names who did it in the audit log; a bare name is recorded as `operator:<name>`.
//! Bad input answers `400 invalid_request` with the `field`; an unknown violation or
//! blacklist entry `404 not_found`; undoing twice `409 conflict`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use qunzhu_core::moderation::{Violation, ViolationStatus};
use qunzhu_core::{ConnectorId, GroupKey, MemberId};
use qunzhu_engine::operations::Outcome;
use qunzhu_engine::rulebook::DEFAULT_TEMPLATE;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, engine_error, group_key, invalid, limit, query, required};
use crate::moderate_cli::assess_text;

/// Longest text `moderate/check` and corrections accept, in characters.
const MAX_TEXT_CHARS: usize = 10_000;

fn bounded_text(text: Option<&str>) -> Result<&str, ApiError> {
    let text = required(text, "text", "\"加微信 abc12345\"")?;
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(
            "text",
            format!("the text is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(text)
}

/// A violation with its checks as JSON (stored as text).
fn violation_json(violation: &Violation) -> Value {
    let mut value = json!(violation);
    let checks: Value = serde_json::from_str(&violation.checks).unwrap_or_else(|_| json!([]));
    value["checks"] = checks;
    value
}

fn outcome_json(outcome: &Outcome) -> Value {
    let mut value = json!({ "actions": outcome.actions, "tasks": outcome.tasks });
    if let Some(violation) = &outcome.violation {
        value["violation"] = violation_json(violation);
    }
    value
}

#[derive(Debug, Deserialize)]
pub struct ViolationsQuery {
    /// `connector/group`
    group: Option<String>,
    /// `active`, `undone`, `false_positive`
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/violations?group=connector/group&status=active&limit=`
pub async fn list_violations(
    State(state): State<AppState>,
    q: Result<Query<ViolationsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = q
        .group
        .as_deref()
        .filter(|g| !g.is_empty())
        .map(|g| group_key(g, "group"))
        .transpose()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(ViolationStatus::from_name(name).ok_or_else(|| {
            invalid(
                "status",
                format!("unknown status `{name}`; one of: active, undone, false_positive"),
            )
        })?),
    };
    let violations = state
        .engine
        .store()
        .list_violations(group.as_ref(), status, limit(q.limit))
        .await?;
    let violations: Vec<Value> = violations.iter().map(violation_json).collect();
    Ok(Json(json!({ "violations": violations })))
}

/// `GET /api/v1/violations/{id}`
pub async fn get_violation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let violation = state
        .engine
        .store()
        .get_violation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("not_found", format!("no violation `{id}`")))?;
    Ok(Json(json!({ "violation": violation_json(&violation) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByBody {
    by: Option<String>,
}

/// `POST /api/v1/violations/{id}/undo` `{"by":"operator:alice"}`
pub async fn undo_violation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    undo(state, &id, raw, false).await
}

/// `POST /api/v1/violations/{id}/false-positive` `{"by":"operator:alice"}`
pub async fn false_positive(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    undo(state, &id, raw, true).await
}

async fn undo(
    state: AppState,
    id: &str,
    raw: Result<Json<Value>, JsonRejection>,
    false_positive: bool,
) -> Result<Json<Value>, ApiError> {
    let request: ByBody = body(raw)?;
    let by = actor(request.by.as_deref())?;
    let outcome = state
        .engine
        .undo_violation(id, &by, false_positive)
        .await
        .map_err(engine_error)?;
    Ok(Json(outcome_json(&outcome)))
}

#[derive(Debug, Deserialize)]
pub struct BlacklistQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/blacklist?limit=`
pub async fn list_blacklist(
    State(state): State<AppState>,
    q: Result<Query<BlacklistQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let entries = state.engine.store().list_blacklist(limit(q.limit)).await?;
    Ok(Json(json!({ "blacklist": entries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistBody {
    connector: Option<String>,
    member: Option<String>,
    name: Option<String>,
    reason: Option<String>,
    by: Option<String>,
}

/// `POST /api/v1/blacklist` `{"connector","member","name"?,"reason","by"}` → the entry and
/// the bans (or staff tasks) in every group of the connector where the member is.
pub async fn add_to_blacklist(
    State(state): State<AppState>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: BlacklistBody = body(raw)?;
    let connector = ConnectorId::new(required(
        request.connector.as_deref(),
        "connector",
        "\"qq\"",
    )?);
    let member = MemberId::new(required(request.member.as_deref(), "member", "\"u123\"")?);
    let reason = required(request.reason.as_deref(), "reason", "\"广告\"")?;
    let by = actor(request.by.as_deref())?;
    if state.engine.capabilities(&connector).is_none() {
        return Err(invalid(
            "connector",
            format!("no connector named `{connector}` is configured"),
        ));
    }
    let name = request
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let outcome = state
        .engine
        .blacklist_add(&connector, &member, name, reason, &by)
        .await
        .map_err(engine_error)?;
    let entry = state
        .engine
        .store()
        .blacklisted(&connector, &member)
        .await?;
    let mut value = outcome_json(&outcome);
    value["entry"] = json!(entry);
    Ok(Json(value))
}

#[derive(Debug, Deserialize)]
pub struct ByQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/blacklist/{connector}/{member}?by=` → the unbans.
pub async fn remove_from_blacklist(
    State(state): State<AppState>,
    Path((connector, member)): Path<(String, String)>,
    q: Result<Query<ByQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let by = actor(q.by.as_deref())?;
    let outcome = state
        .engine
        .blacklist_remove(&ConnectorId::new(connector), &MemberId::new(member), &by)
        .await
        .map_err(engine_error)?;
    Ok(Json(outcome_json(&outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    text: Option<String>,
    spam: Option<bool>,
    by: Option<String>,
}

/// `POST /api/v1/corrections` `{"text","spam":true|false,"by"}` → the text's new spam score.
pub async fn add_correction(
    State(state): State<AppState>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: CorrectionBody = body(raw)?;
    let text = bounded_text(request.text.as_deref())?;
    let spam = request.spam.ok_or_else(|| {
        invalid(
            "spam",
            "`spam` is required: true (this is spam) or false (it is not)",
        )
    })?;
    let by = actor(request.by.as_deref())?;
    state
        .engine
        .correct_classifier(text, spam, &by)
        .await
        .map_err(engine_error)?;
    Ok(Json(
        json!({ "text": text, "spam": spam, "by": by, "spam_score": state.engine.spam_score(text) }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    text: Option<String>,
    /// `connector/group`: use that group's settings (else the default template's).
    group: Option<String>,
}

/// `POST /api/v1/moderate/check` `{"text","group"?}` → `{flagged, category, score, checks,
/// spam_score, template}` under the group's settings, with the classifier as corrected so
/// far. No behaviour context (flood, wave, newcomer); nothing is recorded or done.
pub async fn check(
    State(state): State<AppState>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: CheckBody = body(raw)?;
    let text = bounded_text(request.text.as_deref())?;
    let rulebook = state.engine.rulebook();
    let resolved = match request
        .group
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        Some(group) => rulebook.settings_for(&group_key(group, "group")?),
        None => match rulebook.template_settings(DEFAULT_TEMPLATE) {
            Some(resolved) => resolved,
            None => rulebook.settings_for(&GroupKey::new("-", "-")),
        },
    };
    let (assessment, spam_score) = assess_text(&resolved, text, |t| state.engine.spam_score(t));
    let mut value = json!(assessment);
    value["spam_score"] = json!(spam_score);
    value["template"] = json!(resolved.template);
    value["enabled"] = json!(resolved.settings.moderation.enabled);
    Ok(Json(value))
}
