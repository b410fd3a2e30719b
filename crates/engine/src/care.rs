//! Care (用户思维): the decisions behind unanswered-question alerts and negative-emotion
//! outbreaks, as pure state over **event time**.
//!
//! [`CareTracker`] is one group's care state. It is fed every chat line ([`CareTracker::observe`],
//! in event order, times from the events' `at`) and asked what is due at a tick
//! ([`CareTracker::due`]); it answers with [`CareSignal`]s. Nothing here reads a clock, so a
//! replayed or imported conversation gives the same signals as a live one.
//!
//! # Questions
//! A member's line (not staff's) that [`qunzhu_text::question_cue`] takes for a question is
//! opened. A staff line (the settings' `staff_members`, or a line the caller marks as staff:
//! the group's owner and admins) answers:
//! 1. the question it replies to (quote-reply), else
//! 2. the open questions of every member it @mentions, else
//! 3. the group's **oldest** open question, when that was asked at most `unanswered_minutes`
//!    ago (staff speaking soon after a question, without quoting, is taken as the answer to the
//!    oldest one; a later question waits for its own answer).
//!
//! At `unanswered_minutes` after it was asked, a still-open question is due as
//! [`CareSignal::Unanswered`] (once); at `apology_minutes` (0: off) as [`CareSignal::Apology`]
//! (once). Answers carry the response time for the statistics ([`ResponseStats`]).
//!
//! # Outbreaks (负面情绪集体爆发)
//! Each member line is scored by [`qunzhu_text::sentiment`]. When a line is negative, the window
//! of the `outbreak_window_minutes` before it (event time) is an outbreak when either
//! - **count rule**: at least `outbreak_members` *distinct* members posted a negative line in
//!   it, and negative lines are at least `outbreak_min_share_percent` of the window's member
//!   lines (a lively debate with a few sharp words among many lines is not an outbreak); or
//! - **baseline rule**: the window holds at least `baseline_min_negatives` negative lines from
//!   at least two members, the trailing 7 days before the window hold at least
//!   [`BASELINE_MIN_LINES`] lines, and the window's negative ratio is at least
//!   `baseline_factor` × the trailing ratio (with the trailing ratio floored at 2 %).
//!
//! One member ranting, however long, is never an outbreak. After an outbreak, no other is
//! raised for `outbreak_cooldown_minutes` (event time): one outbreak, one alert.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use qunzhu_text::{Polarity, question_cue, sentiment};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;

/// Lines the trailing 7 days must hold before the baseline rule applies.
pub const BASELINE_MIN_LINES: usize = 50;

/// How long lines are kept for the baseline.
const BASELINE_DAYS: i64 = 7;

/// The `care` settings of a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CareSettings {
    /// Watch questions and negative outbreaks in the group.
    pub enabled: bool,
    /// Member ids counted as staff besides the group's owner and admins (their lines answer
    /// questions and never count as questions or complaints).
    pub staff_members: Vec<String>,
    /// Minutes after which a question nobody on staff answered raises a staff alert.
    pub unanswered_minutes: u32,
    /// Minutes after which the group gets `apology_text` for a still-unanswered question;
    /// 0 turns the apology off. Must be more than `unanswered_minutes` when on.
    pub apology_minutes: u32,
    /// The apology. Placeholders: `{name}` (the asker, mentioned).
    pub apology_text: String,
    /// Distinct members with a negative line within the window that make an outbreak.
    pub outbreak_members: u32,
    /// The outbreak window in minutes (event time).
    pub outbreak_window_minutes: u32,
    /// The least share (percent) of negative lines among the window's member lines for the
    /// count rule.
    pub outbreak_min_share_percent: u32,
    /// The baseline rule's factor: the window's negative ratio against the trailing 7 days'.
    pub baseline_factor: f64,
    /// The least negative lines in the window for the baseline rule.
    pub baseline_min_negatives: u32,
    /// Minutes after an outbreak during which no other is raised.
    pub outbreak_cooldown_minutes: u32,
}

