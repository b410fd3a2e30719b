//! The insight pages of the dashboard, rendered through `qunzhu::http::router` with
//! `oneshot` over a SQLite store, seeded the way a user would (bridge events, the sandbox
//! and the operator API): the overview of a thousand groups (pagination, search, filters,
//! totals, sparklines), a group's page (charts, heatmap, weekly CSV, core members, digests
//! link), members search and profiles (tags added through the API), and connectors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{Duration, Utc};
use qunzhu::http::AppState;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_connectors::secret::Secret;
use qunzhu_core::{Capabilities, Clock, ConnectorId, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

const GROUPS: usize = 1000;

struct App {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = qunzhu_store::open_sqlite_file(&dir.path().join("qunzhu.db")).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(SandboxConnector::with_clock(clock.clone()));
    let bridges = [BridgeConfig {
        id: "qq".into(),
        token: Secret::new("qq-token"),
        capabilities: ["send", "reply", "delete", "mute", "kick"].map(String::from).to_vec(),
    }];
    let mut capabilities: HashMap<ConnectorId, Capabilities> = bridges.iter().map(|b| (b.connector_id(), b.capabilities())).collect();
    capabilities.insert("sandbox".into(), Capabilities::all());
    let engine = Engine::start(store, clock, capabilities, EngineConfig::default()).await.unwrap();
    qunzhu::http::sandbox::attach(&engine, &sandbox);
    let state = AppState::new(engine, bridges, sandbox);
    App { router: support::signed_in(state).await, _dir: dir }
}

async fn send(app: &App, method: Method, uri: &str, body: Option<Value>, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 26).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn page(app: &App, uri: &str) -> String {
    let (status, html) = send(app, Method::GET, uri, None, None).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {html}");
    html
}

async fn api(app: &App, method: Method, uri: &str, body: Option<Value>) -> Value {
    let (status, text) = send(app, method, uri, body, None).await;
    assert!(status.is_success(), "{uri}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

fn group_id(i: usize) -> String {
    format!("g{i:04}")
}

/// English classes are every tenth group, the rest maths classes.
fn group_name(i: usize) -> String {
    if i % 10 == 0 { format!("英语班{i:04}") } else { format!("数学班{i:04}") }
}

fn message(i: usize, n: usize, days_ago: i64) -> Value {
    json!({
        "id": format!("m-{i}-{n}"),
        "time": (Utc::now() - Duration::days(days_ago)).to_rfc3339(),
        "type": "message",
        "group": {"id": group_id(i), "name": group_name(i)},
        "actor": {"id": format!("u{}", i % 7), "name": format!("家长{}", i % 7)},
        "message": {"id": format!("m-{i}-{n}"), "segments": [{"type": "text", "text": "老师好，今天的作业收到了"}]},
    })
}

/// A thousand groups through the bridge: every fourth spoke only twenty days ago (dormant),
/// the next twice today after twenty days ago (growing), the others once today (new).
async fn seed_groups(app: &App) {
    let mut events = Vec::new();
    for i in 0..GROUPS {
        match i % 4 {
            0 => events.push(message(i, 0, 20)),
            1 => {
                events.push(message(i, 0, 20));
                events.push(message(i, 1, 0));
                events.push(message(i, 2, 0));
            }
            _ => events.push(message(i, 0, 0)),
        }
    }
    for batch in events.chunks(250) {
        let (status, body) = send(app, Method::POST, "/api/v1/bridge/qq/events", Some(Value::Array(batch.to_vec())), Some("qq-token")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// Every twentieth group bound to an `english` template.
async fn bind_templates(app: &App) {
    let current = api(app, Method::GET, "/api/v1/rulebook", None).await;
    let mut book = current["rulebook"].clone();
    book["templates"]["english"] = book["templates"]["default"].clone();
    let bindings: serde_json::Map<String, Value> =
        (0..GROUPS).step_by(20).map(|i| (format!("qq/{}", group_id(i)), json!({"template": "english"}))).collect();
    book["groups"] = Value::Object(bindings);
    api(app, Method::PUT, "/api/v1/rulebook?author=test&note=english", Some(book)).await;
}

fn rows(html: &str) -> usize {
    html.matches("<tr data-group=").count()
}

fn matching(html: &str) -> usize {
    let start = html.find("id=\"match-count\"").expect("a match count");
    let text: String = html[start..].chars().skip_while(|c| *c != '：' && *c != ':').skip(1).take_while(char::is_ascii_digit).collect();
    text.parse().unwrap()
}

#[tokio::test]
async fn the_overview_of_a_thousand_groups_pages_searches_and_filters_on_the_server() {
    let app = app().await;
    seed_groups(&app).await;
    bind_templates(&app).await;
    for name in ["沙盒一群", "沙盒二群"] {
        let group = api(&app, Method::POST, "/api/v1/sandbox/groups", Some(json!({"name": name}))).await;
        let id = group["id"].as_str().unwrap();
        let body = json!({"type": "message", "member": {"id": "s1", "name": "试用者"}, "text": "大家好"});
        api(&app, Method::POST, &format!("/api/v1/sandbox/groups/{id}/events"), Some(body)).await;
    }
    api(&app, Method::POST, "/api/v1/tickets", Some(json!({"group": "qq/g0003", "title": "作业系统打不开", "category": "complaint"}))).await;

    let first = page(&app, "/").await;
    assert_eq!(rows(&first), 50, "fifty groups on the first page");
    assert!(first.contains("rel=\"next\"") && first.contains("href=\"/?page=2\""), "a next page link");
    assert!(first.contains(">1002<"), "the total of groups at the top");
    // Messages today: 250 groups × 2 + 500 × 1 + the two sandbox greetings.
    let today = &first[first.find("今日消息").unwrap()..];
    assert!(today[..today.find("</div></div>").unwrap()].ends_with(">1002"), "messages today: {}", &today[..80]);
    let growing = first.find("data-group=\"qq/g0001\"").map(|at| &first[at..]).unwrap();
    assert!(growing.contains("data-stage=\"growing\""), "g0001 grows");
    assert!(growing.contains("aria-label=\"0,0,0,0,0,0,0,0,0,0,0,0,0,2\""), "its sparkline ends with today's two messages");

    let last = page(&app, "/?page=21").await;
    assert_eq!(rows(&last), 2, "1002 groups: the 21st page holds the last two");
    assert!(!last.contains("rel=\"next\"") && last.contains("rel=\"prev\""));

    let english = page(&app, "/?q=%E8%8B%B1%E8%AF%AD%E7%8F%AD").await;
    assert_eq!(matching(&english), 100, "a search by name finds the hundred English classes");
    assert!(english.contains("英语班0010") && !english.contains("数学班0011"));
    let by_id = page(&app, "/?q=g0999").await;
    assert_eq!((matching(&by_id), rows(&by_id)), (1, 1), "a search by group id");

    let bound = page(&app, "/?template=english").await;
    assert_eq!(matching(&bound), 50, "groups bound to the english template");
    let both = page(&app, "/?q=%E8%8B%B1%E8%AF%AD%E7%8F%AD&template=english&page=2&per_page=20").await;
    assert_eq!((matching(&both), rows(&both)), (50, 20), "filters combine and paginate");
    assert!(both.contains("href=\"/?q=%E8%8B%B1%E8%AF%AD%E7%8F%AD&amp;template=english&amp;page=3\""), "the pager keeps the filters: {}", &both[both.find("pager").unwrap_or(0)..][..400.min(both.len())]);

    let sandbox = page(&app, "/?platform=sandbox").await;
    assert_eq!(matching(&sandbox), 2, "the sandbox's groups by platform");
    assert!(sandbox.contains("沙盒一群") && !sandbox.contains("数学班"));
    let bridge = page(&app, "/?platform=bridge").await;
    assert_eq!(matching(&bridge), 1000);

    let dormant = page(&app, "/?tag=dormant").await;
    assert_eq!(matching(&dormant), 250, "groups quiet for two weeks are dormant");
    let new = page(&app, "/?tag=new").await;
    assert_eq!(matching(&new), 502, "groups first seen today are new");
    let ticketed = page(&app, "/?tag=tickets").await;
    assert_eq!(matching(&ticketed), 1, "the group with an open ticket");
    assert!(ticketed.contains("qq/g0003"));
    let none = page(&app, "/?q=%E7%89%A9%E7%90%86").await;
    assert!(none.contains("没有符合条件的群"));
}

async fn say(app: &App, id: &str, member: &str, name: &str, text: &str, minutes_ago: i64) {
    let event = json!({
        "id": id, "time": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(), "type": "message",
        "group": {"id": "class1", "name": "三年级家长群"}, "actor": {"id": member, "name": name},
        "message": {"id": id, "segments": [{"type": "text", "text": text}]},
    });
    let (status, body) = send(app, Method::POST, "/api/v1/bridge/qq/events", Some(event), Some("qq-token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn join(app: &App, member: &str, name: &str, minutes_ago: i64) {
    let event = json!({
        "id": format!("join-{member}"), "time": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(), "type": "member_joined",
        "group": {"id": "class1", "name": "三年级家长群"}, "actor": {"id": member, "name": name},
    });
    let (status, body) = send(app, Method::POST, "/api/v1/bridge/qq/events", Some(event), Some("qq-token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_groups_page_charts_its_days_and_hours_and_links_the_weekly_csv() {
    let app = app().await;
    join(&app, "a", "王妈妈", 60).await;
    join(&app, "b", "李爸爸", 59).await;
    join(&app, "c", "赵奶奶", 58).await;
    say(&app, "m1", "a", "王妈妈", "请问明天几点放学", 30).await;
    say(&app, "m2", "b", "李爸爸", "下午四点", 29).await;
    say(&app, "m3", "a", "王妈妈", "收到谢谢", 28).await;

    let html = page(&app, "/groups/qq/class1").await;
    assert!(html.contains("三年级家长群"), "the group's name");
    assert!(html.contains("echarts.min.js"), "ECharts is loaded");
    assert!(html.contains("data-chart=\"/api/v1/groups/qq/class1/analytics/daily?days=30\""), "charts read the daily API");
    assert!(html.contains("data-series=\"messages:消息\"") && html.contains("data-series=\"joins:入群,leaves:退群\""));
    assert!(html.contains("id=\"peak-hours\"") && html.contains("heatmap"), "the peak-hour heatmap");
    assert!(html.contains("href=\"/api/v1/groups/qq/class1/analytics/weekly?weeks=8&amp;format=csv\""), "the weekly CSV link");
    assert!(html.contains("data-stage=\"new\""), "life stage");
    let core = &html[html.find("id=\"core-members\"").unwrap()..html.find("id=\"silent-members\"").unwrap()];
    assert!(core.contains("王妈妈") && core.contains("href=\"/members/qq/a\""), "the core member links to her profile");
    let silent = &html[html.find("id=\"silent-members\"").unwrap()..html.find("id=\"digests\"").unwrap()];
    assert!(silent.contains("赵奶奶") && !silent.contains("王妈妈"), "the silent member");
    let weekly = &html[html.find("id=\"weekly\"").unwrap()..html.find("id=\"core-members\"").unwrap()];
    assert!(weekly.contains("<td class=\"num\">3</td>"), "three members and three messages this week");

    let daily = api(&app, Method::GET, "/api/v1/groups/qq/class1/analytics/daily?days=30", None).await;
    let days = daily["rows"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert_eq!((today["messages"].as_i64(), today["active"].as_i64(), today["joins"].as_i64()), (Some(3), Some(2), Some(3)), "{daily}");
    let (status, csv) = send(&app, Method::GET, "/api/v1/groups/qq/class1/analytics/weekly?weeks=8&format=csv", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.trim_start_matches('\u{feff}').starts_with("week_start,members,active"), "{csv}");

    let (status, _) = send(&app, Method::GET, "/groups/qq/nowhere", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, Method::GET, "/groups/qq/class1/digests/2026-01-01", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no digest kept for that day");
    let (status, _) = send(&app, Method::GET, "/groups/qq/class1/digests/yesterday", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn members_are_found_across_groups_and_a_profile_shows_tags_added_through_the_api() {
    let app = app().await;
    join(&app, "a", "王妈妈", 60).await;
    join(&app, "b", "李爸爸", 59).await;
    say(&app, "m1", "a", "王妈妈", "老师辛苦了", 30).await;

    let all = page(&app, "/members").await;
    assert!(all.contains("data-member=\"a\"") && all.contains("data-member=\"b\""));
    let found = page(&app, "/members?q=%E7%8E%8B").await;
    assert!(found.contains("data-member=\"a\"") && !found.contains("data-member=\"b\""), "search by name");
    let in_group = page(&app, "/members?group=qq%2Fclass1").await;
    assert!(in_group.contains("data-member=\"b\""));
    let elsewhere = page(&app, "/members?group=qq%2Fother").await;
    assert!(!elsewhere.contains("data-member="), "no member of another group");

    let profile = page(&app, "/members/qq/a").await;
    assert!(profile.contains("王妈妈") && profile.contains("href=\"/groups/qq/class1\""), "her group");
    assert!(profile.contains("id=\"add-tag\"") && profile.contains("data-api=\"/api/v1/members/qq/a/tags\""), "an add-tag form on the API");
    api(&app, Method::POST, "/api/v1/members/qq/a/tags", Some(json!({"add": ["VIP"], "by": "owner"}))).await;
    let tagged = page(&app, "/members/qq/a").await;
    assert!(tagged.contains("data-tag=\"VIP\""), "the tag shows on the profile");
    assert!(tagged.contains("data-body=\"{&quot;by&quot;:&quot;owner&quot;,&quot;remove&quot;:[&quot;VIP&quot;]}\""), "with a remove button");
    let by_tag = page(&app, "/members?tag=VIP").await;
    assert!(by_tag.contains("data-member=\"a\"") && !by_tag.contains("data-member=\"b\""), "filter by tag");

    let (status, _) = send(&app, Method::GET, "/members/qq/nobody", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_connectors_page_shows_what_each_platform_can_and_cannot_do() {
    let app = app().await;
    let html = page(&app, "/connectors").await;
    let qq = &html[html.find("data-connector=\"qq\"").unwrap()..];
    assert!(qq.contains("data-kind=\"bridge\""));
    assert!(qq.contains("data-can=\"mute\"") && qq.contains("data-cannot=\"ban\""), "the bridge can mute but cannot ban");
    let sandbox = &html[html.find("data-connector=\"sandbox\"").unwrap()..html.find("data-connector=\"qq\"").unwrap()];
    assert!(sandbox.contains("data-can=\"ban\"") && !sandbox.contains("data-cannot="), "the sandbox can do everything");
}
