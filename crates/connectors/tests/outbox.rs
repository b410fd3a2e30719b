//! The outbox loop against the in-memory store, in tokio's paused time: retries, backoff,
//! permanent failures, throttling, shutdown and restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use qunzhu_connectors::outbox::{self, OutboxSettings};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::store::{ActionStatus, Commit};
use qunzhu_core::{
    Action, ActionKind, BoxFuture, Capabilities, Capability, Clock, Connector, ConnectorId,
    Delivery, DeliveryError, GroupKey, Segment, Store,
};
use tokio::sync::watch;
use tokio::time::Instant;

/// Wall time that follows tokio's (paused) clock.
struct TokioTime {
    start: DateTime<Utc>,
    origin: Instant,
}

impl TokioTime {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
            origin: Instant::now(),
        })
    }
}

impl Clock for TokioTime {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.origin.elapsed()).unwrap()
    }
}

/// What the test connector does on each call.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Fail temporarily this many times, then succeed.
    FailThenSucceed(u32, Option<u64>),
    AlwaysTemporary,
    Permanent,
    /// Take this long, then succeed.
    Slow(Duration),
}

struct TestConnector {
    id: ConnectorId,
    capabilities: Capabilities,
    behaviour: Behaviour,
    calls: Mutex<Vec<(String, Instant)>>,
}

impl TestConnector {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Self::with_capabilities(behaviour, Capabilities::all())
    }

    fn with_capabilities(behaviour: Behaviour, capabilities: Capabilities) -> Arc<Self> {
        Arc::new(Self {
            id: "test".into(),
            capabilities,
            behaviour,
            calls: Mutex::default(),
        })
    }

    fn calls(&self) -> Vec<(String, Instant)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Connector for TestConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(async move {
            let n = {
                let mut calls = self.calls.lock().unwrap();
                calls.push((action.id.to_string(), Instant::now()));
                calls
                    .iter()
                    .filter(|(id, _)| id == action.id.as_str())
                    .count() as u32
            };
            match self.behaviour {
                Behaviour::FailThenSucceed(failures, retry_after_secs) if n <= failures => {
                    Err(DeliveryError::Temporary {
                        message: "platform busy".into(),
                        retry_after_secs,
                    })
                }
                Behaviour::FailThenSucceed(..) => Ok(Delivery::Done),
                Behaviour::AlwaysTemporary => Err(DeliveryError::Temporary {
                    message: "timeout".into(),
                    retry_after_secs: None,
                }),
                Behaviour::Permanent => Err(DeliveryError::Permanent("no permission".into())),
                Behaviour::Slow(d) => {
                    tokio::time::sleep(d).await;
                    Ok(Delivery::Done)
                }
            }
        })
    }
}

fn send(id: &str, group: &str, clock: &dyn Clock) -> Action {
    Action {
        id: id.into(),
        group: GroupKey::new("test", group),
        kind: ActionKind::Send {
            segments: vec![Segment::text("hi")],
        },
        rule: "welcome".into(),
        cause: None,
        explanation: "test".into(),
        not_before: None,
        created_at: clock.now(),
    }
}

struct Harness {
    store: Arc<MemoryStore>,
    clock: Arc<TokioTime>,
    changes: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
}

impl Harness {
    fn new() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            clock: TokioTime::new(),
            changes: watch::channel(0).0,
            shutdown: watch::channel(false).0,
        }
    }

    async fn add(&self, actions: Vec<Action>) {
        self.store
            .commit(&Commit {
                actions,
                ..Commit::default()
            })
            .await
            .unwrap();
        self.changes.send_modify(|g| *g += 1);
    }

    fn spawn(&self, connector: Arc<dyn Connector>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(outbox::run(
            self.store.clone(),
            connector,
            self.clock.clone(),
            self.changes.subscribe(),
            self.shutdown.subscribe(),
        ))
    }

    async fn status(&self, id: &str) -> ActionStatus {
        self.store
            .get_action(&id.into())
            .await
            .unwrap()
            .unwrap()
            .status
    }

    /// Waits (in paused time) until the action reaches `status`; panics after a simulated hour.
    async fn wait_for(&self, id: &str, status: ActionStatus) {
        for _ in 0..36_000 {
            if self.status(id).await == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{id} never became {status:?}; it is {:?}",
            self.status(id).await
        );
    }

    async fn result_rows(&self) -> Vec<String> {
        let rows = self.store.list_audit(None, 100).await.unwrap();
        rows.into_iter()
            .rev()
            .filter(|r| r.entry.kind == "action.result")
            .map(|r| r.entry.summary)
            .collect()
    }
}

