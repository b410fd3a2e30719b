//! Scheduled posts end to end over the in-memory store, with a `ManualClock`: schedules are
//! created through the engine, `run_due` submits their ticks, the `schedule` rule posts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qunzhu_core::memory::MemoryStore;
use qunzhu_core::schedule::{MissedRuns, Post, PostKind, ScheduleDef, ScheduleId, Target, When};
use qunzhu_core::store::OutboxEntry;
use qunzhu_core::{ActionKind, Capabilities, Capability, Clock, ConnectorId, GroupKey, ManualClock, Message, Store};
use qunzhu_engine::rules::schedule::manage::ScheduleError;
use qunzhu_engine::rules::schedule::Job;
use qunzhu_engine::{scheduler, Engine, EngineConfig, Locale};

const OPERATOR: &str = "operator:小王";

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

struct World {
    engine: Engine,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

impl World {
    async fn new(start: DateTime<Utc>) -> Self {
        Self::with(start, HashMap::from([(ConnectorId::new("shop"), Capabilities::all())])).await
    }

    async fn with(start: DateTime<Utc>, connectors: HashMap<ConnectorId, Capabilities>) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(start));
        let config = EngineConfig { locale: Locale::ZhCn, ..EngineConfig::default() };
        let engine = Engine::start(store.clone(), clock.clone(), connectors, config).await.unwrap();
        Self { engine, store, clock }
    }

    async fn group(&self, connector: &str, id: &str, name: &str) -> GroupKey {
        let key = GroupKey::new(connector, id);
        self.store.touch_group(&key, Some(name), self.clock.now()).await.unwrap();
        key
    }

    /// Moves the clock to `at` and scans once; the ticks submitted.
    async fn scan_at(&self, at: DateTime<Utc>) -> usize {
        self.clock.set(at);
        let report = self.engine.run_due(at).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report.ticks
    }

    /// Every action in the outbox of a connector, whatever its `not_before`.
    async fn outbox(&self, connector: &str) -> Vec<OutboxEntry> {
        self.store.due_actions(&ConnectorId::new(connector), utc(2100, 1, 1, 0, 0), 100_000).await.unwrap()
    }

    async fn audit_kinds(&self) -> Vec<String> {
        self.store.list_audit(None, 1000).await.unwrap().into_iter().rev().map(|a| a.entry.kind).collect()
    }
}

fn def(name: &str, cron: &str, timezone: Option<&str>, target: Target, text: &str) -> ScheduleDef {
    ScheduleDef {
        name: name.into(),
        when: When::Cron { cron: cron.into() },
        timezone: timezone.map(Into::into),
        target,
        post: Post { kind: PostKind::Message, text: text.into() },
        missed: MissedRuns::Skip,
        groups_per_minute: 20,
    }
}

fn groups(keys: &[&GroupKey]) -> Target {
    Target::Groups { groups: keys.iter().map(|k| (*k).clone()).collect() }
}

fn text_of(entry: &OutboxEntry) -> String {
    match &entry.action.kind {
        ActionKind::Send { segments } => Message { id: "x".into(), segments: segments.clone() }.plain_text(),
        ActionKind::SetAnnouncement { text } => text.clone(),
        other => panic!("not a post: {other:?}"),
    }
}

fn invalid(error: ScheduleError) -> Vec<(String, String)> {
    match error {
        ScheduleError::Invalid(problems) => problems.into_iter().map(|p| (p.dotted_path(), p.message)).collect(),
        other => panic!("expected problems, got {other}"),
    }
}

