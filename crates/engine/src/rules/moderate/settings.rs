//! Moderation settings, as a template holds them, and the penalty ladder.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;

/// Who a detector applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Off,
    /// Only members still in their first messages / first days (strict newcomer checks).
    Newcomers,
    Everyone,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ModerationSettings {
    /// Check messages for ads, spam and abuse.
    pub enabled: bool,
    /// Decide and record everything, act on nothing (try rules safely).
    pub dry_run: bool,
    /// Owners and admins are never moderated.
    pub exempt_staff: bool,
    /// Lexicon categories that count as violations: ad, scam, porn, gambling, abuse,
    /// politics, custom.
    pub categories: Vec<String>,
    /// Extra words per category for this template, e.g. `{ ad = ["某某优惠群"] }`.
    pub custom_words: BTreeMap<String, Vec<String>>,
    /// Words that are always fine here (a hit inside one of them is ignored), e.g. `微信支付`.
    pub allow_words: Vec<String>,
    /// Links: `off`, `newcomers` (links from newcomers count) or `everyone`.
    pub links: Scope,
    /// Domains whose links are always fine (the school's own site…).
    pub allowed_domains: Vec<String>,
    /// Phone numbers, WeChat and QQ ids (in any evasive spelling): `off`, `newcomers`, `everyone`.
    pub contacts: Scope,
    /// Mini-program, business-card and red-packet-like cards: `off`, `newcomers`, `everyone`.
    pub cards: Scope,
    /// @all (@全体成员) by a member who is not staff is a violation.
    pub mention_all: bool,
    /// More emoji than this in one message counts as spam (0: no limit).
    pub max_emoji: u32,
    /// A run of the same character longer than this counts as spam (0: no limit).
    pub max_repeat: u32,
    /// Spam classifier probability at or above which a message is spam (0.5–1.0; 1.0 turns
    /// the classifier off).
    pub spam_threshold: f32,
    /// Flooding: more than this many messages within `flood_window_secs` (0: off).
    pub flood_messages: u32,
    /// The flooding window, in seconds.
    pub flood_window_secs: u64,
    /// A spam wave: the same text from at least this many members (in any group) within
    /// `wave_window_secs` (0: off).
    pub wave_members: u32,
    /// The spam-wave window, in seconds.
    pub wave_window_secs: u64,
    /// A member who joined is a newcomer for this many first messages…
    pub newcomer_messages: u32,
    /// …or this many days after joining; newcomers are checked strictly.
    pub newcomer_days: u32,
    /// The penalty ladder: the n-th violation (within `decay_days`) gets step n (the last
    /// step repeats). Steps combine with `+`: `warn`, `warn_private`, `delete`,
    /// `mute:<duration>` (`10m`, `1h`, `1d`, `30s`), `kick`, `blacklist`.
    pub ladder: Vec<String>,
    /// Violations older than this many days no longer count.
    pub decay_days: u32,
    /// The warning. Placeholders: `{name}` (an @mention), `{category}`, `{count}` (this
    /// violation's number), `{penalty}` (what was done), `{days}` (`decay_days`).
    pub warn_text: String,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl ModerationSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            dry_run: false,
            exempt_staff: true,
            categories: ["ad", "scam", "porn", "gambling", "abuse", "politics", "custom"].map(String::from).to_vec(),
            custom_words: BTreeMap::new(),
            allow_words: Vec::new(),
            links: Scope::Newcomers,
            allowed_domains: Vec::new(),
            contacts: Scope::Everyone,
            cards: Scope::Newcomers,
            mention_all: true,
            max_emoji: 20,
            max_repeat: 30,
            spam_threshold: 0.9,
            flood_messages: 8,
            flood_window_secs: 10,
            wave_members: 3,
            wave_window_secs: 300,
            newcomer_messages: 5,
            newcomer_days: 3,
            ladder: ["delete+warn", "delete+mute:10m", "delete+mute:1h", "delete+mute:1d", "delete+kick", "delete+blacklist"]
                .map(String::from)
                .to_vec(),
            decay_days: 30,
            warn_text: locale
                .pick(
                    "{name} 请勿发送{category}内容，消息已处理（{penalty}）。这是你 {days} 天内第 {count} 次违规，多次违规将被禁言或移出群聊。",
                    "{name}, please don't post {category} here; the message was handled ({penalty}). This is violation {count} in {days} days; repeated violations lead to a mute or removal.",
                )
                .into(),
        }
    }

    /// The ladder, parsed. Validation keeps bad steps out of the rulebook; any that slip by
    /// are skipped.
    pub fn steps(&self) -> Vec<Step> {
        self.ladder.iter().filter_map(|s| Step::parse(s).ok()).collect()
    }
}

/// One rung of the ladder: what happens for the n-th violation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub warn: bool,
    pub warn_private: bool,
    pub delete: bool,
    pub mute_secs: Option<u64>,
    pub kick: bool,
    pub blacklist: bool,
}

