//! Auto-replies and the content library end to end: `serve::run` on port 0 over a temporary
//! SQLite data dir, driven through the HTTP bridge (a platform's members asking) and the
//! JSON API (an operator keeping the content library and reading the FAQ statistics).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "qq-secret";

/// Event and message ids, unique per test process.
static NEXT: AtomicU32 = AtomicU32::new(1);

async fn start(data_dir: &Path) -> support::Server {
    let bridge = ConnectorConfig::Bridge(BridgeConfig {
        id: "qq".into(),
        token: Secret::new(TOKEN),
        capabilities: ["send", "reply", "delete", "mute", "kick", "ban"]
            .map(String::from)
            .to_vec(),
    });
    support::Server::start(Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![bridge],
        ..Config::default()
    })
    .await
}

/// A member posts `text` in `group` through the bridge; the actions it caused.
async fn say(server: &support::Server, group: &str, member: &str, text: &str) -> Vec<Value> {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let event = json!({"type": "message", "id": format!("e{n}"), "time": format!("2026-11-22T10:00:{:02}+08:00", n % 60),
                       "group": {"id": group, "name": format!("{group}群")},
                       "actor": {"id": member, "name": format!("成员{member}"), "role": "member"},
                       "message": {"id": format!("m{n}"), "text": text}});
    let response = server
        .client
        .post(server.url("/api/v1/bridge/qq/events"))
        .bearer_auth(TOKEN)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
    let body: Value = response.json().await.unwrap();
    body["actions"].as_array().unwrap().clone()
}

async fn get(server: &support::Server, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Changes the default template's FAQ and saves the rulebook; the answer.
async fn edit_faq(
    server: &support::Server,
    change: impl FnOnce(&mut Value),
) -> (StatusCode, Value) {
    let mut rulebook = get(server, "/api/v1/rulebook").await["rulebook"].clone();
    change(&mut rulebook["templates"]["default"]["auto_reply"]);
    server
        .send(
            reqwest::Method::PUT,
            "/api/v1/rulebook?author=alice&note=faq",
            Some(rulebook),
        )
        .await
}

fn of_rule<'a>(actions: &'a [Value], rule: &str) -> Vec<&'a Value> {
    actions.iter().filter(|a| a["rule"] == rule).collect()
}

