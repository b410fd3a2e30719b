//! Lotteries (抽奖) end to end over the in-memory store with a manual clock: created through
//! the API, entered by keyword (once) or condition, drawn at their time, announced with real
//! mentions — and the published draw recomputes to the announced winners.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use qunzhu_core::lottery::{EntryCondition, Lottery, LotteryStatus};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::points::CheckIn;
use qunzhu_core::store::Commit;
use qunzhu_core::{
    Action, ActionKind, Capabilities, Clock, ConnectorId, Event, EventKind, GroupKey, ManualClock, Member, Message, Origin, Role, Segment,
    StateWrite, Store,
};
use qunzhu_engine::giveaways::{GiveawayError, NewLottery};
use qunzhu_engine::rules::lottery::draw;
use qunzhu_engine::{Engine, EngineConfig, Processed};

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    next: AtomicU32,
}

/// 2026-06-15 10:00 in Shanghai (a Monday).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 2, 0, 0).unwrap()
}

fn g(group: &str) -> GroupKey {
    GroupKey::new("shop", group)
}

fn member(n: u32) -> Member {
    Member::new(format!("u{n}"), format!("成员{n}"))
}

fn admin() -> Member {
    Member { role: Role::Admin, ..Member::new("admin", "群管小周") }
}

fn new_lottery(groups: &[&str], keyword: Option<&str>, condition: Option<EntryCondition>) -> NewLottery {
    NewLottery {
        title: "周末抽奖".into(),
        prize: "保温杯".into(),
        winners: 2,
        groups: groups.iter().map(|x| g(x)).collect(),
        keyword: keyword.map(String::from),
        condition,
        draw_at: start() + Duration::days(5),
        announce: true,
    }
}

impl Harness {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start()));
        let connectors = HashMap::from([(ConnectorId::new("shop"), Capabilities::all())]);
        let engine = Engine::start(store.clone(), clock.clone(), connectors, EngineConfig::default()).await.unwrap();
        Self { engine, store, clock, next: AtomicU32::new(0) }
    }

    async fn create(&self, new: NewLottery) -> (Lottery, Processed) {
        self.engine.create_lottery(new, "operator:alice").await.unwrap()
    }

    async fn say(&self, group: &str, who: &Member, text: &str) -> Processed {
        self.clock.advance(Duration::seconds(10));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let event = Event {
            origin: Origin { connector: "shop".into(), group: group.into(), event_id: format!("e{n}").into() },
            group_name: Some(format!("群{group}")),
            time: self.clock.now(),
            kind: EventKind::MessagePosted { author: who.clone(), message: Message::text(format!("m{n}"), text) },
        };
        self.engine.submit(event).await.unwrap()
    }

    async fn entrants(&self, id: &str) -> Vec<String> {
        self.store.lottery_entries(id).await.unwrap().iter().map(|e| e.member.to_string()).collect()
    }
}

fn text_of(action: &Action) -> String {
    match &action.kind {
        ActionKind::Send { segments } | ActionKind::Reply { segments, .. } => Message { id: "x".into(), segments: segments.clone() }.plain_text(),
        other => panic!("not a message: {other:?}"),
    }
}

fn lottery_replies(processed: &Processed) -> Vec<String> {
    processed.actions.iter().filter(|a| a.rule == "lottery").map(text_of).collect()
}

#[tokio::test]
async fn a_lottery_is_announced_in_each_of_its_groups() {
    let h = Harness::new().await;
    let (lottery, processed) = h.create(new_lottery(&["g1", "g2"], Some("抽奖"), None)).await;
    assert!(lottery.id.starts_with("lt-") && lottery.is_open());
    assert_eq!(lottery.created_by, "operator:alice");
    let groups: Vec<&GroupKey> = processed.actions.iter().map(|a| &a.group).collect();
    assert_eq!(groups, [&g("g1"), &g("g2")]);
    assert_eq!(
        text_of(&processed.actions[0]),
        "🎁 抽奖：周末抽奖\n奖品：保温杯（2 名）\n参与方式：在群里发送「抽奖」\n开奖时间：6月20日 10:00"
    );
}

