//! Sign-up lists (接龙): staff (or, if the template allows, anyone) start a list with
//! `#接龙 <title> [限20人] [截止 20:00]` or through the API; members put themselves on it with
//! a keyword (`接龙`, `+1`, `报名`, optionally with a note: `接龙 带2人`) and take themselves
//! off with another (`取消接龙`); the numbered list is posted back to the group; it closes
//! when full, at its time, or when staff or its starter close it, with a final post.
//!
//! - [`command`] — the start command's grammar (pure).
//! - [`settings`] — the template's settings and their validation.
//!
//! **Re-posts are throttled with a tick.** After a change the list is posted at once if the
//! last post is at least `repost_throttle_secs` old; otherwise the change only records
//! `repost_due_at = last post + throttle`, and the scheduler's `Tick { job: "signup:<id>" }`
//! at that time posts the list as it is then — every change in between coalesced into one
//! post showing the current list (a `not_before` action would have shown a stale one). The
//! same tick closes the list at its closing time.
//!
//! One list per group is open at a time: a second start is answered with the open list's
//! title (the API answers `409`). Everything decided is a [`SignupWrite`] committed with the
//! event.

pub mod command;
pub mod settings;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::signup::{numbered, CloseReason, Signup, SignupEntry, SignupStatus, SignupWrite};
use qunzhu_core::{ActionKind, EventKind, Member, Message, PlatformEventId, Segment, StateWrite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

pub use settings::{SignupSettings, Starter};

use crate::locale::Locale;
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

/// The scheduler's job for a list: `signup:<id>`.
pub const JOB_PREFIX: &str = "signup:";

/// The operator command (an `OperatorCommand` event in the list's group) that starts a
/// list: `signup.start <StartCommand as JSON>`.
pub const START_COMMAND: &str = "signup.start ";
/// The operator command that closes a list: `signup.close <id>`.
pub const CLOSE_COMMAND: &str = "signup.close ";

/// What the API asks for when it starts a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCommand {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
}

/// Text as keywords and commands are compared: NFKC (full-width → ASCII), lower case, trimmed.
pub(crate) fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase().trim().to_owned()
}

/// `text` without `prefix`, compared character by character ignoring case.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = text;
    for wanted in prefix.chars() {
        let mut chars = rest.chars();
        let got = chars.next()?;
        if !got.to_lowercase().eq(wanted.to_lowercase()) {
            return None;
        }
        rest = chars.as_str();
    }
    Some(rest)
}

/// The id of a list started by an event: `sg-` and 12 hex digits of SHA-256 of the
/// connector and the platform event id, so a re-run of the event starts the same list.
pub fn signup_id(connector: &str, event: &PlatformEventId) -> String {
    let digest = Sha256::new().chain_update(connector.as_bytes()).chain_update([0]).chain_update(event.as_str().as_bytes()).finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sg-{hex}")
}

/// What a message says to the sign-up rule.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Said {
    /// A start command and what follows it.
    Start { command: String, args: String },
    Close,
    Withdraw,
    Join { note: Option<String> },
}

