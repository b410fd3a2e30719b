//! The welcome ritual and admission end to end: `serve::run` on port 0 over a temporary
//! SQLite data dir, driven through the HTTP bridge the way a platform would, with the real
//! scheduler loop batching welcomes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::Duration;

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

fn config(data_dir: &std::path::Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new(TOKEN),
            capabilities: ["send", "reply", "delete", "mute", "kick", "ban", "approve_join"].iter().map(|c| (*c).to_owned()).collect(),
        })],
        ..Config::default()
    }
}

async fn bridge_event(server: &Server, mut event: Value) -> Value {
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    let response = server
        .client
        .post(server.url("/api/v1/bridge/qq/events"))
        .bearer_auth(TOKEN)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
    response.json().await.unwrap()
}

async fn feed(server: &Server) -> Vec<Value> {
    let feed: Value = server
        .client
        .get(server.url("/api/v1/bridge/qq/actions?after=0&limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["actions"].as_array().unwrap().clone()
}

async fn put_rulebook(server: &Server, change: impl FnOnce(&mut Value)) {
    let (_, mut rulebook) = server.get("/api/v1/rulebook").await;
    let mut book = rulebook["rulebook"].take();
    change(&mut book);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=ritual", Some(book)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_joins_through_the_bridge_get_one_welcome_with_ten_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    // Ten joins within two seconds, delivered as one batch so that a loaded machine cannot
    // spread their processing over more than the 3 s window.
    let start = chrono::Utc::now();
    let joins: Vec<Value> = (1..=10)
        .map(|n| {
            json!({"type": "member_joined", "id": format!("join-{n}"), "group": {"id": "g1", "name": "粉丝1群"},
                   "actor": {"id": format!("u{n}"), "name": format!("新人{n}")},
                   "time": (start + chrono::Duration::milliseconds(200 * n)).to_rfc3339()})
        })
        .collect();
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&joins).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let sends = answer.to_string().matches(r#""type":"send""#).count();
    assert_eq!(sends, 0, "nobody is welcomed alone: {answer}");
    // The scheduler loop wakes for the batch (3 s after the first join).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while feed(&server).await.iter().all(|a| a["type"] != "send") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a doubled welcome the chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let welcomes: Vec<Value> = feed(&server).await.into_iter().filter(|a| a["type"] == "send").collect();
    assert_eq!(welcomes.len(), 1, "{welcomes:#?}");
    let mentions: Vec<&str> = welcomes[0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "mention")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("u{n}")).collect();
    assert_eq!(mentions, expected, "{:#}", welcomes[0]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_screened_name_is_rejected_with_its_reason_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    put_rulebook(&server, |book| {
        book["templates"]["default"]["admission"]["rules"] = json!([
            {"id": "ad-names", "field": "name", "regex": "(?i)^a{2,}", "reason": "昵称疑似广告号，请修改昵称后再申请"}
        ]);
    })
    .await;
    let answer = bridge_event(
        &server,
        json!({"type": "join_request", "id": "req-e1", "group": {"id": "g1"}, "actor": {"id": "u9", "name": "AAA好物推荐"},
               "request_id": "req-1", "comment": "想进群"}),
    )
    .await;
    let rejects: Vec<&Value> = answer["actions"].as_array().unwrap().iter().filter(|a| a["type"] == "reject_join").collect();
    assert_eq!(rejects.len(), 1, "{answer:#}");
    assert_eq!(rejects[0]["request_id"], "req-1");
    assert_eq!(rejects[0]["reason"], "昵称疑似广告号，请修改昵称后再申请");

    let (status, listed) = server.get("/api/v1/join-requests?status=rejected").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["join_requests"][0]["request_id"], "req-1", "{listed}");
    let (status, again) =
        server.post("/api/v1/join-requests/req-1/approve", json!({"group": "qq/g1", "by": "alice"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a decision is final: {again}");
    let (status, missing) = server.post("/api/v1/join-requests/req-1/approve", json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(missing["error"]["field"], "group", "{missing}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_held_request_is_approved_through_the_api_and_a_guard_can_be_ended() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    put_rulebook(&server, |book| book["templates"]["default"]["admission"]["otherwise"] = json!("hold")).await;
    bridge_event(
        &server,
        json!({"type": "join_request", "id": "req-e2", "group": {"id": "g1"}, "actor": {"id": "u2", "name": "张伟"},
               "request_id": "req-2", "comment": "朋友推荐"}),
    )
    .await;
    let (_, held) = server.get("/api/v1/join-requests?status=held").await;
    assert_eq!(held["join_requests"][0]["request_id"], "req-2", "{held}");
    let (_, tasks) = server.get("/api/v1/tasks").await;
    assert!(tasks.to_string().contains("req-2"), "the bridge has no staff channel: a staff task {tasks}");

    let (status, decided) = server.post("/api/v1/join-requests/req-2/approve", json!({"group": "qq/g1", "by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["join_request"]["status"], "approved");
    assert_eq!(decided["join_request"]["decided_by"], "operator:alice");
    assert!(feed(&server).await.iter().any(|a| a["type"] == "approve_join" && a["request_id"] == "req-2"));

    let (status, guard) = server.get("/api/v1/groups/qq/g1/guard").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(guard["guarded"], false, "{guard}");
    let (status, _) = server.send(reqwest::Method::DELETE, "/api/v1/groups/qq/g1/guard?by=alice", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// A send's text with mentions as `@name`.
fn send_text(action: &Value) -> String {
    action["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().map_or_else(|| format!("@{}", s["name"].as_str().unwrap_or("")), String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fan_joining_through_a_strong_tier_channel_gets_the_fans_welcome_not_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, created) = server
        .post("/api/v1/channels", json!({"id": "gzh", "name": "公众号菜单", "tier": "strong", "code": "FANS2026", "by": "小王"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    put_rulebook(&server, |book| {
        book["templates"]["default"]["welcome"]["tiers"] =
            json!({"strong": {"text": "欢迎铁粉 {name}！来自{channel}（{tier}），你是本群第{member_no}位成员"}});
    })
    .await;
    // A fan through the channel's code, and someone with no channel.
    bridge_event(
        &server,
        json!({"type": "member_joined", "id": "join-fan", "group": {"id": "g1", "name": "粉丝1群"},
               "actor": {"id": "fan1", "name": "铁粉甲"}, "invite_code": "FANS2026"}),
    )
    .await;
    bridge_event(
        &server,
        json!({"type": "member_joined", "id": "join-other", "group": {"id": "g1", "name": "粉丝1群"},
               "actor": {"id": "u2", "name": "路人乙"}}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while feed(&server).await.iter().filter(|a| a["type"] == "send").count() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let welcomes: Vec<String> = feed(&server).await.iter().filter(|a| a["type"] == "send").map(send_text).collect();
    assert_eq!(welcomes.len(), 2, "one welcome per tier text: {welcomes:#?}");
    assert_eq!(welcomes[0], "欢迎铁粉 @铁粉甲！来自公众号菜单（strong），你是本群第1位成员");
    assert!(welcomes[1].starts_with("欢迎 @路人乙 加入「粉丝1群」！"), "the default text for a join without a channel: {}", welcomes[1]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_default_template_batches_welcomes_and_celebrates_milestones_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, rulebook) = server.get("/api/v1/rulebook").await;
    assert_eq!(status, StatusCode::OK);
    let default = &rulebook["rulebook"]["templates"]["default"];
    let chinese = |value: &Value| value.as_str().is_some_and(|s| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    assert_eq!(default["welcome"]["enabled"], true);
    assert!(default["welcome"]["batch_window_secs"].as_u64().unwrap() > 0, "{}", default["welcome"]);
    assert!(chinese(&default["welcome"]["text"]), "{}", default["welcome"]["text"]);
    let milestones = &default["milestones"];
    assert_eq!(milestones["enabled"], true, "{milestones}");
    assert!(milestones["member_counts"].as_array().is_some_and(|c| !c.is_empty()), "{milestones}");
    for key in ["members_text", "check_ins_text", "messages_text", "counter_text"] {
        assert!(chinese(&milestones[key]), "{key}: {}", milestones[key]);
    }
    server.stop().await;
}
