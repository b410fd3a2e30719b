//! Auto-replies end to end over the in-memory store and a manual clock: paraphrases of the
//! default FAQ are answered with a reply quoting them, unrelated questions are left alone,
//! cooldowns and quiet hours (Asia/Shanghai, across midnight) hold, regex triggers answer,
//! spam deleted by moderation gets no answer, and hits are counted per local day.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use qunzhu_core::content::{ContentBody, ContentDraft};
use qunzhu_core::faq::FaqStatsFilter;
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{
    Action, ActionKind, Capabilities, Capability, Clock, ConnectorId, Event, EventKind, ManualClock, Member, Message,
    Origin, Role, Segment, Store,
};
use qunzhu_engine::rulebook::{GroupBinding, DEFAULT_TEMPLATE};
use qunzhu_engine::rules::auto_reply::{AutoReplySettings, FaqEntry, Triggers};
use qunzhu_engine::{Engine, EngineConfig, Processed, RulebookError, Rulebook};

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: std::sync::atomic::AtomicU32,
}

/// 2026-11-22 10:00 in Shanghai (02:00 UTC).
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()
}

impl Harness {
    async fn new(capabilities: Capabilities) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(morning()));
        let connectors = HashMap::from([(ConnectorId::new("shop"), capabilities)]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: Default::default() }
    }

    /// Posts a message 30 seconds after the previous event.
    async fn ask(&self, group: &str, member: &Member, text: &str) -> Processed {
        self.clock.advance(Duration::seconds(30));
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "shop".into(), group: group.into(), event_id: format!("e{n}").into() },
            group_name: Some(format!("粉丝{group}群")),
            time: self.clock.now(),
            kind: EventKind::MessagePosted { author: member.clone(), message: Message::text(format!("m{n}"), text) },
        };
        self.engine.submit(event).await.unwrap()
    }

    async fn edit(&self, change: impl FnOnce(&mut Rulebook)) -> Result<(), RulebookError> {
        let mut book = self.engine.rulebook().rulebook.clone();
        change(&mut book);
        self.engine.save_rulebook(book, "test", "auto-reply settings").await.map(|_| ())
    }

    async fn edit_faq(&self, change: impl FnOnce(&mut AutoReplySettings)) {
        self.edit(|book| change(&mut book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().auto_reply)).await.unwrap();
    }

    async fn hits(&self, entry: &str) -> u64 {
        let filter = FaqStatsFilter { entry: Some(entry.into()), ..FaqStatsFilter::default() };
        self.store.faq_stats(&filter, 100).await.unwrap().iter().map(|c| c.hits).sum()
    }
}

fn member(id: &str, name: &str) -> Member {
    Member::new(id, name)
}

fn replies(processed: &Processed) -> Vec<&Action> {
    processed.actions.iter().filter(|a| a.rule == "auto_reply").collect()
}

fn only_reply(processed: &Processed) -> (&str, &[Segment]) {
    let answers = replies(processed);
    assert_eq!(answers.len(), 1, "one auto-reply expected: {processed:#?}");
    match &answers[0].kind {
        ActionKind::Reply { to, segments } => (to.as_str(), segments),
        other => panic!("not a reply: {other:?}"),
    }
}

fn plain(segments: &[Segment]) -> String {
    Message { id: "x".into(), segments: segments.to_vec() }.plain_text()
}

