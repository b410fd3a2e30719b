//! Events per second through the whole pipeline: inbox → dispatcher → rules → planner →
//! commit (outbox + audit), on the in-memory store and on SQLite (WAL, on disk).
//!
//! `single`: one event submitted and awaited at a time (latency-bound, like one busy group).
//! `batch`: 256 events over 64 groups submitted concurrently (throughput across groups).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::{Capabilities, ConnectorId, Event, EventKind, Member, Message, Origin, Store, SystemClock};
use qunzhu_engine::{Engine, EngineConfig};

const BATCH: u64 = 256;
const GROUPS: u64 = 64;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Alternates chat messages and joins, so the welcome rule fires on a share of events.
fn event(group: u64) -> Event {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let member = Member::new(format!("u{}", n % 500), format!("成员{}", n % 500));
    let kind = if n % 4 == 0 {
        EventKind::MemberJoined { member, inviter: None, invite_code: None, join_scene: None }
    } else {
        EventKind::MessagePosted { author: member, message: Message::text(format!("m{n}"), "大家好，请问今天几点开始直播？") }
    };
    Event {
        origin: Origin { connector: "bench".into(), group: format!("g{group}").into(), event_id: format!("e{n}").into() },
        group_name: Some(format!("粉丝{group}群")),
        time: Utc::now(),
        kind,
    }
}

async fn engine(store: Arc<dyn Store>) -> Engine {
    let connectors = HashMap::from([(ConnectorId::new("bench"), Capabilities::all())]);
    Engine::start(store, Arc::new(SystemClock), connectors, EngineConfig::default()).await.unwrap()
}

fn bench_store(c: &mut Criterion, name: &str, runtime: &tokio::runtime::Runtime, engine: &Engine) {
    let mut group = c.benchmark_group(format!("pipeline/{name}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        b.to_async(runtime).iter(|| async { engine.submit(event(0)).await.unwrap() });
    });
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("batch", |b| {
        b.to_async(runtime).iter(|| async {
            let submits: Vec<_> = (0..BATCH)
                .map(|i| {
                    let engine = engine.clone();
                    tokio::spawn(async move { engine.submit(event(i % GROUPS)).await.unwrap() })
                })
                .collect();
            for submit in submits {
                submit.await.unwrap();
            }
        });
    });
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    let memory = runtime.block_on(engine(Arc::new(MemoryStore::new())));
    bench_store(c, "memory", &runtime, &memory);
    runtime.block_on(memory.shutdown());

    let dir = tempfile::tempdir().unwrap();
    let sqlite = runtime.block_on(async {
        let store = qunzhu_store::open_sqlite_file(&dir.path().join("bench.db")).await.unwrap();
        engine(store).await
    });
    bench_store(c, "sqlite", &runtime, &sqlite);
    runtime.block_on(async {
        sqlite.shutdown().await;
        sqlite.store().close().await;
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(8));
    targets = pipeline
}
criterion_main!(benches);
