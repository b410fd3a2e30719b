//! The OneBot connector in `http` mode against the spec-faithful implementation-side peer:
//! events POSTed to qunzhu's route (signature and token checked), calls made to the peer's
//! HTTP API (`POST /:action`), an API that goes down and comes back, a refused token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/onebot_peer.rs"]
mod onebot_peer;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use onebot_peer::{HttpPeer, HttpPeerOptions, events};
use qunzhu_connectors::onebot::{OnebotConfig, OnebotConnector, OnebotMode};
use qunzhu_core::{Action, ActionKind, Connector, Delivery, DeliveryError, Event, EventKind, GroupKey, Segment};
use serde_json::json;
use tokio::sync::mpsc;

const TOKEN: &str = "onebot-secret";
const SECRET: &str = "signing-secret";

struct Rig {
    connector: Arc<OnebotConnector>,
    events: mpsc::Receiver<Event>,
    peer: HttpPeer,
}

/// The peer's API server and the connector's event route, each on its own port 0.
async fn rig(secret: Option<&str>, peer_token: Option<&str>, peer_secret: Option<&str>) -> Rig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let event_url = format!("http://{}/onebot/v11/http", listener.local_addr().unwrap());
    let peer = HttpPeer::start(HttpPeerOptions::new(event_url, peer_token, peer_secret)).await;
    let (tx, events) = mpsc::channel(64);
    let config = OnebotConfig::http("qq", TOKEN, &peer.api_url(), secret);
    assert_eq!(config.mode, OnebotMode::Http);
    let connector = OnebotConnector::new(config, tx);
    let router = connector.router().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Rig { connector, events, peer }
}

async fn next_event(events: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv()).await.expect("no event").unwrap()
}

