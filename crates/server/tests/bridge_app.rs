//! Whole-app tests of the HTTP bridge: `serve::run` on port 0 over a temporary data dir
//! (SQLite), driven with a real HTTP client the way a bridge would drive it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::time::Duration;

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const TOKEN: &str = "shop-secret";

struct Server {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn config(data_dir: &Path) -> Config {
    let bridge = |id: &str, capabilities: &[&str]| {
        ConnectorConfig::Bridge(BridgeConfig {
            id: id.into(),
            token: Secret::new(TOKEN),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        })
    };
    Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![
            bridge("shop", &["send", "reply", "mention", "delete"]),
            bridge("nosend", &["delete"]),
        ],
        ..Config::default()
    }
}

impl Server {
    async fn start(data_dir: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config(data_dir), listener, async move {
            let _ = stopped.await;
        }));
        let server = Self {
            base,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task,
        };
        for _ in 0..100 {
            if server
                .client
                .get(server.url("/healthz"))
                .send()
                .await
                .is_ok()
            {
                server.welcome_at_once().await;
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }

    /// Welcome at once (no batching) no join waves or milestones: these stories are about the bridge,
    /// with a join's welcome as their typical action (ritual_app.rs covers batching; growth_app.rs
    /// milestones).
    async fn welcome_at_once(&self) {
        let current: Value = self.client.get(self.url("/api/v1/rulebook")).send().await.unwrap().json().await.unwrap();
        let mut book = current["rulebook"].clone();
        book["templates"]["default"]["welcome"]["batch_window_secs"] = json!(0);
        book["templates"]["default"]["admission"]["join_wave"]["enabled"] = json!(false);
        book["templates"]["default"]["milestones"]["enabled"] = json!(false);
        let response = self.client.put(self.url("/api/v1/rulebook?author=test&note=welcome+at+once")).json(&book).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post_events(&self, connector: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(&format!("/api/v1/bridge/{connector}/events")))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("shutdown hangs")
            .unwrap()
            .unwrap();
    }
}

fn join(id: &str, group: &str, member: &str, name: &str) -> Value {
    json!({"id": id, "time": "2026-11-22T10:00:00+08:00", "type": "member_joined",
           "group": {"id": group, "name": "粉丝1群"}, "actor": {"id": member, "name": name, "role": "member"}})
}