fn classify(text: &str, settings: &SignupSettings) -> Option<Said> {
    let text: String = text.nfkc().collect();
    let text = text.trim();
    let command_rest = |command: &str| {
        let command: String = command.nfkc().collect();
        let rest = strip_prefix_ci(text, &command)?;
        // `#signups` is not `#signup`; `#接龙周六羽毛球` is `#接龙`.
        let glued = command.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
            && rest.chars().next().is_some_and(|c| !c.is_whitespace());
        (!glued).then(|| rest.trim().to_owned())
    };
    for command in &settings.start_commands {
        if let Some(args) = command_rest(command) {
            return Some(Said::Start { command: command.clone(), args });
        }
    }
    if settings.close_commands.iter().any(|c| command_rest(c).is_some()) {
        return Some(Said::Close);
    }
    let folded = fold(text);
    if settings.withdraw_keywords.iter().any(|k| fold(k) == folded) {
        return Some(Said::Withdraw);
    }
    for keyword in &settings.join_keywords {
        let keyword: String = keyword.nfkc().collect();
        let Some(rest) = strip_prefix_ci(text, &keyword) else { continue };
        if rest.is_empty() {
            return Some(Said::Join { note: None });
        }
        if rest.starts_with(char::is_whitespace) {
            let note: String = rest.trim().chars().take(settings.max_note_chars as usize).collect();
            return Some(Said::Join { note: Some(note) });
        }
    }
    None
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.signup;
    if !settings.enabled {
        return Ok(Verdict::none());
    }
    let key = &cx.group.key;
    match &cx.event.kind {
        EventKind::MessagePosted { author, message } => {
            let Some(said) = classify(&cx.analysis.text, settings) else { return Ok(Verdict::none()) };
            let mut verdict = on_message(cx, author, message, said).await?;
            // A command or keyword this rule acted on is not also an FAQ question.
            verdict.suppress_replies = !verdict.proposals.is_empty() || !verdict.writes.is_empty();
            Ok(verdict)
        }
        EventKind::Tick { job } => {
            let Some(id) = job.strip_prefix(JOB_PREFIX) else { return Ok(Verdict::none()) };
            let Some(signup) = cx.store.get_signup(id).await?.filter(|s| s.is_open() && &s.group == key) else {
                return Ok(Verdict::none());
            };
            let entries = cx.store.signup_entries(id).await?;
            let mut out = Decision::default();
            if signup.closes_at.is_some_and(|t| t <= cx.now) {
                out.close(cx, &signup, &entries, CloseReason::Time, "engine");
            } else if signup.repost_due_at.is_some_and(|t| t <= cx.now) {
                out.post(cx, &signup, &entries, Posting::Coalesced);
            }
            Ok(out.verdict())
        }
        EventKind::OperatorCommand { operator, command } => {
            if let Some(json) = command.strip_prefix(START_COMMAND) {
                let Ok(start) = serde_json::from_str::<StartCommand>(json) else { return Ok(Verdict::none()) };
                if cx.store.get_signup(&start.id).await?.is_some() || cx.store.open_signup(key).await?.is_some() {
                    return Ok(Verdict::none());
                }
                let mut out = Decision::default();
                out.start(cx, start.id, start.title, start.limit, start.closes_at, operator.clone());
                return Ok(out.verdict());
            }
            if let Some(id) = command.strip_prefix(CLOSE_COMMAND) {
                let Some(signup) = cx.store.get_signup(id.trim()).await?.filter(|s| s.is_open() && &s.group == key) else {
                    return Ok(Verdict::none());
                };
                let entries = cx.store.signup_entries(&signup.id).await?;
                let mut out = Decision::default();
                out.close(cx, &signup, &entries, CloseReason::Manual, operator);
                return Ok(out.verdict());
            }
            Ok(Verdict::none())
        }
        _ => Ok(Verdict::none()),
    }
}

