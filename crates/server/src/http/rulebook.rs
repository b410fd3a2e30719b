//! The rulebook API beyond the whole-document routes in [`super::admin`]: one version with
//! its body, the line diff between versions, the settings schema, and TOML edits of one
//! template or one group binding (what the dashboard's rulebook pages use).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/rulebook/schema` | the JSON schema of a template's settings (generated from the code) |
//! | `GET /api/v1/rulebook/versions/{version}` | one version: author, time, note, changed keys, the rulebook as JSON and TOML |
//! | `GET /api/v1/rulebook/versions/{version}/diff?to=` | line diff of the TOML from `version` to `to` (default: the version in force) |
//! | `PUT /api/v1/rulebook/templates/{name}?author=&note=&base_version=` | replace (or create) one template from a TOML body |
//! | `PUT /api/v1/rulebook/groups/{connector}/{group}?…` | bind a group: a TOML body `template = "…"` with optional `[overrides…]` tables |
//! | `DELETE /api/v1/rulebook/groups/{connector}/{group}?…` | unbind a group (it falls back to `default`) |
//!
//! The edits save the whole rulebook as a new version through the same engine call as
//! `PUT /api/v1/rulebook`, with the same validation: problems carry the full key path
//! (`templates.default.welcome.text`) and, for TOML input, the line in the body.

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use qunzhu_core::store::RulebookVersion;
use qunzhu_core::GroupKey;
use qunzhu_engine::problems::{Problem, dotted};
use qunzhu_engine::rulebook::TemplateSettings;
use qunzhu_engine::{CompiledRulebook, Rulebook};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ProblemBody};

/// The routes above.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/rulebook/schema", get(schema))
        .route("/api/v1/rulebook/versions/{version}", get(get_version))
        .route("/api/v1/rulebook/versions/{version}/diff", get(get_diff))
        .route("/api/v1/rulebook/templates/{name}", put(put_template))
        .route(
            "/api/v1/rulebook/groups/{connector}/{group}",
            put(put_group).delete(delete_group),
        )
}

/// The JSON schema of [`TemplateSettings`]: doc comments as `description`, defaults, types.
pub fn settings_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(TemplateSettings)).unwrap_or(Value::Null)
}

/// `GET /api/v1/rulebook/schema`
async fn schema() -> Json<Value> {
    Json(settings_schema())
}

/// The rulebook as TOML (as `qunzhu rules export` writes it).
///
/// # Errors
/// `internal` if a value cannot be written as TOML.
pub fn rulebook_toml(rulebook: &Rulebook) -> Result<String, ApiError> {
    rulebook.to_toml().map_err(ApiError::internal)
}

fn parse_version(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request("invalid_version", format!("`{text}` is not a version number"))
            .with_field("version")
    })
}

/// One stored version with its rulebook parsed.
pub struct VersionDetail {
    pub meta: RulebookVersion,
    pub rulebook: Rulebook,
}

/// Reads one version from the store.
///
/// # Errors
/// `unknown_version` (404), or a store failure.
pub async fn version_detail(state: &AppState, version: i64) -> Result<VersionDetail, ApiError> {
    let meta = state
        .engine
        .store()
        .rulebook_version(version)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_version", format!("no rulebook version {version}")))?;
    let value: Value = serde_json::from_str(&meta.body).map_err(ApiError::internal)?;
    let rulebook = Rulebook::from_json_value(value)
        .map_err(|problems| ApiError::internal(format!("stored rulebook v{version} no longer validates: {} problem(s)", problems.len())))?;
    Ok(VersionDetail { meta, rulebook })
}

/// `GET /api/v1/rulebook/versions/{version}`
async fn get_version(State(state): State<AppState>, Path(version): Path<String>) -> Result<Json<Value>, ApiError> {
    let detail = version_detail(&state, parse_version(&version)?).await?;
    let toml = rulebook_toml(&detail.rulebook)?;
    let m = detail.meta;
    Ok(Json(json!({
        "version": m.version, "author": m.author, "note": m.note, "changes": m.changes, "time": m.time,
        "current": m.version == state.engine.rulebook().version,
        "rulebook": detail.rulebook.to_json(), "toml": toml,
    })))
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `add`, `del` or `ctx`.
    pub tag: &'static str,
    /// 1-based line number in the old text (none for added lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<usize>,
    /// 1-based line number in the new text (none for removed lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<usize>,
    pub text: String,
}

