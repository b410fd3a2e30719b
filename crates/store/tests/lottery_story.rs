//! Sign-up list (接龙) and lottery (抽奖) stories, told to every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::lottery::{DrawRecord, EntryCondition, Lottery, LotteryEntry, LotteryStatus, LotteryWrite};
use qunzhu_core::signup::{CloseReason, Signup, SignupStatus, SignupWrite};
use qunzhu_core::store::Commit;
use qunzhu_core::{ConnectorId, GroupKey, MemberId, NewAuditEntry, StateWrite, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn signup(id: &str, group: &str, at: DateTime<Utc>) -> Signup {
    Signup {
        id: id.into(),
        group: qq(group),
        title: format!("周六羽毛球 {id}：含\"引号\"与表情 🏸"),
        limit: Some(20),
        closes_at: Some(t(3600)),
        started_by: "member:u1".into(),
        created_at: at,
        status: SignupStatus::Open,
        close_reason: None,
        closed_at: None,
        closed_by: None,
        last_posted_at: None,
        repost_due_at: None,
    }
}

fn commit(writes: Vec<StateWrite>) -> Commit {
    Commit { writes, ..Commit::default() }
}

fn s(write: SignupWrite) -> StateWrite {
    StateWrite::Signup(write)
}

fn l(write: LotteryWrite) -> StateWrite {
    StateWrite::Lottery(write)
}

fn join(signup: &str, member: &str, note: Option<&str>, at: DateTime<Utc>) -> StateWrite {
    s(SignupWrite::Join {
        signup: signup.into(),
        member: MemberId::new(member),
        name: Some(format!("成员{member}")),
        note: note.map(String::from),
        at,
    })
}

fn withdraw(signup: &str, member: &str, at: DateTime<Utc>) -> StateWrite {
    s(SignupWrite::Withdraw { signup: signup.into(), member: MemberId::new(member), at })
}

fn audit(summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: t(0),
        actor: "engine".into(),
        kind: "decision".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: Some("signup".into()),
        summary: summary.into(),
        detail: None,
    }
}

fn members(entries: &[qunzhu_core::signup::SignupEntry]) -> Vec<(String, bool)> {
    entries.iter().map(|e| (e.member.to_string(), e.is_active())).collect()
}

async fn a_sign_up_list_keeps_its_members_in_joining_order(store: Arc<dyn Store>) {
    let started = signup("sg-1", "100", t(0));
    store.commit(&commit(vec![s(SignupWrite::Start(started.clone()))])).await.unwrap();
    assert_eq!(store.get_signup("sg-1").await.unwrap(), Some(started.clone()), "every field round-trips");
    assert_eq!(store.open_signup(&qq("100")).await.unwrap(), Some(started));

    store
        .commit(&commit(vec![
            join("sg-1", "a", None, t(1)),
            join("sg-1", "b", Some("带2人\u{0}🎉"), t(2)),
            join("sg-1", "c", None, t(3)),
        ]))
        .await
        .unwrap();
    // A's second keyword with a note changes the note and keeps the place; B withdraws and
    // joins again at the end; someone not on the list withdrawing changes nothing.
    store.commit(&commit(vec![join("sg-1", "a", Some("晚到"), t(4)), withdraw("sg-1", "b", t(5)), withdraw("sg-1", "zz", t(5))])).await.unwrap();
    let entries = store.signup_entries("sg-1").await.unwrap();
    assert_eq!(members(&entries), [("a".into(), true), ("b".into(), false), ("c".into(), true)]);
    assert_eq!(entries[0].note.as_deref(), Some("晚到"));
    assert_eq!(entries[0].joined_at, t(1), "a note change keeps the place");
    assert_eq!(entries[1].note.as_deref(), Some("带2人\u{0}🎉"), "chat text round-trips, NUL and all");
    assert_eq!(entries[1].withdrawn_at, Some(t(5)));
    assert_eq!(entries[1].name.as_deref(), Some("成员b"));

    store.commit(&commit(vec![join("sg-1", "b", None, t(6))])).await.unwrap();
    let entries = store.signup_entries("sg-1").await.unwrap();
    assert_eq!(members(&entries), [("a".into(), true), ("c".into(), true), ("b".into(), true)], "a rejoin goes to the end");
    assert_eq!(entries[2].joined_at, t(6));
    assert_eq!(entries[2].note, None, "a rejoin starts a fresh entry");
    assert!(store.signup_entries("sg-none").await.unwrap().is_empty());
}

