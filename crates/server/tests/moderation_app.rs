//! Moderation end to end: `serve::run` on port 0 over a temporary SQLite data dir, driven
//! through the HTTP bridge and the sandbox API the way a platform and an operator would.

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
const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";
const CLEAN: &str = "今天的作业是第三页";

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
        connectors: vec![
            bridge(
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
            ),
            bridge("nomute", &["send", "reply", "delete", "kick", "ban"]),
        ],
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

    async fn join(&self, connector: &str, group: &str, member: &str) -> Vec<Value> {
        self.event(
            connector,
            json!({"type": "member_joined", "group": {"id": group, "name": format!("{group}群")},
                   "actor": {"id": member, "name": name_of(member)}}),
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

    /// Replaces the default template's penalty ladder.
    async fn set_ladder(&self, ladder: &[&str]) {
        let mut rulebook = self.get("/api/v1/rulebook").await["rulebook"].clone();
        rulebook["templates"]["default"]["moderation"]["ladder"] = json!(ladder);
        let (status, body) = self
            .request(
                reqwest::Method::PUT,
                "/api/v1/rulebook?author=alice&note=short+ladder",
                Some(rulebook),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
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

fn types(actions: &[Value]) -> Vec<&str> {
    actions
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect()
}

fn of_type<'a>(actions: &'a [Value], kind: &str) -> Vec<&'a Value> {
    actions.iter().filter(|a| a["type"] == kind).collect()
}

fn mentions(action: &Value, member: &str) -> bool {
    action["segments"].as_array().is_some_and(|segments| {
        segments
            .iter()
            .any(|s| s["type"] == "mention" && s["id"] == member)
    })
}

#[tokio::test]
async fn with_no_configuration_an_ad_is_deleted_and_its_sender_warned_while_chat_and_staff_are_left_alone()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;

    assert_eq!(
        server.say("qq", "g1", "u1", "member", CLEAN).await,
        Vec::<Value>::new()
    );

    let actions = server.say("qq", "g1", "u9", "member", AD).await;
    assert_eq!(types(&actions), ["delete", "send"], "{actions:#?}");
    assert_eq!(actions[0]["group"]["id"], "g1");
    let warning = &actions[1];
    assert!(
        mentions(warning, "u9"),
        "the warning mentions the sender: {warning}"
    );
    assert!(
        warning["text"].as_str().unwrap().contains("第 1 次"),
        "{warning}"
    );
    assert_eq!(warning["rule"], "moderate");

    // Owners and admins are exempt.
    assert_eq!(
        server.say("qq", "g1", "boss", "admin", AD).await,
        Vec::<Value>::new()
    );

    let listed = server.get("/api/v1/violations?group=qq/g1").await;
    let violations = listed["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{listed}");
    let violation = &violations[0];
    assert_eq!(violation["member"], "u9");
    assert_eq!(violation["status"], "active");
    assert_eq!(violation["dry_run"], false);
    let recorded: Vec<&Value> = violation["actions"].as_array().unwrap().iter().collect();
    assert_eq!(
        recorded,
        [&actions[0]["id"], &actions[1]["id"]],
        "the violation names the actions taken for it"
    );
    assert_eq!(violation["text"], AD);
    assert!(
        violation["penalty"].as_str().unwrap().contains("delete"),
        "{violation}"
    );
    let checks = violation["checks"]
        .as_array()
        .expect("checks are JSON, not text");
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "lexicon" && c["evidence"].as_str().unwrap().contains("刷单")),
        "the evidence names the word: {checks:#?}"
    );
    assert!(
        checks.iter().any(
            |c| c["check"] == "contact" && c["evidence"].as_str().unwrap().contains("abc12345")
        ),
        "{checks:#?}"
    );
    let id = violation["id"].as_str().unwrap();
    let one = server.get(&format!("/api/v1/violations/{id}")).await;
    assert_eq!(one["violation"]["id"], id);
    assert_eq!(one["violation"]["checks"], violation["checks"]);
    server.stop().await;
}

