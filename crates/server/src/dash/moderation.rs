//! `/moderation` (内容安全): violations with their explanation and evidence, undo and false
//! positives, the blacklist, and classifier corrections — read through the same store calls as
//! `http/moderation.rs`, changed only through its routes.

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use qunzhu_core::moderation::{Violation, ViolationStatus};
use qunzhu_core::GroupKey;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Viewer;
use super::layout::{self, Page};
use super::ops::{self, at, by, by_field, seg};
use super::ui::{self, Paging, Tone};
use super::{DashError, here};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/moderation", get(page))
}

/// Most violations a category filter looks through (the store filters by group and status).
const CATEGORY_WINDOW: u32 = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filter {
    group: Option<String>,
    category: Option<String>,
    status: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl Filter {
    fn paging(&self) -> Paging {
        ops::paging(self.page, self.per_page)
    }
}

fn status_label(lang: qunzhu_engine::Locale, status: ViolationStatus) -> Markup {
    match status {
        ViolationStatus::Active => ui::badge(Tone::Danger, lang.pick("生效中", "active")),
        ViolationStatus::Undone => ui::badge(Tone::Neutral, lang.pick("已撤销", "undone")),
        ViolationStatus::FalsePositive => ui::badge(Tone::Warn, lang.pick("误判", "false positive")),
    }
}

/// The checks a violation stored (JSON): each with its evidence and weight.
fn checks(violation: &Violation) -> Markup {
    let checks: Vec<Value> = serde_json::from_str(&violation.checks).unwrap_or_default();
    html! {
        ul.checks {
            @for c in &checks {
                li {
                    span.badge { (c["check"].as_str().unwrap_or("?")) }
                    " " (c["evidence"].as_str().or(c["subject"].as_str()).unwrap_or(""))
                    @if let Some(w) = c["weight"].as_f64() { span.muted { " ×" (format!("{w:.2}")) } }
                }
            }
        }
    }
}

async fn page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri, Query(filter): Query<Filter>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let group = match filter.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        None => None,
        Some(text) => Some(GroupKey::parse(text).ok_or_else(|| DashError::bad_request(lang, lang.pick("群写作 平台/群号，例如 qq/123", "a group is written connector/group, e.g. qq/123")))?),
    };
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(ViolationStatus::from_name(name).ok_or_else(|| DashError::bad_request(lang, format!("{}{name}", lang.pick("未知状态：", "unknown status: "))))?),
    };
    let category = filter.category.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let paging = filter.paging();
    // The store pages by limit: read up to this page's end plus one (to know whether more
    // follow); a category filter reads a window and filters it.
    let window = if category.is_some() { CATEGORY_WINDOW } else { (paging.offset() + paging.per_page() + 1).min(CATEGORY_WINDOW) };
    let mut violations = store.list_violations(group.as_ref(), status, window).await?;
    if let Some(category) = category {
        violations.retain(|v| v.category == category);
    }
    let (shown, more) = paging.slice(&violations);
    let blacklist = store.list_blacklist(200).await?;
    let corrections = store.list_corrections().await?;
    let query = ops::query_without_page(&[("group", filter.group.as_deref()), ("category", category), ("status", filter.status.as_deref())]);
    let here = here(&uri);

    let body = html! {
        div.card {
            h2 { (lang.pick("违规记录", "Violations")) }
            form.form-row method="get" action="/moderation" {
                (ui::field(lang.pick("群", "Group"), "group", html! { input type="text" name="group" placeholder="qq/123456" value=[filter.group.as_deref()]; }))
                (ui::field(lang.pick("类别", "Category"), "category", html! { input type="text" name="category" placeholder=(lang.pick("广告", "ad")) value=[category]; }))
                (ui::field(lang.pick("状态", "Status"), "status", html! {
                    select name="status" {
                        option value="" { (lang.pick("全部", "all")) }
                        @for s in [ViolationStatus::Active, ViolationStatus::Undone, ViolationStatus::FalsePositive] {
                            option value=(s.name()) selected[status == Some(s)] { (s.name()) }
                        }
                    }
                }))
                div.field { button type="submit" { (lang.pick("筛选", "Filter")) } }
            }
            @if shown.is_empty() {
                (ui::empty(lang, "没有违规记录。", "No violations."))
            } @else {
                div.table-wrap { table #violations {
                    thead { tr {
                        th { (lang.pick("时间", "Time")) } th { (lang.pick("群", "Group")) } th { (lang.pick("成员", "Member")) }
                        th { (lang.pick("类别", "Category")) } th { (lang.pick("消息", "Message")) } th { (lang.pick("依据", "Evidence")) }
                        th { (lang.pick("处罚", "Penalty")) } th { (lang.pick("状态", "Status")) } th {}
                    } }
                    tbody { @for v in shown { (violation_row(&viewer, v)) } }
                } }
            }
            (ui::pager(lang, paging, more, "/moderation", &query))
        }
        div.grid2 {
            div.card {
                h2 { (lang.pick("黑名单", "Blacklist")) }
                @if blacklist.is_empty() {
                    (ui::empty(lang, "黑名单是空的。", "The blacklist is empty."))
                } @else {
                    div.table-wrap { table #blacklist {
                        thead { tr { th { (lang.pick("成员", "Member")) } th { (lang.pick("原因", "Reason")) } th { (lang.pick("加入", "Added")) } th {} } }
                        tbody { @for e in &blacklist {
                            tr data-member=(e.member) {
                                td { (e.member_name.as_deref().unwrap_or(e.member.as_str())) br; span.muted { (e.connector) "/" (e.member) } }
                                td { (e.reason) }
                                td { (at(e.added_at)) br; span.muted { (e.added_by) } }
                                td { (ui::api_button(&viewer, "DELETE", &format!("/api/v1/blacklist/{}/{}?by={}", seg(e.connector.as_str()), seg(e.member.as_str()), seg(&viewer.name)), None, lang.pick("移出", "Remove"), "reload")) }
                            }
                        } }
                    } }
                }
                @if viewer.can_edit() {
                    h3 { (lang.pick("加入黑名单", "Add to the blacklist")) }
                    form #blacklist-add data-api="/api/v1/blacklist" data-method="POST" data-done=(lang.pick("已加入黑名单", "Blacklisted")) {
                        (by_field(&viewer))
                        div.form-row {
                            (ui::field(lang.pick("平台", "Connector"), "connector", html! { input type="text" name="connector" required placeholder="qq"; }))
                            (ui::field(lang.pick("成员 ID", "Member id"), "member", html! { input type="text" name="member" required; }))
                            (ui::field(lang.pick("昵称", "Name"), "name", html! { input type="text" name="name" data-optional; }))
                        }
                        (ui::field(lang.pick("原因", "Reason"), "reason", html! { input type="text" name="reason" required placeholder=(lang.pick("广告", "spam")); }))
                        button.primary type="submit" { (lang.pick("加入并在各群封禁", "Blacklist and ban everywhere")) }
                    }
                }
            }
            div.card {
                h2 { (lang.pick("分类器纠正", "Classifier corrections")) }
                @if viewer.can_edit() {
                    form #correction data-api="/api/v1/corrections" data-method="POST" data-done=(lang.pick("分类器已学习", "The classifier learned it")) {
                        (by_field(&viewer))
                        (ui::field(lang.pick("文本", "Text"), "text", html! { textarea name="text" required {} }))
                        (ui::field(lang.pick("这是", "This is"), "spam", html! {
                            select name="spam" data-type="bool" {
                                option value="true" { (lang.pick("垃圾广告", "spam")) }
                                option value="false" { (lang.pick("正常消息", "not spam")) }
                            }
                        }))
                        button.primary type="submit" { (lang.pick("纠正", "Correct")) }
                    }
                }
                @if corrections.is_empty() {
                    (ui::empty(lang, "还没有纠正。", "No corrections yet."))
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("文本", "Text")) } th { (lang.pick("判定", "Verdict")) } th { (lang.pick("时间", "Time")) } } }
                        tbody { @for c in corrections.iter().rev().take(20) {
                            tr {
                                td { (c.text) }
                                td { @if c.is_spam { (ui::badge(Tone::Danger, lang.pick("垃圾", "spam"))) } @else { (ui::badge(Tone::Ok, lang.pick("正常", "fine"))) } }
                                td { (at(c.at)) br; span.muted { (c.by) } }
                            }
                        } }
                    } }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here, Page::new(lang.pick("内容安全", "Moderation"), "/moderation", body)))
}

fn violation_row(viewer: &Viewer, v: &Violation) -> Markup {
    let lang = viewer.lang;
    let id = seg(&v.id);
    html! {
        tr data-violation=(v.id) data-status=(v.status.name()) {
            td { (at(v.time)) }
            td { (v.group) }
            td { (v.member_name.as_deref().unwrap_or(v.member.as_str())) br; span.muted { (v.member) } }
            td { (v.category) @if v.dry_run { " " (ui::badge(Tone::Neutral, lang.pick("演练", "dry run"))) } }
            td { (v.text) }
            td { (checks(v)) }
            td { (v.penalty) }
            td.status { (status_label(lang, v.status)) }
            td {
                @if v.status == ViolationStatus::Active {
                    div.toolbar {
                        (ui::api_button(viewer, "POST", &format!("/api/v1/violations/{id}/undo"), Some(&by(viewer)), lang.pick("撤销处罚", "Undo"), "reload"))
                        (ui::api_button(viewer, "POST", &format!("/api/v1/violations/{id}/false-positive"), Some(&by(viewer)), lang.pick("标记误判", "False positive"), "reload"))
                    }
                }
            }
        }
    }
}
