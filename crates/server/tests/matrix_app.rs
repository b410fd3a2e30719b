//! Whole-app tests of Matrix against a real Synapse: `serve::run` with a `type = "matrix"`
//! connector logged in as a bot account; people are driven with plain client-server API
//! calls, and everything is observed from their side (`/messages`, room state).
//!
//! Needs `QUNZHU_TEST_SYNAPSE_URL` and `QUNZHU_TEST_SYNAPSE_SECRET` (from
//! `eval "$(scripts/synapse-test-server.sh)"`; `scripts/test.sh` does it). Without them the
//! tests are skipped with a notice — and fail under `CI`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![cfg(feature = "matrix")]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_connectors::matrix::MatrixConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";
const PASSWORD: &str = "correct horse battery staple";

struct Synapse {
    url: String,
    secret: String,
    http: reqwest::Client,
}

fn synapse() -> Option<Synapse> {
    match (std::env::var("QUNZHU_TEST_SYNAPSE_URL"), std::env::var("QUNZHU_TEST_SYNAPSE_SECRET")) {
        (Ok(url), Ok(secret)) if !url.is_empty() => Some(Synapse { url, secret, http: reqwest::Client::new() }),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "QUNZHU_TEST_SYNAPSE_URL is not set: the Matrix tests must run in CI (scripts/test.sh starts Synapse)"
            );
            eprintln!("skipped: QUNZHU_TEST_SYNAPSE_URL is not set (eval \"$(scripts/synapse-test-server.sh)\" to run the Matrix tests)");
            None
        }
    }
}

