//! The overview (`/`, 总览): every group with its health, activity and load, with totals at
//! the top; server-side pagination, search by name and filters by tag, platform and template.
//!
//! Fast with a thousand groups: each figure is one store read for the whole page (the groups,
//! their day rows, first days and member counts, open tasks, tickets and alerted questions),
//! never one per group. A group's **tags** are derived from its health: its life stage
//! (`new`, `growing`, `mature`, `cooling`, `dormant`, the rule of
//! `qunzhu_engine::insight::life_stage`) and `alerts` / `tasks` / `tickets` while it has open
//! ones. Its **platform** is its connector's type, its **template** its rulebook binding.

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::routing::get;
use chrono::{Duration, NaiveDate};
use maud::{Markup, html};
use qunzhu_core::care::TicketStatus;
use qunzhu_core::insight::{Rollup, bucket_day, day_bucket};
use qunzhu_core::store::GroupRecord;
use qunzhu_core::{ConnectorId, GroupKey, TaskStatus};
use qunzhu_engine::Locale;
use qunzhu_engine::insight::{self, LifeStage};
use serde::Deserialize;

use super::auth::Viewer;
use super::layout::{self, Page, urlencode};
use super::ui::{self, Paging, Tone};
use super::{DashError, here};
use crate::http::AppState;

/// Days in an overview sparkline.
pub const SPARK_DAYS: i64 = 14;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(page))
}

/// The overview's filters (`?q=&tag=&platform=&template=`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Part of the group's name or id.
    pub q: String,
    pub tag: String,
    pub platform: String,
    pub template: String,
}

impl Filter {
    fn query(&self) -> String {
        [("q", &self.q), ("tag", &self.tag), ("platform", &self.platform), ("template", &self.template)]
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn matches(&self, g: &GroupSummary) -> bool {
        let q = self.q.trim().to_lowercase();
        (q.is_empty()
            || g.record.key.group.as_str().to_lowercase().contains(&q)
            || g.record.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&q)))
            && (self.tag.trim().is_empty() || g.tags().any(|t| t == self.tag.trim()))
            && (self.platform.trim().is_empty() || g.platform == self.platform.trim())
            && (self.template.trim().is_empty() || g.template == self.template.trim())
    }
}

/// One group's row on the overview.
#[derive(Clone, Debug)]
pub struct GroupSummary {
    pub record: GroupRecord,
    /// The connector's type (`bridge`, `onebot`…).
    pub platform: String,
    /// The rulebook template it is bound to.
    pub template: String,
    pub stage: LifeStage,
    pub members: u32,
    /// Messages per local day, the last [`SPARK_DAYS`] days, oldest first (today last).
    pub spark: Vec<u64>,
    pub messages_today: i64,
    /// Open questions staff were alerted about.
    pub alerts: usize,
    pub tasks: usize,
    pub tickets: usize,
}

impl GroupSummary {
    pub fn tags(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.stage.name())
            .chain((self.alerts > 0).then_some("alerts"))
            .chain((self.tasks > 0).then_some("tasks"))
            .chain((self.tickets > 0).then_some("tickets"))
    }
}

