//! The daily digest (群精华): one group's day of chat condensed — the main threads, key
//! messages, keywords, questions with their answers, announcements, newcomers and the day's
//! numbers — built from the stored events and rollups, rendered for the group (zh-CN, English
//! by locale) and kept for the dashboard.
//!
//! - [`DigestSettings`] (`insight.digest.*` in a template) and [`validate`].
//! - [`Day`] — the events of the window and the numbers, as read from the store
//!   ([`Day::read`]); [`build`] turns it into a [`Digest`], pure; [`Digest::render`] is its text.
//! - The rule and the scheduler source live in [`crate::rules::digest`].
//!
//! # What is in a day
//! The window is the group's local day from midnight up to the digest time
//! (`insight.digest.time`, default 21:00): talk after that time is in no digest. Left out:
//! messages moderation acted on (a stored violation that is not a dry run, by the event's
//! deterministic id), messages deleted in the window (a `message_deleted` event), messages
//! without text (images only). Newcomers are the members who joined in the window, did not
//! leave again within it and were not moderated in it (a spammer is no newcomer). Announcements are operators'
//! `set_announcement` commands and staff messages mentioning everyone (@全体成员). The
//! numbers are the group's day rollup (see [`crate::insight`]): they count deleted spam as a
//! message, as the weekly table does.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use qunzhu_core::insight::{Counts, Granularity, day_bucket};
use qunzhu_core::{Event, EventKind, GroupKey, Role, Segment, Store, StoreError};
use qunzhu_text::digest::{ChatMessage, DigestOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;

/// The `insight` settings of a template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InsightSettings {
    /// The daily digest (群精华).
    pub digest: DigestSettings,
}

/// The `insight.digest` settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    /// Make a digest of each day with messages, kept for the dashboard
    /// (`GET /api/v1/groups/{connector}/{group}/digests`).
    pub enabled: bool,
    /// When the day's digest is made, `HH:MM` in the group's timezone; it covers the day
    /// from midnight up to this time.
    pub time: String,
    /// Also post the digest in the group (a staff task where the platform cannot post).
    pub post: bool,
    /// The most discussion threads listed (1–10).
    pub max_threads: u32,
    /// The most key messages quoted (1–20).
    pub max_messages: u32,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self { enabled: true, time: "21:00".into(), post: false, max_threads: 3, max_messages: 5 }
    }
}

impl DigestSettings {
    /// The digest time; 21:00 when it does not parse (validation reports that).
    pub fn time_of_day(&self) -> NaiveTime {
        parse_time(&self.time).unwrap_or(NaiveTime::MIN + Duration::hours(21))
    }

    /// The options of the text digest.
    pub fn options(&self) -> DigestOptions {
        DigestOptions {
            max_threads: self.max_threads as usize,
            max_messages: self.max_messages as usize,
            ..DigestOptions::default()
        }
    }
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// Checks the insight settings; `path` is where they live (`…, "insight"`).
pub fn validate(settings: &InsightSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &str| -> Vec<String> { path.iter().copied().chain(["digest", key]).map(str::to_owned).collect() };
    let d = &settings.digest;
    let mut problems = Vec::new();
    if parse_time(&d.time).is_none() {
        problems.push(Problem::new(at("time"), format!("{:?} is not a time of day; write it as HH:MM, e.g. \"21:00\"", d.time)));
    }
    if !(1..=10).contains(&d.max_threads) {
        problems.push(Problem::new(at("max_threads"), format!("{} threads: use 1 to 10", d.max_threads)));
    }
    if !(1..=20).contains(&d.max_messages) {
        problems.push(Problem::new(at("max_messages"), format!("{} key messages: use 1 to 20", d.max_messages)));
    }
    problems
}

/// The instant a local day's digest is due: `time` on `day` in `tz` (the earlier of two at a
/// DST fold, the first valid minute after a gap).
pub fn due_at(day: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let local = day.and_time(time);
    (0..=120)
        .find_map(|m| tz.from_local_datetime(&(local + Duration::minutes(m))).earliest())
        .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
}

/// A message quoted in the digest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quote {
    pub message_id: String,
    pub member: String,
    pub name: String,
    /// Local time, `HH:MM`.
    pub at: String,
    pub text: String,
}