#[tokio::test]
async fn a_daily_eight_oclock_post_in_new_york_arrives_at_the_right_utc_instants_across_the_dst_change() {
    let world = World::new(utc(2026, 3, 6, 14, 0)).await;
    let g1 = world.group("shop", "g1", "早起群").await;
    let schedule = world
        .engine
        .create_schedule(def("早报", "0 8 * * *", Some("America/New_York"), groups(&[&g1]), "{group} 早上好，今天是 {date} {weekday}"), false, OPERATOR)
        .await
        .unwrap();
    // Saturday 08:00 EST is 13:00 UTC; Sunday 2026-03-08 the clocks go forward: 08:00 EDT is 12:00 UTC.
    assert_eq!(schedule.next_run, Some(utc(2026, 3, 7, 13, 0)));

    assert_eq!(world.scan_at(utc(2026, 3, 7, 12, 59)).await, 0, "not yet");
    assert_eq!(world.scan_at(utc(2026, 3, 7, 13, 0)).await, 1);
    assert_eq!(world.scan_at(utc(2026, 3, 8, 11, 59)).await, 0, "13:00 UTC would be an hour late on the DST day");
    assert_eq!(world.scan_at(utc(2026, 3, 8, 12, 0)).await, 1);
    assert_eq!(world.scan_at(utc(2026, 3, 9, 12, 0)).await, 1);

    let posts = world.outbox("shop").await;
    let texts: Vec<String> = posts.iter().map(text_of).collect();
    assert_eq!(
        texts,
        vec!["早起群 早上好，今天是 2026年3月7日 星期六", "早起群 早上好，今天是 2026年3月8日 星期日", "早起群 早上好，今天是 2026年3月9日 星期一"]
    );
    assert!(posts.iter().all(|p| p.action.rule == "schedule"));
    assert!(posts[0].action.explanation.contains("定时任务 #1「早报」，2026-03-07 08:00（America/New_York）"), "{}", posts[0].action.explanation);
    let stored = world.store.get_schedule(schedule.id).await.unwrap().unwrap();
    assert_eq!((stored.last_run, stored.next_run), (Some(utc(2026, 3, 9, 12, 0)), Some(utc(2026, 3, 10, 12, 0))));
}