/// The connector type of every connector the server knows: the configured ones, the bridges
/// and the sandbox.
pub fn connector_kinds(state: &AppState) -> Vec<(ConnectorId, &'static str)> {
    let mut kinds: Vec<(ConnectorId, &'static str)> = vec![(ConnectorId::new(qunzhu_connectors::sandbox::CONNECTOR_ID), "sandbox")];
    for (id, kind) in state.connector_kinds.iter() {
        if !kinds.iter().any(|(k, _)| k == id) {
            kinds.push((id.clone(), kind));
        }
    }
    let mut bridges: Vec<&ConnectorId> = state.bridges.keys().collect();
    bridges.sort();
    for id in bridges {
        if !kinds.iter().any(|(k, _)| k == id) {
            kinds.push((id.clone(), "bridge"));
        }
    }
    kinds
}

/// Every group's summary, by group key: one read per figure for all groups.
pub async fn summaries(state: &AppState) -> Result<Vec<GroupSummary>, DashError> {
    let store = state.engine.store();
    let rulebook = state.engine.rulebook();
    let now = state.engine.clock().now();
    let groups = store.list_groups().await?;
    // Local days differ by at most a day from UTC's; read enough for four weeks before any.
    let utc_today = now.date_naive();
    let from = day_bucket(insight::week_start(utc_today - Duration::days(1)) - Duration::weeks(4));
    let days = store.insight_group_days(from, day_bucket(utc_today) + 2).await?;
    let mut rows_by_group: HashMap<GroupKey, Vec<Rollup>> = HashMap::new();
    for row in days {
        rows_by_group.entry(row.group.clone()).or_default().push(row);
    }
    let first_days: HashMap<GroupKey, i64> = store.insight_first_days().await?.into_iter().collect();
    let members: HashMap<GroupKey, u32> = store.member_counts().await?.into_iter().collect();
    let mut tasks: HashMap<GroupKey, usize> = HashMap::new();
    for task in store.list_tasks(Some(TaskStatus::Open), u32::MAX).await? {
        *tasks.entry(task.group).or_default() += 1;
    }
    let mut tickets: HashMap<GroupKey, usize> = HashMap::new();
    for ticket in store.care_tickets(None, None).await? {
        if matches!(ticket.status, TicketStatus::Open | TicketStatus::InProgress) {
            *tickets.entry(ticket.group).or_default() += 1;
        }
    }
    let mut alerts: HashMap<GroupKey, usize> = HashMap::new();
    for question in store.care_questions(None, Some(qunzhu_core::care::QuestionStatus::Open)).await? {
        if question.alerted {
            *alerts.entry(question.group).or_default() += 1;
        }
    }
    let kinds: HashMap<ConnectorId, &'static str> = connector_kinds(state).into_iter().collect();
    let empty = Vec::new();
    Ok(groups
        .into_iter()
        .map(|record| {
            let key = record.key.clone();
            let settings = rulebook.settings_for(&key);
            let today = now.with_timezone(&settings.timezone()).date_naive();
            let rows = rows_by_group.get(&key).unwrap_or(&empty);
            let count = members.get(&key).copied().unwrap_or(0);
            let first_day = first_days.get(&key).map(|b| bucket_day(*b));
            let stage = insight::life_stage(&insight::weekly(rows, i64::from(count), today, 4), first_day, today);
            let spark = spark(rows, today);
            GroupSummary {
                platform: kinds.get(&key.connector).map_or("unknown", |k| k).to_owned(),
                template: settings.template.clone(),
                stage,
                members: count,
                messages_today: spark.last().map_or(0, |v| i64::try_from(*v).unwrap_or(i64::MAX)),
                spark,
                alerts: alerts.get(&key).copied().unwrap_or(0),
                tasks: tasks.get(&key).copied().unwrap_or(0),
                tickets: tickets.get(&key).copied().unwrap_or(0),
                record,
            }
        })
        .collect())
}

/// Messages per day of the [`SPARK_DAYS`] days up to `today` from a group's own day rows.
fn spark(rows: &[Rollup], today: NaiveDate) -> Vec<u64> {
    let first = day_bucket(today) - SPARK_DAYS + 1;
    let mut values = vec![0u64; SPARK_DAYS as usize];
    for row in rows.iter().filter(|r| r.member.is_none()) {
        if let Some(slot) = usize::try_from(row.bucket - first).ok().and_then(|i| values.get_mut(i)) {
            *slot += u64::try_from(row.counts.messages).unwrap_or(0);
        }
    }
    values
}

/// The life stage's label and tone.
pub fn stage_badge(lang: Locale, stage: LifeStage) -> Markup {
    let (zh, en, tone) = stage_label(stage);
    html! { span class=(match tone { Tone::Ok => "badge ok", Tone::Warn => "badge warn", Tone::Danger => "badge danger", Tone::Neutral => "badge" }) data-stage=(stage.name()) { (lang.pick(zh, en)) } }
}

fn stage_label(stage: LifeStage) -> (&'static str, &'static str, Tone) {
    match stage {
        LifeStage::New => ("新群", "new", Tone::Neutral),
        LifeStage::Growing => ("成长", "growing", Tone::Ok),
        LifeStage::Mature => ("成熟", "mature", Tone::Ok),
        LifeStage::Cooling => ("降温", "cooling", Tone::Warn),
        LifeStage::Dormant => ("沉寂", "dormant", Tone::Danger),
    }
}

/// The tags a group can be filtered by, with their labels.
fn tag_options() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut tags: Vec<(&str, &str, &str)> = [LifeStage::New, LifeStage::Growing, LifeStage::Mature, LifeStage::Cooling, LifeStage::Dormant]
        .into_iter()
        .map(|s| {
            let (zh, en, _) = stage_label(s);
            (s.name(), zh, en)
        })
        .collect();
    tags.extend([("alerts", "有告警", "has alerts"), ("tasks", "有待办", "has staff tasks"), ("tickets", "有工单", "has tickets")]);
    tags
}

/// The link to a group's page.
pub fn group_href(key: &GroupKey) -> String {
    format!("/groups/{}/{}", urlencode(key.connector.as_str()), urlencode(key.group.as_str()))
}

/// A group's name (its id when it has none).
pub fn group_name(record: &GroupRecord) -> &str {
    record.name.as_deref().unwrap_or(record.key.group.as_str())
}