async fn one_list_per_group_is_open_and_a_closed_list_refuses_changes(store: Arc<dyn Store>) {
    store.commit(&commit(vec![s(SignupWrite::Start(signup("sg-1", "100", t(0))))])).await.unwrap();
    // The same start again (a re-run) is skipped.
    store.commit(&commit(vec![s(SignupWrite::Start(signup("sg-1", "100", t(0))))])).await.unwrap();

    // A second open list in the group refuses the whole commit, audit row and join included.
    let refused = Commit {
        audit: vec![audit("第二个接龙")],
        ..commit(vec![join("sg-1", "a", None, t(1)), s(SignupWrite::Start(signup("sg-2", "100", t(1))))])
    };
    let error = store.commit(&refused).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert!(store.signup_entries("sg-1").await.unwrap().is_empty(), "nothing of a refused commit is kept");
    assert!(store.get_signup("sg-2").await.unwrap().is_none());
    assert!(store.list_audit(None, 10).await.unwrap().is_empty());
    // Another group may have its own.
    store.commit(&commit(vec![s(SignupWrite::Start(signup("sg-3", "200", t(2))))])).await.unwrap();

    let close = s(SignupWrite::Close { signup: "sg-1".into(), reason: CloseReason::Full, by: "engine".into(), at: t(10) });
    store.commit(&commit(vec![close.clone()])).await.unwrap();
    let closed = store.get_signup("sg-1").await.unwrap().unwrap();
    assert_eq!(closed.status, SignupStatus::Closed);
    assert_eq!(closed.close_reason, Some(CloseReason::Full));
    assert_eq!(closed.closed_by.as_deref(), Some("engine"));
    assert_eq!(closed.closed_at, Some(t(10)));
    assert!(store.open_signup(&qq("100")).await.unwrap().is_none());
    // Closing again keeps the first closing.
    store.commit(&commit(vec![s(SignupWrite::Close { signup: "sg-1".into(), reason: CloseReason::Manual, by: "operator:bob".into(), at: t(11) })])).await.unwrap();
    assert_eq!(store.get_signup("sg-1").await.unwrap().unwrap(), closed);

    for late in [join("sg-1", "late", None, t(12)), withdraw("sg-1", "late", t(12))] {
        let error = store.commit(&commit(vec![late])).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    }
    let error = store.commit(&commit(vec![join("sg-none", "a", None, t(12))])).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");

    // Once closed, the group may start a new one.
    store.commit(&commit(vec![s(SignupWrite::Start(signup("sg-4", "100", t(13))))])).await.unwrap();
    let listed: Vec<String> = store.list_signups(Some(&qq("100")), None, 10).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, ["sg-4", "sg-1"], "newest first, only that group");
    let open: Vec<String> = store.list_signups(None, Some(SignupStatus::Open), 10).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(open, ["sg-4", "sg-3"]);
    let closed: Vec<String> = store.list_signups(None, Some(SignupStatus::Closed), 1).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(closed, ["sg-1"]);
}

