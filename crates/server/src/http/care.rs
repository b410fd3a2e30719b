//! The care API (用户思维): members' questions, response times, and the issue list (问题清单).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/questions/{id}` | one question (the link in an unanswered alert) |
//! | `GET /api/v1/groups/{c}/{g}/questions?status=open\|answered` | the group's questions, oldest first |
//! | `GET /api/v1/groups/{c}/{g}/response-times` | median / p90 / answered % for the group and per staff member |
//! | `GET /api/v1/tickets?group=&status=` | tickets, oldest first |
//! | `POST /api/v1/tickets` `{"group","category","title","detail"?,"owner"?,"due_at"?,"follow_up_at"?}` | a ticket by hand |
//! | `PATCH /api/v1/tickets/{id}` `{"status"?,"owner"?,"due_at"?,"follow_up_at"?,"note"?,"by"?}` | change a ticket; `note` is appended |
//! | `GET /api/v1/groups/{c}/{g}/tickets/weekly?until=` | the week before `until` (default now): opened, resolved, open by category, overdue |

use std::collections::BTreeMap;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use qunzhu_core::care::{QuestionStatus, Ticket, TicketNote, TicketStatus};
use qunzhu_core::GroupKey;
use qunzhu_engine::care::ResponseStats;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{body, group_key, invalid, query, required};

/// The routes of this module.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/questions/{id}", get(get_question))
        .route("/api/v1/groups/{connector}/{group}/questions", get(list_questions))
        .route("/api/v1/groups/{connector}/{group}/response-times", get(response_times))
        .route("/api/v1/tickets", get(list_tickets).post(create_ticket))
        .route("/api/v1/tickets/{id}", get(get_ticket).patch(update_ticket))
        .route("/api/v1/groups/{connector}/{group}/tickets/weekly", get(weekly))
}

fn question_status(text: &str) -> Result<QuestionStatus, ApiError> {
    QuestionStatus::from_name(text).ok_or_else(|| invalid("status", format!("unknown question status `{text}`; use open or answered")))
}

fn ticket_status(text: &str) -> Result<TicketStatus, ApiError> {
    TicketStatus::from_name(text)
        .ok_or_else(|| invalid("status", format!("unknown ticket status `{text}`; use open, in_progress, resolved or closed")))
}

