//! The router driven with `oneshot`, over the in-memory store: auth, errors, the bridge
//! round trip, tasks and the rulebook API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_connectors::secret::Secret;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AppState, router};

fn bridge(id: &str, capabilities: &[&str]) -> BridgeConfig {
    BridgeConfig {
        id: id.into(),
        token: Secret::new(format!("{id}-token")),
        capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// The built-in rulebook welcoming at once (no batching) and without join waves: these
/// tests are about the API, with a join's welcome as their typical action
/// (tests/ritual_app.rs covers batching).
async fn store_welcoming_at_once() -> Arc<MemoryStore> {
    use qunzhu_core::Store;
    let store = Arc::new(MemoryStore::new());
    let mut book = qunzhu_engine::Rulebook::builtin(qunzhu_engine::Locale::ZhCn);
    let settings = book.templates.get_mut(qunzhu_engine::rulebook::DEFAULT_TEMPLATE).unwrap();
    settings.welcome.batch_window_secs = 0;
    settings.admission.join_wave.enabled = false;
    let first = qunzhu_core::store::NewRulebookVersion {
        parent: None,
        author: "system".into(),
        note: "built-in defaults, welcoming at once".into(),
        changes: Vec::new(),
        body: book.to_json().to_string(),
        time: chrono::Utc::now(),
    };
    store.rulebook_save(&first).await.unwrap();
    store
}

async fn app() -> (AppState, axum::Router) {
    let store = store_welcoming_at_once().await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(SandboxConnector::with_clock(clock.clone()));
    let bridges = [
        bridge("shop", &["send", "mention"]),
        bridge("mute_only", &["mute"]),
    ];
    let mut capabilities: HashMap<ConnectorId, Capabilities> = bridges
        .iter()
        .map(|b| (b.connector_id(), b.capabilities()))
        .collect();
    capabilities.insert("sandbox".into(), Capabilities::all());
    let engine = Engine::start(store, clock, capabilities, EngineConfig::default())
        .await
        .unwrap();
    let state = AppState::new(engine, bridges, sandbox);
    (state.clone(), router(state))
}

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&bytes)}));
    (status, value)
}

fn join(id: &str, member: &str) -> Value {
    json!({"id": id, "time": "2026-11-22T10:00:00+08:00", "type": "member_joined",
           "group": {"id": "g1", "name": "粉丝1群"}, "actor": {"id": member, "name": "小王"}})
}

#[tokio::test]
async fn healthz_reports_ok_and_the_version() {
    let (_, app) = app().await;
    let (status, body) = call(&app, Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "connectors": {}})
    );
}

