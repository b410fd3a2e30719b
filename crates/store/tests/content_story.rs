//! The content library's and the auto-reply state's stories, told to every backend (memory,
//! SQLite, PostgreSQL). Test names read `backend::story`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
use support::*;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use qunzhu_core::content::{ContentBody, ContentDraft};
use qunzhu_core::faq::{FaqAnswer, FaqLastAnswers, FaqStatsFilter};
use qunzhu_core::store::Commit;
use qunzhu_core::{GroupKey, MemberId, StateWrite, Store, StoreError};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn draft(title: &str, body: ContentBody, tags: &[&str], at: DateTime<Utc>) -> ContentDraft {
    ContentDraft { title: title.into(), body, tags: tags.iter().map(|t| (*t).to_owned()).collect(), by: "operator:小李".into(), at }
}

fn text(text: &str) -> ContentBody {
    ContentBody::Text { text: text.into() }
}

async fn content_items_are_created_read_updated_and_deleted_with_audit_rows(store: Arc<dyn Store>) {
    let returns = store
        .content_create(&draft("退货说明", text("{name} 您好，7 天无理由退货：订单页点「申请退货」即可。"), &["售后", "faq", "售后"], t(0)))
        .await
        .unwrap();
    assert_eq!(returns.id, 1);
    assert_eq!(returns.tags, vec!["faq", "售后"], "tags are stored sorted and deduplicated");
    assert_eq!((returns.created_at, returns.updated_at), (t(0), t(0)));
    assert_eq!(returns.author, "operator:小李");
    assert_eq!(store.content_get(1).await.unwrap(), Some(returns.clone()));

    let mut change = draft(
        "退货说明（新）",
        ContentBody::Link { url: "https://shop.example/returns".into(), title: "退货流程".into() },
        &["售后"],
        t(60),
    );
    change.by = "operator:小王".into();
    let updated = store.content_update(1, &change).await.unwrap();
    assert_eq!(updated.title, "退货说明（新）");
    assert_eq!(updated.tags, vec!["售后"]);
    assert_eq!((updated.created_at, updated.updated_at), (t(0), t(60)), "creation time stays");
    assert_eq!((updated.author.as_str(), updated.updated_by.as_str()), ("operator:小李", "operator:小王"));
    assert_eq!(store.content_get(1).await.unwrap(), Some(updated));

    assert!(store.content_delete(1, "operator:小王", t(120)).await.unwrap());
    assert_eq!(store.content_get(1).await.unwrap(), None);
    assert!(!store.content_delete(1, "operator:小王", t(130)).await.unwrap(), "a second delete finds nothing");

    let audit = store.list_audit(None, 10).await.unwrap();
    let rows: Vec<(&str, &str, &str)> =
        audit.iter().map(|a| (a.entry.kind.as_str(), a.entry.actor.as_str(), a.entry.summary.as_str())).collect();
    assert_eq!(
        rows,
        vec![
            ("content.delete", "operator:小王", "素材 #1「退货说明（新）」（link）：删除"),
            ("content.update", "operator:小王", "素材 #1「退货说明（新）」（link）：修改"),
            ("content.create", "operator:小李", "素材 #1「退货说明」（text）：新建"),
        ]
    );
}

async fn updating_an_unknown_item_is_not_found_and_ids_are_never_reused(store: Arc<dyn Store>) {
    let error = store.content_update(7, &draft("x", text("x"), &[], t(0))).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound(_)), "{error:?}");
    let first = store.content_create(&draft("a", text("a"), &[], t(0))).await.unwrap();
    store.content_delete(first.id, "api", t(1)).await.unwrap();
    let second = store.content_create(&draft("b", text("b"), &[], t(2))).await.unwrap();
    assert!(second.id > first.id, "{} after {}", second.id, first.id);
    assert!(store.list_audit(None, 10).await.unwrap().iter().all(|a| !a.entry.summary.contains("#7")), "no audit row for a failed update");
}

