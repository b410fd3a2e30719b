//! Newcomer-gate stories (入群验证: open, pass, time out, clear, lists), told to every backend
//! (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::admission::{AdmissionWrite, JoinRequestRecord, JoinRequestStatus};
use qunzhu_core::gate::{GateEntry, GateStatus, GateWrite};
use qunzhu_core::store::Commit;
use qunzhu_core::{GroupKey, MemberId, StateWrite, Store};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

async fn write(store: &Arc<dyn Store>, writes: Vec<GateWrite>) {
    let commit = Commit { writes: writes.into_iter().map(StateWrite::Gate).collect(), ..Commit::default() };
    store.commit(&commit).await.unwrap();
}

fn pending(group: &str, member: &str, joined: i64) -> GateEntry {
    GateEntry {
        group: qq(group),
        member: MemberId::new(member),
        name: Some(format!("新人 \"{member}\" 🎉")),
        status: GateStatus::Pending,
        joined_at: t(joined),
        deadline: t(joined + 600),
        decided_at: None,
        decided_by: None,
    }
}

async fn a_gate_opens_passes_once_and_a_leave_clears_it(store: Arc<dyn Store>) {
    let open = pending("1", "u1", 0);
    write(&store, vec![GateWrite::Open(open.clone())]).await;
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), Some(open.clone()), "every field round-trips");
    assert_eq!(store.gate_entry(&qq("2"), &"u1".into()).await.unwrap(), None, "gates are per group");

    write(&store, vec![GateWrite::Pass { group: qq("1"), member: "u1".into(), at: t(30), by: "engine".into() }]).await;
    let passed = GateEntry { status: GateStatus::Passed, decided_at: Some(t(30)), decided_by: Some("engine".into()), ..open.clone() };
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), Some(passed.clone()));

    write(&store, vec![GateWrite::Pass { group: qq("1"), member: "u1".into(), at: t(90), by: "api:ops".into() }]).await;
    write(&store, vec![GateWrite::TimeOut { group: qq("1"), member: "u1".into(), deadline: open.deadline, at: t(600) }]).await;
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), Some(passed), "a passed gate stays passed");

    write(&store, vec![GateWrite::Clear { group: qq("1"), member: "u1".into() }]).await;
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), None);
}

async fn a_time_out_needs_the_pending_gate_with_its_deadline(store: Arc<dyn Store>) {
    let first = pending("1", "u1", 0);
    write(&store, vec![GateWrite::Open(first.clone())]).await;
    // A rejoin opened a new gate with a later deadline: the old deadline's tick does nothing.
    let again = pending("1", "u1", 100);
    write(&store, vec![GateWrite::Open(again.clone())]).await;
    write(&store, vec![GateWrite::TimeOut { group: qq("1"), member: "u1".into(), deadline: first.deadline, at: t(600) }]).await;
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), Some(again.clone()));

    write(&store, vec![GateWrite::TimeOut { group: qq("1"), member: "u1".into(), deadline: again.deadline, at: t(700) }]).await;
    let timed_out = GateEntry { status: GateStatus::TimedOut, decided_at: Some(t(700)), decided_by: Some("engine".into()), ..again };
    assert_eq!(store.gate_entry(&qq("1"), &"u1".into()).await.unwrap(), Some(timed_out.clone()));

    // Staff may still let a timed-out member in.
    write(&store, vec![GateWrite::Pass { group: qq("1"), member: "u1".into(), at: t(800), by: "api:ops".into() }]).await;
    let entry = store.gate_entry(&qq("1"), &"u1".into()).await.unwrap().unwrap();
    assert_eq!((entry.status, entry.decided_by.as_deref()), (GateStatus::Passed, Some("api:ops")));
}

async fn gate_lists_filter_by_status_and_group_soonest_deadline_first(store: Arc<dyn Store>) {
    write(
        &store,
        vec![
            GateWrite::Open(pending("1", "late", 50)),
            GateWrite::Open(pending("2", "other", 10)),
            GateWrite::Open(pending("1", "early", 0)),
            GateWrite::Open(pending("1", "done", 5)),
            GateWrite::Pass { group: qq("1"), member: "done".into(), at: t(6), by: "engine".into() },
        ],
    )
    .await;
    let members = |entries: Vec<GateEntry>| entries.into_iter().map(|e| e.member.to_string()).collect::<Vec<_>>();
    assert_eq!(members(store.gate_entries(Some(&qq("1")), GateStatus::Pending, 10).await.unwrap()), ["early", "late"]);
    assert_eq!(members(store.gate_entries(None, GateStatus::Pending, 10).await.unwrap()), ["early", "other", "late"]);
    assert_eq!(members(store.gate_entries(None, GateStatus::Pending, 1).await.unwrap()), ["early"]);
    assert_eq!(members(store.gate_entries(Some(&qq("1")), GateStatus::Passed, 10).await.unwrap()), ["done"]);
    assert!(store.gate_entries(Some(&qq("3")), GateStatus::Pending, 10).await.unwrap().is_empty());
}

async fn a_member_approved_through_a_join_request_is_known(store: Arc<dyn Store>) {
    let request = |id: &str, member: &str, status: JoinRequestStatus| JoinRequestRecord {
        group: qq("1"),
        request_id: id.into(),
        member: member.into(),
        name: None,
        comment: None,
        status,
        reason: "审核通过".into(),
        checks: Vec::new(),
        requested_at: t(0),
        updated_at: t(1),
        decided_by: "engine".into(),
    };
    let writes = [request("r1", "u1", JoinRequestStatus::Approved), request("r2", "u2", JoinRequestStatus::Held)];
    let commit = Commit { writes: writes.into_iter().map(|r| StateWrite::Admission(AdmissionWrite::Request(r))).collect(), ..Commit::default() };
    store.commit(&commit).await.unwrap();
    assert!(store.join_request_approved(&qq("1"), &"u1".into()).await.unwrap());
    assert!(!store.join_request_approved(&qq("1"), &"u2".into()).await.unwrap(), "held is not approved");
    assert!(!store.join_request_approved(&qq("2"), &"u1".into()).await.unwrap(), "approvals are per group");
}

stories! {
    any store:
        a_gate_opens_passes_once_and_a_leave_clears_it,
        a_time_out_needs_the_pending_gate_with_its_deadline,
        gate_lists_filter_by_status_and_group_soonest_deadline_first,
        a_member_approved_through_a_join_request_is_known;
    reopened:
}
