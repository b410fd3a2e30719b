//! Whole-app tests of Telegram: `serve::run` with a `type = "telegram"` connector polling a
//! local Bot API peer that serves recorded updates and records every call qunzhu makes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod support;
#[path = "../../connectors/tests/support/telegram_peer.rs"]
mod telegram_peer;

use std::path::Path;
use std::time::Duration;

use qunzhu::config::{Config, ConnectorConfig};
use qunzhu_connectors::telegram::TelegramConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::Server;
use telegram_peer::{CHAT, TOKEN, TelegramPeer, fixture};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";
const WAIT: Duration = Duration::from_secs(20);

fn config(data_dir: &Path, peer: &TelegramPeer) -> Config {
    let mut telegram = TelegramConfig::polling("tg", TOKEN);
    telegram.api_url = peer.url.clone();
    telegram.poll_timeout_secs = 1;
    Config { data_dir: data_dir.to_path_buf(), connectors: vec![ConnectorConfig::Telegram(telegram)], ..Config::default() }
}

async fn put_rulebook(server: &Server, change: impl FnOnce(&mut Value)) {
    let (_, mut rulebook) = server.get("/api/v1/rulebook").await;
    let mut book = rulebook["rulebook"].take();
    change(&mut book);
    let (status, body) = server.send(reqwest::Method::PUT, "/api/v1/rulebook?author=alice&note=telegram", Some(book)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A message update from a recorded one, with its own ids, author and text.
fn message(update_id: i64, message_id: i64, user: (i64, &str), text: &str) -> Value {
    let mut update = fixture("message_text");
    update["update_id"] = json!(update_id);
    let message = &mut update["message"];
    message["message_id"] = json!(message_id);
    message["from"] = json!({"id": user.0, "is_bot": false, "first_name": user.1});
    message["text"] = json!(text);
    message.as_object_mut().unwrap().remove("entities");
    message.as_object_mut().unwrap().remove("reply_to_message");
    update
}

/// A join through a plain link (no name) of another user.
fn join(update_id: i64, user: (i64, &str)) -> Value {
    let mut update = fixture("chat_member_joined_by_link");
    update["update_id"] = json!(update_id);
    let person = json!({"id": user.0, "is_bot": false, "first_name": user.1});
    update["chat_member"]["from"] = person.clone();
    update["chat_member"]["old_chat_member"]["user"] = person.clone();
    update["chat_member"]["new_chat_member"]["user"] = person;
    update["chat_member"].as_object_mut().unwrap().remove("invite_link");
    update
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_through_a_channels_named_link_is_attributed_and_welcomed_with_a_real_mention() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    let (status, _) = server
        .post("/api/v1/channels", json!({"id": "gzh", "name": "公众号菜单", "tier": "strong", "code": "GZH2025", "by": "小王"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, link) =
        server.post("/api/v1/telegram/tg/invite-links", json!({"group": CHAT.to_string(), "channel": "gzh"})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    assert_eq!(link["invite_link"], "https://t.me/+linkGZH2025");
    assert_eq!(peer.calls_of("createChatInviteLink")[0].params["name"], "GZH2025");
    let (status, refused) =
        server.post("/api/v1/telegram/tg/invite-links", json!({"group": CHAT.to_string(), "channel": "nope"})).await;
    assert_eq!((status, refused["error"]["code"].clone()), (StatusCode::NOT_FOUND, json!("unknown_channel")));

    // The recorded join came through the link named GZH2025.
    peer.push_update(fixture("chat_member_joined_by_link"));
    let sends = peer.wait_for("sendMessage", 1, WAIT).await;
    let welcome = &sends[0].params;
    assert_eq!(welcome["chat_id"], CHAT);
    let mention = welcome["entities"].as_array().unwrap().iter().find(|e| e["type"] == "text_mention").expect("a real mention");
    assert_eq!(mention["user"]["id"], 111111111, "{welcome}");

    let (_, counts) = server.get("/api/v1/joins/counts").await;
    assert_eq!(counts["by_channel"], json!([{"key": "gzh", "joins": 1, "stays": 1}]), "{counts}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spam_is_deleted_and_a_repeat_mutes_its_author() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    peer.push_update(message(810000001, 601, (444444444, "好物分享"), AD));
    peer.wait_for("deleteMessage", 1, WAIT).await;
    peer.push_update(message(810000002, 602, (444444444, "好物分享"), AD));
    let deletes = peer.wait_for("deleteMessage", 2, WAIT).await;
    let deleted: Vec<i64> = deletes.iter().map(|c| c.params["message_id"].as_i64().unwrap()).collect();
    assert_eq!(deleted, [601, 602]);
    let mutes = peer.wait_for("restrictChatMember", 1, WAIT).await;
    assert_eq!(mutes[0].params["user_id"], 444444444);
    assert!(mutes[0].params["until_date"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn join_requests_are_approved_or_declined_by_the_admission_rules() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    put_rulebook(&server, |book| {
        book["templates"]["default"]["admission"]["otherwise"] = json!("approve");
        book["templates"]["default"]["admission"]["rules"] =
            json!([{"id": "ad-names", "field": "name", "regex": "好物", "reason": "昵称疑似广告号"}]);
    })
    .await;
    peer.push_update(fixture("chat_join_request"));
    let approved = peer.wait_for("approveChatJoinRequest", 1, WAIT).await;
    assert_eq!((approved[0].params["chat_id"].clone(), approved[0].params["user_id"].clone()), (json!(CHAT), json!(222222222)));
    let mut ad = fixture("chat_join_request");
    ad["update_id"] = json!(800000100);
    ad["chat_join_request"]["from"] = json!({"id": 555555555, "is_bot": false, "first_name": "好物推荐官"});
    ad["chat_join_request"]["user_chat_id"] = json!(555555555);
    peer.push_update(ad);
    let declined = peer.wait_for("declineChatJoinRequest", 1, WAIT).await;
    assert_eq!(declined[0].params["user_id"], 555555555);
    assert_eq!(peer.calls_of("approveChatJoinRequest").len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_neither_loses_nor_doubles_an_update() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    peer.push_update(message(820000001, 701, (444444444, "好物分享"), AD));
    peer.wait_for("deleteMessage", 1, WAIT).await;
    server.stop().await;

    // While qunzhu is down another spam arrives; the first is still unconfirmed at Telegram
    // unless qunzhu's last poll confirmed it.
    peer.push_update(message(820000002, 702, (666666666, "兼职招聘"), AD));
    let server = Server::start(config(dir.path(), &peer)).await;
    peer.wait_for("deleteMessage", 2, WAIT).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deleted: Vec<i64> = peer.calls_of("deleteMessage").iter().map(|c| c.params["message_id"].as_i64().unwrap()).collect();
    assert_eq!(deleted, [701, 702], "each update handled exactly once");
    assert_eq!(peer.unconfirmed(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_is_honoured_and_sends_to_one_chat_are_a_second_apart() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    put_rulebook(&server, |book| book["templates"]["default"]["welcome"]["batch_window_secs"] = json!(0)).await;
    peer.fail_next("sendMessage", fixture("too_many_requests"));
    for n in 0..3 {
        peer.push_update(join(830000001 + n, (900000001 + n, &format!("新人{n}"))));
    }
    let sends = peer.wait_for("sendMessage", 4, Duration::from_secs(40)).await;
    let refused_at = sends[0].at;
    assert!(sends[1].at - refused_at >= Duration::from_millis(1900), "the retry waited for retry_after: {:?}", sends[1].at - refused_at);
    for pair in sends[1..].windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(950), "sends to one chat {gap:?} apart");
    }
    let welcomed: Vec<i64> = sends[1..]
        .iter()
        .flat_map(|c| c.params["entities"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "text_mention")
        .map(|e| e["user"]["id"].as_i64().unwrap())
        .collect();
    let mut welcomed = welcomed;
    welcomed.sort_unstable();
    assert_eq!(welcomed, [900000001, 900000002, 900000003]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_private_warning_telegram_refuses_becomes_a_staff_task_with_the_manual_step() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(config(dir.path(), &peer)).await;
    put_rulebook(&server, |book| book["templates"]["default"]["moderation"]["ladder"] = json!(["delete+warn_private"])).await;
    // The recorded 403: the author never started the bot.
    peer.fail_next("sendMessage", fixture("cant_initiate_conversation"));
    peer.push_update(message(820000001, 701, (555555555, "小广告"), AD));
    peer.wait_for("deleteMessage", 1, WAIT).await;
    let dm = peer.wait_for("sendMessage", 1, WAIT).await;
    assert_eq!(dm[0].params["chat_id"], 555555555, "the warning was tried as a direct message");
    let deadline = std::time::Instant::now() + WAIT;
    let task = loop {
        let (_, body) = server.get("/api/v1/tasks?status=open").await;
        if let Some(task) = body["tasks"].as_array().unwrap().iter().find(|t| t["action"]["kind"]["type"] == "direct_message") {
            break task.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no staff task for the refused direct message: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let step = task["step"].as_str().unwrap();
    assert!(step.contains("小广告") && step.contains("tg://user?id=555555555") && step.contains("/start"), "{step}");
    assert_eq!(task["action"]["kind"]["member"], "555555555");
    // Once: the action is failed for good, not retried into more tasks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, body) = server.get("/api/v1/tasks").await;
    let handed: Vec<&Value> = body["tasks"].as_array().unwrap().iter().filter(|t| t["action"]["kind"]["type"] == "direct_message").collect();
    assert_eq!(handed.len(), 1, "{body}");
    assert_eq!(peer.calls_of("sendMessage").len(), 1, "not retried");
    let (_, audit) = server.get("/api/v1/audit?limit=50").await;
    assert!(audit.to_string().contains("task.handover"), "{audit}");
    server.stop().await;
}
