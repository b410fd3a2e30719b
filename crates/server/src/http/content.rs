//! The content library (素材库) API and the FAQ's statistics and dry test.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/v1/content?tag=&limit=` | items, newest first, optionally with one tag |
//! | `POST /api/v1/content` `{"title","body","tags"?,"by"}` | create (201) |
//! | `GET /api/v1/content/{id}` | one item |
//! | `PUT /api/v1/content/{id}` `{"title","body","tags"?,"by"}` | replace its title, body and tags |
//! | `DELETE /api/v1/content/{id}?by=` | delete (refused while the rulebook answers with it) |
//! | `GET /api/v1/faq/stats?group=&template=&entry=&from=&to=&limit=` | hits per entry, group and local day, with totals per entry |
//! | `POST /api/v1/faq/test` `{"group","text","member"?}` | which entry would answer and why, acting on nothing |
//!
//! A body is `{"type":"text","text":"…"}` (placeholders `{name}`, `{group}`, `{rules}`),
//! `{"type":"image","url":"https://…"}` or `{"type":"image","data":"<base64>"}` (optional
//! `"caption"`), or `{"type":"link","url":"https://…","title":"…"}`. Every change writes an
//! audit row (`content.create`, `content.update`, `content.delete`) in its transaction.
//! Bad input answers `400 invalid_content` with every problem at its path, or `400
//! invalid_request` with the `field`; an unknown item `404 not_found`; deleting an item the
//! rulebook still uses `409 content_in_use`, naming where.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use qunzhu_core::content::{ContentBody, ContentDraft};
use qunzhu_core::faq::FaqStatsFilter;
use qunzhu_core::{GroupKey, Member, Message, StoreError};
use qunzhu_engine::problems::Problem;
use qunzhu_engine::rules::auto_reply::{self, settings::PLACEHOLDERS};
use qunzhu_engine::rules::content::{self as content_rules, Fill};
use qunzhu_engine::rules::template_text;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ProblemBody};
use super::input::{actor, body, group_key, invalid, limit, query, required};

/// Longest question `faq/test` takes, in characters.
const MAX_QUESTION_CHARS: usize = 2_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentRequest {
    title: Option<String>,
    body: Option<ContentBody>,
    #[serde(default)]
    tags: Vec<String>,
    by: Option<String>,
}

fn invalid_content(problems: &[Problem]) -> ApiError {
    let mut error = ApiError::bad_request(
        "invalid_content",
        format!(
            "素材有 {} 处问题，未保存 (the item has {} problem(s); nothing was saved)",
            problems.len(),
            problems.len()
        ),
    );
    error.problems = problems
        .iter()
        .map(|p| ProblemBody {
            path: p.dotted_path(),
            message: p.message.clone(),
        })
        .collect();
    error
}

/// The request as a draft, checked.
fn draft(state: &AppState, request: ContentRequest) -> Result<ContentDraft, ApiError> {
    let by = actor(request.by.as_deref())?;
    let body = request.body.ok_or_else(|| {
        invalid(
            "body",
            "`body` is required, e.g. {\"type\":\"text\",\"text\":\"…\"}; types: text, image, link",
        )
    })?;
    let draft = ContentDraft {
        title: request.title.unwrap_or_default(),
        body,
        tags: request.tags,
        by,
        at: state.engine.clock().now(),
    };
    let problems = content_rules::validate(&draft);
    if problems.is_empty() {
        Ok(draft)
    } else {
        Err(invalid_content(&problems))
    }
}

fn item_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            invalid(
                "id",
                format!("`{text}` is not a content item id (1, 2, 3…)"),
            )
        })
}

fn no_item(id: i64) -> ApiError {
    ApiError::not_found("not_found", format!("content item #{id} does not exist"))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    tag: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/content?tag=售后&limit=`
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let tag = q.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let items = state
        .engine
        .store()
        .content_list(tag, limit(q.limit))
        .await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /api/v1/content`
pub async fn create(
    State(state): State<AppState>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = draft(&state, body(raw)?)?;
    let item = state.engine.store().content_create(&draft).await?;
    Ok((StatusCode::CREATED, Json(json!({ "item": item }))))
}

/// `GET /api/v1/content/{id}`
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = item_id(&id)?;
    let item = state
        .engine
        .store()
        .content_get(id)
        .await?
        .ok_or_else(|| no_item(id))?;
    Ok(Json(json!({ "item": item })))
}

/// `PUT /api/v1/content/{id}`
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = item_id(&id)?;
    let draft = draft(&state, body(raw)?)?;
    match state.engine.store().content_update(id, &draft).await {
        Ok(item) => Ok(Json(json!({ "item": item }))),
        Err(StoreError::NotFound(_)) => Err(no_item(id)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    by: Option<String>,
}

/// `DELETE /api/v1/content/{id}?by=alice`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = item_id(&id)?;
    let by = actor(query(q)?.by.as_deref())?;
    if let Some(user) = used_by(&state, id).into_iter().next() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "content_in_use",
            format!(
                "素材 #{id} 仍被规则手册使用（{user}），请先修改规则手册 (content item #{id} is still used at {user}; change the rulebook first)"
            ),
        )
        .with_field(user));
    }
    let now = state.engine.clock().now();
    if !state.engine.store().content_delete(id, &by, now).await? {
        return Err(no_item(id));
    }
    Ok(Json(json!({ "deleted": id })))
}