impl Default for CareSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            staff_members: Vec::new(),
            unanswered_minutes: 10,
            apology_minutes: 0,
            apology_text: "{name} 抱歉让你久等了，你的问题我们已经看到，马上为你解答。".to_owned(),
            outbreak_members: 3,
            outbreak_window_minutes: 10,
            outbreak_min_share_percent: 30,
            baseline_factor: 3.0,
            baseline_min_negatives: 5,
            outbreak_cooldown_minutes: 60,
        }
    }
}

/// Checks the care settings; `path` is where they live.
pub fn validate(settings: &CareSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &str| -> Vec<String> { path.iter().copied().chain([key]).map(str::to_owned).collect() };
    let mut problems = Vec::new();
    if settings.unanswered_minutes == 0 {
        problems.push(Problem::new(at("unanswered_minutes"), "use at least 1 minute before an unanswered question raises an alert"));
    }
    if settings.apology_minutes != 0 && settings.apology_minutes <= settings.unanswered_minutes {
        problems.push(Problem::new(
            at("apology_minutes"),
            format!(
                "the apology ({} min) must come after the staff alert ({} min); raise it or use 0 to turn it off",
                settings.apology_minutes, settings.unanswered_minutes
            ),
        ));
    }
    if settings.apology_minutes != 0 && settings.apology_text.trim().is_empty() {
        problems.push(Problem::new(at("apology_text"), "the apology is on but its text is empty"));
    }
    if let Err(message) = crate::rules::template_text::check(&settings.apology_text, &["name"]) {
        problems.push(Problem::new(at("apology_text"), message));
    }
    if settings.outbreak_members < 2 {
        problems.push(Problem::new(at("outbreak_members"), "an outbreak needs at least 2 members (one person ranting is not one)"));
    }
    if settings.outbreak_window_minutes == 0 || settings.outbreak_window_minutes > 24 * 60 {
        problems.push(Problem::new(at("outbreak_window_minutes"), "use a window of 1 to 1440 minutes"));
    }
    if settings.outbreak_min_share_percent > 100 {
        problems.push(Problem::new(at("outbreak_min_share_percent"), "a share is at most 100 (percent)"));
    }
    if !(settings.baseline_factor.is_finite() && settings.baseline_factor >= 1.0) {
        problems.push(Problem::new(at("baseline_factor"), "use a factor of at least 1.0 (e.g. 3.0: three times the usual negative ratio)"));
    }
    if settings.baseline_min_negatives < 2 {
        problems.push(Problem::new(at("baseline_min_negatives"), "use at least 2"));
    }
    problems
}

/// One chat line as the tracker sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatLine {
    pub message_id: String,
    pub member: String,
    /// The member's display name, for alerts.
    pub name: String,
    /// The event's time.
    pub at: DateTime<Utc>,
    pub text: String,
    /// The group's owner or an admin (members in `staff_members` are staff too).
    pub staff: bool,
    /// The message this one quote-replies to.
    pub reply_to: Option<String>,
    /// Members it @mentions.
    pub mentions: Vec<String>,
}

/// A question waiting for staff.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenQuestion {
    pub message_id: String,
    pub member: String,
    pub name: String,
    pub at: DateTime<Utc>,
    pub text: String,
    /// Why it was taken for a question (zh-CN).
    pub cue: String,
    /// Staff were alerted (set by [`CareTracker::due`]).
    pub alerted: bool,
    /// The group got the apology.
    pub apologised: bool,
}

/// A negative line inside an outbreak.
#[derive(Clone, Debug, PartialEq)]
pub struct NegativeLine {
    pub message_id: String,
    pub member: String,
    pub name: String,
    pub at: DateTime<Utc>,
    pub text: String,
    pub score: f32,
}

/// Which rule found the outbreak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutbreakRule {
    Count,
    Baseline,
}

/// A collective outbreak of negative emotion.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbreak {
    pub rule: OutbreakRule,
    /// The negative lines of the window, oldest first.
    pub lines: Vec<NegativeLine>,
    /// Distinct members among them.
    pub members: usize,
    /// Member lines in the window.
    pub window_lines: usize,
    /// When the triggering line was posted.
    pub at: DateTime<Utc>,
}

