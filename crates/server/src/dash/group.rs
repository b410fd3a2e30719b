//! A group's page (`/groups/{connector}/{group}`, 群详情): its life stage and figures,
//! charts of messages per day, active members and joins/leaves (ECharts reading
//! `GET …/analytics/daily`), the peak-hour heatmap (weekday × hour), core and silent
//! members, the weekly activity table with its CSV download, recent daily digests (each on
//! `/groups/{connector}/{group}/digests/{date}`), and the group's open staff tasks and
//! tickets. Every figure comes from the same functions the analytics API answers with.

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::routing::get;
use chrono::NaiveDate;
use maud::{Markup, html};
use qunzhu_core::care::TicketStatus;
use qunzhu_core::insight::Granularity;
use qunzhu_core::store::GroupRecord;
use qunzhu_core::{GroupKey, TaskStatus};
use qunzhu_engine::Locale;
use qunzhu_engine::insight;
use serde_json::{Value, json};

use super::auth::Viewer;
use super::layout::{self, Page, urlencode};
use super::overview::{group_href, group_name, stage_badge};
use super::ui::{self, Tone};
use super::{DashError, here};
use crate::http::AppState;
use crate::http::insight as analytics;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups/{connector}/{group}", get(page))
        .route("/groups/{connector}/{group}/digests/{date}", get(digest_page))
}

/// The API path of a group (`/api/v1/groups/{c}/{g}`).
fn api_base(key: &GroupKey) -> String {
    format!("/api/v1/groups/{}/{}", urlencode(key.connector.as_str()), urlencode(key.group.as_str()))
}

/// The link to a member's profile.
pub fn member_href(connector: &str, member: &str) -> String {
    format!("/members/{}/{}", urlencode(connector), urlencode(member))
}

async fn find_group(state: &AppState, lang: Locale, connector: &str, group: &str) -> Result<GroupRecord, DashError> {
    let key = GroupKey::new(connector, group);
    state
        .engine
        .store()
        .list_groups()
        .await?
        .into_iter()
        .find(|g| g.key == key)
        .ok_or_else(|| DashError::not_found(lang, &key.to_string()))
}

const WEEKDAYS: [(&str, &str); 7] =
    [("周一", "Mon"), ("周二", "Tue"), ("周三", "Wed"), ("周四", "Thu"), ("周五", "Fri"), ("周六", "Sat"), ("周日", "Sun")];

/// The ECharts option of the peak-hour heatmap.
fn heatmap_option(lang: Locale, grid: &[[i64; 24]; 7]) -> Value {
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let data: Vec<Value> = grid
        .iter()
        .enumerate()
        .flat_map(|(day, hours)| hours.iter().enumerate().map(move |(hour, n)| json!([hour, day, n])))
        .collect();
    json!({
        "tooltip": { "position": "top" },
        "grid": { "left": 48, "right": 16, "top": 8, "bottom": 64 },
        "xAxis": { "type": "category", "data": (0..24).map(|h| h.to_string()).collect::<Vec<_>>(), "splitArea": { "show": true } },
        "yAxis": { "type": "category", "inverse": true, "data": WEEKDAYS.iter().map(|(zh, en)| lang.pick(zh, en)).collect::<Vec<_>>(), "splitArea": { "show": true } },
        "visualMap": { "min": 0, "max": max, "calculable": true, "orient": "horizontal", "left": "center", "bottom": 0 },
        "series": [{ "name": lang.pick("消息", "Messages"), "type": "heatmap", "data": data }],
    })
}

fn chart(url: &str, kind: &str, series: &str, label: &str) -> Markup {
    html! {
        div.chart data-chart=(url) data-kind=(kind) data-x="day" data-series=(series) role="img" aria-label=(label) {}
    }
}

