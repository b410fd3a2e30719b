//! Sign-up list settings, as a template holds them: the commands and keywords, who may
//! start a list, the re-post throttle and the texts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::template_text;

/// Placeholders of the posted list.
pub const LIST_PLACEHOLDERS: &[&str] = &["title", "entries", "status", "join", "withdraw"];
/// Placeholders of the final post.
pub const CLOSED_PLACEHOLDERS: &[&str] = &["title", "entries", "count", "reason"];
/// Placeholders of the replies to one member.
pub const REPLY_PLACEHOLDERS: &[&str] = &["name", "title"];

/// Who may start a list with the group command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Starter {
    /// Owners and admins.
    Staff,
    Everyone,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignupSettings {
    /// Sign-up lists (接龙) in these groups: started by the command or the API, joined by keyword.
    pub enabled: bool,
    /// Who may start a list with the command: `staff` (owners and admins) or `everyone`.
    /// Staff and the member who started a list may close it.
    pub who_may_start: Starter,
    /// Commands that start a list: `<command> <title> [限20人] [截止 20:00]` (English:
    /// `[limit 20] [until 20:00]`); see docs/signups.md for every form.
    pub start_commands: Vec<String>,
    /// Commands that close the open list early (staff or its starter).
    pub close_commands: Vec<String>,
    /// A message that is one of these, alone or followed by a note (`接龙 带2人`), puts its
    /// sender on the open list (or changes their note).
    pub join_keywords: Vec<String>,
    /// A message that is one of these takes its sender off the open list.
    pub withdraw_keywords: Vec<String>,
    /// The list is re-posted after changes at most once per this many seconds; changes in
    /// between are coalesced into the next re-post (0: after every change).
    pub repost_throttle_secs: u64,
    /// Notes longer than this many characters are cut.
    pub max_note_chars: u32,
    /// A join keyword within this many seconds after a list closed gets `closed_reply_text`
    /// (0: never; later keywords are ordinary chat).
    pub closed_reply_window_secs: u64,
    /// The posted list. Placeholders: `{title}`, `{entries}` (the numbered list), `{status}`
    /// (count, limit and closing time), `{join}` and `{withdraw}` (the first keywords).
    pub list_text: String,
    /// The final post when a list closes. Placeholders: `{title}`, `{entries}`, `{count}`,
    /// `{reason}` (full, time's up, closed early).
    pub closed_text: String,
    /// The reply to a join keyword shortly after the list closed. Placeholders: `{name}` (an
    /// @mention), `{title}`.
    pub closed_reply_text: String,
    /// The reply to a member who may not start or close a list. Placeholders: `{name}`, `{title}`.
    pub not_allowed_text: String,
    /// The reply to a start command while a list is open. Placeholders: `{name}`, `{title}`
    /// (of the open list).
    pub already_open_text: String,
}

impl Default for SignupSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

impl SignupSettings {
    pub fn builtin(locale: Locale) -> Self {
        let (join, withdraw): (&[&str], &[&str]) = match locale {
            Locale::ZhCn => (&["接龙", "+1", "报名"], &["取消接龙", "取消报名", "-1"]),
            Locale::En => (&["+1", "join", "sign up"], &["-1", "withdraw", "cancel"]),
        };
        Self {
            enabled: true,
            who_may_start: Starter::Staff,
            start_commands: words(&["#接龙", "#signup"]),
            close_commands: words(&["#结束接龙", "#endsignup"]),
            join_keywords: words(join),
            withdraw_keywords: words(withdraw),
            repost_throttle_secs: 60,
            max_note_chars: 30,
            closed_reply_window_secs: 3600,
            list_text: locale
                .pick(
                    "📋 接龙：{title}\n{entries}\n{status}\n发送「{join}」参加（可加备注，如「{join} 带2人」），发送「{withdraw}」退出",
                    "📋 Sign-up: {title}\n{entries}\n{status}\nSend “{join}” to join (add a note: “{join} +2 friends”), “{withdraw}” to withdraw",
                )
                .into(),
            closed_text: locale
                .pick("✅ 接龙结束：{title}（{reason}）\n{entries}\n共 {count} 人", "✅ Sign-up closed: {title} ({reason})\n{entries}\n{count} signed up")
                .into(),
            closed_reply_text: locale.pick("{name} 接龙「{title}」已经结束了，下次早点哦～", "{name}, the “{title}” sign-up has closed.").into(),
            not_allowed_text: locale.pick("{name} 只有管理员或发起人可以发起或结束接龙", "{name}, only admins or its starter can start or close a sign-up").into(),
            already_open_text: locale
                .pick("{name} 接龙「{title}」还在进行中，请先结束它再发起新的", "{name}, the “{title}” sign-up is still open; close it before starting another")
                .into(),
        }
    }
}

