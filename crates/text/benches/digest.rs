//! The daily digest over the parents' group fixture (`data/digest/parents_day.txt`, 135
//! messages): one day as is, and the same day ten times over (1,350 messages, each copy's
//! lines a few seconds apart, so threads and the graphs grow as in a busy group).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_text::digest::{ChatMessage, DigestOptions, digest};

/// The fixture's messages (reactions counted; `>mNNN` quote-replies; `@id` mentions).
fn day(copies: usize) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    for copy in 0..copies {
        let suffix = if copy == 0 { String::new() } else { format!("-{copy}") };
        for line in include_str!("../data/digest/parents_day.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let f: Vec<&str> = line.splitn(7, '|').collect();
            let (h, m, s): (i64, i64, i64) = (f[0][0..2].parse().unwrap(), f[0][3..5].parse().unwrap(), f[0][6..8].parse().unwrap());
            let at = h * 3600 + m * 60 + s + copy as i64 * 7;
            match f[2] {
                "msg" => {
                    let (reply_to, text) = match f[6].strip_prefix('>') {
                        Some(rest) => {
                            let (to, text) = rest.split_once(' ').unwrap();
                            (Some(format!("{to}{suffix}")), text)
                        }
                        None => (None, f[6]),
                    };
                    let mentions = text.split('@').skip(1).map(|p| p.chars().take_while(char::is_ascii_alphanumeric).collect()).collect();
                    out.push(ChatMessage {
                        id: format!("{}{suffix}", f[1]),
                        author: format!("{}{suffix}", f[3]),
                        name: f[4].to_owned(),
                        at,
                        text: text.to_owned(),
                        reply_to,
                        mentions,
                        reactions: 0,
                        staff: f[5] != "member",
                        pinned: false,
                    });
                }
                "react" => {
                    let target = format!("{}{suffix}", f[6]);
                    if let Some(m) = out.iter_mut().find(|m| m.id == target) {
                        m.reactions += 1;
                    }
                }
                _ => {}
            }
        }
    }
    out.sort_by_key(|m| m.at);
    out
}

fn bench(c: &mut Criterion) {
    qunzhu_text::digest::warm_up();
    let options = DigestOptions::default();
    let mut group = c.benchmark_group("digest");
    for copies in [1, 10] {
        let messages = day(copies);
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_function(format!("{}_messages", messages.len()), |b| b.iter(|| digest(black_box(&messages), &options)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
