//! The referral (裂变) and milestone (里程碑) API.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/referrals?group=&campaign=&inviter=&status=&limit=` | referrals, newest join first (`status`: `pending`, `valid`, `void`, `reversed`) |
//! | `GET /api/v1/referrals/leaderboard?group=&campaign=` | inviters by valid, then pending invites |
//! | `GET /api/v1/referrals/flags?group=&campaign=&inviter=` | fraud flags for staff: quick leaves, look-alike names, invitees who never spoke |
//! | `POST /api/v1/referrals/codes` `{"connector","member","name"?}` | a member's personal invite code and the text to share it (the same code every time) |
//! | `GET /api/v1/referrals/campaigns` | campaigns by start |
//! | `POST /api/v1/referrals/campaigns` `{"name","groups"?,"starts_at","ends_at","reward_points","stay_days","early_leave_days","by"}` | create one (201) |
//! | `PUT /api/v1/referrals/campaigns/{id}` (same body) | replace one |
//! | `DELETE /api/v1/referrals/campaigns/{id}?by=` | delete one |
//! | `GET /api/v1/milestones?group=&limit=` | milestones reached, newest first |
//!
//! Bad input answers `400 invalid_request` with the `field`; an unknown campaign `404 not_found`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qunzhu_core::growth::{ReferralFilter, ReferralStatus};
use qunzhu_core::{ConnectorId, MemberId};
use qunzhu_engine::growth::{CampaignDraft, GrowthError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, invalid, limit, query, required};

/// The routes of this module.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/referrals", get(list))
        .route("/api/v1/referrals/leaderboard", get(leaderboard))
        .route("/api/v1/referrals/flags", get(flags))
        .route("/api/v1/referrals/codes", post(code))
        .route("/api/v1/referrals/campaigns", get(campaigns).post(create_campaign))
        .route("/api/v1/referrals/campaigns/{id}", put(replace_campaign).delete(delete_campaign))
        .route("/api/v1/milestones", get(milestones))
}

