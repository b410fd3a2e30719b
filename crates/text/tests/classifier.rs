#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The spam classifier: held-out precision and recall, corrections, English, robustness.

use std::time::Instant;

use proptest::prelude::*;
use qunzhu_text::classifier::{DEFAULT_THRESHOLD, SpamClassifier, is_test_line, labelled_data};

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
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

fn evaluate(model: &SpamClassifier, threshold: f32, verbose: bool) -> Counts {
    let mut c = Counts { tp: 0, fp: 0, tn: 0, fn_: 0 };
    for (text, is_spam) in labelled_data().filter(|(l, _)| is_test_line(&l.replace('\n', "\\n"))) {
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
    let model = SpamClassifier::builtin();
    let build = started.elapsed();
    let c = evaluate(model, DEFAULT_THRESHOLD, true);
    println!(
        "held-out: {} ham, {} spam; threshold {DEFAULT_THRESHOLD}: TP {} FP {} TN {} FN {}; precision {:.3} recall {:.3} F1 {:.3}; builtin built in {build:?}",
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
    for t in [0.5_f32, 0.9] {
        let c = evaluate(model, t, false);
        println!(
            "  threshold {t}: precision {:.3} recall {:.3} F1 {:.3}",
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    assert!(c.tp + c.fn_ >= 150 && c.tn + c.fp >= 200, "held-out set too small");
    assert!(c.precision() >= 0.95, "precision {:.3}", c.precision());
    assert!(c.recall() >= 0.85, "recall {:.3}", c.recall());
}

#[test]
fn classifier_split_is_stable_and_disjoint() {
    let all: Vec<(String, bool)> = labelled_data().collect();
    let test = all.iter().filter(|(l, _)| is_test_line(&l.replace('\n', "\\n"))).count();
    let share = test as f64 / all.len() as f64;
    assert!((0.15..0.25).contains(&share), "test share {share}");
    // The same line never appears in both classes.
    let spam: std::collections::HashSet<&str> =
        all.iter().filter(|(_, s)| *s).map(|(l, _)| l.as_str()).collect();
    assert!(all.iter().filter(|(_, s)| !*s).all(|(l, _)| !spam.contains(l.as_str())));
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
    for ham in ["Thanks Anna, that fixed it", "See you all on Friday", "Can someone review my PR?"] {
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
    assert!(before >= DEFAULT_THRESHOLD, "expected a false positive to start from, got {before}");
    model.learn(text, false);
    let after = model.score(text);
    assert!(after < DEFAULT_THRESHOLD, "still flagged after the correction: {after}");
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
