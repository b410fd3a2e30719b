//! Auto-replies and the content library end to end: `serve::run` on port 0 over a temporary
//! SQLite data dir, driven through the HTTP bridge (a platform's members asking) and the
//! JSON API (an operator keeping the content library and reading the FAQ statistics).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::time::Duration;

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const TOKEN: &str = "qq-secret";

struct Server {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Event and message ids, unique per server.
    next: std::sync::atomic::AtomicU32,
}

fn config(data_dir: &Path) -> Config {
    let bridge = |id: &str, capabilities: &[&str]| {
        ConnectorConfig::Bridge(BridgeConfig {
            id: id.into(),
            token: Secret::new(TOKEN),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
        })
    };
    Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![bridge(
            "qq",
            &[
                "send",
                "reply",
                "delete",
                "mute",
                "kick",
                "ban",
                "approve_join",
            ],
        )],
        ..Config::default()
    }
}

impl Server {
    async fn start(data_dir: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config(data_dir), listener, async move {
            let _ = stopped.await;
        }));
        let server = Self {
            base,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task,
            next: std::sync::atomic::AtomicU32::new(1),
        };
        for _ in 0..100 {
            if server
                .client
                .get(server.url("/healthz"))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not come up");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn next_id(&self) -> u32 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Posts one bridge event (an `id` and `time` are filled in) and returns its actions.
    async fn event(&self, connector: &str, mut event: Value) -> Vec<Value> {
        let n = self.next_id();
        event["id"] = json!(format!("e{n}"));
        event["time"] = json!(format!(
            "2026-11-22T10:{:02}:{:02}+08:00",
            n / 60 % 60,
            n % 60
        ));
        let response = self
            .client
            .post(self.url(&format!("/api/v1/bridge/{connector}/events")))
            .bearer_auth(TOKEN)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{event}");
        let body: Value = response.json().await.unwrap();
        body["actions"].as_array().unwrap().clone()
    }

    /// A member posts `text` in `group`; the actions it caused.
    async fn say(
        &self,
        connector: &str,
        group: &str,
        member: &str,
        role: &str,
        text: &str,
    ) -> Vec<Value> {
        let message = format!("m{}", self.next_id());
        self.event(
            connector,
            json!({"type": "message", "group": {"id": group, "name": format!("{group}群")},
                   "actor": {"id": member, "name": name_of(member), "role": role},
                   "message": {"id": message, "text": text}}),
        )
        .await
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.request(reqwest::Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    /// Changes the default template's FAQ and saves the rulebook; the answer.
    async fn edit_faq(&self, change: impl FnOnce(&mut Value)) -> (StatusCode, Value) {
        let mut rulebook = self.get("/api/v1/rulebook").await["rulebook"].clone();
        change(&mut rulebook["templates"]["default"]["auto_reply"]);
        self.request(
            reqwest::Method::PUT,
            "/api/v1/rulebook?author=alice&note=faq",
            Some(rulebook),
        )
        .await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("shutdown hangs")
            .unwrap()
            .unwrap();
    }
}

fn name_of(member: &str) -> String {
    match member {
        "u9" => "推广小号".into(),
        "boss" => "群主".into(),
        other => format!("成员{other}"),
    }
}

fn of_rule<'a>(actions: &'a [Value], rule: &str) -> Vec<&'a Value> {
    actions.iter().filter(|a| a["rule"] == rule).collect()
}

#[tokio::test]
async fn a_paraphrase_is_answered_from_the_content_library_and_counted_while_other_chat_is_left_alone()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;

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
    let (status, body) = server
        .edit_faq(|faq| {
            faq["entries"]["returns"]["answer"] = json!("");
            faq["entries"]["returns"]["content"] = json!(id);
        })
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let actions = server
        .say("qq", "g1", "u1", "member", "我想退掉这个东西怎么办")
        .await;
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
        server.say("qq", "g1", "u2", "member", "怎么报名").await,
        Vec::<Value>::new()
    );
    let spam = server
        .say(
            "qq",
            "g1",
            "u9",
            "member",
            "加薇信 abc12345，兼职刷单日赚三百",
        )
        .await;
    assert!(of_rule(&spam, "auto_reply").is_empty(), "{spam:#?}");

    // The hit is in the statistics, per local day and in total.
    let stats = server.get("/api/v1/faq/stats?group=qq/g1").await;
    assert_eq!(stats["stats"].as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(stats["stats"][0]["entry"], "returns");
    assert_eq!(stats["stats"][0]["hits"], 1);
    assert_eq!(
        stats["totals"],
        json!([{"template": "default", "entry": "returns", "hits": 1}])
    );
    let (status, bad_day) = server
        .request(
            reqwest::Method::GET,
            "/api/v1/faq/stats?from=yesterday",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_day["error"]["field"], "from");

    // The item cannot be deleted while the FAQ answers with it.
    let (status, refused) = server
        .request(
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
    let server = Server::start(dir.path()).await;
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
    assert_eq!(server.get("/api/v1/faq/stats").await["stats"], json!([]));

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
    let server = Server::start(dir.path()).await;
    let (status, refused) = server
        .edit_faq(|faq| faq["entries"]["shipping"]["triggers"]["regex"] = json!(["几号(发货"]))
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
    let server = Server::start(dir.path()).await;
    let text = |title: &str, tags: Value| json!({"title": title, "tags": tags, "by": "alice", "body": {"type": "text", "text": "{name} 您好"}});
    let (status, first) = server
        .post("/api/v1/content", text("问候", json!(["welcome"])))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = server
        .post("/api/v1/content", text("群规", json!(["faq"])))
        .await;
    let second_id = second["item"]["id"].as_i64().unwrap();

    let all = server.get("/api/v1/content").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let faq = server.get("/api/v1/content?tag=faq").await;
    assert_eq!(faq["items"].as_array().unwrap().len(), 1);
    assert_eq!(faq["items"][0]["title"], "群规");
    assert_eq!(
        server.get(&format!("/api/v1/content/{second_id}")).await["item"]["title"],
        "群规"
    );

    let (status, updated) = server
        .request(
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
        .request(reqwest::Method::GET, "/api/v1/content/999", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, bad) = server
        .request(reqwest::Method::GET, "/api/v1/content/abc", None)
        .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );

    let (status, deleted) = server
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/content/{second_id}?by=bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let (status, _) = server
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/content/{second_id}?by=bob"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let audit = server.get("/api/v1/audit?limit=20").await;
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
