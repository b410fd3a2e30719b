//! `/tasks` (待办): staff tasks by status, with assignment; `/tickets` (问题清单): tickets by
//! status with owner, category, due date, notes and follow-up, created by hand, and a group's
//! weekly report. Reads go through the store calls of `http/admin.rs` and `http/care.rs`;
//! changes through their routes.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use qunzhu_core::care::{Ticket, TicketStatus};
use qunzhu_core::{GroupKey, StaffTask, TaskStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Viewer;
use super::layout::{self, Page};
use super::ops::{self, at, at_opt, by_field, seg, with_by};
use super::ui::{self, Tone};
use super::{DashError, here};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/tasks", get(tasks_page)).route("/tickets", get(tickets_page))
}

/// Open tasks shown at most; done and dismissed ones are the latest of each.
const OPEN_TASKS: u32 = 200;
const CLOSED_TASKS: u32 = 30;

fn task_status_label(lang: qunzhu_engine::Locale, status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => lang.pick("待处理", "Open"),
        TaskStatus::Done => lang.pick("已完成", "Done"),
        TaskStatus::Dismissed => lang.pick("已忽略", "Dismissed"),
    }
}

async fn tasks_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let store = state.engine.store();
    let mut columns = Vec::new();
    for (status, limit) in [(TaskStatus::Open, OPEN_TASKS), (TaskStatus::Done, CLOSED_TASKS), (TaskStatus::Dismissed, CLOSED_TASKS)] {
        let tasks = store.list_tasks(Some(status), limit).await?;
        let assignees: HashMap<String, String> = store
            .task_assignments(Some(status), limit)
            .await?
            .into_iter()
            .map(|a| (a.task.to_string(), a.assignee))
            .collect();
        columns.push((status, tasks, assignees));
    }
    let body = html! {
        div.board {
            @for (status, tasks, assignees) in &columns {
                section.card.column data-status=(status.name()) {
                    h2 { (task_status_label(lang, *status)) span.badge { (tasks.len()) } }
                    @if tasks.is_empty() { (ui::empty(lang, "没有待办。", "Nothing here.")) }
                    @for task in tasks { (task_card(&viewer, task, assignees.get(task.id.as_str()))) }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("待办", "Staff tasks"), "/tasks", body)))
}

fn task_card(viewer: &Viewer, task: &StaffTask, assignee: Option<&String>) -> Markup {
    let lang = viewer.lang;
    let id = seg(task.id.as_str());
    let set = |status: TaskStatus, label: &str| {
        ui::api_button(viewer, "POST", &format!("/api/v1/tasks/{id}/status"), Some(&with_by(viewer, json!({ "status": status.name() }))), label, "reload")
    };
    html! {
        article.item data-task=(task.id) {
            div.toolbar {
                strong.grow { (task.title) }
                @match assignee {
                    Some(name) => span.badge.assignee { "@" (name) },
                    None => span.muted.assignee { (lang.pick("未分配", "unassigned")) },
                }
            }
            p { (task.step) }
            p.muted { (task.group) " · " (at(task.created_at)) @if let Some(by) = &task.updated_by { " · " (by) } }
            @if viewer.can_edit() {
                div.toolbar {
                    @match task.status {
                        TaskStatus::Open => {
                            (set(TaskStatus::Done, lang.pick("完成", "Done")))
                            (set(TaskStatus::Dismissed, lang.pick("忽略", "Dismiss")))
                        }
                        _ => { (set(TaskStatus::Open, lang.pick("重新打开", "Reopen"))) }
                    }
                }
                form.form-row.assign data-api={ "/api/v1/tasks/" (id) "/assign" } data-method="POST" {
                    (by_field(viewer))
                    input type="text" name="assignee" placeholder=(lang.pick("指派给（留空取消）", "Assign to (empty: nobody)")) value=[assignee];
                    button type="submit" { (lang.pick("指派", "Assign")) }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TicketFilter {
    group: Option<String>,
}

const TICKET_STATUSES: [TicketStatus; 4] = [TicketStatus::Open, TicketStatus::InProgress, TicketStatus::Resolved, TicketStatus::Closed];

fn ticket_status_label(lang: qunzhu_engine::Locale, status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Open => lang.pick("待处理", "Open"),
        TicketStatus::InProgress => lang.pick("处理中", "In progress"),
        TicketStatus::Resolved => lang.pick("已解决", "Resolved"),
        TicketStatus::Closed => lang.pick("已关闭", "Closed"),
    }
}

async fn tickets_page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri, Query(filter): Query<TicketFilter>) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let group = match filter.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        None => None,
        Some(text) => Some(GroupKey::parse(text).ok_or_else(|| DashError::bad_request(lang, lang.pick("群写作 平台/群号，例如 qq/123", "a group is written connector/group, e.g. qq/123")))?),
    };
    let tickets = state.engine.store().care_tickets(group.as_ref(), None).await?;
    let now = state.engine.clock().now();
    let weekly = match &group {
        Some(g) => Some(crate::http::care::weekly_report(&state, g, now).await.map_err(|e| DashError::internal(e.message))?),
        None => None,
    };
    let body = html! {
        div.card {
            form.form-row method="get" action="/tickets" {
                (ui::field(lang.pick("群", "Group"), "group", html! { input type="text" name="group" placeholder="qq/123456" value=[filter.group.as_deref()]; }))
                div.field { button type="submit" { (lang.pick("筛选", "Filter")) } }
            }
            @if group.is_none() { p.muted { (lang.pick("选择一个群可查看它的周报。", "Pick a group to see its weekly report.")) } }
        }
        @if let Some(report) = &weekly { (weekly_card(&viewer, report)) }
        div.board {
            @for status in TICKET_STATUSES {
                @let in_status: Vec<&Ticket> = tickets.iter().filter(|t| t.status == status).collect();
                section.card.column data-status=(status.name()) {
                    h2 { (ticket_status_label(lang, status)) span.badge { (in_status.len()) } }
                    @if in_status.is_empty() { (ui::empty(lang, "没有。", "None.")) }
                    @for t in in_status { (ticket_card(&viewer, t, now)) }
                }
            }
        }
        @if viewer.can_edit() {
            div.card {
                h2 { (lang.pick("手动新建问题", "New ticket")) }
                form #ticket-new data-api="/api/v1/tickets" data-method="POST" data-done=(lang.pick("已新建", "Created")) {
                    div.form-row {
                        (ui::field(lang.pick("群", "Group"), "group", html! { input type="text" name="group" required placeholder="qq/123456" value=[filter.group.as_deref()]; }))
                        (ui::field(lang.pick("类别", "Category"), "category", html! { input type="text" name="category" data-optional placeholder="manual"; }))
                        (ui::field(lang.pick("负责人", "Owner"), "owner", html! { input type="text" name="owner" data-optional; }))
                    }
                    (ui::field(lang.pick("标题", "Title"), "title", html! { input type="text" name="title" required; }))
                    (ui::field(lang.pick("详情", "Detail"), "detail", html! { textarea name="detail" data-optional {} }))
                    div.form-row {
                        (ui::field(lang.pick("截止时间", "Due"), "due_at", ops::datetime_input("due_at", None, true)))
                        (ui::field(lang.pick("回访时间", "Follow up at"), "follow_up_at", ops::datetime_input("follow_up_at", None, true)))
                    }
                    button.primary type="submit" { (lang.pick("新建", "Create")) }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("问题清单", "Tickets"), "/tickets", body)))
}

fn weekly_card(viewer: &Viewer, report: &Value) -> Markup {
    let lang = viewer.lang;
    let count = |key: &str| report[key].as_u64().unwrap_or(0);
    let overdue = report["overdue"].as_array().map_or(0, Vec::len);
    html! {
        div.card #weekly {
            h2 { (lang.pick("本周问题周报", "This week's ticket report")) span.muted { (report["group"].as_str().unwrap_or("")) } }
            div.cards {
                (ui::stat(lang.pick("新增", "Opened"), count("opened"), None))
                (ui::stat(lang.pick("解决", "Resolved"), count("resolved"), None))
                (ui::stat(lang.pick("逾期", "Overdue"), overdue, None))
            }
            @if let Some(by_category) = report["open_by_category"].as_object() {
                @if !by_category.is_empty() {
                    div.table-wrap { table {
                        thead { tr { th { (lang.pick("类别", "Category")) } th.num { (lang.pick("未解决", "Open")) } } }
                        tbody { @for (category, n) in by_category { tr { td { (category) } td.num { (n) } } } }
                    } }
                }
            }
        }
    }
}

