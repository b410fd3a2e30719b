//! Engagement pages: `/schedules` (定时发布, with `/schedules/{id}` showing the next runs),
//! `/content` (the content library, FAQ entries and a FAQ test box), `/lotteries` (抽奖 and
//! 接龙 with CSV) and `/redemptions` (积分兑换 and the shop's items). Reads go through the
//! store and engine calls of the matching `http/*.rs` handlers; changes through their routes.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use qunzhu_core::faq::FaqStatsFilter;
use qunzhu_core::lottery::{EntryCondition, LotteryStatus};
use qunzhu_core::schedule::{PostKind, Schedule, ScheduleId, Target, When};
use qunzhu_core::shop::{ItemKind, RedemptionStatus, ShopItem};
use qunzhu_core::signup::SignupStatus;
use qunzhu_core::content::ContentBody;
use qunzhu_engine::rules::schedule::manage::ScheduleError;
use serde::Deserialize;

use super::auth::Viewer;
use super::layout::{self, Page};
use super::ops::{self, at, at_opt, by, by_field, seg};
use super::ui::{self, Tone};
use super::{DashError, here};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(schedules_page))
        .route("/schedules/{id}", get(schedule_page))
        .route("/content", get(content_page))
        .route("/lotteries", get(lotteries_page))
        .route("/redemptions", get(redemptions_page))
}

/// How many rows the engagement lists show (newest first).
const LIST_LIMIT: u32 = 100;
/// Next runs shown on a schedule's page.
const PREVIEW_RUNS: usize = 10;

/// A read-only API call's button: its answer is shown in `result` (a `<pre>`).
fn read_button(url: &str, label: &str, result: &str) -> Markup {
    html! { button type="button" data-api=(url) data-method="GET" data-then="none" data-result=(result) { (label) } }
}

// --- schedules ---

fn describe_when(lang: qunzhu_engine::Locale, when: &When) -> String {
    match when {
        When::Cron { cron } => format!("cron {cron}"),
        When::Once { at } => format!("{}{at}", lang.pick("一次：", "once: ")),
        When::Holidays { holidays, time } => {
            let which = if holidays.is_empty() { lang.pick("所有节日", "every holiday").to_owned() } else { holidays.join("、") };
            format!("{which} {time}")
        }
    }
}

fn describe_target(lang: qunzhu_engine::Locale, target: &Target) -> String {
    match target {
        Target::Groups { groups } => groups.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        Target::Template { template } => format!("{}{template}", lang.pick("模板：", "template: ")),
        Target::Connector { connector } => format!("{}{connector}", lang.pick("平台：", "connector: ")),
    }
}

fn post_kind(lang: qunzhu_engine::Locale, kind: PostKind) -> &'static str {
    match kind {
        PostKind::Message => lang.pick("消息", "message"),
        PostKind::Announcement => lang.pick("群公告", "announcement"),
    }
}

fn pause_button(viewer: &Viewer, s: &Schedule) -> Markup {
    let lang = viewer.lang;
    let (verb, label) = if s.paused { ("resume", lang.pick("恢复", "Resume")) } else { ("pause", lang.pick("暂停", "Pause")) };
    ui::api_button(viewer, "POST", &format!("/api/v1/schedules/{}/{verb}", s.id), Some(&by(viewer)), label, "reload")
}

