//! Referrals (裂变) and milestones (里程碑) end to end over the in-memory store with a manual
//! clock: invites validated by the scheduler after a stay and a word, voided by an early
//! leave, reversed inside the window; fraud flags; member-count and counter celebrations
//! sent once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::growth::{MilestoneKind, ReferralFilter, ReferralStatus, referral_id};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{
    Action, ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, MemberId, Message, Origin,
    Segment, Store,
};
use qunzhu_engine::growth::CampaignDraft;
use qunzhu_engine::rules::growth::fraud::FlagKind;
use qunzhu_engine::{Engine, EngineConfig, Processed};

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

fn group() -> GroupKey {
    GroupKey::new("qq", "g1")
}

fn member(id: &str, name: &str) -> Member {
    Member::new(id, name)
}

fn text_of(action: &Action) -> String {
    match &action.kind {
        ActionKind::Send { segments } => segments
            .iter()
            .map(|s| match s {
                Segment::Text { text } => text.clone(),
                Segment::Mention { name, member } => format!("@{}", name.clone().unwrap_or_else(|| member.to_string())),
                _ => String::new(),
            })
            .collect(),
        _ => String::new(),
    }
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("qq"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: AtomicU32::new(0) }
    }

    async fn submit(&self, kind: EventKind) -> Processed {
        self.clock.advance(Duration::seconds(1));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "qq".into(), group: "g1".into(), event_id: format!("e{n}").into() },
            group_name: Some("读书会".into()),
            time: self.clock.now(),
            kind,
        };
        self.engine.submit(event).await.unwrap()
    }

    async fn join(&self, who: &Member, inviter: Option<&Member>) -> Processed {
        self.submit(EventKind::MemberJoined { member: who.clone(), inviter: inviter.cloned(), invite_code: None, join_scene: None }).await
    }

    async fn join_with_code(&self, who: &Member, code: &str) -> Processed {
        self.submit(EventKind::MemberJoined { member: who.clone(), inviter: None, invite_code: Some(code.into()), join_scene: None }).await
    }

    async fn leave(&self, who: &Member) -> Processed {
        self.submit(EventKind::MemberLeft { member: who.clone(), removed_by: None }).await
    }

    async fn say(&self, who: &Member, text: &str) -> Processed {
        let n = self.next.load(Ordering::SeqCst);
        self.submit(EventKind::MessagePosted { author: who.clone(), message: Message::text(format!("m{n}"), text) }).await
    }

    /// Moves the clock and runs the scheduler; returns the sends it caused.
    async fn after(&self, duration: Duration) -> usize {
        self.clock.advance(duration);
        self.engine.run_due(self.clock.now()).await.ticks
    }

    async fn balance(&self, who: &str) -> i64 {
        self.store.points_balance(&"qq".into(), &MemberId::new(who)).await.unwrap().balance
    }

    async fn status(&self, who: &str) -> ReferralStatus {
        self.store.referral(&referral_id(&group(), &MemberId::new(who))).await.unwrap().unwrap().status
    }

    async fn sends_containing(&self, needle: &str) -> usize {
        let feed = self.store.actions_after(&"qq".into(), 0, self.clock.now() + Duration::days(3650), 100_000).await.unwrap();
        feed.iter().filter(|e| text_of(&e.action).contains(needle)).count()
    }
}

#[tokio::test]
async fn an_invite_becomes_valid_after_the_stay_and_a_message_and_pays_once() {
    let h = Harness::new().await;
    let (inviter, invitee) = (member("u1", "老会员"), member("u2", "新朋友"));
    h.join(&inviter, None).await;
    h.join(&invitee, Some(&inviter)).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Pending);

    h.say(&invitee, "大家好").await;
    // Spoken, but the stay is not over.
    h.after(Duration::days(2)).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Pending);
    assert_eq!(h.balance("u1").await, 0);

    assert_eq!(h.after(Duration::days(1)).await, 1, "one validation tick");
    assert_eq!(h.status("u2").await, ReferralStatus::Valid);
    assert_eq!(h.balance("u1").await, 10);
    assert_eq!(h.sends_containing("感谢 @老会员 邀请 新朋友").await, 1);

    // Later scans, and the same tick submitted again, change nothing.
    h.after(Duration::minutes(5)).await;
    h.after(Duration::days(1)).await;
    assert_eq!(h.balance("u1").await, 10);
    let ledger = h.store.points_ledger(&"qq".into(), &MemberId::new("u1"), 10).await.unwrap();
    assert_eq!(ledger.iter().filter(|e| e.reason == "邀请奖励").count(), 1);
    assert_eq!(h.sends_containing("感谢 @老会员").await, 1);
}

