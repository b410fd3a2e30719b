//! QQ through OneBot v11 (NapCat, Lagrange.OneBot, LLOneBot). qunzhu is the application
//! side; the implementation holds the QQ session.
//!
//! - `config` — [`OnebotConfig`], the `[[connectors]] type = "onebot"` entry.
//! - [`message`] — CQ-code strings and segment arrays ⇄ qunzhu segments, with the spec's escaping.
//! - [`event`] — OneBot event JSON → [`Event`]; answers and meta events told apart.
//! - [`action`] — [`qunzhu_core::Action`] → OneBot calls; answers → delivery outcomes.
//! - `transport` — reverse WebSocket (an axum route on qunzhu's listener) and forward
//!   WebSocket (a client that reconnects with backoff); both feed one [`Link`].
//! - `http` — HTTP API calls out (`POST {url}/{action}`) and HTTP POST events in (an axum
//!   route checking `X-Signature`), feeding the same [`Link`].
//!
//! Nothing is lost across a dropped connection: a call while disconnected (or unanswered
//! in time) is a temporary failure, so the outbox keeps the action and retries it; events
//! are deduplicated by the inbox on their platform id (`message_id`, `flag`…), so a
//! redelivered event is processed once.

pub mod action;
mod config;
pub mod event;
mod http;
pub mod message;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use qunzhu_core::{
    Action, BoxFuture, Capabilities, Connector, ConnectorId, Delivery, DeliveryError, Event,
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

pub use config::{OnebotConfig, OnebotMode};
pub use event::Frame;
pub use http::sign;

use crate::HealthReport;

/// A OneBot connection, as seen by `/healthz`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    /// WebSocket modes: a connection is open. `http`: the last exchange succeeded (an API
    /// call answered or an event POST accepted) and no API call has failed since.
    pub connected: bool,
    pub mode: OnebotMode,
    /// The QQ number of the bot account (`X-Self-ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_id: Option<String>,
    /// Connections made since qunzhu started (`http`: times it became reachable again).
    pub connections: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// The implementation's own view (`status.good` of its heartbeat), when it sends one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_good: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The configured connector: delivers actions over the current connection.
pub struct OnebotConnector {
    config: OnebotConfig,
    capabilities: Capabilities,
    link: Arc<Link>,
    /// `http` mode: the API client (`None` in the WebSocket modes).
    http: Option<reqwest::Client>,
}

impl OnebotConnector {
    /// `events` receives every group event in the order it arrived.
    pub fn new(config: OnebotConfig, events: mpsc::Sender<Event>) -> Arc<Self> {
        let link = Arc::new(Link {
            id: config.connector_id(),
            events,
            session: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            health: Mutex::new(Health {
                mode: config.mode,
                ..Health::default()
            }),
            closing: watch::channel(false).0,
        });
        let http = if config.mode == OnebotMode::Http {
            reqwest::Client::builder()
                .build()
                .inspect_err(|error| warn!(%error, "could not set up the OneBot HTTP client"))
                .ok()
        } else {
            None
        };
        Arc::new(Self {
            capabilities: config.capabilities(),
            config,
            link,
            http,
        })
    }

    pub fn config(&self) -> &OnebotConfig {
        &self.config
    }

    /// The route at the configured path, to be merged into qunzhu's router: the
    /// reverse-WebSocket endpoint (`reverse_ws`) or the event POST endpoint (`http`).
    pub fn router(&self) -> Option<axum::Router> {
        match self.config.mode {
            OnebotMode::ReverseWs => Some(transport::reverse_router(&self.config, self.link.clone())),
            OnebotMode::Http => Some(http::events_router(&self.config, self.link.clone())),
            OnebotMode::ForwardWs => None,
        }
    }

    /// Runs the forward-WebSocket client until [`close`](Self::close) (`forward_ws` mode
    /// only; returns at once otherwise). Never gives up: an unreachable implementation is
    /// retried with backoff and reported unhealthy.
    pub async fn run(&self) {
        if self.config.mode == OnebotMode::ForwardWs {
            transport::run_forward(&self.config, self.link.clone()).await;
        }
    }

    /// Closes the connection and stops reconnecting (shutdown).
    pub fn close(&self) {
        self.link.closing.send_replace(true);
    }

    pub fn health(&self) -> Health {
        self.link.health().clone()
    }

    fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.config.call_timeout_secs.max(1))
    }
}

impl HealthReport for OnebotConnector {
    fn health(&self) -> Value {
        serde_json::to_value(OnebotConnector::health(self)).unwrap_or(Value::Null)
    }
}

impl Connector for OnebotConnector {
    fn id(&self) -> &ConnectorId {
        &self.link.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(async move {
            let call = action::to_call(&action.group.group, &action.kind)?;
            let answer = if self.config.mode == OnebotMode::Http {
                let (Some(client), Some(base)) = (&self.http, self.config.url.as_deref()) else {
                    return Err(DeliveryError::Temporary {
                        message: "the OneBot HTTP client is not set up (`url` missing?)".into(),
                        retry_after_secs: None,
                    });
                };
                http::call(client, &self.link, base, &self.config.access_token, &call, self.call_timeout()).await?
            } else {
                self.link.call(&call, self.call_timeout()).await?
            };
            action::outcome(&answer)?;
            Ok(Delivery::Done)
        })
    }
}

/// The open connection, if any.
struct Session {
    generation: u64,
    frames: mpsc::UnboundedSender<String>,
    /// `X-Client-Role: Event` connections carry no API calls.
    can_call: bool,
}