async fn schedules_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let schedules = state.engine.store().list_schedules().await?;
    let body = html! {
        div.card {
            h2 { (lang.pick("定时发布", "Scheduled posts")) }
            @if schedules.is_empty() {
                (ui::empty(lang, "还没有定时发布。", "No scheduled posts yet."))
            } @else {
                div.table-wrap { table #schedules {
                    thead { tr {
                        th { (lang.pick("名称", "Name")) } th { (lang.pick("时间", "When")) } th { (lang.pick("发到", "Target")) }
                        th { (lang.pick("内容", "Post")) } th { (lang.pick("下次", "Next run")) } th { (lang.pick("上次", "Last run")) }
                        th { (lang.pick("状态", "Status")) } th {}
                    } }
                    tbody { @for s in &schedules {
                        tr data-schedule=(s.id) {
                            td { a href={ "/schedules/" (s.id) } { (s.def.name) } }
                            td { (describe_when(lang, &s.def.when)) @if let Some(tz) = &s.def.timezone { br; span.muted { (tz) } } }
                            td { (describe_target(lang, &s.def.target)) }
                            td { span.badge { (post_kind(lang, s.def.post.kind)) } " " (s.def.post.text) }
                            td { (at_opt(s.next_run)) }
                            td { (at_opt(s.last_run)) }
                            td { @if s.paused { (ui::badge(Tone::Warn, lang.pick("已暂停", "paused"))) } @else { (ui::badge(Tone::Ok, lang.pick("运行中", "running"))) } }
                            td { div.toolbar {
                                (pause_button(&viewer, s))
                                @if viewer.can_edit() {
                                    button type="button" data-api={ "/api/v1/schedules/" (s.id) "?by=" (seg(&viewer.name)) } data-method="DELETE" data-then="reload"
                                        data-confirm=(lang.pick("删除这个定时发布？", "Delete this schedule?")) { (lang.pick("删除", "Delete")) }
                                }
                            } }
                        }
                    } }
                } }
            }
        }
        @if viewer.can_edit() { (schedule_form(&viewer)) }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("定时发布", "Schedules"), "/schedules", body)))
}

fn schedule_form(viewer: &Viewer) -> Markup {
    let lang = viewer.lang;
    html! {
        div.card {
            h2 { (lang.pick("新建定时发布", "New scheduled post")) }
            form #schedule-new data-api="/api/v1/schedules" data-method="POST" data-then="/schedules/{id}" {
                (by_field(viewer))
                (ui::field(lang.pick("名称", "Name"), "name", html! { input type="text" name="name" required placeholder=(lang.pick("早安问候", "Good morning")); }))
                div.form-row {
                    (ui::field(lang.pick("时间类型", "Kind"), "when.type", html! {
                        select name="when.type" {
                            option value="cron" { (lang.pick("周期（cron）", "repeating (cron)")) }
                            option value="once" { (lang.pick("一次", "once")) }
                            option value="holidays" { (lang.pick("节日", "holidays")) }
                        }
                    }))
                    (ui::field("cron", "when.cron", html! { input type="text" name="when.cron" data-optional placeholder="0 8 * * *"; }))
                    (ui::field(lang.pick("一次：时间", "Once at"), "when.at", html! { input type="text" name="when.at" data-optional placeholder="2026-12-31T20:00"; }))
                    (ui::field(lang.pick("节日（逗号分隔）", "Holidays (comma separated)"), "when.holidays", html! { input type="text" name="when.holidays" data-type="list" data-optional placeholder="春节,中秋"; }))
                    (ui::field(lang.pick("节日：几点", "Holidays: time"), "when.time", html! { input type="text" name="when.time" data-optional placeholder="09:00"; }))
                }
                div.form-row {
                    (ui::field(lang.pick("发到", "Target"), "target.type", html! {
                        select name="target.type" {
                            option value="groups" { (lang.pick("指定群", "groups")) }
                            option value="template" { (lang.pick("模板下所有群", "a template's groups")) }
                            option value="connector" { (lang.pick("平台下所有群", "a connector's groups")) }
                        }
                    }))
                    (ui::field(lang.pick("群（逗号分隔）", "Groups (comma separated)"), "target.groups", html! { input type="text" name="target.groups" data-type="list" data-optional placeholder="qq/123456"; }))
                    (ui::field(lang.pick("模板", "Template"), "target.template", html! { input type="text" name="target.template" data-optional placeholder="default"; }))
                    (ui::field(lang.pick("平台", "Connector"), "target.connector", html! { input type="text" name="target.connector" data-optional placeholder="qq"; }))
                }
                div.form-row {
                    (ui::field(lang.pick("发为", "Post as"), "post.kind", html! {
                        select name="post.kind" { option value="message" { (post_kind(lang, PostKind::Message)) } option value="announcement" { (post_kind(lang, PostKind::Announcement)) } }
                    }))
                    (ui::field(lang.pick("时区（留空用模板的）", "Timezone (empty: the template's)"), "timezone", html! { input type="text" name="timezone" data-optional placeholder="Asia/Shanghai"; }))
                }
                (ui::field(lang.pick("内容（可用 {group} {date} {weekday}）", "Text ({group} {date} {weekday} allowed)"), "post.text", html! { textarea name="post.text" required { } }))
                button.primary type="submit" { (lang.pick("创建", "Create")) }
            }
        }
    }
}

