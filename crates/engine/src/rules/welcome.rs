//! Welcome: greet each newcomer with a real @mention, the group's name and its rules.

use qunzhu_core::{ActionKind, EventKind, Member, Segment};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::{template_text, RuleContext, Verdict};

/// Placeholders a welcome text may use.
pub const PLACEHOLDERS: &[&str] = &["name", "group", "rules", "inviter"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WelcomeSettings {
    /// Send a welcome message when someone joins.
    pub enabled: bool,
    /// The welcome text. Placeholders: `{name}` (a real @mention of the newcomer), `{group}`
    /// (the group's name), `{rules}` (the template's `rules_text`), `{inviter}` (who invited
    /// them, when known). Write `{{` and `}}` for literal braces.
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
                    "欢迎 {name} 加入「{group}」！🎉\n请先看看群规：\n{rules}\n欢迎做个简单的自我介绍～",
                    "Welcome {name} to {group}! 🎉\nPlease read the rules:\n{rules}\nFeel free to introduce yourself.",
                )
                .into(),
        }
    }
}

/// Checks a welcome text; `path` is where the settings live.
pub fn validate(settings: &WelcomeSettings, path: &[&str]) -> Vec<Problem> {
    let mut text_path: Vec<&str> = path.to_vec();
    text_path.push("text");
    let mut problems = Vec::new();
    if settings.enabled && settings.text.trim().is_empty() {
        problems.push(Problem::at(&text_path, "the welcome is enabled but its text is empty"));
    }
    if let Err(message) = template_text::check(&settings.text, PLACEHOLDERS) {
        problems.push(Problem::at(&text_path, message));
    }
    problems
}

/// Renders a welcome for `member` as message segments (`{name}` becomes a real mention).
pub fn render(text: &str, member: &Member, inviter: Option<&Member>, group: &str, rules: &str) -> Vec<Segment> {
    template_text::render(text, PLACEHOLDERS, |name| match name {
        "name" => vec![Segment::Mention { member: member.id.clone(), name: Some(member.display_name().to_owned()) }],
        "group" => vec![Segment::text(group)],
        "rules" => vec![Segment::text(rules)],
        "inviter" => vec![Segment::text(inviter.map_or("", Member::display_name))],
        _ => Vec::new(),
    })
}

pub fn evaluate(cx: &RuleContext<'_>) -> Verdict {
    let EventKind::MemberJoined { member, inviter, .. } = &cx.event.kind else {
        return Verdict::none();
    };
    let settings = &cx.settings.welcome;
    if !settings.enabled {
        return Verdict::none();
    }
    let segments = render(&settings.text, member, inviter.as_ref(), cx.group_name(), &cx.settings.rules_text);
    let explanation = match cx.locale {
        Locale::ZhCn => format!("新成员 {} 入群，按模板「{}」发送欢迎语", member.display_name(), cx.template),
        Locale::En => format!("{} joined; welcome sent per template `{}`", member.display_name(), cx.template),
    };
    Verdict::propose(ActionKind::Send { segments }, explanation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_becomes_a_real_mention_and_the_rest_is_text() {
        let member = Member::new("u1", "小王");
        let segments = render("欢迎 {name} 加入{group}！{rules}", &member, None, "粉丝1群", "禁止广告");
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
    fn doubled_braces_are_literal_and_unknown_placeholders_are_rejected() {
        let member = Member::new("u1", "A");
        assert_eq!(render("{{hi}} {inviter}", &member, Some(&Member::new("u2", "B")), "g", "r"), vec![Segment::text("{hi} B")]);
        let problems = validate(&WelcomeSettings { enabled: true, text: "hi {nmae}".into() }, &["welcome"]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("unknown placeholder `{nmae}`"), "{}", problems[0].message);
        assert!(problems[0].message.contains("{name}"));
        assert_eq!(validate(&WelcomeSettings { enabled: true, text: "{name".into() }, &[]).len(), 1);
        assert_eq!(validate(&WelcomeSettings { enabled: true, text: " ".into() }, &[]).len(), 1);
        assert!(validate(&WelcomeSettings { enabled: false, text: String::new() }, &[]).is_empty());
    }
}
