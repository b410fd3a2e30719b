//! Member profiles across groups, their tags, and a group's churn list.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/members?tag=&group=c/g&q=&offset=&limit=` | profiles of members with a join on record, across groups (or in `group`), with `tag` (manual or automatic: 核心, 沉默, 新人, 违规), whose id is `q` or whose name contains it; `total` counts every match |
//! | `GET /api/v1/members/{connector}/{member}` | one profile (画像): first seen, channel, tier, inviter, manual tags, `auto_tags`, activity (7/30 days, last active, days active), points, level, violations, referrals, conversions, groups (`group_facts` with per-group tags and activity) |
//! | `POST /api/v1/members/{connector}/{member}/tags` `{"add"?:[…],"remove"?:[…],"by"}` | add then remove manual tags (audit row `member.tags`) |
//! | `GET /api/v1/groups/{connector}/{group}/churn?limit=` | leaves, newest first: reason (`left`/`removed`), tenure, channel, tier |
//!
//! A member with no profile answers `404 not_found`; bad tags `400 invalid_request` with the field.

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use qunzhu_core::membership::{clean_tags, membership_audit};
use qunzhu_core::{ConnectorId, GroupKey, MemberId, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use qunzhu_engine::profiles::Profiler;

use super::input::{actor, body, group_key, invalid, limit, query};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/members", get(search))
        .route("/api/v1/members/{connector}/{member}", get(profile))
        .route("/api/v1/members/{connector}/{member}/tags", post(tags))
        .route("/api/v1/groups/{connector}/{group}/churn", get(churn))
}

fn no_profile(connector: &str, member: &str) -> ApiError {
    ApiError::not_found("not_found", format!("no member `{member}` on `{connector}` is on record"))
}

#[derive(Deserialize)]
struct SearchQuery {
    tag: Option<String>,
    q: Option<String>,
    group: Option<String>,
    offset: Option<u32>,
    limit: Option<u32>,
}

/// `GET /api/v1/members?tag=&group=&q=&offset=&limit=`: completed profiles (automatic tags
/// and figures, see `qunzhu_engine::profiles`), by connector and member id, with the number
/// of matches.
async fn search(State(state): State<AppState>, params: Result<Query<SearchQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let tag = params.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let q = params.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let group = match params.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(text) => Some(group_key(text, "group")?),
        None => None,
    };
    let (offset, limit) = (params.offset.unwrap_or(0) as usize, limit(params.limit) as usize);
    let rulebook = state.engine.rulebook();
    let store = state.engine.store();
    let mut profiler = Profiler::new(store.as_ref(), &rulebook, state.engine.clock().now());
    let (members, total) = profiler.search(tag, group.as_ref(), q, offset, limit).await?;
    Ok(Json(json!({ "members": members, "total": total, "offset": offset, "limit": limit })))
}

/// `GET /api/v1/members/{connector}/{member}`
async fn profile(State(state): State<AppState>, Path((connector, member)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let rulebook = state.engine.rulebook();
    let store = state.engine.store();
    let mut profiler = Profiler::new(store.as_ref(), &rulebook, state.engine.clock().now());
    let profile = profiler
        .profile(&ConnectorId::new(connector.as_str()), &MemberId::new(member.as_str()))
        .await?
        .ok_or_else(|| no_profile(&connector, &member))?;
    Ok(Json(json!({ "member": profile })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsInput {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    by: Option<String>,
}

/// `POST /api/v1/members/{connector}/{member}/tags`
async fn tags(
    State(state): State<AppState>,
    Path((connector, member)): Path<(String, String)>,
    input: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let input: TagsInput = body(input)?;
    let by = actor(input.by.as_deref())?;
    for (field, tags) in [("add", &input.add), ("remove", &input.remove)] {
        if tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 30) {
            return Err(invalid(field, format!("`{field}` holds tags of 1–30 characters, e.g. [\"VIP\"]")));
        }
    }
    let (add, remove) = (clean_tags(&input.add), clean_tags(&input.remove));
    if add.is_empty() && remove.is_empty() {
        return Err(invalid("add", "give tags to `add` or `remove`"));
    }
    let now = state.engine.clock().now();
    let summary = format!("成员 {connector}/{member} 标签：+{} −{}", add.join("、"), remove.join("、"));
    let audit = membership_audit("member.tags", &by, now, summary, None);
    let profile = state
        .engine
        .store()
        .tag_profile(&ConnectorId::new(connector.as_str()), &MemberId::new(member.as_str()), &add, &remove, &audit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => no_profile(&connector, &member),
            other => other.into(),
        })?;
    Ok(Json(json!({ "member": profile })))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/groups/{connector}/{group}/churn`
async fn churn(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    params: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let group = GroupKey::new(connector.as_str(), group.as_str());
    let leaves = state.engine.store().churn(&group, limit(params.limit)).await?;
    Ok(Json(json!({ "group": group, "leaves": leaves })))
}