impl Outbreak {
    /// The alert for staff: what happened, the messages, and a suggested response.
    pub fn alert_text(&self, locale: Locale, group: &str) -> String {
        let mut out = match locale {
            Locale::ZhCn => format!(
                "⚠️「{group}」负面情绪集体爆发：{} 分钟内 {} 位成员表达不满（{} 条中 {} 条负面）\n",
                self.span_minutes(),
                self.members,
                self.window_lines,
                self.lines.len()
            ),
            Locale::En => format!(
                "⚠️ Negative outbreak in {group}: {} members upset within {} min ({} of {} lines negative)\n",
                self.members,
                self.span_minutes(),
                self.lines.len(),
                self.window_lines
            ),
        };
        for line in &self.lines {
            out.push_str(&format!("· {}：{}\n", line.name, line.text));
        }
        out.push_str(locale.pick(
            "建议：尽快在群里公开回应并致歉（例如「大家反映的问题我们已经收到，非常抱歉给大家带来不便，正在处理，稍后同步进展」），再私聊每位反映问题的成员了解详情，并记入问题清单跟进。",
            "Suggested: acknowledge it in the group now and apologise (\"We have seen what you raised, we're sorry for the trouble and are on it — we'll post an update shortly\"), then contact each member privately and track it on the issue list.",
        ));
        out
    }

    fn span_minutes(&self) -> i64 {
        match (self.lines.first(), self.lines.last()) {
            (Some(a), Some(b)) => (b.at - a.at).num_minutes().max(1),
            _ => 0,
        }
    }
}

/// What the tracker decided.
#[derive(Clone, Debug, PartialEq)]
pub enum CareSignal {
    /// A member asked; record it.
    Asked(OpenQuestion),
    /// Staff answered; `after_secs` is the response time.
    Answered { question: OpenQuestion, by: String, after_secs: i64 },
    /// Nobody on staff answered within `unanswered_minutes`: alert staff.
    Unanswered(OpenQuestion),
    /// Still unanswered at `apology_minutes`: apologise in the group.
    Apology(OpenQuestion),
    /// A negative outbreak: alert staff and open a ticket.
    Outbreak(Outbreak),
}

#[derive(Clone, Debug)]
struct Seen {
    at: DateTime<Utc>,
    negative: Option<NegativeLine>,
}

/// One group's care state (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct CareTracker {
    /// Member lines of the last 7 days (event time), oldest first.
    seen: VecDeque<Seen>,
    open: Vec<OpenQuestion>,
    last_outbreak: Option<DateTime<Utc>>,
    /// `(lines, negative lines)` of the trailing 7 days before the window of the one line
    /// about to be observed, counted by the store ([`CareTracker::restore_window`]); `None`:
    /// counted from `seen`.
    baseline: Option<(usize, usize)>,
}

impl CareTracker {
    /// A tracker from stored state: the member lines of the last 7 days plus a window
    /// (`(time, the line when negative)`, oldest first), the open questions (oldest first) and
    /// the time of the last outbreak.
    pub fn restore(
        lines: impl IntoIterator<Item = (DateTime<Utc>, Option<NegativeLine>)>,
        open: Vec<OpenQuestion>,
        last_outbreak: Option<DateTime<Utc>>,
    ) -> Self {
        Self { seen: lines.into_iter().map(|(at, negative)| Seen { at, negative }).collect(), open, last_outbreak, baseline: None }
    }

    /// A tracker for observing **one** line at `at` without reading 7 days of lines: only the
    /// lines of the outbreak window before it (`[at − window, at]`), plus the trailing
    /// baseline as counts `(lines, negative lines)` of `[at − 7 days − window, at − window)`.
    /// Observing it gives the same signals as a tracker restored with every line.
    pub fn restore_window(
        window: impl IntoIterator<Item = (DateTime<Utc>, Option<NegativeLine>)>,
        baseline: (usize, usize),
        open: Vec<OpenQuestion>,
        last_outbreak: Option<DateTime<Utc>>,
    ) -> Self {
        Self { baseline: Some(baseline), ..Self::restore(window, open, last_outbreak) }
    }