#[tokio::test]
async fn shanghai_midnight_launches_and_eleven_pm_cutoffs_post_on_their_local_day() {
    // 2026-11-22 10:00 in Shanghai.
    let world = World::new(utc(2026, 11, 22, 2, 0)).await;
    let shop = world.group("shop", "fans", "粉丝福利群").await;
    // No timezone given: the template's (Asia/Shanghai by default) is used.
    let launch = world.engine.create_schedule(def("0点上新", "0 0 * * *", None, groups(&[&shop]), "🎉 {date} 0点上新啦！"), false, OPERATOR).await.unwrap();
    let cutoff = world.engine.create_schedule(def("23点截单", "0 23 * * *", None, groups(&[&shop]), "⏰ {date} 23点截单，抓紧下单"), false, OPERATOR).await.unwrap();
    assert_eq!(launch.def.timezone.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(cutoff.next_run, Some(utc(2026, 11, 22, 15, 0)));
    assert_eq!(launch.next_run, Some(utc(2026, 11, 22, 16, 0)));

    assert_eq!(world.scan_at(utc(2026, 11, 22, 15, 0)).await, 1);
    assert_eq!(world.scan_at(utc(2026, 11, 22, 16, 0)).await, 1);
    let texts: Vec<String> = world.outbox("shop").await.iter().map(text_of).collect();
    assert_eq!(texts, vec!["⏰ 2026年11月22日 23点截单，抓紧下单", "🎉 2026年11月23日 0点上新啦！"]);
}

#[tokio::test]
async fn a_paused_schedule_posts_nothing_and_resumes_from_its_next_run_without_catching_up() {
    let world = World::new(utc(2026, 11, 22, 0, 0)).await;
    let g1 = world.group("shop", "g1", "一群").await;
    let schedule = world.engine.create_schedule(def("早报", "0 8 * * *", Some("UTC"), groups(&[&g1]), "早"), false, OPERATOR).await.unwrap();
    let paused = world.engine.pause_schedule(schedule.id, OPERATOR).await.unwrap();
    assert!(paused.paused);
    assert_eq!(world.scan_at(utc(2026, 11, 22, 8, 0)).await, 0);
    assert_eq!(world.scan_at(utc(2026, 11, 23, 8, 0)).await, 0);

    world.clock.set(utc(2026, 11, 23, 9, 0));
    let resumed = world.engine.resume_schedule(schedule.id, OPERATOR).await.unwrap();
    assert!(!resumed.paused);
    assert_eq!(resumed.next_run, Some(utc(2026, 11, 24, 8, 0)), "runs that fell while paused are not posted");
    assert_eq!(world.scan_at(utc(2026, 11, 23, 9, 0)).await, 0);
    assert_eq!(world.scan_at(utc(2026, 11, 24, 8, 0)).await, 1);
    assert_eq!(world.outbox("shop").await.len(), 1);
    let kinds = world.audit_kinds().await;
    assert!(kinds.starts_with(&["rulebook.save".into(), "schedule.create".into(), "schedule.pause".into(), "schedule.resume".into()]), "{kinds:?}");
}

#[tokio::test]
async fn after_downtime_skip_drops_missed_runs_and_catch_up_once_posts_the_latest_one_late() {
    let world = World::new(utc(2026, 11, 20, 0, 0)).await;
    let g1 = world.group("shop", "g1", "一群").await;
    let mut skip = def("早报-skip", "0 8 * * *", Some("UTC"), groups(&[&g1]), "skip {date}");
    skip.missed = MissedRuns::Skip;
    let mut catch_up = def("早报-catch-up", "0 8 * * *", Some("UTC"), groups(&[&g1]), "catch up {date}");
    catch_up.missed = MissedRuns::CatchUpOnce;
    let skip = world.engine.create_schedule(skip, false, OPERATOR).await.unwrap();
    let catch_up = world.engine.create_schedule(catch_up, false, OPERATOR).await.unwrap();

    // Down from before the 20th's run until 10:00 on the 22nd: three runs missed.
    assert_eq!(world.scan_at(utc(2026, 11, 22, 10, 0)).await, 1, "only the catch-up posts");
    let posts = world.outbox("shop").await;
    assert_eq!(posts.iter().map(text_of).collect::<Vec<_>>(), vec!["catch up 2026-11-22".replace("2026-11-22", "2026年11月22日")]);
    assert!(posts[0].action.explanation.contains("停机后补发一次"), "{}", posts[0].action.explanation);
    assert_eq!(posts[0].action.not_before, None);

    let skip = world.store.get_schedule(skip.id).await.unwrap().unwrap();
    let catch_up = world.store.get_schedule(catch_up.id).await.unwrap().unwrap();
    assert_eq!((skip.last_run, skip.next_run), (None, Some(utc(2026, 11, 23, 8, 0))));
    assert_eq!((catch_up.last_run, catch_up.next_run), (Some(utc(2026, 11, 22, 8, 0)), Some(utc(2026, 11, 23, 8, 0))));
    let rows: Vec<String> = world
        .store
        .list_audit(None, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|a| a.entry.actor == "scheduler")
        .map(|a| a.entry.summary)
        .collect();
    assert_eq!(
        rows,
        vec![
            "定时任务 #1「早报-skip」：停机期间错过 3 次运行，按策略 skip 跳过",
            "定时任务 #2「早报-catch-up」：停机期间错过 2 次运行，按策略 catch_up_once 跳过",
            "定时任务 #2「早报-catch-up」：停机后补发一次（原定 2026-11-22 08:00）",
        ]
    );
    // Back to normal the next day: both post on time.
    assert_eq!(world.scan_at(utc(2026, 11, 23, 8, 0)).await, 2);
}

#[tokio::test]
async fn a_schedule_to_500_groups_is_spread_and_each_group_gets_exactly_one_post_even_when_run_due_runs_twice() {
    let world = World::new(utc(2026, 11, 22, 0, 0)).await;
    for n in 0..500 {
        world.group("shop", &format!("g{n:03}"), &format!("{n}号群")).await;
    }
    let schedule = world
        .engine
        .create_schedule(def("早报", "0 8 * * *", Some("UTC"), Target::Connector { connector: "shop".into() }, "{group} 早上好"), false, OPERATOR)
        .await
        .unwrap();
    let run = utc(2026, 11, 22, 8, 0);
    world.clock.set(run);
    // Two schedulers scanning at once, then a repeated scan.
    let (a, b) = tokio::join!(world.engine.run_due(run), world.engine.run_due(run));
    assert_eq!(a.ticks + b.ticks, 500, "the inbox takes each group's tick once");
    assert_eq!(world.scan_at(run).await, 0);

    let posts = world.outbox("shop").await;
    assert_eq!(posts.len(), 500);
    let mut per_group: BTreeMap<GroupKey, usize> = BTreeMap::new();
    for post in &posts {
        *per_group.entry(post.action.group.clone()).or_default() += 1;
    }
    assert_eq!(per_group.len(), 500);
    assert!(per_group.values().all(|n| *n == 1));
    // At most 20 a minute: g000 at once, g001 3 s later, … g499 after 1497 s (25 minutes).
    let start = |group: &str| posts.iter().find(|p| p.action.group.group.as_str() == group).unwrap().action.not_before;
    assert_eq!(start("g000"), None);
    assert_eq!(start("g001"), Some(run + Duration::seconds(3)));
    assert_eq!(start("g499"), Some(run + Duration::seconds(1497)));
    for minute in 0..25 {
        let in_minute = posts
            .iter()
            .filter(|p| {
                let at = p.action.not_before.unwrap_or(run);
                at >= run + Duration::minutes(minute) && at < run + Duration::minutes(minute + 1)
            })
            .count();
        assert_eq!(in_minute, 20, "minute {minute}");
    }
    assert_eq!(world.store.due_actions(&"shop".into(), run, 1000).await.unwrap().len(), 1, "only the first is due at once");
    assert_eq!(world.store.get_schedule(schedule.id).await.unwrap().unwrap().last_run, Some(run));
}

#[tokio::test]
async fn ticks_submitted_before_a_crash_are_not_posted_again_when_the_run_is_redone() {
    let world = World::new(utc(2026, 11, 22, 0, 0)).await;
    let g1 = world.group("shop", "g1", "一群").await;
    let g2 = world.group("shop", "g2", "二群").await;
    let schedule = world.engine.create_schedule(def("早报", "0 8 * * *", Some("UTC"), groups(&[&g1, &g2]), "早"), false, OPERATOR).await.unwrap();
    let run = utc(2026, 11, 22, 8, 0);
    world.clock.set(run);
    // The first group's tick went in, then the process died before the run was recorded.
    let job = Job { schedule: schedule.id, delay_secs: 0 };
    let tick = scheduler::tick(&g1, &job.to_string(), &format!("schedule:{}:{}", schedule.id, run.timestamp()), run);
    assert_eq!(scheduler::submit_ticks(&world.engine, vec![tick]).await.unwrap(), 1);
    assert_eq!(world.scan_at(run).await, 1, "only the second group's tick is new");
    let groups: Vec<String> = world.outbox("shop").await.iter().map(|p| p.action.group.to_string()).collect();
    assert_eq!(groups, vec!["shop/g1", "shop/g2"]);
}

#[tokio::test]
async fn the_preview_lists_the_next_runs_in_the_schedules_timezone_with_the_target_groups() {
    let world = World::new(utc(2026, 1, 1, 0, 0)).await;
    let g2 = world.group("shop", "g2", "二群").await;
    let g1 = world.group("shop", "g1", "一群").await;
    let mut greeting = def("节日问候", "", Some("Asia/Shanghai"), Target::Connector { connector: "shop".into() }, "{holiday}快乐！");
    greeting.when = When::Holidays { holidays: vec!["春节".into(), "中秋节".into()], time: "09:00".into() };
    let schedule = world.engine.create_schedule(greeting, false, OPERATOR).await.unwrap();
    assert_eq!(schedule.def.when, When::Holidays { holidays: vec!["春节".into(), "中秋".into()], time: "09:00".into() }, "names are made canonical");
    let preview = world.engine.preview_schedule(schedule.id, 3).await.unwrap();
    assert_eq!(preview.timezone, "Asia/Shanghai");
    assert_eq!(preview.groups, vec![g1.to_string(), g2.to_string()]);
    let runs: Vec<(String, Vec<String>)> = preview.runs.iter().map(|r| (r.local.clone(), r.holidays.clone())).collect();
    assert_eq!(
        runs,
        vec![
            ("2026-02-17T09:00:00+08:00".into(), vec!["春节".into()]),
            ("2026-09-25T09:00:00+08:00".into(), vec!["中秋".into()]),
            ("2027-02-06T09:00:00+08:00".into(), vec!["春节".into()]),
        ]
    );
    assert_eq!(preview.runs[0].at, utc(2026, 2, 17, 1, 0));
    // And on the day, the greeting names the holiday.
    // (Other daily sources, such as the life-stage check at 09:00, may tick too.)
    assert!(world.scan_at(utc(2026, 2, 17, 1, 0)).await >= 2);
    let posts = world.outbox("shop").await;
    assert_eq!(posts.iter().filter(|p| text_of(p) == "春节快乐！").count(), 2, "one greeting per target group");
    assert!(posts.iter().all(|p| text_of(p) == "春节快乐！"));
}

#[tokio::test]
async fn targets_follow_template_bindings_and_unknown_connectors_are_left_out() {
    let world = World::new(utc(2026, 1, 1, 0, 0)).await;
    let vip = world.group("shop", "vip", "VIP群").await;
    let plain = world.group("shop", "plain", "普通群").await;
    let mut book = world.engine.rulebook().rulebook.clone();
    book.templates.insert("vip".into(), book.templates["default"].clone());
    book.groups.insert("shop/vip".into(), qunzhu_engine::rulebook::GroupBinding { template: "vip".into(), overrides: Default::default() });
    book.groups.insert("shop/never-seen".into(), qunzhu_engine::rulebook::GroupBinding { template: "vip".into(), overrides: Default::default() });
    world.engine.save_rulebook(book, OPERATOR, "vip").await.unwrap();
    let in_vip = world.engine.schedule_targets(&Target::Template { template: "vip".into() }).await.unwrap();
    assert_eq!(in_vip, vec![GroupKey::new("shop", "never-seen"), vip.clone()]);
    let in_default = world.engine.schedule_targets(&Target::Template { template: "default".into() }).await.unwrap();
    assert_eq!(in_default, vec![plain.clone()]);
    world.group("gone", "x", "旧平台群").await;
    let listed = world.engine.schedule_targets(&groups(&[&GroupKey::new("gone", "x"), &plain])).await.unwrap();
    assert_eq!(listed, vec![plain]);
}

#[tokio::test]
async fn bad_definitions_are_refused_with_every_problem_and_its_key() {
    let world = World::new(utc(2026, 1, 1, 0, 0)).await;
    let mut bad = def("  ", "0 25 * * *", Some("Beijing"), Target::Groups { groups: vec![GroupKey::new("wechat", "g1")] }, "{nmae} 你好");
    bad.groups_per_minute = 5000;
    let problems = invalid(world.engine.create_schedule(bad, false, OPERATOR).await.unwrap_err());
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["name", "target.groups.0", "timezone", "when.cron", "post.text", "groups_per_minute"], "{problems:#?}");
    assert!(problems[3].1.starts_with("`0 25 * * *` is not a cron expression: "), "{}", problems[3].1);
    assert!(problems[1].1.contains("configured: shop"), "{}", problems[1].1);
    assert!(problems[4].1.contains("unknown placeholder `{nmae}`"), "{}", problems[4].1);

    let mut once = def("一次", "", None, Target::Template { template: "nope".into() }, "hi");
    once.when = When::Once { at: "2025-12-31T23:00".into() };
    let problems = invalid(world.engine.create_schedule(once, false, OPERATOR).await.unwrap_err());
    assert_eq!(problems.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), vec!["target.template", "when.at"]);
    assert!(problems[1].1.contains("has already passed"), "{}", problems[1].1);
    assert!(world.store.list_schedules().await.unwrap().is_empty(), "nothing was saved");
    assert!(matches!(world.engine.pause_schedule(ScheduleId(9), OPERATOR).await, Err(ScheduleError::NotFound(ScheduleId(9)))));
}

