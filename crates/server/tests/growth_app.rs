//! Referrals (裂变), milestones (里程碑) and custom counters end to end: `serve::run` on port 0
//! over a temporary SQLite data dir, a platform played through the HTTP bridge and an
//! operator through the JSON API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

static NEXT: AtomicU32 = AtomicU32::new(1);

async fn start(dir: &Path) -> Server {
    let bridge = ConnectorConfig::Bridge(BridgeConfig {
        id: "qq".into(),
        token: Secret::new(TOKEN),
        capabilities: ["send", "reply", "delete", "mute", "kick"].iter().map(|c| (*c).to_owned()).collect(),
    });
    Server::start(Config { data_dir: dir.to_path_buf(), connectors: vec![bridge], ..Config::default() }).await
}

async fn get(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Posts one bridge event into group `g1` (an id and the current time are filled in) and
/// returns the actions it caused.
async fn event(server: &Server, mut event: Value) -> Vec<Value> {
    event["id"] = json!(format!("e{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    event["group"] = json!({"id": "g1", "name": "读书会"});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
    let body: Value = response.json().await.unwrap();
    body["actions"].as_array().unwrap().clone()
}

async fn join(server: &Server, member: &str, name: &str, inviter: Option<(&str, &str)>) -> Vec<Value> {
    let mut body = json!({"type": "member_joined", "actor": {"id": member, "name": name}});
    if let Some((id, name)) = inviter {
        body["inviter"] = json!({"id": id, "name": name});
    }
    event(server, body).await
}

async fn leave(server: &Server, member: &str, name: &str) -> Vec<Value> {
    event(server, json!({"type": "member_left", "actor": {"id": member, "name": name}})).await
}

async fn say(server: &Server, member: &str, name: &str, text: &str) -> Vec<Value> {
    let id = format!("m{}", NEXT.fetch_add(1, Ordering::SeqCst));
    event(server, json!({"type": "message", "actor": {"id": member, "name": name}, "message": {"id": id, "text": text}})).await
}

/// A send's text, mentions as `@name` (a bridge action, or an action as the API decided it).
fn text(action: &Value) -> String {
    let segments = if action["segments"].is_array() { &action["segments"] } else { &action["kind"]["segments"] };
    segments
        .as_array()
        .map(|segments| {
            segments
                .iter()
                .map(|s| s["text"].as_str().map_or_else(|| format!("@{}", s["name"].as_str().unwrap_or("")), String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn containing(actions: &[Value], needle: &str) -> usize {
    actions.iter().filter(|a| text(a).contains(needle)).count()
}

/// Invites count at once (no stay) and an early leave within 7 days reverses them.
async fn no_stay(server: &Server) {
    let mut rulebook = get(server, "/api/v1/rulebook").await["rulebook"].clone();
    rulebook["templates"]["default"]["referrals"]["stay_days"] = json!(0);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=no-stay", Some(rulebook)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn points(server: &Server, member: &str) -> i64 {
    get(server, &format!("/api/v1/points/qq/{member}")).await["balance"].as_i64().unwrap_or_else(|| panic!("no balance for {member}"))
}

#[tokio::test]
async fn a_referral_validates_when_the_invitee_speaks_and_another_is_reversed_by_an_early_leave() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    no_stay(&server).await;

    join(&server, "u1", "老会员", None).await;
    join(&server, "u2", "新朋友", Some(("u1", "老会员"))).await;
    let (_, listed) = server.get("/api/v1/referrals?group=qq/g1&status=pending").await;
    assert_eq!(listed["referrals"].as_array().unwrap().len(), 1, "{listed}");

    let actions = say(&server, "u2", "新朋友", "大家好，我是新来的").await;
    assert_eq!(containing(&actions, "感谢 @老会员 邀请 新朋友 加入「读书会」"), 1, "{actions:#?}");
    assert_eq!(points(&server, "u1").await, 10);

    // A second invite through a personal code, reversed when the invitee leaves at once.
    let (status, code) = server.post("/api/v1/referrals/codes", json!({"connector": "qq", "member": "u1", "name": "老会员"})).await;
    assert_eq!(status, StatusCode::OK, "{code}");
    let code = code["code"]["code"].as_str().unwrap().to_owned();
    event(&server, json!({"type": "member_joined", "actor": {"id": "u3", "name": "过客"}, "invite_code": code})).await;
    say(&server, "u3", "过客", "看看").await;
    assert_eq!(points(&server, "u1").await, 20);
    leave(&server, "u3", "过客").await;
    assert_eq!(points(&server, "u1").await, 10, "the reward is taken back");
    leave(&server, "u3", "过客").await;
    assert_eq!(points(&server, "u1").await, 10, "once");

    let all = get(&server, "/api/v1/referrals?inviter=u1").await;
    let statuses: Vec<&str> = all["referrals"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["reversed", "valid"]);
    let board = get(&server, "/api/v1/referrals/leaderboard?group=qq/g1").await;
    assert_eq!(board["leaderboard"][0]["inviter"], "u1");
    assert_eq!((board["leaderboard"][0]["valid"].as_i64(), board["leaderboard"][0]["reversed"].as_i64()), (Some(1), Some(1)));
    let flags = get(&server, "/api/v1/referrals/flags?group=qq/g1").await;
    assert_eq!(flags["flags"][0]["kind"], "quick_leave", "{flags}");
    let (status, bad) = server.get("/api/v1/referrals?status=maybe").await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")), "{bad}");
    server.stop().await;
}

#[tokio::test]
async fn the_200th_member_is_celebrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut celebrations = 0;
    for n in 1..=201 {
        let actions = join(&server, &format!("m{n}"), &format!("成员{n}"), None).await;
        celebrations += containing(&actions, "迎来第 200 位成员");
        if n == 200 {
            assert_eq!(containing(&actions, "迎来第 200 位成员！欢迎 @成员200"), 1, "{actions:#?}");
        }
    }
    leave(&server, "m201", "成员201").await;
    celebrations += containing(&join(&server, "m201", "成员201", None).await, "迎来第 200 位成员");
    assert_eq!(celebrations, 1);
    let reached = get(&server, "/api/v1/milestones?group=qq/g1").await;
    let thresholds: Vec<i64> = reached["milestones"].as_array().unwrap().iter().map(|m| m["threshold"].as_i64().unwrap()).collect();
    assert_eq!(thresholds, [200, 150, 100]);
    server.stop().await;
}

#[tokio::test]
async fn the_counters_api_adds_once_per_idempotency_key_and_celebrates_crossing_a_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    join(&server, "u1", "老会员", None).await;
    let increment = |amount: i64, key: &str| json!({"group": "qq/g1", "amount": amount, "idempotency_key": key});

    let (status, first) = server.post("/api/v1/counters/orders/increment", increment(990, "k1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["value"], 990);
    let (_, crossed) = server.post("/api/v1/counters/orders/increment", increment(20, "k2")).await;
    assert_eq!(crossed["value"], 1010);
    let actions = crossed["decided"]["actions"].as_array().unwrap();
    assert_eq!(containing(actions, "orders突破 1000"), 1, "{crossed}");
    let (_, again) = server.post("/api/v1/counters/orders/increment", increment(20, "k2")).await;
    assert_eq!((again["value"].as_i64(), again["duplicate"].as_bool()), (Some(1010), Some(true)));
    let (_, one) = server.post("/api/v1/counters/orders/increment", json!({"group": "qq/g1"})).await;
    assert_eq!(one["value"], 1011, "the amount defaults to 1");
    assert!(one["decided"]["actions"].as_array().unwrap().is_empty());

    let counters = get(&server, "/api/v1/counters?group=qq/g1").await;
    assert_eq!(counters["counters"], json!([{"group": {"connector": "qq", "group": "g1"}, "name": "orders", "value": 1011, "updated_at": counters["counters"][0]["updated_at"]}]));
    let (status, bad) = server.post("/api/v1/counters/bad%20name/increment", json!({"group": "qq/g1"})).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")), "{bad}");
    let (status, bad) = server.post("/api/v1/counters/orders/increment", json!({"group": "nope/g1"})).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("group")), "{bad}");
    server.stop().await;
}
