//! Settings of check-ins, message points and levels, with their validation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders the check-in replies may use.
pub const CHECK_IN_PLACEHOLDERS: &[&str] = &["name", "points", "streak", "rank", "balance", "level"];
/// Placeholders the level-up announcement may use.
pub const LEVEL_PLACEHOLDERS: &[&str] = &["name", "level", "earned"];

/// Daily check-in (签到/打卡): once per member per local day in the group's timezone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CheckInSettings {
    /// Answer check-ins in this group.
    pub enabled: bool,
    /// A message that is exactly one of these words (spaces and punctuation ignored) is a
    /// check-in; `/checkin` always is.
    pub keywords: Vec<String>,
    /// Points for a check-in.
    pub points: i64,
    /// Extra points from a streak length on: the largest bonus whose `days` the streak has
    /// reached is added.
    pub streak_bonus: Vec<StreakBonus>,
    /// Words that use a make-up card (补签卡, bought in the points shop) to check in for
    /// yesterday. Only before today's check-in, so the streak carries on today.
    pub makeup_keywords: Vec<String>,
    /// Reply to a check-in. Placeholders: `{name}` (a real @mention), `{points}` (gained),
    /// `{streak}` (consecutive days), `{rank}` (today's N-th check-in here), `{balance}`
    /// (points now), `{level}` (the member's level title).
    pub reply: String,
    /// Reply to a second check-in on the same day (it awards nothing). Same placeholders.
    pub already_reply: String,
    /// Reply to a make-up check-in. Same placeholders.
    pub makeup_reply: String,
    /// Reply when a make-up is not possible (no card, yesterday already counted, or today
    /// already checked in). Placeholders: `{name}`.
    pub makeup_refused_reply: String,
}

/// A streak bonus step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreakBonus {
    /// Streak length (days) from which the bonus applies.
    pub days: u32,
    /// Extra points per check-in.
    pub bonus: i64,
}

/// Points for taking part in the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PointsSettings {
    /// Award points for messages.
    pub enabled: bool,
    /// Points per message.
    pub per_message: i64,
    /// At most this many message points per member per local day.
    pub message_daily_cap: i64,
    /// Messages shorter than this (in characters, spaces not counted) earn nothing, so
    /// "1" and "嗯" do not farm points.
    pub min_message_chars: usize,
    /// A message that is exactly one of these asks for the member's points.
    pub balance_keywords: Vec<String>,
    /// The answer. Placeholders: `{name}` (a real @mention), `{balance}`, `{earned}`,
    /// `{level}`, `{cards}` (make-up cards held).
    pub balance_reply: String,
    /// A message starting with one of these, followed by an item id or name, redeems it in
    /// the points shop (e.g. `兑换 补签卡`).
    pub redeem_prefixes: Vec<String>,
    /// The answer to a redemption. Placeholders: `{name}`, `{item}`, `{cost}`, `{balance}`.
    pub redeem_reply: String,
    /// The answer to a refused redemption. Placeholders: `{name}`, `{item}`, `{reason}`.
    pub redeem_refused_reply: String,
}

/// Placeholders of the balance answer.
pub const BALANCE_PLACEHOLDERS: &[&str] = &["name", "balance", "earned", "level", "cards"];
/// Placeholders of the redemption answer.
pub const REDEEM_PLACEHOLDERS: &[&str] = &["name", "item", "cost", "balance"];
/// Placeholders of the refused-redemption answer.
pub const REDEEM_REFUSED_PLACEHOLDERS: &[&str] = &["name", "item", "reason"];

/// Levels (等级): titles by points earned (spending never demotes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LevelSettings {
    /// Use levels.
    pub enabled: bool,
    /// The ladder, lowest first; the first step must start at 0.
    pub ladder: Vec<Level>,
    /// Announce a promotion in the group.
    pub announce: bool,
    /// The promotion announcement. Placeholders: `{name}` (a real @mention), `{level}` (the
    /// new title), `{earned}` (points earned so far).
    pub announce_text: String,
}

