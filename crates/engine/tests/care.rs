#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Care decisions on replayed conversations: outbreaks and unanswered questions, in event
//! time on a ManualClock.

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::{Clock, ManualClock};
use qunzhu_engine::care::{CareSettings, CareSignal, CareTracker, ChatLine, OutbreakRule};
use qunzhu_engine::locale::Locale;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

/// A conversation: (minutes after start, member, text, staff).
fn replay(lines: &[(i64, &str, &str, bool)], settings: &CareSettings) -> Vec<CareSignal> {
    let mut tracker = CareTracker::default();
    let mut signals = Vec::new();
    for (i, (minute, member, text, staff)) in lines.iter().enumerate() {
        let line = ChatLine {
            message_id: format!("m{i}"),
            member: (*member).to_owned(),
            name: format!("{member}妈妈"),
            at: start() + Duration::minutes(*minute),
            text: (*text).to_owned(),
            staff: *staff,
            reply_to: None,
            mentions: Vec::new(),
        };
        signals.extend(tracker.observe(&line, settings));
    }
    signals
}

fn outbreaks(signals: &[CareSignal]) -> usize {
    signals.iter().filter(|s| matches!(s, CareSignal::Outbreak(_))).count()
}

#[test]
fn three_parents_complaining_within_ten_minutes_is_one_outbreak() {
    let conversation = [
        (0, "a", "今天的作业是什么", false),
        (1, "b", "校车又迟到半小时，孩子在门口冻着", false),
        (3, "c", "我们家也是，太过分了", false),
        (4, "c", "每次都这样，到底有没有人管？？？", false),
        (6, "d", "无语，上周也迟到了😡", false),
        (7, "e", "真的很让人生气", false),
        (8, "b", "已经投诉了", false),
    ];
    let signals = replay(&conversation, &CareSettings::default());
    assert_eq!(outbreaks(&signals), 1, "{signals:#?}");
    let CareSignal::Outbreak(outbreak) = signals.iter().find(|s| matches!(s, CareSignal::Outbreak(_))).unwrap() else {
        unreachable!()
    };
    assert_eq!(outbreak.rule, OutbreakRule::Count);
    assert_eq!(outbreak.members, 3);
    let alert = outbreak.alert_text(Locale::ZhCn, "三年二班家长群");
    assert!(alert.contains("3 位成员"), "{alert}");
    assert!(alert.contains("校车又迟到半小时"), "{alert}");
    assert!(alert.contains("私聊"), "{alert}");
}

#[test]
fn replaying_a_conversation_gives_the_same_outbreak_as_the_first_time() {
    let conversation = [
        (0, "b", "校车又迟到半小时，太过分了", false),
        (2, "c", "无语，每次都这样", false),
        (5, "d", "真的很让人生气😡", false),
    ];
    let first = replay(&conversation, &CareSettings::default());
    let again = replay(&conversation, &CareSettings::default());
    assert_eq!(first, again);
    assert_eq!(outbreaks(&first), 1);
}

#[test]
fn one_angry_member_is_not_an_outbreak() {
    let rant = [
        (0, "a", "买了三天还没发货，什么情况", false),
        (1, "a", "客服呢？？？人呢", false),
        (2, "a", "垃圾产品，再也不买了", false),
        (3, "a", "退钱😡", false),
        (4, "a", "已经投诉到平台了", false),
        (5, "a", "骗子吧这是", false),
    ];
    assert_eq!(outbreaks(&replay(&rant, &CareSettings::default())), 0);
}

#[test]
fn a_lively_debate_with_a_few_negative_words_is_not_an_outbreak() {
    let debate = [
        (0, "a", "我觉得周末补课挺好的", false),
        (0, "b", "周末应该让孩子休息", false),
        (1, "c", "补课有点烦，但是成绩重要", false),
        (1, "d", "我同意a妈妈", false),
        (2, "e", "可以隔周补一次", false),
        (2, "f", "这个建议很好，支持", false),
        (3, "b", "天天补课孩子受不了", false),
        (3, "a", "那就隔周吧", false),
        (4, "g", "隔周可以", false),
        (4, "h", "我家周六有兴趣班", false),
        (5, "d", "周日下午呢", false),
        (5, "e", "周日下午可以", false),
        (6, "i", "说实话这个安排挺乱的", false),
        (6, "f", "那就周日下午", false),
        (7, "c", "好的", false),
        (7, "g", "同意", false),
    ];
    let signals = replay(&debate, &CareSettings::default());
    assert_eq!(outbreaks(&signals), 0, "{signals:#?}");
}

