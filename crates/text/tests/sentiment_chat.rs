#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sentiment quality on the project's labelled chat set (`crates/text/data/sentiment/`).
//! `cargo test -p qunzhu-text --test sentiment_chat -- --nocapture` prints the figures and
//! every miss; BENCHMARKS.md quotes them.

use qunzhu_text::sentiment::{Polarity, labelled_chat, sentiment};

const CLASSES: [Polarity; 3] = [Polarity::Negative, Polarity::Neutral, Polarity::Positive];

/// Accuracy and per-class (precision, recall), printing misses.
fn evaluate(held_out: bool) -> (f64, Vec<(Polarity, f64, f64)>) {
    let rows: Vec<(Polarity, Polarity, &str)> =
        labelled_chat(held_out).map(|(gold, text)| (gold, sentiment(text).label, text)).collect();
    let right = rows.iter().filter(|(g, p, _)| g == p).count();
    for (g, p, t) in rows.iter().filter(|(g, p, _)| g != p) {
        println!("miss: gold {} got {} — {t} ({})", g.as_str(), p.as_str(), sentiment(t).describe_cues());
    }
    let per_class = CLASSES
        .iter()
        .map(|&c| {
            let tp = rows.iter().filter(|(g, p, _)| *g == c && *p == c).count() as f64;
            let predicted = rows.iter().filter(|(_, p, _)| *p == c).count() as f64;
            let actual = rows.iter().filter(|(g, _, _)| *g == c).count() as f64;
            (c, tp / predicted.max(1.0), tp / actual.max(1.0))
        })
        .collect();
    let accuracy = right as f64 / rows.len() as f64;
    println!("{} set: {} messages, accuracy {:.3}", if held_out { "held-out" } else { "train" }, rows.len(), accuracy);
    (accuracy, per_class)
}

#[test]
fn held_out_chat_accuracy_is_at_least_the_floor() {
    let (accuracy, per_class) = evaluate(true);
    for (c, p, r) in &per_class {
        println!("{:>8}: precision {p:.2} recall {r:.2}", c.as_str());
    }
    // Three classes, roughly balanced: a majority guess scores 0.40. The held-out figure was
    // 0.95 at first measurement (0.99 now; see BENCHMARKS.md for why that is optimistic); the
    // floor of 0.85 leaves room for list edits and fails on a real regression.
    assert!(accuracy >= 0.85, "held-out accuracy {accuracy:.3}");
    // Negative is what alerts are raised on: its precision matters most.
    let (_, neg_precision, neg_recall) = per_class[0];
    assert!(neg_precision >= 0.8 && neg_recall >= 0.7, "negative P {neg_precision:.2} R {neg_recall:.2}");
}

#[test]
fn train_chat_accuracy_is_high() {
    let (accuracy, _) = evaluate(false);
    assert!(accuracy >= 0.85, "train accuracy {accuracy:.3}");
}
