//! The sign-up list API (接龙).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/signups?group=&status=&limit=` | lists, newest first (`status`: `open`, `closed`) |
//! | `POST /api/v1/signups` `{"group","title","limit"?,"closes_at"?,"by"}` | start one in a group and post it there (201) |
//! | `GET /api/v1/signups/{id}` | one list with its entries (numbered; withdrawn ones unnumbered) |
//! | `POST /api/v1/signups/{id}/close` `{"by"}` | close it now, with the final post |
//! | `GET /api/v1/signups/{id}/entries.csv` | the entries as CSV (UTF-8 with a BOM, for Excel) |
//!
//! `group` is `connector/group`; `closes_at` is RFC 3339 (`2026-06-20T20:00:00+08:00`). `by`
//! names who did it (a bare name is recorded as `operator:<name>`). Bad input answers `400
//! invalid_request` with the `field`; an unknown list `404 not_found`; a second open list in
//! a group, or closing a closed one, `409 conflict`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use qunzhu_core::signup::{Signup, SignupEntry, SignupStatus, numbered};
use qunzhu_engine::Processed;
use qunzhu_engine::giveaways::GiveawayError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, invalid, limit, query};

/// Engine answers in this API's words.
pub(super) fn giveaway_error(error: GiveawayError) -> ApiError {
    match error {
        GiveawayError::Invalid { field, message } => invalid(field, message),
        GiveawayError::NotFound(what) => ApiError::not_found("not_found", format!("{what} does not exist")),
        GiveawayError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
        GiveawayError::Engine(error) => error.into(),
    }
}

/// What the request decided: the posts (or the staff tasks they became).
pub(super) fn decided(processed: &Processed) -> Value {
    json!({ "actions": processed.actions, "tasks": processed.tasks })
}

/// Entries with their number on the list (withdrawn ones have none).
fn entries_json(entries: &[SignupEntry]) -> Vec<Value> {
    let numbers: Vec<(usize, &SignupEntry)> = numbered(entries);
    entries
        .iter()
        .map(|entry| {
            let mut value = json!(entry);
            if let Some((n, _)) = numbers.iter().find(|(_, e)| e.member == entry.member && e.is_active()) {
                value["position"] = json!(n);
            }
            value
        })
        .collect()
}

fn signup_json(signup: &Signup, entries: &[SignupEntry]) -> Value {
    json!({ "signup": signup, "count": numbered(entries).len(), "entries": entries_json(entries) })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    group: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/signups?group=connector/group&status=open&limit=`
pub async fn list(State(state): State<AppState>, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = q.group.as_deref().filter(|g| !g.is_empty()).map(|g| group_key(g, "group")).transpose()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(SignupStatus::from_name(name).ok_or_else(|| invalid("status", format!("unknown status `{name}`; one of: open, closed")))?),
    };
    let signups = state.engine.store().list_signups(group.as_ref(), status, limit(q.limit)).await?;
    Ok(Json(json!({ "signups": signups })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    group: Option<String>,
    title: Option<String>,
    limit: Option<u32>,
    closes_at: Option<DateTime<Utc>>,
    by: Option<String>,
}

/// `POST /api/v1/signups` `{"group","title","limit"?,"closes_at"?,"by"}` → 201 with the list
/// and its first post.
pub async fn start(State(state): State<AppState>, raw: Result<Json<Value>, JsonRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: StartBody = body(raw)?;
    let group = group_key(request.group.as_deref().unwrap_or_default().trim(), "group")?;
    let by = actor(request.by.as_deref())?;
    let (signup, processed) = state
        .engine
        .start_signup(&group, request.title.as_deref().unwrap_or_default(), request.limit, request.closes_at, &by)
        .await
        .map_err(giveaway_error)?;
    let mut value = signup_json(&signup, &[]);
    value["decided"] = decided(&processed);
    Ok((StatusCode::CREATED, Json(value)))
}

async fn load(state: &AppState, id: &str) -> Result<(Signup, Vec<SignupEntry>), ApiError> {
    let store = state.engine.store();
    let signup = store.get_signup(id).await?.ok_or_else(|| ApiError::not_found("not_found", format!("no sign-up list `{id}`")))?;
    let entries = store.signup_entries(id).await?;
    Ok((signup, entries))
}

/// `GET /api/v1/signups/{id}`
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let (signup, entries) = load(&state, &id).await?;
    Ok(Json(signup_json(&signup, &entries)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByBody {
    by: Option<String>,
}

/// `POST /api/v1/signups/{id}/close` `{"by"}` → the closed list and its final post.
pub async fn close(State(state): State<AppState>, Path(id): Path<String>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let request: ByBody = body(raw)?;
    let by = actor(request.by.as_deref())?;
    let (_, processed) = state.engine.close_signup(&id, &by).await.map_err(giveaway_error)?;
    let (signup, entries) = load(&state, &id).await?;
    let mut value = signup_json(&signup, &entries);
    value["decided"] = decided(&processed);
    Ok(Json(value))
}

/// `GET /api/v1/signups/{id}/entries.csv`
pub async fn csv(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (signup, entries) = load(&state, &id).await?;
    let disposition = format!("attachment; filename=\"signup-{}.csv\"", signup.id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], entries_csv(&entries)).into_response())
}

/// The entries as CSV: a BOM (so Excel reads UTF-8), a header, one row per entry in joining
/// order; withdrawn entries have no position.
pub fn entries_csv(entries: &[SignupEntry]) -> String {
    let numbers = numbered(entries);
    let mut out = String::from("\u{feff}position,member,name,note,joined_at,withdrawn_at\r\n");
    for entry in entries {
        let position = numbers.iter().find(|(_, e)| e.member == entry.member && e.is_active()).map(|(n, _)| n.to_string()).unwrap_or_default();
        let row = [
            position,
            entry.member.to_string(),
            entry.name.clone().unwrap_or_default(),
            entry.note.clone().unwrap_or_default(),
            entry.joined_at.to_rfc3339(),
            entry.withdrawn_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A field a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'` —
/// names and notes come from chat.
pub(super) fn csv_cell(text: &str) -> String {
    let mut text = text.replace('\0', "");
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("小王"), "小王");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
    }

    #[test]
    fn the_csv_numbers_active_entries_and_keeps_withdrawn_ones_unnumbered() {
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let entry = |member: &str, note: Option<&str>, withdrawn: bool| SignupEntry {
            signup: "sg-1".into(),
            member: member.into(),
            name: Some(format!("名{member}")),
            note: note.map(String::from),
            joined_at: at,
            withdrawn_at: withdrawn.then_some(at),
        };
        let csv = entries_csv(&[entry("a", Some("带2人, 晚到"), false), entry("b", None, true), entry("c", None, false)]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "\u{feff}position,member,name,note,joined_at,withdrawn_at");
        assert_eq!(lines[1], "1,a,名a,\"带2人, 晚到\",2025-06-15T15:06:40+00:00,");
        assert_eq!(lines[2], ",b,名b,,2025-06-15T15:06:40+00:00,2025-06-15T15:06:40+00:00");
        assert_eq!(lines[3], "2,c,名c,,2025-06-15T15:06:40+00:00,");
    }
}