async fn schedule_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri, Path(id): Path<String>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let id = id.parse::<i64>().map(ScheduleId).map_err(|_| DashError::not_found(lang, &id))?;
    let schedule = state.engine.store().get_schedule(id).await?.ok_or_else(|| DashError::not_found(lang, &id.to_string()))?;
    let preview = match state.engine.preview_schedule(id, PREVIEW_RUNS).await {
        Ok(preview) => Some(preview),
        Err(ScheduleError::Invalid(_)) => None,
        Err(other) => return Err(DashError::internal(other)),
    };
    let body = html! {
        div.card {
            h2 { (schedule.def.name) }
            p { (describe_when(lang, &schedule.def.when)) " · " (describe_target(lang, &schedule.def.target)) }
            p { span.badge { (post_kind(lang, schedule.def.post.kind)) } " " (schedule.def.post.text) }
            p.muted { (lang.pick("最后修改：", "Last changed: ")) (at(schedule.updated_at)) " · " (schedule.updated_by) }
            div.toolbar { (pause_button(&viewer, &schedule)) a.button href="/schedules" { (lang.pick("返回列表", "Back to the list")) } }
        }
        div.card {
            h2 { (lang.pick("接下来的发布", "Next runs")) }
            @match &preview {
                None => (ui::empty(lang, "这个定时发布没有可计算的下次运行。", "No next runs can be computed for this schedule.")),
                Some(p) => {
                    @if p.paused { p { (ui::badge(Tone::Warn, lang.pick("已暂停：恢复后才会发布", "paused: nothing is posted until it is resumed"))) } }
                    @if p.runs.is_empty() { (ui::empty(lang, "没有剩下的运行。", "No runs are left.")) }
                    ol #runs { @for run in &p.runs {
                        li { time datetime=(run.at.to_rfc3339()) { (run.local) } @if !run.holidays.is_empty() { " " span.badge { (run.holidays.join("、")) } } }
                    } }
                    p.muted { (lang.pick("时区：", "Timezone: ")) (p.timezone) }
                    h3 { (lang.pick("现在会发到的群", "Groups it would post to now")) }
                    @if p.groups.is_empty() { (ui::empty(lang, "目前没有匹配的群。", "No group matches now.")) }
                    ul { @for g in &p.groups { li { (g) } } }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("定时发布", "Schedule"), "/schedules", body)))
}

// --- content library and FAQ ---

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContentFilter {
    tag: Option<String>,
}

fn content_preview(body: &ContentBody) -> Markup {
    match body {
        ContentBody::Text { text } => html! { (text) },
        ContentBody::Image { url, data, caption } => html! {
            @if let Some(url) = url { a href=(url) { (url) } } @else if data.is_some() { span.muted { "(base64)" } }
            @if let Some(caption) = caption { br; (caption) }
        },
        ContentBody::Link { url, title } => html! { a href=(url) { (title) } },
    }
}

