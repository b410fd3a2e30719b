//! The operator API: staff tasks, the audit log, groups, and the versioned rulebook.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/tasks?status=&limit=` | staff tasks, newest first, each with its `assignee` (or null) |
//! | `POST /api/v1/tasks/{id}/status` `{"status","by"?}` | open, done or dismissed (audit row `task.status`) |
//! | `POST /api/v1/tasks/{id}/assign` `{"assignee","by"}` | assign it (`assignee` null or blank: to nobody; audit row `task.assign`) |

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use qunzhu_core::store::RulebookVersion;
use qunzhu_core::{GroupKey, StaffTask, TaskId, TaskStatus};
use qunzhu_engine::{CompiledRulebook, Rulebook};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|r| ApiError::bad_request("invalid_json", r.body_text()))
}

#[derive(Debug, Deserialize)]
pub struct TasksQuery {
    status: Option<String>,
    limit: Option<u32>,
}

fn task_status(name: &str) -> Result<TaskStatus, ApiError> {
    TaskStatus::from_name(name).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_status",
            format!("unknown status `{name}`; one of: open, done, dismissed"),
        )
        .with_field("status")
    })
}

/// `GET /api/v1/tasks?status=open&limit=`
pub async fn list_tasks(
    State(state): State<AppState>,
    q: Result<Query<TasksQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(task_status)
        .transpose()?;
    let store = state.engine.store();
    let tasks: Vec<StaffTask> = store.list_tasks(status, limit(q.limit)).await?;
    let assignees: std::collections::HashMap<TaskId, String> = store
        .task_assignments(status, limit(q.limit))
        .await?
        .into_iter()
        .map(|a| (a.task, a.assignee))
        .collect();
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|task| {
            let mut value = json!(task);
            value["assignee"] = json!(assignees.get(&task.id));
            value
        })
        .collect();
    Ok(Json(json!({ "tasks": tasks })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The staff member; null or blank assigns the task to nobody.
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

/// Longest assignee name, in characters.
const MAX_ASSIGNEE_CHARS: usize = 60;

/// `POST /api/v1/tasks/{id}/assign` `{"assignee":"小李","by":"alice"}` → the task and its
/// assignment (null when unassigned).
pub async fn assign_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: AssignBody = super::input::body(raw)?;
    let by = super::input::actor(request.by.as_deref())?;
    let assignee = request.assignee.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if assignee.is_some_and(|a| a.chars().count() > MAX_ASSIGNEE_CHARS) {
        return Err(ApiError::bad_request("invalid_request", format!("`assignee` is a name of {MAX_ASSIGNEE_CHARS} characters at most")).with_field("assignee"));
    }
    let id = TaskId::new(id);
    let now = state.engine.clock().now();
    let assignment = state.engine.store().assign_task(&id, assignee, &by, now).await.map_err(|e| match e {
        qunzhu_core::StoreError::NotFound(_) => ApiError::not_found("unknown_task", format!("no staff task `{id}`; list them at /api/v1/tasks")),
        other => other.into(),
    })?;
    Ok(Json(json!({ "task": id, "assignment": assignment })))
}

#[derive(Debug, Deserialize)]
pub struct TaskStatusBody {
    status: String,
    /// Who did it (shown in the audit log).
    #[serde(default)]
    by: Option<String>,
}

/// `POST /api/v1/tasks/{id}/status` `{"status":"done","by":"…"}`
pub async fn set_task_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<TaskStatusBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = json_body(body)?;
    let status = task_status(&body.status)?;
    let by = body
        .by
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or("api");
    let id = TaskId::new(id);
    let now = state.engine.clock().now();
    let task = state
        .engine
        .store()
        .set_task_status(&id, status, &format!("operator:{by}"), now)
        .await
        .map_err(|e| match e {
            qunzhu_core::StoreError::NotFound(_) => {
                ApiError::not_found("unknown_task", format!("no staff task `{id}`"))
            }
            other => other.into(),
        })?;
    Ok(Json(json!({ "task": task })))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// `connector/group`
    group: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/audit?group=connector/group&limit=`
pub async fn list_audit(
    State(state): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = match q.group.as_deref().filter(|g| !g.is_empty()) {
        None => None,
        Some(text) => Some(GroupKey::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_group",
                "a group is written `connector/group`, e.g. `shop/g1`",
            )
            .with_field("group")
        })?),
    };
    let entries = state
        .engine
        .store()
        .list_audit(group.as_ref(), limit(q.limit))
        .await?;
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /api/v1/groups`
pub async fn list_groups(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let groups = state.engine.store().list_groups().await?;
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|g| {
            json!({
                "key": g.key.to_string(),
                "connector": g.key.connector,
                "group": g.key.group,
                "name": g.name,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
            })
        })
        .collect();
    Ok(Json(json!({ "groups": groups })))
}

fn rulebook_body(compiled: &CompiledRulebook) -> Value {
    json!({ "version": compiled.version, "rulebook": compiled.rulebook.to_json() })
}

/// `GET /api/v1/rulebook`
pub async fn get_rulebook(State(state): State<AppState>) -> Json<Value> {
    Json(rulebook_body(&state.engine.rulebook()))
}

#[derive(Debug, Deserialize)]
pub struct SaveQuery {
    /// Who made the change (the audit log and the version history show it).
    author: Option<String>,
    /// Why.
    note: Option<String>,
    /// The version the author edited: the save is refused (409 `conflict`) if the rulebook
    /// moved on since. Optional.
    base_version: Option<i64>,
}

/// `PUT /api/v1/rulebook?author=&note=&base_version=` with the whole rulebook as the JSON body.
pub async fn put_rulebook(
    State(state): State<AppState>,
    q: Result<Query<SaveQuery>, QueryRejection>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let value = json_body(body)?;
    let rulebook = Rulebook::from_json_value(value)
        .map_err(|problems| ApiError::invalid_rulebook(&problems))?;
    let author = q
        .author
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("api");
    let note = q.note.as_deref().unwrap_or_default();
    let saved = state
        .engine
        .save_rulebook_over(q.base_version, rulebook, &format!("operator:{author}"), note)
        .await?;
    Ok(Json(rulebook_body(&saved)))
}

#[derive(Debug, Deserialize)]
pub struct VersionsQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/rulebook/versions` — the history, newest first, without the bodies.
pub async fn list_versions(
    State(state): State<AppState>,
    q: Result<Query<VersionsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let versions: Vec<RulebookVersion> = state.engine.rulebook_versions(limit(q.limit)).await?;
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|v| json!({"version": v.version, "author": v.author, "note": v.note, "changes": v.changes, "time": v.time}))
        .collect();
    Ok(Json(json!({ "versions": versions })))
}

/// `POST /api/v1/rulebook/rollback/{version}?author=`
pub async fn rollback(
    State(state): State<AppState>,
    Path(version): Path<String>,
    q: Result<Query<SaveQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let version: i64 = version.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_version",
            format!("`{version}` is not a version number"),
        )
        .with_field("version")
    })?;
    let author = q
        .author
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("api");
    let saved = state
        .engine
        .rollback_rulebook(version, &format!("operator:{author}"))
        .await?;
    Ok(Json(rulebook_body(&saved)))
}
