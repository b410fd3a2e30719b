//! The operations pages (moderation, tasks, tickets, channels, schedules, content,
//! lotteries, redemptions) rendered through `qunzhu::http::router` with `oneshot`, seeded
//! through the bridge and the JSON API as a platform and an operator would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use qunzhu::http::AppState;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_connectors::secret::Secret;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

struct App {
    router: axum::Router,
    next: std::sync::atomic::AtomicU32,
}

fn bridge(id: &str, capabilities: &[&str]) -> BridgeConfig {
    BridgeConfig {
        id: id.into(),
        token: Secret::new(format!("{id}-token")),
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
    }
}

impl App {
    /// `qq` can do everything moderation asks; `weak` can only send, so a deletion becomes a
    /// staff task.
    async fn start() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let sandbox = Arc::new(SandboxConnector::with_clock(clock.clone()));
        let bridges = [bridge("qq", &["send", "reply", "delete", "mute", "kick", "ban"]), bridge("weak", &["send"])];
        let capabilities: HashMap<ConnectorId, Capabilities> = bridges.iter().map(|b| (b.connector_id(), b.capabilities())).collect();
        let engine = Engine::start(store, clock, capabilities, EngineConfig::default()).await.unwrap();
        let state = AppState::new(engine, bridges, sandbox);
        Self { router: support::signed_in(state).await, next: std::sync::atomic::AtomicU32::new(1) }
    }

    async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Vec<u8>) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec())
    }

    async fn api(&self, method: Method, uri: &str, body: Option<Value>) -> Value {
        let (status, bytes) = self.call(method, uri, None, body).await;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.is_success(), "{uri}: {status} {value}");
        value
    }

    async fn page(&self, uri: &str) -> String {
        let (status, bytes) = self.call(Method::GET, uri, None, None).await;
        let html = String::from_utf8(bytes).unwrap();
        assert_eq!(status, StatusCode::OK, "{uri}: {html}");
        html
    }

    /// A member says `text` in a group of `connector` (through the bridge).
    async fn say(&self, connector: &str, group: &str, member: &str, text: &str) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let event = json!({"id": format!("e{n}"), "time": chrono::Utc::now().to_rfc3339(), "type": "message",
            "group": {"id": group, "name": format!("{group}群")},
            "actor": {"id": member, "name": format!("推广{member}"), "role": "member"},
            "message": {"id": format!("m{n}"), "text": text}});
        self.bridge(connector, event).await;
    }

    async fn join(&self, connector: &str, group: &str, member: &str, code: Option<&str>) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let event = json!({"id": format!("e{n}"), "time": chrono::Utc::now().to_rfc3339(), "type": "member_joined",
            "group": {"id": group, "name": format!("{group}群")},
            "actor": {"id": member, "name": format!("新人{member}")}, "invite_code": code});
        self.bridge(connector, event).await;
    }

    async fn bridge(&self, connector: &str, event: Value) {
        let (status, bytes) = self.call(Method::POST, &format!("/api/v1/bridge/{connector}/events"), Some(&format!("{connector}-token")), Some(event)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    }
}

