//! Group analytics, conversions and daily digests (数据管理); the figures and their rules are
//! documented in `qunzhu_engine::insight`.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/groups/{c}/{g}/analytics/weekly?weeks=8` | the weekly activity table, oldest week first (the current week last) |
//! | `GET …/analytics/daily?days=30` | per local day, oldest first: messages, active members (distinct speakers), joins, leaves |
//! | `GET …/analytics/core-members?days=28` | the 3–7 members who carry the group, by engagement score |
//! | `GET …/analytics/silent-members?days=14` | members still in the group who posted nothing in the window |
//! | `GET …/analytics/peak-hours?days=28` | messages by local weekday (Monday first) × hour |
//! | `GET …/analytics/life-stage` | new / growing / mature / cooling / dormant, with the weeks it was judged on |
//! | `POST /api/v1/conversions` | record a sale: `{"connector","member","amount_cents","product","at"?,"group"?,"key"?}` (or an `Idempotency-Key` header) |
//! | `GET /api/v1/conversions?` / `GET /api/v1/conversions/rates?by=channel\|tier\|group` | conversions; conversion rate = converting members / joins through it |
//! | `GET /api/v1/groups/{c}/{g}/digests` / `…/digests/{date}` | kept daily digests (群精华) |
//!
//! Every analytics route answers CSV with `?format=csv` or `Accept: text/csv`.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use qunzhu_core::insight::{Conversion, Granularity, day_bucket};
use qunzhu_core::{ConnectorId, GroupKey, MemberId};
use qunzhu_engine::insight;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::input::{body, group_key, invalid, query};
use super::signups::csv_cell;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups/{connector}/{group}/analytics/weekly", get(weekly))
        .route("/api/v1/groups/{connector}/{group}/analytics/daily", get(daily))
        .route("/api/v1/groups/{connector}/{group}/analytics/core-members", get(core_members))
        .route("/api/v1/groups/{connector}/{group}/analytics/silent-members", get(silent_members))
        .route("/api/v1/groups/{connector}/{group}/analytics/peak-hours", get(peak_hours))
        .route("/api/v1/groups/{connector}/{group}/analytics/life-stage", get(life_stage))
        .route("/api/v1/groups/{connector}/{group}/digests", get(digests))
        .route("/api/v1/groups/{connector}/{group}/digests/{date}", get(digest))
        .route("/api/v1/conversions", get(conversions).post(record_conversion))
        .route("/api/v1/conversions/rates", get(rates))
}

#[derive(Deserialize)]
struct AnalyticsQuery {
    weeks: Option<u32>,
    days: Option<u32>,
    format: Option<String>,
}

fn wants_csv(params: &AnalyticsQuery, headers: &HeaderMap) -> bool {
    params.format.as_deref() == Some("csv")
        || headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"))
}

fn csv_response(name: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> Response {
    let mut out = String::from("\u{feff}");
    out.push_str(&header_row.join(","));
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], out).into_response()
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The group, the group's local today and timezone.
pub(crate) fn context(state: &AppState, connector: &str, group: &str) -> (GroupKey, NaiveDate, insight::Tz) {
    let key = GroupKey::new(connector, group);
    let tz = state.engine.rulebook().settings_for(&key).timezone();
    let today = state.engine.clock().now().with_timezone(&tz).date_naive();
    (key, today, tz)
}

fn window(days: Option<u32>, default: u32, field: &str) -> Result<u32, ApiError> {
    match days.unwrap_or(default) {
        0 => Err(invalid(field, "give a number from 1 to 366")),
        n if n > 366 => Err(invalid(field, "give a number from 1 to 366")),
        n => Ok(n),
    }
}