async fn items_are_listed_newest_first_and_filtered_by_tag(store: Arc<dyn Store>) {
    let image = ContentBody::Image { url: Some("https://cdn.example/qr.png".into()), data: None, caption: Some("扫码进群".into()) };
    store.content_create(&draft("客服微信", image, &["客服"], t(0))).await.unwrap();
    store.content_create(&draft("群规", text("1. 友善交流"), &["群规", "faq"], t(1))).await.unwrap();
    store.content_create(&draft("发货", text("48 小时内发货"), &["faq", "物流"], t(2))).await.unwrap();
    let titles = |items: Vec<qunzhu_core::content::ContentItem>| items.into_iter().map(|i| i.title).collect::<Vec<_>>();
    assert_eq!(titles(store.content_list(None, 10).await.unwrap()), vec!["发货", "群规", "客服微信"]);
    assert_eq!(titles(store.content_list(Some("faq"), 10).await.unwrap()), vec!["发货", "群规"]);
    assert_eq!(titles(store.content_list(Some("faq"), 1).await.unwrap()), vec!["发货"]);
    assert_eq!(titles(store.content_list(Some("fa"), 10).await.unwrap()), Vec::<String>::new(), "tags match exactly");
    let image = store.content_get(1).await.unwrap().unwrap();
    assert_eq!(image.body.kind(), "image");
    // A retag moves the item between filters.
    store.content_update(1, &draft("客服微信", image.body.clone(), &["faq"], t(3))).await.unwrap();
    assert_eq!(titles(store.content_list(Some("客服"), 10).await.unwrap()), Vec::<String>::new());
    assert_eq!(titles(store.content_list(Some("faq"), 10).await.unwrap()), vec!["发货", "群规", "客服微信"]);
}

async fn text_with_a_nul_and_inline_image_data_round_trip(store: Arc<dyn Store>) {
    let body = ContentBody::Image { url: None, data: Some("iVBORw0KGgo=".into()), caption: Some("a\0b".into()) };
    let item = store.content_create(&draft("图", body.clone(), &[], t(0))).await.unwrap();
    assert_eq!(store.content_get(item.id).await.unwrap().unwrap().body, body);
}

fn answer(group: &GroupKey, entry: &str, member: &str, day: u32, at: DateTime<Utc>) -> FaqAnswer {
    FaqAnswer {
        id: format!("{group}:{entry}:{member}:{}", at.timestamp()),
        group: group.clone(),
        template: "default".into(),
        entry: entry.into(),
        member: MemberId::new(member),
        day: NaiveDate::from_ymd_opt(2025, 6, day).unwrap(),
        at,
    }
}

/// Commits an answer the way the engine does: as a state write with its event's commit.
async fn record(store: &Arc<dyn Store>, answer: FaqAnswer) -> Result<(), StoreError> {
    store.commit(&Commit { writes: vec![StateWrite::FaqAnswer(answer)], ..Commit::default() }).await
}

async fn faq_answers_restart_cooldowns_per_group_and_member(store: Arc<dyn Store>) {
    let g1 = GroupKey::new("qq", "g1");
    let g2 = GroupKey::new("qq", "g2");
    let alice = MemberId::new("alice");
    assert_eq!(store.faq_last_answers(&g1, "returns", &alice).await.unwrap(), FaqLastAnswers::default());
    record(&store, answer(&g1, "returns", "bob", 15, t(10))).await.unwrap();
    record(&store, answer(&g1, "returns", "alice", 15, t(5))).await.unwrap();
    record(&store, answer(&g2, "returns", "alice", 15, t(99))).await.unwrap();
    record(&store, answer(&g1, "shipping", "alice", 15, t(200))).await.unwrap();
    assert_eq!(
        store.faq_last_answers(&g1, "returns", &alice).await.unwrap(),
        FaqLastAnswers { in_group: Some(t(10)), to_member: Some(t(5)) }
    );
    assert_eq!(
        store.faq_last_answers(&g1, "returns", &MemberId::new("carol")).await.unwrap(),
        FaqLastAnswers { in_group: Some(t(10)), to_member: None }
    );
    record(&store, answer(&g1, "returns", "alice", 15, t(300))).await.unwrap();
    assert_eq!(store.faq_last_answers(&g1, "returns", &alice).await.unwrap().to_member, Some(t(300)));
}

