//! Messages per second through fold + built-in lexicon (5,000+ words) + detectors, on ordinary
//! group chat and on ads; then p50/p99 latency per message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_text::{LexiconMatcher, analyze};

fn corpus(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

fn bench(c: &mut Criterion) {
    let clean = corpus(include_str!("../data/corpus/clean_chat.txt"));
    let ads = corpus(include_str!("../data/corpus/ads.txt"));
    let matcher = LexiconMatcher::builtin();
    let mut group = c.benchmark_group("analyze");
    for (name, messages) in [("clean_chat", &clean), ("ads", &ads)] {
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                messages
                    .iter()
                    .map(|m| black_box(analyze(black_box(m), matcher)).lexicon_hits.len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
    // Percentiles only when really benchmarking (`cargo bench` passes `--bench`), not when a
    // test runner lists or smoke-runs the bench target.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    for (name, messages) in [("clean_chat", &clean), ("ads", &ads)] {
        let mut nanos: Vec<u128> = Vec::with_capacity(messages.len() * 50);
        for _ in 0..50 {
            for m in messages.iter() {
                let start = Instant::now();
                black_box(analyze(black_box(m), matcher));
                nanos.push(start.elapsed().as_nanos());
            }
        }
        nanos.sort_unstable();
        let at = |q: f64| nanos[((nanos.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "analyze/{name}: p50 {:.1} µs, p99 {:.1} µs per message ({} samples)",
            at(0.5),
            at(0.99),
            nanos.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
