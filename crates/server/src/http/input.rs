//! Request input shared by the operator API's handlers: query strings and JSON bodies with
//! the bad field named, limits, required fields, who acts, group keys, and engine errors in
//! the API's words.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use qunzhu_core::{GroupKey, StoreError};
use qunzhu_engine::EngineError;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

pub(super) const DEFAULT_LIMIT: u32 = 100;
pub(super) const MAX_LIMIT: u32 = 1000;

pub(super) fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_request", message).with_field(field)
}

pub(super) fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))
}

/// The body as `T`, a wrong type or unknown field named by its path.
pub(super) fn body<T: DeserializeOwned>(body: Result<Json<Value>, JsonRejection>) -> Result<T, ApiError> {
    let Json(value) = body.map_err(|r| ApiError::bad_request("invalid_json", r.body_text()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        if field == "." {
            ApiError::bad_request("invalid_request", message)
        } else {
            invalid(&field, message)
        }
    })
}

/// A required, non-blank text field.
pub(super) fn required<'a>(value: Option<&'a str>, field: &str, example: &str) -> Result<&'a str, ApiError> {
    match value.map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(invalid(
            field,
            format!("`{field}` is required, e.g. {example}"),
        )),
    }
}

/// Who acts, as the audit log records them.
pub(super) fn actor(by: Option<&str>) -> Result<String, ApiError> {
    let by = required(by, "by", "\"operator:alice\"")?;
    Ok(if by.contains(':') {
        by.to_owned()
    } else {
        format!("operator:{by}")
    })
}

pub(super) fn group_key(text: &str, field: &str) -> Result<GroupKey, ApiError> {
    GroupKey::parse(text)
        .ok_or_else(|| invalid(field, "a group is written `connector/group`, e.g. `qq/g1`"))
}

/// Engine errors in this API's words: unknown → `not_found`, twice → `conflict`.
pub(super) fn engine_error(error: EngineError) -> ApiError {
    match error {
        EngineError::Store(StoreError::NotFound(what)) => {
            ApiError::not_found("not_found", format!("{what} does not exist"))
        }
        EngineError::Store(StoreError::Conflict(message)) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", message)
        }
        other => other.into(),
    }
}

