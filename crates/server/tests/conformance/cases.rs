//! The cases, each generic over the [`Peer`]; `main.rs` instantiates them for every peer.

use std::time::{Duration, Instant};

use qunzhu_core::Capability;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Did, Peer, connector_health, stored_events, wait_done, wait_stored};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

fn kind(event: &Value) -> &str {
    event["kind"]["type"].as_str().unwrap_or_default()
}

fn mentions(did: &Did, member: &str) -> bool {
    matches!(did, Did::Send { mentions, .. } if mentions.iter().any(|m| m == member))
}

/// message (text + mention + reply), join, leave and kick → the right `Event`s.
pub async fn event_mapping<P: Peer>() {
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    peer.join(1).await;
    peer.say(1, 100, "大家好", None, None).await;
    peer.say(2, 101, "欢迎你", Some(1), Some(100)).await;
    peer.leave(3, None).await;
    peer.leave(4, Some(9)).await;
    let events = wait_stored(&peer, dir.path(), 1, |e| kind(e) == "member_left" && e["kind"]["member"]["id"] == peer.member(4).as_str()).await;

    let joined: Vec<&Value> = events.iter().filter(|e| kind(e) == "member_joined").collect();
    assert_eq!(joined.len(), 1, "{events:#?}");
    assert_eq!(joined[0]["kind"]["member"]["id"], peer.member(1).as_str());

    let messages: Vec<&Value> = events.iter().filter(|e| kind(e) == "message_posted").collect();
    assert_eq!(messages.len(), 2, "{events:#?}");
    let plain = &messages[0]["kind"];
    assert_eq!(plain["author"]["id"], peer.member(1).as_str());
    assert_eq!(plain["message"]["id"], peer.message(100).as_str());
    let reply = &messages[1]["kind"];
    assert_eq!(reply["author"]["id"], peer.member(2).as_str());
    assert_eq!(reply["message"]["id"], peer.message(101).as_str());
    let segments = reply["message"]["segments"].as_array().unwrap();
    assert!(segments.iter().any(|s| s["type"] == "text" && s["text"].as_str().is_some_and(|t| t.contains("欢迎你"))), "{reply}");
    assert!(segments.iter().any(|s| s["type"] == "mention" && s["member"] == peer.member(1).as_str()), "{reply}");
    assert!(segments.iter().any(|s| s["type"] == "reply" && s["message_id"] == peer.message(100).as_str()), "{reply}");

    let left: Vec<&Value> = events.iter().filter(|e| kind(e) == "member_left").collect();
    assert_eq!(left.len(), 2, "{events:#?}");
    assert_eq!(left[0]["kind"]["member"]["id"], peer.member(3).as_str());
    assert!(left[0]["kind"].get("removed_by").is_none(), "a member who left was not kicked: {}", left[0]);
    assert_eq!(left[1]["kind"]["member"]["id"], peer.member(4).as_str());
    assert_eq!(left[1]["kind"]["removed_by"]["id"], peer.member(9).as_str(), "a kick says who kicked");
    peer.stop().await;
}