fn action(kind: ActionKind) -> Action {
    Action {
        id: "a1".into(),
        group: GroupKey::new("qq", "123456"),
        kind,
        rule: "test".into(),
        cause: None,
        explanation: String::new(),
        not_before: None,
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn signed_events_arrive_in_order_and_calls_go_to_the_http_api_with_the_token() {
    let mut rig = rig(Some(SECRET), Some(TOKEN), Some(SECRET)).await;
    let peer = &rig.peer;
    assert!(!rig.connector.health().connected);
    peer.send(events::heartbeat(peer.self_id())).await;
    peer.send(events::group_increase(peer.self_id(), 123_456, 20001, 30001, "invite")).await;
    peer.send(events::group_message(peer.self_id(), 123_456, 20001, 77, json!("[CQ:at,qq=10000] 你好&#91;"), "member"))
        .await;

    let join = next_event(&mut rig.events).await;
    assert!(matches!(join.kind, EventKind::MemberJoined { inviter: Some(ref i), .. } if i.id.as_str() == "30001"));
    let message = next_event(&mut rig.events).await;
    assert_eq!(message.origin.event_id.as_str(), "msg:77");
    let EventKind::MessagePosted { message, .. } = message.kind else { panic!("{message:?}") };
    assert_eq!(message.plain_text(), "@10000 你好[");
    let health = rig.connector.health();
    assert!(health.connected);
    assert_eq!(health.self_id.as_deref(), Some("10000"));
    assert_eq!(health.mode, OnebotMode::Http);

    let delivered = rig
        .connector
        .deliver(&action(ActionKind::Send {
            segments: vec![Segment::Mention { member: "20001".into(), name: None }, Segment::text(" 欢迎")],
        }))
        .await;
    assert_eq!(delivered, Ok(Delivery::Done));
    let call = peer.wait_for("send_group_msg").await;
    assert_eq!(call["params"]["group_id"], 123_456);
    assert_eq!(call["params"]["message"][0], json!({"type": "at", "data": {"qq": "20001"}}));
    assert_eq!(
        rig.connector.deliver(&action(ActionKind::Mute { member: "20001".into(), duration_secs: 600 })).await,
        Ok(Delivery::Done)
    );
    assert_eq!(peer.wait_for("set_group_ban").await["params"], json!({"group_id": 123_456, "user_id": 20001, "duration": 600}));
}

#[tokio::test]
async fn bad_or_missing_signatures_and_tokens_are_refused_and_nothing_gets_through() {
    let mut rig = rig(Some(SECRET), Some(TOKEN), Some(SECRET)).await;
    let peer = &rig.peer;
    let event = events::group_increase(peer.self_id(), 123_456, 20001, 0, "approve");
    let body = event.to_string().into_bytes();
    assert_eq!(peer.post_raw(body.clone(), None).await, 401, "unsigned");
    assert_eq!(peer.post_raw(body.clone(), Some("not-the-secret")).await, 401, "wrongly signed");
    assert_eq!(peer.post_raw(b"{not json".to_vec(), Some(SECRET)).await, 400);

    // A wrong token is refused even with a good signature; no token with a good signature
    // is fine (Lagrange's HttpPost signs but sends no token).
    let wrong = HttpPeerOptions::new(peer.event_url(), Some("wrong"), Some(SECRET));
    assert_eq!(HttpPeer::start(wrong).await.post(&event).await, 403);
    let tokenless = HttpPeerOptions::new(peer.event_url(), None, Some(SECRET));
    assert!(rig.events.try_recv().is_err(), "a refused event got through");
    assert_eq!(HttpPeer::start(tokenless).await.post(&event).await, 204);
    assert_eq!(next_event(&mut rig.events).await.kind.name(), "member_joined");
}

#[tokio::test]
async fn without_a_secret_the_access_token_is_what_lets_events_in() {
    let mut rig = rig(None, Some(TOKEN), None).await;
    let event = events::group_increase(rig.peer.self_id(), 123_456, 20001, 0, "approve");
    assert_eq!(rig.peer.post(&event).await, 204);
    next_event(&mut rig.events).await;
    let url = rig.peer.event_url();
    assert_eq!(HttpPeer::start(HttpPeerOptions::new(url.clone(), None, None)).await.post(&event).await, 401);
    assert_eq!(HttpPeer::start(HttpPeerOptions::new(url, Some("wrong"), None)).await.post(&event).await, 403);
    assert!(rig.events.try_recv().is_err());
}

#[tokio::test]
async fn a_call_while_the_api_is_down_fails_temporarily_and_succeeds_once_it_is_back() {
    let mut rig = rig(Some(SECRET), Some(TOKEN), Some(SECRET)).await;
    let kick = action(ActionKind::Kick { member: "20001".into() });
    assert_eq!(rig.connector.deliver(&kick).await, Ok(Delivery::Done));
    assert!(rig.connector.health().connected);

    rig.peer.stop_api().await;
    let outcome = rig.connector.deliver(&kick).await;
    assert!(matches!(outcome, Err(DeliveryError::Temporary { ref message, .. }) if message.contains("could not reach")), "{outcome:?}");
    let health = rig.connector.health();
    assert!(!health.connected);
    assert!(health.last_error.is_some());

    rig.peer.restart_api().await;
    assert_eq!(rig.connector.deliver(&kick).await, Ok(Delivery::Done));
    assert_eq!(rig.peer.calls_of("set_group_kick").len(), 2);
    let health = rig.connector.health();
    assert!(health.connected);
    assert_eq!(health.connections, 2);
    assert!(health.last_error.is_none());
}

#[tokio::test]
async fn an_api_that_refuses_the_token_is_a_permanent_failure_that_says_so() {
    let rig = rig(Some(SECRET), Some("the-implementations-token"), Some(SECRET)).await;
    let outcome = rig.connector.deliver(&action(ActionKind::Delete { message_id: "5".into() })).await;
    assert!(
        matches!(outcome, Err(DeliveryError::Permanent(ref message)) if message.contains("access_token") && message.contains("403")),
        "{outcome:?}"
    );
    assert!(rig.peer.calls().is_empty());
    assert!(!rig.connector.health().connected);
}
