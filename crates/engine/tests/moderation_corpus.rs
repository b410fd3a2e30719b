//! The whole moderation assessment (lexicon, detectors, classifier) over the shipped
//! corpora: ordinary chat must stay clean, evasive ads must be caught. Figures are printed
//! for BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qunzhu_core::Message;
use qunzhu_engine::rules::moderate::assess::{assess, Circumstances};
use qunzhu_engine::rules::moderate::ModerationSettings;
use qunzhu_engine::Locale;
use qunzhu_text::analyze::analyze;
use qunzhu_text::classifier::{is_test_line, unescape, SpamClassifier, CLEAN_CHAT};
use qunzhu_text::lexicon::LexiconMatcher;

const ADS: &str = include_str!("../../text/data/corpus/ads.txt");

fn flagged(line: &str, circumstances: Circumstances) -> bool {
    let settings = ModerationSettings::builtin(Locale::ZhCn);
    let text = unescape(line);
    let report = analyze(&text, LexiconMatcher::builtin());
    let score = SpamClassifier::builtin().score(&text);
    let assessment = assess(&report, &Message::text("m", text.as_str()), &settings, score, circumstances);
    if assessment.flagged && circumstances == Circumstances::default() {
        println!("  flagged: {text} — {}", assessment.summary(Locale::En));
    }
    assessment.flagged
}

#[test]
fn ordinary_chat_stays_clean() {
    // The classifier trained on the other part of this corpus; measure the held-out part.
    let lines: Vec<&str> = CLEAN_CHAT.lines().filter(|l| !l.trim().is_empty() && is_test_line(l)).collect();
    let regular = lines.iter().filter(|l| flagged(l, Circumstances::default())).count();
    let newcomer = lines.iter().filter(|l| flagged(l, Circumstances { newcomer: true, ..Circumstances::default() })).count();
    let rate = |n: usize| n as f64 * 100.0 / lines.len() as f64;
    println!("ordinary chat: {regular}/{} flagged ({:.2} %), as a newcomer {newcomer} ({:.2} %)", lines.len(), rate(regular), rate(newcomer));
    assert!(rate(regular) <= 1.0, "false positives for regular members: {:.2} %", rate(regular));
    assert!(rate(newcomer) <= 3.0, "false positives for newcomers: {:.2} %", rate(newcomer));
}

#[test]
fn evasive_ads_are_caught() {
    let lines: Vec<&str> = ADS.lines().filter(|l| !l.trim().is_empty()).collect();
    let caught = lines.iter().filter(|l| flagged(l, Circumstances::default())).count();
    let recall = caught as f64 / lines.len() as f64;
    println!("evasive ads: {caught}/{} caught ({:.1} %)", lines.len(), recall * 100.0);
    assert!(recall >= 0.95, "recall {recall}");
}
