//! Similar-question matching: one chat message (tokenised once) against an FAQ of 50
//! entries with 4 example questions each; then p50/p99 latency per message. Also the cost
//! of building the index (once per rulebook).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_text::similar::SimilarIndex;

/// 50 entries × 4 examples: topics a brand community asks about, each in four phrasings.
fn faq() -> Vec<(usize, String)> {
    let topics = [
        "退货", "发货", "客服", "群规", "物流", "报名", "优惠券", "发票", "尺码", "保修", "价格", "会员", "积分", "签到",
        "抽奖", "直播", "预售", "赠品", "包邮", "换货", "退款", "安装", "说明书", "充电", "颜色", "材质", "库存", "门店",
        "加盟", "代理", "团购", "秒杀", "上新", "补货", "预约", "维修", "清洗", "保养", "配件", "电池", "屏幕", "蓝牙",
        "固件", "下载", "注册", "登录", "密码", "地址", "改价", "拼单",
    ];
    topics
        .iter()
        .enumerate()
        .flat_map(|(key, topic)| {
            [format!("怎么{topic}"), format!("{topic}流程是什么"), format!("请问{topic}在哪里看"), format!("{topic}有什么要求")]
                .into_iter()
                .map(move |q| (key, q))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    // Cold: the first use in the process parses jieba's dictionary.
    let start = Instant::now();
    qunzhu_text::similar::warm_up();
    let load = start.elapsed();
    let clean: Vec<&str> = include_str!("../data/corpus/clean_chat.txt").lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let examples = faq();
    let index = SimilarIndex::new(examples.iter().map(|(k, q)| (*k, q.as_str())));
    let mut group = c.benchmark_group("similar");
    group.throughput(Throughput::Elements(clean.len() as u64));
    group.bench_function("clean_chat_vs_50_entries", |b| {
        b.iter(|| clean.iter().map(|m| index.matches(&index.query(black_box(m))).len()).sum::<usize>())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("build_index_200_examples", |b| {
        b.iter(|| SimilarIndex::new(examples.iter().map(|(k, q)| (*k, q.as_str()))).len())
    });
    group.finish();
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let mut nanos: Vec<u128> = Vec::with_capacity(clean.len() * 50);
    for _ in 0..50 {
        for m in &clean {
            let start = Instant::now();
            black_box(index.matches(&index.query(black_box(m))));
            nanos.push(start.elapsed().as_nanos());
        }
    }
    nanos.sort_unstable();
    let at = |q: f64| nanos[((nanos.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!("similar/clean_chat vs 50 entries: p50 {:.1} µs, p99 {:.1} µs per message ({} samples)", at(0.5), at(0.99), nanos.len());
    println!("similar/jieba dictionary load (once per process, cold): {load:?}");
}

criterion_group!(benches, bench);
criterion_main!(benches);