#[tokio::test]
async fn entering_is_idempotent_and_the_entrant_is_told_once() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1", "g2"], Some("抽奖"), None)).await;
    let first = h.say("g1", &member(1), "抽奖").await;
    assert_eq!(lottery_replies(&first), ["@成员1 已参与抽奖「周末抽奖」，6月20日 10:00 开奖，祝你好运！"]);
    assert!(matches!(&first.actions[0].kind, ActionKind::Reply { segments, .. } if segments[0] == Segment::Mention { member: "u1".into(), name: Some("成员1".into()) }));
    assert!(h.say("g1", &member(1), "抽奖").await.actions.is_empty(), "a second keyword: no second reply");
    assert!(h.say("g2", &member(1), " 抽奖 ").await.actions.is_empty(), "nor in another of its groups");
    h.say("g2", &member(2), "抽奖").await;
    assert!(h.say("g3", &member(3), "抽奖").await.actions.is_empty(), "a group the lottery is not in");
    let chat = h.say("g1", &member(4), "这次抽奖什么时候开始").await;
    assert!(lottery_replies(&chat).is_empty(), "the keyword inside a sentence is chat");
    assert_eq!(h.entrants(&lottery.id).await, ["u1", "u2"]);
}

#[tokio::test]
async fn the_reply_can_be_turned_off_and_staff_do_not_enter_unless_allowed() {
    let h = Harness::new().await;
    let mut book = h.engine.rulebook().rulebook.clone();
    book.templates.get_mut("default").unwrap().lottery.reply_on_entry = false;
    h.engine.save_rulebook(book.clone(), "test", "silent").await.unwrap();
    let (lottery, _) = h.create(new_lottery(&["g1"], Some("抽奖"), None)).await;
    assert!(h.say("g1", &member(1), "抽奖").await.actions.is_empty());
    assert!(h.say("g1", &admin(), "抽奖").await.actions.is_empty());
    assert_eq!(h.entrants(&lottery.id).await, ["u1"], "entered silently; the admin did not");

    book.templates.get_mut("default").unwrap().lottery.staff_may_enter = true;
    h.engine.save_rulebook(book, "test", "staff too").await.unwrap();
    h.say("g1", &admin(), "抽奖").await;
    assert_eq!(h.entrants(&lottery.id).await, ["u1", "admin"]);
}

#[tokio::test]
async fn the_message_condition_is_enforced_when_the_keyword_is_sent() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1", "g2"], Some("抽奖"), Some(EntryCondition::Messages { at_least: 4 }))).await;
    let early = h.say("g1", &member(1), "抽奖").await;
    assert_eq!(lottery_replies(&early), ["@成员1 还不能参与抽奖「周末抽奖」：需要活动期间发言满 4 条（当前 1/4）"]);
    h.say("g1", &member(1), "大家早").await;
    h.say("g2", &member(1), "今天天气不错", ).await; // counted in any of its groups
    assert!(h.entrants(&lottery.id).await.is_empty());
    let entered = h.say("g1", &member(1), "抽奖").await;
    assert!(lottery_replies(&entered)[0].contains("已参与抽奖"), "{:?}", lottery_replies(&entered));
    assert_eq!(h.entrants(&lottery.id).await, ["u1"]);
    assert_eq!(h.store.lottery_message_count(&lottery.id, &"shop".into(), &"u1".into()).await.unwrap(), 4);
    // Messages in a group outside the lottery do not count.
    h.say("g9", &member(2), "在别的群说话").await;
    assert_eq!(h.store.lottery_message_count(&lottery.id, &"shop".into(), &"u2".into()).await.unwrap(), 0);
}

#[tokio::test]
async fn the_check_in_condition_counts_check_in_days_during_the_lottery() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1", "g2"], Some("抽奖"), Some(EntryCondition::CheckIns { at_least: 3 }))).await;
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
    let check_in = |group: &str, member: &str, d: u32| {
        StateWrite::CheckIn(CheckIn { group: g(group), member: member.into(), day: day(d), streak: 1, points: 5, makeup: false, time: start() })
    };
    // u1: 14th (before the lottery), 15th and 16th — 2 days in its period; u2: 3 days over two groups.
    let writes = vec![check_in("g1", "u1", 14), check_in("g1", "u1", 15), check_in("g1", "u1", 16), check_in("g1", "u2", 15), check_in("g2", "u2", 16), check_in("g1", "u2", 17)];
    h.store.commit(&Commit { writes, ..Commit::default() }).await.unwrap();
    h.clock.set(start() + Duration::days(2));
    let refused = h.say("g1", &member(1), "抽奖").await;
    assert!(lottery_replies(&refused)[0].contains("签到满 3 天（当前 2/3）"), "{:?}", lottery_replies(&refused));
    h.say("g2", &member(2), "抽奖").await;
    assert_eq!(h.entrants(&lottery.id).await, ["u2"]);
}