fn gaps(calls: &[(String, Instant)]) -> Vec<u64> {
    calls
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).as_secs())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn temporary_failures_are_retried_with_growing_delays_until_delivered() {
    let h = Harness::new();
    let connector = TestConnector::new(Behaviour::FailThenSucceed(3, None));
    h.add(vec![send("a1", "g", h.clock.as_ref())]).await;
    let task = h.spawn(connector.clone());
    h.wait_for("a1", ActionStatus::Delivered).await;

    assert_eq!(
        gaps(&connector.calls()),
        [2, 4, 8],
        "backoff doubles from 2 s"
    );
    let entry = h.store.get_action(&"a1".into()).await.unwrap().unwrap();
    assert_eq!(entry.attempts, 3);
    let rows = h.result_rows().await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows[0].contains("2 秒后重试"), "{rows:?}");
    assert!(rows[2].contains("8 秒后重试"), "{rows:?}");
    assert!(rows[3].starts_with("已送达"), "{rows:?}");

    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_platform_asking_to_wait_longer_is_honoured() {
    let h = Harness::new();
    let connector = TestConnector::new(Behaviour::FailThenSucceed(1, Some(90)));
    h.add(vec![send("a1", "g", h.clock.as_ref())]).await;
    let task = h.spawn(connector.clone());
    h.wait_for("a1", ActionStatus::Delivered).await;
    assert_eq!(gaps(&connector.calls()), [90]);
    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_marked_failed_and_never_retried() {
    let h = Harness::new();
    let connector = TestConnector::new(Behaviour::Permanent);
    h.add(vec![
        send("a1", "g", h.clock.as_ref()),
        send("a2", "g", h.clock.as_ref()),
    ])
    .await;
    let task = h.spawn(connector.clone());
    h.wait_for("a2", ActionStatus::Failed).await;
    tokio::time::sleep(Duration::from_secs(3600)).await;

    assert_eq!(connector.calls().len(), 2, "one call each, no retries");
    let entry = h.store.get_action(&"a1".into()).await.unwrap().unwrap();
    assert_eq!(entry.status, ActionStatus::Failed);
    assert_eq!(entry.last_error.as_deref(), Some("no permission"));
    assert!(h.result_rows().await[0].contains("不再重试"));
    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_action_failing_every_time_is_given_up_after_the_maximum_attempts() {
    let h = Harness::new();
    let connector = TestConnector::new(Behaviour::AlwaysTemporary);
    h.add(vec![send("a1", "g", h.clock.as_ref())]).await;
    let task = h.spawn(connector.clone());
    h.wait_for("a1", ActionStatus::Failed).await;

    let max = OutboxSettings::default().max_attempts as usize;
    assert_eq!(connector.calls().len(), max);
    // 2, 4, 8, … capped at 10 minutes.
    assert_eq!(gaps(&connector.calls()), [2, 4, 8, 16, 32, 64, 128]);
    assert_eq!(
        OutboxSettings::default().backoff(20),
        Duration::from_secs(600)
    );
    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn sends_are_throttled_per_group_in_order_without_holding_up_other_groups() {
    let h = Harness::new();
    let capabilities = Capabilities {
        sends_per_minute_per_group: Some(2),
        ..Capabilities::new([Capability::Send])
    };
    let connector =
        TestConnector::with_capabilities(Behaviour::FailThenSucceed(0, None), capabilities);
    let c = h.clock.as_ref();
    h.add(vec![
        send("a1", "busy", c),
        send("a2", "busy", c),
        send("a3", "busy", c),
        send("a4", "busy", c),
        send("b1", "calm", c),
    ])
    .await;
    let start = Instant::now();
    let task = h.spawn(connector.clone());
    h.wait_for("a4", ActionStatus::Delivered).await;

    let calls = connector.calls();
    let order: Vec<&str> = calls.iter().map(|(id, _)| id.as_str()).collect();
    let busy: Vec<&str> = order
        .iter()
        .copied()
        .filter(|id| id.starts_with('a'))
        .collect();
    assert_eq!(busy, ["a1", "a2", "a3", "a4"], "a group's order holds");
    let at = |id: &str| calls.iter().find(|(i, _)| i == id).unwrap().1 - start;
    assert!(
        at("b1") < Duration::from_secs(1),
        "the calm group is not held up: {:?}",
        at("b1")
    );
    assert!(
        at("a2") < Duration::from_secs(1),
        "a burst of two goes at once"
    );
    assert!(
        at("a3") >= Duration::from_secs(29),
        "the third send waits for the quota: {:?}",
        at("a3")
    );
    assert!(at("a4") >= Duration::from_secs(59), "{:?}", at("a4"));
    assert_eq!(
        calls.len(),
        5,
        "throttled actions were delayed, never re-sent or dropped"
    );
    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_action_in_hand_and_a_new_loop_delivers_the_rest() {
    let h = Harness::new();
    let slow = TestConnector::new(Behaviour::Slow(Duration::from_secs(5)));
    let c = h.clock.as_ref();
    h.add(vec![
        send("a1", "g", c),
        send("a2", "g", c),
        send("a3", "g", c),
    ])
    .await;
    let task = h.spawn(slow.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(slow.calls().len(), 1, "a1 is in hand");
    h.shutdown.send(true).unwrap();
    task.await.unwrap();

    assert_eq!(
        h.status("a1").await,
        ActionStatus::Delivered,
        "the action in hand was finished and recorded"
    );
    assert_eq!(h.status("a2").await, ActionStatus::Pending);
    assert_eq!(h.status("a3").await, ActionStatus::Pending);
    assert_eq!(slow.calls().len(), 1);

    // "Restart": a fresh loop on the same store.
    let h2 = Harness {
        store: h.store.clone(),
        clock: h.clock.clone(),
        changes: watch::channel(0).0,
        shutdown: watch::channel(false).0,
    };
    let fast = TestConnector::new(Behaviour::FailThenSucceed(0, None));
    let task = h2.spawn(fast.clone());
    h2.wait_for("a3", ActionStatus::Delivered).await;
    let delivered: Vec<String> = fast.calls().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        delivered,
        ["a2", "a3"],
        "nothing lost, nothing delivered twice"
    );
    h2.shutdown.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_newly_committed_action_wakes_the_loop_before_the_next_poll() {
    let h = Harness::new();
    let connector = TestConnector::new(Behaviour::FailThenSucceed(0, None));
    let task = h.spawn(connector.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = Instant::now();
    h.add(vec![send("a1", "g", h.clock.as_ref())]).await;
    h.wait_for("a1", ActionStatus::Delivered).await;
    assert!(connector.calls()[0].1 - before < Duration::from_millis(100));
    h.shutdown.send(true).unwrap();
    task.await.unwrap();
}
