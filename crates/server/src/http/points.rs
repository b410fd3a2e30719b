//! The points API: balances, ledgers, leaderboards, manual grants, check-ins, and the points
//! shop (items, redemptions and their fulfilment).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/points/{connector}/{member}` | balance, earned, level title, make-up cards, latest ledger entries |
//! | `POST /api/v1/points/{connector}/{member}` `{"amount","reason","by"}` | grant (or deduct, never below 0) |
//! | `GET /api/v1/points/{connector}/leaderboard?limit=` | members by balance |
//! | `GET /api/v1/check-ins/{connector}/{group}?day=YYYY-MM-DD` | a day's check-ins in order (default: today in the group's timezone) |
//! | `GET /api/v1/shop/items` | every item |
//! | `PUT /api/v1/shop/items/{id}` `{"name","cost","stock"?,"kind"?,"enabled"?,"description"?,"by"}` | create or change an item |
//! | `POST /api/v1/shop/redeem` `{"item","connector","member","group","name"?,"by"}` | redeem for a member |
//! | `GET /api/v1/shop/redemptions?status=&limit=` | redemptions, newest first |
//! | `POST /api/v1/shop/redemptions/{id}/fulfil` / `…/cancel` `{"by"}` | settle (cancel refunds) |
//!
//! Refused redemptions answer `409` with the reason's code (`out_of_stock`,
//! `insufficient_points`, `unknown_item`, `item_disabled`); an uncovered deduction `409 conflict`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use qunzhu_core::points::MAKEUP_CARD;
use qunzhu_core::shop::{ItemKind, RedemptionStatus, ShopItem};
use qunzhu_core::{ConnectorId, GroupKey, Member, MemberId, NewAuditEntry};
use qunzhu_engine::rules::points::local_day;
use qunzhu_engine::shop::{RedeemRequest, redeem};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, engine_error, group_key, invalid, limit, query, required};

#[derive(Debug, Deserialize)]
pub struct LimitQuery {
    limit: Option<u32>,
}

