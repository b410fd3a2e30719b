//! The Telegram connector against recorded Bot API payloads and a local Bot API peer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub mod telegram_peer;
}

use std::time::Duration;

use chrono::Utc;
use qunzhu_connectors::telegram::{TelegramConfig, TelegramConnector, TelegramMode, update};
use qunzhu_core::{
    Action, ActionKind, Connector, ConnectorId, DeliveryError, Event, EventKind, GroupId, GroupKey, JoinScene, Role, Segment,
};
use qunzhu_connectors::secret::Secret;
use serde_json::{Value, json};
use support::telegram_peer::{CHAT, TOKEN, TelegramPeer, fixture};
use teloxide_core::types::Update;
use tokio::sync::mpsc;

fn decode(name: &str) -> Option<Event> {
    // From text, as it arrives (teloxide's update parser borrows its keys from the input).
    let update: Update = serde_json::from_str(&fixture(name).to_string()).unwrap();
    update::decode(&ConnectorId::new("tg"), &update)
}

#[test]
fn a_text_message_keeps_its_reply_mention_and_links() {
    let event = decode("message_text").unwrap();
    assert_eq!(event.origin.group.as_str(), "-1001234567890");
    assert_eq!(event.origin.event_id.as_str(), "u800000001");
    assert_eq!(event.group_name.as_deref(), Some("qunzhu 测试群"));
    let EventKind::MessagePosted { author, message } = event.kind else { panic!("not a message") };
    assert_eq!((author.id.as_str(), author.name.as_deref()), ("222222222", Some("Li Ming")));
    assert_eq!(message.id.as_str(), "501");
    assert_eq!(
        message.segments,
        vec![
            Segment::Reply { message_id: "480".into() },
            Segment::text("欢迎 "),
            Segment::Mention { member: "111111111".into(), name: Some("小王".into()) },
            Segment::text(" 👋 看 "),
            Segment::Link { url: "https://example.com/guide".into() },
            Segment::text(" 和 文档"),
            Segment::Link { url: "https://example.com/docs".into() },
        ]
    );
}

#[test]
fn a_photo_with_a_caption_is_text_plus_an_image() {
    let EventKind::MessagePosted { message, .. } = decode("message_photo").unwrap().kind else { panic!() };
    assert_eq!(message.segments, vec![Segment::text("加我 @liming 领资料"), Segment::Image { url: None, data: None }]);
}

#[test]
fn service_messages_and_private_chats_and_promotions_are_skipped() {
    assert_eq!(decode("message_new_chat_members"), None);
    assert_eq!(decode("message_private"), None);
    assert_eq!(decode("chat_member_promoted"), None);
}

#[test]
fn a_join_through_a_named_invite_link_carries_the_channel_code() {
    let event = decode("chat_member_joined_by_link").unwrap();
    let EventKind::MemberJoined { member, inviter, invite_code, join_scene } = event.kind else { panic!() };
    assert_eq!((member.id.as_str(), invite_code.as_deref(), inviter), ("111111111", Some("GZH2025"), None));
    assert_eq!(join_scene, Some(JoinScene::InviteLink));
}

#[test]
fn a_join_approved_from_a_request_says_so() {
    let mut recorded = fixture("chat_member_joined_by_link");
    recorded["chat_member"]["via_join_request"] = json!(true);
    let update: Update = serde_json::from_str(&recorded.to_string()).unwrap();
    let EventKind::MemberJoined { join_scene, .. } = update::decode(&ConnectorId::new("tg"), &update).unwrap().kind else { panic!() };
    assert_eq!(join_scene, Some(JoinScene::JoinRequest));
}

#[test]
fn a_member_added_by_someone_has_that_inviter() {
    let EventKind::MemberJoined { member, inviter, invite_code, join_scene } = decode("chat_member_added").unwrap().kind else { panic!() };
    assert_eq!(join_scene, Some(JoinScene::Invited), "added by someone");
    assert_eq!(member.id.as_str(), "333333333");
    assert_eq!(inviter.unwrap().id.as_str(), "222222222");
    assert_eq!(invite_code, None);
}