#[tokio::test]
async fn a_repeat_offender_is_muted_then_kicked_then_blacklisted_in_every_group_and_operators_can_undo()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    server
        .set_ladder(&[
            "delete+warn",
            "delete+mute:10m",
            "delete+kick",
            "delete+blacklist",
        ])
        .await;

    // The spammer is also in another group of the same platform.
    server.join("qq", "g2", "u9").await;

    let first = server.say("qq", "g1", "u9", "member", AD).await;
    assert_eq!(types(&first), ["delete", "send"], "{first:#?}");

    let second = server.say("qq", "g1", "u9", "member", AD).await;
    let mute = of_type(&second, "mute");
    assert_eq!(mute.len(), 1, "{second:#?}");
    assert_eq!(
        (mute[0]["member"].clone(), mute[0]["duration_secs"].clone()),
        (json!("u9"), json!(600))
    );
    assert!(!of_type(&second, "delete").is_empty());

    let third = server.say("qq", "g1", "u9", "member", AD).await;
    let kick = of_type(&third, "kick");
    assert_eq!(kick.len(), 1, "{third:#?}");
    assert_eq!(kick[0]["group"]["id"], "g1");

    // Kicked, they come back and try again.
    server
        .event(
            "qq",
            json!({"type": "member_left", "group": {"id": "g1"}, "actor": {"id": "u9", "name": "推广小号"},
                   "removed_by": {"id": "bot"}}),
        )
        .await;
    server.join("qq", "g1", "u9").await;
    let fourth = server.say("qq", "g1", "u9", "member", AD).await;
    let bans = of_type(&fourth, "ban");
    let mut banned_in: Vec<&str> = bans
        .iter()
        .map(|b| b["group"]["id"].as_str().unwrap())
        .collect();
    banned_in.sort_unstable();
    assert_eq!(
        banned_in,
        ["g1", "g2"],
        "banned here and in the other group: {fourth:#?}"
    );
    assert!(bans.iter().all(|b| b["member"] == "u9"));
    assert!(!of_type(&fourth, "delete").is_empty());

    let blacklist = server.get("/api/v1/blacklist").await;
    assert_eq!(blacklist["blacklist"][0]["member"], "u9", "{blacklist}");
    assert_eq!(blacklist["blacklist"][0]["connector"], "qq");

    // Kept out everywhere from now on.
    let joined = server.join("qq", "g3", "u9").await;
    let ban = of_type(&joined, "ban");
    assert_eq!(ban.len(), 1, "{joined:#?}");
    assert_eq!(ban[0]["group"]["id"], "g3");
    let asked = server
        .event(
            "qq",
            json!({"type": "join_request", "group": {"id": "g4"}, "actor": {"id": "u9", "name": "推广小号"},
                   "request_id": "req-1", "comment": "朋友推荐"}),
        )
        .await;
    let reject = of_type(&asked, "reject_join");
    assert_eq!(reject.len(), 1, "{asked:#?}");
    assert_eq!(reject[0]["request_id"], "req-1");
    assert!(of_type(&asked, "approve_join").is_empty());

    // Every verdict is listed with what fired.
    let listed = server
        .get("/api/v1/violations?group=qq/g1&status=active")
        .await;
    let violations = listed["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 4, "{listed}");
    for violation in violations {
        let checks = violation["checks"].as_array().unwrap();
        assert!(
            !checks.is_empty() && checks.iter().all(|c| c["evidence"].is_string()),
            "{violation}"
        );
    }
    let muted = violations
        .iter()
        .find(|v| v["penalty"].as_str().unwrap().contains("mute"))
        .expect("the second violation was a mute");
    let muted_id = muted["id"].as_str().unwrap();

    // Undo the mute: an unmute goes out, in the answer and in the bridge's feed.
    let (status, undone) = server
        .post(
            &format!("/api/v1/violations/{muted_id}/undo"),
            json!({"by": "operator:alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!(undone["violation"]["status"], "undone");
    let unmute = &undone["actions"][0];
    assert_eq!(unmute["kind"]["type"], "unmute", "{undone}");
    assert_eq!(unmute["kind"]["member"], "u9");
    let feed = server
        .client
        .get(server.url("/api/v1/bridge/qq/actions?limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        feed["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "unmute" && a["member"] == "u9" && a["group"]["id"] == "g1"),
        "{feed:#}"
    );
    let (status, again) = server
        .post(
            &format!("/api/v1/violations/{muted_id}/undo"),
            json!({"by": "operator:alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["error"]["code"], "conflict");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already undone"),
        "{again}"
    );

    // A false positive: marked, and the classifier learns the text is fine.
    let (_, before) = server
        .post(
            "/api/v1/moderate/check",
            json!({"text": AD, "group": "qq/g1"}),
        )
        .await;
    assert_eq!(before["flagged"], true, "{before}");
    let first_id = violations.last().unwrap()["id"].as_str().unwrap();
    let (status, marked) = server
        .post(
            &format!("/api/v1/violations/{first_id}/false-positive"),
            json!({"by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked["violation"]["status"], "false_positive");
    assert_eq!(
        marked["actions"],
        json!([]),
        "a deleted message cannot be restored; nothing else to undo"
    );
    let (_, after) = server
        .post(
            "/api/v1/moderate/check",
            json!({"text": AD, "group": "qq/g1"}),
        )
        .await;
    assert!(
        after["spam_score"].as_f64().unwrap() < before["spam_score"].as_f64().unwrap(),
        "before {before}\nafter {after}"
    );
    assert!(after["score"].as_f64().unwrap() < before["score"].as_f64().unwrap());
    let false_positives = server.get("/api/v1/violations?status=false_positive").await;
    assert_eq!(false_positives["violations"][0]["id"], first_id);
    let audit = server.get("/api/v1/audit?limit=1000").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "violation.status" && e["actor"] == "operator:alice"),
        "{audit:#}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_bridge_that_cannot_mute_skips_to_the_next_step_it_can_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    // The built-in ladder: delete+warn, then mutes, then kick, then blacklist.
    let first = server.say("nomute", "g1", "u9", "member", AD).await;
    assert_eq!(types(&first), ["delete", "send"], "{first:#?}");
    let second = server.say("nomute", "g1", "u9", "member", AD).await;
    assert!(of_type(&second, "mute").is_empty(), "{second:#?}");
    assert!(
        of_type(&second, "staff_task").is_empty(),
        "no mute handed to staff: {second:#?}"
    );
    let kick = of_type(&second, "kick");
    assert_eq!(kick.len(), 1, "{second:#?}");
    assert_eq!(kick[0]["member"], "u9");
    server.stop().await;
}

#[tokio::test]
async fn operators_blacklist_by_hand_correct_the_classifier_and_get_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    server.join("qq", "g1", "u7").await;

    let (status, added) = server
        .post(
            "/api/v1/blacklist",
            json!({"connector": "qq", "member": "u7", "name": "骗子", "reason": "私下诈骗群友", "by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["entry"]["added_by"], "operator:alice");
    let ban = &added["actions"][0];
    assert_eq!(
        (ban["kind"]["type"].clone(), ban["group"]["group"].clone()),
        (json!("ban"), json!("g1")),
        "{added}"
    );
    assert_eq!(
        server.get("/api/v1/blacklist").await["blacklist"][0]["member"],
        "u7"
    );

    let (status, lifted) = server
        .request(
            reqwest::Method::DELETE,
            "/api/v1/blacklist/qq/u7?by=alice",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lifted}");
    assert_eq!(lifted["actions"][0]["kind"]["type"], "unban", "{lifted}");
    assert_eq!(
        server.get("/api/v1/blacklist").await["blacklist"],
        json!([])
    );
    let (status, again) = server
        .request(
            reqwest::Method::DELETE,
            "/api/v1/blacklist/qq/u7?by=alice",
            None,
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );

    // Corrections teach at once.
    let text = "本群新开团购，全场五折，名额有限先到先得";
    let (_, before) = server
        .post("/api/v1/moderate/check", json!({"text": text}))
        .await;
    assert_eq!(before["template"], "default");
    let (status, corrected) = server
        .post(
            "/api/v1/corrections",
            json!({"text": text, "spam": true, "by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert!(
        corrected["spam_score"].as_f64().unwrap() >= 0.9,
        "{corrected}"
    );
    assert!(corrected["spam_score"].as_f64().unwrap() > before["spam_score"].as_f64().unwrap());
    let (_, after) = server
        .post("/api/v1/moderate/check", json!({"text": text}))
        .await;
    assert_eq!(after["flagged"], true, "{after}");

    // Bad input names its field.
    for (path, body, field) in [
        (
            "/api/v1/corrections",
            json!({"text": text, "by": "alice"}),
            "spam",
        ),
        (
            "/api/v1/corrections",
            json!({"text": text, "spam": "yes", "by": "alice"}),
            "spam",
        ),
        (
            "/api/v1/blacklist",
            json!({"connector": "qq", "member": "u7", "by": "alice"}),
            "reason",
        ),
        (
            "/api/v1/blacklist",
            json!({"connector": "wechat", "member": "u7", "reason": "x", "by": "alice"}),
            "connector",
        ),
        ("/api/v1/moderate/check", json!({"text": "  "}), "text"),
        (
            "/api/v1/moderate/check",
            json!({"text": "hi", "group": "g1"}),
            "group",
        ),
        ("/api/v1/violations/v-nope/undo", json!({}), "by"),
    ] {
        let (status, error) = server.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
        assert_eq!(error["error"]["code"], "invalid_request", "{path}: {error}");
        assert_eq!(error["error"]["field"], field, "{path}: {error}");
    }
    let (status, error) = server
        .request(reqwest::Method::GET, "/api/v1/violations?status=gone", None)
        .await;
    assert_eq!(
        (status, error["error"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("status"))
    );
    let (status, error) = server
        .post("/api/v1/violations/v-nope/undo", json!({"by": "alice"}))
        .await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found")),
        "{error}"
    );
    let (status, error) = server
        .request(reqwest::Method::GET, "/api/v1/violations/v-nope", None)
        .await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    server.stop().await;
}

#[tokio::test]
async fn in_the_sandbox_an_ad_is_deleted_and_its_sender_warned() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path()).await;
    let (status, group) = server
        .post("/api/v1/sandbox/groups", json!({"name": "家长群"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap().to_owned();
    let events = format!("/api/v1/sandbox/groups/{id}/events");
    let member = json!({"id": "u9", "name": "推广小号"});
    let (status, _) = server
        .post(&events, json!({"type": "join", "member": member}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, clean) = server
        .post(
            &events,
            json!({"type": "message", "member": member, "text": CLEAN}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{clean}");
    assert_eq!(clean["actions"], json!([]));

    let (status, decided) = server
        .post(
            &events,
            json!({"type": "message", "member": member, "text": AD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let actions = decided["actions"].as_array().unwrap();
    let kinds: Vec<&str> = actions
        .iter()
        .map(|a| a["kind"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["delete", "send"], "{decided:#}");
    let deleted_id = actions[0]["kind"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        actions[1]["kind"]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["type"] == "mention" && s["member"] == "u9"),
        "{decided:#}"
    );

    // The outbox delivers: the ad shows as deleted, the warning as the bot's message.
    let transcript = format!("/api/v1/sandbox/groups/{id}/transcript");
    let mut entries = Vec::new();
    for _ in 0..100 {
        entries = server.get(&transcript).await["entries"]
            .as_array()
            .unwrap()
            .clone();
        let done = entries.iter().any(|e| {
            e["type"] == "message" && e["message_id"] == deleted_id.as_str() && e["deleted"] == true
        }) && entries.iter().any(|e| {
            e["type"] == "bot"
                && e["action"]["kind"]["type"] == "send"
                && e["action"]["rule"] == "moderate"
        });
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ad = entries
        .iter()
        .find(|e| e["type"] == "message" && e["message_id"] == deleted_id.as_str())
        .unwrap();
    assert_eq!(ad["deleted"], true, "{entries:#?}");
    let clean = entries
        .iter()
        .find(|e| e["type"] == "message" && e["message_id"] != deleted_id.as_str())
        .unwrap();
    assert_eq!(clean["deleted"], false);
    assert!(
        entries.iter().any(|e| e["type"] == "bot"
            && e["action"]["rule"] == "moderate"
            && e["action"]["kind"]["type"] == "send"),
        "{entries:#?}"
    );
    let listed = server
        .get(&format!("/api/v1/violations?group=sandbox/{id}"))
        .await;
    assert_eq!(
        listed["violations"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    server.stop().await;
}