#[tokio::test]
async fn the_draw_at_its_time_announces_winners_with_mentions_and_recomputes_to_them() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1", "g2"], Some("抽奖"), None)).await;
    for n in 1..=6 {
        h.say(if n % 2 == 0 { "g2" } else { "g1" }, &member(n), "抽奖").await;
    }
    h.clock.set(lottery.draw_at - Duration::seconds(11));
    assert_eq!(h.engine.run_due(h.clock.now()).await.ticks, 0, "not before its time");
    assert_eq!(lottery_replies(&h.say("g1", &member(7), "抽奖").await).len(), 1, "entries are open until the draw time");
    h.clock.set(lottery.draw_at - Duration::seconds(10));
    assert!(h.say("g1", &member(8), "抽奖").await.actions.is_empty(), "entries close at the draw time");
    assert_eq!(h.engine.run_due(h.clock.now()).await.ticks, 1, "one tick, in the home group");
    assert_eq!(h.engine.run_due(h.clock.now()).await.ticks, 0, "drawn once");

    let drawn = h.store.get_lottery(&lottery.id).await.unwrap().unwrap();
    assert_eq!(drawn.status, LotteryStatus::Drawn);
    let record = drawn.draw.clone().unwrap();
    assert_eq!(record.entrants, ["shop/u1", "shop/u2", "shop/u3", "shop/u4", "shop/u5", "shop/u6", "shop/u7"]);
    assert_eq!(record.drawn_by, "engine");
    assert_eq!(record.winners.len(), 2);

    // Anyone can recompute the winners from the published seed and entrants.
    let seed = draw::parse_seed(&record.seed).unwrap();
    assert_eq!(draw::winners(&seed, &lottery.id, &record.entrants, drawn.winners), record.winners);
    assert_eq!(draw::entrants_sha256(&record.entrants), record.entrants_sha256);
    let (_, verification) = h.engine.verify_lottery(&lottery.id).await.unwrap();
    assert!(verification.valid, "{verification:?}");

    // Announced in both groups with real mentions of exactly the recorded winners.
    let announced: Vec<Action> = h.store.due_actions(&"shop".into(), h.clock.now(), 100).await.unwrap().into_iter().map(|e| e.action).filter(|a| a.rule == "lottery" && text_of(a).contains("开奖啦")).collect();
    assert_eq!(announced.iter().map(|a| a.group.clone()).collect::<Vec<_>>(), [g("g1"), g("g2")]);
    for action in &announced {
        let ActionKind::Send { segments } = &action.kind else { panic!() };
        let mentioned: Vec<String> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Mention { member, .. } => Some(format!("shop/{member}")),
                _ => None,
            })
            .collect();
        assert_eq!(mentioned, record.winners);
        let text = text_of(action);
        assert!(text.contains(&format!("共 7 人参与。公开核验：种子 {}…", &record.seed[..16])), "{text}");
        assert!(text.contains(&lottery.id), "{text}");
    }
    // The published record is in the audit log.
    let audit = h.store.list_audit(Some(&g("g1")), 20).await.unwrap();
    let row = audit.iter().find(|a| a.entry.rule.as_deref() == Some("lottery") && a.entry.detail.as_deref().is_some_and(|d| d.contains("\"draw\""))).unwrap();
    let detail: serde_json::Value = serde_json::from_str(row.entry.detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["draw"]["seed"], record.seed.as_str());
    assert_eq!(detail["draw"]["winners"], serde_json::json!(record.winners));
    assert_eq!(detail["draw"]["entrants_sha256"], record.entrants_sha256.as_str());

    // Late keywords change nothing.
    assert!(h.say("g1", &member(9), "抽奖").await.actions.is_empty());
    assert_eq!(h.store.lottery_entries(&lottery.id).await.unwrap().len(), 7);
}

