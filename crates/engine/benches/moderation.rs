//! Messages per second through the whole moderation assessment of one message: fold,
//! built-in lexicon (5,000+ words), detectors, the spam classifier and the weighing of
//! checks — on ordinary chat and on evasive ads; then p50/p99 per message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_core::Message;
use qunzhu_engine::Locale;
use qunzhu_engine::rules::moderate::ModerationSettings;
use qunzhu_engine::rules::moderate::assess::{Circumstances, assess};
use qunzhu_text::analyze::analyze;
use qunzhu_text::classifier::{CLEAN_CHAT, SpamClassifier};
use qunzhu_text::lexicon::LexiconMatcher;

const ADS: &str = include_str!("../../text/data/corpus/ads.txt");

fn moderate(text: &str, settings: &ModerationSettings, classifier: &SpamClassifier) -> bool {
    let report = analyze(text, LexiconMatcher::builtin());
    let score = classifier.score(text);
    assess(&report, &Message::text("m", text), settings, score, Circumstances::default()).flagged
}

fn bench(c: &mut Criterion) {
    let settings = ModerationSettings::builtin(Locale::ZhCn);
    let classifier = SpamClassifier::builtin();
    let corpora: [(&str, Vec<&str>); 2] = [
        ("clean_chat", CLEAN_CHAT.lines().filter(|l| !l.trim().is_empty()).collect()),
        ("ads", ADS.lines().filter(|l| !l.trim().is_empty()).collect()),
    ];
    let mut group = c.benchmark_group("moderate");
    for (name, messages) in &corpora {
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| messages.iter().filter(|m| moderate(black_box(m), &settings, classifier)).count())
        });
    }
    group.finish();
    // Percentiles only when really benchmarking (`cargo bench` passes `--bench`), not when a
    // test runner lists or smoke-runs the bench target.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    for (name, messages) in &corpora {
        let mut nanos: Vec<u128> = Vec::with_capacity(messages.len() * 30);
        for _ in 0..30 {
            for m in messages {
                let start = Instant::now();
                black_box(moderate(black_box(m), &settings, classifier));
                nanos.push(start.elapsed().as_nanos());
            }
        }
        nanos.sort_unstable();
        let at = |q: f64| nanos[((nanos.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!("moderate/{name}: p50 {:.1} µs, p99 {:.1} µs per message ({} samples)", at(0.5), at(0.99), nanos.len());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
