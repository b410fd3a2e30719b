//! Referral (裂变) and milestone (里程碑) settings, as a template holds them. Campaigns with
//! their own reward and period come through the API; referrals outside any campaign use
//! these.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders of the thank-you for a valid invite.
pub const THANKS_PLACEHOLDERS: &[&str] = &["inviter", "invitee", "group", "points"];
/// Placeholders of a milestone celebration.
pub const MILESTONE_PLACEHOLDERS: &[&str] = &["group", "count", "milestone", "name", "counter"];

/// The longest a stay or a window may be, in days.
pub const MAX_DAYS: u32 = 365;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReferralSettings {
    /// Record who invited whom (the platform's inviter, or a personal invite code given with
    /// the join or as the newcomer's first message) and reward valid invites.
    pub enabled: bool,
    /// Points the inviter gets when an invite becomes valid (ledger reason 邀请奖励); 0: none.
    pub reward_points: i64,
    /// Days the invitee must stay (and speak at least once) before the invite is valid; a
    /// leave before that voids it.
    pub stay_days: u32,
    /// Days after validation in which the invitee leaving takes the reward back (once).
    pub early_leave_days: u32,
    /// Thank the inviter in the group when an invite becomes valid.
    pub thank_inviter: bool,
    /// The thank-you. Placeholders: `{inviter}` (an @mention), `{invitee}`, `{group}`,
    /// `{points}` (the reward).
    pub thanks_text: String,
    /// Fraud flag: an invitee leaving within this many hours of joining.
    pub quick_leave_hours: u32,
    /// Fraud flag: at least this many look-alike names among one inviter's invitees (same
    /// prefix with different digits, or nearly the same name).
    pub lookalike_min: u32,
}

impl Default for ReferralSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl ReferralSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            reward_points: 10,
            stay_days: 3,
            early_leave_days: 7,
            thank_inviter: true,
            thanks_text: locale
                .pick(
                    "感谢 {inviter} 邀请 {invitee} 加入「{group}」！邀请已生效，奖励 {points} 积分 🎉",
                    "Thanks {inviter} for inviting {invitee} to {group}! The invite counts: {points} points 🎉",
                )
                .into(),
            quick_leave_hours: 24,
            lookalike_min: 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MilestoneSettings {
    /// Celebrate when the group crosses a threshold (once per threshold per group).
    pub enabled: bool,
    /// Member counts to celebrate (the newcomer's number, 你是本群第N位成员).
    pub member_counts: Vec<i64>,
    /// Totals of check-ins (签到) in the group to celebrate.
    pub check_in_totals: Vec<i64>,
    /// Totals of messages in the group to celebrate.
    pub message_totals: Vec<i64>,
    /// Thresholds of custom counters (fed by `POST /api/v1/counters/{name}/increment`), by
    /// counter name; a counter not listed uses `default_counter_thresholds`.
    pub counters: BTreeMap<String, Vec<i64>>,
    /// Thresholds of custom counters not listed in `counters`.
    pub default_counter_thresholds: Vec<i64>,
    /// Celebration of a member count. Placeholders: `{group}`, `{count}` (the count now),
    /// `{milestone}` (the threshold), `{name}` (an @mention of the member who crossed it).
    pub members_text: String,
    /// Celebration of a check-in total (placeholders as `members_text`).
    pub check_ins_text: String,
    /// Celebration of a message total (placeholders as `members_text`).
    pub messages_text: String,
    /// Celebration of a custom counter; also `{counter}` (its name). `{name}` is empty when
    /// the operator's API call crossed it.
    pub counter_text: String,
}

impl Default for MilestoneSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl MilestoneSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            member_counts: vec![100, 150, 200, 300, 500, 1000, 2000],
            check_in_totals: vec![100, 500, 1000, 5000, 10000],
            message_totals: vec![1000, 5000, 10000, 50000, 100_000],
            counters: BTreeMap::new(),
            default_counter_thresholds: vec![100, 500, 1000, 5000, 10000],
            members_text: locale
                .pick(
                    "🎉 「{group}」迎来第 {milestone} 位成员！欢迎 {name}，感谢大家一路相伴～",
                    "🎉 {group} has {milestone} members! Welcome {name}, and thank you all.",
                )
                .into(),
            check_ins_text: locale
                .pick("🎉 「{group}」累计签到突破 {milestone} 次！{name} 完成了这一次，大家继续坚持～", "🎉 {group} passed {milestone} check-ins! {name} made it happen.")
                .into(),
            messages_text: locale
                .pick("🎉 「{group}」累计消息突破 {milestone} 条！感谢每一位发言的朋友～", "🎉 {group} passed {milestone} messages! Thanks for every word.")
                .into(),
            counter_text: locale.pick("🎉 「{group}」的{counter}突破 {milestone}（当前 {count}）！感谢大家的支持～", "🎉 {group}: {counter} passed {milestone} (now {count})! Thank you.").into(),
        }
    }

    /// The thresholds of a custom counter.
    pub fn counter_thresholds(&self, name: &str) -> &[i64] {
        self.counters.get(name).unwrap_or(&self.default_counter_thresholds)
    }
}