#[test]
fn a_second_wave_within_the_cooldown_raises_no_second_alert() {
    let mut conversation = vec![
        (0, "b", "校车又迟到半小时，太过分了", false),
        (2, "c", "无语，每次都这样", false),
        (5, "d", "真的很让人生气😡", false),
    ];
    conversation.extend([(20, "e", "太失望了", false), (22, "f", "服了，什么破安排", false), (25, "g", "退钱", false)]);
    assert_eq!(outbreaks(&replay(&conversation, &CareSettings::default())), 1);
    // After the cooldown a new wave is a new outbreak.
    conversation.extend([(90, "h", "太失望了", false), (92, "i", "服了，什么破安排", false), (95, "j", "退钱", false)]);
    assert_eq!(outbreaks(&replay(&conversation, &CareSettings::default())), 2);
}

fn line(i: usize, member: &str, at: DateTime<Utc>, text: &str, staff: bool) -> ChatLine {
    ChatLine {
        message_id: format!("m{i}"),
        member: member.to_owned(),
        name: member.to_owned(),
        at,
        text: text.to_owned(),
        staff,
        reply_to: None,
        mentions: Vec::new(),
    }
}

#[test]
fn a_question_answered_by_staff_raises_no_alert_and_an_unanswered_one_does() {
    let settings = CareSettings::default();
    let clock = ManualClock::new(start());
    let mut tracker = CareTracker::default();

    let asked = tracker.observe(&line(1, "parent", clock.now(), "明天几点到校", false), &settings);
    assert!(matches!(asked.as_slice(), [CareSignal::Asked(_)]));
    clock.advance(Duration::minutes(3));
    let answered = tracker.observe(&line(2, "teacher", clock.now(), "七点四十到校", true), &settings);
    let [CareSignal::Answered { by, after_secs, .. }] = answered.as_slice() else { panic!("{answered:?}") };
    assert_eq!((by.as_str(), *after_secs), ("teacher", 180));
    clock.advance(Duration::minutes(30));
    assert!(tracker.due(clock.now(), &settings).is_empty());

    tracker.observe(&line(3, "parent2", clock.now(), "校服在哪里买？", false), &settings);
    clock.advance(Duration::minutes(9));
    assert!(tracker.due(clock.now(), &settings).is_empty(), "not yet at 9 minutes");
    clock.advance(Duration::minutes(1));
    let due = tracker.due(clock.now(), &settings);
    let [CareSignal::Unanswered(q)] = due.as_slice() else { panic!("{due:?}") };
    assert_eq!(q.text, "校服在哪里买？");
    clock.advance(Duration::minutes(5));
    assert!(tracker.due(clock.now(), &settings).is_empty(), "one alert per question");
}

#[test]
fn members_answering_each_other_do_not_close_a_question_but_a_staff_mention_does() {
    let settings = CareSettings { staff_members: vec!["helper".into()], ..CareSettings::default() };
    let mut tracker = CareTracker::default();
    tracker.observe(&line(1, "p1", start(), "请问下周一要带什么材料", false), &settings);
    tracker.observe(&line(2, "p2", start() + Duration::minutes(1), "我也想知道", false), &settings);
    assert_eq!(tracker.open_questions().len(), 1);
    // Staff speaking late, without quoting or mentioning, does not count as the answer.
    tracker.observe(&line(3, "helper", start() + Duration::minutes(15), "大家晚上好", false), &settings);
    assert_eq!(tracker.open_questions().len(), 1);
    let mut mention = line(4, "helper", start() + Duration::minutes(16), "带户口本复印件", false);
    mention.mentions = vec!["p1".into()];
    let answered = tracker.observe(&mention, &settings);
    assert!(matches!(answered.as_slice(), [CareSignal::Answered { .. }]));
    assert!(tracker.open_questions().is_empty());
}

#[test]
fn an_apology_follows_when_configured() {
    let settings = CareSettings { apology_minutes: 20, ..CareSettings::default() };
    let mut tracker = CareTracker::default();
    tracker.observe(&line(1, "p1", start(), "退款怎么申请", false), &settings);
    assert_eq!(tracker.due(start() + Duration::minutes(10), &settings).len(), 1);
    let due = tracker.due(start() + Duration::minutes(20), &settings);
    assert!(matches!(due.as_slice(), [CareSignal::Apology(_)]));
}