#[tokio::test]
async fn a_one_off_posts_once_and_then_has_no_next_run() {
    let world = World::new(utc(2026, 11, 22, 0, 0)).await;
    let g1 = world.group("shop", "g1", "一群").await;
    let mut once = def("双11预告", "", Some("Asia/Shanghai"), groups(&[&g1]), "今晚 8 点开抢");
    once.when = When::Once { at: "2026-11-22T12:00".into() };
    let schedule = world.engine.create_schedule(once, false, OPERATOR).await.unwrap();
    assert_eq!(schedule.next_run, Some(utc(2026, 11, 22, 4, 0)));
    assert_eq!(world.scan_at(utc(2026, 11, 22, 4, 0)).await, 1);
    assert_eq!(world.scan_at(utc(2026, 11, 23, 4, 0)).await, 0);
    let stored = world.store.get_schedule(schedule.id).await.unwrap().unwrap();
    assert_eq!((stored.last_run, stored.next_run), (Some(utc(2026, 11, 22, 4, 0)), None));
}

#[tokio::test]
async fn a_deleted_schedule_posts_nothing_more() {
    let world = World::new(utc(2026, 11, 22, 0, 0)).await;
    let g1 = world.group("shop", "g1", "一群").await;
    let schedule = world.engine.create_schedule(def("早报", "0 8 * * *", Some("UTC"), groups(&[&g1]), "早"), false, OPERATOR).await.unwrap();
    world.engine.delete_schedule(schedule.id, OPERATOR).await.unwrap();
    assert_eq!(world.scan_at(utc(2026, 11, 22, 8, 0)).await, 0);
    // A tick already submitted for it (a race with the delete) decides nothing.
    let tick = scheduler::tick(&g1, "schedule:1", "schedule:1:0", utc(2026, 11, 22, 8, 0));
    let processed = world.engine.submit(tick).await.unwrap();
    assert!(processed.actions.is_empty() && processed.tasks.is_empty());
    assert!(matches!(world.engine.delete_schedule(schedule.id, OPERATOR).await, Err(ScheduleError::NotFound(_))));
}