#[tokio::test]
async fn an_invitee_leaving_before_the_stay_voids_the_invite_without_a_reward() {
    let h = Harness::new().await;
    let (inviter, invitee) = (member("u1", "老会员"), member("u2", "新朋友"));
    h.join(&invitee, Some(&inviter)).await;
    h.say(&invitee, "你好").await;
    h.after(Duration::days(1)).await;
    h.leave(&invitee).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Void);
    h.after(Duration::days(5)).await;
    assert_eq!(h.balance("u1").await, 0);
    // Rejoining is not a new invite.
    h.join(&invitee, Some(&inviter)).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Void);
}

#[tokio::test]
async fn a_leave_inside_the_window_after_validation_reverses_the_reward_once() {
    let h = Harness::new().await;
    let (inviter, invitee) = (member("u1", "老会员"), member("u2", "新朋友"));
    h.join(&invitee, Some(&inviter)).await;
    h.say(&invitee, "你好").await;
    h.after(Duration::days(3) + Duration::minutes(1)).await;
    assert_eq!(h.balance("u1").await, 10);
    h.after(Duration::days(2)).await;
    h.leave(&invitee).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Reversed);
    assert_eq!(h.balance("u1").await, 0);
    // A second leave event (the platform repeats itself) takes nothing more.
    h.leave(&invitee).await;
    assert_eq!(h.balance("u1").await, 0);
    let ledger = h.store.points_ledger(&"qq".into(), &MemberId::new("u1"), 10).await.unwrap();
    assert_eq!(ledger.iter().map(|e| e.amount).collect::<Vec<_>>(), vec![-10, 10]);
}

#[tokio::test]
async fn a_leave_after_the_window_keeps_the_reward() {
    let h = Harness::new().await;
    let (inviter, invitee) = (member("u1", "老会员"), member("u2", "新朋友"));
    h.join(&invitee, Some(&inviter)).await;
    h.say(&invitee, "你好").await;
    h.after(Duration::days(3) + Duration::minutes(1)).await;
    h.after(Duration::days(8)).await;
    h.leave(&invitee).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Valid);
    assert_eq!(h.balance("u1").await, 10);
}

#[tokio::test]
async fn personal_invite_codes_attribute_joins_given_with_the_join_or_as_the_first_message() {
    let h = Harness::new().await;
    let code = h.engine.referral_code(&"qq".into(), &"u1".into(), Some("老会员".into())).await.unwrap();
    assert_eq!(h.engine.referral_code(&"qq".into(), &"u1".into(), None).await.unwrap(), code, "one code per member");
    h.join_with_code(&member("u2", "甲"), &code.code.to_lowercase()).await;
    let u3 = member("u3", "乙");
    h.join(&u3, None).await;
    let said = h.say(&u3, &code.code).await;
    assert!(said.violations.is_empty(), "a code is not spam: {:?}", said.violations);
    let referrals = h.engine.referrals(&ReferralFilter { inviter: Some("u1".into()), ..ReferralFilter::default() }, 10).await.unwrap();
    let mut invitees: Vec<&str> = referrals.iter().map(|r| r.invitee.as_str()).collect();
    invitees.sort_unstable();
    assert_eq!(invitees, ["u2", "u3"]);
    // The code itself is not "speaking"; a later message is.
    let u3_referral = h.store.referral(&referral_id(&group(), &"u3".into())).await.unwrap().unwrap();
    assert!(u3_referral.spoke_at.is_none());
    h.say(&u3, "谢谢邀请").await;
    assert!(h.store.referral(&u3_referral.id).await.unwrap().unwrap().spoke_at.is_some());
    let board = h.engine.referral_leaderboard(&ReferralFilter::default()).await.unwrap();
    assert_eq!((board[0].inviter.as_str(), board[0].pending), ("u1", 2));
}

