//! Channels (渠道活码), group pools, join counts and the public landing route.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/channels?archived=true` | channels by id, each with its `link` |
//! | `POST /api/v1/channels` `{"id","name","tier","tags"?,"pool"?,"code"?,"by"}` | create one (201); a code is made when none is given |
//! | `GET /api/v1/channels/{id}` | one channel with its `link` |
//! | `PUT /api/v1/channels/{id}` `{"name","tier","tags"?,"pool"?,"code"?,"by"}` | replace it (the code stays unless given) |
//! | `DELETE /api/v1/channels/{id}?by=` | archive it: its code still attributes joins, its link no longer invites |
//! | `GET /api/v1/channels/{id}/qr.svg`, `…/qr.png` | the QR code of its link |
//! | `GET /api/v1/pools` | pools by id |
//! | `PUT /api/v1/pools/{id}` `{"name","groups":[{"group":"qq/1","cap":500,"invite_url"?}],"alert_at_percent"?,"by"}` | create or replace a pool |
//! | `GET /api/v1/pools/{id}` | a pool with each group's member count and where it routes now |
//! | `GET /api/v1/joins/counts?from=&until=` | joins and stays per channel and per tier (RFC 3339 times or `YYYY-MM-DD` days in UTC; `until` exclusive) |
//! | `GET /i/{code}` | the 活码 landing: counts the scan (audit row `channel.scan`) and redirects (302) to the invite link of the pool's current group, or shows the code to put in the join request |
//!
//! Ids are slugs (`a-z`, digits, `-`, `_`; 40 at most); tiers `strong`, `medium`, `weak` or a
//! slug of up to 24; codes 4–16 letters and digits (stored upper-case; made ones have 6
//! characters without 0/O/1/I/L). Errors: `invalid_request` with the `field`, `not_found`,
//! `channel_exists`, `code_taken` (409).
//!
//! Routing: the first group of the pool below its cap (members on record who have not left).
//! When every group is full or the last one reaches `alert_at_percent` (90 by default) of
//! its cap, one staff task asks for a new group ("请为渠道池 X 新建一个群并加入池") — no
//! platform qunzhu drives can create groups; saving the pool with its groups changed asks
//! again next time.

use std::io::Cursor;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_core::membership::{membership_audit, Channel, ChannelPool, PoolGroup};
use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, StaffTask, StoreError, TaskId, TaskStatus};
use qunzhu_engine::membership::{is_slug, is_tier, new_code, normalize_code};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{actor, body, group_key, invalid, query};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels", get(list).post(create))
        .route("/api/v1/channels/{id}", get(get_one).put(update).delete(archive))
        .route("/api/v1/channels/{id}/{file}", get(qr))
        .route("/api/v1/pools", get(list_pools))
        .route("/api/v1/pools/{id}", put(save_pool).get(get_pool))
        .route("/api/v1/joins/counts", get(join_counts))
        .route("/i/{code}", get(landing))
}

/// How many times a made code is drawn again when it is taken.
const CODE_ATTEMPTS: usize = 5;
const DEFAULT_ALERT_PERCENT: u8 = 90;

fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    match &state.public_url {
        Some(url) => url.to_string(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

/// A channel's 活码 link (`<public_url>/i/<code>`); the dashboard shows the same.
pub(crate) fn link(state: &AppState, headers: &HeaderMap, channel: &Channel) -> String {
    format!("{}/i/{}", base_url(state, headers), channel.code)
}

fn with_link(state: &AppState, headers: &HeaderMap, channel: &Channel) -> Value {
    json!({ "channel": channel, "link": link(state, headers, channel) })
}

fn not_found(what: &str) -> ApiError {
    ApiError::not_found("not_found", format!("{what} does not exist"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelInput {
    #[serde(default)]
    id: Option<String>,
    name: String,
    tier: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    pool: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    by: Option<String>,
}

/// Checks the fields; the code normalised (`None`: make one).
fn check(input: &ChannelInput) -> Result<Option<String>, ApiError> {
    if input.name.trim().is_empty() || input.name.chars().count() > 60 {
        return Err(invalid("name", "`name` is required (60 characters at most), e.g. \"公众号菜单\""));
    }
    if !is_tier(&input.tier) {
        return Err(invalid("tier", "`tier` is strong, medium, weak or a custom slug (a-z, digits, - and _, 24 at most)"));
    }
    if let Some(pool) = &input.pool {
        if !is_slug(pool, 40) {
            return Err(invalid("pool", "`pool` is a pool id (a slug)"));
        }
    }
    if input.tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 30) || input.tags.len() > 20 {
        return Err(invalid("tags", "`tags` are up to 20 non-empty texts of 30 characters at most"));
    }
    input
        .code
        .as_deref()
        .map(|code| normalize_code(code).ok_or_else(|| invalid("code", "`code` is 4–16 letters and digits, e.g. \"GZH2026\"")))
        .transpose()
}

fn conflict(error: StoreError, id: &str) -> ApiError {
    match error {
        StoreError::Conflict(message) if message.starts_with("invite code") => ApiError::new(
            StatusCode::CONFLICT,
            "code_taken",
            format!("邀请码已被其他渠道使用，请换一个或留空自动生成 ({message})"),
        )
        .with_field("code"),
        StoreError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "channel_exists", format!("渠道 `{id}` 已存在 (a channel `{id}` exists; pick another id or PUT to change it)"))
            .with_field("id"),
        StoreError::NotFound(_) => not_found(&format!("channel `{id}`")),
        other => other.into(),
    }
}

fn made_code() -> Result<String, ApiError> {
    new_code().map_err(ApiError::internal)
}

/// `GET /api/v1/channels`
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let channels = state.engine.store().list_channels(params.archived.unwrap_or(false)).await?;
    let channels: Vec<Value> = channels.iter().map(|c| with_link(&state, &headers, c)).collect();
    Ok(Json(json!({ "channels": channels })))
}

#[derive(Deserialize)]
struct ListQuery {
    archived: Option<bool>,
}

/// `POST /api/v1/channels`
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    input: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: ChannelInput = body(input)?;
    let by = actor(input.by.as_deref())?;
    let id = input.id.clone().unwrap_or_default();
    if !is_slug(&id, 40) {
        return Err(invalid("id", "`id` is a slug: a-z, digits, - and _, starting with a letter, 40 at most, e.g. \"gzh-menu\""));
    }
    let given = check(&input)?;
    let now = state.engine.clock().now();
    let store = state.engine.store();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let code = match &given {
            Some(code) => code.clone(),
            None => made_code()?,
        };
        let channel = Channel {
            id: id.clone(),
            name: input.name.trim().to_owned(),
            tier: input.tier.clone(),
            tags: qunzhu_core::membership::clean_tags(&input.tags),
            pool: input.pool.clone(),
            code,
            archived: false,
            created_at: now,
            updated_at: now,
            updated_by: by.clone(),
        };
        let audit = membership_audit("channel.create", &by, now, format!("新建渠道「{}」({})，邀请码 {}", channel.name, channel.tier, channel.code), None);
        match store.create_channel(&channel, &audit).await {
            Ok(channel) => return Ok((StatusCode::CREATED, Json(with_link(&state, &headers, &channel)))),
            Err(StoreError::Conflict(message)) if given.is_none() && message.starts_with("invite code") && attempt < CODE_ATTEMPTS => continue,
            Err(error) => return Err(conflict(error, &id)),
        }
    }
}

async fn channel(state: &AppState, id: &str) -> Result<Channel, ApiError> {
    state.engine.store().get_channel(id).await?.ok_or_else(|| not_found(&format!("channel `{id}`")))
}

/// `GET /api/v1/channels/{id}`
async fn get_one(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let channel = channel(&state, &id).await?;
    Ok(Json(with_link(&state, &headers, &channel)))
}

