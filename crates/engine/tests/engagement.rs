//! Check-ins, points, levels and the points shop, end to end over the in-memory store with a
//! controllable clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::shop::{ItemKind, RedemptionStatus, ShopItem};
use qunzhu_core::{
    Action, ActionKind, Capabilities, ConnectorId, Event, EventKind, ManualClock, Member, MemberId, Message, NewAuditEntry,
    Origin, Store, TaskStatus,
};
use qunzhu_engine::{Engine, EngineConfig, Rulebook};

const SHOP: &str = "shop";

/// 2026-11-22 23:59 in Asia/Shanghai.
fn late_evening() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 15, 59, 0).unwrap()
}

struct Chat {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: u32,
}

impl Chat {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(late_evening()));
        let connectors = HashMap::from([(ConnectorId::new(SHOP), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: 0 }
    }

    /// `who` says `text` in group g1 now; returns the texts of the actions it caused.
    async fn say(&mut self, who: &str, text: &str) -> Vec<String> {
        self.say_in("g1", who, text).await
    }

    async fn say_in(&mut self, group: &str, who: &str, text: &str) -> Vec<String> {
        self.next += 1;
        let id = format!("m{}", self.next);
        let event = Event {
            origin: Origin { connector: SHOP.into(), group: group.into(), event_id: id.as_str().into() },
            group_name: Some("咖啡粉丝群".into()),
            time: self.clock.now_utc(),
            kind: EventKind::MessagePosted { author: Member::new(who, who.to_uppercase()), message: Message::text(id.as_str(), text) },
        };
        let processed = self.engine.submit(event).await.unwrap();
        processed.actions.iter().map(action_text).collect()
    }

    async fn balance(&self, who: &str) -> i64 {
        self.store.points_balance(&SHOP.into(), &MemberId::new(who)).await.unwrap().balance
    }
}

trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        qunzhu_core::Clock::now(self)
    }
}

fn action_text(action: &Action) -> String {
    match &action.kind {
        ActionKind::Send { segments } | ActionKind::Reply { segments, .. } => Message { id: "x".into(), segments: segments.clone() }.plain_text(),
        other => format!("{other:?}"),
    }
}

fn audit(summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: late_evening(),
        actor: "运营小王".into(),
        kind: "shop.item".into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: summary.into(),
        detail: None,
    }
}

async fn stock(store: &MemoryStore, id: &str, name: &str, cost: i64, stock: Option<i64>, kind: ItemKind) {
    let item = ShopItem { id: id.into(), name: name.into(), description: String::new(), cost, stock, kind, enabled: true, updated_at: late_evening() };
    store.save_shop_item(&item, &audit("上架")).await.unwrap();
}

#[tokio::test]
async fn a_streak_carries_across_midnight_in_asia_shanghai() {
    let mut chat = Chat::new().await;
    let first = chat.say("alice", "签到").await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].contains("@ALICE 签到成功"), "{first:?}");
    assert!(first[0].contains("+5 积分") && first[0].contains("连续签到 1 天") && first[0].contains("今日第 1 位"), "{first:?}");
    // Two minutes later it is the next day in Shanghai (but still the same UTC day).
    chat.clock.advance(Duration::minutes(2));
    let second = chat.say("alice", "打卡！").await;
    assert!(second[0].contains("连续签到 2 天"), "{second:?}");
    assert_eq!(chat.balance("alice").await, 10);
    // Day three earns the 3-day streak bonus (5 + 2).
    chat.clock.advance(Duration::days(1));
    let third = chat.say("alice", "签到").await;
    assert!(third[0].contains("+7 积分") && third[0].contains("连续签到 3 天"), "{third:?}");
    // A missed day starts the streak again.
    chat.clock.advance(Duration::days(2));
    let again = chat.say("alice", "签到").await;
    assert!(again[0].contains("连续签到 1 天"), "{again:?}");
    assert_eq!(chat.balance("alice").await, 22);
}

#[tokio::test]
async fn second_check_in_on_same_day_awards_nothing_and_is_answered_kindly() {
    let mut chat = Chat::new().await;
    chat.clock.advance(Duration::minutes(5)); // 00:04 local
    chat.say("alice", "签到").await;
    let bob = chat.say("bob", "签到").await;
    assert!(bob[0].contains("今日第 2 位"), "{bob:?}");
    chat.clock.advance(Duration::hours(20)); // 20:04 the same local day
    let twice = chat.say("alice", "签到").await;
    assert_eq!(twice.len(), 1);
    assert!(twice[0].contains("今天已经签到过啦"), "{twice:?}");
    assert_eq!(chat.balance("alice").await, 5, "nothing awarded the second time");
    let ledger = chat.store.points_ledger(&SHOP.into(), &MemberId::new("alice"), 10).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].rule, "check_in");
    assert_eq!(ledger[0].cause.as_ref().map(|c| c.as_str()), Some("m1"));
}

#[tokio::test]
async fn message_points_stop_at_the_daily_cap_and_start_again_the_next_local_day() {
    let mut chat = Chat::new().await;
    chat.clock.advance(Duration::minutes(2));
    let lines = ["早上好", "今天喝什么", "拿铁不错", "我更喜欢美式", "新品什么时候上", "周末有活动吗", "好期待", "昨天买的豆子到了",
        "味道很香", "推荐给朋友了", "包装也好看", "下次还买", "客服回复很快", "谢谢群主", "大家晚安"];
    for line in lines {
        chat.clock.advance(Duration::minutes(3));
        assert!(chat.say("carol", line).await.is_empty(), "{line}");
    }
    assert!(chat.say("carol", "嗯").await.is_empty());
    assert_eq!(chat.balance("carol").await, 10, "capped at 10 a day; one-character messages earn nothing");
    chat.clock.advance(Duration::hours(24));
    chat.say("carol", "早上好呀").await;
    assert_eq!(chat.balance("carol").await, 11);
    // Points belong to the community: the same member earns in another group of it too.
    chat.say_in("g2", "carol", "这个群也不错").await;
    assert_eq!(chat.balance("carol").await, 12);
}

