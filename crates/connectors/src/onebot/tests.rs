use chrono::Utc;
use qunzhu_core::{ActionKind, GroupKey, Segment};

use super::*;

fn action(kind: ActionKind) -> Action {
    Action {
        id: "a1".into(),
        group: GroupKey::new("qq", "123456"),
        kind,
        rule: "welcome".into(),
        cause: None,
        explanation: String::new(),
        not_before: None,
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_call_while_disconnected_is_a_temporary_failure_and_health_says_so() {
    let (events, _rx) = mpsc::channel(8);
    let connector = OnebotConnector::new(OnebotConfig::reverse_ws("qq", "t"), events);
    let outcome = connector
        .deliver(&action(ActionKind::Send { segments: vec![Segment::text("hi")] }))
        .await;
    assert!(matches!(outcome, Err(DeliveryError::Temporary { .. })), "{outcome:?}");
    let health = HealthReport::health(connector.as_ref());
    assert_eq!(health["connected"], false);
    assert_eq!(health["mode"], "reverse_ws");
}

#[tokio::test]
async fn an_answer_is_matched_by_echo_and_a_failure_is_classified() {
    let (events, _rx) = mpsc::channel(8);
    let connector = OnebotConnector::new(OnebotConfig::reverse_ws("qq", "t"), events);
    let link = connector.link.clone();
    let (generation, mut outgoing) = link.attach(Some("10000".into()), true);
    let peer = tokio::spawn({
        let link = link.clone();
        async move {
            let frame: Value = serde_json::from_str(&outgoing.recv().await.unwrap()).unwrap();
            assert_eq!(frame["action"], "set_group_kick");
            let echo = frame["echo"].clone();
            link.receive(&json!({"status": "failed", "retcode": 102, "data": null, "echo": echo}).to_string())
                .await;
        }
    });
    let outcome = connector.deliver(&action(ActionKind::Kick { member: "42".into() })).await;
    peer.await.unwrap();
    assert!(matches!(outcome, Err(DeliveryError::Permanent(_))), "{outcome:?}");
    assert_eq!(connector.health().self_id.as_deref(), Some("10000"));
    link.detach(generation, "test over");
    assert!(!connector.health().connected);
}

#[tokio::test]
async fn an_unsupported_action_fails_for_good_without_a_connection() {
    let (events, _rx) = mpsc::channel(8);
    let connector = OnebotConnector::new(OnebotConfig::reverse_ws("qq", "t"), events);
    let outcome = connector.deliver(&action(ActionKind::NotifyStaff { text: "x".into() })).await;
    assert!(matches!(outcome, Err(DeliveryError::Permanent(_))));
}
