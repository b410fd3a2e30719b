//! Referral (裂变), invite code, campaign, milestone (里程碑) and counter stories, told to every
//! backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::growth::{
    CounterIncrement, Milestone, MilestoneKind, Referral, ReferralCampaign, ReferralCode, ReferralFilter, ReferralSource, ReferralStatus,
    ReferralWrite, referral_id,
};
use qunzhu_core::moderation::{MemberChange, MemberUpdate};
use qunzhu_core::points::CheckIn;
use qunzhu_core::store::Commit;
use qunzhu_core::{Action, ActionId, ActionKind, GroupKey, MemberId, NewAuditEntry, Segment, StateWrite, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn referral(group: &str, invitee: &str, inviter: &str, joined: i64) -> Referral {
    let group = qq(group);
    Referral {
        id: referral_id(&group, &MemberId::new(invitee)),
        group,
        inviter: MemberId::new(inviter),
        inviter_name: Some(format!("邀请人{inviter}")),
        invitee: MemberId::new(invitee),
        invitee_name: Some(format!("新人\"{invitee}\" 🎉")),
        source: ReferralSource::Platform,
        code: None,
        campaign: None,
        reward_points: 10,
        joined_at: t(joined),
        due_at: t(joined + 3 * 86_400),
        early_leave_secs: 7 * 86_400,
        cause: format!("join-{invitee}").into(),
        status: ReferralStatus::Pending,
        spoke_at: None,
        validated_at: None,
        left_at: None,
    }
}

fn r(write: ReferralWrite) -> StateWrite {
    StateWrite::Referral(write)
}

fn commit(writes: Vec<StateWrite>) -> Commit {
    Commit { writes, ..Commit::default() }
}

fn audit(summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: t(0),
        actor: "operator:alice".into(),
        kind: "referral.campaign.save".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("growth".into()),
        summary: summary.into(),
        detail: None,
    }
}

fn celebration(id: &str, group: &GroupKey) -> Action {
    Action {
        id: ActionId::new(id),
        group: group.clone(),
        kind: ActionKind::Send { segments: vec![Segment::text("🎉 第 200 位成员")] },
        rule: "growth".into(),
        cause: None,
        explanation: "里程碑".into(),
        not_before: None,
        created_at: t(0),
    }
}

fn milestone(group: &GroupKey, threshold: i64, cause: &str, at: i64) -> Milestone {
    Milestone {
        group: group.clone(),
        kind: MilestoneKind::Members,
        name: String::new(),
        threshold,
        count: threshold,
        member: Some(MemberId::new("u200")),
        cause: cause.into(),
        reached_at: t(at),
    }
}

async fn a_referral_round_trips_and_moves_only_by_its_transitions(store: Arc<dyn Store>) {
    let invited = referral("1", "u2", "u1", 0);
    store.commit(&commit(vec![r(ReferralWrite::Invited(Box::new(invited.clone())))])).await.unwrap();
    assert_eq!(store.referral(&invited.id).await.unwrap(), Some(invited.clone()), "every field round-trips");

    // A second invite for the same invitee and group (a rejoin) is skipped.
    let rejoin = referral("1", "u2", "u9", 100);
    let id = invited.id.clone();
    store
        .commit(&commit(vec![
            r(ReferralWrite::Invited(Box::new(rejoin))),
            r(ReferralWrite::Spoke { id: id.clone(), at: t(10) }),
            r(ReferralWrite::Spoke { id: id.clone(), at: t(20) }),
            r(ReferralWrite::Reversed { id: id.clone(), at: t(30) }),
        ]))
        .await
        .unwrap();
    let now = store.referral(&id).await.unwrap().unwrap();
    assert_eq!(now.inviter.as_str(), "u1");
    assert_eq!(now.spoke_at, Some(t(10)), "the first word counts");
    assert_eq!(now.status, ReferralStatus::Pending, "only a valid referral can be reversed");

    store.commit(&commit(vec![r(ReferralWrite::Validated { id: id.clone(), at: t(40) })])).await.unwrap();
    store.commit(&commit(vec![r(ReferralWrite::Voided { id: id.clone(), at: t(50) })])).await.unwrap();
    let now = store.referral(&id).await.unwrap().unwrap();
    assert_eq!((now.status, now.validated_at, now.left_at), (ReferralStatus::Valid, Some(t(40)), None), "a valid one is not voided");

    store.commit(&commit(vec![r(ReferralWrite::Reversed { id: id.clone(), at: t(60) })])).await.unwrap();
    store.commit(&commit(vec![r(ReferralWrite::Left { id: id.clone(), at: t(70) })])).await.unwrap();
    let now = store.referral(&id).await.unwrap().unwrap();
    assert_eq!((now.status, now.left_at), (ReferralStatus::Reversed, Some(t(60))));
    assert_eq!(store.referral("ref:nobody").await.unwrap(), None);
}

