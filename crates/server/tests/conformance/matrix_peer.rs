//! Matrix: a real Synapse (`QUNZHU_TEST_SYNAPSE_URL`, `QUNZHU_TEST_SYNAPSE_SECRET`; skipped
//! without it, mandatory under `CI`), people driven with plain client-server API calls, the
//! bot's doings read from the room as a room admin sees them. qunzhu reaches Synapse through
//! a TCP [`Proxy`] that the peer can cut: that is "the platform drops / is unreachable".

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use qunzhu::config::ConnectorConfig;
use qunzhu_connectors::matrix::MatrixConfig;
use qunzhu_core::Capabilities;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::harness::{Did, Peer, Server};

const PASSWORD: &str = "correct horse battery staple";

fn synapse() -> Option<(String, String)> {
    match (std::env::var("QUNZHU_TEST_SYNAPSE_URL"), std::env::var("QUNZHU_TEST_SYNAPSE_SECRET")) {
        (Ok(url), Ok(secret)) if !url.is_empty() => Some((url, secret)),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "QUNZHU_TEST_SYNAPSE_URL is not set: the Matrix conformance tests must run in CI (scripts/test.sh starts Synapse)"
            );
            eprintln!("skipped: QUNZHU_TEST_SYNAPSE_URL is not set (eval \"$(scripts/synapse-test-server.sh)\" to run the Matrix tests)");
            None
        }
    }
}

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
    format!("{prefix}{}x{nanos}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A person on the homeserver.
#[derive(Clone)]
struct User {
    id: String,
    token: String,
}

struct Synapse {
    url: String,
    secret: String,
    http: reqwest::Client,
}

impl Synapse {
    async fn register(&self, name: &str) -> User {
        let url = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: Value = self.http.get(&url).send().await.unwrap().json().await.unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_owned();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(format!("{nonce}\0{name}\0{PASSWORD}\0notadmin").as_bytes());
        let mac: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let body = json!({"nonce": nonce, "username": name, "password": PASSWORD, "admin": false, "mac": mac});
        let response = self.http.post(&url).json(&body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "register {name}: {body}");
        User { id: body["user_id"].as_str().unwrap().to_owned(), token: body["access_token"].as_str().unwrap().to_owned() }
    }

    async fn call(&self, user: &User, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}/_matrix/client/v3{path}", self.url)).bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, user: &User, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(user, method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn messages(&self, user: &User, room: &str) -> Vec<Value> {
        let body = self.ok(user, Method::GET, &format!("/rooms/{}/messages?dir=b&limit=1000", enc(room)), None).await;
        let mut events = body["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }
}

/// A TCP forwarder that can be cut (connections dropped, port refusing) and restored.
struct Proxy {
    address: SocketAddr,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: SocketAddr, up: bool) -> Self {
        let address = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let (tx, rx) = watch::channel(up);
        tokio::spawn(Self::run(address, target, rx));
        Self { address, up: tx }
    }

    async fn run(address: SocketAddr, target: SocketAddr, mut up: watch::Receiver<bool>) {
        loop {
            if up.wait_for(|u| *u).await.is_err() {
                return;
            }
            let Ok(listener) = TcpListener::bind(address).await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    changed = up.changed() => {
                        if changed.is_err() || !*up.borrow() {
                            break;
                        }
                    }
                }
            }
            // Down: the port refuses and every open connection dies.
            drop(listener);
            connections.abort_all();
        }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

pub struct Matrix {
    server: Server,
    synapse: Synapse,
    proxy: Proxy,
    bot: User,
    admin: User,
    room: String,
    prefix: String,
    users: tokio::sync::Mutex<HashMap<u32, User>>,
    joined: Mutex<Vec<u32>>,
    messages: Mutex<HashMap<u32, String>>,
}

impl Matrix {
    async fn boot(dir: &Path, up: bool) -> Self {
        let (url, secret) = synapse().expect("available() was checked");
        let synapse = Synapse { url: url.clone(), secret, http: reqwest::Client::new() };
        let bot = synapse.register(&unique("qunzhu")).await;
        let admin = synapse.register(&unique("admin")).await;
        let body = json!({"room_version": "11", "preset": "public_chat", "invite": [bot.id],
                          "power_level_content_override": {"users": {admin.id.clone(): 100, bot.id.clone(): 100}}});
        let room = synapse.ok(&admin, Method::POST, "/createRoom", Some(body)).await["room_id"].as_str().unwrap().to_owned();
        let target: SocketAddr = url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
        let proxy = Proxy::start(target, up).await;
        let mut config = MatrixConfig::with_password("mx", &format!("http://{}", proxy.address), &bot.id, PASSWORD);
        config.reconnect_max_secs = 2;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(listener, dir, ConnectorConfig::Matrix(config)).await;
        let this = Self {
            server,
            synapse,
            proxy,
            bot,
            admin,
            room,
            prefix: unique("m"),
            users: tokio::sync::Mutex::new(HashMap::new()),
            joined: Mutex::new(Vec::new()),
            messages: Mutex::new(HashMap::new()),
        };
        if up {
            this.wait_bot_in_room().await;
        }
        this
    }

    async fn wait_bot_in_room(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.synapse.messages(&self.admin, &self.room).await;
            if events.iter().any(|e| e["type"] == "m.room.member" && e["state_key"] == self.bot.id.as_str() && e["content"]["membership"] == "join") {
                break;
            }
            assert!(Instant::now() < deadline, "the bot did not join the room");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Let the connector see its own join before anyone else moves.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    async fn user(&self, n: u32) -> User {
        let mut users = self.users.lock().await;
        if let Some(user) = users.get(&n) {
            return user.clone();
        }
        let user = self.synapse.register(&format!("{}n{n}", self.prefix)).await;
        users.insert(n, user.clone());
        user
    }

    /// Member `n`, in the room (joining first if needed).
    async fn in_room(&self, n: u32) -> User {
        let user = self.user(n).await;
        if !self.joined.lock().unwrap().contains(&n) {
            self.synapse.ok(&user, Method::POST, &format!("/join/{}", enc(&self.room)), Some(json!({}))).await;
            self.joined.lock().unwrap().push(n);
        }
        user
    }

    async fn set_power(&self, user: &User, level: i64) {
        let path = format!("/rooms/{}/state/m.room.power_levels/", enc(&self.room));
        let mut levels = self.synapse.ok(&self.admin, Method::GET, &path, None).await;
        levels["users"][&user.id] = json!(level);
        self.synapse.ok(&self.admin, Method::PUT, &path, Some(levels)).await;
    }
}

impl Peer for Matrix {
    fn available() -> bool {
        synapse().is_some()
    }

    async fn start(dir: &Path) -> Self {
        Self::boot(dir, true).await
    }

    async fn start_down(dir: &Path) -> Option<Self> {
        Some(Self::boot(dir, false).await)
    }

    async fn come_up(&mut self) {
        self.proxy.set(true);
        self.wait_bot_in_room().await;
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "mx"
    }

    fn capabilities(&self) -> Capabilities {
        MatrixConfig::with_password("mx", "http://127.0.0.1:1", "@q:localhost", PASSWORD).capabilities()
    }

    fn member(&self, n: u32) -> String {
        format!("@{}n{n}:localhost", self.prefix)
    }

    fn message(&self, n: u32) -> String {
        self.messages.lock().unwrap().get(&n).cloned().unwrap_or_else(|| format!("(message {n} not posted)"))
    }

    async fn prepare(&self, members: &[u32]) {
        for m in members {
            self.user(*m).await;
        }
    }

    async fn join(&self, member: u32) {
        self.in_room(member).await;
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        let user = self.in_room(member).await;
        match kicked_by {
            None => {
                self.synapse.ok(&user, Method::POST, &format!("/rooms/{}/leave", enc(&self.room)), Some(json!({}))).await;
            }
            Some(by) => {
                let kicker = self.in_room(by).await;
                self.set_power(&kicker, 50).await;
                let body = json!({"user_id": user.id, "reason": "测试"});
                self.synapse.ok(&kicker, Method::POST, &format!("/rooms/{}/kick", enc(&self.room)), Some(body)).await;
            }
        }
        self.joined.lock().unwrap().retain(|n| *n != member);
    }

    async fn join_request(&self, _member: u32) -> bool {
        // Knocking is not something the connector maps; Matrix rooms here are public.
        false
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        let user = self.in_room(member).await;
        let mut content = json!({"msgtype": "m.text", "body": text});
        if let Some(m) = mention {
            let target = self.member(m);
            content["body"] = json!(format!("{text} {target}"));
            content["format"] = json!("org.matrix.custom.html");
            content["formatted_body"] = json!(format!("{text} <a href=\"https://matrix.to/#/{target}\">{target}</a>"));
            content["m.mentions"] = json!({"user_ids": [target]});
        }
        if let Some(reply) = reply_to {
            content["m.relates_to"] = json!({"m.in_reply_to": {"event_id": self.message(reply)}});
        }
        // A muted member cannot post until the mute is lifted (the connector's timer).
        let deadline = Instant::now() + Duration::from_secs(15);
        let event = loop {
            let path = format!("/rooms/{}/send/m.room.message/{}", enc(&self.room), unique("t"));
            let (status, body) = self.synapse.call(&user, Method::PUT, &path, Some(content.clone())).await;
            if status == StatusCode::OK {
                break body;
            }
            assert!(status == StatusCode::FORBIDDEN && Instant::now() < deadline, "{path}: {status} {body}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        self.messages.lock().unwrap().insert(id, event["event_id"].as_str().unwrap().to_owned());
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        let events = self.synapse.messages(&self.admin, &self.room).await;
        let now = Instant::now();
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let mut previous_levels: Option<Value> = None;
        let mut done = Vec::new();
        for e in &events {
            let ts = e["origin_server_ts"].as_i64().unwrap_or(now_ms);
            let at = now.checked_sub(Duration::from_millis((now_ms - ts).max(0) as u64)).unwrap_or(now);
            let by_bot = e["sender"] == self.bot.id.as_str();
            let content = &e["content"];
            let did = match e["type"].as_str().unwrap_or_default() {
                "m.room.message" if by_bot => Some(Did::Send {
                    mentions: content["m.mentions"]["user_ids"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_owned)).collect(),
                    reply_to: content.pointer("/m.relates_to/m.in_reply_to/event_id").and_then(Value::as_str).map(str::to_owned),
                }),
                "m.room.redaction" if by_bot => {
                    let target = e["redacts"].as_str().or(content["redacts"].as_str()).unwrap_or_default();
                    Some(Did::Delete { message: target.to_owned() })
                }
                "m.room.member" if by_bot && e["state_key"] != self.bot.id.as_str() => match content["membership"].as_str() {
                    Some("leave") => Some(Did::Kick { member: e["state_key"].as_str().unwrap_or_default().to_owned() }),
                    Some("ban") => Some(Did::Ban { member: e["state_key"].as_str().unwrap_or_default().to_owned() }),
                    _ => None,
                },
                "m.room.power_levels" => {
                    let muted = if by_bot {
                        content["users"].as_object().into_iter().flatten().find(|(user, level)| {
                            level.as_i64().is_some_and(|l| l < 0)
                                && previous_levels.as_ref().is_none_or(|p| p["users"][user.as_str()].as_i64().is_none_or(|l| l >= 0))
                        })
                    } else {
                        None
                    };
                    let did = muted.map(|(user, _)| Did::Mute { member: user.clone(), secs: None });
                    previous_levels = Some(content.clone());
                    did
                }
                _ => None,
            };
            done.extend(did.map(|d| (at, d)));
        }
        done
    }

    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool {
        // The connection to the homeserver drops and the port refuses for a while; people
        // go on meanwhile (they talk to Synapse directly).
        self.proxy.set(false);
        during(self).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.proxy.set(true);
        true
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}