#[tokio::test]
async fn a_promotion_is_announced_once_when_earned_points_cross_a_level() {
    let mut chat = Chat::new().await;
    chat.engine
        .grant_points(&SHOP.into(), &MemberId::new("dave"), 48, "活动奖励", "运营小王")
        .await
        .unwrap();
    let said = chat.say("dave", "大家晚上好").await;
    assert!(said.is_empty(), "49 points: still 新人 {said:?}");
    let said = chat.say("dave", "我来签到啦").await;
    assert_eq!(said.len(), 1, "the 50th point, from a plain message, is a promotion: {said:?}");
    assert!(said[0].contains("恭喜 @DAVE 升级为「活跃」") && said[0].contains("50 积分"), "{said:?}");
    assert!(chat.say("dave", "谢谢大家").await.is_empty(), "announced once");
    let mut chat2 = Chat::new().await;
    chat2.engine.grant_points(&SHOP.into(), &MemberId::new("erin"), 47, "活动奖励", "运营小王").await.unwrap();
    let said = chat2.say("erin", "签到").await;
    assert_eq!(said.len(), 2, "the check-in reply and the promotion: {said:?}");
    assert!(said[0].contains("（活跃）"), "the reply shows the new level: {said:?}");
    assert!(said[1].contains("恭喜 @ERIN 升级为「活跃」"), "{said:?}");
}

#[tokio::test]
async fn redeeming_goods_debits_points_and_makes_a_fulfilment_task_and_cancelling_refunds() {
    let mut chat = Chat::new().await;
    stock(&chat.store, "mug", "定制马克杯", 30, Some(1), ItemKind::Goods).await;
    let refused = chat.say("frank", "兑换 马克杯").await;
    assert!(refused[0].contains("商城里没有这个商品"), "{refused:?}");
    let poor = chat.say("frank", "兑换 定制马克杯").await;
    assert!(poor[0].contains("积分不足"), "{poor:?}");
    chat.engine.grant_points(&SHOP.into(), &MemberId::new("frank"), 40, "活动奖励", "运营小王").await.unwrap();
    chat.engine.grant_points(&SHOP.into(), &MemberId::new("gina"), 40, "活动奖励", "运营小王").await.unwrap();
    let done = chat.say("frank", "兑换 mug").await;
    assert!(done[0].contains("兑换「定制马克杯」成功") && done[0].contains("剩余 10"), "{done:?}");
    let sold_out = chat.say("gina", "兑换 mug").await;
    assert!(sold_out[0].contains("已经兑完"), "{sold_out:?}");
    assert_eq!(chat.balance("gina").await, 40);
    let tasks = chat.store.list_tasks(Some(TaskStatus::Open), 10).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].step.contains("FRANK") && tasks[0].step.contains("定制马克杯"), "{}", tasks[0].step);
    let redemption = chat.store.list_redemptions(Some(RedemptionStatus::Pending), 10).await.unwrap().remove(0);
    chat.engine.settle_redemption(&redemption.id, false, "运营小王").await.unwrap();
    assert_eq!(chat.balance("frank").await, 40, "refunded");
    assert_eq!(chat.store.shop_item("mug").await.unwrap().unwrap().stock, Some(1), "back in stock");
    assert!(chat.engine.settle_redemption(&redemption.id, true, "运营小王").await.is_err(), "settled once");
}

#[tokio::test]
async fn a_makeup_card_from_the_shop_fills_yesterday_and_keeps_the_streak() {
    let mut chat = Chat::new().await;
    stock(&chat.store, "card", "补签卡", 20, None, ItemKind::MakeupCard).await;
    chat.clock.advance(Duration::minutes(2)); // day 1 (Nov 23 local)
    chat.say("hana", "签到").await;
    chat.clock.advance(Duration::days(2)); // day 3: day 2 was missed
    let refused = chat.say("hana", "补签").await;
    assert!(refused[0].contains("暂时不能补签"), "no card yet: {refused:?}");
    chat.engine.grant_points(&SHOP.into(), &MemberId::new("hana"), 20, "活动奖励", "运营小王").await.unwrap();
    let bought = chat.say("hana", "兑换 补签卡").await;
    assert!(bought[0].contains("成功"), "{bought:?}");
    let balance = chat.say("hana", "我的积分").await;
    assert!(balance[0].contains("补签卡 1 张"), "{balance:?}");
    let made_up = chat.say("hana", "补签").await;
    assert!(made_up[0].contains("补签成功") && made_up[0].contains("连续签到 2 天"), "{made_up:?}");
    let today = chat.say("hana", "签到").await;
    assert!(today[0].contains("连续签到 3 天"), "the streak carries on: {today:?}");
    let none_left = chat.say("hana", "我的积分").await;
    assert!(none_left[0].contains("补签卡 0 张"), "{none_left:?}");
}

#[tokio::test]
async fn a_check_in_deleted_as_spam_earns_nothing() {
    let mut chat = Chat::new().await;
    let said = chat.say("ivan", "签到 加微信 abc12345 兼职刷单日赚三百").await;
    assert!(said.iter().any(|s| s.contains("Delete")), "{said:?}");
    assert_eq!(chat.balance("ivan").await, 0);
    assert!(Rulebook::builtin(qunzhu_engine::Locale::ZhCn).templates["default"].check_in.enabled);
}
