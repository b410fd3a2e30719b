//! A whole `qunzhu serve` on port 0 for the app tests: start it with a config, drive it over
//! HTTP, watch the sandbox, stop it gracefully.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use qunzhu::config::Config;
use qunzhu::serve;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Serves `config` (its data dir a temp dir of the caller's).
    pub async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let server = Self { base, client: reqwest::Client::new(), stop: Some(stop), task };
        for _ in 0..100 {
            if server.client.get(server.url("/healthz")).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// A sandbox group the engine knows by name (a member has spoken in it).
    pub async fn sandbox_group(&self, name: &str) -> String {
        let (status, group) = self.post("/api/v1/sandbox/groups", json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let id = group["id"].as_str().unwrap().to_owned();
        let (status, _) = self
            .post(&format!("/api/v1/sandbox/groups/{id}/events"), json!({"type": "message", "member": {"id": "u1", "name": "小王"}, "text": "大家好"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        id
    }

    /// The bot's entries in a sandbox group's transcript, waiting up to `secs` for `count`.
    pub async fn bot_entries(&self, group: &str, count: usize, secs: u64) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (_, transcript) = self.get(&format!("/api/v1/sandbox/groups/{group}/transcript?wait=1")).await;
            let bot: Vec<Value> = transcript["entries"].as_array().unwrap().iter().filter(|e| e["type"] == "bot").cloned().collect();
            if bot.len() >= count || tokio::time::Instant::now() >= deadline {
                return bot;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("shutdown hangs").unwrap().unwrap();
    }
}


/// The password of the owner [`signed_in`] creates.
pub const OWNER_PASSWORD: &str = "correct horse battery";

/// `state`'s whole router as the signed-in owner would call it: creates the owner account
/// (first run), signs in, and sends the session cookie and its CSRF token with every request
/// that carries no cookie of its own — the dashboard pages need a session once accounts
/// exist, exactly as in a browser.
pub async fn signed_in(state: qunzhu::http::AppState) -> axum::Router {
    use qunzhu_core::accounts::Role;
    state.auth.create_account("owner", "owner", OWNER_PASSWORD, Role::Owner, true, "test").await.unwrap();
    let session = state.auth.login("owner", OWNER_PASSWORD, None, None).await.unwrap();
    let cookie = format!("qunzhu_session={}", session.token);
    let csrf = session.session.csrf.clone();
    qunzhu::http::router(state).layer(axum::middleware::map_request(move |mut request: axum::extract::Request| {
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        async move {
            let headers = request.headers_mut();
            if !headers.contains_key("cookie") {
                headers.insert("cookie", cookie.parse().unwrap());
                headers.insert("x-csrf-token", csrf.parse().unwrap());
            }
            request
        }
    }))
}