/// The `<tr>` of the row carrying `attr="value"` (the page's own markup for that record).
fn row<'a>(html: &'a str, attr: &str, value: &str) -> &'a str {
    let start = html.find(&format!("{attr}=\"{value}\"")).unwrap_or_else(|| panic!("no row {attr}={value} in the page"));
    let end = html[start..].find("</tr>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[tokio::test]
async fn an_ad_is_listed_with_its_evidence_and_once_undone_through_the_api_shows_as_undone() {
    let app = App::start().await;
    app.say("qq", "g1", "u9", AD).await;
    let violations = app.api(Method::GET, "/api/v1/violations", None).await;
    let id = violations["violations"][0]["id"].as_str().unwrap().to_owned();

    let page = app.page("/moderation").await;
    let tr = row(&page, "data-violation", &id);
    assert!(tr.contains("推广u9") && tr.contains(AD), "the member and the message: {tr}");
    assert!(tr.contains("加微信") || tr.contains("abc12345"), "the evidence of a check: {tr}");
    assert!(tr.contains(&format!("/api/v1/violations/{id}/undo")) && tr.contains("/false-positive"), "undo and false-positive buttons: {tr}");
    assert!(tr.contains("生效中"));

    app.api(Method::POST, &format!("/api/v1/violations/{id}/undo"), Some(json!({"by": "owner"}))).await;
    let page = app.page("/moderation").await;
    let tr = row(&page, "data-violation", &id);
    assert!(tr.contains("已撤销") && !tr.contains("/undo"), "undone, and no undo button any more: {tr}");
    assert!(app.page("/moderation?status=active").await.contains("没有违规记录"), "the status filter leaves it out");
    assert!(app.page("/moderation?category=nothing-like-this").await.contains("没有违规记录"), "the category filter leaves it out");
    let english = app.page("/moderation?lang=en").await;
    assert!(english.contains("Violations") && english.contains("undone"));
}

#[tokio::test]
async fn the_moderation_page_pages_its_violations() {
    let app = App::start().await;
    for member in ["a1", "a2", "a3"] {
        app.say("qq", "g1", member, AD).await;
    }
    let first = app.page("/moderation?per_page=2").await;
    assert_eq!(first.matches("data-violation=").count(), 2);
    assert!(first.contains("page=2"), "a link to the next page");
    let second = app.page("/moderation?per_page=2&page=2").await;
    assert_eq!(second.matches("data-violation=").count(), 1);
}

#[tokio::test]
async fn the_blacklist_shows_who_the_api_added_with_a_remove_button() {
    let app = App::start().await;
    app.api(Method::POST, "/api/v1/blacklist", Some(json!({"connector": "qq", "member": "u7", "name": "刷单号", "reason": "广告", "by": "owner"}))).await;
    let page = app.page("/moderation").await;
    let tr = row(&page, "data-member", "u7");
    assert!(tr.contains("刷单号") && tr.contains("广告") && tr.contains("/api/v1/blacklist/qq/u7?by=owner"), "{tr}");
}

#[tokio::test]
async fn a_task_assigned_through_the_api_shows_its_assignee_on_the_board_and_in_the_api() {
    let app = App::start().await;
    // The weak platform cannot delete: the deletion becomes a staff task.
    app.say("weak", "g2", "u9", AD).await;
    let tasks = app.api(Method::GET, "/api/v1/tasks?status=open", None).await;
    let task = tasks["tasks"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(tasks["tasks"][0]["assignee"], Value::Null);

    let board = app.page("/tasks").await;
    assert!(board.contains(&format!("data-task=\"{task}\"")) && board.contains("未分配"));

    let assigned = app.api(Method::POST, &format!("/api/v1/tasks/{task}/assign"), Some(json!({"assignee": "小李", "by": "owner"}))).await;
    assert_eq!(assigned["assignment"]["assignee"], "小李");
    assert_eq!(app.api(Method::GET, "/api/v1/tasks", None).await["tasks"][0]["assignee"], "小李");
    assert!(app.page("/tasks").await.contains("@小李"));

    app.api(Method::POST, &format!("/api/v1/tasks/{task}/status"), Some(json!({"status": "done", "by": "owner"}))).await;
    let board = app.page("/tasks").await;
    let done = &board[board.find("data-status=\"done\"").unwrap()..board.find("data-status=\"dismissed\"").unwrap()];
    assert!(done.contains(&task) && done.contains("@小李"), "the done column keeps its assignee");

    let (status, _) = app.call(Method::POST, "/api/v1/tasks/nope/assign", None, Some(json!({"assignee": "a", "by": "owner"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(Method::POST, &format!("/api/v1/tasks/{task}/assign"), None, Some(json!({"assignee": "a"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "who assigns is required");
    let audit = app.api(Method::GET, "/api/v1/audit", None).await;
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "task.assign" && e["actor"] == "operator:owner"));
}

#[tokio::test]
async fn a_ticket_made_by_hand_is_in_the_open_column_and_counts_in_the_weekly_report() {
    let app = App::start().await;
    app.api(Method::POST, "/api/v1/tickets", Some(json!({"group": "qq/g1", "title": "家长反映作业太多", "category": "homework", "owner": "王老师"}))).await;
    let page = app.page("/tickets?group=qq/g1").await;
    let open = &page[page.find("data-status=\"open\"").unwrap()..page.find("data-status=\"in_progress\"").unwrap()];
    assert!(open.contains("家长反映作业太多") && open.contains("王老师") && open.contains("homework"));
    let weekly = &page[page.find("id=\"weekly\"").unwrap()..];
    assert!(weekly.contains("homework"), "the weekly report's open tickets by category");
    let tickets = app.api(Method::GET, "/api/v1/tickets", None).await;
    let id = tickets["tickets"][0]["id"].as_str().unwrap().to_owned();
    app.api(Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(json!({"status": "resolved", "note": "已回电", "by": "owner"}))).await;
    let page = app.page("/tickets").await;
    let resolved = &page[page.find("data-status=\"resolved\"").unwrap()..page.find("data-status=\"closed\"").unwrap()];
    assert!(resolved.contains("家长反映作业太多") && resolved.contains("已回电"));
}

#[tokio::test]
async fn a_channel_is_listed_with_its_qr_download_and_the_joins_through_it() {
    let app = App::start().await;
    let created = app.api(Method::POST, "/api/v1/channels", Some(json!({"id": "poster", "name": "地铁海报", "tier": "weak", "code": "POSTER26", "by": "owner"}))).await;
    assert_eq!(created["channel"]["code"], "POSTER26");
    app.join("qq", "g1", "n1", Some("POSTER26")).await;
    app.join("qq", "g1", "n2", Some("POSTER26")).await;
    let page = app.page("/channels").await;
    let tr = row(&page, "data-channel", "poster");
    assert!(tr.contains("地铁海报") && tr.contains("POSTER26"));
    assert!(tr.contains("/api/v1/channels/poster/qr.svg") && tr.contains("/api/v1/channels/poster/qr.png") && tr.contains("download="));
    assert!(tr.contains("<td class=\"num\">2</td>"), "two joins through it: {tr}");
    let tier = row(&page, "data-tier", "weak");
    assert!(tier.contains("<td class=\"num\">2</td>"), "two joins in its tier: {tier}");
    let (status, png) = app.call(Method::GET, "/api/v1/channels/poster/qr.png", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(png.starts_with(b"\x89PNG"));

    app.api(Method::DELETE, "/api/v1/channels/poster?by=owner", None).await;
    let page = app.page("/channels").await;
    assert!(!page.contains("data-channel=\"poster\""), "archived channels leave the main list");
    assert!(page.contains("已归档"));
}

#[tokio::test]
async fn a_schedule_is_listed_and_its_page_shows_the_next_runs() {
    let app = App::start().await;
    let created = app
        .api(Method::POST, "/api/v1/schedules", Some(json!({"by": "owner", "name": "早安", "when": {"type": "cron", "cron": "0 8 * * *"},
            "timezone": "Asia/Shanghai", "target": {"type": "groups", "groups": ["qq/g1"]}, "post": {"text": "早上好"}})))
        .await;
    let id = created["schedule"]["id"].as_i64().unwrap();
    let page = app.page("/schedules").await;
    let tr = row(&page, "data-schedule", &id.to_string());
    assert!(tr.contains("早安") && tr.contains("cron 0 8 * * *") && tr.contains("qq/g1") && tr.contains(&format!("/api/v1/schedules/{id}/pause")));
    let detail = app.page(&format!("/schedules/{id}")).await;
    let runs = &detail[detail.find("id=\"runs\"").unwrap()..];
    let runs = &runs[..runs.find("</ol>").unwrap()];
    assert_eq!(runs.matches("<li>").count(), 10, "ten next runs");
    assert!(runs.contains("T08:00:00+08:00"), "at eight, Shanghai time");
    app.api(Method::POST, &format!("/api/v1/schedules/{id}/pause"), Some(json!({"by": "owner"}))).await;
    let page = app.page("/schedules").await;
    assert!(row(&page, "data-schedule", &id.to_string()).contains(&format!("/api/v1/schedules/{id}/resume")));
    let (status, _) = app.call(Method::GET, "/schedules/999", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn content_lotteries_sign_ups_and_the_shop_show_what_the_api_made() {
    let app = App::start().await;
    app.say("qq", "g1", "m1", "大家好").await;
    app.api(Method::POST, "/api/v1/content", Some(json!({"title": "群规", "body": {"type": "text", "text": "友善交流"}, "tags": ["faq"], "by": "owner"}))).await;
    let content = app.page("/content?tag=faq").await;
    assert!(content.contains("群规") && content.contains("友善交流"));
    assert!(content.contains("id=\"faq\""), "the FAQ entries of the rulebook");
    assert!(app.page("/content?tag=other").await.contains("内容库是空的"));

    let draw_at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    app.api(Method::POST, "/api/v1/lotteries", Some(json!({"title": "周末抽奖", "prize": "保温杯", "winners": 1, "groups": ["qq/g1"], "keyword": "抽奖", "draw_at": draw_at, "by": "owner"}))).await;
    app.api(Method::POST, "/api/v1/signups", Some(json!({"group": "qq/g1", "title": "周六爬山", "limit": 20, "by": "owner"}))).await;
    let page = app.page("/lotteries").await;
    assert!(page.contains("周末抽奖") && page.contains("保温杯") && page.contains("/draw"));
    let signups = &page[page.find("id=\"signups\"").unwrap()..];
    assert!(signups.contains("周六爬山") && signups.contains("/entries.csv") && signups.contains("/close"));

    app.api(Method::PUT, "/api/v1/shop/items/mug", Some(json!({"name": "马克杯", "cost": 100, "stock": 5, "by": "owner"}))).await;
    let page = app.page("/redemptions").await;
    assert!(page.contains("马克杯") && page.contains("data-item=\"mug\"") && page.contains("没有兑换记录"));
    let (status, _) = app.call(Method::GET, "/redemptions?status=bogus", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
