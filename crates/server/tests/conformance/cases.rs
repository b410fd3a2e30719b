//! The cases, each generic over the [`Peer`]; `main.rs` instantiates them for every peer.

use std::time::{Duration, Instant};

use qunzhu_core::Capability;
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{Did, Peer, connector_health, stored_events, wait_done, wait_stored};

const AD: &str = "加薇信 abc12345，兼职刷单日赚三百";

/// An action the case provokes: the capability it needs, its action type, the member it
/// targets, and how the platform shows it.
type Expected<'a> = (Capability, &'static str, &'a str, Box<dyn Fn(&Did) -> bool + 'a>);

fn kind(event: &Value) -> &str {
    event["kind"]["type"].as_str().unwrap_or_default()
}

fn mentions(did: &Did, member: &str) -> bool {
    matches!(did, Did::Send { mentions, .. } if mentions.iter().any(|m| m == member))
}

/// message (text + mention + reply), join, leave and kick → the right `Event`s.
pub async fn event_mapping<P: Peer>() {
    if !P::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    peer.join(1).await;
    peer.say(1, 100, "大家好", None, None).await;
    peer.say(2, 101, "欢迎你", Some(1), Some(100)).await;
    peer.leave(3, None).await;
    peer.leave(4, Some(9)).await;
    let events = wait_stored(&peer, dir.path(), 1, |e| kind(e) == "member_left" && e["kind"]["member"]["id"] == peer.member(4).as_str()).await;
    let of = |kind_name: &str, key: &str, id: &str| -> Vec<Value> {
        events.iter().filter(|e| kind(e) == kind_name && e["kind"].pointer(key).and_then(Value::as_str) == Some(id)).cloned().collect()
    };

    let joined = of("member_joined", "/member/id", &peer.member(1));
    assert_eq!(joined.len(), 1, "one join of member 1: {events:#?}");

    let plain = of("message_posted", "/message/id", &peer.message(100));
    assert_eq!(plain.len(), 1, "{events:#?}");
    assert_eq!(plain[0]["kind"]["author"]["id"], peer.member(1).as_str());
    let reply = of("message_posted", "/message/id", &peer.message(101));
    assert_eq!(reply.len(), 1, "{events:#?}");
    let reply = &reply[0]["kind"];
    assert_eq!(reply["author"]["id"], peer.member(2).as_str());
    let segments = reply["message"]["segments"].as_array().unwrap();
    assert!(segments.iter().any(|s| s["type"] == "text" && s["text"].as_str().is_some_and(|t| t.contains("欢迎你"))), "{reply}");
    assert!(segments.iter().any(|s| s["type"] == "mention" && s["member"] == peer.member(1).as_str()), "{reply}");
    assert!(segments.iter().any(|s| s["type"] == "reply" && s["message_id"] == peer.message(100).as_str()), "{reply}");

    let left = of("member_left", "/member/id", &peer.member(3));
    assert_eq!(left.len(), 1, "{events:#?}");
    assert!(left[0]["kind"].get("removed_by").is_none(), "a member who left was not kicked: {}", left[0]);
    let kicked = of("member_left", "/member/id", &peer.member(4));
    assert_eq!(kicked.len(), 1, "{events:#?}");
    assert_eq!(kicked[0]["kind"]["removed_by"]["id"], peer.member(9).as_str(), "a kick says who kicked");
    peer.stop().await;
}

/// Each action the connector claims is observed at the platform; each it does not claim is
/// a staff task instead (and a claimed one never is).
pub async fn actions_and_capabilities<P: Peer>() {
    if !P::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    let capabilities = peer.capabilities();
    peer.server().set_ladder(serde_json::json!(["delete+warn", "delete+mute:3s", "delete+kick"])).await;
    let (five, six, seven) = (peer.member(5), peer.member(6), peer.member(7));

    // send (the welcome, mentioning the newcomer) and reply (the check-in answer).
    peer.join(5).await;
    wait_done(&peer, "the welcome", 1, |d| mentions(d, &five)).await;
    peer.say(5, 300, "签到", None, None).await;
    let check_in = peer.message(300);
    wait_done(&peer, "the check-in answer", 1, |d| matches!(d, Did::Send { reply_to: Some(to), .. } if *to == check_in) && mentions(d, &five)).await;

    // delete + warn, then delete + mute 3 s, then delete + kick (posted once the mute is
    // over, where the platform enforces it).
    for (step, id) in [301u32, 302, 303].into_iter().enumerate() {
        peer.say(6, id, AD, None, None).await;
        let message = peer.message(id);
        assert!(capabilities.can(Capability::Delete), "every connector here deletes");
        wait_done(&peer, &format!("ad {} deleted", step + 1), 1, |d| *d == Did::Delete { message: message.clone() }).await;
    }
    wait_done(&peer, "the warning", 1, |d| mentions(d, &six)).await;

    // A blacklisted member asking to join is refused.
    peer.server().blacklist(peer.connector(), &seven).await;
    let requests = peer.join_request(7).await;

    let mut wanted: Vec<Expected> = vec![
        (
            Capability::Mute,
            "mute",
            &six,
            Box::new(|d| matches!(d, Did::Mute { member, secs } if *member == six && secs.is_none_or(|s| s >= 3))),
        ),
        (Capability::Kick, "kick", &six, Box::new(|d| *d == Did::Kick { member: six.clone() })),
    ];
    if requests {
        wanted.push((Capability::ApproveJoin, "reject_join", &seven, Box::new(|d| *d == Did::AnswerJoin { member: seven.clone(), approve: false })));
    }
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
    if !P::available() {
        return;
    }
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
    if !P::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = P::start(dir.path()).await;
    let Some(per_minute) = peer.capabilities().sends_per_minute_per_group.filter(|n| *n > 0) else {
        eprintln!("not applicable: {} declares no send limit (the bridge paces itself)", peer.connector());
        peer.stop().await;
        return;
    };
    let members: Vec<u32> = (0..per_minute + 2).map(|n| 100 + n).collect();
    peer.prepare(&members).await;
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
    // The limit as a token bucket: any `k` consecutive sends beyond the burst need at least
    // `k` intervals, i.e. send j comes at least (j - i - burst + 1) × interval after send i.
    let interval = Duration::from_secs(60) / per_minute;
    let burst = per_minute as usize;
    for i in 0..sends.len() {
        for j in i + burst..sends.len() {
            let least = interval.mul_f64(((j - i - burst + 1) as f64) * 0.9);
            let gap = sends[j] - sends[i];
            assert!(
                gap >= least,
                "sends {} and {} came {gap:?} apart; the limit ({per_minute}/min, burst {burst}) wants at least {least:?}",
                i + 1,
                j + 1
            );
        }
    }
    peer.stop().await;
}

/// qunzhu starts while the platform is down: it keeps running and serving, reports the
/// connector unhealthy in `/healthz`, and recovers (healthy, events flow) once it is up.
pub async fn unreachable<P: Peer>() {
    if !P::available() {
        return;
    }
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
    if let Some(attempts) = peer.attempts_while_down() {
        // 1.5 s down with a backoff starting at 1 s and doubling: a few tries, not a storm.
        assert!((1..=4).contains(&attempts), "{attempts} connection attempts in 1.5 s while the platform was down");
    }

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