async fn referrals_are_listed_by_filter_and_due_once_spoken_and_stayed(store: Arc<dyn Store>) {
    let mut campaign = referral("1", "b", "x", 10);
    campaign.campaign = Some("rc-1".into());
    let all = [referral("1", "a", "x", 0), campaign, referral("1", "c", "y", 20), referral("2", "d", "x", 30)];
    store.commit(&commit(all.iter().cloned().map(|x| r(ReferralWrite::Invited(Box::new(x)))).collect())).await.unwrap();
    let ids = |list: Vec<Referral>| list.into_iter().map(|x| x.invitee.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(store.list_referrals(&ReferralFilter::default(), 10).await.unwrap()), ["d", "c", "b", "a"], "newest join first");
    let in_group = ReferralFilter { group: Some(qq("1")), inviter: Some("x".into()), ..ReferralFilter::default() };
    assert_eq!(ids(store.list_referrals(&in_group, 10).await.unwrap()), ["b", "a"]);
    let of_campaign = ReferralFilter { campaign: Some("rc-1".into()), ..ReferralFilter::default() };
    assert_eq!(ids(store.list_referrals(&of_campaign, 10).await.unwrap()), ["b"]);
    assert_eq!(ids(store.list_referrals(&ReferralFilter::default(), 2).await.unwrap()), ["d", "c"]);

    let (a, c) = (all[0].id.clone(), all[2].id.clone());
    store.commit(&commit(vec![r(ReferralWrite::Spoke { id: a.clone(), at: t(5) }), r(ReferralWrite::Spoke { id: c.clone(), at: t(25) })])).await.unwrap();
    let pending = ReferralFilter { status: Some(ReferralStatus::Pending), ..ReferralFilter::default() };
    assert_eq!(store.list_referrals(&pending, 10).await.unwrap().len(), 4);
    assert!(store.due_referrals(t(3 * 86_400 - 1), 10).await.unwrap().is_empty(), "nobody stayed long enough yet");
    assert_eq!(ids(store.due_referrals(t(4 * 86_400), 10).await.unwrap()), ["a", "c"], "spoken and stayed, soonest first");
    store.commit(&commit(vec![r(ReferralWrite::Validated { id: a, at: t(4 * 86_400) })])).await.unwrap();
    assert_eq!(ids(store.due_referrals(t(4 * 86_400), 10).await.unwrap()), ["c"]);
}

async fn invite_codes_are_one_per_member_and_unique_per_connector(store: Arc<dyn Store>) {
    let code = |code: &str, connector: &str, member: &str| ReferralCode {
        code: code.into(),
        connector: connector.into(),
        member: member.into(),
        member_name: Some("老会员".into()),
        created_at: t(0),
    };
    let first = store.save_referral_code(&code("KQWZMT", "qq", "u1")).await.unwrap();
    assert_eq!(store.save_referral_code(&code("ABCDEF", "qq", "u1")).await.unwrap(), first, "a member keeps their code");
    assert!(matches!(store.save_referral_code(&code("KQWZMT", "qq", "u2")).await, Err(StoreError::Conflict(_))));
    store.save_referral_code(&code("KQWZMT", "tg", "u2")).await.unwrap();
    assert_eq!(store.referral_code(&"qq".into(), "KQWZMT").await.unwrap(), Some(first));
    assert_eq!(store.referral_code(&"tg".into(), "KQWZMT").await.unwrap().unwrap().member.as_str(), "u2");
    assert_eq!(store.referral_code(&"qq".into(), "NOPE").await.unwrap(), None);
}