async fn re_posts_and_closings_come_due_soonest_first(store: Arc<dyn Store>) {
    let mut early_close = signup("sg-a", "100", t(0));
    early_close.closes_at = Some(t(50));
    let mut no_close = signup("sg-b", "200", t(0));
    no_close.closes_at = None;
    let mut later = signup("sg-c", "300", t(0));
    later.closes_at = Some(t(500));
    store
        .commit(&commit(vec![s(SignupWrite::Start(early_close)), s(SignupWrite::Start(no_close)), s(SignupWrite::Start(later))]))
        .await
        .unwrap();
    store
        .commit(&commit(vec![
            s(SignupWrite::RepostDue { signup: "sg-b".into(), at: t(40) }),
            // A later re-post time keeps the earlier pending one.
            s(SignupWrite::RepostDue { signup: "sg-b".into(), at: t(45) }),
            s(SignupWrite::RepostDue { signup: "sg-c".into(), at: t(30) }),
        ]))
        .await
        .unwrap();
    assert_eq!(store.get_signup("sg-b").await.unwrap().unwrap().repost_due_at, Some(t(40)));
    let due = |now| {
        let store = store.clone();
        async move { store.due_signups(now, 10).await.unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>() }
    };
    assert!(due(t(29)).await.is_empty());
    assert_eq!(due(t(60)).await, ["sg-c", "sg-b", "sg-a"], "by re-post or closing time, soonest first");
    assert_eq!(store.due_signups(t(60), 1).await.unwrap().len(), 1);

    store.commit(&commit(vec![s(SignupWrite::Posted { signup: "sg-c".into(), at: t(31) })])).await.unwrap();
    let posted = store.get_signup("sg-c").await.unwrap().unwrap();
    assert_eq!((posted.last_posted_at, posted.repost_due_at), (Some(t(31)), None));
    store.commit(&commit(vec![s(SignupWrite::Close { signup: "sg-a".into(), reason: CloseReason::Time, by: "engine".into(), at: t(50) })])).await.unwrap();
    assert_eq!(due(t(60)).await, ["sg-b"], "posted and closed lists are no longer due");
    // A closed list takes no re-post.
    store.commit(&commit(vec![s(SignupWrite::RepostDue { signup: "sg-a".into(), at: t(51) })])).await.unwrap();
    assert_eq!(store.get_signup("sg-a").await.unwrap().unwrap().repost_due_at, None);
}

fn lottery(id: &str, groups: &[&str], draw_at: DateTime<Utc>) -> Lottery {
    Lottery {
        id: id.into(),
        title: format!("周末抽奖 {id}"),
        prize: "保温杯 ☕ \"限量\"".into(),
        winners: 2,
        groups: groups.iter().map(|g| qq(g)).collect(),
        keyword: Some("抽奖".into()),
        condition: Some(EntryCondition::Messages { at_least: 3 }),
        draw_at,
        created_by: "operator:alice".into(),
        created_at: t(0),
        status: LotteryStatus::Open,
        draw: None,
    }
}

fn entry(lottery: &str, member: &str, group: &str, at: DateTime<Utc>) -> LotteryEntry {
    LotteryEntry {
        lottery: lottery.into(),
        connector: ConnectorId::new("qq"),
        member: MemberId::new(member),
        group: qq(group),
        name: Some(format!("成员{member}")),
        entered_at: at,
    }
}

fn record(entrants: &[&str]) -> DrawRecord {
    DrawRecord {
        algorithm: "qunzhu-draw-v1".into(),
        seed: "ab".repeat(32),
        entrants: entrants.iter().map(|e| format!("qq/{e}")).collect(),
        entrants_sha256: "cd".repeat(32),
        winners: entrants.iter().take(1).map(|e| format!("qq/{e}")).collect(),
        drawn_at: t(100),
        drawn_by: "engine".into(),
    }
}

fn count(lottery: &str, member: &str, group: &str) -> StateWrite {
    l(LotteryWrite::CountMessage { lottery: lottery.into(), group: qq(group), member: MemberId::new(member), name: Some(format!("成员{member}")) })
}

async fn a_lottery_round_trips_and_is_found_by_its_groups_and_draw_time(store: Arc<dyn Store>) {
    let created = lottery("lt-1", &["100", "200"], t(100));
    store.commit(&commit(vec![l(LotteryWrite::Create(created.clone()))])).await.unwrap();
    store.commit(&commit(vec![l(LotteryWrite::Create(lottery("lt-2", &["200"], t(50))))])).await.unwrap();
    // A re-run of the creation is skipped.
    store.commit(&commit(vec![l(LotteryWrite::Create(created.clone()))])).await.unwrap();
    assert_eq!(store.get_lottery("lt-1").await.unwrap(), Some(created.clone()), "every field round-trips");
    assert_eq!(store.get_lottery("lt-x").await.unwrap(), None);

    let ids = |lotteries: Vec<Lottery>| lotteries.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(ids(store.open_lotteries_in(&qq("100")).await.unwrap()), ["lt-1"]);
    assert_eq!(ids(store.open_lotteries_in(&qq("200")).await.unwrap()), ["lt-1", "lt-2"], "oldest first");
    assert!(store.open_lotteries_in(&qq("300")).await.unwrap().is_empty());
    assert!(store.open_lotteries_in(&GroupKey::new("wx", "100")).await.unwrap().is_empty(), "a group is its connector and id");
    assert_eq!(ids(store.list_lotteries(None, 10).await.unwrap()), ["lt-2", "lt-1"], "newest first");
    assert!(store.due_lotteries(t(49), 10).await.unwrap().is_empty());
    assert_eq!(ids(store.due_lotteries(t(100), 10).await.unwrap()), ["lt-2", "lt-1"], "soonest draw first");
    assert_eq!(ids(store.due_lotteries(t(100), 1).await.unwrap()), ["lt-2"]);
}

