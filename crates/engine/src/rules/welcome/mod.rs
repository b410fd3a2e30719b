//! Welcome (仪式感): greet newcomers with a real @mention, the group's name, its rules, their
//! channel, tier and member number — one welcome for everyone who joins within a few seconds
//! of each other, in the text of their tier.
//!
//! Batching is durable: a join records a pending welcome ([`AdmissionWrite::Join`], committed
//! with the join), the scheduler's [`source`] submits one tick per group at first join +
//! `batch_window_secs`, and this rule, on that tick, sends one message per tier and marks
//! those joins welcomed in the same transaction. A crash before the tick's commit leaves the
//! welcomes pending (sent later, once); a crash after it leaves them welcomed (never twice),
//! and the tick's event id is deterministic, so a repeated scan is a duplicate.

pub mod source;

use std::collections::{BTreeMap, BTreeSet};

use qunzhu_core::admission::{AdmissionWrite, WelcomeJoin};
use qunzhu_core::{ActionKind, EventKind, Member, MemberId, Segment, StateWrite};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

/// Placeholders a welcome text may use.
pub const PLACEHOLDERS: &[&str] = &["name", "group", "rules", "inviter", "channel", "tier", "member_no"];

/// The tick job of a batched welcome.
pub const JOB: &str = "welcome";

/// The longest batching window.
pub const MAX_BATCH_WINDOW_SECS: u64 = 600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WelcomeSettings {
    /// Send a welcome message when someone joins.
    pub enabled: bool,
    /// The welcome text. Placeholders: `{name}` (a real @mention of the newcomer; in a batch,
    /// all the newcomers' mentions joined by "、"), `{group}` (the group's name), `{rules}`
    /// (the template's `rules_text`), `{inviter}` (who invited them, when known), `{channel}`
    /// (the channel they came through, when known), `{tier}` (its intent tier), `{member_no}`
    /// (their number in the group, 你是本群第N位成员; in a batch the range `N–M`). Write `{{`
    /// and `}}` for literal braces.
    pub text: String,
    /// Texts per intent tier (`strong`, `medium`, `weak` or a custom one) replacing `text`
    /// for newcomers whose channel has that tier; newcomers of other tiers get `text`.
    pub tiers: BTreeMap<String, TierWelcome>,
    /// Newcomers joining within this many seconds of the first get one welcome that mentions
    /// them all (one per tier text). 0 welcomes each newcomer at once. At most 600.
    pub batch_window_secs: u64,
}

/// A tier's own welcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TierWelcome {
    /// The welcome text for this tier; same placeholders as `welcome.text`.
    pub text: String,
}

impl Default for WelcomeSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl WelcomeSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            text: locale
                .pick(
                    "欢迎 {name} 加入「{group}」！🎉 你是本群第{member_no}位成员\n请先看看群规：\n{rules}\n欢迎做个简单的自我介绍～",
                    "Welcome {name} to {group}! 🎉 You are member no. {member_no}.\nPlease read the rules:\n{rules}\nFeel free to introduce yourself.",
                )
                .into(),
            tiers: BTreeMap::new(),
            batch_window_secs: 3,
        }
    }

    /// The text for newcomers of `tier`: the tier's own, else the default.
    pub fn text_for(&self, tier: Option<&str>) -> &str {
        tier.and_then(|t| self.tiers.get(t)).map_or(self.text.as_str(), |t| t.text.as_str())
    }
}

/// Checks a welcome's texts and window; `path` is where the settings live.
pub fn validate(settings: &WelcomeSettings, path: &[&str]) -> Vec<Problem> {
    let at = |keys: &[&str]| -> Vec<String> { path.iter().chain(keys).map(|s| (*s).to_owned()).collect() };
    let mut problems = Vec::new();
    let mut check_text = |text: &str, keys: &[&str]| {
        if settings.enabled && text.trim().is_empty() {
            problems.push(Problem::new(at(keys), "the welcome is enabled but its text is empty"));
        }
        if let Err(message) = template_text::check(text, PLACEHOLDERS) {
            problems.push(Problem::new(at(keys), message));
        }
    };
    check_text(&settings.text, &["text"]);
    for (tier, welcome) in &settings.tiers {
        check_text(&welcome.text, &["tiers", tier, "text"]);
    }
    if settings.batch_window_secs > MAX_BATCH_WINDOW_SECS {
        problems.push(Problem::new(
            at(&["batch_window_secs"]),
            format!("{} s is too long a batching window; use at most {MAX_BATCH_WINDOW_SECS} (0 welcomes at once)", settings.batch_window_secs),
        ));
    }
    problems
}

/// What a welcome says about its newcomers (one or a batch).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Newcomers {
    /// `(id, display name)` in joining order.
    pub members: Vec<(MemberId, String)>,
    pub inviters: Vec<String>,
    pub channels: Vec<String>,
    pub tier: Option<String>,
    /// The lowest and highest member numbers.
    pub numbers: Option<(u32, u32)>,
}

