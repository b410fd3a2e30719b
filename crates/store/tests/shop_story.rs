//! Points-shop stories, told to every backend (see `support`): redemptions never oversell
//! or overspend, refusals change nothing, settling refunds once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::points::{ItemChange, LedgerEntry, MAKEUP_CARD};
use qunzhu_core::shop::{ItemKind, Redemption, RedemptionStatus, Refusal, ShopItem};
use qunzhu_core::{ConnectorId, GroupKey, MemberId, NewAuditEntry, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn audit(summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: t(0),
        actor: "engine".into(),
        kind: "shop".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: summary.into(),
        detail: None,
    }
}

fn item(id: &str, cost: i64, stock: Option<i64>, kind: ItemKind) -> ShopItem {
    ShopItem { id: id.into(), name: format!("商品 {id}"), description: "说明".into(), cost, stock, kind, enabled: true, updated_at: t(0) }
}

fn points(id: &str, member: &str, amount: i64) -> LedgerEntry {
    LedgerEntry {
        id: id.into(),
        connector: ConnectorId::new("qq"),
        member: MemberId::new(member),
        amount,
        reason: "r".into(),
        rule: "shop".into(),
        group: None,
        cause: None,
        actor: "engine".into(),
        time: t(0),
    }
}

fn redemption(id: &str, item: &str, member: &str, cost: i64) -> Redemption {
    Redemption {
        id: id.into(),
        item: item.into(),
        connector: ConnectorId::new("qq"),
        member: MemberId::new(member),
        group: GroupKey::new("qq", "100"),
        cost,
        status: RedemptionStatus::Pending,
        task: None,
        created_at: t(0),
        updated_at: t(0),
    }
}

async fn attempt(store: &Arc<dyn Store>, id: &str, item: &str, member: &str, cost: i64) -> Result<Redemption, Refusal> {
    store
        .redeem(&redemption(id, item, member, cost), &points(&format!("debit/{id}"), member, -cost), None, None, &audit(id))
        .await
        .unwrap()
}

async fn concurrent_redemptions_never_oversell_or_overspend(store: Arc<dyn Store>) {
    store.save_shop_item(&item("mug", 10, Some(3), ItemKind::Goods), &audit("上架")).await.unwrap();
    for n in 0..8 {
        store.add_points(&points(&format!("seed{n}"), &format!("m{n}"), if n == 0 { 100 } else { 10 }), &audit("seed")).await.unwrap();
    }
    // Eight members (one of them rich, trying three times) race for three mugs.
    let mut handles = Vec::new();
    for n in 0..10 {
        let store = store.clone();
        let member = format!("m{}", if n >= 8 { 0 } else { n });
        handles.push(tokio::spawn(async move { attempt(&store, &format!("r{n}"), "mug", &member, 10).await }));
    }
    let mut sold = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(_) => sold += 1,
            Err(refusal) => assert!(matches!(refusal, Refusal::OutOfStock | Refusal::InsufficientPoints), "{refusal:?}"),
        }
    }
    assert_eq!(sold, 3);
    assert_eq!(store.shop_item("mug").await.unwrap().unwrap().stock, Some(0));
    assert_eq!(store.list_redemptions(None, 100).await.unwrap().len(), 3);
    let mut total = 0;
    for n in 0..8 {
        let balance = store.points_balance(&ConnectorId::new("qq"), &MemberId::new(format!("m{n}"))).await.unwrap().balance;
        assert!(balance >= 0);
        total += balance;
    }
    assert_eq!(total, 170 - 30, "exactly three mugs were paid for");
}

async fn a_refused_redemption_changes_nothing(store: Arc<dyn Store>) {
    store.save_shop_item(&item("hat", 50, None, ItemKind::Goods), &audit("上架")).await.unwrap();
    let mut off = item("off", 1, Some(5), ItemKind::Goods);
    off.enabled = false;
    store.save_shop_item(&off, &audit("下架")).await.unwrap();
    store.add_points(&points("seed", "amy", 20), &audit("seed")).await.unwrap();
    assert_eq!(attempt(&store, "r1", "hat", "amy", 50).await, Err(Refusal::InsufficientPoints));
    assert_eq!(attempt(&store, "r2", "nope", "amy", 1).await, Err(Refusal::UnknownItem));
    assert_eq!(attempt(&store, "r3", "off", "amy", 1).await, Err(Refusal::Disabled));
    assert_eq!(store.points_balance(&ConnectorId::new("qq"), &MemberId::new("amy")).await.unwrap().balance, 20);
    assert_eq!(store.shop_item("off").await.unwrap().unwrap().stock, Some(5));
    assert!(store.list_redemptions(None, 10).await.unwrap().is_empty());
    let audits = store.list_audit(None, 10).await.unwrap().len();
    assert_eq!(audits, 3, "only the two item saves and the seed were audited");
}

async fn a_makeup_card_lands_in_the_inventory_and_settling_refunds_once(store: Arc<dyn Store>) {
    store.save_shop_item(&item("card", 5, None, ItemKind::MakeupCard), &audit("上架")).await.unwrap();
    store.save_shop_item(&item("pen", 5, Some(1), ItemKind::Goods), &audit("上架")).await.unwrap();
    store.add_points(&points("seed", "bo", 10), &audit("seed")).await.unwrap();
    let change = ItemChange { id: "card/r1".into(), connector: "qq".into(), member: "bo".into(), item: MAKEUP_CARD.into(), delta: 1, time: t(1) };
    let mut card = redemption("r1", "card", "bo", 5);
    card.status = RedemptionStatus::Fulfilled;
    store.redeem(&card, &points("debit/r1", "bo", -5), None, Some(&change), &audit("card")).await.unwrap().unwrap();
    assert_eq!(store.inventory(&"qq".into(), &"bo".into(), MAKEUP_CARD).await.unwrap(), 1);
    // The same redemption again is a duplicate, not a second card.
    assert_eq!(store.redeem(&card, &points("debit/r1", "bo", -5), None, Some(&change), &audit("card")).await.unwrap(), Err(Refusal::Duplicate));
    assert_eq!(attempt(&store, "r2", "pen", "bo", 5).await.map(|r| r.id), Ok("r2".into()));
    assert_eq!(store.points_balance(&"qq".into(), &"bo".into()).await.unwrap().balance, 0);
    let refund = points("refund/r2", "bo", 5);
    let settled = store.settle_redemption("r2", RedemptionStatus::Cancelled, Some(&refund), t(5), &audit("cancel")).await.unwrap();
    assert_eq!(settled.status, RedemptionStatus::Cancelled);
    assert_eq!(settled.updated_at, t(5));
    assert_eq!(store.points_balance(&"qq".into(), &"bo".into()).await.unwrap().balance, 5);
    assert_eq!(store.shop_item("pen").await.unwrap().unwrap().stock, Some(1));
    let again = store.settle_redemption("r2", RedemptionStatus::Cancelled, Some(&refund), t(6), &audit("cancel")).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
    assert_eq!(store.points_balance(&"qq".into(), &"bo".into()).await.unwrap().balance, 5, "refunded once");
    let pending = store.list_redemptions(Some(RedemptionStatus::Pending), 10).await.unwrap();
    assert!(pending.is_empty());
    let all: Vec<String> = store.list_redemptions(None, 10).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(all, ["r2", "r1"]);
}

stories! {
    any store:
        concurrent_redemptions_never_oversell_or_overspend,
        a_refused_redemption_changes_nothing,
        a_makeup_card_lands_in_the_inventory_and_settling_refunds_once;
    reopened:
}
