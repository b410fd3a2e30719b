//! The lottery API (抽奖).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/lotteries?status=&limit=` | lotteries, newest first (`status`: `open`, `drawn`) |
//! | `POST /api/v1/lotteries` `{"title","prize","winners","groups","keyword"?,"condition"?,"draw_at","announce"?,"by"}` | create one (201), announced in its groups unless `announce` is false |
//! | `GET /api/v1/lotteries/{id}` | one lottery with its entries and, once drawn, its published draw record |
//! | `POST /api/v1/lotteries/{id}/draw` `{"by"}` | draw it now instead of at `draw_at` |
//! | `GET /api/v1/lotteries/{id}/verify` | recompute the winners from the published seed and entrants and compare |
//!
//! `groups` are `connector/group`, all of one connector; the first is the home group, where
//! the draw is made. `condition` is `{"kind":"messages","at_least":5}` or
//! `{"kind":"check_ins","at_least":3}`, counted from the lottery's creation to its draw;
//! give a `keyword`, a `condition` or both. `draw_at` is RFC 3339. The draw record — seed,
//! sorted entrants, their SHA-256, winners — is what `scripts/verify-draw.py` recomputes
//! independently (algorithm in docs/lottery-draw.md).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qunzhu_core::lottery::{EntryCondition, Lottery, LotteryStatus};
use qunzhu_engine::giveaways::NewLottery;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, invalid, limit, query};
use super::signups::{decided, giveaway_error};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/lotteries?status=open&limit=`
pub async fn list(State(state): State<AppState>, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(LotteryStatus::from_name(name).ok_or_else(|| invalid("status", format!("unknown status `{name}`; one of: open, drawn")))?),
    };
    let lotteries = state.engine.store().list_lotteries(status, limit(q.limit)).await?;
    Ok(Json(json!({ "lotteries": lotteries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: Option<String>,
    prize: Option<String>,
    winners: Option<u32>,
    groups: Option<Vec<String>>,
    keyword: Option<String>,
    condition: Option<EntryCondition>,
    draw_at: Option<DateTime<Utc>>,
    announce: Option<bool>,
    by: Option<String>,
}

/// `POST /api/v1/lotteries` → 201 with the lottery and its announcements.
pub async fn create(State(state): State<AppState>, raw: Result<Json<Value>, JsonRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: CreateBody = body(raw)?;
    let by = actor(request.by.as_deref())?;
    let groups = request
        .groups
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, g)| group_key(g.trim(), &format!("groups[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let winners = request.winners.ok_or_else(|| invalid("winners", "`winners` is required: how many are drawn, e.g. 3"))?;
    let draw_at = request.draw_at.ok_or_else(|| invalid("draw_at", "`draw_at` is required, RFC 3339, e.g. \"2026-06-20T20:00:00+08:00\""))?;
    let new = NewLottery {
        title: request.title.unwrap_or_default(),
        prize: request.prize.unwrap_or_default(),
        winners,
        groups,
        keyword: request.keyword,
        condition: request.condition,
        draw_at,
        announce: request.announce.unwrap_or(true),
    };
    let (lottery, processed) = state.engine.create_lottery(new, &by).await.map_err(giveaway_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "lottery": lottery, "decided": decided(&processed) }))))
}

async fn lottery_json(state: &AppState, lottery: &Lottery) -> Result<Value, ApiError> {
    let entries = state.engine.store().lottery_entries(&lottery.id).await?;
    Ok(json!({ "lottery": lottery, "entrants": entries.len(), "entries": entries }))
}

/// `GET /api/v1/lotteries/{id}`
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let lottery = state.engine.store().get_lottery(&id).await?.ok_or_else(|| ApiError::not_found("not_found", format!("no lottery `{id}`")))?;
    Ok(Json(lottery_json(&state, &lottery).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByBody {
    by: Option<String>,
}

/// `POST /api/v1/lotteries/{id}/draw` `{"by"}` → the drawn lottery and its announcements.
pub async fn draw(State(state): State<AppState>, Path(id): Path<String>, raw: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let request: ByBody = body(raw)?;
    let by = actor(request.by.as_deref())?;
    let (lottery, processed) = state.engine.draw_lottery(&id, &by).await.map_err(giveaway_error)?;
    let mut value = lottery_json(&state, &lottery).await?;
    value["decided"] = decided(&processed);
    Ok(Json(value))
}

/// `GET /api/v1/lotteries/{id}/verify` → `{"id","winners","record","verification"}`; 200
/// whether or not it verifies (`verification.valid`).
pub async fn verify(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let (lottery, verification) = state.engine.verify_lottery(&id).await.map_err(giveaway_error)?;
    Ok(Json(json!({ "id": lottery.id, "winners": lottery.winners, "record": lottery.draw, "verification": verification })))
}