/// What both transports share: the current session, calls waiting for their answer, health.
pub(crate) struct Link {
    id: ConnectorId,
    events: mpsc::Sender<Event>,
    session: Mutex<Option<Session>>,
    /// echo → (session generation, where the answer goes).
    pending: Mutex<HashMap<String, (u64, oneshot::Sender<Value>)>>,
    next: AtomicU64,
    health: Mutex<Health>,
    closing: watch::Sender<bool>,
}

/// A poisoned lock only means another task panicked mid-update; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Link {
    fn health(&self) -> MutexGuard<'_, Health> {
        lock(&self.health)
    }

    /// Makes a new connection the current one (a newer connection replaces an older one:
    /// implementations reconnect before noticing the old socket died). Returns its
    /// generation and the frames to write.
    fn attach(&self, self_id: Option<String>, can_call: bool) -> (u64, mpsc::UnboundedReceiver<String>) {
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        let (frames, outgoing) = mpsc::unbounded_channel();
        *lock(&self.session) = Some(Session { generation, frames, can_call });
        let mut health = self.health();
        health.connected = true;
        health.connections += 1;
        health.connected_since = Some(Utc::now());
        health.self_id = self_id.clone().or(health.self_id.take());
        health.last_error = None;
        info!(connector = %self.id, self_id = self_id.as_deref().unwrap_or("?"), "OneBot connected");
        (generation, outgoing)
    }

    /// Forgets a connection that ended; calls waiting on it fail (temporarily) at once.
    fn detach(&self, generation: u64, reason: &str) {
        let mut session = lock(&self.session);
        if session.as_ref().is_some_and(|s| s.generation == generation) {
            *session = None;
            let mut health = self.health();
            health.connected = false;
            health.connected_since = None;
            health.last_error = Some(reason.to_owned());
            warn!(connector = %self.id, reason, "OneBot disconnected");
        }
        drop(session);
        lock(&self.pending).retain(|_, (g, _)| *g != generation);
    }

    fn failed_to_connect(&self, reason: String) {
        let mut health = self.health();
        health.connected = false;
        health.last_error = Some(reason);
    }

    /// `http`: an exchange with the implementation succeeded.
    fn reached(&self, self_id: Option<String>) {
        let mut health = self.health();
        if !health.connected {
            health.connected = true;
            health.connections += 1;
            health.connected_since = Some(Utc::now());
            info!(connector = %self.id, "OneBot HTTP API reachable");
        }
        health.last_error = None;
        if self_id.is_some() {
            health.self_id = self_id;
        }
    }

    /// `http`: an API call could not reach the implementation or was refused.
    fn unreachable(&self, reason: String) {
        let mut health = self.health();
        if health.connected {
            warn!(connector = %self.id, %reason, "OneBot HTTP API unreachable");
        }
        health.connected = false;
        health.connected_since = None;
        health.last_error = Some(reason);
    }

    /// Handles one text frame from the implementation.
    async fn receive(&self, text: &str) {
        self.handle(event::decode(&self.id, text)).await;
    }

    /// Handles one decoded frame (an event POST is decoded by its route).
    async fn handle(&self, frame: Frame) {
        match frame {
            Frame::Event(event) => {
                self.health().last_event_at = Some(Utc::now());
                debug!(connector = %self.id, event = %event.origin.event_id, kind = event.kind.name(), "OneBot event");
                if self.events.send(*event).await.is_err() {
                    warn!(connector = %self.id, "the engine no longer takes events; event dropped");
                }
            }
            Frame::Response { echo, body } => {
                if let Some((_, answer)) = lock(&self.pending).remove(&echo) {
                    let _ = answer.send(body);
                } else {
                    debug!(connector = %self.id, %echo, "answer to no waiting call (timed out?)");
                }
            }
            Frame::Meta { kind, good } => {
                let mut health = self.health();
                if kind == "heartbeat" {
                    health.last_heartbeat_at = Some(Utc::now());
                }
                if good.is_some() {
                    health.platform_good = good;
                }
            }
            Frame::Skipped(reason) => {
                debug!(connector = %self.id, %reason, "OneBot frame skipped");
            }
        }
    }

    /// Makes one API call and waits for its answer.
    ///
    /// # Errors
    /// [`DeliveryError::Temporary`] when not connected, the connection drops, or no answer
    /// comes in time — the outbox retries, so nothing decided is lost.
    async fn call(&self, call: &action::Call, timeout: Duration) -> Result<Value, DeliveryError> {
        let temporary = |message: &str| DeliveryError::Temporary {
            message: message.to_owned(),
            retry_after_secs: None,
        };
        let (generation, frames) = match &*lock(&self.session) {
            Some(session) if session.can_call => (session.generation, session.frames.clone()),
            _ => return Err(temporary("the OneBot implementation is not connected")),
        };
        let echo = format!("qunzhu-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        lock(&self.pending).insert(echo.clone(), (generation, answer));
        let frame = json!({"action": call.action, "params": call.params, "echo": echo});
        if frames.send(frame.to_string()).is_err() {
            lock(&self.pending).remove(&echo);
            return Err(temporary("the OneBot connection closed"));
        }
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(_)) => Err(temporary("the OneBot connection closed before the answer")),
            Err(_) => {
                lock(&self.pending).remove(&echo);
                Err(temporary(&format!("no answer to {} within {}s", call.action, timeout.as_secs())))
            }
        }
    }
}

#[cfg(test)]
mod tests;
