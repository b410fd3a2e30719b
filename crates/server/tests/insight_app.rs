//! Insight end to end: `serve::run` on port 0 over a temporary SQLite data dir, events through
//! the bridge, the analytics read back as JSON and CSV, conversions attributed to the channel
//! and tier of the member's join.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use chrono::{Duration, Utc};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_connectors::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::Server;

const TOKEN: &str = "qq-secret";

fn config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "qq".into(),
            token: Secret::new(TOKEN),
            capabilities: ["send", "reply", "delete", "mute", "kick"].map(String::from).to_vec(),
        })],
        ..Config::default()
    }
}

/// Posts an event `n` minutes before now (the analytics read the real clock).
async fn bridge(server: &Server, id: &str, minutes_ago: i64, mut event: Value) {
    event["id"] = json!(id);
    event["time"] = json!((Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339());
    event["group"] = json!({"id": "g1", "name": "家长群"});
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
}

async fn join(server: &Server, member: &str, code: Option<&str>, minutes_ago: i64) {
    let mut event = json!({"type": "member_joined", "actor": {"id": member, "name": format!("成员{member}")}});
    if let Some(code) = code {
        event["invite_code"] = json!(code);
    }
    bridge(server, &format!("join-{member}"), minutes_ago, event).await;
}

async fn say(server: &Server, id: &str, member: &str, segments: Value, minutes_ago: i64) {
    let event = json!({"type": "message", "actor": {"id": member, "name": format!("成员{member}")},
                       "message": {"id": id, "segments": segments}});
    bridge(server, id, minutes_ago, event).await;
}

#[tokio::test]
async fn bridge_events_show_in_the_weekly_table_as_json_and_csv_and_conversions_are_attributed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, created) =
        server.post("/api/v1/channels", json!({"id": "poster", "name": "裂变海报", "tier": "weak", "code": "HB2026", "by": "小王"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    join(&server, "a", Some("HB2026"), 30).await;
    join(&server, "b", None, 29).await;
    join(&server, "c", None, 28).await;
    say(&server, "m1", "b", json!([{"type": "text", "text": "请问明天几点开会"}]), 20).await;
    say(&server, "m2", "a", json!([{"type": "reply", "message_id": "m1"}, {"type": "text", "text": "下午三点"}]), 19).await;
    say(&server, "m3", "a", json!([{"type": "text", "text": "收到，谢谢"}]), 18).await;

    let (status, weekly) = server.get("/api/v1/groups/qq/g1/analytics/weekly?weeks=2").await;
    assert_eq!(status, StatusCode::OK, "{weekly}");
    let weeks = weekly["weeks"].as_array().unwrap();
    let sum = |field: &str| weeks.iter().map(|w| w[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sum("messages"), sum("joins"), sum("questions"), sum("answers")), (3, 3, 1, 1), "{weekly}");
    let last = weeks.last().unwrap();
    assert_eq!(last["members"], 3, "{weekly}");

    let csv = server.client.get(server.url("/api/v1/groups/qq/g1/analytics/weekly?weeks=2")).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].trim_start_matches('\u{feff}').starts_with("week_start,members,active,silent_pct,messages"), "{text}");
    assert_eq!(lines.len(), 3, "a header and two weeks: {text}");

    let (_, core) = server.get("/api/v1/groups/qq/g1/analytics/core-members").await;
    assert_eq!(core["members"][0]["member"], "a", "{core}");
    let (_, silent) = server.get("/api/v1/groups/qq/g1/analytics/silent-members").await;
    let silent: Vec<&str> = silent["members"].as_array().unwrap().iter().map(|m| m["member"].as_str().unwrap()).collect();
    assert_eq!(silent, vec!["c"]);
    let (_, peaks) = server.get("/api/v1/groups/qq/g1/analytics/peak-hours").await;
    let total: i64 = peaks["grid"].as_array().unwrap().iter().flat_map(|d| d.as_array().unwrap().iter().map(|h| h.as_i64().unwrap())).sum();
    assert_eq!(total, 3, "{peaks}");
    let (_, stage) = server.get("/api/v1/groups/qq/g1/analytics/life-stage").await;
    assert_eq!(stage["stage"], "new", "{stage}");

    let sale = json!({"connector": "qq", "member": "a", "amount_cents": 19900, "product": "暑期班", "key": "order-1"});
    let (status, first) = server.post("/api/v1/conversions", sale.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["conversion"]["group"]["group"].as_str(), first["conversion"]["channel"].as_str(), first["conversion"]["tier"].as_str()), (Some("g1"), Some("poster"), Some("weak")), "{first}");
    let (status, again) = server.post("/api/v1/conversions", sale).await;
    assert_eq!((status, again["created"].as_bool()), (StatusCode::OK, Some(false)), "{again}");
    let (status, bad) = server.post("/api/v1/conversions", json!({"connector": "qq", "member": "a", "amount_cents": -1, "product": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (_, by_channel) = server.get("/api/v1/conversions/rates?by=channel").await;
    let poster = by_channel["rates"].as_array().unwrap().iter().find(|r| r["key"] == "poster").unwrap().clone();
    assert_eq!((poster["joins"].as_i64(), poster["converted_members"].as_i64(), poster["rate"].as_f64()), (Some(1), Some(1), Some(1.0)), "{by_channel}");
    let (_, by_group) = server.get("/api/v1/conversions/rates?by=group").await;
    let g1 = by_group["rates"].as_array().unwrap().iter().find(|r| r["key"] == "qq/g1").unwrap().clone();
    assert_eq!((g1["joins"].as_i64(), g1["converted_members"].as_i64()), (Some(3), Some(1)), "{by_group}");
    let (status, _) = server.get("/api/v1/conversions/rates?by=weather").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}