impl Newcomers {
    fn from_joins(joins: &[&WelcomeJoin]) -> Self {
        let mut newcomers = Self::default();
        let mut seen_inviters = BTreeSet::new();
        let mut seen_channels = BTreeSet::new();
        for join in joins {
            newcomers.members.push((join.member.clone(), join.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| join.member.to_string())));
            if let Some(inviter) = join.inviter.as_ref().filter(|i| seen_inviters.insert((*i).clone())) {
                newcomers.inviters.push(inviter.clone());
            }
            if let Some(channel) = join.channel.as_ref().filter(|c| seen_channels.insert((*c).clone())) {
                newcomers.channels.push(channel.clone());
            }
            newcomers.tier = newcomers.tier.take().or_else(|| join.tier.clone());
            if join.member_no > 0 {
                newcomers.numbers = Some(newcomers.numbers.map_or((join.member_no, join.member_no), |(lo, hi)| (lo.min(join.member_no), hi.max(join.member_no))));
            }
        }
        newcomers
    }

    fn member_no(&self) -> String {
        match self.numbers {
            Some((lo, hi)) if lo == hi => lo.to_string(),
            Some((lo, hi)) => format!("{lo}–{hi}"),
            None => String::new(),
        }
    }
}

/// Renders a welcome as message segments (`{name}` becomes real mentions joined by "、").
pub fn render(text: &str, newcomers: &Newcomers, group: &str, rules: &str) -> Vec<Segment> {
    template_text::render(text, PLACEHOLDERS, |name| match name {
        "name" => {
            let mut segments = Vec::new();
            for (i, (id, display)) in newcomers.members.iter().enumerate() {
                if i > 0 {
                    segments.push(Segment::text("、"));
                }
                segments.push(Segment::Mention { member: id.clone(), name: Some(display.clone()) });
            }
            segments
        }
        "group" => vec![Segment::text(group)],
        "rules" => vec![Segment::text(rules)],
        "inviter" => vec![Segment::text(newcomers.inviters.join("、"))],
        "channel" => vec![Segment::text(newcomers.channels.join("、"))],
        "tier" => vec![Segment::text(newcomers.tier.as_deref().unwrap_or(""))],
        "member_no" => vec![Segment::text(newcomers.member_no())],
        _ => Vec::new(),
    })
}

/// The join as recorded in the join log.
fn join_record(cx: &RuleContext<'_>, member: &Member, inviter: Option<&Member>, pending: bool) -> WelcomeJoin {
    let facts = cx.join.cloned().unwrap_or_default();
    WelcomeJoin {
        id: format!("{}/{}", cx.event.origin.connector, cx.event.origin.event_id),
        group: cx.group.key.clone(),
        member: member.id.clone(),
        name: member.name.clone(),
        inviter: inviter.map(|i| i.display_name().to_owned()),
        member_no: facts.member_no,
        channel: facts.channel.as_ref().map(|c| c.name.clone()),
        tier: facts.channel.as_ref().map(|c| c.tier.clone()),
        joined_at: cx.event.time,
        welcome_pending: pending,
        welcomed_at: (!pending).then_some(cx.now),
    }
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    match &cx.event.kind {
        EventKind::MemberJoined { member, inviter, .. } => Ok(on_join(cx, member, inviter.as_ref())),
        EventKind::Tick { job } if job == JOB => on_tick(cx).await,
        _ => Ok(Verdict::none()),
    }
}

/// Every join goes into the join log (join waves count it); the welcome is sent now, or
/// owed until the batch's tick.
fn on_join(cx: &RuleContext<'_>, member: &Member, inviter: Option<&Member>) -> Verdict {
    let settings = &cx.settings.welcome;
    let batched = settings.enabled && settings.batch_window_secs > 0;
    let record = join_record(cx, member, inviter, batched);
    let mut verdict = Verdict::none();
    if settings.enabled && !batched {
        let text = settings.text_for(record.tier.as_deref());
        let segments = render(text, &Newcomers::from_joins(&[&record]), cx.group_name(), &cx.settings.rules_text);
        let explanation = match cx.locale {
            Locale::ZhCn => format!("新成员 {} 入群，按模板「{}」发送欢迎语", member.display_name(), cx.template),
            Locale::En => format!("{} joined; welcome sent per template `{}`", member.display_name(), cx.template),
        };
        verdict = Verdict::propose(ActionKind::Send { segments }, explanation);
    }
    verdict.writes.push(StateWrite::Admission(AdmissionWrite::Join(record)));
    verdict
}