async fn content_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri, Query(filter): Query<ContentFilter>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let tag = filter.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let items = store.content_list(tag, LIST_LIMIT).await?;
    let hits = store.faq_stats(&FaqStatsFilter::default(), 10_000).await?;
    let mut totals: BTreeMap<(String, String), u64> = BTreeMap::new();
    for h in &hits {
        *totals.entry((h.template.clone(), h.entry.clone())).or_default() += h.hits;
    }
    let rulebook = state.engine.rulebook();
    let body = html! {
        div.card {
            h2 { (lang.pick("内容库", "Content library")) }
            form.form-row method="get" action="/content" {
                (ui::field(lang.pick("标签", "Tag"), "tag", html! { input type="text" name="tag" value=[tag]; }))
                div.field { button type="submit" { (lang.pick("筛选", "Filter")) } }
            }
            @if items.is_empty() {
                (ui::empty(lang, "内容库是空的。", "The content library is empty."))
            } @else {
                div.table-wrap { table #content {
                    thead { tr { th { "#" } th { (lang.pick("标题", "Title")) } th { (lang.pick("类型", "Kind")) } th { (lang.pick("内容", "Body")) } th { (lang.pick("标签", "Tags")) } th { (lang.pick("更新", "Updated")) } th {} } }
                    tbody { @for item in &items {
                        tr data-content=(item.id) {
                            td { (item.id) } td { (item.title) } td { span.badge { (item.body.kind()) } }
                            td { (content_preview(&item.body)) }
                            td { @for t in &item.tags { a.badge href={ "/content?tag=" (seg(t)) } { (t) } " " } }
                            td { (at(item.updated_at)) br; span.muted { (item.updated_by) } }
                            td { @if viewer.can_edit() {
                                button type="button" data-api={ "/api/v1/content/" (item.id) "?by=" (seg(&viewer.name)) } data-method="DELETE" data-then="reload"
                                    data-confirm=(lang.pick("删除这条内容？", "Delete this item?")) { (lang.pick("删除", "Delete")) }
                            } }
                        }
                    } }
                } }
            }
        }
        div.grid2 {
            @if viewer.can_edit() {
                div.card {
                    h2 { (lang.pick("新建内容", "New item")) }
                    form #content-new data-api="/api/v1/content" data-method="POST" data-done=(lang.pick("已保存", "Saved")) {
                        (by_field(&viewer))
                        (ui::field(lang.pick("标题", "Title"), "title", html! { input type="text" name="title" required; }))
                        div.form-row {
                            (ui::field(lang.pick("类型", "Kind"), "body.type", html! {
                                select name="body.type" { option value="text" { (lang.pick("文字", "text")) } option value="image" { (lang.pick("图片链接", "image URL")) } option value="link" { (lang.pick("链接", "link")) } }
                            }))
                            (ui::field(lang.pick("链接 / 图片地址", "URL"), "body.url", html! { input type="text" name="body.url" data-optional placeholder="https://"; }))
                            (ui::field(lang.pick("链接标题", "Link title"), "body.title", html! { input type="text" name="body.title" data-optional; }))
                        }
                        (ui::field(lang.pick("文字（可用 {name} {group} {rules}）", "Text ({name} {group} {rules} allowed)"), "body.text", html! { textarea name="body.text" data-optional {} }))
                        (ui::field(lang.pick("标签（逗号分隔）", "Tags (comma separated)"), "tags", html! { input type="text" name="tags" data-type="list" data-optional; }))
                        button.primary type="submit" { (lang.pick("保存", "Save")) }
                    }
                }
            }
            div.card {
                h2 { (lang.pick("问答测试", "Try the FAQ")) }
                form #faq-test data-api="/api/v1/faq/test" data-method="POST" data-then="none" data-result="#faq-result" {
                    div.form-row {
                        (ui::field(lang.pick("群", "Group"), "group", html! { input type="text" name="group" required placeholder="qq/123456"; }))
                    }
                    (ui::field(lang.pick("群友的问题", "A member's question"), "text", html! { input type="text" name="text" required placeholder=(lang.pick("怎么退货？", "How do I return it?")); }))
                    button.primary type="submit" { (lang.pick("测试", "Test")) }
                }
                pre.code #faq-result {}
            }
        }
        div.card {
            h2 { (lang.pick("自动问答条目", "FAQ entries")) span.muted { (lang.pick("在规则手册里修改", "edit them in the rulebook")) } }
            div.table-wrap { table #faq {
                thead { tr { th { (lang.pick("模板", "Template")) } th { (lang.pick("条目", "Entry")) } th { (lang.pick("触发", "Triggers")) } th { (lang.pick("回答", "Answer")) } th.num { (lang.pick("命中", "Hits")) } } }
                tbody {
                    @for (template, settings) in &rulebook.rulebook.templates {
                        @for (id, entry) in &settings.auto_reply.entries {
                            @let t = &entry.triggers;
                            tr {
                                td { (template) } td { (id) @if !entry.enabled { " " (ui::badge(Tone::Neutral, lang.pick("停用", "off"))) } }
                                td { (t.exact.iter().chain(&t.contains).chain(&t.all_of).chain(&t.any_of).chain(&t.similar).take(6).cloned().collect::<Vec<_>>().join(" / ")) }
                                td { @if let Some(c) = entry.content { span.badge { (lang.pick("内容库 #", "content #")) (c) } " " } (entry.answer) }
                                td.num { (totals.get(&(template.clone(), id.clone())).copied().unwrap_or(0)) }
                            }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("内容库与问答", "Content & FAQ"), "/content", body)))
}

// --- lotteries and sign-up lists ---

async fn lotteries_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let lotteries = store.list_lotteries(None, LIST_LIMIT).await?;
    let signups = store.list_signups(None, None, LIST_LIMIT).await?;
    let body = html! {
        div.card {
            h2 { (lang.pick("抽奖", "Lotteries")) }
            @if lotteries.is_empty() {
                (ui::empty(lang, "还没有抽奖。", "No lotteries yet."))
            } @else {
                div.table-wrap { table #lotteries {
                    thead { tr {
                        th { (lang.pick("标题", "Title")) } th { (lang.pick("奖品", "Prize")) } th { (lang.pick("参与方式", "Entry")) }
                        th { (lang.pick("群", "Groups")) } th { (lang.pick("开奖", "Draw")) } th { (lang.pick("状态", "Status")) } th {}
                    } }
                    tbody { @for l in &lotteries {
                        @let id = seg(&l.id);
                        tr data-lottery=(l.id) {
                            td { (l.title) }
                            td { (l.prize) " ×" (l.winners) }
                            td {
                                @if let Some(k) = &l.keyword { (lang.pick("关键词 ", "keyword ")) code { (k) } br; }
                                @match l.condition {
                                    Some(EntryCondition::Messages { at_least }) => { (lang.pick("发言 ≥ ", "messages ≥ ")) (at_least) }
                                    Some(EntryCondition::CheckIns { at_least }) => { (lang.pick("签到 ≥ ", "check-ins ≥ ")) (at_least) }
                                    None => {}
                                }
                            }
                            td { (l.groups.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                            td { (at(l.draw_at)) }
                            td {
                                @match l.status {
                                    LotteryStatus::Open => (ui::badge(Tone::Ok, lang.pick("进行中", "open"))),
                                    LotteryStatus::Drawn => (ui::badge(Tone::Neutral, lang.pick("已开奖", "drawn"))),
                                }
                                @if let Some(draw) = &l.draw { br; span.muted { (lang.pick("中奖：", "winners: ")) (draw.winners.join(", ")) } }
                            }
                            td { div.toolbar {
                                @if l.status == LotteryStatus::Open {
                                    (ui::api_button(&viewer, "POST", &format!("/api/v1/lotteries/{id}/draw"), Some(&by(&viewer)), lang.pick("立即开奖", "Draw now"), "reload"))
                                } @else {
                                    (read_button(&format!("/api/v1/lotteries/{id}/verify"), lang.pick("验证", "Verify"), "#verify-result"))
                                }
                            } }
                        }
                    } }
                } }
                pre.code #verify-result {}
            }
        }
        @if viewer.can_edit() {
            div.card {
                h2 { (lang.pick("新建抽奖", "New lottery")) }
                form #lottery-new data-api="/api/v1/lotteries" data-method="POST" data-done=(lang.pick("已创建并在群里公布", "Created and announced")) {
                    (by_field(&viewer))
                    div.form-row {
                        (ui::field(lang.pick("标题", "Title"), "title", html! { input type="text" name="title" required; }))
                        (ui::field(lang.pick("奖品", "Prize"), "prize", html! { input type="text" name="prize" required; }))
                        (ui::field(lang.pick("中奖人数", "Winners"), "winners", html! { input type="number" name="winners" data-type="number" min="1" value="1"; }))
                    }
                    div.form-row {
                        (ui::field(lang.pick("群（逗号分隔，第一个开奖）", "Groups (comma separated; drawn in the first)"), "groups", html! { input type="text" name="groups" data-type="list" required placeholder="qq/123456"; }))
                        (ui::field(lang.pick("参与关键词", "Keyword"), "keyword", html! { input type="text" name="keyword" data-optional placeholder=(lang.pick("抽奖", "lottery")); }))
                        (ui::field(lang.pick("开奖时间", "Draw at"), "draw_at", ops::datetime_input("draw_at", None, false)))
                    }
                    button.primary type="submit" { (lang.pick("创建", "Create")) }
                }
            }
        }
        div.card {
            h2 { (lang.pick("接龙", "Sign-up lists")) }
            @if signups.is_empty() {
                (ui::empty(lang, "还没有接龙。", "No sign-up lists yet."))
            } @else {
                div.table-wrap { table #signups {
                    thead { tr { th { (lang.pick("标题", "Title")) } th { (lang.pick("群", "Group")) } th.num { (lang.pick("名额", "Limit")) } th { (lang.pick("截止", "Closes")) } th { (lang.pick("状态", "Status")) } th {} } }
                    tbody { @for s in &signups {
                        @let id = seg(&s.id);
                        tr data-signup=(s.id) {
                            td { (s.title) } td { (s.group) } td.num { (s.limit.map_or_else(|| "—".to_owned(), |l| l.to_string())) }
                            td { (at_opt(s.closes_at)) }
                            td { @match s.status {
                                SignupStatus::Open => (ui::badge(Tone::Ok, lang.pick("进行中", "open"))),
                                SignupStatus::Closed => (ui::badge(Tone::Neutral, lang.pick("已结束", "closed"))),
                            } }
                            td { div.toolbar {
                                a.button href={ "/api/v1/signups/" (id) "/entries.csv" } download={ "signup-" (s.id) ".csv" } { "CSV" }
                                @if s.status == SignupStatus::Open {
                                    (ui::api_button(&viewer, "POST", &format!("/api/v1/signups/{id}/close"), Some(&by(&viewer)), lang.pick("结束", "Close"), "reload"))
                                }
                            } }
                        }
                    } }
                } }
            }
            @if viewer.can_edit() {
                h3 { (lang.pick("发起接龙", "Start a list")) }
                form #signup-new data-api="/api/v1/signups" data-method="POST" data-done=(lang.pick("已在群里发起", "Started in the group")) {
                    (by_field(&viewer))
                    div.form-row {
                        (ui::field(lang.pick("群", "Group"), "group", html! { input type="text" name="group" required placeholder="qq/123456"; }))
                        (ui::field(lang.pick("标题", "Title"), "title", html! { input type="text" name="title" required; }))
                        (ui::field(lang.pick("名额", "Limit"), "limit", html! { input type="number" name="limit" data-type="number" data-optional min="1"; }))
                        (ui::field(lang.pick("截止时间", "Closes at"), "closes_at", ops::datetime_input("closes_at", None, true)))
                    }
                    button.primary type="submit" { (lang.pick("发起", "Start")) }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("抽奖与接龙", "Lotteries & sign-ups"), "/lotteries", body)))
}