#[tokio::test]
async fn a_paraphrase_of_an_faq_question_is_answered_with_a_reply_quoting_it_and_a_real_mention() {
    let h = Harness::new(Capabilities::all()).await;
    let asker = member("u1", "小红");
    let processed = h.ask("g1", &asker, "我想退掉这个东西怎么办").await;
    let (to, segments) = only_reply(&processed);
    assert_eq!(to, "m0", "the reply quotes the question");
    assert_eq!(segments[0], Segment::Mention { member: "u1".into(), name: Some("小红".into()) });
    assert!(plain(segments).contains("退货流程"), "{}", plain(segments));
    let why = &replies(&processed)[0].explanation;
    assert!(why.contains("returns") && why.contains("相似度"), "{why}");
    assert_eq!(h.hits("returns").await, 1);
    let audit = h.store.list_audit(None, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.rule.as_deref() == Some("auto_reply") && a.entry.detail.as_deref().is_some_and(|d| d.contains("\"score\""))));

    for (i, paraphrase) in ["怎么退货", "退货流程是什么", "买的衣服不合适能退吗？"].into_iter().enumerate() {
        let asker = member(&format!("p{i}"), "群友");
        h.clock.advance(Duration::seconds(120));
        let processed = h.ask("g1", &asker, paraphrase).await;
        assert_eq!(replies(&processed).len(), 1, "{paraphrase} was not answered");
    }
}

#[tokio::test]
async fn an_unrelated_question_sharing_only_a_function_word_is_left_for_people() {
    let h = Harness::new(Capabilities::all()).await;
    for text in ["怎么报名", "这个怎么用啊", "收到，谢谢老师", "今天天气真好", "发货了"] {
        let processed = h.ask("g1", &member("u1", "小红"), text).await;
        assert!(processed.actions.is_empty(), "{text} was answered: {processed:#?}");
    }
    assert!(h.store.faq_stats(&FaqStatsFilter::default(), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_entry_cools_down_in_the_group_and_for_each_member() {
    let h = Harness::new(Capabilities::all()).await;
    h.edit_faq(|faq| {
        let entry = faq.entries.get_mut("shipping").unwrap();
        entry.cooldown_secs = 60;
        entry.member_cooldown_secs = 600;
    })
    .await;
    let (alice, bob) = (member("a", "Alice"), member("b", "Bob"));
    assert_eq!(replies(&h.ask("g1", &alice, "什么时候发货").await).len(), 1);
    assert!(replies(&h.ask("g1", &bob, "几天能发货呀").await).is_empty(), "30 s later: the group cooldown holds");
    assert_eq!(replies(&h.ask("g2", &bob, "几天能发货呀").await).len(), 1, "another group has its own cooldown");
    assert_eq!(replies(&h.ask("g1", &bob, "几天能发货呀").await).len(), 1, "90 s later the group cooldown is over");
    h.clock.advance(Duration::seconds(60));
    assert!(replies(&h.ask("g1", &alice, "发货时间是多久").await).is_empty(), "Alice's own cooldown is 10 minutes");
    assert_eq!(replies(&h.ask("g1", &alice, "群规是什么").await).len(), 1, "another entry is not cooling down");
    h.clock.advance(Duration::seconds(600));
    assert_eq!(replies(&h.ask("g1", &alice, "发货时间是多久").await).len(), 1);
    assert_eq!(h.hits("shipping").await, 4);
}

#[tokio::test]
async fn quiet_hours_across_midnight_in_shanghai_hold_back_auto_replies() {
    let h = Harness::new(Capabilities::all()).await;
    h.edit_faq(|faq| faq.quiet_hours = "23:00-08:00".into()).await;
    let asker = member("u1", "夜猫子");
    // The harness advances 30 s before each message.
    let at = |h: &Harness, utc: DateTime<Utc>| h.clock.set(utc - Duration::seconds(30));
    at(&h, Utc.with_ymd_and_hms(2026, 11, 22, 14, 59, 0).unwrap()); // 22:59 in Shanghai
    assert_eq!(replies(&h.ask("g1", &asker, "怎么退货").await).len(), 1);
    for (utc_hour, utc_minute) in [(15, 0), (16, 30), (23, 59)] {
        // 23:00, 00:30 (the next day), 07:59 in Shanghai.
        at(&h, Utc.with_ymd_and_hms(2026, 11, 22, utc_hour, utc_minute, 0).unwrap());
        let processed = h.ask("g1", &member(&format!("n{utc_hour}"), "夜猫子"), "群规是什么").await;
        assert!(processed.actions.is_empty(), "{utc_hour}:{utc_minute} UTC is quiet in Shanghai: {processed:#?}");
    }
    at(&h, Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()); // 08:00 in Shanghai
    assert_eq!(replies(&h.ask("g1", &member("early", "早起"), "群规是什么").await).len(), 1);
}

#[tokio::test]
async fn hits_count_for_the_groups_local_day() {
    let h = Harness::new(Capabilities::all()).await;
    // 16:30 UTC on the 22nd is 00:30 on the 23rd in Shanghai.
    h.clock.set(Utc.with_ymd_and_hms(2026, 11, 22, 16, 30, 0).unwrap());
    assert_eq!(replies(&h.ask("g1", &member("u1", "a"), "怎么退货").await).len(), 1);
    let counts = h.store.faq_stats(&FaqStatsFilter::default(), 10).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].template.as_str(), counts[0].entry.as_str()), (DEFAULT_TEMPLATE, "returns"));
    assert_eq!(counts[0].day, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
}

#[tokio::test]
async fn a_regex_trigger_answers_and_a_broken_one_is_refused_at_its_key_path() {
    let h = Harness::new(Capabilities::all()).await;
    h.edit_faq(|faq| {
        faq.entries.insert(
            "launch".into(),
            FaqEntry {
                triggers: Triggers { regex: vec![r"(几|多少)号.*(上新|开售)".into()], ..Triggers::default() },
                answer: "{name} 新品 12 月 1 日 0 点开售～".into(),
                ..FaqEntry::default()
            },
        );
    })
    .await;
    let processed = h.ask("g1", &member("u1", "小红"), "请问新款幾號開售？").await;
    let (_, segments) = only_reply(&processed);
    assert!(plain(segments).ends_with("新品 12 月 1 日 0 点开售～"), "{}", plain(segments));
    assert!(replies(&processed)[0].explanation.contains("正则"));

    let refused = h
        .edit(|book| {
            let faq = &mut book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().auto_reply;
            faq.entries.get_mut("launch").unwrap().triggers.regex.push("(上新".into());
        })
        .await
        .unwrap_err();
    let RulebookError::Invalid(problems) = refused else { panic!("expected problems: {refused:?}") };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].dotted_path(), "templates.default.auto_reply.entries.launch.triggers.regex[1]");
    assert!(problems[0].message.contains("unclosed group"), "{}", problems[0].message);
}

