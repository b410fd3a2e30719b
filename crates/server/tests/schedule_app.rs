//! Schedules end to end: `serve::run` on port 0 over a temporary SQLite data dir, with the
//! real clock and the real scheduler loop; schedules made through the API, posts watched
//! arrive in the sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use chrono::{SecondsFormat, Utc};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        // A platform without announcements: they become staff tasks there.
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new("qq-secret"),
            capabilities: vec!["send".into(), "reply".into()],
        })],
        ..Config::default()
    }
}

mod support;
use support::Server;

/// Audit row kinds, oldest first.
async fn audit_kinds(server: &Server) -> Vec<String> {
    let (_, audit) = server.get("/api/v1/audit?limit=100").await;
    let mut kinds: Vec<String> = audit["entries"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect();
    kinds.reverse();
    kinds
}

fn text_of(entry: &Value) -> String {
    let action = &entry["action"];
    match action["kind"]["type"].as_str() {
        Some("send") => action["kind"]["segments"].as_array().unwrap().iter().filter_map(|s| s["text"].as_str()).collect(),
        Some("set_announcement") => action["kind"]["text"].as_str().unwrap().to_owned(),
        other => panic!("unexpected action {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_post_arrives_in_the_sandbox_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let group = server.sandbox_group("粉丝福利群").await;
    let at = (Utc::now() + chrono::Duration::seconds(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let (status, created) = server
        .post(
            "/api/v1/schedules",
            json!({
                "by": "小王",
                "name": "上新提醒",
                "when": {"type": "once", "at": at},
                "target": {"type": "groups", "groups": [format!("sandbox/{group}")]},
                "post": {"text": "{group}：{date} {weekday} 上新啦！"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let schedule = &created["schedule"];
    assert_eq!(schedule["timezone"], "Asia/Shanghai", "the default template's timezone");
    assert_eq!(schedule["updated_by"], "operator:小王");
    assert_eq!(schedule["paused"], false);
    let id = schedule["id"].as_i64().unwrap();

    // The scheduler was woken by the new schedule and sleeps until its run: no 10 s wait.
    let bot = server.bot_entries(&group, 1, 8).await;
    assert_eq!(bot.len(), 1, "the post arrived");
    let text = text_of(&bot[0]);
    assert!(text.starts_with("粉丝福利群：") && text.ends_with("上新啦！"), "{text}");
    assert_eq!(bot[0]["action"]["rule"], "schedule");

    let (_, after) = server.get(&format!("/api/v1/schedules/{id}")).await;
    assert!(after["schedule"]["last_run"].is_string(), "{after}");
    assert!(after["schedule"]["next_run"].is_null(), "a one-off has no run left: {after}");
    let kinds = audit_kinds(&server).await;
    assert!(kinds.iter().any(|k| k == "schedule.create"), "{kinds:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_managed_through_the_api_with_clear_errors_and_a_preview() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;

    // A bad cron expression: 400 naming the field, with croner's message.
    let bad = json!({
        "by": "alice",
        "name": "早报",
        "when": {"type": "cron", "cron": "0 25 * * *"},
        "target": {"type": "connector", "connector": "qq"},
        "post": {"text": "早上好"}
    });
    let (status, error) = server.post("/api/v1/schedules", bad.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "invalid_schedule");
    assert_eq!(error["error"]["field"], "when.cron");
    assert!(error["error"]["problems"][0]["message"].as_str().unwrap().starts_with("`0 25 * * *` is not a cron expression: "), "{error}");
    // A typo'd key is named by its path; `by` is required.
    let mut typo = bad.clone();
    typo["post"] = json!({"txt": "早上好"});
    let (status, error) = server.post("/api/v1/schedules", typo).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("post.txt")), "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("unknown field `txt`"), "{error}");
    let mut anonymous = bad.clone();
    anonymous.as_object_mut().unwrap().remove("by");
    let (_, error) = server.post("/api/v1/schedules", anonymous).await;
    assert_eq!(error["error"]["field"], "by");

    let mut good = bad.clone();
    good["when"]["cron"] = json!("0 8 * * *");
    good["timezone"] = json!("America/New_York");
    let (status, created) = server.post("/api/v1/schedules", good.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["schedule"]["id"].as_i64().unwrap();

    let (status, preview) = server.get(&format!("/api/v1/schedules/{id}/preview?count=3")).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["timezone"], "America/New_York");
    let runs = preview["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| {
        let local = r["local"].as_str().unwrap();
        local.contains("T08:00:00-0")
    }), "{preview}");
    assert_eq!(preview["groups"], json!([]), "no qq group seen yet");
    let (status, _) = server.get(&format!("/api/v1/schedules/{id}/preview?count=500")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, paused) = server.post(&format!("/api/v1/schedules/{id}/pause"), json!({"by": "alice"})).await;
    assert_eq!((status, paused["schedule"]["paused"].as_bool()), (StatusCode::OK, Some(true)), "{paused}");
    let (_, resumed) = server.post(&format!("/api/v1/schedules/{id}/resume"), json!({"by": "alice"})).await;
    assert_eq!(resumed["schedule"]["paused"], false);

    let mut changed = good.clone();
    changed["name"] = json!("晚报");
    let (status, updated) = server.send(reqwest::Method::PUT, &format!("/api/v1/schedules/{id}"), Some(changed)).await;
    assert_eq!((status, updated["schedule"]["name"].as_str()), (StatusCode::OK, Some("晚报")), "{updated}");
    let (_, list) = server.get("/api/v1/schedules").await;
    assert_eq!(list["schedules"].as_array().unwrap().len(), 1);

    let (status, deleted) = server.send(reqwest::Method::DELETE, &format!("/api/v1/schedules/{id}?by=alice"), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let (status, gone) = server.get(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!((status, gone["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    let mut kinds = audit_kinds(&server).await;
    kinds.retain(|k| k.starts_with("schedule."));
    assert_eq!(kinds, vec!["schedule.create", "schedule.pause", "schedule.resume", "schedule.update", "schedule.delete"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcement_is_set_in_the_sandbox_and_becomes_a_staff_task_where_the_platform_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let group = server.sandbox_group("学习群").await;
    let (status, done) = server
        .post(&format!("/api/v1/groups/sandbox/{group}/announcement"), json!({"text": "{group}：本周六停课", "by": "alice"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["actions"][0]["kind"], json!({"type": "set_announcement", "text": "学习群：本周六停课"}));
    let bot = server.bot_entries(&group, 1, 5).await;
    assert_eq!(bot.len(), 1);
    let (_, groups) = server.get("/api/v1/sandbox/groups").await;
    let shown = groups["groups"].as_array().unwrap().iter().find(|g| g["id"] == group.as_str()).unwrap().clone();
    assert_eq!(shown["announcement"], "学习群：本周六停课");

    let (status, task) = server.post("/api/v1/groups/qq/10001/announcement", json!({"text": "本周六停课", "by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{task}");
    assert_eq!(task["actions"], json!([]));
    assert!(task["tasks"][0]["step"].as_str().unwrap().contains("群公告改为：\n本周六停课"), "{task}");

    let (status, error) = server.post("/api/v1/groups/qq/10001/announcement", json!({"text": " ", "by": "alice"})).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("text")), "{error}");
    let (status, error) = server.post("/api/v1/groups/wechat/1/announcement", json!({"text": "hi", "by": "alice"})).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("unknown_connector")), "{error}");
    server.stop().await;
}