#[tokio::test]
async fn bridge_requests_need_the_right_token_for_a_known_connector() {
    let (_, app) = app().await;
    let body = Some(join("e1", "u1").to_string());
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        None,
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "unauthorized");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("mute_only-token"),
        body.clone(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "another bridge's token does not open this one"
    );
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/nope/events",
        Some("shop-token"),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "unknown_connector");
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/bridge/shop/actions",
        Some("wrong"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bad_event_is_a_400_naming_the_field() {
    let (_, app) = app().await;
    let mut event = join("e1", "u1");
    event["group"].as_object_mut().unwrap().remove("id");
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(event.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "invalid_event");
    assert_eq!(error["error"]["field"], "group.id");
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some("{not json".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let (_, app) = app().await;
    let huge = format!("[{}]", vec![join("e", "u").to_string(); 10_000].join(","));
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(huge),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn a_join_is_welcomed_fed_and_reported_delivered_once() {
    let (state, app) = app().await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(join("e1", "u1").to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let actions = body["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{body}");
    let welcome = &actions[0];
    assert_eq!(welcome["type"], "send");
    assert_eq!(welcome["group"]["id"], "g1");
    assert!(
        welcome["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "mention" && s["id"] == "u1"),
        "{welcome}"
    );
    assert!(welcome["text"].as_str().unwrap().contains("粉丝1群"));
    let id = welcome["id"].as_str().unwrap().to_owned();

    // Redelivery: nothing new.
    let (status, again) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(join("e1", "u1").to_string()),
    )
    .await;
    assert_eq!((status, again), (StatusCode::OK, json!({"actions": []})));

    // The feed serves it, and the cursor moves past it.
    let (_, feed) = call(
        &app,
        Method::GET,
        "/api/v1/bridge/shop/actions?after=0",
        Some("shop-token"),
        None,
    )
    .await;
    assert_eq!(feed["actions"][0]["id"], id.as_str());
    assert_eq!(feed["actions"][0]["status"], "pending");
    let cursor = feed["cursor"].as_str().unwrap().to_owned();
    let (_, empty) = call(
        &app,
        Method::GET,
        &format!("/api/v1/bridge/shop/actions?after={cursor}"),
        Some("shop-token"),
        None,
    )
    .await;
    assert_eq!(empty, json!({"actions": [], "cursor": cursor}));
    // Another bridge sees none of it.
    let (_, other) = call(
        &app,
        Method::GET,
        "/api/v1/bridge/mute_only/actions",
        Some("mute_only-token"),
        None,
    )
    .await;
    assert_eq!(other["actions"], json!([]));

    // Results: another connector's action is unknown to it; the owner's report sticks.
    let uri = format!("/api/v1/bridge/mute_only/actions/{id}/result");
    let (status, _) = call(
        &app,
        Method::POST,
        &uri,
        Some("mute_only-token"),
        Some(r#"{"ok":true}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let uri = format!("/api/v1/bridge/shop/actions/{id}/result");
    let (status, error) = call(
        &app,
        Method::POST,
        &uri,
        Some("shop-token"),
        Some(r#"{"ok":"yes"}"#.into()),
    )
    .await;
    assert_eq!(
        (status, error["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("ok"))
    );
    let (status, answer) = call(
        &app,
        Method::POST,
        &uri,
        Some("shop-token"),
        Some(r#"{"ok":true}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "delivered");
    let (_, feed) = call(
        &app,
        Method::GET,
        "/api/v1/bridge/shop/actions",
        Some("shop-token"),
        None,
    )
    .await;
    assert_eq!(feed["actions"][0]["status"], "delivered");
    let rows = state.engine.store().list_audit(None, 50).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.entry.kind == "action.result" && r.entry.actor == "bridge:shop")
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/actions/nope/result",
        Some("shop-token"),
        Some(r#"{"ok":true}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reported_temporary_failure_is_offered_again_after_its_backoff_and_then_fails_for_good_on_retry_false()
 {
    let (_, app) = app().await;
    let (_, body) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(join("e1", "u1").to_string()),
    )
    .await;
    let id = body["actions"][0]["id"].as_str().unwrap().to_owned();
    let (_, feed) = call(
        &app,
        Method::GET,
        "/api/v1/bridge/shop/actions",
        Some("shop-token"),
        None,
    )
    .await;
    let cursor = feed["cursor"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/bridge/shop/actions/{id}/result");
    let (_, answer) = call(
        &app,
        Method::POST,
        &uri,
        Some("shop-token"),
        Some(r#"{"ok":false,"error":"rate limited","retry":true}"#.into()),
    )
    .await;
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["attempts"], 1);
    // Not yet due (2 s backoff)…
    let feed_uri = format!("/api/v1/bridge/shop/actions?after={cursor}");
    let (_, feed) = call(&app, Method::GET, &feed_uri, Some("shop-token"), None).await;
    assert_eq!(feed["actions"], json!([]));
    // …then offered again, though the cursor has passed it.
    let (_, feed) = call(
        &app,
        Method::GET,
        &format!("{feed_uri}&wait=5"),
        Some("shop-token"),
        None,
    )
    .await;
    assert_eq!(feed["actions"][0]["id"], id.as_str(), "{feed}");
    assert_eq!(feed["cursor"], cursor.as_str());
    let (_, answer) = call(
        &app,
        Method::POST,
        &uri,
        Some("shop-token"),
        Some(r#"{"ok":false,"error":"banned"}"#.into()),
    )
    .await;
    assert_eq!(answer["status"], "failed");
    let (_, again) = call(
        &app,
        Method::POST,
        &uri,
        Some("shop-token"),
        Some(r#"{"ok":true}"#.into()),
    )
    .await;
    assert_eq!(again["status"], "failed", "the first final outcome stands");
}

#[tokio::test]
async fn a_welcome_the_bridge_cannot_send_becomes_a_staff_task_that_staff_can_close() {
    let (_, app) = app().await;
    let event = json!({"id": "e9", "time": "2026-11-22T10:00:00Z", "type": "member_joined",
                       "group": {"id": "g2", "name": "二群"}, "actor": {"id": "u9", "name": "阿明"}});
    let (_, body) = call(
        &app,
        Method::POST,
        "/api/v1/bridge/mute_only/events",
        Some("mute_only-token"),
        Some(event.to_string()),
    )
    .await;
    assert_eq!(body["actions"][0]["type"], "staff_task", "{body}");
    assert_eq!(body["actions"][0]["wanted"], "send");
    let task_id = body["actions"][0]["id"].as_str().unwrap().to_owned();

    let (_, tasks) = call(&app, Method::GET, "/api/v1/tasks?status=open", None, None).await;
    assert_eq!(tasks["tasks"][0]["id"], task_id.as_str());
    let (status, _) = call(&app, Method::GET, "/api/v1/tasks?status=later", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let uri = format!("/api/v1/tasks/{task_id}/status");
    let (status, done) = call(
        &app,
        Method::POST,
        &uri,
        None,
        Some(r#"{"status":"done","by":"小李"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["task"]["status"], "done");
    let (_, open) = call(&app, Method::GET, "/api/v1/tasks?status=open", None, None).await;
    assert_eq!(open["tasks"], json!([]));
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/tasks/nope/status",
        None,
        Some(r#"{"status":"done"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, audit) = call(
        &app,
        Method::GET,
        "/api/v1/audit?group=mute_only/g2",
        None,
        None,
    )
    .await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "task.status" && e["actor"] == "operator:小李"),
        "{audit}"
    );
    let (status, _) = call(&app, Method::GET, "/api/v1/audit?group=noslash", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, groups) = call(&app, Method::GET, "/api/v1/groups", None, None).await;
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"] == "mute_only/g2" && g["name"] == "二群"),
        "{groups}"
    );
}

#[tokio::test]
async fn the_rulebook_is_edited_with_every_problem_reported_and_rolled_back() {
    let (_, app) = app().await;
    let (_, current) = call(&app, Method::GET, "/api/v1/rulebook", None, None).await;
    assert_eq!(current["version"], 1);
    let mut rulebook = current["rulebook"].clone();

    let mut bad = rulebook.clone();
    bad["templates"]["default"]["welcome"]["text"] = json!("hi {nmae}");
    bad["groups"] = json!({"shop/g1": {"template": "vip"}});
    let (status, error) = call(
        &app,
        Method::PUT,
        "/api/v1/rulebook",
        None,
        Some(bad.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["code"], "invalid_rulebook");
    let paths: Vec<&str> = error["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"templates.default.welcome.text"),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.contains("template")), "{paths:?}");

    rulebook["templates"]["default"]["welcome"]["text"] = json!("欢迎 {name}！");
    let (status, saved) = call(
        &app,
        Method::PUT,
        "/api/v1/rulebook?author=ops&note=shorter",
        None,
        Some(rulebook.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved["version"], 2);
    let (_, versions) = call(&app, Method::GET, "/api/v1/rulebook/versions", None, None).await;
    assert_eq!(versions["versions"][0]["version"], 2);
    assert_eq!(versions["versions"][0]["author"], "operator:ops");

    let (status, rolled) = call(
        &app,
        Method::POST,
        "/api/v1/rulebook/rollback/1",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rolled["version"], 3);
    assert_eq!(rolled["rulebook"], current["rulebook"]);
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/rulebook/rollback/99",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("unknown_version"))
    );
    let (status, error) = call(
        &app,
        Method::POST,
        "/api/v1/rulebook/rollback/latest",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_version"))
    );
}

#[tokio::test]
async fn the_long_poll_answers_when_an_action_arrives_and_at_once_when_the_server_stops() {
    let (state, app) = app().await;
    let poll = {
        let app = app.clone();
        tokio::spawn(async move {
            call(
                &app,
                Method::GET,
                "/api/v1/bridge/shop/actions?wait=30",
                Some("shop-token"),
                None,
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "it waits while there is nothing");
    call(
        &app,
        Method::POST,
        "/api/v1/bridge/shop/events",
        Some("shop-token"),
        Some(join("e1", "u1").to_string()),
    )
    .await;
    let (_, feed) = tokio::time::timeout(std::time::Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(feed["actions"].as_array().unwrap().len(), 1);

    let cursor = feed["cursor"].as_str().unwrap().to_owned();
    let poll = {
        let app = app.clone();
        tokio::spawn(async move {
            call(
                &app,
                Method::GET,
                &format!("/api/v1/bridge/shop/actions?after={cursor}&wait=60"),
                Some("shop-token"),
                None,
            )
            .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    state.begin_shutdown();
    let (status, feed) = tokio::time::timeout(std::time::Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feed["actions"], json!([]));
}