/// One step of the level ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Points earned from which this level holds.
    pub min_points: i64,
    /// The title, e.g. `骨干`.
    pub title: String,
}

impl Default for CheckInSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl CheckInSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            keywords: match locale {
                Locale::ZhCn => vec!["签到".into(), "打卡".into()],
                Locale::En => vec!["check in".into(), "checkin".into(), "签到".into()],
            },
            points: 5,
            streak_bonus: vec![StreakBonus { days: 3, bonus: 2 }, StreakBonus { days: 7, bonus: 5 }, StreakBonus { days: 30, bonus: 10 }],
            makeup_keywords: match locale {
                Locale::ZhCn => vec!["补签".into()],
                Locale::En => vec!["makeup".into(), "补签".into()],
            },
            reply: locale
                .pick(
                    "{name} 签到成功 ✅ +{points} 积分\n已连续签到 {streak} 天，今日第 {rank} 位签到\n当前积分 {balance}（{level}）",
                    "{name} checked in ✅ +{points} points\nStreak: {streak} days; #{rank} today\nBalance: {balance} ({level})",
                )
                .into(),
            already_reply: locale
                .pick(
                    "{name} 今天已经签到过啦，明天再来哦～（已连续 {streak} 天，当前积分 {balance}）",
                    "{name}, you already checked in today, see you tomorrow! (streak {streak}, balance {balance})",
                )
                .into(),
            makeup_reply: locale
                .pick(
                    "{name} 补签成功，已用 1 张补签卡 ✅ +{points} 积分，连续签到 {streak} 天",
                    "{name} made up yesterday with a make-up card ✅ +{points} points, streak {streak} days",
                )
                .into(),
            makeup_refused_reply: locale
                .pick(
                    "{name} 暂时不能补签：需要一张补签卡（积分商城兑换），且只能在今天签到之前补昨天",
                    "{name}, a make-up needs a make-up card (points shop) and only covers yesterday, before today's check-in",
                )
                .into(),
        }
    }

    /// The points a check-in pays at `streak` days.
    pub fn points_for(&self, streak: u32) -> i64 {
        let bonus = self.streak_bonus.iter().filter(|b| streak >= b.days).max_by_key(|b| b.days).map_or(0, |b| b.bonus);
        self.points + bonus
    }
}

impl Default for PointsSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl PointsSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            per_message: 1,
            message_daily_cap: 10,
            min_message_chars: 2,
            balance_keywords: match locale {
                Locale::ZhCn => vec!["积分".into(), "我的积分".into(), "查积分".into()],
                Locale::En => vec!["points".into(), "my points".into(), "积分".into()],
            },
            balance_reply: locale
                .pick("{name} 当前积分 {balance}（累计获得 {earned}，等级「{level}」），补签卡 {cards} 张", "{name}: {balance} points ({earned} earned, level {level}), {cards} make-up cards")
                .into(),
            redeem_prefixes: match locale {
                Locale::ZhCn => vec!["兑换".into()],
                Locale::En => vec!["redeem".into(), "兑换".into()],
            },
            redeem_reply: locale
                .pick("{name} 兑换「{item}」成功 🎁 扣除 {cost} 积分，剩余 {balance}。", "{name} redeemed {item} 🎁 for {cost} points; {balance} left.")
                .into(),
            redeem_refused_reply: locale.pick("{name} 兑换「{item}」未成功：{reason}", "{name}, {item} could not be redeemed: {reason}").into(),
        }
    }
}

impl Default for LevelSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl LevelSettings {
    pub fn builtin(locale: Locale) -> Self {
        let titles: [&str; 4] = match locale {
            Locale::ZhCn => ["新人", "活跃", "骨干", "元老"],
            Locale::En => ["Newcomer", "Regular", "Core", "Veteran"],
        };
        Self {
            enabled: true,
            ladder: [0, 50, 300, 1000].into_iter().zip(titles).map(|(min_points, title)| Level { min_points, title: title.into() }).collect(),
            announce: true,
            announce_text: locale
                .pick("🎉 恭喜 {name} 升级为「{level}」！累计获得 {earned} 积分，感谢一直以来的参与～", "🎉 {name} is now {level}! {earned} points earned so far, thank you!")
                .into(),
        }
    }

