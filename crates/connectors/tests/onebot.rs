//! The OneBot connector against the spec-faithful implementation-side peer over a real
//! reverse WebSocket on port 0: events in, calls out, reconnects, refused tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/onebot_peer.rs"]
mod onebot_peer;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use onebot_peer::{Peer, PeerOptions, events, handshake};
use qunzhu_connectors::onebot::{OnebotConfig, OnebotConnector};
use qunzhu_core::{Action, ActionKind, Connector, Delivery, Event, EventKind, GroupKey, Segment};
use serde_json::json;
use tokio::sync::mpsc;

const TOKEN: &str = "onebot-secret";

struct Rig {
    connector: Arc<OnebotConnector>,
    events: mpsc::Receiver<Event>,
    url: String,
}

async fn rig() -> Rig {
    let (tx, events) = mpsc::channel(64);
    let connector = OnebotConnector::new(OnebotConfig::reverse_ws("qq", TOKEN), tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/onebot/v11/ws", listener.local_addr().unwrap());
    let router = connector.router().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Rig { connector, events, url }
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
async fn events_from_the_peer_arrive_in_order_and_calls_are_answered_by_echo() {
    let mut rig = rig().await;
    let peer = Peer::start(PeerOptions::new(&rig.url, Some(TOKEN)));
    peer.wait_connected().await;
    peer.send(events::heartbeat(peer.self_id()));
    peer.send(events::group_increase(peer.self_id(), 123456, 20001, 30001, "invite"));
    peer.send(events::group_message(peer.self_id(), 123456, 20001, 77, json!("[CQ:at,qq=10000] 你好&#91;"), "member"));
    peer.send(events::group_request(peer.self_id(), 123456, 20002, "flag-1", "朋友推荐"));

    let join = next_event(&mut rig.events).await;
    assert!(matches!(join.kind, EventKind::MemberJoined { inviter: Some(ref i), .. } if i.id.as_str() == "30001"));
    let message = next_event(&mut rig.events).await;
    let EventKind::MessagePosted { message, .. } = message.kind else { panic!("{message:?}") };
    assert_eq!(message.plain_text(), "@10000 你好[");
    let request = next_event(&mut rig.events).await;
    assert!(matches!(request.kind, EventKind::JoinRequested { ref request_id, .. } if request_id == "flag-1"));

    let health = rig.connector.health();
    assert!(health.connected);
    assert_eq!(health.self_id.as_deref(), Some("10000"));
    assert!(health.last_heartbeat_at.is_some());

    let delivered = rig
        .connector
        .deliver(&action(ActionKind::Send {
            segments: vec![Segment::Mention { member: "20001".into(), name: None }, Segment::text(" 欢迎")],
        }))
        .await;
    assert_eq!(delivered, Ok(Delivery::Done));
    let call = peer.wait_for("send_group_msg").await;
    assert_eq!(call["params"]["group_id"], 123456);
    assert_eq!(call["params"]["message"][0], json!({"type": "at", "data": {"qq": "20001"}}));
    assert!(call["echo"].is_string());
}

#[tokio::test]
async fn a_dropped_connection_fails_calls_temporarily_until_the_peer_reconnects() {
    let rig = rig().await;
    let mut options = PeerOptions::new(&rig.url, Some(TOKEN));
    options.reconnect = Duration::from_millis(500);
    let peer = Peer::start(options);
    peer.wait_connected().await;
    peer.drop_connection();
    // The server notices the socket went away.
    for _ in 0..100 {
        if !rig.connector.health().connected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kick = action(ActionKind::Kick { member: "20001".into() });
    assert!(matches!(rig.connector.deliver(&kick).await, Err(qunzhu_core::DeliveryError::Temporary { .. })));
    assert!(rig.connector.health().last_error.is_some());
    peer.wait_connected().await;
    for _ in 0..100 {
        if rig.connector.health().connected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rig.connector.deliver(&kick).await, Ok(Delivery::Done));
    assert_eq!(peer.calls_of("set_group_kick").len(), 1);
    assert_eq!(rig.connector.health().connections, 2);
}

#[tokio::test]
async fn a_missing_or_wrong_access_token_is_refused_and_the_query_token_is_accepted() {
    let rig = rig().await;
    assert_eq!(handshake(&PeerOptions::new(&rig.url, None)).await, Err(401));
    assert_eq!(handshake(&PeerOptions::new(&rig.url, Some("wrong"))).await, Err(403));
    let query = format!("{}?access_token={TOKEN}", rig.url);
    assert_eq!(handshake(&PeerOptions::new(query, None)).await, Ok(()));
    assert!(rig.connector.health().connections >= 1);
}

/// A forward-WebSocket implementation (the server side), reduced to what the test needs:
/// it checks the token, sends one group message, answers calls, and can be restarted.
#[allow(clippy::result_large_err)] // tungstenite's handshake callback type, not ours
async fn forward_server(listener: tokio::net::TcpListener, message_id: i64) -> (Vec<String>, Vec<serde_json::Value>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    let (stream, _) = listener.accept().await.unwrap();
    let mut authorization = Vec::new();
    let socket = tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response: Response| {
        authorization.extend(request.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned()));
        Ok(response)
    })
    .await
    .unwrap();
    let (mut sink, mut stream) = socket.split();
    let event = events::group_message(10_000, 123_456, 20_001, message_id, json!("你好"), "member");
    sink.send(Message::Text(event.to_string().into())).await.unwrap();
    let mut calls = Vec::new();
    if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
        let call: serde_json::Value = serde_json::from_str(&text).unwrap();
        let answer = json!({"status": "ok", "retcode": 0, "data": {"message_id": 1}, "echo": call["echo"]});
        sink.send(Message::Text(answer.to_string().into())).await.unwrap();
        calls.push(call);
    }
    (authorization, calls)
}

#[tokio::test]
async fn forward_ws_connects_with_the_token_and_reconnects_when_the_implementation_restarts() {
    // Unreachable at first: the connector keeps trying and says why it is not connected.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = probe.local_addr().unwrap();
    drop(probe);
    let (tx, mut events) = mpsc::channel(8);
    let mut config = OnebotConfig::reverse_ws("qq", TOKEN);
    config.mode = qunzhu_connectors::onebot::OnebotMode::ForwardWs;
    config.url = Some(format!("ws://{address}"));
    config.reconnect_max_secs = 1;
    let connector = OnebotConnector::new(config, tx);
    assert!(connector.router().is_none());
    let client = connector.clone();
    let running = tokio::spawn(async move { client.run().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = connector.health();
    assert!(!health.connected);
    assert!(health.last_error.is_some_and(|e| e.contains("could not connect")));

    for (round, message_id) in [(1, 901), (2, 902)] {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let server = tokio::spawn(forward_server(listener, message_id));
        let event = next_event(&mut events).await;
        assert_eq!(event.origin.event_id.as_str(), format!("msg:{message_id}"));
        assert_eq!(connector.deliver(&action(ActionKind::Delete { message_id: "5".into() })).await, Ok(Delivery::Done));
        let (authorization, calls) = server.await.unwrap();
        assert_eq!(authorization, [format!("Bearer {TOKEN}")]);
        assert_eq!(calls[0]["action"], "delete_msg");
        assert_eq!(connector.health().connections, round);
    }
    connector.close();
    tokio::time::timeout(Duration::from_secs(5), running).await.unwrap().unwrap();
}