/// A discussion thread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DigestThread {
    pub keywords: Vec<String>,
    /// Local `HH:MM` of its first and last message.
    pub from: String,
    pub until: String,
    pub messages: usize,
    pub participants: usize,
    /// Its best message.
    pub key_message: Quote,
}

/// A question and its answers (none: 未回复).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DigestQuestion {
    pub question: Quote,
    pub answers: Vec<Quote>,
}

/// An announcement made in the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Announcement {
    /// Local `HH:MM`.
    pub at: String,
    pub by: String,
    pub text: String,
}

/// The day's numbers (the group's day rollup).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayNumbers {
    pub messages: i64,
    /// Distinct members who posted.
    pub active_members: i64,
    pub joins: i64,
    pub leaves: i64,
    pub questions: i64,
    pub answers: i64,
    pub check_ins: i64,
    pub violations: i64,
}

/// One group's digest of one day (stored as `DigestRecord::body`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Digest {
    pub group: GroupKey,
    pub group_name: String,
    pub day: NaiveDate,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub numbers: DayNumbers,
    pub keywords: Vec<String>,
    pub threads: Vec<DigestThread>,
    pub key_messages: Vec<Quote>,
    pub questions: Vec<DigestQuestion>,
    pub announcements: Vec<Announcement>,
    /// Display names, in join order.
    pub newcomers: Vec<String>,
}

/// A day as read from the store, before any ranking.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Day {
    pub events: Vec<Event>,
    /// Event ids of the window whose message moderation acted on.
    pub moderated: BTreeSet<String>,
    /// Members moderation acted on in the window (no newcomers to show).
    pub offenders: BTreeSet<String>,
    pub numbers: DayNumbers,
}

impl Day {
    /// Reads `group`'s window `[from, until)` of local day `day`: its events, the violations
    /// acted on in it and the day rollup.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn read(store: &dyn Store, group: &GroupKey, day: NaiveDate, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self, StoreError> {
        let events = store.group_events(group, from, until).await?;
        let mut moderated = BTreeSet::new();
        let mut offenders = BTreeSet::new();
        // Newest first: stop at the first violation older than the window.
        let mut limit = 500;
        loop {
            let violations = store.list_violations(Some(group), None, limit).await?;
            let done = violations.len() < limit as usize || violations.last().is_some_and(|v| v.time < from);
            for v in violations.iter().filter(|v| !v.dry_run && v.time >= from && v.time < until) {
                moderated.insert(v.event_id.as_str().to_owned());
                offenders.insert(v.member.as_str().to_owned());
            }
            if done || limit >= 64_000 {
                break;
            }
            limit *= 4;
        }
        let bucket = day_bucket(day);
        let rows = store.insight_rollups(group, Granularity::Day, bucket, bucket + 1).await?;
        let mut counts = Counts::default();
        let mut active = 0;
        for row in &rows {
            match &row.member {
                None => counts = row.counts,
                Some(_) if row.counts.messages > 0 => active += 1,
                Some(_) => {}
            }
        }
        let numbers = DayNumbers {
            messages: counts.messages,
            active_members: active,
            joins: counts.joins,
            leaves: counts.leaves,
            questions: counts.questions,
            answers: counts.answers,
            check_ins: counts.check_ins,
            violations: counts.violations,
        };
        Ok(Self { events, moderated, offenders, numbers })
    }
}

/// Who else counts as staff, besides owners and admins.
pub struct Staff<'a>(pub &'a [String]);

