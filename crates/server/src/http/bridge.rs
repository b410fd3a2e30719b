//! The HTTP bridge endpoints (docs/bridge.md): events in, actions out, results back.
//!
//! Bridge actions are pulled, not pushed: no outbox loop runs for a bridge. An action stays
//! `pending` until the bridge reports its outcome; a reported temporary failure is offered
//! again in the feed once its backoff has passed.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use qunzhu_connectors::bridge::{
    self, ActionFeed, ActionResult, BridgeConfig, EventsResponse, WireAction,
};
use qunzhu_connectors::outbox::OutboxSettings;
use qunzhu_core::store::{ActionStatus, AttemptResult};
use qunzhu_core::{ActionId, ConnectorId, NewAuditEntry};
use serde::{Deserialize, Serialize};
use tracing::{debug, info};

use super::AppState;
use super::error::ApiError;

/// Largest events body accepted (a batch of a few hundred events).
pub const MAX_EVENTS_BODY_BYTES: usize = 1024 * 1024;
/// Longest long poll a bridge may ask for.
pub const MAX_WAIT_SECS: u64 = 60;
/// Most actions in one feed answer.
const MAX_FEED_LIMIT: u32 = 500;
/// How often a waiting long poll looks again even without a wake-up (retries and
/// `not_before` times coming due).
const FEED_RECHECK: Duration = Duration::from_secs(1);

/// Finds the bridge and checks its bearer token.
fn authorize<'s>(
    state: &'s AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<&'s BridgeConfig, ApiError> {
    let Some(config) = state.bridges.get(&ConnectorId::new(id)) else {
        return Err(ApiError::not_found(
            "unknown_connector",
            format!("no bridge connector named `{id}` is configured"),
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if config.token.matches(token) => Ok(config),
        Some(_) => Err(unauthorized("the bearer token is wrong")),
        None => Err(unauthorized(
            "missing `Authorization: Bearer <token>` header",
        )),
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn body_error(rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {MAX_EVENTS_BODY_BYTES} bytes; send smaller batches"),
        )
    } else {
        ApiError::bad_request("invalid_body", rejection.body_text())
    }
}

/// `POST /api/v1/bridge/{id}/events`
pub async fn post_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EventsResponse>, ApiError> {
    let config = authorize(&state, &id, &headers)?;
    let body = body.map_err(|r| body_error(&r))?;
    let connector = config.connector_id();
    let events = bridge::decode_event(&connector, &body).map_err(|e| {
        debug!(connector = %connector, field = %e.field, error = %e.message, "bridge event rejected");
        let error = ApiError::bad_request("invalid_event", e.to_string());
        if e.field.is_empty() { error } else { error.with_field(e.field) }
    })?;
    let mut actions = Vec::new();
    for event in events {
        let event_id = event.origin.event_id.clone();
        let processed = state.engine.submit(event).await?;
        if processed.duplicate {
            debug!(connector = %connector, event = %event_id, "redelivered event ignored");
            continue;
        }
        actions.extend(processed.actions.iter().map(WireAction::from_action));
        actions.extend(processed.tasks.iter().map(WireAction::from_task));
    }
    info!(connector = %connector, actions = actions.len(), "bridge events processed");
    Ok(Json(EventsResponse { actions }))
}

#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    /// The cursor from the previous answer; absent or empty for the beginning.
    after: Option<String>,
    /// Seconds to wait for something new (0 answers at once).
    wait: Option<u64>,
    limit: Option<u32>,
}

/// `GET /api/v1/bridge/{id}/actions?after=<cursor>&wait=<secs>`
pub async fn get_actions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<ActionFeed>, ApiError> {
    let config = authorize(&state, &id, &headers)?;
    let Query(query) = query.map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))?;
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "`after` must be a cursor returned by this endpoint",
                )
                .with_field("after")
            })?,
    };
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_FEED_LIMIT);
    let connector = config.connector_id();
    let store = state.engine.store().clone();
    let clock = state.engine.clock().clone();
    let mut changes = state.engine.outbox_changes();
    let mut stopping = state.stopping.subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Seen before reading, so a commit landing meanwhile wakes the wait below.
        changes.borrow_and_update();
        let now = clock.now();
        let fresh = store.actions_after(&connector, after, now, limit).await?;
        // Temporary failures the bridge reported, due again: offered once more.
        let retries: Vec<_> = store
            .due_actions(&connector, now, limit)
            .await?
            .into_iter()
            .filter(|e| e.seq <= after && e.attempts > 0)
            .collect();
        let cursor = fresh.last().map_or(after, |e| e.seq);
        let timed_out = tokio::time::Instant::now() >= deadline || *stopping.borrow();
        if !fresh.is_empty() || !retries.is_empty() || timed_out {
            let actions = retries
                .iter()
                .chain(&fresh)
                .map(WireAction::from_entry)
                .collect();
            return Ok(Json(ActionFeed {
                actions,
                cursor: cursor.to_string(),
            }));
        }
        let recheck = (tokio::time::Instant::now() + FEED_RECHECK).min(deadline);
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    tokio::time::sleep_until(recheck).await;
                }
            }
            _ = tokio::time::sleep_until(recheck) => {}
            // Answer at once when the server stops, so graceful shutdown is not held up.
            _ = stopping.changed() => {}
        }
    }
}