/// `PUT /api/v1/channels/{id}`
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    input: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let input: ChannelInput = body(input)?;
    let by = actor(input.by.as_deref())?;
    if input.id.as_deref().is_some_and(|given| given != id) {
        return Err(invalid("id", "`id` cannot change; create a new channel instead"));
    }
    let code = check(&input)?;
    let existing = channel(&state, &id).await?;
    let now = state.engine.clock().now();
    let updated = Channel {
        name: input.name.trim().to_owned(),
        tier: input.tier.clone(),
        tags: qunzhu_core::membership::clean_tags(&input.tags),
        pool: input.pool.clone(),
        code: code.unwrap_or_else(|| existing.code.clone()),
        updated_at: now,
        updated_by: by.clone(),
        ..existing
    };
    let audit = membership_audit("channel.update", &by, now, format!("修改渠道「{}」", updated.name), None);
    let saved = state.engine.store().update_channel(&updated, &audit).await.map_err(|e| conflict(e, &id))?;
    Ok(Json(with_link(&state, &headers, &saved)))
}

#[derive(Deserialize)]
struct ByQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/channels/{id}?by=`
async fn archive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Result<Query<ByQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let by = actor(query(params)?.by.as_deref())?;
    let existing = channel(&state, &id).await?;
    let now = state.engine.clock().now();
    let archived = Channel { archived: true, updated_at: now, updated_by: by.clone(), ..existing };
    let audit = membership_audit("channel.archive", &by, now, format!("停用渠道「{}」", archived.name), None);
    let saved = state.engine.store().update_channel(&archived, &audit).await.map_err(|e| conflict(e, &id))?;
    Ok(Json(with_link(&state, &headers, &saved)))
}

/// `GET /api/v1/channels/{id}/qr.svg` and `…/qr.png`
async fn qr(State(state): State<AppState>, headers: HeaderMap, Path((id, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    let channel = channel(&state, &id).await?;
    let url = link(&state, &headers, &channel);
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(ApiError::internal)?;
    match file.as_str() {
        "qr.svg" => Ok(([(header::CONTENT_TYPE, "image/svg+xml")], qr_svg(&code)).into_response()),
        "qr.png" => Ok(([(header::CONTENT_TYPE, "image/png")], qr_png(&code)?).into_response()),
        _ => Err(ApiError::not_found("not_found", "no such endpoint; use qr.svg or qr.png")),
    }
}

/// Modules of quiet zone around the code.
const QUIET: usize = 4;
/// Pixels per module in the PNG.
const PNG_SCALE: u32 = 8;

fn dark(code: &qrcode::QrCode) -> Vec<(usize, usize)> {
    let width = code.width();
    code.to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == qrcode::Color::Dark)
        .map(|(i, _)| (i % width, i / width))
        .collect()
}

/// One `M x y h1 v1 h-1 z` square per dark module, on a white background with a quiet zone.
fn qr_svg(code: &qrcode::QrCode) -> String {
    let side = code.width() + 2 * QUIET;
    let mut path = String::new();
    for (x, y) in dark(code) {
        path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET, y + QUIET));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        px = side * 8
    )
}

fn qr_png(code: &qrcode::QrCode) -> Result<Vec<u8>, ApiError> {
    let side = u32::try_from(code.width() + 2 * QUIET).map_err(ApiError::internal)?;
    let mut image = image::GrayImage::from_pixel(side * PNG_SCALE, side * PNG_SCALE, image::Luma([255]));
    for (x, y) in dark(code) {
        let (x, y) = (u32::try_from(x + QUIET).unwrap_or(0), u32::try_from(y + QUIET).unwrap_or(0));
        for dy in 0..PNG_SCALE {
            for dx in 0..PNG_SCALE {
                image.put_pixel(x * PNG_SCALE + dx, y * PNG_SCALE + dy, image::Luma([0]));
            }
        }
    }
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).map_err(ApiError::internal)?;
    Ok(bytes.into_inner())
}

// --- pools ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolInput {
    name: String,
    groups: Vec<PoolGroupInput>,
    #[serde(default)]
    alert_at_percent: Option<u8>,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolGroupInput {
    group: String,
    cap: u32,
    #[serde(default)]
    invite_url: Option<String>,
}

/// `GET /api/v1/pools`
async fn list_pools(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "pools": state.engine.store().list_pools().await? })))
}

/// `PUT /api/v1/pools/{id}`
async fn save_pool(
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let input: PoolInput = body(input)?;
    let by = actor(input.by.as_deref())?;
    if !is_slug(&id, 40) {
        return Err(invalid("id", "a pool id is a slug: a-z, digits, - and _, starting with a letter, 40 at most"));
    }
    if input.name.trim().is_empty() {
        return Err(invalid("name", "`name` is required, e.g. \"粉丝池\""));
    }
    let alert_at_percent = input.alert_at_percent.unwrap_or(DEFAULT_ALERT_PERCENT);
    if !(1..=100).contains(&alert_at_percent) {
        return Err(invalid("alert_at_percent", "`alert_at_percent` is 1–100"));
    }
    let mut groups = Vec::new();
    for (i, g) in input.groups.iter().enumerate() {
        let group = group_key(&g.group, &format!("groups[{i}].group"))?;
        if g.cap == 0 {
            return Err(invalid(&format!("groups[{i}].cap"), "`cap` is the member count at which the group is full, e.g. 480"));
        }
        let invite_url = g.invite_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        if invite_url.is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
            return Err(invalid(&format!("groups[{i}].invite_url"), "`invite_url` is the platform's invite link, starting with https://"));
        }
        if groups.iter().any(|p: &PoolGroup| p.group == group) {
            return Err(invalid(&format!("groups[{i}].group"), "a group is in a pool once"));
        }
        groups.push(PoolGroup { group, cap: g.cap, invite_url: invite_url.map(str::to_owned) });
    }
    let store = state.engine.store();
    let now = state.engine.clock().now();
    let existing = store.get_pool(&id).await?;
    // Staff are asked again once the groups change (a new group was added, caps raised…).
    let alerted_at = existing.filter(|p| p.groups == groups).and_then(|p| p.alerted_at);
    let pool = ChannelPool { id: id.clone(), name: input.name.trim().to_owned(), groups, alert_at_percent, alerted_at, updated_at: now, updated_by: by.clone() };
    let audit = membership_audit("pool.save", &by, now, format!("保存渠道池「{}」（{} 个群）", pool.name, pool.groups.len()), None);
    Ok(Json(json!({ "pool": store.save_pool(&pool, &audit).await? })))
}

/// Each pool group's member count (the API's pool answer and the dashboard's pool list).
pub(crate) async fn counts(state: &AppState, pool: &ChannelPool) -> Result<Vec<u32>, ApiError> {
    let mut counts = Vec::new();
    for group in &pool.groups {
        counts.push(state.engine.store().count_members(&group.group).await?);
    }
    Ok(counts)
}

/// `GET /api/v1/pools/{id}`
async fn get_pool(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let pool = state.engine.store().get_pool(&id).await?.ok_or_else(|| not_found(&format!("pool `{id}`")))?;
    let counts = counts(&state, &pool).await?;
    let route = pool.route(&counts);
    let groups: Vec<Value> = pool.groups.iter().zip(&counts).map(|(g, n)| json!({ "group": g.group, "members": n, "cap": g.cap })).collect();
    Ok(Json(json!({
        "pool": pool,
        "groups": groups,
        "current": route.group.map(|i| &pool.groups[i].group),
        "needs_new_group": route.needs_new_group,
    })))
}

/// Asks staff once for a new group for the pool.
async fn alert(state: &AppState, pool: &ChannelPool, all_full: bool) -> Result<(), ApiError> {
    let store = state.engine.store();
    let now = state.engine.clock().now();
    let Some(last) = pool.groups.last() else { return Ok(()) };
    if !store.mark_pool_alerted(&pool.id, now).await? {
        return Ok(());
    }
    let l = state.engine.locale();
    let step = format!(
        "{}{}",
        l.pick(&format!("请为渠道池「{}」新建一个群并加入池", pool.name), &format!("Open a new group for the channel pool “{}” and add it to the pool", pool.name)),
        l.pick(
            if all_full { "（池中的群都已满，新成员暂时无法入群）" } else { "（池中最后一个群快满了）" },
            if all_full { " (every group in it is full; newcomers cannot join)" } else { " (its last group is nearly full)" },
        )
    );
    let id = format!("pool/{}/{}", pool.id, now.timestamp_micros());
    let action = Action {
        id: ActionId::new(id.clone()),
        group: last.group.clone(),
        kind: ActionKind::NotifyStaff { text: step.clone() },
        rule: "channels".into(),
        cause: None,
        explanation: l.pick("渠道池需要新群", "the channel pool needs a new group").to_owned(),
        not_before: None,
        created_at: now,
    };
    let task = StaffTask {
        id: TaskId::new(id),
        group: last.group.clone(),
        title: l.pick("渠道池需要新群", "A channel pool needs a new group").to_owned(),
        step,
        action,
        status: TaskStatus::Open,
        created_at: now,
        updated_at: now,
        updated_by: None,
    };
    store.commit(&Commit { tasks: vec![task], ..Commit::default() }).await?;
    Ok(())
}

// --- join counts ---

#[derive(Deserialize)]
struct CountsQuery {
    from: Option<String>,
    until: Option<String>,
}

fn time(text: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(time.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| invalid(field, format!("`{field}` is an RFC 3339 time or a day, e.g. 2026-11-01")))
}

/// `GET /api/v1/joins/counts?from=&until=`
async fn join_counts(State(state): State<AppState>, params: Result<Query<CountsQuery>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let params = query(params)?;
    let from = time(params.from.as_deref(), "from")?;
    let until = time(params.until.as_deref(), "until")?;
    Ok(Json(json!(state.engine.store().join_counts(from, until).await?)))
}

// --- the landing route ---

/// `GET /i/{code}`: the 活码.
async fn landing(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, ApiError> {
    let store = state.engine.store();
    let found = match normalize_code(&code) {
        Some(code) => store.channel_by_code(&code).await?,
        None => None,
    };
    let Some(channel) = found.filter(|c| !c.archived) else {
        return Ok((StatusCode::NOT_FOUND, page("二维码已失效", "这个渠道码已停用或不存在，请向工作人员索取新的二维码。", None)).into_response());
    };
    let now = state.engine.clock().now();
    let pool = match &channel.pool {
        Some(id) => store.get_pool(id).await?,
        None => None,
    };
    let target = match &pool {
        Some(pool) => {
            let counts = counts(&state, pool).await?;
            let route = pool.route(&counts);
            if route.needs_new_group {
                alert(&state, pool, route.group.is_none()).await?;
            }
            route.group.map(|i| pool.groups[i].clone())
        }
        None => None,
    };
    let detail = json!({ "channel": channel.id, "group": target.as_ref().map(|g| g.group.to_string()) }).to_string();
    let audit = membership_audit("channel.scan", "public", now, format!("扫码：渠道「{}」", channel.name), Some(detail));
    store.commit(&Commit { audit: vec![audit], ..Commit::default() }).await?;
    match target {
        Some(PoolGroup { invite_url: Some(url), .. }) => Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response()),
        Some(_) => Ok(page("申请入群", "请在群聊中申请加入，并在申请理由里填写下面的渠道码：", Some(&channel.code)).into_response()),
        None if pool.is_some() => Ok(page("群已满", "群已满，工作人员正在开新群，请稍后再扫码。", None).into_response()),
        None => Ok(page("申请入群", "申请入群时，请在申请理由里填写下面的渠道码：", Some(&channel.code)).into_response()),
    }
}

fn page(title: &str, text: &str, code: Option<&str>) -> Html<String> {
    let markup = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { "body{font-family:sans-serif;max-width:28em;margin:3em auto;padding:0 1em;text-align:center}code{font-size:2em;letter-spacing:.15em}" }
            }
            body {
                h1 { (title) }
                p { (text) }
                @if let Some(code) = code {
                    p { code { (code) } }
                }
            }
        }
    };
    Html(markup.into_string())
}