async fn on_message(cx: &RuleContext<'_>, author: &Member, message: &Message, said: Said) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.signup;
    let key = &cx.group.key;
    let open = cx.store.open_signup(key).await?;
    let mut out = Decision::default();
    let starter = format!("member:{}", author.id);
    match said {
        Said::Start { command, args } => {
            if settings.who_may_start == Starter::Staff && !author.role.is_staff() {
                out.reply(message, &settings.not_allowed_text, author, "", cx.locale.pick("无权发起接龙", "may not start a sign-up"));
            } else if let Some(open) = open {
                out.reply(message, &settings.already_open_text, author, &open.title, cx.locale.pick("已有进行中的接龙", "a sign-up is already open"));
            } else {
                match command::parse_start(&args, cx.now, cx.settings.timezone()) {
                    Ok(request) => {
                        let id = signup_id(key.connector.as_str(), &cx.event.origin.event_id);
                        out.start(cx, id, request.title, request.limit, request.closes_at, starter);
                    }
                    Err(error) => {
                        let text = error.message(cx.locale, &command);
                        out.proposals.push(proposal(
                            ActionKind::Reply { to: message.id.clone(), segments: vec![Segment::text(text)] },
                            cx.locale.pick("接龙命令格式有误", "malformed sign-up command").to_owned(),
                        ));
                    }
                }
            }
        }
        Said::Close => {
            let Some(open) = open else { return Ok(Verdict::none()) };
            if author.role.is_staff() || open.started_by == starter {
                let entries = cx.store.signup_entries(&open.id).await?;
                out.close(cx, &open, &entries, CloseReason::Manual, &starter);
            } else {
                out.reply(message, &settings.not_allowed_text, author, &open.title, cx.locale.pick("无权结束接龙", "may not close the sign-up"));
            }
        }
        Said::Withdraw => {
            let Some(open) = open else { return Ok(Verdict::none()) };
            let mut entries = cx.store.signup_entries(&open.id).await?;
            let Some(mine) = entries.iter_mut().find(|e| e.member == author.id && e.is_active()) else { return Ok(Verdict::none()) };
            mine.withdrawn_at = Some(cx.now);
            out.writes.push(SignupWrite::Withdraw { signup: open.id.clone(), member: author.id.clone(), at: cx.now });
            out.changed(cx, &open, &entries);
        }
        Said::Join { note } => {
            let Some(open) = open else {
                late_join(cx, author, message, &mut out).await?;
                return Ok(out.verdict());
            };
            let mut entries = cx.store.signup_entries(&open.id).await?;
            if let Some(mine) = entries.iter_mut().find(|e| e.member == author.id && e.is_active()) {
                if note.is_none() || mine.note == note {
                    return Ok(Verdict::none());
                }
                mine.note.clone_from(&note);
            } else {
                let count = numbered(&entries).len();
                if open.limit.is_some_and(|limit| count >= limit as usize) {
                    out.reply(message, &settings.closed_reply_text, author, &open.title, cx.locale.pick("接龙已满", "the sign-up is full"));
                    return Ok(out.verdict());
                }
                entries.retain(|e| e.member != author.id);
                entries.push(SignupEntry {
                    signup: open.id.clone(),
                    member: author.id.clone(),
                    name: author.name.clone(),
                    note: note.clone(),
                    joined_at: cx.now,
                    withdrawn_at: None,
                });
            }
            out.writes.push(SignupWrite::Join {
                signup: open.id.clone(),
                member: author.id.clone(),
                name: author.name.clone(),
                note,
                at: cx.now,
            });
            if open.limit.is_some_and(|limit| numbered(&entries).len() >= limit as usize) {
                out.close(cx, &open, &entries, CloseReason::Full, "engine");
            } else {
                out.changed(cx, &open, &entries);
            }
        }
    }
    Ok(out.verdict())
}

/// A join keyword shortly after the group's list closed gets a kind word; later ones are chat.
async fn late_join(cx: &RuleContext<'_>, author: &Member, message: &Message, out: &mut Decision) -> Result<(), RuleError> {
    let settings = &cx.settings.signup;
    if settings.closed_reply_window_secs == 0 {
        return Ok(());
    }
    let window = Duration::seconds(i64::try_from(settings.closed_reply_window_secs).unwrap_or(i64::MAX / 1_000_000));
    let latest = cx.store.list_signups(Some(&cx.group.key), Some(SignupStatus::Closed), 1).await?;
    if let Some(closed) = latest.first().filter(|s| s.closed_at.is_some_and(|at| cx.now - at <= window)) {
        out.reply(message, &settings.closed_reply_text, author, &closed.title, cx.locale.pick("接龙已结束", "the sign-up has closed"));
    }
    Ok(())
}

fn proposal(kind: ActionKind, explanation: String) -> Proposal {
    Proposal { kind, explanation, not_before: None, target: None }
}

/// Why a list is posted.
#[derive(Clone, Copy)]
enum Posting {
    Started,
    Changed,
    /// A throttled re-post at its tick, showing every change since the last post.
    Coalesced,
}

/// What the rule decided for one event.
#[derive(Default)]
struct Decision {
    proposals: Vec<Proposal>,
    writes: Vec<SignupWrite>,
}

impl Decision {
    fn verdict(self) -> Verdict {
        Verdict { proposals: self.proposals, writes: self.writes.into_iter().map(StateWrite::Signup).collect(), ..Verdict::none() }
    }

    fn reply(&mut self, message: &Message, text: &str, member: &Member, title: &str, why: &str) {
        let segments = template_text::render(text, settings::REPLY_PLACEHOLDERS, |name| match name {
            "name" => vec![mention(member)],
            "title" => vec![Segment::text(title)],
            _ => Vec::new(),
        });
        self.proposals.push(proposal(ActionKind::Reply { to: message.id.clone(), segments }, format!("{why}：{}", member.display_name())));
    }