/// Where the rulebook in force answers with item `id` (templates and group overrides).
fn used_by(state: &AppState, id: i64) -> Vec<String> {
    let compiled = state.engine.rulebook();
    let book = &compiled.rulebook;
    let templates = book.templates.iter().map(|(name, settings)| {
        (
            format!("templates.{name}"),
            settings.auto_reply.entries.clone(),
        )
    });
    let groups = book.groups.keys().filter_map(|key| {
        let group = GroupKey::parse(key)?;
        Some((
            format!("groups.\"{key}\""),
            compiled
                .settings_for(&group)
                .settings
                .auto_reply
                .entries
                .clone(),
        ))
    });
    templates
        .chain(groups)
        .flat_map(|(place, entries)| {
            entries
                .into_iter()
                .filter(|(_, entry)| entry.content == Some(id))
                .map(move |(entry, _)| format!("{place}.auto_reply.entries.{entry}.content"))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    group: Option<String>,
    template: Option<String>,
    entry: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

fn day(text: Option<&str>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
                invalid(
                    field,
                    format!("`{t}` is not a day; write YYYY-MM-DD, e.g. 2026-11-22"),
                )
            })
        })
        .transpose()
}

/// `GET /api/v1/faq/stats?group=qq/g1&template=default&entry=returns&from=2026-11-01&to=2026-11-30`
pub async fn faq_stats(
    State(state): State<AppState>,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let filter = FaqStatsFilter {
        group: text(&q.group).map(|g| group_key(&g, "group")).transpose()?,
        template: text(&q.template),
        entry: text(&q.entry),
        from: day(q.from.as_deref(), "from")?,
        to: day(q.to.as_deref(), "to")?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(invalid(
            "from",
            format!("`from` ({from}) is after `to` ({to})"),
        ));
    }
    let counts = state
        .engine
        .store()
        .faq_stats(&filter, q.limit.unwrap_or(1000).clamp(1, 10_000))
        .await?;
    let mut totals: BTreeMap<(String, String), u64> = BTreeMap::new();
    for count in &counts {
        *totals
            .entry((count.template.clone(), count.entry.clone()))
            .or_default() += count.hits;
    }
    let totals: Vec<Value> = totals
        .into_iter()
        .map(|((template, entry), hits)| json!({ "template": template, "entry": entry, "hits": hits }))
        .collect();
    Ok(Json(json!({ "stats": counts, "totals": totals })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    group: Option<String>,
    text: Option<String>,
    /// The member asking, to show their cooldown too.
    member: Option<String>,
}

/// `POST /api/v1/faq/test` `{"group":"qq/g1","text":"怎么退货"}`: the entry that would
/// answer (and the close ones), the answer it would give, and whether quiet hours or a
/// cooldown would hold it back now. Acts on nothing.
pub async fn faq_test(
    State(state): State<AppState>,
    raw: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: TestBody = body(raw)?;
    let group = group_key(
        required(request.group.as_deref(), "group", "\"qq/123456\"")?,
        "group",
    )?;
    let text = required(request.text.as_deref(), "text", "\"怎么退货\"")?;
    if text.chars().count() > MAX_QUESTION_CHARS {
        return Err(invalid(
            "text",
            format!("the text is longer than {MAX_QUESTION_CHARS} characters"),
        ));
    }
    let resolved = state.engine.rulebook().settings_for(&group);
    let settings = &resolved.settings;
    let now = state.engine.clock().now();
    let candidates = resolved.faq.candidates(text);
    let best = candidates.first().filter(|m| m.answers()).cloned();
    let quiet_now = auto_reply::in_quiet_hours(&settings.auto_reply, settings.timezone(), now);
    let mut answer = Value::Null;
    let mut cooling_down_until = Value::Null;
    if let Some(hit) = &best
        && let Some(entry) = settings.auto_reply.entries.get(&hit.entry)
    {
        let asker = Member::new(
            request.member.clone().unwrap_or_else(|| "member".into()),
            "群友",
        );
        let group_name = state
            .engine
            .store()
            .list_groups()
            .await?
            .into_iter()
            .find(|g| g.key == group)
            .and_then(|g| g.name)
            .unwrap_or_else(|| group.group.to_string());
        let fill = Fill {
            member: Some(&asker),
            group: &group_name,
            rules: &settings.rules_text,
        };
        let segments = match entry.content {
            None => Some(template_text::render(&entry.answer, PLACEHOLDERS, |p| {
                fill.placeholder(p)
            })),
            Some(id) => state
                .engine
                .store()
                .content_get(id)
                .await?
                .map(|item| content_rules::render(&item.body, &fill)),
        };
        answer = json!({
            "content": entry.content,
            "segments": segments,
            "text": segments.map(|s| Message { id: "preview".into(), segments: s }.plain_text()),
        });
        // Without a member only the group's cooldown applies.
        let member = qunzhu_core::MemberId::new(request.member.clone().unwrap_or_default());
        let mut last = state
            .engine
            .store()
            .faq_last_answers(&group, &hit.entry, &member)
            .await?;
        if request.member.is_none() {
            last.to_member = None;
        }
        cooling_down_until = json!(auto_reply::cooling_down(entry, &last, now));
    }
    Ok(Json(json!({
        "group": group.to_string(),
        "template": resolved.template,
        "enabled": settings.auto_reply.enabled,
        "question": qunzhu_text::is_question(text),
        "match": best,
        "answer": answer,
        "candidates": candidates,
        "quiet_hours_now": quiet_now,
        "cooling_down_until": cooling_down_until,
    })))
}