async fn faq_hits_are_counted_per_entry_group_and_day_and_filtered(store: Arc<dyn Store>) {
    let g1 = GroupKey::new("qq", "g1");
    let g2 = GroupKey::new("qq", "g2");
    for (i, (group, entry, day)) in
        [(&g1, "returns", 14), (&g1, "returns", 15), (&g1, "returns", 15), (&g2, "returns", 15), (&g1, "shipping", 15)]
            .into_iter()
            .enumerate()
    {
        record(&store, answer(group, entry, "m", day, t(i as i64))).await.unwrap();
    }
    let all = store.faq_stats(&FaqStatsFilter::default(), 100).await.unwrap();
    let rows: Vec<(String, String, u32, u64)> =
        all.iter().map(|c| (c.entry.clone(), c.group.to_string(), c.day.format("%d").to_string().parse().unwrap(), c.hits)).collect();
    assert_eq!(
        rows,
        vec![
            ("returns".into(), "qq/g1".into(), 15, 2),
            ("returns".into(), "qq/g2".into(), 15, 1),
            ("shipping".into(), "qq/g1".into(), 15, 1),
            ("returns".into(), "qq/g1".into(), 14, 1),
        ]
    );
    assert_eq!(all[0].last_at, t(2), "last_at is the day's last hit");
    let only_g1_returns = FaqStatsFilter { group: Some(g1.clone()), entry: Some("returns".into()), ..FaqStatsFilter::default() };
    assert_eq!(store.faq_stats(&only_g1_returns, 100).await.unwrap().iter().map(|c| c.hits).sum::<u64>(), 3);
    let day_14 = NaiveDate::from_ymd_opt(2025, 6, 14).unwrap();
    let only_14 = FaqStatsFilter { from: Some(day_14), to: Some(day_14), template: Some("default".into()), ..FaqStatsFilter::default() };
    assert_eq!(store.faq_stats(&only_14, 100).await.unwrap().len(), 1);
    let other_template = FaqStatsFilter { template: Some("vip".into()), ..FaqStatsFilter::default() };
    assert!(store.faq_stats(&other_template, 100).await.unwrap().is_empty());
    // The same answer committed again (a re-run of its event) is not counted twice.
    let again = answer(&g1, "shipping", "m", 15, t(4));
    record(&store, again).await.unwrap();
    let shipping = FaqStatsFilter { entry: Some("shipping".into()), ..FaqStatsFilter::default() };
    assert_eq!(store.faq_stats(&shipping, 100).await.unwrap()[0].hits, 1);
    assert_eq!(store.faq_stats(&FaqStatsFilter::default(), 2).await.unwrap().len(), 2);
}

async fn content_and_faq_state_survive_a_restart(backend: Reopenable) {
    let store = backend.open().await;
    store.content_create(&draft("群规", text("友善交流"), &["faq"], t(0))).await.unwrap();
    record(&store, answer(&GroupKey::new("qq", "g1"), "rules", "m", 15, t(1))).await.unwrap();
    store.close().await;
    let store = backend.open().await;
    assert_eq!(store.content_list(Some("faq"), 10).await.unwrap().len(), 1);
    assert_eq!(store.faq_stats(&FaqStatsFilter::default(), 10).await.unwrap()[0].hits, 1);
    let next = store.content_create(&draft("b", text("b"), &[], t(2))).await.unwrap();
    assert_eq!(next.id, 2);
    store.close().await;
}

stories! {
    any store:
        content_items_are_created_read_updated_and_deleted_with_audit_rows,
        updating_an_unknown_item_is_not_found_and_ids_are_never_reused,
        items_are_listed_newest_first_and_filtered_by_tag,
        text_with_a_nul_and_inline_image_data_round_trip,
        faq_answers_restart_cooldowns_per_group_and_member,
        faq_hits_are_counted_per_entry_group_and_day_and_filtered;
    reopened:
        content_and_faq_state_survive_a_restart,
}
