//! Points and check-in stories, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::points::{CheckIn, LedgerEntry, PointsBalance};
use qunzhu_core::store::Commit;
use qunzhu_core::{ConnectorId, Event, EventKind, GroupKey, Member, MemberId, Message, NewAuditEntry, Origin, PlatformEventId, StateWrite, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn entry(id: &str, member: &str, amount: i64, rule: &str, at: DateTime<Utc>) -> LedgerEntry {
    LedgerEntry {
        id: id.into(),
        connector: ConnectorId::new("qq"),
        member: MemberId::new(member),
        amount,
        reason: format!("理由 {id}：含\"引号\"与表情 🎉"),
        rule: rule.into(),
        group: Some(qq("100")),
        cause: Some(PlatformEventId::new(format!("ev-{id}"))),
        actor: "engine".into(),
        time: at,
    }
}

fn check_in(member: &str, d: u32, streak: u32, at: DateTime<Utc>) -> CheckIn {
    CheckIn { group: qq("100"), member: MemberId::new(member), day: day(d), streak, points: 5, makeup: false, time: at }
}

fn audit(summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: t(0),
        actor: "运营小王".into(),
        kind: "points.grant".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: summary.into(),
        detail: None,
    }
}

fn writes(writes: Vec<StateWrite>) -> Commit {
    Commit { writes, ..Commit::default() }
}

async fn the_balance_is_always_the_sum_of_the_ledger_and_replays_change_nothing(store: Arc<dyn Store>) {
    let qq_id = ConnectorId::new("qq");
    let alice = MemberId::new("alice");
    let first = writes(vec![
        StateWrite::Points(entry("e1", "alice", 10, "check_in", t(0))),
        StateWrite::Points(entry("e2", "alice", 3, "points", t(1))),
        StateWrite::Points(entry("e3", "bob", 7, "points", t(2))),
    ]);
    store.commit(&first).await.unwrap();
    // The same commit again (a re-processed event) pays nothing twice.
    store.commit(&first).await.unwrap();
    store.commit(&writes(vec![StateWrite::Points(entry("e4", "alice", -4, "shop", t(3)))])).await.unwrap();
    let ledger = store.points_ledger(&qq_id, &alice, 10).await.unwrap();
    assert_eq!(ledger.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e4", "e2", "e1"], "newest first");
    assert_eq!(ledger[2], entry("e1", "alice", 10, "check_in", t(0)), "every field round-trips");
    let sum: i64 = ledger.iter().map(|e| e.amount).sum();
    let balance = store.points_balance(&qq_id, &alice).await.unwrap();
    assert_eq!(balance, PointsBalance { balance: sum, earned: 13 });
    assert_eq!(store.points_balance(&ConnectorId::new("tg"), &alice).await.unwrap(), PointsBalance::default(), "points belong to one community");
    assert_eq!(store.points_by_rule_since(&qq_id, &alice, "points", t(1)).await.unwrap(), 3);
    assert_eq!(store.points_by_rule_since(&qq_id, &alice, "points", t(2)).await.unwrap(), 0);
    let board = store.points_leaderboard(&qq_id, 10).await.unwrap();
    assert_eq!(board.iter().map(|r| (r.member.as_str(), r.balance)).collect::<Vec<_>>(), [("alice", 9), ("bob", 7)]);
}

async fn a_manual_deduction_never_overdraws_and_writes_its_audit_row(store: Arc<dyn Store>) {
    let qq_id = ConnectorId::new("qq");
    let carol = MemberId::new("carol");
    let mut grant = entry("g1", "carol", 20, "manual", t(0));
    grant.actor = "运营小王".into();
    assert_eq!(store.add_points(&grant, &audit("给 carol 加 20 分")).await.unwrap().balance, 20);
    let error = store.add_points(&grant, &audit("again")).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    let too_much = entry("g2", "carol", -21, "manual", t(1));
    let error = store.add_points(&too_much, &audit("扣 21 分")).await.unwrap_err();
    assert!(matches!(&error, StoreError::Conflict(m) if m.contains("insufficient")), "{error:?}");
    assert_eq!(store.add_points(&entry("g3", "carol", -20, "manual", t(2)), &audit("扣 20 分")).await.unwrap().balance, 0);
    assert_eq!(store.points_balance(&qq_id, &carol).await.unwrap(), PointsBalance { balance: 0, earned: 20 });
    let summaries: Vec<String> = store.list_audit(None, 10).await.unwrap().into_iter().map(|a| a.entry.summary).collect();
    assert_eq!(summaries, ["扣 20 分", "给 carol 加 20 分"], "refused changes leave no audit row");
    assert_eq!(store.points_ledger(&qq_id, &carol, 10).await.unwrap().len(), 2);
}

async fn concurrent_deductions_never_spend_more_than_the_balance(store: Arc<dyn Store>) {
    let qq_id = ConnectorId::new("qq");
    let dave = MemberId::new("dave");
    store.add_points(&entry("seed", "dave", 50, "manual", t(0)), &audit("seed")).await.unwrap();
    let attempts = (0..20).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.add_points(&entry(&format!("d{n}"), "dave", -10, "shop", t(1)), &audit("spend")).await })
    });
    let mut ok = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 5, "50 points pay for exactly five 10-point spends");
    assert_eq!(store.points_balance(&qq_id, &dave).await.unwrap().balance, 0);
}