#[tokio::test]
async fn announcements_are_set_where_the_platform_can_and_become_staff_tasks_elsewhere() {
    let connectors = HashMap::from([
        (ConnectorId::new("shop"), Capabilities::all()),
        (ConnectorId::new("qq"), Capabilities::new([Capability::Send, Capability::Reply])),
    ]);
    let world = World::with(utc(2026, 11, 22, 0, 0), connectors).await;
    let shop = world.group("shop", "g1", "一群").await;
    let qq = world.group("qq", "100", "QQ粉丝群").await;

    let now = world.engine.set_announcement(&shop, "{group}：本周六停课", OPERATOR).await.unwrap();
    assert_eq!(now.actions.len(), 1);
    assert_eq!(now.actions[0].kind, ActionKind::SetAnnouncement { text: "一群：本周六停课".into() });
    assert_eq!(now.actions[0].explanation, "operator:小王 设置群公告");
    let task = world.engine.set_announcement(&qq, "本周六停课", OPERATOR).await.unwrap();
    assert!(task.actions.is_empty());
    assert_eq!(task.tasks.len(), 1);
    assert!(task.tasks[0].step.starts_with("将群「QQ粉丝群」的群公告改为：\n本周六停课"), "{}", task.tasks[0].step);
    let empty = invalid(world.engine.set_announcement(&qq, "  ", OPERATOR).await.unwrap_err());
    assert_eq!(empty[0].0, "text");

    // Scheduled announcements go the same way.
    let mut weekly = def("每周公告", "0 9 * * 1", Some("Asia/Shanghai"), groups(&[&shop, &qq]), "本周值班：{date} 起");
    weekly.post.kind = PostKind::Announcement;
    world.engine.create_schedule(weekly, false, OPERATOR).await.unwrap();
    assert_eq!(world.scan_at(utc(2026, 11, 23, 1, 0)).await, 2);
    let set: Vec<String> = world.outbox("shop").await.iter().skip(1).map(text_of).collect();
    assert_eq!(set, vec!["本周值班：2026年11月23日 起"]);
    let tasks = world.store.list_tasks(None, 10).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks[0].step.contains("本周值班：2026年11月23日 起"), "{}", tasks[0].step);
}