#[tokio::test]
async fn a_paraphrase_is_answered_from_the_content_library_and_counted_while_other_chat_is_left_alone()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;

    // The operator files the returns guide in the content library.
    let (status, created) = server
        .post(
            "/api/v1/content",
            json!({"title": "退货说明", "tags": ["售后", "faq"], "by": "alice",
                   "body": {"type": "link", "url": "https://shop.example/returns", "title": "退货流程（图文）"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["item"]["id"].as_i64().unwrap();
    assert_eq!(created["item"]["author"], "operator:alice");
    // …and points the FAQ's returns entry at it.
    let (status, body) = edit_faq(&server, |faq| {
        faq["entries"]["returns"]["answer"] = json!("");
        faq["entries"]["returns"]["content"] = json!(id);
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let actions = say(&server, "g1", "u1", "我想退掉这个东西怎么办").await;
    let answers = of_rule(&actions, "auto_reply");
    assert_eq!(answers.len(), 1, "{actions:#?}");
    let answer = answers[0];
    assert_eq!(answer["type"], "reply", "{answer}");
    assert!(
        answer["reply_to"].as_str().unwrap().starts_with('m'),
        "{answer}"
    );
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("https://shop.example/returns"),
        "{answer}"
    );

    // Chat that is not an FAQ question gets nothing; spam is deleted, not answered.
    assert_eq!(
        say(&server, "g1", "u2", "怎么报名").await,
        Vec::<Value>::new()
    );
    let spam = say(&server, "g1", "u9", "加薇信 abc12345，兼职刷单日赚三百").await;
    assert!(of_rule(&spam, "auto_reply").is_empty(), "{spam:#?}");

    // The hit is in the statistics, per local day and in total.
    let stats = get(&server, "/api/v1/faq/stats?group=qq/g1").await;
    assert_eq!(stats["stats"].as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(stats["stats"][0]["entry"], "returns");
    assert_eq!(stats["stats"][0]["hits"], 1);
    assert_eq!(
        stats["totals"],
        json!([{"template": "default", "entry": "returns", "hits": 1}])
    );
    let (status, bad_day) = server
        .send(
            reqwest::Method::GET,
            "/api/v1/faq/stats?from=yesterday",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_day["error"]["field"], "from");

    // The item cannot be deleted while the FAQ answers with it.
    let (status, refused) = server
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/content/{id}?by=alice"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "content_in_use");
    assert_eq!(
        refused["error"]["field"],
        "templates.default.auto_reply.entries.returns.content"
    );

    server.stop().await;
}

#[tokio::test]
async fn the_faq_test_says_which_entry_would_answer_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (status, tested) = server
        .post(
            "/api/v1/faq/test",
            json!({"group": "qq/g1", "text": "什么时候能发货呀", "member": "u1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["template"], "default");
    assert_eq!(tested["match"]["entry"], "shipping");
    assert_eq!(tested["match"]["trigger"], "similar");
    assert!(
        tested["match"]["score"].as_f64().unwrap() >= 0.5,
        "{tested}"
    );
    assert!(
        tested["answer"]["text"]
            .as_str()
            .unwrap()
            .contains("48 小时"),
        "{tested}"
    );
    assert_eq!(tested["cooling_down_until"], Value::Null);
    assert_eq!(tested["quiet_hours_now"], false);

    let (_, unrelated) = server
        .post(
            "/api/v1/faq/test",
            json!({"group": "qq/g1", "text": "怎么报名"}),
        )
        .await;
    assert_eq!(unrelated["match"], Value::Null, "{unrelated}");

    // Acting on nothing: the test left no hit behind.
    assert_eq!(get(&server, "/api/v1/faq/stats").await["stats"], json!([]));

    let (status, missing) = server
        .post("/api/v1/faq/test", json!({"text": "怎么退货"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(missing["error"]["field"], "group");
    server.stop().await;
}

#[tokio::test]
async fn a_broken_regex_in_the_rulebook_is_refused_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (status, refused) = edit_faq(&server, |faq| {
        faq["entries"]["shipping"]["triggers"]["regex"] = json!(["几号(发货"])
    })
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let problem = &refused["error"]["problems"][0];
    assert_eq!(
        problem["path"],
        "templates.default.auto_reply.entries.shipping.triggers.regex[0]"
    );
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("regular expression"),
        "{problem}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_content_library_api_creates_lists_updates_and_deletes_with_audit_rows_and_clear_errors()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let text = |title: &str, tags: Value| json!({"title": title, "tags": tags, "by": "alice", "body": {"type": "text", "text": "{name} 您好"}});
    let (status, first) = server
        .post("/api/v1/content", text("问候", json!(["welcome"])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = server
        .post("/api/v1/content", text("群规", json!(["faq"])))
        .await;
    let second_id = second["item"]["id"].as_i64().unwrap();

    let all = get(&server, "/api/v1/content").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let faq = get(&server, "/api/v1/content?tag=faq").await;
    assert_eq!(faq["items"].as_array().unwrap().len(), 1);
    assert_eq!(faq["items"][0]["title"], "群规");
    assert_eq!(
        get(&server, &format!("/api/v1/content/{second_id}")).await["item"]["title"],
        "群规"
    );

    let (status, updated) = server.send(
            reqwest::Method::PUT,
            &format!("/api/v1/content/{second_id}"),
            Some(json!({"title": "群规图", "by": "bob", "tags": ["faq"],
                        "body": {"type": "image", "url": "https://cdn.example/rules.png", "caption": "{group} 群规"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["item"]["body"]["type"], "image");
    assert_eq!(updated["item"]["updated_by"], "operator:bob");

    // Bad input: every problem at its path; a bad body type; unknown ids; missing author.
    let (status, bad) = server
        .post("/api/v1/content", json!({"title": "", "by": "alice", "tags": [""], "body": {"type": "text", "text": "{nmae}"}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_content");
    let paths: Vec<&str> = bad["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["title", "body.text", "tags[0]"]);
    let (status, bad) = server
        .post(
            "/api/v1/content",
            json!({"title": "x", "by": "a", "body": {"type": "video"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["error"]["field"], "body.type");
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("`text`"),
        "names the types: {bad}"
    );
    let (status, bad) = server
        .post(
            "/api/v1/content",
            json!({"title": "x", "body": {"type": "text", "text": "t"}}),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by"))
    );
    let (status, _) = server
        .send(reqwest::Method::GET, "/api/v1/content/999", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, bad) = server
        .send(reqwest::Method::GET, "/api/v1/content/abc", None)
        .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );

    let (status, deleted) = server
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/content/{second_id}?by=bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let (status, _) = server
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/content/{second_id}?by=bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let audit = get(&server, "/api/v1/audit?limit=20").await;
    let kinds: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .filter(|k| k.starts_with("content."))
        .collect();
    assert_eq!(
        kinds,
        [
            "content.delete",
            "content.update",
            "content.create",
            "content.create"
        ],
        "{audit}"
    );
    server.stop().await;
}