fn with<'a>(path: &[&'a str], key: &'a str) -> Vec<&'a str> {
    path.iter().copied().chain([key]).collect()
}

fn check_text(text: &str, allowed: &[&str], path: Vec<&str>, enabled: bool, problems: &mut Vec<Problem>) {
    if enabled && text.trim().is_empty() {
        problems.push(Problem::at(&path, "the text is empty; write the message to send"));
    }
    if let Err(message) = template_text::check(text, allowed) {
        problems.push(Problem::at(&path, message));
    }
}

fn check_days(days: u32, path: Vec<&str>, problems: &mut Vec<Problem>) {
    if days > MAX_DAYS {
        problems.push(Problem::at(&path, format!("{days} days is more than the {MAX_DAYS} allowed")));
    }
}

/// Checks referral settings; `path` is where they live.
pub fn validate_referrals(settings: &ReferralSettings, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if settings.reward_points < 0 {
        problems.push(Problem::at(&with(path, "reward_points"), "the reward cannot be negative; write 0 for none"));
    }
    check_days(settings.stay_days, with(path, "stay_days"), &mut problems);
    check_days(settings.early_leave_days, with(path, "early_leave_days"), &mut problems);
    check_text(&settings.thanks_text, THANKS_PLACEHOLDERS, with(path, "thanks_text"), settings.thank_inviter, &mut problems);
    if settings.lookalike_min < 2 {
        problems.push(Problem::at(&with(path, "lookalike_min"), "at least 2 names are needed to look alike"));
    }
    problems
}

fn check_thresholds(values: &[i64], path: Vec<&str>, problems: &mut Vec<Problem>) {
    if values.iter().any(|v| *v <= 0) {
        problems.push(Problem::at(&path, "thresholds must be positive, e.g. [100, 200, 500]"));
    }
    if values.windows(2).any(|w| w[0] >= w[1]) {
        problems.push(Problem::at(&path, "thresholds must be in increasing order without repeats, e.g. [100, 200, 500]"));
    }
}

/// Checks milestone settings; `path` is where they live.
pub fn validate_milestones(settings: &MilestoneSettings, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_thresholds(&settings.member_counts, with(path, "member_counts"), &mut problems);
    check_thresholds(&settings.check_in_totals, with(path, "check_in_totals"), &mut problems);
    check_thresholds(&settings.message_totals, with(path, "message_totals"), &mut problems);
    check_thresholds(&settings.default_counter_thresholds, with(path, "default_counter_thresholds"), &mut problems);
    for (name, values) in &settings.counters {
        let mut at = with(path, "counters");
        at.push(name);
        if !super::valid_counter_name(name) {
            problems.push(Problem::at(&at, "a counter name is 1–40 letters, digits, `_`, `-` or `.`"));
        }
        check_thresholds(values, at, &mut problems);
    }
    let on = settings.enabled;
    check_text(&settings.members_text, MILESTONE_PLACEHOLDERS, with(path, "members_text"), on, &mut problems);
    check_text(&settings.check_ins_text, MILESTONE_PLACEHOLDERS, with(path, "check_ins_text"), on, &mut problems);
    check_text(&settings.messages_text, MILESTONE_PLACEHOLDERS, with(path, "messages_text"), on, &mut problems);
    check_text(&settings.counter_text, MILESTONE_PLACEHOLDERS, with(path, "counter_text"), on, &mut problems);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_settings_are_valid_in_both_languages() {
        for locale in [Locale::ZhCn, Locale::En] {
            assert!(validate_referrals(&ReferralSettings::builtin(locale), &["referrals"]).is_empty());
            assert!(validate_milestones(&MilestoneSettings::builtin(locale), &["milestones"]).is_empty());
        }
    }

    #[test]
    fn bad_thresholds_and_texts_are_reported_at_their_keys() {
        let mut settings = MilestoneSettings { member_counts: vec![200, 100], ..MilestoneSettings::default() };
        settings.counters.insert("orders".into(), vec![0]);
        settings.counter_text = "{nmae}".into();
        let paths: Vec<String> = validate_milestones(&settings, &["milestones"]).iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["milestones.member_counts", "milestones.counters.orders", "milestones.counter_text"]);
        let referrals = ReferralSettings { reward_points: -1, stay_days: 400, ..ReferralSettings::default() };
        let paths: Vec<String> = validate_referrals(&referrals, &["referrals"]).iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["referrals.reward_points", "referrals.stay_days"]);
    }
}
