//! The newcomer gate (入群验证) through the engine, over the in-memory store and a manual
//! clock: answer in time, silence until the deadline, wrong text, leaves, staff, guarded mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::admission::{AdmissionWrite, JoinRequestRecord, JoinRequestStatus};
use qunzhu_core::gate::GateStatus;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::store::{Commit, OutboxEntry};
use qunzhu_core::{
    Action, ActionKind, Capabilities, Capability, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Role,
    Segment, StateWrite, Store,
};
use qunzhu_engine::admission::AdmissionError;
use qunzhu_engine::rulebook::{TemplateSettings, DEFAULT_TEMPLATE};
use qunzhu_engine::rules::admission::gate::OnTimeout;
use qunzhu_engine::{Engine, EngineConfig, Processed};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
}

fn g1() -> GroupKey {
    GroupKey::new("qq", "g1")
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    capabilities: Capabilities,
}

impl Harness {
    async fn start(capabilities: Capabilities) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(t0()));
        let engine = Self::engine(&store, &clock, &capabilities).await;
        Self { engine, store, clock, capabilities }
    }

    async fn engine(store: &Arc<MemoryStore>, clock: &Arc<ManualClock>, capabilities: &Capabilities) -> Engine {
        let connectors = HashMap::from([(ConnectorId::new("qq"), capabilities.clone())]);
        Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap()
    }

    /// A gated group: the gate on (kick after 10 minutes), batched welcomes as by default.
    async fn gated(capabilities: Capabilities, change: impl FnOnce(&mut TemplateSettings)) -> Self {
        let h = Self::start(capabilities).await;
        h.configure(|s| {
            s.admission.gate.enabled = true;
            change(s);
        })
        .await;
        h
    }

    async fn configure(&self, change: impl FnOnce(&mut TemplateSettings)) {
        let mut book = self.engine.rulebook().rulebook.clone();
        change(book.templates.get_mut(DEFAULT_TEMPLATE).unwrap());
        self.engine.save_rulebook(book, "test", "configure").await.unwrap();
    }

    fn event(&self, id: &str, kind: EventKind) -> Event {
        Event {
            origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: id.into() },
            group_name: Some("粉丝1群".into()),
            time: self.clock.now(),
            kind,
        }
    }

    async fn join_as(&self, member: Member) -> Processed {
        let id = format!("join-{}-{}", member.id, self.clock.now().timestamp_micros());
        self.engine.submit(self.event(&id, EventKind::MemberJoined { member, inviter: None, invite_code: None, join_scene: None })).await.unwrap()
    }

    async fn join(&self, n: u32) -> Processed {
        self.join_as(Member::new(format!("u{n}"), format!("新人{n}"))).await
    }

    async fn say(&self, n: u32, message_id: &str, text: &str) -> Processed {
        let author = Member::new(format!("u{n}"), format!("新人{n}"));
        let kind = EventKind::MessagePosted { author, message: Message::text(message_id, text) };
        self.engine.submit(self.event(message_id, kind)).await.unwrap()
    }

    async fn leave(&self, n: u32) -> Processed {
        let kind = EventKind::MemberLeft { member: Member::new(format!("u{n}"), format!("新人{n}")), removed_by: None };
        self.engine.submit(self.event(&format!("leave-{n}"), kind)).await.unwrap()
    }

    async fn outbox(&self) -> Vec<OutboxEntry> {
        self.store.due_actions(&"qq".into(), t0() + Duration::days(2), 1000).await.unwrap()
    }

    async fn status(&self, n: u32) -> Option<GateStatus> {
        self.store.gate_entry(&g1(), &format!("u{n}").into()).await.unwrap().map(|e| e.status)
    }
}

fn kinds(actions: &[Action], rule: &str) -> Vec<ActionKind> {
    actions.iter().filter(|a| a.rule == rule).map(|a| a.kind.clone()).collect()
}

fn plain(segments: &[Segment]) -> String {
    Message { id: "x".into(), segments: segments.to_vec() }.plain_text()
}