    /// The open questions, oldest first.
    pub fn open_questions(&self) -> &[OpenQuestion] {
        &self.open
    }

    /// Feeds one chat line (in event order).
    pub fn observe(&mut self, line: &ChatLine, settings: &CareSettings) -> Vec<CareSignal> {
        if !settings.enabled {
            return Vec::new();
        }
        let staff = line.staff || settings.staff_members.contains(&line.member);
        if staff {
            return self.answer(line, settings);
        }
        let mut signals = Vec::new();
        if let Some(cue) = question_cue(&line.text) {
            let question = OpenQuestion {
                message_id: line.message_id.clone(),
                member: line.member.clone(),
                name: line.name.clone(),
                at: line.at,
                text: line.text.clone(),
                cue: cue.describe(true),
                alerted: false,
                apologised: false,
            };
            self.open.push(question.clone());
            signals.push(CareSignal::Asked(question));
        }
        let s = sentiment(&line.text);
        let negative = (s.label == Polarity::Negative).then(|| NegativeLine {
            message_id: line.message_id.clone(),
            member: line.member.clone(),
            name: line.name.clone(),
            at: line.at,
            text: line.text.clone(),
            score: s.score,
        });
        let is_negative = negative.is_some();
        self.seen.push_back(Seen { at: line.at, negative });
        let horizon = line.at - Duration::days(BASELINE_DAYS) - Duration::minutes(i64::from(settings.outbreak_window_minutes));
        while self.seen.front().is_some_and(|s| s.at < horizon) {
            self.seen.pop_front();
        }
        if is_negative && let Some(outbreak) = self.outbreak_at(line.at, settings) {
            self.last_outbreak = Some(line.at);
            signals.push(CareSignal::Outbreak(outbreak));
        }
        signals
    }

    fn answer(&mut self, line: &ChatLine, settings: &CareSettings) -> Vec<CareSignal> {
        let mut answered: Vec<usize> = Vec::new();
        if let Some(reply_to) = &line.reply_to {
            answered.extend(self.open.iter().position(|q| q.message_id == *reply_to));
        }
        if answered.is_empty() && !line.mentions.is_empty() {
            answered.extend(self.open.iter().enumerate().filter(|(_, q)| line.mentions.contains(&q.member)).map(|(i, _)| i));
        }
        if answered.is_empty()
            && line.reply_to.is_none()
            && line.mentions.is_empty()
            && self.open.first().is_some_and(|q| line.at - q.at <= Duration::minutes(i64::from(settings.unanswered_minutes)))
        {
            answered.push(0);
        }
        let mut signals = Vec::new();
        for i in answered.into_iter().rev() {
            let question = self.open.remove(i);
            let after_secs = (line.at - question.at).num_seconds().max(0);
            signals.push(CareSignal::Answered { question, by: line.member.clone(), after_secs });
        }
        signals.reverse();
        signals
    }

    fn outbreak_at(&self, at: DateTime<Utc>, settings: &CareSettings) -> Option<Outbreak> {
        if self.last_outbreak.is_some_and(|last| at - last < Duration::minutes(i64::from(settings.outbreak_cooldown_minutes))) {
            return None;
        }
        let start = at - Duration::minutes(i64::from(settings.outbreak_window_minutes));
        let window: Vec<&Seen> = self.seen.iter().filter(|s| s.at >= start && s.at <= at).collect();
        let lines: Vec<NegativeLine> = window.iter().filter_map(|s| s.negative.clone()).collect();
        let members = lines.iter().map(|l| l.member.as_str()).collect::<BTreeSet<_>>().len();
        let share_ok = lines.len() * 100 >= window.len() * settings.outbreak_min_share_percent as usize;
        let rule = if members >= settings.outbreak_members as usize && share_ok {
            Some(OutbreakRule::Count)
        } else {
            let (before, before_negative) = self.baseline.unwrap_or_else(|| {
                let before: Vec<&Seen> = self.seen.iter().filter(|s| s.at < start).collect();
                (before.len(), before.iter().filter(|s| s.negative.is_some()).count())
            });
            let trailing = before_negative as f64 / before.max(1) as f64;
            let ratio = lines.len() as f64 / window.len().max(1) as f64;
            (lines.len() >= settings.baseline_min_negatives as usize
                && members >= 2
                && before >= BASELINE_MIN_LINES
                && ratio >= settings.baseline_factor * trailing.max(0.02))
            .then_some(OutbreakRule::Baseline)
        }?;
        Some(Outbreak { rule, members, window_lines: window.len(), lines, at })
    }