    fn start(&mut self, cx: &RuleContext<'_>, id: String, title: String, limit: Option<u32>, closes_at: Option<DateTime<Utc>>, by: String) {
        let signup = Signup {
            id,
            group: cx.group.key.clone(),
            title,
            limit,
            closes_at,
            started_by: by,
            created_at: cx.now,
            status: SignupStatus::Open,
            close_reason: None,
            closed_at: None,
            closed_by: None,
            last_posted_at: Some(cx.now),
            repost_due_at: None,
        };
        self.writes.push(SignupWrite::Start(signup.clone()));
        self.post(cx, &signup, &[], Posting::Started);
    }

    /// After a change: post now, or leave it to the throttled re-post.
    fn changed(&mut self, cx: &RuleContext<'_>, signup: &Signup, entries: &[SignupEntry]) {
        let throttle = Duration::seconds(i64::try_from(cx.settings.signup.repost_throttle_secs).unwrap_or(i64::MAX / 1_000_000));
        match signup.last_posted_at {
            Some(last) if cx.now < last + throttle => {
                self.writes.push(SignupWrite::RepostDue { signup: signup.id.clone(), at: last + throttle });
            }
            _ => self.post(cx, signup, entries, Posting::Changed),
        }
    }

    fn post(&mut self, cx: &RuleContext<'_>, signup: &Signup, entries: &[SignupEntry], why: Posting) {
        let settings = &cx.settings.signup;
        let locale = cx.locale;
        let active = numbered(entries);
        let status = status_line(signup, active.len(), cx.settings.timezone(), locale);
        let segments = template_text::render(&settings.list_text, settings::LIST_PLACEHOLDERS, |name| match name {
            "title" => vec![Segment::text(&signup.title)],
            "entries" => vec![Segment::text(entries_text(entries, locale))],
            "status" => vec![Segment::text(&status)],
            "join" => vec![Segment::text(settings.join_keywords.first().map_or("", String::as_str))],
            "withdraw" => vec![Segment::text(settings.withdraw_keywords.first().map_or("", String::as_str))],
            _ => Vec::new(),
        });
        let what = match (why, locale) {
            (Posting::Started, Locale::ZhCn) => "发起接龙",
            (Posting::Started, Locale::En) => "sign-up started",
            (Posting::Changed, Locale::ZhCn) => "接龙有变化，更新名单",
            (Posting::Changed, Locale::En) => "the sign-up changed; list posted",
            (Posting::Coalesced, Locale::ZhCn) => "合并节流期间的变化，更新名单",
            (Posting::Coalesced, Locale::En) => "changes during the throttle, posted together",
        };
        let explanation = format!("{what}「{}」（{}）", signup.title, active.len());
        self.proposals.push(proposal(ActionKind::Send { segments }, explanation));
        self.writes.push(SignupWrite::Posted { signup: signup.id.clone(), at: cx.now });
    }

    fn close(&mut self, cx: &RuleContext<'_>, signup: &Signup, entries: &[SignupEntry], reason: CloseReason, by: &str) {
        let settings = &cx.settings.signup;
        let locale = cx.locale;
        let count = numbered(entries).len();
        let reason_text = match (reason, locale) {
            (CloseReason::Full, Locale::ZhCn) => "已满",
            (CloseReason::Full, Locale::En) => "full",
            (CloseReason::Time, Locale::ZhCn) => "已到截止时间",
            (CloseReason::Time, Locale::En) => "time's up",
            (CloseReason::Manual, Locale::ZhCn) => "提前结束",
            (CloseReason::Manual, Locale::En) => "closed early",
        };
        let segments = template_text::render(&settings.closed_text, settings::CLOSED_PLACEHOLDERS, |name| match name {
            "title" => vec![Segment::text(&signup.title)],
            "entries" => vec![Segment::text(entries_text(entries, locale))],
            "count" => vec![Segment::text(count.to_string())],
            "reason" => vec![Segment::text(reason_text)],
            _ => Vec::new(),
        });
        let explanation = format!("{}「{}」（{reason_text}，{count}）", locale.pick("接龙结束", "sign-up closed"), signup.title);
        self.proposals.push(proposal(ActionKind::Send { segments }, explanation));
        self.writes.push(SignupWrite::Close { signup: signup.id.clone(), reason, by: by.to_owned(), at: cx.now });
    }
}

fn mention(member: &Member) -> Segment {
    Segment::Mention { member: member.id.clone(), name: Some(member.display_name().to_owned()) }
}