/// `GET /`
async fn page(
    viewer: Viewer,
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
    Query(paging): Query<Paging>,
) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let all = summaries(&state).await?;
    let templates: Vec<String> = state.engine.rulebook().rulebook.templates.keys().cloned().collect();
    let platforms: BTreeSet<String> = connector_kinds(&state).into_iter().map(|(_, k)| k.to_owned()).chain(all.iter().map(|g| g.platform.clone())).collect();
    let total_members: u64 = all.iter().map(|g| u64::from(g.members)).sum();
    let messages_today: i64 = all.iter().map(|g| g.messages_today).sum();
    let open_tasks: usize = all.iter().map(|g| g.tasks).sum();
    let open_tickets: usize = all.iter().map(|g| g.tickets).sum();
    let matching: Vec<&GroupSummary> = all.iter().filter(|g| filter.matches(g)).collect();
    let (shown, has_more) = paging.slice(&matching);
    let tz = chrono_tz::Asia::Shanghai;
    let filtered = !filter.query().is_empty();
    let body = html! {
        div.cards {
            (ui::stat(lang.pick("群", "Groups"), all.len(), None))
            (ui::stat(lang.pick("成员", "Members"), total_members, None))
            (ui::stat(lang.pick("今日消息", "Messages today"), messages_today, None))
            (ui::stat(lang.pick("待办", "Open tasks"), open_tasks, None))
            (ui::stat(lang.pick("未结工单", "Open tickets"), open_tickets, None))
        }
        div.card {
            form.toolbar method="get" action="/" role="search" {
                input.grow type="search" name="q" value=(filter.q) placeholder=(lang.pick("按群名或群号搜索", "Search by group name or id")) aria-label=(lang.pick("搜索", "Search"));
                select name="tag" aria-label=(lang.pick("标签", "Tag")) {
                    option value="" { (lang.pick("全部标签", "Any tag")) }
                    @for (value, zh, en) in tag_options() { option value=(value) selected[filter.tag == value] { (lang.pick(zh, en)) } }
                }
                select name="platform" aria-label=(lang.pick("平台", "Platform")) {
                    option value="" { (lang.pick("全部平台", "Any platform")) }
                    @for p in &platforms { option value=(p) selected[&filter.platform == p] { (p) } }
                }
                select name="template" aria-label=(lang.pick("模板", "Template")) {
                    option value="" { (lang.pick("全部模板", "Any template")) }
                    @for t in &templates { option value=(t) selected[&filter.template == t] { (t) } }
                }
                button.primary type="submit" { (lang.pick("筛选", "Filter")) }
                @if filtered { a.button href="/" { (lang.pick("清除", "Clear")) } }
            }
            @if filtered {
                p.muted #match-count { (lang.pick("符合条件的群：", "Matching groups: ")) (matching.len()) }
            }
            @if all.is_empty() {
                (ui::empty(lang, "还没有群。连接一个平台，或在沙盒里试试。", "No groups yet. Connect a platform, or try the sandbox."))
            } @else if matching.is_empty() {
                (ui::empty(lang, "没有符合条件的群。", "No group matches."))
            } @else {
                div.table-wrap { table #groups {
                    thead { tr {
                        th { (lang.pick("群", "Group")) }
                        th { (lang.pick("平台", "Platform")) }
                        th { (lang.pick("阶段", "Stage")) }
                        th.num { (lang.pick("成员", "Members")) }
                        th { (lang.pick("近 14 天消息", "Messages, 14 days")) }
                        th.num { (lang.pick("今日", "Today")) }
                        th { (lang.pick("告警 / 待办 / 工单", "Alerts / tasks / tickets")) }
                        th { (lang.pick("最后活动", "Last activity")) }
                    } }
                    tbody { @for g in shown {
                        tr data-group=(g.record.key.to_string()) {
                            td { a href=(group_href(&g.record.key)) { (group_name(&g.record)) } br; small.muted { (g.record.key.to_string()) " · " (g.template) } }
                            td { (g.platform) }
                            td { (stage_badge(lang, g.stage)) }
                            td.num { (g.members) }
                            td { (ui::sparkline(&g.spark)) }
                            td.num { (g.messages_today) }
                            td {
                                (count_badge(g.alerts, Tone::Danger)) " " (count_badge(g.tasks, Tone::Warn)) " " (count_badge(g.tickets, Tone::Warn))
                            }
                            td { (ui::time(g.record.last_seen, tz)) }
                        }
                    } }
                } }
                (ui::pager(lang, paging, has_more, "/", &filter.query()))
            }
        }
    };
    let here = here(&uri);
    Ok(layout::render(&viewer, &here, Page::new(lang.pick("总览", "Overview"), "/", body)))
}

fn count_badge(n: usize, tone: Tone) -> Markup {
    ui::badge(if n > 0 { tone } else { Tone::Neutral }, &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_core::insight::{Counts, Granularity};

    #[test]
    fn the_sparkline_counts_the_last_fourteen_days_with_today_last() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_default();
        let row = |back: i64, messages: i64| Rollup {
            group: GroupKey::new("qq", "g"),
            member: None,
            granularity: Granularity::Day,
            bucket: day_bucket(today) - back,
            counts: Counts { messages, ..Counts::default() },
        };
        let values = spark(&[row(20, 9), row(13, 2), row(0, 5)], today);
        assert_eq!(values.len(), 14);
        assert_eq!((values[0], values[13], values.iter().sum::<u64>()), (2, 5, 7));
    }
}
