//! Member profiles (画像) and the tickets' audit rows end to end: `serve::run` over a
//! temporary SQLite data dir, events through the HTTP bridge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use chrono::{Duration, Utc};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

fn config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new(TOKEN),
            capabilities: ["send", "reply", "delete", "mute", "kick", "notify_staff"].map(String::from).to_vec(),
        })],
        ..Config::default()
    }
}

async fn bridge(server: &Server, group: &str, id: &str, minutes_ago: i64, mut event: Value) {
    event["id"] = json!(id);
    event["time"] = json!((Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339());
    event["group"] = json!({"id": group, "name": format!("{group}群")});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
}

async fn join(server: &Server, group: &str, member: &str) {
    let event = json!({"type": "member_joined", "actor": {"id": member, "name": format!("成员{member}")}});
    bridge(server, group, &format!("join-{group}-{member}"), 30, event).await;
}

async fn say(server: &Server, group: &str, id: &str, member: &str, text: &str) {
    let event = json!({"type": "message", "actor": {"id": member, "name": format!("成员{member}")}, "message": {"id": id, "text": text}});
    bridge(server, group, id, 20, event).await;
}

#[tokio::test]
async fn a_profile_shows_automatic_tags_and_activity_and_search_finds_members_by_them_across_groups() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    join(&server, "g1", "a").await;
    join(&server, "g2", "b").await;
    say(&server, "g1", "m1", "a", "大家好").await;
    say(&server, "g1", "m2", "a", "今天的作业收到了").await;
    say(&server, "g2", "m3", "b", "加薇信 abc12345，兼职刷单日赚三百").await;

    let (status, body) = server.get("/api/v1/members/qq/a").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = &body["member"];
    assert_eq!(a["auto_tags"], json!(["核心", "新人"]), "{a}");
    assert_eq!((a["activity"]["messages_7d"].as_i64(), a["activity"]["days_active"].as_i64()), (Some(2), Some(1)), "{a}");
    assert_eq!(a["violations"]["recent"], 0);
    assert_eq!(a["conversions"], json!({"count": 0, "amount_cents": 0}));

    let (_, body) = server.get("/api/v1/members/qq/b").await;
    assert!(body["member"]["auto_tags"].as_array().unwrap().contains(&json!("违规")), "{body}");

    let (status, found) = server.get("/api/v1/members?tag=新人&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!((found["total"].as_u64(), found["members"].as_array().unwrap().len()), (Some(2), 1), "{found}");
    let (_, page2) = server.get("/api/v1/members?tag=新人&limit=1&offset=1").await;
    assert_eq!(page2["members"][0]["member"], "b", "{page2}");
    let (_, in_g2) = server.get("/api/v1/members?tag=违规&group=qq/g2").await;
    assert_eq!(in_g2["members"].as_array().unwrap().iter().map(|m| m["member"].clone()).collect::<Vec<_>>(), vec![json!("b")]);
    let (status, bad) = server.get("/api/v1/members?group=g2").await;
    assert_eq!((status, bad["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{bad}");
}

#[tokio::test]
async fn ticket_changes_through_the_api_write_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, ticket) = server.post("/api/v1/tickets", json!({"group": "qq/g1", "title": "家长反映作业太多", "by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let id = ticket["id"].as_str().unwrap();
    let (status, body) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(json!({"status": "in_progress", "owner": "bob", "note": "已沟通", "by": "bob"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, audit) = server.get("/api/v1/audit?group=qq/g1").await;
    let rows: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("ticket."))
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned(), e["summary"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rows.len(), 2, "{audit}");
    assert!(rows.iter().any(|(k, a, s)| k == "ticket.create" && a == "operator:alice" && s.contains("家长反映作业太多")), "{rows:?}");
    assert!(rows.iter().any(|(k, a, s)| k == "ticket.update" && a == "operator:bob" && s.contains("状态 open → in_progress") && s.contains("负责人 bob")), "{rows:?}");
}
