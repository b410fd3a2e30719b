//! Auto-reply settings, as a template holds them, their checks, and the built-in FAQ.

use std::collections::BTreeMap;

use chrono::NaiveTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders an answer may use.
pub const PLACEHOLDERS: &[&str] = &["name", "group", "rules"];

/// The similarity an example question needs unless an entry says otherwise.
pub const DEFAULT_SIMILAR_THRESHOLD: f32 = 0.5;

/// Longest regular expression, compiled, in bytes (operators' patterns stay cheap).
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AutoReplySettings {
    /// Answer members' usual questions from the entries below. A question no entry matches
    /// is left for people to answer.
    pub enabled: bool,
    /// No auto-replies during these hours of the group's local time (`timezone`), written
    /// `HH:MM-HH:MM`, e.g. `"23:00-08:00"` (across midnight); empty: no quiet hours.
    pub quiet_hours: String,
    /// Answer owners' and admins' questions too (they usually ask to test).
    pub answer_staff: bool,
    /// FAQ entries by id (the id names the entry in statistics and audit rows). A message
    /// is answered by the entry whose trigger matches best; ties go to exact, contains,
    /// all-of, any-of, regex, then similar triggers, then to the first id.
    pub entries: BTreeMap<String, FaqEntry>,
}

/// One question and its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FaqEntry {
    /// Answer with this entry.
    pub enabled: bool,
    /// What makes a message this entry's question (any one trigger is enough).
    pub triggers: Triggers,
    /// The answer, sent as a reply quoting the question. Placeholders: `{name}` (a real
    /// @mention of the member who asked), `{group}` (the group's name), `{rules}` (the
    /// template's `rules_text`). Leave empty when `content` is set.
    pub answer: String,
    /// Answer with this content-library item (its id) instead of `answer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<i64>,
    /// After answering in a group, this entry stays silent there for this many seconds.
    pub cooldown_secs: u64,
    /// After answering a member, this entry does not answer them again for this many
    /// seconds (in that group).
    pub member_cooldown_secs: u64,
}

impl Default for FaqEntry {
    fn default() -> Self {
        Self { enabled: true, triggers: Triggers::default(), answer: String::new(), content: None, cooldown_secs: 60, member_cooldown_secs: 600 }
    }
}

/// Triggers compare the message folded: full-width → ASCII, traditional → simplified,
/// lower case, runs of spaces as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Triggers {
    /// The whole message is one of these (punctuation and spaces around it ignored).
    pub exact: Vec<String>,
    /// The message contains one of these phrases anywhere.
    pub contains: Vec<String>,
    /// The message contains every one of these keywords, in any order. A Latin keyword
    /// matches whole words only (`pay` is not in `paypal`).
    pub all_of: Vec<String>,
    /// The message contains at least one of these keywords (whole words for Latin ones).
    pub any_of: Vec<String>,
    /// Regular expressions (Rust `regex` syntax: linear time, no look-around) matched
    /// against the folded message, e.g. `"(几|多少)号.*(发货|到货)"`.
    pub regex: Vec<String>,
    /// Example questions: a message asking the same thing in other words matches (jieba
    /// words, synonyms, function words ignored; see `similar_threshold`). A message that does
    /// not read like a question (no 吗/怎么/几/?…) needs a similarity of 0.8.
    pub similar: Vec<String>,
    /// How similar (0–1) a message must be to one of `similar` to match; 1 is the same
    /// question. 0.5 answers close paraphrases and leaves questions that only share a
    /// function word (怎么报名 vs 怎么退货) alone.
    pub similar_threshold: f32,
}

impl Default for Triggers {
    fn default() -> Self {
        Self {
            exact: Vec::new(),
            contains: Vec::new(),
            all_of: Vec::new(),
            any_of: Vec::new(),
            regex: Vec::new(),
            similar: Vec::new(),
            similar_threshold: DEFAULT_SIMILAR_THRESHOLD,
        }
    }
}

impl Triggers {
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.contains.is_empty()
            && self.all_of.is_empty()
            && self.any_of.is_empty()
            && self.regex.is_empty()
            && self.similar.is_empty()
    }
}

impl Default for AutoReplySettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

fn entry(similar: &[&str], exact: &[&str], answer: &str) -> FaqEntry {
    FaqEntry {
        triggers: Triggers {
            similar: similar.iter().map(|s| (*s).to_owned()).collect(),
            exact: exact.iter().map(|s| (*s).to_owned()).collect(),
            ..Triggers::default()
        },
        answer: answer.to_owned(),
        ..FaqEntry::default()
    }
}