#[tokio::test]
async fn spam_deleted_by_moderation_gets_no_auto_reply_and_counts_no_hit() {
    let h = Harness::new(Capabilities::all()).await;
    // Any message mentioning 退货 is this entry's question, so the spam below would be answered.
    h.edit_faq(|faq| faq.entries.get_mut("returns").unwrap().triggers.contains = vec!["退货".into()]).await;
    let spammer = member("u9", "推广小妹");
    let processed = h.ask("g1", &spammer, "怎么退货？加薇信 abc12345，兼职刷单日赚三百").await;
    let kinds: Vec<&str> = processed.actions.iter().map(|a| a.kind.name()).collect();
    assert_eq!(kinds, vec!["delete", "send"], "deleted and warned, not answered");
    assert!(replies(&processed).is_empty());
    let audit = h.store.list_audit(None, 20).await.unwrap();
    assert!(
        audit.iter().any(|a| a.entry.rule.as_deref() == Some("auto_reply") && a.entry.summary.contains("已抑制")),
        "the dropped answer is in the audit log"
    );
    assert_eq!(h.hits("returns").await, 0);
}

#[tokio::test]
async fn an_answer_can_come_from_the_content_library_and_a_missing_item_alerts_staff() {
    let h = Harness::new(Capabilities::all()).await;
    let item = h
        .store
        .content_create(&ContentDraft {
            title: "退货说明".into(),
            body: ContentBody::Link { url: "https://shop.example/returns".into(), title: "退货流程（图文）".into() },
            tags: vec!["faq".into()],
            by: "operator:小李".into(),
            at: morning(),
        })
        .await
        .unwrap();
    h.edit_faq(|faq| {
        let entry = faq.entries.get_mut("returns").unwrap();
        entry.answer.clear();
        entry.content = Some(item.id);
        faq.entries.get_mut("support").unwrap().answer.clear();
        faq.entries.get_mut("support").unwrap().content = Some(999);
    })
    .await;
    let processed = h.ask("g1", &member("u1", "小红"), "怎么退货").await;
    let (_, segments) = only_reply(&processed);
    assert_eq!(segments.last(), Some(&Segment::Link { url: "https://shop.example/returns".into() }));
    assert!(replies(&processed)[0].explanation.contains("素材 #1"));

    let processed = h.ask("g1", &member("u2", "小明"), "怎么联系客服").await;
    let ActionKind::NotifyStaff { text } = &replies(&processed)[0].kind else { panic!("{processed:#?}") };
    assert!(text.contains("#999") && text.contains("support"), "{text}");
}