// --- redemptions and the shop ---

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RedemptionFilter {
    status: Option<String>,
}

fn redemption_label(lang: qunzhu_engine::Locale, status: RedemptionStatus) -> Markup {
    match status {
        RedemptionStatus::Pending => ui::badge(Tone::Warn, lang.pick("待发放", "pending")),
        RedemptionStatus::Fulfilled => ui::badge(Tone::Ok, lang.pick("已发放", "fulfilled")),
        RedemptionStatus::Cancelled => ui::badge(Tone::Neutral, lang.pick("已取消", "cancelled")),
    }
}

async fn redemptions_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri, Query(filter): Query<RedemptionFilter>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(RedemptionStatus::from_name(name).ok_or_else(|| DashError::bad_request(lang, format!("{}{name}", lang.pick("未知状态：", "unknown status: "))))?),
    };
    let redemptions = store.list_redemptions(status, LIST_LIMIT * 2).await?;
    let items = store.shop_items().await?;
    let body = html! {
        div.card {
            h2 { (lang.pick("兑换记录", "Redemptions")) }
            nav.toolbar {
                a.button href="/redemptions" { (lang.pick("全部", "All")) }
                @for s in [RedemptionStatus::Pending, RedemptionStatus::Fulfilled, RedemptionStatus::Cancelled] {
                    a.button href={ "/redemptions?status=" (s.name()) } { (redemption_label(lang, s)) }
                }
            }
            @if redemptions.is_empty() {
                (ui::empty(lang, "没有兑换记录。", "No redemptions."))
            } @else {
                div.table-wrap { table #redemptions {
                    thead { tr { th { (lang.pick("时间", "Time")) } th { (lang.pick("商品", "Item")) } th { (lang.pick("成员", "Member")) } th { (lang.pick("群", "Group")) } th.num { (lang.pick("积分", "Points")) } th { (lang.pick("状态", "Status")) } th {} } }
                    tbody { @for r in &redemptions {
                        @let id = seg(&r.id);
                        tr data-redemption=(r.id) {
                            td { (at(r.created_at)) }
                            td { (items.iter().find(|i| i.id == r.item).map_or(r.item.as_str(), |i| i.name.as_str())) }
                            td { (r.member) } td { (r.group) } td.num { (r.cost) }
                            td { (redemption_label(lang, r.status)) }
                            td { @if r.status == RedemptionStatus::Pending { div.toolbar {
                                (ui::api_button(&viewer, "POST", &format!("/api/v1/shop/redemptions/{id}/fulfil"), Some(&by(&viewer)), lang.pick("已发放", "Fulfilled"), "reload"))
                                (ui::api_button(&viewer, "POST", &format!("/api/v1/shop/redemptions/{id}/cancel"), Some(&by(&viewer)), lang.pick("取消并退积分", "Cancel and refund"), "reload"))
                            } } }
                        }
                    } }
                } }
            }
        }
        div.card {
            h2 { (lang.pick("积分商城", "Shop items")) }
            @if items.is_empty() { (ui::empty(lang, "商城里还没有商品。", "The shop has no items yet.")) }
            @for item in &items { (item_row(&viewer, Some(item))) }
            @if viewer.can_edit() {
                details { summary { (lang.pick("新增商品", "New item")) } (item_row(&viewer, None)) }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("积分兑换", "Redemptions"), "/redemptions", body)))
}