fn sent_text(kind: &ActionKind) -> Option<String> {
    match kind {
        ActionKind::Send { segments } => Some(plain(segments)),
        _ => None,
    }
}

#[tokio::test]
async fn a_newcomer_is_muted_and_asked_and_an_answer_in_time_unmutes_and_passes_them() {
    let h = Harness::gated(Capabilities::all(), |_| {}).await;
    let joined = h.join(1).await;
    let gate = kinds(&joined.actions, "admission");
    assert_eq!(gate[0], ActionKind::Mute { member: "u1".into(), duration_secs: 600 });
    let question = sent_text(&gate[1]).unwrap();
    assert_eq!(question, "@新人1 请回复「同意群规」完成入群验证（请在 10 分钟内回复，超时将被移出本群）");
    assert!(matches!(&gate[1], ActionKind::Send { segments } if matches!(&segments[0], Segment::Mention { member, .. } if member.as_str() == "u1")));
    assert_eq!(h.status(1).await, Some(GateStatus::Pending));

    h.clock.advance(Duration::minutes(3));
    let answered = h.say(1, "m1", "好的，同意群规！").await;
    let passed = kinds(&answered.actions, "admission");
    assert_eq!(passed[0], ActionKind::Unmute { member: "u1".into() });
    assert_eq!(sent_text(&passed[1]).unwrap(), "@新人1 验证通过，欢迎入群！");
    assert!(!answered.actions.iter().any(|a| matches!(a.kind, ActionKind::Delete { .. })), "the answer stays");
    let entry = h.store.gate_entry(&g1(), &"u1".into()).await.unwrap().unwrap();
    assert_eq!((entry.status, entry.decided_by.as_deref(), entry.decided_at), (GateStatus::Passed, Some("engine"), Some(t0() + Duration::minutes(3))));

    // Passed: later messages are theirs, and the deadline brings nothing.
    let later = h.say(1, "m2", "大家好").await;
    assert!(kinds(&later.actions, "admission").is_empty());
    h.clock.set(t0() + Duration::minutes(11));
    h.engine.run_due(h.clock.now()).await;
    assert!(!h.outbox().await.iter().any(|e| matches!(e.action.kind, ActionKind::Kick { .. })));
}

#[tokio::test]
async fn a_silent_newcomer_is_kicked_exactly_once_at_the_deadline_across_scans_and_a_restart() {
    let h = Harness::gated(Capabilities::all(), |_| {}).await;
    h.join(1).await;
    h.clock.advance(Duration::seconds(30));
    h.join(2).await;

    h.clock.set(t0() + Duration::minutes(9));
    let early = h.engine.run_due(h.clock.now()).await;
    assert!(!h.outbox().await.iter().any(|e| matches!(e.action.kind, ActionKind::Kick { .. })), "nobody is kicked before T");
    assert_eq!(early.wake_at, Some(t0() + Duration::minutes(10)), "the scheduler asks to be woken at the deadline");

    h.clock.set(t0() + Duration::minutes(10));
    let (a, b) = tokio::join!(h.engine.run_due(h.clock.now()), h.engine.run_due(h.clock.now()));
    assert!(a.errors.is_empty() && b.errors.is_empty());
    let kicks = |outbox: Vec<OutboxEntry>| outbox.into_iter().filter(|e| matches!(e.action.kind, ActionKind::Kick { .. })).map(|e| e.action).collect::<Vec<_>>();
    let kicked = kicks(h.outbox().await);
    assert_eq!(kicked.len(), 1, "one kick at T, however many scans");
    assert_eq!(kicked[0].kind, ActionKind::Kick { member: "u1".into() });
    assert_eq!(kicked[0].explanation, "新人1 未在 10 分钟内完成入群验证，移出本群");
    assert_eq!(h.status(1).await, Some(GateStatus::TimedOut));
    assert_eq!(h.status(2).await, Some(GateStatus::Pending), "the second newcomer has 30 s left");

    // A restart and more scans at the same time change nothing.
    h.engine.shutdown().await;
    let engine = Harness::engine(&h.store, &h.clock, &h.capabilities).await;
    engine.run_due(h.clock.now()).await;
    assert_eq!(kicks(h.outbox().await).len(), 1);

    h.clock.set(t0() + Duration::minutes(10) + Duration::seconds(30));
    engine.run_due(h.clock.now()).await;
    engine.run_due(h.clock.now()).await;
    let kicked = kicks(h.outbox().await);
    assert_eq!(kicked.iter().map(|a| a.kind.clone()).collect::<Vec<_>>(), [ActionKind::Kick { member: "u1".into() }, ActionKind::Kick { member: "u2".into() }]);
}