/// `GET …/analytics/weekly?weeks=`
async fn weekly(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let weeks = match params.weeks.unwrap_or(8) {
        n @ 1..=104 => n,
        _ => return Err(invalid("weeks", "give a number of weeks from 1 to 104")),
    };
    let (key, today, _) = context(&state, &connector, &group);
    let table = insight::weekly_table(state.engine.store().as_ref(), &key, today, weeks).await?;
    if wants_csv(&params, &headers) {
        let rows = table
            .iter()
            .map(|w| {
                vec![
                    w.week_start.to_string(),
                    w.members.to_string(),
                    w.active.to_string(),
                    w.silent_pct.to_string(),
                    w.messages.to_string(),
                    w.joins.to_string(),
                    w.leaves.to_string(),
                    w.check_ins.to_string(),
                    w.violations.to_string(),
                    w.questions.to_string(),
                    w.answers.to_string(),
                    opt(w.messages_change_pct),
                    opt(w.active_change_pct),
                ]
            })
            .collect();
        let header_row = [
            "week_start", "members", "active", "silent_pct", "messages", "joins", "leaves", "check_ins", "violations", "questions",
            "answers", "messages_change_pct", "active_change_pct",
        ];
        return Ok(csv_response("weekly", &header_row, rows));
    }
    Ok(Json(json!({ "group": key.to_string(), "weeks": table })).into_response())
}

/// The group's day rows (its own and its members') of the `days` local days up to `today`.
pub(crate) async fn member_days(state: &AppState, key: &GroupKey, today: NaiveDate, days: u32) -> Result<Vec<qunzhu_core::insight::Rollup>, qunzhu_core::StoreError> {
    let from = day_bucket(today - Duration::days(i64::from(days) - 1));
    state.engine.store().insight_rollups(key, Granularity::Day, from, day_bucket(today) + 1).await
}

fn engagement_csv(name: &str, rows: &[insight::Engagement]) -> Response {
    let rows = rows
        .iter()
        .map(|e| {
            vec![
                e.member.to_string(),
                e.score.to_string(),
                e.messages.to_string(),
                e.days_active.to_string(),
                e.answers.to_string(),
                e.questions.to_string(),
                e.check_ins.to_string(),
                opt(e.last_active),
            ]
        })
        .collect();
    csv_response(name, &["member", "score", "messages", "days_active", "answers", "questions", "check_ins", "last_active"], rows)
}

/// `GET …/analytics/core-members?days=`
async fn core_members(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let days = window(params.days, 28, "days")?;
    let (key, today, _) = context(&state, &connector, &group);
    let rows = member_days(&state, &key, today, days).await?;
    let core = insight::core_members(&rows);
    if wants_csv(&params, &headers) {
        return Ok(engagement_csv("core-members", &core));
    }
    Ok(Json(json!({
        "group": key.to_string(),
        "days": days,
        "score": "messages + 5 × days_active + 3 × answers + check_ins",
        "members": core,
    }))
    .into_response())
}

/// `GET …/analytics/silent-members?days=`: members on the rollups (a join or any activity
/// recorded) who have not left and posted nothing in the window.
async fn silent_members(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let days = window(params.days, 14, "days")?;
    let (key, today, _) = context(&state, &connector, &group);
    let silent = silent_list(&state, &key, today, days).await?;
    if wants_csv(&params, &headers) {
        let rows = silent
            .iter()
            .map(|s| {
                ["member", "name", "joined_at", "last_active"]
                    .iter()
                    .map(|k| s[*k].as_str().map(str::to_owned).unwrap_or_default())
                    .collect()
            })
            .collect();
        return Ok(csv_response("silent-members", &["member", "name", "joined_at", "last_active"], rows));
    }
    Ok(Json(json!({ "group": key.to_string(), "days": days, "members": silent })).into_response())
}

