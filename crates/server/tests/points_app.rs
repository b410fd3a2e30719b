//! Check-ins, points and the shop end to end: `serve::run` on a temporary SQLite data dir,
//! members typing in the sandbox, operators using the points API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qunzhu::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::Server;

async fn say(server: &Server, group: &str, member: &str, name: &str, text: &str) {
    let (status, body) = server
        .post(&format!("/api/v1/sandbox/groups/{group}/events"), json!({"type": "message", "member": {"id": member, "name": name}, "text": text}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The text of each bot message (sends and replies; mentions by name).
fn texts(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| {
            let segments = entry["action"]["kind"]["segments"].as_array().cloned().unwrap_or_default();
            segments
                .iter()
                .map(|s| s["text"].as_str().map(str::to_owned).or_else(|| s["name"].as_str().map(|n| format!("@{n}"))).unwrap_or_default())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_checks_in_buys_from_the_shop_and_staff_fulfil_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Config { data_dir: dir.path().to_path_buf(), ..Config::default() }).await;
    let group = server.sandbox_group("咖啡粉丝群").await;

    say(&server, &group, "u2", "小李", "签到").await;
    let bot = server.bot_entries(&group, 1, 10).await;
    let said = texts(&bot);
    assert!(said.iter().any(|t| t.contains("@小李 签到成功") && t.contains("+5 积分")), "{said:?}");
    say(&server, &group, "u2", "小李", "签到").await;
    let said = texts(&server.bot_entries(&group, 2, 10).await);
    assert!(said.iter().any(|t| t.contains("今天已经签到过啦")), "{said:?}");

    // The operator stocks one mug and tops the member up; the member redeems it in the group.
    let (status, item) = server
        .send(reqwest::Method::PUT, "/api/v1/shop/items/mug", Some(json!({"name": "定制马克杯", "cost": 30, "stock": 1, "by": "小王"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let (status, bad) = server.send(reqwest::Method::PUT, "/api/v1/shop/items/pen", Some(json!({"name": "笔", "cost": 0, "by": "小王"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["field"], "cost", "{bad}");
    let (status, granted) = server.post("/api/v1/points/sandbox/u2", json!({"amount": 30, "reason": "活动奖励", "by": "小王"})).await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["balance"], 35);
    let (status, overdraw) = server.post("/api/v1/points/sandbox/u2", json!({"amount": -100, "reason": "误发", "by": "小王"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{overdraw}");

    say(&server, &group, "u2", "小李", "兑换 mug").await;
    let said = texts(&server.bot_entries(&group, 3, 10).await);
    assert!(said.iter().any(|t| t.contains("兑换「定制马克杯」成功") && t.contains("剩余 5")), "{said:?}");
    // Sold out for the next one, through the API this time.
    let (status, refused) = server
        .post("/api/v1/shop/redeem", json!({"item": "mug", "connector": "sandbox", "member": "u2", "group": format!("sandbox/{group}"), "by": "小王"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "out_of_stock", "{refused}");

    let (_, points) = server.get("/api/v1/points/sandbox/u2").await;
    assert_eq!(points["balance"], 5);
    assert_eq!(points["earned"], 35);
    assert_eq!(points["ledger"].as_array().unwrap().len(), 3, "{points}");
    let (_, board) = server.get("/api/v1/points/sandbox/leaderboard").await;
    assert_eq!(board["members"][0]["member"], "u2", "{board}");
    let (_, today) = server.get(&format!("/api/v1/check-ins/sandbox/{group}")).await;
    assert_eq!(today["check_ins"].as_array().unwrap().len(), 1, "{today}");

    // The redemption is a staff task and a pending redemption until staff hand it over.
    let (_, tasks) = server.get("/api/v1/tasks?status=open").await;
    assert!(tasks["tasks"].as_array().unwrap().iter().any(|t| t["title"].as_str().unwrap().contains("定制马克杯")), "{tasks}");
    let (_, pending) = server.get("/api/v1/shop/redemptions?status=pending").await;
    let id = pending["redemptions"][0]["id"].as_str().unwrap().to_owned();
    let (status, done) = server.post(&format!("/api/v1/shop/redemptions/{}/fulfil", urlencode(&id)), json!({"by": "小王"})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "fulfilled");
    let (status, _) = server.post(&format!("/api/v1/shop/redemptions/{}/cancel", urlencode(&id)), json!({"by": "小王"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "settled once");
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.replace('/', "%2F")
}
