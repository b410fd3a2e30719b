//! The daily digest (群精华) end to end: `serve::run` over a temporary SQLite data dir, a day of
//! chat sent through the HTTP bridge with its event times (yesterday, group time), the real
//! scheduler loop finding that day's 21:00 passed, and the digest served by
//! `GET /api/v1/groups/{c}/{g}/digests/{date}` — and posted in the group when `post = true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

async fn start(dir: &tempfile::TempDir) -> Server {
    Server::start(Config {
        data_dir: dir.path().to_path_buf(),
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new(TOKEN),
            capabilities: ["send", "reply", "delete", "notify_staff"].iter().map(|c| (*c).to_owned()).collect(),
        })],
        ..Config::default()
    })
    .await
}

fn shanghai() -> qunzhu_engine::insight::Tz {
    "Asia/Shanghai".parse().unwrap()
}

/// Yesterday in the group's timezone (Asia/Shanghai): its digest time has passed.
fn yesterday() -> NaiveDate {
    Utc::now().with_timezone(&shanghai()).date_naive() - chrono::Duration::days(1)
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    shanghai().from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap()).unwrap().with_timezone(&Utc)
}

async fn post(server: &Server, event: Value) {
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
}

/// A small morning of a class group: a spring-outing thread with a question answered by a
/// quote-reply, a question nobody answers, a newcomer.
async fn replay_morning(server: &Server, group: &str, day: NaiveDate) {
    let g = json!({"id": group, "name": "三年二班家长群"});
    post(server, json!({"type": "member_joined", "id": format!("{group}-j1"), "time": at(day, 9, 0).to_rfc3339(), "group": g,
        "actor": {"id": "n1", "name": "小美妈妈"}}))
    .await;
    let lines: [(&str, &str, &str, &str, u32, Value); 8] = [
        ("m1", "t1", "陈老师", "owner", 0, json!([{"type": "text", "text": "周五春游去植物园，7:50在东门集合，自带午餐和水壶"}])),
        ("m2", "p1", "浩浩妈妈", "member", 2, json!([{"type": "text", "text": "春游要带零食吗？"}])),
        ("m3", "t1", "陈老师", "owner", 4, json!([{"type": "reply", "message_id": "m2"}, {"type": "text", "text": "春游可以带少量零食，不要带辣条"}])),
        ("m4", "p2", "朵朵爸爸", "member", 5, json!([{"type": "text", "text": "春游大巴几点出发"}])),
        ("m5", "p3", "可可妈妈", "member", 6, json!([{"type": "text", "text": "春游八点出发，大巴在东门"}])),
        ("m6", "p4", "天天妈妈", "member", 8, json!([{"type": "text", "text": "春游的午餐带饭团和水果就行"}])),
        ("m7", "p1", "浩浩妈妈", "member", 9, json!([{"type": "text", "text": "春游零食带饼干吧"}])),
        ("m8", "p5", "宇航爸爸", "member", 40, json!([{"type": "text", "text": "校服可以先试穿再决定尺码吗？"}])),
    ];
    for (id, member, name, role, minute, segments) in lines {
        post(
            server,
            json!({"type": "message", "id": format!("{group}-{id}"), "time": at(day, 10, minute).to_rfc3339(), "group": g,
                "actor": {"id": member, "name": name, "role": role}, "message": {"id": id, "segments": segments}}),
        )
        .await;
    }
}

/// Polls the day's digest until the scheduler made it (at most ~30 s).
async fn wait_for_digest(server: &Server, group: &str, day: NaiveDate) -> Value {
    for _ in 0..300 {
        let (status, body) = server.get(&format!("/api/v1/groups/qq/{group}/digests/{day}")).await;
        if status == StatusCode::OK {
            return body;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no digest of {group} for {day}");
}

async fn feed_sends(server: &Server, group: &str) -> Vec<String> {
    let feed: Value = server
        .client
        .get(server.url("/api/v1/bridge/qq/actions?limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "send" && a["group"]["id"] == group)
        .map(|a| a.to_string())
        .filter(|a| a.contains("群精华"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduler_makes_the_days_digest_after_nine_and_serves_it_and_posts_it_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir).await;
    // The day is replayed with digests off (the scheduler would otherwise digest yesterday
    // while its messages are still coming in), then they are turned on: `posted` posts its
    // digest, `kept` (the default) only keeps it.
    let (_, rulebook) = server.get("/api/v1/rulebook").await;
    let mut book = rulebook["rulebook"].clone();
    assert_eq!(book["templates"]["default"]["insight"]["digest"]["post"], false, "posting is off by default");
    book["templates"]["default"]["insight"]["digest"]["enabled"] = json!(false);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=quiet", Some(book.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let day = yesterday();
    replay_morning(&server, "kept", day).await;
    replay_morning(&server, "posted", day).await;

    book["templates"]["default"]["insight"]["digest"]["enabled"] = json!(true);
    book["groups"]["qq/posted"] = json!({"template": "default", "overrides": {"insight": {"digest": {"post": true}}}});
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=digest", Some(book)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let kept = wait_for_digest(&server, "kept", day).await;
    assert_eq!(kept["day"], day.to_string());
    assert_eq!(kept["digest"]["keywords"][0], "春游", "{kept}");
    let text = kept["text"].as_str().unwrap();
    assert!(text.starts_with(&format!("📋 三年二班家长群 群精华 · {day}")), "{text}");
    assert!(text.contains("春游要带零食吗？\n  ↳ 陈老师：春游可以带少量零食，不要带辣条"), "{text}");
    assert!(text.contains("校服可以先试穿再决定尺码吗？ 【未回复】"), "{text}");
    assert!(text.contains("👋 新成员：小美妈妈"), "{text}");
    assert_eq!(kept["digest"]["numbers"]["messages"], 8);

    let posted = wait_for_digest(&server, "posted", day).await;
    let mut sends = Vec::new();
    for _ in 0..100 {
        sends = feed_sends(&server, "posted").await;
        if !sends.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sends.len(), 1, "posted once: {sends:#?}");
    assert!(sends[0].contains("春游要带零食吗"), "{}", sends[0]);
    assert!(posted["text"].as_str().unwrap().contains("春游"));
    assert!(feed_sends(&server, "kept").await.is_empty(), "post is off for `kept`");

    // Listed for the dashboard; today has no messages, so no digest.
    let (_, list) = server.get("/api/v1/groups/qq/kept/digests").await;
    assert_eq!(list["digests"].as_array().unwrap().len(), 1, "{list}");
    server.stop().await;
}
