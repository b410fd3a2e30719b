//! The newcomer gate (入群验证) end to end: `serve::run` on port 0 over a temporary SQLite
//! data dir, driven through the HTTP bridge the way a platform would, and the gate API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::atomic::{AtomicU32, Ordering};

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

static NEXT: AtomicU32 = AtomicU32::new(1);

async fn start(dir: &std::path::Path) -> Server {
    let bridge = ConnectorConfig::Bridge(BridgeConfig {
        id: "qq".into(),
        token: Secret::new(TOKEN),
        capabilities: ["send", "reply", "delete", "mute", "kick"].iter().map(|c| (*c).to_owned()).collect(),
    });
    Server::start(Config { data_dir: dir.to_path_buf(), connectors: vec![bridge], ..Config::default() }).await
}

/// Posts one bridge event into group `g1` and returns the actions it caused.
async fn event(server: &Server, mut event: Value) -> Vec<Value> {
    event["id"] = json!(format!("e{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    event["group"] = json!({"id": "g1", "name": "读书会"});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
    let body: Value = response.json().await.unwrap();
    body["actions"].as_array().unwrap().clone()
}

async fn join(server: &Server, member: &str, name: &str) -> Vec<Value> {
    event(server, json!({"type": "member_joined", "actor": {"id": member, "name": name}})).await
}

async fn say(server: &Server, member: &str, name: &str, message: &str, text: &str) -> Vec<Value> {
    event(server, json!({"type": "message", "actor": {"id": member, "name": name}, "message": {"id": message, "text": text}})).await
}

fn text(action: &Value) -> String {
    action["segments"]
        .as_array()
        .map(|segments| {
            segments
                .iter()
                .map(|s| s["text"].as_str().map_or_else(|| format!("@{}", s["name"].as_str().unwrap_or("")), String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn of_type<'a>(actions: &'a [Value], kind: &str) -> Vec<&'a Value> {
    actions.iter().filter(|a| a["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gated_newcomer_is_muted_their_chatter_deleted_and_their_answer_lets_them_in_while_staff_pass_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (_, rulebook) = server.get("/api/v1/rulebook").await;
    let mut book = rulebook["rulebook"].clone();
    assert_eq!(book["templates"]["default"]["admission"]["gate"]["enabled"], false, "the gate is off by default");
    book["templates"]["default"]["admission"]["gate"]["enabled"] = json!(true);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=gate", Some(book)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let joined = join(&server, "u1", "小王").await;
    assert_eq!(of_type(&joined, "mute").len(), 1, "{joined:#?}");
    assert_eq!(of_type(&joined, "mute")[0]["member"], "u1");
    assert_eq!(of_type(&joined, "mute")[0]["duration_secs"], 600);
    let asked: Vec<String> = of_type(&joined, "send").into_iter().map(text).collect();
    assert_eq!(asked, ["@小王 请回复「同意群规」完成入群验证（请在 10 分钟内回复，超时将被移出本群）"]);
    join(&server, "u2", "小李").await;

    let (status, pending) = server.get("/api/v1/groups/qq/g1/gate").await;
    assert_eq!(status, StatusCode::OK);
    let members: Vec<&str> = pending["pending"].as_array().unwrap().iter().map(|e| e["member"].as_str().unwrap()).collect();
    assert_eq!(members, ["u1", "u2"], "{pending}");

    let chatter = say(&server, "u1", "小王", "m1", "大家好，有人吗").await;
    assert_eq!(of_type(&chatter, "delete").len(), 1, "{chatter:#?}");
    assert_eq!(of_type(&chatter, "delete")[0]["message_id"], "m1");

    let answer = say(&server, "u1", "小王", "m2", "同意群规").await;
    assert_eq!(of_type(&answer, "unmute").len(), 1, "{answer:#?}");
    assert!(of_type(&answer, "delete").is_empty());
    assert_eq!(of_type(&answer, "send").into_iter().map(text).collect::<Vec<_>>(), ["@小王 验证通过，欢迎入群！"]);

    let (status, passed) = server.post("/api/v1/groups/qq/g1/gate/u2/pass", json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{passed}");
    assert_eq!((passed["gate"]["status"].clone(), passed["gate"]["decided_by"].clone()), (json!("passed"), json!("operator:alice")));
    assert!(passed["decided"]["actions"].as_array().unwrap().iter().any(|a| a["kind"]["type"] == "unmute"), "{passed}");
    let (_, pending) = server.get("/api/v1/groups/qq/g1/gate").await;
    assert_eq!(pending["pending"], json!([]));

    let (status, again) = server.post("/api/v1/groups/qq/g1/gate/u2/pass", json!({"by": "alice"})).await;
    assert_eq!((status, again["error"]["code"].clone()), (StatusCode::CONFLICT, json!("conflict")), "{again}");
    let (status, unknown) = server.post("/api/v1/groups/qq/g1/gate/u9/pass", json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    let (status, _) = server.post("/api/v1/groups/qq/g1/gate/u1/pass", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "`by` is required");

    // A passed member speaks freely.
    assert!(of_type(&say(&server, "u1", "小王", "m3", "大家好").await, "delete").is_empty());
    server.stop().await;
}