/// Engine answers in this API's words.
pub(super) fn growth_error(error: GrowthError) -> ApiError {
    match error {
        GrowthError::Invalid { field, message } => invalid(field, message),
        GrowthError::NotFound(what) => ApiError::not_found("not_found", format!("{what} does not exist")),
        GrowthError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
        GrowthError::Engine(error) => error.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReferralQuery {
    group: Option<String>,
    campaign: Option<String>,
    inviter: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

fn filter(q: &ReferralQuery) -> Result<ReferralFilter, ApiError> {
    let some = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
    let status = match some(&q.status) {
        None => None,
        Some(name) => Some(
            ReferralStatus::from_name(&name)
                .ok_or_else(|| invalid("status", format!("unknown status `{name}`; one of: pending, valid, void, reversed")))?,
        ),
    };
    Ok(ReferralFilter {
        group: some(&q.group).map(|g| group_key(&g, "group")).transpose()?,
        campaign: some(&q.campaign),
        inviter: some(&q.inviter).map(MemberId::new),
        status,
    })
}

/// `GET /api/v1/referrals?group=&campaign=&inviter=&status=&limit=`
pub async fn list(State(state): State<AppState>, q: Result<Query<ReferralQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let referrals = state.engine.referrals(&filter(&q)?, limit(q.limit)).await.map_err(growth_error)?;
    Ok(Json(json!({ "referrals": referrals })))
}

/// `GET /api/v1/referrals/leaderboard?group=&campaign=`
pub async fn leaderboard(State(state): State<AppState>, q: Result<Query<ReferralQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let rows = state.engine.referral_leaderboard(&filter(&q)?).await.map_err(growth_error)?;
    Ok(Json(json!({ "leaderboard": rows })))
}

/// `GET /api/v1/referrals/flags?group=&campaign=&inviter=`
pub async fn flags(State(state): State<AppState>, q: Result<Query<ReferralQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let flags = state.engine.referral_flags(&filter(&q)?).await.map_err(growth_error)?;
    Ok(Json(json!({ "flags": flags })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    connector: Option<String>,
    member: Option<String>,
    name: Option<String>,
}

/// `POST /api/v1/referrals/codes` `{"connector","member","name"?}`
pub async fn code(State(state): State<AppState>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let request: CodeBody = body(raw)?;
    let connector = ConnectorId::new(required(request.connector.as_deref(), "connector", "\"qq\"")?);
    let member = MemberId::new(required(request.member.as_deref(), "member", "\"12345\"")?);
    let code = state.engine.referral_code(&connector, &member, request.name.clone()).await.map_err(growth_error)?;
    let text = state.engine.locale().pick(
        &format!("邀请好友入群时请对方发送邀请码「{}」（或使用带此邀请码的邀请链接），对方留群并发言后即可获得邀请奖励。", code.code),
        &format!("Ask friends to send the invite code \"{}\" when they join (or use an invite link carrying it); the invite counts once they stay and speak.", code.code),
    )
    .to_owned();
    Ok(Json(json!({ "code": code, "text": text })))
}

/// `GET /api/v1/referrals/campaigns`
pub async fn campaigns(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "campaigns": state.engine.store().referral_campaigns().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    reward_points: i64,
    #[serde(default)]
    stay_days: u32,
    #[serde(default)]
    early_leave_days: u32,
    by: Option<String>,
}

fn draft(request: CampaignBody) -> Result<(CampaignDraft, String), ApiError> {
    let by = actor(request.by.as_deref())?;
    let groups = request.groups.iter().map(|g| group_key(g, "groups")).collect::<Result<Vec<_>, _>>()?;
    let starts_at = request.starts_at.ok_or_else(|| invalid("starts_at", "`starts_at` is required (RFC 3339, e.g. 2026-10-01T00:00:00+08:00)"))?;
    let ends_at = request.ends_at.ok_or_else(|| invalid("ends_at", "`ends_at` is required (RFC 3339, e.g. 2026-10-08T00:00:00+08:00)"))?;
    let draft = CampaignDraft {
        name: request.name.unwrap_or_default(),
        groups,
        starts_at,
        ends_at,
        reward_points: request.reward_points,
        stay_days: request.stay_days,
        early_leave_days: request.early_leave_days,
    };
    Ok((draft, by))
}

/// `POST /api/v1/referrals/campaigns` → 201 with the campaign.
pub async fn create_campaign(State(state): State<AppState>, raw: Result<Json<Value>, JsonRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (draft, by) = draft(body(raw)?)?;
    let campaign = state.engine.save_campaign(None, draft, &by).await.map_err(growth_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "campaign": campaign }))))
}

/// `PUT /api/v1/referrals/campaigns/{id}`
pub async fn replace_campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (draft, by) = draft(body(raw)?)?;
    let campaign = state.engine.save_campaign(Some(&id), draft, &by).await.map_err(growth_error)?;
    Ok(Json(json!({ "campaign": campaign })))
}

#[derive(Debug, Deserialize)]
pub struct ByQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/referrals/campaigns/{id}?by=`
pub async fn delete_campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ByQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let by = actor(query(q)?.by.as_deref())?;
    state.engine.delete_campaign(&id, &by).await.map_err(growth_error)?;
    Ok(Json(json!({ "deleted": id })))
}

#[derive(Debug, Deserialize)]
pub struct MilestoneQuery {
    group: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/milestones?group=&limit=`
pub async fn milestones(State(state): State<AppState>, q: Result<Query<MilestoneQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let group = q.group.as_deref().filter(|g| !g.is_empty()).map(|g| group_key(g, "group")).transpose()?;
    let reached = state.engine.store().list_milestones(group.as_ref(), limit(q.limit)).await?;
    Ok(Json(json!({ "milestones": reached })))
}