#[tokio::test]
async fn a_bridged_join_is_welcomed_by_mention_fed_by_long_poll_and_reported_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;

    // A bridge waiting on the feed is woken by the welcome.
    let poll = {
        let (client, url) = (
            server.client.clone(),
            server.url("/api/v1/bridge/shop/actions?after=0&wait=30"),
        );
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !poll.is_finished(),
        "the long poll waits while there is nothing to do"
    );

    let (status, body) = server
        .post_events("shop", &join("e1", "g1", "u1", "小王"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let welcome = &body["actions"][0];
    assert_eq!(welcome["type"], "send", "{body}");
    assert_eq!(welcome["group"]["id"], "g1");
    assert!(
        welcome["segments"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "mention", "id": "u1", "name": "小王"})),
        "{welcome}"
    );
    assert!(
        welcome["text"].as_str().unwrap().contains("粉丝1群"),
        "{welcome}"
    );

    let feed = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the long poll was not woken")
        .unwrap();
    assert_eq!(feed["actions"][0]["id"], welcome["id"]);
    let cursor = feed["cursor"].as_str().unwrap();
    assert_ne!(cursor, "0", "the cursor advanced");
    let next = server
        .get(&format!("/api/v1/bridge/shop/actions?after={cursor}"))
        .await;
    assert_eq!(next["actions"], json!([]));

    let response = server
        .client
        .post(server.url(&format!(
            "/api/v1/bridge/shop/actions/{}/result",
            welcome["id"].as_str().unwrap()
        )))
        .bearer_auth(TOKEN)
        .json(&json!({"ok": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let feed = server.get("/api/v1/bridge/shop/actions").await;
    assert_eq!(feed["actions"][0]["status"], "delivered");
    let audit = server.get("/api/v1/audit?group=shop/g1").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "action.result"),
        "{audit}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_bridge_that_cannot_send_gets_the_welcome_as_a_staff_task() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (status, body) = server
        .post_events("nosend", &join("e1", "g7", "u1", "小王"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let task = &body["actions"][0];
    assert_eq!(task["type"], "staff_task", "{body}");
    assert_eq!(task["wanted"], "send");
    assert!(task["step"].as_str().unwrap().contains("粉丝1群"), "{task}");
    let tasks = server.get("/api/v1/tasks?status=open").await;
    assert_eq!(tasks["tasks"][0]["id"], task["id"]);
    // Nothing the bridge could act on was put in its feed.
    assert_eq!(
        server.get("/api/v1/bridge/nosend/actions").await["actions"],
        json!([])
    );
    server.stop().await;
}

#[tokio::test]
async fn redelivery_wrong_tokens_and_bad_json_are_answered_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let event = join("e1", "g1", "u1", "小王");
    let (_, first) = server.post_events("shop", &event).await;
    assert_eq!(first["actions"].as_array().unwrap().len(), 1);
    let (status, again) = server.post_events("shop", &event).await;
    assert_eq!((status, again), (StatusCode::OK, json!({"actions": []})));

    let response = server
        .client
        .post(server.url("/api/v1/bridge/shop/events"))
        .bearer_auth("guess")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    let response = server
        .client
        .post(server.url("/api/v1/bridge/shop/events"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let mut bad = event.clone();
    bad["id"] = json!("e2");
    bad["actor"].as_object_mut().unwrap().remove("id");
    let (status, error) = server.post_events("shop", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "invalid_event");
    assert_eq!(error["error"]["field"], "actor.id");
    let response = server
        .client
        .post(server.url("/api/v1/bridge/shop/events"))
        .bearer_auth(TOKEN)
        .body("{\"id\": \"e3\",")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn a_restart_on_the_same_data_dir_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (_, body) = server
        .post_events("shop", &join("e1", "g1", "u1", "小王"))
        .await;
    let welcome_id = body["actions"][0]["id"].clone();
    let (_, body) = server
        .post_events("nosend", &join("e2", "g2", "u2", "小李"))
        .await;
    let task_id = body["actions"][0]["id"].clone();
    server.stop().await;

    let server = Server::start(dir.path()).await;
    let feed = server.get("/api/v1/bridge/shop/actions?after=0").await;
    assert_eq!(
        feed["actions"][0]["id"], welcome_id,
        "the undelivered welcome is still served"
    );
    assert_eq!(feed["actions"][0]["status"], "pending");
    let (status, again) = server
        .post_events("shop", &join("e1", "g1", "u1", "小王"))
        .await;
    assert_eq!(
        (status, again),
        (StatusCode::OK, json!({"actions": []})),
        "the inbox remembers e1"
    );
    assert_eq!(
        server.get("/api/v1/tasks?status=open").await["tasks"][0]["id"],
        task_id
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_event_batch_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let batch: Vec<Value> = (0..300)
        .map(|i| join(&format!("e{i}"), "g1", &format!("u{i}"), "新人"))
        .collect();
    let request = {
        let (client, url) = (
            server.client.clone(),
            server.url("/api/v1/bridge/shop/events"),
        );
        let batch = Value::Array(batch.clone());
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(TOKEN)
                .json(&batch)
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        })
    };
    // Stop once processing has visibly begun.
    for _ in 0..200 {
        if !server.get("/api/v1/groups").await["groups"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        !request.is_finished(),
        "the batch should still be in flight when shutdown starts"
    );
    server.stop().await;
    let (status, body) = request.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["actions"].as_array().unwrap().len(),
        300,
        "every event of the batch was processed"
    );

    let server = Server::start(dir.path()).await;
    let feed = server.get("/api/v1/bridge/shop/actions?limit=500").await;
    assert_eq!(
        feed["actions"].as_array().unwrap().len(),
        300,
        "and its actions were persisted"
    );
    let (_, again) = server.post_events("shop", &Value::Array(batch)).await;
    assert_eq!(again, json!({"actions": []}));
    server.stop().await;
}