async fn campaigns_are_saved_replaced_and_deleted_with_audit_rows(store: Arc<dyn Store>) {
    let campaign = |id: &str, name: &str, start: i64| ReferralCampaign {
        id: id.into(),
        name: name.into(),
        groups: vec![qq("1")],
        starts_at: t(start),
        ends_at: t(start + 86_400),
        reward_points: 50,
        stay_days: 1,
        early_leave_days: 2,
        created_by: "operator:alice".into(),
        created_at: t(0),
    };
    store.save_referral_campaign(&campaign("rc-b", "国庆", 100), &audit("save b")).await.unwrap();
    store.save_referral_campaign(&campaign("rc-a", "暑期", 50), &audit("save a")).await.unwrap();
    store.save_referral_campaign(&campaign("rc-b", "国庆拉新", 100), &audit("rename b")).await.unwrap();
    let all = store.referral_campaigns().await.unwrap();
    assert_eq!(all, vec![campaign("rc-a", "暑期", 50), campaign("rc-b", "国庆拉新", 100)], "by start, replaced in place");
    assert!(store.delete_referral_campaign("rc-a", &audit("delete a")).await.unwrap());
    assert!(!store.delete_referral_campaign("rc-a", &audit("delete a again")).await.unwrap());
    assert_eq!(store.referral_campaigns().await.unwrap().len(), 1);
    let summaries: Vec<String> = store.list_audit(None, 10).await.unwrap().into_iter().map(|a| a.entry.summary).collect();
    assert_eq!(summaries, ["delete a", "rename b", "save a", "save b"]);
}

async fn a_milestone_is_recorded_once_and_another_event_reaching_it_is_refused_whole(store: Arc<dyn Store>) {
    let group = qq("1");
    let first = Commit { actions: vec![celebration("a1", &group)], writes: vec![StateWrite::Milestone(milestone(&group, 200, "e1", 1))], ..Commit::default() };
    store.commit(&first).await.unwrap();
    store.commit(&first).await.unwrap();
    assert!(store.milestone_reached(&group, MilestoneKind::Members, "", 200).await.unwrap());
    assert!(!store.milestone_reached(&group, MilestoneKind::Members, "", 300).await.unwrap());
    assert!(!store.milestone_reached(&qq("2"), MilestoneKind::Members, "", 200).await.unwrap());
    assert!(!store.milestone_reached(&group, MilestoneKind::Counter, "", 200).await.unwrap());

    let second = Commit { actions: vec![celebration("a2", &group)], writes: vec![StateWrite::Milestone(milestone(&group, 200, "e2", 2))], ..Commit::default() };
    assert!(matches!(store.commit(&second).await, Err(StoreError::Conflict(_))));
    assert!(store.get_action(&ActionId::new("a2")).await.unwrap().is_none(), "a refused commit queues nothing");
    assert_eq!(store.list_milestones(Some(&group), 10).await.unwrap(), vec![milestone(&group, 200, "e1", 1)]);

    let mut counter = milestone(&qq("2"), 1000, "e3", 3);
    counter.kind = MilestoneKind::Counter;
    counter.name = "orders".into();
    counter.member = None;
    store.commit(&commit(vec![StateWrite::Milestone(counter.clone())])).await.unwrap();
    assert!(store.milestone_reached(&qq("2"), MilestoneKind::Counter, "orders", 1000).await.unwrap());
    assert_eq!(store.list_milestones(None, 10).await.unwrap(), vec![counter, milestone(&group, 200, "e1", 1)], "newest first");
}