async fn entries_are_one_per_member_and_messages_are_counted(store: Arc<dyn Store>) {
    store.commit(&commit(vec![l(LotteryWrite::Create(lottery("lt-1", &["100", "200"], t(100))))])).await.unwrap();
    store.commit(&commit(vec![l(LotteryWrite::Enter(entry("lt-1", "a", "100", t(1))))])).await.unwrap();
    store
        .commit(&commit(vec![l(LotteryWrite::Enter(entry("lt-1", "b", "200", t(2)))), l(LotteryWrite::Enter(entry("lt-1", "a", "200", t(3))))]))
        .await
        .unwrap();
    let entries = store.lottery_entries("lt-1").await.unwrap();
    assert_eq!(entries, vec![entry("lt-1", "a", "100", t(1)), entry("lt-1", "b", "200", t(2))], "a second entry is skipped");
    let qq_id = ConnectorId::new("qq");
    assert_eq!(store.lottery_entry("lt-1", &qq_id, &MemberId::new("b")).await.unwrap(), Some(entry("lt-1", "b", "200", t(2))));
    assert_eq!(store.lottery_entry("lt-1", &qq_id, &MemberId::new("c")).await.unwrap(), None);

    store.commit(&commit(vec![count("lt-1", "a", "100"), count("lt-1", "a", "200"), count("lt-1", "c", "100")])).await.unwrap();
    store.commit(&commit(vec![count("lt-1", "a", "100"), count("lt-unknown", "a", "100")])).await.unwrap();
    assert_eq!(store.lottery_message_count("lt-1", &qq_id, &MemberId::new("a")).await.unwrap(), 3);
    assert_eq!(store.lottery_message_count("lt-1", &qq_id, &MemberId::new("c")).await.unwrap(), 1);
    assert_eq!(store.lottery_message_count("lt-1", &qq_id, &MemberId::new("z")).await.unwrap(), 0);
    let counts = store.lottery_message_counts("lt-1", 2).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].member.as_str(), counts[0].messages, &counts[0].group), ("a", 3, &qq("100")));
    assert_eq!(counts[0].name.as_deref(), Some("成员a"));
    assert_eq!(store.lottery_message_counts("lt-1", 1).await.unwrap().len(), 2);
}