fn local_hm(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// The digest of a day, or `None` when the window has no message to digest (an empty day
/// makes no digest and no post).
#[allow(clippy::too_many_arguments)]
pub fn build(
    group: &GroupKey,
    group_name: &str,
    day: NaiveDate,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    read: &Day,
    staff: &Staff<'_>,
    settings: &DigestSettings,
    tz: Tz,
) -> Option<Digest> {
    let deleted: BTreeSet<&str> = read
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::MessageDeleted { message_id, .. } => Some(message_id.as_str()),
            _ => None,
        })
        .collect();
    let mut reactions: BTreeMap<&str, u32> = BTreeMap::new();
    let mut joined: Vec<(String, String)> = Vec::new();
    let mut left: BTreeSet<String> = BTreeSet::new();
    let mut announcements = Vec::new();
    let mut messages: Vec<ChatMessage> = Vec::new();
    for event in &read.events {
        match &event.kind {
            EventKind::ReactionAdded { message_id, .. } => *reactions.entry(message_id.as_str()).or_insert(0) += 1,
            EventKind::MemberJoined { member, .. } => {
                if !joined.iter().any(|(id, _)| id == member.id.as_str()) {
                    joined.push((member.id.as_str().to_owned(), member.display_name().to_owned()));
                }
                left.remove(member.id.as_str());
            }
            EventKind::MemberLeft { member, .. } => {
                left.insert(member.id.as_str().to_owned());
            }
            EventKind::OperatorCommand { operator, command } => {
                if let Some(crate::rules::schedule::Command::SetAnnouncement { text }) = crate::rules::schedule::Command::parse(command) {
                    announcements.push(Announcement { at: local_hm(event.time, tz), by: operator.clone(), text });
                }
            }
            EventKind::MessagePosted { author, message } => {
                if read.moderated.contains(event.origin.event_id.as_str()) || deleted.contains(message.id.as_str()) {
                    continue;
                }
                // `@全体成员` is markup, not words.
                let text = message.plain_text().replace("@全体成员", "").trim().to_owned();
                if text.is_empty() {
                    continue;
                }
                let is_staff = matches!(author.role, Role::Owner | Role::Admin) || staff.0.iter().any(|m| m == author.id.as_str());
                let mut reply_to = None;
                let mut mentions = Vec::new();
                let mut everyone = false;
                for segment in &message.segments {
                    match segment {
                        Segment::Reply { message_id } => reply_to = Some(message_id.as_str().to_owned()),
                        Segment::Mention { member, .. } => mentions.push(member.as_str().to_owned()),
                        Segment::MentionAll => everyone = true,
                        _ => {}
                    }
                }
                let pinned = everyone && is_staff;
                if pinned {
                    announcements.push(Announcement { at: local_hm(event.time, tz), by: author.display_name().to_owned(), text: text.clone() });
                }
                messages.push(ChatMessage {
                    id: message.id.as_str().to_owned(),
                    author: author.id.as_str().to_owned(),
                    name: author.display_name().to_owned(),
                    at: event.time.timestamp(),
                    text,
                    reply_to,
                    mentions,
                    reactions: 0,
                    staff: is_staff,
                    pinned,
                });
            }
            _ => {}
        }
    }
    if messages.is_empty() {
        return None;
    }
    for m in &mut messages {
        m.reactions = reactions.get(m.id.as_str()).copied().unwrap_or(0);
    }
    let found = qunzhu_text::digest::digest(&messages, &settings.options());
    let quote = |i: usize| {
        let m = &messages[i];
        Quote {
            message_id: m.id.clone(),
            member: m.author.clone(),
            name: m.name.clone(),
            at: local_hm(DateTime::from_timestamp(m.at, 0).unwrap_or_default(), tz),
            text: m.text.clone(),
        }
    };
    let threads = found
        .threads
        .iter()
        .map(|t| DigestThread {
            keywords: t.keywords.clone(),
            from: quote(t.messages[0]).at,
            until: quote(t.messages[t.messages.len() - 1]).at,
            messages: t.messages.len(),
            participants: t.participants,
            key_message: quote(t.key_message),
        })
        .collect();
    Some(Digest {
        group: group.clone(),
        group_name: group_name.to_owned(),
        day,
        from,
        until,
        numbers: read.numbers.clone(),
        keywords: found.keywords.iter().map(|k| k.word.clone()).collect(),
        threads,
        key_messages: found.key_messages.iter().map(|r| quote(r.index)).collect(),
        questions: found
            .questions
            .iter()
            .map(|q| DigestQuestion { question: quote(q.question), answers: q.answers.iter().map(|&a| quote(a)).collect() })
            .collect(),
        announcements,
        newcomers: joined.into_iter().filter(|(id, _)| !left.contains(id) && !read.offenders.contains(id)).map(|(_, name)| name).collect(),
    })
}

/// At most `max` characters of a line, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max).chain(['…']).collect()
    }
}

const QUOTE_CHARS: usize = 60;