/// A line diff from one version to another.
#[derive(Clone, Debug, Serialize)]
pub struct RulebookDiff {
    pub from: i64,
    pub to: i64,
    /// The changed key paths between the two.
    pub changes: Vec<String>,
    /// Hunks of changed lines with three lines of context each; empty when equal.
    pub hunks: Vec<Vec<DiffLine>>,
    /// The same as a unified diff.
    pub unified: String,
}

/// The line diff of two TOML texts, in hunks with three lines of context.
pub fn line_diff(old: &str, new: &str) -> (Vec<Vec<DiffLine>>, String) {
    let diff = similar::TextDiff::from_lines(old, new);
    let hunks = diff
        .grouped_ops(3)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| DiffLine {
                    tag: match change.tag() {
                        similar::ChangeTag::Delete => "del",
                        similar::ChangeTag::Insert => "add",
                        similar::ChangeTag::Equal => "ctx",
                    },
                    old: change.old_index().map(|i| i + 1),
                    new: change.new_index().map(|i| i + 1),
                    text: change.value().trim_end_matches('\n').to_owned(),
                })
                .collect()
        })
        .collect();
    let unified = diff.unified_diff().context_radius(3).to_string();
    (hunks, unified)
}

/// The diff from version `from` to version `to` (the version in force when `None`).
///
/// # Errors
/// `unknown_version`, or a store failure.
pub async fn rulebook_diff(state: &AppState, from: i64, to: Option<i64>) -> Result<RulebookDiff, ApiError> {
    let old = version_detail(state, from).await?;
    let (to, new_book) = match to {
        Some(to) => (to, version_detail(state, to).await?.rulebook),
        None => {
            let current = state.engine.rulebook();
            (current.version, current.rulebook.clone())
        }
    };
    let (hunks, unified) = line_diff(&rulebook_toml(&old.rulebook)?, &rulebook_toml(&new_book)?);
    Ok(RulebookDiff { from, to, changes: new_book.changes_from(&old.rulebook), hunks, unified })
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    to: Option<i64>,
}

/// `GET /api/v1/rulebook/versions/{version}/diff?to=`
async fn get_diff(
    State(state): State<AppState>,
    Path(version): Path<String>,
    q: Result<Query<DiffQuery>, QueryRejection>,
) -> Result<Json<RulebookDiff>, ApiError> {
    let Query(q) = q.map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))?;
    Ok(Json(rulebook_diff(&state, parse_version(&version)?, q.to).await?))
}

#[derive(Debug, Deserialize)]
struct EditQuery {
    author: Option<String>,
    note: Option<String>,
    base_version: Option<i64>,
}

/// Parses a TOML body as a table; a syntax error is a problem at `path` with its line.
fn toml_table(source: &str, path: &[String]) -> Result<Value, ApiError> {
    let table: toml::Table = toml::from_str(source).map_err(|e| {
        let problem = Problem::from_toml_error(source, &e);
        problems_error(&[Problem { path: path.to_vec(), ..problem }], path, source)
    })?;
    serde_json::to_value(&table).map_err(ApiError::internal)
}

/// `invalid_rulebook` with each problem's full path, and the line in `source` (the TOML
/// body, which holds the part of the rulebook under `base`) where it can be found.
fn problems_error(problems: &[Problem], base: &[String], source: &str) -> ApiError {
    let mut error = ApiError::invalid_rulebook(problems);
    error.problems = problems
        .iter()
        .map(|p| {
            let located = match p.line {
                Some(_) => p.clone(),
                None => match p.path.strip_prefix(base) {
                    Some(inner) if !inner.is_empty() => {
                        let found = Problem::new(inner.to_vec(), String::new()).locate_in(source);
                        Problem { line: found.line, column: found.column, ..p.clone() }
                    }
                    _ => p.clone(),
                },
            };
            let message = match (located.line, located.column) {
                (Some(line), Some(column)) => format!("{} (line {line}, column {column})", located.message),
                (Some(line), None) => format!("{} (line {line})", located.message),
                _ => located.message.clone(),
            };
            ProblemBody { path: if p.path.is_empty() { String::new() } else { dotted(&p.path) }, message }
        })
        .collect();
    error
}

