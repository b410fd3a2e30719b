//! Connectors (`/connectors`, 平台连接): every connector the server runs, its type, what it
//! can do (the planner's capabilities and limits), what it cannot (those steps become staff
//! tasks), its groups, and its live connection state as `/healthz` reports it.

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::routing::get;
use maud::{Markup, html};
use qunzhu_core::{Capability, ConnectorId};
use qunzhu_engine::Locale;
use serde_json::Value;

use super::auth::Viewer;
use super::layout::{self, Page};
use super::overview::connector_kinds;
use super::ui::{self, Tone};
use super::{DashError, here};
use crate::http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/connectors", get(page))
}

/// What a capability lets qunzhu do, in the operator's words.
fn capability_label(lang: Locale, capability: Capability) -> &'static str {
    match capability {
        Capability::Send => lang.pick("发消息", "send messages"),
        Capability::Reply => lang.pick("引用回复", "reply"),
        Capability::Mention => lang.pick("@成员", "mention members"),
        Capability::Delete => lang.pick("撤回消息", "delete messages"),
        Capability::Mute => lang.pick("禁言", "mute"),
        Capability::Kick => lang.pick("移出群", "remove from group"),
        Capability::Ban => lang.pick("拉黑", "ban"),
        Capability::Unban => lang.pick("解除拉黑", "unban"),
        Capability::ApproveJoin => lang.pick("审核入群申请", "approve join requests"),
        Capability::SetAnnouncement => lang.pick("设置群公告", "set announcements"),
        Capability::DirectMessage => lang.pick("私聊", "direct messages"),
        Capability::NotifyStaff => lang.pick("通知工作人员", "notify staff"),
    }
}

fn kind_label(lang: Locale, kind: &str) -> String {
    let label = match kind {
        "sandbox" => lang.pick("沙盒", "sandbox"),
        "bridge" => lang.pick("HTTP 桥接", "HTTP bridge"),
        "onebot" => lang.pick("QQ（OneBot v11）", "QQ (OneBot v11)"),
        "matrix" => "Matrix",
        "telegram" => "Telegram",
        "wecom" => lang.pick("企业微信客户群", "WeCom customer groups"),
        other => other,
    };
    label.to_owned()
}

fn health_cell(lang: Locale, kind: &str, health: Option<&Value>) -> Markup {
    match health {
        Some(h) => {
            let connected = h.get("connected").and_then(Value::as_bool).unwrap_or(false);
            let error = h.get("last_error").and_then(Value::as_str);
            html! {
                @if connected { (ui::badge(Tone::Ok, lang.pick("已连接", "connected"))) } @else { (ui::badge(Tone::Danger, lang.pick("未连接", "disconnected"))) }
                @if let Some(error) = error { br; small.muted { (error) } }
                details { summary { small { "healthz" } } pre.code style="white-space: pre-wrap" { (serde_json::to_string_pretty(h).unwrap_or_default()) } }
            }
        }
        None => html! {
            span.muted { (match kind {
                "sandbox" => lang.pick("内置，始终可用", "built in, always available"),
                "bridge" => lang.pick("由对端拉取动作（无常驻连接）", "the peer pulls actions (no standing connection)"),
                _ => lang.pick("无连接状态", "no connection state"),
            }) }
        },
    }
}

/// `GET /connectors`
async fn page(viewer: Viewer, State(state): State<AppState>, OriginalUri(uri): OriginalUri) -> Result<Markup, DashError> {
    let lang = viewer.lang;
    let health = state.connector_health();
    let groups = state.engine.store().list_groups().await?;
    let kinds = connector_kinds(&state);
    let group_count = |id: &ConnectorId| groups.iter().filter(|g| &g.key.connector == id).count();
    let body = html! {
        p.muted { (lang.pick("平台做不到的动作不会丢失：它们变成工作人员的待办，写明要手动做的步骤。",
                             "Nothing is lost where a platform cannot act: such steps become staff tasks saying exactly what to do by hand.")) }
        @for (id, kind) in &kinds {
            @let caps = state.engine.capabilities(id);
            div.card.connector data-connector=(id.as_str()) data-kind=(kind) {
                div.toolbar {
                    h2.grow { (id.as_str()) " " span.muted { (kind_label(lang, kind)) } }
                    (health_cell(lang, kind, health.get(id.as_str())))
                }
                @match caps {
                    Some(caps) => {
                        p { (lang.pick("能做：", "Can: "))
                            @for c in Capability::ALL.iter().filter(|c| caps.can(**c)) { span.badge.ok data-can=(c.name()) { (capability_label(lang, *c)) } " " }
                        }
                        @let cannot: Vec<Capability> = Capability::ALL.into_iter().filter(|c| !caps.can(*c)).collect();
                        @if !cannot.is_empty() {
                            p.cannot { (lang.pick("做不到（变成待办）：", "Cannot (becomes a staff task): "))
                                @for c in &cannot { span.badge.warn data-cannot=(c.name()) { (capability_label(lang, *c)) } " " }
                            }
                        }
                        p.muted { small {
                            @if let Some(n) = caps.max_message_chars { (lang.pick("单条消息最多 ", "Messages up to ")) (n) (lang.pick(" 字；", " characters; ")) }
                            @if let Some(n) = caps.sends_per_minute_per_group { (lang.pick("每群每分钟最多发 ", "at most ")) (n) (lang.pick(" 条；", " sends per group per minute; ")) }
                            @if let Some(n) = caps.max_mute_secs { (lang.pick("最长禁言 ", "longest mute ")) (n / 60) (lang.pick(" 分钟；", " minutes; ")) }
                            @if let Some(app) = &caps.manual_in { (lang.pick("手动操作在：", "manual steps in: ")) (app) "；" }
                            (lang.pick("群数：", "groups: ")) (group_count(id))
                        } }
                    }
                    None => { p.muted { (lang.pick("引擎未启用这个连接。", "The engine does not run this connector.")) } }
                }
            }
        }
    };
    Ok(layout::render(&viewer, &here(&uri), Page::new(lang.pick("平台连接", "Connectors"), "/connectors", body)))
}