impl AutoReplySettings {
    /// A brand community's usual questions: returns, shipping, customer service, the rules.
    pub fn builtin(locale: Locale) -> Self {
        let entries = match locale {
            Locale::ZhCn => [
                (
                    "returns",
                    entry(
                        &["怎么退货", "退货流程是什么", "买的东西不合适可以退吗", "怎么申请退款"],
                        &[],
                        "{name} 您好～退货流程：打开订单 →「申请售后」→ 选择「退货退款」，审核通过后按页面上的地址寄回即可。签收 7 天内、不影响二次销售的商品都可以退哦。",
                    ),
                ),
                (
                    "shipping",
                    entry(
                        &["什么时候发货", "下单后多久发货", "发货时间", "几天能到货"],
                        &[],
                        "{name} 现货一般付款后 48 小时内发货（预售商品以商品页写的时间为准），发货后在订单里就能看到物流。",
                    ),
                ),
                (
                    "support",
                    entry(
                        &["客服联系方式", "怎么联系客服", "有人工客服吗", "售后找谁"],
                        &[],
                        "{name} 店铺首页点「联系客服」就能找到人工客服，在线时间每天 9:00–22:00；群里的管理员也会尽快回复。",
                    ),
                ),
                ("rules", entry(&["群规是什么", "群里有什么规定"], &["群规"], "{name} 本群群规：\n{rules}")),
            ],
            Locale::En => [
                (
                    "returns",
                    entry(
                        &["How do I return an item?", "What is your return policy?", "Can I get a refund?"],
                        &[],
                        "Hi {name}! To return an item: open the order → \"After-sales\" → \"Return and refund\", then ship it to the address shown once approved. Unused items can be returned within 7 days of delivery.",
                    ),
                ),
                (
                    "shipping",
                    entry(
                        &["When do you ship?", "How long does shipping take?", "When will my order arrive?"],
                        &[],
                        "{name} In-stock items ship within 48 hours of payment (pre-orders: see the product page); the tracking number appears in your order once shipped.",
                    ),
                ),
                (
                    "support",
                    entry(
                        &["How do I contact support?", "Is there customer service?", "Who can I talk to about my order?"],
                        &[],
                        "{name} Tap \"Contact us\" on the shop's home page to reach a person (daily 9:00–22:00); the admins here answer soon too.",
                    ),
                ),
                ("rules", entry(&["What are the group rules?"], &["rules"], "{name} The rules of this group:\n{rules}")),
            ],
        };
        Self {
            enabled: true,
            quiet_hours: String::new(),
            answer_staff: false,
            entries: entries.into_iter().map(|(id, entry)| (id.to_owned(), entry)).collect(),
        }
    }
}

/// Hours without auto-replies, in local time; `start > end` spans midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`; `Ok(None)` for an empty setting.
    ///
    /// # Errors
    /// What is wrong, in words for the operator.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let wrong = || format!("`{text}` is not a time range; write `HH:MM-HH:MM`, e.g. \"23:00-08:00\"");
        let (start, end) = text.split_once('-').ok_or_else(wrong)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| wrong());
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(format!("`{text}` starts and ends at the same time; leave it empty for no quiet hours"));
        }
        Ok(Some(Self { start, end }))
    }

    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end { self.start <= time && time < self.end } else { time >= self.start || time < self.end }
    }
}

/// Checks the settings; `path` is where they live.
pub fn validate(settings: &AutoReplySettings, path: &[&str]) -> Vec<Problem> {
    let at = |rest: &[&str]| -> Vec<String> { path.iter().chain(rest).map(|s| (*s).to_owned()).collect() };
    let mut problems = Vec::new();
    if let Err(message) = QuietHours::parse(&settings.quiet_hours) {
        problems.push(Problem::new(at(&["quiet_hours"]), message));
    }
    for (id, entry) in &settings.entries {
        let entry_path = |rest: &[&str]| -> Vec<String> { at(&["entries", id]).into_iter().chain(rest.iter().map(|s| (*s).to_owned())).collect() };
        if id.trim().is_empty() || id.chars().count() > 64 || id.chars().any(char::is_control) {
            problems.push(Problem::new(entry_path(&[]), "an entry id is 1–64 characters without control characters, e.g. `returns`"));
        }
        let triggers = &entry.triggers;
        if entry.enabled && triggers.is_empty() {
            problems.push(Problem::new(entry_path(&["triggers"]), "the entry is enabled but has no trigger; add `similar` example questions or keywords"));
        }
        let lists: [(&str, &Vec<String>); 5] = [
            ("exact", &triggers.exact),
            ("contains", &triggers.contains),
            ("all_of", &triggers.all_of),
            ("any_of", &triggers.any_of),
            ("similar", &triggers.similar),
        ];
        for (name, list) in lists {
            for (i, value) in list.iter().enumerate() {
                if qunzhu_text::normalize(value).chars().all(|c| !c.is_alphanumeric()) {
                    let index = format!("[{i}]");
                    problems.push(Problem::new(entry_path(&["triggers", name, &index]), "empty (or only punctuation): it would match nothing or everything"));
                }
            }
        }
        for (i, pattern) in triggers.regex.iter().enumerate() {
            if let Err(error) = compile_regex(pattern) {
                let index = format!("[{i}]");
                problems.push(Problem::new(entry_path(&["triggers", "regex", &index]), format!("not a valid regular expression: {error}")));
            }
        }
        if !(triggers.similar_threshold > 0.0 && triggers.similar_threshold <= 1.0) {
            problems.push(Problem::new(
                entry_path(&["triggers", "similar_threshold"]),
                format!("{} is not between 0 (exclusive) and 1; 0.5 is a good start", triggers.similar_threshold),
            ));
        }
        match (entry.content, entry.answer.trim().is_empty()) {
            (Some(_), false) => {
                problems.push(Problem::new(entry_path(&["answer"]), "write either `answer` or `content` (a content-library item), not both"));
            }
            (None, true) if entry.enabled => {
                problems.push(Problem::new(entry_path(&["answer"]), "the entry is enabled but has no answer; write `answer` or set `content`"));
            }
            (Some(id), true) if id < 1 => problems.push(Problem::new(entry_path(&["content"]), "content-library ids start at 1")),
            _ => {}
        }
        if let Err(message) = template_text::check(&entry.answer, PLACEHOLDERS) {
            problems.push(Problem::new(entry_path(&["answer"]), message));
        }
    }
    problems
}