fn ticket_card(viewer: &Viewer, t: &Ticket, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let lang = viewer.lang;
    let overdue = t.status.is_open() && t.due_at.is_some_and(|d| d < now);
    html! {
        article.item data-ticket=(t.id) {
            div.toolbar {
                strong.grow { (t.title) }
                span.badge { (t.category) }
                @if overdue { (ui::badge(Tone::Danger, lang.pick("逾期", "overdue"))) }
            }
            @if !t.detail.is_empty() { p { (t.detail) } }
            p.muted {
                (t.group) " · " (at(t.opened_at))
                " · " (lang.pick("负责人：", "owner: ")) (t.owner.as_deref().unwrap_or("—"))
            }
            p.muted { (lang.pick("截止：", "due: ")) (at_opt(t.due_at)) " · " (lang.pick("回访：", "follow-up: ")) (at_opt(t.follow_up_at)) }
            @if !t.notes.is_empty() {
                ul.notes { @for n in &t.notes { li { (at(n.at)) " " @if let Some(by) = &n.by { span.muted { (by) "：" } } (n.text) } } }
            }
            @if viewer.can_edit() {
                details {
                    summary { (lang.pick("更新", "Update")) }
                    form.ticket-edit data-api={ "/api/v1/tickets/" (seg(&t.id)) } data-method="PATCH" {
                        (by_field(viewer))
                        div.form-row {
                            (ui::field(lang.pick("状态", "Status"), "status", html! {
                                select name="status" { @for s in TICKET_STATUSES { option value=(s.name()) selected[s == t.status] { (ticket_status_label(lang, s)) } } }
                            }))
                            (ui::field(lang.pick("负责人", "Owner"), "owner", html! { input type="text" name="owner" value=[t.owner.as_deref()]; }))
                        }
                        div.form-row {
                            (ui::field(lang.pick("截止时间", "Due"), "due_at", ops::datetime_input("due_at", t.due_at, true)))
                            (ui::field(lang.pick("回访时间", "Follow up at"), "follow_up_at", ops::datetime_input("follow_up_at", t.follow_up_at, true)))
                        }
                        (ui::field(lang.pick("添加备注", "Add a note"), "note", html! { input type="text" name="note" data-optional; }))
                        button.primary type="submit" { (lang.pick("保存", "Save")) }
                    }
                }
            }
        }
    }
}