/// Checks the commands, keywords and texts; `path` is where the settings live.
pub fn validate(settings: &SignupSettings, path: &[&str]) -> Vec<Problem> {
    let under = |key: &'static str| -> Vec<&str> { path.iter().copied().chain([key]).collect() };
    let mut problems = Vec::new();
    let lists: [(&'static str, &Vec<String>); 4] = [
        ("start_commands", &settings.start_commands),
        ("close_commands", &settings.close_commands),
        ("join_keywords", &settings.join_keywords),
        ("withdraw_keywords", &settings.withdraw_keywords),
    ];
    for (key, list) in lists {
        if settings.enabled && list.is_empty() {
            problems.push(Problem::at(&under(key), "sign-up lists are enabled but this list is empty"));
        }
        for word in list {
            if word.trim().is_empty() || word.trim() != word {
                problems.push(Problem::at(&under(key), format!("`{word}` is blank or has spaces around it")));
            }
        }
    }
    for command in settings.start_commands.iter().chain(&settings.close_commands) {
        if command.split_whitespace().count() > 1 {
            problems.push(Problem::at(&under("start_commands"), format!("the command `{command}` must be one word")));
        }
    }
    let join: Vec<String> = settings.join_keywords.iter().map(|k| super::fold(k)).collect();
    for keyword in &settings.withdraw_keywords {
        if join.contains(&super::fold(keyword)) {
            problems.push(Problem::at(&under("withdraw_keywords"), format!("`{keyword}` is also a join keyword")));
        }
    }
    let texts: [(&'static str, &str, &[&str]); 5] = [
        ("list_text", &settings.list_text, LIST_PLACEHOLDERS),
        ("closed_text", &settings.closed_text, CLOSED_PLACEHOLDERS),
        ("closed_reply_text", &settings.closed_reply_text, REPLY_PLACEHOLDERS),
        ("not_allowed_text", &settings.not_allowed_text, REPLY_PLACEHOLDERS),
        ("already_open_text", &settings.already_open_text, REPLY_PLACEHOLDERS),
    ];
    for (key, text, allowed) in texts {
        if settings.enabled && text.trim().is_empty() {
            problems.push(Problem::at(&under(key), "sign-up lists are enabled but this text is empty"));
        }
        if let Err(message) = template_text::check(text, allowed) {
            problems.push(Problem::at(&under(key), message));
        }
    }
    if settings.max_note_chars == 0 {
        problems.push(Problem::at(&under("max_note_chars"), "must be at least 1"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_settings_validate_in_both_languages() {
        for locale in [Locale::ZhCn, Locale::En] {
            let problems = validate(&SignupSettings::builtin(locale), &["signup"]);
            assert!(problems.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn clashing_keywords_bad_texts_and_multi_word_commands_are_reported_at_their_keys() {
        let settings = SignupSettings {
            withdraw_keywords: vec!["＋1".into()],
            start_commands: vec!["#接 龙".into()],
            closed_text: "{who}".into(),
            join_keywords: vec![" 报名".into(), "+1".into()],
            ..SignupSettings::default()
        };
        let problems = validate(&settings, &["signup"]);
        let paths: Vec<String> = problems.iter().map(Problem::dotted_path).collect();
        assert_eq!(paths, ["signup.join_keywords", "signup.start_commands", "signup.withdraw_keywords", "signup.closed_text"], "{problems:?}");
    }
}