#[tokio::test]
async fn a_tampered_entrant_list_or_winner_does_not_verify() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1"], Some("抽奖"), None)).await;
    for n in 1..=5 {
        h.say("g1", &member(n), "抽奖").await;
    }
    let (drawn, _) = h.engine.draw_lottery(&lottery.id, "operator:bob").await.unwrap();
    let record = drawn.draw.unwrap();
    assert_eq!(record.drawn_by, "operator:bob");
    let stored: Vec<String> = h.store.lottery_entries(&lottery.id).await.unwrap().iter().map(|e| e.entrant()).collect();
    assert!(draw::verify(&lottery.id, 2, &record, &stored).valid);

    // The list published with a friend slipped in (and a hash to match): the stored entries
    // disagree, and the winners drawn from it would differ.
    let mut tampered = record.clone();
    tampered.entrants = draw::sorted_entrants(tampered.entrants.into_iter().chain(["shop/friend".to_owned()]));
    tampered.entrants_sha256 = draw::entrants_sha256(&tampered.entrants);
    let verdict = draw::verify(&lottery.id, 2, &tampered, &stored);
    assert!(!verdict.valid && !verdict.entrants_match_entries);
    // The list left as it was but its hash edited.
    let mut tampered = record.clone();
    tampered.entrants_sha256 = "00".repeat(32);
    assert!(!draw::verify(&lottery.id, 2, &tampered, &stored).entrants_hash_matches);
    // A winner swapped for someone else.
    let mut tampered = record.clone();
    tampered.winners[1] = record.entrants.iter().find(|e| !record.winners.contains(e)).unwrap().clone();
    let verdict = draw::verify(&lottery.id, 2, &tampered, &stored);
    assert!(!verdict.valid && !verdict.winners_match);
    assert_eq!(verdict.recomputed_winners, record.winners);
}

#[tokio::test]
async fn a_condition_only_lottery_enters_everyone_who_meets_it_at_the_draw() {
    let h = Harness::new().await;
    let (lottery, created) = h.create(new_lottery(&["g1"], None, Some(EntryCondition::Messages { at_least: 2 }))).await;
    assert!(text_of(&created.actions[0]).contains("参与方式：活动期间发言满 2 条即自动参与"), "{}", text_of(&created.actions[0]));
    for n in 1..=3 {
        h.say("g1", &member(n), "大家好").await;
    }
    h.say("g1", &member(1), "再说一句").await;
    h.say("g1", &member(2), "我也是").await;
    h.say("g1", &admin(), "管理员发言").await;
    h.say("g1", &admin(), "管理员再发言").await;
    let (drawn, _) = h.engine.draw_lottery(&lottery.id, "operator:bob").await.unwrap();
    let record = drawn.draw.unwrap();
    assert_eq!(record.entrants, ["shop/u1", "shop/u2"], "u3 sent one message; staff do not count");
    let mut winners = record.winners.clone();
    winners.sort();
    assert_eq!(winners, record.entrants, "two prizes, two entrants");
    let stored: BTreeSet<String> = h.store.lottery_entries(&lottery.id).await.unwrap().iter().map(|e| e.entrant()).collect();
    assert_eq!(stored.into_iter().collect::<Vec<_>>(), record.entrants, "they are stored as entries with the draw");
    assert!(h.engine.verify_lottery(&lottery.id).await.unwrap().1.valid);
}

#[tokio::test]
async fn nobody_entered_is_announced_and_drawing_twice_is_refused() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1"], Some("抽奖"), None)).await;
    assert!(matches!(h.engine.verify_lottery(&lottery.id).await.unwrap_err(), GiveawayError::Conflict(_)), "not drawn yet");
    let (drawn, processed) = h.engine.draw_lottery(&lottery.id, "operator:bob").await.unwrap();
    assert_eq!(text_of(&processed.actions[0]), "抽奖「周末抽奖」无人参与，本次不开奖。");
    assert!(drawn.draw.unwrap().winners.is_empty());
    assert!(matches!(h.engine.draw_lottery(&lottery.id, "operator:bob").await.unwrap_err(), GiveawayError::Conflict(_)));
    assert!(matches!(h.engine.draw_lottery("lt-none", "operator:bob").await.unwrap_err(), GiveawayError::NotFound(_)));
}

#[tokio::test]
async fn an_ad_with_the_keyword_never_enters() {
    let h = Harness::new().await;
    let (lottery, _) = h.create(new_lottery(&["g1"], Some("抽奖"), Some(EntryCondition::Messages { at_least: 1 }))).await;
    let spam = h.say("g1", &member(9), "加薇信 abc12345，兼职刷单日赚三百").await;
    assert!(spam.actions.iter().all(|a| a.rule == "moderate"));
    assert_eq!(h.store.lottery_message_count(&lottery.id, &"shop".into(), &"u9".into()).await.unwrap(), 0, "spam is not counted");
    assert!(h.entrants(&lottery.id).await.is_empty());
}