/// `GET /api/v1/questions/{id}`
async fn get_question(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    match state.engine.store().care_question(&id).await? {
        Some(q) => Ok(Json(json!(q))),
        None => Err(ApiError::not_found("question_not_found", format!("no question `{id}`; list them at /api/v1/groups/{{connector}}/{{group}}/questions"))),
    }
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

/// `GET /api/v1/groups/{c}/{g}/questions?status=`
async fn list_questions(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let status = q.status.as_deref().filter(|s| !s.is_empty()).map(question_status).transpose()?;
    let group = GroupKey::new(connector, group);
    Ok(Json(json!({ "questions": state.engine.store().care_questions(Some(&group), status).await? })))
}

/// `GET /api/v1/groups/{c}/{g}/response-times`
async fn response_times(State(state): State<AppState>, Path((connector, group)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let group = GroupKey::new(connector, group);
    let questions = state.engine.store().care_questions(Some(&group), None).await?;
    let answers: Vec<(String, i64)> = questions
        .iter()
        .filter_map(|q| Some((q.answered_by.clone()?, (q.answered_at? - q.asked_at).num_seconds().max(0))))
        .collect();
    let group_stats = ResponseStats::from_times(answers.iter().map(|(_, secs)| *secs).collect(), questions.len());
    Ok(Json(json!({
        "group": group.to_string(),
        "stats": group_stats,
        "staff": ResponseStats::per_staff(&answers, questions.len()),
    })))
}

#[derive(Debug, Deserialize)]
struct TicketQuery {
    group: Option<String>,
    status: Option<String>,
}

/// `GET /api/v1/tickets?group=&status=`
async fn list_tickets(State(state): State<AppState>, q: Result<Query<TicketQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = q.group.as_deref().filter(|g| !g.is_empty()).map(|g| group_key(g, "group")).transpose()?;
    let status = q.status.as_deref().filter(|s| !s.is_empty()).map(ticket_status).transpose()?;
    Ok(Json(json!({ "tickets": state.engine.store().care_tickets(group.as_ref(), status).await? })))
}

async fn find_ticket(state: &AppState, id: &str) -> Result<Ticket, ApiError> {
    state
        .engine
        .store()
        .care_ticket(id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket_not_found", format!("no ticket `{id}`; list them at /api/v1/tickets")))
}

/// `GET /api/v1/tickets/{id}`
async fn get_ticket(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(find_ticket(&state, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicket {
    group: Option<String>,
    /// Who opens it (`operator:<name>`, or a bare name); the audit row's actor.
    by: Option<String>,
    category: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    owner: Option<String>,
    due_at: Option<DateTime<Utc>>,
    follow_up_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tickets`
async fn create_ticket(State(state): State<AppState>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let request: NewTicket = body(raw)?;
    let group = group_key(required(request.group.as_deref(), "group", "\"qq/123456\"")?, "group")?;
    let title = required(request.title.as_deref(), "title", "\"家长反映作业太多\"")?.to_owned();
    let category = request.category.as_deref().map(str::trim).filter(|c| !c.is_empty()).unwrap_or("manual").to_owned();
    let now = state.engine.clock().now();
    let ticket = Ticket {
        id: format!("manual:{}", now.timestamp_micros()),
        group,
        category,
        title,
        detail: request.detail.unwrap_or_default(),
        status: TicketStatus::Open,
        owner: request.owner.filter(|o| !o.trim().is_empty()),
        due_at: request.due_at,
        follow_up_at: request.follow_up_at,
        notes: Vec::new(),
        source: None,
        opened_at: now,
        updated_at: now,
        resolved_at: None,
        followed_up_at: None,
    };
    let by = ticket_actor(request.by.as_deref());
    let summary = format!("新建问题清单 {}：{}", ticket.id, ticket.title);
    save_with_audit(&state, &ticket, "ticket.create", by, summary).await?;
    Ok(Json(json!(ticket)))
}

/// The audit actor of a ticket change: `by` (as `operator:<name>` when bare), else `operator`.
fn ticket_actor(by: Option<&str>) -> String {
    match by.map(str::trim).filter(|b| !b.is_empty()) {
        Some(by) if by.contains(':') => by.to_owned(),
        Some(by) => format!("operator:{by}"),
        None => "operator".to_owned(),
    }
}

/// Saves a ticket changed through the API with its audit row, in one commit.
async fn save_with_audit(state: &AppState, ticket: &Ticket, kind: &str, actor: String, summary: String) -> Result<(), ApiError> {
    let audit = qunzhu_core::NewAuditEntry {
        time: ticket.updated_at,
        actor,
        kind: kind.to_owned(),
        group: Some(ticket.group.clone()),
        event_id: None,
        action_id: None,
        rule: Some("care".to_owned()),
        summary,
        detail: serde_json::to_string(ticket).ok(),
    };
    let commit = qunzhu_core::store::Commit {
        writes: vec![qunzhu_core::StateWrite::Care(qunzhu_core::care::CareWrite::Ticket(ticket.clone()))],
        audit: vec![audit],
        ..qunzhu_core::store::Commit::default()
    };
    state.engine.store().commit(&commit).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketChange {
    status: Option<String>,
    owner: Option<String>,
    due_at: Option<DateTime<Utc>>,
    follow_up_at: Option<DateTime<Utc>>,
    note: Option<String>,
    by: Option<String>,
}

/// `PATCH /api/v1/tickets/{id}`
async fn update_ticket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let change: TicketChange = body(raw)?;
    let mut ticket = find_ticket(&state, &id).await?;
    let before = ticket.clone();
    let now = state.engine.clock().now();
    if let Some(status) = change.status.as_deref() {
        let status = ticket_status(status)?;
        if !status.is_open() && ticket.status.is_open() {
            ticket.resolved_at = Some(now);
        } else if status.is_open() {
            ticket.resolved_at = None;
        }
        ticket.status = status;
    }
    if let Some(owner) = change.owner {
        ticket.owner = Some(owner).filter(|o| !o.trim().is_empty());
    }
    if change.due_at.is_some() {
        ticket.due_at = change.due_at;
    }
    if change.follow_up_at.is_some() {
        ticket.follow_up_at = change.follow_up_at;
    }
    let actor = ticket_actor(change.by.as_deref());
    if let Some(note) = change.note.filter(|n| !n.trim().is_empty()) {
        ticket.notes.push(TicketNote { at: now, by: change.by.filter(|b| !b.trim().is_empty()), text: note });
    }
    ticket.updated_at = now;
    let mut changed = Vec::new();
    if ticket.status != before.status {
        changed.push(format!("状态 {} → {}", before.status.name(), ticket.status.name()));
    }
    if ticket.owner != before.owner {
        changed.push(format!("负责人 {}", ticket.owner.as_deref().unwrap_or("—")));
    }
    if ticket.due_at != before.due_at {
        changed.push("截止时间".to_owned());
    }
    if ticket.follow_up_at != before.follow_up_at {
        changed.push("回访时间".to_owned());
    }
    if ticket.notes.len() != before.notes.len() {
        changed.push("备注".to_owned());
    }
    let summary = format!("更新问题清单 {}：{}", ticket.id, if changed.is_empty() { "无变化".to_owned() } else { changed.join("，") });
    save_with_audit(&state, &ticket, "ticket.update", actor, summary).await?;
    Ok(Json(json!(ticket)))
}

#[derive(Debug, Deserialize)]
struct WeeklyQuery {
    until: Option<DateTime<Utc>>,
}

/// `GET /api/v1/groups/{c}/{g}/tickets/weekly?until=`
async fn weekly(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<WeeklyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let until = q.until.unwrap_or_else(|| state.engine.clock().now());
    Ok(Json(weekly_report(&state, &GroupKey::new(connector, group), until).await?))
}

/// The weekly ticket report of `group` for the week before `until` (the API's answer; the
/// dashboard's tickets page shows the same).
pub(crate) async fn weekly_report(state: &AppState, group: &GroupKey, until: DateTime<Utc>) -> Result<Value, ApiError> {
    let since = until - Duration::days(7);
    let tickets = state.engine.store().care_tickets(Some(group), None).await?;
    let within = |at: DateTime<Utc>| at >= since && at < until;
    let opened = tickets.iter().filter(|t| within(t.opened_at)).count();
    let resolved = tickets.iter().filter(|t| t.resolved_at.is_some_and(within)).count();
    let mut open_by_category: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tickets.iter().filter(|t| t.status.is_open() && t.opened_at < until) {
        *open_by_category.entry(t.category.as_str()).or_default() += 1;
    }
    let overdue: Vec<&Ticket> = tickets.iter().filter(|t| t.status.is_open() && t.due_at.is_some_and(|d| d < until)).collect();
    Ok(json!({
        "group": group.to_string(),
        "since": since,
        "until": until,
        "opened": opened,
        "resolved": resolved,
        "open_by_category": open_by_category,
        "overdue": overdue,
    }))
}
