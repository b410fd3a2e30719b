#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Ordinary group chat must stay clean: the built-in lexicon and the contact detectors may flag
//! at most 2% of the lines of `data/corpus/clean_chat.txt` (one message per line, written for
//! parents' school groups, shop customers, hobby, study and tech groups).

use qunzhu_text::{LexiconMatcher, analyze};

const CLEAN_CHAT: &str = include_str!("../data/corpus/clean_chat.txt");

fn lines() -> Vec<&'static str> {
    CLEAN_CHAT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_clean_corpus_has_over_500_varied_lines() {
    let lines = lines();
    assert!(lines.len() >= 500, "only {} lines", lines.len());
    let mut unique = lines.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), lines.len(), "the corpus has duplicate lines");
}

#[test]
fn ordinary_chat_is_flagged_on_under_two_percent_of_lines() {
    let matcher = LexiconMatcher::builtin();
    let lines = lines();
    let mut flagged = Vec::new();
    let mut hinted = 0;
    for line in &lines {
        let report = analyze(line, matcher);
        if report.detections.contact_hint.is_some() {
            hinted += 1;
        }
        if report.is_suspicious() {
            let words: Vec<String> = report
                .lexicon_hits
                .iter()
                .map(|h| format!("{}({}, {})", h.word, h.category.name(), h.form.name()))
                .chain(
                    report
                        .detections
                        .phones
                        .iter()
                        .map(|p| format!("phone {}", p.value)),
                )
                .chain(
                    report
                        .detections
                        .wechat_ids
                        .iter()
                        .map(|p| format!("wechat {}", p.value)),
                )
                .chain(
                    report
                        .detections
                        .qq_ids
                        .iter()
                        .map(|p| format!("qq {}", p.value)),
                )
                .collect();
            flagged.push(format!("{line}  →  {}", words.join(", ")));
        }
    }
    let rate = flagged.len() as f64 / lines.len() as f64;
    println!(
        "false-positive rate on clean chat: {}/{} = {:.2}% (contact hints on {} lines, not counted)",
        flagged.len(),
        lines.len(),
        rate * 100.0,
        hinted
    );
    for line in &flagged {
        println!("  flagged: {line}");
    }
    assert!(rate < 0.02, "{:.2}% of clean lines flagged", rate * 100.0);
}