    /// What is due at `now` (a tick's event time): alerts for questions open for
    /// `unanswered_minutes`, apologies at `apology_minutes`; each once per question.
    pub fn due(&mut self, now: DateTime<Utc>, settings: &CareSettings) -> Vec<CareSignal> {
        if !settings.enabled {
            return Vec::new();
        }
        let mut signals = Vec::new();
        for q in &mut self.open {
            let waited = now - q.at;
            if !q.alerted && waited >= Duration::minutes(i64::from(settings.unanswered_minutes)) {
                q.alerted = true;
                signals.push(CareSignal::Unanswered(q.clone()));
            }
            if settings.apology_minutes > 0 && !q.apologised && waited >= Duration::minutes(i64::from(settings.apology_minutes)) {
                q.apologised = true;
                signals.push(CareSignal::Apology(q.clone()));
            }
        }
        signals
    }
}

/// The staff alert for an unanswered question; `link` is its API address
/// (`/api/v1/questions/{id}`).
pub fn unanswered_alert(q: &OpenQuestion, locale: Locale, group: &str, waited_minutes: i64, link: &str) -> String {
    match locale {
        Locale::ZhCn => format!("❓「{group}」有问题 {waited_minutes} 分钟未回复：{}：{}\n查看：{link}", q.name, q.text),
        Locale::En => format!("❓ Unanswered for {waited_minutes} min in {group}: {}: {}\nOpen: {link}", q.name, q.text),
    }
}

/// Response-time figures for a group or a staff member.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResponseStats {
    pub asked: usize,
    pub answered: usize,
    /// `answered / asked` in percent (0 when nothing was asked).
    pub answered_percent: f64,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

impl ResponseStats {
    /// From the response times of answered questions and the number asked.
    pub fn from_times(mut times: Vec<i64>, asked: usize) -> Self {
        times.sort_unstable();
        let pick = |q: f64| -> Option<i64> {
            // Nearest rank.
            let n = times.len();
            (n > 0).then(|| times[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        Self {
            asked,
            answered: times.len(),
            answered_percent: if asked == 0 { 0.0 } else { times.len() as f64 * 100.0 / asked as f64 },
            median_secs: pick(0.5),
            p90_secs: pick(0.9),
        }
    }

    /// Per staff member from `(staff member, response secs)` pairs; `asked` is the group's
    /// count (a member's answered percent is their share of the group's questions).
    pub fn per_staff(answers: &[(String, i64)], asked: usize) -> BTreeMap<String, Self> {
        let mut by: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (staff, secs) in answers {
            by.entry(staff.clone()).or_default().push(*secs);
        }
        by.into_iter().map(|(staff, times)| (staff, Self::from_times(times, asked))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_bad_ones_are_named() {
        assert!(validate(&CareSettings::default(), &["care"]).is_empty());
        let bad = CareSettings { apology_minutes: 5, outbreak_members: 1, ..CareSettings::default() };
        let paths: Vec<String> = validate(&bad, &["care"]).iter().map(|p| p.dotted_path()).collect();
        assert_eq!(paths, ["care.apology_minutes", "care.outbreak_members"]);
    }

    #[test]
    fn response_stats_use_nearest_rank() {
        let s = ResponseStats::from_times(vec![60, 120, 30, 600, 90], 10);
        assert_eq!(s.median_secs, Some(90));
        assert_eq!(s.p90_secs, Some(600));
        assert!((s.answered_percent - 50.0).abs() < 1e-9);
        assert_eq!(ResponseStats::from_times(Vec::new(), 0).median_secs, None);
    }
}