async fn check_ins_are_one_per_member_and_day_in_time_order(store: Arc<dyn Store>) {
    let g = qq("100");
    let alice = MemberId::new("alice");
    store.commit(&writes(vec![StateWrite::CheckIn(check_in("alice", 20, 1, t(0)))])).await.unwrap();
    store.commit(&writes(vec![StateWrite::CheckIn(check_in("bob", 21, 1, t(86_400)))])).await.unwrap();
    store.commit(&writes(vec![StateWrite::CheckIn(check_in("alice", 21, 2, t(86_500)))])).await.unwrap();
    // A second check-in the same day is skipped, not an error.
    store.commit(&writes(vec![StateWrite::CheckIn(check_in("alice", 21, 9, t(86_600)))])).await.unwrap();
    assert_eq!(store.last_check_in(&g, &alice).await.unwrap(), Some(check_in("alice", 21, 2, t(86_500))));
    assert_eq!(store.check_in_on(&g, &alice, day(20)).await.unwrap(), Some(check_in("alice", 20, 1, t(0))));
    assert_eq!(store.check_in_on(&g, &alice, day(22)).await.unwrap(), None);
    let today: Vec<String> = store.check_ins_on(&g, day(21)).await.unwrap().into_iter().map(|c| c.member.as_str().to_owned()).collect();
    assert_eq!(today, ["bob", "alice"], "ranked by time");
    assert_eq!(store.count_check_ins(&g, &alice, day(15), day(21)).await.unwrap(), 2);
    assert_eq!(store.count_check_ins(&g, &alice, day(21), day(21)).await.unwrap(), 1);
    assert_eq!(store.count_check_ins(&qq("200"), &alice, day(1), day(30)).await.unwrap(), 0);
    assert_eq!(store.last_check_in(&qq("200"), &alice).await.unwrap(), None);
}

async fn writes_of_a_commit_for_an_unknown_event_are_not_kept(store: Arc<dyn Store>) {
    let commit = Commit { event_seq: Some(999), ..writes(vec![StateWrite::Points(entry("lost", "erin", 5, "points", t(0)))]) };
    assert!(store.commit(&commit).await.is_err());
    assert_eq!(store.points_balance(&ConnectorId::new("qq"), &MemberId::new("erin")).await.unwrap(), PointsBalance::default());
    // And a real event's writes are kept with it.
    let event = Event {
        origin: Origin { connector: ConnectorId::new("qq"), group: qq("100").group, event_id: PlatformEventId::new("m1") },
        group_name: None,
        time: t(0),
        kind: EventKind::MessagePosted { author: Member::new("erin", "Erin"), message: Message::text("m1", "签到") },
    };
    let seq = match store.accept_event(&event).await.unwrap() {
        qunzhu_core::store::Accepted::New { seq } => seq,
        other => panic!("{other:?}"),
    };
    store.commit(&Commit { event_seq: Some(seq), ..writes(vec![StateWrite::Points(entry("kept", "erin", 5, "points", t(0)))]) }).await.unwrap();
    assert_eq!(store.points_balance(&ConnectorId::new("qq"), &MemberId::new("erin")).await.unwrap().balance, 5);
}

stories! {
    any store:
        the_balance_is_always_the_sum_of_the_ledger_and_replays_change_nothing,
        a_manual_deduction_never_overdraws_and_writes_its_audit_row,
        concurrent_deductions_never_spend_more_than_the_balance,
        check_ins_are_one_per_member_and_day_in_time_order,
        writes_of_a_commit_for_an_unknown_event_are_not_kept;
    reopened:
}