/// `GET /api/v1/points/{connector}/{member}`
pub async fn member_points(
    State(state): State<AppState>,
    Path((connector, member)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    let (connector, member) = (ConnectorId::new(connector), MemberId::new(member));
    let balance = store.points_balance(&connector, &member).await?;
    let cards = store.inventory(&connector, &member, MAKEUP_CARD).await?;
    let ledger = store.points_ledger(&connector, &member, 50).await?;
    let level = level_title(&state, balance.earned);
    Ok(Json(json!({
        "connector": connector, "member": member, "balance": balance.balance, "earned": balance.earned,
        "level": level, "makeup_cards": cards, "ledger": ledger,
    })))
}

/// The level title for points `earned` (the member API and the dashboard's profile page).
/// Points belong to the community; its title is read on the default template's ladder.
pub(crate) fn level_title(state: &AppState, earned: i64) -> Option<String> {
    state
        .engine
        .rulebook()
        .template_settings(qunzhu_engine::rulebook::DEFAULT_TEMPLATE)
        .and_then(|t| t.settings.levels.level_for(earned).map(|l| l.title.clone()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    amount: i64,
    reason: Option<String>,
    by: Option<String>,
}

/// `POST /api/v1/points/{connector}/{member}`
pub async fn grant(
    State(state): State<AppState>,
    Path((connector, member)): Path<(String, String)>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: GrantBody = body(payload)?;
    let by = actor(request.by.as_deref())?;
    let reason = required(request.reason.as_deref(), "reason", "\"活动奖励\"")?;
    if request.amount == 0 {
        return Err(invalid("amount", "`amount` must not be 0: positive grants, negative deducts"));
    }
    let balance = state
        .engine
        .grant_points(&ConnectorId::new(connector), &MemberId::new(member), request.amount, reason, &by)
        .await
        .map_err(engine_error)?;
    Ok(Json(json!({ "balance": balance.balance, "earned": balance.earned })))
}

/// `GET /api/v1/points/{connector}/leaderboard`
pub async fn leaderboard(
    State(state): State<AppState>,
    Path(connector): Path<String>,
    params: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let rows = state.engine.store().points_leaderboard(&ConnectorId::new(connector), limit(params.limit)).await?;
    Ok(Json(json!({ "members": rows })))
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    day: Option<String>,
}

/// `GET /api/v1/check-ins/{connector}/{group}`
pub async fn check_ins(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    params: Result<Query<DayQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let key = GroupKey::new(connector, group);
    let day = match params.day.as_deref() {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid("day", "write the day as YYYY-MM-DD, e.g. 2026-11-23"))?,
        None => local_day(state.engine.clock().now(), state.engine.rulebook().settings_for(&key).timezone()),
    };
    let list = state.engine.store().check_ins_on(&key, day).await?;
    Ok(Json(json!({ "group": key.to_string(), "day": day, "check_ins": list })))
}

/// `GET /api/v1/shop/items`
pub async fn items(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "items": state.engine.store().shop_items().await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    name: Option<String>,
    #[serde(default)]
    description: String,
    cost: i64,
    stock: Option<i64>,
    #[serde(default)]
    kind: ItemKind,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    by: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// `PUT /api/v1/shop/items/{id}`
pub async fn put_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    payload: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: ItemBody = body(payload)?;
    let by = actor(request.by.as_deref())?;
    let name = required(request.name.as_deref(), "name", "\"定制马克杯\"")?;
    if id.trim().is_empty() || id.chars().any(char::is_whitespace) {
        return Err(invalid("id", "an item id is one word members can type, e.g. `mug`"));
    }
    if request.cost < 1 {
        return Err(invalid("cost", "`cost` must be 1 point or more"));
    }
    if request.stock.is_some_and(|s| s < 0) {
        return Err(invalid("stock", "`stock` must be 0 or more (leave it out for unlimited)"));
    }
    let now = state.engine.clock().now();
    let item = ShopItem {
        id: id.clone(),
        name: name.to_owned(),
        description: request.description,
        cost: request.cost,
        stock: request.stock,
        kind: request.kind,
        enabled: request.enabled,
        updated_at: now,
    };
    let summary = match state.engine.locale() {
        qunzhu_engine::Locale::ZhCn => format!("{by} 设置商品「{name}」：{} 积分，库存 {}", item.cost, stock_text(item.stock)),
        qunzhu_engine::Locale::En => format!("{by} set item {name}: {} points, stock {}", item.cost, stock_text(item.stock)),
    };
    let audit = NewAuditEntry {
        time: now,
        actor: by,
        kind: "shop.item".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("shop".into()),
        summary,
        detail: None,
    };
    state.engine.store().save_shop_item(&item, &audit).await?;
    Ok(Json(json!(item)))
}

fn stock_text(stock: Option<i64>) -> String {
    stock.map_or_else(|| "∞".to_owned(), |s| s.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    item: Option<String>,
    connector: Option<String>,
    member: Option<String>,
    group: Option<String>,
    name: Option<String>,
    by: Option<String>,
}

/// `POST /api/v1/shop/redeem`
pub async fn redeem_for(State(state): State<AppState>, payload: Result<Json<Value>, JsonRejection>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: RedeemBody = body(payload)?;
    let by = actor(request.by.as_deref())?;
    let item_id = required(request.item.as_deref(), "item", "\"mug\"")?;
    let connector = ConnectorId::new(required(request.connector.as_deref(), "connector", "\"qq\"")?);
    let member_id = required(request.member.as_deref(), "member", "\"10001\"")?;
    let group = group_key(required(request.group.as_deref(), "group", "\"qq/123456\"")?, "group")?;
    let store = state.engine.store();
    let item = store.shop_item(item_id).await?.ok_or_else(|| ApiError::not_found("unknown_item", format!("no shop item `{item_id}`")))?;
    let member = Member { id: MemberId::new(member_id), name: request.name.clone(), role: qunzhu_core::Role::Member };
    let now = state.engine.clock().now();
    let group_name = store.list_groups().await?.into_iter().find(|g| g.key == group).and_then(|g| g.name).unwrap_or_else(|| group.group.to_string());
    let redeem_request = RedeemRequest {
        id: format!("api/{}/{member_id}/{}", now.timestamp_micros(), item.id),
        item: &item,
        connector: &connector,
        member: &member,
        group: &group,
        group_name: &group_name,
        cause: None,
        actor: &by,
        locale: state.engine.locale(),
        now,
    };
    match redeem(store.as_ref(), &redeem_request).await? {
        Ok(redemption) => Ok((StatusCode::CREATED, Json(json!(redemption)))),
        Err(refusal) => Err(ApiError::new(
            StatusCode::CONFLICT,
            refusal.code(),
            qunzhu_engine::shop::refusal_text(refusal, state.engine.locale()),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct RedemptionsQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/shop/redemptions`
pub async fn redemptions(
    State(state): State<AppState>,
    params: Result<Query<RedemptionsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let status = match params.status.as_deref() {
        None => None,
        Some(name) => Some(
            RedemptionStatus::from_name(name).ok_or_else(|| invalid("status", "`status` is one of pending, fulfilled, cancelled"))?,
        ),
    };
    Ok(Json(json!({ "redemptions": state.engine.store().list_redemptions(status, limit(params.limit)).await? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByBody {
    by: Option<String>,
}

/// `POST /api/v1/shop/redemptions/{id}/fulfil`
pub async fn fulfil(State(state): State<AppState>, Path(id): Path<String>, payload: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    settle(state, id, payload, true).await
}

/// `POST /api/v1/shop/redemptions/{id}/cancel`
pub async fn cancel(State(state): State<AppState>, Path(id): Path<String>, payload: Result<Json<Value>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    settle(state, id, payload, false).await
}

async fn settle(state: AppState, id: String, payload: Result<Json<Value>, JsonRejection>, fulfilled: bool) -> Result<Json<Value>, ApiError> {
    let request: ByBody = body(payload)?;
    let by = actor(request.by.as_deref())?;
    let redemption = state.engine.settle_redemption(&id, fulfilled, &by).await.map_err(engine_error)?;
    Ok(Json(json!(redemption)))
}
