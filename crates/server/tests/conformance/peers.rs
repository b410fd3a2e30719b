//! The peers: one platform side per connector (and OneBot transport).

use std::path::Path;
use std::time::{Duration, Instant};

use qunzhu::config::ConnectorConfig;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::onebot::OnebotConfig;
use qunzhu_connectors::secret::Secret;
use qunzhu_core::Capabilities;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::harness::{Did, Peer, Server};
use crate::onebot_peer::{self, HttpPeer, HttpPeerOptions, PeerOptions, events};

const TOKEN: &str = "conformance-token";
const SECRET: &str = "conformance-secret";
const GROUP: i64 = 123_456;

// --- OneBot (shared by the transports) ---------------------------------------------------

fn qq(n: u32) -> i64 {
    20_000 + i64::from(n)
}

fn onebot_message(text: &str, mention: Option<u32>, reply_to: Option<u32>) -> Value {
    let mut segments = Vec::new();
    if let Some(reply) = reply_to {
        segments.push(json!({"type": "reply", "data": {"id": reply.to_string()}}));
    }
    segments.push(json!({"type": "text", "data": {"text": text}}));
    if let Some(member) = mention {
        segments.push(json!({"type": "at", "data": {"qq": qq(member).to_string()}}));
    }
    Value::Array(segments)
}

fn onebot_event(kind: OnebotEvent) -> Value {
    match kind {
        OnebotEvent::Join(m) => events::group_increase(10_000, GROUP, qq(m), 0, "approve"),
        OnebotEvent::Leave(m, None) => events::group_decrease(10_000, GROUP, qq(m), qq(m), "leave"),
        OnebotEvent::Leave(m, Some(by)) => events::group_decrease(10_000, GROUP, qq(m), qq(by), "kick"),
        OnebotEvent::Request(m) => events::group_request(10_000, GROUP, qq(m), &format!("flag-{m}"), "我想进群"),
        OnebotEvent::Say { member, id, text, mention, reply_to } => {
            events::group_message(10_000, GROUP, qq(member), i64::from(id), onebot_message(&text, mention, reply_to), "member")
        }
    }
}

enum OnebotEvent {
    Join(u32),
    Leave(u32, Option<u32>),
    Request(u32),
    Say { member: u32, id: u32, text: String, mention: Option<u32>, reply_to: Option<u32> },
}

/// A OneBot API call as what the bot did (calls that only read are `None`).
fn onebot_did(call: &Value) -> Option<Did> {
    let params = &call["params"];
    let id = |key: &str| params[key].as_i64().map(|v| v.to_string()).or_else(|| params[key].as_str().map(str::to_owned)).unwrap_or_default();
    match call["action"].as_str()? {
        "send_group_msg" | "send_msg" => {
            let segments = params["message"].as_array().cloned().unwrap_or_default();
            Some(Did::Send {
                mentions: segments.iter().filter(|s| s["type"] == "at").filter_map(|s| s["data"]["qq"].as_str().map(str::to_owned)).collect(),
                reply_to: segments.iter().find(|s| s["type"] == "reply").and_then(|s| s["data"]["id"].as_str().map(str::to_owned)),
            })
        }
        "delete_msg" => Some(Did::Delete { message: id("message_id") }),
        "set_group_ban" => Some(Did::Mute { member: id("user_id"), secs: params["duration"].as_u64() }),
        "set_group_kick" if params["reject_add_request"] == true => Some(Did::Ban { member: id("user_id") }),
        "set_group_kick" => Some(Did::Kick { member: id("user_id") }),
        "set_group_add_request" => Some(Did::AnswerJoin {
            member: params["flag"].as_str()?.strip_prefix("flag-")?.parse::<u32>().ok().map(qq)?.to_string(),
            approve: params["approve"].as_bool()?,
        }),
        _ => None,
    }
}

fn onebot_done(calls: Vec<(Instant, Value)>) -> Vec<(Instant, Did)> {
    calls.into_iter().filter_map(|(at, call)| onebot_did(&call).map(|did| (at, did))).collect()
}

