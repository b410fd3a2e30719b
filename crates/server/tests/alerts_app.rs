//! Staff-alert routing end to end (`staff_alerts`): `serve::run` with two bridges; an
//! unanswered question in a group of the first is alerted there as before, and also reaches the
//! staff group of the second bridge (in its action feed) and a webhook receiver on 127.0.0.1
//! (a JSON POST from the server's outbox).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Json;
use axum::routing::post;
use chrono::Utc;
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;

mod support;
use support::Server;

fn bridge(id: &str) -> ConnectorConfig {
    ConnectorConfig::Bridge(BridgeConfig {
        id: id.into(),
        token: Secret::new(format!("{id}-secret")),
        capabilities: ["send", "reply", "direct_message", "notify_staff"].iter().map(|c| (*c).to_owned()).collect(),
    })
}

/// A webhook receiver on 127.0.0.1: its URL and the JSON bodies it gets.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn feed(server: &Server, connector: &str) -> Vec<Value> {
    let feed: Value = server
        .client
        .get(server.url(&format!("/api/v1/bridge/{connector}/actions?limit=500")))
        .bearer_auth(format!("{connector}-secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["actions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_unanswered_question_alert_reaches_another_bridges_staff_group_and_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, mut received) = receiver().await;
    let server = Server::start(Config { data_dir: dir.path().to_path_buf(), connectors: vec![bridge("qq"), bridge("tg")], ..Config::default() }).await;
    let mut book = server.get("/api/v1/rulebook").await.1["rulebook"].clone();
    book["templates"]["default"]["staff_alerts"] = json!({"destinations": [{"connector": "tg", "group": "staff"}, {"webhook": hook}]});
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=test&note=alerts", Some(book)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let asked = Utc::now() - chrono::Duration::minutes(11);
    let event = json!({"type": "message", "id": "u1", "time": asked.to_rfc3339(), "group": {"id": "open", "name": "家长群"},
        "actor": {"id": "p2", "name": "小明妈妈", "role": "member"}, "message": {"id": "m-u1", "text": "明天几点放学？"}});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth("qq-secret").json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The scheduler's care tick raises the alert; its routed copy lands in tg's feed.
    let mut staff = Vec::new();
    for _ in 0..300 {
        staff = feed(&server, "tg").await.into_iter().filter(|a| a["group"]["id"] == "staff").collect();
        if !staff.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(staff.len(), 1, "{staff:#?}");
    assert_eq!(staff[0]["type"], "send", "{staff:#?}");
    assert!(staff[0]["text"].as_str().unwrap().contains("明天几点放学"), "{staff:#?}");
    let own: Vec<Value> = feed(&server, "qq").await.into_iter().filter(|a| a["type"] == "notify_staff").collect();
    assert_eq!(own.len(), 1, "the group's own connector still gets the alert: {own:#?}");

    let body = tokio::time::timeout(Duration::from_secs(30), received.recv()).await.expect("the webhook was posted").unwrap();
    assert!(body["text"].as_str().unwrap().contains("明天几点放学"), "{body}");
    assert!(body["group"].as_str().unwrap().contains("open"), "{body}");
    assert_eq!(body["rule"], "care", "{body}");
    assert!(body["at"].is_string(), "{body}");
    server.stop().await;
}
