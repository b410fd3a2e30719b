//! Sign-up lists and lotteries end to end: `serve::run` on port 0 over a temporary SQLite
//! data dir, members played through the sandbox API, an operator through the JSON API, and
//! what the group saw read back from the sandbox transcript (delivered by the real outbox).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::time::Duration;

use qunzhu::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

async fn start(dir: &Path) -> Server {
    Server::start(Config { data_dir: dir.to_path_buf(), ..Config::default() }).await
}

async fn get(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn group(server: &Server, name: &str) -> String {
    let (status, group) = server.post("/api/v1/sandbox/groups", json!({ "name": name })).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    group["id"].as_str().unwrap().to_owned()
}

/// A member posts in a sandbox group; what the engine decided.
async fn say(server: &Server, group: &str, member: &str, role: &str, text: &str) -> Value {
    let body = json!({"type": "message", "member": {"id": member, "name": format!("成员{member}"), "role": role}, "text": text});
    let (status, decided) = server.post(&format!("/api/v1/sandbox/groups/{group}/events"), body).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    decided
}

/// Waits (up to `secs`) until the bot's messages in a group satisfy `done`; returns them (as
/// text and segments), oldest first.
async fn bot_messages(server: &Server, group: &str, secs: u64, done: impl Fn(&[(String, Value)]) -> bool) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let transcript = get(server, &format!("/api/v1/sandbox/groups/{group}/transcript")).await;
        let messages: Vec<(String, Value)> = transcript["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "bot")
            .filter_map(|e| {
                let segments = e["action"]["kind"]["segments"].clone();
                let text: String = segments
                    .as_array()?
                    .iter()
                    .map(|s| s["text"].as_str().map_or_else(|| format!("@{}", s["name"].as_str().unwrap_or("")), String::from))
                    .collect();
                Some((text, segments))
            })
            .collect();
        if done(&messages) {
            return messages;
        }
        assert!(tokio::time::Instant::now() < deadline, "the group never saw what was expected: {messages:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_signup_throttle(server: &Server, secs: u64) {
    let mut rulebook = get(server, "/api/v1/rulebook").await["rulebook"].clone();
    rulebook["templates"]["default"]["signup"]["repost_throttle_secs"] = json!(secs);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=throttle", Some(rulebook)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_sign_up_list_is_started_by_command_filled_by_keyword_closed_through_the_api_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    set_signup_throttle(&server, 0).await;
    let group = group(&server, "羽毛球群").await;

    let refused = say(&server, &group, "u1", "member", "#接龙 周六羽毛球 限3人").await;
    assert_eq!(refused["actions"][0]["kind"]["type"], "reply", "members may not start one: {refused}");
    say(&server, &group, "boss", "admin", "#接龙 周六羽毛球 限3人").await;
    say(&server, &group, "u1", "member", "接龙").await;
    say(&server, &group, "u2", "member", "接龙 带2人").await;
    let seen = bot_messages(&server, &group, 10, |m| m.iter().any(|(t, _)| t.contains("2. 成员u2（带2人）"))).await;
    assert!(seen.iter().any(|(t, _)| t.starts_with("📋 接龙：周六羽毛球")), "{seen:?}");

    let listed = get(&server, &format!("/api/v1/signups?group=sandbox/{group}&status=open")).await;
    let id = listed["signups"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed["signups"][0]["started_by"], "member:boss");
    let one = get(&server, &format!("/api/v1/signups/{id}")).await;
    assert_eq!(one["count"], 2);
    assert_eq!(one["entries"][1]["position"], 2);
    assert_eq!(one["entries"][1]["note"], "带2人");

    // A second list in the group is refused; a bad group is named.
    let (status, body) = server.post("/api/v1/signups", json!({"group": format!("sandbox/{group}"), "title": "另一个", "by": "alice"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    let (status, body) = server.post("/api/v1/signups", json!({"group": "nogroup", "title": "t", "by": "alice"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("group")), "{body}");

    let (status, closed) = server.post(&format!("/api/v1/signups/{id}/close"), json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["signup"]["status"], "closed");
    assert_eq!(closed["signup"]["closed_by"], "operator:alice");
    bot_messages(&server, &group, 10, |m| m.iter().any(|(t, _)| t.starts_with("✅ 接龙结束：周六羽毛球（提前结束）\n1. 成员u1\n2. 成员u2（带2人）\n共 2 人"))).await;
    let (status, again) = server.post(&format!("/api/v1/signups/{id}/close"), json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let response = server.client.get(server.url(&format!("/api/v1/signups/{id}/entries.csv"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "\u{feff}position,member,name,note,joined_at,withdrawn_at");
    assert!(lines[2].starts_with("2,u2,成员u2,带2人,"), "{csv}");

    // Started through the API: posted in the group at once.
    let (status, started) = server
        .post("/api/v1/signups", json!({"group": format!("sandbox/{group}"), "title": "聚餐", "limit": 10, "closes_at": "2099-01-01T20:00:00+08:00", "by": "alice"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["signup"]["closes_at"], "2099-01-01T12:00:00Z");
    bot_messages(&server, &group, 10, |m| m.iter().any(|(t, _)| t.contains("📋 接龙：聚餐") && t.contains("已报 0/10 人 · 截止 1月1日 20:00"))).await;
    let (status, missing) = server.send(reqwest::Method::GET, "/api/v1/signups/sg-none", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    server.stop().await;
}

#[tokio::test]
async fn a_lottery_is_entered_once_drawn_announced_with_mentions_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let one = group(&server, "粉丝1群").await;
    let two = group(&server, "粉丝2群").await;

    let (status, created) = server
        .post(
            "/api/v1/lotteries",
            json!({"title": "周末抽奖", "prize": "保温杯", "winners": 2, "groups": [format!("sandbox/{one}"), format!("sandbox/{two}")],
                   "keyword": "抽奖", "draw_at": "2099-06-20T20:00:00+08:00", "by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["lottery"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["decided"]["actions"].as_array().unwrap().len(), 2, "announced in both groups");
    for group in [&one, &two] {
        bot_messages(&server, group, 10, |m| m.iter().any(|(t, _)| t.contains("参与方式：在群里发送「抽奖」"))).await;
    }

    let first = say(&server, &one, "u1", "member", "抽奖").await;
    assert_eq!(first["actions"].as_array().unwrap().len(), 1, "told once: {first}");
    let again = say(&server, &one, "u1", "member", "抽奖").await;
    assert!(again["actions"].as_array().unwrap().is_empty(), "{again}");
    for member in ["u2", "u3", "u4"] {
        say(&server, &two, member, "member", "抽奖").await;
    }
    say(&server, &one, "boss", "admin", "抽奖").await;
    let shown = get(&server, &format!("/api/v1/lotteries/{id}")).await;
    assert_eq!(shown["entrants"], 4, "staff do not enter: {shown}");

    let (status, body) = server.send(reqwest::Method::GET, &format!("/api/v1/lotteries/{id}/verify"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "not drawn yet: {body}");
    let (status, drawn) = server.post(&format!("/api/v1/lotteries/{id}/draw"), json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    let record = drawn["lottery"]["draw"].clone();
    assert_eq!(record["entrants"], json!(["sandbox/u1", "sandbox/u2", "sandbox/u3", "sandbox/u4"]));
    let winners: Vec<String> = record["winners"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_owned()).collect();
    assert_eq!(winners.len(), 2);

    // Each group sees the winners as real mentions, in draw order.
    for group in [&one, &two] {
        let seen = bot_messages(&server, group, 10, |m| m.iter().any(|(t, _)| t.contains("开奖啦"))).await;
        let (_, segments) = seen.iter().find(|(t, _)| t.contains("开奖啦")).unwrap();
        let mentioned: Vec<String> =
            segments.as_array().unwrap().iter().filter(|s| s["type"] == "mention").map(|s| format!("sandbox/{}", s["member"].as_str().unwrap())).collect();
        assert_eq!(mentioned, winners);
    }

    // The published record recomputes to the announced winners.
    let verified = get(&server, &format!("/api/v1/lotteries/{id}/verify")).await;
    assert_eq!(verified["verification"]["valid"], true, "{verified}");
    assert_eq!(verified["verification"]["recomputed_winners"], json!(winners));
    // And it is in the audit log.
    let audit = get(&server, &format!("/api/v1/audit?group=sandbox/{one}&limit=50")).await;
    let published = audit["entries"].as_array().unwrap().iter().any(|row| {
        row["rule"] == "lottery" && row["detail"].as_str().is_some_and(|d| d.contains(record["seed"].as_str().unwrap()) && d.contains(record["entrants_sha256"].as_str().unwrap()))
    });
    assert!(published, "{audit}");

    let (status, twice) = server.post(&format!("/api/v1/lotteries/{id}/draw"), json!({"by": "alice"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{twice}");
    let listed = get(&server, "/api/v1/lotteries?status=drawn").await;
    assert_eq!(listed["lotteries"][0]["id"], id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn bad_lottery_requests_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let group = group(&server, "粉丝1群").await;
    let base = json!({"title": "周末抽奖", "prize": "保温杯", "winners": 1, "groups": [format!("sandbox/{group}")],
                      "keyword": "抽奖", "draw_at": "2099-06-20T20:00:00+08:00", "by": "alice"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("winners", json!(0)), "winners"),
        (with("groups", json!(["nogroup"])), "groups[0]"),
        (with("groups", json!([])), "groups"),
        (with("draw_at", json!("tomorrow")), "draw_at"),
        (with("draw_at", json!("2000-01-01T00:00:00Z")), "draw_at"),
        (with("condition", json!({"kind": "likes", "at_least": 3})), "condition.kind"),
        (with("keyword", Value::Null), "keyword"),
        (with("by", Value::Null), "by"),
        (with("colour", json!("red")), "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = server.post("/api/v1/lotteries", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let named = answer["error"]["field"].as_str().unwrap_or(".");
        assert_eq!(named, field, "{answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = server.send(reqwest::Method::GET, "/api/v1/lotteries/lt-none/verify", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    server.stop().await;
}

#[tokio::test]
async fn the_scheduler_draws_a_lottery_at_its_time_and_closes_a_list_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let group = group(&server, "粉丝1群").await;
    let soon = |secs: i64| (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339();

    let (status, created) = server
        .post(
            "/api/v1/lotteries",
            json!({"title": "快速抽奖", "prize": "红包", "winners": 1, "groups": [format!("sandbox/{group}")], "keyword": "抽奖",
                   "draw_at": soon(3), "announce": false, "by": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["lottery"]["id"].as_str().unwrap().to_owned();
    let (status, started) = server.post("/api/v1/signups", json!({"group": format!("sandbox/{group}"), "title": "快闪", "closes_at": soon(3), "by": "alice"})).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    say(&server, &group, "u1", "member", "抽奖").await;
    say(&server, &group, "u2", "member", "接龙").await;

    // Nobody asks for the draw or the closing: the scheduler does, at their time.
    let seen = bot_messages(&server, &group, 30, |m| {
        m.iter().any(|(t, _)| t.contains("开奖啦")) && m.iter().any(|(t, _)| t.starts_with("✅ 接龙结束：快闪（已到截止时间）"))
    })
    .await;
    let announcement = seen.iter().find(|(t, _)| t.contains("开奖啦")).unwrap();
    assert!(announcement.0.contains("中奖：@成员u1"), "{}", announcement.0);
    let drawn = get(&server, &format!("/api/v1/lotteries/{id}")).await;
    assert_eq!(drawn["lottery"]["draw"]["drawn_by"], "engine");
    assert_eq!(get(&server, &format!("/api/v1/lotteries/{id}/verify")).await["verification"]["valid"], true);
    server.stop().await;
}