/// The batch's tick: one welcome per tier text for every join still owed one, and those
/// joins marked welcomed in the same commit.
async fn on_tick(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let pending = cx.store.pending_welcomes(&cx.group.key).await?;
    if pending.is_empty() {
        return Ok(Verdict::none());
    }
    let settings = &cx.settings.welcome;
    let mut verdict = Verdict::none();
    if settings.enabled {
        // One welcome per distinct text, in the order its first newcomer joined.
        let mut batches: Vec<(&str, Vec<&WelcomeJoin>)> = Vec::new();
        for join in &pending {
            let text = settings.text_for(join.tier.as_deref());
            match batches.iter_mut().find(|(t, _)| *t == text) {
                Some((_, joins)) => joins.push(join),
                None => batches.push((text, vec![join])),
            }
        }
        for (text, joins) in batches {
            let newcomers = Newcomers::from_joins(&joins);
            let names: Vec<&str> = newcomers.members.iter().map(|(_, n)| n.as_str()).collect();
            let explanation = match (cx.locale, names.as_slice()) {
                (Locale::ZhCn, [name]) => format!("新成员 {name} 入群，按模板「{}」发送欢迎语", cx.template),
                (Locale::En, [name]) => format!("{name} joined; welcome sent per template `{}`", cx.template),
                (Locale::ZhCn, _) => format!("{} 位新成员（{}）入群，合并发送一条欢迎语（模板「{}」）", names.len(), names.join("、"), cx.template),
                (Locale::En, _) => format!("{} newcomers ({}) joined; one welcome sent per template `{}`", names.len(), names.join(", "), cx.template),
            };
            verdict.proposals.push(Proposal {
                kind: ActionKind::Send { segments: render(text, &newcomers, cx.group_name(), &cx.settings.rules_text) },
                explanation,
                not_before: None,
                target: None,
            });
        }
    }
    let ids = pending.into_iter().map(|j| j.id).collect();
    verdict.writes.push(StateWrite::Admission(AdmissionWrite::Welcomed { group: cx.group.key.clone(), ids, at: cx.now }));
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(id: &str, name: &str) -> Newcomers {
        Newcomers { members: vec![(MemberId::new(id), name.into())], ..Newcomers::default() }
    }

    #[test]
    fn name_becomes_a_real_mention_and_the_rest_is_text() {
        let segments = render("欢迎 {name} 加入{group}！{rules}", &one("u1", "小王"), "粉丝1群", "禁止广告");
        assert_eq!(
            segments,
            vec![
                Segment::text("欢迎 "),
                Segment::Mention { member: "u1".into(), name: Some("小王".into()) },
                Segment::text(" 加入粉丝1群！禁止广告"),
            ]
        );
    }

    #[test]
    fn a_batch_mentions_everyone_joined_by_a_comma_and_numbers_them_as_a_range() {
        let newcomers = Newcomers {
            members: vec![(MemberId::new("u1"), "甲".into()), (MemberId::new("u2"), "乙".into())],
            numbers: Some((41, 42)),
            ..Newcomers::default()
        };
        let segments = render("{name} 第{member_no}位", &newcomers, "g", "r");
        assert_eq!(
            segments,
            vec![
                Segment::Mention { member: "u1".into(), name: Some("甲".into()) },
                Segment::text("、"),
                Segment::Mention { member: "u2".into(), name: Some("乙".into()) },
                Segment::text(" 第41–42位"),
            ]
        );
    }

    #[test]
    fn doubled_braces_are_literal_and_unknown_placeholders_are_rejected() {
        let newcomers = Newcomers { inviters: vec!["B".into()], ..one("u1", "A") };
        assert_eq!(render("{{hi}} {inviter}", &newcomers, "g", "r"), vec![Segment::text("{hi} B")]);
        let settings = |text: &str| WelcomeSettings { text: text.into(), ..WelcomeSettings::default() };
        let problems = validate(&settings("hi {nmae}"), &["welcome"]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("unknown placeholder `{nmae}`"), "{}", problems[0].message);
        assert!(problems[0].message.contains("{name}"));
        assert_eq!(validate(&settings("{name"), &[]).len(), 1);
        assert_eq!(validate(&settings(" "), &[]).len(), 1);
        assert!(validate(&WelcomeSettings { enabled: false, text: String::new(), ..WelcomeSettings::default() }, &[]).is_empty());
    }

    #[test]
    fn a_bad_tier_text_and_a_long_window_are_reported_at_their_keys() {
        let mut settings = WelcomeSettings { batch_window_secs: 3600, ..WelcomeSettings::default() };
        settings.tiers.insert("strong".into(), TierWelcome { text: "{nope}".into() });
        let problems = validate(&settings, &["templates", "default", "welcome"]);
        let paths: Vec<String> = problems.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["templates.default.welcome.tiers.strong.text", "templates.default.welcome.batch_window_secs"]);
    }
}
