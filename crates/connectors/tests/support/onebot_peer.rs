//! A spec-faithful OneBot v11 **implementation-side** peer for tests: it behaves like
//! NapCat or Lagrange.OneBot configured with a reverse WebSocket (a "WebSocket client").
//!
//! - connects to the application with `X-Self-ID`, `X-Client-Role: Universal` and
//!   `Authorization: Bearer <token>`;
//! - sends a `lifecycle`/`connect` meta event first, then the events the test gives it, as
//!   real OneBot JSON (see [`events`]);
//! - answers every call with `{"status","retcode","data","echo"}`, `echo` returned
//!   unchanged whatever its JSON type; `send_group_msg` gets a fresh `message_id`;
//! - reconnects every `reconnect` when the connection drops (NapCat's default is 3 s);
//! - keeps a log of every call it received (and when it arrived).
//!
//! [`Peer::start_forward`] is the same implementation as a forward-WebSocket server (the
//! application connects to it).
//!
//! [`HttpPeer`] is the same implementation configured for HTTP instead (NapCat's
//! `httpServers` + `httpClients`): it serves the HTTP API (`POST /:action`, token checked:
//! 401 none, 403 wrong), can go down and come back on the same port, and POSTs events to the
//! application signed with `X-Signature: sha1=<HMAC-SHA1(secret, body)>`.
//!
//! Shared by the connector tests, the whole-app tests (`#[path]`) and the NoneBot check.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How the peer is set up.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    /// `ws://host:port/path` of the application's reverse-WebSocket endpoint.
    pub url: String,
    pub access_token: Option<String>,
    pub self_id: i64,
    pub reconnect: Duration,
}

impl PeerOptions {
    pub fn new(url: impl Into<String>, access_token: Option<&str>) -> Self {
        Self {
            url: url.into(),
            access_token: access_token.map(str::to_owned),
            self_id: 10_000,
            reconnect: Duration::from_millis(200),
        }
    }
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Value>>,
    /// When each call arrived (same order as `calls`), for pacing checks.
    arrivals: Mutex<Vec<std::time::Instant>>,
    called: Notify,
    connections: Mutex<u64>,
    last_refusal: Mutex<Option<u16>>,
}