/// `GET /groups/{connector}/{group}`
async fn page(
    viewer: Viewer,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path((connector, group)): Path<(String, String)>,
) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let record = find_group(&state, lang, &connector, &group).await?;
    let (key, today, tz) = analytics::context(&state, &connector, &group);
    let store = state.engine.store();
    let (stage, _) = insight::group_life_stage(store.as_ref(), &key, today).await?;
    let weeks = insight::weekly_table(store.as_ref(), &key, today, 8).await?;
    let members = store.count_members(&key).await?;
    let core_rows = analytics::member_days(&state, &key, today, 28).await?;
    let core = insight::core_members(&core_rows);
    let mut core_names = Vec::with_capacity(core.len());
    for e in &core {
        core_names.push(store.member(&key, &e.member).await?.and_then(|m| m.name));
    }
    let silent = analytics::silent_list(&state, &key, today, 14).await?;
    let (from, until) = insight::hour_range(state.engine.clock().now(), 28);
    let peaks = insight::peak_hours(&store.insight_rollups(&key, Granularity::Hour, from, until).await?, tz);
    let digests = store.list_digests(&key, 10).await?;
    let tasks: Vec<_> = store.list_tasks(Some(TaskStatus::Open), u32::MAX).await?.into_iter().filter(|t| t.group == key).collect();
    let tickets: Vec<_> = store
        .care_tickets(Some(&key), None)
        .await?
        .into_iter()
        .filter(|t| matches!(t.status, TicketStatus::Open | TicketStatus::InProgress))
        .collect();
    let api = api_base(&key);
    let this_week = weeks.last();
    let body = html! {
        div.cards {
            div.stat { div.label { (lang.pick("生命周期", "Life stage")) } div.value { (stage_badge(lang, stage)) } }
            (ui::stat(lang.pick("成员", "Members"), members, None))
            (ui::stat(lang.pick("本周消息", "Messages this week"), this_week.map_or(0, |w| w.messages), this_week.and_then(|w| w.messages_change_pct).map(|p| p / 100.0)))
            (ui::stat(lang.pick("本周活跃", "Active this week"), this_week.map_or(0, |w| w.active), this_week.and_then(|w| w.active_change_pct).map(|p| p / 100.0)))
            (ui::stat(lang.pick("待办", "Open tasks"), tasks.len(), None))
            (ui::stat(lang.pick("未结工单", "Open tickets"), tickets.len(), None))
        }
        div.grid2 {
            div.card {
                h2 { (lang.pick("每日消息（30 天）", "Messages per day (30 days)")) }
                (chart(&format!("{api}/analytics/daily?days=30"), "line", &format!("messages:{}", lang.pick("消息", "messages")), lang.pick("每日消息", "Messages per day")))
            }
            div.card {
                h2 { (lang.pick("活跃成员（30 天）", "Active members (30 days)")) }
                (chart(&format!("{api}/analytics/daily?days=30"), "line", &format!("active:{}", lang.pick("活跃成员", "active members")), lang.pick("活跃成员", "Active members")))
            }
            div.card {
                h2 { (lang.pick("入群 / 退群（30 天）", "Joins / leaves (30 days)")) }
                (chart(&format!("{api}/analytics/daily?days=30"), "bar", &format!("joins:{},leaves:{}", lang.pick("入群", "joins"), lang.pick("退群", "leaves")), lang.pick("入群与退群", "Joins and leaves")))
            }
            div.card {
                h2 { (lang.pick("活跃时段（近 28 天，", "Peak hours (28 days, ")) (tz.name()) (lang.pick("）", ")")) }
                div.chart #peak-hours data-option=(heatmap_option(lang, &peaks).to_string()) role="img" aria-label=(lang.pick("活跃时段热力图", "Peak-hour heatmap")) {}
            }
        }
        div.card #weekly {
            div.toolbar {
                h2.grow { (lang.pick("周活跃表", "Weekly activity")) }
                a.button #weekly-csv href={ (api) "/analytics/weekly?weeks=8&format=csv" } download={ "weekly-" (key.group.as_str()) ".csv" } { (lang.pick("下载 CSV", "Download CSV")) }
            }
            div.table-wrap { table {
                thead { tr {
                    th { (lang.pick("周（周一）", "Week of")) }
                    th.num { (lang.pick("成员", "Members")) }
                    th.num { (lang.pick("活跃", "Active")) }
                    th.num { (lang.pick("沉默 %", "Silent %")) }
                    th.num { (lang.pick("消息", "Messages")) }
                    th.num { (lang.pick("环比", "vs last week")) }
                    th.num { (lang.pick("入群", "Joins")) }
                    th.num { (lang.pick("退群", "Leaves")) }
                    th.num { (lang.pick("签到", "Check-ins")) }
                    th.num { (lang.pick("违规", "Violations")) }
                    th.num { (lang.pick("提问 / 回答", "Questions / answers")) }
                } }
                tbody { @for w in weeks.iter().rev() {
                    tr {
                        td { (w.week_start) }
                        td.num { (w.members) }
                        td.num { (w.active) }
                        td.num { (w.silent_pct) }
                        td.num { (w.messages) }
                        td.num { @if let Some(p) = w.messages_change_pct { (format!("{p:+.1}%")) } @else { span.muted { "—" } } }
                        td.num { (w.joins) }
                        td.num { (w.leaves) }
                        td.num { (w.check_ins) }
                        td.num { (w.violations) }
                        td.num { (w.questions) " / " (w.answers) }
                    }
                } }
            } }
        }
        div.grid2 {
            div.card #core-members {
                h2 { (lang.pick("核心成员（近 28 天）", "Core members (28 days)")) }
                @if core.is_empty() {
                    (ui::empty(lang, "还没有足够的发言。", "Not enough messages yet."))
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("成员", "Member")) } th.num { (lang.pick("得分", "Score")) } th.num { (lang.pick("消息", "Messages")) } th.num { (lang.pick("活跃天数", "Days active")) } th.num { (lang.pick("回答", "Answers")) } } }
                        tbody { @for (e, name) in core.iter().zip(&core_names) {
                            tr {
                                td { a href=(member_href(key.connector.as_str(), e.member.as_str())) { (name.as_deref().unwrap_or(e.member.as_str())) } }
                                td.num { (e.score) } td.num { (e.messages) } td.num { (e.days_active) } td.num { (e.answers) }
                            }
                        } }
                    } }
                    p.muted { small { (lang.pick("得分 = 消息 + 5 × 活跃天数 + 3 × 回答 + 签到", "score = messages + 5 × days active + 3 × answers + check-ins")) } }
                }
            }
            div.card #silent-members {
                h2 { (lang.pick("沉默成员（近 14 天）", "Silent members (14 days)")) }
                @if silent.is_empty() {
                    (ui::empty(lang, "没有沉默成员。", "No silent members."))
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("成员", "Member")) } th { (lang.pick("最后发言", "Last active")) } } }
                        tbody { @for s in silent.iter().take(50) {
                            @let id = s["member"].as_str().unwrap_or_default();
                            tr {
                                td { a href=(member_href(key.connector.as_str(), id)) { (s["name"].as_str().unwrap_or(id)) } }
                                td { (s["last_active"].as_str().unwrap_or("—")) }
                            }
                        } }
                    } }
                    @if silent.len() > 50 {
                        p { a href={ (api) "/analytics/silent-members?format=csv" } download { (lang.pick("全部 ", "All ")) (silent.len()) (lang.pick(" 人（CSV）", " (CSV)")) } }
                    }
                }
            }
        }
        div.card #digests {
            h2 { (lang.pick("群精华（每日摘要）", "Daily digests")) }
            @if digests.is_empty() {
                (ui::empty(lang, "还没有每日摘要。", "No daily digest yet."))
            } @else {
                ul { @for d in &digests {
                    li { a href={ (group_href(&key)) "/digests/" (d.day) } { (d.day) } " " span.muted { (d.text.lines().next().unwrap_or_default()) } }
                } }
            }
        }
        div.grid2 {
            div.card #tasks {
                h2 { (lang.pick("待办", "Open staff tasks")) }
                @if tasks.is_empty() { (ui::empty(lang, "没有待办。", "No open task.")) } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("事项", "Task")) } th { (lang.pick("时间", "Created")) } } }
                        tbody { @for t in &tasks { tr { td { (t.title) br; small.muted { (t.step) } } td { (ui::time(t.created_at, tz)) } } } }
                    } }
                }
            }
            div.card #tickets {
                h2 { (lang.pick("问题清单", "Open tickets")) }
                @if tickets.is_empty() { (ui::empty(lang, "没有未结工单。", "No open ticket.")) } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("工单", "Ticket")) } th { (lang.pick("状态", "Status")) } th { (lang.pick("负责人", "Owner")) } th { (lang.pick("开启", "Opened")) } } }
                        tbody { @for t in &tickets { tr {
                            td { (t.title) br; small.muted { (t.category) } }
                            td { (ui::badge(Tone::Warn, t.status.name())) }
                            td { (t.owner.as_deref().unwrap_or("—")) }
                            td { (ui::time(t.opened_at, tz)) }
                        } } }
                    } }
                }
            }
        }
    };
    let title = format!("{} · {}", group_name(&record), key);
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/", body).with_charts()))
}