/// Path-segment encoding (room ids start with `!`, event ids with `$`).
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}{}x{}x{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A person on the homeserver, driven with plain HTTP.
#[derive(Clone)]
struct User {
    id: String,
    token: String,
    base: String,
    http: reqwest::Client,
}

impl Synapse {
    /// Registers a user with the shared-secret admin API.
    async fn register(&self, name: &str) -> User {
        let url = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: Value = self.http.get(&url).send().await.unwrap().json().await.unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_owned();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(format!("{nonce}\0{name}\0{PASSWORD}\0notadmin").as_bytes());
        let mac: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let response = self
            .http
            .post(&url)
            .json(&json!({"nonce": nonce, "username": name, "password": PASSWORD, "admin": false, "mac": mac}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "register {name}: {body}");
        User {
            id: body["user_id"].as_str().unwrap().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            base: self.url.clone(),
            http: self.http.clone(),
        }
    }
}

impl User {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}/_matrix/client/v3{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn create_room(&self, version: &str, power_users: Value, invite: &[&str]) -> String {
        let body = json!({
            "room_version": version,
            "preset": "public_chat",
            "invite": invite,
            "power_level_content_override": {"users": power_users},
        });
        self.ok(Method::POST, "/createRoom", Some(body)).await["room_id"].as_str().unwrap().to_owned()
    }

    async fn join(&self, room: &str) {
        self.ok(Method::POST, &format!("/join/{}", enc(room)), Some(json!({}))).await;
    }

    async fn say(&self, room: &str, text: &str) -> (StatusCode, Value) {
        let path = format!("/rooms/{}/send/m.room.message/{}", enc(room), unique("t"));
        self.call(Method::PUT, &path, Some(json!({"msgtype": "m.text", "body": text}))).await
    }

    async fn post(&self, room: &str, text: &str) -> String {
        let (status, body) = self.say(room, text).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["event_id"].as_str().unwrap().to_owned()
    }

    /// The room's recent events, oldest first, as this user sees them.
    async fn messages(&self, room: &str) -> Vec<Value> {
        let body = self.ok(Method::GET, &format!("/rooms/{}/messages?dir=b&limit=100", enc(room)), None).await;
        let mut events = body["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }

    /// Waits until an event matching `wanted` is in the room.
    async fn wait_for(&self, room: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(event) = self.messages(room).await.into_iter().find(|e| wanted(e)) {
                return event;
            }
            assert!(Instant::now() < deadline, "{what}: not seen within 30 s; the room has {:#?}", self.messages(room).await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn power_levels(&self, room: &str) -> Value {
        self.ok(Method::GET, &format!("/rooms/{}/state/m.room.power_levels/", enc(room)), None).await
    }
}

fn by(event: &Value, user: &User) -> bool {
    event["sender"] == user.id.as_str()
}

fn mentions(event: &Value, user: &User) -> bool {
    event["type"] == "m.room.message"
        && event["content"]["m.mentions"]["user_ids"].as_array().is_some_and(|ids| ids.iter().any(|id| id == user.id.as_str()))
        && event["content"]["formatted_body"].as_str().is_some_and(|html| html.contains(&format!("https://matrix.to/#/{}", user.id)))
}

fn redacts(event: &Value, target: &str) -> bool {
    event["type"] == "m.room.redaction" && (event["redacts"] == target || event["content"]["redacts"] == target)
}

struct Server {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(data_dir: &Path, synapse: &Synapse, bot: &User) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let config = Config {
            data_dir: data_dir.to_path_buf(),
            connectors: vec![ConnectorConfig::Matrix(MatrixConfig::with_password("mx", &synapse.url, &bot.id, PASSWORD))],
            ..Config::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let server = Self { base: format!("http://{address}"), client: reqwest::Client::new(), stop: Some(stop), task };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = server.client.get(server.url("/healthz")).send().await
                && let Ok(health) = response.json::<Value>().await
                && health["connectors"]["mx"]["connected"] == true
            {
                return server;
            }
            assert!(Instant::now() < deadline, "qunzhu did not connect to Synapse");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send_json(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self.client.request(method, self.url(path)).json(&body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn set_ladder(&self, ladder: Value) {
        let mut rulebook = self.send_json(Method::GET, "/api/v1/rulebook", Value::Null).await["rulebook"].clone();
        rulebook["templates"]["default"]["moderation"]["ladder"] = ladder;
        self.send_json(Method::PUT, "/api/v1/rulebook?author=test&note=short", rulebook).await;
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("shutdown hangs").unwrap().unwrap();
    }
}

/// The whole story in a room of `version`: the bot is invited and joins; a member joins and
/// is welcomed with a real mention; the creator's ad is left alone (staff); the member's
/// first ad is redacted and warned, the second mutes for 3 s (power levels; lifted by the
/// connector), the third kicks.
async fn story(version: &str) {
    let Some(synapse) = synapse() else { return };
    let bot = synapse.register(&unique("qunzhu")).await;
    let alice = synapse.register(&unique("alice")).await;
    let bob = synapse.register(&unique("bob")).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &synapse, &bot).await;
    server.set_ladder(json!(["delete+warn", "delete+mute:3s", "delete+kick"])).await;

    // Room v12: the creator has unlimited power and must not be listed in `users`.
    let power = if version == "11" { json!({alice.id.clone(): 100, bot.id.clone(): 100}) } else { json!({bot.id.clone(): 100}) };
    let room = alice.create_room(version, power, &[&bot.id]).await;
    if version == "12" {
        assert!(!room.contains(':'), "a v12 room id has no server part: {room}");
        assert!(alice.power_levels(&room).await["users"].get(&alice.id).is_none());
    }
    alice.wait_for(&room, "the bot joins when invited", |e| e["type"] == "m.room.member" && e["state_key"] == bot.id.as_str() && e["content"]["membership"] == "join").await;
    // Let the connector see its own join before anyone else moves.
    tokio::time::sleep(Duration::from_millis(500)).await;

    bob.join(&room).await;
    let welcome = bob.wait_for(&room, "the welcome", |e| by(e, &bot) && mentions(e, &bob)).await;
    assert!(welcome["content"]["body"].as_str().is_some_and(|b| !b.is_empty()), "{welcome}");

    // A check-in is answered with a reply that mentions the member and shows the points.
    let check_in = bob.post(&room, "签到").await;
    let answer = bob
        .wait_for(&room, "the check-in answer", |e| {
            by(e, &bot) && e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == check_in.as_str()
        })
        .await;
    let body = answer["content"]["body"].as_str().unwrap_or_default();
    assert!(body.contains("签到成功") && body.contains("+5 积分"), "{answer}");
    assert!(mentions(&answer, &bob), "{answer}");

    // The creator is staff: an ad from them stays. Events of one room are handled in order,
    // so once bob's ad (posted after it) is dealt with, the creator's ad was judged too.
    let staff_ad = alice.post(&room, AD).await;
    let first = bob.post(&room, AD).await;
    bob.wait_for(&room, "the first ad redacted", |e| by(e, &bot) && redacts(e, &first)).await;
    bob.wait_for(&room, "the warning", |e| by(e, &bot) && mentions(e, &bob) && e["event_id"] != welcome["event_id"]).await;
    let events = bob.messages(&room).await;
    assert!(!events.iter().any(|e| redacts(e, &staff_ad)), "the creator's ad was redacted: {events:#?}");
    let kept = events.iter().find(|e| e["event_id"] == staff_ad.as_str()).unwrap();
    assert_eq!(kept["content"]["body"], AD, "{kept}");

    // Second ad: muted through power levels, lifted by the connector after 3 s.
    let second = bob.post(&room, AD).await;
    bob.wait_for(&room, "the second ad redacted", |e| by(e, &bot) && redacts(e, &second)).await;
    let muted = bob.wait_for(&room, "the mute", |e| {
        e["type"] == "m.room.power_levels" && by(e, &bot) && e["content"]["users"][&bob.id].as_i64().is_some_and(|l| l < 0)
    }).await;
    assert!(muted["content"]["users"].get(&alice.id).is_none() || version == "11", "{muted}");
    let (status, body) = bob.say(&room, "am I muted?").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a muted member cannot post: {body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while bob.power_levels(&room).await["users"].get(&bob.id).is_some() {
        assert!(Instant::now() < deadline, "the timed mute was not lifted");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Third ad: kicked (a leave sent by the bot).
    let third = bob.post(&room, AD).await;
    bob.wait_for(&room, "the third ad redacted", |e| by(e, &bot) && redacts(e, &third)).await;
    alice
        .wait_for(&room, "the kick", |e| {
            e["type"] == "m.room.member" && e["state_key"] == bob.id.as_str() && e["content"]["membership"] == "leave" && by(e, &bot)
        })
        .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_v11_welcome_check_in_redact_warn_mute_kick_and_staff_exempt() {
    story("11").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_v12_welcome_check_in_redact_warn_mute_kick_and_the_creator_is_staff() {
    story("12").await;
}

/// The sync token survives a restart: a check-in posted while qunzhu is down is answered
/// once after it starts again, and a second restart replays nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_while_qunzhu_is_down_is_processed_exactly_once_after_restarts() {
    let Some(synapse) = synapse() else { return };
    let bot = synapse.register(&unique("qunzhu")).await;
    let alice = synapse.register(&unique("alice")).await;
    let bob = synapse.register(&unique("bob")).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &synapse, &bot).await;
    let room = alice.create_room("11", json!({alice.id.clone(): 100, bot.id.clone(): 100}), &[&bot.id]).await;
    alice.wait_for(&room, "the bot joins when invited", |e| e["type"] == "m.room.member" && e["state_key"] == bot.id.as_str() && e["content"]["membership"] == "join").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    bob.join(&room).await;
    let welcome = bob.wait_for(&room, "the welcome", |e| by(e, &bot) && mentions(e, &bob)).await;
    server.stop().await;
    assert!(dir.path().join("matrix/mx.sync-token").is_file(), "the sync token is kept in the data dir");

    let check_in = bob.post(&room, "签到").await;
    let answers = |events: &[Value]| {
        events
            .iter()
            .filter(|e| by(e, &bot) && e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == check_in.as_str())
            .count()
    };
    let server = Server::start(dir.path(), &synapse, &bot).await;
    bob.wait_for(&room, "the check-in posted while down is answered", |e| {
        by(e, &bot) && e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == check_in.as_str()
    })
    .await;
    server.stop().await;

    // Again: nothing of the earlier runs comes back. An ad after the restart is handled, so
    // everything synced before it was too.
    let server = Server::start(dir.path(), &synapse, &bot).await;
    let ad = bob.post(&room, AD).await;
    bob.wait_for(&room, "the ad after the second restart redacted", |e| by(e, &bot) && redacts(e, &ad)).await;
    let events = bob.messages(&room).await;
    assert_eq!(answers(&events), 1, "the check-in is answered exactly once: {events:#?}");
    let welcomes = events.iter().filter(|e| by(e, &bot) && e["content"]["body"] == welcome["content"]["body"]).count();
    assert_eq!(welcomes, 1, "bob's join is not replayed: {events:#?}");
    server.stop().await;
}