/// A shop item and, for editors, its form (`PUT /api/v1/shop/items/{id}`).
fn item_row(viewer: &Viewer, item: Option<&ShopItem>) -> Markup {
    let lang = viewer.lang;
    let api = item.map_or_else(|| "/api/v1/shop/items/{id}".to_owned(), |i| format!("/api/v1/shop/items/{}", seg(&i.id)));
    let kind = item.map_or(ItemKind::Goods, |i| i.kind);
    let enabled = item.is_none_or(|i| i.enabled);
    html! {
        section.item data-item=[item.map(|i| &i.id)] {
            @if let Some(i) = item {
                div.toolbar {
                    strong.grow { (i.name) " " span.muted { (i.id) } }
                    span.badge { (i.cost) (lang.pick(" 积分", " points")) }
                    span.badge { (lang.pick("库存 ", "stock ")) (i.stock.map_or_else(|| "∞".to_owned(), |s| s.to_string())) }
                    @if !i.enabled { (ui::badge(Tone::Neutral, lang.pick("已下架", "disabled"))) }
                }
            }
            @if viewer.can_edit() {
                form.item-form data-api=(api) data-method="PUT" data-done=(lang.pick("已保存", "Saved")) {
                    (by_field(viewer))
                    div.form-row {
                        @if item.is_none() { (ui::field("ID", "id", html! { input type="text" name="id" data-url required placeholder="mug"; })) }
                        (ui::field(lang.pick("名称", "Name"), "name", html! { input type="text" name="name" required value=[item.map(|i| i.name.as_str())]; }))
                        (ui::field(lang.pick("积分", "Cost"), "cost", html! { input type="number" name="cost" data-type="number" min="0" required value=[item.map(|i| i.cost)]; }))
                        (ui::field(lang.pick("库存（留空不限）", "Stock (empty: unlimited)"), "stock", html! { input type="number" name="stock" data-type="number" data-optional min="0" value=[item.and_then(|i| i.stock)]; }))
                        (ui::field(lang.pick("类型", "Kind"), "kind", html! {
                            select name="kind" {
                                option value="goods" selected[kind == ItemKind::Goods] { (lang.pick("实物", "goods")) }
                                option value="makeup_card" selected[kind == ItemKind::MakeupCard] { (lang.pick("补签卡", "make-up card")) }
                            }
                        }))
                        (ui::field(lang.pick("上架", "Enabled"), "enabled", html! { input type="checkbox" name="enabled" checked[enabled]; }))
                    }
                    (ui::field(lang.pick("说明", "Description"), "description", html! { input type="text" name="description" value=[item.map(|i| i.description.as_str())]; }))
                    button type="submit" { (lang.pick("保存", "Save")) }
                }
            }
        }
    }
}