#[tokio::test]
async fn a_group_override_changes_one_entry_for_that_group_only() {
    let h = Harness::new(Capabilities::all()).await;
    h.edit(|book| {
        let overrides = serde_json::json!({
            "auto_reply": { "entries": { "returns": { "answer": "VIP 群退货请直接私聊专属客服 {name}" }, "shipping": { "enabled": false } } }
        });
        book.groups.insert(
            "shop/vip".into(),
            GroupBinding { template: DEFAULT_TEMPLATE.into(), overrides: overrides.as_object().unwrap().clone() },
        );
    })
    .await
    .unwrap();
    let asker = member("u1", "小红");
    let processed = h.ask("vip", &asker, "怎么退货").await;
    let (_, vip) = only_reply(&processed);
    assert!(plain(vip).starts_with("VIP 群退货"), "{}", plain(vip));
    assert!(h.ask("vip", &asker, "什么时候发货").await.actions.is_empty(), "disabled in this group");
    let processed = h.ask("g1", &asker, "怎么退货").await;
    let (_, other) = only_reply(&processed);
    assert!(plain(other).contains("退货流程"));
}

#[tokio::test]
async fn staff_are_not_answered_unless_the_template_says_so() {
    let h = Harness::new(Capabilities::all()).await;
    let admin = Member { role: Role::Admin, ..member("boss", "群主") };
    assert!(h.ask("g1", &admin, "怎么退货").await.actions.is_empty());
    h.edit_faq(|faq| faq.answer_staff = true).await;
    assert_eq!(replies(&h.ask("g1", &admin, "怎么退货").await).len(), 1);
}

#[tokio::test]
async fn without_replies_on_the_platform_the_answer_is_sent_with_its_mention() {
    let h = Harness::new(Capabilities::new([Capability::Send, Capability::Mention, Capability::Delete])).await;
    let processed = h.ask("g1", &member("u1", "小红"), "群规是什么").await;
    let ActionKind::Send { segments } = &replies(&processed)[0].kind else { panic!("{processed:#?}") };
    assert_eq!(segments[0], Segment::Mention { member: "u1".into(), name: Some("小红".into()) });
}

#[tokio::test]
async fn the_english_default_faq_answers_english_questions() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(morning()));
    let connectors = HashMap::from([(ConnectorId::new("shop"), Capabilities::all())]);
    let config = EngineConfig { locale: qunzhu_engine::Locale::En, ..EngineConfig::default() };
    let engine = Engine::start(store, clock.clone(), connectors, config).await.unwrap();
    let event = Event {
        origin: Origin { connector: "shop".into(), group: "g1".into(), event_id: "e1".into() },
        group_name: None,
        time: clock.now(),
        kind: EventKind::MessagePosted { author: member("u1", "Sam"), message: Message::text("m1", "how can I return my order?") },
    };
    let processed = engine.submit(event).await.unwrap();
    let (_, segments) = only_reply(&processed);
    assert!(plain(segments).contains("To return an item"), "{}", plain(segments));
}
