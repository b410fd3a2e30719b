//! The [`Peer`] trait, what a case observes ([`Did`]), and a whole qunzhu to run against.

use std::path::Path;
use std::time::{Duration, Instant};

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_core::Capabilities;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One thing the bot did on the platform, as the platform saw it (ids are qunzhu's member and
/// message ids for this peer: see [`Peer::member`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Did {
    /// A message; `mentions` are member ids with a real mention, `reply_to` the message answered.
    Send { mentions: Vec<String>, reply_to: Option<String> },
    Delete { message: String },
    /// `secs`: the platform's own expiry, `None` when the platform has none (Matrix).
    Mute { member: String, secs: Option<u64> },
    Kick { member: String },
    Ban { member: String },
    AnswerJoin { member: String, approve: bool },
}

/// The platform side of one connector, with qunzhu running against it.
#[allow(async_fn_in_trait)] // used generically in this test binary only, never as `dyn`
pub trait Peer: Sized {
    /// Whether the platform can run here (Matrix needs a Synapse); a case skips otherwise.
    fn available() -> bool {
        true
    }
    /// Boots qunzhu (data in `dir`) with this connector and the platform up and connected.
    async fn start(dir: &Path) -> Self;
    /// Boots qunzhu while the platform is down; `None` when the platform cannot be "down"
    /// for qunzhu (a bridge calls qunzhu, never the other way round).
    async fn start_down(dir: &Path) -> Option<Self>;
    /// Brings the platform up after [`start_down`](Self::start_down).
    async fn come_up(&mut self);
    /// How often qunzhu tried to reach the platform while it was down, where the peer can
    /// count that (a port that accepts and drops at once, like a process still starting).
    fn attempts_while_down(&self) -> Option<u64> {
        None
    }
    fn server(&self) -> &Server;
    /// The connector id in qunzhu's config.
    fn connector(&self) -> &'static str;
    /// What the connector declares.
    fn capabilities(&self) -> Capabilities;
    /// qunzhu's member id for test member `n`, and message id for test message `n`.
    fn member(&self, n: u32) -> String;
    fn message(&self, n: u32) -> String;
    /// Makes members exist ahead of a burst (accounts on the platform), so they act at once.
    async fn prepare(&self, _members: &[u32]) {}
    async fn join(&self, member: u32);
    async fn leave(&self, member: u32, kicked_by: Option<u32>);
    /// `false` when the platform has no join requests.
    async fn join_request(&self, member: u32) -> bool;
    /// Member `member` posts message `id`: `text`, then a mention, as a reply to `reply_to`.
    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>);
    /// Everything the bot did so far, with when the platform received it.
    async fn done(&self) -> Vec<(Instant, Did)>;
    /// The platform restarts (the connection drops) while `during` delivers events; `false`
    /// when that does not apply to this connector.
    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool;
    async fn stop(self);
}

/// The connector's part of `/healthz`: `None` for connectors that have no connection.
pub async fn connector_health<P: Peer>(peer: &P) -> Value {
    peer.server().get("/healthz").await.1["connectors"][peer.connector()].clone()
}

/// Waits until the bot did something matching `wanted` (`count` times); returns it all.
pub async fn wait_done<P: Peer>(peer: &P, what: &str, count: usize, wanted: impl Fn(&Did) -> bool) -> Vec<Did> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: Vec<Did> = peer.done().await.into_iter().map(|(_, d)| d).collect();
        if done.iter().filter(|d| wanted(d)).count() >= count {
            return done;
        }
        assert!(Instant::now() < deadline, "{what}: not seen within 30 s; the platform saw {done:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The events qunzhu stored for the connector, oldest first (the serialised `Event`s).
pub async fn stored_events<P: Peer>(peer: &P, dir: &Path) -> Vec<Value> {
    use sqlx::Row;
    let url = format!("sqlite://{}?mode=ro", dir.join("qunzhu.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT body FROM events WHERE connector = $1 ORDER BY seq")
        .bind(peer.connector())
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter().map(|row| serde_json::from_str(&row.get::<String, _>("body")).unwrap()).collect()
}

/// Waits until at least `count` stored events match `wanted`.
pub async fn wait_stored<P: Peer>(peer: &P, dir: &Path, count: usize, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = stored_events(peer, dir).await;
        if events.iter().filter(|e| wanted(e)).count() >= count {
            return events;
        }
        assert!(Instant::now() < deadline, "{count} matching events not stored within 30 s: {events:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A whole `qunzhu serve` on a listener of the caller's.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    pub async fn start(listener: TcpListener, dir: &Path, connector: ConnectorConfig) -> Self {
        let address = listener.local_addr().unwrap();
        let config = Config { data_dir: dir.to_path_buf(), connectors: vec![connector], ..Config::default() };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let server = Self { base: format!("http://{address}"), client: reqwest::Client::new(), stop: Some(stop), task };
        for _ in 0..200 {
            if server.client.get(server.url("/healthz")).send().await.is_ok() {
                server.one_welcome_per_join().await;
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }

    /// The suite counts a join's welcome as its typical action: welcome each join at once
    /// (no batching), no join waves, no milestone celebrations in between.
    async fn one_welcome_per_join(&self) {
        let mut rulebook = self.get("/api/v1/rulebook").await.1["rulebook"].clone();
        let default = &mut rulebook["templates"]["default"];
        default["welcome"]["batch_window_secs"] = Value::from(0);
        default["admission"]["join_wave"]["enabled"] = Value::from(false);
        default["milestones"]["enabled"] = Value::from(false);
        self.ok(Method::PUT, "/api/v1/rulebook?author=conformance&note=one+welcome+per+join", rulebook).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, body) = self.send(method, path, Some(body), None).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub async fn set_ladder(&self, ladder: Value) {
        let mut rulebook = self.get("/api/v1/rulebook").await.1["rulebook"].clone();
        rulebook["templates"]["default"]["moderation"]["ladder"] = ladder;
        self.ok(Method::PUT, "/api/v1/rulebook?author=conformance&note=ladder", rulebook).await;
    }

    pub async fn blacklist(&self, connector: &str, member: &str) {
        self.ok(
            Method::POST,
            "/api/v1/blacklist",
            json!({"connector": connector, "member": member, "name": "骗子", "reason": "诈骗", "by": "conformance"}),
        )
        .await;
    }

    /// Open staff tasks, as `(wanted action type, member)`.
    pub async fn tasks(&self) -> Vec<(String, String)> {
        let (_, body) = self.get("/api/v1/tasks?status=open").await;
        body["tasks"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                let kind = &t["action"]["kind"];
                (kind["type"].as_str().unwrap_or_default().to_owned(), kind["member"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("shutdown hangs").unwrap().unwrap();
    }
}
