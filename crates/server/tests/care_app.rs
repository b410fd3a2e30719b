//! Care (用户思维) end to end: `serve::run` over a temporary SQLite data dir, driven through the
//! HTTP bridge with event times (so a replayed conversation decides like a live one), the real
//! scheduler loop raising unanswered-question alerts, and the tickets API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

const TOKEN: &str = "qq-secret";

async fn start(dir: &tempfile::TempDir) -> Server {
    Server::start(Config {
        data_dir: dir.path().to_path_buf(),
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new(TOKEN),
            capabilities: ["send", "reply", "delete", "notify_staff"].iter().map(|c| (*c).to_owned()).collect(),
        })],
        ..Config::default()
    })
    .await
}

/// A message in `group` by `member` (`role`: member/admin/owner) at `at`; the actions it caused.
async fn say(server: &Server, id: &str, group: &str, member: &str, role: &str, at: DateTime<Utc>, text: &str) -> Vec<Value> {
    let event = json!({"type": "message", "id": id, "time": at.to_rfc3339(), "group": {"id": group, "name": format!("{group}家长群")},
        "actor": {"id": member, "name": format!("{member}妈妈"), "role": role},
        "message": {"id": format!("m-{id}"), "text": text}});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
    response.json::<Value>().await.unwrap()["actions"].as_array().unwrap().clone()
}

fn notify_staff(actions: &[Value]) -> Vec<&Value> {
    actions.iter().filter(|a| a["type"] == "notify_staff").collect()
}

async fn tickets(server: &Server, group: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/v1/tickets?group=qq/{group}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tickets"].as_array().unwrap().clone()
}

/// The notify_staff actions in the bridge's feed for `group`.
async fn feed_alerts(server: &Server, group: &str) -> Vec<Value> {
    let feed: Value = server
        .client
        .get(server.url("/api/v1/bridge/qq/actions?limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["actions"].as_array().unwrap().iter().filter(|a| a["type"] == "notify_staff" && a["group"]["id"] == group).cloned().collect()
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

#[tokio::test]
async fn three_parents_complaining_within_ten_minutes_raise_one_alert_and_one_ticket_and_one_angry_member_raises_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir).await;
    // A replayed conversation: event times an hour ago, a few minutes apart.
    let t0 = Utc::now() - minutes(60);
    let complaints = [
        ("c1", "b", 0, "校车又迟到半小时，太过分了"),
        ("c2", "c", 2, "无语，每次都这样"),
        ("c3", "d", 5, "真的很让人生气😡"),
        ("c4", "e", 6, "太坑了，退钱"),
    ];
    let mut alerts = Vec::new();
    for (id, member, at, text) in complaints {
        let actions = say(&server, id, "g1", member, "member", t0 + minutes(at), text).await;
        alerts.extend(notify_staff(&actions).into_iter().cloned());
    }
    assert_eq!(alerts.len(), 1, "one outbreak, one alert: {alerts:#?}");
    let alert = alerts[0]["text"].as_str().unwrap();
    assert!(alert.contains("负面情绪集体爆发") && alert.contains("校车又迟到半小时") && alert.contains("私聊"), "{alert}");
    let opened = tickets(&server, "g1").await;
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert_eq!(opened[0]["category"], "outbreak");
    assert_eq!(opened[0]["status"], "open");

    // One member ranting is not an outbreak.
    for (i, text) in ["买了三天还没发货，什么情况", "垃圾产品，再也不买了", "退钱😡", "骗子吧这是"].into_iter().enumerate() {
        let actions = say(&server, &format!("r{i}"), "g2", "a", "member", t0 + minutes(i as i64), text).await;
        assert!(notify_staff(&actions).is_empty(), "{actions:#?}");
    }
    assert!(tickets(&server, "g2").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn an_unanswered_question_alerts_staff_after_ten_minutes_and_an_answered_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir).await;
    let asked = Utc::now() - minutes(11);
    // Answered: the teacher (an admin) speaks two minutes after the question.
    say(&server, "a1", "answered", "p1", "member", asked, "明天要带什么材料？").await;
    say(&server, "a2", "answered", "teacher", "admin", asked + minutes(2), "带尺子和彩笔").await;
    // Unanswered: nobody on staff says anything.
    say(&server, "u1", "open", "p2", "member", asked, "明天几点放学？").await;

    let mut alerts = Vec::new();
    for _ in 0..300 {
        alerts = feed_alerts(&server, "open").await;
        if !alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let text = alerts[0]["kind"]["text"].as_str().or(alerts[0]["text"].as_str()).unwrap();
    assert!(text.contains("明天几点放学") && text.contains("/api/v1/questions/qq:open:m-u1"), "{text}");
    assert!(feed_alerts(&server, "answered").await.is_empty());

    let (_, question) = server.get("/api/v1/questions/qq:open:m-u1").await;
    assert_eq!(question["status"], "open");
    assert_eq!(question["alerted"], true);
    let (_, answered) = server.get("/api/v1/groups/qq/answered/questions?status=answered").await;
    assert_eq!(answered["questions"][0]["answered_by"], "teacher", "{answered}");
    let (_, times) = server.get("/api/v1/groups/qq/answered/response-times").await;
    assert_eq!(times["stats"]["median_secs"], 120, "{times}");
    assert_eq!(times["staff"]["teacher"]["answered"], 1, "{times}");
    let unanswered = tickets(&server, "open").await;
    assert_eq!(unanswered.len(), 1, "{unanswered:#?}");
    assert_eq!(unanswered[0]["category"], "unanswered_question");
    assert!(tickets(&server, "answered").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn tickets_are_made_by_hand_changed_noted_and_counted_in_the_weekly_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir).await;
    let (status, made) = server
        .post("/api/v1/tickets", json!({"group": "qq/g1", "category": "homework", "title": "家长反映作业太多", "due_at": "2020-01-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["id"].as_str().unwrap();
    let (status, changed) = server
        .send(reqwest::Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(json!({"status": "in_progress", "owner": "alice", "note": "已和班主任沟通", "by": "alice"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["owner"], "alice");
    assert_eq!(changed["notes"][0]["text"], "已和班主任沟通");
    let (_, listed) = server.get("/api/v1/tickets?status=in_progress").await;
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");
    let (_, weekly) = server.get("/api/v1/groups/qq/g1/tickets/weekly").await;
    assert_eq!(weekly["opened"], 1, "{weekly}");
    assert_eq!(weekly["open_by_category"]["homework"], 1, "{weekly}");
    assert_eq!(weekly["overdue"].as_array().unwrap().len(), 1, "{weekly}");

    let (status, bad) = server.send(reqwest::Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(json!({"status": "done"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.to_string().contains("in_progress"), "{bad}");
    let (status, _) = server.get("/api/v1/tickets/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn a_ticket_whose_follow_up_time_has_come_reminds_staff_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir).await;
    let due = (Utc::now() - minutes(1)).to_rfc3339();
    let (status, made) =
        server.post("/api/v1/tickets", json!({"group": "qq/fu", "title": "回访王妈妈退费问题", "owner": "alice", "follow_up_at": due})).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let mut alerts = Vec::new();
    for _ in 0..300 {
        alerts = feed_alerts(&server, "fu").await;
        if !alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].to_string().contains("回访提醒：回访王妈妈退费问题"), "{alerts:#?}");
    // Later scans do not remind again.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(feed_alerts(&server, "fu").await.len(), 1);
    let (_, ticket) = server.get(&format!("/api/v1/tickets/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(ticket["followed_up_at"], made["follow_up_at"], "{ticket}");
    server.stop().await;
}