async fn a_draw_records_its_entrants_and_closes_the_lottery_to_late_entries(store: Arc<dyn Store>) {
    store.commit(&commit(vec![l(LotteryWrite::Create(lottery("lt-1", &["100"], t(100))))])).await.unwrap();
    store.commit(&commit(vec![l(LotteryWrite::Enter(entry("lt-1", "a", "100", t(1)))), l(LotteryWrite::Enter(entry("lt-1", "b", "100", t(2))))])).await.unwrap();

    // A draw that read one entry while two are stored is refused: it would leave one out.
    let stale = l(LotteryWrite::Draw { lottery: "lt-1".into(), record: record(&["a"]), keyword_entries: 1, added: vec![] });
    let error = store.commit(&Commit { audit: vec![audit("开奖")], ..commit(vec![stale]) }).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert!(store.get_lottery("lt-1").await.unwrap().unwrap().is_open());
    assert!(store.list_audit(None, 10).await.unwrap().is_empty(), "a refused commit keeps nothing");

    let draw = record(&["a", "b", "c"]);
    let added = vec![entry("lt-1", "c", "100", t(99)), entry("lt-1", "a", "100", t(99))];
    store.commit(&commit(vec![l(LotteryWrite::Draw { lottery: "lt-1".into(), record: draw.clone(), keyword_entries: 2, added })])).await.unwrap();
    let drawn = store.get_lottery("lt-1").await.unwrap().unwrap();
    assert_eq!(drawn.status, LotteryStatus::Drawn);
    assert_eq!(drawn.draw, Some(draw.clone()), "the record round-trips");
    let entered: Vec<String> = store.lottery_entries("lt-1").await.unwrap().iter().map(LotteryEntry::entrant).collect();
    assert_eq!(entered, ["qq/a", "qq/b", "qq/c"], "entrants by the condition are stored with the draw, none twice");
    assert!(store.due_lotteries(t(1000), 10).await.unwrap().is_empty());
    assert!(store.open_lotteries_in(&qq("100")).await.unwrap().is_empty());
    assert_eq!(store.list_lotteries(Some(LotteryStatus::Drawn), 10).await.unwrap().len(), 1);
    assert!(store.list_lotteries(Some(LotteryStatus::Open), 10).await.unwrap().is_empty());

    for late in [
        l(LotteryWrite::Enter(entry("lt-1", "d", "100", t(101)))),
        l(LotteryWrite::Enter(entry("lt-1", "a", "100", t(101)))),
        l(LotteryWrite::Draw { lottery: "lt-1".into(), record: record(&["x"]), keyword_entries: 3, added: vec![] }),
    ] {
        let error = store.commit(&commit(vec![late])).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    }
    store.commit(&commit(vec![count("lt-1", "a", "100")])).await.unwrap();
    assert_eq!(store.lottery_message_count("lt-1", &ConnectorId::new("qq"), &MemberId::new("a")).await.unwrap(), 0, "nothing is counted once drawn");
    assert_eq!(store.get_lottery("lt-1").await.unwrap().unwrap().draw, Some(draw));
    let error = store.commit(&commit(vec![l(LotteryWrite::Enter(entry("lt-none", "a", "100", t(1))))])).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
}

/// Entries race a draw that retries until its read is current: every entry that was
/// accepted is in the draw's record, and every entry refused came after it.
async fn an_entry_and_the_draw_never_pass_each_other(store: Arc<dyn Store>) {
    store.commit(&commit(vec![l(LotteryWrite::Create(lottery("lt-1", &["100"], t(100))))])).await.unwrap();
    let mut racers = Vec::new();
    for n in 0..24 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            let member = format!("m{n:02}");
            let result = store.commit(&commit(vec![l(LotteryWrite::Enter(entry("lt-1", &member, "100", t(n))))])).await;
            (member, result)
        }));
    }
    let drawer = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let entrants: Vec<String> = store.lottery_entries("lt-1").await.unwrap().iter().map(|e| e.member.to_string()).collect();
                let names: Vec<&str> = entrants.iter().map(String::as_str).collect();
                let write = LotteryWrite::Draw { lottery: "lt-1".into(), record: record(&names), keyword_entries: entrants.len() as u64, added: vec![] };
                match store.commit(&commit(vec![l(write)])).await {
                    Ok(()) => return entrants,
                    Err(StoreError::Conflict(_)) => tokio::task::yield_now().await,
                    Err(other) => panic!("{other:?}"),
                }
            }
        })
    };
    let drawn: BTreeSet<String> = drawer.await.unwrap().into_iter().collect();
    let mut accepted = BTreeSet::new();
    for racer in racers {
        let (member, result) = racer.await.unwrap();
        match result {
            Ok(()) => {
                accepted.insert(member);
            }
            Err(StoreError::Conflict(_)) => assert!(!drawn.contains(&member)),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, drawn, "the draw saw exactly the entries that were accepted");
    let stored: BTreeSet<String> = store.lottery_entries("lt-1").await.unwrap().iter().map(|e| e.member.to_string()).collect();
    assert_eq!(stored, drawn);
}

stories! {
    any store:
        a_sign_up_list_keeps_its_members_in_joining_order,
        one_list_per_group_is_open_and_a_closed_list_refuses_changes,
        re_posts_and_closings_come_due_soonest_first,
        a_lottery_round_trips_and_is_found_by_its_groups_and_draw_time,
        entries_are_one_per_member_and_messages_are_counted,
        a_draw_records_its_entrants_and_closes_the_lottery_to_late_entries,
        an_entry_and_the_draw_never_pass_each_other;
    reopened:
}