/// The group's silent members (the silent-members route and the dashboard's group page):
/// members on the rollups who have not left and posted nothing in the `days` up to `today`,
/// as `{member, name, joined_at, last_active}`.
pub(crate) async fn silent_list(state: &AppState, key: &GroupKey, today: NaiveDate, days: u32) -> Result<Vec<Value>, qunzhu_core::StoreError> {
    let store = state.engine.store();
    let all = store.insight_rollups(key, Granularity::Day, i64::MIN, i64::MAX).await?;
    let since = day_bucket(today - Duration::days(i64::from(days) - 1));
    let known: BTreeSet<MemberId> = all.iter().filter_map(|r| r.member.clone()).collect();
    let spoke: BTreeSet<MemberId> =
        all.iter().filter(|r| r.bucket >= since && r.counts.messages > 0).filter_map(|r| r.member.clone()).collect();
    let history = insight::engagement(&all);
    let mut silent = Vec::new();
    for member in known.difference(&spoke) {
        let record = store.member(key, member).await?;
        if record.as_ref().is_some_and(|r| r.left_at.is_some()) {
            continue;
        }
        let last_active = history.iter().find(|e| &e.member == member).and_then(|e| e.last_active);
        silent.push(json!({
            "member": member,
            "name": record.as_ref().and_then(|r| r.name.clone()),
            "joined_at": record.as_ref().and_then(|r| r.joined_at),
            "last_active": last_active,
        }));
    }
    Ok(silent)
}

/// One local day of the daily series.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct DayRow {
    pub day: NaiveDate,
    pub messages: i64,
    /// Distinct members who posted that day.
    pub active: i64,
    pub joins: i64,
    pub leaves: i64,
}

/// The `days` local days up to `today`, oldest first, from the group's day rows (the daily
/// route and the dashboard's charts).
pub(crate) async fn daily_rows(state: &AppState, key: &GroupKey, today: NaiveDate, days: u32) -> Result<Vec<DayRow>, qunzhu_core::StoreError> {
    let rows = member_days(state, key, today, days).await?;
    let mut out: Vec<DayRow> = (0..i64::from(days))
        .rev()
        .map(|back| DayRow { day: today - Duration::days(back), messages: 0, active: 0, joins: 0, leaves: 0 })
        .collect();
    let first = day_bucket(today) - i64::from(days) + 1;
    for row in rows {
        let Some(slot) = usize::try_from(row.bucket - first).ok().and_then(|i| out.get_mut(i)) else { continue };
        match row.member {
            None => {
                slot.messages += row.counts.messages;
                slot.joins += row.counts.joins;
                slot.leaves += row.counts.leaves;
            }
            Some(_) if row.counts.messages > 0 => slot.active += 1,
            Some(_) => {}
        }
    }
    Ok(out)
}

/// `GET …/analytics/daily?days=`
async fn daily(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let days = window(params.days, 30, "days")?;
    let (key, today, _) = context(&state, &connector, &group);
    let rows = daily_rows(&state, &key, today, days).await?;
    if wants_csv(&params, &headers) {
        let csv_rows = rows
            .iter()
            .map(|r| vec![r.day.to_string(), r.messages.to_string(), r.active.to_string(), r.joins.to_string(), r.leaves.to_string()])
            .collect();
        return Ok(csv_response("daily", &["day", "messages", "active", "joins", "leaves"], csv_rows));
    }
    Ok(Json(json!({ "group": key.to_string(), "days": days, "rows": rows })).into_response())
}

/// `GET …/analytics/peak-hours?days=`
async fn peak_hours(
    State(state): State<AppState>,
    Path((connector, group)): Path<(String, String)>,
    headers: HeaderMap,
    params: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let days = window(params.days, 28, "days")?;
    let (key, _, tz) = context(&state, &connector, &group);
    let (from, until) = insight::hour_range(state.engine.clock().now(), days);
    let rows = state.engine.store().insight_rollups(&key, Granularity::Hour, from, until).await?;
    let grid = insight::peak_hours(&rows, tz);
    const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    if wants_csv(&params, &headers) {
        let mut header_row = vec!["weekday".to_owned()];
        header_row.extend((0..24).map(|h| h.to_string()));
        let header_refs: Vec<&str> = header_row.iter().map(String::as_str).collect();
        let rows = grid
            .iter()
            .zip(WEEKDAYS)
            .map(|(hours, day)| std::iter::once(day.to_owned()).chain(hours.iter().map(i64::to_string)).collect())
            .collect();
        return Ok(csv_response("peak-hours", &header_refs, rows));
    }
    Ok(Json(json!({ "group": key.to_string(), "days": days, "timezone": tz.name(), "weekdays": WEEKDAYS, "grid": grid })).into_response())
}

