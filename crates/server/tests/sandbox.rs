//! The sandbox API and page, driven through the router with `oneshot` over an engine on the
//! in-memory store. The outbox is played by the test: it hands decided actions to the
//! connector, as `qunzhu serve`'s outbox workers do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use qunzhu::http::sandbox::{SandboxState, router};
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Action, Connector, ConnectorId, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

struct App {
    router: Router,
    engine: Engine,
    sandbox: Arc<SandboxConnector>,
}

/// The built-in rulebook welcoming at once (no batching) and without join waves: these
/// tests are about the sandbox, with a join's welcome as their typical action
/// (ritual_app.rs covers batching).
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

async fn app() -> App {
    let sandbox = Arc::new(SandboxConnector::new());
    let connectors = HashMap::from([(ConnectorId::new("sandbox"), sandbox.capabilities().clone())]);
    let engine = Engine::start(
        store_welcoming_at_once().await,
        Arc::new(SystemClock),
        connectors,
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let state = SandboxState {
        engine: engine.clone(),
        sandbox: sandbox.clone(),
    };
    App {
        router: router::<SandboxState>().with_state(state),
        engine,
        sandbox,
    }
}

async fn call(app: &App, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, text) = call_raw(app, method, uri, body.map(|b| b.to_string())).await;
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

async fn call_raw(
    app: &App,
    method: &str,
    uri: &str,
    body: Option<String>,
) -> (StatusCode, String, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

/// Hands every decided action to the connector, as the outbox would.
async fn deliver_all(app: &App, actions: &Value) {
    for action in actions.as_array().unwrap() {
        let action: Action = serde_json::from_value(action.clone()).unwrap();
        app.sandbox.deliver(&action).await.unwrap();
    }
}

#[tokio::test]
async fn a_newcomer_who_joins_a_new_group_is_welcomed_with_a_real_mention() {
    let app = app().await;
    let (status, group) = call(
        &app,
        "POST",
        "/api/v1/sandbox/groups",
        Some(json!({"name": "粉丝1群"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["name"], "粉丝1群");

    let (_, list) = call(&app, "GET", "/api/v1/sandbox/groups", None).await;
    let names: Vec<&str> = list["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"粉丝1群"), "{names:?}");

    let join = json!({"type": "join", "member": {"id": "u1", "name": "小王"}});
    let (status, decided) = call(
        &app,
        "POST",
        &format!("/api/v1/sandbox/groups/{id}/events"),
        Some(join),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let actions = decided["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{decided}");
    let welcome = &actions[0];
    assert_eq!(welcome["kind"]["type"], "send");
    assert_eq!(welcome["rule"], "welcome");
    assert!(!welcome["explanation"].as_str().unwrap().is_empty());
    let segments = welcome["kind"]["segments"].as_array().unwrap();
    assert!(
        segments
            .iter()
            .any(|s| s["type"] == "mention" && s["member"] == "u1" && s["name"] == "小王"),
        "{segments:?}"
    );
    let text: String = segments.iter().filter_map(|s| s["text"].as_str()).collect();
    assert!(
        text.contains("粉丝1群"),
        "the welcome names the group: {text}"
    );

    // Before delivery the transcript shows the join only; after it, the bot's welcome.
    let (_, before) = call(
        &app,
        "GET",
        &format!("/api/v1/sandbox/groups/{id}/transcript"),
        None,
    )
    .await;
    assert_eq!(before["entries"].as_array().unwrap().len(), 1);
    assert_eq!(before["entries"][0]["type"], "member_joined");
    deliver_all(&app, &decided["actions"]).await;
    let (_, after) = call(
        &app,
        "GET",
        &format!("/api/v1/sandbox/groups/{id}/transcript?after=1"),
        None,
    )
    .await;
    let entries = after["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["type"], "bot");
    assert_eq!(entries[0]["action"]["id"], welcome["id"]);
    assert_eq!(entries[0]["action"]["explanation"], welcome["explanation"]);
    assert!(entries[0]["message_id"].is_string());
    assert_eq!(after["members"][0]["status"], "joined");
}

#[tokio::test]
async fn the_stream_sends_new_entries_as_server_sent_events_and_resumes_from_last_event_id() {
    let app = app().await;
    let join = json!({"type": "join", "member": {"name": "阿明"}});
    let (status, decided) = call(
        &app,
        "POST",
        "/api/v1/sandbox/groups/demo/events",
        Some(join),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        decided["member"]["id"].as_str().unwrap().starts_with('u'),
        "an id is made up when none is sent"
    );

    let (status, content_type, body) = call_raw(
        &app,
        "GET",
        "/api/v1/sandbox/groups/demo/stream?wait=0",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert!(body.contains("event: entry\n"), "{body}");
    assert!(
        body.contains(&format!("id: {}:1\n", app.sandbox.instance())),
        "{body}"
    );
    let data = body.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap()["type"],
        "member_joined"
    );

    // A waiting viewer is answered as soon as the bot's welcome is delivered.
    let viewer = {
        let router = app.router.clone();
        let request = Request::get("/api/v1/sandbox/groups/demo/stream?wait=10")
            .header("last-event-id", format!("{}:1", app.sandbox.instance()))
            .body(Body::empty())
            .unwrap();
        tokio::spawn(async move {
            let response = router.oneshot(request).await.unwrap();
            String::from_utf8(
                axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap()
                    .to_vec(),
            )
            .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    deliver_all(&app, &decided["actions"]).await;
    let body = tokio::time::timeout(Duration::from_secs(5), viewer)
        .await
        .unwrap()
        .unwrap();
    assert!(
        body.contains(&format!("id: {}:2\n", app.sandbox.instance())),
        "{body}"
    );
    assert!(body.contains("\"type\":\"bot\""), "{body}");
    assert!(
        !body.contains(":1\n"),
        "resumed after the last event id: {body}"
    );
}

#[tokio::test]
async fn an_approved_join_request_comes_back_as_a_join_and_gets_its_welcome() {
    let app = app().await;
    let ask = json!({"type": "join_request", "member": {"id": "u7", "name": "小李"}, "comment": "朋友推荐"});
    let (status, decided) = call(
        &app,
        "POST",
        "/api/v1/sandbox/groups/demo/events",
        Some(ask),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let (_, transcript) = call(&app, "GET", "/api/v1/sandbox/groups/demo/transcript", None).await;
    let request_id = transcript["entries"][0]["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(transcript["entries"][0]["comment"], "朋友推荐");

    // No rule approves yet; the operator's approval arrives as an action like any other.
    let approve: Action = serde_json::from_value(json!({
        "id": "op.1", "group": {"connector": "sandbox", "group": "demo"},
        "kind": {"type": "approve_join", "request_id": request_id, "member": "u7"},
        "rule": "operator", "explanation": "测试", "created_at": "2026-11-22T02:00:00Z"
    }))
    .unwrap();
    app.sandbox.deliver(&approve).await.unwrap();

    // The sandbox reports the join to the engine, which decides the welcome.
    let mut welcome = None;
    for _ in 0..100 {
        let due = app
            .engine
            .store()
            .due_actions(&ConnectorId::new("sandbox"), chrono::Utc::now(), 10)
            .await
            .unwrap();
        if let Some(entry) = due.into_iter().find(|e| e.action.kind.name() == "send") {
            welcome = Some(entry.action);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let welcome = welcome.expect("the approved member is welcomed");
    assert_eq!(
        welcome.cause.as_ref().map(|c| c.as_str()),
        Some("op.1.joined")
    );
}

#[tokio::test]
async fn the_page_speaks_chinese_by_default_and_english_on_request() {
    let app = app().await;
    let (status, content_type, zh) = call_raw(&app, "GET", "/sandbox", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(zh.contains("<title>qunzhu 沙盒</title>"));
    assert!(zh.contains("点击「加入」看看欢迎语"));
    assert!(zh.contains("测试群"), "the default group is offered");
    assert!(
        !zh.contains("src=\"http") && !zh.contains("href=\"http"),
        "no external assets"
    );

    let (status, _, en) = call_raw(&app, "GET", "/sandbox?lang=en", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("<title>qunzhu sandbox</title>"));
    assert!(en.contains("Press “Join” to see the welcome"));
}

#[tokio::test]
async fn bad_input_is_answered_with_a_stable_error_code() {
    let app = app().await;
    let cases = [
        (
            "POST",
            "/api/v1/sandbox/groups",
            Some("{}".to_owned()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups",
            Some("not json".to_owned()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups",
            Some(json!({"name": "  "}).to_string()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups/demo/events",
            Some(json!({"type": "dance", "member": {"name": "A"}}).to_string()),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups/demo/events",
            Some(json!({"type": "message", "member": {"name": "A"}}).to_string()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups/demo/events",
            Some(json!({"type": "join", "member": {"id": "has space", "name": "A"}}).to_string()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/sandbox/groups/nope/events",
            Some(json!({"type": "join", "member": {"name": "A"}}).to_string()),
            StatusCode::NOT_FOUND,
            "unknown_group",
        ),
        (
            "GET",
            "/api/v1/sandbox/groups/nope/transcript",
            None,
            StatusCode::NOT_FOUND,
            "unknown_group",
        ),
        (
            "GET",
            "/api/v1/sandbox/groups/demo/transcript?after=-1",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let (got, _, text) = call_raw(&app, method, uri, body.clone()).await;
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (got, json["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {uri} {body:?}: {text}"
        );
        assert!(!json["error"]["message"].as_str().unwrap().is_empty());
    }

    // What the platform would refuse is a conflict, not a crash.
    let join = json!({"type": "join", "member": {"id": "u1", "name": "小王"}});
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/sandbox/groups/demo/events",
            Some(join.clone())
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, again) = call(
        &app,
        "POST",
        "/api/v1/sandbox/groups/demo/events",
        Some(join),
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_member"))
    );
}
