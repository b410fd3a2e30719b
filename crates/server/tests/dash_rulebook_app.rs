//! The rulebook pages, rendered through the whole router with `oneshot` over an engine on the
//! in-memory store, changed only through the API calls the pages make.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use qunzhu::http::rulebook::settings_schema;
use qunzhu::http::AppState;
use qunzhu_connectors::sandbox::SandboxConnector;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, Clock, ConnectorId, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

const WELCOME_PATH: &str = "templates.default.welcome.text";

async fn app() -> Router {
    let store = Arc::new(MemoryStore::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Arc::new(SandboxConnector::with_clock(clock.clone()));
    let capabilities = HashMap::from([(ConnectorId::new("sandbox"), Capabilities::all())]);
    let engine = Engine::start(store, clock, capabilities, EngineConfig::default()).await.unwrap();
    support::signed_in(AppState::new(engine, Vec::<qunzhu_connectors::bridge::BridgeConfig>::new(), sandbox)).await
}

async fn send(app: &Router, method: &str, uri: &str, content_type: &str, body: String) -> (StatusCode, String) {
    let request = Request::builder().method(method).uri(uri).header("content-type", content_type).body(Body::from(body)).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn page(app: &Router, uri: &str) -> String {
    let (status, html) = send(app, "GET", uri, "text/plain", String::new()).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {html}");
    html
}

async fn api(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, text) = send(app, method, uri, "application/json", body.map(|b| b.to_string()).unwrap_or_default()).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{uri}: not JSON: {text}")))
}

/// Saves the rulebook with the default template's welcome changed, as the template form does.
async fn save_welcome(app: &Router, text: &str) -> (StatusCode, Value) {
    let (_, current) = api(app, "GET", "/api/v1/rulebook", None).await;
    let mut book = current["rulebook"].clone();
    book["templates"]["default"]["welcome"]["text"] = json!(text);
    let uri = format!("/api/v1/rulebook?base_version={}&author=alice&note=new+welcome", current["version"]);
    api(app, "PUT", &uri, Some(book)).await
}

/// Every leaf setting's key path in the schema (tables of entries and lists of tables as one).
fn leaf_paths(root: &Value, schema: &Value, prefix: &str, out: &mut Vec<String>) {
    let resolve = |s: &Value| -> Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => root.pointer(r.trim_start_matches('#')).cloned().unwrap(),
            None => s.clone(),
        }
    };
    let schema = resolve(schema);
    for (key, property) in schema["properties"].as_object().unwrap() {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let property = resolve(property);
        if property.get("properties").is_some() {
            leaf_paths(root, &property, &path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn the_template_page_has_a_field_for_every_setting_in_the_schema_at_its_problem_path() {
    let app = app().await;
    let html = page(&app, "/rulebook/templates/default").await;
    let schema = settings_schema();
    let mut paths = Vec::new();
    leaf_paths(&schema, &schema, "", &mut paths);
    assert!(paths.len() > 100, "the schema has every rule's settings: {}", paths.len());
    let missing: Vec<&String> = paths.iter().filter(|p| !html.contains(&format!("data-field=\"templates.default.{p}\""))).collect();
    assert!(missing.is_empty(), "settings without a field: {missing:?}");
    // Fields carry the problem path the API reports, and their current value.
    assert!(html.contains(&format!("data-path=\"{WELCOME_PATH}\"")));
    assert!(html.contains("欢迎 {name} 加入「{group}」"), "the welcome's current text is in its field");
    // FAQ entries, levels and their rows, type-appropriate inputs.
    assert!(html.contains("data-path=\"templates.default.auto_reply.entries.shipping.answer\""));
    assert!(html.contains("data-path=\"templates.default.levels.ladder[1].title\""), "level rows carry their index");
    assert!(html.contains("type=\"checkbox\" data-key=\"[&quot;templates&quot;,&quot;default&quot;,&quot;welcome&quot;,&quot;enabled&quot;]\""));
    assert!(html.contains("type=\"number\" step=\"1\""));
    assert!(html.contains("<option value=\"newcomers\" selected"), "enums are selects with the current value chosen");
    // Labels: zh first, the doc comment beside it; English pages use the doc comment.
    assert!(html.contains("欢迎语内容"));
    assert!(html.contains("The welcome text."));
    let english = page(&app, "/rulebook/templates/default?lang=en").await;
    assert!(!english.contains("欢迎语内容"));
    assert!(english.contains("The welcome text."));
    // Saving goes through the API with the version edited; the sandbox is a click away.
    assert!(html.contains("data-api=\"/api/v1/rulebook?base_version=1&amp;author=owner\""));
    assert!(html.contains("data-method=\"PUT\""));
    assert!(html.contains("href=\"/sandbox\""));
    assert!(html.contains("在沙盒里试试"));
    // The advanced editor holds the whole template as TOML.
    assert!(html.contains("data-toml-api=\"/api/v1/rulebook/templates/default?base_version=1&amp;author=owner\""));
    assert!(html.contains("[welcome]"));
}

#[tokio::test]
async fn a_bad_welcome_is_refused_at_its_field_path_and_nothing_is_saved() {
    let app = app().await;
    let (status, body) = save_welcome(&app, "欢迎 {nmae}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_rulebook");
    assert_eq!(body["error"]["problems"][0]["path"], WELCOME_PATH, "{body}");
    let html = page(&app, "/rulebook/templates/default").await;
    assert!(html.contains(&format!("data-path=\"{WELCOME_PATH}\"")), "the page has the field the problem names");
    let (_, current) = api(&app, "GET", "/api/v1/rulebook", None).await;
    assert_eq!(current["version"], 1, "nothing was saved");
}

#[tokio::test]
async fn a_save_over_an_older_version_is_refused_as_a_conflict() {
    let app = app().await;
    let (status, _) = save_welcome(&app, "欢迎 {name}！").await;
    assert_eq!(status, StatusCode::OK);
    let (_, current) = api(&app, "GET", "/api/v1/rulebook", None).await;
    let (status, body) = api(&app, "PUT", "/api/v1/rulebook?base_version=1", Some(current["rulebook"].clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
}

#[tokio::test]
async fn the_history_lists_who_changed_what_and_diffs_a_version_against_the_current_one() {
    let app = app().await;
    let (status, _) = save_welcome(&app, "欢迎 {name} 来到新的群！").await;
    assert_eq!(status, StatusCode::OK);
    let history = page(&app, "/rulebook/versions").await;
    assert!(history.contains("data-version=\"2\"") && history.contains("data-version=\"1\""));
    assert!(history.contains("operator:alice") && history.contains("new welcome"));
    assert!(history.contains(WELCOME_PATH), "the changed key is listed");
    assert!(history.contains("data-api=\"/api/v1/rulebook/rollback/1?author=owner\""), "an older version can be rolled back");
    assert!(!history.contains("/api/v1/rulebook/rollback/2"), "not the version in force");

    let diff = page(&app, "/rulebook/versions/1").await;
    let rows = |tag: &str| -> Vec<String> {
        diff.split(&format!("<tr class=\"{tag}\">")).skip(1).map(|r| r.split("</tr>").next().unwrap().to_owned()).collect()
    };
    assert!(rows("del").iter().any(|r| r.contains("加入「{group}」")), "the old welcome line is removed");
    assert!(rows("add").iter().any(|r| r.contains("欢迎 {name} 来到新的群！")), "the new welcome line is added");
    assert!(rows("add").iter().all(|r| !r.contains("加入「{group}」")));
    let (status, api_diff) = api(&app, "GET", "/api/v1/rulebook/versions/1/diff", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api_diff["to"], 2);
    assert_eq!(api_diff["changes"], json!([WELCOME_PATH]));
    assert!(api_diff["unified"].as_str().unwrap().contains("+text = \"欢迎 {name} 来到新的群！\""), "{api_diff}");

    let (status, rolled) = api(&app, "POST", "/api/v1/rulebook/rollback/1?author=owner", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rolled["version"], 3);
    let same = page(&app, "/rulebook/versions/1").await;
    assert!(same.contains("与当前版本相同"), "after the rollback v1 equals the version in force");
    let (status, _) = send(&app, "GET", "/rulebook/versions/42", "text/plain", String::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_template_saved_as_toml_reports_each_problem_with_its_line() {
    let app = app().await;
    let source = "rules_text = \"只聊咖啡\"\n\n[welcome]\ntext = \"hi {nmae}\"\nbatch_window_secs = 9999\n";
    let (status, text) = send(&app, "PUT", "/api/v1/rulebook/templates/default?author=bob", "application/toml", source.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let problems = body["error"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{body}");
    assert_eq!(problems[0]["path"], WELCOME_PATH);
    assert!(problems[0]["message"].as_str().unwrap().contains("(line 4"), "{body}");
    assert_eq!(problems[1]["path"], "templates.default.welcome.batch_window_secs");
    assert!(problems[1]["message"].as_str().unwrap().contains("(line 5"), "{body}");

    let (status, text) = send(&app, "PUT", "/api/v1/rulebook/templates/vip?author=bob&note=vip", "application/toml", "rules_text = \"VIP 群规\"\n".into()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let index = page(&app, "/rulebook").await;
    assert!(index.contains("href=\"/rulebook/templates/vip\""), "the new template is listed");
    let vip = page(&app, "/rulebook/templates/vip").await;
    assert!(vip.contains("VIP 群规"));
}

#[tokio::test]
async fn a_group_bound_with_overrides_is_listed_and_its_page_edits_them() {
    let app = app().await;
    let binding = "template = \"default\"\n\n[overrides]\nrules_text = \"只聊咖啡\"\n";
    let (status, text) = send(&app, "PUT", "/api/v1/rulebook/groups/qq/123456?author=carol", "application/toml", binding.into()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let index = page(&app, "/rulebook").await;
    assert!(index.contains("href=\"/rulebook/groups/qq/123456\""), "{index}");
    assert!(index.contains("<code>rules_text</code>"), "the overridden key is shown");
    let group = page(&app, "/rulebook/groups/qq/123456").await;
    assert!(group.contains("只聊咖啡"));
    assert!(group.contains("data-toml-api=\"/api/v1/rulebook/groups/qq/123456?base_version=2&amp;author=owner\""));
    assert!(group.contains("data-method=\"DELETE\""), "a bound group can be unbound");

    let bad = "template = \"nope\"\n";
    let (status, text) = send(&app, "PUT", "/api/v1/rulebook/groups/qq/123456", "application/toml", bad.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text.contains("groups.\\\"qq/123456\\\".template") && text.contains("no template named `nope`"), "{text}");

    let (status, _) = api(&app, "DELETE", "/api/v1/rulebook/groups/qq/123456?author=carol", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api(&app, "DELETE", "/api/v1/rulebook/groups/qq/123456", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let index = page(&app, "/rulebook").await;
    assert!(!index.contains("href=\"/rulebook/groups/qq/123456\""));
}