/// `GET /groups/{connector}/{group}/digests/{date}`
async fn digest_page(
    viewer: Viewer,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path((connector, group, date)): Path<(String, String, String)>,
) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let record = find_group(&state, lang, &connector, &group).await?;
    let day: NaiveDate = date
        .parse()
        .map_err(|_| DashError::bad_request(lang, lang.pick("日期写作 YYYY-MM-DD，例如 2026-06-15。", "Write the day as YYYY-MM-DD, e.g. 2026-06-15.")))?;
    let digest = state
        .engine
        .store()
        .digest(&record.key, day)
        .await?
        .ok_or_else(|| DashError::not_found(lang, &format!("{} {day}", record.key)))?;
    let body_json: Value = serde_json::from_str(&digest.body).unwrap_or(Value::Null);
    let tz = state.engine.rulebook().settings_for(&record.key).timezone();
    let body = html! {
        div.card #digest {
            p.muted { (lang.pick("生成于 ", "Made at ")) (ui::time(digest.created_at, tz)) " · " a href=(group_href(&record.key)) { (lang.pick("回到群详情", "Back to the group")) } }
            pre.code style="white-space: pre-wrap" { (digest.text) }
        }
        @if !body_json.is_null() {
            details.card {
                summary { (lang.pick("结构化数据（JSON）", "Structured data (JSON)")) }
                pre.code style="white-space: pre-wrap" { (serde_json::to_string_pretty(&body_json).unwrap_or_default()) }
            }
        }
    };
    let title = format!("{} · {} {day}", group_name(&record), lang.pick("群精华", "digest"));
    Ok(layout::render(&viewer, &here(&uri), Page::new(title, "/", body)))
}
