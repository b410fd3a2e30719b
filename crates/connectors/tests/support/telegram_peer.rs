//! A local Telegram Bot API peer for tests, following the documented request and response
//! shapes (`POST /bot<token>/<method>`, `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}`).
//!
//! - `getUpdates` serves the updates the test pushed (recorded payloads from
//!   `tests/fixtures/telegram/`), confirming (dropping) those below the `offset` it is
//!   called with, like Telegram; it holds the long poll until an update arrives or 1 s passes.
//! - every call is logged with its JSON parameters and the instant it arrived;
//! - `sendMessage` answers a message with a fresh `message_id`; `createChatInviteLink`
//!   a link carrying the given `name`; `getChatAdministrators` the recorded list;
//!   everything else `true`;
//! - [`TelegramPeer::fail_next`] makes the next call of a method answer a given error
//!   (e.g. the recorded 429);
//! - [`TelegramPeer::set_down`] makes every call answer `502 Bad Gateway` (what Telegram's
//!   front end answers during an outage) until it is up again; pushed updates wait.
//!
//! Shared by the connector tests and the whole-app tests (`#[path]`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Json;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "7000000001:AAtest-token";
pub const CHAT: i64 = -1001234567890;

/// A recorded payload from `crates/connectors/tests/fixtures/telegram/`.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../connectors/tests/fixtures/telegram")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// One call the peer received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub at: Instant,
    /// Unix seconds when it arrived (for `until_date`s).
    pub unix: i64,
}

#[derive(Default)]
struct PeerState {
    updates: Vec<Value>,
    calls: Vec<Call>,
    failures: HashMap<String, VecDeque<Value>>,
    next_message_id: i64,
    /// How many `getUpdates` answers carried updates.
    batches: usize,
    /// Answering 502 to everything (an outage).
    down: bool,
    /// Calls answered 502.
    refused: u64,
}

#[derive(Clone)]
pub struct TelegramPeer {
    pub url: String,
    state: Arc<Mutex<PeerState>>,
    arrived: Arc<Notify>,
    called: Arc<Notify>,
}

impl TelegramPeer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(PeerState { next_message_id: 9000, ..PeerState::default() }));
        let peer = Self {
            url: String::new(),
            state,
            arrived: Arc::new(Notify::new()),
            called: Arc::new(Notify::new()),
        };
        let app = Router::new().route("/{bot}/{method}", post(call)).with_state(peer.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, ..peer }
    }

    /// Queues an update for `getUpdates`.
    pub fn push_update(&self, update: Value) {
        self.state.lock().unwrap().updates.push(update);
        self.arrived.notify_waiters();
    }

    /// An outage (`true`: every call answers 502) or its end.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
        self.arrived.notify_waiters();
    }

    /// Calls answered 502 during outages.
    pub fn refused(&self) -> u64 {
        self.state.lock().unwrap().refused
    }

    /// The next call of `method` answers `response` (an error payload).
    pub fn fail_next(&self, method: &str, response: Value) {
        self.state.lock().unwrap().failures.entry(method.to_owned()).or_default().push_back(response);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == method).collect()
    }

    /// Waits until `count` calls of `method` arrived (panics after `within`).
    pub async fn wait_for(&self, method: &str, count: usize, within: Duration) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.called.notified();
            let calls = self.calls_of(method);
            if calls.len() >= count {
                return calls;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{count} `{method}` call(s) expected, got {}: {:#?}", calls.len(), self.calls());
            }
        }
    }

    /// Updates not yet confirmed by an offset.
    pub fn unconfirmed(&self) -> usize {
        self.state.lock().unwrap().updates.len()
    }
}

fn ok(result: Value) -> Json<Value> {
    Json(json!({ "ok": true, "result": result }))
}

async fn call(State(peer): State<TelegramPeer>, Path((bot, method)): Path<(String, String)>, body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    {
        let mut state = peer.state.lock().unwrap();
        if state.down {
            state.refused += 1;
            return (axum::http::StatusCode::BAD_GATEWAY, "<html><body><h1>502 Bad Gateway</h1></body></html>").into_response();
        }
    }
    answer(peer, bot, method, body).await.into_response()
}

async fn answer(peer: TelegramPeer, bot: String, method: String, body: axum::body::Bytes) -> Json<Value> {
    if bot != format!("bot{TOKEN}") {
        return Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    // Method names are case-insensitive (teloxide sends `SendMessage`): keep the docs' spelling.
    let mut chars = method.chars();
    let method: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    {
        let mut state = peer.state.lock().unwrap();
        state.calls.push(Call { method: method.clone(), params: params.clone(), at: Instant::now(), unix: chrono::Utc::now().timestamp() });
        if let Some(failure) = state.failures.get_mut(&method).and_then(VecDeque::pop_front) {
            drop(state);
            peer.called.notify_waiters();
            return Json(failure);
        }
    }
    peer.called.notify_waiters();
    match method.as_str() {
        "getUpdates" => {
            let offset = params["offset"].as_i64();
            let hold = params["timeout"].as_u64().unwrap_or(0).min(1);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(hold);
            loop {
                let arrived = peer.arrived.notified();
                {
                    let mut state = peer.state.lock().unwrap();
                    if let Some(offset) = offset {
                        state.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    }
                    if !state.updates.is_empty() {
                        state.batches += 1;
                        return ok(Value::Array(state.updates.clone()));
                    }
                }
                if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        "sendMessage" => {
            let id = {
                let mut state = peer.state.lock().unwrap();
                state.next_message_id += 1;
                state.next_message_id
            };
            let chat_id = params["chat_id"].as_i64().unwrap_or(CHAT);
            let chat = if chat_id < 0 {
                json!({"id": chat_id, "title": "qunzhu 测试群", "type": "supergroup"})
            } else {
                json!({"id": chat_id, "first_name": "member", "type": "private"})
            };
            ok(json!({
                "message_id": id,
                "from": {"id": 7000000001u64, "is_bot": true, "first_name": "qunzhu", "username": "qunzhu_bot"},
                "chat": chat,
                "date": 1763884900,
                "text": params["text"],
                "entities": params.get("entities").cloned().unwrap_or(json!([])),
            }))
        }
        "createChatInviteLink" => ok(json!({
            "invite_link": format!("https://t.me/+link{}", params["name"].as_str().unwrap_or("x")),
            "creator": {"id": 7000000001u64, "is_bot": true, "first_name": "qunzhu", "username": "qunzhu_bot"},
            "creates_join_request": params["creates_join_request"].as_bool().unwrap_or(false),
            "is_primary": false,
            "is_revoked": false,
            "name": params["name"],
        })),
        "getChatAdministrators" => Json(fixture("get_chat_administrators")),
        _ => ok(json!(true)),
    }
}