/// Compiles an operator's pattern as matching uses it.
///
/// # Errors
/// The regex crate's message (syntax, or the pattern is too large).
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_may_span_midnight() {
        let night = QuietHours::parse("23:00-08:00").unwrap().unwrap();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(night.contains(t(23, 0)) && night.contains(t(2, 30)) && night.contains(t(7, 59)));
        assert!(!night.contains(t(8, 0)) && !night.contains(t(22, 59)) && !night.contains(t(12, 0)));
        let lunch = QuietHours::parse(" 12:00 - 13:30 ").unwrap().unwrap();
        assert!(lunch.contains(t(12, 45)) && !lunch.contains(t(13, 30)));
        assert_eq!(QuietHours::parse("").unwrap(), None);
        assert!(QuietHours::parse("23-8").unwrap_err().contains("HH:MM-HH:MM"));
        assert!(QuietHours::parse("08:00-08:00").is_err());
    }

    #[test]
    fn the_builtin_faq_validates_in_both_languages() {
        for locale in [Locale::ZhCn, Locale::En] {
            let settings = AutoReplySettings::builtin(locale);
            assert!(settings.entries.len() >= 3);
            assert_eq!(validate(&settings, &["auto_reply"]), Vec::new());
        }
    }

    #[test]
    fn a_bad_regex_is_reported_at_its_key_path_with_the_regex_error() {
        let mut settings = AutoReplySettings::builtin(Locale::ZhCn);
        let entry = settings.entries.get_mut("shipping").unwrap();
        entry.triggers.regex = vec!["(几|多少)号.*发货".into(), "发货(".into()];
        let problems = validate(&settings, &["templates", "default", "auto_reply"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].dotted_path(), "templates.default.auto_reply.entries.shipping.triggers.regex[1]");
        assert!(problems[0].message.contains("unclosed group"), "{}", problems[0].message);
    }

    #[test]
    fn an_entry_needs_triggers_and_exactly_one_answer() {
        let mut settings = AutoReplySettings { entries: BTreeMap::new(), ..AutoReplySettings::default() };
        settings.entries.insert("a".into(), FaqEntry::default());
        settings.entries.insert(
            "b".into(),
            FaqEntry {
                triggers: Triggers { contains: vec!["？".into()], similar_threshold: 1.5, ..Triggers::default() },
                answer: "hi {nmae}".into(),
                content: Some(3),
                ..FaqEntry::default()
            },
        );
        settings.quiet_hours = "night".into();
        let shown: Vec<String> = validate(&settings, &["auto_reply"]).iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 7, "{shown:#?}");
        assert!(shown[0].starts_with("auto_reply.quiet_hours:"), "{shown:#?}");
        assert!(shown[1].starts_with("auto_reply.entries.a.triggers: the entry is enabled but has no trigger"), "{shown:#?}");
        assert!(shown[2].starts_with("auto_reply.entries.a.answer: the entry is enabled but has no answer"), "{shown:#?}");
        assert!(shown[3].starts_with("auto_reply.entries.b.triggers.contains[0]: empty"), "{shown:#?}");
        assert!(shown[4].starts_with("auto_reply.entries.b.triggers.similar_threshold:"), "{shown:#?}");
        assert!(shown[5].contains("either `answer` or `content`"), "{shown:#?}");
        assert!(shown[6].contains("unknown placeholder `{nmae}`"), "{shown:#?}");
    }
}