impl Digest {
    /// The digest as posted and shown, in the operator's language.
    pub fn render(&self, locale: Locale) -> String {
        let zh = locale == Locale::ZhCn;
        let n = &self.numbers;
        let mut out = Vec::new();
        out.push(if zh { format!("📋 {} 群精华 · {}", self.group_name, self.day) } else { format!("📋 {} daily digest · {}", self.group_name, self.day) });
        out.push(if zh {
            format!(
                "今日数据：消息 {} 条 · 发言 {} 人 · 入群 {} 人 · 退群 {} 人 · 提问 {} 个 · 回答 {} 条",
                n.messages, n.active_members, n.joins, n.leaves, n.questions, n.answers
            )
        } else {
            format!(
                "Today: {} messages · {} members spoke · {} joined · {} left · {} questions · {} answers",
                n.messages, n.active_members, n.joins, n.leaves, n.questions, n.answers
            )
        });
        let sep = if zh { "、" } else { ", " };
        if !self.keywords.is_empty() {
            out.push(format!("{}{}", locale.pick("🔑 关键词：", "🔑 Keywords: "), self.keywords.join(sep)));
        }
        if !self.threads.is_empty() {
            out.push(String::new());
            out.push(locale.pick("💬 热门话题", "💬 Main threads").to_owned());
            for (i, t) in self.threads.iter().enumerate() {
                let topic = if t.keywords.is_empty() { locale.pick("闲聊", "chat").to_owned() } else { t.keywords.join(" / ") };
                out.push(if zh {
                    format!("{}. {}（{}–{}，{} 人参与，{} 条）", i + 1, topic, t.from, t.until, t.participants, t.messages)
                } else {
                    format!("{}. {} ({}–{}, {} members, {} messages)", i + 1, topic, t.from, t.until, t.participants, t.messages)
                });
                out.push(format!("   「{}」—— {}", clip(&t.key_message.text, QUOTE_CHARS), t.key_message.name));
            }
        }
        if !self.key_messages.is_empty() {
            out.push(String::new());
            out.push(locale.pick("⭐ 精彩发言", "⭐ Key messages").to_owned());
            for q in &self.key_messages {
                out.push(format!("· {} {}：{}", q.name, q.at, clip(&q.text, QUOTE_CHARS)));
            }
        }
        if !self.questions.is_empty() {
            out.push(String::new());
            out.push(locale.pick("❓ 问答", "❓ Questions").to_owned());
            for q in &self.questions {
                let line = format!("· {} {}：{}", q.question.name, q.question.at, clip(&q.question.text, QUOTE_CHARS));
                if q.answers.is_empty() {
                    out.push(format!("{line} {}", locale.pick("【未回复】", "[unanswered]")));
                } else {
                    out.push(line);
                    for a in &q.answers {
                        out.push(format!("  ↳ {}：{}", a.name, clip(&a.text, QUOTE_CHARS)));
                    }
                }
            }
        }
        if !self.announcements.is_empty() {
            out.push(String::new());
            out.push(locale.pick("📢 公告", "📢 Announcements").to_owned());
            for a in &self.announcements {
                out.push(format!("· {} {}：{}", a.by, a.at, clip(&a.text, QUOTE_CHARS * 2)));
            }
        }
        if !self.newcomers.is_empty() {
            out.push(String::new());
            out.push(format!("{}{}", locale.pick("👋 新成员：", "👋 Newcomers: "), self.newcomers.join(sep)));
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_time_and_out_of_range_limits_are_each_reported_with_their_key() {
        let settings = InsightSettings { digest: DigestSettings { time: "9pm".into(), max_threads: 0, max_messages: 50, ..DigestSettings::default() } };
        let problems = validate(&settings, &["templates", "default", "insight"]);
        let paths: Vec<String> = problems.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(
            paths,
            ["templates.default.insight.digest.time", "templates.default.insight.digest.max_threads", "templates.default.insight.digest.max_messages"]
        );
        assert!(validate(&InsightSettings::default(), &["insight"]).is_empty());
    }

    #[test]
    fn the_digest_is_due_at_its_local_time() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 12).unwrap();
        let at = due_at(day, NaiveTime::from_hms_opt(21, 0, 0).unwrap(), chrono_tz::Asia::Shanghai);
        assert_eq!(at.to_rfc3339(), "2026-05-12T13:00:00+00:00");
    }

    #[test]
    fn long_quotes_are_clipped_with_an_ellipsis() {
        assert_eq!(clip("一二三四五", 3), "一二三…");
        assert_eq!(clip("短 句\n换行", 10), "短 句 换行");
    }
}