/// OneBot over a reverse WebSocket: the implementation connects to qunzhu.
pub struct OnebotReverseWs {
    server: Server,
    peer: Option<onebot_peer::Peer>,
    ws: String,
}

impl OnebotReverseWs {
    async fn boot(dir: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = format!("ws://{}/onebot/v11/ws", listener.local_addr().unwrap());
        let server = Server::start(listener, dir, ConnectorConfig::Onebot(OnebotConfig::reverse_ws("qq", TOKEN))).await;
        Self { server, peer: None, ws }
    }

    fn peer(&self) -> &onebot_peer::Peer {
        self.peer.as_ref().expect("the OneBot peer is not up")
    }

    fn send(&self, event: OnebotEvent) {
        self.peer().send(onebot_event(event));
    }
}

impl Peer for OnebotReverseWs {
    async fn start(dir: &Path) -> Self {
        let mut this = Self::boot(dir).await;
        this.come_up().await;
        this
    }

    async fn start_down(dir: &Path) -> Option<Self> {
        Some(Self::boot(dir).await)
    }

    async fn come_up(&mut self) {
        let peer = onebot_peer::Peer::start(PeerOptions::new(&self.ws, Some(TOKEN)));
        peer.wait_connected().await;
        self.peer = Some(peer);
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "qq"
    }

    fn capabilities(&self) -> Capabilities {
        OnebotConfig::reverse_ws("qq", TOKEN).capabilities()
    }

    fn member(&self, n: u32) -> String {
        qq(n).to_string()
    }

    fn message(&self, n: u32) -> String {
        n.to_string()
    }

    async fn join(&self, member: u32) {
        self.send(OnebotEvent::Join(member));
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        self.send(OnebotEvent::Leave(member, kicked_by));
    }