async fn concurrent_threshold_crossings_produce_one_celebration(store: Arc<dyn Store>) {
    let group = qq("1");
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            let group = group.clone();
            tokio::spawn(async move {
                let commit = Commit {
                    actions: vec![celebration(&format!("race-{n}"), &group)],
                    writes: vec![StateWrite::Milestone(milestone(&group, 200, &format!("e{n}"), n))],
                    ..Commit::default()
                };
                store.commit(&commit).await
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1);
    let queued = store.actions_after(&"qq".into(), 0, t(100), 100).await.unwrap();
    assert_eq!(queued.len(), 1, "exactly one celebration is queued");
    assert_eq!(store.list_milestones(Some(&group), 10).await.unwrap().len(), 1);
}

async fn counters_add_each_increment_once(store: Arc<dyn Store>) {
    let inc = |id: &str, group: &str, name: &str, amount: i64, at: i64| {
        StateWrite::Counter(CounterIncrement { id: id.into(), group: qq(group), name: name.into(), amount, at: t(at) })
    };
    store.commit(&commit(vec![inc("k1", "1", "orders", 990, 1), inc("k2", "1", "orders", 20, 2), inc("k1", "1", "orders", 990, 3)])).await.unwrap();
    store.commit(&commit(vec![inc("k2", "1", "orders", 20, 4), inc("k3", "1", "refunds", -2, 5), inc("k4", "2", "orders", 7, 6)])).await.unwrap();
    assert_eq!(store.counter_value(&qq("1"), "orders").await.unwrap(), 1010);
    assert_eq!(store.counter_value(&qq("1"), "refunds").await.unwrap(), -2);
    assert_eq!(store.counter_value(&qq("1"), "nothing").await.unwrap(), 0);
    let all: Vec<(String, String, i64)> =
        store.list_counters(None).await.unwrap().into_iter().map(|c| (c.group.group.to_string(), c.name, c.value)).collect();
    assert_eq!(all, [("1".into(), "orders".into(), 1010), ("1".into(), "refunds".into(), -2), ("2".into(), "orders".into(), 7)]);
    let one = store.list_counters(Some(&qq("2"))).await.unwrap();
    assert_eq!((one.len(), one[0].updated_at), (1, t(6)));
}

async fn group_totals_count_messages_and_check_ins(store: Arc<dyn Store>) {
    let posted = |group: &str, member: &str, at: i64| MemberUpdate {
        group: qq(group),
        member: member.into(),
        name: None,
        at: t(at),
        change: MemberChange::Posted,
    };
    let check_in = |member: &str, day: u32| {
        StateWrite::CheckIn(CheckIn {
            group: qq("1"),
            member: member.into(),
            day: NaiveDate::from_ymd_opt(2026, 6, day).unwrap(),
            streak: 1,
            points: 5,
            makeup: false,
            time: t(i64::from(day)),
        })
    };
    let updates = vec![posted("1", "a", 1), posted("1", "a", 2), posted("1", "b", 3), posted("2", "c", 4)];
    store.commit(&Commit { members: updates, writes: vec![check_in("a", 1), check_in("a", 2), check_in("b", 2)], ..Commit::default() }).await.unwrap();
    assert_eq!(store.group_message_total(&qq("1")).await.unwrap(), 3);
    assert_eq!(store.group_message_total(&qq("3")).await.unwrap(), 0);
    assert_eq!(store.group_check_in_total(&qq("1")).await.unwrap(), 3);
    assert_eq!(store.group_check_in_total(&qq("2")).await.unwrap(), 0);
}

stories! {
    any store:
        a_referral_round_trips_and_moves_only_by_its_transitions,
        referrals_are_listed_by_filter_and_due_once_spoken_and_stayed,
        invite_codes_are_one_per_member_and_unique_per_connector,
        campaigns_are_saved_replaced_and_deleted_with_audit_rows,
        a_milestone_is_recorded_once_and_another_event_reaching_it_is_refused_whole,
        concurrent_threshold_crossings_produce_one_celebration,
        counters_add_each_increment_once,
        group_totals_count_messages_and_check_ins;
    reopened:
}