    /// The level held with `earned` points (`None` when levels are off or the ladder is empty).
    pub fn level_for(&self, earned: i64) -> Option<&Level> {
        if !self.enabled {
            return None;
        }
        self.ladder.iter().rev().find(|l| earned >= l.min_points).or(self.ladder.first())
    }
}

pub fn validate_check_in(settings: &CheckInSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &'static str| -> Vec<&str> { path.iter().copied().chain([key]).collect() };
    let mut problems = Vec::new();
    if settings.enabled && settings.keywords.iter().all(|k| k.trim().is_empty()) {
        problems.push(Problem::at(&at("keywords"), "check-in is enabled but has no keywords; add e.g. \"签到\""));
    }
    if settings.points < 0 {
        problems.push(Problem::at(&at("points"), "must be 0 or more"));
    }
    for (n, step) in settings.streak_bonus.iter().enumerate() {
        if step.days < 2 || step.bonus < 0 {
            let index = n.to_string();
            let p: Vec<&str> = path.iter().copied().chain(["streak_bonus", index.as_str()]).collect();
            problems.push(Problem::at(&p, "a streak bonus needs `days` of 2 or more and a `bonus` of 0 or more"));
        }
    }
    for (key, text, allowed) in [
        ("reply", &settings.reply, CHECK_IN_PLACEHOLDERS),
        ("already_reply", &settings.already_reply, CHECK_IN_PLACEHOLDERS),
        ("makeup_reply", &settings.makeup_reply, CHECK_IN_PLACEHOLDERS),
        ("makeup_refused_reply", &settings.makeup_refused_reply, &["name"][..]),
    ] {
        if let Err(message) = template_text::check(text, allowed) {
            problems.push(Problem::at(&at(key), message));
        }
    }
    problems
}

pub fn validate_points(settings: &PointsSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &'static str| -> Vec<&str> { path.iter().copied().chain([key]).collect() };
    let mut problems = Vec::new();
    if settings.per_message < 0 {
        problems.push(Problem::at(&at("per_message"), "must be 0 or more"));
    }
    if settings.message_daily_cap < 0 {
        problems.push(Problem::at(&at("message_daily_cap"), "must be 0 or more"));
    }
    for (key, text, allowed) in [
        ("balance_reply", &settings.balance_reply, BALANCE_PLACEHOLDERS),
        ("redeem_reply", &settings.redeem_reply, REDEEM_PLACEHOLDERS),
        ("redeem_refused_reply", &settings.redeem_refused_reply, REDEEM_REFUSED_PLACEHOLDERS),
    ] {
        if let Err(message) = template_text::check(text, allowed) {
            problems.push(Problem::at(&at(key), message));
        }
    }
    problems
}

pub fn validate_levels(settings: &LevelSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &'static str| -> Vec<&str> { path.iter().copied().chain([key]).collect() };
    let mut problems = Vec::new();
    if settings.enabled {
        match settings.ladder.first() {
            None => problems.push(Problem::at(&at("ladder"), "levels are enabled but the ladder is empty")),
            Some(first) if first.min_points != 0 => {
                problems.push(Problem::at(&at("ladder"), "the first level must start at `min_points = 0`"));
            }
            Some(_) => {}
        }
        if settings.ladder.windows(2).any(|w| w[1].min_points <= w[0].min_points) {
            problems.push(Problem::at(&at("ladder"), "levels must be listed lowest first, each with more `min_points` than the one before"));
        }
        if settings.ladder.iter().any(|l| l.title.trim().is_empty()) {
            problems.push(Problem::at(&at("ladder"), "every level needs a title"));
        }
    }
    if let Err(message) = template_text::check(&settings.announce_text, LEVEL_PLACEHOLDERS) {
        problems.push(Problem::at(&at("announce_text"), message));
    }
    problems
}