/// `GET …/analytics/life-stage`
async fn life_stage(State(state): State<AppState>, Path((connector, group)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let (key, today, _) = context(&state, &connector, &group);
    let (stage, weeks) = insight::group_life_stage(state.engine.store().as_ref(), &key, today).await?;
    Ok(Json(json!({ "group": key.to_string(), "stage": stage, "weeks": weeks })))
}

/// `GET …/digests`
async fn digests(State(state): State<AppState>, Path((connector, group)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let key = GroupKey::new(connector.as_str(), group.as_str());
    let list = state.engine.store().list_digests(&key, 60).await?;
    let list: Vec<Value> = list.iter().map(digest_json).collect();
    Ok(Json(json!({ "group": key.to_string(), "digests": list })))
}

fn digest_json(d: &qunzhu_core::insight::DigestRecord) -> Value {
    json!({
        "day": d.day,
        "created_at": d.created_at,
        "digest": serde_json::from_str::<Value>(&d.body).unwrap_or(Value::Null),
        "text": d.text,
    })
}

/// `GET …/digests/{date}`
async fn digest(State(state): State<AppState>, Path((connector, group, date)): Path<(String, String, String)>) -> Result<Json<Value>, ApiError> {
    let key = GroupKey::new(connector.as_str(), group.as_str());
    let day: NaiveDate = date.parse().map_err(|_| invalid("date", "write the day as YYYY-MM-DD, e.g. 2026-06-15"))?;
    let found = state
        .engine
        .store()
        .digest(&key, day)
        .await?
        .ok_or_else(|| ApiError::not_found("not_found", format!("no digest of {key} for {day} is kept")))?;
    Ok(Json(digest_json(&found)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversionInput {
    connector: String,
    member: String,
    amount_cents: i64,
    product: String,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    key: Option<String>,
}

/// `POST /api/v1/conversions`: 201 with the conversion, or 200 with the stored one when its
/// idempotency key was seen.
async fn record_conversion(
    State(state): State<AppState>,
    headers: HeaderMap,
    input: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: ConversionInput = body(input)?;
    if input.member.trim().is_empty() {
        return Err(invalid("member", "give the member's platform id"));
    }
    if input.product.trim().is_empty() {
        return Err(invalid("product", "name the product sold"));
    }
    if input.amount_cents < 0 {
        return Err(invalid("amount_cents", "the amount is in cents (分) and cannot be negative"));
    }
    let connector = ConnectorId::new(input.connector.as_str());
    let member = MemberId::new(input.member.trim());
    let at = input.at.unwrap_or_else(|| state.engine.clock().now());
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let id = input
        .key
        .or(header_key)
        .unwrap_or_else(|| format!("conv:{connector}/{member}/{}/{}", input.product, at.timestamp_micros()));
    let store = state.engine.store();
    let group = match input.group.as_deref() {
        Some(text) => Some(group_key(text, "group")?),
        None => store
            .member_profile(&connector, &member)
            .await?
            .and_then(|p| p.groups.into_iter().filter(|g| g.joined_at.is_some()).max_by_key(|g| g.joined_at).map(|g| g.group)),
    };
    let join = match &group {
        Some(g) => store.latest_join(g, &member).await?,
        None => None,
    };
    let channel = join.as_ref().and_then(|j| j.channel.as_ref());
    let conversion = Conversion {
        id,
        connector,
        member,
        amount_cents: input.amount_cents,
        product: input.product.trim().to_owned(),
        at,
        group,
        channel: channel.map(|c| c.id.clone()),
        tier: channel.map(|c| c.tier.clone()),
    };
    let (stored, created) = store.record_conversion(&conversion).await?;
    let status = if created { axum::http::StatusCode::CREATED } else { axum::http::StatusCode::OK };
    Ok((status, Json(json!({ "conversion": stored, "created": created }))).into_response())
}

/// `GET /api/v1/conversions`
async fn conversions(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "conversions": state.engine.store().list_conversions().await? })))
}

#[derive(Deserialize)]
struct RatesQuery {
    by: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/conversions/rates?by=channel|tier|group`: per key, the joins through it (the
/// join log for channels and tiers, the rollups' joins for groups), the distinct members who
/// converted, the rate (converting members / joins) and the revenue.
async fn rates(State(state): State<AppState>, headers: HeaderMap, params: Result<Query<RatesQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let params = query(params)?;
    let by = params.by.as_deref().unwrap_or("channel");
    let rows = conversion_rates(&state, by).await?;
    if params.format.as_deref() == Some("csv") || headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv")) {
        let csv_rows = rows.iter().map(|r| vec![r.key.clone(), r.joins.to_string(), r.converted_members.to_string(), opt(r.rate), r.revenue_cents.to_string()]).collect();
        return Ok(csv_response("conversion-rates", &["key", "joins", "converted_members", "rate", "revenue_cents"], csv_rows));
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "key": if r.key.is_empty() { Value::Null } else { Value::String(r.key) }, "joins": r.joins, "converted_members": r.converted_members, "rate": r.rate, "revenue_cents": r.revenue_cents }))
        .collect();
    Ok(Json(json!({ "by": by, "rates": rows })).into_response())
}

/// One row of conversion rates: a channel, tier or group (`""`: unattributed).
pub(crate) struct RateRow {
    pub key: String,
    pub joins: u64,
    pub converted_members: usize,
    pub rate: Option<f64>,
    pub revenue_cents: i64,
}

/// Conversion rates by `channel`, `tier` or `group` (the API's and the dashboard's).
pub(crate) async fn conversion_rates(state: &AppState, by: &str) -> Result<Vec<RateRow>, ApiError> {
    let store = state.engine.store();
    let all = store.list_conversions().await?;
    let mut joins: BTreeMap<String, u64> = BTreeMap::new();
    let key_of: fn(&Conversion) -> Option<String> = match by {
        "channel" | "tier" => {
            let counts = store.join_counts(None, None).await?;
            let list = if by == "channel" { counts.by_channel } else { counts.by_tier };
            for c in list {
                joins.insert(c.key.unwrap_or_default(), c.joins);
            }
            if by == "channel" { |c| c.channel.clone() } else { |c| c.tier.clone() }
        }
        "group" => {
            for g in store.list_groups().await? {
                let rows = store.insight_rollups(&g.key, Granularity::Day, i64::MIN, i64::MAX).await?;
                let n: i64 = rows.iter().filter(|r| r.member.is_none()).map(|r| r.counts.joins).sum();
                joins.insert(g.key.to_string(), u64::try_from(n).unwrap_or(0));
            }
            |c| c.group.as_ref().map(ToString::to_string)
        }
        _ => return Err(invalid("by", "give `channel`, `tier` or `group`")),
    };
    let mut members: BTreeMap<String, BTreeSet<(ConnectorId, MemberId)>> = BTreeMap::new();
    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    for c in &all {
        let k = key_of(c).unwrap_or_default();
        members.entry(k.clone()).or_default().insert((c.connector.clone(), c.member.clone()));
        *revenue.entry(k.clone()).or_default() += c.amount_cents;
        joins.entry(k).or_insert(0);
    }
    Ok(joins
        .iter()
        .map(|(k, n)| {
            let converted = members.get(k).map_or(0, BTreeSet::len);
            let rate = (*n > 0).then(|| (converted as f64 / *n as f64 * 10_000.0).round() / 10_000.0);
            RateRow { key: k.clone(), joins: *n, converted_members: converted, rate, revenue_cents: revenue.get(k).copied().unwrap_or(0) }
        })
        .collect())
}