#[tokio::test]
async fn a_campaign_running_at_the_join_sets_the_reward() {
    let h = Harness::new().await;
    let draft = CampaignDraft {
        name: "暑期拉新".into(),
        groups: vec![group()],
        starts_at: start(),
        ends_at: start() + Duration::days(30),
        reward_points: 50,
        stay_days: 1,
        early_leave_days: 2,
    };
    let campaign = h.engine.save_campaign(None, draft, "operator:alice").await.unwrap();
    let invitee = member("u2", "新朋友");
    h.join(&invitee, Some(&member("u1", "老会员"))).await;
    h.say(&invitee, "hi").await;
    h.after(Duration::days(1) + Duration::minutes(1)).await;
    assert_eq!(h.balance("u1").await, 50);
    let filter = ReferralFilter { campaign: Some(campaign.id.clone()), status: Some(ReferralStatus::Valid), ..ReferralFilter::default() };
    assert_eq!(h.engine.referrals(&filter, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn fraud_flags_show_quick_leaves_lookalike_names_and_silent_invitees() {
    let h = Harness::new().await;
    let (farmer, honest, lurker_host) = (member("f", "刷子"), member("h", "老实人"), member("l", "潜水群主"));
    for n in 1..=3 {
        h.join(&member(&format!("x{n}"), &format!("小号0{n}")), Some(&farmer)).await;
    }
    let quick = member("q1", "路人");
    h.join(&quick, Some(&honest)).await;
    h.leave(&quick).await;
    h.join(&member("s1", "沉默者"), Some(&lurker_host)).await;
    h.clock.advance(Duration::days(4));

    let flags = h.engine.referral_flags(&ReferralFilter::default()).await.unwrap();
    let found: Vec<(FlagKind, &str)> = flags.iter().map(|f| (f.kind, f.inviter.as_str())).collect();
    assert!(found.contains(&(FlagKind::LookalikeNames, "f")), "{found:?}");
    assert!(found.contains(&(FlagKind::QuickLeave, "h")), "{found:?}");
    assert!(found.contains(&(FlagKind::NeverSpoke, "l")), "{found:?}");
    assert!(!found.contains(&(FlagKind::LookalikeNames, "h")));
    let lookalike = flags.iter().find(|f| f.kind == FlagKind::LookalikeNames).unwrap();
    assert_eq!(lookalike.invitees.len(), 3);
}

#[tokio::test]
async fn the_200th_member_is_celebrated_once_and_neither_the_201st_nor_a_rejoin_repeats_it() {
    let h = Harness::new().await;
    for n in 1..=199 {
        h.join(&member(&format!("m{n}"), &format!("成员{n}")), None).await;
    }
    assert_eq!(h.sends_containing("迎来第 200 位成员").await, 0);
    let two_hundredth = member("m200", "第二百");
    h.join(&two_hundredth, None).await;
    assert_eq!(h.sends_containing("迎来第 200 位成员！欢迎 @第二百").await, 1);
    h.join(&member("m201", "第二百零一"), None).await;
    h.leave(&member("m201", "第二百零一")).await;
    h.join(&member("m201", "第二百零一"), None).await;
    assert_eq!(h.sends_containing("迎来第 200 位成员").await, 1);
    let reached = h.store.list_milestones(Some(&group()), 10).await.unwrap();
    let members: Vec<i64> = reached.iter().filter(|m| m.kind == MilestoneKind::Members).map(|m| m.threshold).collect();
    assert_eq!(members, vec![200, 150, 100]);
}

#[tokio::test]
async fn a_custom_counter_crossing_1000_celebrates_once() {
    let h = Harness::new().await;
    let inc = |amount: i64, key: &'static str| {
        let engine = h.engine.clone();
        async move { engine.increment_counter(&group(), "orders", amount, Some(key), "operator:shop").await.unwrap() }
    };
    assert_eq!(inc(990, "k1").await.value, 990);
    let crossed = inc(20, "k2").await;
    assert_eq!(crossed.value, 1010);
    assert_eq!(h.sends_containing("orders突破 1000（当前 1010）").await, 1);
    let again = inc(20, "k2").await;
    assert!(again.duplicate);
    assert_eq!(again.value, 1010);
    inc(5, "k3").await;
    assert_eq!(h.sends_containing("突破 1000").await, 1);
    assert_eq!(h.store.counter_value(&group(), "orders").await.unwrap(), 1015);
}

#[tokio::test]
async fn message_totals_are_celebrated_when_crossed() {
    let h = Harness::new().await;
    let mut rulebook = h.engine.rulebook().rulebook.clone();
    rulebook.templates.get_mut("default").unwrap().milestones.message_totals = vec![3];
    h.engine.save_rulebook(rulebook, "alice", "small totals").await.unwrap();
    let someone = member("u1", "话痨");
    for text in ["一", "二", "三", "四"] {
        h.say(&someone, text).await;
    }
    assert_eq!(h.sends_containing("累计消息突破 3 条").await, 1);
}

#[tokio::test]
async fn an_invitee_speaking_first_after_the_stay_validates_the_invite_at_once() {
    let h = Harness::new().await;
    let (inviter, invitee) = (member("u1", "老会员"), member("u2", "新朋友"));
    h.join(&invitee, Some(&inviter)).await;
    // The stay is over but the invitee never spoke: still pending.
    h.after(Duration::days(4)).await;
    assert_eq!(h.status("u2").await, ReferralStatus::Pending);
    let said = h.say(&invitee, "潜水这么久，冒个泡").await;
    assert_eq!(h.status("u2").await, ReferralStatus::Valid);
    assert_eq!(h.balance("u1").await, 10);
    assert_eq!(said.actions.iter().filter(|a| text_of(a).contains("感谢 @老会员")).count(), 1);
    h.after(Duration::minutes(1)).await;
    assert_eq!(h.balance("u1").await, 10, "the scheduler finds nothing left to do");
}