#[tokio::test]
async fn creating_a_lottery_names_the_field_that_is_wrong() {
    let h = Harness::new().await;
    let field = |result: Result<(Lottery, Processed), GiveawayError>| match result.unwrap_err() {
        GiveawayError::Invalid { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let create = |new: NewLottery| h.engine.create_lottery(new, "operator:alice");
    assert_eq!(field(create(new_lottery(&["g1"], None, None)).await), "keyword");
    assert_eq!(field(create(NewLottery { groups: vec![], ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "groups");
    assert_eq!(field(create(NewLottery { groups: vec![g("g1"), GroupKey::new("qq", "1")], ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "groups");
    assert_eq!(field(create(NewLottery { groups: vec![GroupKey::new("qq", "1")], ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "groups");
    assert_eq!(field(create(NewLottery { winners: 0, ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "winners");
    assert_eq!(field(create(NewLottery { title: " ".into(), ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "title");
    assert_eq!(field(create(NewLottery { prize: String::new(), ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "prize");
    assert_eq!(field(create(NewLottery { draw_at: start(), ..new_lottery(&["g1"], Some("抽奖"), None) }).await), "draw_at");
    assert_eq!(field(create(new_lottery(&["g1"], None, Some(EntryCondition::Messages { at_least: 0 }))).await), "condition");
    assert!(h.store.list_lotteries(None, 10).await.unwrap().is_empty());
}

/// The independent verifier (`scripts/verify-draw.py`: plain Python, its own ChaCha20)
/// recomputes draws made with fresh OS seeds, and rejects a tampered one. Skipped (with a
/// note) where there is no `python3`, except under CI.
#[test]
fn the_independent_python_verifier_agrees_with_the_draw() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/verify-draw.py");
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "python3 is needed to check scripts/verify-draw.py");
        eprintln!("SKIPPED: no python3 to run scripts/verify-draw.py");
        return;
    }
    let run = |document: &serde_json::Value| {
        let mut child = Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(document.to_string().as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    for (n, winners) in [(1usize, 1u32), (7, 3), (250, 10), (3, 5)] {
        let entrants = (0..n).map(|i| format!("qq/{}", 10_000 + i * 7919 % 100_000));
        let id = format!("lt-{n}-{winners}");
        let record = draw::draw(&id, entrants, winners, start(), "engine").unwrap();
        let document = serde_json::json!({ "lottery": { "id": id, "winners": winners, "draw": record } });
        let (ok, out) = run(&document);
        assert!(ok && out.starts_with("OK"), "{out}");
        let mut tampered = document.clone();
        tampered["lottery"]["draw"]["winners"][0] = serde_json::json!("qq/friend");
        let (ok, out) = run(&tampered);
        assert!(!ok && out.contains("MISMATCH: recomputed winners"), "{out}");
    }
}

#[tokio::test]
async fn a_sign_up_keyword_counts_towards_a_message_condition_and_neither_is_answered_by_the_faq() {
    let h = Harness::new().await;
    // An FAQ entry that would answer both keywords.
    let mut book = h.engine.rulebook().rulebook.clone();
    let mut faq: serde_json::Value = serde_json::to_value(&book.templates["default"].auto_reply).unwrap();
    faq["quiet_hours"] = serde_json::json!("");
    faq["entries"]["keywords"] = serde_json::json!({"triggers": {"exact": ["报名", "抽奖"]}, "answer": "FAQ 的回答"});
    book.templates.get_mut("default").unwrap().auto_reply = serde_json::from_value(faq).unwrap();
    h.engine.save_rulebook(book, "test", "faq on the keywords").await.unwrap();
    let (lottery, _) = h.create(new_lottery(&["g1"], Some("抽奖"), Some(EntryCondition::Messages { at_least: 2 }))).await;
    let faq_alone = h.say("g2", &member(2), "报名").await;
    assert!(faq_alone.actions.iter().any(|a| a.rule == "auto_reply"), "the FAQ answers where no list is open: {:?}", faq_alone.actions);
    h.engine.start_signup(&g("g1"), "周六羽毛球", None, None, "operator:alice").await.unwrap();
    let joined = h.say("g1", &member(1), "报名").await;
    assert!(joined.actions.iter().all(|a| a.rule == "signup"), "{:?}", joined.actions);
    assert_eq!(h.store.lottery_message_count(&lottery.id, &"shop".into(), &"u1".into()).await.unwrap(), 1);
    let entered = h.say("g1", &member(1), "抽奖").await;
    assert!(entered.actions.iter().all(|a| a.rule == "lottery"), "{:?}", entered.actions);
    assert_eq!(h.entrants(&lottery.id).await, ["u1"]);
}