/// Each action the connector claims is observed at the platform; each it does not claim is
/// a staff task instead (and a claimed one never is).
pub async fn actions_and_capabilities<P: Peer>() {
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    let capabilities = peer.capabilities();
    peer.server().set_ladder(serde_json::json!(["delete+warn", "delete+mute:10m", "delete+kick"])).await;
    let (five, six, seven) = (peer.member(5), peer.member(6), peer.member(7));

    // send (the welcome, mentioning the newcomer) and reply (the check-in answer).
    peer.join(5).await;
    wait_done(&peer, "the welcome", 1, |d| mentions(d, &five)).await;
    peer.say(5, 300, "签到", None, None).await;
    let check_in = peer.message(300);
    wait_done(&peer, "the check-in answer", 1, |d| matches!(d, Did::Send { reply_to: Some(to), .. } if *to == check_in) && mentions(d, &five)).await;

    // delete + warn, then delete + mute 10 min, then delete + kick.
    for (step, id) in [301u32, 302, 303].into_iter().enumerate() {
        peer.say(6, id, AD, None, None).await;
        let message = peer.message(id);
        assert!(capabilities.can(Capability::Delete), "every connector here deletes");
        wait_done(&peer, &format!("ad {} deleted", step + 1), 1, |d| *d == Did::Delete { message: message.clone() }).await;
    }
    wait_done(&peer, "the warning", 1, |d| mentions(d, &six)).await;

    // A blacklisted member asking to join is refused.
    peer.server().blacklist(peer.connector(), &seven).await;
    peer.join_request(7).await;

    let wanted: [(Capability, &str, &str, Box<dyn Fn(&Did) -> bool>); 3] = [
        (Capability::Mute, "mute", &six, Box::new(|d| *d == Did::Mute { member: six.clone(), secs: 600 })),
        (Capability::Kick, "kick", &six, Box::new(|d| *d == Did::Kick { member: six.clone() })),
        (Capability::ApproveJoin, "reject_join", &seven, Box::new(|d| *d == Did::AnswerJoin { member: seven.clone(), approve: false })),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for (capability, action, member, did) in &wanted {
        loop {
            let done = peer.done().await;
            let tasks = peer.server().tasks().await;
            let task = tasks.iter().any(|(kind, m)| kind == action && m == member);
            let performed = done.iter().any(|(_, d)| did(d));
            if capabilities.can(*capability) {
                assert!(!task, "{action} is claimed, yet it became a staff task: {tasks:?}");
                if performed {
                    break;
                }
            } else {
                assert!(!performed, "{action} is not claimed, yet the platform saw it: {done:#?}");
                if task {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{action} ({capability:?} claimed: {}): neither done nor a task; done {done:#?}, tasks {tasks:?}", capabilities.can(*capability));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    peer.stop().await;
}

/// The platform restarts (the connection drops) while events are being produced: every
/// event is stored once and answered once.
pub async fn reconnect<P: Peer>() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = P::start(dir.path()).await;
    peer.join(40).await;
    wait_done(&peer, "the first welcome", 1, |d| mentions(d, &peer.member(40))).await;
    let restarted = peer
        .restart_during(async |p: &P| {
            for m in 41..=45 {
                p.join(m).await;
            }
        })
        .await;
    if !restarted {
        eprintln!("not applicable: {} has no connection to lose", peer.connector());
        peer.stop().await;
        return;
    }
    for m in 46..=48 {
        peer.join(m).await;
    }
    let last = peer.member(48);
    wait_done(&peer, "the welcome after the restart", 1, |d| mentions(d, &last)).await;
    for m in 40..=48 {
        let member = peer.member(m);
        wait_done(&peer, &format!("the welcome of {member}"), 1, |d| mentions(d, &member)).await;
    }
    // Let a late duplicate show up if there is one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done = peer.done().await;
    let events = stored_events(&peer, dir.path()).await;
    for m in 40..=48 {
        let member = peer.member(m);
        let stored = events.iter().filter(|e| kind(e) == "member_joined" && e["kind"]["member"]["id"] == member.as_str()).count();
        assert_eq!(stored, 1, "the join of {member} is stored once: {events:#?}");
        let welcomed = done.iter().filter(|(_, d)| mentions(d, &member)).count();
        assert_eq!(welcomed, 1, "{member} is welcomed once: {done:#?}");
    }
    peer.stop().await;
}

/// A burst of sends to one group: the first `sends_per_minute_per_group` may go at once,
/// every later one waits its turn (60 s / the limit after the one before).
pub async fn throttling<P: Peer>() {
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    let Some(per_minute) = peer.capabilities().sends_per_minute_per_group.filter(|n| *n > 0) else {
        eprintln!("not applicable: {} declares no send limit (the bridge paces itself)", peer.connector());
        peer.stop().await;
        return;
    };
    let members: Vec<u32> = (0..per_minute + 2).map(|n| 100 + n).collect();
    for m in &members {
        peer.join(*m).await;
    }
    let last = peer.member(*members.last().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let sends: Vec<Instant> = loop {
        let done = peer.done().await;
        if done.iter().any(|(_, d)| mentions(d, &last)) {
            let mut sends: Vec<Instant> = done.iter().filter(|(_, d)| matches!(d, Did::Send { .. })).map(|(at, _)| *at).collect();
            sends.sort();
            break sends;
        }
        assert!(Instant::now() < deadline, "the burst was not delivered within 60 s: {} sends", done.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sends.len(), members.len(), "one welcome per member");
    let spacing = Duration::from_secs(60) / per_minute;
    let burst = per_minute as usize;
    for (i, pair) in sends[burst - 1..].windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= spacing.mul_f64(0.9),
            "send {} came {gap:?} after the one before; the limit ({per_minute}/min) wants {spacing:?}",
            burst + i + 1
        );
    }
    peer.stop().await;
}

/// qunzhu starts while the platform is down: it keeps running and serving, reports the
/// connector unhealthy in `/healthz`, and recovers (healthy, events flow) once it is up.
pub async fn unreachable<P: Peer>() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut peer) = P::start_down(dir.path()).await else {
        eprintln!("not applicable: qunzhu never calls out to a bridge");
        return;
    };
    // Retries happen meanwhile (backoff); qunzhu keeps serving.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, health) = peer.server().get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["connectors"][peer.connector()]["connected"], false, "{health}");
    let (status, _) = peer.server().get("/api/v1/rulebook").await;
    assert_eq!(status, StatusCode::OK, "the API is served while the platform is down");

    peer.come_up().await;
    peer.join(1).await;
    let member = peer.member(1);
    wait_done(&peer, "the welcome after recovery", 1, |d| mentions(d, &member)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while connector_health(&peer).await["connected"] != true {
        assert!(Instant::now() < deadline, "the connector never reported itself healthy: {}", connector_health(&peer).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peer.stop().await;
}
