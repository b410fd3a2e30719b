//! Channels (渠道活码) end to end: `serve::run` on port 0 over a temporary SQLite data dir,
//! driven through the HTTP API, the public landing route, the bridge and the sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

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

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn bridge(server: &Server, id: &str, time: &str, mut event: Value) {
    event["id"] = json!(id);
    event["time"] = json!(format!("2026-11-23T{time}+08:00"));
    let response = server.client.post(server.url("/api/v1/bridge/qq/events")).bearer_auth(TOKEN).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{event}");
}

async fn join(server: &Server, group: &str, member: &str, code: &str, time: &str) {
    let event = json!({"type": "member_joined", "group": {"id": group, "name": format!("{group}群")},
                       "actor": {"id": member, "name": format!("成员{member}")}, "invite_code": code});
    bridge(server, &format!("join-{group}-{member}"), time, event).await;
}

async fn create_channel(server: &Server, body: Value) -> Value {
    let (status, created) = server.post("/api/v1/channels", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn scan(server: &Server, code: &str) -> (StatusCode, Option<String>, String) {
    let response = no_redirects().get(server.url(&format!("/i/{code}"))).send().await.unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

async fn pool_tasks(server: &Server) -> Vec<Value> {
    let (_, tasks) = server.get("/api/v1/tasks").await;
    tasks["tasks"].as_array().unwrap().iter().filter(|t| t["step"].as_str().unwrap().contains("请为渠道池")).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_link_routes_through_its_pool_and_asks_staff_once_when_every_group_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let (status, pool) = server
        .send(
            reqwest::Method::PUT,
            "/api/v1/pools/fans",
            Some(json!({"name": "粉丝池", "alert_at_percent": 100, "by": "小王", "groups": [
                {"group": "qq/g1", "cap": 2, "invite_url": "https://qm.qq.com/q/g1"},
                {"group": "qq/g2", "cap": 2, "invite_url": "https://qm.qq.com/q/g2"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pool}");
    let created = create_channel(
        &server,
        json!({"id": "gzh", "name": "公众号菜单", "tier": "strong", "tags": ["粉丝", "公众号"], "pool": "fans", "code": "gzh2026", "by": "小王"}),
    )
    .await;
    assert_eq!(created["channel"]["code"], "GZH2026");
    assert_eq!(created["link"], json!(server.url("/i/GZH2026")));

    let (status, location, _) = scan(&server, "GZH2026").await;
    assert_eq!((status, location.as_deref()), (StatusCode::FOUND, Some("https://qm.qq.com/q/g1")));

    // The first group reaches its cap: the link now sends newcomers to the second.
    join(&server, "g1", "u1", "GZH2026", "10:00:00").await;
    join(&server, "g1", "u2", "gzh2026", "10:00:05").await;
    let (status, location, _) = scan(&server, "gzh2026").await;
    assert_eq!((status, location.as_deref()), (StatusCode::FOUND, Some("https://qm.qq.com/q/g2")));
    assert!(pool_tasks(&server).await.is_empty(), "no alert while a group has room");

    // Every group full: a page instead of a redirect, and one staff task however many scans.
    join(&server, "g2", "u3", "GZH2026", "10:01:00").await;
    join(&server, "g2", "u4", "GZH2026", "10:01:05").await;
    let (status, location, page) = scan(&server, "GZH2026").await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert!(page.contains("群已满"), "{page}");
    scan(&server, "GZH2026").await;
    let tasks = pool_tasks(&server).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(tasks[0]["step"].as_str().unwrap().contains("请为渠道池「粉丝池」新建一个群并加入池"));
    let (_, status_now) = server.get("/api/v1/pools/fans").await;
    assert_eq!((status_now["current"].clone(), status_now["needs_new_group"].clone()), (Value::Null, json!(true)));

    // Joins are counted for the channel and the tier, and the profile shows where they came from.
    let (_, counts) = server.get("/api/v1/joins/counts").await;
    assert_eq!(counts["by_channel"], json!([{"key": "gzh", "joins": 4, "stays": 4}]));
    assert_eq!(counts["by_tier"], json!([{"key": "strong", "joins": 4, "stays": 4}]));
    let (_, window) = server.get("/api/v1/joins/counts?from=2026-11-23T02:01:00Z&until=2026-11-24").await;
    assert_eq!(window["by_tier"], json!([{"key": "strong", "joins": 2, "stays": 2}]));
    let (status, profile) = server.get("/api/v1/members/qq/u1").await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    let member = &profile["member"];
    assert_eq!((member["channel"].clone(), member["tier"].clone(), member["tags"].clone()), (json!("gzh"), json!("strong"), json!(["公众号", "粉丝"])));
    assert_eq!(member["groups"][0]["group"], json!({"connector": "qq", "group": "g1"}));

    // Manual tags, and a search by tag.
    let (status, tagged) = server.post("/api/v1/members/qq/u1/tags", json!({"add": ["VIP"], "remove": ["公众号"], "by": "小王"})).await;
    assert_eq!(status, StatusCode::OK, "{tagged}");
    assert_eq!(tagged["member"]["tags"], json!(["VIP", "粉丝"]));
    let (_, found) = server.get("/api/v1/members?tag=VIP").await;
    assert_eq!(found["members"].as_array().unwrap().iter().map(|m| m["member"].clone()).collect::<Vec<_>>(), vec![json!("u1")]);
    let (status, missing) = server.post("/api/v1/members/qq/nobody/tags", json!({"add": ["VIP"], "by": "小王"})).await;
    assert_eq!((status, missing["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));

    // A kick and a leave are on the churn list, newest first, with reason and tenure.
    bridge(&server, "kick-u1", "12:00:00", json!({"type": "member_left", "group": {"id": "g1"}, "actor": {"id": "u1", "name": "成员u1"}, "removed_by": {"id": "admin", "name": "管理员"}})).await;
    bridge(&server, "leave-u2", "13:00:05", json!({"type": "member_left", "group": {"id": "g1"}, "actor": {"id": "u2", "name": "成员u2"}})).await;
    let (_, churn) = server.get("/api/v1/groups/qq/g1/churn").await;
    let leaves: Vec<(Value, Value, Value, Value)> = churn["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["member"].clone(), l["reason"].clone(), l["tenure_secs"].clone(), l["tier"].clone()))
        .collect();
    assert_eq!(leaves, vec![(json!("u2"), json!("left"), json!(3 * 3600), json!("strong")), (json!("u1"), json!("removed"), json!(2 * 3600), json!("strong"))]);
    let (_, counts) = server.get("/api/v1/joins/counts").await;
    assert_eq!(counts["by_channel"], json!([{"key": "gzh", "joins": 4, "stays": 2}]));
    let (_, refreshed) = server.get("/api/v1/pools/fans").await;
    assert_eq!(refreshed["current"], json!({"connector": "qq", "group": "g1"}), "the leaves made room in the first group");
    server.stop().await;
}

/// The dark modules of the SVG (`M x y h1v1h-1z` squares) painted into a PNG.
fn svg_to_png(svg: &str) -> Vec<u8> {
    let side: u32 = regex::Regex::new(r#"viewBox="0 0 (\d+) \d+""#).unwrap().captures(svg).unwrap()[1].parse().unwrap();
    let scale = 8;
    let mut image = image::GrayImage::from_pixel(side * scale, side * scale, image::Luma([255]));
    for module in regex::Regex::new(r"M(\d+) (\d+)h1v1h-1z").unwrap().captures_iter(svg) {
        let (x, y): (u32, u32) = (module[1].parse().unwrap(), module[2].parse().unwrap());
        for dy in 0..scale {
            for dx in 0..scale {
                image.put_pixel(x * scale + dx, y * scale + dy, image::Luma([0]));
            }
        }
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_codes_decode_back_to_the_channels_landing_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    let created = create_channel(&server, json!({"id": "poster", "name": "裂变海报", "tier": "weak", "by": "小王"})).await;
    let code = created["channel"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6, "a code is made when none is given");
    assert!(code.chars().all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)), "{code}");
    let landing = server.url(&format!("/i/{code}"));

    let png = server.client.get(server.url("/api/v1/channels/poster/qr.png")).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(qunzhu_text::qr::decode_qr(&png.bytes().await.unwrap()), vec![landing.clone()]);

    let svg = server.client.get(server.url("/api/v1/channels/poster/qr.svg")).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.starts_with("<svg"));
    assert_eq!(qunzhu_text::qr::decode_qr(&svg_to_png(&svg)), vec![landing.clone()]);

    // Without a pool the landing page shows the code to put in the join request.
    let (status, location, page) = scan(&server, &code).await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert!(page.contains(&code) && page.contains("申请理由"), "{page}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_join_through_a_channel_counts_for_it_and_bad_channels_are_refused_with_stable_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path())).await;
    create_channel(&server, json!({"id": "article", "name": "公众号文章", "tier": "medium", "tags": ["读者"], "code": "WZ2026", "by": "小王"})).await;
    let group = server.sandbox_group("沙盒群").await;
    let (status, joined) = server
        .post(&format!("/api/v1/sandbox/groups/{group}/events"), json!({"type": "join", "member": {"id": "s1", "name": "读者甲"}, "invite_code": "WZ2026"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let (_, counts) = server.get("/api/v1/joins/counts").await;
    assert_eq!(counts["by_tier"], json!([{"key": "medium", "joins": 1, "stays": 1}]));
    let (_, profile) = server.get("/api/v1/members/sandbox/s1").await;
    assert_eq!((profile["member"]["channel"].clone(), profile["member"]["tags"].clone()), (json!("article"), json!(["读者"])));

    let refused = [
        (json!({"id": "Bad Id", "name": "x", "tier": "weak", "by": "小王"}), StatusCode::BAD_REQUEST, "invalid_request", "id"),
        (json!({"id": "x", "name": "x", "tier": "粉丝", "by": "小王"}), StatusCode::BAD_REQUEST, "invalid_request", "tier"),
        (json!({"id": "x", "name": "x", "tier": "weak", "code": "a-b", "by": "小王"}), StatusCode::BAD_REQUEST, "invalid_request", "code"),
        (json!({"id": "x", "name": "x", "tier": "weak"}), StatusCode::BAD_REQUEST, "invalid_request", "by"),
        (json!({"id": "article", "name": "x", "tier": "weak", "by": "小王"}), StatusCode::CONFLICT, "channel_exists", "id"),
        (json!({"id": "x", "name": "x", "tier": "vip-fans", "code": "wz2026", "by": "小王"}), StatusCode::CONFLICT, "code_taken", "code"),
    ];
    for (body, status, code, field) in refused {
        let (got, answer) = server.post("/api/v1/channels", body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str(), answer["error"]["field"].as_str()), (status, Some(code), Some(field)), "{body}: {answer}");
    }
    let (status, _) = server.get("/api/v1/channels/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = scan(&server, "NOPE99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An archived channel's link no longer invites, but the channel stays listed on request.
    let (status, _) = server.send(reqwest::Method::DELETE, "/api/v1/channels/article?by=小王", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = scan(&server, "WZ2026").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = server.get("/api/v1/channels").await;
    assert_eq!(listed["channels"], json!([]));
    let (_, listed) = server.get("/api/v1/channels?archived=true").await;
    assert_eq!(listed["channels"][0]["channel"]["archived"], json!(true));
    server.stop().await;
}