/// The answer to a result report.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResultAnswer {
    pub id: String,
    pub status: ActionStatus,
    pub attempts: u32,
}

/// `POST /api/v1/bridge/{id}/actions/{action_id}/result`
pub async fn post_result(
    State(state): State<AppState>,
    Path((id, action_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ResultAnswer>, ApiError> {
    let config = authorize(&state, &id, &headers)?;
    let body = body.map_err(|r| body_error(&r))?;
    let report: ActionResult =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| {
                let path = e.path().to_string();
                let error = ApiError::bad_request("invalid_result", e.inner().to_string());
                if path == "." {
                    error
                } else {
                    error.with_field(path)
                }
            })?;
    let connector = config.connector_id();
    let action_id = ActionId::new(action_id);
    let store = state.engine.store();
    let unknown = || {
        ApiError::not_found(
            "unknown_action",
            format!("bridge `{connector}` has no action `{action_id}`"),
        )
    };
    let entry = store.get_action(&action_id).await?.ok_or_else(unknown)?;
    if entry.action.group.connector != connector {
        return Err(unknown());
    }
    if matches!(entry.status, ActionStatus::Delivered | ActionStatus::Failed) {
        // A repeated report (the bridge retried its request): the first outcome stands.
        return Ok(Json(ResultAnswer {
            id: action_id.0,
            status: entry.status,
            attempts: entry.attempts,
        }));
    }
    let now = state.engine.clock().now();
    let settings = OutboxSettings::default();
    let failures = entry.attempts + 1;
    let error_text = report
        .error
        .clone()
        .unwrap_or_else(|| "unspecified error".into());
    let (result, summary) = if report.ok {
        (
            AttemptResult::Delivered,
            format!("桥接端报告已执行：{}", entry.action.kind.name()),
        )
    } else if report.retry && failures < settings.max_attempts {
        let mut delay = settings.backoff(failures);
        if let Some(secs) = report.retry_after_secs {
            delay = delay.max(Duration::from_secs(secs.min(86_400)));
        }
        let next_attempt_at =
            now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        let summary = format!(
            "桥接端报告第 {failures} 次执行失败，{} 秒后重试：{}（{error_text}）",
            delay.as_secs(),
            entry.action.kind.name()
        );
        (
            AttemptResult::Retry {
                next_attempt_at,
                error: error_text.clone(),
            },
            summary,
        )
    } else {
        (
            AttemptResult::Failed {
                error: error_text.clone(),
            },
            format!(
                "桥接端报告执行失败，不再重试：{}（{error_text}）",
                entry.action.kind.name()
            ),
        )
    };
    let audit = NewAuditEntry {
        time: now,
        actor: format!("bridge:{connector}"),
        kind: "action.result".into(),
        group: Some(entry.action.group.clone()),
        event_id: entry.action.cause.clone(),
        action_id: Some(action_id.clone()),
        rule: Some(entry.action.rule.clone()),
        summary,
        detail: None,
    };
    let updated = store
        .record_attempt(&action_id, &result, now, Some(&audit))
        .await?;
    info!(connector = %connector, action = %action_id, status = updated.status.name(), "bridge reported an action result");
    Ok(Json(ResultAnswer {
        id: action_id.0,
        status: updated.status,
        attempts: updated.attempts,
    }))
}
