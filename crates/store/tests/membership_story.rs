//! Channels (渠道活码), pools, the join log, leaves and member profiles, told to every backend
//! (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::membership::{
    membership_audit, Channel, ChannelPool, JoinCount, JoinRecord, LeaveReason, LeaveRecord, MembershipWrite,
    PoolGroup,
};
use qunzhu_core::moderation::{MemberChange, MemberUpdate};
use qunzhu_core::store::Commit;
use qunzhu_core::{ConnectorId, GroupKey, JoinScene, MemberId, StateWrite, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn channel(id: &str, code: &str, tier: &str, tags: &[&str]) -> Channel {
    Channel {
        id: id.into(),
        name: format!("渠道 {id}"),
        tier: tier.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        pool: Some("fans".into()),
        code: code.into(),
        archived: false,
        created_at: t(0),
        updated_at: t(0),
        updated_by: "operator:小王".into(),
    }
}

fn audit(kind: &str) -> qunzhu_core::NewAuditEntry {
    membership_audit(kind, "operator:小王", t(0), format!("{kind} 测试"), None)
}

fn group(id: &str) -> GroupKey {
    GroupKey::new("qq", id)
}

fn join(id: &str, group_id: &str, member: &str, channel: Option<&Channel>, at: DateTime<Utc>) -> StateWrite {
    StateWrite::Membership(MembershipWrite::Joined(JoinRecord {
        id: id.into(),
        group: group(group_id),
        member: MemberId::new(member),
        name: Some(format!("成员{member}")),
        channel: channel.map(Channel::to_ref),
        inviter: Some(MemberId::new("boss")),
        at,
        join_scene: (member == "u1").then_some(JoinScene::QrCode),
    }))
}

fn leave(id: &str, group_id: &str, member: &str, reason: LeaveReason, joined: DateTime<Utc>, at: DateTime<Utc>) -> StateWrite {
    StateWrite::Membership(MembershipWrite::Left(LeaveRecord {
        id: id.into(),
        group: group(group_id),
        member: MemberId::new(member),
        name: Some(format!("成员{member}")),
        reason,
        removed_by: (reason == LeaveReason::Removed).then(|| MemberId::new("admin")),
        joined_at: Some(joined),
        at,
        tenure_secs: Some((at - joined).num_seconds()),
        channel: Some("gzh".into()),
        tier: Some("strong".into()),
    }))
}

async fn commit(store: &Arc<dyn Store>, writes: Vec<StateWrite>) {
    store.commit(&Commit { writes, ..Commit::default() }).await.unwrap();
}

fn count(key: Option<&str>, joins: u64, stays: u64) -> JoinCount {
    JoinCount { key: key.map(str::to_owned), joins, stays }
}

async fn channels_round_trip_and_ids_and_codes_are_unique(store: Arc<dyn Store>) {
    let gzh = channel("gzh", "K7X2QP", "strong", &["粉丝", "公众号"]);
    assert_eq!(store.create_channel(&gzh, &audit("channel.create")).await.unwrap(), gzh);
    assert_eq!(store.get_channel("gzh").await.unwrap(), Some(gzh.clone()));
    assert_eq!(store.channel_by_code("K7X2QP").await.unwrap(), Some(gzh.clone()));
    assert_eq!(store.channel_by_code("NOPE99").await.unwrap(), None);

    let same_id = channel("gzh", "ZZZZ22", "weak", &[]);
    assert!(matches!(store.create_channel(&same_id, &audit("channel.create")).await, Err(StoreError::Conflict(_))));
    let same_code = channel("poster", "K7X2QP", "weak", &[]);
    assert!(matches!(store.create_channel(&same_code, &audit("channel.create")).await, Err(StoreError::Conflict(_))));
    let poster = channel("poster", "M4N8RT", "weak", &[]);
    store.create_channel(&poster, &audit("channel.create")).await.unwrap();

    let mut moved = poster.clone();
    moved.code = "K7X2QP".into();
    assert!(matches!(store.update_channel(&moved, &audit("channel.update")).await, Err(StoreError::Conflict(_))));
    let mut archived = poster.clone();
    archived.archived = true;
    archived.name = "海报（旧）".into();
    archived.updated_at = t(5);
    assert_eq!(store.update_channel(&archived, &audit("channel.archive")).await.unwrap(), archived);
    let mut ghost = poster.clone();
    ghost.id = "ghost".into();
    ghost.code = "GH0STT".into();
    assert!(matches!(store.update_channel(&ghost, &audit("channel.update")).await, Err(StoreError::NotFound(_))));

    assert_eq!(store.list_channels(false).await.unwrap(), vec![gzh.clone()]);
    assert_eq!(store.list_channels(true).await.unwrap(), vec![gzh, archived.clone()]);
    assert_eq!(store.channel_by_code("M4N8RT").await.unwrap(), Some(archived), "an archived channel keeps its code");

    let kinds: Vec<String> = store.list_audit(None, 100).await.unwrap().into_iter().map(|a| a.entry.kind).collect();
    let mut kinds: Vec<&str> = kinds.iter().map(String::as_str).filter(|k| k.starts_with("channel.")).collect();
    kinds.reverse();
    assert_eq!(kinds, ["channel.create", "channel.create", "channel.archive"], "refused changes leave no audit row");
}

async fn pools_round_trip_and_staff_are_alerted_once(store: Arc<dyn Store>) {
    let pool = ChannelPool {
        id: "fans".into(),
        name: "粉丝池".into(),
        groups: vec![
            PoolGroup { group: group("1"), cap: 2, invite_url: Some("https://qm.qq.com/q/one".into()) },
            PoolGroup { group: group("2"), cap: 3, invite_url: None },
        ],
        alert_at_percent: 90,
        alerted_at: None,
        updated_at: t(0),
        updated_by: "operator:小王".into(),
    };
    assert_eq!(store.save_pool(&pool, &audit("pool.save")).await.unwrap(), pool);
    assert_eq!(store.get_pool("fans").await.unwrap(), Some(pool.clone()));
    assert!(store.mark_pool_alerted("fans", t(10)).await.unwrap());
    assert!(!store.mark_pool_alerted("fans", t(11)).await.unwrap(), "only once");
    assert!(!store.mark_pool_alerted("nope", t(11)).await.unwrap());
    assert_eq!(store.get_pool("fans").await.unwrap().unwrap().alerted_at, Some(t(10)));

    let mut grown = pool.clone();
    grown.groups.push(PoolGroup { group: group("3"), cap: 500, invite_url: None });
    grown.updated_at = t(20);
    store.save_pool(&grown, &audit("pool.save")).await.unwrap();
    assert_eq!(store.list_pools().await.unwrap(), vec![grown]);
    assert!(store.mark_pool_alerted("fans", t(30)).await.unwrap(), "a saved pool without alerted_at alerts again");

    // Routing: the first group below its cap; when all are full, none and a new group is due.
    assert_eq!(pool.route(&[1, 0]).group, Some(0));
    assert!(!pool.route(&[1, 0]).needs_new_group);
    assert_eq!(pool.route(&[2, 0]).group, Some(1));
    assert_eq!(pool.route(&[2, 3]).group, None);
    assert!(pool.route(&[2, 3]).needs_new_group);
}

async fn the_join_log_counts_joins_and_stays_per_channel_and_tier(store: Arc<dyn Store>) {
    let gzh = channel("gzh", "K7X2QP", "strong", &["粉丝"]);
    let article = channel("article", "A8B3CD", "medium", &[]);
    let poster = channel("poster", "P5Q6RS", "weak", &[]);
    commit(&store, vec![
        join("j1", "1", "u1", Some(&gzh), t(0)),
        join("j2", "1", "u2", Some(&gzh), t(10)),
        join("j3", "1", "u3", Some(&article), t(20)),
        join("j4", "2", "u4", Some(&poster), t(30)),
        join("j5", "2", "u5", None, t(40)),
    ])
    .await;
    // A re-run of the same events changes nothing; u2 leaves.
    commit(&store, vec![join("j1", "1", "u1", Some(&gzh), t(0)), leave("l1", "1", "u2", LeaveReason::Left, t(10), t(100))]).await;

    let all = store.join_counts(None, None).await.unwrap();
    assert_eq!(all.by_channel, vec![count(None, 1, 1), count(Some("article"), 1, 1), count(Some("gzh"), 2, 1), count(Some("poster"), 1, 1)]);
    assert_eq!(all.by_tier, vec![count(None, 1, 1), count(Some("medium"), 1, 1), count(Some("strong"), 2, 1), count(Some("weak"), 1, 1)]);
    let window = store.join_counts(Some(t(10)), Some(t(30))).await.unwrap();
    assert_eq!(window.by_channel, vec![count(Some("article"), 1, 1), count(Some("gzh"), 1, 0)], "from inclusive, until exclusive");

    let latest = store.latest_join(&group("1"), &MemberId::new("u1")).await.unwrap().unwrap();
    assert_eq!((latest.id.as_str(), latest.channel, latest.at, latest.join_scene), ("j1", Some(gzh.to_ref()), t(0), Some(JoinScene::QrCode)));
    let u2 = store.latest_join(&group("1"), &MemberId::new("u2")).await.unwrap().unwrap();
    assert_eq!(u2.join_scene, None, "a join without a scene has none");
    assert_eq!(store.latest_join(&group("2"), &MemberId::new("u1")).await.unwrap(), None);
}

async fn leaves_are_listed_newest_first_with_reason_and_tenure(store: Arc<dyn Store>) {
    commit(&store, vec![join("j1", "1", "u1", None, t(0)), join("j2", "1", "u2", None, t(5))]).await;
    commit(&store, vec![leave("l1", "1", "u1", LeaveReason::Left, t(0), t(3600))]).await;
    commit(&store, vec![leave("l2", "1", "u2", LeaveReason::Removed, t(5), t(7205)), leave("l2", "1", "u2", LeaveReason::Removed, t(5), t(7205))]).await;
    commit(&store, vec![leave("l3", "9", "u9", LeaveReason::Left, t(0), t(9))]).await;
    let churn = store.churn(&group("1"), 10).await.unwrap();
    let rows: Vec<(&str, LeaveReason, Option<i64>, Option<&str>)> =
        churn.iter().map(|l| (l.member.as_str(), l.reason, l.tenure_secs, l.removed_by.as_ref().map(MemberId::as_str))).collect();
    assert_eq!(rows, vec![("u2", LeaveReason::Removed, Some(7200), Some("admin")), ("u1", LeaveReason::Left, Some(3600), None)]);
    assert_eq!(churn[0].name.as_deref(), Some("成员u2"));
    assert_eq!((churn[0].channel.as_deref(), churn[0].tier.as_deref()), (Some("gzh"), Some("strong")));
    assert_eq!(store.churn(&group("1"), 1).await.unwrap().len(), 1);
    assert_eq!(store.join_counts(None, None).await.unwrap().by_channel, vec![count(None, 2, 0)]);
}

async fn profiles_follow_the_first_channel_and_collect_tags_across_groups(store: Arc<dyn Store>) {
    let gzh = channel("gzh", "K7X2QP", "strong", &["粉丝", "公众号"]);
    let poster = channel("poster", "P5Q6RS", "weak", &["海报"]);
    let qq = ConnectorId::new("qq");
    let u1 = MemberId::new("u1");
    let members = vec![
        MemberUpdate { group: group("1"), member: u1.clone(), name: Some("小明".into()), at: t(0), change: MemberChange::Joined },
        MemberUpdate { group: group("2"), member: u1.clone(), name: Some("小明".into()), at: t(50), change: MemberChange::Joined },
    ];
    store
        .commit(&Commit { members, writes: vec![join("j1", "1", "u1", None, t(0)), join("j2", "2", "u1", Some(&poster), t(50))], ..Commit::default() })
        .await
        .unwrap();
    let profile = store.member_profile(&qq, &u1).await.unwrap().unwrap();
    assert_eq!((profile.channel.as_deref(), profile.tier.as_deref()), (Some("poster"), Some("weak")), "the first known channel");
    assert_eq!(profile.inviter, Some(MemberId::new("boss")));
    assert_eq!(profile.first_seen, t(0));
    assert_eq!(profile.tags, vec!["海报".to_owned()]);
    assert_eq!(profile.groups.iter().map(|g| g.group.group.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(profile.groups[1].joined_at, Some(t(50)));

    // A later join through another channel adds its tags but keeps the first channel.
    commit(&store, vec![join("j3", "3", "u1", Some(&gzh), t(60))]).await;
    let profile = store.member_profile(&qq, &u1).await.unwrap().unwrap();
    assert_eq!((profile.channel.as_deref(), profile.tags.len()), (Some("poster"), 3));

    // Late attribution sets the channel of the latest join when it had none.
    commit(&store, vec![join("j4", "1", "u4", None, t(70))]).await;
    commit(&store, vec![StateWrite::Membership(MembershipWrite::Attributed {
        group: group("1"),
        member: MemberId::new("u4"),
        channel: gzh.to_ref(),
        at: t(80),
    })])
    .await;
    let u4 = store.member_profile(&qq, &MemberId::new("u4")).await.unwrap().unwrap();
    assert_eq!((u4.channel.as_deref(), u4.tier.as_deref()), (Some("gzh"), Some("strong")));
    assert_eq!(store.latest_join(&group("1"), &MemberId::new("u4")).await.unwrap().unwrap().channel, Some(gzh.to_ref()));

    // Manual tags, search by tag and by name.
    let tagged = store
        .tag_profile(&qq, &u1, &["VIP".into(), " 团长 ".into()], &["海报".into()], &audit("member.tags"))
        .await
        .unwrap();
    assert_eq!(tagged.tags, vec!["VIP".to_owned(), "公众号".into(), "团长".into(), "粉丝".into()]);
    assert!(matches!(
        store.tag_profile(&qq, &MemberId::new("nobody"), &["x".into()], &[], &audit("member.tags")).await,
        Err(StoreError::NotFound(_))
    ));
    let ids = |profiles: Vec<qunzhu_core::membership::MemberProfile>| profiles.into_iter().map(|p| p.member.0).collect::<Vec<_>>();
    assert_eq!(ids(store.search_profiles(Some("粉丝"), None, 10).await.unwrap()), ["u1", "u4"]);
    assert_eq!(ids(store.search_profiles(Some("VIP"), None, 10).await.unwrap()), ["u1"]);
    assert_eq!(ids(store.search_profiles(None, Some("员U1"), 10).await.unwrap()), ["u1"], "a name containing it, ASCII case aside");
    assert_eq!(ids(store.search_profiles(None, Some("u4"), 10).await.unwrap()), ["u4"]);
    assert_eq!(ids(store.search_profiles(None, Some("%"), 10).await.unwrap()), Vec::<String>::new(), "wildcards are literal");
    assert_eq!(store.member_profile(&qq, &MemberId::new("nobody")).await.unwrap(), None);
}

async fn a_code_seen_before_the_join_is_remembered(store: Arc<dyn Store>) {
    let u1 = MemberId::new("u1");
    assert_eq!(store.remembered_code(&group("1"), &u1).await.unwrap(), None);
    let seen = |code: &str| StateWrite::Membership(MembershipWrite::CodeSeen { group: group("1"), member: u1.clone(), code: code.into(), at: t(0) });
    commit(&store, vec![seen("K7X2QP")]).await;
    commit(&store, vec![seen("A8B3CD")]).await;
    assert_eq!(store.remembered_code(&group("1"), &u1).await.unwrap().as_deref(), Some("A8B3CD"));
    assert_eq!(store.remembered_code(&group("2"), &u1).await.unwrap(), None);
}

async fn channels_and_the_join_log_survive_a_restart(backend: Reopenable) {
    let store = backend.open().await;
    let gzh = channel("gzh", "K7X2QP", "strong", &["粉丝"]);
    store.create_channel(&gzh, &audit("channel.create")).await.unwrap();
    commit(&store, vec![join("j1", "1", "u1", Some(&gzh), t(0))]).await;
    store.close().await;
    let store = backend.open().await;
    assert_eq!(store.channel_by_code("K7X2QP").await.unwrap(), Some(gzh));
    assert_eq!(store.join_counts(None, None).await.unwrap().by_tier, vec![count(Some("strong"), 1, 1)]);
    store.close().await;
}

stories! {
    any store:
        channels_round_trip_and_ids_and_codes_are_unique,
        pools_round_trip_and_staff_are_alerted_once,
        the_join_log_counts_joins_and_stays_per_channel_and_tier,
        leaves_are_listed_newest_first_with_reason_and_tenure,
        profiles_follow_the_first_channel_and_collect_tags_across_groups,
        a_code_seen_before_the_join_is_remembered;
    reopened:
        channels_and_the_join_log_survive_a_restart,
}