#[test]
fn leaving_and_being_kicked_are_told_apart() {
    let EventKind::MemberLeft { member, removed_by } = decode("chat_member_left").unwrap().kind else { panic!() };
    assert_eq!((member.id.as_str(), removed_by), ("222222222", None));
    let EventKind::MemberLeft { member, removed_by } = decode("chat_member_kicked").unwrap().kind else { panic!() };
    assert_eq!((member.id.as_str(), removed_by.unwrap().id.as_str()), ("111111111", "333333333"));
}

#[test]
fn a_join_request_is_answered_by_user_id_and_names_its_invite_link() {
    let EventKind::JoinRequested { member, request_id, comment } = decode("chat_join_request").unwrap().kind else { panic!() };
    assert_eq!((member.id.as_str(), request_id.as_str()), ("222222222", "222222222"));
    assert_eq!(comment.as_deref(), Some("前端工程师\nVIP2025"));
}

fn config(peer: &TelegramPeer) -> TelegramConfig {
    let mut config = TelegramConfig::polling("tg", TOKEN);
    config.api_url = peer.url.clone();
    config.poll_timeout_secs = 1;
    config.staff_chat_id = Some(-100_999);
    config
}

fn action(kind: ActionKind) -> Action {
    Action {
        id: "e1.0".into(),
        group: GroupKey { connector: ConnectorId::new("tg"), group: GroupId::new(CHAT.to_string()) },
        kind,
        rule: "test".into(),
        cause: None,
        explanation: "测试".into(),
        not_before: None,
        created_at: Utc::now(),
    }
}

async fn next_event(events: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("no event in time").expect("channel closed")
}

#[tokio::test]
async fn polling_delivers_updates_in_order_and_a_restart_neither_loses_nor_doubles_them() {
    let peer = TelegramPeer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = TelegramConnector::state_file_in(dir.path(), "tg");
    peer.push_update(fixture("chat_member_joined_by_link"));
    peer.push_update(fixture("message_text"));

    let (tx, mut events) = mpsc::channel(16);
    let connector = TelegramConnector::build(config(&peer), tx, Some(state.clone()), None);
    let running = tokio::spawn({
        let connector = connector.clone();
        async move { connector.run().await }
    });
    assert_eq!(next_event(&mut events).await.origin.event_id.as_str(), "u800000004");
    let message = next_event(&mut events).await;
    assert_eq!(message.origin.event_id.as_str(), "u800000001");
    // The author's role comes from the chat's administrators (Li is not one).
    let EventKind::MessagePosted { author, .. } = &message.kind else { panic!() };
    assert_eq!(author.role, Role::Member);
    let polls = peer.calls_of("getUpdates");
    assert!(polls[0].params["allowed_updates"].as_array().unwrap().contains(&json!("chat_member")));
    assert_eq!(peer.calls_of("deleteWebhook").len(), 1);
    // The offset that confirms the batch is on disk before the next poll.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "800000005");
    connector.close();
    running.await.unwrap();

    // While qunzhu is down, Telegram still has the batch (no getUpdates confirmed it) and gets a new update.
    peer.push_update(fixture("chat_join_request"));
    let polls_before = peer.calls_of("getUpdates").len();
    let (tx, mut events) = mpsc::channel(16);
    let connector = TelegramConnector::build(config(&peer), tx, Some(state.clone()), None);
    let running = tokio::spawn({
        let connector = connector.clone();
        async move { connector.run().await }
    });
    let event = next_event(&mut events).await;
    assert_eq!(event.origin.event_id.as_str(), "u800000009", "the first update after the restart is the new one");
    assert!(tokio::time::timeout(Duration::from_millis(1500), events.recv()).await.is_err(), "nothing doubled");
    assert_eq!(peer.calls_of("getUpdates")[polls_before].params["offset"], json!(800000005), "the restart polled from the stored offset");
    connector.close();
    running.await.unwrap();
}

