//! Messages per second through fold + built-in lexicon + detectors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_text::{LexiconMatcher, analyze};

fn bench(c: &mut Criterion) {
    let clean: Vec<&str> = include_str!("../data/corpus/clean_chat.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let matcher = LexiconMatcher::builtin();
    let mut group = c.benchmark_group("analyze");
    group.throughput(Throughput::Elements(clean.len() as u64));
    group.bench_function("clean_chat", |b| {
        b.iter(|| {
            clean
                .iter()
                .map(|m| analyze(m, matcher).lexicon_hits.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