/// The numbered list as the group sees it: names as text, so a re-post pings nobody.
pub fn entries_text(entries: &[SignupEntry], locale: Locale) -> String {
    let active = numbered(entries);
    if active.is_empty() {
        return locale.pick("（还没有人）", "(nobody yet)").to_owned();
    }
    active
        .into_iter()
        .map(|(n, e)| match e.note.as_deref().filter(|n| !n.is_empty()) {
            Some(note) => format!("{n}. {}{}", e.display_name(), locale.pick(&format!("（{note}）"), &format!(" ({note})"))),
            None => format!("{n}. {}", e.display_name()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `已报 3/20 人 · 截止 6月20日 20:00` / `3/20 signed up · closes Jun 20 20:00`.
pub fn status_line(signup: &Signup, count: usize, tz: chrono_tz::Tz, locale: Locale) -> String {
    let counted = match (signup.limit, locale) {
        (Some(limit), Locale::ZhCn) => format!("已报 {count}/{limit} 人"),
        (None, Locale::ZhCn) => format!("已报 {count} 人"),
        (Some(limit), Locale::En) => format!("{count}/{limit} signed up"),
        (None, Locale::En) => format!("{count} signed up"),
    };
    match signup.closes_at {
        Some(at) => format!("{counted} · {}{}", locale.pick("截止 ", "closes "), local_time(at, tz, locale)),
        None => counted,
    }
}

/// A time as the group reads it, in its timezone.
pub fn local_time(at: DateTime<Utc>, tz: chrono_tz::Tz, locale: Locale) -> String {
    let local = at.with_timezone(&tz);
    match locale {
        Locale::ZhCn => local.format("%-m月%-d日 %H:%M").to_string(),
        Locale::En => local.format("%b %-d %H:%M").to_string(),
    }
}

/// The job a list's tick carries.
pub fn job(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> Option<Said> {
        classify(text, &SignupSettings::default())
    }

    #[test]
    fn commands_keywords_and_notes_are_recognised() {
        assert_eq!(said("#接龙 周六羽毛球 限20人"), Some(Said::Start { command: "#接龙".into(), args: "周六羽毛球 限20人".into() }));
        assert_eq!(said("#接龙周六羽毛球"), Some(Said::Start { command: "#接龙".into(), args: "周六羽毛球".into() }));
        assert_eq!(said("#SignUp Picnic"), Some(Said::Start { command: "#signup".into(), args: "Picnic".into() }));
        assert_eq!(said("#signups"), None);
        assert_eq!(said("#结束接龙"), Some(Said::Close));
        assert_eq!(said(" 接龙 "), Some(Said::Join { note: None }));
        assert_eq!(said("＋１"), Some(Said::Join { note: None }), "full-width");
        assert_eq!(said("接龙 带2人"), Some(Said::Join { note: Some("带2人".into()) }));
        assert_eq!(said("取消接龙"), Some(Said::Withdraw));
        assert_eq!(said("-1"), Some(Said::Withdraw));
        assert_eq!(said("接龙吗？"), None, "a keyword inside a sentence is chat");
        assert_eq!(said("今天天气不错"), None);
        let long = said(&format!("报名 {}", "很".repeat(100))).unwrap();
        assert_eq!(long, Said::Join { note: Some("很".repeat(30)) }, "notes are cut");
    }

    #[test]
    fn the_list_is_numbered_without_withdrawn_members_and_notes_follow_names() {
        let at = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let entry = |member: &str, name: &str, note: Option<&str>, withdrawn: bool| SignupEntry {
            signup: "sg-1".into(),
            member: member.into(),
            name: Some(name.into()),
            note: note.map(String::from),
            joined_at: at,
            withdrawn_at: withdrawn.then_some(at),
        };
        let entries = [entry("a", "小王", None, false), entry("b", "小李", None, true), entry("c", "小张", Some("带2人"), false)];
        assert_eq!(entries_text(&entries, Locale::ZhCn), "1. 小王\n2. 小张（带2人）");
        assert_eq!(entries_text(&entries, Locale::En), "1. 小王\n2. 小张 (带2人)");
        assert_eq!(entries_text(&[], Locale::ZhCn), "（还没有人）");
    }

    #[test]
    fn ids_are_stable_per_event() {
        let a = signup_id("qq", &"e1".into());
        assert_eq!(a, signup_id("qq", &"e1".into()));
        assert_ne!(a, signup_id("qq", &"e2".into()));
        assert_ne!(a, signup_id("wx", &"e1".into()));
        assert_eq!(a.len(), 15);
    }
}