#[tokio::test]
async fn wrong_text_from_a_gated_newcomer_is_deleted_explained_and_answers_nothing_else() {
    let h = Harness::gated(Capabilities::all(), |_| {}).await;
    h.join(1).await;
    let wrong = h.say(1, "m1", "签到").await;
    let deleted: Vec<&Action> = wrong.actions.iter().filter(|a| matches!(a.kind, ActionKind::Delete { .. })).collect();
    assert_eq!(deleted.len(), 1, "deleted once");
    assert_eq!(deleted[0].kind, ActionKind::Delete { message_id: "m1".into() });
    assert_eq!(deleted[0].rule, "admission");
    assert_eq!(deleted[0].explanation, "新人1 尚未完成入群验证（需回复「同意群规」），验证前的发言已撤回");
    assert!(!wrong.actions.iter().any(|a| matches!(a.kind, ActionKind::Send { .. } | ActionKind::Reply { .. })), "no check-in reply for a deleted message");
    assert_eq!(h.status(1).await, Some(GateStatus::Pending));

    let negated = h.say(1, "m2", "不同意").await;
    assert!(negated.actions.iter().any(|a| a.kind == ActionKind::Delete { message_id: "m2".into() }), "不同意 is not an answer");

    // Spam that moderation deletes too is deleted once.
    let spam = h.say(1, "m3", "加微信 abc12345 代理招商，日赚500 http://spam.example.com").await;
    assert_eq!(spam.actions.iter().filter(|a| matches!(a.kind, ActionKind::Delete { .. })).count(), 1);
}

#[tokio::test]
async fn a_leave_clears_the_gate_and_its_deadline_kicks_nobody() {
    let h = Harness::gated(Capabilities::all(), |_| {}).await;
    h.join(1).await;
    h.clock.advance(Duration::minutes(2));
    h.leave(1).await;
    assert_eq!(h.status(1).await, None);
    h.clock.set(t0() + Duration::minutes(30));
    let report = h.engine.run_due(h.clock.now()).await;
    assert!(report.errors.is_empty());
    assert!(!h.outbox().await.iter().any(|e| matches!(e.action.kind, ActionKind::Kick { .. })));
}

#[tokio::test]
async fn the_gate_is_off_by_default_and_skips_staff_and_approved_applicants() {
    let off = Harness::start(Capabilities::all()).await;
    let joined = off.join(1).await;
    assert!(kinds(&joined.actions, "admission").is_empty());
    assert_eq!(off.status(1).await, None);

    let h = Harness::gated(Capabilities::all(), |_| {}).await;
    let admin = Member { id: "u7".into(), name: Some("管理员".into()), role: Role::Admin };
    assert!(kinds(&h.join_as(admin).await.actions, "admission").is_empty(), "staff are not gated");
    let approved = JoinRequestRecord {
        group: g1(),
        request_id: "r1".into(),
        member: "u8".into(),
        name: None,
        comment: None,
        status: JoinRequestStatus::Approved,
        reason: "审核通过".into(),
        checks: Vec::new(),
        requested_at: t0(),
        updated_at: t0(),
        decided_by: "engine".into(),
    };
    h.store.commit(&Commit { writes: vec![StateWrite::Admission(AdmissionWrite::Request(approved))], ..Commit::default() }).await.unwrap();
    assert!(kinds(&h.join(8).await.actions, "admission").is_empty(), "an approved applicant came in through screening");
    assert_eq!(h.status(8).await, None);
}

