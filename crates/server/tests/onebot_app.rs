//! Whole-app tests of QQ through OneBot v11: `serve::run` on port 0 with a `type = "onebot"`
//! connector in reverse-WebSocket mode, driven by the spec-faithful implementation-side peer
//! (what NapCat or Lagrange.OneBot would do), asserting the calls the platform received.
//! The last test runs the same app in `http` mode (HTTP API + signed HTTP POST events).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "../../connectors/tests/support/onebot_peer.rs"]
mod onebot_peer;

use std::path::Path;
use std::time::Duration;

use onebot_peer::{HttpPeer, HttpPeerOptions, Peer, PeerOptions, events, handshake};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_connectors::onebot::OnebotConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const TOKEN: &str = "qq-access-token";
const GROUP: i64 = 123_456;
const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

struct Server {
    base: String,
    ws: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(data_dir: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, data_dir, OnebotConfig::reverse_ws("qq", TOKEN)).await
    }

    async fn start_on(listener: tokio::net::TcpListener, data_dir: &Path, onebot: OnebotConfig) -> Self {
        let address = listener.local_addr().unwrap();
        let config = Config {
            data_dir: data_dir.to_path_buf(),
            connectors: vec![ConnectorConfig::Onebot(onebot)],
            ..Config::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let server = Self {
            base: format!("http://{address}"),
            ws: format!("ws://{address}/onebot/v11/ws"),
            client: reqwest::Client::new(),
            stop: Some(stop),
            task,
        };
        for _ in 0..100 {
            if server.client.get(server.url("/healthz")).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn peer(&self) -> Peer {
        let peer = Peer::start(PeerOptions::new(&self.ws, Some(TOKEN)));
        peer.wait_connected().await;
        peer
    }

    async fn health(&self) -> Value {
        let response = self.client.get(self.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn send_json(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self.client.request(method, self.url(path)).json(&body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
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

fn mentions(call: &Value, user: i64) -> bool {
    call["params"]["message"]
        .as_array()
        .is_some_and(|segments| segments.iter().any(|s| s["type"] == "at" && s["data"]["qq"].as_str() == Some(&*user.to_string())))
}

fn sent_to(call: &Value, user: i64) -> bool {
    call["action"] == "send_group_msg" && call["params"]["group_id"] == GROUP && mentions(call, user)
}

#[tokio::test]
async fn a_joining_member_is_welcomed_with_a_real_at_and_health_shows_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let health = server.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["connectors"]["qq"]["connected"], false, "{health}");

    let peer = server.peer().await;
    peer.send(events::group_increase(peer.self_id(), GROUP, 20001, 30001, "invite"));
    let welcome = peer.wait_for_calls(1, |c| sent_to(c, 20001)).await.remove(0);
    assert!(welcome["echo"].is_string(), "{welcome}");
    let segments = welcome["params"]["message"].as_array().unwrap();
    assert!(segments.contains(&json!({"type": "at", "data": {"qq": "20001"}})), "{welcome}");
    assert!(segments.iter().any(|s| s["type"] == "text"), "{welcome}");

    let health = server.health().await;
    assert_eq!(health["connectors"]["qq"]["connected"], true, "{health}");
    assert_eq!(health["connectors"]["qq"]["self_id"], "10000", "{health}");
    server.stop().await;
}

#[tokio::test]
async fn an_ad_is_recalled_and_its_sender_warned_and_a_short_ladder_mutes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let peer = server.peer().await;

    peer.send(events::group_message(peer.self_id(), GROUP, 20005, 5001, json!(AD), "member"));
    let delete = peer.wait_for("delete_msg").await;
    assert_eq!(delete["params"]["message_id"], 5001);
    peer.wait_for_calls(1, |c| sent_to(c, 20005)).await;
    assert!(peer.calls_of("set_group_ban").is_empty());

    // A one-step ladder: the first ad is deleted and its sender muted for ten minutes.
    let mut rulebook = server.send_json(reqwest::Method::GET, "/api/v1/rulebook", Value::Null).await["rulebook"].clone();
    rulebook["templates"]["default"]["moderation"]["ladder"] = json!(["delete+mute:10m"]);
    server.send_json(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=short", rulebook).await;
    peer.send(events::group_message(peer.self_id(), GROUP, 20006, 5002, json!([{"type": "text", "data": {"text": AD}}]), "member"));
    let ban = peer.wait_for("set_group_ban").await;
    assert_eq!(ban["params"], json!({"group_id": GROUP, "user_id": 20006, "duration": 600}));
    peer.wait_for_calls(2, |c| c["action"] == "delete_msg").await;

    // Staff are exempt: an admin posting the same text is left alone.
    peer.send(events::group_message(peer.self_id(), GROUP, 20007, 5003, json!(AD), "admin"));
    peer.send(events::group_increase(peer.self_id(), GROUP, 20008, 0, "approve"));
    peer.wait_for_calls(1, |c| sent_to(c, 20008)).await;
    assert_eq!(peer.calls_of("delete_msg").len(), 2, "{:#?}", peer.calls());
    server.stop().await;
}

#[tokio::test]
async fn a_blacklisted_member_asking_to_join_is_refused_and_a_normal_request_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let peer = server.peer().await;
    server
        .send_json(
            reqwest::Method::POST,
            "/api/v1/blacklist",
            json!({"connector": "qq", "member": "20009", "name": "骗子", "reason": "私下诈骗群友", "by": "alice"}),
        )
        .await;

    peer.send(events::group_request(peer.self_id(), GROUP, 20010, "flag-normal", "朋友推荐"));
    peer.send(events::group_request(peer.self_id(), GROUP, 20009, "flag-black", "我想进群"));
    let answer = peer.wait_for("set_group_add_request").await;
    assert_eq!(answer["params"]["flag"], "flag-black");
    assert_eq!(answer["params"]["sub_type"], "add");
    assert_eq!(answer["params"]["approve"], false);
    assert!(answer["params"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{answer}");
    // Let the outbox run another round: the normal request still gets no answer.
    peer.send(events::group_increase(peer.self_id(), GROUP, 20011, 0, "approve"));
    peer.wait_for_calls(1, |c| sent_to(c, 20011)).await;
    assert_eq!(peer.calls_of("set_group_add_request").len(), 1, "{:#?}", peer.calls());
    server.stop().await;
}

#[tokio::test]
async fn after_a_dropped_connection_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let mut options = PeerOptions::new(&server.ws, Some(TOKEN));
    options.reconnect = Duration::from_millis(1500);
    let peer = Peer::start(options);
    peer.wait_connected().await;

    peer.send(events::group_increase(peer.self_id(), GROUP, 21001, 0, "approve"));
    peer.wait_for_calls(1, |c| sent_to(c, 21001)).await;
    let ad = events::group_message(peer.self_id(), GROUP, 21002, 6001, json!(AD), "member");
    peer.send(ad.clone());
    peer.wait_for("delete_msg").await;

    // The socket dies; the ad arrives again after the reconnect (an implementation that
    // redelivers), and a join arrives while qunzhu cannot yet answer.
    peer.drop_connection();
    for _ in 0..200 {
        if server.health().await["connectors"]["qq"]["connected"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let health = server.health().await;
    assert_eq!(health["connectors"]["qq"]["connected"], false, "{health}");
    assert!(health["connectors"]["qq"]["last_error"].is_string(), "{health}");

    peer.send(ad);
    peer.send(events::group_increase(peer.self_id(), GROUP, 21003, 0, "approve"));
    peer.wait_connected().await;
    peer.wait_for_calls(1, |c| sent_to(c, 21003)).await;
    // A new message after the reconnect is processed once.
    peer.send(events::group_message(peer.self_id(), GROUP, 21004, 6002, json!(AD), "member"));
    peer.wait_for_calls(1, |c| c["action"] == "delete_msg" && c["params"]["message_id"] == 6002).await;

    assert_eq!(peer.connections(), 2);
    let deletes: Vec<Value> = peer.calls_of("delete_msg");
    assert_eq!(deletes.iter().filter(|c| c["params"]["message_id"] == 6001).count(), 1, "{deletes:#?}");
    assert_eq!(peer.calls().iter().filter(|c| sent_to(c, 21001)).count(), 1);
    assert_eq!(peer.calls().iter().filter(|c| sent_to(c, 21003)).count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn actions_decided_while_disconnected_are_delivered_after_the_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let first = server.peer().await;
    drop(first); // the implementation goes away entirely
    for _ in 0..200 {
        if server.health().await["connectors"]["qq"]["connected"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // An operator blacklists a member known in the group while nobody is connected: the
    // kick is decided now and waits in the outbox.
    let peer_events = Peer::start(PeerOptions::new(&server.ws, Some(TOKEN)));
    peer_events.wait_connected().await;
    peer_events.send(events::group_increase(peer_events.self_id(), GROUP, 22001, 0, "approve"));
    peer_events.wait_for_calls(1, |c| sent_to(c, 22001)).await;
    drop(peer_events);
    for _ in 0..200 {
        if server.health().await["connectors"]["qq"]["connected"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let added = server
        .send_json(
            reqwest::Method::POST,
            "/api/v1/blacklist",
            json!({"connector": "qq", "member": "22001", "name": "骗子", "reason": "诈骗", "by": "alice"}),
        )
        .await;
    assert_eq!(added["actions"][0]["kind"]["type"], "ban", "{added}");

    let peer = server.peer().await;
    let kick = peer.wait_for("set_group_kick").await;
    assert_eq!(kick["params"], json!({"group_id": GROUP, "user_id": 22001, "reject_add_request": true}));
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_access_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    assert_eq!(handshake(&PeerOptions::new(&server.ws, None)).await, Err(401));
    assert_eq!(handshake(&PeerOptions::new(&server.ws, Some("wrong"))).await, Err(403));
    assert_eq!(server.health().await["connectors"]["qq"]["connections"], 0);
    server.stop().await;
}

/// Polls `/healthz` until the connector's `connected` is `expected`.
async fn wait_connected(server: &Server, expected: bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let health = server.health().await;
        if health["connectors"]["qq"]["connected"] == expected {
            return health;
        }
        assert!(tokio::time::Instant::now() < deadline, "connected never became {expected}: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn http_mode_welcomes_refuses_bad_signatures_retries_while_the_api_is_down_and_dedupes() {
    const SECRET: &str = "qq-signing-secret";
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let event_url = format!("http://{}/onebot/v11/http", listener.local_addr().unwrap());
    let mut peer = HttpPeer::start(HttpPeerOptions::new(event_url, Some(TOKEN), Some(SECRET))).await;
    let onebot = OnebotConfig::http("qq", TOKEN, &peer.api_url(), Some(SECRET));
    let server = Server::start_on(listener, dir.path(), onebot).await;
    let health = server.health().await;
    assert_eq!(health["connectors"]["qq"]["connected"], false, "{health}");
    assert_eq!(health["connectors"]["qq"]["mode"], "http", "{health}");

    // Join → welcome, through send_group_msg on the HTTP API.
    peer.send(events::group_increase(peer.self_id(), GROUP, 20001, 30001, "invite")).await;
    let welcome = peer.wait_for_calls(1, |c| sent_to(c, 20001)).await.remove(0);
    assert!(welcome["params"]["message"].as_array().unwrap().iter().any(|s| s["type"] == "text"), "{welcome}");
    let health = wait_connected(&server, true).await;
    assert_eq!(health["connectors"]["qq"]["self_id"], "10000", "{health}");

    // Badly signed or unsigned: 401, and nothing is processed (events are handled in order,
    // so once the next good join is welcomed the refused one would have been too).
    let refused = events::group_increase(peer.self_id(), GROUP, 20099, 0, "approve").to_string().into_bytes();
    assert_eq!(peer.post_raw(refused.clone(), Some("not-the-secret")).await, 401);
    assert_eq!(peer.post_raw(refused, None).await, 401);
    peer.send(events::group_increase(peer.self_id(), GROUP, 20002, 0, "approve")).await;
    peer.wait_for_calls(1, |c| sent_to(c, 20002)).await;
    assert!(!peer.calls().iter().any(|c| mentions(c, 20099)), "{:#?}", peer.calls());

    // The implementation's API goes down: the welcome decided meanwhile waits in the outbox
    // and is delivered once, after it is back.
    peer.stop_api().await;
    peer.send(events::group_increase(peer.self_id(), GROUP, 20003, 0, "approve")).await;
    let health = wait_connected(&server, false).await;
    assert!(health["connectors"]["qq"]["last_error"].as_str().is_some_and(|e| e.contains("could not reach")), "{health}");
    peer.restart_api().await;
    peer.wait_for_calls(1, |c| sent_to(c, 20003)).await;
    wait_connected(&server, true).await;

    // A redelivered event (same message_id) is processed once.
    let ad = events::group_message(peer.self_id(), GROUP, 20004, 7001, json!(AD), "member");
    peer.send(ad.clone()).await;
    peer.wait_for("delete_msg").await;
    peer.send(ad).await;
    peer.send(events::group_increase(peer.self_id(), GROUP, 20005, 0, "approve")).await;
    peer.wait_for_calls(1, |c| sent_to(c, 20005)).await;
    assert_eq!(peer.calls_of("delete_msg").len(), 1, "{:#?}", peer.calls());
    assert_eq!(peer.calls().iter().filter(|c| sent_to(c, 20003)).count(), 1);
    server.stop().await;
}