/// A running peer. Dropping it stops it.
pub struct Peer {
    options: PeerOptions,
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Value>,
    connected: watch::Receiver<bool>,
    drop_now: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Tries one handshake; `Err(status)` when the application refuses it.
pub async fn handshake(options: &PeerOptions) -> Result<(), u16> {
    match connect(options).await {
        Ok(_) => Ok(()),
        Err(Some(status)) => Err(status),
        Err(None) => Err(0),
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(options: &PeerOptions) -> Result<Socket, Option<u16>> {
    let mut request = options.url.as_str().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("X-Self-ID", options.self_id.to_string().parse().unwrap());
    headers.insert("X-Client-Role", "Universal".parse().unwrap());
    headers.insert("User-Agent", "OneBot/11 (qunzhu-test-peer)".parse().unwrap());
    if let Some(token) = &options.access_token {
        headers.insert("Authorization", format!("Bearer {token}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(Some(response.status().as_u16())),
        Err(_) => Err(None),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Peer {
    /// Starts connecting (and reconnecting) in the background.
    pub fn start(options: PeerOptions) -> Self {
        let shared = Arc::new(Shared::default());
        let (outgoing, queue) = mpsc::unbounded_channel();
        let (connected_tx, connected) = watch::channel(false);
        let drop_now = Arc::new(Notify::new());
        let task = tokio::spawn(run(options.clone(), shared.clone(), queue, connected_tx, drop_now.clone()));
        Self { options, shared, outgoing, connected, drop_now, task }
    }

    /// Starts a forward-WebSocket implementation instead (NapCat's "WebSocket server"):
    /// it listens on `address` and the application connects to it; `options.url` is unused.
    /// [`drop_connection`](Self::drop_connection) restarts it: the socket and the listener
    /// go away and come back after `reconnect`.
    pub fn start_forward(address: std::net::SocketAddr, options: PeerOptions) -> Self {
        let shared = Arc::new(Shared::default());
        let (outgoing, queue) = mpsc::unbounded_channel();
        let (connected_tx, connected) = watch::channel(false);
        let drop_now = Arc::new(Notify::new());
        let task = tokio::spawn(run_forward(address, options.clone(), shared.clone(), queue, connected_tx, drop_now.clone()));
        Self { options, shared, outgoing, connected, drop_now, task }
    }

    pub fn self_id(&self) -> i64 {
        self.options.self_id
    }

    /// Waits until connected (after a drop: reconnected).
    pub async fn wait_connected(&self) {
        let mut connected = self.connected.clone();
        tokio::time::timeout(Duration::from_secs(15), connected.wait_for(|c| *c))
            .await
            .expect("the peer did not connect")
            .unwrap();
    }

    pub fn connections(&self) -> u64 {
        *self.shared.connections.lock().unwrap()
    }

    /// The status of the last refused handshake, if any.
    pub fn last_refusal(&self) -> Option<u16> {
        *self.shared.last_refusal.lock().unwrap()
    }

    /// Sends an event once connected (events wait in order while disconnected).
    pub fn send(&self, event: Value) {
        self.outgoing.send(event).unwrap();
    }

    /// Drops the current socket without a close frame, as a crashed process or a broken
    /// network would; the peer reconnects after `reconnect`.
    pub fn drop_connection(&self) {
        self.drop_now.notify_one();
    }

    /// Every call received so far.
    pub fn calls(&self) -> Vec<Value> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Every call with the time it arrived.
    pub fn timed_calls(&self) -> Vec<(std::time::Instant, Value)> {
        let calls = self.shared.calls.lock().unwrap().clone();
        self.shared.arrivals.lock().unwrap().iter().copied().zip(calls).collect()
    }

    /// Calls of one action.
    pub fn calls_of(&self, action: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c["action"] == action).collect()
    }

    /// Waits until `count` calls match `predicate`, and returns them.
    pub async fn wait_for_calls(&self, count: usize, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.shared.called.notified();
            let matching: Vec<Value> = self.calls().into_iter().filter(|c| predicate(c)).collect();
            if matching.len() >= count {
                return matching;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited for {count} matching call(s); got {}: {:#?}", matching.len(), self.calls());
            }
        }
    }

    /// Waits for one call of `action` and returns it.
    pub async fn wait_for(&self, action: &str) -> Value {
        self.wait_for_calls(1, |c| c["action"] == action).await.remove(0)
    }
}

async fn run(
    options: PeerOptions,
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Value>,
    connected: watch::Sender<bool>,
    drop_now: Arc<Notify>,
) {
    let mut next_message_id: i64 = 1_000;
    loop {
        let socket = match connect(&options).await {
            Ok(socket) => socket,
            Err(status) => {
                *shared.last_refusal.lock().unwrap() = status;
                tokio::time::sleep(options.reconnect).await;
                continue;
            }
        };
        if !session(socket, &options, &shared, &mut queue, &connected, &drop_now, &mut next_message_id).await {
            return;
        }
        tokio::time::sleep(options.reconnect).await;
    }
}

/// The forward-WebSocket implementation: listens on `address` (bound afresh after every
/// drop, as a restarted process would), checks the token (401 none, 403 wrong), and serves
/// one connection at a time like [`run`].
async fn run_forward(
    address: std::net::SocketAddr,
    options: PeerOptions,
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Value>,
    connected: watch::Sender<bool>,
    drop_now: Arc<Notify>,
) {
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
    let mut next_message_id: i64 = 1_000;
    loop {
        let Ok(listener) = tokio::net::TcpListener::bind(address).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok((stream, _)) = listener.accept().await else { continue };
        let expected = options.access_token.as_ref().map(|t| format!("Bearer {t}"));
        let refusal = shared.clone();
        #[allow(clippy::result_large_err)] // tungstenite's callback type
        let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            let given = request.headers().get("authorization").and_then(|v| v.to_str().ok());
            let status = match (&expected, given) {
                (None, _) => return Ok(response),
                (Some(expected), Some(given)) if given == expected => return Ok(response),
                (Some(_), None) => 401,
                (Some(_), Some(_)) => 403,
            };
            *refusal.last_refusal.lock().unwrap() = Some(status);
            let mut refused = ErrorResponse::new(None);
            *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status).unwrap();
            Err(refused)
        };
        let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, check).await else { continue };
        drop(listener);
        if !session(socket, &options, &shared, &mut queue, &connected, &drop_now, &mut next_message_id).await {
            return;
        }
        tokio::time::sleep(options.reconnect).await;
    }
}

/// One connection: the lifecycle event, then queued events out and answered calls in, until
/// the socket fails or [`Peer::drop_connection`]. `false` when the peer itself is gone.
async fn session<S>(
    socket: tokio_tungstenite::WebSocketStream<S>,
    options: &PeerOptions,
    shared: &Shared,
    queue: &mut mpsc::UnboundedReceiver<Value>,
    connected: &watch::Sender<bool>,
    drop_now: &Notify,
    next_message_id: &mut i64,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    *shared.connections.lock().unwrap() += 1;
    let (mut sink, mut stream) = socket.split();
    let lifecycle = json!({"time": now(), "self_id": options.self_id, "post_type": "meta_event",
                           "meta_event_type": "lifecycle", "sub_type": "connect"});
    if sink.send(Message::Text(lifecycle.to_string().into())).await.is_err() {
        return true;
    }
    connected.send_replace(true);
    loop {
        tokio::select! {
            () = drop_now.notified() => break,
            event = queue.recv() => {
                let Some(event) = event else { return false };
                if sink.send(Message::Text(event.to_string().into())).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(call) = serde_json::from_str::<Value>(&text) else { continue };
                let data = answer_data(call["action"].as_str().unwrap_or_default(), options.self_id, next_message_id);
                let mut answer = json!({"status": "ok", "retcode": 0, "data": data, "message": "", "wording": ""});
                if let Some(echo) = call.get("echo") {
                    answer["echo"] = echo.clone();
                }
                shared.arrivals.lock().unwrap().push(std::time::Instant::now());
                shared.calls.lock().unwrap().push(call);
                shared.called.notify_waiters();
                if sink.send(Message::Text(answer.to_string().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Dropped without a close frame: the socket just goes away.
    connected.send_replace(false);
    true
}

/// NapCat's answer to a call: `data` by action (fresh `message_id`s for sends).
fn answer_data(action: &str, self_id: i64, next_message_id: &mut i64) -> Value {
    match action {
        "send_group_msg" | "send_msg" | "send_private_msg" => {
            *next_message_id += 1;
            json!({"message_id": *next_message_id})
        }
        "get_login_info" => json!({"user_id": self_id, "nickname": "测试机器人"}),
        _ => Value::Null,
    }
}

/// How the HTTP peer is set up.
#[derive(Clone, Debug)]
pub struct HttpPeerOptions {
    /// `http://host:port/path` of the application's event endpoint.
    pub event_url: String,
    pub access_token: Option<String>,
    /// Signs event POSTs when set.
    pub secret: Option<String>,
    pub self_id: i64,
}

impl HttpPeerOptions {
    pub fn new(event_url: impl Into<String>, access_token: Option<&str>, secret: Option<&str>) -> Self {
        Self {
            event_url: event_url.into(),
            access_token: access_token.map(str::to_owned),
            secret: secret.map(str::to_owned),
            self_id: 10_000,
        }
    }
}

struct HttpState {
    shared: Arc<Shared>,
    token: Option<String>,
    self_id: i64,
    next_message_id: Mutex<i64>,
}

/// An implementation in HTTP mode. Dropping it stops its API server.
pub struct HttpPeer {
    options: HttpPeerOptions,
    state: Arc<HttpState>,
    address: std::net::SocketAddr,
    server: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
    client: reqwest::Client,
}

impl Drop for HttpPeer {
    fn drop(&mut self) {
        if let Some((_, task)) = self.server.take() {
            task.abort();
        }
    }
}

async fn serve_api(
    listener: tokio::net::TcpListener,
    state: Arc<HttpState>,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;

    async fn api(
        State(state): State<Arc<HttpState>>,
        Path(action): Path<String>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        if let Some(token) = &state.token {
            let presented = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim_start_matches("Bearer ").to_owned());
            match presented {
                None => return StatusCode::UNAUTHORIZED.into_response(),
                Some(presented) if presented != *token => return StatusCode::FORBIDDEN.into_response(),
                Some(_) => {}
            }
        }
        let params: Value = if body.is_empty() { json!({}) } else {
            match serde_json::from_slice(&body) {
                Ok(params) => params,
                Err(_) => return StatusCode::BAD_REQUEST.into_response(),
            }
        };
        let data = answer_data(&action, state.self_id, &mut state.next_message_id.lock().unwrap());
        state.shared.arrivals.lock().unwrap().push(std::time::Instant::now());
        state.shared.calls.lock().unwrap().push(json!({"action": action, "params": params}));
        state.shared.called.notify_waiters();
        axum::Json(json!({"status": "ok", "retcode": 0, "data": data, "message": "", "wording": ""})).into_response()
    }

    let router = axum::Router::new().route("/{action}", axum::routing::post(api)).with_state(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, task)
}

impl HttpPeer {
    /// Starts the API server on a free port of 127.0.0.1.
    pub async fn start(options: HttpPeerOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(HttpState {
            shared: Arc::new(Shared::default()),
            token: options.access_token.clone(),
            self_id: options.self_id,
            next_message_id: Mutex::new(1_000),
        });
        let server = Some(serve_api(listener, state.clone()).await);
        Self { options, state, address, server, client: reqwest::Client::new() }
    }

    pub fn self_id(&self) -> i64 {
        self.options.self_id
    }

    /// Where events are POSTed.
    pub fn event_url(&self) -> String {
        self.options.event_url.clone()
    }

    /// The API base address, for the application's `url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops the API server (connections refused from then on); waits until it is down.
    pub async fn stop_api(&mut self) {
        if let Some((stop, task)) = self.server.take() {
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(10), task).await.expect("the API server does not stop").unwrap();
        }
    }

    /// Starts the API server again on the same port.
    pub async fn restart_api(&mut self) {
        assert!(self.server.is_none(), "the API server is running");
        let listener = tokio::net::TcpListener::bind(self.address).await.unwrap();
        self.server = Some(serve_api(listener, self.state.clone()).await);
    }

    /// POSTs one event as the implementation would (`X-Self-ID`, signature, token); returns
    /// the HTTP status.
    pub async fn post(&self, event: &Value) -> u16 {
        self.post_raw(event.to_string().into_bytes(), self.options.secret.as_deref()).await
    }

    /// POSTs `body` as it is, signed with `secret` when given.
    pub async fn post_raw(&self, body: Vec<u8>, secret: Option<&str>) -> u16 {
        let mut request = self
            .client
            .post(&self.options.event_url)
            .header("Content-Type", "application/json")
            .header("X-Self-ID", self.options.self_id.to_string())
            .header("User-Agent", "OneBot/11 (qunzhu-test-peer)");
        if let Some(secret) = secret {
            request = request.header("X-Signature", qunzhu_connectors::onebot::sign(secret, &body));
        }
        if let Some(token) = &self.options.access_token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.body(body).send().await.unwrap().status().as_u16()
    }

    /// POSTs an event and asserts it was accepted (204).
    pub async fn send(&self, event: Value) {
        assert_eq!(self.post(&event).await, 204, "event refused: {event}");
    }

    pub fn calls(&self) -> Vec<Value> {
        self.state.shared.calls.lock().unwrap().clone()
    }

    /// Every call with the time it arrived.
    pub fn timed_calls(&self) -> Vec<(std::time::Instant, Value)> {
        let calls = self.state.shared.calls.lock().unwrap().clone();
        self.state.shared.arrivals.lock().unwrap().iter().copied().zip(calls).collect()
    }

    pub fn calls_of(&self, action: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c["action"] == action).collect()
    }

    /// Waits until `count` calls match `predicate`, and returns them.
    pub async fn wait_for_calls(&self, count: usize, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.state.shared.called.notified();
            let matching: Vec<Value> = self.calls().into_iter().filter(|c| predicate(c)).collect();
            if matching.len() >= count {
                return matching;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited for {count} matching call(s); got {}: {:#?}", matching.len(), self.calls());
            }
        }
    }

    pub async fn wait_for(&self, action: &str) -> Value {
        self.wait_for_calls(1, |c| c["action"] == action).await.remove(0)
    }
}

/// Real OneBot v11 event JSON, as NapCat sends it.
pub mod events {
    use serde_json::{Value, json};

    use super::now;

    /// A group message; `message` is a CQ-code string or a segment array.
    pub fn group_message(self_id: i64, group: i64, user: i64, message_id: i64, message: Value, role: &str) -> Value {
        let raw = match &message {
            Value::String(text) => text.clone(),
            _ => String::new(),
        };
        json!({
            "time": now(), "self_id": self_id, "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": message_id, "group_id": group, "user_id": user,
            "anonymous": null, "message": message, "raw_message": raw, "font": 0,
            "sender": {"user_id": user, "nickname": format!("用户{user}"), "card": "", "sex": "unknown",
                       "age": 0, "area": "", "level": "1", "role": role, "title": ""}
        })
    }

    pub fn group_increase(self_id: i64, group: i64, user: i64, operator: i64, sub_type: &str) -> Value {
        json!({"time": now(), "self_id": self_id, "post_type": "notice", "notice_type": "group_increase",
               "sub_type": sub_type, "group_id": group, "operator_id": operator, "user_id": user})
    }

    pub fn group_decrease(self_id: i64, group: i64, user: i64, operator: i64, sub_type: &str) -> Value {
        json!({"time": now(), "self_id": self_id, "post_type": "notice", "notice_type": "group_decrease",
               "sub_type": sub_type, "group_id": group, "operator_id": operator, "user_id": user})
    }

    pub fn group_request(self_id: i64, group: i64, user: i64, flag: &str, comment: &str) -> Value {
        json!({"time": now(), "self_id": self_id, "post_type": "request", "request_type": "group",
               "sub_type": "add", "group_id": group, "user_id": user, "comment": comment, "flag": flag})
    }

    pub fn group_recall(self_id: i64, group: i64, user: i64, operator: i64, message_id: i64) -> Value {
        json!({"time": now(), "self_id": self_id, "post_type": "notice", "notice_type": "group_recall",
               "group_id": group, "user_id": user, "operator_id": operator, "message_id": message_id})
    }

    pub fn heartbeat(self_id: i64) -> Value {
        json!({"time": now(), "self_id": self_id, "post_type": "meta_event", "meta_event_type": "heartbeat",
               "status": {"online": true, "good": true}, "interval": 30000})
    }
}