#[tokio::test]
async fn the_admins_of_a_chat_are_staff() {
    let peer = TelegramPeer::start().await;
    let mut from_admin = fixture("message_text");
    from_admin["message"]["from"] = json!({"id": 333333333, "is_bot": false, "first_name": "群管"});
    let (tx, mut events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    connector.forward(&serde_json::from_str(&from_admin.to_string()).unwrap()).await;
    let EventKind::MessagePosted { author, .. } = next_event(&mut events).await.kind else { panic!() };
    assert_eq!(author.role, Role::Owner);
}

#[tokio::test]
async fn every_action_becomes_the_documented_bot_api_call() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    let run = |kind| {
        let connector = connector.clone();
        async move { connector.deliver(&action(kind)).await }
    };
    run(ActionKind::Reply {
        to: "501".into(),
        segments: vec![Segment::text("欢迎 "), Segment::Mention { member: "111111111".into(), name: Some("小王".into()) }],
    })
    .await
    .unwrap();
    run(ActionKind::Delete { message_id: "502".into() }).await.unwrap();
    run(ActionKind::Mute { member: "111111111".into(), duration_secs: 600 }).await.unwrap();
    run(ActionKind::Unmute { member: "111111111".into() }).await.unwrap();
    run(ActionKind::Kick { member: "111111111".into() }).await.unwrap();
    run(ActionKind::Ban { member: "222222222".into() }).await.unwrap();
    run(ActionKind::Unban { member: "222222222".into() }).await.unwrap();
    run(ActionKind::ApproveJoin { request_id: "222222222".into(), member: "222222222".into() }).await.unwrap();
    run(ActionKind::RejectJoin { request_id: "333333333".into(), member: "333333333".into(), reason: "x".into() }).await.unwrap();
    run(ActionKind::NotifyStaff { text: "请处理".into() }).await.unwrap();

    let calls: Vec<(String, Value)> = peer.calls().into_iter().map(|c| (c.method, c.params)).collect();
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        [
            "sendMessage",
            "deleteMessage",
            "restrictChatMember",
            "restrictChatMember",
            "banChatMember",
            "unbanChatMember",
            "banChatMember",
            "unbanChatMember",
            "approveChatJoinRequest",
            "declineChatJoinRequest",
            "sendMessage"
        ]
    );
    let send = &calls[0].1;
    assert_eq!((send["chat_id"].clone(), send["text"].clone()), (json!(CHAT), json!("欢迎 小王")));
    assert_eq!(send["reply_parameters"]["message_id"], 501);
    assert_eq!(send["entities"][0]["type"], "text_mention");
    assert_eq!(send["entities"][0]["user"]["id"], 111111111);
    assert_eq!((send["entities"][0]["offset"].clone(), send["entities"][0]["length"].clone()), (json!(3), json!(2)));
    assert_eq!(calls[1].1["message_id"], 502);
    let mute = &calls[2].1;
    // Omitted permissions are refused: an empty set mutes completely.
    assert!(mute["permissions"].as_object().unwrap().values().all(|v| v != &json!(true)), "{mute}");
    let until = mute["until_date"].as_i64().unwrap();
    assert!((until - (Utc::now().timestamp() + 600)).abs() < 10, "until_date {until}");
    assert_eq!(calls[3].1["permissions"]["can_send_messages"], true);
    assert_eq!(calls[3].1.get("until_date"), None);
    assert_eq!(calls[5].1["only_if_banned"], true);
    assert_eq!(calls[8].1["user_id"], 222222222);
    assert_eq!(calls[10].1["chat_id"], -100_999);
}