#[tokio::test]
async fn without_mute_the_gate_becomes_a_staff_task_and_staff_may_pass_a_member_by_hand() {
    let mut capabilities = Capabilities::all();
    capabilities.actions.remove(&Capability::Mute);
    let h = Harness::gated(capabilities, |_| {}).await;
    let joined = h.join(1).await;
    assert!(joined.tasks.iter().any(|t| matches!(t.action.kind, ActionKind::Mute { .. })), "the mute is a staff task");
    assert!(joined.actions.iter().any(|a| a.rule == "admission" && matches!(a.kind, ActionKind::Send { .. })), "the question is still asked");

    let (entry, processed) = h.engine.pass_gate(&g1(), &"u1".into(), "operator:alice").await.unwrap();
    assert_eq!((entry.status, entry.decided_by.as_deref()), (GateStatus::Passed, Some("operator:alice")));
    assert!(processed.tasks.iter().any(|t| t.action.kind == ActionKind::Unmute { member: "u1".into() }));
    assert!(matches!(h.engine.pass_gate(&g1(), &"u1".into(), "operator:alice").await, Err(AdmissionError::Conflict(_))));
    assert!(matches!(h.engine.pass_gate(&g1(), &"u9".into(), "operator:alice").await, Err(AdmissionError::NotFound(_))));
    assert!(h.engine.gate_pending(&g1(), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn on_timeout_staff_task_asks_staff_once_and_keeps_the_member() {
    let h = Harness::gated(Capabilities::all(), |s| s.admission.gate.on_timeout = OnTimeout::StaffTask).await;
    let joined = h.join(1).await;
    assert_eq!(kinds(&joined.actions, "admission")[0], ActionKind::Mute { member: "u1".into(), duration_secs: 86_400 });
    assert_eq!(h.engine.gate_pending(&g1(), 10).await.unwrap().len(), 1);
    h.clock.set(t0() + Duration::minutes(10));
    h.engine.run_due(h.clock.now()).await;
    h.engine.run_due(h.clock.now()).await;
    let outbox = h.outbox().await;
    let notices: Vec<&OutboxEntry> = outbox.iter().filter(|e| e.action.rule == "admission" && matches!(e.action.kind, ActionKind::NotifyStaff { .. })).collect();
    assert_eq!(notices.len(), 1);
    let ActionKind::NotifyStaff { text } = &notices[0].action.kind else { unreachable!() };
    assert!(text.contains("POST /api/v1/groups/qq/g1/gate/u1/pass"), "{text}");
    assert!(!outbox.iter().any(|e| matches!(e.action.kind, ActionKind::Kick { .. })));
    assert_eq!(h.status(1).await, Some(GateStatus::TimedOut));
    // Timed out and kept: their messages are no longer deleted; staff may still let them in.
    assert!(!h.say(1, "m1", "你好").await.actions.iter().any(|a| matches!(a.kind, ActionKind::Delete { .. })));
    assert_eq!(h.engine.pass_gate(&g1(), &"u1".into(), "operator:bob").await.unwrap().0.status, GateStatus::Passed);
}

#[tokio::test]
async fn only_when_guarded_gates_newcomers_from_the_join_that_starts_a_wave() {
    let h = Harness::gated(Capabilities::all(), |s| {
        s.admission.gate.only_when_guarded = true;
        s.admission.join_wave.joins = 3;
    })
    .await;
    h.join(1).await;
    h.join(2).await;
    assert_eq!((h.status(1).await, h.status(2).await), (None, None), "not guarded: no gate");
    h.join(3).await;
    assert_eq!(h.status(3).await, Some(GateStatus::Pending), "the join that starts the wave is gated");
    h.join(4).await;
    assert_eq!(h.status(4).await, Some(GateStatus::Pending));
}
