//! Admission and welcome-ritual stories (join requests, the join log, guarded mode), told to
//! every backend (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::admission::{AdmissionWrite, GuardRecord, WelcomeJoin, JoinRequestRecord, JoinRequestStatus};
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

async fn write(store: &Arc<dyn Store>, writes: Vec<AdmissionWrite>) {
    let commit = Commit { writes: writes.into_iter().map(StateWrite::Admission).collect(), ..Commit::default() };
    store.commit(&commit).await.unwrap();
}

fn request(group: &str, id: &str, status: JoinRequestStatus, at: i64) -> JoinRequestRecord {
    JoinRequestRecord {
        group: qq(group),
        request_id: id.into(),
        member: MemberId::new(format!("u-{id}")),
        name: Some("AAA乐乐姐 \"引号\" 🎉".into()),
        comment: Some("朋友推荐".into()),
        status,
        reason: "名字像微商".into(),
        checks: vec!["名字以 A 开头".into()],
        requested_at: t(0),
        updated_at: t(at),
        decided_by: "engine".into(),
    }
}

fn join(group: &str, n: u32, at: i64, pending: bool) -> WelcomeJoin {
    WelcomeJoin {
        id: format!("qq/j{group}-{n}"),
        group: qq(group),
        member: MemberId::new(format!("u{n}")),
        name: Some(format!("新人{n}")),
        inviter: None,
        member_no: n,
        channel: Some("公众号".into()),
        tier: Some("strong".into()),
        joined_at: t(at),
        welcome_pending: pending,
        welcomed_at: None,
    }
}

async fn a_join_request_round_trips_and_its_final_decision_sticks(store: Arc<dyn Store>) {
    let held = request("1", "r1", JoinRequestStatus::Held, 1);
    write(&store, vec![AdmissionWrite::Request(held.clone())]).await;
    assert_eq!(store.join_request(&qq("1"), "r1").await.unwrap(), Some(held.clone()), "every field round-trips");

    let approved = JoinRequestRecord { status: JoinRequestStatus::Approved, decided_by: "api:ops".into(), updated_at: t(5), ..held.clone() };
    write(&store, vec![AdmissionWrite::Request(approved.clone())]).await;
    assert_eq!(store.join_request(&qq("1"), "r1").await.unwrap(), Some(approved.clone()));

    let late = JoinRequestRecord { status: JoinRequestStatus::Rejected, updated_at: t(9), ..held };
    write(&store, vec![AdmissionWrite::Request(late)]).await;
    assert_eq!(store.join_request(&qq("1"), "r1").await.unwrap(), Some(approved), "an approval is final");
    assert_eq!(store.join_request(&qq("2"), "r1").await.unwrap(), None, "requests are per group");
}

async fn join_requests_list_newest_first_and_filter_by_status(store: Arc<dyn Store>) {
    write(
        &store,
        vec![
            AdmissionWrite::Request(request("1", "a", JoinRequestStatus::Held, 1)),
            AdmissionWrite::Request(request("1", "b", JoinRequestStatus::Rejected, 3)),
            AdmissionWrite::Request(request("2", "c", JoinRequestStatus::Held, 2)),
        ],
    )
    .await;
    let ids = |list: Vec<JoinRequestRecord>| list.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    assert_eq!(ids(store.join_requests(None, 10).await.unwrap()), ["b", "c", "a"]);
    assert_eq!(ids(store.join_requests(Some(JoinRequestStatus::Held), 10).await.unwrap()), ["c", "a"]);
    assert_eq!(ids(store.join_requests(None, 1).await.unwrap()), ["b"]);
}

async fn pending_welcomes_are_owed_once_and_due_per_group_oldest_first(store: Arc<dyn Store>) {
    write(&store, vec![AdmissionWrite::Join(join("1", 2, 5, true)), AdmissionWrite::Join(join("1", 1, 4, true))]).await;
    write(&store, vec![AdmissionWrite::Join(join("2", 1, 3, true)), AdmissionWrite::Join(join("2", 2, 6, false))]).await;
    // A re-processed join is skipped: its record stays as first written.
    write(&store, vec![AdmissionWrite::Join(WelcomeJoin { member_no: 99, ..join("1", 1, 4, true) })]).await;

    let pending = store.pending_welcomes(&qq("1")).await.unwrap();
    assert_eq!(pending, vec![join("1", 1, 4, true), join("1", 2, 5, true)], "oldest first, every field round-trips");
    assert_eq!(store.due_welcomes(10).await.unwrap(), vec![(qq("2"), t(3)), (qq("1"), t(4))]);
    assert_eq!(store.due_welcomes(1).await.unwrap(), vec![(qq("2"), t(3))]);

    let ids: Vec<String> = pending.iter().map(|j| j.id.clone()).collect();
    write(&store, vec![AdmissionWrite::Welcomed { group: qq("1"), ids: ids.clone(), at: t(8) }]).await;
    assert!(store.pending_welcomes(&qq("1")).await.unwrap().is_empty());
    assert_eq!(store.due_welcomes(10).await.unwrap(), vec![(qq("2"), t(3))]);
    // Marking again (a re-run) changes nothing; another group's ids are not touched.
    write(&store, vec![AdmissionWrite::Welcomed { group: qq("2"), ids, at: t(9) }]).await;
    assert_eq!(store.pending_welcomes(&qq("2")).await.unwrap().len(), 1);
}

async fn joins_are_counted_per_group_since_a_time(store: Arc<dyn Store>) {
    write(&store, (1..=5).map(|n| AdmissionWrite::Join(join("1", n, i64::from(n) * 10, false))).collect()).await;
    write(&store, vec![AdmissionWrite::Join(join("2", 1, 30, false))]).await;
    assert_eq!(store.count_joins(&qq("1"), t(30)).await.unwrap(), 3, "since is inclusive");
    assert_eq!(store.count_joins(&qq("1"), t(0)).await.unwrap(), 5);
    assert_eq!(store.count_joins(&qq("3"), t(0)).await.unwrap(), 0);
}

async fn a_guard_is_replaced_and_ended(store: Arc<dyn Store>) {
    let guard = GuardRecord { group: qq("1"), started_at: t(0), until: t(1800), joins: 10, reason: "5 分钟内 10 人入群".into() };
    write(&store, vec![AdmissionWrite::Guard(guard.clone())]).await;
    assert_eq!(store.group_guard(&qq("1")).await.unwrap(), Some(guard.clone()));
    let longer = GuardRecord { until: t(3600), joins: 12, ..guard };
    write(&store, vec![AdmissionWrite::Guard(longer.clone())]).await;
    assert_eq!(store.group_guard(&qq("1")).await.unwrap(), Some(longer));
    assert_eq!(store.group_guard(&qq("2")).await.unwrap(), None);
    write(&store, vec![AdmissionWrite::EndGuard { group: qq("1"), at: t(60) }]).await;
    assert_eq!(store.group_guard(&qq("1")).await.unwrap(), None);
}


stories! {
    any store:
        a_join_request_round_trips_and_its_final_decision_sticks,
        join_requests_list_newest_first_and_filter_by_status,
        pending_welcomes_are_owed_once_and_due_per_group_oldest_first,
        joins_are_counted_per_group_since_a_time,
        a_guard_is_replaced_and_ended;
    reopened:
}