    async fn join_request(&self, member: u32) -> bool {
        self.send(OnebotEvent::Request(member));
        true
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        self.send(OnebotEvent::Say { member, id, text: text.into(), mention, reply_to });
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        onebot_done(self.peer().timed_calls())
    }

    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool {
        // The socket dies; what the implementation produces meanwhile waits in its queue
        // and goes out once it has reconnected (NapCat reconnects every few seconds).
        self.peer().drop_connection();
        during(self).await;
        self.peer().wait_connected().await;
        true
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

/// OneBot over a forward WebSocket: qunzhu connects to the implementation's server.
pub struct OnebotForwardWs {
    server: Server,
    peer: Option<onebot_peer::Peer>,
    address: std::net::SocketAddr,
    /// While down: a port that accepts and drops every connection, counting them.
    down: Option<(tokio::task::JoinHandle<()>, std::sync::Arc<std::sync::atomic::AtomicU64>)>,
}

fn forward_config(address: std::net::SocketAddr) -> OnebotConfig {
    let mut config = OnebotConfig::reverse_ws("qq", TOKEN);
    config.mode = qunzhu_connectors::onebot::OnebotMode::ForwardWs;
    config.url = Some(format!("ws://{address}"));
    // Keep the reconnection backoff short enough for a test (it starts at 1 s and doubles).
    config.reconnect_max_secs = 2;
    config
}

impl OnebotForwardWs {
    async fn boot(dir: &Path) -> Self {
        // The implementation's port: accepting and dropping connections until it comes up.
        let refusing = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = refusing.local_addr().unwrap();
        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = attempts.clone();
        let down = tokio::spawn(async move {
            while let Ok((socket, _)) = refusing.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                drop(socket);
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(listener, dir, ConnectorConfig::Onebot(forward_config(address))).await;
        Self { server, peer: None, address, down: Some((down, attempts)) }
    }

    fn peer(&self) -> &onebot_peer::Peer {
        self.peer.as_ref().expect("the OneBot peer is not up")
    }

    fn send(&self, event: OnebotEvent) {
        self.peer().send(onebot_event(event));
    }
}

impl Peer for OnebotForwardWs {
    async fn start(dir: &Path) -> Self {
        let mut this = Self::boot(dir).await;
        this.come_up().await;
        this
    }

    async fn start_down(dir: &Path) -> Option<Self> {
        Some(Self::boot(dir).await)
    }

    fn attempts_while_down(&self) -> Option<u64> {
        self.down.as_ref().map(|(_, attempts)| attempts.load(std::sync::atomic::Ordering::Relaxed))
    }

    async fn come_up(&mut self) {
        if let Some((down, _)) = self.down.take() {
            down.abort();
            let _ = down.await;
        }
        let mut options = PeerOptions::new("", Some(TOKEN));
        options.reconnect = Duration::from_millis(500);
        let peer = onebot_peer::Peer::start_forward(self.address, options);
        peer.wait_connected().await;
        self.peer = Some(peer);
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "qq"
    }

    fn capabilities(&self) -> Capabilities {
        forward_config(self.address).capabilities()
    }

    fn member(&self, n: u32) -> String {
        qq(n).to_string()
    }

    fn message(&self, n: u32) -> String {
        n.to_string()
    }

    async fn join(&self, member: u32) {
        self.send(OnebotEvent::Join(member));
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        self.send(OnebotEvent::Leave(member, kicked_by));
    }

    async fn join_request(&self, member: u32) -> bool {
        self.send(OnebotEvent::Request(member));
        true
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        self.send(OnebotEvent::Say { member, id, text: text.into(), mention, reply_to });
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        onebot_done(self.peer().timed_calls())
    }

    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool {
        // The implementation restarts: socket and listener gone, back after 500 ms; qunzhu
        // reconnects with its backoff. Events produced meanwhile go out after the reconnect.
        self.peer().drop_connection();
        during(self).await;
        self.peer().wait_connected().await;
        true
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

/// OneBot over HTTP: qunzhu calls the implementation's HTTP API; events are signed POSTs.
pub struct OnebotHttp {
    server: Server,
    peer: HttpPeer,
}

impl OnebotHttp {
    async fn boot(dir: &Path, up: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let event_url = format!("http://{}/onebot/v11/http", listener.local_addr().unwrap());
        let mut peer = HttpPeer::start(HttpPeerOptions::new(event_url, Some(TOKEN), Some(SECRET))).await;
        if !up {
            peer.stop_api().await;
        }
        let config = OnebotConfig::http("qq", TOKEN, &peer.api_url(), Some(SECRET));
        let server = Server::start(listener, dir, ConnectorConfig::Onebot(config)).await;
        Self { server, peer }
    }

    async fn send(&self, event: OnebotEvent) {
        self.peer.send(onebot_event(event)).await;
    }
}

impl Peer for OnebotHttp {
    async fn start(dir: &Path) -> Self {
        Self::boot(dir, true).await
    }

    async fn start_down(dir: &Path) -> Option<Self> {
        Some(Self::boot(dir, false).await)
    }

    async fn come_up(&mut self) {
        self.peer.restart_api().await;
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "qq"
    }

    fn capabilities(&self) -> Capabilities {
        OnebotConfig::http("qq", TOKEN, "http://127.0.0.1:1", Some(SECRET)).capabilities()
    }

    fn member(&self, n: u32) -> String {
        qq(n).to_string()
    }

    fn message(&self, n: u32) -> String {
        n.to_string()
    }

    async fn join(&self, member: u32) {
        self.send(OnebotEvent::Join(member)).await;
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        self.send(OnebotEvent::Leave(member, kicked_by)).await;
    }

    async fn join_request(&self, member: u32) -> bool {
        self.send(OnebotEvent::Request(member)).await;
        true
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        self.send(OnebotEvent::Say { member, id, text: text.into(), mention, reply_to }).await;
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        onebot_done(self.peer.timed_calls())
    }

    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool {
        // The implementation's HTTP API goes down and comes back on the same port.
        self.peer.stop_api().await;
        during(self).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.peer.restart_api().await;
        true
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

// --- The HTTP bridge ---------------------------------------------------------------------

/// A bridge (`type = "bridge"`) that declares send, reply and delete only: mutes, kicks and
/// join answers must come back as staff tasks.
pub struct Bridge {
    server: Server,
    next: std::sync::atomic::AtomicU32,
}

const BRIDGE_CAPABILITIES: [&str; 3] = ["send", "reply", "delete"];

fn bridge_config() -> BridgeConfig {
    BridgeConfig {
        id: "shop".into(),
        token: Secret::new(TOKEN),
        capabilities: BRIDGE_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
    }
}

impl Bridge {
    async fn post(&self, mut event: Value) {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        event["id"] = json!(format!("e{n}"));
        event["time"] = json!(chrono::Utc::now().to_rfc3339());
        event["group"] = json!({"id": "g1", "name": "粉丝1群"});
        let (status, body) = self.server.send(Method::POST, "/api/v1/bridge/shop/events", Some(event), Some(TOKEN)).await;
        assert!(status.is_success(), "{status} {body}");
    }

    fn person(n: u32) -> Value {
        json!({"id": format!("u{n}"), "name": format!("成员{n}"), "role": "member"})
    }
}

impl Peer for Bridge {
    async fn start(dir: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(listener, dir, ConnectorConfig::Bridge(bridge_config())).await;
        Self { server, next: 1.into() }
    }

    async fn start_down(_dir: &Path) -> Option<Self> {
        None
    }

    async fn come_up(&mut self) {}

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "shop"
    }

    fn capabilities(&self) -> Capabilities {
        bridge_config().capabilities()
    }

    fn member(&self, n: u32) -> String {
        format!("u{n}")
    }

    fn message(&self, n: u32) -> String {
        format!("m{n}")
    }

    async fn join(&self, member: u32) {
        self.post(json!({"type": "member_joined", "actor": Self::person(member)})).await;
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        let mut event = json!({"type": "member_left", "actor": Self::person(member)});
        if let Some(by) = kicked_by {
            event["removed_by"] = json!({"id": format!("u{by}")});
        }
        self.post(event).await;
    }

    async fn join_request(&self, member: u32) -> bool {
        self.post(json!({"type": "join_request", "actor": Self::person(member), "request_id": format!("r{member}")})).await;
        true
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        let mut segments = Vec::new();
        if let Some(reply) = reply_to {
            segments.push(json!({"type": "reply", "message_id": format!("m{reply}")}));
        }
        segments.push(json!({"type": "text", "text": text}));
        if let Some(m) = mention {
            segments.push(json!({"type": "mention", "id": format!("u{m}")}));
        }
        self.post(json!({"type": "message", "actor": Self::person(member),
                         "message": {"id": format!("m{id}"), "text": text, "segments": segments}}))
            .await;
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        let (_, feed) = self.server.send(Method::GET, "/api/v1/bridge/shop/actions?after=0", None, Some(TOKEN)).await;
        let now = Instant::now();
        feed["actions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|a| {
                let text = |key: &str| a[key].as_str().unwrap_or_default().to_owned();
                let did = match a["type"].as_str()? {
                    "send" | "reply" => Did::Send {
                        mentions: a["segments"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|s| s["type"] == "mention")
                            .filter_map(|s| s["id"].as_str().map(str::to_owned))
                            .collect(),
                        reply_to: a["reply_to"].as_str().map(str::to_owned),
                    },
                    "delete" => Did::Delete { message: text("message_id") },
                    "mute" => Did::Mute { member: text("member"), secs: a["duration_secs"].as_u64() },
                    "kick" => Did::Kick { member: text("member") },
                    "ban" => Did::Ban { member: text("member") },
                    "approve_join" => Did::AnswerJoin { member: text("member"), approve: true },
                    "reject_join" => Did::AnswerJoin { member: text("member"), approve: false },
                    _ => return None,
                };
                Some((now, did))
            })
            .collect()
    }

    async fn restart_during(&mut self, _during: impl AsyncFnOnce(&Self)) -> bool {
        // qunzhu is the server and the bridge's requests are idempotent by event id: there
        // is no connection to lose (a lost response is a re-POST, covered by bridge_app).
        false
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}