/// Applies `edit` to the rulebook in force (as JSON) and saves the result as a new version.
async fn save_edited(
    state: &AppState,
    q: EditQuery,
    base: &[String],
    source: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Result<Json<Value>, ApiError> {
    let current = state.engine.rulebook();
    let Value::Object(mut root) = current.rulebook.to_json() else {
        return Err(ApiError::internal("the rulebook is not a JSON object"));
    };
    edit(&mut root);
    let rulebook = Rulebook::from_json_value(Value::Object(root)).map_err(|problems| problems_error(&problems, base, source))?;
    let author = q.author.as_deref().map(str::trim).filter(|a| !a.is_empty()).unwrap_or("api");
    let note = q.note.as_deref().unwrap_or_default();
    let saved = state
        .engine
        .save_rulebook_over(q.base_version, rulebook, &format!("operator:{author}"), note)
        .await
        .map_err(|e| match e {
            qunzhu_engine::RulebookError::Invalid(problems) => problems_error(&problems, base, source),
            other => other.into(),
        })?;
    Ok(Json(saved_body(&saved)))
}

fn saved_body(compiled: &CompiledRulebook) -> Value {
    json!({ "version": compiled.version, "rulebook": compiled.rulebook.to_json() })
}

fn edit_query(q: Result<Query<EditQuery>, QueryRejection>) -> Result<EditQuery, ApiError> {
    q.map(|Query(q)| q).map_err(|r| ApiError::bad_request("invalid_query", r.body_text()))
}

/// `PUT /api/v1/rulebook/templates/{name}` with the template's settings as TOML.
async fn put_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<EditQuery>, QueryRejection>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let q = edit_query(q)?;
    let base = vec!["templates".to_owned(), name.clone()];
    let settings = toml_table(&body, &base)?;
    save_edited(&state, q, &base, &body, |root| {
        let templates = root.entry("templates").or_insert_with(|| json!({}));
        if let Value::Object(templates) = templates {
            templates.insert(name, settings);
        }
    })
    .await
}

fn group_key(connector: &str, group: &str) -> Result<String, ApiError> {
    GroupKey::parse(&format!("{connector}/{group}"))
        .map(|key| key.to_string())
        .ok_or_else(|| ApiError::bad_request("invalid_group", "a group is written `connector/group`, e.g. `qq/123456`").with_field("group"))
}

/// `PUT /api/v1/rulebook/groups/{connector}/{group}` with the binding as TOML.
async fn put_group(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<EditQuery>, QueryRejection>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let q = edit_query(q)?;
    let key = group_key(&connector, &group)?;
    let base = vec!["groups".to_owned(), key.clone()];
    let binding = toml_table(&body, &base)?;
    save_edited(&state, q, &base, &body, |root| {
        let groups = root.entry("groups").or_insert_with(|| json!({}));
        if let Value::Object(groups) = groups {
            groups.insert(key, binding);
        }
    })
    .await
}

/// `DELETE /api/v1/rulebook/groups/{connector}/{group}`: the group falls back to `default`.
async fn delete_group(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    q: Result<Query<EditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = edit_query(q)?;
    let key = group_key(&connector, &group)?;
    if !state.engine.rulebook().rulebook.groups.contains_key(&key) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_binding", format!("group `{key}` is not bound to a template")));
    }
    let base = vec!["groups".to_owned(), key.clone()];
    save_edited(&state, q, &base, "", |root| {
        if let Some(Value::Object(groups)) = root.get_mut("groups") {
            groups.remove(&key);
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_diff_marks_removed_and_added_lines_with_their_numbers() {
        let (hunks, unified) = line_diff("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(hunks.len(), 1);
        let tags: Vec<(&str, &str)> = hunks[0].iter().map(|l| (l.tag, l.text.as_str())).collect();
        assert_eq!(tags, vec![("ctx", "a"), ("del", "b"), ("add", "B"), ("ctx", "c")]);
        assert_eq!(hunks[0][1].old, Some(2));
        assert_eq!(hunks[0][2].new, Some(2));
        assert!(unified.contains("-b\n+B\n"), "{unified}");
        assert!(line_diff("same\n", "same\n").0.is_empty());
    }
}