#[tokio::test]
async fn a_direct_message_to_a_member_who_never_started_the_bot_asks_staff_to_write_it_by_hand() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    peer.fail_next("sendMessage", fixture("cant_initiate_conversation"));
    let error = connector
        .deliver(&action(ActionKind::DirectMessage { member: "111111111".into(), segments: vec![Segment::text("你好")] }))
        .await
        .unwrap_err();
    let DeliveryError::NeedsStaff { reason, title, step } = error else { panic!("{error:?}") };
    assert!(reason.contains("has not started the bot"), "{reason}");
    assert!(title.contains("111111111") && title.contains("未启动机器人"), "{title}");
    assert!(step.contains("tg://user?id=111111111") && step.contains("你好") && step.contains("/start"), "the exact manual step: {step}");
    assert_eq!(peer.calls_of("sendMessage")[0].params["chat_id"], 111111111);
}

#[tokio::test]
async fn a_429_is_a_retry_after_its_wait_and_holds_back_the_chat_meanwhile() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    peer.fail_next("sendMessage", fixture("too_many_requests"));
    let send = action(ActionKind::Send { segments: vec![Segment::text("一")] });
    let error = connector.deliver(&send).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Temporary { retry_after_secs: Some(2), .. }), "{error:?}");
    let error = connector.deliver(&send).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Temporary { retry_after_secs: Some(_), .. }), "{error:?}");
    assert_eq!(peer.calls_of("sendMessage").len(), 1, "the held chat was not called again");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    connector.deliver(&send).await.unwrap();
    assert_eq!(peer.calls_of("sendMessage").len(), 2);
}

#[tokio::test]
async fn sends_to_one_chat_are_a_second_apart() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    for n in 0..3 {
        connector.deliver(&action(ActionKind::Send { segments: vec![Segment::text(format!("第{n}条"))] })).await.unwrap();
    }
    let sends = peer.calls_of("sendMessage");
    for pair in sends.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(950), "gap {gap:?}");
    }
}

#[tokio::test]
async fn an_invite_link_is_named_after_the_channel_code() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    let link = connector.create_invite_link(&CHAT.to_string(), "GZH2025", true).await.unwrap();
    assert_eq!(link, "https://t.me/+linkGZH2025");
    let call = &peer.calls_of("createChatInviteLink")[0].params;
    assert_eq!((call["name"].clone(), call["creates_join_request"].clone()), (json!("GZH2025"), json!(true)));
}

#[tokio::test]
async fn the_webhook_takes_updates_only_with_the_secret_token() {
    use tower::ServiceExt;
    let peer = TelegramPeer::start().await;
    let mut config = config(&peer);
    config.mode = TelegramMode::Webhook;
    config.webhook_secret = Some(Secret::new("hook-secret_1"));
    let (tx, mut events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config, tx);
    let post = |secret: Option<&str>| {
        let mut request = axum::http::Request::post("/telegram/tg/webhook").header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.body(axum::body::Body::from(fixture("chat_join_request").to_string())).unwrap()
    };
    let refused = connector.router().oneshot(post(Some("wrong"))).await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused = connector.router().oneshot(post(None)).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(events.try_recv().is_err());
    let taken = connector.router().oneshot(post(Some("hook-secret_1"))).await.unwrap();
    assert_eq!(taken.status(), 200);
    assert!(matches!(next_event(&mut events).await.kind, EventKind::JoinRequested { .. }));
}


#[tokio::test]
async fn a_mute_without_duration_lasts_until_lifted_and_a_short_one_lasts_thirty_seconds() {
    let peer = TelegramPeer::start().await;
    let (tx, _events) = mpsc::channel(16);
    let connector = TelegramConnector::new(config(&peer), tx);
    connector.deliver(&action(ActionKind::Mute { member: "111111111".into(), duration_secs: 0 })).await.unwrap();
    connector.deliver(&action(ActionKind::Mute { member: "111111111".into(), duration_secs: 5 })).await.unwrap();
    let mutes = peer.calls_of("restrictChatMember");
    assert_eq!(mutes[0].params.get("until_date"), None, "{}", mutes[0].params);
    let until = mutes[1].params["until_date"].as_i64().unwrap();
    assert!((until - (Utc::now().timestamp() + 30)).abs() < 5, "until_date {until}");
}
