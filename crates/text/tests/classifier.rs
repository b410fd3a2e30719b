#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The spam classifier: held-out precision and recall, corrections, English, robustness.

use std::time::Instant;

use proptest::prelude::*;
use qunzhu_text::classifier::{
    DEFAULT_THRESHOLD, SpamClassifier, is_test_line, labelled_data, raw_lines, unescape,
};

struct Counts {
    tp: usize,
    fp: usize,
    tn: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn has_han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn evaluate(model: &SpamClassifier, threshold: f32, verbose: bool) -> Counts {
    evaluate_where(model, threshold, verbose, |_| true)
}

fn evaluate_where(
    model: &SpamClassifier,
    threshold: f32,
    verbose: bool,
    keep: impl Fn(&str) -> bool,
) -> Counts {
    let mut c = Counts {
        tp: 0,
        fp: 0,
        tn: 0,
        fn_: 0,
    };
    for (line, is_spam) in raw_lines().filter(|(l, _)| is_test_line(l) && keep(l)) {
        let text = unescape(line);
        let flagged = model.score(&text) >= threshold;
        match (is_spam, flagged) {
            (true, true) => c.tp += 1,
            (false, true) => {
                c.fp += 1;
                if verbose {
                    println!("  false positive ({:.3}): {text}", model.score(&text));
                }
            }
            (false, false) => c.tn += 1,
            (true, false) => {
                c.fn_ += 1;
                if verbose {
                    println!("  missed ({:.3}): {text}", model.score(&text));
                }
            }
        }
    }
    c
}

#[test]
fn classifier_held_out_precision_and_recall() {
    let started = Instant::now();
    let fresh = SpamClassifier::from_shipped_data();
    let build = started.elapsed();
    drop(fresh);
    let model = SpamClassifier::builtin();
    let c = evaluate(model, DEFAULT_THRESHOLD, true);
    println!(
        "held-out: {} ham, {} spam; threshold {DEFAULT_THRESHOLD}: TP {} FP {} TN {} FN {}; precision {:.3} recall {:.3} F1 {:.3}; model trained from the shipped data in {build:?}",
        c.tn + c.fp,
        c.tp + c.fn_,
        c.tp,
        c.fp,
        c.tn,
        c.fn_,
        c.precision(),
        c.recall(),
        c.f1()
    );
    for (name, han) in [("with Han characters", true), ("without (English)", false)] {
        let c = evaluate_where(model, DEFAULT_THRESHOLD, false, |l| has_han(l) == han);
        println!(
            "  {name}: {} ham, {} spam: TP {} FP {} TN {} FN {}; precision {:.3} recall {:.3} F1 {:.3}",
            c.tn + c.fp,
            c.tp + c.fn_,
            c.tp,
            c.fp,
            c.tn,
            c.fn_,
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    for t in [0.5_f32, 0.9] {
        let c = evaluate(model, t, false);
        println!(
            "  threshold {t}: precision {:.3} recall {:.3} F1 {:.3}",
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    assert!(
        c.tp + c.fn_ >= 150 && c.tn + c.fp >= 200,
        "held-out set too small"
    );
    assert!(c.precision() >= 0.95, "precision {:.3}", c.precision());
    assert!(c.recall() >= 0.85, "recall {:.3}", c.recall());
}

#[test]
fn classifier_split_is_stable_and_disjoint() {
    let all: Vec<(String, bool)> = labelled_data().collect();
    let test = raw_lines().filter(|(l, _)| is_test_line(l)).count();
    let share = test as f64 / all.len() as f64;
    assert!((0.15..0.25).contains(&share), "test share {share}");
    // The same line never appears in both classes.
    let spam: std::collections::HashSet<&str> = all
        .iter()
        .filter(|(_, s)| *s)
        .map(|(l, _)| l.as_str())
        .collect();
    assert!(
        all.iter()
            .filter(|(_, s)| !*s)
            .all(|(l, _)| !spam.contains(l.as_str()))
    );
}

#[test]
fn classifier_catches_obvious_and_evasive_ads() {
    let model = SpamClassifier::builtin();
    for ad in [
        "兼职刷单，日赚500，加微信abc123456",
        "加 🌹 微 ✨ 信 ，日 赚 三 百",
        "兼職刷單，日賺八百，薇信：ｑｑ１２３４５",
        "帮我砍一刀吧 https://p.pinduoduo.example/x",
    ] {
        let s = model.score(ad);
        assert!(s >= DEFAULT_THRESHOLD, "{ad}: {s}");
    }
    for ham in [
        "群主辛苦了👍",
        "收到，谢谢老师",
        "明天交校服钱，用微信支付给班主任",
        "大家加油💪",
        "维新变法是哪一年？",
    ] {
        let s = model.score(ham);
        assert!(s < DEFAULT_THRESHOLD, "{ham}: {s}");
    }
}

#[test]
fn classifier_catches_english_spam() {
    let model = SpamClassifier::builtin();
    for ad in [
        "Earn $800 a day working from home, DM me now",
        "Free USDT airdrop, claim now at http://claim-bonus.top",
        "Crypto signals with 95% win rate, contact @fastmoney88",
    ] {
        let s = model.score(ad);
        assert!(s >= DEFAULT_THRESHOLD, "{ad}: {s}");
    }
    for ham in [
        "Thanks Anna, that fixed it",
        "See you all on Friday",
        "Can someone review my PR?",
    ] {
        let s = model.score(ham);
        assert!(s < DEFAULT_THRESHOLD, "{ham}: {s}");
    }
}

#[test]
fn classifier_marked_false_positive_stops_being_flagged() {
    let mut model = SpamClassifier::builtin().clone();
    // An honest parent selling a used item with a phone number looks like an ad.
    let text = "闲置儿童自行车转让，九成新，200元，有意加微信138 0013 8000";
    let before = model.score(text);
    assert!(
        before >= DEFAULT_THRESHOLD,
        "expected a false positive to start from, got {before}"
    );
    model.learn(text, false);
    let after = model.score(text);
    assert!(
        after < DEFAULT_THRESHOLD,
        "still flagged after the correction: {after}"
    );
    // Clear spam stays spam after one correction.
    assert!(model.score("兼职刷单，日赚500，加微信abc123456") >= DEFAULT_THRESHOLD);
}

#[test]
fn classifier_learning_flips_a_borderline_message() {
    let mut model = SpamClassifier::builtin().clone();
    let text = "周末有空的朋友来体验一下我们的新课程";
    let before = model.score(text);
    assert!(before < DEFAULT_THRESHOLD, "{before}");
    model.learn(text, true);
    let after = model.score(text);
    assert!(after >= DEFAULT_THRESHOLD, "{before} -> {after}");
    // A near variant moves the same way.
    assert!(model.score("周末有空的朋友来体验一下我们的新课") > before);
}

#[test]
fn classifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SpamClassifier>();
}

proptest! {
    #[test]
    fn classifier_scoring_never_panics(text in ".{0,200}") {
        let s = SpamClassifier::builtin().score(&text);
        prop_assert!((0.0..=1.0).contains(&s));
    }

    #[test]
    fn classifier_learning_never_panics(text in "\\PC{0,60}", spam in any::<bool>()) {
        let mut model = SpamClassifier::builtin().clone();
        model.learn(&text, spam);
        let s = model.score(&text);
        prop_assert!((0.0..=1.0).contains(&s));
    }
}

/// Messages written by hand for this test only, from no template of the generator: how the model
/// does on phrasing it has never seen (the held-out split shares templates with training).
const FRESH_SPAM: &[&str] = &[
    "朋友们，我最近在做一个副业，一天能有几百收入，感兴趣的私我",
    "低价出机场VPN，稳定不掉线，需要的加V：vpn2288",
    "本人有渠道，各大银行信用卡额度提升，加薇：ed8899",
    "家人们，今天直播间秒杀，点这个链接进 http://live.xq77.top",
    "招聘：网络推广员，工资日结，月入过万不是梦，联系扣扣 30219876",
    "澳门首家线上赌场，充一百送一百，网址 www.am77.vip",
    "刷单返现，一单赚二十，V信搜 sd_6688",
    "ｖ❤️：ｘｉａｏｍｉ６６６，专业办理大学毕业证",
    "有没有想一起做跨境电商的，零基础带你，日入千元，加我 wx：kjds001",
    "炒币群，老师每天带单，稳赚不赔，加 tg @coin_king_88",
    "免费领取价值九九九的课程，名额有限，加微信 ke_cheng99",
    "股票内幕消息，明天涨停，进群 t.me/stock_up",
    "Make $1000 per week with our proven system, message me on WhatsApp",
    "🔥兼.职.招.聘🔥 手机打字 日结 两百 V: dz5566",
    "贷款找我，当天放款，无视黑白户，电话 138 8888 6666",
];

const FRESH_HAM: &[&str] = &[
    "请问明天的班会几点开始？我下午要带孩子去医院",
    "谢谢群主分享，这个教程写得很清楚",
    "刚刚在超市看到鸡蛋打折，六块九一斤，需要的赶紧去",
    "我们组下周三聚餐，大家想吃火锅还是烤肉",
    "老师您好，孩子昨天的作业本忘带了，今天补交可以吗",
    "周末带娃去了动物园，人山人海",
    "这个 bug 在 issue 里有人提过，等上游修复吧",
    "第一次参加线下活动，有点紧张哈哈",
    "楼下便利店换老板了，东西比以前便宜",
    "我的快递单号是 YT8876543210987，怎么查不到物流",
    "请大家把周报发到群里，截止今晚十点",
    "有没有人知道学校附近哪里可以打印",
    "今天跑完五公里，配速六分半，继续加油",
    "分享一篇文章：https://example.com/blog/rust-async ，讲得很透",
    "I'll be late today, start without me",
    "Does anyone have the link to yesterday's recording?",
    "我家那位在做兼职外卖骑手，说最近单子少了",
    "会员费可以用微信支付，也可以现场交现金",
    "下周一开始冬令时，课程时间提前半小时",
    "求推荐一个靠谱的驾校，最好在东边",
];

#[test]
fn classifier_fresh_messages() {
    let model = SpamClassifier::builtin();
    let caught = FRESH_SPAM
        .iter()
        .filter(|t| model.score(t) >= DEFAULT_THRESHOLD)
        .count();
    let false_pos: Vec<_> = FRESH_HAM
        .iter()
        .filter(|t| model.score(t) >= DEFAULT_THRESHOLD)
        .collect();
    for t in FRESH_SPAM.iter().chain(FRESH_HAM) {
        println!("  {:.3}  {t}", model.score(t));
    }
    println!(
        "fresh hand-written: spam caught {caught}/{}, ham flagged {}/{}",
        FRESH_SPAM.len(),
        false_pos.len(),
        FRESH_HAM.len()
    );
    assert!(false_pos.is_empty(), "{false_pos:?}");
    assert!(caught * 10 >= FRESH_SPAM.len() * 6, "caught {caught}");
}

/// Ordinary chat written for the moderation false-positive check (another part of the data set;
/// not used in training): how many lines the classifier alone would flag.
#[test]
fn classifier_clean_chat_false_positives() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/corpus/clean_chat.txt");
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("clean_chat.txt not present; skipped");
        return;
    };
    let model = SpamClassifier::builtin();
    // Part of the corpus trains the model: measure the held-out part only.
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && is_test_line(l))
        .map(unescape)
        .collect();
    let flagged: Vec<&String> = lines.iter().filter(|l| model.is_spam(l)).collect();
    for l in &flagged {
        println!("  flagged ({:.3}): {l}", model.score(l));
    }
    let rate = flagged.len() as f64 / lines.len().max(1) as f64;
    println!(
        "clean_chat.txt: {} of {} lines flagged ({:.2} %)",
        flagged.len(),
        lines.len(),
        rate * 100.0
    );
    assert!(rate <= 0.02, "false-positive rate {rate}");
}