impl Step {
    /// Parses `delete+mute:10m`.
    ///
    /// # Errors
    /// A message naming the bad part and what is allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut step = Step::default();
        for part in text.split('+').map(str::trim) {
            match part {
                "warn" => step.warn = true,
                "warn_private" => step.warn_private = true,
                "delete" => step.delete = true,
                "kick" => step.kick = true,
                "blacklist" => step.blacklist = true,
                _ => match part.strip_prefix("mute:") {
                    Some(duration) => step.mute_secs = Some(parse_duration(duration)?),
                    None => {
                        return Err(format!(
                            "unknown penalty `{part}`; allowed: warn, warn_private, delete, mute:<duration> (e.g. mute:10m), kick, blacklist"
                        ));
                    }
                },
            }
        }
        Ok(step)
    }

    /// Whether the step removes the member (kick or blacklist).
    pub fn removes(&self) -> bool {
        self.kick || self.blacklist
    }

    /// The step in words, for the warning and the audit log.
    pub fn describe(&self, locale: Locale) -> String {
        let mut parts = Vec::new();
        if self.delete {
            parts.push(locale.pick("删除消息", "message deleted").to_owned());
        }
        if let Some(secs) = self.mute_secs {
            let length = crate::planner::human_duration(secs, locale);
            parts.push(match locale {
                Locale::ZhCn => format!("禁言 {length}"),
                Locale::En => format!("muted for {length}"),
            });
        }
        if self.kick {
            parts.push(locale.pick("移出群聊", "removed from the group").to_owned());
        }
        if self.blacklist {
            parts.push(locale.pick("拉黑（所有群）", "banned from every group").to_owned());
        }
        if parts.is_empty() {
            parts.push(locale.pick("警告", "warning").to_owned());
        }
        parts.join(locale.pick("、", ", "))
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.warn {
            parts.push("warn".to_owned());
        }
        if self.warn_private {
            parts.push("warn_private".to_owned());
        }
        if self.delete {
            parts.push("delete".to_owned());
        }
        if let Some(secs) = self.mute_secs {
            parts.push(format!("mute:{secs}s"));
        }
        if self.kick {
            parts.push("kick".to_owned());
        }
        if self.blacklist {
            parts.push("blacklist".to_owned());
        }
        f.write_str(&parts.join("+"))
    }
}

/// `30s`, `10m`, `2h`, `1d` (or plain seconds).
fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration; write e.g. 30s, 10m, 1h or 1d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("`{text}` has an unknown unit; use s, m, h or d")),
    };
    if n == 0 {
        return Err("a mute must last at least one second".into());
    }
    Ok(n * factor)
}

/// Placeholders a warning may use.
pub const WARN_PLACEHOLDERS: &[&str] = &["name", "category", "count", "penalty", "days"];

/// Checks the settings; `path` is where they live.
pub fn validate(settings: &ModerationSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &str| -> Vec<String> { path.iter().map(|s| (*s).to_owned()).chain([key.to_owned()]).collect() };
    let mut problems = Vec::new();
    const CATEGORIES: &[&str] = &["ad", "scam", "porn", "gambling", "abuse", "politics", "custom"];
    for (i, category) in settings.categories.iter().enumerate() {
        if !CATEGORIES.contains(&category.as_str()) {
            let mut p = at("categories");
            p.push(format!("[{i}]"));
            problems.push(Problem::new(p, format!("unknown category `{category}`; allowed: {}", CATEGORIES.join(", "))));
        }
    }
    for (category, words) in &settings.custom_words {
        let mut p = at("custom_words");
        p.push(category.clone());
        if !CATEGORIES.contains(&category.as_str()) {
            problems.push(Problem::new(p.clone(), format!("unknown category `{category}`; allowed: {}", CATEGORIES.join(", "))));
        }
        if words.iter().any(|w| w.trim().chars().count() < 2) {
            problems.push(Problem::new(p, "custom words need at least two characters (single characters would flag ordinary chat)"));
        }
    }
    if !(0.5..=1.0).contains(&settings.spam_threshold) {
        problems.push(Problem::new(at("spam_threshold"), format!("{} is out of range; use 0.5 to 1.0 (1.0 turns the classifier off)", settings.spam_threshold)));
    }
    if settings.ladder.is_empty() {
        problems.push(Problem::new(at("ladder"), "the ladder needs at least one step, e.g. [\"delete+warn\"]"));
    }
    for (i, step) in settings.ladder.iter().enumerate() {
        if let Err(message) = Step::parse(step) {
            let mut p = at("ladder");
            p.push(format!("[{i}]"));
            problems.push(Problem::new(p, message));
        }
    }
    if settings.flood_messages > 0 && settings.flood_window_secs == 0 {
        problems.push(Problem::new(at("flood_window_secs"), "must be at least 1 when flood_messages is set"));
    }
    if settings.wave_members == 1 {
        problems.push(Problem::new(at("wave_members"), "a wave needs at least 2 members (0 turns it off)"));
    }
    if let Err(message) = crate::rules::template_text::check(&settings.warn_text, WARN_PLACEHOLDERS) {
        problems.push(Problem::new(at("warn_text"), message));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_steps_parse_and_describe_themselves() {
        let step = Step::parse("delete+mute:10m").unwrap();
        assert_eq!(step, Step { delete: true, mute_secs: Some(600), ..Step::default() });
        assert_eq!(step.describe(Locale::ZhCn), "删除消息、禁言 10 分钟");
        assert_eq!(step.to_string(), "delete+mute:600s");
        assert!(Step::parse("delete+jail").unwrap_err().contains("unknown penalty `jail`"));
        assert!(Step::parse("mute:10y").unwrap_err().contains("unknown unit"));
        assert!(Step::parse("mute:0m").is_err());
    }

    #[test]
    fn the_builtin_settings_validate_and_bad_ones_are_all_reported() {
        assert!(validate(&ModerationSettings::builtin(Locale::ZhCn), &[]).is_empty());
        assert!(validate(&ModerationSettings::builtin(Locale::En), &[]).is_empty());
        let bad = ModerationSettings {
            categories: vec!["ads".into()],
            spam_threshold: 0.2,
            ladder: vec!["warn".into(), "explode".into()],
            warn_text: "{nam}".into(),
            ..ModerationSettings::default()
        };
        let problems = validate(&bad, &["moderation"]);
        let paths: Vec<String> = problems.iter().map(Problem::dotted_path).collect();
        assert_eq!(paths, vec!["moderation.categories[0]", "moderation.spam_threshold", "moderation.ladder[1]", "moderation.warn_text"]);
    }
}
